"""Competing-risks front ends: hand-computed incidence, missing data, errors, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepatrial.exceptions import ConvergenceError, ExclusionWarning
from hepatrial.stats import cumulative_incidence, fine_gray, gray_test
from hepatrial.stats.survival import kaplan_meier


def test_incidence_by_hand_and_sum_with_survival_is_one() -> None:
    """Times 1, 2, 3, 4 with causes 1, 2, censored, 1. F1 jumps 1/4 at t=1 (S(1-)=1, n=4);
    F2 jumps (3/4)(1/3) = 1/4 at t=2; F1 jumps S(4-) = 1/2 times 1/1 at t=4: F1(4) = 3/4."""
    fit = cumulative_incidence([1, 2, 3, 4], [1, 2, 0, 1])
    at = fit.at([0.5, 1, 2.5, 4])
    np.testing.assert_allclose(at[at.cause == 1]["estimate"], [0, 0.25, 0.25, 0.75], rtol=1e-15)
    np.testing.assert_allclose(at[at.cause == 2]["estimate"], [0, 0, 0.25, 0.25], rtol=1e-15)
    assert np.isnan(fit.at([4.5])["estimate"]).all()
    assert list(at.columns) == ["group", "cause", "time", "estimate", "variance"]


def test_missing_records_and_bad_causes() -> None:
    with pytest.warns(ExclusionWarning, match="3 of 5 records excluded"):
        fit = cumulative_incidence(
            [1, 2, np.nan, 4, 5], [1, None, 1, 2, 0], group=["a", "a", "b", "b", None]
        )
    assert fit.n == 2 and fit.n_excluded == 3
    assert fit.provenance["exclusions"] == "1 (missing time); 1 (missing cause); 1 (missing group)"
    with pytest.raises(ValueError, match=r"cause must be 0 \(censored\) or 1, 2"):
        cumulative_incidence([1, 2], [1, -1])
    with pytest.raises(ValueError, match="at least two levels"):
        gray_test([1, 2], [1, 2], ["a", "a"], cause_of_interest=1)


def test_gray_test_renders() -> None:
    rng = np.random.default_rng(3)
    n = 80
    result = gray_test(
        rng.exponential(10, n),
        rng.integers(0, 3, n),
        rng.choice(["MSC", "control"], n),
        cause_of_interest=2,
    )
    assert result.df == 1 and 0 <= result.p_value <= 1
    assert "\n" not in repr(result) and "p_value" in result.to_text()


def _cohort(seed: int, n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.choice(["MSC", "control"], n)
    death = rng.exponential(np.where(arm == "MSC", 400, 250))
    transplant = rng.exponential(600, n)
    censor = rng.uniform(100, 900, n)
    time = np.minimum.reduce([death, transplant, censor])
    cause = np.select([time == death, time == transplant], [2, 1], 0)
    return pd.DataFrame({"days": np.round(time, 1), "cause": cause, "arm": arm})


def test_fine_gray_front_end_reports_counts_and_separation() -> None:
    data = _cohort(5)
    result = fine_gray(data, time="days", cause="cause", covariates=["arm"], cause_of_interest=2)
    assert result.n_events == int((data.cause == 2).sum())
    assert result.n_competing == int((data.cause == 1).sum())
    low, high = result.ci.loc["arm=control"]
    assert low < result.hazard_ratio["arm=control"] < high
    assert "sHR" in repr(result) and "<table" in result.to_html()
    separated = pd.DataFrame(
        {
            "days": [1, 2, 3, 4, 5, 6, 7, 8],
            "cause": [2, 2, 2, 2, 1, 0, 1, 0],
            "x": [1, 1, 1, 1, 0, 0, 0, 0],
        }
    )
    with pytest.raises(ConvergenceError):
        fine_gray(separated, time="days", cause="cause", covariates=["x"], cause_of_interest=2)


def test_one_cause_equals_one_minus_kaplan_meier() -> None:
    """With a single cause, the Aalen-Johansen estimate is 1 - Kaplan-Meier."""
    data = _cohort(11)
    single = np.where(data.cause > 0, 1, 0)
    ci = cumulative_incidence(data.days, single).at([100, 300, 500])["estimate"].to_numpy()
    km = kaplan_meier(data.days, single).at([100, 300, 500])["survival"].to_numpy()
    np.testing.assert_allclose(ci, 1 - km, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10), st.integers(0, 2)), min_size=1, max_size=40))
def test_incidence_properties(records: list[tuple[int, int]]) -> None:
    """Each curve in [0, 1] and non-decreasing; curves of all causes sum to at most 1."""
    time = [r[0] for r in records]
    cause = [r[1] for r in records]
    fit = cumulative_incidence(time, cause)
    grid = np.arange(0, 11, 0.5)
    total = np.zeros(grid.size)
    for curve in fit.curves.values():
        estimate, variance = curve.at(grid)
        defined = ~np.isnan(estimate)
        assert np.all((estimate[defined] >= 0) & (estimate[defined] <= 1 + 1e-12))
        assert np.all(np.diff(estimate[defined]) >= -1e-15)
        assert np.all(variance[defined] >= -1e-15)
        total += np.nan_to_num(estimate)
    assert np.all(total <= 1 + 1e-12)

"""Kaplan-Meier front end: seed-trial figures, missing data, options, rendering, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepatrial.exceptions import ExclusionWarning
from hepatrial.stats import KaplanMeierResult, kaplan_meier
from hepatrial.stats.survival import kaplan_meier_by, numbers_at_risk


def _seed_arm(survivors: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Deaths spread over weeks 1-23, survivors censored at week 24 (no earlier censoring)."""
    deaths = n - survivors
    time = np.concatenate([1.0 + np.arange(deaths) % 23, np.full(survivors, 24.0)])
    event = np.concatenate([np.ones(deaths), np.zeros(survivors)])
    return time, event


@pytest.mark.parametrize(
    ("survivors", "n", "estimate", "low", "high"),
    [(41, 56, 73.2, 61.6, 84.8), (30, 54, 55.6, 42.3, 68.9)],
)
def test_seed_trial_24_week_survival_with_plain_interval(
    survivors: int, n: int, estimate: float, low: float, high: float
) -> None:
    """Hepatology 2017 MSC trial in HBV-ACLF: 24-week survival 73.2% (61.6-84.8) with MSC and
    55.6% (42.3-68.9) with standard care. Without censoring before week 24, KM = x/n and the
    plain Greenwood interval is x/n -/+ 1.96 sqrt(p(1-p)/n), e.g. 41/56 = 0.7321,
    sqrt(0.7321 * 0.2679 / 56) = 0.0592, 0.7321 -/+ 0.1160 = (0.616, 0.848)."""
    time, event = _seed_arm(survivors, n)
    at = kaplan_meier(time, event, conf_type="plain").at([24.0]).iloc[0]
    half_width = at["upper"] - at["survival"]
    assert at["survival"] - at["lower"] == pytest.approx(half_width, rel=1e-12)
    # The paper rounds the estimate and the half-width, then adds them: 55.6 + 13.3 = 68.9
    # (the unrounded upper limit is 68.81%).
    assert round(100 * at["survival"], 1) == estimate
    assert round(100 * half_width, 1) == pytest.approx((high - low) / 2, abs=1e-9)
    assert round(estimate - round(100 * half_width, 1), 1) == low
    assert round(estimate + round(100 * half_width, 1), 1) == high
    p = survivors / n
    assert at["std_err"] == pytest.approx(np.sqrt(p * (1 - p) / n), rel=1e-12)


def test_missing_records_are_excluded_and_counted() -> None:
    time = pd.Series([5.0, np.nan, 8.0, 12.0, 3.0])
    event = pd.Series([1, 1, None, 0, 1])
    with pytest.warns(ExclusionWarning, match=r"2 of 5 records excluded"):
        fit = kaplan_meier(time, event)
    assert fit.n == 3
    assert fit.n_excluded == 2
    assert [(e.reason, e.count) for e in fit.exclusions] == [
        ("missing time", 1),
        ("missing event", 1),
    ]
    assert fit.provenance["exclusions"] == "1 (missing time); 1 (missing event)"


def test_bad_inputs_raise_errors_that_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"time\[1\]=-2.0"):
        kaplan_meier([1.0, -2.0], [1, 0])
    with pytest.raises(ValueError, match="event must be 0 .* got \\[2.0\\]"):
        kaplan_meier([1.0, 2.0], [1, 2])
    with pytest.raises(ValueError, match="conf_type='logit'"):
        kaplan_meier([1.0], [1], conf_type="logit")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="conf_level=95"):
        kaplan_meier([1.0], [1], conf_level=95)
    with pytest.raises(ValueError, match="same length; got time=2, event=1"):
        kaplan_meier([1.0, 2.0], [1])
    with (
        pytest.warns(ExclusionWarning),
        pytest.raises(ValueError, match=r"no complete record .*1 \(missing time\)"),
    ):
        kaplan_meier([np.nan], [1])


def test_survival_at_is_a_step_function_and_undefined_after_follow_up() -> None:
    fit = kaplan_meier([2, 4, 4, 6], [1, 1, 0, 0])
    # hand computation: S = 3/4 from t=2, then 3/4 * 2/3 = 1/2 from t=4 (3 at risk, 1 death)
    assert fit.survival_at(1.9) == 1.0
    assert fit.survival_at(2) == 0.75
    assert fit.survival_at(5) == 0.5
    assert np.isnan(fit.survival_at(6.5))
    np.testing.assert_array_equal(fit.at_risk([0, 2, 2.5, 4, 6, 7]), [4, 4, 3, 3, 1, 0])


def test_median_not_reached_is_nan_and_rmst_is_area_under_curve() -> None:
    fit = kaplan_meier([2, 4, 4, 6], [1, 0, 0, 0])
    assert np.isnan(fit.median.estimate)
    # area: 2 * 1 + (5 - 2) * 0.75 = 4.25; one death with n=4: var = (3 * 0.75)^2 * 1/(4*3)
    rmst = fit.rmst(5)
    assert rmst.estimate == pytest.approx(4.25, rel=1e-14)
    assert rmst.se == pytest.approx(np.sqrt(2.25**2 / 12), rel=1e-14)
    with pytest.raises(ValueError, match="tau=nan"):
        fit.rmst(float("nan"))


def test_result_renders_and_repr_is_one_line() -> None:
    fit = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 1])
    assert isinstance(fit, KaplanMeierResult)
    assert "\n" not in repr(fit) and "n=4" in repr(fit)
    assert "median" in fit.to_text()
    assert fit.to_html().startswith("<table")
    assert list(fit.table.columns) == [
        "time",
        "at_risk",
        "events",
        "censored",
        "survival",
        "std_err",
        "lower",
        "upper",
    ]


def test_curves_by_group_and_numbers_at_risk() -> None:
    time = [1, 3, 5, 7, 2, 4, 6, 8, 9]
    event = [1, 1, 0, 1, 1, 0, 1, 0, 1]
    arm = ["MSC", "MSC", "MSC", "MSC", "control", "control", "control", "control", None]
    with pytest.warns(ExclusionWarning, match=r"1 \(missing group\)"):
        fits = kaplan_meier_by(time, event, arm)
    assert fits.groups == ("MSC", "control")
    assert fits.n_excluded == 1
    assert fits["MSC"].survival_at(3) == pytest.approx(0.5)
    table = fits.numbers_at_risk([0, 4, 8])
    assert table.loc["MSC"].tolist() == [4, 2, 0]
    assert table.loc["control"].tolist() == [4, 3, 1]
    with pytest.warns(ExclusionWarning):
        assert numbers_at_risk(time, [0, 4, 8], group=arm).equals(table)
    assert len(fits.summary) == 2
    with pytest.raises(KeyError, match="placebo"):
        fits["placebo"]


survival_data = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 12), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(survival_data, st.sampled_from(["plain", "log", "log-log"]))
def test_curve_properties(data: tuple[list[int], list[int]], conf_type: str) -> None:
    """Survival in [0, 1] and non-increasing; every defined interval contains the estimate."""
    fit = kaplan_meier(data[0], data[1], conf_type=conf_type)  # type: ignore[arg-type]
    s = fit.table["survival"].to_numpy()
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) <= 0)
    lower, upper = fit.table["lower"].to_numpy(), fit.table["upper"].to_numpy()
    defined = ~np.isnan(lower) & ~np.isnan(upper)
    assert np.all(lower[defined] <= s[defined] + 1e-15)
    assert np.all(s[defined] <= upper[defined] + 1e-15)
    assert np.all((lower[defined] >= 0) & (upper[defined] <= 1))

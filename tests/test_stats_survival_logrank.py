"""Log-rank front end: hand-computed example, reference groups, strata, missing data, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hepatrial.exceptions import ExclusionWarning
from hepatrial.stats import LogrankResult, logrank


def test_two_group_statistic_by_hand() -> None:
    """Group a dies at 1, 2, 3; group b dies at 4 and 6, censored at 5.
    Risk sets (n, n_a, d): t=1 (6, 3, 1), t=2 (5, 2, 1), t=3 (4, 1, 1), t=4 (3, 0, 1),
    t=6 (1, 0, 1). E_a = 3/6 + 2/5 + 1/4 = 1.15, O_a = 3.
    V = (1*5/5)(3/6)(3/6) + (1*4/4)(2/5)(3/5) + (1*3/3)(1/4)(3/4) = 0.25 + 0.24 + 0.1875
    (t=4 and t=6 add nothing: n_a = 0), chi2 = 1.85^2 / 0.6775 = 5.0516605..."""
    result = logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], ["a", "a", "a", "b", "b", "b"])
    assert isinstance(result, LogrankResult)
    assert result.expected[0] == pytest.approx(1.15, rel=1e-14)
    assert result.variance[0, 0] == pytest.approx(0.6775, rel=1e-14)
    assert result.statistic == pytest.approx(1.85**2 / 0.6775, rel=1e-14)
    assert result.df == 1
    assert result.z == pytest.approx(-1.85 / np.sqrt(0.6775), rel=1e-14)


def test_reference_orders_groups_without_changing_the_test() -> None:
    time = [3, 5, 7, 9, 2, 4, 6, 8]
    event = [1, 0, 1, 1, 1, 1, 0, 1]
    arm = ["MSC"] * 4 + ["control"] * 4
    default = logrank(time, event, arm)
    chosen = logrank(time, event, arm, reference="MSC")
    assert default.groups == ("MSC", "control")  # sorted: uppercase first
    assert logrank(time, event, arm, reference="control").groups == ("control", "MSC")
    assert chosen.statistic == pytest.approx(default.statistic, rel=1e-14)
    with pytest.raises(ValueError, match="reference='placebo' is not a level of group"):
        logrank(time, event, arm, reference="placebo")


def test_missing_group_or_stratum_is_excluded_and_reported() -> None:
    data = pd.DataFrame(
        {
            "time": [3, 5, 7, 9, 2, 4, 6, 8],
            "event": [1, 0, 1, 1, 1, 1, 0, 1],
            "arm": ["A", "A", "A", None, "B", "B", "B", "B"],
            "site": ["x", "y", "x", "y", "x", np.nan, "x", "y"],
        }
    )
    with pytest.warns(ExclusionWarning, match="2 of 8 records excluded"):
        result = logrank(data.time, data.event, data.arm, strata=data.site)
    assert result.n == 6 and result.n_excluded == 2
    assert result.provenance["exclusions"] == "1 (missing group); 1 (missing strata)"
    assert result.n_strata == 2


def test_one_group_is_refused_and_no_events_gives_no_test() -> None:
    with pytest.raises(ValueError, match="at least two levels"):
        logrank([1, 2], [1, 1], ["a", "a"])
    result = logrank([1, 2, 3, 4], [0, 0, 0, 0], ["a", "a", "b", "b"])
    assert result.statistic == 0.0 and result.df == 0 and np.isnan(result.p_value)


def test_summary_and_rendering() -> None:
    result = logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], ["a", "a", "a", "b", "b", "b"])
    assert list(result.summary.columns) == [
        "group",
        "n",
        "observed",
        "expected",
        "statistic",
        "df",
        "p_value",
    ]
    assert "\n" not in repr(result)
    assert "p_value" in result.to_text() and "<table" in result.to_html()


def test_no_variance_gives_nan_statistic() -> None:
    """Everyone at risk dies at the only death time: O = E and V = 0 (R's survdiff stops with
    'system is exactly singular'); hepatrial reports NaN, with df 1."""
    result = logrank([5, 5, 5, 5], [1, 1, 1, 1], ["a", "a", "b", "b"])
    assert np.isnan(result.statistic) and np.isnan(result.p_value) and result.df == 1


records = st.lists(
    st.tuples(st.integers(0, 8), st.integers(0, 1), st.sampled_from(["a", "b", "c"])),
    min_size=2,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(records, st.randoms(use_true_random=False))
def test_logrank_properties(rows: list[tuple[int, int, str]], random: Any) -> None:
    """Statistic >= 0 and P in [0, 1]; unchanged by record order and by the reference level."""
    time, event, group = (list(col) for col in zip(*rows, strict=True))
    assume(len(set(group)) >= 2)
    result = logrank(time, event, group)
    shuffled = list(range(len(rows)))
    random.shuffle(shuffled)
    again = logrank(
        [time[i] for i in shuffled],
        [event[i] for i in shuffled],
        [group[i] for i in shuffled],
        reference=sorted(set(group))[-1],
    )
    if np.isnan(result.statistic):
        assert np.isnan(again.statistic)
        return
    assert result.statistic >= -1e-12
    assert result.df == 0 or 0.0 <= result.p_value <= 1.0
    assert again.statistic == pytest.approx(result.statistic, rel=1e-9, abs=1e-12)
    assert result.observed.sum() == sum(event)
    assert result.expected.sum() == pytest.approx(sum(event), rel=1e-12)

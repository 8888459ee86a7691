"""compare_proportions: seed-trial figures, direction of effects, edge cases and errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepatrial.stats import ProportionsResult, compare_proportions


def test_seed_infection_table_pearson() -> None:
    # Lin et al., Hepatology 2017 (HBV-ACLF, MSC 56 vs standard care 54): severe infection
    # 9/56 (16.1%) vs 18/54 (33.3%), reported "P = 0.04". Pearson's X^2 without correction
    # reproduces it: R chisq.test(matrix(c(9, 47, 18, 36), 2, byrow = TRUE), correct = FALSE)
    # gives X-squared = 4.4229, p-value = 0.03546 (0.035 to three decimals; Yates 0.060 and
    # Fisher 0.046 would not round to the published 0.04).
    result = compare_proportions(9, 56, 18, 54, test="chisq")
    assert result.p_value == pytest.approx(0.035459102578660216, rel=1e-10)
    assert round(result.p_value, 2) == 0.04
    assert round(compare_proportions(9, 56, 18, 54, test="chisq-yates").p_value, 2) == 0.06
    assert round(compare_proportions(9, 56, 18, 54, test="fisher").p_value, 3) == 0.046


def test_seed_organ_failure_table_pearson() -> None:
    # Same trial: death from multi-organ failure or severe infection 10/56 vs 20/54, "P = 0.02".
    # R chisq.test(matrix(c(10, 46, 20, 34), 2, byrow = TRUE), correct = FALSE): p = 0.02394.
    result = compare_proportions(10, 56, 20, 54)
    assert result.p_value == pytest.approx(0.023944400383346935, rel=1e-10)
    assert round(result.p_value, 3) == 0.024
    assert round(result.p1, 3) == 0.179 and round(result.p2, 3) == 0.370


def test_hand_computed_measures() -> None:
    # 10/20 vs 5/20: RD = 0.25, RR = 2, OR = (10*15)/(10*5) = 3,
    # se(log RR) = sqrt(1/10 - 1/20 + 1/5 - 1/20) = sqrt(0.2), se(log OR) = sqrt(0.1+0.1+0.2+1/15).
    r = compare_proportions(10, 20, 5, 20, labels=("MSC", "control"))
    assert (r.risk_difference, r.risk_ratio, r.odds_ratio) == pytest.approx((0.25, 2.0, 3.0))
    z = 1.959963984540054
    assert r.risk_ratio_ci_low == pytest.approx(2.0 * math.exp(-z * math.sqrt(0.2)), rel=1e-12)
    se_or = math.sqrt(0.1 + 0.1 + 0.2 + 1 / 15)
    assert r.odds_ratio_ci_high == pytest.approx(3.0 * math.exp(z * se_or), rel=1e-12)
    # Pearson: E = 7.5 in the event cells, 12.5 otherwise; X^2 = 2.5^2 (2/7.5 + 2/12.5).
    assert r.statistic == pytest.approx(6.25 * (2 / 7.5 + 2 / 12.5), rel=1e-12)
    assert r.comparison == "MSC minus/over control"
    assert r.summary["contrast"].tolist() == ["MSC - control", "MSC / control", "MSC / control"]


def test_zero_cells_give_undefined_intervals_not_corrections() -> None:
    r = compare_proportions(0, 15, 6, 14, test="fisher")
    assert r.risk_ratio == 0.0 and math.isnan(r.risk_ratio_ci_low)
    assert math.isnan(r.odds_ratio_ci_high)
    assert r.conditional_odds_ratio == 0.0 and r.conditional_odds_ratio_ci_low == 0.0
    assert r.risk_difference_ci_low < r.risk_difference < r.risk_difference_ci_high


def test_no_events_at_all_has_no_chi_square() -> None:
    r = compare_proportions(0, 10, 0, 12)
    assert math.isnan(r.statistic) and math.isnan(r.p_value)  # R: X-squared = NaN
    assert r.risk_difference == 0.0


def test_result_type_repr_and_fisher_rows() -> None:
    r = compare_proportions(9, 56, 18, 54, test="fisher", labels=("MSC", "SMT"))
    assert isinstance(r, ProportionsResult)
    assert repr(r).startswith("ProportionsResult(MSC 9/56 vs SMT 18/54: RD=")
    assert r.summary["measure"].tolist()[-1] == "odds ratio (conditional MLE)"
    assert math.isnan(r.statistic)
    assert compare_proportions(9, 56, 18, 54).conditional_odds_ratio is None
    assert r.provenance["comparison"] == "MSC minus/over SMT"
    assert r.provenance["n_used"] == 110


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((12, 10, 3, 10), {}, "x1=12 events out of n1=10"),
        ((1, 10, 3, 0), {}, "need n2 >= 1"),
        ((1.5, 10, 3, 10), {}, "x1 must hold non-negative whole counts"),
        ((1, 10, 3, 10), {"test": "exact"}, "test='exact' is not one of"),
        ((1, 10, 3, 10), {"conf_level": 1.0}, "conf_level=1.0"),
    ],
)
def test_bad_input_is_explained(
    args: tuple[float, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compare_proportions(*args, **kwargs)  # type: ignore[arg-type]


tables = st.integers(1, 80).flatmap(
    lambda n1: st.integers(1, 80).flatmap(
        lambda n2: st.tuples(st.integers(0, n1), st.just(n1), st.integers(0, n2), st.just(n2))
    )
)


@settings(max_examples=60, deadline=None)
@given(table=tables, test=st.sampled_from(["chisq", "chisq-yates", "fisher"]))
def test_intervals_contain_estimates_and_swapping_groups_negates(
    table: tuple[int, int, int, int], test: str
) -> None:
    x1, n1, x2, n2 = table
    one = compare_proportions(x1, n1, x2, n2, test=test)  # type: ignore[arg-type]
    two = compare_proportions(x2, n2, x1, n1, test=test)  # type: ignore[arg-type]
    assert one.risk_difference_ci_low <= one.risk_difference <= one.risk_difference_ci_high
    assert -1.0 <= one.risk_difference_ci_low and one.risk_difference_ci_high <= 1.0
    assert two.risk_difference == pytest.approx(-one.risk_difference, abs=1e-15)
    assert two.risk_difference_ci_low == pytest.approx(-one.risk_difference_ci_high, abs=1e-12)
    if not math.isnan(one.p_value):
        assert two.p_value == pytest.approx(one.p_value, rel=1e-9)
    if not math.isnan(one.risk_ratio_ci_low):
        assert one.risk_ratio_ci_low <= one.risk_ratio <= one.risk_ratio_ci_high
        assert two.risk_ratio_ci_high == pytest.approx(1.0 / one.risk_ratio_ci_low, rel=1e-12)
    if not math.isnan(one.odds_ratio_ci_low):
        assert one.odds_ratio_ci_low <= one.odds_ratio <= one.odds_ratio_ci_high
    if one.conditional_odds_ratio is not None:
        assert one.conditional_odds_ratio_ci_low is not None
        assert one.conditional_odds_ratio_ci_high is not None
        assert (
            one.conditional_odds_ratio_ci_low
            <= one.conditional_odds_ratio
            <= one.conditional_odds_ratio_ci_high
        )

"""hepatrial.design by hand derivation and independent numerical checks (rpact: validation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hepatrial.design import (
    AccrualPlan,
    assurance,
    event_probability,
    events_survival,
    gs_boundaries,
    n_mean_difference,
    n_proportions,
    n_survival,
    spending_function,
)

Z975 = stats.norm.ppf(0.975)  # 1.959963984540054
Z80 = stats.norm.ppf(0.80)  # 0.8416212335729143


def test_mean_difference_textbook_example() -> None:
    # Hand derivation: n per arm = 2 (1.959964 + 0.841621)^2 * 1^2 / 1^2 = 15.6978 -> 16.
    result = n_mean_difference(delta=1, sd=1, alpha=0.05, power=0.8, method="normal")
    assert result.n_total == pytest.approx(2 * 2 * (Z975 + Z80) ** 2, rel=1e-14)
    assert result.n_total / 2 == pytest.approx(15.6978, abs=1e-4)
    assert result.n_per_arm == 16
    assert (result.n_treatment, result.n_control) == (16, 16)


def test_mean_difference_sign_and_one_sided() -> None:
    # One-sided alpha 0.025 is the same test as two-sided 0.05; the sign of delta is irrelevant.
    a = n_mean_difference(delta=-0.87, sd=1.64, alpha=0.025, sided=1, power=0.9)
    b = n_mean_difference(delta=0.87, sd=1.64, alpha=0.05, power=0.9)
    assert a.n_total == pytest.approx(b.n_total, rel=1e-14)


def test_mean_difference_ratio() -> None:
    # (1 + r)^2 / r with r = 2 is 4.5, versus 4 for equal allocation.
    equal = n_mean_difference(delta=1, sd=1)
    unequal = n_mean_difference(delta=1, sd=1, ratio=2)
    assert unequal.n_total == pytest.approx(equal.n_total * 4.5 / 4, rel=1e-14)
    assert unequal.n_treatment == math.ceil(unequal.n_total * 2 / 3)
    assert unequal.n_control == math.ceil(unequal.n_total / 3)


def test_t_method_reaches_power_exactly() -> None:
    # The non-central t power at the returned (unrounded) n equals the target.
    result = n_mean_difference(delta=1, sd=1, method="t")
    n = result.n_total
    df = n - 2
    power = stats.nct.sf(stats.t.ppf(0.975, df), df, math.sqrt(n / 4))
    assert power == pytest.approx(0.8, abs=1e-9)
    assert result.n_total > n_mean_difference(delta=1, sd=1).n_total
    assert result.n_per_arm == 17


def test_proportions_hand_formula() -> None:
    # MSC trial infections: p_T = 9/56, p_C = 18/54, equal allocation, pooled p = (pT + pC)/2.
    pt, pc = 9 / 56, 18 / 54
    pbar = (pt + pc) / 2
    n1 = Z975 * math.sqrt(2 * pbar * (1 - pbar)) + Z80 * math.sqrt(pt * (1 - pt) + pc * (1 - pc))
    n1 = n1**2 / (pt - pc) ** 2
    result = n_proportions(p_treatment=pt, p_control=pc)
    assert result.n_total == pytest.approx(2 * n1, rel=1e-14)
    assert result.n_per_arm == math.ceil(n1)


def test_events_schoenfeld_and_freedman_by_hand() -> None:
    # Schoenfeld: 4 (1.959964 + 0.841621)^2 / log(0.7)^2 = 246.79.
    schoenfeld = events_survival(hr=0.7)
    assert schoenfeld.events == pytest.approx(4 * (Z975 + Z80) ** 2 / math.log(0.7) ** 2)
    assert schoenfeld.events == pytest.approx(246.79, abs=0.01)
    # Freedman: (z)^2 (1 + 0.7)^2 / (1 - 0.7)^2 = 7.84886 * 2.89 / 0.09 = 252.04.
    freedman = events_survival(hr=0.7, method="freedman")
    assert freedman.events == pytest.approx((Z975 + Z80) ** 2 * 1.7**2 / 0.3**2)
    assert freedman.events_rounded == 253


def test_event_probability_limits() -> None:
    # Long follow-up: every event is observed; dropout hazard eta caps it at lambda/(lambda+eta).
    assert event_probability(0.1, accrual_time=12, follow_up=1000) == pytest.approx(1.0)
    capped = event_probability(0.1, accrual_time=12, follow_up=1000, dropout_hazard=0.1)
    assert capped == pytest.approx(0.5)
    # Very short accrual: P -> 1 - exp(-lambda F).
    short = event_probability(0.05, accrual_time=1e-6, follow_up=10)
    assert short == pytest.approx(1 - math.exp(-0.5), rel=1e-6)


def test_n_survival_divides_events_by_probability() -> None:
    plan = AccrualPlan(accrual_time=24, follow_up=6)
    result = n_survival(hr=0.53, median_control=6, accrual=plan)
    lam = math.log(2) / 6
    p = (
        event_probability(lam * 0.53, accrual_time=24, follow_up=6)
        + event_probability(lam, accrual_time=24, follow_up=6)
    ) / 2
    assert result.n_total == pytest.approx(events_survival(hr=0.53).events / p, rel=1e-14)
    assert result.accrual_rate == pytest.approx(result.n_total / 24)
    with pytest.raises(ValueError, match="exactly one"):
        n_survival(hr=0.5, accrual=AccrualPlan(accrual_time=1, follow_up=1))


def test_single_look_is_fixed_design() -> None:
    assert gs_boundaries(k=1).z[0] == pytest.approx(Z975, rel=1e-10)


def test_first_look_is_spending_quantile() -> None:
    # Look 1 crosses with probability alpha*(t1) exactly: z1 = Phi^-1(1 - alpha*(t1)).
    for spending in ("obf", "pocock"):
        design = gs_boundaries(k=3, alpha=0.025, sided=1, spending=spending)
        spent = spending_function(0.025, np.array([1 / 3]), spending)[0]
        assert design.z[0] == pytest.approx(stats.norm.isf(spent), rel=1e-10)


@pytest.mark.parametrize("spending", ["obf", "pocock"])
def test_boundaries_against_multivariate_normal(spending: str) -> None:
    # Independent check of the recursive integration: under H0 the probability of never
    # crossing, P(Z_1 < z_1, ..., Z_K < z_K) with Corr(Z_j, Z_k) = sqrt(t_j / t_k), is 1 - alpha.
    t = np.array([0.3, 0.55, 0.8, 1.0])
    design = gs_boundaries(k=4, alpha=0.025, sided=1, spending=spending, information=t)  # type: ignore[arg-type]
    corr = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    mvn = stats.multivariate_normal(np.zeros(4), corr, abseps=1e-7, releps=1e-7, maxpts=10**6)
    no_crossing = mvn.cdf(np.array(design.z))
    assert no_crossing == pytest.approx(1 - 0.025, abs=2e-6)


def test_obf_shape_and_pocock_flatness() -> None:
    obf = gs_boundaries(k=4, alpha=0.05)
    pocock = gs_boundaries(k=4, alpha=0.05, spending="pocock")
    assert list(obf.z) == sorted(obf.z, reverse=True)
    assert max(pocock.z) - min(pocock.z) < 0.1
    assert obf.alpha_spent[-1] == pytest.approx(0.025)
    assert obf.summary.columns.tolist()[:3] == ["look", "information", "z_efficacy"]


def test_inflation_factor_and_max_sample_size() -> None:
    design = gs_boundaries(k=3, alpha=0.05, beta=0.2)
    assert design.power == pytest.approx(0.8, abs=1e-9)
    assert design.inflation_factor is not None and 1.0 < design.inflation_factor < 1.05
    fixed = n_mean_difference(delta=1, sd=1).n_total
    assert design.max_sample_size(fixed) == pytest.approx(fixed * design.inflation_factor)
    with pytest.raises(ValueError, match="beta="):
        gs_boundaries(k=3).max_sample_size(100)


def test_futility_meets_efficacy_at_last_look() -> None:
    design = gs_boundaries(k=3, alpha=0.05, beta=0.2, futility="obf")
    assert design.futility is not None and len(design.futility) == 2
    assert all(f < z for f, z in zip(design.futility, design.z[:-1], strict=False))
    assert design.power == pytest.approx(0.8, abs=1e-8)


def test_gs_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match=r"information=\[0.5, 0.4, 1.0\]"):
        gs_boundaries(k=3, information=[0.5, 0.4, 1.0])
    with pytest.raises(ValueError, match="give beta="):
        gs_boundaries(k=3, futility="obf")
    with pytest.raises(ValueError, match="spending='linear'"):
        gs_boundaries(k=2, spending="linear")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha=1.2"):
        n_mean_difference(delta=1, sd=1, alpha=1.2)
    with pytest.raises(ValueError, match="hr=1.0"):
        events_survival(hr=1.0)


def _closed_form_assurance(estimate: float, se: float, sigma: float, z: float) -> float:
    # Normal prior and normal likelihood: the final estimate is marginally N(d, s^2 + sigma^2).
    return float(stats.norm.cdf((abs(estimate) / sigma - z) / math.sqrt(1 + se**2 / sigma**2)))


def test_assurance_matches_closed_form() -> None:
    sigma = 1.64 * math.sqrt(1 / 76 + 1 / 76)
    result = assurance(estimate=-0.87, se=0.45, sd=1.64, n_total=152)
    assert result.se_final == pytest.approx(sigma)
    expected = _closed_form_assurance(-0.87, 0.45, sigma, Z975)
    assert result.assurance == pytest.approx(expected, abs=1e-12)
    assert result.assurance < result.power_at_estimate


def test_assurance_by_simulation() -> None:
    # Draw the true effect from the prior, then the trial estimate; count significant results
    # in the favourable direction. Tolerance: 4 Monte Carlo standard errors.
    rng = np.random.default_rng(20260511)
    n_sim = 200_000
    result = assurance(estimate=-0.87, se=0.45, sd=1.64, n_total=120)
    truth = rng.normal(-0.87, 0.45, n_sim)
    estimate = rng.normal(truth, result.se_final)
    success = np.mean(estimate / result.se_final < -Z975)
    mc_se = math.sqrt(result.assurance * (1 - result.assurance) / n_sim)
    assert abs(success - result.assurance) < 4 * mc_se


def test_assurance_tends_to_power_when_prior_is_sharp() -> None:
    result = assurance(estimate=0.4, se=1e-9, final_se=0.15)
    assert result.assurance == pytest.approx(result.power_at_estimate, abs=1e-9)
    with pytest.raises(ValueError, match="either final_se"):
        assurance(estimate=0.4, se=0.1, final_se=0.1, sd=1, n_total=10)


def test_evidence_derivations() -> None:
    from hepatrial.design.evidence import match_ddmeld, msc_infection, msc_survival, se_from_ci

    match = match_ddmeld()
    # SE = 1.79 / (2 x 1.959964) = 0.45664; SD = 0.45664 / sqrt(1/27 + 1/24) = 1.6277.
    assert match.se == pytest.approx(1.79 / (2 * Z975), rel=1e-12)
    assert match.sd == pytest.approx(match.se / math.sqrt(1 / 27 + 1 / 24), rel=1e-12)
    assert match.sd == pytest.approx(1.6277, abs=1e-4)
    survival = msc_survival()
    assert math.exp(survival.estimate) == pytest.approx(math.log(0.732) / math.log(0.556))
    assert msc_infection().estimate == pytest.approx(9 / 56 - 18 / 54)
    assert se_from_ci(-1.0, 1.0, level=0.9) == pytest.approx(1 / stats.norm.ppf(0.95))


@settings(max_examples=15, deadline=None)
@given(
    k=st.integers(min_value=2, max_value=5),
    alpha=st.sampled_from([0.01, 0.025, 0.05, 0.1]),
    spending=st.sampled_from(["obf", "pocock"]),
    gaps=st.lists(st.floats(min_value=0.1, max_value=1.0), min_size=5, max_size=5),
)
def test_boundary_properties(k: int, alpha: float, spending: str, gaps: list[float]) -> None:
    # Any information spacing: every bound exceeds the fixed-design quantile, alpha is fully
    # spent, and more looks cost sample size (inflation factor > 1).
    t = np.cumsum(gaps[:k]) / np.sum(gaps[:k])
    design = gs_boundaries(
        k=k,
        alpha=alpha,
        sided=1,
        spending=spending,
        information=t,
        beta=0.2,  # type: ignore[arg-type]
    )
    fixed = stats.norm.isf(alpha)
    assert all(z >= fixed - 1e-9 for z in design.z)
    assert design.alpha_spent[-1] == pytest.approx(alpha)
    assert design.inflation_factor is not None and design.inflation_factor > 1.0
    assert design.power == pytest.approx(0.8, abs=1e-8)


def test_survival_docstring_examples_run() -> None:
    import doctest

    import hepatrial.design.survival

    result = doctest.testmod(hepatrial.design.survival)
    assert result.attempted > 0 and result.failed == 0

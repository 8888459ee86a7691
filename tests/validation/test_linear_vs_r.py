"""ANCOVA, t-tests, proportions and rates against R 4.2 (figures from r/linear_reference.R).

Data: survival::pbcseq (Mayo PBC trial), albumin (g/dL) at baseline and at the visit closest to
day 365 within days 300-430, written to fixtures/linear_ancova_pbcseq.csv. R's figures are in
fixtures/linear_reference.csv with 17 significant digits; the R call behind each is named in
the test. Closed forms are compared at a relative tolerance of 1e-10 (at least ten significant
digits).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _linear_fixtures import reference_figures

from hepatrial.stats import change_from_baseline, compare_proportions, rate_ratio
from hepatrial.stats.rates import RateColumns

FIXTURES = Path(__file__).parent / "fixtures"
CLOSED = 1e-10


@pytest.fixture(scope="module")
def r() -> dict[tuple[str, str], float]:
    return reference_figures("linear_reference.csv")


@pytest.fixture(scope="module")
def albumin() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "linear_ancova_pbcseq.csv")


def _change(albumin: pd.DataFrame, **kwargs: object) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return change_from_baseline(
            albumin,
            baseline="albumin_baseline",
            follow_up="albumin_1y",
            group="arm",
            **kwargs,  # type: ignore[arg-type]
        )


FIELDS = ("estimate", "se", "p_value", "df", "ci_low", "ci_high")


def _assert_ancova_matches(result: Any, r: dict[tuple[str, str], float], case: str) -> None:
    """The comparison's FIELDS and each arm's LS mean and SE equal R's figures of ``case``."""
    for name in FIELDS:
        assert getattr(result, name) == pytest.approx(r[case, name], rel=CLOSED), name
    for _, row in result.lsmeans.iterrows():
        arm = f"{case}_lsmean_{row['group']}"
        assert row["lsmean"] == pytest.approx(r[arm, "estimate"], rel=CLOSED)
        assert row["se"] == pytest.approx(r[arm, "se"], rel=CLOSED)


def test_ancova_change_matches_lm(r: dict[tuple[str, str], float], albumin: pd.DataFrame) -> None:
    """R: fit <- lm(change ~ arm + albumin_baseline, data = cc); summary(fit); confint(fit);
    LS means: c(1, arm == "placebo", mean(albumin_baseline)) %*% coef(fit), SE via vcov(fit)."""
    result = _change(albumin)
    assert (result.n, result.n_excluded) == (
        r["ancova", "n_used"],
        r["ancova", "n_missing_follow_up"],
    )
    assert result.exclusions[0].reason == "missing albumin_1y"
    _assert_ancova_matches(result, r, "ancova_change")


def test_ancova_with_factor_covariate_matches_lm(
    r: dict[tuple[str, str], float], albumin: pd.DataFrame
) -> None:
    """R: lm(change ~ arm + albumin_baseline + age + sex); confint(fit, level = 0.90); LS means
    at mean albumin_baseline and age, sex weighted 1/2 each (emmeans' reference grid)."""
    result = _change(albumin, covariates=["age", "sex"], conf_level=0.90)
    _assert_ancova_matches(result, r, "ancova_adjusted")


@pytest.mark.parametrize(("method", "case"), [("t-test", "t_test"), ("welch", "welch")])
def test_t_tests_match_t_test(
    r: dict[tuple[str, str], float], albumin: pd.DataFrame, method: str, case: str
) -> None:
    """R: t.test(change ~ arm, data = cc, var.equal = TRUE) and t.test(change ~ arm, data = cc);
    R reports D-penicillamine minus placebo, so the script negates estimate, t and the CI."""
    result = _change(albumin, method=method)
    for name in FIELDS:
        assert getattr(result, name) == pytest.approx(r[case, name], rel=CLOSED), name
    assert result.statistic == pytest.approx(r[case, "statistic"], rel=CLOSED)


TABLES = ["seed_a", "seed_b", "seed_survival", "pbc_death_4y", "pbc_ascites", "small", "zero_cell"]


def _table(r: dict[tuple[str, str], float], case: str) -> tuple[int, int, int, int]:
    x1, n1, x2, n2 = (int(r[case, k]) for k in ("x1", "n1", "x2", "n2"))
    return x1, n1, x2, n2


@pytest.mark.parametrize("case", TABLES)
def test_chi_square_matches_chisq_test(r: dict[tuple[str, str], float], case: str) -> None:
    """R: m <- matrix(c(x1, n1 - x1, x2, n2 - x2), 2, byrow = TRUE);
    chisq.test(m, correct = FALSE) and chisq.test(m, correct = TRUE);
    prop.test(c(x1, x2), c(n1, n2), correct = FALSE)$statistic equals Pearson's X^2."""
    pearson = compare_proportions(*_table(r, case), test="chisq")
    yates = compare_proportions(*_table(r, case), test="chisq-yates")
    assert pearson.statistic == pytest.approx(r[case, "chisq_statistic"], rel=CLOSED)
    assert pearson.statistic == pytest.approx(r[case, "prop_test_statistic"], rel=CLOSED)
    assert pearson.p_value == pytest.approx(r[case, "chisq_p"], rel=CLOSED)
    assert yates.statistic == pytest.approx(r[case, "yates_statistic"], rel=CLOSED)
    assert yates.p_value == pytest.approx(r[case, "yates_p"], rel=CLOSED)


@pytest.mark.parametrize("level", [0.95, 0.90])
@pytest.mark.parametrize("case", TABLES)
def test_intervals_match_r(r: dict[tuple[str, str], float], case: str, level: float) -> None:
    """R: w <- prop.test(x, n, conf.level = level, correct = FALSE)$conf.int (Wilson) for each
    group; Newcombe: d - sqrt((p1 - l1)^2 + (u2 - p2)^2), d + sqrt((u1 - p1)^2 + (p2 - l2)^2);
    RR and OR: exp(log(ratio) -/+ qnorm(1 - (1 - level)/2) * se) with the Katz and Woolf SEs
    (only for tables without zero cells)."""
    tag = f"_{round(100 * level):02d}"
    result = compare_proportions(*_table(r, case), conf_level=level)
    assert result.risk_difference_ci_low == pytest.approx(r[case, "newcombe_low" + tag], rel=CLOSED)
    assert result.risk_difference_ci_high == pytest.approx(
        r[case, "newcombe_high" + tag], rel=CLOSED
    )
    if (case, "rr_low" + tag) in r:
        assert result.risk_ratio_ci_low == pytest.approx(r[case, "rr_low" + tag], rel=CLOSED)
        assert result.risk_ratio_ci_high == pytest.approx(r[case, "rr_high" + tag], rel=CLOSED)
        assert result.odds_ratio_ci_low == pytest.approx(r[case, "or_low" + tag], rel=CLOSED)
        assert result.odds_ratio_ci_high == pytest.approx(r[case, "or_high" + tag], rel=CLOSED)


def _within_uniroot_tolerance(ours: float, theirs: float) -> None:
    """uniroot's absolute tolerance 1.2e-4 applies to t on (0, 1], or to 1/t for odds ratios
    above 1, where it becomes 1.2e-4 * OR^2; allow 2e-4 of either."""
    if ours == theirs:  # 0 and inf limits
        return
    assert abs(ours - theirs) <= 2e-4 * max(1.0, ours * ours)


@pytest.mark.parametrize("case", TABLES)
def test_fisher_matches_fisher_test(r: dict[tuple[str, str], float], case: str) -> None:
    """R: ft <- fisher.test(m, conf.level = 0.95 and 0.90): p-value at 1e-10. R's estimate and
    limits come from uniroot(tol = .Machine$double.eps^0.25), so they are compared to that
    tolerance;
    the same estimating equations solved in R with uniroot(tol = 1e-14) (the script's
    mnhyper/pnhyper transcription) are compared at 1e-9."""
    for level in (0.95, 0.90):
        tag = f"_{round(100 * level):02d}"
        result = compare_proportions(*_table(r, case), test="fisher", conf_level=level)
        assert result.p_value == pytest.approx(r[case, "fisher_p" + tag], rel=CLOSED)
        for ours, name in (
            (result.conditional_odds_ratio, "fisher_or"),
            (result.conditional_odds_ratio_ci_low, "fisher_or_low"),
            (result.conditional_odds_ratio_ci_high, "fisher_or_high"),
        ):
            assert ours is not None
            _within_uniroot_tolerance(ours, r[case, name + tag])
    result = compare_proportions(*_table(r, case), test="fisher")
    if (case, "fisher_or_precise") in r:
        assert result.conditional_odds_ratio == pytest.approx(
            r[case, "fisher_or_precise"], rel=1e-9
        )
    assert result.conditional_odds_ratio_ci_low == pytest.approx(
        r[case, "fisher_or_low_precise_95"], rel=1e-9, abs=1e-300
    )
    assert result.conditional_odds_ratio_ci_high == pytest.approx(
        r[case, "fisher_or_high_precise_95"], rel=1e-9
    )


POISSON = ["pbcseq_ascites", "sae", "small", "zero"]


@pytest.mark.parametrize("case", POISSON)
def test_poisson_matches_poisson_test(r: dict[tuple[str, str], float], case: str) -> None:
    """R: poisson.test(c(e1, e2), c(t1, t2), conf.level = 0.95 and 0.90) (closed form with
    qbeta limits: 1e-10); Wald: glm(y ~ g + offset(log(t)), family = poisson,
    control = glm.control(epsilon = 1e-14)) for tables without zero counts (R iterates: 1e-9).
    pbcseq_ascites: per-patient ascites visits after baseline over years of follow-up in
    survival::pbcseq, placebo over D-penicillamine."""
    c = f"poisson_{case}"
    args = [r[c, k] for k in ("events1", "time1", "events2", "time2")]
    for level in (0.95, 0.90):
        tag = f"_{round(100 * level):02d}"
        result = rate_ratio(*args, conf_level=level)
        for name in ("estimate", "p_value", "ci_low", "ci_high"):
            assert getattr(result, name) == pytest.approx(r[c, name + tag], rel=CLOSED), name
    if (c, "wald_se") in r:
        assert math.log(result.estimate) == pytest.approx(r[c, "wald_log_rr"], rel=1e-9)
        assert result.se == pytest.approx(r[c, "wald_se"], rel=1e-9)
        assert result.wald_p_value == pytest.approx(r[c, "wald_p"], rel=1e-9)


def test_negative_binomial_matches_glm_nb(r: dict[tuple[str, str], float]) -> None:
    """R: MASS::glm.nb(ascites_visits ~ arm + offset(log(years)), data = per,
    control = glm.control(epsilon = 1e-13, maxit = 200)); summary(nb)$coefficients;
    confint.default(nb); nb$theta; nb$twologlik. R iterates: 1e-6 relative. nb$SE.theta comes
    from theta.ml's information at its penultimate Newton iterate (MASS source), so it is
    compared at 1e-3; the script also evaluates that information at the final theta
    (se_theta_at_theta), compared at 1e-6."""
    data = pd.read_csv(FIXTURES / "linear_rates_pbcseq.csv")
    result = rate_ratio(
        data,
        columns=RateColumns(events="ascites_visits", exposure="years", group="arm"),
        method="negative-binomial",
    )
    assert result.labels == ("placebo", "D-penicillamine")
    assert math.log(result.estimate) == pytest.approx(r["negbin", "log_rate_ratio"], rel=1e-6)
    assert result.se == pytest.approx(r["negbin", "se"], rel=1e-6)
    assert result.p_value == pytest.approx(r["negbin", "p_value"], rel=1e-6)
    assert result.ci_low == pytest.approx(r["negbin", "ci_low"], rel=1e-6)
    assert result.ci_high == pytest.approx(r["negbin", "ci_high"], rel=1e-6)
    assert result.theta == pytest.approx(r["negbin", "theta"], rel=1e-6)
    assert result.loglik is not None
    assert 2.0 * result.loglik == pytest.approx(r["negbin", "twologlik"], rel=1e-9)
    assert result.theta_se == pytest.approx(r["negbin", "se_theta_at_theta"], rel=1e-6)
    assert result.theta_se == pytest.approx(r["negbin", "se_theta"], rel=1e-3)

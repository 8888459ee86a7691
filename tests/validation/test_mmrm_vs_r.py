"""MMRM against R 4.2 nlme::gls (figures from r/linear_reference.R and r/mmrm_structures.R).

Data: survival::pbcseq albumin (g/dL) at the visits closest to 6 months, 1 and 2 years
(fixtures/linear_mmrm_pbcseq.csv; 276 patients, 679 observations, missing visits left missing),
and nlme::Orthodont (fixtures/linear_mmrm_orthodont.csv). R iterates, so estimates and SEs are
compared at 1e-6 relative and the REML log-likelihood at 1e-9 relative (R's fits use
glsControl(opt = "optim", msTol = 1e-15, tolerance = 1e-12): nlminb's default stopping rule
leaves coefficients accurate to only ~1e-5).

The R package mmrm is not installed here. Satterthwaite df are checked against a
finite-difference computation coded in the R script (below), and in tests/test_stats_mmrm.py
against an independent dense-matrix computation and the exact n - 2 of complete balanced data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _linear_fixtures import reference_figures

from hepatrial.stats import MmrmResult, mmrm

FIXTURES = Path(__file__).parent / "fixtures"
ITERATED = 1e-6


@pytest.fixture(scope="module")
def r() -> dict[tuple[str, str], float]:
    return reference_figures("linear_reference.csv")


@pytest.fixture(scope="module")
def albumin_fit() -> MmrmResult:
    data = pd.read_csv(FIXTURES / "linear_mmrm_pbcseq.csv")
    return mmrm(data, outcome="albumin", group="arm", visit="visit", subject="id",
                covariates=["albumin_baseline", "age"])  # fmt: skip


def test_pbcseq_fit_matches_gls(r: dict[tuple[str, str], float], albumin_fit: MmrmResult) -> None:
    """R: g <- gls(albumin ~ arm * visit + albumin_baseline + age, data = long,
    correlation = corSymm(form = ~ vi | id), weights = varIdent(form = ~ 1 | visit),
    method = "REML", na.action = na.omit, control = tight); logLik(g); coef(g); vcov(g);
    getVarCov(g) for a patient seen at all three visits."""
    fit = albumin_fit
    assert fit.n_observations == r["mmrm", "n_obs"]
    assert fit.n_subjects == r["mmrm", "n_subjects"]
    assert fit.loglik == pytest.approx(r["mmrm", "loglik"], rel=1e-9)
    for _, row in fit.coefficients.iterrows():
        # Coefficients near zero (the arm effect is -0.005 g/dL) are compared against their SE.
        assert row["estimate"] == pytest.approx(
            r["mmrm_coef", f"estimate:{row['term']}"], rel=ITERATED, abs=ITERATED * row["se"]
        ), row["term"]
        assert row["se"] == pytest.approx(r["mmrm_coef", f"se:{row['term']}"], rel=ITERATED)
    sigma = fit.covariance.to_numpy()
    for i in range(3):
        for j in range(3):
            assert sigma[i, j] == pytest.approx(r["mmrm_sigma", f"{i + 1},{j + 1}"], rel=ITERATED)


def test_pbcseq_lsmeans_and_differences_match_gls(
    r: dict[tuple[str, str], float], albumin_fit: MmrmResult
) -> None:
    """R: L <- model.matrix(~ arm * visit + albumin_baseline + age, nd) at each arm and visit
    with albumin_baseline and age at their means over the analysed rows (emmeans' grid);
    estimate sum(L * coef(g)), SE sqrt(t(L) %*% vcov(g) %*% L); differences placebo minus
    D-penicillamine per visit."""
    for _, row in albumin_fit.lsmeans.iterrows():
        case = f"mmrm_lsmean_{row['group']}_{row['visit']}"
        assert row["estimate"] == pytest.approx(r[case, "estimate"], rel=ITERATED)
        assert row["se"] == pytest.approx(r[case, "se"], rel=ITERATED)
    for _, row in albumin_fit.differences.iterrows():
        case = f"mmrm_diff_{row['visit']}"
        # The 1-year difference is -8e-5 g/dL: compare it against its SE, not relatively.
        assert row["estimate"] == pytest.approx(r[case, "estimate"], abs=ITERATED * row["se"])
        assert row["se"] == pytest.approx(r[case, "se"], rel=ITERATED)
    assert albumin_fit.differences["contrast"].unique().tolist() == ["placebo - D-penicillamine"]


def test_orthodont_matches_gls(r: dict[tuple[str, str], float]) -> None:
    """R: gls(distance ~ Sex * age_f, data = Orthodont, correlation = corSymm(form = ~ vi |
    Subject), weights = varIdent(form = ~ 1 | age_f), method = "REML", control = tight)."""
    data = pd.read_csv(FIXTURES / "linear_mmrm_orthodont.csv")
    fit = mmrm(data, outcome="distance", group="Sex", visit="age", subject="Subject")
    assert fit.loglik == pytest.approx(r["orthodont", "loglik"], rel=1e-9)
    for _, row in fit.coefficients.iterrows():
        term = row["term"].replace("age", "age_f")
        assert row["estimate"] == pytest.approx(
            r["orthodont_coef", f"estimate:{term}"], rel=ITERATED
        )
        assert row["se"] == pytest.approx(r["orthodont_coef", f"se:{term}"], rel=ITERATED)
    assert np.all(fit.differences["df"] > 0)


def test_pbcseq_satterthwaite_df_match_an_r_finite_difference_computation(
    r: dict[tuple[str, str], float], albumin_fit: MmrmResult
) -> None:
    """R (linear_reference.R, no mmrm package): reml_parts(s) codes minus twice the REML
    log-likelihood per subject with Sigma parametrized by its unique entries; at gls' Sigma,
    H <- optimHess(s_hat, ..., control = list(ndeps = 1e-4)), A <- 2 * solve(H), gradient of
    c' Phi c by central differences (h = 1e-5), df = 2 v^2 / (g' A g). Finite differences in
    two places: compared at 1e-4 relative. The same code's log-likelihood equals gls' to 1e-9."""
    assert r["mmrm_dense", "loglik"] == pytest.approx(r["mmrm", "loglik"], rel=1e-9)
    for _, row in albumin_fit.differences.iterrows():
        assert row["df"] == pytest.approx(r[f"mmrm_diff_{row['visit']}", "df_dense"], rel=1e-4)


# --- regression case: heavy monotone dropout (fixtures/mmrm_msc_aclf_dropout.csv) ----------
#
# The synthetic MSC-ACLF reconstruction's change in bilirubin (µmol/L) and MELD at weeks 1-24,
# 104 patients, 616 observations, deaths thinning the late visits. The first MMRM engine
# stopped on it with "did not reach a maximum" (its Newton polish rejected steps whose
# objective change was rounding noise of a ~5000-sized sum). Figures: r/mmrm_structures.R,
# gls(y ~ arm * visit + base, correlation = <structure>, weights = <varIdent or none>,
# method = "REML", control = glsControl(opt = "optim", msTol = 1e-15, tolerance = 1e-12)).
# R's own optimizer stops short of the maximum on the hardest of these fits (nlminb restarted
# from optim's answer reports "false convergence"), so each structure has a tolerance on the
# coefficients (in SE units) set by how far R stopped, and hepatrial's REML log-likelihood
# must be at least R's: a higher maximum, never a lower one.

DROPOUT_OUTCOMES = {
    "bilirubin": ("bilirubin_change_umol_l", "bilirubin_baseline_umol_l"),
    "meld": ("meld_change", "meld_baseline"),
}
# structure: coefficient and Sigma tolerance (R's stopping point; see the comment above).
DROPOUT_TOLERANCE = {
    "unstructured": 1e-3,
    "compound-symmetry": 1e-6,
    "ar1": 1e-6,
    "heterogeneous-ar1": 1e-4,
}


@pytest.fixture(scope="module")
def dropout() -> pd.DataFrame:
    data = pd.read_csv(FIXTURES / "mmrm_msc_aclf_dropout.csv")
    order = [f"w{week}" for week in sorted(data["week"].unique())]
    data["visit"] = pd.Categorical(data["visit"], categories=order, ordered=True)
    return data


@pytest.fixture(scope="module")
def structures() -> dict[tuple[str, str], float]:
    return reference_figures("mmrm_structures.csv")


@pytest.mark.parametrize("outcome", sorted(DROPOUT_OUTCOMES))
@pytest.mark.parametrize("structure", sorted(DROPOUT_TOLERANCE))
def test_heavy_dropout_fits_match_gls(
    dropout: pd.DataFrame,
    structures: dict[tuple[str, str], float],
    outcome: str,
    structure: str,
) -> None:
    change, baseline = DROPOUT_OUTCOMES[outcome]
    fit = mmrm(dropout, outcome=change, group="arm", visit="visit", subject="subject",
               covariates=[baseline], covariance=structure)  # type: ignore[arg-type]  # fmt: skip
    case, tol = f"{outcome}:{structure}", DROPOUT_TOLERANCE[structure]
    assert fit.n_subjects == 104 and fit.n_observations == 616
    assert fit.loglik == pytest.approx(structures[case, "loglik"], rel=1e-9)
    assert fit.loglik >= structures[case, "loglik"] - 1e-9
    for _, row in fit.coefficients.iterrows():
        term = row["term"].replace(baseline, "base")
        assert row["estimate"] == pytest.approx(
            structures[case, f"estimate:{term}"], abs=tol * row["se"]
        ), term
        assert row["se"] == pytest.approx(structures[case, f"se:{term}"], rel=tol), term
    sigma = fit.covariance.to_numpy()
    for (i, j), value in np.ndenumerate(sigma):
        assert value == pytest.approx(structures[case, f"sigma:{i + 1},{j + 1}"], rel=tol)
    assert fit.provenance["covariance"] == structure
    assert np.all(fit.differences["df"] > 0)


@pytest.mark.parametrize("outcome", sorted(DROPOUT_OUTCOMES))
@pytest.mark.parametrize("structure", sorted(DROPOUT_TOLERANCE))
def test_heavy_dropout_criterion_at_gls_sigma_matches_gls_exactly(
    dropout: pd.DataFrame,
    structures: dict[tuple[str, str], float],
    outcome: str,
    structure: str,
) -> None:
    """Free of any optimizer's stopping rule: at R's own Sigma-hat (getVarCov, 17 digits),
    hepatrial's REML criterion and its generalized least squares give R's logLik(g), coef(g)
    and sqrt(diag(vcov(g))) to ~1e-10. So the engine's objective is R's; the fits above differ
    only where R stopped."""
    from hepatrial.stats._reml import build_patterns, evaluate_sigma
    from hepatrial.stats.mmrm import _design

    change, baseline = DROPOUT_OUTCOMES[outcome]
    case = f"{outcome}:{structure}"
    design = _design(dropout, "arm", "visit", [baseline])
    patterns = build_patterns(design.X, dropout[change].to_numpy(float),
                              pd.factorize(dropout["subject"])[0],
                              dropout["visit"].cat.codes.to_numpy(np.int64))  # fmt: skip
    sigma = np.array([[structures[case, f"sigma:{i + 1},{j + 1}"] for j in range(7)]
                      for i in range(7)])  # fmt: skip
    ev = evaluate_sigma(sigma, patterns)
    assert -0.5 * ev.value == pytest.approx(structures[case, "loglik"], rel=1e-11)
    se = np.sqrt(np.diag(ev.phi))
    for k, term in enumerate(design.names):
        name = term.replace(baseline, "base")
        assert ev.beta[k] == pytest.approx(structures[case, f"estimate:{name}"],
                                           abs=1e-9 * se[k])  # fmt: skip
        assert se[k] == pytest.approx(structures[case, f"se:{name}"], rel=1e-9)

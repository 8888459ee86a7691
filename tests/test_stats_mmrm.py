"""MMRM: Satterthwaite df checked independently, complete-data algebra, missing data, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepatrial.exceptions import ConvergenceError, ExclusionWarning
from hepatrial.stats import MmrmResult, mmrm
from hepatrial.stats._reml import (
    STRUCTURES,
    CovarianceModel,
    Pattern,
    build_patterns,
    evaluate_sigma,
    fit_reml,
    model_objective,
    satterthwaite_df,
)

ORTHODONT = Path(__file__).parent / "validation" / "fixtures" / "linear_mmrm_orthodont.csv"


def _simulate(seed: int, n: int = 40, visits: int = 3, drop: float = 0.2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    scale = np.sqrt((1.0 + np.arange(visits)) / 2.0)
    sigma = (0.5 * np.eye(visits) + 0.5) * np.outer(scale, scale)
    rows = []
    for subject in range(n):
        arm = "MSC" if subject % 2 else "control"
        baseline = rng.normal(20.0, 3.0)
        errors = rng.multivariate_normal(np.zeros(visits), sigma)
        for t in range(visits):
            if t > 0 and rng.uniform() < drop:
                continue
            effect = -1.0 * t * (arm == "MSC")
            rows.append([f"P{subject:03d}", arm, (t + 1) * 30, baseline,
                         0.8 * baseline + effect + errors[t]])  # fmt: skip
    return pd.DataFrame(rows, columns=["patient", "arm", "day", "meld_day0", "meld"])


def _dense_minus_two_reml(
    sigma_entries: np.ndarray, X: np.ndarray, y: np.ndarray, subject: np.ndarray,
    visit: np.ndarray, T: int,
) -> tuple[float, np.ndarray]:  # fmt: skip
    """Independent REML: full N x N V from Sigma's unique entries; returns f and Phi."""
    sigma = np.zeros((T, T))
    sigma[np.triu_indices(T)] = sigma_entries
    sigma = sigma + np.triu(sigma, 1).T
    same = subject[:, None] == subject[None, :]
    V = np.where(same, sigma[visit[:, None], visit[None, :]], 0.0)
    Vinv = np.linalg.inv(V)
    xtvx = X.T @ Vinv @ X
    phi = np.linalg.inv(xtvx)
    r = y - X @ (phi @ X.T @ Vinv @ y)
    n, p = X.shape
    value = (n - p) * np.log(2 * np.pi) + np.linalg.slogdet(V)[1] + np.linalg.slogdet(xtvx)[1]
    return float(value + r @ Vinv @ r), phi


def test_satterthwaite_df_matches_an_independent_dense_computation() -> None:
    """Without R's mmrm package, the df are checked against a second, independent route:
    the REML criterion built from the dense N x N covariance, parametrized by the unique
    entries of Sigma (not its Cholesky factor), with the Hessian and the gradient of
    c' Phi c both by finite differences of function values. Satterthwaite's df is invariant
    to the parametrization at the REML maximum, so both routes must agree."""
    data = _simulate(1, n=24)
    fit = mmrm(data, outcome="meld", group="arm", visit="day", subject="patient",
               covariates="meld_day0")  # fmt: skip
    from hepatrial.stats.mmrm import _design

    design = _design(data, "arm", "day", ["meld_day0"])
    visit = data["day"].map({30: 0, 60: 1, 90: 2}).to_numpy()
    subject = pd.factorize(data["patient"])[0]
    y = data["meld"].to_numpy(float)
    T = 3
    sigma = fit.covariance.to_numpy()
    s0 = sigma[np.triu_indices(T)]

    def f(s: np.ndarray) -> float:
        return _dense_minus_two_reml(s, design.X, y, subject, visit, T)[0]

    assert -0.5 * f(s0) == pytest.approx(fit.loglik, rel=1e-12)
    q, h = len(s0), 1e-4 * np.abs(s0).max()
    H = np.empty((q, q))
    for i in range(q):
        for j in range(q):
            e_i, e_j = np.eye(q)[i] * h, np.eye(q)[j] * h
            H[i, j] = (f(s0 + e_i + e_j) - f(s0 + e_i - e_j) - f(s0 - e_i + e_j)
                       + f(s0 - e_i - e_j)) / (4 * h * h)  # fmt: skip
    A = 2.0 * np.linalg.inv(H)
    for _, row in fit.differences.iterrows():
        t = [30, 60, 90].index(row["visit"])
        from hepatrial.stats.mmrm import _grid_row

        c = _grid_row(design, 1, t) - _grid_row(design, 0, t)

        def v(s: np.ndarray, c: np.ndarray = c) -> float:
            return float(c @ _dense_minus_two_reml(s, design.X, y, subject, visit, T)[1] @ c)

        g = np.array([(v(s0 + np.eye(q)[k] * h) - v(s0 - np.eye(q)[k] * h)) / (2 * h)
                      for k in range(q)])  # fmt: skip
        dense_df = 2 * v(s0) ** 2 / (g @ A @ g)
        assert row["df"] == pytest.approx(dense_df, rel=1e-5)
        assert row["se"] == pytest.approx(np.sqrt(v(s0)), rel=1e-9)


def test_complete_balanced_saturated_model_reduces_to_per_visit_t_tests() -> None:
    """Hand derivation: with complete data, means saturated in arm x visit and an unstructured
    covariance, REML gives Sigma-hat = E'E / (n - 2) (the pooled within-arm covariance), so the
    per-visit difference and its SE are those of the pooled two-sample t-test at that visit,
    and Var(sigma_tt-hat) = 2 sigma_tt^2 / (n - 2) makes Satterthwaite's df exactly n - 2.
    Orthodont: 27 children (11 girls, 16 boys), 4 ages: df = 25."""
    data = pd.read_csv(ORTHODONT)
    fit = mmrm(data, outcome="distance", group="Sex", visit="age", subject="Subject")
    for _, row in fit.differences.iterrows():
        at_age = data[data["age"] == row["visit"]]
        boys = at_age.loc[at_age["Sex"] == "Male", "distance"]
        girls = at_age.loc[at_age["Sex"] == "Female", "distance"]
        pooled = ((len(boys) - 1) * boys.var() + (len(girls) - 1) * girls.var()) / 25
        assert row["estimate"] == pytest.approx(boys.mean() - girls.mean(), rel=1e-9)
        assert row["se"] == pytest.approx(np.sqrt(pooled * (1 / 16 + 1 / 11)), rel=1e-7)
        assert row["df"] == pytest.approx(25.0, rel=1e-6)
    assert fit.n_subjects == 27 and fit.n_observations == 108


def test_missing_visits_keep_every_observed_value_and_are_counted() -> None:
    data = _simulate(2)
    data.loc[[3, 8], "meld"] = np.nan
    with pytest.warns(ExclusionWarning, match="2 of"):
        fit = mmrm(data, outcome="meld", group="arm", visit="day", subject="patient",
                   covariates="meld_day0")  # fmt: skip
    assert fit.exclusions[0].reason == "missing meld" and fit.exclusions[0].count == 2
    assert fit.n_observations == len(data) - 2
    assert fit.n_subjects == 40
    assert fit.provenance["exclusions"] == "2 (missing meld)"
    assert fit.provenance["covariance"] == "unstructured"


def test_single_visit_is_ancova() -> None:
    # With one visit the model is the linear model: REML variance = RSS / (n - p), df = n - p.
    data = _simulate(3, visits=1)
    fit = mmrm(data, outcome="meld", group="arm", visit="day", subject="patient",
               covariates="meld_day0")  # fmt: skip
    from hepatrial.stats import ancova

    reference = ancova(data, outcome="meld", group="arm", covariates="meld_day0")
    row = fit.differences.iloc[0]
    assert row["estimate"] == pytest.approx(reference.estimate, rel=1e-9)
    assert row["se"] == pytest.approx(reference.se, rel=1e-7)
    assert row["df"] == pytest.approx(reference.df, rel=1e-6)


def test_visit_order_follows_an_ordered_categorical() -> None:
    data = _simulate(4)
    data["visit"] = pd.Categorical(
        data["day"].map({30: "day 30", 60: "day 60", 90: "day 180"}),
        categories=["day 30", "day 60", "day 180"], ordered=True,
    )  # fmt: skip
    fit = mmrm(data, outcome="meld", group="arm", visit="visit", subject="patient")
    assert fit.visits == ("day 30", "day 60", "day 180")
    assert fit.differences["visit"].tolist() == ["day 30", "day 60", "day 180"]


def test_result_rendering() -> None:
    fit = mmrm(_simulate(5), outcome="meld", group="arm", visit="day", subject="patient",
               reference="control")  # fmt: skip
    assert isinstance(fit, MmrmResult)
    assert repr(fit).startswith("MmrmResult(meld: MSC - control at day=90 = ")
    assert "\n" not in repr(fit)
    assert list(fit.summary.columns) == ["visit", "contrast", "estimate", "se", "df",
                                         "statistic", "p_value", "ci_low", "ci_high"]  # fmt: skip
    assert "MSC - control" in fit.to_text()
    assert list(fit.lsmeans.columns) == ["group", "visit", "estimate", "se", "df", "ci_low",
                                         "ci_high"]  # fmt: skip


def test_bad_input_is_explained() -> None:
    data = _simulate(6)
    with pytest.raises(
        ValueError,
        match="covariance='toeplitz' is not available; choose one of "
        "'unstructured', 'compound-symmetry', 'ar1', 'heterogeneous-ar1'",
    ):
        mmrm(data, outcome="meld", group="arm", visit="day", subject="patient",
             covariance="toeplitz")  # type: ignore[arg-type]  # fmt: skip
    twice = pd.concat([data, data.iloc[:1]])
    with pytest.raises(
        ValueError, match=r"one row per day; subjects with repeated visits: \['P000'\]"
    ):
        mmrm(twice, outcome="meld", group="arm", visit="day", subject="patient")
    unestimable = data[~((data["arm"] == "MSC") & (data["day"] == 90))]
    with pytest.raises(ValueError, match="not estimable"):
        mmrm(unestimable, outcome="meld", group="arm", visit="day", subject="patient")


def test_engine_rejects_a_saddle_as_optimum() -> None:
    # The engine's own check: the returned optimum has a positive definite Hessian.
    data = _simulate(7)
    from hepatrial.stats.mmrm import _design

    design = _design(data, "arm", "day", [])
    visit = data["day"].map({30: 0, 60: 1, 90: 2}).to_numpy()
    patterns = build_patterns(design.X, data["meld"].to_numpy(float),
                              pd.factorize(data["patient"])[0], visit)  # fmt: skip
    fit = fit_reml(patterns, 3, np.eye(3))
    assert np.linalg.eigvalsh(fit.hessian).min() > 0
    c = np.zeros(design.X.shape[1])
    c[1] = 1.0
    assert satterthwaite_df(fit, patterns, 3, c) > 0


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_ci_contains_estimate_and_swapping_arms_negates(seed: int) -> None:
    data = _simulate(seed, n=30)
    one = mmrm(data, outcome="meld", group="arm", visit="day", subject="patient")
    two = mmrm(data, outcome="meld", group="arm", visit="day", subject="patient",
               reference="control")  # fmt: skip
    assert (one.reference, two.reference) == ("MSC", "control")
    d1, d2 = one.differences, two.differences
    assert np.all((d1["ci_low"] < d1["estimate"]) & (d1["estimate"] < d1["ci_high"]))
    assert np.all(one.lsmeans["ci_low"] < one.lsmeans["estimate"])
    np.testing.assert_allclose(d2["estimate"], -d1["estimate"], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(d2["df"], d1["df"], rtol=1e-5)


DROPOUT = Path(__file__).parent / "validation" / "fixtures" / "mmrm_msc_aclf_dropout.csv"


def _dropout() -> pd.DataFrame:
    data = pd.read_csv(DROPOUT)
    order = [f"w{week}" for week in sorted(data["week"].unique())]
    data["visit"] = pd.Categorical(data["visit"], categories=order, ordered=True)
    return data


def _dropout_patterns(change: str, baseline: str) -> tuple[list[Pattern], int]:
    from hepatrial.stats.mmrm import _design

    data = _dropout()
    design = _design(data, "arm", "visit", [baseline])
    visit = data["visit"].cat.codes.to_numpy(np.int64)
    patterns = build_patterns(design.X, data[change].to_numpy(float),
                              pd.factorize(data["subject"])[0], visit)  # fmt: skip
    return patterns, 7


@pytest.mark.parametrize("structure", STRUCTURES)
def test_analytic_gradient_matches_central_differences(structure: str) -> None:
    # The regression data set (heavy dropout, 7 visits): df/dtheta = tr(M dSigma/dtheta_k)
    # against central differences of f at a point away from the optimum.
    patterns, _ = _dropout_patterns("meld_change", "meld_baseline")
    model = CovarianceModel(structure, 7)  # type: ignore[arg-type]
    start = (
        30.0 * (0.4 * np.eye(7) + 0.6) * np.outer(np.linspace(1, 1.5, 7), np.linspace(1, 1.5, 7))
    )
    theta = model.theta(start) + 0.05
    _, gradient = model_objective(theta, patterns, model)
    h = 1e-6
    numeric = [(model_objective(theta + h * e, patterns, model)[0]
                - model_objective(theta - h * e, patterns, model)[0]) / (2 * h)
               for e in np.eye(len(theta))]  # fmt: skip
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-5)


def test_fit_is_equivariant_to_the_outcome_unit() -> None:
    """Hand derivation: y -> c y maps Sigma -> c^2 Sigma, beta -> c beta, df unchanged, and
    f(c y, c^2 Sigma) = f(y, Sigma) + (N - p) log c^2, so the REML log-likelihood drops by
    (N - p) log c. Bilirubin in µmol/L vs the same in mmol/L (c = 1/1000): N = 616 and
    p = 15 (intercept, arm, 6 visits, baseline, 6 arm:visit)."""
    data = _dropout()
    data["bilirubin_change_mmol_l"] = data["bilirubin_change_umol_l"] / 1000.0
    kw = {"group": "arm", "visit": "visit", "subject": "subject",
          "covariates": "bilirubin_baseline_umol_l"}  # fmt: skip
    umol = mmrm(data, outcome="bilirubin_change_umol_l", **kw)  # type: ignore[arg-type]
    mmol = mmrm(data, outcome="bilirubin_change_mmol_l", **kw)  # type: ignore[arg-type]
    np.testing.assert_allclose(mmol.differences["estimate"], umol.differences["estimate"] / 1000,
                               rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(mmol.differences["df"], umol.differences["df"], rtol=1e-5)
    np.testing.assert_allclose(mmol.covariance, umol.covariance / 1e6, rtol=1e-5)
    assert mmol.loglik - umol.loglik == pytest.approx((616 - 15) * np.log(1000.0), rel=1e-9)


def test_too_sparse_visit_raises_convergence_error_naming_visit_counts() -> None:
    # Keep week 24 for one patient per arm: its two own mean parameters (week 24 and
    # arm:week 24) take both observations, so the REML likelihood is unbounded.
    data = _dropout()
    late = data[data["visit"] == "w24"].groupby("arm").head(1).index
    sparse = data[(data["visit"] != "w24") | data.index.isin(late)]
    with pytest.raises(ConvergenceError) as info:
        mmrm(sparse, outcome="meld_change", group="arm", visit="visit", subject="subject")
    message = str(info.value)
    assert "cannot support an unstructured covariance: visit 'w24' has 2 observations" in message
    assert "w24: 2 (msc 1, standard-medical-therapy 1)" in message
    assert "w1: 104 (msc 55, standard-medical-therapy 49)" in message
    assert "covariance='heterogeneous-ar1'" in message


def test_visits_never_seen_together_are_refused_for_unstructured_only() -> None:
    data = _simulate(8, n=40, drop=0.0)
    # Patients 0, 1, 4, 5, ... attend day 60 only, the others day 90 only (all attend day 30);
    # both arms (odd and even numbers) are at every visit.
    odd = data["patient"].str[1:].astype(int) // 2 % 2 == 1
    split = data[(data["day"] == 30) | (odd & (data["day"] == 60)) | (~odd & (data["day"] == 90))]
    with pytest.raises(
        ConvergenceError, match="no subject was observed at both visit 60 and visit 90"
    ):
        mmrm(split, outcome="meld", group="arm", visit="day", subject="patient")
    fit = mmrm(split, outcome="meld", group="arm", visit="day", subject="patient",
               covariance="ar1")  # fmt: skip
    assert fit.covariance_structure == "ar1" and np.all(fit.differences["df"] > 0)


@pytest.mark.parametrize("structure", ["compound-symmetry", "ar1", "heterogeneous-ar1"])
def test_structured_satterthwaite_df_match_finite_differences(structure: str) -> None:
    """The df of a structured fit from a second route: Hessian of f by second differences of
    f values, and the gradient of c' Phi c by central differences of Phi, both in theta
    (no analytic Jacobian of Sigma involved)."""
    from hepatrial.stats.mmrm import _design, _grid_row

    data = _simulate(9, n=40, visits=4)
    fit = mmrm(data, outcome="meld", group="arm", visit="day", subject="patient",
               covariance=structure)  # type: ignore[arg-type]  # fmt: skip
    design = _design(data, "arm", "day", [])
    visit = (data["day"] // 30 - 1).to_numpy(np.int64)
    patterns = build_patterns(design.X, data["meld"].to_numpy(float),
                              pd.factorize(data["patient"])[0], visit)  # fmt: skip
    model = CovarianceModel(structure, 4)  # type: ignore[arg-type]
    theta = model.theta(fit.covariance.to_numpy())
    np.testing.assert_allclose(model.sigma(theta), fit.covariance.to_numpy(), rtol=1e-12)

    def f(t: np.ndarray) -> float:
        return evaluate_sigma(model.sigma(t), patterns).value

    q, h = len(theta), 1e-4
    E = np.eye(q) * h
    H = np.array([[(f(theta + E[i] + E[j]) - f(theta + E[i] - E[j]) - f(theta - E[i] + E[j])
                    + f(theta - E[i] - E[j])) / (4 * h * h) for j in range(q)]
                  for i in range(q)])  # fmt: skip
    assert -0.5 * f(theta) == pytest.approx(fit.loglik, rel=1e-12)
    for t, row in enumerate(fit.differences.itertuples()):
        c = _grid_row(design, 1, t) - _grid_row(design, 0, t)

        def v(s: np.ndarray, c: np.ndarray = c) -> float:
            return float(c @ evaluate_sigma(model.sigma(s), patterns).phi @ c)

        g = np.array([(v(theta + E[k]) - v(theta - E[k])) / (2 * h) for k in range(q)])
        assert row.df == pytest.approx(2 * v(theta) ** 2 / (g @ (2 * np.linalg.inv(H)) @ g),
                                       rel=1e-5)  # fmt: skip


def test_newton_step_at_rounding_noise_is_judged_by_its_gradient() -> None:
    # The cause of the MSC-ACLF failure: near the maximum f (~5363) moved by +6e-11, pure
    # rounding noise of a sum of ~600 terms, while the Newton step took the largest gradient
    # from 1.2e-5 to 1.7e-10; the step was rejected and the fit declared non-converged.
    from hepatrial.stats._reml import _accept

    before, after = np.array([1.2e-5, -3e-6]), np.array([1.7e-10, 2e-11])
    assert _accept(5363.154382661518, 5363.154382661582, before, after)
    assert not _accept(5363.154382661518, 5363.154382661582, after, before)
    # Beyond the noise allowance (1e-12 (1 + |f|) = 5.4e-9 here) f must not rise.
    assert not _accept(5363.154382661518, 5363.15439, before, after)
    assert _accept(5363.2, 5363.1, after, before)
    fit = fit_reml(*_dropout_patterns("bilirubin_change_umol_l", "bilirubin_baseline_umol_l"))
    assert fit.attempts == 1

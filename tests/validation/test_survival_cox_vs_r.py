"""Cox regression against R's ``coxph`` (figures from survival_reference.R; R call in r_code).

Coefficients come from Newton-Raphson in both programs: compared at 1e-6 relative (the
validation plan's tolerance for iterated estimates); in practice they agree far closer, and the
tighter check below documents it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _survival_fixtures import ITERATIVE_RTOL, dataset, load, numbers

from hepatrial.exceptions import ExclusionWarning
from hepatrial.stats import cox_ph
from hepatrial.stats.cox import cox_engine

COX_CASES = load("survival_cox.json")

# lung has missing ph.ecog and inst: R's na.omit drops the same records; the exclusion counts
# are asserted in test_cox_exclusions_match_r_na_action.
pytestmark = pytest.mark.filterwarnings("ignore::hepatrial.exceptions.ExclusionWarning")


def _fit(case: dict[str, Any]) -> Any:
    return cox_ph(
        dataset(case["data"]),
        time=case["time"],
        event=case["event"],
        covariates=list(case["covariates"]),
        ties=case["ties"],
        strata=case.get("strata"),
        cluster=case.get("cluster"),
        robust=bool(case.get("robust", False)),
    )


def _close(actual: Any, expected: Any, rtol: float = ITERATIVE_RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), numbers(expected), rtol=rtol, atol=0)


@pytest.mark.parametrize("name", sorted(COX_CASES))
def test_cox_coefficients_and_se_match_coxph(name: str) -> None:
    """``coef(fit)``, ``sqrt(diag(fit$var))`` (robust when clustered/robust) and
    ``sqrt(diag(fit$naive.var))`` of the coxph call in the case's r_code."""
    case = COX_CASES[name]
    result = _fit(case)
    assert len(result.coef) == len(case["terms"])
    _close(result.coef, case["coef"])
    _close(result.terms["se"], case["se"])
    if "se_model" in case:
        _close(result.se_model, case["se_model"])
    assert result.n == case["n"] and result.n_events == case["nevent"]


@pytest.mark.parametrize("name", sorted(COX_CASES))
def test_cox_loglik_and_concordance_match_coxph(name: str) -> None:
    """``fit$loglik`` (at beta = 0: closed form, 1e-10; at the estimate: 1e-6) and
    ``fit$concordance`` (counts exact given the same risk order)."""
    case = COX_CASES[name]
    result = _fit(case)
    _close(result.loglik[0], numbers(case["loglik"])[0], rtol=1e-10)
    _close(result.loglik[1], numbers(case["loglik"])[1])
    _close(result.concordance, case["concordance"], rtol=1e-12)
    assert result.iterations == case["iter"]


def test_cox_agrees_with_r_well_beyond_the_stated_tolerance() -> None:
    """Converged Newton iterates of the same likelihood agree to ~1e-9 or better."""
    case = COX_CASES["pbc_arm_adjusted"]
    result = _fit(case)
    _close(result.coef, case["coef"], rtol=1e-8)
    _close(result.terms["se"], case["se"], rtol=1e-8)


def test_cox_exclusions_match_r_na_action() -> None:
    """coxph drops the lung record with missing ph.ecog (n = 227) and, with cluster(inst),
    also the record with missing inst (n = 226); hepatrial reports both exclusions."""
    with pytest.warns(ExclusionWarning, match="2 of 228 records excluded"):
        result = _fit(COX_CASES["lung_cluster_inst"])
    assert result.n == 226 and result.n_excluded == 2
    assert {e.reason for e in result.exclusions} == {"missing ph.ecog", "missing inst"}


def test_cox_engine_on_arrays_matches_coxph() -> None:
    """Engine on numpy arrays: coxph(Surv(time, status) ~ x, data = aml_df)."""
    data = dataset("aml")
    x = (data["x"] == "Nonmaintained").to_numpy(dtype=float)[:, None]
    engine = cox_engine(data["time"].to_numpy(float), data["status"].to_numpy(float), x)
    _close(engine.fit.coef, COX_CASES["aml"]["coef"])

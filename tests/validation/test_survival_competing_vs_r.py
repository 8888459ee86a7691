"""Competing risks against R's cmprsk on the PBC trial (transplant = 1 competes with death = 2).

Figures from survival_reference.R; the R call is in each case's r_code. cuminc estimates,
variances and Gray's statistics are closed form (1e-10 relative); crr iterates (1e-6, and in
practice ~1e-12, checked separately).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _survival_fixtures import CLOSED_FORM_RTOL, ITERATIVE_RTOL, dataset, load, numbers

from hepatrial.stats import cumulative_incidence, fine_gray, gray_test

REF = load("survival_competing.json")


def _close(actual: Any, expected: Any, rtol: float = CLOSED_FORM_RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), numbers(expected), rtol=rtol, atol=0)


def _pbc() -> Any:
    return dataset("pbc")


@pytest.mark.parametrize(
    ("case", "group"),
    [("cuminc_arm", "arm"), ("cuminc_all", None), ("cuminc_edema", "edema_level")],
)
def test_cumulative_incidence_matches_cuminc_timepoints(case: str, group: str | None) -> None:
    """``timepoints(cuminc(time, status, group), times)$est`` and ``$var`` for every curve."""
    ref = REF[case]
    data = _pbc()
    fit = cumulative_incidence(data["time"], data["status"], group=data[group] if group else None)
    at = fit.at(numbers(ref["times"]))
    for name, est, var in zip(ref["curve_names"], ref["est"], ref["var"], strict=True):
        label, cause = name.rsplit(" ", 1)
        rows = at[(at["cause"] == int(cause)) & ((at["group"] == label) if group else True)]
        _close(rows["estimate"], est)
        _close(rows["variance"], var)


def test_cumulative_incidence_jump_points_match_cuminc_curves() -> None:
    """Every corner of cuminc's step function (``fit[["placebo 2"]]$time/est/var``)."""
    ref = REF["cuminc_arm"]["curves"]["placebo 2"]
    data = _pbc()
    curve = cumulative_incidence(data["time"], data["status"], group=data["arm"]).curves[
        ("placebo", 2)
    ]
    # cmprsk lists (0, 0), then each jump twice (before, after) and the last follow-up time
    times = numbers(ref["time"])
    _close(curve.time, times[2:-1:2])
    _close(curve.estimate, numbers(ref["est"])[2:-1:2])
    _close(curve.variance, numbers(ref["var"])[2:-1:2])
    assert curve.last_time == times[-1]


@pytest.mark.parametrize(
    ("case", "group"), [("cuminc_arm", "arm"), ("cuminc_edema", "edema_level")]
)
def test_gray_test_matches_cuminc_tests(case: str, group: str) -> None:
    """``cuminc(...)$Tests``: stat for each cause; P as ``pchisq(stat, df, lower.tail = FALSE)``
    (cmprsk prints 1 - pchisq, which loses digits for small P; both are in the fixture)."""
    tests = REF[case]["tests"]
    data = _pbc()
    for i, cause in enumerate(tests["causes"]):
        result = gray_test(data["time"], data["status"], data[group], cause_of_interest=cause)
        _close(result.statistic, numbers(tests["stat"])[i])
        _close(result.p_value, numbers(tests["p_upper"])[i])
        assert result.df == numbers(tests["df"])[i]
    fit = cumulative_incidence(data["time"], data["status"], group=data[group])
    assert fit.tests is not None
    _close(fit.tests["statistic"], tests["stat"])


def test_stratified_gray_test_matches_cuminc_strata() -> None:
    """``cuminc(time, status, group = arm, strata = edema_level)$Tests``."""
    tests = REF["gray_stratified"]["tests"]
    data = _pbc()
    for i, cause in enumerate(tests["causes"]):
        result = gray_test(
            data["time"],
            data["status"],
            data["arm"],
            cause_of_interest=cause,
            strata=data["edema_level"],
        )
        _close(result.statistic, numbers(tests["stat"])[i])


@pytest.mark.parametrize("case", ["crr_death_arm", "crr_death_adjusted", "crr_transplant_adjusted"])
def test_fine_gray_matches_crr(case: str) -> None:
    """``crr(ftime, fstatus, cov1, failcode, cencode = 0)``: coef, sqrt(diag(var)), loglik."""
    ref = REF[case]
    data = _pbc().assign(placebo=lambda d: (d["arm"] == "placebo").astype(float))
    result = fine_gray(
        data,
        time="time",
        cause="status",
        covariates=list(ref["covariates"]),
        cause_of_interest=ref["cause_of_interest"],
    )
    _close(result.coef, ref["coef"], rtol=ITERATIVE_RTOL)
    _close(result.terms["se"], ref["se"], rtol=ITERATIVE_RTOL)
    _close(result.loglik, ref["loglik"], rtol=ITERATIVE_RTOL)
    # same iteration path as crr: agreement is far tighter than the stated tolerance
    _close(result.coef, ref["coef"], rtol=1e-9)
    _close(result.terms["se"], ref["se"], rtol=1e-9)


def test_fine_gray_text_covariate_equals_indicator() -> None:
    """A text arm column gives the crr fit of the 0/1 placebo indicator (reference first level)."""
    ref = REF["crr_death_arm"]
    result = fine_gray(_pbc(), time="time", cause="status", covariates=["arm"], cause_of_interest=2)
    assert list(result.coef.index) == ["arm=placebo"]
    _close(result.coef, ref["coef"], rtol=1e-9)

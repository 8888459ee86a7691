"""Kaplan-Meier and log-rank against R's survival package (figures from survival_reference.R).

Each case names the R call that produced it (``r_code`` in the fixture, repeated in the test
ids). Closed-form figures agree to 1e-10 relative.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _survival_fixtures import CLOSED_FORM_RTOL, dataset, load, numbers

from hepatrial.stats import kaplan_meier, logrank
from hepatrial.stats._survival_input import encode_labels
from hepatrial.stats.logrank import logrank_engine
from hepatrial.stats.survival import fit_kaplan_meier

KM_CASES = load("survival_km.json")
LOGRANK_CASES = load("survival_logrank.json")

# lung has a missing ph.ecog: survdiff's na.omit drops the same record (n is asserted).
pytestmark = pytest.mark.filterwarnings("ignore::hepatrial.exceptions.ExclusionWarning")

EVENT_COLUMN = {"aml": "status", "lung": "dead", "pbc": "death", "veteran": "status"}


def _close(actual: Any, expected: Any, rtol: float = CLOSED_FORM_RTOL) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), numbers(expected), rtol=rtol, atol=0)


def _km_data(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    data = dataset(case["data"])
    if case["subset"] != "all":
        data = data[data["arm"] == case["subset"]]
    return data["time"].to_numpy(), data[EVENT_COLUMN[case["data"]]].to_numpy()


def _km_fit(case: dict[str, Any]) -> Any:
    time, event = _km_data(case)
    return kaplan_meier(time, event, conf_type=case["conf_type"], conf_level=case["conf_level"])


@pytest.mark.parametrize("name", sorted(KM_CASES))
def test_km_table_matches_summary_survfit(name: str) -> None:
    """``summary(survfit(...), censored = TRUE)``: every row, every column (see r_code)."""
    case = KM_CASES[name]
    table = _km_fit(case).table
    ref = case["table"]
    _close(table["time"], ref["time"])
    _close(table["at_risk"], ref["n_risk"])
    _close(table["events"], ref["n_event"])
    _close(table["censored"], ref["n_censor"])
    for ours, theirs in [
        ("survival", "surv"),
        ("std_err", "std_err"),
        ("lower", "lower"),
        ("upper", "upper"),
    ]:
        _close(table[ours], ref[theirs])


@pytest.mark.parametrize("name", sorted(KM_CASES))
def test_km_median_and_interval_match_print_survfit(name: str) -> None:
    """``summary(fit)$table[c("median", "0.95LCL", "0.95UCL")]`` (what print(fit) shows)."""
    case = KM_CASES[name]
    median = _km_fit(case).median
    _close(
        [median.estimate, median.ci_low, median.ci_high],
        [case["median"], case["median_lcl"], case["median_ucl"]],
    )


@pytest.mark.parametrize("name", sorted(KM_CASES))
def test_km_restricted_mean_matches_print_rmean(name: str) -> None:
    """``summary(fit, rmean = tau)$table[c("rmean", "se(rmean)")]`` = print(fit, rmean = tau)."""
    case = KM_CASES[name]
    rmst = _km_fit(case).rmst(case["rmean_tau"])
    _close([rmst.estimate, rmst.se], [case["rmean"], case["rmean_se"]])


@pytest.mark.parametrize("name", sorted(KM_CASES))
def test_km_at_times_matches_summary_times(name: str) -> None:
    """``summary(fit, times = ...)``: survival, SE, limits and numbers at risk (R drops times
    after the last follow-up, so only the times R returned are compared)."""
    case = KM_CASES[name]
    ref = case["at"]
    at = _km_fit(case).at(numbers(ref["time"]))
    _close(at["at_risk"], ref["n_risk"])
    for column in ["survival", "std_err", "lower", "upper"]:
        _close(at[column], ref["surv" if column == "survival" else column])


def test_km_engine_equals_front_end_on_complete_data() -> None:
    """The engine (complete numpy arrays) and the front end give the same table."""
    case = KM_CASES["aml_log"]
    time, event = _km_data(case)
    engine = fit_kaplan_meier(time.astype(float), event.astype(float), 0.95, "log")
    assert engine.table.equals(_km_fit(case).table)


def _logrank_inputs(case: dict[str, Any]) -> tuple[Any, ...]:
    data = dataset(case["data"])
    strata = case.get("strata") or None
    needed = [case["time"], case["event"], case["group"]] + ([strata] if strata else [])
    return data, needed, strata


@pytest.mark.parametrize("name", sorted(LOGRANK_CASES))
def test_logrank_matches_survdiff(name: str) -> None:
    """``survdiff(Surv(time, event) ~ group [+ strata(s)])``: chisq, df, p, O, E and V."""
    case = LOGRANK_CASES[name]
    data, needed, strata = _logrank_inputs(case)
    result = logrank(
        data[case["time"]],
        data[case["event"]],
        data[case["group"]].astype(str) if case["group"] != "trt" else data["trt"],
        strata=data[strata] if strata else None,
    )
    expected_groups = [str(g) for g in case["groups"]]
    assert [
        str(g) if not isinstance(g, float) else f"{g:g}" for g in result.groups
    ] == expected_groups
    _close(result.statistic, case["chisq"])
    assert result.df == case["df"]
    _close(result.p_value, case["p"])
    _close(result.observed, case["observed"])
    _close(result.expected, case["expected"])
    k = len(expected_groups)
    _close(result.variance.ravel(order="F"), numbers(case["variance"])[: k * k])
    assert result.n == int(numbers(case["n"]).sum())
    n_missing = int(data[needed].isna().any(axis=1).sum())
    assert result.n_excluded == n_missing


def test_logrank_engine_matches_survdiff_stratified() -> None:
    """Engine on complete arrays: survdiff(Surv(time, death) ~ arm + strata(edema_level), pbc)."""
    case = LOGRANK_CASES["pbc_arm_by_edema"]
    data = dataset("pbc")
    group = encode_labels("group", data["arm"].tolist())
    strata = encode_labels("strata", data["edema_level"].tolist())
    result = logrank_engine(
        data["time"].to_numpy(), data["death"].to_numpy(), group.codes, group.levels, strata.codes
    )
    _close(result.statistic, case["chisq"])
    _close(result.expected, case["expected"])

"""The analysis plan run from the protocols on reconstructed source tables (no store).

Expected values come from the reconstruction's construction (ΔΔMELD = -0.87 with
SE = 0.9175 / t(0.975, 48), see ``hepatrial.demo.match.primary_changes``) and from hand
formulas written in each test (binomial KM interval, Pearson chi-square).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from hepatrial.analysis.adam import derive_adam
from hepatrial.analysis.plan import analyses, run_plan
from hepatrial.demo import match, msc_aclf
from hepatrial.demo.tables import source_tables
from hepatrial.protocol import load_protocol


@pytest.fixture(scope="module")
def match_run():  # type: ignore[no-untyped-def]
    protocol = load_protocol("match")
    tables = source_tables(match.reconstruct(), protocol)
    adam = derive_adam(tables, protocol)
    return tables, adam, run_plan(adam, protocol, options={"purpose": "test"})


@pytest.fixture(scope="module")
def msc_run():  # type: ignore[no-untyped-def]
    protocol = load_protocol("msc-aclf")
    adam = derive_adam(source_tables(msc_aclf.reconstruct(), protocol), protocol)
    return adam, run_plan(adam, protocol)


def test_primary_ancova_hits_the_constructed_estimate(match_run) -> None:  # type: ignore[no-untyped-def]
    _, _, results = match_run
    primary = results.result("delta_meld_d90")
    se = 0.9175 / stats.t.ppf(0.975, 48)
    assert primary.estimate == pytest.approx(-0.87, abs=1e-9)
    assert primary.by_arm["_fit"]["se"] == pytest.approx(se, rel=1e-9)
    assert primary.ci_low == pytest.approx(-0.87 - 0.9175, abs=1e-9)
    assert primary.ci_high == pytest.approx(-0.87 + 0.9175, abs=1e-9)
    assert primary.p_value == pytest.approx(2 * stats.t.sf(0.87 / se, 48), rel=1e-9)
    assert primary.n == 51 and primary.exclusions == ()
    sensitivity = results.result("delta_meld_d90", "t-test")
    assert sensitivity.role == "sensitivity" and sensitivity.n == 51


def test_every_result_carries_the_dataset_hash(match_run) -> None:  # type: ignore[no-untyped-def]
    _, adam, results = match_run
    assert len(results.results) == len(analyses(load_protocol("match")))
    assert {r.dataset_hash for r in results.results} == {adam.content_hash}
    payload = json.loads(results.to_json())
    assert payload["dataset_sha256"] == adam.content_hash
    assert payload["options"] == {"purpose": "test"}
    assert all(r["dataset_hash"] == adam.content_hash for r in payload["results"])


def test_safety_counts_use_the_treated_population(match_run) -> None:  # type: ignore[no-untyped-def]
    _, _, results = match_run
    sae = results.result("sae_participants")
    # 26 of 27 macrophage participants were treated; every control participant is in it.
    assert sae.n == 50
    assert sae.by_arm["standard-care"] == {"events": 5.0, "n": 24.0, "proportion": 5 / 24}
    assert results.result("sae_events").by_arm["standard-care"]["events"] == 10.0
    assert results.result("deaths").by_arm["standard-care"]["events"] == 3.0


def test_liver_stiffness_is_analysed_without_an_arm_difference(match_run) -> None:  # type: ignore[no-untyped-def]
    tables, adam, results = match_run
    stiffness = results.result("liver_stiffness_over_time")
    assert stiffness.status == "done" and stiffness.n == 51
    # the reconstruction has no arm effect on liver stiffness ("no differences were observed
    # in biomarkers"): the 95% CI at day 360 covers 0
    assert stiffness.ci_low < 0 < stiffness.ci_high
    differences = {k for k in stiffness.by_arm if k.startswith("difference@")}
    assert differences == {"difference@d90", "difference@d180", "difference@d360"}
    # baseline liver stiffness is the eligibility reading, above 15 kPa for everyone
    baseline = adam.adsl["BLSM"]
    assert baseline.notna().all() and (baseline > 15).all()
    screening = adam.adsl["SCR_LIVER_STIFFNESS_KPA"]
    assert (baseline == screening).all()


def test_unrecorded_variable_is_reported_not_estimated(match_run) -> None:  # type: ignore[no-untyped-def]
    tables, _, _ = match_run
    protocol = load_protocol("match")
    labs = tables["lab_results"]
    without = dict(tables, lab_results=labs[labs["analyte"] != "liver_stiffness"])
    results = run_plan(derive_adam(without, protocol), protocol)
    stiffness = results.result("liver_stiffness_over_time")
    assert stiffness.status == "not run" and "LSM" in stiffness.note and stiffness.estimate is None


def test_death_before_the_visit_is_excluded_and_counted(match_run) -> None:  # type: ignore[no-untyped-def]
    tables, _, _ = match_run
    tables = {k: v.copy() for k, v in tables.items()}
    protocol = load_protocol("match")
    control = tables["randomizations"].query("arm == 'standard-care'").iloc[0]
    pid, start = control["participant_id"], pd.Timestamp(control["randomized_on"])
    labs = tables["lab_results"]
    late = (labs["participant_id"] == pid) & (
        pd.to_datetime(labs["collected_on"]) > start + pd.Timedelta(days=40)
    )
    tables["lab_results"] = labs[~late]
    death = {
        "participant_id": pid,
        "kind": "death",
        "occurred_on": (start + pd.Timedelta(days=40)).date(),
        "cause": "Liver failure",
        "detail": "liver-related",
        "severe": None,
    }
    tables["outcomes"] = pd.concat([tables["outcomes"], pd.DataFrame([death])], ignore_index=True)
    primary = run_plan(derive_adam(tables, protocol), protocol).result("delta_meld_d90")
    assert primary.n == 50
    assert [(e.reason, e.count) for e in primary.exclusions] == [("died before day 90", 1)]


def test_kaplan_meier_plain_interval_at_week_24(msc_run) -> None:  # type: ignore[no-untyped-def]
    _, results = msc_run
    primary = results.result("survival_24w")
    for arm, (alive, n) in {"msc": (41, 56), "standard-medical-therapy": (30, 54)}.items():
        p = alive / n
        half = stats.norm.ppf(0.975) * math.sqrt(p * (1 - p) / n)  # Greenwood without censoring
        v = primary.by_arm[arm]
        assert v["survival"] == pytest.approx(p, abs=1e-12)
        assert (v["ci_low"], v["ci_high"]) == (
            pytest.approx(p - half, abs=1e-6),
            pytest.approx(p + half, abs=1e-6),
        )
    assert round(primary.p_value, 2) == 0.03


def _pearson(x1: int, n1: int, x2: int, n2: int) -> float:
    a, b, c, d = x1, n1 - x1, x2, n2 - x2
    n = n1 + n2
    chi2 = n * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
    return float(stats.chi2.sf(chi2, 1))


def test_binary_endpoints_use_pearson_without_correction(msc_run) -> None:  # type: ignore[no-untyped-def]
    _, results = msc_run
    infection = results.result("severe_infection")
    assert (
        infection.by_arm["msc"]["events"] == 9
        and infection.by_arm["standard-medical-therapy"]["events"] == 18
    )
    assert infection.p_value == pytest.approx(_pearson(9, 56, 18, 54), rel=1e-9)
    mof = results.result("mof_or_infection_death")
    assert mof.p_value == pytest.approx(_pearson(10, 56, 20, 54), rel=1e-9)
    assert results.result("severe_infection", "chisq-yates").p_value > infection.p_value


def test_survival_difference_has_a_greenwood_wald_interval(msc_run) -> None:  # type: ignore[no-untyped-def]
    _, results = msc_run
    primary = results.result("survival_24w")
    # no censoring before week 24: Greenwood variance p(1-p)/n in each arm, so the difference
    # 41/56 - 30/54 has CI d ± z sqrt(p1 q1 / 56 + p2 q2 / 54)
    p1, p2 = 41 / 56, 30 / 54
    half = stats.norm.ppf(0.975) * math.sqrt(p1 * (1 - p1) / 56 + p2 * (1 - p2) / 54)
    assert primary.estimate == pytest.approx(p1 - p2, abs=1e-12)
    assert (primary.ci_low, primary.ci_high) == (
        pytest.approx(p1 - p2 - half, abs=1e-9),
        pytest.approx(p1 - p2 + half, abs=1e-9),
    )


def test_supportive_cox_and_competing_risk_analyses_run(msc_run) -> None:  # type: ignore[no-untyped-def]
    _, results = msc_run
    cox = results.result("survival_24w", "cox")
    assert cox.status == "done" and 0 < cox.ci_low < cox.estimate < cox.ci_high < 1
    cif = results.result("survival_24w", "cumulative_incidence")
    # No transplant: the cumulative incidence of death is 1 - KM survival (15/56 and 24/54).
    assert cif.by_arm["msc"]["incidence"] == pytest.approx(15 / 56, abs=1e-12)
    assert cif.by_arm["standard-medical-therapy"]["incidence"] == pytest.approx(24 / 54, abs=1e-12)


def test_time_to_decompensation_matches_cmprsk(match_run) -> None:  # type: ignore[no-untyped-def]
    """Cumulative incidence of first decompensation (competing: death, transplant) by day 360.

    R reference: tests/validation/r/match_decompensation.R (cmprsk::cuminc, timepoints, Tests)
    on the DECOMP records of this reconstruction, committed as match_decompensation_adtte.csv.
    By hand: standard care has 24 participants, decompensations on days 120 and 140 and nobody
    censored or lost to a competing event before day 140, so F(360) = 2/24; the macrophage arm
    has no decompensation, F = 0.
    """
    _, adam, results = match_run
    fixtures = Path(__file__).parent / "validation" / "fixtures"
    rows = adam.adtte[adam.adtte["PARAMCD"] == "DECOMP"][["USUBJID", "ARMCD", "AVAL", "CRSTAT"]]
    recorded = pd.read_csv(fixtures / "match_decompensation_adtte.csv")
    pd.testing.assert_frame_equal(
        rows.sort_values("USUBJID").reset_index(drop=True), recorded, check_dtype=False
    )
    ref = json.loads((fixtures / "match_decompensation.json").read_text())
    cif = results.result("time_to_decompensation")
    assert (cif.status, cif.estimator, cif.test, cif.n) == (
        "done",
        "cumulative_incidence",
        "gray",
        51,
    )
    assert cif.dataset_hash == adam.content_hash == results.dataset_hash
    control, treated = cif.by_arm["standard-care"], cif.by_arm["macrophage"]
    assert control["incidence"] == pytest.approx(2 / 24, abs=1e-15)
    assert control["incidence"] == pytest.approx(ref["incidence_360_standard_care"], rel=1e-12)
    assert control["variance"] == pytest.approx(ref["variance_360_standard_care"], rel=1e-12)
    assert (treated["incidence"], treated["variance"]) == (0.0, 0.0)
    assert (control["events"], control["competing"], treated["events"]) == (2, 1, 0)
    assert cif.p_value == pytest.approx(ref["gray_p_value"], rel=1e-9)
    assert f"χ² = {ref['gray_statistic']:.3f} on 1 df" in cif.note
    # difference macrophage - standard care with a Wald interval from the two variances
    half = stats.norm.ppf(0.975) * math.sqrt(ref["variance_360_standard_care"])
    assert (cif.estimate, cif.ci_low, cif.ci_high) == (
        pytest.approx(-2 / 24, abs=1e-12),
        pytest.approx(-2 / 24 - half, abs=1e-12),
        pytest.approx(-2 / 24 + half, abs=1e-12),
    )
    # no decompensation under macrophages: the subdistribution hazard ratio has no finite value
    fine_gray = results.result("time_to_decompensation", "fine_gray")
    assert (fine_gray.role, fine_gray.status) == ("supportive", "not run")
    assert "no decompensation event in arm macrophage" in fine_gray.note
    assert fine_gray.dataset_hash == adam.content_hash


def test_fine_gray_runs_when_both_arms_have_events(msc_run) -> None:  # type: ignore[no-untyped-def]
    from hepatrial.analysis.plan import run_plan as run
    from hepatrial.protocol import protocol_from_dict

    adam, _ = msc_run
    data = load_protocol("msc-aclf").model_dump(mode="json")
    survival = data["endpoints"][0]
    survival["additional"].append(
        {"role": "supportive", "estimator": "fine_gray", "population": "itt"}
    )
    result = run(adam, protocol_from_dict(data)).result("survival_24w", "fine_gray")
    # No transplant in the reconstruction, so no competing event: the Fine-Gray risk sets are
    # the Cox risk sets and its coefficient is the Cox coefficient with Breslow ties (crr's
    # convention, Fine & Gray 1999); only the (sandwich) standard error differs.
    from hepatrial.stats import cox_ph

    os_ = adam.adtte[adam.adtte["PARAMCD"] == "OS"]
    assert (os_["CRSTAT"] == 2).sum() == 0
    cox = cox_ph(
        pd.DataFrame(
            {
                "time": os_["AVAL"].to_numpy(),
                "event": 1 - os_["CNSR"].to_numpy(),
                "treated": (os_["ARMCD"] == "msc").astype(float).to_numpy(),
            }
        ),
        time="time",
        event="event",
        covariates=["treated"],
        ties="breslow",
    )
    assert result.status == "done" and result.n == len(os_)
    assert result.estimate == pytest.approx(float(cox.hazard_ratio["treated"]), rel=1e-6)
    assert result.ci_low < result.estimate < result.ci_high
    assert result.estimate_label.startswith("subdistribution hazard ratio")


def test_reconstruction_dates_are_real_calendar_dates(match_run) -> None:  # type: ignore[no-untyped-def]
    tables, _, _ = match_run
    assert all(isinstance(d, dt.date) for d in tables["randomizations"]["randomized_on"])


def test_an_estimator_that_does_not_converge_is_reported(match_run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hepatrial.analysis import estimates
    from hepatrial.exceptions import ConvergenceError

    def fails(ctx, a):  # type: ignore[no-untyped-def]
        raise ConvergenceError("REML stopped at a saddle point")

    monkeypatch.setitem(estimates.HANDLERS, "repeated_measures", fails)
    _, adam, _ = match_run
    results = run_plan(adam, load_protocol("match"))
    elf = results.result("elf_over_time")
    assert (
        elf.status == "not run" and elf.note == "did not converge: REML stopped at a saddle point"
    )
    assert results.result("delta_meld_d90").status == "done"


@pytest.mark.parametrize("error", [ValueError, TypeError])
def test_a_bug_inside_an_estimator_stops_the_plan(match_run, monkeypatch, error) -> None:  # type: ignore[no-untyped-def]
    """Only the domain errors that mean "these data do not allow it" become "not run": a
    ValueError or TypeError from a bug in an estimator propagates with its traceback."""
    ancova = importlib.import_module("hepatrial.stats.ancova")  # the module, not the function

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise error("bug")

    monkeypatch.setattr(ancova, "_ancova_engine", broken)
    _, adam, _ = match_run
    with pytest.raises(error, match="^bug$"):
        run_plan(adam, load_protocol("match"))


def test_too_few_values_for_an_estimator_is_reported_as_not_run_with_the_reason(match_run) -> None:  # type: ignore[no-untyped-def]
    """Three participants with a day-90 MELD (two macrophage, one standard care): ANCOVA has
    no residual df and the t-test has one change in an arm; both are reported, not raised."""
    import dataclasses

    _, adam, _ = match_run
    lb = adam.adlb
    day90 = lb[(lb["PARAMCD"] == "MELD") & (lb["AVISIT"] == "d90")]
    keep = pd.concat(
        [
            day90[day90["ARMCD"] == "macrophage"].iloc[:2],
            day90[day90["ARMCD"] != "macrophage"].iloc[:1],
        ]
    )
    few = dataclasses.replace(adam, adlb=lb.drop(day90.index.difference(keep.index)))
    results = run_plan(few, load_protocol("match"))
    ancova, t_test = (results.result("delta_meld_d90", e) for e in ("ancova", "t-test"))
    assert (ancova.status, t_test.status) == ("not run", "not run")
    assert ancova.note == (
        "cannot be estimated from these data: "
        "3 complete rows cannot estimate 3 coefficients and a variance"
    )
    assert "each arm needs at least 2 observed" in t_test.note
    assert ancova.estimate is None and ancova.dataset_hash == few.content_hash


def test_every_protocol_estimator_is_registered() -> None:
    from typing import get_args

    from hepatrial.analysis import estimates
    from hepatrial.protocol.models import Estimator

    tables = (estimates.CHANGE_METHODS, estimates.TIME_TO_EVENT, estimates.PROPORTION_TESTS)
    registered = [name for table in tables for name in table]
    assert len(registered) == len(set(registered))
    # poisson (count) and mmrm (repeated measures) have one estimator per kind; gray is a test
    assert set(registered) | {"poisson", "mmrm", "gray"} == set(get_args(Estimator))


def test_a_logrank_estimator_reports_the_kaplan_meier_comparison(msc_run) -> None:  # type: ignore[no-untyped-def]
    from hepatrial.protocol import protocol_from_dict

    adam, results = msc_run
    data = load_protocol("msc-aclf").model_dump(mode="json")
    data["endpoints"][0]["additional"].append(
        {"role": "supportive", "estimator": "logrank", "population": "itt"}
    )
    result = run_plan(adam, protocol_from_dict(data)).result("survival_24w", "logrank")
    km = results.result("survival_24w")
    assert result.status == "done" and km.estimator == "kaplan_meier"
    assert (result.estimate, result.p_value) == (km.estimate, km.p_value)

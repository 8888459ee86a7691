"""The report and JSON results on stores at the first stages of a trial.

Built through the service API (``_early_stores``): nothing randomized, one participant screened,
one randomized, two in the same arm, both arms without follow-up, one laboratory value. The
report must render at every stage, each analysis that cannot be estimated must say "not run"
with its reason, and the CONSORT counts must match what was recorded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from _early_stores import STAGES, build_msc, build_stage
from typer.testing import CliRunner

from hepatrial.analysis.store import analyse_store
from hepatrial.report.html import ReportInput, render_report
from hepatrial.store import dispose_engine

RANDOMIZED = {
    "empty": 0,
    "screened": 0,
    "one_randomized": 1,
    "one_arm": 2,
    "both_arms": 3,
    "one_lab": 3,
}
SCREENED = {"empty": 0, "screened": 1, "one_randomized": 1, "one_arm": 2}


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def _analyse(url: str) -> tuple[str, dict[str, object]]:
    analysis = analyse_store(url)
    dispose_engine(url)
    data = ReportInput(analysis.adam, analysis.results, analysis.protocol, analysis.source)
    return render_report(data), json.loads(analysis.results.to_json())


@pytest.mark.parametrize("stage", STAGES)
def test_report_renders_with_reasons_at_every_stage(url: str, stage: str) -> None:
    build_stage(url, stage)
    page, results = _analyse(url)
    n = RANDOMIZED[stage]
    assert f"· {n} randomized ·" in page
    assert "<h2>Provenance</h2>" in page
    rows = results["results"]
    assert isinstance(rows, list)
    not_run = [r for r in rows if r["status"] == "not run"]
    # nobody is treated yet at any stage: every safety-population analysis is not run
    assert all(r["note"] for r in not_run)
    safety = [r for r in rows if r["population"] == "treated"]
    assert safety and all(r["status"] == "not run" for r in safety)
    if n < 3:  # standard-care still empty (the first two draws are macrophage)
        assert all(r["status"] == "not run" for r in rows)
        assert all("no participant in arm standard-care" in r["note"] for r in rows)
        assert "Not drawn: no participant in arm" in page
    else:
        # MELD at day 90 needs follow-up that no participant has yet
        primary = next(r for r in rows if r["role"] == "primary")
        assert primary["status"] == "not run"
        assert primary["note"] == "no analysable ADLB records of MELD at d90"
    assert page.count("Not run:") == len(not_run)
    # no follow-up visit at any stage: the trajectory figures are replaced by a sentence
    assert "Not drawn: no biomarker or MELD value after baseline yet" in page
    assert "nan" not in page.split("<h2>Baseline characteristics</h2>")[1].split("<h2>")[0]
    if n == 1:  # one participant aged 55: mean 55.0, SD undefined; the empty arm shows –
        cells = " ".join(page.split("Age, years, mean (SD)</td>")[1].split("</tr>")[0].split())
        assert cells == "<td>55.0 (–)</td> <td>– (–)</td> <td>55.0 (–)</td>"


@pytest.mark.parametrize("stage", ["empty", "screened", "one_arm"])
def test_consort_counts_the_screened(url: str, stage: str) -> None:
    build_stage(url, stage)
    analysis = analyse_store(url)
    dispose_engine(url)
    from hepatrial.report.consort import consort_counts
    from hepatrial.report.labels import screen_failure_labels

    r = analysis.results
    arms = {a: a for a in (r.experimental_arm, r.control_arm)}
    counts = consort_counts(
        analysis.source,
        analysis.adam,
        r.result(analysis.protocol.primary_endpoint.id),
        arms,
        screen_failure_labels(analysis.protocol),
    )
    assert counts.assessed == SCREENED[stage]
    assert counts.randomized == RANDOMIZED[stage]
    assert counts.excluded == SCREENED[stage] - RANDOMIZED[stage]
    if stage == "screened":
        assert counts.excluded_reasons == (("eligible, not randomized", 1),)
    assert sum(arm.allocated for arm in counts.arms) == RANDOMIZED[stage]


def test_no_event_cumulative_incidence_says_why(url: str) -> None:
    build_stage(url, "both_arms")
    _, results = _analyse(url)
    rows = results["results"]
    assert isinstance(rows, list)
    cif = next(r for r in rows if r["estimator"] == "cumulative_incidence")
    assert cif["status"] == "not run"
    assert cif["note"] == (
        "no decompensation or competing event in either arm by day 360: "
        "every participant is censored"
    )


def test_report_cli_defaults_to_the_store_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hepatrial.cli.main import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HEPATRIAL_DB", raising=False)
    build_stage("sqlite:///hepatrial.db", "one_randomized")
    dispose_engine("sqlite:///hepatrial.db")
    run = CliRunner().invoke(app, ["report", "-o", "r.html", "--json", "r.json"])
    assert run.exit_code == 0, run.output
    assert "· 1 randomized ·" in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert os.path.getsize(tmp_path / "r.json") > 0


def test_msc_aclf_one_arm_then_both_arms_without_events(url: str) -> None:
    # survival endpoints: KM + log-rank, Cox, cumulative incidence; binary: chisq, fisher
    assert build_msc(url, 1) == ["standard-medical-therapy"]
    page, results = _analyse(url)
    rows = results["results"]
    assert isinstance(rows, list)
    assert {r["note"] for r in rows} == {"no participant in arm msc (itt population)"}
    assert "Not drawn: no participant in arm" in page
    dispose_engine(url)


def test_msc_aclf_without_events_says_which_test_is_undefined(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'msc.db'}"
    assert build_msc(url, 2) == ["standard-medical-therapy", "msc"]
    page, results = _analyse(url)
    rows = {(r["endpoint_id"], r["estimator"]): r for r in results["results"]}  # type: ignore[union-attr]
    cox = rows[("survival_24w", "cox")]
    assert cox["status"] == "not run" and "has an event" in cox["note"]
    km = rows[("survival_24w", "kaplan_meier")]
    # no death: both arms survive with probability 1, the difference is 0 and the log-rank
    # statistic is 0/0, so there is no P value and the note says why
    assert km["status"] == "done" and km["estimate"] == 0.0 and km["p_value"] is None
    assert "P not computed" in km["note"]
    fisher = rows[("severe_infection", "fisher")]
    # Fisher's exact test on [[0, 1], [0, 1]]: the only table with these margins, P = 1
    assert fisher["status"] == "done" and fisher["p_value"] == 1.0
    assert "Kaplan-Meier" in page


def test_first_day_90_values_too_few_for_ancova_say_so(url: str) -> None:
    import datetime as dt

    from _early_stores import INVESTIGATOR, SCREEN_DAY

    from hepatrial.service import record_labs, record_visit
    from hepatrial.store import open_session

    build_stage(url, "both_arms")  # P001, P002 macrophage; P003 standard-care
    with open_session(url) as session:
        for code, bilirubin in (("P001", 1.5), ("P002", 1.2), ("P003", 2.0)):
            for visit, day in (("d0", 0), ("d90", 90)):
                on = SCREEN_DAY + dt.timedelta(days=day)
                record_visit(
                    session, participant_id=code, visit=visit, visit_date=on, user=INVESTIGATOR
                )
                record_labs(
                    session,
                    participant_id=code,
                    values=[("bilirubin", bilirubin, "mg/dL"), ("inr", 1.3, "1")]
                    + [("creatinine", 0.9, "mg/dL")],
                    collected_on=on,
                    user=INVESTIGATOR,
                    visit=visit,
                )
    page, results = _analyse(url)
    rows = {r["estimator"]: r for r in results["results"] if r["endpoint_id"] == "delta_meld_d90"}  # type: ignore[union-attr]
    # ANCOVA: intercept, arm and baseline are 3 coefficients; 3 participants leave no df
    assert rows["ancova"]["status"] == "not run"
    assert "3 complete rows cannot estimate 3 coefficients" in rows["ancova"]["note"]
    # the t-test needs two changes per arm; standard-care has one
    assert rows["t-test"]["status"] == "not run"
    assert "each arm needs at least 2" in rows["t-test"]["note"]
    assert "<h2>Subgroups" not in page  # no forest plot without a primary estimate

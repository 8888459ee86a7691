"""The data-quality report (``check_store``, ``hepatrial check``, the report's section), on SQLite
and PostgreSQL.

Stores are built through the service (``_store_support``), then corrupted behind the service's
back as ``test_audit.py`` tampers with data: a Core statement on the engine, outside the audited
session, so that neither the edit checks nor the audit log see it. Every expected problem is the
rule that the service applies before writing (``hepatrial.checks``), applied to the row written.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _store_support import INVESTIGATOR, SCREEN_DAY, adverse_event_fields, enrol
from sqlalchemy import insert, select, update
from sqlalchemy.sql.expression import Executable
from typer.testing import CliRunner

from hepatrial.cli import check as check_cli
from hepatrial.cli.main import app
from hepatrial.service import (
    DataQualityReport,
    check_store,
    quality,
    record_adverse_event,
    record_lab,
    record_outcome,
    record_qol,
    record_visit,
)
from hepatrial.service._checks import participant_history
from hepatrial.store import (
    AdverseEvent,
    Dose,
    LabResult,
    Outcome,
    Participant,
    QolAnswer,
    Randomization,
    Site,
    StoreSession,
    make_engine,
)

pytest_plugins = ["_store_support"]

DAY = dt.timedelta(days=1)
EQ5D = {
    "mobility": 2,
    "self_care": 1,
    "usual_activities": 2,
    "pain_discomfort": 3,
    "anxiety_depression": 1,
    "vas": 70,
}


def _clean_trial(session: StoreSession) -> dict[str, int]:
    """P001 and P002 randomized on SCREEN_DAY (day 0); for P001 through the service: visit d90 on
    day 95 (window 83-97), INR 1.2 on day 90, an adverse event from day 30 and EQ-5D-5L answers
    on day 90 (stored with their derived index). Returns the ids of those records."""
    enrol(session, "P001")
    enrol(session, "P002")
    visit = record_visit(
        session,
        participant_id="P001",
        visit="d90",
        visit_date=SCREEN_DAY + 95 * DAY,
        user=INVESTIGATOR,
    )
    lab = record_lab(
        session,
        participant_id="P001",
        analyte="inr",
        value=1.2,
        unit="1",
        collected_on=SCREEN_DAY + 90 * DAY,
        user=INVESTIGATOR,
    )
    event = adverse_event_fields()
    ae = record_adverse_event(session, participant_id="P001", event=event, user=INVESTIGATOR)
    record_qol(
        session,
        participant_id="P001",
        instrument="EQ-5D-5L",
        answers=EQ5D,
        answered_on=SCREEN_DAY + 90 * DAY,
        user=INVESTIGATOR,
    )
    return {"visit": visit, "lab": lab, "adverse_event": ae}


def _behind_the_service(session: StoreSession, url: str, statement: Executable) -> Any:
    """Run ``statement`` on the engine, outside the audited session; return the new row's id.

    The session's read transaction is ended first: on SQLite it would keep reading the snapshot
    taken before the statement.
    """
    session.commit()
    with make_engine(url).begin() as connection:
        result = connection.execute(statement)
        key = result.inserted_primary_key if result.is_insert else None
    return None if key is None else key[0]


def _found(report: DataQualityReport, form: str, record_id: object) -> set[tuple[Any, ...]]:
    """(participant, field, rule, severity) of every problem of one record."""
    return {
        (p.participant, p.field, p.rule, p.severity)
        for p in report.problems
        if p.form == form and p.record_id == record_id
    }


def _lab_row(**values: object) -> dict[str, object]:
    """A lab row for P001 on day 90; ``values`` win."""
    row: dict[str, object] = {
        "participant_id": "P001",
        "visit_id": None,
        "collected_on": SCREEN_DAY + 90 * DAY,
        **values,
    }
    return row


# --- check_store ---------------------------------------------------------------------------------


def test_clean_store_has_no_problem(session: StoreSession) -> None:
    _clean_trial(session)
    report = check_store(session)
    assert report.ok and report.problems == (), report.to_text()
    n_doses = len(session.execute(select(Dose.id)).all())
    # what _clean_trial wrote: 2 screenings and participants, the 2 sites of build_trial, one
    # of each follow-up record, one questionnaire (6 answers + the derived index)
    assert dict(report.n_records_checked) == {
        "screening": 2,
        "visit": 1,
        "lab": 1,
        "qol": 1,
        "adverse_event": 1,
        "outcome": 0,
        "dose": n_doses,
        "withdrawal": 0,
        "discontinuation": 0,
        "participant": 2,
        "site": 2,
    }
    assert list(report.summary.columns) == [
        "participant",
        "form",
        "record_id",
        "field",
        "value",
        "unit",
        "rule",
        "severity",
        "confirmed",
        "message",
    ]
    assert list(report.counts.columns) == ["rule", "severity", "n", "n_confirmed", "participants"]
    assert (
        report.to_text() == f"no problem found in {sum(report.n_records_checked.values())} records"
    )
    assert "\n" not in repr(report) and repr(report).startswith("DataQualityReport(0 hard, 0 soft")


def test_implausible_lab_value_is_reported(session: StoreSession, trial_url: str) -> None:
    ids = _clean_trial(session)
    lab = record_lab(
        session,
        participant_id="P001",
        analyte="bilirubin",
        value=1.8,
        unit="mg/dL",
        collected_on=SCREEN_DAY + 90 * DAY,
        user=INVESTIGATOR,
    )
    _behind_the_service(
        session, trial_url, update(LabResult).where(LabResult.id == lab).values(value=1e6)
    )
    report = check_store(session)
    # bilirubin is plausible within 0.1-80 mg/dL (hepatrial.units.plausible_range): 1e6 is not
    assert _found(report, "lab", lab) == {("P001", "bilirubin", "lab.implausible", "hard")}
    assert _found(report, "lab", ids["lab"]) == set()
    assert not report.ok and report.n_hard == 1
    line = next(line for line in report.to_text().splitlines() if "lab.implausible" in line)
    assert line.startswith(f"P001 lab {lab} bilirubin=1e+06 mg/dL: lab.implausible (hard): ")


def test_unit_mix_up_inserted_directly_is_a_soft_problem(
    session: StoreSession, trial_url: str
) -> None:
    _clean_trial(session)
    # 1.8 µmol/L = 1.8 / 17.1 = 0.105 mg/dL, below the usual 0.2 mg/dL (checks.labs.USUAL_RANGES)
    row = _lab_row(analyte="bilirubin", value=1.8, unit="µmol/L", value_standard=1.8 / 17.1)
    lab = _behind_the_service(
        session, trial_url, insert(LabResult).values(unit_standard="mg/dL", **row)
    )
    report = check_store(session)
    assert _found(report, "lab", lab) == {("P001", "bilirubin", "lab.unit_mix_up", "soft")}
    problem = next(p for p in report.problems if p.record_id == lab)
    assert (problem.value, problem.unit, problem.confirmed, problem.reason) == (
        1.8,
        "µmol/L",
        False,
        None,
    )
    assert report.ok  # soft problems only
    text = problem.to_text()
    assert text.startswith(
        f"P001 lab {lab} bilirubin=1.8 µmol/L: lab.unit_mix_up (soft): 1.8 µmol/L"
    )


def test_confirmed_soft_problem_is_listed_with_its_reason(session: StoreSession) -> None:
    enrol(session, "P001")
    reason = "checked with the laboratory: reported in µmol/L"
    lab = record_lab(
        session,
        participant_id="P001",
        analyte="bilirubin",
        value=1.8,
        unit="umol/L",
        collected_on=SCREEN_DAY + 90 * DAY,
        user=INVESTIGATOR,
        confirm=reason,
    )
    report = check_store(session)
    [problem] = report.problems
    assert (problem.form, problem.record_id, problem.rule) == ("lab", lab, "lab.unit_mix_up")
    assert (problem.confirmed, problem.reason) == (True, reason)
    assert report.counts.to_dict(orient="records") == [
        {"rule": "lab.unit_mix_up", "severity": "soft", "n": 1, "n_confirmed": 1, "participants": 1}
    ]
    assert problem.to_text().endswith(f"[confirmed: {reason}]")


def test_value_beyond_the_cohort_is_a_soft_problem(session: StoreSession, trial_url: str) -> None:
    """The store check compares with the other participants' values as the service did at entry."""
    codes = [f"C{n:03d}" for n in range(1, 6)]
    for code in codes:
        enrol(session, code)
    # 1000 INR values of five other participants, one a day, all within 1.00-1.49
    cohort = [
        {
            "participant_id": code,
            "visit_id": None,
            "analyte": "inr",
            "value": 1.0 + (day % 50) / 100,
            "unit": "ratio",
            "value_standard": 1.0 + (day % 50) / 100,
            "unit_standard": "ratio",
            "collected_on": SCREEN_DAY + (day + 1) * DAY,
        }
        for code in codes
        for day in range(200)
    ]
    _behind_the_service(session, trial_url, insert(LabResult).values(cohort))
    enrol(session, "P001")
    reason = "confirmed by the laboratory: on warfarin"
    lab = record_lab(
        session,
        participant_id="P001",
        analyte="inr",
        value=6.0,
        unit="1",
        collected_on=SCREEN_DAY + 90 * DAY,
        user=INVESTIGATOR,
        confirm=reason,
    )
    report = check_store(session)
    # INR 6.0 is plausible (0.5-25) but above the 99.9th percentile (1.49) of the 1000 others
    assert _found(report, "lab", lab) == {("P001", "inr", "lab.beyond_cohort", "soft")}
    assert report.problems[0].reason == reason and len(report.problems) == 1


def test_personal_name_in_an_adverse_event_term(session: StoreSession, trial_url: str) -> None:
    ids = _clean_trial(session)
    ae = ids["adverse_event"]
    statement = update(AdverseEvent).where(AdverseEvent.id == ae).values(term="called Mr Smith")
    _behind_the_service(session, trial_url, statement)
    report = check_store(session)
    # checks.personal: a capitalised word after "called" or a title is a personal name
    assert _found(report, "adverse_event", ae) == {("P001", "term", "text.name", "hard")}


def test_death_dated_before_an_existing_visit(session: StoreSession, trial_url: str) -> None:
    ids = _clean_trial(session)
    death = _behind_the_service(
        session,
        trial_url,
        insert(Outcome).values(
            participant_id="P001",
            kind="death",
            occurred_on=SCREEN_DAY + 50 * DAY,
            cause="liver failure",
        ),
    )
    report = check_store(session)
    # the visit of day 95 (and every record of day 90) is after the death of day 50; the death
    # itself is not "after death", but is dated before those records
    assert _found(report, "visit", ids["visit"]) == {
        ("P001", "visit_date", "date.after_death", "hard")
    }
    assert _found(report, "lab", ids["lab"]) == {
        ("P001", "collected_on", "date.after_death", "hard")
    }
    assert _found(report, "outcome", death) == {
        ("P001", "occurred_on", "date.records_after_death", "hard")
    }
    assert not report.ok


def test_dose_given_after_death(session: StoreSession, trial_url: str) -> None:
    _clean_trial(session)
    dose_id, participant = session.execute(select(Dose.id, Dose.participant_id).limit(1)).one()
    record_outcome(
        session,
        participant_id=participant,
        kind="death",
        occurred_on=SCREEN_DAY + 100 * DAY,
        cause="multi-organ failure",
        user=INVESTIGATOR,
    )
    given = {"status": "given", "given_on": SCREEN_DAY + 120 * DAY, "given_total": 8.0e8}
    _behind_the_service(session, trial_url, update(Dose).where(Dose.id == dose_id).values(**given))
    report = check_store(session)
    assert _found(report, "dose", dose_id) == {
        (participant, "given_on", "date.after_death", "hard")
    }


def test_duplicate_lab_row(session: StoreSession, trial_url: str) -> None:
    ids = _clean_trial(session)
    # the INR of _clean_trial, stored a second time (conventional unit: ratio, hepatrial.units)
    row = _lab_row(analyte="inr", value=1.2, unit="1", value_standard=1.2, unit_standard="ratio")
    copy = _behind_the_service(session, trial_url, insert(LabResult).values(**row))
    report = check_store(session)
    assert _found(report, "lab", copy) == {("P001", "inr", "lab.duplicate", "hard")}
    assert _found(report, "lab", ids["lab"]) == set()  # the first of the two is not the copy


def test_same_day_different_value_is_soft(session: StoreSession, trial_url: str) -> None:
    _clean_trial(session)
    row = _lab_row(analyte="inr", value=1.5, unit="1", value_standard=1.5, unit_standard="ratio")
    second = _behind_the_service(session, trial_url, insert(LabResult).values(**row))
    report = check_store(session)
    assert _found(report, "lab", second) == {("P001", "inr", "lab.same_day_value", "soft")}
    assert report.ok


def test_participant_code_like_a_phone_number(session: StoreSession, trial_url: str) -> None:
    _clean_trial(session)
    code = "07700 900123"
    row = {"id": code, "site_code": "S01", "created_at": dt.datetime.now(dt.UTC)}
    _behind_the_service(session, trial_url, insert(Participant).values(**row))
    report = check_store(session)
    # checks.personal.code_problems: a space is not allowed; 11 digits look like a phone number
    assert _found(report, "participant", code) == {
        (code, "participant_id", "code.format", "hard"),
        (code, "participant_id", "code.phone", "hard"),
    }


def test_site_name_with_a_personal_name(session: StoreSession, trial_url: str) -> None:
    row = {"code": "S99", "name": "Dr Smith clinic", "created_at": dt.datetime.now(dt.UTC)}
    _behind_the_service(session, trial_url, insert(Site).values(**row))
    report = check_store(session)
    # a title and a capitalised word (checks.personal); a site belongs to no participant
    assert _found(report, "site", "S99") == {(None, "name", "text.name", "hard")}


def test_questionnaire_answer_out_of_range(session: StoreSession, trial_url: str) -> None:
    _clean_trial(session)
    mobility = session.execute(
        select(QolAnswer.id).where(QolAnswer.item == "mobility")
    ).scalar_one()
    statement = update(QolAnswer).where(QolAnswer.id == mobility).values(value=9.0)
    _behind_the_service(session, trial_url, statement)
    report = check_store(session)
    # EQ-5D-5L mobility is a level 1-5 (protocol.instruments); the stored index is not an answer
    assert _found(report, "qol", mobility) == {("P001", "mobility", "qol.out_of_range", "hard")}
    assert len(report.problems) == 1


def test_visit_out_of_window_is_a_soft_deviation(session: StoreSession) -> None:
    enrol(session, "P001")
    # d180 window is days 166-194 (day 180 ± 14, match.yaml): day 200 is late but stored
    visit = record_visit(
        session,
        participant_id="P001",
        visit="d180",
        visit_date=SCREEN_DAY + 200 * DAY,
        user=INVESTIGATOR,
    )
    report = check_store(session)
    assert _found(report, "visit", visit) == {("P001", "visit_date", "visit.out_of_window", "soft")}
    assert "study day 200, outside its window (days 166-194)" in report.problems[0].message


def test_histories_agree_with_the_service_reader(session: StoreSession) -> None:
    """The bulk reader gives each participant the History the service reads one by one."""
    _clean_trial(session)
    record_outcome(
        session,
        participant_id="P002",
        kind="death",
        occurred_on=SCREEN_DAY + 100 * DAY,
        cause="multi-organ failure",
        user=INVESTIGATOR,
    )
    tables = {form: quality._rows(session, model) for form, model in quality._MODELS.items()}
    bulk = quality.histories(tables, quality._rows(session, Randomization))
    for code in ("P001", "P002"):
        expected = participant_history(session, code, with_records=True)
        got = bulk[code]
        assert set(got.records) == set(expected.records) and got.records
        assert got.__dict__ | {"records": ()} == expected.__dict__ | {"records": ()}


# --- hepatrial check -----------------------------------------------------------------------------

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    stderr = result.stderr if result.stderr_bytes else ""
    return result.exit_code, result.stdout, stderr


def test_cli_exit_status_follows_hard_problems(
    session: StoreSession, trial_url: str, tmp_path: Path
) -> None:
    ids = _clean_trial(session)
    code, out, _ = _run("check", "--db", trial_url)
    assert code == 0 and "no problem found" in out
    statement = update(AdverseEvent).where(AdverseEvent.id == ids["adverse_event"])
    _behind_the_service(session, trial_url, statement.values(term="called Mr Smith"))
    csv, js = tmp_path / "problems.csv", tmp_path / "problems.json"
    code, out, _ = _run("check", "--db", trial_url, "--csv", str(csv), "--json", str(js))
    assert code == 1
    assert (
        "text.name" in out
        and f"P001 adverse_event {ids['adverse_event']} term='called Mr Smith'" in out
    )
    frame = pd.read_csv(csv)
    assert list(frame.columns[-2:]) == ["reason", "fix"]
    assert frame[["participant", "form", "rule"]].values.tolist() == [
        ["P001", "adverse_event", "text.name"]
    ]
    payload = json.loads(js.read_text(encoding="utf-8"))
    assert (payload["ok"], payload["n_hard"], payload["problems"][0]["rule"]) == (
        False,
        1,
        "text.name",
    )


def test_cli_lists_at_most_max_lines(
    session: StoreSession, trial_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrol(session, "P001")
    # d90 early (window 83-97) and d180 late (166-194), match.yaml: two soft problems
    for visit, day in (("d90", 80), ("d180", 200)):
        record_visit(
            session,
            participant_id="P001",
            visit=visit,
            visit_date=SCREEN_DAY + day * DAY,
            user=INVESTIGATOR,
        )
    monkeypatch.setattr(check_cli, "MAX_LINES", 1)
    code, out, _ = _run("check", "--db", trial_url)
    assert code == 0 and "... and 1 more; see --csv" in out
    assert "visit.out_of_window" in out and "soft" in out


def test_cli_never_creates_a_store(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    code, _, err = _run("check", "--db", f"sqlite:///{path}")
    assert code == 1
    assert f"no store at {path}; create one with hepatrial init" in " ".join(err.split())
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_cli_unmigrated_store_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    code, _, err = _run("check", "--db", f"sqlite:///{path}")
    assert code == 1 and "has no hepatrial schema" in err and "Traceback" not in err


# --- the HTML report -----------------------------------------------------------------------------


def test_report_of_a_store_has_the_data_quality_section(db_url: str, tmp_path: Path) -> None:
    from _early_stores import build_stage

    build_stage(db_url, "both_arms")
    row = {"code": "S99", "name": "Dr Smith clinic", "created_at": dt.datetime.now(dt.UTC)}
    with make_engine(db_url).begin() as connection:
        connection.execute(insert(Site).values(**row))
    output = tmp_path / "report.html"
    code, _, err = _run("report", "--db", db_url, "--output", str(output))
    assert code == 0, err
    page = output.read_text(encoding="utf-8")
    section = page[page.index("<h2>Data quality</h2>") : page.index("<h2>Provenance</h2>")]
    # the site name carries a title and a name (checks.personal): one hard problem
    assert "1 hard problem(s)" in section and 'id="data-quality"' in section
    assert "<td>text.name</td>" in section and "<td>hard</td>" in section

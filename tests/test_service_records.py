"""Follow-up records, doses and the due schedule through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import pytest
from _store_support import (
    INVESTIGATOR,
    SCREEN_DAY,
    adverse_event_fields,
    enrol,
    record_on_day,
    screen,
)
from sqlalchemy import func, select

from hepatrial.exceptions import RecordError, UnitError
from hepatrial.service import (
    due_schedule,
    record_adverse_event,
    record_dose,
    record_lab,
    record_missed_dose,
    record_outcome,
    record_qol,
    record_visit,
    record_withdrawal,
)
from hepatrial.store import (
    AdverseEvent,
    Dose,
    LabResult,
    StoreSession,
    Visit,
    verify_audit,
)

pytest_plugins = ["_store_support"]

DAY = dt.timedelta(days=1)


def _enrol_arm(session: StoreSession, arm: str, prefix: str = "R") -> str:
    """Enrol participants until one lands in ``arm`` (deterministic for the fixed seed)."""
    for n in range(1, 20):
        code = f"{prefix}{n:03d}"
        if enrol(session, code, aetiology="masld").arm == arm:
            return code
    raise AssertionError(f"no participant reached arm {arm}")


def _count(session: StoreSession, model: type) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _visit(session: StoreSession, participant_id: str, visit: str, day: int, **extra: Any) -> int:
    """Record ``visit`` on study day ``day``."""
    return record_on_day(
        record_visit, session, participant_id, day, "visit_date", visit=visit, **extra
    )


def _lab(session: StoreSession, participant_id: str, **overrides: Any) -> int:
    """Record an INR of 1.2 on day 90 unless ``overrides`` say otherwise."""
    fields: dict[str, Any] = {
        "analyte": "inr",
        "value": 1.2,
        "unit": "1",
        "collected_on": SCREEN_DAY + 90 * DAY,
    }
    return record_lab(
        session, participant_id=participant_id, user=INVESTIGATOR, **{**fields, **overrides}
    )


def _ae(session: StoreSession, **overrides: Any) -> int:
    """Record a serious variceal haemorrhage (grade 3, day 30) for A001; ``overrides`` win."""
    event = adverse_event_fields(term="Variceal haemorrhage", **overrides)
    return record_adverse_event(session, participant_id="A001", event=event, user=INVESTIGATOR)


def _outcome(session: StoreSession, participant_id: str, kind: str, day: int, **extra: Any) -> int:
    """Record an outcome of ``kind`` on study day ``day``."""
    return record_on_day(
        record_outcome, session, participant_id, day, "occurred_on", kind=kind, **extra
    )


def _dose(session: StoreSession, participant_id: str, **overrides: Any) -> int:
    """Record dose 1 as 8 x 10^8 cells given on day 7 unless ``overrides`` say otherwise."""
    fields: dict[str, Any] = {
        "dose_number": 1,
        "given_on": SCREEN_DAY + 7 * DAY,
        "amount": 8.0e8,
        "unit": "cells",
    }
    return record_dose(
        session, participant_id=participant_id, user=INVESTIGATOR, **{**fields, **overrides}
    )


def test_visit_is_stored_with_study_day_and_window(session: StoreSession) -> None:
    enrol(session, "V001")
    _visit(session, "V001", "d90", 95, weight_kg=71.5)
    late = _visit(session, "V001", "d180", 200)
    visits = {v.visit_label: v for v in session.execute(select(Visit)).scalars()}
    # d90 window is day 83-97 (before 7, after 7): day 95 inside; d180 window 166-194: 200 late
    assert (visits["d90"].study_day, visits["d90"].in_window) == (95, True)
    assert (visits["d180"].study_day, visits["d180"].in_window) == (200, False)
    assert visits["d180"].id == late and verify_audit(session).ok


@pytest.mark.parametrize(
    ("visit", "day", "message"),
    [("d7", -1, "before the randomization date"), ("d45", 0, "not in the schedule")],
)
def test_visit_refusals(session: StoreSession, visit: str, day: int, message: str) -> None:
    enrol(session, "V002")
    with pytest.raises(RecordError, match=message):
        _visit(session, "V002", visit, day)
    assert _count(session, Visit) == 0


def test_visit_recorded_twice_is_refused(session: StoreSession) -> None:
    enrol(session, "V002")
    _visit(session, "V002", "d7", 7)
    with pytest.raises(RecordError, match="already recorded"):
        _visit(session, "V002", "d7", 8)
    assert _count(session, Visit) == 1


def test_visit_of_unrandomized_participant_is_refused(session: StoreSession) -> None:
    screen(session, "V003")
    with pytest.raises(RecordError, match="not randomized"):
        _visit(session, "V003", "d7", 0)
    assert _count(session, Visit) == 0


def test_lab_is_converted_to_the_standard_unit(session: StoreSession) -> None:
    enrol(session, "L001")
    _visit(session, "L001", "d90", 90)
    _lab(session, "L001", analyte="bilirubin", value=34.2, unit="umol/L", visit="d90")
    lab = session.execute(select(LabResult)).scalar_one()
    # 34.2 µmol/L / 17.1 = 2.0 mg/dL
    assert (lab.unit, lab.value_standard, lab.unit_standard) == (
        "µmol/L",
        pytest.approx(2.0),
        "mg/dL",
    )


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        (
            {"analyte": "creatinine", "value": 88, "unit": "mg/dL"},
            UnitError,
            "88 µmol/L would be 1.0 mg/dL",
        ),
        ({"collected_on": SCREEN_DAY - 30 * DAY}, RecordError, "before screening"),
        (
            {"collected_on": SCREEN_DAY + 7 * DAY, "visit": "d7"},
            RecordError,
            "record the visit first",
        ),
    ],
    ids=["wrong-unit", "before-screening", "visit-missing"],
)
def test_lab_refusals(
    session: StoreSession, overrides: dict[str, Any], error: type[Exception], message: str
) -> None:
    enrol(session, "L001")
    _visit(session, "L001", "d90", 90)
    with pytest.raises(error, match=message):
        _lab(session, "L001", **overrides)
    assert _count(session, LabResult) == 0


def test_adverse_event_is_stored(session: StoreSession) -> None:
    enrol(session, "A001")
    ae_id = _ae(session, end_date=SCREEN_DAY + 35 * DAY)
    rows = session.execute(select(AdverseEvent)).scalars().all()
    assert [r.id for r in rows] == [ae_id] and rows[0].grade == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"grade": 2, "end_date": SCREEN_DAY + 29 * DAY},
            "end_date=2026-02-08 is before start_date=2026-02-09",
        ),
        ({"grade": 6}, "not a CTCAE grade"),
        ({"grade": 5}, "grade 5"),
        ({"grade": 2, "outcome": "better"}, "not allowed"),
    ],
    ids=["end-before-start", "grade-6", "grade-5-recovered", "unknown-outcome"],
)
def test_adverse_event_refusals(
    session: StoreSession, overrides: dict[str, Any], message: str
) -> None:
    enrol(session, "A001")
    with pytest.raises(RecordError, match=message):
        _ae(session, **overrides)
    assert _count(session, AdverseEvent) == 0


def test_outcomes_death_rules_and_withdrawal(session: StoreSession) -> None:
    enrol(session, "O001")
    _outcome(session, "O001", "infection", 20, detail="pneumonia", severe=True)
    with pytest.raises(RecordError, match="needs its cause"):
        _outcome(session, "O001", "death", 40)
    _outcome(session, "O001", "death", 40, cause="multi-organ failure")
    with pytest.raises(RecordError, match="already has a death"):
        _outcome(session, "O001", "death", 40, cause="sepsis")
    with pytest.raises(RecordError, match="after participant 'O001' died"):
        _visit(session, "O001", "d90", 90)
    with pytest.raises(RecordError, match="not an outcome"):
        _outcome(session, "O001", "relapse", 10)
    enrol(session, "O002")
    withdraw = partial(record_on_day, record_withdrawal, session, "O002")
    withdraw(50, "withdrawn_on", reason="withdrawal by subject")
    with pytest.raises(RecordError, match="already withdrew"):
        withdraw(60, "withdrawn_on", reason="lost to follow-up")
    with pytest.raises(RecordError, match="after participant 'O002' withdrew"):
        record_on_day(
            record_qol,
            session,
            "O002",
            90,
            "answered_on",
            instrument="EQ-5D-5L",
            answers={"vas": 70},
        )
    assert verify_audit(session).ok


def test_qol_items_are_stored_together(session: StoreSession) -> None:
    enrol(session, "Q001")
    qol_on_day_0 = partial(record_on_day, record_qol, session, "Q001", 0, "answered_on")
    count = qol_on_day_0(
        instrument="EQ-5D-5L", answers={"mobility": 1, "self_care": 2, "vas": 75.0}
    )
    assert count == 3
    with pytest.raises(RecordError, match="not a finite real number"):
        qol_on_day_0(instrument="CLDQ", answers={"q2": float("nan")})


def test_dose_given_bounds_window_and_twice(session: StoreSession) -> None:
    code = _enrol_arm(session, "macrophage")
    with pytest.raises(RecordError, match="outside the protocol's bounds"):
        _dose(session, code, amount=2.0e9)
    _dose(session, code, given_on=SCREEN_DAY + 17 * DAY)
    dose = session.execute(select(Dose).where(Dose.participant_id == code)).scalar_one()
    assert dose.status == "given" and dose.given_total == 8.0e8
    assert dose.deviation is not None and "outside its window" in dose.deviation
    with pytest.raises(RecordError, match="already recorded as given"):
        _dose(session, code)
    assert verify_audit(session).ok


def test_control_arm_has_no_dose_and_missed_dose(session: StoreSession) -> None:
    control = _enrol_arm(session, "standard-care")
    with pytest.raises(RecordError, match="no planned dose"):
        _dose(session, control, given_on=SCREEN_DAY, amount=1e9)
    treated = _enrol_arm(session, "macrophage", prefix="T")
    record_missed_dose(
        session,
        participant_id=treated,
        dose_number=1,
        reason="cell product failed release testing",
        user=INVESTIGATOR,
    )
    dose = session.execute(select(Dose).where(Dose.participant_id == treated)).scalar_one()
    assert (dose.status, dose.deviation) == ("missed", "cell product failed release testing")


def test_due_schedule_lists_due_overdue_and_upcoming(session: StoreSession) -> None:
    code = _enrol_arm(session, "macrophage")
    _visit(session, code, "d0", 0)
    on = SCREEN_DAY + 8 * DAY  # day 8
    schedule = due_schedule(session, on=on, horizon_days=7)
    mine = {(i.kind, i.item): i.status for i in schedule.items if i.participant_id == code}
    # d7 window day 5-9 -> due; dose 1 window day 7-14 -> due; d14 window 11-17 opens in 3 days
    assert mine[("visit", "d7")] == "due"
    assert mine[("dose", "macrophages#1")] == "due"
    assert mine[("visit", "d14")] == "upcoming"
    assert ("visit", "d0") not in mine and ("visit", "d90") not in mine
    later = due_schedule(session, on=SCREEN_DAY + 20 * DAY)
    assert {(i.item, i.status) for i in later.items if i.participant_id == code} >= {
        ("d7", "overdue"),
        ("d14", "overdue"),
        ("d21", "due"),
    }
    assert list(later.summary.columns)[:3] == ["participant_id", "site", "kind"]
    record_on_day(record_withdrawal, session, code, 9, "withdrawn_on", reason="physician decision")
    assert all(i.participant_id != code for i in due_schedule(session, on=on + 5 * DAY).items)


def test_record_labs_writes_all_or_nothing(session: StoreSession) -> None:
    from hepatrial.service import record_labs

    enrol(session, "L010")
    labs_on_day_7 = partial(record_on_day, record_labs, session, "L010", 7, "collected_on")
    with pytest.raises(UnitError, match="creatinine=88 mg/dL"):
        labs_on_day_7(values=[("bilirubin", 1.2, "mg/dL"), ("creatinine", 88, "mg/dL")])
    assert _count(session, LabResult) == 0
    ids = labs_on_day_7(
        values=[("bilirubin", 1.2, "mg/dL"), ("creatinine", 88, "umol/L"), ("albumin", 35, "g/L")]
    )
    labs = {lab.id: lab for lab in session.execute(select(LabResult)).scalars()}
    assert sorted(labs) == sorted(ids)
    # 88 µmol/L / 88.4 = 0.9955 mg/dL; 35 g/L / 10 = 3.5 g/dL
    standard = {lab.analyte: lab.value_standard for lab in labs.values()}
    assert standard == pytest.approx({"bilirubin": 1.2, "creatinine": 88 / 88.4, "albumin": 3.5})
    assert verify_audit(session).ok

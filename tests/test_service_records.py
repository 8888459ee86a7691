"""Follow-up records, doses and the due schedule through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from _store_support import INVESTIGATOR, SCREEN_DAY, enrol
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


def test_visit_is_stored_with_study_day_and_window(session: StoreSession) -> None:
    enrol(session, "V001")
    record_visit(
        session,
        participant_id="V001",
        visit="d90",
        visit_date=SCREEN_DAY + 95 * DAY,
        user=INVESTIGATOR,
        weight_kg=71.5,
    )
    late = record_visit(
        session,
        participant_id="V001",
        visit="d180",
        visit_date=SCREEN_DAY + 200 * DAY,
        user=INVESTIGATOR,
    )
    visits = {v.visit_label: v for v in session.execute(select(Visit)).scalars()}
    # d90 window is day 83-97 (before 7, after 7): day 95 inside; d180 window 166-194: 200 late
    assert (visits["d90"].study_day, visits["d90"].in_window) == (95, True)
    assert (visits["d180"].study_day, visits["d180"].in_window) == (200, False)
    assert visits["d180"].id == late and verify_audit(session).ok


def test_visit_refusals(session: StoreSession) -> None:
    enrol(session, "V002")
    with pytest.raises(RecordError, match="before the randomization date"):
        record_visit(
            session,
            participant_id="V002",
            visit="d7",
            visit_date=SCREEN_DAY - DAY,
            user=INVESTIGATOR,
        )
    with pytest.raises(RecordError, match="not in the schedule"):
        record_visit(
            session, participant_id="V002", visit="d45", visit_date=SCREEN_DAY, user=INVESTIGATOR
        )
    record_visit(
        session,
        participant_id="V002",
        visit="d7",
        visit_date=SCREEN_DAY + 7 * DAY,
        user=INVESTIGATOR,
    )
    with pytest.raises(RecordError, match="already recorded"):
        record_visit(
            session,
            participant_id="V002",
            visit="d7",
            visit_date=SCREEN_DAY + 8 * DAY,
            user=INVESTIGATOR,
        )
    with pytest.raises(RecordError, match="not randomized"):
        from _store_support import match_patient

        from hepatrial.service import screen_participant

        screen_participant(
            session,
            participant_id="V003",
            site="S01",
            patient=match_patient(),
            user=INVESTIGATOR,
            on=SCREEN_DAY,
        )
        record_visit(
            session, participant_id="V003", visit="d7", visit_date=SCREEN_DAY, user=INVESTIGATOR
        )
    assert session.execute(select(func.count()).select_from(Visit)).scalar_one() == 1


def test_lab_is_converted_and_wrong_unit_refused(session: StoreSession) -> None:
    enrol(session, "L001")
    record_visit(
        session,
        participant_id="L001",
        visit="d90",
        visit_date=SCREEN_DAY + 90 * DAY,
        user=INVESTIGATOR,
    )
    record_lab(
        session,
        participant_id="L001",
        analyte="bilirubin",
        value=34.2,
        unit="umol/L",
        collected_on=SCREEN_DAY + 90 * DAY,
        visit="d90",
        user=INVESTIGATOR,
    )
    lab = session.execute(select(LabResult)).scalar_one()
    # 34.2 µmol/L / 17.1 = 2.0 mg/dL
    assert (lab.unit, lab.value_standard, lab.unit_standard) == (
        "µmol/L",
        pytest.approx(2.0),
        "mg/dL",
    )
    with pytest.raises(UnitError, match="88 µmol/L would be 1.0 mg/dL"):
        record_lab(
            session,
            participant_id="L001",
            analyte="creatinine",
            value=88,
            unit="mg/dL",
            collected_on=SCREEN_DAY + 90 * DAY,
            user=INVESTIGATOR,
        )
    with pytest.raises(RecordError, match="before screening"):
        record_lab(
            session,
            participant_id="L001",
            analyte="inr",
            value=1.2,
            unit="1",
            collected_on=SCREEN_DAY - 30 * DAY,
            user=INVESTIGATOR,
        )
    with pytest.raises(RecordError, match="record the visit first"):
        record_lab(
            session,
            participant_id="L001",
            analyte="inr",
            value=1.2,
            unit="1",
            collected_on=SCREEN_DAY + 7 * DAY,
            visit="d7",
            user=INVESTIGATOR,
        )
    assert session.execute(select(func.count()).select_from(LabResult)).scalar_one() == 1


def test_adverse_event_rules(session: StoreSession) -> None:
    enrol(session, "A001")
    common = dict(
        participant_id="A001",
        term="Variceal haemorrhage",
        system_organ_class="Gastrointestinal disorders",
        serious=True,
        related=False,
        liver_related=True,
        user=INVESTIGATOR,
    )
    ae_id = record_adverse_event(
        session,
        **common,
        grade=3,
        outcome="recovered",  # type: ignore[arg-type]
        start_date=SCREEN_DAY + 30 * DAY,
        end_date=SCREEN_DAY + 35 * DAY,
    )
    with pytest.raises(RecordError, match="end_date=2026-02-08 is before start_date=2026-02-09"):
        record_adverse_event(
            session,
            **common,
            grade=2,
            outcome="recovered",  # type: ignore[arg-type]
            start_date=SCREEN_DAY + 30 * DAY,
            end_date=SCREEN_DAY + 29 * DAY,
        )
    with pytest.raises(RecordError, match="not a CTCAE grade"):
        record_adverse_event(
            session,
            **common,
            grade=6,
            outcome="recovered",  # type: ignore[arg-type]
            start_date=SCREEN_DAY + 30 * DAY,
        )
    with pytest.raises(RecordError, match="grade 5"):
        record_adverse_event(
            session,
            **common,
            grade=5,
            outcome="recovered",  # type: ignore[arg-type]
            start_date=SCREEN_DAY + 30 * DAY,
        )
    with pytest.raises(RecordError, match="not allowed"):
        record_adverse_event(
            session,
            **common,
            grade=2,
            outcome="better",  # type: ignore[arg-type]
            start_date=SCREEN_DAY + 30 * DAY,
        )
    rows = session.execute(select(AdverseEvent)).scalars().all()
    assert [r.id for r in rows] == [ae_id] and rows[0].grade == 3


def test_outcomes_death_rules_and_withdrawal(session: StoreSession) -> None:
    enrol(session, "O001")
    record_outcome(
        session,
        participant_id="O001",
        kind="infection",
        detail="pneumonia",
        severe=True,
        occurred_on=SCREEN_DAY + 20 * DAY,
        user=INVESTIGATOR,
    )
    with pytest.raises(RecordError, match="needs its cause"):
        record_outcome(
            session,
            participant_id="O001",
            kind="death",
            occurred_on=SCREEN_DAY + 40 * DAY,
            user=INVESTIGATOR,
        )
    record_outcome(
        session,
        participant_id="O001",
        kind="death",
        cause="multi-organ failure",
        occurred_on=SCREEN_DAY + 40 * DAY,
        user=INVESTIGATOR,
    )
    with pytest.raises(RecordError, match="already has a death"):
        record_outcome(
            session,
            participant_id="O001",
            kind="death",
            cause="sepsis",
            occurred_on=SCREEN_DAY + 40 * DAY,
            user=INVESTIGATOR,
        )
    with pytest.raises(RecordError, match="after participant 'O001' died"):
        record_visit(
            session,
            participant_id="O001",
            visit="d90",
            visit_date=SCREEN_DAY + 90 * DAY,
            user=INVESTIGATOR,
        )
    with pytest.raises(RecordError, match="not an outcome"):
        record_outcome(
            session,
            participant_id="O001",
            kind="relapse",
            occurred_on=SCREEN_DAY + 10 * DAY,
            user=INVESTIGATOR,
        )
    enrol(session, "O002")
    record_withdrawal(
        session,
        participant_id="O002",
        withdrawn_on=SCREEN_DAY + 50 * DAY,
        reason="withdrawal by subject",
        user=INVESTIGATOR,
    )
    with pytest.raises(RecordError, match="already withdrew"):
        record_withdrawal(
            session,
            participant_id="O002",
            withdrawn_on=SCREEN_DAY + 60 * DAY,
            reason="lost to follow-up",
            user=INVESTIGATOR,
        )
    with pytest.raises(RecordError, match="after participant 'O002' withdrew"):
        record_qol(
            session,
            participant_id="O002",
            instrument="EQ-5D-5L",
            answers={"vas": 70},
            answered_on=SCREEN_DAY + 90 * DAY,
            user=INVESTIGATOR,
        )
    assert verify_audit(session).ok


def test_qol_items_are_stored_together(session: StoreSession) -> None:
    enrol(session, "Q001")
    count = record_qol(
        session,
        participant_id="Q001",
        instrument="EQ-5D-5L",
        answers={"mobility": 1, "self_care": 2, "vas": 75.0},
        answered_on=SCREEN_DAY,
        user=INVESTIGATOR,
    )
    assert count == 3
    with pytest.raises(RecordError, match="not a finite number"):
        record_qol(
            session,
            participant_id="Q001",
            instrument="CLDQ",
            answers={"fatigue": float("nan")},
            answered_on=SCREEN_DAY,
            user=INVESTIGATOR,
        )


def test_dose_given_bounds_window_and_twice(session: StoreSession) -> None:
    code = _enrol_arm(session, "macrophage")
    dose_day = SCREEN_DAY + 7 * DAY
    with pytest.raises(RecordError, match="outside the protocol's bounds"):
        record_dose(
            session,
            participant_id=code,
            dose_number=1,
            given_on=dose_day,
            amount=2.0e9,
            unit="cells",
            user=INVESTIGATOR,
        )
    record_dose(
        session,
        participant_id=code,
        dose_number=1,
        given_on=dose_day + 10 * DAY,
        amount=8.0e8,
        unit="cells",
        user=INVESTIGATOR,
    )
    dose = session.execute(select(Dose).where(Dose.participant_id == code)).scalar_one()
    assert dose.status == "given" and dose.given_total == 8.0e8
    assert dose.deviation is not None and "outside its window" in dose.deviation
    with pytest.raises(RecordError, match="already recorded as given"):
        record_dose(
            session,
            participant_id=code,
            dose_number=1,
            given_on=dose_day,
            amount=8.0e8,
            unit="cells",
            user=INVESTIGATOR,
        )
    assert verify_audit(session).ok


def test_control_arm_has_no_dose_and_missed_dose(session: StoreSession) -> None:
    control = _enrol_arm(session, "standard-care")
    with pytest.raises(RecordError, match="no planned dose"):
        record_dose(
            session,
            participant_id=control,
            dose_number=1,
            given_on=SCREEN_DAY,
            amount=1e9,
            unit="cells",
            user=INVESTIGATOR,
        )
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
    record_visit(session, participant_id=code, visit="d0", visit_date=SCREEN_DAY, user=INVESTIGATOR)
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
    record_withdrawal(
        session,
        participant_id=code,
        withdrawn_on=SCREEN_DAY + 9 * DAY,
        reason="physician decision",
        user=INVESTIGATOR,
    )
    assert all(i.participant_id != code for i in due_schedule(session, on=on + 5 * DAY).items)


def test_record_labs_writes_all_or_nothing(session: StoreSession) -> None:
    from hepatrial.service import record_labs

    enrol(session, "L010")
    day = SCREEN_DAY + 7 * DAY
    with pytest.raises(UnitError, match="creatinine=88 mg/dL"):
        record_labs(
            session,
            participant_id="L010",
            collected_on=day,
            user=INVESTIGATOR,
            values=[("bilirubin", 1.2, "mg/dL"), ("creatinine", 88, "mg/dL")],
        )
    assert session.execute(select(func.count()).select_from(LabResult)).scalar_one() == 0
    ids = record_labs(
        session,
        participant_id="L010",
        collected_on=day,
        user=INVESTIGATOR,
        values=[("bilirubin", 1.2, "mg/dL"), ("creatinine", 88, "umol/L"), ("albumin", 35, "g/L")],
    )
    labs = {lab.id: lab for lab in session.execute(select(LabResult)).scalars()}
    assert sorted(labs) == sorted(ids)
    # 88 µmol/L / 88.4 = 0.9955 mg/dL; 35 g/L / 10 = 3.5 g/dL
    standard = {lab.analyte: lab.value_standard for lab in labs.values()}
    assert standard == pytest.approx({"bilirubin": 1.2, "creatinine": 88 / 88.4, "albumin": 3.5})
    assert verify_audit(session).ok

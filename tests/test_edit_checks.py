"""The edit checks through the service, on SQLite and PostgreSQL: one table of cases per rule
family, each asserting the error kind, the problem's field and rule, a phrase of its message,
and that nothing was written (the audit log did not grow).

Expected values are the rules themselves (hepatrial.checks) applied by hand to each case; the
EQ-5D-5L index 0.950 of state 11211 is from the England value set (Devlin et al. 2018) as the
R package eq5d's tests give it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from _store_support import (
    ADMIN,
    INVESTIGATOR,
    SCREEN_DAY,
    adverse_event_fields,
    build_trial,
    enrol,
    match_patient,
    record_on_day,
    screen,
)
from sqlalchemy import func, select

from hepatrial.exceptions import (
    ConfirmationNeededError,
    ConflictError,
    InvalidRecordError,
    LabValueError,
    RecordError,
    UnitError,
)
from hepatrial.protocol.models import ParticipantCodes
from hepatrial.service import (
    add_site,
    add_user,
    create_trial,
    randomize,
    record_adverse_event,
    record_discontinuation,
    record_dose,
    record_lab,
    record_labs,
    record_outcome,
    record_qol,
    record_visit,
    record_withdrawal,
    screen_participant,
)
from hepatrial.store import (
    AuditEntry,
    Confirmation,
    LabResult,
    QolAnswer,
    StoreSession,
    init_db,
    open_session,
    verify_audit,
)

pytest_plugins = ["_store_support"]

DAY = dt.timedelta(days=1)
TODAY = dt.date.today()


def _audit_rows(session: StoreSession) -> int:
    return int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def _on(day: int) -> dt.date:
    return SCREEN_DAY + day * DAY


def _visit(session: StoreSession, code: str, visit: str, day: int) -> int:
    return record_on_day(record_visit, session, code, day, "visit_date", visit=visit)


def _lab(session: StoreSession, code: str, day: int, **fields: Any) -> int:
    values = {"analyte": "inr", "value": 1.2, "unit": "1", **fields}
    return record_on_day(record_lab, session, code, day, "collected_on", **values)


def _death(session: StoreSession, code: str, day: int) -> int:
    return record_on_day(
        record_outcome, session, code, day, "occurred_on", kind="death", cause="liver failure"
    )


def _macrophage_participant(session: StoreSession) -> str:
    """A participant randomized to the cell arm (deterministic for the fixed seed)."""
    for n in range(1, 20):
        code = f"M{n:03d}"
        if enrol(session, code, aetiology="masld").arm == "macrophage":
            return code
    raise AssertionError("no participant reached the macrophage arm")


def _dose(session: StoreSession, code: str, day: int) -> int:
    return record_dose(
        session,
        participant_id=code,
        dose_number=1,
        given_on=_on(day),
        amount=8.0e8,
        unit="cells",
        user=INVESTIGATOR,
    )


@dataclass(frozen=True)
class Case:
    """Set-up, then the refused call; the expected error kind, field, rule and message."""

    setup: Callable[[StoreSession], str]
    refused: Callable[[StoreSession, str], object]
    error: type[RecordError]
    field: str
    rule: str
    phrase: str


def _enrolled(session: StoreSession) -> str:
    enrol(session, "E001")
    return "E001"


def _dead_on_day_40(session: StoreSession) -> str:
    enrol(session, "E001")
    _death(session, "E001", 40)
    return "E001"


def _withdrawn_on_day_50(session: StoreSession) -> str:
    enrol(session, "E001")
    record_on_day(
        record_withdrawal, session, "E001", 50, "withdrawn_on", reason="withdrawal by subject"
    )
    return "E001"


def _visit_day_90(session: StoreSession) -> str:
    enrol(session, "E001")
    _visit(session, "E001", "d90", 90)
    return "E001"


def _treated_then_dead(session: StoreSession) -> str:
    code = _macrophage_participant(session)
    _death(session, code, 3)
    return code


def _treated_then_discontinued(session: StoreSession) -> str:
    code = _macrophage_participant(session)
    record_on_day(
        record_discontinuation,
        session,
        code,
        2,
        "discontinued_on",
        reason="adverse event",
    )
    return code


def _treated_and_dosed(session: StoreSession) -> str:
    code = _macrophage_participant(session)
    _dose(session, code, 7)
    return code


DATE_CASES = {
    "visit-in-the-future": Case(
        _enrolled,
        lambda s, c: record_visit(
            s, participant_id=c, visit="d90", visit_date=TODAY + DAY, user=INVESTIGATOR
        ),
        InvalidRecordError,
        "visit_date",
        "date.future",
        "after today",
    ),
    "adverse-event-after-death": Case(
        _dead_on_day_40,
        lambda s, c: record_adverse_event(
            s, participant_id=c, event=adverse_event_fields(start_date=_on(45)), user=INVESTIGATOR
        ),
        InvalidRecordError,
        "start_date",
        "date.after_death",
        "died on",
    ),
    "lab-after-withdrawal": Case(
        _withdrawn_on_day_50,
        lambda s, c: _lab(s, c, 60),
        InvalidRecordError,
        "collected_on",
        "date.after_withdrawal",
        "withdrew from the study",
    ),
    "dose-after-death": Case(
        _treated_then_dead,
        lambda s, c: _dose(s, c, 7),
        InvalidRecordError,
        "given_on",
        "date.after_death",
        "died on",
    ),
    "dose-after-discontinuation": Case(
        _treated_then_discontinued,
        lambda s, c: _dose(s, c, 7),
        InvalidRecordError,
        "given_on",
        "date.after_discontinuation",
        "discontinued treatment",
    ),
    "death-before-existing-visit": Case(
        _visit_day_90,
        lambda s, c: _death(s, c, 60),
        ConflictError,
        "occurred_on",
        "date.records_after_death",
        "visit d90",
    ),
    "withdrawal-before-existing-visit": Case(
        _visit_day_90,
        lambda s, c: record_on_day(
            record_withdrawal, s, c, 60, "withdrawn_on", reason="lost to follow-up"
        ),
        ConflictError,
        "withdrawn_on",
        "date.records_after_withdrawal",
        "visit d90",
    ),
    "discontinuation-before-a-given-dose": Case(
        _treated_and_dosed,
        lambda s, c: record_on_day(
            record_discontinuation, s, c, 3, "discontinued_on", reason="adverse event"
        ),
        ConflictError,
        "discontinued_on",
        "date.records_after_discontinuation",
        "dose 1 given",
    ),
    "questionnaire-before-randomization": Case(
        _enrolled,
        lambda s, c: record_on_day(
            record_qol, s, c, -1, "answered_on", instrument="EQ-5D-5L", answers={"vas": 70}
        ),
        InvalidRecordError,
        "answered_on",
        "date.before_randomization",
        "before the randomization date",
    ),
    "lab-before-screening": Case(
        _enrolled,
        lambda s, c: _lab(s, c, -30),
        InvalidRecordError,
        "collected_on",
        "date.before_screening",
        "before screening",
    ),
}


def _qol(answers: dict[str, object], instrument: str = "EQ-5D-5L") -> Callable[..., object]:
    return lambda s, c: record_on_day(
        record_qol, s, c, 90, "answered_on", instrument=instrument, answers=answers
    )


QOL_CASES = {
    "eq5d-level-9": Case(
        _enrolled, _qol({"mobility": 9}), InvalidRecordError, "mobility", "qol.out_of_range", "1-5"
    ),
    "vas-150": Case(
        _enrolled, _qol({"vas": 150}), InvalidRecordError, "vas", "qol.out_of_range", "0-100"
    ),
    "unknown-item": Case(
        _enrolled,
        _qol({"walking": 2}),
        InvalidRecordError,
        "walking",
        "qol.unknown_item",
        "no item",
    ),
    "index-typed-by-hand": Case(
        _enrolled, _qol({"index": 0.8}), InvalidRecordError, "index", "qol.derived_item", "computed"
    ),
    "unknown-instrument": Case(
        _enrolled,
        _qol({"q1": 1}, instrument="SF-36"),
        InvalidRecordError,
        "instrument",
        "qol.unknown_instrument",
        "SF-36",
    ),
}

LAB_CASES = {
    "boolean-value": Case(
        _enrolled,
        lambda s, c: _lab(s, c, 90, value=True),
        LabValueError,
        "inr",
        "lab.not_a_number",
        "not a finite number",
    ),
    "unknown-unit": Case(
        _enrolled,
        lambda s, c: _lab(s, c, 90, analyte="bilirubin", value=1.2, unit="mmol/mol"),
        LabValueError,
        "bilirubin",
        "lab.unit",
        "not a unit of bilirubin",
    ),
    "implausible-with-mix-up": Case(
        _enrolled,
        lambda s, c: _lab(s, c, 90, analyte="creatinine", value=88, unit="mg/dL"),
        LabValueError,
        "creatinine",
        "lab.implausible",
        "88 µmol/L would be 1.0 mg/dL",
    ),
    "bilirubin-in-the-wrong-unit": Case(
        _enrolled,
        lambda s, c: _lab(s, c, 90, analyte="bilirubin", value=1.8, unit="umol/L"),
        ConfirmationNeededError,
        "bilirubin",
        "lab.unit_mix_up",
        "1.8 mg/dL would be usual",
    ),
    "same-result-twice": Case(
        lambda s: (enrol(s, "E001"), _lab(s, "E001", 90))[0].participant_id,
        lambda s, c: _lab(s, c, 90),
        ConflictError,
        "inr",
        "lab.duplicate",
        "already stored",
    ),
    "other-result-same-day": Case(
        lambda s: (enrol(s, "E001"), _lab(s, "E001", 90))[0].participant_id,
        lambda s, c: _lab(s, c, 90, value=1.5),
        ConfirmationNeededError,
        "inr",
        "lab.same_day_value",
        "already stored",
    ),
}


def _screen_with(**patient: Any) -> Callable[..., object]:
    record = match_patient()
    record.update(patient)
    return lambda s, c: screen(s, "N001", patient=record)


def _nothing(session: StoreSession) -> str:
    return "N001"


SCREENING_CASES = {
    "two-values-one-sample": Case(
        _nothing,
        _screen_with(
            labs=[
                *match_patient()["labs"],  # type: ignore[misc]
                {"analyte": "inr", "value": 1.9, "unit": "1", "collected_on": "2026-01-05"},
            ]
        ),
        InvalidRecordError,
        "inr",
        "lab.conflicting_values",
        "given twice",
    ),
    "stiffness-beyond-the-device": Case(
        _nothing,
        _screen_with(facts={**match_patient()["facts"], "liver_stiffness_kpa": 750}),  # type: ignore[dict-item]
        InvalidRecordError,
        "liver_stiffness_kpa",
        "fact.out_of_range",
        "1.5-75 kPa",
    ),
    "lab-value-true": Case(
        _nothing,
        _screen_with(
            labs=[{"analyte": "inr", "value": True, "unit": "1", "collected_on": "2026-01-05"}]
        ),
        InvalidRecordError,
        "labs[0].value",
        "screening.float_type",
        "valid number",
    ),
    "phone-number-as-code": Case(
        _nothing,
        lambda s, c: screen(s, "07700900123"),
        InvalidRecordError,
        "participant_id",
        "code.phone",
        "phone number",
    ),
    "birth-date-as-code": Case(
        _nothing,
        lambda s, c: screen(s, "1961-04-12"),
        InvalidRecordError,
        "participant_id",
        "code.date",
        "date",
    ),
    "screening-in-the-future": Case(
        _nothing,
        lambda s, c: screen(s, "N001", on=TODAY + 2 * DAY),
        InvalidRecordError,
        "on",
        "date.future",
        "after today",
    ),
}

TEXT_CASES = {
    "name-in-adverse-event-term": Case(
        _enrolled,
        lambda s, c: record_adverse_event(
            s,
            participant_id=c,
            event=adverse_event_fields(term="Fall at home, patient Mr Smith"),
            user=INVESTIGATOR,
        ),
        InvalidRecordError,
        "term",
        "text.name",
        "name",
    ),
    "phone-in-cause-of-death": Case(
        _enrolled,
        lambda s, c: record_on_day(
            record_outcome,
            s,
            c,
            40,
            "occurred_on",
            kind="death",
            cause="sepsis, family on 07700 900123",
        ),
        InvalidRecordError,
        "cause",
        "text.phone",
        "phone",
    ),
    "e-mail-in-site-name": Case(
        _nothing,
        lambda s, c: add_site(s, code="S09", name="Ward 5 jane.doe@nhs.net", user=ADMIN),
        InvalidRecordError,
        "name",
        "text.email",
        "e-mail",
    ),
}

ALL_CASES = {**DATE_CASES, **QOL_CASES, **LAB_CASES, **SCREENING_CASES, **TEXT_CASES}


@pytest.mark.parametrize("case", ALL_CASES.values(), ids=ALL_CASES.keys())
def test_refused_with_field_rule_and_message_and_nothing_written(
    session: StoreSession, case: Case
) -> None:
    code = case.setup(session)
    before = _audit_rows(session)
    with pytest.raises(case.error) as refused:
        case.refused(session, code)
    problems = refused.value.problems
    assert problems, "the error carries its problems"
    hit = [p for p in problems if p.rule == case.rule]
    assert hit, [p.rule for p in problems]
    assert hit[0].field == case.field
    assert case.phrase in str(refused.value)
    assert _audit_rows(session) == before
    assert verify_audit(session).ok


def test_lab_value_errors_are_still_unit_errors(session: StoreSession) -> None:
    """Callers that caught UnitError for an implausible lab keep working."""
    code = _enrolled(session)
    with pytest.raises(UnitError):
        _lab(session, code, 90, analyte="creatinine", value=88, unit="mg/dL")


def test_every_problem_is_reported_at_once(session: StoreSession) -> None:
    code = _enrolled(session)
    with pytest.raises(InvalidRecordError) as refused:
        record_on_day(
            record_qol,
            session,
            code,
            90,
            "answered_on",
            instrument="EQ-5D-5L",
            answers={"mobility": 9, "vas": 150, "walking": 1},
        )
    assert {(p.field, p.rule) for p in refused.value.problems} == {
        ("mobility", "qol.out_of_range"),
        ("vas", "qol.out_of_range"),
        ("walking", "qol.unknown_item"),
    }


def test_soft_check_confirmed_with_a_reason_is_stored_and_audited(session: StoreSession) -> None:
    code = _enrolled(session)
    reason = "laboratory report checked: 1.8 µmol/L, Gilbert syndrome excluded"
    lab_id = _lab(session, code, 90, analyte="bilirubin", value=1.8, unit="umol/L", confirm=reason)
    confirmation = session.execute(select(Confirmation)).scalar_one()
    assert (confirmation.record_table, confirmation.record_id) == ("lab_results", lab_id)
    assert (confirmation.rule, confirmation.field) == ("lab.unit_mix_up", "bilirubin")
    assert (confirmation.reason, confirmation.confirmed_by) == (reason, INVESTIGATOR)
    logged = session.execute(
        select(AuditEntry.table_name).where(AuditEntry.table_name == "confirmations")
    ).scalars()
    assert list(logged) == ["confirmations"]
    assert verify_audit(session).ok


def test_a_blank_reason_does_not_confirm(session: StoreSession) -> None:
    code = _enrolled(session)
    with pytest.raises(ConfirmationNeededError):
        _lab(session, code, 90, analyte="bilirubin", value=1.8, unit="umol/L", confirm="  ")


def test_hard_problems_are_refused_whatever_the_reason(session: StoreSession) -> None:
    code = _enrolled(session)
    with pytest.raises(LabValueError):
        _lab(session, code, 90, analyte="creatinine", value=88, unit="mg/dL", confirm="sure")


def test_follow_up_goes_on_after_discontinuing_treatment(session: StoreSession) -> None:
    code = _treated_then_discontinued(session)
    _visit(session, code, "d90", 90)
    _lab(session, code, 90)
    record_adverse_event(
        session,
        participant_id=code,
        event=adverse_event_fields(start_date=_on(30)),
        user=INVESTIGATOR,
    )
    with pytest.raises(ConflictError, match="already discontinued"):
        record_on_day(record_discontinuation, session, code, 5, "discontinued_on", reason="other")


def test_eq5d5l_index_is_computed_and_stored_with_the_answers(session: StoreSession) -> None:
    code = _enrolled(session)
    answers = {
        "mobility": 1,
        "self_care": 1,
        "usual_activities": 2,
        "pain_discomfort": 1,
        "anxiety_depression": 1,
        "vas": 80,
    }
    count = record_on_day(
        record_qol, session, code, 90, "answered_on", instrument="eq-5d-5l", answers=answers
    )
    stored = {
        item: value for item, value in session.execute(select(QolAnswer.item, QolAnswer.value))
    }
    assert count == 7
    assert stored["index"] == pytest.approx(0.950, abs=1e-12)  # England 11211 (R eq5d tests)
    instruments = set(session.execute(select(QolAnswer.instrument)).scalars())
    assert instruments == {"EQ-5D-5L"}


def test_a_valid_screening_record_passes_every_check(session: StoreSession) -> None:
    """The default record of the shared builders: no problem, stored, nothing confirmed."""
    assert screen(session, "N001").eligible
    assert session.execute(select(func.count()).select_from(Confirmation)).scalar_one() == 0


def test_labs_of_one_sample_are_refused_together(session: StoreSession) -> None:
    code = _enrolled(session)
    with pytest.raises(LabValueError) as refused:
        record_labs(
            session,
            participant_id=code,
            values=[("inr", 1.2, "1"), ("creatinine", 88, "mg/dL"), ("albumin", True, "g/dL")],
            collected_on=_on(90),
            user=INVESTIGATOR,
        )
    assert {p.field for p in refused.value.problems} == {"creatinine", "albumin"}
    assert session.execute(select(func.count()).select_from(LabResult)).scalar_one() == 0


@pytest.fixture
def pattern_url(db_url: str) -> str:
    """A MATCH store whose participant codes must look like S01-0007."""
    init_db(db_url)
    with open_session(db_url) as session:
        create_trial(
            session,
            "match",
            admin=ADMIN,
            participant_codes=ParticipantCodes(pattern=r"S\d{2}-\d{4}", example="S01-0007"),
        )
        add_site(session, code="S01", name="Edinburgh", user=ADMIN)
        add_user(session, user_id=INVESTIGATOR, role="investigator", user=ADMIN)
    return db_url


def test_a_trial_code_pattern_is_enforced(pattern_url: str) -> None:
    with open_session(pattern_url) as session:
        with pytest.raises(InvalidRecordError) as refused:
            screen(session, "P001")
        (problem,) = refused.value.problems
        assert (problem.field, problem.rule) == ("participant_id", "code.pattern")
        assert "S01-0007" in str(refused.value)
        assert screen(session, "S01-0042").eligible


def test_codes_without_a_pattern_stay_valid(trial_url: str) -> None:
    """Codes used throughout the existing stores and documentation."""
    with open_session(trial_url) as session:
        for code in ("P001", "K001", "MSC-017", "S01-0007"):
            screen(session, code)


def test_build_trial_still_builds(db_url: str) -> None:
    """The shared test store (users inv-1, crd-2, mon-1, adm-1; sites S01, S02) passes the code
    and free-text checks."""
    build_trial(db_url)
    with open_session(db_url) as session:
        result = screen_participant(
            session,
            participant_id="P001",
            site="S01",
            patient=match_patient(),
            user=INVESTIGATOR,
            on=SCREEN_DAY,
        )
        assert result.eligible
        randomize(
            session,
            participant_id="P001",
            user=INVESTIGATOR,
            randomized_on=SCREEN_DAY,
            weight_kg=70.0,
        )

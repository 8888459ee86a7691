"""Recording follow-up: visits, laboratory results, quality of life, adverse events, outcomes
and withdrawals. Each function is one audited transaction and refuses inconsistent records.

Date rules: nothing is recorded before the participant's randomization (labs and adverse
events: before their first screening), after their death, or after their withdrawal.
A visit outside its protocol window is recorded with ``in_window=False`` (it happened; the
analysis decides), never silently moved.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hepatrial.exceptions import RecordError
from hepatrial.protocol.dosing import WEIGHT_RANGE_KG
from hepatrial.protocol.schedule import check_visit
from hepatrial.service._common import (
    CLINICAL_ROLES,
    acting_user,
    get_participant,
    get_trial,
    trial_protocol,
    write_operation,
)
from hepatrial.store import (
    AdverseEvent,
    LabResult,
    Outcome,
    Participant,
    QolAnswer,
    Randomization,
    Screening,
    Visit,
    Withdrawal,
)
from hepatrial.store.records import AE_OUTCOMES, OUTCOME_KINDS
from hepatrial.units import check_plausible, conventional_unit, display_unit

WITHDRAWAL_REASONS = (
    "withdrawal by subject",
    "lost to follow-up",
    "physician decision",
    "adverse event",
    "protocol deviation",
    "study terminated by sponsor",
    "other",
)
"""Reasons for withdrawal, the CDISC NCOMPLRS terms in lower case."""


def _clinical(session: Session, user: str, participant_id: str, action: str) -> Participant:
    acting = acting_user(session, user, CLINICAL_ROLES, action)
    return get_participant(session, participant_id, acting)


def _randomization(session: Session, participant_id: str, action: str) -> Randomization:
    found = session.execute(
        select(Randomization).where(Randomization.participant_id == participant_id)
    ).scalar_one_or_none()
    if found is None:
        raise RecordError(f"participant {participant_id!r} is not randomized; cannot {action}")
    return found


def _first_screening(session: Session, participant_id: str) -> dt.date:
    first = session.execute(
        select(func.min(Screening.screened_on)).where(Screening.participant_id == participant_id)
    ).scalar_one()
    if first is None:
        raise RecordError(f"participant {participant_id!r} has no screening record")
    return first


def _check_alive_and_in_trial(
    session: Session, participant_id: str, on: dt.date, what: str
) -> None:
    death = session.execute(
        select(Outcome.occurred_on).where(
            Outcome.participant_id == participant_id, Outcome.kind == "death"
        )
    ).scalar_one_or_none()
    if death is not None and on > death:
        raise RecordError(f"{what} on {on} is after participant {participant_id!r} died on {death}")
    withdrawn = session.execute(
        select(Withdrawal.withdrawn_on).where(Withdrawal.participant_id == participant_id)
    ).scalar_one_or_none()
    if withdrawn is not None and on > withdrawn:
        raise RecordError(
            f"{what} on {on} is after participant {participant_id!r} withdrew on {withdrawn}"
        )


def _not_before(on: dt.date, start: dt.date, what: str, start_what: str) -> None:
    if on < start:
        raise RecordError(f"{what}={on} is before {start_what} ({start}); check the date")


def record_visit(
    session: Session,
    *,
    participant_id: str,
    visit: str,
    visit_date: dt.date,
    user: str,
    weight_kg: float | None = None,
) -> int:
    """Record that protocol visit ``visit`` (its id, e.g. ``"day90"``) took place; return its id.

    The study day counts from randomization (day 0). A visit dated before randomization,
    after death or withdrawal, or recorded twice is refused; one outside its window is stored
    with ``in_window=False`` (see :func:`hepatrial.protocol.schedule.check_visit`).
    """
    with write_operation(session, user):
        _clinical(session, user, participant_id, "recording a visit")
        randomization = _randomization(session, participant_id, "record a visit")
        protocol = trial_protocol(get_trial(session))
        timing = check_visit(
            protocol,
            visit_id=visit,
            visit_date=visit_date,
            randomization_date=randomization.randomized_on,
        )
        _check_alive_and_in_trial(session, participant_id, visit_date, f"visit {visit!r}")
        if weight_kg is not None and not WEIGHT_RANGE_KG[0] <= weight_kg <= WEIGHT_RANGE_KG[1]:
            raise RecordError(
                f"weight_kg={weight_kg:g} kg is outside the plausible "
                f"{WEIGHT_RANGE_KG[0]:g}-{WEIGHT_RANGE_KG[1]:g} kg"
            )
        duplicate = session.execute(
            select(Visit.id).where(
                Visit.participant_id == participant_id, Visit.visit_label == visit
            )
        ).first()
        if duplicate is not None:
            raise RecordError(
                f"visit {visit!r} of participant {participant_id!r} is already recorded"
            )
        planned_day = next(v.day for v in protocol.visits if v.id == visit)
        row = Visit(
            participant_id=participant_id,
            visit_label=visit,
            planned_day=planned_day,
            visit_date=visit_date,
            study_day=(visit_date - randomization.randomized_on).days,
            in_window=timing.within_window,
            weight_kg=weight_kg,
        )
        session.add(row)
        session.flush()
    return row.id


def _visit_id(session: Session, participant_id: str, visit: str | None) -> int | None:
    if visit is None:
        return None
    found = session.execute(
        select(Visit.id).where(Visit.participant_id == participant_id, Visit.visit_label == visit)
    ).scalar_one_or_none()
    if found is None:
        raise RecordError(
            f"visit {visit!r} of participant {participant_id!r} is not recorded; record the "
            "visit first"
        )
    return found


def record_lab(
    session: Session,
    *,
    participant_id: str,
    analyte: str,
    value: float,
    unit: str,
    collected_on: dt.date,
    user: str,
    visit: str | None = None,
) -> int:
    """Record a laboratory value with its unit; return the row id.

    The value is checked against the analyte's plausible range in ``unit`` by
    :func:`hepatrial.units.check_plausible`; an implausible value is refused with the likely
    unit mix-up ("creatinine=88 mg/dL is implausible ...; 88 µmol/L would be 1.0 mg/dL").
    The conventional-unit value is stored beside the value as entered.
    """
    return record_labs(
        session,
        participant_id=participant_id,
        values=[(analyte, value, unit)],
        collected_on=collected_on,
        user=user,
        visit=visit,
    )[0]


def record_labs(
    session: Session,
    *,
    participant_id: str,
    values: Sequence[tuple[str, float, str]],
    collected_on: dt.date,
    user: str,
    visit: str | None = None,
) -> list[int]:
    """Record several laboratory values of one sample in one transaction; return their ids.

    ``values`` holds ``(analyte, value, unit)`` triples, each checked as in :func:`record_lab`;
    one implausible value refuses them all (nothing is written). Faster than one
    :func:`record_lab` per value when loading a whole trial.
    """
    if not values:
        raise RecordError("values is empty; give at least one (analyte, value, unit)")
    checked = [
        (
            analyte,
            float(value),
            unit,
            float(check_plausible(value, analyte, unit, field=analyte)[0]),
        )
        for analyte, value, unit in values
    ]
    with write_operation(session, user):
        _clinical(session, user, participant_id, "recording lab results")
        _not_before(
            collected_on, _first_screening(session, participant_id), "collected_on", "screening"
        )
        _check_alive_and_in_trial(session, participant_id, collected_on, "lab sample")
        visit_id = _visit_id(session, participant_id, visit)
        rows = [
            LabResult(
                participant_id=participant_id,
                visit_id=visit_id,
                analyte=analyte,
                value=value,
                unit=display_unit(unit),
                value_standard=standard,
                unit_standard=conventional_unit(analyte),
                collected_on=collected_on,
            )
            for analyte, value, unit, standard in checked
        ]
        session.add_all(rows)
        session.flush()
    return [row.id for row in rows]


def record_qol(
    session: Session,
    *,
    participant_id: str,
    instrument: str,
    answers: Mapping[str, float],
    answered_on: dt.date,
    user: str,
    visit: str | None = None,
) -> int:
    """Record every answered item of one quality-of-life questionnaire; return the item count.

    ``answers`` maps item names (for example ``"mobility"`` or ``"total"``) to numbers.
    """
    if not answers:
        raise RecordError(f"answers for {instrument!r} are empty; give at least one item")
    for item, value in answers.items():
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise RecordError(f"{instrument} item {item!r}={value!r} is not a finite number")
    with write_operation(session, user):
        _clinical(session, user, participant_id, "recording quality of life")
        randomization = _randomization(session, participant_id, "record quality of life")
        _not_before(answered_on, randomization.randomized_on, "answered_on", "randomization")
        _check_alive_and_in_trial(session, participant_id, answered_on, f"{instrument} answers")
        visit_id = _visit_id(session, participant_id, visit)
        for item, value in answers.items():
            session.add(
                QolAnswer(
                    participant_id=participant_id,
                    visit_id=visit_id,
                    instrument=instrument,
                    item=str(item),
                    value=float(value),
                    answered_on=answered_on,
                )
            )
    return len(answers)


def _check_adverse_event(
    grade: int, outcome: str, start_date: dt.date, end_date: dt.date | None
) -> None:
    if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 5:
        raise RecordError(f"grade={grade!r} is not a CTCAE grade; allowed 1, 2, 3, 4 or 5")
    if outcome not in AE_OUTCOMES:
        raise RecordError(
            f"outcome={outcome!r} is not allowed; use one of {', '.join(AE_OUTCOMES)}"
        )
    if (grade == 5) != (outcome == "fatal"):
        raise RecordError(
            f"grade={grade} with outcome={outcome!r}: CTCAE grade 5 means death, so grade 5 "
            "and outcome 'fatal' go together"
        )
    if end_date is not None and end_date < start_date:
        raise RecordError(f"end_date={end_date} is before start_date={start_date}")


def record_adverse_event(
    session: Session,
    *,
    participant_id: str,
    term: str,
    system_organ_class: str,
    grade: int,
    serious: bool,
    related: bool,
    liver_related: bool,
    outcome: str,
    start_date: dt.date,
    user: str,
    end_date: dt.date | None = None,
) -> int:
    """Record an adverse event (CTCAE grade 1-5); return its id.

    Refused: a grade outside 1-5, an outcome that is not a CDISC AEOUT term, grade 5 without
    outcome ``"fatal"`` (or the reverse), an end before the start, a start before screening.
    """
    _check_adverse_event(grade, outcome, start_date, end_date)
    if not term.strip() or not system_organ_class.strip():
        raise RecordError("term and system_organ_class must not be empty")
    with write_operation(session, user):
        _clinical(session, user, participant_id, "recording an adverse event")
        _not_before(
            start_date, _first_screening(session, participant_id), "start_date", "screening"
        )
        row = AdverseEvent(
            participant_id=participant_id,
            term=term.strip(),
            system_organ_class=system_organ_class.strip(),
            grade=grade,
            serious=bool(serious),
            related=bool(related),
            liver_related=bool(liver_related),
            outcome=outcome,
            start_date=start_date,
            end_date=end_date,
        )
        session.add(row)
        session.flush()
    return row.id


def record_outcome(
    session: Session,
    *,
    participant_id: str,
    kind: str,
    occurred_on: dt.date,
    user: str,
    cause: str | None = None,
    detail: str | None = None,
    severe: bool | None = None,
) -> int:
    """Record an outcome event after randomization; return its id.

    ``kind``: ``"death"`` (``cause`` required, e.g. ``"multi-organ failure"``),
    ``"transplant"``, ``"decompensation"`` (``detail``: ascites, variceal bleeding,
    encephalopathy, jaundice) or ``"infection"`` (``detail``: site; ``severe``). A second
    death or transplant, and any event after death, are refused.
    """
    if kind not in OUTCOME_KINDS:
        raise RecordError(f"kind={kind!r} is not an outcome; use one of {', '.join(OUTCOME_KINDS)}")
    if kind == "death" and not (cause and cause.strip()):
        raise RecordError("a death needs its cause (cause='multi-organ failure', ...)")
    with write_operation(session, user):
        _clinical(session, user, participant_id, "recording an outcome")
        randomization = _randomization(session, participant_id, "record an outcome")
        _not_before(occurred_on, randomization.randomized_on, "occurred_on", "randomization")
        _check_alive_and_in_trial(session, participant_id, occurred_on, f"{kind}")
        if kind in ("death", "transplant"):
            _refuse_second(session, participant_id, kind)
        row = Outcome(
            participant_id=participant_id,
            kind=kind,
            occurred_on=occurred_on,
            cause=cause,
            detail=detail,
            severe=severe,
        )
        session.add(row)
        session.flush()
    return row.id


def _refuse_second(session: Session, participant_id: str, kind: str) -> None:
    earlier = session.execute(
        select(Outcome.occurred_on).where(
            Outcome.participant_id == participant_id, Outcome.kind == kind
        )
    ).scalar_one_or_none()
    if earlier is not None:
        raise RecordError(f"participant {participant_id!r} already has a {kind} on {earlier}")


def record_withdrawal(
    session: Session,
    *,
    participant_id: str,
    withdrawn_on: dt.date,
    reason: str,
    user: str,
    detail: str | None = None,
) -> int:
    """Record a randomized participant's withdrawal (at most once); return its id."""
    if reason not in WITHDRAWAL_REASONS:
        raise RecordError(
            f"reason={reason!r} is not allowed; use one of {', '.join(WITHDRAWAL_REASONS)}"
        )
    with write_operation(session, user):
        _clinical(session, user, participant_id, "recording a withdrawal")
        randomization = _randomization(session, participant_id, "record a withdrawal")
        _not_before(withdrawn_on, randomization.randomized_on, "withdrawn_on", "randomization")
        earlier = session.execute(
            select(Withdrawal.withdrawn_on).where(Withdrawal.participant_id == participant_id)
        ).scalar_one_or_none()
        if earlier is not None:
            raise RecordError(f"participant {participant_id!r} already withdrew on {earlier}")
        row = Withdrawal(
            participant_id=participant_id, withdrawn_on=withdrawn_on, reason=reason, detail=detail
        )
        session.add(row)
        session.flush()
    return row.id


__all__ = [
    "WITHDRAWAL_REASONS",
    "record_adverse_event",
    "record_lab",
    "record_labs",
    "record_outcome",
    "record_qol",
    "record_visit",
    "record_withdrawal",
]

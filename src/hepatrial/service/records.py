"""Recording follow-up: visits, laboratory results, quality of life, adverse events, outcomes,
withdrawals and treatment discontinuations. Each function is one audited transaction and runs
the edit checks (:mod:`hepatrial.service._checks`) before it writes anything.

Date rules are the life-cycle table of :mod:`hepatrial.checks.dates`: nothing after today, before
randomization (labs and adverse events: before the first screening), after death or after
withdrawal from the study; no dose after treatment is discontinued. A visit outside its
protocol window is recorded with ``in_window=False`` (it happened; the analysis decides), never
silently moved. Soft problems (a likely unit mix-up) need ``confirm``, a reason that is stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hepatrial.checks.dates import ending_problems
from hepatrial.checks.personal import text_problems
from hepatrial.exceptions import ConflictError, InvalidRecordError, Problem
from hepatrial.protocol.dosing import WEIGHT_RANGE_KG
from hepatrial.protocol.instruments import get_instrument
from hepatrial.protocol.schedule import check_visit
from hepatrial.service._checks import (
    life_cycle_problems,
    participant_history,
    refuse_conflicts,
    refuse_hard,
)
from hepatrial.service._common import (
    clinical_participant,
    get_trial,
    recorded_visit_id,
    trial_protocol,
    write_operation,
)
from hepatrial.store import (
    AdverseEvent,
    Discontinuation,
    Outcome,
    QolAnswer,
    Randomization,
    Visit,
    Withdrawal,
)
from hepatrial.store.records import AE_OUTCOMES, OUTCOME_KINDS

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


def _randomization(session: Session, participant_id: str, action: str) -> Randomization:
    found = session.execute(
        select(Randomization).where(Randomization.participant_id == participant_id)
    ).scalar_one_or_none()
    if found is None:
        raise InvalidRecordError(
            problems=[
                Problem(
                    "participant_id",
                    participant_id,
                    "record.not_randomized",
                    f"participant {participant_id!r} is not randomized; cannot {action}",
                    "randomize the participant first",
                    participant=participant_id,
                )
            ]
        )
    return found


def _texts(**fields: str | None) -> list[Problem]:
    """Personal-data and emptiness problems of the free-text ``fields`` that were given."""
    return [
        p for name, text in fields.items() if text is not None for p in text_problems(name, text)
    ]


def _weight_problems(weight_kg: float | None) -> list[Problem]:
    low, high = WEIGHT_RANGE_KG
    if weight_kg is None or (
        not isinstance(weight_kg, bool)
        and isinstance(weight_kg, int | float)
        and low <= weight_kg <= high
    ):
        return []
    return [
        Problem(
            "weight_kg",
            weight_kg,
            "visit.weight",
            f"a body weight must be a number within the plausible {low:g}-{high:g} kg",
            "check the value and that it is in kg",
            unit="kg",
        )
    ]


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

    The study day counts from randomization (day 0). A visit dated before randomization, after
    today, death or withdrawal, or recorded twice is refused; one outside its window is stored
    with ``in_window=False`` (see :func:`hepatrial.protocol.schedule.check_visit`).
    """
    with write_operation(session, user):
        clinical_participant(session, user, participant_id, "recording a visit")
        randomization = _randomization(session, participant_id, "record a visit")
        protocol = trial_protocol(get_trial(session))
        problems = life_cycle_problems(session, participant_id, "visit", "visit_date", visit_date)
        refuse_hard(problems + _weight_problems(weight_kg))
        timing = check_visit(
            protocol,
            visit_id=visit,
            visit_date=visit_date,
            randomization_date=randomization.randomized_on,
        )
        duplicate = session.execute(
            select(Visit.id).where(
                Visit.participant_id == participant_id, Visit.visit_label == visit
            )
        ).first()
        if duplicate is not None:
            raise ConflictError(
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


def record_qol(
    session: Session,
    *,
    participant_id: str,
    instrument: str,
    answers: Mapping[str, object],
    answered_on: dt.date,
    user: str,
    visit: str | None = None,
) -> int:
    """Record one questionnaire's answers; return the number of items stored.

    ``instrument`` names one of :data:`hepatrial.protocol.instruments.INSTRUMENTS`; every answer
    is checked against the instrument's items and allowed values, and derived scores (the
    EQ-5D-5L index from its five dimensions) are computed and stored beside the answers.
    """
    definition = get_instrument(instrument)
    problems = definition.check(answers)
    with write_operation(session, user):
        clinical_participant(session, user, participant_id, "recording quality of life")
        _randomization(session, participant_id, "record quality of life")
        problems += life_cycle_problems(session, participant_id, "qol", "answered_on", answered_on)
        refuse_hard(problems)
        visit_id = recorded_visit_id(session, participant_id, visit)
        items = {**{k: float(v) for k, v in answers.items()}, **definition.derived_values(answers)}  # type: ignore[arg-type]
        for item, value in items.items():
            session.add(
                QolAnswer(
                    participant_id=participant_id,
                    visit_id=visit_id,
                    instrument=definition.id,
                    item=str(item),
                    value=float(value),
                    answered_on=answered_on,
                )
            )
    return len(items)


def _adverse_event_problems(
    grade: int, outcome: str, start_date: dt.date, end_date: dt.date | None
) -> list[Problem]:
    problems = []
    if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 5:
        problems.append(
            Problem(
                "grade",
                grade,
                "ae.grade",
                f"grade={grade!r} is not a CTCAE grade",
                "allowed 1, 2, 3, 4 or 5",
            )
        )
    if outcome not in AE_OUTCOMES:
        problems.append(
            Problem(
                "outcome",
                outcome,
                "ae.outcome",
                f"outcome={outcome!r} is not allowed",
                f"use one of {', '.join(AE_OUTCOMES)}",
            )
        )
    elif (grade == 5) != (outcome == "fatal"):
        problems.append(
            Problem(
                "grade",
                grade,
                "ae.grade_outcome",
                f"grade {grade} with outcome {outcome!r}: CTCAE grade 5 means death, so grade 5 "
                "and outcome 'fatal' go together",
                "correct the grade or the outcome",
            )
        )
    if end_date is not None and end_date < start_date:
        problems.append(
            Problem(
                "end_date",
                end_date.isoformat(),
                "ae.end_before_start",
                f"end_date={end_date} is before start_date={start_date}",
                "check both dates",
            )
        )
    return problems


@dataclass(frozen=True)
class AdverseEventFields:
    """What is recorded about one adverse event (the edit checks run when it is recorded).

    Attributes
    ----------
    term : str
        Reported term (MedDRA lowest-level or preferred term), e.g. ``"Ascites"``.
    system_organ_class : str
        MedDRA system organ class, e.g. ``"Gastrointestinal disorders"``.
    grade : int
        CTCAE grade 1-5 (5: death related to the event).
    serious, related, liver_related : bool
        Serious (ICH E2A), related to the study treatment, related to the liver disease.
    outcome : str
        CDISC AEOUT term in lower case (:data:`hepatrial.store.records.AE_OUTCOMES`); grade 5
        goes with ``"fatal"``.
    start_date, end_date : datetime.date
        Onset and resolution (``None`` while ongoing).

    Examples
    --------
    >>> import datetime as dt
    >>> AdverseEventFields(
    ...     term="Ascites", system_organ_class="Gastrointestinal disorders", grade=3,
    ...     serious=True, related=False, liver_related=True, outcome="recovered",
    ...     start_date=dt.date(2026, 3, 1),
    ... ).end_date is None
    True
    """

    term: str
    system_organ_class: str
    grade: int
    serious: bool
    related: bool
    liver_related: bool
    outcome: str
    start_date: dt.date
    end_date: dt.date | None = None


def record_adverse_event(
    session: Session, *, participant_id: str, event: AdverseEventFields, user: str
) -> int:
    """Record an adverse event (CTCAE grade 1-5); return its id.

    Refused: a grade outside 1-5, an outcome that is not a CDISC AEOUT term, grade 5 without
    outcome ``"fatal"`` (or the reverse), an end before the start, a start before screening,
    after today or after death, and a term carrying personal data (a name, a phone number).
    """
    problems = _adverse_event_problems(event.grade, event.outcome, event.start_date, event.end_date)
    problems += _texts(term=event.term, system_organ_class=event.system_organ_class)
    with write_operation(session, user):
        clinical_participant(session, user, participant_id, "recording an adverse event")
        problems += life_cycle_problems(
            session, participant_id, "adverse_event", "start_date", event.start_date
        )
        if event.end_date is not None:
            ending = life_cycle_problems(
                session, participant_id, "adverse_event", "end_date", event.end_date
            )
            problems += [p for p in ending if p.rule in ("date.future", "date.after_death")]
        refuse_hard(problems)
        row = AdverseEvent(
            participant_id=participant_id,
            term=event.term.strip(),
            system_organ_class=event.system_organ_class.strip(),
            grade=event.grade,
            serious=bool(event.serious),
            related=bool(event.related),
            liver_related=bool(event.liver_related),
            outcome=event.outcome,
            start_date=event.start_date,
            end_date=event.end_date,
        )
        session.add(row)
        session.flush()
    return row.id


def _outcome_problems(kind: str, cause: str | None, detail: str | None) -> list[Problem]:
    if kind not in OUTCOME_KINDS:
        return [
            Problem(
                "kind", kind, "outcome.kind", "not an outcome", f"use {', '.join(OUTCOME_KINDS)}"
            )
        ]
    problems = _texts(cause=cause, detail=detail)
    if kind == "death" and not (cause and cause.strip()):
        problems.append(
            Problem(
                "cause",
                cause,
                "outcome.cause",
                "a death needs its cause",
                "give it, e.g. cause='multi-organ failure'",
            )
        )
    return problems


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
    death or transplant, any event after death, and a death dated before records that already
    exist (listed in the error) are refused.
    """
    problems = _outcome_problems(kind, cause, detail)
    with write_operation(session, user):
        clinical_participant(session, user, participant_id, "recording an outcome")
        _randomization(session, participant_id, "record an outcome")
        problems += life_cycle_problems(
            session, participant_id, "outcome", "occurred_on", occurred_on
        )
        refuse_hard(problems)
        if kind in ("death", "transplant"):
            _refuse_second(session, participant_id, kind)
        if kind == "death":
            history = participant_history(session, participant_id, with_records=True)
            refuse_conflicts(ending_problems("death", "occurred_on", occurred_on, history))
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
        raise ConflictError(f"participant {participant_id!r} already has a {kind} on {earlier}")


def _reason_problems(reason: str) -> list[Problem]:
    if reason in WITHDRAWAL_REASONS:
        return []
    return [
        Problem(
            "reason",
            reason,
            "withdrawal.reason",
            f"reason={reason!r} is not allowed",
            f"use one of {', '.join(WITHDRAWAL_REASONS)}",
        )
    ]


@dataclass(frozen=True)
class _Ending:
    """A withdrawal from the study or a treatment discontinuation: what differs between them."""

    kind: Literal["withdrawal", "discontinuation"]
    model: type[Withdrawal] | type[Discontinuation]
    date_field: str
    action: str
    earlier: str


_WITHDRAWAL = _Ending("withdrawal", Withdrawal, "withdrawn_on", "a withdrawal", "withdrew")
_DISCONTINUATION = _Ending(
    "discontinuation",
    Discontinuation,
    "discontinued_on",
    "a treatment discontinuation",
    "discontinued treatment",
)


def _record_ending(
    session: Session,
    ending: _Ending,
    *,
    participant_id: str,
    on: dt.date,
    reason: str,
    user: str,
    detail: str | None,
) -> int:
    """Record a withdrawal or discontinuation (at most one of each), refusing one dated before
    the records it would make impossible."""
    problems = _reason_problems(reason) + _texts(detail=detail)
    date_column = getattr(ending.model, ending.date_field)
    with write_operation(session, user):
        clinical_participant(session, user, participant_id, f"recording {ending.action}")
        _randomization(session, participant_id, f"record {ending.action}")
        earlier = session.execute(
            select(date_column).where(ending.model.participant_id == participant_id)
        ).scalar_one_or_none()
        if earlier is not None:
            raise ConflictError(
                f"participant {participant_id!r} already {ending.earlier} on {earlier}"
            )
        problems += life_cycle_problems(session, participant_id, ending.kind, ending.date_field, on)
        refuse_hard(problems)
        history = participant_history(session, participant_id, with_records=True)
        refuse_conflicts(ending_problems(ending.kind, ending.date_field, on, history))
        row = ending.model(
            participant_id=participant_id,
            reason=reason,
            detail=detail,
            **{ending.date_field: on},
        )
        session.add(row)
        session.flush()
    return row.id


def record_withdrawal(
    session: Session,
    *,
    participant_id: str,
    withdrawn_on: dt.date,
    reason: str,
    user: str,
    detail: str | None = None,
) -> int:
    """Record a randomized participant's withdrawal from the study (at most once); return its id.

    Nothing is recorded after it; a withdrawal dated before existing records is refused with
    the list of those records. To stop only the treatment, see :func:`record_discontinuation`.
    """
    return _record_ending(
        session,
        _WITHDRAWAL,
        participant_id=participant_id,
        on=withdrawn_on,
        reason=reason,
        user=user,
        detail=detail,
    )


def record_discontinuation(
    session: Session,
    *,
    participant_id: str,
    discontinued_on: dt.date,
    reason: str,
    user: str,
    detail: str | None = None,
) -> int:
    """Record that a randomized participant's treatment was discontinued; return its id.

    No dose may be given after it, and one given after it is listed in the refusal; visits,
    labs, questionnaires, adverse events and outcomes go on being recorded.
    """
    return _record_ending(
        session,
        _DISCONTINUATION,
        participant_id=participant_id,
        on=discontinued_on,
        reason=reason,
        user=user,
        detail=detail,
    )


__all__ = [
    "WITHDRAWAL_REASONS",
    "AdverseEventFields",
    "record_adverse_event",
    "record_discontinuation",
    "record_outcome",
    "record_qol",
    "record_visit",
    "record_withdrawal",
]

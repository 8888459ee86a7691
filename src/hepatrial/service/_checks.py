"""The edit-check layer of the service: gather a participant's history, run the rules of
:mod:`hepatrial.checks`, and refuse or record confirmations.

Every writing service function calls :func:`enforce` with every problem its rules found, before
anything is written:

* any hard problem raises :class:`~hepatrial.exceptions.InvalidRecordError` listing every
  problem (hard and soft) at once;
* only soft problems and no ``confirm`` reason raise
  :class:`~hepatrial.exceptions.ConfirmationNeededError`;
* soft problems with a reason are returned, and :func:`store_confirmations` keeps each with the
  reason, who confirmed and the record, in the audited ``confirmations`` table.

Problems that contradict stored data (a duplicate, a death dated before existing records) go
through :func:`refuse_conflicts` and raise :class:`~hepatrial.exceptions.ConflictError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hepatrial.checks.dates import DatedRecord, History, RecordKind, date_problems
from hepatrial.exceptions import (
    ConfirmationNeededError,
    ConflictError,
    InvalidRecordError,
    LabValueError,
    NotFoundError,
    Problem,
)
from hepatrial.store import (
    AdverseEvent,
    Confirmation,
    Discontinuation,
    Dose,
    LabResult,
    Outcome,
    QolAnswer,
    Randomization,
    Screening,
    Visit,
    Withdrawal,
)


def today() -> dt.date:
    """Today's date, the latest date a clinical record may carry."""
    return dt.date.today()


def enforce(problems: Sequence[Problem], confirm: str | None) -> list[Problem]:
    """Refuse hard problems, and soft ones without a reason; return the soft ones confirmed."""
    if not problems:
        return []
    refuse_hard(problems)
    soft = [p for p in problems if p.severity == "soft"]
    if confirm is None or not confirm.strip():
        raise ConfirmationNeededError(
            "; ".join(str(p) for p in soft)
            + '. To store the record as entered, confirm it with a reason (--confirm "...")',
            problems=soft,
        )
    return soft


def refuse_conflicts(problems: Sequence[Problem]) -> None:
    """Raise :class:`ConflictError` when a rule found the record contradicts stored data."""
    if problems:
        raise ConflictError(problems=problems)


def store_confirmations(
    session: Session,
    soft: Sequence[Problem],
    *,
    reason: str | None,
    user: str,
    table: str,
    record_id: int,
    participant_id: str | None,
) -> None:
    """Keep each confirmed soft problem with its reason, linked to the stored record."""
    for problem in soft:
        session.add(
            Confirmation(
                participant_id=participant_id,
                record_table=table,
                record_id=record_id,
                rule=problem.rule,
                field=problem.field,
                value=repr(problem.value),
                message=problem.message,
                reason=(reason or "").strip(),
                confirmed_by=user,
            )
        )


def _scalar(session: Session, statement: object) -> dt.date | None:
    return session.execute(statement).scalar_one_or_none()  # type: ignore[call-overload, no-any-return]


def _dated_records(session: Session, participant_id: str) -> tuple[DatedRecord, ...]:
    """Every dated record of the participant, for rules about records after an ending."""
    queries: tuple[tuple[RecordKind, str, Any, Any, Any], ...] = (
        ("visit", "visit {}", Visit, Visit.visit_label, Visit.visit_date),
        ("lab", "{} sample", LabResult, LabResult.analyte, LabResult.collected_on),
        ("qol", "{} answers", QolAnswer, QolAnswer.instrument, QolAnswer.answered_on),
        (
            "adverse_event",
            "adverse event {}",
            AdverseEvent,
            AdverseEvent.term,
            AdverseEvent.start_date,
        ),
        ("outcome", "{}", Outcome, Outcome.kind, Outcome.occurred_on),
        ("dose", "dose {} given", Dose, Dose.dose_number, Dose.given_on),
    )
    found: list[DatedRecord] = []
    for kind, label, model, name, on in queries:
        rows = session.execute(
            select(name, on)
            .where(model.participant_id == participant_id, on.is_not(None))
            .distinct()
        ).all()
        found += [DatedRecord(kind, label.format(n), d) for n, d in rows]
    return tuple(found)


def participant_history(
    session: Session, participant_id: str, *, with_records: bool = False
) -> History:
    """The dates the life-cycle rules need; ``with_records`` adds every dated record."""
    return History(
        participant=participant_id,
        first_screening=_scalar(
            session,
            select(func.min(Screening.screened_on)).where(
                Screening.participant_id == participant_id
            ),
        ),
        randomized_on=_scalar(
            session,
            select(Randomization.randomized_on).where(
                Randomization.participant_id == participant_id
            ),
        ),
        death=_scalar(
            session,
            select(func.min(Outcome.occurred_on)).where(
                Outcome.participant_id == participant_id, Outcome.kind == "death"
            ),
        ),
        withdrawn=_scalar(
            session,
            select(Withdrawal.withdrawn_on).where(Withdrawal.participant_id == participant_id),
        ),
        discontinued=_scalar(
            session,
            select(Discontinuation.discontinued_on).where(
                Discontinuation.participant_id == participant_id
            ),
        ),
        records=_dated_records(session, participant_id) if with_records else (),
    )


def refuse_hard(problems: Sequence[Problem]) -> None:
    """Raise :class:`InvalidRecordError` listing every problem when any of them is hard."""
    hard = [p for p in problems if p.severity == "hard"]
    if any(p.rule in _LAB_VALUE_RULES for p in hard):
        raise LabValueError(problems=problems)
    if hard:
        raise InvalidRecordError(problems=problems)


_LAB_VALUE_RULES = frozenset(
    {"lab.not_a_number", "lab.unknown_analyte", "lab.unit", "lab.implausible"}
)


def life_cycle_problems(
    session: Session, participant_id: str, kind: RecordKind, field: str, on: dt.date
) -> list[Problem]:
    """Life-cycle problems of a ``kind`` record dated ``on`` (see :mod:`hepatrial.checks.dates`)."""
    history = participant_history(session, participant_id)
    if history.first_screening is None:
        raise NotFoundError(f"participant {participant_id!r} has no screening record")
    return date_problems(kind, field, on, history, today=today())

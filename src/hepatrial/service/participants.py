"""Reading participants: one row each with site, status and, for those who may see it, the arm.

Every read takes the sites the caller may see (:func:`hepatrial.service.policy.visible_sites`):
a participant of another site is not listed, and :func:`participant_summary` answers for them
exactly as for a code that does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from hepatrial.service._common import read_operation, unknown_participant
from hepatrial.store import Outcome, Participant, Randomization, Screening, Withdrawal

Status = Literal["screened", "eligible", "randomized", "withdrawn", "died"]


@dataclass(frozen=True)
class ParticipantSummary:
    """A participant as a list shows them; ``arm`` is ``None`` for a caller blinded to it."""

    code: str
    site: str
    status: Status
    screened_on: dt.date | None
    randomized_on: dt.date | None
    sequence_number: int | None
    arm: str | None


def _query(sites: frozenset[str] | None) -> Select[tuple[object, ...]]:
    latest = (
        select(Screening.participant_id, func.max(Screening.screened_on).label("screened_on"))
        .group_by(Screening.participant_id)
        .subquery()
    )
    eligible = (
        select(Screening.participant_id)
        .where(Screening.eligible.is_(True))
        .group_by(Screening.participant_id)
        .subquery()
    )
    death = select(Outcome.participant_id).where(Outcome.kind == "death").subquery()
    statement = (
        select(
            Participant.id,
            Participant.site_code,
            latest.c.screened_on,
            Randomization.randomized_on,
            Randomization.sequence_number,
            Randomization.arm,
            eligible.c.participant_id.is_not(None),
            Withdrawal.id.is_not(None),
            death.c.participant_id.is_not(None),
        )
        .outerjoin(latest, latest.c.participant_id == Participant.id)
        .outerjoin(eligible, eligible.c.participant_id == Participant.id)
        .outerjoin(Randomization, Randomization.participant_id == Participant.id)
        .outerjoin(Withdrawal, Withdrawal.participant_id == Participant.id)
        .outerjoin(death, death.c.participant_id == Participant.id)
    )
    if sites is not None:
        statement = statement.where(Participant.site_code.in_(sorted(sites)))
    return statement


def _status(randomized: bool, eligible: bool, withdrawn: bool, died: bool) -> Status:
    if died:
        return "died"
    if withdrawn:
        return "withdrawn"
    if randomized:
        return "randomized"
    return "eligible" if eligible else "screened"


def _summary(row: Sequence[object], *, with_arm: bool) -> ParticipantSummary:
    code, site, screened, randomized, number, arm, eligible, withdrawn, died = row
    return ParticipantSummary(
        code=str(code),
        site=str(site),
        status=_status(randomized is not None, bool(eligible), bool(withdrawn), bool(died)),
        screened_on=screened,  # type: ignore[arg-type]
        randomized_on=randomized,  # type: ignore[arg-type]
        sequence_number=number,  # type: ignore[arg-type]
        arm=str(arm) if with_arm and arm is not None else None,
    )


def list_participants(
    session: Session,
    *,
    sites: frozenset[str] | None,
    with_arm: bool,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[ParticipantSummary]]:
    """The total count and one page of participants of ``sites`` (``None``: every site)."""
    with read_operation(session):
        statement = _query(sites)
        total = session.execute(select(func.count()).select_from(statement.subquery())).scalar_one()
        rows = session.execute(statement.order_by(Participant.id).limit(limit).offset(offset)).all()
    return int(total), [_summary(row, with_arm=with_arm) for row in rows]


def participant_summary(
    session: Session, code: str, *, sites: frozenset[str] | None, with_arm: bool
) -> ParticipantSummary:
    """One participant; another site's participant is refused exactly as an unknown code."""
    with read_operation(session):
        row = session.execute(_query(sites).where(Participant.id == code)).first()
    if row is None:
        raise unknown_participant(code)
    return _summary(row, with_arm=with_arm)

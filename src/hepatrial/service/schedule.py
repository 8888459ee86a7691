"""What is due: visits and doses whose windows are open, closed without a record, or near.

For every randomized participant who has not died or withdrawn by the given date, each
protocol visit not yet recorded and each dose still ``planned`` is listed as

* ``overdue``: its window closed before ``on`` and nothing was recorded;
* ``due``: ``on`` lies inside its window;
* ``upcoming``: its window opens within ``horizon_days`` after ``on``.

Visit windows come from :func:`hepatrial.protocol.schedule.visit_schedule`; dose windows from
the doses planned at randomization.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from hepatrial.protocol.schedule import visit_schedule
from hepatrial.service._common import get_trial, read_operation, trial_protocol
from hepatrial.store import Dose, Outcome, Participant, Randomization, Visit, Withdrawal

DueStatus = Literal["overdue", "due", "upcoming"]
_ORDER = {"overdue": 0, "due": 1, "upcoming": 2}


@dataclass(frozen=True)
class DueItem:
    """One visit or dose to act on."""

    participant_id: str
    site: str
    kind: Literal["visit", "dose"]
    item: str
    label: str
    target_date: dt.date
    window_start: dt.date
    window_end: dt.date
    status: DueStatus


@dataclass(frozen=True)
class DueSchedule:
    """Result of :func:`due_schedule`: items sorted overdue, due, upcoming, then by window end."""

    on: dt.date
    horizon_days: int
    items: tuple[DueItem, ...]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per item with the fields of :class:`DueItem`."""
        columns = list(DueItem.__dataclass_fields__)
        return pd.DataFrame([vars(i) for i in self.items], columns=columns)

    def __repr__(self) -> str:
        counts = {s: sum(i.status == s for i in self.items) for s in _ORDER}
        text = ", ".join(f"{n} {s}" for s, n in counts.items())
        return f"DueSchedule(on {self.on}: {text})"


def _status(on: dt.date, start: dt.date, end: dt.date, horizon: int) -> DueStatus | None:
    if on > end:
        return "overdue"
    if start <= on:
        return "due"
    if (start - on).days <= horizon:
        return "upcoming"
    return None


def _stopped(session: Session, on: dt.date) -> set[str]:
    """Participants who died or withdrew on or before ``on``."""
    dead = session.execute(
        select(Outcome.participant_id).where(Outcome.kind == "death", Outcome.occurred_on <= on)
    ).scalars()
    withdrawn = session.execute(
        select(Withdrawal.participant_id).where(Withdrawal.withdrawn_on <= on)
    ).scalars()
    return set(dead) | set(withdrawn)


def due_schedule(session: Session, *, on: dt.date, horizon_days: int = 7) -> DueSchedule:
    """Visits and doses overdue, due on ``on``, or opening within ``horizon_days``."""
    items: list[DueItem] = []
    with read_operation(session):
        protocol = trial_protocol(get_trial(session))
        stopped = _stopped(session, on)
        done = {(p, v) for p, v in session.execute(select(Visit.participant_id, Visit.visit_label))}
        randomized = session.execute(
            select(Randomization.participant_id, Randomization.randomized_on, Participant.site_code)
            .join(Participant, Participant.id == Randomization.participant_id)
            .where(Randomization.randomized_on <= on)
        ).all()
        sites: dict[str, str] = {}
        for participant_id, randomized_on, site in randomized:
            sites[participant_id] = site
            if participant_id in stopped:
                continue
            for visit in visit_schedule(protocol, randomized_on).visits:
                status = _status(on, visit.window_start, visit.window_end, horizon_days)
                if status is not None and (participant_id, visit.visit_id) not in done:
                    items.append(
                        DueItem(
                            participant_id,
                            site,
                            "visit",
                            visit.visit_id,
                            visit.label,
                            visit.target_date,
                            visit.window_start,
                            visit.window_end,
                            status,
                        )
                    )
        doses = session.execute(select(Dose).where(Dose.status == "planned")).scalars()
        for dose in doses:
            status = _status(on, dose.window_start, dose.window_end, horizon_days)
            if status is None or dose.participant_id in stopped or dose.participant_id not in sites:
                continue
            items.append(
                DueItem(
                    dose.participant_id,
                    sites[dose.participant_id],
                    "dose",
                    f"{dose.intervention}#{dose.dose_number}",
                    f"{dose.intervention} dose {dose.dose_number}",
                    dose.planned_date,
                    dose.window_start,
                    dose.window_end,
                    status,
                )
            )
    items.sort(key=lambda i: (_ORDER[i.status], i.window_end, i.participant_id, i.item))
    return DueSchedule(on=on, horizon_days=horizon_days, items=tuple(items))

"""Visit schedule: target dates and windows relative to the randomization date (day 0).

Public API
----------
``visit_schedule(protocol, randomization_date) -> VisitSchedule``

``check_visit(protocol, *, visit_id, visit_date, randomization_date) -> VisitTiming``: refuses
(:class:`~hepatrial.exceptions.InvalidRecordError`) an unknown visit or a date before
randomization, and reports a date outside the window as a deviation (days early or late)
rather than refusing it: a late visit still happened and must be recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from hepatrial.exceptions import InvalidRecordError
from hepatrial.protocol.models import Protocol, Visit


@dataclass(frozen=True)
class ScheduledVisit:
    """One visit: target day and date, and the first and last date of its window."""

    visit_id: str
    label: str
    day: int
    target_date: date
    window_start: date
    window_end: date

    def contains(self, when: date) -> bool:
        """True when ``when`` lies inside the window (both ends included)."""
        return self.window_start <= when <= self.window_end


@dataclass(frozen=True)
class VisitSchedule:
    """A participant's visits, in protocol order."""

    randomization_date: date
    visits: tuple[ScheduledVisit, ...]

    def visit(self, visit_id: str) -> ScheduledVisit:
        """The scheduled visit ``visit_id``; InvalidRecordError names the known ids otherwise."""
        for visit in self.visits:
            if visit.visit_id == visit_id:
                return visit
        known = ", ".join(v.visit_id for v in self.visits)
        raise InvalidRecordError(f"visit_id={visit_id!r} is not in the schedule; visits: {known}")

    def open_on(self, when: date) -> tuple[ScheduledVisit, ...]:
        """Visits whose window contains ``when``."""
        return tuple(v for v in self.visits if v.contains(when))

    def due_between(self, start: date, end: date) -> tuple[ScheduledVisit, ...]:
        """Visits whose window overlaps ``start``-``end`` (both included)."""
        return tuple(v for v in self.visits if v.window_start <= end and v.window_end >= start)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per visit: id, label, day, target date and window."""
        return pd.DataFrame(
            {
                "visit_id": [v.visit_id for v in self.visits],
                "label": [v.label for v in self.visits],
                "day": [v.day for v in self.visits],
                "target_date": [v.target_date for v in self.visits],
                "window_start": [v.window_start for v in self.visits],
                "window_end": [v.window_end for v in self.visits],
            }
        )


@dataclass(frozen=True)
class VisitTiming:
    """Where an actual visit date falls relative to its window.

    ``days_from_target`` is negative when early; ``deviation_days`` is 0 inside the window, else
    the days before the window start (negative) or after its end (positive).
    """

    visit_id: str
    visit_date: date
    days_from_target: int
    within_window: bool
    deviation_days: int

    @property
    def deviation(self) -> str | None:
        """A sentence describing the deviation, or None within the window."""
        if self.within_window:
            return None
        side = "before the window opens" if self.deviation_days < 0 else "after the window closes"
        days = abs(self.deviation_days)
        return f"visit {self.visit_id} on {self.visit_date} is {days} day(s) {side}"


def _scheduled(visit: Visit, randomization_date: date) -> ScheduledVisit:
    target = randomization_date + timedelta(days=visit.day)
    start = max(randomization_date, target - timedelta(days=visit.window.before))
    return ScheduledVisit(
        visit_id=visit.id,
        label=visit.label,
        day=visit.day,
        target_date=target,
        window_start=start,
        window_end=target + timedelta(days=visit.window.after),
    )


def visit_schedule(protocol: Protocol, randomization_date: date) -> VisitSchedule:
    """The participant's visits with target dates and windows.

    Target date = randomization date + ``day``; the window runs from ``before`` days earlier
    (never before randomization) to ``after`` days later.

    Examples
    --------
    >>> from hepatrial.protocol import load_protocol
    >>> s = visit_schedule(load_protocol("match"), date(2026, 1, 1))
    >>> s.visit("d90").target_date, s.visit("d90").window_start, s.visit("d90").window_end
    (datetime.date(2026, 4, 1), datetime.date(2026, 3, 25), datetime.date(2026, 4, 8))
    """
    return VisitSchedule(
        randomization_date=randomization_date,
        visits=tuple(_scheduled(v, randomization_date) for v in protocol.visits),
    )


def check_visit(
    protocol: Protocol, *, visit_id: str, visit_date: date, randomization_date: date
) -> VisitTiming:
    """Check an actual visit date; see the module docstring."""
    if visit_date < randomization_date:
        raise InvalidRecordError(
            f"visit {visit_id} date {visit_date} is before the randomization date "
            f"{randomization_date}; visits are dated on or after randomization"
        )
    scheduled = visit_schedule(protocol, randomization_date).visit(visit_id)
    if visit_date < scheduled.window_start:
        deviation = (visit_date - scheduled.window_start).days
    elif visit_date > scheduled.window_end:
        deviation = (visit_date - scheduled.window_end).days
    else:
        deviation = 0
    return VisitTiming(
        visit_id=visit_id,
        visit_date=visit_date,
        days_from_target=(visit_date - scheduled.target_date).days,
        within_window=deviation == 0,
        deviation_days=deviation,
    )

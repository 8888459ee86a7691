"""Life-cycle edit checks: what may be dated when in a participant's course through the trial.

The rules are written once, as the table :data:`LIFE_CYCLE`, for every kind of record:

* nothing is dated after today (``date.future``);
* nothing is dated before the participant's first screening, and follow-up records not before
  randomization (``date.before_screening``, ``date.before_randomization``);
* nothing is dated after death (``date.after_death``);
* after withdrawal from the study (consent withdrawn, lost to follow-up, ...) nothing more is
  recorded (``date.after_withdrawal``);
* after treatment is discontinued no dose is given, but visits, labs, questionnaires, adverse
  events and outcomes go on being recorded (``date.after_discontinuation``);
* a death, a withdrawal or a discontinuation dated before records that already exist is refused
  with the list of those records (``date.records_after_death``, ...): they would become
  impossible.

A visit outside its protocol window is not refused: it happened, and is stored with
``in_window=False`` (a deviation the data-quality report lists).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from hepatrial.exceptions import Problem

RecordKind = Literal[
    "screening",
    "visit",
    "lab",
    "qol",
    "adverse_event",
    "outcome",
    "dose",
    "withdrawal",
    "discontinuation",
]


@dataclass(frozen=True)
class LifeCycleRule:
    """When a kind of record may be dated: its earliest anchor and what ends it."""

    starts_at: Literal["screening", "randomization"]
    after_discontinuation: bool
    label: str


LIFE_CYCLE: Final[dict[RecordKind, LifeCycleRule]] = {
    "screening": LifeCycleRule("screening", True, "screening"),
    "visit": LifeCycleRule("randomization", True, "visit"),
    "lab": LifeCycleRule("screening", True, "lab sample"),
    "qol": LifeCycleRule("randomization", True, "questionnaire"),
    "adverse_event": LifeCycleRule("screening", True, "adverse event"),
    "outcome": LifeCycleRule("randomization", True, "outcome"),
    "dose": LifeCycleRule("randomization", False, "dose"),
    "withdrawal": LifeCycleRule("randomization", True, "withdrawal"),
    "discontinuation": LifeCycleRule("randomization", True, "treatment discontinuation"),
}
"""Every record kind's life-cycle rule; death and withdrawal from the study end every kind."""


@dataclass(frozen=True)
class DatedRecord:
    """An existing record of the participant: its kind, description and date."""

    kind: RecordKind
    label: str
    on: dt.date


@dataclass(frozen=True)
class History:
    """What the life-cycle rules need to know of one participant's stored records."""

    participant: str
    first_screening: dt.date | None = None
    randomized_on: dt.date | None = None
    death: dt.date | None = None
    withdrawn: dt.date | None = None
    discontinued: dt.date | None = None
    records: tuple[DatedRecord, ...] = ()


def _problem(field: str, on: dt.date, rule: str, message: str, fix: str, who: str) -> Problem:
    return Problem(field, on.isoformat(), rule, message, fix, participant=who)


def _anchor_problems(kind: RecordKind, field: str, on: dt.date, history: History) -> list[Problem]:
    rule = LIFE_CYCLE[kind]
    who = history.participant
    if rule.starts_at == "randomization" and history.randomized_on is None:
        return []  # the service refuses an unrandomized participant with its own error
    if rule.starts_at == "randomization" and on < history.randomized_on:  # type: ignore[operator]
        return [
            _problem(
                field,
                on,
                "date.before_randomization",
                f"the {rule.label} on {on} is before the randomization date "
                f"({history.randomized_on})",
                "check the date; follow-up starts at randomization (day 0)",
                who,
            )
        ]
    first = history.first_screening
    if rule.starts_at == "screening" and first is not None and on < first:
        return [
            _problem(
                field,
                on,
                "date.before_screening",
                f"the {rule.label} on {on} is before screening (first screened on {first})",
                "check the date",
                who,
            )
        ]
    return []


def _end_problems(kind: RecordKind, field: str, on: dt.date, history: History) -> list[Problem]:
    rule = LIFE_CYCLE[kind]
    who = history.participant
    if history.death is not None and on > history.death:
        return [
            _problem(
                field,
                on,
                "date.after_death",
                f"the {rule.label} on {on} is after participant {who!r} died on {history.death}",
                "check the date, or correct the date of death",
                who,
            )
        ]
    if history.withdrawn is not None and on > history.withdrawn:
        return [
            _problem(
                field,
                on,
                "date.after_withdrawal",
                f"the {rule.label} on {on} is after participant {who!r} withdrew from the study "
                f"on {history.withdrawn}; nothing is recorded after withdrawal",
                "check the date",
                who,
            )
        ]
    stopped = history.discontinued
    if not rule.after_discontinuation and stopped is not None and on > stopped:
        return [
            _problem(
                field,
                on,
                "date.after_discontinuation",
                f"a {rule.label} on {on} is after participant {who!r} discontinued treatment "
                f"on {stopped}",
                "record follow-up instead; no dose is given after discontinuation",
                who,
            )
        ]
    return []


def date_problems(
    kind: RecordKind, field: str, on: dt.date, history: History, *, today: dt.date
) -> list[Problem]:
    """Every life-cycle problem of a ``kind`` record dated ``on`` (its date field ``field``)."""
    if on > today:
        return [
            _problem(
                field,
                on,
                "date.future",
                f"the {LIFE_CYCLE[kind].label} is dated after today ({today})",
                "clinical records are entered after they happen; check the date",
                history.participant,
            )
        ]
    return _anchor_problems(kind, field, on, history) + _end_problems(kind, field, on, history)


_ENDS: Final[dict[str, tuple[str, frozenset[RecordKind]]]] = {
    "death": ("date.records_after_death", frozenset(LIFE_CYCLE)),
    "withdrawal": ("date.records_after_withdrawal", frozenset(LIFE_CYCLE)),
    "discontinuation": ("date.records_after_discontinuation", frozenset({"dose"})),
}


def ending_problems(
    ending: Literal["death", "withdrawal", "discontinuation"],
    field: str,
    on: dt.date,
    history: History,
) -> list[Problem]:
    """A death, withdrawal or discontinuation dated before existing records: one problem naming
    every record it would make impossible."""
    rule, kinds = _ENDS[ending]
    later: Sequence[DatedRecord] = sorted(
        (r for r in history.records if r.kind in kinds and r.on > on), key=lambda r: r.on
    )
    if not later:
        return []
    listed = "; ".join(f"{r.label} on {r.on}" for r in later[:10])
    more = f" and {len(later) - 10} more" if len(later) > 10 else ""
    return [
        _problem(
            field,
            on,
            rule,
            f"the {ending} on {on} is dated before {len(later)} existing record(s): {listed}{more}",
            f"check the date of the {ending}, or correct those records first",
            history.participant,
        )
    ]

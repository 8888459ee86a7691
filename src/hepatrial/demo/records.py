"""Plain records of a reconstructed trial: what happened to each participant, by study day.

Days count from randomization (day 0). These records are the hand-off between the
reconstruction (which decides *what* happened) and the store build (which records it through
the operations API) and the direct SDTM-like tables used when no store is wanted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

EventKind = Literal["decompensation", "severe infection", "transplant"]


@dataclass(frozen=True)
class DoseRecord:
    """One administration of the investigational product."""

    day: int
    dose: float
    unit: str


@dataclass(frozen=True)
class LabRecord:
    """One laboratory or biomarker result in the unit named."""

    day: int
    test: str
    value: float
    unit: str


@dataclass(frozen=True)
class AdverseEventRecord:
    """One adverse event with its MedDRA system organ class."""

    day: int
    term: str
    body_system: str
    serious: bool
    liver_related: bool


@dataclass(frozen=True)
class ClinicalEventRecord:
    """A clinical outcome event other than death."""

    day: int
    kind: EventKind
    term: str


@dataclass(frozen=True)
class DeathRecord:
    """Death, its cause, the cause category used by the endpoints, and liver relatedness."""

    day: int
    cause: str
    category: str
    liver_related: bool


@dataclass(frozen=True)
class QolRecord:
    """One EQ-5D-5L questionnaire: the five dimension levels and the index they score."""

    day: int
    instrument: str
    score: float
    levels: tuple[int, int, int, int, int]


@dataclass(frozen=True)
class WithdrawalRecord:
    """Withdrawal from follow-up (no data are recorded after ``day``)."""

    day: int
    reason: str


@dataclass(frozen=True)
class Participant:
    """Everything recorded for one randomized participant."""

    arm: str
    candidate: Candidate
    doses: tuple[DoseRecord, ...] = ()
    labs: tuple[LabRecord, ...] = ()
    adverse_events: tuple[AdverseEventRecord, ...] = ()
    events: tuple[ClinicalEventRecord, ...] = ()
    qol: tuple[QolRecord, ...] = ()
    death: DeathRecord | None = None
    withdrawal: WithdrawalRecord | None = None
    last_contact_day: int = 0
    not_treated_reason: str | None = None

    @property
    def subject_id(self) -> str:
        """The pseudonymous participant code."""
        return self.candidate.subject_id

    @property
    def randomization_date(self) -> dt.date:
        """Day 0."""
        return self.candidate.randomization_date


@dataclass(frozen=True)
class Candidate:
    """A person presenting for screening: everything known before randomization.

    ``facts`` are the protocol's clinical facts (yes/no, category, number); ``baseline`` holds
    the day-0 values the reconstruction builds on (for example ``meld``).
    """

    subject_id: str
    site: str
    age: int
    sex: Literal["F", "M"]
    randomization_date: dt.date
    screening_day: int
    screening_labs: tuple[LabRecord, ...]
    facts: dict[str, bool | str | float]
    baseline: dict[str, float]


@dataclass(frozen=True)
class ScreenFailure:
    """A screened person who was not randomized, and why."""

    screening_id: str
    site: str
    screening_date: dt.date
    reason: str
    age: int
    sex: Literal["F", "M"]
    screening_labs: tuple[LabRecord, ...] = ()
    facts: dict[str, bool | str | float] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishedFigure:
    """A number printed in the publication and how the reproduction must be compared to it.

    ``decimals`` is the number of decimals the publication prints: the reproduction passes
    when it rounds (half away from zero) to ``value`` at that precision.
    """

    key: str
    label: str
    value: float
    decimals: int
    source: str
    constraint: str


@dataclass(frozen=True)
class ReconstructedTrial:
    """A seed trial rebuilt as synthetic participant-level data consistent with its paper."""

    protocol: str
    title: str
    citation: str
    seed: int
    arms: dict[str, str]
    candidates: tuple[Candidate, ...]
    follow_up_days: int
    visit_days: tuple[int, ...]
    participants: tuple[Participant, ...]
    screen_failures: tuple[ScreenFailure, ...]
    figures: tuple[PublishedFigure, ...]
    account: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        """The label every output of a reconstruction carries."""
        return (
            f"SYNTHETIC RECONSTRUCTION of {self.title} (seed {self.seed}): participant-level "
            "data generated to agree with the published aggregates; not the trial's data."
        )

"""Follow-up tables: doses, visits, laboratory results, quality of life, adverse events,
outcomes and withdrawals. Every row belongs to one participant; all are audited.

Check constraints repeat the service layer's rules (grade 1-5, an adverse event ends on or
after its start, one withdrawal per participant) so that a write bypassing the service still
cannot store an impossible record.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hepatrial.store.base import Audited, Base

AE_OUTCOMES: Final = (
    "recovered",
    "recovering",
    "not recovered",
    "recovered with sequelae",
    "fatal",
    "unknown",
)
"""Adverse-event outcomes, the CDISC AEOUT terms in lower case."""
OUTCOME_KINDS: Final = ("death", "transplant", "decompensation", "infection")


class Dose(Audited, Base):
    """A planned administration (from weight and randomization date) and what was given.

    Amounts are in ``unit`` (cells, µg, mg); ``*_amount_per_kg`` only for per-kg doses.
    ``status`` is ``planned`` until the dose is recorded as ``given`` or ``missed``;
    ``deviation`` explains a dose outside its window or a missed dose.
    """

    __tablename__ = "doses"
    __table_args__ = (
        UniqueConstraint("participant_id", "intervention", "dose_number"),
        CheckConstraint("status IN ('planned', 'given', 'missed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    intervention: Mapped[str] = mapped_column(String(40))
    dose_number: Mapped[int]
    planned_day: Mapped[int]
    planned_date: Mapped[dt.date]
    window_start: Mapped[dt.date]
    window_end: Mapped[dt.date]
    unit: Mapped[str] = mapped_column(String(16))
    weight_kg: Mapped[float]
    planned_amount_per_kg: Mapped[float | None]
    planned_total: Mapped[float]
    status: Mapped[str] = mapped_column(String(8), default="planned")
    given_on: Mapped[dt.date | None]
    given_total: Mapped[float | None]
    given_amount_per_kg: Mapped[float | None]
    deviation: Mapped[str | None] = mapped_column(Text)


class Visit(Audited, Base):
    """A protocol visit that took place, with its study day and whether it fell in its window."""

    __tablename__ = "visits"
    __table_args__ = (UniqueConstraint("participant_id", "visit_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_label: Mapped[str] = mapped_column(String(40))
    planned_day: Mapped[int]
    visit_date: Mapped[dt.date]
    study_day: Mapped[int]
    in_window: Mapped[bool]
    weight_kg: Mapped[float | None]


class LabResult(Audited, Base):
    """A laboratory value as entered (value, unit) and converted to the analyte's standard unit."""

    __tablename__ = "lab_results"
    # The cohort edit check reads an analyte's latest values (hepatrial.service.labs).
    __table_args__ = (Index("ix_lab_results_analyte_id", "analyte", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    analyte: Mapped[str] = mapped_column(String(40))
    value: Mapped[float]
    unit: Mapped[str] = mapped_column(String(20))
    value_standard: Mapped[float]
    unit_standard: Mapped[str] = mapped_column(String(20))
    collected_on: Mapped[dt.date]


class QolAnswer(Audited, Base):
    """One answered item of a quality-of-life instrument (for example EQ-5D-5L or CLDQ)."""

    __tablename__ = "qol_answers"
    __table_args__ = (UniqueConstraint("participant_id", "visit_id", "instrument", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    instrument: Mapped[str] = mapped_column(String(40))
    item: Mapped[str] = mapped_column(String(40))
    value: Mapped[float]
    answered_on: Mapped[dt.date]


class AdverseEvent(Audited, Base):
    """An adverse event graded by CTCAE (1-5) with seriousness, relatedness and liver relation."""

    __tablename__ = "adverse_events"
    __table_args__ = (
        CheckConstraint("grade BETWEEN 1 AND 5", name="grade"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    term: Mapped[str] = mapped_column(String(200))
    system_organ_class: Mapped[str] = mapped_column(String(120))
    grade: Mapped[int]
    serious: Mapped[bool]
    related: Mapped[bool]
    liver_related: Mapped[bool]
    outcome: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date | None]


class Outcome(Audited, Base):
    """A clinical outcome event: death (with cause), transplant, decompensation or infection."""

    __tablename__ = "outcomes"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('death', 'transplant', 'decompensation', 'infection')", name="kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[dt.date]
    cause: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(String(200))
    severe: Mapped[bool | None]


class Withdrawal(Audited, Base):
    """A participant's withdrawal from the trial (at most one)."""

    __tablename__ = "withdrawals"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), unique=True)
    withdrawn_on: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(String(80))
    detail: Mapped[str | None] = mapped_column(Text)


class Discontinuation(Audited, Base):
    """Treatment discontinued (at most once): no dose after it; follow-up and safety go on.

    A withdrawal from the study (:class:`Withdrawal`) ends every record; a discontinuation ends
    only the treatment.
    """

    __tablename__ = "discontinuations"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), unique=True)
    discontinued_on: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(String(80))
    detail: Mapped[str | None] = mapped_column(Text)


class Confirmation(Audited, Base):
    """A soft edit check confirmed by the person entering the record, with their reason.

    ``record_table`` and ``record_id`` name the stored record; ``rule``, ``field`` and
    ``value`` the check and what it questioned; ``message`` what it said.
    """

    __tablename__ = "confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str | None] = mapped_column(ForeignKey("participants.id"), index=True)
    record_table: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int]
    rule: Mapped[str] = mapped_column(String(60))
    field: Mapped[str] = mapped_column(String(80))
    value: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    confirmed_by: Mapped[str] = mapped_column(String(40))

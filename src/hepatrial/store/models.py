"""Tables of the trial store: the trial, sites, users, participants, screening and randomization.

One store holds one trial (as a REDCap project does); participants, sites and users belong to
it. Participants are known only by pseudonymous codes: the store has no column for a name,
contact detail or date of birth (age in years is kept instead). The sealed allocation seed
lives in ``allocation_secrets``, a table that no service function, export or reader returns;
the trial row carries only its SHA-256 commitment. Follow-up records (doses, visits, labs,
quality of life, adverse events, outcomes, withdrawals) are in :mod:`hepatrial.store.records`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Final

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hepatrial.store.base import Audited, Base, utc_now

ROLES: Final = (
    "investigator",
    "coordinator",
    "monitor",
    "statistician",
    "unblinded_statistician",
    "dsmb",
    "admin",
)
"""Roles a user may hold (what each may do: :data:`hepatrial.service.policy.POLICY`)."""

_ROLE_CHECK = "role IN (" + ", ".join(f"'{role}'" for role in ROLES) + ")"


class Trial(Audited, Base):
    """The trial: its protocol (name, version and the YAML text in force) and seed commitment."""

    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_name: Mapped[str] = mapped_column(String(80))
    protocol_version: Mapped[str] = mapped_column(String(40))
    protocol_yaml: Mapped[str] = mapped_column(Text, deferred=True)  # loaded when needed
    protocol_sha256: Mapped[str] = mapped_column(String(64))
    seed_commitment: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class AllocationSecret(Audited, Base):
    """The sealed allocation seed. Read only by the randomization service, never exported."""

    __tablename__ = "allocation_secrets"

    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), primary_key=True)
    seed: Mapped[bytes]

    def audit_state(self) -> dict[str, Any]:
        """The audit log keeps the seed's SHA-256 commitment, never the seed itself."""
        return {"trial_id": self.trial_id, "seed_sha256": hashlib.sha256(self.seed).hexdigest()}


class Site(Audited, Base):
    """A recruiting centre, known by a short code."""

    __tablename__ = "sites"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class User(Audited, Base):
    """A pseudonymous user (an opaque id, no name or e-mail) with one role."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_ROLE_CHECK, name="role"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    site_code: Mapped[str | None] = mapped_column(ForeignKey("sites.code"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class Participant(Audited, Base):
    """A screened person, known only by a pseudonymous code; age in years, no date of birth."""

    __tablename__ = "participants"
    __table_args__ = (CheckConstraint("sex IN ('M', 'F')", name="sex"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site_code: Mapped[str] = mapped_column(ForeignKey("sites.code"))
    sex: Mapped[str | None] = mapped_column(String(1))
    age_years: Mapped[float | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class Screening(Audited, Base):
    """One screening: labs with units, computed scores, the decision and every criterion's reason.

    ``labs`` maps each analyte used to ``{"value", "unit", "collected_on",
    "conventional_value", "conventional_unit"}``; ``facts`` holds the protocol's facts and the
    clinical items; ``scores`` the computed scores; ``status`` is ``eligible``, ``ineligible``
    or ``incomplete``; ``criteria`` lists ``{"id", "label", "kind", "outcome", "passed",
    "reason"}``; ``problems`` lists labs refused and values not computable; ``factors`` holds
    the allocation factor levels (set when eligible) used at randomization.
    """

    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    screened_on: Mapped[dt.date]
    protocol_version: Mapped[str] = mapped_column(String(40))
    labs: Mapped[dict[str, Any]]
    facts: Mapped[dict[str, Any]]
    scores: Mapped[dict[str, Any]]
    factors: Mapped[dict[str, Any]]
    eligible: Mapped[bool]
    status: Mapped[str] = mapped_column(String(12))
    criteria: Mapped[list[Any]]
    problems: Mapped[list[Any]]
    screened_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class Randomization(Audited, Base):
    """An allocation: one per participant, sequence numbers unique and gap-free in the trial."""

    __tablename__ = "randomizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), unique=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id"))
    sequence_number: Mapped[int] = mapped_column(unique=True)
    arm: Mapped[str] = mapped_column(String(40))
    stratum: Mapped[str] = mapped_column(String(200))
    factors: Mapped[dict[str, Any]]
    method: Mapped[str] = mapped_column(String(40))
    randomized_on: Mapped[dt.date]
    randomized_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    randomized_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    weight_kg: Mapped[float | None]


class AuditEntry(Base):
    """One row of the hash-chained audit log (written only by :mod:`hepatrial.store.audit`)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    recorded_at: Mapped[dt.datetime]
    user_id: Mapped[str] = mapped_column(String(64))
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(8))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row naming the last audit entry; locking it serializes appends to the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))

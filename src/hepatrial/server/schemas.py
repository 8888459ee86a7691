"""Request and response bodies of the API: Create schemas in, Public schemas out.

Create schemas reject unknown keys (a typo fails loudly); the edit checks then run in the
service exactly as for the command line, and their problems come back as problem details.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Item = TypeVar("Item")


class Create(BaseModel):
    """Base of request bodies: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[Item]):
    """One page of a list: the items, the total count, and where the page starts."""

    total: int
    limit: int
    offset: int
    items: list[Item]


class TrialPublic(BaseModel):
    protocol_name: str
    protocol_version: str
    protocol_sha256: str
    seed_commitment: str


class ParticipantPublic(BaseModel):
    code: str
    site: str
    status: Literal["screened", "eligible", "randomized", "withdrawn", "died"]
    screened_on: dt.date | None
    randomized_on: dt.date | None
    sequence_number: int | None
    arm: str | None = Field(description="Absent for roles blinded to allocation.")


class LabIn(Create):
    analyte: str
    value: float
    unit: str


class ScreeningLabIn(LabIn):
    collected_on: dt.date


class ScreeningCreate(Create):
    """The screening record, with the same keys as the YAML file, plus ``site`` and ``on``."""

    site: str
    on: dt.date | None = None
    age: float
    sex: Literal["female", "male"] | None = None
    labs: list[ScreeningLabIn] = []
    clinical: dict[str, Any] = {}
    facts: dict[str, bool | int | float | str] = {}
    confirm: str | None = Field(None, description="Reason confirming soft edit-check problems.")


class CriterionPublic(BaseModel):
    id: str
    kind: str
    passed: bool | None
    reason: str


class ScreeningPublic(BaseModel):
    screening_id: int
    participant: str
    status: str
    eligible: bool
    criteria: list[CriterionPublic]


class RandomizationCreate(Create):
    weight_kg: float | None = None
    on: dt.date | None = None


class PlannedDosePublic(BaseModel):
    intervention: str
    dose_number: int
    planned_date: dt.date


class RandomizationPublic(BaseModel):
    participant: str
    sequence_number: int
    arm: str
    stratum: str
    method: str
    randomized_on: dt.date
    planned_doses: list[PlannedDosePublic]


class LabsCreate(Create):
    collected_on: dt.date
    visit: str | None = None
    values: list[LabIn] = Field(min_length=1)
    confirm: str | None = None


class VisitCreate(Create):
    visit: str
    visit_date: dt.date
    weight_kg: float | None = None


class AdverseEventCreate(Create):
    term: str
    system_organ_class: str
    grade: int
    serious: bool
    related: bool
    liver_related: bool
    outcome: str
    start_date: dt.date
    end_date: dt.date | None = None


class OutcomeCreate(Create):
    kind: str
    occurred_on: dt.date
    cause: str | None = None
    detail: str | None = None
    severe: bool | None = None


class WithdrawalCreate(Create):
    withdrawn_on: dt.date
    reason: str
    detail: str | None = None


class DiscontinuationCreate(Create):
    discontinued_on: dt.date
    reason: str
    detail: str | None = None


class DoseCreate(Create):
    dose_number: int
    given_on: dt.date
    amount: float
    unit: str
    intervention: str | None = None
    deviation: str | None = None


class QuestionnaireCreate(Create):
    instrument: str
    answered_on: dt.date
    visit: str | None = None
    answers: dict[str, float] = Field(min_length=1)


class Created(BaseModel):
    """What a recording call stored: the ids of the new rows."""

    ids: list[int]


class DueItemPublic(BaseModel):
    participant: str
    site: str
    kind: str
    label: str
    target_date: dt.date
    window_start: dt.date
    window_end: dt.date
    status: str


class AuditVerificationPublic(BaseModel):
    ok: bool
    entries: int
    head_hash: str | None
    first_problem: str | None


class LoginCreate(Create):
    user_id: str = Field(max_length=64)
    password: str = Field(max_length=1000)
    totp: str | None = Field(
        default=None, max_length=10, description="The current code of the user's authenticator."
    )


class LoginPublic(BaseModel):
    user_id: str
    role: str
    csrf_token: str = Field(
        description="Send it as X-CSRF-Token with every POST, PUT, PATCH and DELETE."
    )
    expires_at: dt.datetime = Field(description="The latest end of the session (absolute timeout).")
    idle_timeout_minutes: int


class LogoutPublic(BaseModel):
    sessions_ended: int


class FieldProblemPublic(BaseModel):
    """One edit check's problem with a field of a refused record."""

    field: str
    value: str | int | float | bool | None
    unit: str | None
    rule: str
    severity: str
    message: str
    fix: str | None


class ProblemPublic(BaseModel):
    """An error response (RFC 9457 problem details, ``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    problems: list[FieldProblemPublic] = []

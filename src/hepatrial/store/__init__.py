"""The trial store: SQLAlchemy models, Alembic migrations, sessions and the audit log.

Owns the database schema and the hash-chained audit trail; imports nothing from the service,
CLI or analysis layers. Service functions (:mod:`hepatrial.service`) are the only writers.
"""

from __future__ import annotations

from hepatrial.store.accounts import (
    AUTH_EVENTS,
    ApiToken,
    AuthEvent,
    BrowserSession,
    Credential,
    IdempotencyKey,
    TotpSecret,
)
from hepatrial.store.audit import AuditProblem, AuditReport, acting_as, verify_audit
from hepatrial.store.base import Base
from hepatrial.store.engine import (
    DEFAULT_URL,
    StoreSession,
    dispose_engine,
    dispose_engines,
    init_db,
    make_engine,
    open_session,
    session_factory,
)
from hepatrial.store.models import (
    ROLES,
    AllocationSecret,
    AuditEntry,
    AuditHead,
    Participant,
    Randomization,
    Screening,
    Site,
    Trial,
    User,
)
from hepatrial.store.records import (
    AdverseEvent,
    Confirmation,
    Discontinuation,
    Dose,
    LabResult,
    Outcome,
    QolAnswer,
    Visit,
    Withdrawal,
)

__all__ = [
    "AUTH_EVENTS",
    "DEFAULT_URL",
    "ROLES",
    "AdverseEvent",
    "AllocationSecret",
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "AuditProblem",
    "AuditReport",
    "AuthEvent",
    "Base",
    "BrowserSession",
    "Confirmation",
    "Credential",
    "Discontinuation",
    "Dose",
    "IdempotencyKey",
    "LabResult",
    "Outcome",
    "Participant",
    "QolAnswer",
    "Randomization",
    "Screening",
    "Site",
    "StoreSession",
    "TotpSecret",
    "Trial",
    "User",
    "Visit",
    "Withdrawal",
    "acting_as",
    "dispose_engine",
    "dispose_engines",
    "init_db",
    "make_engine",
    "open_session",
    "session_factory",
    "verify_audit",
]

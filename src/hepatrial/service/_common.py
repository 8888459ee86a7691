"""Shared machinery of the service functions: transactions, users, identifiers, the protocol.

Every writing service function runs inside :func:`write_operation`: one transaction, all
writes attributed to the acting user in the audit log, committed at the end or rolled back
entirely on any error (nothing is partially written). On SQLite the transaction starts with
``BEGIN IMMEDIATE``; on PostgreSQL operations that need it lock rows explicitly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, TypeVar
from typing import Protocol as Interface

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from hepatrial.exceptions import RecordError
from hepatrial.protocol.loader import protocol_from_dict
from hepatrial.protocol.models import Protocol
from hepatrial.store import Participant, Trial, User, acting_as

CLINICAL_ROLES: Final = frozenset({"investigator", "coordinator"})
ADMIN_ROLES: Final = frozenset({"admin"})

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_ALL_DIGITS = re.compile(r"^\d{9,}$")
_IDENTIFYING = (
    "name",
    "initials",
    "email",
    "e_mail",
    "phone",
    "mobile",
    "address",
    "postcode",
    "zip",
    "birth",
    "dob",
    "nhs",
    "mrn",
    "medical_record",
    "hospital_number",
    "ssn",
    "social_security",
    "passport",
    "national_id",
    "insurance",
)


@contextmanager
def write_operation(session: Session, actor: str) -> Iterator[None]:
    """Run the block as one audited transaction by ``actor``: commit on success, else roll back."""
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()  # end a read-only transaction so the write lock is taken up front
    try:
        session.connection(execution_options={"hepatrial_write": True})
        with acting_as(session, actor):
            yield
            session.flush()
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextmanager
def read_operation(session: Session) -> Iterator[None]:
    """Run a read; end the transaction afterwards unless the caller had one open."""
    had_transaction = session.in_transaction()
    try:
        yield
    finally:
        if not had_transaction and session.in_transaction():
            session.commit()


def check_code(kind: str, value: str) -> str:
    """Validate a pseudonymous code (participant, user, site): letters, digits, ``._-``."""
    if not isinstance(value, str) or not _CODE.match(value):
        raise RecordError(
            f"{kind}={value!r} is not a valid pseudonymous code: use 1-40 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit (no spaces, no e-mail addresses)"
        )
    if _ALL_DIGITS.match(value):
        raise RecordError(
            f"{kind}={value!r} looks like a phone, health-service or hospital number; use a "
            "pseudonymous study code such as 'S01-0042' instead"
        )
    return value


def refuse_identifying(fields: Iterable[str], *, where: str) -> None:
    """Refuse any field name that suggests personal identifying data."""
    for field in fields:
        key = str(field).lower().replace("-", "_").replace(" ", "_")
        hit = next((word for word in _IDENTIFYING if word in key), None)
        if hit is not None:
            raise RecordError(
                f"{where} field {field!r} looks like identifying personal data ({hit!r}); "
                "the trial store keeps pseudonymous data only: identify people by their study "
                "code and give age in years rather than a date of birth"
            )


class UserLike(Interface):
    """What the checks need of a user: a stored :class:`User` or a row read without the ORM."""

    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def site_code(self) -> str | None: ...
    @property
    def active(self) -> bool: ...


AnyUser = TypeVar("AnyUser", bound=UserLike)


def acting_user(session: Session, user_id: str, roles: frozenset[str], action: str) -> User:
    """The active user ``user_id``, refused unless their role may perform ``action``."""
    return check_acting_user(user_id, session.get(User, user_id), roles, action)


def check_acting_user(
    user_id: str, user: AnyUser | None, roles: frozenset[str], action: str
) -> AnyUser:
    """Refuse an unknown or deactivated user, or one whose role may not perform ``action``."""
    if user is None or not user.active:
        state = "unknown" if user is None else "deactivated"
        raise RecordError(f"user={user_id!r} is {state}; {action} needs an active user")
    if user.role not in roles:
        allowed = " or ".join(sorted(roles))
        raise RecordError(f"user={user_id!r} has role {user.role!r}; {action} needs {allowed}")
    return user


def get_trial(session: Session, *, lock: bool = False) -> Trial:
    """The store's trial row (locked ``FOR UPDATE`` on PostgreSQL when ``lock``)."""
    statement = select(Trial).order_by(Trial.id).limit(1)
    if lock:
        statement = statement.with_for_update()
    trial = session.execute(statement).scalar_one_or_none()
    if trial is None:
        raise no_trial()
    return trial


def no_trial() -> RecordError:
    """The error for a store that holds no trial yet."""
    return RecordError("this store holds no trial yet; run `hepatrial init --protocol NAME`")


def get_participant(session: Session, participant_id: str, user: User | None = None) -> Participant:
    """The participant with code ``participant_id``, refused if ``user`` belongs to another site."""
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise unknown_participant(participant_id)
    refuse_other_site(user, participant_id, participant.site_code)
    return participant


def unknown_participant(participant_id: str) -> RecordError:
    """The error for a participant code the store does not hold."""
    return RecordError(f"participant={participant_id!r} is not in this trial; screen them first")


def refuse_other_site(user: UserLike | None, participant_id: str, participant_site: str) -> None:
    """Refuse a site-bound ``user`` acting on a participant of another site."""
    if user is not None and user.site_code is not None and user.site_code != participant_site:
        raise RecordError(
            f"user={user.id!r} works at site {user.site_code!r} and may not act on participant "
            f"{participant_id!r} of site {participant_site!r}"
        )


def protocol_yaml(protocol: Protocol) -> str:
    """The YAML snapshot of ``protocol`` kept in the store (every field, defaults included)."""
    return yaml.safe_dump(protocol.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def sha256_text(text: str) -> str:
    """SHA-256 hex digest of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_protocol_cache: dict[str, Protocol] = {}


def cached_protocol(sha256: str) -> Protocol | None:
    """The protocol whose stored snapshot has hash ``sha256``, if this process parsed it."""
    return _protocol_cache.get(sha256)


def trial_protocol(trial: Trial) -> Protocol:
    """The protocol in force for ``trial``, parsed once per process from its stored snapshot."""
    cached = _protocol_cache.get(trial.protocol_sha256)
    if cached is None:
        data: Mapping[str, Any] = yaml.safe_load(trial.protocol_yaml)
        cached = protocol_from_dict(data, source=f"stored protocol of trial {trial.id}")
        _protocol_cache[trial.protocol_sha256] = cached
    return cached

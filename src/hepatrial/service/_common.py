"""Shared machinery of the service functions: transactions, users, identifiers, the protocol.

Every writing service function runs inside :func:`write_operation`: one transaction, all
writes attributed to the acting user in the audit log, committed at the end or rolled back
entirely on any error (nothing is partially written). On SQLite the transaction starts with
``BEGIN IMMEDIATE``; on PostgreSQL operations that need it lock rows explicitly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from hepatrial.checks.personal import code_problems, field_name_problems
from hepatrial.exceptions import InvalidRecordError, NotAllowedError, NotFoundError
from hepatrial.protocol.loader import protocol_from_dict
from hepatrial.protocol.models import Protocol
from hepatrial.service.policy import Action, UserLike, allowed, roles_allowed
from hepatrial.store import Participant, Trial, User, Visit, acting_as


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


def check_code(kind: str, value: str, *, pattern: str | None = None) -> str:
    """Validate a pseudonymous code (participant, user, site): letters, digits, ``._-``, and
    nothing that looks like a date, a phone or national number, an e-mail address or a name
    (see :func:`hepatrial.checks.personal.code_problems`)."""
    problems = code_problems(kind, value, pattern=pattern)
    if problems:
        raise InvalidRecordError(problems=problems)
    return value


def refuse_identifying(fields: Iterable[str], *, where: str) -> None:
    """Refuse any field name that suggests personal identifying data."""
    problems = field_name_problems(fields, where=where)
    if problems:
        raise InvalidRecordError(problems=problems)


AnyUser = TypeVar("AnyUser", bound=UserLike)


def acting_user(session: Session, user_id: str, action: Action, doing: str) -> User:
    """The active user ``user_id``, refused unless the policy lets their role do ``action``."""
    return check_acting_user(user_id, session.get(User, user_id), action, doing)


def check_acting_user(user_id: str, user: AnyUser | None, action: Action, doing: str) -> AnyUser:
    """Refuse an unknown or deactivated user, or one whose role the policy does not allow
    ``action`` (``doing`` says it in words for the message)."""
    if user is None or not user.active:
        state = "unknown" if user is None else "deactivated"
        raise NotAllowedError(f"user={user_id!r} is {state}; {doing} needs an active user")
    if not allowed(user, action):
        roles = " or ".join(roles_allowed(action))
        raise NotAllowedError(f"user={user_id!r} has role {user.role!r}; {doing} needs {roles}")
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


def no_trial() -> NotFoundError:
    """The error for a store that holds no trial yet."""
    return NotFoundError("this store holds no trial yet; run `hepatrial init --protocol NAME`")


def get_participant(session: Session, participant_id: str, user: User | None = None) -> Participant:
    """The participant with code ``participant_id``, refused if ``user`` belongs to another site."""
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise unknown_participant(participant_id)
    refuse_other_site(user, participant_id, participant.site_code)
    return participant


def unknown_participant(participant_id: str) -> NotFoundError:
    """The error for a participant code the store does not hold."""
    return NotFoundError(f"participant={participant_id!r} is not in this trial; screen them first")


def refuse_other_site(user: UserLike | None, participant_id: str, participant_site: str) -> None:
    """Refuse a site-bound ``user`` acting on a participant of another site: for them that
    participant does not exist, so the refusal is the one for an unknown code."""
    if user is not None and user.site_code is not None and user.site_code != participant_site:
        raise unknown_participant(participant_id)


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


def clinical_participant(
    session: Session, user: str, participant_id: str, action: str
) -> Participant:
    """The participant, refused unless ``user`` may do ``action`` on them (role and site)."""
    acting = acting_user(session, user, "record.write", action)
    return get_participant(session, participant_id, acting)


def recorded_visit_id(session: Session, participant_id: str, visit: str | None) -> int | None:
    """The id of the recorded visit ``visit`` of the participant (None for none given)."""
    if visit is None:
        return None
    found = session.execute(
        select(Visit.id).where(Visit.participant_id == participant_id, Visit.visit_label == visit)
    ).scalar_one_or_none()
    if found is None:
        raise NotFoundError(
            f"visit {visit!r} of participant {participant_id!r} is not recorded; record the "
            "visit first"
        )
    return found

"""Signing in: passwords (Argon2id), lockout after repeated failures, and API tokens.

Passwords are hashed with Argon2id by ``argon2-cffi`` (its ``PasswordHasher`` defaults follow
RFC 9106's recommendations) and never stored or logged; a wrong password, an unknown user and a
deactivated user get the same answer after the same work, so a caller cannot learn which user
ids exist. :data:`MAX_FAILURES` failures in a row lock the account for :data:`LOCKOUT`; every
login, failure, lockout and password change is an audited ``auth_events`` row.

API tokens are 256-bit random strings (``secrets.token_urlsafe``) shown once at creation; the
store keeps only their SHA-256 (a hash that cannot be reversed for a random 256-bit value, so no
slow hash is needed), with an expiry and a revocation time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hepatrial.checks.personal import code_problems
from hepatrial.exceptions import InvalidRecordError, NotAllowedError, NotFoundError, Problem
from hepatrial.service._common import acting_user, write_operation
from hepatrial.store import ApiToken, AuthEvent, Credential, User
from hepatrial.store.base import utc_now

MIN_PASSWORD_LENGTH: Final = 12
MAX_FAILURES: Final = 5
LOCKOUT: Final = dt.timedelta(minutes=15)
TOKEN_PREFIX: Final = "htk_"
SIGN_IN_ACTOR: Final = "(sign-in)"
"""The audit actor of a sign-in attempt by an id that is not a user."""

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
_REFUSED = "the user id or password is wrong, or the account is locked or deactivated"


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive UTC datetimes; PostgreSQL aware ones."""
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def _event(session: Session, user_id: str, kind: str, detail: str | None = None) -> None:
    session.add(AuthEvent(user_id=user_id, kind=kind, detail=detail))


def password_problems(user_id: str, password: object) -> list[Problem]:
    """Why ``password`` is refused for ``user_id``: too short, or containing the user id."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        return [
            Problem(
                "password",
                "(hidden)",
                "password.too_short",
                f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
                "use a passphrase of several words",
            )
        ]
    if user_id.lower() in password.lower():
        return [
            Problem(
                "password",
                "(hidden)",
                "password.contains_user_id",
                "the password contains the user id",
                "choose one that does not",
            )
        ]
    return []


def set_password(session: Session, *, user_id: str, password: str, user: str) -> None:
    """Set ``user_id``'s password (by an admin, or by the user themselves); unlocks the account."""
    problems = password_problems(user_id, password)
    if problems:
        raise InvalidRecordError(problems=problems)
    digest = _hasher.hash(password)
    with write_operation(session, user):
        if user != user_id:
            acting_user(session, user, "user.manage", "setting another user's password")
        if session.get(User, user_id) is None:
            raise NotFoundError(f"user {user_id!r} does not exist")
        credential = session.get(Credential, user_id)
        if credential is None:
            session.add(Credential(user_id=user_id, password_hash=digest))
        else:
            credential.password_hash = digest
            credential.failed_attempts = 0
            credential.locked_until = None
            credential.changed_at = utc_now()
        _event(session, user_id, "password_set", f"by {user}")


def _locked(credential: Credential, now: dt.datetime) -> bool:
    until = _aware(credential.locked_until)
    return until is not None and until > now


def _failed(session: Session, credential: Credential, now: dt.datetime) -> None:
    credential.failed_attempts += 1
    _event(session, credential.user_id, "login_failed")
    if credential.failed_attempts >= MAX_FAILURES:
        credential.locked_until = now + LOCKOUT
        credential.failed_attempts = 0
        _event(session, credential.user_id, "lockout", f"until {credential.locked_until:%H:%M} UTC")


def authenticate(
    session: Session, *, user_id: str, password: str, now: dt.datetime | None = None
) -> User:
    """The active user ``user_id`` when ``password`` is theirs; else :class:`NotAllowedError`.

    The failure is recorded (and counted towards the lockout) in its own committed transaction,
    so that a refused attempt is never rolled back with the caller's work.
    """
    now = now or utc_now()
    found = session.get(User, user_id) if not code_problems("user_id", user_id) else None
    with write_operation(session, user_id if found is not None else SIGN_IN_ACTOR):
        credential = session.get(Credential, user_id) if found is not None else None
        verified = _verify(credential, found, password)
        if credential is not None and (not verified or _locked(credential, now)):
            if not _locked(credential, now):
                _failed(session, credential, now)
            verified = False
        elif not verified:
            who = user_id if found is not None else "(unknown user id)"
            _event(session, who, "login_failed", "no such active user with a password")
        if verified and credential is not None:
            credential.failed_attempts = 0
            if _hasher.check_needs_rehash(credential.password_hash):
                credential.password_hash = _hasher.hash(password)
            _event(session, user_id, "login")
    if not verified or found is None:
        raise NotAllowedError(_REFUSED)
    return found


def _verify(credential: Credential | None, found: User | None, password: str) -> bool:
    """Check ``password``; an unknown or passwordless user costs the same hashing work."""
    usable = found is not None and found.active and credential is not None
    stored = credential.password_hash if usable and credential is not None else _DUMMY_HASH
    try:
        return _hasher.verify(stored, password) and usable
    except (VerificationError, InvalidHashError):
        return False


def record_logout(session: Session, *, user_id: str) -> None:
    """Record that ``user_id`` signed out."""
    with write_operation(session, user_id):
        _event(session, user_id, "logout")


@dataclass(frozen=True)
class IssuedToken:
    """A new API token: ``token`` is shown once and never stored."""

    token_id: int
    user_id: str
    token: str
    expires_at: dt.datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, *, user_id: str, user: str, expires_days: int | None = 90
) -> IssuedToken:
    """Issue an API token for ``user_id`` (``user``: an admin); only its SHA-256 is stored."""
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise InvalidRecordError(f"expires_days={expires_days} must be 1-3650 (or no expiry)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = None if expires_days is None else utc_now() + dt.timedelta(days=expires_days)
    with write_operation(session, user):
        acting_user(session, user, "user.manage", "issuing an API token")
        if session.get(User, user_id) is None:
            raise NotFoundError(f"user {user_id!r} does not exist")
        row = ApiToken(user_id=user_id, token_sha256=_digest(token), expires_at=expires)
        session.add(row)
        session.flush()
    return IssuedToken(row.id, user_id, token, expires)


def revoke_token(session: Session, *, token_id: int, user: str) -> None:
    """Revoke token ``token_id`` (``user``: an admin); a revoked token is refused from then on."""
    with write_operation(session, user):
        acting_user(session, user, "user.manage", "revoking an API token")
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFoundError(f"API token {token_id} does not exist")
        if row.revoked_at is None:
            row.revoked_at = utc_now()


def token_user(session: Session, token: str, *, now: dt.datetime | None = None) -> User:
    """The active user an API token belongs to; an unknown, expired or revoked token is refused."""
    now = now or utc_now()
    row = session.execute(
        select(ApiToken).where(ApiToken.token_sha256 == _digest(token))
    ).scalar_one_or_none()
    found = None if row is None else session.get(User, row.user_id)
    expires = None if row is None else _aware(row.expires_at)
    if (
        row is None
        or row.revoked_at is not None
        or (expires is not None and expires <= now)
        or found is None
        or not found.active
    ):
        raise NotAllowedError("the API token is unknown, expired or revoked")
    return found


__all__ = [
    "LOCKOUT",
    "MAX_FAILURES",
    "MIN_PASSWORD_LENGTH",
    "IssuedToken",
    "authenticate",
    "create_token",
    "password_problems",
    "record_logout",
    "revoke_token",
    "set_password",
    "token_user",
]

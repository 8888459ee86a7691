"""Signing in: passwords (Argon2id), lockout after repeated failures, and API tokens.

Passwords are hashed with Argon2id by ``argon2-cffi`` (its ``PasswordHasher`` defaults follow
RFC 9106's recommendations) and never stored or logged; a wrong password, an unknown user and a
deactivated user get the same answer after the same work, so a caller cannot learn which user
ids exist. :data:`MAX_FAILURES` failures in a row lock the account for :data:`LOCKOUT`; every
login, failure, lockout and password change is an audited ``auth_events`` row.

API tokens are 256-bit random strings (``secrets.token_urlsafe``) shown once at creation; the
store keeps only their SHA-256 (a hash that cannot be reversed for a random 256-bit value, so no
slow hash is needed), with an expiry and a revocation time.

A TOTP second factor (RFC 6238, ``pyotp``: 6 digits, 30-second steps, one step of clock drift
either way) is required of every user who sees allocations at every site (:func:`needs_totp`:
admins, and unblinded users bound to no site such as a monitor of every site) and optional for
others. The secret is stored sealed with the store's key file
(:func:`hepatrial.store.sealing.seal_secret`), never usable from the database alone; a code is
accepted once (the last accepted time step is kept). A missing or wrong code counts as a failed
sign-in, towards the lockout, with the same answer as a wrong password.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hepatrial.checks.personal import code_problems
from hepatrial.exceptions import InvalidRecordError, NotAllowedError, NotFoundError, Problem
from hepatrial.service import policy
from hepatrial.service._common import acting_user, write_operation
from hepatrial.service.policy import UserLike
from hepatrial.store import ApiToken, AuthEvent, Credential, TotpSecret, User
from hepatrial.store.base import utc_now
from hepatrial.store.sealing import ensure_key, key_path, seal_secret, unseal_secret

MIN_PASSWORD_LENGTH: Final = 12
MAX_FAILURES: Final = 5
LOCKOUT: Final = dt.timedelta(minutes=15)
TOKEN_PREFIX: Final = "htk_"
TOTP_ISSUER: Final = "hepatrial"
TOTP_STEP_SECONDS: Final = 30
TOTP_DRIFT_STEPS: Final = 1
SIGN_IN_ACTOR: Final = "(sign-in)"
"""The audit actor of a sign-in attempt by an id that is not a user."""

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
_REFUSED = (
    "the user id, password or authentication code is wrong, or the account is locked or deactivated"
)


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
    session: Session,
    *,
    user_id: str,
    password: str,
    totp: str | None = None,
    now: dt.datetime | None = None,
) -> User:
    """The active user ``user_id`` when ``password`` is theirs (and ``totp`` a fresh code from
    their authenticator when they have or need a second factor); else :class:`NotAllowedError`.

    The failure is recorded (and counted towards the lockout) in its own committed transaction,
    so that a refused attempt is never rolled back with the caller's work.
    """
    now = now or utc_now()
    found = session.get(User, user_id) if not code_problems("user_id", user_id) else None
    with write_operation(session, user_id if found is not None else SIGN_IN_ACTOR):
        credential = session.get(Credential, user_id) if found is not None else None
        verified = _verify(credential, found, password)
        if verified and found is not None and not _second_factor(session, found, totp, now):
            verified = False
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


def needs_totp(user: UserLike) -> bool:
    """True when ``user`` must sign in with a second factor: they see allocations at every site
    (admins, and unblinded users bound to no site, such as a monitor of every site)."""
    return policy.sees_allocation(user) and policy.visible_sites(user) is None


@dataclass(frozen=True)
class TotpEnrolment:
    """A new TOTP secret, shown once: ``uri`` for an authenticator's QR code, ``secret`` to type."""

    user_id: str
    uri: str
    secret: str


def _key_file(session: Session) -> Path:
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    return key_path(url)


def start_totp(session: Session, *, user_id: str, user: str) -> TotpEnrolment:
    """Give ``user_id`` a new TOTP secret (by an admin, or by the user themselves).

    The secret is stored sealed and unconfirmed: it replaces any earlier one, and signing in
    needs a code from it once :func:`confirm_totp` has accepted a first code.
    """
    secret = pyotp.random_base32()  # 32 base32 characters: 160 bits, RFC 4226's recommendation
    with write_operation(session, user):
        if user != user_id:
            acting_user(session, user, "user.manage", "enrolling another user's second factor")
        if session.get(User, user_id) is None:
            raise NotFoundError(f"user {user_id!r} does not exist")
        sealed = seal_secret(
            base64.b32decode(secret), ensure_key(_key_file(session)), user_id=user_id
        )
        row = session.get(TotpSecret, user_id)
        if row is None:
            session.add(TotpSecret(user_id=user_id, sealed_secret=sealed))
        else:
            row.sealed_secret, row.created_at = sealed, utc_now()
            row.confirmed_at = row.last_step = None
    uri = pyotp.TOTP(secret).provisioning_uri(name=user_id, issuer_name=TOTP_ISSUER)
    return TotpEnrolment(user_id, uri, secret)


def confirm_totp(
    session: Session, *, user_id: str, code: str, now: dt.datetime | None = None
) -> None:
    """Confirm ``user_id``'s new TOTP secret with a ``code`` from their authenticator."""
    now = now or utc_now()
    with write_operation(session, user_id):
        row = session.get(TotpSecret, user_id)
        if row is None:
            raise NotFoundError(f"user {user_id!r} has no TOTP secret: start the enrolment first")
        if not _accept_code(session, row, code, now):
            raise NotAllowedError(
                f"code={code!r} is not the current code of {user_id!r}'s authenticator (or was "
                "used already): check the device's clock and enter the newest code"
            )
        row.confirmed_at = now


def _accept_code(session: Session, row: TotpSecret, code: str, now: dt.datetime) -> bool:
    """Accept ``code`` when it is the code of a time step within the drift and later than the
    last accepted step (recorded now, so that the same code is refused next time)."""
    secret = unseal_secret(row.sealed_secret, _key_file(session), user_id=row.user_id)
    hotp = pyotp.HOTP(base64.b32encode(secret).decode())
    current = int(now.timestamp()) // TOTP_STEP_SECONDS
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        fresh = row.last_step is None or step > row.last_step
        if fresh and hmac.compare_digest(hotp.at(step), code.strip()):
            row.last_step = step
            return True
    return False


def _second_factor(session: Session, user: User, code: str | None, now: dt.datetime) -> bool:
    """True when ``user`` needs no second factor or ``code`` is a fresh code of theirs."""
    row = session.get(TotpSecret, user.id)
    confirmed = row is not None and row.confirmed_at is not None
    if not confirmed and not needs_totp(user):
        return True
    return (
        confirmed and row is not None and code is not None and _accept_code(session, row, code, now)
    )


def record_logout(session: Session, *, user_id: str, everywhere: bool = False) -> None:
    """Record that ``user_id`` signed out (of every session when ``everywhere``)."""
    with write_operation(session, user_id):
        _event(session, user_id, "logout", "everywhere" if everywhere else None)


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
    "TotpEnrolment",
    "authenticate",
    "confirm_totp",
    "create_token",
    "needs_totp",
    "password_problems",
    "record_logout",
    "revoke_token",
    "set_password",
    "start_totp",
    "token_user",
]

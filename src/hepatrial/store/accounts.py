"""Sign-in data: password credentials, TOTP secrets, API tokens, browser sessions and the events
of signing in.

Every table is audited. Neither a password nor a token is ever stored: a credential keeps the
Argon2id hash of the password (``argon2-cffi``), which the audit log does not copy (it records
that the password changed and when); a token keeps the SHA-256 of a 256-bit random token, from
which the token cannot be recovered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hepatrial.store.base import Audited, Base, audit_value, utc_now

AUTH_EVENTS = ("login", "login_failed", "lockout", "logout", "password_set", "token_refused")
"""Kinds of sign-in event kept in ``auth_events``."""


class Credential(Audited, Base):
    """A user's password, as its Argon2id hash, with the count of failures since the last login."""

    __tablename__ = "credentials"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    changed_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    def audit_state(self) -> dict[str, Any]:
        """Everything but the hash: the log shows when a password changed, never the hash."""
        return {
            "user_id": self.user_id,
            "failed_attempts": self.failed_attempts,
            "locked_until": audit_value(self.locked_until, is_float=False),
            "changed_at": audit_value(self.changed_at, is_float=False),
        }


class TotpSecret(Audited, Base):
    """A user's TOTP second factor (RFC 6238): the secret sealed with the store's key file.

    ``confirmed_at`` is set once the user has shown a code from their authenticator;
    ``last_step`` is the 30-second time step of the last accepted code, so that a code is
    accepted once (a replay within its window is refused).
    """

    __tablename__ = "totp_secrets"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    confirmed_at: Mapped[dt.datetime | None]
    last_step: Mapped[int | None] = mapped_column(BigInteger)

    def audit_state(self) -> dict[str, Any]:
        """Everything but the sealed secret: the log shows enrolment, never the secret."""
        return {
            "user_id": self.user_id,
            "created_at": audit_value(self.created_at, is_float=False),
            "confirmed_at": audit_value(self.confirmed_at, is_float=False),
            "last_step": self.last_step,
        }


class ApiToken(Audited, Base):
    """An API token for an integration: only its SHA-256 is kept; it may expire or be revoked."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class AuthEvent(Audited, Base):
    """One sign-in event: a login, a failure, a lockout, a logout, a password set."""

    __tablename__ = "auth_events"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in AUTH_EVENTS) + ")", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    detail: Mapped[str | None] = mapped_column(String(200))


class BrowserSession(Base):
    """A browser's signed-in session: only the SHA-256 of its 256-bit cookie token is kept.

    Request bookkeeping, not trial data (its logins and logouts are audited ``auth_events``);
    the CSRF token is derived from the cookie token by HMAC, so it needs no column.
    """

    __tablename__ = "browser_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[dt.datetime | None]


class IdempotencyKey(Base):
    """The first response to a request that carried an ``Idempotency-Key`` header.

    Request bookkeeping, not trial data (the randomization it answers is audited itself): a
    retry with the same key, user and request gets this response again instead of acting twice.
    """

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    request_sha256: Mapped[str] = mapped_column(String(64))
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

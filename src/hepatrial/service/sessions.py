"""Browser sessions: sign in with a password (and a TOTP code), then a cookie, kept server-side.

A session is a 256-bit random token (``secrets.token_urlsafe(32)``) given to the browser once, in
a cookie; the store keeps only its SHA-256 as the row's id, so a copy of the database opens no
session. The CSRF token is derived from the session token by HMAC-SHA256 (it needs no column
and cannot be computed without the cookie), and a state-changing request sent with the cookie
must echo it in a header.

A session ends after :data:`IDLE_TIMEOUT` without a request, after :data:`ABSOLUTE_TIMEOUT`
whatever the activity, at logout, or when the user signs out everywhere. Logins, failures,
lockouts and logouts are audited ``auth_events`` (:mod:`hepatrial.service.auth`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hepatrial.exceptions import NotAllowedError
from hepatrial.service import auth
from hepatrial.service._common import write_operation
from hepatrial.store import BrowserSession, User
from hepatrial.store.base import utc_now

IDLE_TIMEOUT: Final = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT: Final = dt.timedelta(hours=12)
SEEN_RESOLUTION: Final = dt.timedelta(minutes=1)
"""``last_seen_at`` is written at most once a minute: a read stays a read."""

_ENDED = "the session is unknown, has expired or was signed out: sign in again"


@dataclass(frozen=True)
class SignedIn:
    """A browser session: ``token`` goes in the cookie, ``csrf_token`` in state-changing requests'
    ``X-CSRF-Token`` header; neither is stored."""

    user: User
    token: str
    csrf_token: str
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(token: str) -> str:
    """The CSRF token of the session whose cookie holds ``token`` (HMAC-SHA256, hexadecimal)."""
    return hmac.new(token.encode(), b"hepatrial csrf", hashlib.sha256).hexdigest()


def csrf_matches(token: str, header: str | None) -> bool:
    """True when ``header`` is the CSRF token of the session ``token`` (constant time)."""
    return header is not None and hmac.compare_digest(csrf_token(token), header)


def sign_in(
    session: Session,
    *,
    user_id: str,
    password: str,
    totp: str | None = None,
    now: dt.datetime | None = None,
    absolute: dt.timedelta = ABSOLUTE_TIMEOUT,
) -> SignedIn:
    """Open a browser session for ``user_id`` (see :func:`hepatrial.service.auth.authenticate`)."""
    now = now or utc_now()
    user = auth.authenticate(session, user_id=user_id, password=password, totp=totp, now=now)
    token = secrets.token_urlsafe(32)
    with write_operation(session, user.id):
        session.add(
            BrowserSession(id=_digest(token), user_id=user.id, created_at=now, last_seen_at=now)
        )
    return SignedIn(user, token, csrf_token(token), now + absolute)


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def session_user(
    session: Session,
    token: str,
    *,
    now: dt.datetime | None = None,
    idle: dt.timedelta = IDLE_TIMEOUT,
    absolute: dt.timedelta = ABSOLUTE_TIMEOUT,
) -> User:
    """The active user of the browser session ``token``; refused when it is unknown, revoked,
    idle for ``idle`` or older than ``absolute``. Marks the session as seen at ``now``."""
    now = now or utc_now()
    row = session.get(BrowserSession, _digest(token))
    user = None if row is None else session.get(User, row.user_id)
    if (
        row is None
        or user is None
        or not user.active
        or row.revoked_at is not None
        or _aware(row.last_seen_at) + idle <= now
        or _aware(row.created_at) + absolute <= now
    ):
        raise NotAllowedError(_ENDED)
    if now - _aware(row.last_seen_at) >= SEEN_RESOLUTION:
        with write_operation(session, user.id):
            row.last_seen_at = now
    return user


def sign_out(session: Session, *, user_id: str, token: str | None, everywhere: bool = False) -> int:
    """End the browser session ``token`` of ``user_id`` (every session of theirs when
    ``everywhere``); the logout is audited. The number of sessions ended."""
    now = utc_now()
    open_sessions = BrowserSession.user_id == user_id, BrowserSession.revoked_at.is_(None)
    ended = select(BrowserSession.id).where(*open_sessions)
    if not everywhere:
        ended = ended.where(BrowserSession.id == _digest(token or ""))
    ids = list(session.execute(ended).scalars())
    auth.record_logout(session, user_id=user_id, everywhere=everywhere)
    if ids:
        with write_operation(session, user_id):
            session.execute(
                update(BrowserSession).where(BrowserSession.id.in_(ids)).values(revoked_at=now)
            )
    return len(ids)


__all__ = [
    "ABSOLUTE_TIMEOUT",
    "IDLE_TIMEOUT",
    "SignedIn",
    "csrf_matches",
    "csrf_token",
    "session_user",
    "sign_in",
    "sign_out",
]

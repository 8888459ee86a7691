"""Browser sign-in under ``/api/v1/auth``: login (password and, where needed, a TOTP code) sets
the session cookie and returns the CSRF token; logout ends the session (or every session).

The cookie ``hepatrial_session`` is HttpOnly (scripts cannot read it), SameSite=Strict (no other
site's page sends it), Path=/ and Secure when TLS is terminated in front
(``HEPATRIAL_BEHIND_TLS``). A refused login answers 401 with one message whatever the reason.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from hepatrial.exceptions import NotAllowedError
from hepatrial.server import schemas
from hepatrial.server.deps import SESSION_COOKIE, CurrentUser, Session, SessionCookie
from hepatrial.service import sessions

router = APIRouter(prefix="/auth", tags=["sign-in"])


@router.post("/login")
def login(
    body: schemas.LoginCreate, session: Session, request: Request, response: Response
) -> schemas.LoginPublic:
    """Sign in (no authentication needed): sets the session cookie, returns the CSRF token."""
    settings = request.app.state.settings
    try:
        signed = sessions.sign_in(
            session,
            user_id=body.user_id,
            password=body.password,
            totp=body.totp,
            absolute=settings.absolute_timeout,
        )
    except NotAllowedError as refused:
        raise HTTPException(401, str(refused)) from None
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        max_age=int(settings.absolute_timeout.total_seconds()),
        path="/",
        secure=settings.behind_tls,
        httponly=True,
        samesite="strict",
    )
    return schemas.LoginPublic(
        user_id=signed.user.id,
        role=signed.user.role,
        csrf_token=signed.csrf_token,
        expires_at=signed.expires_at,
        idle_timeout_minutes=settings.idle_minutes,
    )


@router.post("/logout")
def logout(
    session: Session,
    user: CurrentUser,
    cookie: SessionCookie,
    request: Request,
    response: Response,
    everywhere: bool = False,
) -> schemas.LogoutPublic:
    """End this browser session, or with ``everywhere=true`` every session of the user."""
    ended = sessions.sign_out(session, user_id=user.id, token=cookie, everywhere=everywhere)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=request.app.state.settings.behind_tls,
        httponly=True,
        samesite="strict",
    )
    return schemas.LogoutPublic(sessions_ended=ended)

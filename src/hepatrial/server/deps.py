"""Dependencies declared once: the request's store session and the authenticated user.

A request authenticates with a bearer token (integrations) or the browser session cookie set at
``POST /api/v1/auth/login``. A state-changing request (POST, PUT, PATCH, DELETE) authenticated by
the cookie must carry the session's CSRF token in ``X-CSRF-Token``: a page of another site can
make the browser send the cookie (SameSite=Strict is a second defence) but cannot read the token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Final

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from hepatrial.exceptions import NotAllowedError
from hepatrial.service import auth, policy, sessions
from hepatrial.store import StoreSession, User, session_factory

SESSION_COOKIE: Final = "hepatrial_session"
CSRF_HEADER: Final = "X-CSRF-Token"
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="An API token from `hepatrial token create`.")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="A browser session from POST /api/v1/auth/login; state-changing requests also "
    f"need its CSRF token in {CSRF_HEADER}.",
)


def store_session(request: Request) -> Iterator[StoreSession]:
    """One store session per request, closed when the response is sent.

    The session factory is made once per application (the store's existence and schema
    revision are checked then, not on every request: that check cost about 5 ms a request).
    """
    state = request.app.state
    factory = getattr(state, "sessions", None)
    if factory is None:
        factory = state.sessions = session_factory(state.settings.db)
    with factory() as session:
        yield session


Session = Annotated[StoreSession, Depends(store_session)]


SessionCookie = Annotated[str | None, Depends(_cookie)]


def current_user(
    request: Request,
    session: Session,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: SessionCookie,
) -> User:
    """The user of the request's bearer token or session cookie; 401 without a usable one,
    403 for a state-changing request by cookie without the session's CSRF token."""
    if credentials is not None:
        try:
            return auth.token_user(session, credentials.credentials)
        except NotAllowedError:
            raise HTTPException(401, "the API token is unknown, expired or revoked") from None
    if cookie is None:
        raise HTTPException(
            401, "authentication required: Authorization: Bearer <token>, or sign in"
        )
    settings = request.app.state.settings
    try:
        user = sessions.session_user(
            session, cookie, idle=settings.idle_timeout, absolute=settings.absolute_timeout
        )
    except NotAllowedError as ended:
        raise HTTPException(401, str(ended)) from None
    if request.method not in _SAFE_METHODS and not sessions.csrf_matches(
        cookie, request.headers.get(CSRF_HEADER)
    ):
        raise HTTPException(
            403,
            f"a request that changes data needs the {CSRF_HEADER} header with the session's CSRF "
            "token (returned by POST /api/v1/auth/login)",
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def allowed_to(action: policy.Action) -> Callable[[User], User]:
    """A dependency: the current user, refused with 403 unless the policy allows ``action``."""

    def check(user: CurrentUser) -> User:
        policy.require(user, action)
        return user

    return check

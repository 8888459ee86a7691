"""Dependencies declared once: the request's store session and the authenticated user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hepatrial.exceptions import NotAllowedError
from hepatrial.service import auth, policy
from hepatrial.store import StoreSession, User, open_session

_bearer = HTTPBearer(auto_error=False, description="An API token from `hepatrial token create`.")


def store_session(request: Request) -> Iterator[StoreSession]:
    """One store session per request, closed when the response is sent."""
    with open_session(request.app.state.settings.db) as session:
        yield session


Session = Annotated[StoreSession, Depends(store_session)]


def current_user(
    session: Session,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The user of the request's bearer token; 401 without a usable one."""
    if credentials is None:
        raise HTTPException(401, "authentication required: Authorization: Bearer <token>")
    try:
        return auth.token_user(session, credentials.credentials)
    except NotAllowedError:
        raise HTTPException(401, "the API token is unknown, expired or revoked") from None


CurrentUser = Annotated[User, Depends(current_user)]


def allowed_to(action: policy.Action) -> Callable[[User], User]:
    """A dependency: the current user, refused with 403 unless the policy allows ``action``."""

    def check(user: CurrentUser) -> User:
        policy.require(user, action)
        return user

    return check

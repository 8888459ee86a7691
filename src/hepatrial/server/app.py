"""The FastAPI application: ``create_app(settings)`` (uvicorn's factory for ``hepatrial serve``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from fastapi import FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from starlette.routing import Match

import hepatrial
from hepatrial.server.deps import SESSION_COOKIE
from hepatrial.server.downloads import router as downloads
from hepatrial.server.errors import (
    install_error_handlers,
    problem_response,
    problem_responses,
    problem_schemas,
)
from hepatrial.server.routes import router
from hepatrial.server.settings import Settings
from hepatrial.server.signin import router as signin_router

OPEN_PATHS: Final = frozenset(
    {"/api/v1/health", "/api/v1/auth/login", "/api/v1/openapi.json", "/api/v1/docs"}
)
"""What answers without credentials; every other operation answers 401 first."""


async def _credentials_first(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """An operation called with neither a bearer token nor a session cookie is a 401 before
    anything else: FastAPI would otherwise parse and validate the body first, and tell an
    anonymous caller about the request's shape (an undeclared method stays a 405)."""
    path = request.url.path
    anonymous = not request.headers.get("authorization", "").lower().startswith("bearer ")
    anonymous = anonymous and not request.cookies.get(SESSION_COOKIE)
    if anonymous and path.startswith("/api/v1/") and path not in OPEN_PATHS:
        routes = request.app.router.routes
        if any(route.matches(request.scope)[0] == Match.FULL for route in routes):
            return problem_response(
                401, "unauthenticated", "Unauthenticated", "authentication required"
            )
    return await call_next(request)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The hepatrial API for the store of ``settings.db`` (settings from the environment)."""
    settings = settings or Settings()
    app = FastAPI(
        title="hepatrial",
        version=hepatrial.__version__,
        summary="Randomized trials of cell therapy in liver disease: screening, concealed "
        "randomization and follow-up over one authenticated API.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(
        router, prefix="/api/v1", responses=problem_responses(400, 401, 403, 404, 409, 422)
    )
    app.include_router(
        signin_router, prefix="/api/v1", responses=problem_responses(400, 401, 403, 422)
    )
    app.include_router(downloads, prefix="/api/v1")
    app.openapi = lambda: _document(app)  # type: ignore[method-assign]
    app.middleware("http")(_credentials_first)
    return app


def _document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document, with the problem-details schemas the errors refer to."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            openapi_version=app.openapi_version,
            routes=app.routes,
        )
        document.setdefault("components", {}).setdefault("schemas", {}).update(problem_schemas())
        app.openapi_schema = document
    return app.openapi_schema

"""The FastAPI application: ``create_app(settings)`` (uvicorn's factory for ``hepatrial serve``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

import hepatrial
from hepatrial.server.downloads import router as downloads
from hepatrial.server.errors import install_error_handlers, problem_responses, problem_schemas
from hepatrial.server.routes import router
from hepatrial.server.settings import Settings


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
    app.include_router(downloads, prefix="/api/v1")
    app.openapi = lambda: _document(app)  # type: ignore[method-assign]
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

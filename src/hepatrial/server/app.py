"""The FastAPI application: ``create_app(settings)`` (uvicorn's factory for ``hepatrial serve``)."""

from __future__ import annotations

from fastapi import FastAPI

import hepatrial
from hepatrial.server.downloads import router as downloads
from hepatrial.server.errors import install_error_handlers
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
    app.include_router(router, prefix="/api/v1")
    app.include_router(downloads, prefix="/api/v1")
    return app

"""``hepatrial serve``: run the REST API (:mod:`hepatrial.server`) on uvicorn.

Options override the ``HEPATRIAL_*`` settings; the settings refuse an insecure configuration
(listening beyond the loopback without TLS in front) unless ``HEPATRIAL_DEVELOPMENT=true``.
With ``--workers`` above 1 each worker process builds the application from the same settings
(exported to the environment), and the database is the only state they share.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from hepatrial.store import DEFAULT_URL


def serve_command(
    db: Annotated[
        str, typer.Option("--db", envvar="HEPATRIAL_DB", help="Store URL.")
    ] = DEFAULT_URL,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (PostgreSQL).")] = 1,
) -> None:
    """Serve the REST API under /api/v1 (OpenAPI document at /api/v1/openapi.json)."""
    try:
        import uvicorn
        from pydantic import ValidationError

        from hepatrial.server.settings import Settings
    except ModuleNotFoundError as error:
        raise typer.BadParameter(
            f"the server needs the 'server' extra ({error.name} is missing): "
            "pip install 'hepatrial[server]'"
        ) from None
    try:
        Settings(db=db, host=host, port=port, workers=workers)
    except ValidationError as error:
        message = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
        typer.echo(f"refused: {message}", err=True)
        raise typer.Exit(code=1) from None
    os.environ.update(
        HEPATRIAL_DB=db,
        HEPATRIAL_HOST=host,
        HEPATRIAL_PORT=str(port),
        HEPATRIAL_WORKERS=str(workers),
    )
    uvicorn.run(
        "hepatrial.server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``hepatrial serve``."""
    app.command("serve")(serve_command)

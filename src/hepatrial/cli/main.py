"""The ``hepatrial`` command: assembles the commands of every ``hepatrial.cli`` module."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import cast

import typer

import hepatrial
import hepatrial.cli as cli_package

app = typer.Typer(
    name="hepatrial",
    help="Design, run and analyse randomized trials of cell therapy in liver disease.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"hepatrial {hepatrial.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
) -> None:
    """Design, run and analyse randomized trials of cell therapy in liver disease."""


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(cli_package.__path__), key=lambda m: m.name):
        if info.name in {"main"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"hepatrial.cli.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            cast(Callable[[typer.Typer], None], register)(app)


_register_all()

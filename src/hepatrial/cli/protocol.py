"""``hepatrial protocol``: list the built-in protocols, check a protocol file, show its assumptions.

A thin front end over :mod:`hepatrial.protocol`: ``check`` loads and validates a built-in name or
a YAML file and prints its design (exit code 1, with every problem and its key path, when it does
not validate); ``assumptions`` lists the fields that rest on uncertain facts.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hepatrial.exceptions import ProtocolError
from hepatrial.protocol import BUILTIN_PROTOCOLS, Protocol, load_protocol

protocol_app = typer.Typer(
    name="protocol", help="List, check and explain trial protocols.", no_args_is_help=True
)
Source = Annotated[
    str, typer.Argument(help="A built-in name (match, msc-aclf, realistic) or a YAML path.")
]


def _load(source: str, console: Console) -> Protocol:
    try:
        return load_protocol(source)
    except ProtocolError as error:
        console.print("[bold red]invalid protocol[/]")
        console.print(str(error), markup=False, highlight=False)
        raise typer.Exit(code=1) from None


@protocol_app.command("list")
def list_command() -> None:
    """List the built-in protocols."""
    table = Table(title="Built-in protocols")
    for column in ("name", "title", "arms", "allocation"):
        table.add_column(column)
    for name in BUILTIN_PROTOCOLS:
        protocol = load_protocol(name)
        arms = ":".join(map(str, protocol.ratio)) + " " + " / ".join(protocol.arm_ids)
        table.add_row(name, escape(protocol.title), escape(arms), protocol.allocation.method)
    Console().print(table)


def _design_table(protocol: Protocol) -> Table:
    title = escape(f"{protocol.id} {protocol.version}: {protocol.title}")
    table = Table(title=title, show_header=False)
    table.add_column("item")
    table.add_column("value")
    allocation = protocol.allocation
    factors = ", ".join(f.name for f in allocation.factors) or "none"
    _add_plain_row(table, "arms", ", ".join(f"{a.id} ({a.ratio})" for a in protocol.arms))
    _add_plain_row(table, "allocation", f"{allocation.method}; factors: {factors}")
    _add_plain_row(
        table, "inclusion", "; ".join(c.expression for c in protocol.eligibility.inclusion)
    )
    _add_plain_row(
        table, "exclusion", "; ".join(c.expression for c in protocol.eligibility.exclusion)
    )
    _add_plain_row(table, "visits (day)", ", ".join(f"{v.id} ({v.day})" for v in protocol.visits))
    primary = protocol.primary_endpoint
    _add_plain_row(
        table, "primary endpoint", f"{primary.label}: {primary.estimator}, {primary.population}"
    )
    _add_plain_row(table, "endpoints", str(len(protocol.endpoints)))
    _add_plain_row(table, "assumptions", str(len(protocol.all_assumptions())))
    return table


def _add_plain_row(table: Table, *cells: str) -> None:
    """Add a row whose text is shown as is (criteria and paths contain square brackets)."""
    table.add_row(*(escape(cell) for cell in cells))


@protocol_app.command("check")
def check_command(source: Source) -> None:
    """Validate a protocol and print its design; exit code 1 when it does not validate."""
    console = Console()
    protocol = _load(source, console)
    console.print(_design_table(protocol))
    console.print(f"[green]valid[/]: {source}")


@protocol_app.command("assumptions")
def assumptions_command(source: Source) -> None:
    """List every field that rests on an uncertain fact, with its grade and reason."""
    console = Console()
    protocol = _load(source, console)
    table = Table(title=f"Assumptions of {protocol.id}")
    for column in ("field", "grade", "reason"):
        table.add_column(column, overflow="fold")
    for path, assumption in protocol.all_assumptions():
        _add_plain_row(table, path, assumption.grade, " ".join(assumption.reason.split()))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``hepatrial protocol`` to the command line."""
    app.add_typer(protocol_app)

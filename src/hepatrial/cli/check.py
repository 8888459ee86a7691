"""``hepatrial check``: the data-quality report of a store, like R's ``survival::survcheck``.

A thin front end over :func:`hepatrial.service.check_store`: a table of counts per rule, then
one line per problem (at most :data:`MAX_LINES`; ``--csv`` writes them all). Exit status 0 when
no problem is hard, 1 when one is, and 1 with one line on stderr for a store that cannot be read.
The command only reads: it never creates a store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Final

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from hepatrial.cli.operations import Db
from hepatrial.exceptions import HepatrialError
from hepatrial.service import DataQualityReport, check_store
from hepatrial.service.quality_results import SUMMARY_COLUMNS
from hepatrial.store import DEFAULT_URL, open_session

MAX_LINES: Final = 200
"""Problem lines printed; the rest are counted (``--csv`` writes every one)."""

_out = Console(soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    _err.print(message, markup=False, highlight=False)
    return typer.Exit(code=1)


def _missing_file(url: str) -> Path | None:
    """The SQLite file ``url`` names, when it does not exist (opening it would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(str(parsed.database))
    return None if path.exists() else path


@contextmanager
def _readable(url: str) -> Iterator[None]:
    """Domain and database errors become one line on stderr and exit status 1."""
    try:
        yield
    except ArgumentError as error:
        raise _fail(f"--db {url!r} is not a database URL: {error}") from None
    except HepatrialError as error:
        raise _fail(f"refused: {error}") from None
    except OperationalError as error:
        shown = make_url(url).render_as_string(hide_password=True)
        raise _fail(f"cannot use the database {shown}: {error.orig}") from None


def _read(url: str) -> DataQualityReport:
    with _readable(url):
        missing = _missing_file(url)
        if missing is not None:
            raise _fail(f"no store at {missing}; create one with hepatrial init")
        with open_session(url) as session:
            return check_store(session)


def _details(report: DataQualityReport) -> list[dict[str, Any]]:
    """Every problem: the summary's columns, then the reason confirmed and the fix."""
    names = (*SUMMARY_COLUMNS, "reason", "fix")
    return [{name: getattr(problem, name) for name in names} for problem in report.problems]


def _counts_table(report: DataQualityReport) -> Table:
    checked = sum(report.n_records_checked.values())
    soft = len(report.problems) - report.n_hard
    title = f"Data quality: {report.n_hard} hard, {soft} soft problem(s) in {checked} records"
    table = Table("rule", "severity", "n", "confirmed", "participants", title=title)
    for row in report.counts.itertuples(index=False):
        colour = "red" if row.severity == "hard" else "yellow"
        table.add_row(
            escape(str(row.rule)),
            f"[{colour}]{row.severity}[/]",
            str(row.n),
            str(row.n_confirmed),
            str(row.participants),
        )
    return table


def _print(report: DataQualityReport) -> None:
    if not report.problems:
        _out.print(report.to_text(), highlight=False)
        return
    _out.print(_counts_table(report))
    lines = [problem.to_text() for problem in report.problems]
    for line in lines[:MAX_LINES]:
        _out.print(line, markup=False, highlight=False)
    if len(lines) > MAX_LINES:
        _out.print(f"... and {len(lines) - MAX_LINES} more; see --csv", highlight=False)


def check_command(
    db: Db = DEFAULT_URL,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON.")
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option("--csv", help="Also write every problem as CSV (with reason and fix)."),
    ] = None,
) -> None:
    """Run every edit check over the store; exit 1 when a problem is hard."""
    report = _read(db)
    details = _details(report)
    if csv_path is not None:
        columns = [*SUMMARY_COLUMNS, "reason", "fix"]
        pd.DataFrame(details, columns=columns).to_csv(csv_path, index=False)
    if json_path is not None:
        payload = {
            "ok": report.ok,
            "n_hard": report.n_hard,
            "checked_on": report.checked_on.isoformat(),
            "n_records_checked": dict(report.n_records_checked),
            "counts": report.counts.astype(object).to_dict(orient="records"),
            "problems": details,
        }
        text = json.dumps(payload, indent=2, ensure_ascii=False, default=str)
        json_path.write_text(text + "\n", encoding="utf-8")
    _print(report)
    if not report.ok:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add ``hepatrial check``."""
    app.command("check")(check_command)

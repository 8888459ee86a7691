"""``hepatrial score``: score a cohort CSV, writing the scores beside the rows.

Every invalid cell is reported with its row, field, value, unit and reason. Without
``--keep-going`` nothing is written when any row is invalid and the exit code is 1; with it, the
valid rows go to the output and the problems to a separate error CSV. Files are written to a
temporary file in the target directory and renamed, so no half-written file is ever left.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from hepatrial.scores.cohort import SCORES, example_cohort, score_cohort, summarize_scores
from hepatrial.units import UnitSystem

CHUNK_ROWS = 200_000
DEFAULT_SCORES = "meld,meld_na,meld_3,child_pugh"
EXAMPLE_SCORES = ",".join(SCORES)


def _count_rows(path: Path) -> int:
    """Data rows in a CSV (lines after the header), counted in binary blocks."""
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(lines - (1 if last == b"\n" else 0), 0)


def _chunks(path: Path) -> Iterator[pd.DataFrame]:
    with pd.read_csv(path, chunksize=CHUNK_ROWS, skipinitialspace=True) as reader:
        yield from reader


def _atomic_target(path: Path) -> tuple[IO[str], Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False, newline=""
    )
    # NamedTemporaryFile is private (0600); give the result the permissions of a normal file.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(handle.name, 0o666 & ~umask)
    return handle, Path(handle.name)


def _summary_table(summary: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    for name in ("score", "n", "mean", "median", "min", "max", "categories"):
        table.add_column(name, justify="left" if name in ("score", "categories") else "right")
    for row in summary.to_dict("records"):
        table.add_row(*_summary_cells(row))
    return table


def _summary_cells(row: dict[Any, Any]) -> list[str]:
    cells = [str(row["score"]), str(row["n"])]
    for name in ("mean", "median", "min", "max"):
        value = row[name]
        cells.append("" if pd.isna(value) else f"{float(value):.2f}")
    cells.append("" if pd.isna(row["categories"]) else str(row["categories"]))
    return cells


def _report_errors(errors: pd.DataFrame, console: Console) -> None:
    rows = errors["row"].nunique()
    console.print(f"[bold red]{rows} invalid row(s), {len(errors)} problem(s):[/]")
    for record in errors.to_dict("records"):
        row = int(record["row"])
        console.print(
            f"  row {row} (line {row + 1}): {record['reason']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _run_example(scores: str, units: UnitSystem, output: Path | None, console: Console) -> None:
    result = score_cohort(example_cohort(), scores, units=units)
    if output is not None:
        handle, temporary = _atomic_target(output)
        with handle:
            result.table.to_csv(handle, index=False)
        os.replace(temporary, output)
    title = f"Example cohort: {len(result.table)} synthetic patients"
    console.print(_summary_table(result.summary, title))
    for assumption in result.assumptions:
        console.print(f"assumed: {assumption}", markup=False)


def _score_file(
    cohort: Path, scores: str, units: UnitSystem, output: Path, keep_going: bool
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], Path]:
    """Score ``cohort`` chunk by chunk into a temporary file; returns errors, scores, notes."""
    total = _count_rows(cohort)
    handle, temporary = _atomic_target(output)
    errors: list[pd.DataFrame] = []
    kept: list[pd.DataFrame] = []
    notes: list[str] = []
    offset = 0
    progress = Progress(
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=total <= CHUNK_ROWS,
    )
    try:
        with handle, progress:
            task = progress.add_task("rows", total=total)
            for chunk in _chunks(cohort):
                result = score_cohort(chunk, scores, units=units)
                if len(result.errors):
                    errors.append(result.errors.assign(row=result.errors["row"] + offset))
                rows = result.table[result.valid] if keep_going else result.table
                rows.to_csv(handle, index=False, header=offset == 0)
                kept.append(rows[list(result.score_columns)])
                notes.extend(result.assumptions)
                offset += len(chunk)
                progress.update(task, completed=offset)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    error_frame = pd.concat(errors, ignore_index=True) if errors else pd.DataFrame()
    return error_frame, pd.concat(kept, ignore_index=True), list(dict.fromkeys(notes)), temporary


def score_command(
    cohort: Annotated[
        Path | None,
        typer.Argument(help="CSV with one row per patient (columns named after the score inputs)."),
    ] = None,
    scores: Annotated[
        str, typer.Option("--scores", "-s", help=f"Comma-separated scores: {', '.join(SCORES)}.")
    ] = DEFAULT_SCORES,
    units: Annotated[
        str,
        typer.Option("--units", "-u", help="Unit system of plain lab columns: conventional|si."),
    ] = "conventional",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write the CSV.")
    ] = None,
    keep_going: Annotated[
        bool,
        typer.Option("--keep-going", help="Write the valid rows and a separate error CSV; exit 0."),
    ] = False,
    errors_path: Annotated[
        Path | None,
        typer.Option("--errors", help="Error CSV (default: OUTPUT with the suffix .errors.csv)."),
    ] = None,
    example: Annotated[
        bool, typer.Option("--example", help="Score the bundled example cohort; print a summary.")
    ] = False,
) -> None:
    """Score a cohort CSV; report every invalid row (row, field, value, unit, reason)."""
    console = Console()
    if units not in ("conventional", "si"):
        raise typer.BadParameter(f"{units!r}; use 'conventional' or 'si'", param_hint="--units")
    system: UnitSystem = "si" if units == "si" else "conventional"
    try:
        if example:
            chosen = EXAMPLE_SCORES if scores == DEFAULT_SCORES else scores
            _run_example(chosen, system, output, console)
            return
        if cohort is None or output is None:
            raise typer.BadParameter("give COHORT.csv and -o OUT.csv (or --example)")
        if not cohort.is_file():
            raise typer.BadParameter(f"{cohort} does not exist", param_hint="COHORT")
        errors, scored, notes, temporary = _score_file(cohort, scores, system, output, keep_going)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    _finish(errors, scored, notes, temporary, output, errors_path, keep_going, console)


def _finish(
    errors: pd.DataFrame,
    scored: pd.DataFrame,
    notes: list[str],
    temporary: Path,
    output: Path,
    errors_path: Path | None,
    keep_going: bool,
    console: Console,
) -> None:
    for note in notes:
        console.print(f"assumed: {note}", markup=False)
    if len(errors) and not keep_going:
        temporary.unlink(missing_ok=True)
        _report_errors(errors, Console(stderr=True))
        console.print(f"nothing written to {output}; fix the rows or use --keep-going")
        raise typer.Exit(code=1)
    os.replace(temporary, output)
    console.print(_summary_table(summarize_scores(scored, scored.columns), f"Scores in {output}"))
    if len(errors):
        target = errors_path or output.with_suffix(".errors.csv")
        handle, temporary_errors = _atomic_target(target)
        with handle:
            errors.to_csv(handle, index=False)
        os.replace(temporary_errors, target)
        _report_errors(errors, Console(stderr=True))
        console.print(f"{errors['row'].nunique()} invalid row(s) left out; problems in {target}")


def register(app: typer.Typer) -> None:
    """Add ``hepatrial score`` to the command line."""
    app.command("score")(score_command)

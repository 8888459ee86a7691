"""``hepatrial report``: the HTML report (and JSON results) of the trial in a store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hepatrial.exceptions import HepatrialError


def report_command(
    db: Annotated[
        str,
        typer.Option(
            "--db",
            envvar="HEPATRIAL_DB",
            help="Store URL (sqlite:///file.db or postgresql+psycopg://...).",
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the results as JSON.")
    ] = None,
) -> None:
    """Derive the analysis datasets, run the protocol's plan and write a self-contained report."""
    from hepatrial.analysis.store import analyse_store
    from hepatrial.report.html import ReportInput, render_report

    console = Console(stderr=True)
    try:
        with console.status("Reading the store and running the analysis plan"):
            analysis = analyse_store(db, options={"output": str(output)})
            html = render_report(
                ReportInput(analysis.adam, analysis.results, analysis.protocol, analysis.source)
            )
    except HepatrialError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    output.write_text(html, encoding="utf-8")
    if json_path is not None:
        json_path.write_text(analysis.results.to_json(), encoding="utf-8")
    console.print(f"report: {output}  dataset SHA-256: {analysis.results.dataset_hash}")


def register(app: typer.Typer) -> None:
    """Add ``hepatrial report``."""
    app.command("report")(report_command)

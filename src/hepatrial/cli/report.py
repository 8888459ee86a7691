"""``hepatrial report``: the HTML report (and JSON results) of a trial.

From a store (``--db URL``, default ``$HEPATRIAL_DB`` or ``sqlite:///hepatrial.db`` like the
operations commands), or from SDTM-like CSV exports (``--sdtm DIR --protocol NAME``, as
``hepatrial export`` writes them); the report states what an SDTM export cannot carry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from hepatrial.exceptions import HepatrialError
from hepatrial.protocol import load_protocol
from hepatrial.store import DEFAULT_URL

if TYPE_CHECKING:
    from hepatrial.report.html import ReportInput

# The analysis and report modules (SciPy, statsmodels, matplotlib) are imported inside the
# commands that use them, so that every other command of the line starts without loading them.


def _from_sdtm(directory: Path, protocol_name: str) -> tuple[ReportInput, str]:
    from hepatrial.analysis.adam import derive_adam
    from hepatrial.analysis.plan import run_plan
    from hepatrial.analysis.sdtm import from_sdtm, read_sdtm_directory, sdtm_losses
    from hepatrial.report.html import ReportInput

    protocol = load_protocol(protocol_name)
    source = from_sdtm(read_sdtm_directory(directory))
    adam = derive_adam(source, protocol)
    results = run_plan(adam, protocol, options={"sdtm_directory": str(directory)})
    banner = "Analysed from SDTM-like exports: " + "; ".join(sdtm_losses()) + "."
    return ReportInput(adam, results, protocol, source, banner=banner), results.to_json()


def _from_store(db: str, output: Path) -> tuple[ReportInput, str]:
    from hepatrial.analysis.store import analyse_store
    from hepatrial.report.html import ReportInput

    analysis = analyse_store(db, options={"output": str(output)})
    quality = analysis.quality.counts if analysis.quality is not None else None
    data = ReportInput(
        analysis.adam, analysis.results, analysis.protocol, analysis.source, data_quality=quality
    )
    return data, analysis.results.to_json()


def report_command(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="HEPATRIAL_DB",
            help="Store URL (sqlite:///file.db or postgresql+psycopg://...); default "
            "sqlite:///hepatrial.db. Ignored with --sdtm.",
        ),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the results as JSON.")
    ] = None,
    sdtm: Annotated[
        Path | None,
        typer.Option("--sdtm", help="Directory of SDTM-like CSV exports (instead of --db)."),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol", help="Protocol of the SDTM exports (built-in name or YAML path)."
        ),
    ] = None,
) -> None:
    """Derive the analysis datasets, run the protocol's plan and write a self-contained report."""
    from hepatrial.report.html import render_report

    console = Console(stderr=True)
    if sdtm is not None and protocol is None:
        console.print("[red]error:[/red] --sdtm DIR needs --protocol NAME (the trial's protocol)")
        raise typer.Exit(2)
    # like the operations commands: --db, else $HEPATRIAL_DB, else ./hepatrial.db
    db = db or DEFAULT_URL
    try:
        with console.status("Deriving the analysis datasets and running the plan"):
            data, results_json = (
                _from_sdtm(sdtm, str(protocol))
                if sdtm is not None
                else _from_store(str(db), output)
            )
            html = render_report(data)
    except HepatrialError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None
    output.write_text(html, encoding="utf-8")
    if json_path is not None:
        json_path.write_text(results_json, encoding="utf-8")
    console.print(f"report: {output}  dataset SHA-256: {data.results.dataset_hash}")


def register(app: typer.Typer) -> None:
    """Add ``hepatrial report``."""
    app.command("report")(report_command)

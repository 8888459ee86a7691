"""``hepatrial demo``: rebuild both seed trials and show published against reproduced figures.

Exit status 0 when every reproduced figure rounds to the published one, 1 otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from hepatrial.demo.run import TrialOutcome


def _table(outcomes: Sequence[TrialOutcome]) -> Table:
    table = Table(title="Published vs reproduced (synthetic reconstruction)", show_lines=False)
    for name in ("Trial", "Figure", "Published", "Reproduced", "As printed", ""):
        table.add_column(name, justify="left" if name in ("Trial", "Figure") else "right")
    for outcome in outcomes:
        for row in outcome.comparison.itertuples():
            mark = "[green]✓[/green]" if row.matches else "[red]✗[/red]"
            cells = (str(row.trial), str(row.figure), str(row.published))
            table.add_row(*cells, f"{row.reproduced:.4f}", str(row.as_printed), mark)
    return table


def demo_command(
    out: Annotated[
        Path, typer.Option("--out", help="Directory for the stores, reports and results.")
    ] = Path("hepatrial-demo"),
) -> None:
    """Build both seed trials through the operations API, analyse them and write their reports."""
    from hepatrial.demo.run import STAGES, run_demo

    console = Console()
    console.print(
        "[bold]hepatrial demo[/bold]: MATCH (Nat Med 2025) and MSC-ACLF (Hepatology 2017), "
        "[yellow]participant-level data are a SYNTHETIC RECONSTRUCTION[/yellow] consistent with "
        "the published aggregates."
    )
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks = {
            t: progress.add_task(t, total=len(STAGES), stage="waiting")
            for t in ("match", "msc-aclf")
        }

        def on_stage(trial: str, stage: str) -> None:
            name, _, fraction = stage.partition(" ")
            done: float = STAGES.index(name) if name in STAGES else len(STAGES)
            if name == "follow-up" and fraction:
                recorded, total = (int(x) for x in fraction.split("/"))
                done += recorded / total
            progress.update(tasks[trial], completed=done, stage=stage)

        outcomes = run_demo(out, on_stage=on_stage)
    console.print(_table(outcomes))
    for outcome in outcomes:
        console.print(
            f"{outcome.protocol}: report {outcome.report}  results {outcome.results_json}  "
            f"store {outcome.database_url}"
        )
    if not all(o.all_match for o in outcomes):
        console.print("[red]some reproduced figures do not round to the published ones[/red]")
        raise typer.Exit(1)
    console.print("[green]every reproduced figure rounds to the published one[/green]")


def register(app: typer.Typer) -> None:
    """Add ``hepatrial demo``."""
    app.command("demo")(demo_command)

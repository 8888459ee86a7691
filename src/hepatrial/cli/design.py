"""``hepatrial design`` and ``hepatrial simulate``: sample size from evidence, power by simulation.

``design`` turns a seed trial's published result into a sample size (normal and t), an
assurance and, with ``--looks``, a group-sequential maximum size. ``simulate`` runs a grid of
sizes and effects through the protocol with virtual patients, prints the operating
characteristics and writes power curves (PNG, self-contained HTML, CSV).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from hepatrial.design import GsBoundaries

# The design and simulation modules (SciPy and friends) are imported inside the commands that
# use them, so that every other command of the line starts without loading them.

# The enumerated options as Literal types: Typer offers them as choices (and refuses anything
# else before a command runs) and mypy checks that each is a value the library accepts, which
# the options' former ``str`` type could not show. They are spelled here rather than imported
# from hepatrial.design and hepatrial.simulate, which would load SciPy at start-up.
Spending = Literal["obf", "pocock"]
Futility = Literal["none", "obf", "pocock"]
Backend = Literal["local", "dask"]

ENDPOINTS = {"match": ("ddmeld",), "msc-aclf": ("survival", "infection")}


def _table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title)
    table.add_column("quantity", justify="left")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    return table


def _group_sequential(
    looks: int, alpha: float, power: float, spending: Spending, futility: Futility
) -> GsBoundaries | None:
    from hepatrial.design import gs_boundaries

    if looks <= 1:
        return None
    return gs_boundaries(
        k=looks,
        alpha=alpha,
        spending=spending,
        beta=1.0 - power,
        futility=futility,
    )


def _gs_rows(design: GsBoundaries | None, fixed: float, unit: str) -> list[tuple[str, str]]:
    if design is None or design.inflation_factor is None:
        return []
    bounds = ", ".join(f"{z:.3f}" for z in design.z)
    rows = [
        (f"{design.k} looks, {design.spending} spending: efficacy z", bounds),
        ("inflation factor", f"{design.inflation_factor:.4f}"),
        (f"maximum {unit}", f"{math.ceil(design.max_sample_size(fixed) - 1e-9)}"),
    ]
    if design.futility:
        rows.insert(
            1, ("futility z (interim looks)", ", ".join(f"{f:.3f}" for f in design.futility))
        )
    if design.expected_information_h1 is not None:
        expected = design.expected_information_h1 * fixed
        rows.append((f"expected {unit} under the effect", f"{expected:.1f}"))
    return rows


def _ddmeld_rows(alpha: float, power: float, gs: GsBoundaries | None) -> list[tuple[str, str]]:
    from hepatrial.design import assurance, n_mean_difference
    from hepatrial.design.evidence import match_ddmeld

    effect = match_ddmeld()
    assert effect.sd is not None  # noqa: S101 - set by match_ddmeld
    normal = n_mean_difference(delta=effect.estimate, sd=effect.sd, alpha=alpha, power=power)
    t = n_mean_difference(delta=effect.estimate, sd=effect.sd, alpha=alpha, power=power, method="t")
    success = assurance(
        estimate=effect.estimate, se=effect.se, sd=effect.sd, n_total=2 * t.n_per_arm
    )
    return [
        ("source", effect.trial),
        ("ΔΔMELD (MELD points)", f"{effect.estimate:.2f}"),
        ("derivation", effect.derivation),
        ("n per arm, normal (unrounded total)", f"{normal.n_per_arm} ({normal.n_total:.2f})"),
        ("n per arm, t (unrounded total)", f"{t.n_per_arm} ({t.n_total:.2f})"),
        ("total randomized (t)", f"{2 * t.n_per_arm}"),
        ("assurance (power averaged over SE)", f"{success.assurance:.3f}"),
        *_gs_rows(gs, t.n_total, "participants"),
    ]


def _survival_rows(alpha: float, power: float, gs: GsBoundaries | None) -> list[tuple[str, str]]:
    from hepatrial.design import assurance, events_survival
    from hepatrial.design.evidence import msc_survival

    effect = msc_survival()
    hr = math.exp(effect.estimate)
    schoenfeld = events_survival(hr=hr, alpha=alpha, power=power)
    freedman = events_survival(hr=hr, alpha=alpha, power=power, method="freedman")
    # Every participant is followed for 24 weeks: P(death) = 1 - S(24 w), S_T = S_C ** HR.
    p_control = 1.0 - 0.556
    p_treatment = 1.0 - 0.556**hr
    omega = (p_control + p_treatment) / 2.0
    n_total = schoenfeld.events / omega
    final_se = 2.0 / math.sqrt(schoenfeld.events)  # SE of log HR with D events, 1:1
    success = assurance(estimate=effect.estimate, se=effect.se, final_se=final_se)
    return [
        ("source", effect.trial),
        ("hazard ratio", f"{hr:.4f}"),
        ("derivation", effect.derivation),
        ("events, Schoenfeld", f"{schoenfeld.events_rounded} ({schoenfeld.events:.2f})"),
        ("events, Freedman", f"{freedman.events_rounded} ({freedman.events:.2f})"),
        (
            "participants, 24-week follow-up each (P(death) averaged over arms)",
            f"{2 * math.ceil(n_total / 2 - 1e-9)} ({n_total:.2f}; P(death) {omega:.3f})",
        ),
        ("assurance (power averaged over SE)", f"{success.assurance:.3f}"),
        *_gs_rows(gs, schoenfeld.events, "events"),
    ]


def _infection_rows(alpha: float, power: float) -> list[tuple[str, str]]:
    from hepatrial.design import n_proportions
    from hepatrial.design.evidence import msc_infection

    effect = msc_infection()
    assert effect.p_treatment is not None and effect.p_control is not None  # noqa: S101
    size = n_proportions(
        p_treatment=effect.p_treatment, p_control=effect.p_control, alpha=alpha, power=power
    )
    return [
        ("source", effect.trial),
        ("severe infection", effect.derivation),
        ("n per arm (unrounded total)", f"{size.n_per_arm} ({size.n_total:.2f})"),
    ]


def design_command(
    source: Annotated[str, typer.Option("--from", help="Seed trial: match or msc-aclf.")] = "match",
    endpoint: Annotated[
        str, typer.Option(help="ddmeld (match); survival or infection (msc-aclf).")
    ] = "ddmeld",
    power: Annotated[float, typer.Option(min=0.5, max=0.999, help="Target power.")] = 0.8,
    alpha: Annotated[float, typer.Option(min=1e-6, max=0.5, help="Two-sided level.")] = 0.05,
    looks: Annotated[int, typer.Option(min=1, max=10, help="Analyses incl. final.")] = 1,
    spending: Annotated[Spending, typer.Option(help="Alpha-spending function.")] = "obf",
    futility: Annotated[Futility, typer.Option(help="Beta spending for futility.")] = "none",
) -> None:
    """Sample size, assurance and group-sequential size from a seed trial's published effect."""
    if source not in ENDPOINTS or endpoint not in ENDPOINTS[source]:
        allowed = "; ".join(f"--from {k} --endpoint {'|'.join(v)}" for k, v in ENDPOINTS.items())
        raise typer.BadParameter(
            f"--from {source} --endpoint {endpoint} is not known; use {allowed}"
        )
    gs = _group_sequential(looks, alpha, power, spending, futility)
    if endpoint == "ddmeld":
        rows = _ddmeld_rows(alpha, power, gs)
    elif endpoint == "survival":
        rows = _survival_rows(alpha, power, gs)
    else:
        rows = _infection_rows(alpha, power)
    title = f"Design from {source}, {endpoint}: power {power:g}, two-sided alpha {alpha:g}"
    Console().print(_table(title, rows))


def _floats(name: str, text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"{name}={text!r} must be comma-separated numbers, e.g. 0.53,0.7"
        ) from None


def _sizes(text: str) -> list[int]:
    values = _floats("--n", text)
    if not values or any(v != int(v) or v < 4 for v in values):
        raise typer.BadParameter(
            f"--n={text!r} must be comma-separated integers >= 4, e.g. 200,300"
        )
    return [int(v) for v in values]


def _has_complication(scenario: Any) -> bool:
    """Whether the scenario's patient model has a binary complication (a secondary test)."""
    from hepatrial.simulate import patients

    return patients.load_model(scenario.model_id).effects.binary is not None


def _results_table(summary: Any, looks: int, *, secondary: bool = True) -> Table:
    table = Table(title="Operating characteristics (power ± Monte Carlo SE)")
    columns = [
        "n",
        "hr",
        "meld_shift",
        "power",
        "type I (2-sided)",
        "expected n",
        "months",
        "secondary power",
    ]
    for name in columns:
        table.add_column(name, justify="right")
    for row in summary.to_dict("records"):
        null = row["hr"] == 1 and row["meld_shift"] == 0
        table.add_row(
            str(row["n"]),
            f"{row['hr']:g}",
            f"{row['meld_shift']:g}",
            f"{row['power']:.4f} ± {row['power_mc_se']:.4f}",
            f"{row['rejection_two_sided']:.4f}" if null and looks == 1 else "",
            f"{row['expected_n']:.1f}",
            f"{row['expected_duration_months']:.1f}",
            # without a complication in the model there is no secondary test to have power
            f"{row['secondary_power']:.4f}" if secondary else "–",
        )
    return table


def simulate_command(
    protocol: Annotated[
        str, typer.Option(help="Built-in protocol: msc-aclf or match.")
    ] = "msc-aclf",
    trials: Annotated[int, typer.Option(min=1, help="Trials per scenario.")] = 10_000,
    n: Annotated[str, typer.Option("--n", help="Sizes, comma-separated.")] = "110",
    hr: Annotated[str, typer.Option(help="Hazard ratios, comma-separated.")] = "1",
    meld_shift: Annotated[str, typer.Option(help="Day-90 MELD shifts, comma-separated.")] = "0",
    risk_ratio: Annotated[float, typer.Option(help="Complication risk ratio.")] = 1.0,
    alpha: Annotated[float, typer.Option(min=1e-6, max=0.5, help="Two-sided level.")] = 0.05,
    accrual_per_month: Annotated[
        float | None, typer.Option(min=0.01, help="Participants per month (default: model).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Root seed; same seed, same results.")] = 20_260_511,
    backend: Annotated[Backend, typer.Option(help="Local processes or a Dask cluster.")] = "local",
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address.")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Local processes.")] = None,
    looks: Annotated[int, typer.Option(min=1, max=10, help="Group-sequential looks.")] = 1,
    spending: Annotated[Spending, typer.Option(help="Alpha-spending function.")] = "obf",
    futility: Annotated[Futility, typer.Option(help="Beta spending for futility.")] = "none",
    beta: Annotated[float, typer.Option(min=0.01, max=0.5, help="Beta for futility.")] = 0.2,
    max_events: Annotated[int | None, typer.Option(min=1, help="Events at the final look.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Output directory.")] = Path(
        "hepatrial-simulation"
    ),
) -> None:
    """Simulate trials through a protocol over a grid of sizes and effects; write power curves."""
    from hepatrial.design import gs_boundaries
    from hepatrial.simulate.plots import write_power_curves
    from hepatrial.simulate.runner import Scenario, simulate_grid

    boundaries = None
    if looks > 1:
        boundaries = gs_boundaries(
            k=looks,
            alpha=alpha,
            spending=spending,
            futility=futility,
            beta=beta if futility != "none" else None,
        )
    scenarios = [
        Scenario(
            protocol=protocol,
            n=size,
            hr=h,
            meld_shift=s,
            risk_ratio=risk_ratio,
            alpha=alpha,
            accrual_per_month=accrual_per_month,
            boundaries=boundaries,
            max_events=max_events,
        )
        for h in _floats("--hr", hr)
        for s in _floats("--meld-shift", meld_shift)
        for size in _sizes(n)
    ]
    console = Console()
    columns = (TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("trials", total=trials * len(scenarios))
        grid = simulate_grid(
            scenarios,
            trials=trials,
            seed=seed,
            backend=backend,
            workers=workers,
            scheduler=scheduler,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    secondary = _has_complication(scenarios[0])
    console.print(_results_table(grid.summary, looks, secondary=secondary))
    if not secondary:
        console.print("secondary power: – (the patient model has no complication to test)")
    paths = write_power_curves(grid, output, seed=seed)
    console.print("wrote " + ", ".join(str(p) for p in paths))


def register(app: typer.Typer) -> None:
    """Add ``hepatrial design`` and ``hepatrial simulate`` to the command line."""
    app.command("design")(design_command)
    app.command("simulate")(simulate_command)

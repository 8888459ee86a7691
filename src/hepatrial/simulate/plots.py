"""Power curves of a simulated design grid, as a PNG and a self-contained HTML page.

The curve shows simulated power against the number randomized, one line per true effect, with
±1.96 Monte Carlo standard errors; the HTML page embeds the PNG (base64) and the table of
operating characteristics, so it can be mailed or archived as one file.
"""

from __future__ import annotations

import base64
import html
import io
import os
import tempfile
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import hepatrial
from hepatrial.simulate.results import GridResult


def _effect_label(protocol_kind: str, key: tuple[float, float, float]) -> str:
    hr, shift, risk_ratio = key
    if protocol_kind == "change":
        return f"MELD shift {shift:g}"
    label = f"HR {hr:g}"
    return label if risk_ratio == 1 else f"{label}, infection RR {risk_ratio:g}"


def power_curve_figure(grid: GridResult, *, title: str | None = None) -> Figure:
    """Matplotlib figure of power against n, one line per effect, with MC error bars.

    The figure is drawn on an Agg canvas outside pyplot (no backend is selected and nothing is
    registered with pyplot), so it needs no closing; ``figure.savefig`` writes it.
    """
    summary = grid.summary
    kind = "change" if (summary["hr"] == 1).all() and (summary["meld_shift"] != 0).any() else "hr"
    figure = Figure(figsize=(7.0, 4.5), dpi=110)
    FigureCanvasAgg(figure)
    axis = figure.subplots()
    for key, rows in summary.groupby(["hr", "meld_shift", "risk_ratio"], sort=True):
        rows = rows.sort_values("n")
        axis.errorbar(
            rows["n"],
            rows["power"],
            yerr=1.96 * rows["power_mc_se"],
            marker="o",
            capsize=3,
            label=_effect_label(kind, tuple(float(v) for v in key)),  # type: ignore[arg-type]
        )
    axis.axhline(0.8, color="grey", linewidth=0.8, linestyle="--")
    axis.axhline(0.9, color="grey", linewidth=0.8, linestyle=":")
    axis.set_xlabel("participants randomized (n)")
    axis.set_ylabel("power (simulated)")
    axis.set_ylim(0.0, 1.0)
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right", fontsize="small")
    protocol = str(summary["protocol"].iloc[0])
    trials = int(summary["trials"].iloc[0])
    axis.set_title(title or f"{protocol}: power by size ({trials:,} trials per point, ±1.96 MC SE)")
    figure.tight_layout()
    return figure


def _png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def power_curve_html(grid: GridResult, png: bytes, *, seed: int) -> str:
    """A self-contained HTML page: the embedded curve and the operating characteristics."""
    summary = grid.summary
    protocol = html.escape(str(summary["protocol"].iloc[0]))
    image = base64.b64encode(png).decode("ascii")
    table = summary.to_html(index=False, border=0, float_format=lambda x: f"{x:.4g}")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>hepatrial power curves: {protocol}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;font-size:0.85em}td,th{padding:0.2em 0.6em;"
        "border-bottom:1px solid #ddd;text-align:right}</style></head><body>"
        f"<h1>Power curves: {protocol}</h1>"
        f"<p>Simulated with hepatrial {html.escape(hepatrial.__version__)}, seed {seed}; power "
        "is the share of trials significant in favour of the experimental arm, with ±1.96 "
        "Monte Carlo standard errors.</p>"
        f"<img alt='power curves' src='data:image/png;base64,{image}'>"
        f"<h2>Operating characteristics</h2>{table}</body></html>\n"
    )


def _atomic_write(path: Path, data: bytes) -> None:
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False)
    try:
        with handle:
            handle.write(data)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def write_power_curves(
    grid: GridResult, directory: str | Path, *, seed: int, stem: str = "power_curves"
) -> tuple[Path, Path, Path]:
    """Write ``<stem>.png``, ``<stem>.html`` and ``<stem>.csv`` into ``directory``.

    Each file is written to a temporary file and renamed, so none is ever half-written.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    png = _png_bytes(power_curve_figure(grid))
    paths = (target / f"{stem}.png", target / f"{stem}.html", target / f"{stem}.csv")
    _atomic_write(paths[0], png)
    _atomic_write(paths[1], power_curve_html(grid, png, seed=seed).encode("utf-8"))
    _atomic_write(paths[2], grid.summary.to_csv(index=False).encode("utf-8"))
    return paths

"""Report figures drawn with matplotlib's object-oriented API and embedded as base64 PNG.

Each function takes analysis data and returns a ``data:image/png;base64,...`` URI, so a report
never depends on a file or a network resource. Arm colours are fixed by :data:`ARM_COLOURS` in
protocol arm order (experimental first) across every figure.

Figures are :class:`~matplotlib.figure.Figure` objects rendered by the Agg canvas, outside
pyplot: importing or drawing never selects a backend, registers a figure or changes
``matplotlib.rcParams``. The house style :data:`STYLE` applies only inside the drawing functions
(:func:`in_house_style`).
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, cast

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

ARM_COLOURS = ("#1b6e8f", "#c8602a", "#5b8c3a", "#7a4f9a")
INK = "#1f2933"
GRID = "#d9dee3"

STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.edgecolor": "#52606d",
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": "#52606d",
    "ytick.color": "#52606d",
    "axes.grid": True,
    "grid.color": GRID,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
}
"""The report's matplotlib settings, applied by :func:`in_house_style` while a figure is drawn."""

P = ParamSpec("P")


def in_house_style(draw: Callable[P, str]) -> Callable[P, str]:
    """Run ``draw`` (which builds and renders a figure) under :data:`STYLE`, restored after."""

    @functools.wraps(draw)
    def styled(*args: P.args, **kwargs: P.kwargs) -> str:
        # cast: matplotlib types rc keys as a Literal of every setting's name
        with matplotlib.rc_context(cast(Any, STYLE)):
            return draw(*args, **kwargs)

    return styled


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure of ``width`` x ``height`` inches with one axes, on an Agg canvas (not pyplot)."""
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure, figure.subplots()


def to_data_uri(figure: Figure) -> str:
    """PNG bytes of ``figure`` (150 dpi) as a data URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight", facecolor="white")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def short_label(arm: str) -> str:
    """A compact arm name for figures: ``"standard-care"`` -> ``"Standard care"``,
    ``"msc"`` -> ``"MSC"``."""
    if len(arm) <= 4:
        return arm.upper()
    words = arm.replace("_", " ").replace("-", " ")
    return words[:1].upper() + words[1:]


def colour_map(arms: Sequence[str]) -> dict[str, str]:
    """A fixed colour per arm, in the order given."""
    return {arm: ARM_COLOURS[i % len(ARM_COLOURS)] for i, arm in enumerate(arms)}


@in_house_style
def step_curves(
    curves: Mapping[str, pd.DataFrame],
    labels: Mapping[str, str],
    *,
    ylabel: str,
    horizon: float,
    risk_times: Sequence[float],
    at_risk: pd.DataFrame | None,
    rising: bool = False,
) -> str:
    """Step curves (Kaplan-Meier or cumulative incidence) with shaded CIs and censor marks.

    ``curves[arm]`` has columns ``time, estimate, lower, upper`` and optional ``censored``;
    ``at_risk`` (arms x times) is drawn as a table beneath the axes when given.
    """
    colours = colour_map(list(curves))
    height = 4.2 if at_risk is not None else 3.4
    fig, ax = new_figure(7.2, height)
    for arm, table in curves.items():
        t = np.concatenate([[0.0], table["time"].to_numpy(float)])
        start = 0.0 if rising else 1.0
        y = np.concatenate([[start], table["estimate"].to_numpy(float)])
        lo = np.concatenate([[start], table["lower"].to_numpy(float)])
        hi = np.concatenate([[start], table["upper"].to_numpy(float)])
        if t[-1] < horizon:  # hold the last value to the end of follow-up
            t, y, lo, hi = (
                np.append(a, v) for a, v in ((t, horizon), (y, y[-1]), (lo, lo[-1]), (hi, hi[-1]))
            )
        ax.step(t, y, where="post", color=colours[arm], lw=1.8, label=labels.get(arm, arm))
        ax.fill_between(t, lo, hi, step="post", color=colours[arm], alpha=0.12, lw=0)
        if "censored" in table:
            marks = table[table["censored"] > 0]
            marks = marks[marks["time"] < horizon]
            ax.plot(marks["time"], marks["estimate"], "|", color=colours[arm], ms=7, mew=1.2)
    ax.set_xlim(0, horizon)
    ax.set_ylim(0, 1.02 if not rising else max(0.2, _ceiling(curves)))
    ax.set_xticks(list(risk_times))
    ax.set_xlabel("Days since randomization")
    ax.set_ylabel(ylabel)
    ax.legend(loc="lower left" if not rising else "upper left")
    if at_risk is not None:
        _risk_table(ax, at_risk, labels, colours, risk_times)
    return to_data_uri(fig)


def _ceiling(curves: Mapping[str, pd.DataFrame]) -> float:
    top = max(float(np.nanmax(t["upper"].to_numpy(float), initial=0.0)) for t in curves.values())
    return min(1.0, top * 1.15 + 0.02)


def _risk_table(
    ax: Axes,
    at_risk: pd.DataFrame,
    labels: Mapping[str, str],
    colours: Mapping[str, str],
    times: Sequence[float],
) -> None:
    ax.text(
        0.0,
        -0.25,
        "Number at risk",
        transform=ax.transAxes,
        fontsize=8.5,
        fontweight="bold",
        color=INK,
    )
    for row, arm in enumerate(at_risk.index):
        y = -0.34 - 0.09 * row
        ax.text(
            -0.02,
            y,
            labels.get(arm, arm)[:28],
            transform=ax.transAxes,
            ha="right",
            fontsize=8,
            color=colours.get(arm, INK),
        )
        for col, t in enumerate(times):
            ax.text(
                t,
                y,
                str(int(at_risk.to_numpy()[row, col])),
                transform=ax.get_xaxis_transform(),
                ha="center",
                fontsize=8,
                color=INK,
            )


@in_house_style
def forest_plot(
    rows: pd.DataFrame,
    *,
    xlabel: str,
    null: float = 0.0,
    favours: tuple[str, str] | None = None,
) -> str:
    """Subgroup forest plot: ``rows`` has ``subgroup, level, n, estimate, ci_low, ci_high``.

    ``favours`` names the arm favoured left and right of the null line ("← favours A",
    "favours B →") when the direction of benefit is known.
    """
    n = len(rows)
    fig, ax = new_figure(7.2, 0.34 * n + 1.0)
    y = np.arange(n)[::-1]
    overall = rows["subgroup"].to_numpy() == "Overall"
    ax.hlines(y, rows["ci_low"], rows["ci_high"], color=INK, lw=1.3)
    ax.plot(rows["estimate"][~overall], y[~overall], "s", color=ARM_COLOURS[0], ms=5)
    ax.plot(rows["estimate"][overall], y[overall], "D", color=INK, ms=7)
    ax.axvline(null, color="#7b8794", lw=0.9, ls="--")
    ax.set_yticks(y)
    names = zip(rows["subgroup"], rows["level"], rows["n"], strict=True)
    ax.set_yticklabels(
        [f"{s}: {lv} (n={k})" if s != "Overall" else f"Overall (n={k})" for s, lv, k in names]
    )
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    if favours is not None:
        for text, x, align in (
            (f"← favours {favours[0]}", 0.0, "left"),
            (f"favours {favours[1]} →", 1.0, "right"),
        ):
            ax.annotate(
                text,
                (x, 1.0),
                xycoords="axes fraction",
                xytext=(0, 4),
                textcoords="offset points",
                ha=align,
                va="bottom",
                fontsize=8,
                color="#52606d",
            )
    return to_data_uri(fig)


@in_house_style
def trajectories(
    means: pd.DataFrame, labels: Mapping[str, str], *, ylabel: str, arms: Sequence[str]
) -> str:
    """Mean ± 95% CI by visit day and arm; ``means`` has ``arm, day, mean, lower, upper``."""
    colours = colour_map(arms)
    fig, ax = new_figure(7.2, 3.2)
    # arms side by side at each visit, so that their error bars do not hide each other
    spread = 0.012 * max(float(means["day"].max()), 1.0)
    offset = {arm: (i - (len(arms) - 1) / 2) * spread for i, arm in enumerate(arms)}
    for arm in arms:
        g = means[means["arm"] == arm].sort_values("day")
        x = g["day"].to_numpy(float) + offset[arm]
        ax.errorbar(
            x,
            g["mean"],
            yerr=[g["mean"] - g["lower"], g["upper"] - g["mean"]],
            color=colours[arm],
            marker="o",
            ms=4,
            lw=1.6,
            capsize=2.5,
            label=labels.get(arm, arm),
        )
    ax.set_xticks(sorted(means["day"].unique()))
    ax.set_xlabel("Days since randomization (nominal visit)")
    ax.set_ylabel(ylabel)
    # above the axes: inside, a legend would cover some visit's error bars
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(arms), frameon=False)
    return to_data_uri(fig)

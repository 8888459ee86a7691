"""The CONSORT flow diagram, counted from screening, randomization and withdrawal records.

Counts (Schulz KF et al., CONSORT 2010 statement, BMJ 2010;340:c332, figure 1): assessed for
eligibility (every screening), excluded with each failed criterion, randomized, allocated per
arm, received the allocated intervention (arms with an intervention), discontinued (withdrew or
died before the end of follow-up), and analysed for the primary endpoint with the reasons for
exclusion reported by the plan.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch

from hepatrial.analysis.adam import AdamDatasets
from hepatrial.analysis.results import EndpointResult
from hepatrial.report.figures import INK, colour_map, in_house_style, new_figure, to_data_uri


@dataclass(frozen=True)
class ArmFlow:
    """Counts of one arm below randomization."""

    arm: str
    label: str
    allocated: int
    received: int | None
    not_received: int
    withdrew: int
    died: int
    analysed: int
    excluded: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ConsortCounts:
    """Every number of the CONSORT diagram."""

    assessed: int
    excluded: int
    excluded_reasons: tuple[tuple[str, int], ...]
    randomized: int
    arms: tuple[ArmFlow, ...]


def _failed_reasons(screenings: pd.DataFrame, criteria_labels: Mapping[str, str]) -> Counter[str]:
    reasons: Counter[str] = Counter()
    for criteria in screenings["criteria"]:
        failed = [c for c in (criteria or []) if isinstance(c, dict) and not c.get("passed", True)]
        key = str(failed[0].get("name") or failed[0].get("reason")) if failed else "other reason"
        label = criteria_labels.get(key, key)
        reasons[label[:1].upper() + label[1:]] += 1
    return reasons


def consort_counts(
    tables: Mapping[str, pd.DataFrame],
    adam: AdamDatasets,
    primary: EndpointResult,
    arm_labels: Mapping[str, str],
    criteria_labels: Mapping[str, str] | None = None,
) -> ConsortCounts:
    """Count the flow of participants for the CONSORT diagram.

    ``criteria_labels`` maps a criterion id to the reason shown (for example
    "Not met: MELD between 10 and 17 inclusive"); ids without a label are shown as stored.
    """
    screenings = tables["screenings"]
    randomized_ids = set(adam.adsl["USUBJID"])
    first = screenings.sort_values("screened_on").drop_duplicates("participant_id", keep="last")
    not_randomized = first[~first["participant_id"].isin(randomized_ids)]
    reasons = _failed_reasons(
        not_randomized[~not_randomized["eligible"].astype(bool)], criteria_labels or {}
    )
    eligible_not_randomized = int(not_randomized["eligible"].astype(bool).sum())
    if eligible_not_randomized:
        reasons["eligible, not randomized"] += eligible_not_randomized
    return ConsortCounts(
        assessed=int(first["participant_id"].nunique()),
        excluded=len(not_randomized),
        excluded_reasons=tuple(reasons.most_common()),
        randomized=len(randomized_ids),
        arms=tuple(_arm_flow(adam, primary, arm, arm_labels[arm]) for arm in arm_labels),
    )


def _arm_flow(adam: AdamDatasets, primary: EndpointResult, arm: str, label: str) -> ArmFlow:
    adsl = adam.adsl[adam.adsl["ARMCD"] == arm]
    has_intervention = bool((adsl["NDOSEPL"] > 0).any())
    received = int((adsl["NDOSE"] > 0).sum()) if has_intervention else None
    analysed = int(primary.by_arm.get(arm, {}).get("n", 0))
    return ArmFlow(
        arm=arm,
        label=label,
        allocated=len(adsl),
        received=received,
        not_received=len(adsl) - received if received is not None else 0,
        withdrew=int((adsl["WDFL"] == "Y").sum()),
        died=int((adsl["DTHFL"] == "Y").sum()),
        analysed=analysed,
        excluded=(("not in the primary analysis", len(adsl) - analysed),)
        if len(adsl) - analysed
        else (),
    )


def _box(
    ax: Axes, x: float, y: float, w: float, h: float, text: str, edge: str, wrap: int = 44
) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.008,rounding_size=0.01",
            fc="white",
            ec=edge,
            lw=1.3,
        )
    )
    lines = [textwrap.fill(line, wrap) for line in text.split("\n")]
    ax.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=8.2, color=INK)


def _arrow(ax: Axes, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate(
        "",
        xy=(x1, y1),
        xytext=(x0, y0),
        arrowprops={"arrowstyle": "-|>", "color": "#52606d", "lw": 1.0},
    )


_REASON_WRAP = 38  # characters of an exclusion reason per line inside the box


def _reason_lines(reasons: tuple[tuple[str, int], ...], shown: int = 6) -> list[str]:
    """One bullet per reason, the rarest beyond ``shown`` counted together (none dropped)."""
    lines = [f"• {r} ({n})" for r, n in reasons[:shown]]
    rest = sum(n for _, n in reasons[shown:])
    if rest:
        lines.append(f"• {len(reasons) - shown} other reasons ({rest})")
    return lines


@in_house_style
def consort_figure(counts: ConsortCounts) -> str:
    """Draw the diagram; returns a PNG data URI."""
    fig, ax = new_figure(7.6, 6.0)
    ax.set_xlim(0, 1)
    ax.set_ylim(0.07, 1)
    ax.axis("off")
    reasons = _reason_lines(counts.excluded_reasons)
    _box(ax, 0.33, 0.94, 0.36, 0.07, f"Assessed for eligibility (n={counts.assessed})", INK)
    _box(
        ax,
        0.77,
        0.83,
        0.42,
        0.03 + 0.0245 * (1 + sum(len(textwrap.wrap(r, _REASON_WRAP)) for r in reasons)),
        f"Excluded (n={counts.excluded})\n" + "\n".join(reasons),
        INK,
        wrap=_REASON_WRAP,
    )
    _arrow(ax, 0.33, 0.905, 0.33, 0.745)
    ax.plot([0.33, 0.56], [0.83, 0.83], color="#52606d", lw=1.0)
    _box(ax, 0.33, 0.71, 0.3, 0.06, f"Randomized (n={counts.randomized})", INK)
    colours = colour_map([a.arm for a in counts.arms])
    xs = (
        [0.25, 0.75]
        if len(counts.arms) == 2
        else [0.15 + 0.7 * i / max(1, len(counts.arms) - 1) for i in range(len(counts.arms))]
    )
    # the usual CONSORT split: down from "Randomized", across, then down into each arm
    split = 0.64
    ax.plot([0.33, 0.33], [0.68, split], color="#52606d", lw=1.0)
    ax.plot([min(*xs, 0.33), max(*xs, 0.33)], [split, split], color="#52606d", lw=1.0)
    for x, flow in zip(xs, counts.arms, strict=False):
        _arrow(ax, x, split, x, 0.6)
        received = (
            f"\nReceived intervention: {flow.received}\nDid not receive: {flow.not_received}"
            if flow.received is not None
            else "\nStandard care only"
        )
        _box(
            ax,
            x,
            0.52,
            0.46,
            0.15,
            f"Allocated to {flow.label}\n(n={flow.allocated}){received}",
            colours[flow.arm],
        )
        _arrow(ax, x, 0.45, x, 0.39)
        _box(
            ax,
            x,
            0.33,
            0.42,
            0.1,
            f"Follow-up\nWithdrew: {flow.withdrew}    Died: {flow.died}",
            colours[flow.arm],
        )
        _arrow(ax, x, 0.28, x, 0.22)
        excluded = "\n".join(f"Excluded: {n} ({r})" for r, n in flow.excluded) or "Excluded: 0"
        _box(
            ax,
            x,
            0.15,
            0.42,
            0.12,
            f"Analysed for the primary endpoint\n(n={flow.analysed})\n{excluded}",
            colours[flow.arm],
        )
    return to_data_uri(fig)

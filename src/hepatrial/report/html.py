"""The self-contained HTML report of a trial analysis.

One file with inline CSS and figures as base64 PNG data URIs: it opens offline and carries no
external URL. Sections: primary result, CONSORT flow, baseline characteristics by arm, every
endpoint result, Kaplan-Meier curves with numbers at risk, cumulative incidence (only for endpoints
with competing events, :mod:`hepatrial.report.competing`), subgroup forest
plot, adverse events by system organ class, biomarker and MELD trajectories, exclusions, data
quality (edit-check counts, only for a report made from a store) and provenance (protocol
version, dataset hash, software version and every option).
"""

from __future__ import annotations

import datetime as dt
import html
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from hepatrial.analysis.adam import AdamDatasets
from hepatrial.analysis.results import TTE_PARAMS, EndpointResult, PlanResults
from hepatrial.protocol import Protocol
from hepatrial.report import figures, tables
from hepatrial.report.competing import competing_risk_section, competing_risk_views
from hepatrial.report.consort import consort_counts, consort_figure
from hepatrial.report.labels import screen_failure_labels
from hepatrial.report.subgroups import subgroup_table
from hepatrial.stats import cumulative_incidence
from hepatrial.stats.survival import kaplan_meier, numbers_at_risk


@dataclass(frozen=True)
class ReportInput:
    """Everything a report is made from."""

    adam: AdamDatasets
    results: PlanResults
    protocol: Protocol
    source: Mapping[str, pd.DataFrame]
    banner: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    data_quality: pd.DataFrame | None = None
    """Counts per edit-check rule of a store (``DataQualityReport.counts``: rule, severity, n,
    n_confirmed); None when the report is not made from a store."""


def _table(frame: pd.DataFrame, table_id: str | None = None) -> str:
    body = frame.to_html(
        index=False, border=0, classes="hepatrial-table", escape=True, table_id=table_id
    )
    return str(body).replace(' class="dataframe hepatrial-table"', ' class="hepatrial-table"')


def _figure(uri: str, caption: str, alt: str) -> str:
    return (
        f'<figure><img src="{uri}" alt="{html.escape(alt)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _primary_card(result: EndpointResult, arms: Mapping[str, str]) -> str:
    ci = ""
    if result.ci_low is not None and not np.isnan(result.ci_low):
        ci = f" (95% CI {tables.fmt_num(result.ci_low)} to {tables.fmt_num(result.ci_high)})"
    value = f"{tables.fmt_num(result.estimate)}{ci}"
    if result.kind == "time_to_event" and all(a in result.by_arm for a in arms):
        value = " vs ".join(f"{100 * result.by_arm[a]['survival']:.1f}%" for a in arms)
        detail = tables.by_arm_text(result, arms)
        return _card(result, value, detail)
    return _card(result, value, _with_arm_labels(result.estimate_label, arms))


# parameters of which a fall is an improvement (MELD, bilirubin, INR, creatinine, fibrosis)
LOWER_IS_BETTER = frozenset(
    {"meld", "bilirubin_umol_l", "inr", "creatinine_umol_l", "elf", "liver_stiffness_kpa"}
)


def _favours(
    protocol: Protocol, arms: Mapping[str, str], results: PlanResults
) -> tuple[str, str] | None:
    """The arms favoured left and right of 0 in the primary subgroup plot, when known."""
    endpoint = protocol.primary_endpoint
    experimental, control = arms[results.experimental_arm], arms[results.control_arm]
    if endpoint.kind == "change_from_baseline" and endpoint.variable in LOWER_IS_BETTER:
        return experimental, control
    if endpoint.kind == "time_to_event":
        return control, experimental
    return None


def _with_arm_labels(text: str, arms: Mapping[str, str]) -> str:
    """``"... (macrophage − standard-care)"`` with the arms' display labels."""
    for arm in sorted(arms, key=len, reverse=True):
        text = text.replace(f"({arm} ", f"({arms[arm]} ").replace(f" {arm})", f" {arms[arm]})")
    return text.replace("(experimental − control)", " − ".join(arms.values()).join("()"))


def _card(result: EndpointResult, value: str, detail: str) -> str:
    exclusions = "; ".join(f"{e.reason}: {e.count}" for e in result.exclusions) or "none"
    return (
        '<section class="primary" id="primary-result">'
        f'<div class="card"><div class="label">Primary endpoint · {html.escape(result.label)}</div>'
        f'<div class="value">{html.escape(value)}</div>'
        f'<div class="label">{html.escape(detail)}</div></div>'
        '<div class="card"><div class="label">Test</div>'
        f'<div class="value">P = {tables.fmt_p(result.p_value)}</div>'
        f'<div class="label">{html.escape(tables.ESTIMATORS.get(result.note, result.note))} · '
        "population "
        f"{tables.POPULATIONS.get(result.population, result.population)} · "
        f"n = {result.n} · excluded: {html.escape(exclusions)}</div></div></section>"
    )


_KM_YLABELS = {
    "death": "Probability of survival",
    "death_or_transplant": "Probability of transplant-free survival",
}


def _not_drawn(empty: list[str], arms: Mapping[str, str]) -> str:
    """The sentence standing for a figure that cannot be drawn yet."""
    which = " and ".join(html.escape(arms.get(a, a)) for a in empty)
    return f'<p class="note">Not drawn: no participant in arm {which} yet.</p>'


def _km_section(data: ReportInput) -> str:
    parts: list[str] = []
    order = [data.results.experimental_arm, data.results.control_arm]
    arms = {a: figures.short_label(a) for a in order}
    for endpoint in [e for e in data.protocol.endpoints if e.kind == "time_to_event"]:
        if endpoint.variable not in TTE_PARAMS:
            continue
        first = not parts
        horizon = float(endpoint.time_horizon_days or 365)
        tte = data.adam.adtte[data.adam.adtte["PARAMCD"] == TTE_PARAMS[endpoint.variable]]
        empty = [a for a in order if not (tte["ARMCD"] == a).any()]
        if empty:
            parts.append(f"<h3>{html.escape(endpoint.label)}</h3>" + _not_drawn(empty, arms))
            continue
        curves = {}
        conf_type = (
            endpoint.ci.method if endpoint.ci.method in ("plain", "log", "log-log") else "log"
        )
        for arm in order:
            g = tte[(tte["ARMCD"] == arm) & (tte["AVAL"] <= horizon)]
            km = kaplan_meier(g["AVAL"], 1 - g["CNSR"], conf_type=conf_type)
            t = km.table
            curves[arm] = pd.DataFrame(
                {
                    "time": t["time"],
                    "estimate": t["survival"],
                    "lower": t["lower"],
                    "upper": t["upper"],
                    "censored": t["censored"],
                }
            )
        times = tables.risk_times(horizon)
        risk = numbers_at_risk(tte["AVAL"], times, group=tte["ARMCD"]).reindex(order)
        uri = figures.step_curves(
            curves,
            arms,
            ylabel=_KM_YLABELS.get(endpoint.variable, "Probability of remaining event-free"),
            horizon=horizon,
            risk_times=times,
            at_risk=risk,
        )
        risk_frame = (
            risk.rename(index=arms).reset_index().rename(columns={"index": "Arm", "ARMCD": "Arm"})
        )
        risk_frame.columns = ["Arm", *[f"Day {t:g}" for t in times]]
        parts.append(f"<h3>{html.escape(endpoint.label)}</h3>")
        parts.append(
            _figure(
                uri,
                f"Kaplan-Meier estimate with {conf_type} pointwise 95% CI; "
                "ticks mark censored follow-up.",
                f"Kaplan-Meier curves: {endpoint.label}",
            )
        )
        parts.append(
            '<p class="caption">Numbers at risk</p>'
            + _table(risk_frame, "numbers-at-risk" if first else None)
        )
    return "".join(parts) or '<p class="note">No time-to-event endpoint in this protocol.</p>'


def _cumulative_incidence_section(data: ReportInput) -> str:
    """Figures for the protocol's endpoints with competing events ('' when it has none)."""
    r = data.results
    views = competing_risk_views(data.protocol, float(data.adam.adtte["AVAL"].max()))
    arms = {a: figures.short_label(a) for a in (r.experimental_arm, r.control_arm)}
    return competing_risk_section(data.adam.adtte, views, arms, cumulative_incidence, _figure)


def _trajectory_section(data: ReportInput) -> str:
    visit_days = {v.id: v.day for v in data.protocol.visits}
    arms = [data.results.experimental_arm, data.results.control_arm]
    parts = []
    for paramcd in ("MELD", "BILI", "ELF", "LSM", "EQ5D"):
        means = tables.trajectory_means(data.adam, paramcd, visit_days, arms)
        if means.empty or means["day"].nunique() < 2:
            continue
        label = data.adam.adlb.loc[data.adam.adlb["PARAMCD"] == paramcd, "PARAM"].iloc[0]
        uri = figures.trajectories(
            means, {a: figures.short_label(a) for a in arms}, ylabel=label, arms=arms
        )
        parts.append(
            f"<h3>{html.escape(label)}</h3>"
            + _figure(uri, "Mean and 95% CI of observed values at each visit window.", label)
        )
    return "".join(parts) or (
        '<p class="note">Not drawn: no biomarker or MELD value after baseline yet '
        "(a trajectory needs values at two visit windows or more).</p>"
    )


def _visit_labels(protocol: Protocol) -> dict[str, str]:
    return {v.id: v.label.split(" (")[0] for v in protocol.visits}


def _data_quality_section(counts: pd.DataFrame) -> str:
    """The edit checks' problems per rule (``hepatrial check`` lists every one)."""
    if counts.empty:
        return '<p class="note">The edit checks run over the store found no problem.</p>'
    hard = int(counts.loc[counts["severity"] == "hard", "n"].sum())
    shown = counts.rename(columns={"n_confirmed": "confirmed"})[
        ["rule", "severity", "n", "confirmed"]
    ]
    return (
        f'<p class="note">{hard} hard problem(s) found by the edit checks run over the store. '
        "Soft problems are unusual values or recorded deviations; confirmed: those confirmed "
        "with a reason at entry. <code>hepatrial check</code> lists every problem.</p>"
        + _table(shown, "data-quality")
    )


def _provenance(data: ReportInput) -> str:
    r = data.results
    items = {
        "Protocol": f"{data.protocol.id} — {data.protocol.title}",
        "Protocol version": data.protocol.version,
        "Locked dataset SHA-256": f'<span class="hash">{r.dataset_hash}</span>',
        "Software": f"hepatrial {r.software_version}; Python {platform.python_version()}; "
        f"numpy {np.__version__}; pandas {pd.__version__}",
        "Generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    items |= {
        f"Option: {k}": html.escape(str(v))
        for k, v in sorted({**r.options, **data.options}.items())
    }
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{v}</dd>" for k, v in items.items())
    return f'<dl class="provenance">{rows}</dl>'


def _legend(arms: Mapping[str, str], full: Mapping[str, str]) -> str:
    colours = figures.colour_map(list(arms))
    return " · ".join(
        f'<span class="swatch" style="background:{colours[a]}"></span><b>{html.escape(label)}</b>: '
        f"{html.escape(full[a])}"
        for a, label in arms.items()
    )


def render_report(data: ReportInput) -> str:
    """The report as one HTML string."""
    r = data.results
    arms = {a: figures.short_label(a) for a in (r.experimental_arm, r.control_arm)}
    primary = r.result(data.protocol.primary_endpoint.id)
    counts = consort_counts(
        data.source, data.adam, primary, arms, screen_failure_labels(data.protocol)
    )
    forest, forest_label = subgroup_table(data.adam, r, data.protocol)
    style = (
        resources.files("hepatrial.report")
        .joinpath("templates/style.css")
        .read_text(encoding="utf-8")
    )
    banner = f'<div class="banner">{html.escape(data.banner)}</div>' if data.banner else ""
    sections = [
        f"<header><h1>{html.escape(data.protocol.title)}</h1>"
        f'<div class="meta">Protocol {html.escape(data.protocol.id)} '
        f"v{html.escape(data.protocol.version)} · {len(data.adam.adsl)} randomized · "
        f"arms: {_legend(arms, r.arms)}</div></header>{banner}",
        _primary_card(primary, arms),
        "<h2>Participant flow (CONSORT)</h2>"
        + _figure(
            consort_figure(counts),
            "Counted from screening, randomization, dosing, withdrawal and outcome records.",
            "CONSORT flow diagram",
        ),
        "<h2>Baseline characteristics</h2>"
        + _table(tables.table_one(data.adam, arms, data.protocol), "table-one"),
        "<h2>Endpoint results</h2>"
        + _table(tables.results_table(r, arms, _visit_labels(data.protocol)), "results")
        + '<p class="note">Estimates are experimental minus control (differences) or '
        "experimental over control (ratios).</p>",
        "<h2>Survival</h2>" + _km_section(data),
    ]
    competing = _cumulative_incidence_section(data)
    if competing:
        sections.append("<h2>Cumulative incidence with competing events</h2>" + competing)
    if not forest.empty:
        sections.append(
            "<h2>Subgroups (primary endpoint)</h2>"
            + _figure(
                figures.forest_plot(
                    forest,
                    xlabel=_with_arm_labels(forest_label, arms),
                    favours=_favours(data.protocol, arms, r),
                ),
                "Primary estimator re-run within each subgroup; diamond: overall. A level with "
                "fewer than two participants in an arm is not estimated, and a factor left with "
                "one level is not shown.",
                "Forest plot",
            )
        )
    sections += [
        "<h2>Adverse events by system organ class</h2>"
        + _table(tables.adverse_events(data.adam, arms), "adverse-events")
        + '<p class="note">Treatment-emergent events (onset on or after randomization) '
        "in the safety population. Participants: n (%) with at least one event; events: all "
        "events. System organ class rows count serious and non-serious events together.</p>",
        "<h2>Biomarker and MELD trajectories</h2>" + _trajectory_section(data),
        "<h2>Exclusions</h2>" + _table(tables.exclusions_table(data.adam, r), "exclusions"),
    ]
    if data.data_quality is not None:
        sections.append("<h2>Data quality</h2>" + _data_quality_section(data.data_quality))
    sections.append("<h2>Provenance</h2>" + _provenance(data))
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(data.protocol.title)} — analysis report</title>"
        f"<style>{style}</style></head><body><main>{body}<footer>hepatrial "
        f"{r.software_version} · dataset {r.dataset_hash[:16]}…</footer></main></body></html>"
    )

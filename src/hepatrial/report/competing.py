"""Cumulative incidence sections of the report, one per protocol endpoint with competing events.

An endpoint gets a cumulative incidence figure when its event has an ADTTE parameter
(:data:`hepatrial.analysis.results.TTE_PARAMS`) with competing events, and either

* the endpoint names competing events or plans a ``cumulative_incidence`` analysis, or
* it is a binary endpoint over a time horizon (participants with the event by week 24) whose
  event death can preclude (an infection, a decompensation, a cause-specific death): the figure
  shows when the events happened, with the competing events of its ADTTE parameter. Death from
  any cause as a binary endpoint gets no figure of its own unless the protocol names a
  competing event for it (it would repeat the survival curve).

Nothing else is drawn: a protocol without such an endpoint has no cumulative incidence section.
Each figure is the Aalen-Johansen estimate by arm with a pointwise log(−log) 95% band and Gray's
test; the caption counts the events of interest and the competing events observed in each arm.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hepatrial.analysis.adtte import PARAMS
from hepatrial.analysis.results import TTE_PARAMS
from hepatrial.protocol import Endpoint, Protocol
from hepatrial.report import figures, tables

EVENT_NAMES = {
    "death": "death",
    "death_other": "death from other causes",
    "transplant": "liver transplant",
}
_COMPETING = {p.code: p.competing for p in PARAMS}
EVENTS = {
    "OS": "Death from any cause",
    "TFS": "Death or liver transplant",
    "DTHMOF": "Death from multi-organ failure or severe infection",
    "INFECT": "First severe infection",
    "DECOMP": "First decompensation",
}


@dataclass(frozen=True)
class CompetingRiskView:
    """One cumulative incidence figure: the endpoint, its ADTTE parameter and horizon."""

    endpoint: Endpoint
    paramcd: str
    competing: tuple[str, ...]
    horizon_days: float

    @property
    def title(self) -> str:
        """The event and what competes with it."""
        names = ", ".join(EVENT_NAMES.get(c, c.replace("_", " ")) for c in self.competing)
        return f"{EVENTS.get(self.paramcd, self.paramcd)} (competing: {names})"


def _plans_competing(endpoint: Endpoint) -> bool:
    estimators = {endpoint.estimator, *(a.estimator for a in endpoint.additional)}
    return bool(endpoint.competing_events) or "cumulative_incidence" in estimators


def competing_risk_views(protocol: Protocol, default_horizon: float) -> list[CompetingRiskView]:
    """The endpoints of ``protocol`` that get a cumulative incidence figure, in protocol order."""
    views: list[CompetingRiskView] = []
    for endpoint in protocol.endpoints:
        paramcd = TTE_PARAMS.get(endpoint.variable)
        if paramcd is None or not _COMPETING.get(paramcd):
            continue
        over_time = (
            endpoint.kind == "binary"
            and endpoint.time_horizon_days is not None
            and any(c.startswith("death") for c in _COMPETING[paramcd])
        )
        if not (_plans_competing(endpoint) or over_time):
            continue
        if any(v.paramcd == paramcd for v in views):
            continue
        horizon = float(endpoint.time_horizon_days or default_horizon)
        views.append(CompetingRiskView(endpoint, paramcd, _COMPETING[paramcd], horizon))
    return views


def _loglog_band(estimate: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise 95% band of a cumulative incidence on the log(-log) scale (where 0 < F < 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 1.959964 * np.sqrt(variance) / np.abs(estimate * np.log(estimate))
        lower = estimate ** np.exp(scale)
        upper = estimate ** np.exp(-scale)
    valid = (estimate > 0) & (estimate < 1)
    return np.where(valid, lower, estimate), np.where(valid, upper, estimate)


def _curve(fit: Any, arm: str) -> pd.DataFrame:
    curve = fit.curves.get((arm, 1))
    if curve is None:
        return pd.DataFrame({"time": [], "estimate": [], "lower": [], "upper": []})
    lower, upper = _loglog_band(curve.estimate, curve.variance)
    return pd.DataFrame(
        {"time": curve.time, "estimate": curve.estimate, "lower": lower, "upper": upper}
    )


def _caption(fit: Any, rows: pd.DataFrame, arms: Mapping[str, str], view: CompetingRiskView) -> str:
    gray = ""
    if fit.tests is not None and not fit.tests.empty:
        p = fit.tests.loc[fit.tests["cause"] == 1, "p_value"]
        gray = f" Gray's test P = {tables.fmt_p(float(p.iloc[0]))}." if len(p) else ""
    events = rows[rows["CRSTAT"] == 1].groupby("ARMCD").size()
    competing = rows[rows["CRSTAT"] == 2].groupby("ARMCD").size()
    observed = ", ".join(f"{label} {int(events.get(arm, 0))}" for arm, label in arms.items())
    counts = ", ".join(f"{label} {int(competing.get(arm, 0))}" for arm, label in arms.items())
    note = f" Events of interest: {observed}." + (
        f" Competing events observed: {counts}."
        if len(competing)
        else " No competing event was observed, so the curve equals 1 − Kaplan-Meier."
    )
    return (
        f"Endpoint: {view.endpoint.label}. Aalen-Johansen estimate with pointwise log(−log) "
        f"95% CI.{gray}{note}"
    )


def competing_risk_section(
    adtte: pd.DataFrame,
    views: list[CompetingRiskView],
    arms: Mapping[str, str],
    estimator: Callable[..., Any],
    figure_html: Callable[[str, str, str], str],
) -> str:
    """HTML of every view with at least one event of interest ('' when there is none)."""
    parts = []
    for view in views:
        rows = adtte[adtte["PARAMCD"] == view.paramcd]
        rows = rows[rows["ARMCD"].isin(list(arms))]
        if int((rows["CRSTAT"] == 1).sum()) == 0:
            continue
        fit = estimator(rows["AVAL"], rows["CRSTAT"], group=rows["ARMCD"])
        uri = figures.step_curves(
            {arm: _curve(fit, arm) for arm in arms},
            arms,
            ylabel="Cumulative incidence",
            horizon=view.horizon_days,
            risk_times=tables.risk_times(view.horizon_days),
            at_risk=None,
            rising=True,
        )
        parts.append(
            f"<h3>{html.escape(view.title)}</h3>"
            + figure_html(uri, _caption(fit, rows, arms, view), view.title)
        )
    return "".join(parts)

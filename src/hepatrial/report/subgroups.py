"""Subgroup estimates of the primary endpoint for the forest plot.

Subgroups: sex, age below / at or above the median, and every allocation factor. Within each
level the primary estimator is re-run on the subset with :mod:`hepatrial.stats`: the
baseline-adjusted difference in change (:func:`~hepatrial.stats.change_from_baseline`), or the
difference in Kaplan-Meier survival at the horizon with the CI
``d ± z sqrt(se1² + se2²)`` from the Greenwood standard errors. Levels with fewer than two
participants in an arm are skipped, and so is a factor left with fewer than two levels (it
would only repeat the overall estimate). When the primary analysis was not run (e.g. an arm is
still empty) there is no subgroup table.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from hepatrial.analysis.adam import AdamDatasets
from hepatrial.analysis.labs import paramcd_for
from hepatrial.analysis.results import TTE_PARAMS, EndpointResult, PlanResults
from hepatrial.exceptions import ConvergenceError, DataCheckError, NotEstimableError
from hepatrial.protocol import Protocol
from hepatrial.report.labels import strat_labels
from hepatrial.report.tables import strat_levels
from hepatrial.stats import change_from_baseline
from hepatrial.stats.survival import kaplan_meier

COLUMNS = ["subgroup", "level", "n", "estimate", "ci_low", "ci_high"]


def _levels(adsl: pd.DataFrame, protocol: Protocol) -> list[tuple[str, str, pd.Series]]:
    median_age = float(adsl["AGE"].median())
    out = [
        ("Sex", "female", adsl["SEX"] == "F"),
        ("Sex", "male", adsl["SEX"] == "M"),
        ("Age", f"< {median_age:.0f} y", adsl["AGE"] < median_age),
        ("Age", f"≥ {median_age:.0f} y", adsl["AGE"] >= median_age),
    ]
    for column in [c for c in adsl.columns if c.startswith("STRAT_")]:
        labels = strat_labels(protocol, column)
        out += [
            (labels.name, labels.level(v), adsl[column] == v)
            for v in strat_levels(adsl[column], labels)
        ]
    return out


def _change_estimate(data: pd.DataFrame, control: str) -> tuple[float, float, float]:
    fit = change_from_baseline(
        data, baseline="BASE", follow_up="AVAL", group="ARMCD", method="ancova", reference=control
    )
    return fit.estimate, fit.ci_low, fit.ci_high


def _survival_estimate(
    data: pd.DataFrame, experimental: str, control: str, horizon: float, conf_type: str
) -> tuple[float, float, float]:
    values = []
    for arm in (experimental, control):
        g = data[data["ARMCD"] == arm]
        km = kaplan_meier(g["AVAL"], 1 - g["CNSR"], conf_type="plain")
        at = km.at([min(horizon, float(g["AVAL"].max()))]).iloc[0]
        values.append((float(at["survival"]), float(at["std_err"])))
    diff = values[0][0] - values[1][0]
    half = float(scipy_stats.norm.ppf(0.975)) * math.hypot(values[0][1], values[1][1])
    return diff, diff - half, diff + half


def subgroup_table(
    adam: AdamDatasets, results: PlanResults, protocol: Protocol
) -> tuple[pd.DataFrame, str]:
    """Rows for :func:`hepatrial.report.figures.forest_plot` and the x-axis label."""
    primary = results.result(protocol.primary_endpoint.id)
    data, label = _primary_data(adam, primary, protocol)
    if data is None or primary.status != "done":
        # nothing to split when the overall primary analysis could not be run
        return pd.DataFrame(columns=COLUMNS), label
    experimental, control = results.experimental_arm, results.control_arm
    horizon = float(protocol.primary_endpoint.time_horizon_days or 0)

    def estimate(subset: pd.DataFrame) -> tuple[float, float, float]:
        if primary.kind == "change_from_baseline":
            return _change_estimate(subset, control)
        return _survival_estimate(subset, experimental, control, horizon, "plain")

    rows: list[list[object]] = [["Overall", "", len(data), *estimate(data)]]
    by_factor: dict[str, list[list[object]]] = {}
    for name, level, mask in _levels(adam.adsl, protocol):
        ids = adam.adsl.loc[mask.to_numpy(), "USUBJID"]
        subset = data[data["USUBJID"].isin(ids)]
        if subset.groupby("ARMCD").size().reindex([experimental, control]).fillna(0).min() < 2:
            continue
        try:
            by_factor.setdefault(name, []).append([name, level, len(subset), *estimate(subset)])
        except (NotEstimableError, DataCheckError, ConvergenceError, np.linalg.LinAlgError):
            continue  # the subgroup's data do not allow the estimate; a bug still propagates
    # a factor with one estimable level only repeats the overall estimate
    rows += [row for levels in by_factor.values() if len(levels) >= 2 for row in levels]
    return pd.DataFrame(rows, columns=COLUMNS), label


def _primary_data(
    adam: AdamDatasets, primary: EndpointResult, protocol: Protocol
) -> tuple[pd.DataFrame | None, str]:
    endpoint = protocol.primary_endpoint
    if primary.kind == "change_from_baseline":
        lb = adam.adlb
        paramcd = paramcd_for(endpoint.variable)
        rows = lb[(lb["PARAMCD"] == paramcd) & (lb["AVISIT"] == endpoint.visits[0])]
        rows = rows[(rows["ANL01FL"] == "Y") & rows["BASE"].notna()]
        return rows, f"Difference in change of {paramcd} (experimental − control), 95% CI"
    if primary.kind == "time_to_event" and endpoint.variable in TTE_PARAMS:
        tte = adam.adtte
        rows = tte[tte["PARAMCD"] == TTE_PARAMS[endpoint.variable]]
        return rows, (
            f"Difference in survival at day {endpoint.time_horizon_days} "
            "(experimental − control), 95% CI"
        )
    return None, "no subgroup analysis for this kind of primary endpoint"

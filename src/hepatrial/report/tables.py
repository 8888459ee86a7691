"""Report tables: baseline characteristics by arm, adverse events by system organ class,
endpoint results, numbers at risk and exclusions, as DataFrames ready for HTML."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from hepatrial.analysis.adam import AdamDatasets
from hepatrial.analysis.results import EndpointResult, PlanResults
from hepatrial.protocol import Protocol
from hepatrial.report.labels import FactorLabels, strat_labels

BASELINE_PARAMS = (
    ("BMELD", "MELD score", 1),
    ("BBILI", "Total bilirubin, µmol/L", 0),
    ("BINR", "INR", 2),
    ("BCREAT", "Creatinine, µmol/L", 0),
    ("BALB", "Albumin, g/L", 1),
    ("BPLAT", "Platelets, 10⁹/L", 0),
    ("BELF", "ELF score", 2),
    ("BEQ5D", "EQ-5D-5L index", 2),
    ("BLSM", "Liver stiffness, kPa", 1),
    ("SCR_LIVER_STIFFNESS_KPA", "Liver stiffness at screening, kPa", 1),
)
# a screening fact shown only when the same measurement has no baseline (day 0) record
_SCREENING_STAND_INS = {"SCR_LIVER_STIFFNESS_KPA": "BLSM"}


def fmt_p(p: float | None) -> str:
    """P value as reported: 3 decimals, ``<0.001`` below that, ``–`` when missing."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_num(x: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals and a true minus sign; ``–`` when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{digits}f}".replace("-", "−")


def _n_pct(x: int, n: int) -> str:
    return f"{x} ({100.0 * x / n:.1f}%)" if n else "0"


def _mean_sd(values: pd.Series) -> str:
    """``mean (SD)``; ``–`` for an empty arm, and the SD ``–`` for a single participant."""
    return f"{fmt_num(float(values.mean()), 1)} ({fmt_num(float(values.std()), 1)})"


def table_one(
    adam: AdamDatasets, arms: Mapping[str, str], protocol: Protocol | None = None
) -> pd.DataFrame:
    """Baseline characteristics by arm (randomized population): n (%), mean (SD), median [IQR].

    Stratification factors and their levels carry the labels of ``protocol``
    (:func:`hepatrial.report.labels.factor_labels`), in the protocol's level order.
    """
    adsl = adam.adsl
    groups = {label: adsl[adsl["ARMCD"] == arm] for arm, label in arms.items()}
    groups["Total"] = adsl
    rows: list[dict[str, str]] = [
        {"Characteristic": "Participants, n"} | {k: str(len(g)) for k, g in groups.items()}
    ]
    rows.append(
        {"Characteristic": "Age, years, mean (SD)"}
        | {k: _mean_sd(g["AGE"]) for k, g in groups.items()}
    )
    rows.append(
        {"Characteristic": "Female, n (%)"}
        | {k: _n_pct(int((g["SEX"] == "F").sum()), len(g)) for k, g in groups.items()}
    )
    for column in [c for c in adsl.columns if c.startswith("STRAT_")]:
        labels = strat_labels(protocol, column)
        for level in strat_levels(adsl[column], labels):
            rows.append(
                {"Characteristic": f"{labels.name}: {labels.level(level)}, n (%)"}
                | {k: _n_pct(int((g[column] == level).sum()), len(g)) for k, g in groups.items()}
            )
    for column, label, digits in BASELINE_PARAMS:
        stand_in_for = _SCREENING_STAND_INS.get(column)
        if stand_in_for is not None and adsl.get(stand_in_for, pd.Series()).notna().any():
            continue
        if column in adsl:
            rows.append(
                {"Characteristic": f"{label}, median [IQR]"}
                | {k: _median_iqr(g[column], digits) for k, g in groups.items()}
            )
    return pd.DataFrame(rows)


def strat_levels(values: pd.Series, labels: FactorLabels) -> list[object]:
    """Levels present in ``values``: the protocol's order first, then any other sorted."""
    present = set(values.dropna().unique())
    listed = [lv for lv in labels.levels if lv in present]
    return [*listed, *sorted(present - set(listed), key=str)]


def _median_iqr(values: pd.Series, digits: int) -> str:
    v = values.dropna()
    if v.empty:
        return "–"
    q1, q2, q3 = np.percentile(v, [25, 50, 75])
    return f"{q2:.{digits}f} [{q1:.{digits}f}–{q3:.{digits}f}]"


def adverse_events(
    adam: AdamDatasets, arms: Mapping[str, str], population: str = "SAFFL"
) -> pd.DataFrame:
    """Treatment-emergent events by system organ class: participants n (%) and events, by arm.

    Rows: any adverse event, any serious, liver-related serious, then every system organ class
    (serious and non-serious together), sorted by total participants.
    """
    adsl = adam.adsl[adam.adsl[population] == "Y"]
    ae = adam.adae[(adam.adae["TRTEMFL"] == "Y") & adam.adae["USUBJID"].isin(adsl["USUBJID"])]
    sizes = {arm: int((adsl["ARMCD"] == arm).sum()) for arm in arms}
    subsets = [
        ("Any adverse event", ae),
        ("Any serious adverse event", ae[ae["AESER"] == "Y"]),
        ("Liver-related serious adverse event", ae[(ae["AESER"] == "Y") & (ae["AELIVER"] == "Y")]),
    ]
    order = ae.groupby("AEBODSYS")["USUBJID"].nunique().sort_values(ascending=False).index
    # the report indents these rows under the three totals (style.css, #adverse-events)
    subsets += [(str(soc), ae[ae["AEBODSYS"] == soc]) for soc in order]
    rows = []
    for label, rows_ae in subsets:
        row = {"Category / system organ class": label}
        for arm, arm_label in arms.items():
            mine = rows_ae[rows_ae["ARMCD"] == arm]
            row[f"{arm_label} (N={sizes[arm]}) participants"] = _n_pct(
                mine["USUBJID"].nunique(), sizes[arm]
            )
            row[f"{arm_label} events"] = str(len(mine))
        rows.append(row)
    return pd.DataFrame(rows)


ESTIMATORS = {
    "ancova": "ANCOVA",
    "t-test": "t-test",
    "fisher": "Fisher's exact test",
    "chisq": "Pearson's χ² test",
    "chisq-yates": "χ² test, Yates-corrected",
    "poisson": "Exact Poisson test",
    "mmrm": "MMRM",
    "kaplan_meier": "Kaplan-Meier, log-rank test",
    "cox": "Cox regression",
    "cumulative_incidence": "Aalen-Johansen, Gray's test",
    "fine_gray": "Fine-Gray regression",
}
POPULATIONS = {"itt": "ITT", "treated": "Safety (treated)", "per_protocol": "Per protocol"}
_MEASURES = {
    "ancova": "Difference in mean change, baseline-adjusted",
    "t-test": "Difference in mean change",
    "fisher": "Risk difference",
    "chisq": "Risk difference",
    "chisq-yates": "Risk difference",
    "poisson": "Rate ratio",
    "cox": "Hazard ratio",
    "fine_gray": "Subdistribution hazard ratio",
}


def _visit_label(visit: str, visit_labels: Mapping[str, str]) -> str:
    return visit_labels.get(visit, visit)


def measure(r: EndpointResult, visit_labels: Mapping[str, str] | None = None) -> str:
    """What the estimate of ``r`` is, in words ("Risk difference", "Hazard ratio", ...)."""
    horizon = r.options.get("time_horizon_days")
    if r.estimator == "kaplan_meier" and horizon:
        return f"Difference in survival at day {horizon}"
    if r.estimator == "cumulative_incidence" and horizon:
        return f"Difference in cumulative incidence at day {horizon}"
    if r.estimator == "mmrm":
        visits = [k.removeprefix("difference@") for k in r.by_arm if k.startswith("difference@")]
        if visits:
            return f"Difference in change at {_visit_label(visits[-1], visit_labels or {})}"
    return _MEASURES.get(r.estimator, r.estimate_label)


def results_table(
    results: PlanResults,
    arms: Mapping[str, str],
    visit_labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Every analysis: endpoint, role and method, population, n, measure, estimate (CI), P."""
    rows = []
    for r in results.results:
        estimate = fmt_num(r.estimate, 3)
        if r.ci_low is not None and not math.isnan(r.ci_low):
            estimate += f" ({fmt_num(r.ci_low, 3)} to {fmt_num(r.ci_high, 3)})"
        done = r.status == "done"
        rows.append(
            {
                "Endpoint": r.label,
                "Analysis": f"{r.role.capitalize()}: {ESTIMATORS.get(r.estimator, r.estimator)}",
                "Population": POPULATIONS.get(r.population, r.population),
                "n": str(r.n) if done else "–",
                "Measure": measure(r, visit_labels) if done else "",
                "Estimate (95% CI)": estimate if done else f"Not run: {r.note}",
                "P": fmt_p(r.p_value),
                "By arm or visit": by_arm_text(r, arms, visit_labels),
            }
        )
    return pd.DataFrame(rows)


def _arm_text(v: Mapping[str, float]) -> str | None:
    if "survival" in v:
        low, high = 100 * v["ci_low"], 100 * v["ci_high"]
        return f"{100 * v['survival']:.1f}% ({low:.1f}–{high:.1f})"
    if "incidence" in v:
        return f"{100 * v['incidence']:.1f}% ({int(v['events'])} events)"
    if "proportion" in v:
        return f"{int(v['events'])}/{int(v['n'])} ({100 * v['proportion']:.1f}%)"
    if "mean_change" in v:
        return f"mean change {fmt_num(v['mean_change'])} (n={int(v['n'])})"
    if "person_years" in v:
        events = int(v["events"])
        noun = "event" if events == 1 else "events"
        return f"{events} {noun} / {v['person_years']:.1f} person-years"
    return None


def by_arm_text(
    r: EndpointResult, arms: Mapping[str, str], visit_labels: Mapping[str, str] | None = None
) -> str:
    """Short per-arm figures of a result (survival with CI, proportions, mean changes), or the
    difference at each visit of a repeated-measures analysis."""
    parts = []
    for arm, label in arms.items():
        text = _arm_text(r.by_arm.get(arm) or {})
        if text:
            parts.append(f"{label}: {text}")
    for key, v in r.by_arm.items():
        if key.startswith("difference@"):
            visit = _visit_label(key.removeprefix("difference@"), visit_labels or {})
            parts.append(
                f"{visit}: {fmt_num(v['estimate'])} "
                f"({fmt_num(v['ci_low'])} to {fmt_num(v['ci_high'])})"
            )
    return "; ".join(parts)


def exclusions_table(adam: AdamDatasets, results: PlanResults) -> pd.DataFrame:
    """Every record or participant left out, by dataset or analysis, with the reason."""
    rows = [{"Where": d, "Reason": e.reason, "Count": e.count} for d, e in adam.exclusions]
    for r in results.results:
        rows += [
            {"Where": f"{r.endpoint_id} ({r.estimator})", "Reason": e.reason, "Count": e.count}
            for e in r.exclusions
        ]
    return pd.DataFrame(rows, columns=["Where", "Reason", "Count"])


def risk_times(horizon: float) -> list[float]:
    """Tick and numbers-at-risk times: about six round steps from 0 to the horizon."""
    for step in (7, 14, 28, 30, 60, 90, 180, 365):
        if horizon / step <= 7:
            return [float(t) for t in np.arange(0, horizon + 0.5, step)]
    return [0.0, float(horizon)]


def mean_ci(values: pd.Series) -> tuple[float, float, float]:
    """Mean with a t-based 95% CI (the mean alone for one value)."""
    v = values.dropna().to_numpy(float)
    if v.size < 2:
        m = float(v.mean()) if v.size else float("nan")
        return m, m, m
    half = float(stats.t.ppf(0.975, v.size - 1)) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return float(v.mean()), float(v.mean()) - half, float(v.mean()) + half


def trajectory_means(
    adam: AdamDatasets, paramcd: str, visit_days: Mapping[str, int], arms: Sequence[str]
) -> pd.DataFrame:
    """Mean (95% CI) of ``paramcd`` at each analysed visit and arm."""
    lb = adam.adlb
    rows = lb[(lb["PARAMCD"] == paramcd) & (lb["ANL01FL"] == "Y") & lb["AVISIT"].isin(visit_days)]
    out = []
    for (arm, visit), g in rows.groupby(["ARMCD", "AVISIT"]):
        if arm in arms and len(g) >= 2:
            m, lo, hi = mean_ci(g["AVAL"])
            out.append(
                {
                    "arm": arm,
                    "day": visit_days[str(visit)],
                    "mean": m,
                    "lower": lo,
                    "upper": hi,
                    "n": len(g),
                }
            )
    return pd.DataFrame(out, columns=["arm", "day", "mean", "lower", "upper", "n"])

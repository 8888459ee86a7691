"""Report tables: baseline characteristics by arm, adverse events by system organ class,
endpoint results, numbers at risk and exclusions, as DataFrames ready for HTML."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hepatrial.analysis.adam import AdamDatasets
from hepatrial.analysis.results import EndpointResult, PlanResults

BASELINE_PARAMS = (
    ("BMELD", "MELD score", 1),
    ("BBILI", "Total bilirubin, µmol/L", 0),
    ("BINR", "INR", 2),
    ("BCREAT", "Creatinine, µmol/L", 0),
    ("BALB", "Albumin, g/L", 1),
    ("BPLAT", "Platelets, 10⁹/L", 0),
    ("BELF", "ELF score", 2),
    ("BEQ5D", "EQ-5D-5L index", 2),
    ("SCR_LIVER_STIFFNESS_KPA", "Liver stiffness at screening, kPa", 1),
)


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


def table_one(adam: AdamDatasets, arms: Mapping[str, str]) -> pd.DataFrame:
    """Baseline characteristics by arm (randomized population): n (%), mean (SD), median [IQR]."""
    adsl = adam.adsl
    groups = {label: adsl[adsl["ARMCD"] == arm] for arm, label in arms.items()}
    groups["Total"] = adsl
    rows: list[dict[str, str]] = [
        {"Characteristic": "Participants, n"} | {k: str(len(g)) for k, g in groups.items()}
    ]
    rows.append(
        {"Characteristic": "Age, years, mean (SD)"}
        | {k: f"{g['AGE'].mean():.1f} ({g['AGE'].std():.1f})" for k, g in groups.items()}
    )
    rows.append(
        {"Characteristic": "Female, n (%)"}
        | {k: _n_pct(int((g["SEX"] == "F").sum()), len(g)) for k, g in groups.items()}
    )
    for column in [c for c in adsl.columns if c.startswith("STRAT_")]:
        name = column.removeprefix("STRAT_").replace("_", " ").capitalize()
        for level in sorted(adsl[column].dropna().unique()):
            rows.append(
                {"Characteristic": f"{name}: {level}, n (%)"}
                | {k: _n_pct(int((g[column] == level).sum()), len(g)) for k, g in groups.items()}
            )
    for column, label, digits in BASELINE_PARAMS:
        if column in adsl:
            rows.append(
                {"Characteristic": f"{label}, median [IQR]"}
                | {k: _median_iqr(g[column], digits) for k, g in groups.items()}
            )
    return pd.DataFrame(rows)


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
    subsets += [(f"  {soc}", ae[ae["AEBODSYS"] == soc]) for soc in order]
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


def results_table(results: PlanResults, arms: Mapping[str, str]) -> pd.DataFrame:
    """Every analysis: endpoint, role, estimator, population, n, estimate (CI), P."""
    rows = []
    for r in results.results:
        estimate = fmt_num(r.estimate, 3)
        if r.ci_low is not None and not math.isnan(r.ci_low):
            estimate += f" ({fmt_num(r.ci_low, 3)} to {fmt_num(r.ci_high, 3)})"
        rows.append(
            {
                "Endpoint": r.label,
                "Analysis": f"{r.role}: {r.estimator}",
                "Population": r.population,
                "n": str(r.n),
                "Estimate (95% CI)": estimate if r.status == "done" else r.note,
                "P": fmt_p(r.p_value),
                "Arms": by_arm_text(r, arms),
            }
        )
    return pd.DataFrame(rows)


def by_arm_text(r: EndpointResult, arms: Mapping[str, str]) -> str:
    """Short per-arm figures of a result (survival with CI, proportions, mean changes)."""
    parts = []
    for arm, label in arms.items():
        v = r.by_arm.get(arm)
        if not v:
            continue
        short = label
        if "survival" in v:
            low, high = 100 * v["ci_low"], 100 * v["ci_high"]
            parts.append(f"{short}: {100 * v['survival']:.1f}% ({low:.1f}–{high:.1f})")
        elif "proportion" in v:
            parts.append(
                f"{short}: {int(v['events'])}/{int(v['n'])} ({100 * v['proportion']:.1f}%)"
            )
        elif "mean_change" in v:
            parts.append(f"{short}: mean change {fmt_num(v['mean_change'])} (n={int(v['n'])})")
        elif "person_years" in v:
            parts.append(
                f"{short}: {int(v['events'])} events / {v['person_years']:.1f} person-years"
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
    from scipy import stats

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

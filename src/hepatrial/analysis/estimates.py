"""One handler per endpoint kind: select the analysis data, call the estimator, report.

Handlers receive the plan context and one :class:`~hepatrial.analysis.plan.Analysis` and return
an :class:`~hepatrial.analysis.plan.EndpointResult`; every estimate comes from
:mod:`hepatrial.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from hepatrial import stats
from hepatrial.analysis.adtte import PARAMS
from hepatrial.analysis.labs import paramcd_for
from hepatrial.analysis.results import TTE_PARAMS, Analysis, Context, EndpointResult, base_result
from hepatrial.exceptions import DataCheckError
from hepatrial.stats import compare_proportions, gray_test, kaplan_meier, logrank, mmrm, rate_ratio
from hepatrial.stats.engine import Exclusion

ConfType = Literal["plain", "log", "log-log"]


def _visit_day(ctx: Context, visit_id: str) -> int:
    return next(v.day for v in ctx.protocol.visits if v.id == visit_id)


def _missing_reasons(
    population: pd.DataFrame, present: pd.Series, day: int
) -> tuple[Exclusion, ...]:
    absent = population[~population["USUBJID"].isin(present)]
    died = absent["DTHDY"].notna() & (absent["DTHDY"] <= day)
    withdrew = ~died & (absent["WDFL"] == "Y")
    counts = {
        f"died before day {day}": int(died.sum()),
        f"withdrew before day {day}": int(withdrew.sum()),
        f"no value in the day-{day} window": int((~died & ~withdrew).sum()),
    }
    return tuple(Exclusion(r, n) for r, n in counts.items() if n)


def change_from_baseline(ctx: Context, a: Analysis) -> EndpointResult:
    """ANCOVA on the change adjusted for baseline, or the pooled / Welch t-test."""
    estimator = stats.change_from_baseline
    e = a.endpoint
    paramcd = paramcd_for(e.variable)
    visit = e.visits[0]
    population = ctx.population(a.population)
    lb = ctx.adam.adlb
    rows = lb[(lb["PARAMCD"] == paramcd) & (lb["AVISIT"] == visit) & (lb["ANL01FL"] == "Y")]
    rows = rows[rows["USUBJID"].isin(population["USUBJID"]) & rows["BASE"].notna()]
    day = _visit_day(ctx, visit)
    exclusions = _missing_reasons(population, rows["USUBJID"], day)
    if rows.empty:
        return base_result(
            ctx,
            a,
            status="not run",
            exclusions=exclusions,
            note=f"no analysable ADLB records of {paramcd} at {visit}",
        )
    data = pd.DataFrame({"arm": rows["ARMCD"], "baseline": rows["BASE"], "follow_up": rows["AVAL"]})
    fit = estimator(
        data,
        baseline="baseline",
        follow_up="follow_up",
        group="arm",
        method=cast(Literal["ancova", "t-test", "welch"], a.estimator),
        reference=ctx.control,
        conf_level=a.conf_level,
    )
    by_arm = {
        arm: {"n": float(len(g)), "mean_change": float((g["follow_up"] - g["baseline"]).mean())}
        for arm, g in data.groupby("arm")
    }
    return base_result(
        ctx,
        a,
        estimate_label=f"difference in mean change of {paramcd} day 0→{day} "
        f"({ctx.experimental} − {ctx.control})",
        estimate=fit.estimate,
        ci_low=fit.ci_low,
        ci_high=fit.ci_high,
        p_value=fit.p_value,
        n=int(fit.n),
        by_arm=by_arm | {"_fit": {"se": fit.se, "df": float(fit.df)}},
        exclusions=exclusions,
        test=a.estimator,
        note=f"{fit.method}",
    )


def _tte_rows(ctx: Context, a: Analysis) -> pd.DataFrame:
    paramcd = TTE_PARAMS[a.endpoint.variable]
    tte = ctx.adam.adtte
    population = ctx.population(a.population)
    rows = tte[(tte["PARAMCD"] == paramcd) & tte["USUBJID"].isin(population["USUBJID"])].copy()
    horizon = float(a.endpoint.time_horizon_days or rows["AVAL"].max())
    after = rows["AVAL"] > horizon
    rows.loc[after, "CNSR"] = 1
    rows.loc[after, "CRSTAT"] = 0
    rows.loc[after, "AVAL"] = horizon
    return rows


_STATS_NAMES = {
    "cox": "cox_ph",
    "cumulative_incidence": "cumulative_incidence",
    "fine_gray": "fine_gray",
}


def time_to_event(ctx: Context, a: Analysis) -> EndpointResult:
    """Kaplan-Meier at the horizon with log-rank, Cox hazard ratio, cumulative incidence with
    Gray's test, or Fine-Gray subdistribution hazard ratio."""
    rows = _tte_rows(ctx, a)
    horizon = float(a.endpoint.time_horizon_days or rows["AVAL"].max())
    if a.estimator == "kaplan_meier":
        return _kaplan_meier(ctx, a, rows, horizon)
    estimator = getattr(stats, _STATS_NAMES[a.estimator])
    if a.estimator == "cox":
        return _cox(ctx, a, rows, estimator)
    _check_competing(ctx, a)
    if a.estimator == "fine_gray":
        return _fine_gray(ctx, a, rows, estimator)
    return _cumulative_incidence(ctx, a, rows, horizon, estimator)


def _check_competing(ctx: Context, a: Analysis) -> None:
    """The endpoint's competing events must be those ADTTE codes as CRSTAT = 2."""
    paramcd = TTE_PARAMS[a.endpoint.variable]
    coded = {p.code: set(p.competing) for p in PARAMS}[paramcd]
    named = set(a.endpoint.competing_events)
    if named != coded:
        raise DataCheckError(
            f"endpoint {a.endpoint.id}: competing_events={sorted(named)} but ADTTE parameter "
            f"{paramcd} codes {sorted(coded)} as competing (CRSTAT = 2); name exactly those"
        )


def _kaplan_meier(ctx: Context, a: Analysis, rows: pd.DataFrame, horizon: float) -> EndpointResult:
    conf_type = a.ci_method or "log"
    if conf_type not in ("plain", "log", "log-log"):
        raise DataCheckError(
            f"endpoint {a.endpoint.id}: ci method {conf_type!r} does not apply to Kaplan-Meier; "
            "use plain, log or log-log"
        )
    by_arm: dict[str, dict[str, float]] = {}
    for arm in (ctx.experimental, ctx.control):
        g = rows[rows["ARMCD"] == arm]
        km = kaplan_meier(
            g["AVAL"], 1 - g["CNSR"], conf_type=cast(ConfType, conf_type), conf_level=a.conf_level
        )
        # R's summary(fit, times=, extend=TRUE): past the last follow-up the curve stays flat
        at = km.at([min(horizon, float(g["AVAL"].max()))]).iloc[0]
        by_arm[arm] = {
            "n": float(len(g)),
            "events": float((g["CNSR"] == 0).sum()),
            "survival": float(at["survival"]),
            "ci_low": float(at["lower"]),
            "ci_high": float(at["upper"]),
            "std_err": float(at["std_err"]),
        }
    test = logrank(rows["AVAL"], 1 - rows["CNSR"], rows["ARMCD"], reference=ctx.control)
    diff = by_arm[ctx.experimental]["survival"] - by_arm[ctx.control]["survival"]
    se = math.hypot(by_arm[ctx.experimental]["std_err"], by_arm[ctx.control]["std_err"])
    low, high = _wald(diff, se, a.conf_level)
    return base_result(
        ctx,
        a,
        estimate_label=f"difference in Kaplan-Meier survival at day {horizon:g} "
        f"({ctx.experimental} − {ctx.control})",
        estimate=diff,
        ci_low=low,
        ci_high=high,
        p_value=float(test.p_value),
        n=len(rows),
        by_arm=by_arm,
        note=f"Kaplan-Meier, Greenwood variance, {conf_type} CI per arm; difference ± z·SE "
        f"(Greenwood SEs of independent arms); {test.method}",
    )


def _wald(estimate: float, se: float, conf_level: float) -> tuple[float, float]:
    """``estimate ± z SE`` with ``z`` the normal quantile of ``(1 + conf_level) / 2``."""
    z = float(scipy_stats.norm.ppf(0.5 + conf_level / 2))
    return estimate - z * se, estimate + z * se


def _treated_effect(fit: Any) -> dict[str, float]:
    """Hazard ratio, CI and P value of the ``treated`` term of a fitted hazards regression."""
    return {
        "estimate": float(fit.hazard_ratio["treated"]),
        "ci_low": float(fit.ci.loc["treated", "ci_low"]),
        "ci_high": float(fit.ci.loc["treated", "ci_high"]),
        "p_value": float(fit.p_value["treated"]),
    }


def _cox(
    ctx: Context, a: Analysis, rows: pd.DataFrame, estimator: Callable[..., Any]
) -> EndpointResult:
    data = pd.DataFrame(
        {
            "time": rows["AVAL"],
            "event": 1 - rows["CNSR"],
            "treated": (rows["ARMCD"] == ctx.experimental).astype(float),
        }
    )
    fit = estimator(
        data, time="time", event="event", covariates=["treated"], conf_level=a.conf_level
    )
    return base_result(
        ctx,
        a,
        estimate_label=f"hazard ratio ({ctx.experimental} / {ctx.control})",
        **_treated_effect(fit),
        n=len(rows),
        note="Cox proportional hazards (Efron ties), Wald CI",
    )


def _cumulative_incidence(
    ctx: Context, a: Analysis, rows: pd.DataFrame, horizon: float, estimator: Callable[..., Any]
) -> EndpointResult:
    if not (rows["CRSTAT"] != 0).any():
        return base_result(
            ctx,
            a,
            status="not run",
            n=len(rows),
            note=f"no {a.endpoint.variable.replace('_', ' ')} or competing event in either "
            f"arm by day {horizon:g}: every participant is censored",
        )
    fit = estimator(rows["AVAL"], rows["CRSTAT"], group=rows["ARMCD"])
    at = fit.at([horizon])
    by_arm = {}
    for arm in (ctx.experimental, ctx.control):
        g = rows[rows["ARMCD"] == arm]
        value = at[(at["group"] == arm) & (at["cause"] == 1)]
        by_arm[arm] = {
            "n": float(len(g)),
            "events": float((g["CRSTAT"] == 1).sum()),
            "competing": float((g["CRSTAT"] == 2).sum()),
            "incidence": float(value["estimate"].iloc[0]) if len(value) else float("nan"),
            "variance": float(value["variance"].iloc[0]) if len(value) else float("nan"),
        }
    p_value, gray_note = None, "Gray's test not computed: no event of interest"
    if (rows["CRSTAT"] == 1).any():
        gray = gray_test(rows["AVAL"], rows["CRSTAT"], rows["ARMCD"], cause_of_interest=1)
        p_value = float(gray.p_value)
        gray_note = f"Gray's test χ² = {gray.statistic:.3f} on {gray.df} df"
    diff = by_arm[ctx.experimental]["incidence"] - by_arm[ctx.control]["incidence"]
    se = math.sqrt(by_arm[ctx.experimental]["variance"] + by_arm[ctx.control]["variance"])
    low, high = _wald(diff, se, a.conf_level)
    return base_result(
        ctx,
        a,
        estimate_label=f"difference in cumulative incidence at day {horizon:g} "
        f"({ctx.experimental} − {ctx.control})",
        estimate=diff,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        n=len(rows),
        by_arm=by_arm,
        test="gray",
        note=f"{fit.method}; difference ± z·SE of independent arms; {gray_note}",
    )


def _fine_gray(
    ctx: Context, a: Analysis, rows: pd.DataFrame, estimator: Callable[..., Any]
) -> EndpointResult:
    events = rows[rows["CRSTAT"] == 1].groupby("ARMCD").size()
    empty = [arm for arm in (ctx.experimental, ctx.control) if int(events.get(arm, 0)) == 0]
    if empty:
        # monotone likelihood: the subdistribution hazard ratio runs to 0 or infinity
        return base_result(
            ctx,
            a,
            status="not run",
            n=len(rows),
            note=f"no {a.endpoint.variable.replace('_', ' ')} event in arm {empty[0]}: "
            "the subdistribution hazard ratio has no finite estimate",
        )
    data = pd.DataFrame(
        {
            "time": rows["AVAL"].to_numpy(),
            "cause": rows["CRSTAT"].to_numpy(),
            "treated": (rows["ARMCD"] == ctx.experimental).astype(float).to_numpy(),
        }
    )
    fit = estimator(
        data,
        time="time",
        cause="cause",
        covariates=["treated"],
        cause_of_interest=1,
        conf_level=a.conf_level,
    )
    return base_result(
        ctx,
        a,
        estimate_label=f"subdistribution hazard ratio ({ctx.experimental} / {ctx.control})",
        **_treated_effect(fit),
        n=len(rows),
        note=f"Fine-Gray regression (cmprsk::crr), sandwich SE, Wald CI; "
        f"{fit.n_events} events, {fit.n_competing} competing",
    )


def participant_flags(ctx: Context, variable: str, horizon: float) -> pd.Series:
    """1 for each participant with the binary variable's event within ``horizon`` days."""
    adsl = ctx.adam.adsl
    if variable in ("sae", "liver_related_sae"):
        ae = ctx.adam.adae
        mask = (ae["TRTEMFL"] == "Y") & (ae["AESER"] == "Y") & (ae["ASTDY"] <= horizon)
        if variable == "liver_related_sae":
            mask &= ae["AELIVER"] == "Y"
        hit = set(ae.loc[mask, "USUBJID"])
    else:
        paramcd = TTE_PARAMS[variable]
        tte = ctx.adam.adtte
        hit = set(
            tte.loc[
                (tte["PARAMCD"] == paramcd) & (tte["CNSR"] == 0) & (tte["AVAL"] <= horizon),
                "USUBJID",
            ]
        )
    return adsl["USUBJID"].isin(hit).astype(int).set_axis(adsl["USUBJID"])


def binary(ctx: Context, a: Analysis) -> EndpointResult:
    """Participants with at least one event by the horizon: chi-square (with or without
    Yates) or Fisher's exact test, with the risk difference and its CI."""
    horizon = float(a.endpoint.time_horizon_days or np.inf)
    flags = participant_flags(ctx, a.endpoint.variable, horizon)
    population = ctx.population(a.population)
    counts = {}
    for arm in (ctx.experimental, ctx.control):
        ids = population.loc[population["ARMCD"] == arm, "USUBJID"]
        counts[arm] = (int(flags.loc[ids].sum()), len(ids))
    (x1, n1), (x2, n2) = counts[ctx.experimental], counts[ctx.control]
    fit = compare_proportions(
        x1,
        n1,
        x2,
        n2,
        test=cast(Literal["chisq", "chisq-yates", "fisher"], a.estimator),
        conf_level=a.conf_level,
        labels=(ctx.experimental, ctx.control),
    )
    by_arm = {
        arm: {"events": float(x), "n": float(n), "proportion": x / n if n else float("nan")}
        for arm, (x, n) in counts.items()
    }
    return base_result(
        ctx,
        a,
        estimate_label=f"risk difference ({ctx.experimental} − {ctx.control})",
        estimate=fit.risk_difference,
        ci_low=fit.risk_difference_ci_low,
        ci_high=fit.risk_difference_ci_high,
        p_value=fit.p_value,
        n=n1 + n2,
        by_arm=by_arm,
        test=a.estimator,
        note=f"{a.estimator} test; risk difference with Newcombe hybrid score CI",
    )


def count(ctx: Context, a: Analysis) -> EndpointResult:
    """Event counts per arm over person-time to the horizon: Poisson rate ratio."""
    horizon = float(a.endpoint.time_horizon_days or np.inf)
    population = ctx.population(a.population)
    ae = ctx.adam.adae
    mask = (ae["TRTEMFL"] == "Y") & (ae["AESER"] == "Y") & (ae["ASTDY"] <= horizon)
    if a.endpoint.variable == "liver_related_sae":
        mask &= ae["AELIVER"] == "Y"
    tte = ctx.adam.adtte
    follow = tte[tte["PARAMCD"] == "OS"].set_index("USUBJID")["AVAL"].clip(upper=horizon)
    totals = {}
    for arm in (ctx.experimental, ctx.control):
        ids = population.loc[population["ARMCD"] == arm, "USUBJID"]
        events = int((mask & ae["USUBJID"].isin(ids)).sum())
        years = float(follow.loc[ids].sum()) / 365.25
        totals[arm] = (events, years, len(ids))
    (e1, t1, n1), (e2, t2, n2) = totals[ctx.experimental], totals[ctx.control]
    by_arm = {
        arm: {"events": float(e), "person_years": t, "n": float(n)}
        for arm, (e, t, n) in totals.items()
    }
    if e1 + e2 == 0:
        return base_result(
            ctx, a, n=n1 + n2, by_arm=by_arm, status="not run", note="no events in either arm"
        )
    fit = rate_ratio(
        e1,
        t1,
        e2,
        t2,
        method="poisson",
        conf_level=a.conf_level,
        labels=(ctx.experimental, ctx.control),
    )
    return base_result(
        ctx,
        a,
        estimate_label=f"rate ratio ({ctx.experimental} / {ctx.control})",
        estimate=fit.estimate,
        ci_low=fit.ci_low,
        ci_high=fit.ci_high,
        p_value=fit.p_value,
        n=n1 + n2,
        by_arm=by_arm,
        note="exact conditional Poisson test (R poisson.test)",
    )


def repeated_measures(ctx: Context, a: Analysis) -> EndpointResult:
    """Mixed model for repeated measures when :func:`hepatrial.stats.mmrm` is available."""
    paramcd = paramcd_for(a.endpoint.variable)
    lb = ctx.adam.adlb
    population = ctx.population(a.population)
    rows = lb[
        (lb["PARAMCD"] == paramcd)
        & lb["AVISIT"].isin(a.endpoint.visits)
        & (lb["ANL01FL"] == "Y")
        & lb["USUBJID"].isin(population["USUBJID"])
        & lb["BASE"].notna()
    ]
    by_arm = {
        f"{arm}@{visit}": {"n": float(len(g)), "mean_change": float(g["CHG"].mean())}
        for (arm, visit), g in rows.groupby(["ARMCD", "AVISIT"])
    }
    if rows.empty:
        return base_result(
            ctx, a, status="not run", note=f"no analysable ADLB records of {paramcd}"
        )
    data = rows[["USUBJID", "ARMCD", "AVISIT", "CHG", "BASE"]].copy()
    order = [v for v in a.endpoint.visits if v in set(data["AVISIT"])]
    data["AVISIT"] = pd.Categorical(data["AVISIT"], categories=order, ordered=True)
    fit = mmrm(
        data,
        outcome="CHG",
        group="ARMCD",
        visit="AVISIT",
        subject="USUBJID",
        covariates=["BASE"],
        reference=ctx.control,
        conf_level=a.conf_level,
    )
    differences = fit.summary.set_index("visit")
    last = cast(pd.Series, differences.loc[order[-1]])
    for visit, row in differences.iterrows():
        by_arm[f"difference@{visit}"] = {
            "estimate": float(row["estimate"]),
            "ci_low": float(row["ci_low"]),
            "ci_high": float(row["ci_high"]),
            "p_value": float(row["p_value"]),
        }
    return base_result(
        ctx,
        a,
        estimate_label=f"MMRM difference in change at {order[-1]} "
        f"({ctx.experimental} − {ctx.control})",
        estimate=float(last["estimate"]),
        ci_low=float(last["ci_low"]),
        ci_high=float(last["ci_high"]),
        p_value=float(last["p_value"]),
        n=rows["USUBJID"].nunique(),
        by_arm=by_arm,
        note="MMRM, unstructured covariance",
    )


HANDLERS: dict[str, Callable[[Context, Analysis], EndpointResult]] = {
    "change_from_baseline": change_from_baseline,
    "time_to_event": time_to_event,
    "binary": binary,
    "count": count,
    "repeated_measures": repeated_measures,
}

"""Kaplan-Meier curves with Greenwood intervals, medians, restricted means, numbers at risk.

Front ends over :mod:`hepatrial.stats._km_engine`, which reproduces R's ``survfit``,
``summary.survfit`` and ``print(survfit, rmean=)`` (survival package) to the last digits.
Records with a missing time, event or group are excluded and reported in the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hepatrial.exceptions import NotEstimableError
from hepatrial.stats._common import FloatArray, IntArray, as_float_array
from hepatrial.stats._frames import check_conf_level
from hepatrial.stats._km_engine import (
    CONF_TYPES,
    ConfType,
    KMCurve,
    confidence_limits,
    first_below_half,
    km_curve,
    restricted_mean,
    std_err_of_survival,
    z_value,
)
from hepatrial.stats._survival_input import (
    as_event_array,
    complete_records,
    encode_labels,
)
from hepatrial.stats.results import (
    NAN,
    DescriptiveResult,
    Exclusion,
    ResultBase,
    describe_exclusions,
    package_version,
)

__all__ = [
    "KaplanMeierByGroup",
    "KaplanMeierResult",
    "MedianSurvival",
    "RestrictedMeanSurvival",
    "kaplan_meier",
    "kaplan_meier_by",
    "numbers_at_risk",
]


@dataclass(frozen=True)
class MedianSurvival:
    """Median survival time and its interval, as R's ``print(survfit)``.

    The interval runs from the first time the lower pointwise limit reaches 0.5 to the first
    time the upper limit does (Brookmeyer & Crowley 1982); NaN means "not reached".
    """

    estimate: float
    ci_low: float
    ci_high: float
    conf_level: float

    def __repr__(self) -> str:
        pct = round(100 * self.conf_level)
        return f"MedianSurvival({self.estimate:g}, {pct}% CI {self.ci_low:g} to {self.ci_high:g})"


@dataclass(frozen=True)
class RestrictedMeanSurvival(ResultBase):
    """Restricted mean survival time up to ``tau`` (area under the curve) and its SE.

    ``se`` is R's ``print(survfit, rmean=tau)`` standard error; the interval is
    ``estimate -/+ z se`` (normal approximation). ``n`` and the exclusions are the curve's; a
    restricted mean alone has no P value (NaN).
    """

    summary_columns: ClassVar[tuple[str, ...]] = (
        "tau", "estimate", "se", "ci_low", "ci_high", "conf_level"
    )  # fmt: skip

    tau: float
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    conf_level: float
    n: int = 0
    n_excluded: int = 0
    exclusions: tuple[Exclusion, ...] = ()
    method: str = "restricted mean survival time (area under the Kaplan-Meier curve)"
    version: str = field(default_factory=package_version)

    @property
    def p_value(self) -> float:
        """NaN: a restricted mean alone is not a test."""
        return NAN

    def _details(self) -> dict[str, Any]:
        return {"tau": self.tau, "conf_level": self.conf_level}

    @property
    def summary(self) -> pd.DataFrame:
        """One row: tau, estimate, se, ci_low, ci_high, conf_level."""
        return pd.DataFrame([[getattr(self, c) for c in self.summary_columns]],
                            columns=list(self.summary_columns))  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"RestrictedMeanSurvival(tau={self.tau:g}: {self.estimate:.4g}, se {self.se:.3g}, "
            f"{round(100 * self.conf_level)}% CI {self.ci_low:.4g} to {self.ci_high:.4g})"
        )


@dataclass(frozen=True, eq=False)
class KaplanMeierResult(ResultBase):
    """A Kaplan-Meier curve with pointwise Greenwood intervals.

    Its main effect (``estimate``, ``ci_low``, ``ci_high``) is the median survival with its
    interval; ``se`` and ``p_value`` are NaN (R gives the median no SE; a curve is no test).

    Attributes
    ----------
    table : DataFrame
        One row per distinct time (events and censorings): ``time, at_risk, events, censored,
        survival, std_err, lower, upper``; ``std_err`` is the SE of S(t)
        (``S(t) sqrt(sum d/(n(n-d)))``, as ``summary(survfit)``).
    median : MedianSurvival
        Median survival with its interval (NaN when not reached).
    n, n_events, n_excluded : int
        Records used, events among them, records excluded (see ``exclusions``).
    """

    summary_columns: ClassVar[tuple[str, ...]] = (
        "group", "n", "events", "median", "median_ci_low", "median_ci_high", "conf_type",
        "conf_level",
    )  # fmt: skip

    table: pd.DataFrame
    median: MedianSurvival
    conf_level: float
    conf_type: ConfType
    n: int
    n_events: int
    _curve: KMCurve = field(repr=False)
    n_excluded: int = 0
    exclusions: tuple[Exclusion, ...] = ()
    label: Any = None
    method: str = "Kaplan-Meier product-limit estimate; Greenwood variance"
    version: str = field(default_factory=package_version)

    @property
    def estimate(self) -> float:
        """Median survival time (NaN when not reached)."""
        return self.median.estimate

    @property
    def se(self) -> float:
        """NaN: the median has no standard error here (its interval is Brookmeyer-Crowley)."""
        return NAN

    @property
    def ci_low(self) -> float:
        """Lower limit of the median's interval."""
        return self.median.ci_low

    @property
    def ci_high(self) -> float:
        """Upper limit of the median's interval."""
        return self.median.ci_high

    @property
    def p_value(self) -> float:
        """NaN: a single curve is not a test."""
        return NAN

    def at(self, times: Any) -> pd.DataFrame:
        """Curve at ``times`` (step function, right-continuous), as ``summary(fit, times=)``.

        Columns ``time, at_risk, survival, std_err, lower, upper``. Before the first observed
        time S is 1 (SE 0); after the last observed time every column but ``at_risk`` is NaN
        (R omits such times unless ``extend=TRUE``).
        """
        t = as_float_array("times", times)
        table = self.table
        index = np.searchsorted(table["time"].to_numpy(), t, side="right") - 1
        out = pd.DataFrame({"time": t, "at_risk": self.at_risk(t)})
        last = float(table["time"].iloc[-1]) if len(table) else -np.inf
        for column, before in (("survival", 1.0), ("std_err", 0.0), ("lower", 1.0), ("upper", 1.0)):
            values = (
                table[column].to_numpy()[np.maximum(index, 0)] if len(table) else np.ones(t.size)
            )
            values = np.where(index < 0, before, values)
            out[column] = np.where(t > last, np.nan, values)
        return out

    def survival_at(self, t: Any) -> Any:
        """S(t): a float for a scalar ``t``, an array for several times (NaN past follow-up)."""
        values = self.at(t)["survival"].to_numpy()
        return float(values[0]) if np.ndim(t) == 0 else values

    def at_risk(self, times: Any) -> IntArray:
        """Numbers at risk (follow-up time >= t) at each of ``times``."""
        t = as_float_array("times", times)
        leaving = (self.table["events"] + self.table["censored"]).to_numpy()
        left_before = np.concatenate(([0.0], np.cumsum(leaving)))
        index = np.searchsorted(self.table["time"].to_numpy(), t, side="left")
        counts: IntArray = np.rint(self.n - left_before[index]).astype(np.int64)
        return counts

    def rmst(self, tau: float) -> RestrictedMeanSurvival:
        """Restricted mean survival up to ``tau`` (same time unit), as ``print(fit, rmean=tau)``."""
        if not np.isfinite(tau) or (len(self.table) and tau < min(0.0, self.table["time"].min())):
            raise ValueError(f"tau={tau!r} must be a finite time within the follow-up range")
        estimate, se = restricted_mean(self._curve, float(tau))
        z = z_value(self.conf_level)
        return RestrictedMeanSurvival(
            tau=float(tau),
            estimate=estimate,
            se=se,
            ci_low=estimate - z * se,
            ci_high=estimate + z * se,
            conf_level=self.conf_level,
            n=self.n,
            n_excluded=self.n_excluded,
            exclusions=self.exclusions,
        )

    @property
    def summary(self) -> pd.DataFrame:
        """One row: group, n, events, median and its interval, interval type and level."""
        return pd.DataFrame(
            {
                "group": [self.label],
                "n": [self.n],
                "events": [self.n_events],
                "median": [self.median.estimate],
                "median_ci_low": [self.median.ci_low],
                "median_ci_high": [self.median.ci_high],
                "conf_type": [self.conf_type],
                "conf_level": [self.conf_level],
            }
        )

    def _details(self) -> dict[str, Any]:
        return {"conf_type": self.conf_type, "conf_level": self.conf_level}

    def __repr__(self) -> str:
        group = f"{self.label!r}: " if self.label is not None else ""
        return (
            f"KaplanMeierResult({group}n={self.n}, events={self.n_events}, "
            f"median={self.median.estimate:g}, conf_type={self.conf_type!r}, "
            f"excluded={self.n_excluded})"
        )


def check_options(conf_level: float, conf_type: str) -> None:
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type={conf_type!r} is not one of {list(CONF_TYPES)}")
    check_conf_level(conf_level)


def fit_kaplan_meier(
    time: FloatArray,
    event: FloatArray,
    conf_level: float = 0.95,
    conf_type: ConfType = "log",
    label: Any = None,
    exclusions: tuple[Exclusion, ...] = (),
) -> KaplanMeierResult:
    """Engine entry point on complete numpy arrays (validation tests target this)."""
    if time.size == 0:
        excluded = describe_exclusions(exclusions)
        raise NotEstimableError(
            f"no complete record to estimate survival from (excluded: {excluded})"
        )
    curve = km_curve(time, event)
    se_log = np.sqrt(curve.greenwood)
    lower, upper = confidence_limits(curve.survival, se_log, conf_level, conf_type)
    table = pd.DataFrame(
        {
            "time": curve.time,
            "at_risk": curve.at_risk.astype(np.int64),
            "events": curve.events.astype(np.int64),
            "censored": curve.censored.astype(np.int64),
            "survival": curve.survival,
            "std_err": std_err_of_survival(curve.survival, curve.greenwood),
            "lower": lower,
            "upper": upper,
        }
    )
    median = MedianSurvival(
        estimate=first_below_half(curve.survival, curve.time),
        ci_low=first_below_half(lower, curve.time),
        ci_high=first_below_half(upper, curve.time),
        conf_level=conf_level,
    )
    return KaplanMeierResult(
        table=table,
        median=median,
        conf_level=conf_level,
        conf_type=conf_type,
        n=int(time.size),
        n_events=int(event.sum()),
        n_excluded=sum(item.count for item in exclusions),
        exclusions=exclusions,
        label=label,
        _curve=curve,
    )


def kaplan_meier(
    time: Any,
    event: Any,
    *,
    conf_level: float = 0.95,
    conf_type: ConfType = "log",
) -> KaplanMeierResult:
    """Kaplan-Meier estimate of the survival function with Greenwood pointwise intervals.

    Parameters
    ----------
    time : array-like or Series
        Follow-up time (>= 0, any unit; results are in the same unit).
    event : array-like or Series
        1 (or True) if the event was observed at ``time``, 0 if censored.
    conf_level : float
        Level of the pointwise intervals (default 0.95).
    conf_type : {"log", "plain", "log-log"}
        Interval scale, as R's ``survfit(conf.type=)`` (default ``"log"``, R's default).

    Returns
    -------
    KaplanMeierResult

    Notes
    -----
    ``S(t) = prod_{t_i <= t} (1 - d_i/n_i)``; Greenwood's ``var(log S(t)) = sum d_i/(n_i(n_i-d_i))``
    (Kaplan & Meier 1958; Greenwood 1926; Kalbfleisch & Prentice 2002, ch. 1.4).
    Records with a missing time or event are excluded and counted.

    Examples
    --------
    >>> fit = kaplan_meier([1, 2, 2, 3], [1, 0, 1, 1], conf_type="plain")
    >>> fit.survival_at(2.5), fit.median.estimate
    (0.5, 2.5)
    """
    check_options(conf_level, conf_type)
    data = complete_records(time, event)
    as_event_array("event", data.event)
    return fit_kaplan_meier(
        data.time, data.event, conf_level, conf_type, exclusions=data.exclusions
    )


@dataclass(frozen=True, eq=False)
class KaplanMeierByGroup(DescriptiveResult):
    """One Kaplan-Meier curve per group (e.g. per trial arm), in sorted group order.

    Descriptive curves with no single effect: ``estimate``, ``se``, the interval and
    ``p_value`` are NaN (compare the curves with :func:`hepatrial.stats.logrank`).
    """

    summary_columns: ClassVar[tuple[str, ...]] = KaplanMeierResult.summary_columns

    curves: tuple[KaplanMeierResult, ...]
    n_excluded: int = 0
    exclusions: tuple[Exclusion, ...] = ()
    method: str = "Kaplan-Meier product-limit estimate per group; Greenwood variance"
    version: str = field(default_factory=package_version)

    @property
    def n(self) -> int:
        """Records used, over every curve."""
        return sum(curve.n for curve in self.curves)

    @property
    def groups(self) -> tuple[Any, ...]:
        """Group levels in the order of ``curves``."""
        return tuple(curve.label for curve in self.curves)

    def __getitem__(self, group: Any) -> KaplanMeierResult:
        for curve in self.curves:
            if curve.label == group:
                return curve
        raise KeyError(f"group {group!r} is not one of {list(self.groups)}")

    def numbers_at_risk(self, times: Any) -> pd.DataFrame:
        """Numbers at risk per group (rows) at ``times`` (columns), for tables under KM plots."""
        t = as_float_array("times", times)
        rows = {curve.label: curve.at_risk(t) for curve in self.curves}
        return pd.DataFrame.from_dict(rows, orient="index", columns=list(t))

    @property
    def summary(self) -> pd.DataFrame:
        """One row per group: n, events, median and its interval."""
        frames = [curve.summary for curve in self.curves]
        return (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(columns=list(self.summary_columns))
        )

    def _details(self) -> dict[str, Any]:
        return self.curves[0]._details() if self.curves else {}

    def __repr__(self) -> str:
        parts = ", ".join(f"{c.label!r}: n={c.n}, events={c.n_events}" for c in self.curves)
        return f"KaplanMeierByGroup({parts}; excluded={self.n_excluded})"


def kaplan_meier_by(
    time: Any,
    event: Any,
    group: Any,
    *,
    conf_level: float = 0.95,
    conf_type: ConfType = "log",
) -> KaplanMeierByGroup:
    """One Kaplan-Meier curve per level of ``group`` (as ``survfit(Surv(t, e) ~ group)``).

    Records with a missing time, event or group are excluded and counted once for all curves.

    Examples
    --------
    >>> fits = kaplan_meier_by([1, 2, 3, 4], [1, 1, 0, 1], ["a", "b", "a", "b"])
    >>> fits.numbers_at_risk([0, 2]).loc["b"].tolist()
    [2, 2]
    """
    check_options(conf_level, conf_type)
    data = complete_records(time, event, group=group)
    as_event_array("event", data.event)
    labels = encode_labels("group", data.columns["group"])
    curves = tuple(
        fit_kaplan_meier(
            data.time[labels.codes == code],
            data.event[labels.codes == code],
            conf_level,
            conf_type,
            label=level,
        )
        for code, level in enumerate(labels.levels)
    )
    return KaplanMeierByGroup(curves=curves, n_excluded=data.n_excluded, exclusions=data.exclusions)


def numbers_at_risk(time: Any, times: Any, *, group: Any = None) -> pd.DataFrame:
    """Numbers still at risk (follow-up time >= t) at each of ``times``, overall or per group.

    Rows are groups (``"all"`` without ``group``), columns the requested times. Records with a
    missing time or group are not counted.

    Examples
    --------
    >>> numbers_at_risk([5, 8, 8, 12], [0, 8, 10]).loc["all"].tolist()
    [4, 3, 1]
    """
    t = as_float_array("time", time)
    at = as_float_array("times", times)
    if group is None:
        keep = ~np.isnan(t)
        return pd.DataFrame({"all": _count_at_risk(t[keep], at)}, index=list(at)).T
    data = complete_records(t, np.zeros(t.size), group=group)
    labels = encode_labels("group", data.columns["group"])
    rows = {
        level: _count_at_risk(data.time[labels.codes == code], at)
        for code, level in enumerate(labels.levels)
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(at))


def _count_at_risk(time: FloatArray, at: FloatArray) -> IntArray:
    ordered = np.sort(time)
    return (ordered.size - np.searchsorted(ordered, at, side="left")).astype(np.int64)

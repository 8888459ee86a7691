"""Kaplan-Meier engine on numpy arrays: curve, Greenwood variance, intervals, median, RMST.

Every formula follows R's survival package (Therneau, version 3.x) so that the numbers agree to
the last digits: ``survfit`` for the curve and the intervals (``survfit_confint``), and
``survmean`` (what ``print(survfit)`` calls) for the median, its interval and the restricted mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri

from hepatrial.stats._common import FloatArray

ConfType = Literal["plain", "log", "log-log"]
CONF_TYPES: tuple[ConfType, ...] = ("plain", "log", "log-log")

# survmean's tolerance for "survival is exactly one half": .Machine$double.eps^0.5 in R.
_HALF_TOLERANCE = float(np.finfo(np.float64).eps ** 0.5)


@dataclass(frozen=True)
class KMCurve:
    """Kaplan-Meier estimate at every distinct observed time (events and censorings)."""

    time: FloatArray
    at_risk: FloatArray
    events: FloatArray
    censored: FloatArray
    survival: FloatArray
    greenwood: FloatArray  # cumulative sum of d / (n (n - d)): variance of -log S(t)


def km_curve(time: FloatArray, event: FloatArray) -> KMCurve:
    """Product-limit estimate ``S(t) = prod_{t_i <= t} (1 - d_i / n_i)`` at each distinct time.

    ``greenwood`` is ``sum_{t_i <= t} d_i / (n_i (n_i - d_i))`` (Greenwood 1926), infinite once
    every subject at risk has died, exactly as R's ``survfit`` stores it.
    """
    distinct, count, events = _group_by_time(time, event)
    at_risk = count[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - events / at_risk)
        increment = np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0)
    return KMCurve(
        time=distinct,
        at_risk=at_risk,
        events=events,
        censored=count - events,
        survival=survival,
        greenwood=np.cumsum(increment),
    )


def _group_by_time(
    time: FloatArray, event: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Distinct times (ascending), records and events at each: the costly step on big data.

    Times recorded in days repeat a lot: hashing (``pd.factorize``) then sorting only the
    distinct values is fastest. Otherwise one sort of packed keys: for times >= 0 the IEEE-754
    bit pattern orders like the value, so ``(bits << 1) | event`` sorts by time and carries
    the event along (no argsort needed).
    """
    codes, uniques = pd.factorize(time, sort=False)
    if uniques.size <= time.size // 4:
        order = np.argsort(uniques)
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size)
        ranked = rank[codes]
        count = np.bincount(ranked, minlength=order.size).astype(np.float64)
        events = np.bincount(ranked, weights=event, minlength=order.size).astype(np.float64)
        return np.asarray(uniques[order], dtype=np.float64), count, events
    bits = (np.asarray(time, dtype=np.float64) + 0.0).view(np.uint64)  # + 0.0: -0.0 -> 0.0
    keys = np.sort((bits << np.uint64(1)) | (event > 0).astype(np.uint64))
    sorted_bits = keys >> np.uint64(1)
    first = np.flatnonzero(np.concatenate(([True], sorted_bits[1:] != sorted_bits[:-1])))
    count = np.diff(np.append(first, keys.size)).astype(np.float64)
    events = np.add.reduceat((keys & np.uint64(1)).astype(np.float64), first)
    return sorted_bits[first].view(np.float64), count, events


def z_value(conf_level: float) -> float:
    """Two-sided normal quantile ``qnorm(1 - (1 - conf_level) / 2)``."""
    return float(ndtri(1.0 - (1.0 - conf_level) / 2.0))


def confidence_limits(
    survival: FloatArray, se_log: FloatArray, conf_level: float, conf_type: ConfType
) -> tuple[FloatArray, FloatArray]:
    """Pointwise limits of ``S(t)`` as R's ``survfit_confint`` (``se_log`` = SE of log S).

    plain: ``S -/+ z S se`` clipped to [0, 1]; log: ``exp(log S -/+ z se)``, upper capped at 1;
    log-log: ``exp(-exp(log(-log S) -/+ z se / log S))``, undefined where S is 0 or 1.
    """
    z = z_value(conf_level)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            half = se_log * survival * z
            # np.maximum/np.minimum keep NaN (0 * inf after the last death), as R's pmax/pmin.
            return np.maximum(survival - half, 0.0), np.minimum(survival + half, 1.0)
        if conf_type == "log":
            base = np.where(survival == 0, np.nan, survival)
            return np.exp(np.log(base) - z * se_log), np.minimum(
                np.exp(np.log(base) + z * se_log), 1.0
            )
        base = np.where((survival == 0) | (survival == 1), np.nan, survival)
        shift = z * se_log / np.log(base)
        loglog = np.log(-np.log(base))
        return np.exp(-np.exp(loglog - shift)), np.exp(-np.exp(loglog + shift))


def std_err_of_survival(survival: FloatArray, greenwood: FloatArray) -> FloatArray:
    """SE of S(t) as ``summary(survfit)`` reports it: ``S * sqrt(greenwood)`` (NaN at 0 * inf)."""
    with np.errstate(invalid="ignore"):
        return survival * np.sqrt(greenwood)


def first_below_half(values: FloatArray, time: FloatArray) -> float:
    """First time a curve reaches one half, as ``survmean``'s ``minmin`` in R's survival.

    If the curve equals 0.5 (within ``sqrt(machine eps)``) on a plateau, the midpoint between
    the start of the plateau and the next drop is returned; NaN if the curve never gets there.
    """
    keep = ~np.isnan(values) & (values < 0.5 + _HALF_TOLERANCE)
    if not keep.any():
        return float("nan")
    x = time[keep]
    y = values[keep]
    lower = np.flatnonzero(y < y[0])
    if abs(y[0] - 0.5) < _HALF_TOLERANCE and lower.size:
        return float((x[0] + x[lower[0]]) / 2.0)
    return float(x[0])


def restricted_mean(curve: KMCurve, tau: float) -> tuple[float, float]:
    """Area under S(t) from min(0, first time) to ``tau`` and its SE, as R's ``survmean``.

    ``var = sum_{t_i <= tau} A_i^2 d_i / (n_i (n_i - d_i))`` with ``A_i`` the area under the
    curve between ``t_i`` and ``tau`` (the term is 0 when ``n_i = d_i``).
    """
    start = min(0.0, float(curve.time[0])) if curve.time.size else 0.0
    keep = curve.time <= tau
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard_var = np.where(
            curve.at_risk - curve.events == 0,
            0.0,
            curve.events / (curve.at_risk * (curve.at_risk - curve.events)),
        )
    times = np.append(curve.time[keep], tau)
    surv = np.append(curve.survival[keep], curve.survival[keep][-1] if keep.any() else 1.0)
    hh = np.append(hazard_var[keep], 0.0)
    delta = np.diff(np.concatenate(([start], times)))
    rectangles = delta * np.concatenate(([1.0], surv[:-1]))
    tail_area = np.cumsum(rectangles[1:][::-1])
    variance = float(np.sum(tail_area**2 * hh[::-1][1:]))
    return float(np.sum(rectangles) + start), float(np.sqrt(variance))

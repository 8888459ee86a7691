"""Recursive numerical integration of the canonical group-sequential joint distribution.

Z_1, ..., Z_K are the standardized statistics at information fractions t_1 < ... < t_K with
E(Z_k) = θ √t_k and Cov(Z_j, Z_k) = √(t_j / t_k) (Jennison & Turnbull 2000, §3.1). The density
of Z_k on the continuation region is propagated look by look on the grid of Jennison &
Turnbull (2000, §19.2): 6r − 1 points around the mean, trimmed to the continuation interval,
with Simpson weights on the grid and its midpoints (Armitage, McPherson & Rowe 1969).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from hepatrial.stats.engine import FloatArray

GRID_R = 48
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _phi(x: FloatArray) -> FloatArray:
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def _cdf(x: FloatArray | float) -> FloatArray:
    return np.asarray(special.ndtr(x), dtype=np.float64)


def simpson_grid(
    mean: float, lower: float, upper: float, r: int = GRID_R
) -> tuple[FloatArray, FloatArray]:
    """Nodes and Simpson weights for integrating N(mean, 1)-like densities over (lower, upper)."""
    i = np.arange(1, 6 * r, dtype=np.float64)
    x = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / i),
        np.where(i <= 5 * r, -3.0 + 3.0 * (i - r) / (2.0 * r), 3.0 + 4.0 * np.log(r / (6 * r - i))),
    )
    x = x + mean
    inner = x[(x > lower) & (x < upper)]
    low = max(lower, float(x[0]))
    high = min(upper, float(x[-1]))
    if low >= high:
        return np.array([low]), np.zeros(1)
    odd = np.concatenate(([low], inner, [high]))
    odd = np.unique(odd)
    nodes = np.empty(2 * odd.size - 1)
    nodes[0::2] = odd
    nodes[1::2] = 0.5 * (odd[:-1] + odd[1:])
    weights = np.zeros(nodes.size)
    width = np.diff(odd)
    weights[0:-1:2] += width / 6.0
    weights[2::2] += width / 6.0
    weights[1::2] = 4.0 * width / 6.0
    return nodes, weights


@dataclass(frozen=True)
class Continuation:
    """Sub-density of Z_k on the continuation region, as grid values times Simpson weights."""

    nodes: FloatArray
    mass: FloatArray
    t: float


def first_look(t1: float, drift: float, lower: float, upper: float) -> Continuation:
    """Sub-density of Z_1 on (lower, upper)."""
    mean = drift * math.sqrt(t1)
    nodes, weights = simpson_grid(mean, lower, upper)
    return Continuation(nodes, weights * _phi(nodes - mean), t1)


def _increment(previous: Continuation, t: float, drift: float) -> tuple[FloatArray, float]:
    """Location of the step to look ``t`` on the √t·Z scale and its standard deviation."""
    step = t - previous.t
    return previous.nodes * math.sqrt(previous.t) + drift * step, math.sqrt(step)


def exit_above(previous: Continuation | None, t: float, drift: float, bound: float) -> float:
    """P(continue up to the previous look, then Z at information ``t`` > ``bound``)."""
    if previous is None:
        return float(_cdf(drift * math.sqrt(t) - bound))
    location, sd = _increment(previous, t, drift)
    return float(previous.mass @ _cdf((location - bound * math.sqrt(t)) / sd))


def exit_below(previous: Continuation | None, t: float, drift: float, bound: float) -> float:
    """P(continue up to the previous look, then Z at information ``t`` < ``bound``)."""
    if previous is None:
        return float(_cdf(bound - drift * math.sqrt(t)))
    location, sd = _increment(previous, t, drift)
    return float(previous.mass @ _cdf((bound * math.sqrt(t) - location) / sd))


def next_look(
    previous: Continuation | None, t: float, drift: float, lower: float, upper: float
) -> Continuation:
    """Sub-density of Z at information ``t`` on (lower, upper), having continued so far."""
    if previous is None:
        return first_look(t, drift, lower, upper)
    nodes, weights = simpson_grid(drift * math.sqrt(t), lower, upper)
    location, sd = _increment(previous, t, drift)
    kernel = _phi((nodes[:, None] * math.sqrt(t) - location[None, :]) / sd)
    density = kernel @ previous.mass * math.sqrt(t) / sd
    return Continuation(nodes, weights * density, t)

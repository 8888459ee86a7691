"""Argument checks and normal quantiles shared by the design calculations."""

from __future__ import annotations

import math
from typing import Literal

from scipy import stats

Sided = Literal[1, 2]


def check_probability(name: str, value: float, *, low: float = 0.0, high: float = 1.0) -> float:
    """Return ``value`` as a float strictly inside (``low``, ``high``) or raise a ValueError."""
    number = float(value)
    if not (low < number < high) or math.isnan(number):
        raise ValueError(
            f"{name}={value!r} must lie strictly between {low} and {high} (a probability); "
            f"for example {name}=0.05 for a two-sided 5% level or power=0.8"
        )
    return number


def check_positive(name: str, value: float, unit: str = "") -> float:
    """Return ``value`` as a positive finite float or raise a ValueError naming it."""
    number = float(value)
    if not (number > 0.0 and math.isfinite(number)):
        suffix = f" {unit}" if unit else ""
        raise ValueError(f"{name}={value!r}{suffix} must be a positive finite number")
    return number


def check_sided(sided: int) -> Sided:
    """Return ``sided`` if it is 1 or 2, else raise a ValueError."""
    if sided not in (1, 2):
        raise ValueError(f"sided={sided!r} must be 1 (one-sided alpha) or 2 (two-sided alpha)")
    return 1 if sided == 1 else 2


def z_upper(probability: float) -> float:
    """The upper ``probability`` quantile of the standard normal, Φ⁻¹(1 − p)."""
    return float(stats.norm.isf(probability))


def one_sided_alpha(alpha: float, sided: int) -> float:
    """The one-sided level: ``alpha / sided`` after checking both arguments."""
    return check_probability("alpha", alpha) / check_sided(sided)

"""Fixed-design sample sizes: mean difference, two proportions, and survival events.

Conventions shared by every function here:

- ``alpha`` is two-sided unless ``sided=1``; the one-sided level is ``alpha / sided`` and the
  power is that of the one-sided test in the direction of the effect (the usual planning
  convention, as in rpact with ``twoSidedPower=FALSE``).
- ``ratio`` is the allocation ratio n_treatment / n_control (rpact's ``allocationRatioPlanned``).
- ``n_total`` is unrounded; arm sizes are rounded up separately, so ``n_per_arm`` (the larger arm)
  is what a protocol should recruit per arm when ``ratio=1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from scipy import optimize, stats

from hepatrial.design._common import (
    check_positive,
    check_probability,
    check_sided,
    one_sided_alpha,
    z_upper,
)
from hepatrial.stats.engine import RenderedResult

MeanMethod = Literal["normal", "t"]
EventsMethod = Literal["schoenfeld", "freedman"]


@dataclass(frozen=True)
class SampleSizeResult(RenderedResult):
    """Sample size of a fixed two-arm design.

    Attributes
    ----------
    n_total : float
        Total number of participants, unrounded.
    n_treatment, n_control : int
        Arm sizes, each rounded up from its unrounded share of ``n_total``.
    n_per_arm : int
        The larger rounded arm (the per-arm size when ``ratio=1``).
    method : str
        Formula used.
    alpha, sided, power, ratio : float, int, float, float
        Design options echoed for provenance.
    """

    n_total: float
    n_treatment: int
    n_control: int
    n_per_arm: int
    method: str
    alpha: float
    sided: int
    power: float
    ratio: float
    effect: float

    @property
    def summary(self) -> pd.DataFrame:
        """One row: method, effect, alpha, sided, power, ratio, unrounded and rounded sizes."""
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "effect": self.effect,
                    "alpha": self.alpha,
                    "sided": self.sided,
                    "power": self.power,
                    "ratio": self.ratio,
                    "n_total": self.n_total,
                    "n_treatment": self.n_treatment,
                    "n_control": self.n_control,
                    "n_per_arm": self.n_per_arm,
                }
            ]
        )

    def __repr__(self) -> str:
        return (
            f"SampleSizeResult({self.method}: n_total={self.n_total:.4f}, "
            f"n_per_arm={self.n_per_arm}, power={self.power}, alpha={self.alpha}/{self.sided})"
        )


def _arms(n_total: float, ratio: float) -> tuple[int, int]:
    n_treatment = math.ceil(n_total * ratio / (1.0 + ratio) - 1e-9)
    n_control = math.ceil(n_total / (1.0 + ratio) - 1e-9)
    return n_treatment, n_control


def _t_power(n_total: float, delta: float, sd: float, alpha1: float, ratio: float) -> float:
    df = max(n_total - 2.0, 1e-3)
    n_control = n_total / (1.0 + ratio)
    noncentrality = math.sqrt(n_control * ratio / (1.0 + ratio)) * abs(delta) / sd
    critical = stats.t.isf(alpha1, df)
    return float(stats.nct.sf(critical, df, noncentrality))


def n_mean_difference(
    *,
    delta: float,
    sd: float,
    alpha: float = 0.05,
    power: float = 0.8,
    method: MeanMethod = "normal",
    ratio: float = 1.0,
    sided: int = 2,
) -> SampleSizeResult:
    """Sample size to detect a difference in means between two arms.

    Normal approximation (Chow, Shao & Wang 2008, §3.2)::

        N = (1 + r)² / r · (z_{1−α/s} + z_{1−β})² · σ² / δ²

    With ``method="t"`` N solves ``P(T > t_{1−α/s, N−2}) = 1 − β`` for T non-central t with
    N − 2 degrees of freedom and non-centrality ``|δ|/σ · sqrt(n_T n_C / N)`` (rpact
    ``getSampleSizeMeans(normalApproximation=FALSE)``), by Brent's method to 1e-10.

    Parameters
    ----------
    delta : float
        Difference in means to detect (treatment − control), in the endpoint's unit; its sign
        does not matter.
    sd : float
        Common within-arm standard deviation, same unit as ``delta``.
    alpha : float
        Significance level, two-sided unless ``sided=1``.
    power : float
        Target power 1 − β.
    method : {"normal", "t"}
        Normal approximation or exact non-central t.
    ratio : float
        Allocation ratio n_treatment / n_control.
    sided : {1, 2}
        Whether ``alpha`` is one- or two-sided.

    Examples
    --------
    >>> n_mean_difference(delta=1, sd=1, alpha=0.05, power=0.8).n_per_arm
    16
    """
    if not (math.isfinite(float(delta)) and float(delta) != 0.0):
        raise ValueError(f"delta={delta!r} must be a finite non-zero difference in means")
    sd = check_positive("sd", sd)
    ratio = check_positive("ratio", ratio)
    alpha1 = one_sided_alpha(alpha, sided)
    power = check_probability("power", power)
    z_sum = z_upper(alpha1) + z_upper(1.0 - power)
    n_normal = (1.0 + ratio) ** 2 / ratio * z_sum**2 * sd**2 / float(delta) ** 2
    if method == "normal":
        n_total = n_normal
    elif method == "t":
        n_total = optimize.brentq(
            lambda n: _t_power(n, float(delta), sd, alpha1, ratio) - power,
            2.0 + 1e-6,
            max(4.0 * n_normal, 50.0),
            xtol=1e-10,
        )
    else:
        raise ValueError(f"method={method!r} must be 'normal' or 't'")
    n_treatment, n_control = _arms(n_total, ratio)
    return SampleSizeResult(
        n_total=float(n_total),
        n_treatment=n_treatment,
        n_control=n_control,
        n_per_arm=max(n_treatment, n_control),
        method=f"mean difference, {method}",
        alpha=float(alpha),
        sided=check_sided(sided),
        power=power,
        ratio=ratio,
        effect=float(delta),
    )


def n_proportions(
    *,
    p_treatment: float,
    p_control: float,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    sided: int = 2,
) -> SampleSizeResult:
    """Sample size to detect a difference between two proportions (normal approximation).

    The variance is pooled under H0 and unpooled under H1 (Fleiss, Levin & Paik 2003, §4.2,
    without continuity correction; rpact ``getSampleSizeRates``)::

        n_T = (z_{1−α/s} · sqrt(p̄ q̄ (1 + r)) + z_{1−β} · sqrt(p_T q_T + r p_C q_C))² / (p_T − p_C)²

    with p̄ = (r p_T + p_C)/(1 + r) and n_C = n_T / r.

    Parameters
    ----------
    p_treatment, p_control : float
        Event proportions in each arm, strictly between 0 and 1 and different.
    alpha, power, ratio, sided
        As in :func:`n_mean_difference`.
    """
    p1 = check_probability("p_treatment", p_treatment)
    p2 = check_probability("p_control", p_control)
    if p1 == p2:
        raise ValueError(f"p_treatment={p1} equals p_control={p2}; there is no effect to detect")
    ratio = check_positive("ratio", ratio)
    alpha1 = one_sided_alpha(alpha, sided)
    power = check_probability("power", power)
    pooled = (ratio * p1 + p2) / (1.0 + ratio)
    root_h0 = math.sqrt(pooled * (1.0 - pooled) * (1.0 + ratio))
    root_h1 = math.sqrt(p1 * (1.0 - p1) + ratio * p2 * (1.0 - p2))
    n1 = (z_upper(alpha1) * root_h0 + z_upper(1.0 - power) * root_h1) ** 2 / (p1 - p2) ** 2
    n_total = n1 * (1.0 + ratio) / ratio
    n_treatment, n_control = _arms(n_total, ratio)
    return SampleSizeResult(
        n_total=n_total,
        n_treatment=n_treatment,
        n_control=n_control,
        n_per_arm=max(n_treatment, n_control),
        method="two proportions, normal (pooled under H0)",
        alpha=float(alpha),
        sided=check_sided(sided),
        power=power,
        ratio=ratio,
        effect=p1 - p2,
    )


@dataclass(frozen=True)
class EventsResult(RenderedResult):
    """Number of events needed to detect a hazard ratio (unrounded and rounded up)."""

    events: float
    events_rounded: int
    hr: float
    method: str
    alpha: float
    sided: int
    power: float
    ratio: float

    @property
    def summary(self) -> pd.DataFrame:
        """One row: method, hazard ratio, alpha, sided, power, ratio and events."""
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "hr": self.hr,
                    "alpha": self.alpha,
                    "sided": self.sided,
                    "power": self.power,
                    "ratio": self.ratio,
                    "events": self.events,
                    "events_rounded": self.events_rounded,
                }
            ]
        )

    def __repr__(self) -> str:
        return f"EventsResult({self.method}: events={self.events:.4f}, hr={self.hr})"


def events_survival(
    *,
    hr: float,
    alpha: float = 0.05,
    power: float = 0.8,
    method: EventsMethod = "schoenfeld",
    sided: int = 2,
    ratio: float = 1.0,
) -> EventsResult:
    """Number of events for a log-rank comparison to detect hazard ratio ``hr``.

    Schoenfeld (1983, Biometrika 70:499)::

        D = (1 + r)² / r · (z_{1−α/s} + z_{1−β})² / (log HR)²

    Freedman (1982, Stat Med 1:121), as in rpact ``typeOfComputation="Freedman"``::

        D = (z_{1−α/s} + z_{1−β})² · (1 + r·HR)² / (r (1 − HR)²)

    Parameters
    ----------
    hr : float
        Hazard ratio treatment / control to detect (positive, not 1).
    alpha, power, sided, ratio
        As in :func:`n_mean_difference`.
    method : {"schoenfeld", "freedman"}
        Event formula.
    """
    hr = check_positive("hr", hr)
    if hr == 1.0:
        raise ValueError("hr=1.0 is no effect; give the hazard ratio to detect, e.g. hr=0.7")
    ratio = check_positive("ratio", ratio)
    alpha1 = one_sided_alpha(alpha, sided)
    power = check_probability("power", power)
    z_sum2 = (z_upper(alpha1) + z_upper(1.0 - power)) ** 2
    if method == "schoenfeld":
        events = (1.0 + ratio) ** 2 / ratio * z_sum2 / math.log(hr) ** 2
    elif method == "freedman":
        events = z_sum2 * (1.0 + ratio * hr) ** 2 / (ratio * (1.0 - hr) ** 2)
    else:
        raise ValueError(f"method={method!r} must be 'schoenfeld' or 'freedman'")
    return EventsResult(
        events=events,
        events_rounded=math.ceil(events - 1e-9),
        hr=hr,
        method=method,
        alpha=float(alpha),
        sided=check_sided(sided),
        power=power,
        ratio=ratio,
    )

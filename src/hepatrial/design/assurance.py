"""Assurance: the probability of success of a trial, averaging power over prior uncertainty.

With the phase 2 estimate d̂ and its standard error s as a normal prior for the true effect δ,
and the new trial's estimate having standard error σ_n, success is a one-sided significant
result in the direction of d̂ (O'Hagan, Stevens & Campbell 2005, Pharm Stat 4:187)::

    assurance = ∫ Φ(|δ|·sign(δ d̂)/σ_n − z_{1−α/s}) · φ((δ − d̂)/s)/s dδ

evaluated by Gauss-Hermite quadrature. (The closed form
Φ((|d̂|/σ_n − z_{1−α/s}) / sqrt(1 + s²/σ_n²)) checks it in the tests.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from hepatrial.design._common import check_positive, one_sided_alpha, z_upper
from hepatrial.stats.engine import RenderedResult


@dataclass(frozen=True)
class AssuranceResult(RenderedResult):
    """Probability of success of the planned trial and its conventional power."""

    assurance: float
    power_at_estimate: float
    estimate: float
    se_prior: float
    se_final: float
    alpha: float
    sided: int
    nodes: int

    @property
    def summary(self) -> pd.DataFrame:
        """One row: prior mean and SE, final SE, power at the estimate, assurance."""
        return pd.DataFrame(
            [
                {
                    "estimate": self.estimate,
                    "se_prior": self.se_prior,
                    "se_final": self.se_final,
                    "alpha": self.alpha,
                    "sided": self.sided,
                    "power_at_estimate": self.power_at_estimate,
                    "assurance": self.assurance,
                }
            ]
        )

    def __repr__(self) -> str:
        return (
            f"AssuranceResult(assurance={self.assurance:.4f}, "
            f"power at estimate={self.power_at_estimate:.4f})"
        )


def _final_se(
    sd: float | None, n_total: float | None, ratio: float, final_se: float | None
) -> float:
    if final_se is not None:
        if sd is not None or n_total is not None:
            raise ValueError("give either final_se= or both sd= and n_total=, not both")
        return check_positive("final_se", final_se)
    if sd is None or n_total is None:
        raise ValueError("give sd= and n_total= (or final_se=) for the planned trial")
    n = check_positive("n_total", n_total)
    n_treatment, n_control = n * ratio / (1.0 + ratio), n / (1.0 + ratio)
    return check_positive("sd", sd) * math.sqrt(1.0 / n_treatment + 1.0 / n_control)


def assurance(
    *,
    estimate: float,
    se: float,
    sd: float | None = None,
    n_total: float | None = None,
    final_se: float | None = None,
    alpha: float = 0.05,
    sided: int = 2,
    ratio: float = 1.0,
    nodes: int = 80,
) -> AssuranceResult:
    """Probability of success of a planned trial given a phase 2 estimate.

    Parameters
    ----------
    estimate : float
        Phase 2 estimate of the effect (e.g. ΔΔMELD −0.87 MELD points); its sign sets the
        direction that counts as success.
    se : float
        Standard error of ``estimate`` (e.g. 0.45), the SD of the normal prior.
    sd, n_total : float, optional
        Within-arm SD of the outcome and total size of the planned trial (mean difference).
    final_se : float, optional
        Standard error of the planned trial's estimate, instead of ``sd``/``n_total`` (e.g.
        sqrt(4 / D) for a log hazard ratio with D events).
    alpha, sided, ratio
        Level (two-sided unless ``sided=1``) and allocation ratio n_treatment / n_control.
    nodes : int
        Gauss-Hermite nodes.

    Examples
    --------
    >>> round(assurance(estimate=-0.87, se=0.45, sd=1.64, n_total=152).assurance, 3)
    0.748
    """
    if not math.isfinite(float(estimate)) or float(estimate) == 0.0:
        raise ValueError(f"estimate={estimate!r} must be a finite non-zero effect")
    prior_se = check_positive("se", se)
    sigma = _final_se(sd, n_total, check_positive("ratio", ratio), final_se)
    z = z_upper(one_sided_alpha(alpha, sided))
    direction = math.copysign(1.0, float(estimate))
    x, w = np.polynomial.hermite_e.hermegauss(int(nodes))
    delta = float(estimate) + prior_se * x
    power = special.ndtr(direction * delta / sigma - z)
    value = float(w @ power) / math.sqrt(2.0 * math.pi)
    return AssuranceResult(
        assurance=value,
        power_at_estimate=float(special.ndtr(abs(float(estimate)) / sigma - z)),
        estimate=float(estimate),
        se_prior=prior_se,
        se_final=sigma,
        alpha=float(alpha),
        sided=int(sided),
        nodes=int(nodes),
    )

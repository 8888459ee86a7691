"""Phase 2 evidence from the seed trials, as inputs for design, with their derivations.

Published summaries rarely give what a sample-size formula needs (an SD, an SE, a hazard ratio);
each value here is derived from the published figures by the arithmetic written in
``derivation``:

- MATCH (Brennan et al., Nat Med 2025): ΔΔMELD −0.87, 95% CI (−1.79, 0.0), n = 27 / 24.
  SE = (0.0 − (−1.79)) / (2 · 1.95996) = 0.4566; SD = SE / sqrt(1/27 + 1/24) = 1.6277.
- MSC in HBV-ACLF (Lin et al., Hepatology 2017): 24-week survival 73.2% (41/56) vs 55.6%
  (30/54); under proportional hazards HR = log(0.732) / log(0.556) = 0.532, SE(log HR) ≈
  sqrt(1/15 + 1/24) = 0.329 from the deaths; severe infection 16.1% (9/56) vs 33.3% (18/54).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hepatrial.design._common import z_upper


def se_from_ci(low: float, high: float, level: float = 0.95) -> float:
    """Standard error from a symmetric normal confidence interval: (high − low) / (2 z)."""
    return (float(high) - float(low)) / (2.0 * z_upper((1.0 - level) / 2.0))


def sd_from_se(se: float, n_treatment: int, n_control: int) -> float:
    """Within-arm SD from the SE of a difference in means: SE / sqrt(1/n_T + 1/n_C)."""
    return float(se) / math.sqrt(1.0 / n_treatment + 1.0 / n_control)


@dataclass(frozen=True)
class PhaseTwoEffect:
    """A published effect with what design needs, and how it was derived."""

    trial: str
    endpoint: str
    estimate: float
    se: float
    sd: float | None
    p_treatment: float | None
    p_control: float | None
    n_treatment: int
    n_control: int
    derivation: str


def match_ddmeld() -> PhaseTwoEffect:
    """MATCH's primary endpoint: ΔΔMELD at day 90 (MELD points)."""
    se = se_from_ci(-1.79, 0.0)
    sd = sd_from_se(se, 27, 24)
    return PhaseTwoEffect(
        trial="MATCH (Brennan et al., Nat Med 2025)",
        endpoint="ddmeld",
        estimate=-0.87,
        se=se,
        sd=sd,
        p_treatment=None,
        p_control=None,
        n_treatment=27,
        n_control=24,
        derivation=(
            f"95% CI (-1.79, 0.0): SE = 1.79 / (2 x 1.95996) = {se:.4f}; "
            f"SD = SE / sqrt(1/27 + 1/24) = {sd:.4f}"
        ),
    )


def msc_survival() -> PhaseTwoEffect:
    """MSC trial's primary endpoint: survival to week 24, as a hazard ratio."""
    hr = math.log(0.732) / math.log(0.556)
    se = math.sqrt(1.0 / 15 + 1.0 / 24)
    return PhaseTwoEffect(
        trial="MSC for HBV-ACLF (Lin et al., Hepatology 2017)",
        endpoint="survival",
        estimate=math.log(hr),
        se=se,
        sd=None,
        p_treatment=0.732,
        p_control=0.556,
        n_treatment=56,
        n_control=54,
        derivation=(
            f"24-week survival 0.732 vs 0.556: HR = log(0.732) / log(0.556) = {hr:.4f}; "
            f"SE(log HR) = sqrt(1/15 + 1/24) = {se:.4f} from 15 and 24 deaths"
        ),
    )


def msc_infection() -> PhaseTwoEffect:
    """MSC trial's severe infection by week 24: 9/56 versus 18/54."""
    p1, p2 = 9 / 56, 18 / 54
    se = math.sqrt(p1 * (1 - p1) / 56 + p2 * (1 - p2) / 54)
    return PhaseTwoEffect(
        trial="MSC for HBV-ACLF (Lin et al., Hepatology 2017)",
        endpoint="infection",
        estimate=p1 - p2,
        se=se,
        sd=None,
        p_treatment=p1,
        p_control=p2,
        n_treatment=56,
        n_control=54,
        derivation=f"severe infection 9/56 = {p1:.4f} vs 18/54 = {p2:.4f}; Wald SE {se:.4f}",
    )

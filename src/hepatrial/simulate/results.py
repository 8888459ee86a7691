"""Operating characteristics of simulated trials, summarized from per-trial outcomes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hepatrial.simulate.analysis import TrialOutcomes
from hepatrial.simulate.trial import DAYS_PER_MONTH
from hepatrial.stats.engine import RenderedResult

if TYPE_CHECKING:
    from hepatrial.simulate.runner import Scenario


@dataclass(frozen=True)
class SimulationResult(RenderedResult):
    """Operating characteristics of one scenario.

    Attributes
    ----------
    power : float
        Share of trials crossing the efficacy boundary in the direction of benefit (for a fixed
        design: two-sided P < alpha with the estimate favouring the experimental arm).
    power_mc_se : float
        Monte Carlo standard error of ``power``, sqrt(p (1 − p) / trials).
    rejection_two_sided : float
        Share of trials with |Z| ≥ z_{1−α/2} at the final analysis (the type I error of a fixed
        design under the null, in either direction).
    bias, empirical_se, mean_se, coverage : float
        Mean estimate minus the truth (log hazard ratio or MELD points), SD of the estimates,
        mean reported SE and share of confidence intervals containing the truth.
    expected_n, expected_duration_months, expected_information : float
        Means of participants enrolled, calendar time and events (or complete cases) at the
        analysis that ends the trial.
    stop_efficacy, stop_futility : tuple of float
        Probability of stopping at each look for efficacy / futility.
    secondary_power : float
        Share of trials with the complication (e.g. severe infection) significantly lower.
    mean_excluded, mean_screened : float
        Mean complete-case exclusions (deaths, transplants, dropouts before day 90) and mean
        candidates screened per trial.
    """

    scenario: Scenario
    trials: int
    seed: int
    power: float
    power_mc_se: float
    rejection_two_sided: float
    truth: float
    mean_estimate: float
    bias: float
    empirical_se: float
    mean_se: float
    coverage: float
    expected_n: float
    expected_duration_months: float
    expected_information: float
    stop_efficacy: tuple[float, ...]
    stop_futility: tuple[float, ...]
    secondary_power: float
    mean_excluded: float
    mean_screened: float
    outcomes: TrialOutcomes | None = None

    @property
    def summary(self) -> pd.DataFrame:
        """One row of operating characteristics."""
        row = {
            "protocol": self.scenario.protocol,
            "n": self.scenario.n,
            "hr": self.scenario.hr,
            "meld_shift": self.scenario.meld_shift,
            "risk_ratio": self.scenario.risk_ratio,
            "trials": self.trials,
            "power": self.power,
            "power_mc_se": self.power_mc_se,
            "rejection_two_sided": self.rejection_two_sided,
            "bias": self.bias,
            "coverage": self.coverage,
            "expected_n": self.expected_n,
            "expected_duration_months": self.expected_duration_months,
            "expected_information": self.expected_information,
            "secondary_power": self.secondary_power,
        }
        for k, (eff, fut) in enumerate(zip(self.stop_efficacy, self.stop_futility, strict=True)):
            row[f"stop_efficacy_{k + 1}"] = eff
            row[f"stop_futility_{k + 1}"] = fut
        return pd.DataFrame([row])

    def __repr__(self) -> str:
        return (
            f"SimulationResult({self.scenario.label}, trials={self.trials}: "
            f"power={self.power:.4f} ± {self.power_mc_se:.4f})"
        )


@dataclass(frozen=True)
class Moments:
    """Sums over one block of trials, merged in block order (so totals never depend on chunks).

    ``estimate_m2`` is the sum of squared deviations from the block mean of the finite
    estimates, merged by the parallel formula of Chan, Golub & LeVeque (1979).
    """

    trials: int
    success: int
    reject_final: int
    estimates: int
    estimate_mean: float
    estimate_m2: float
    se_count: int
    se_sum: float
    covered: int
    n_enrolled: float
    duration_days: float
    information: float
    excluded: float
    screened: float
    secondary: int
    stop_efficacy: tuple[int, ...]
    stop_futility: tuple[int, ...]

    def merge(self, other: Moments) -> Moments:
        """The moments of both blocks together."""
        n = self.estimates + other.estimates
        delta = other.estimate_mean - self.estimate_mean
        mean = self.estimate_mean + delta * other.estimates / n if n else 0.0
        m2 = self.estimate_m2 + other.estimate_m2
        if n:
            m2 += delta * delta * self.estimates * other.estimates / n
        summed = {name: getattr(self, name) + getattr(other, name) for name in _ADDITIVE}
        return Moments(
            **summed,
            estimates=n,
            estimate_mean=mean,
            estimate_m2=m2,
            stop_efficacy=tuple(
                a + b for a, b in zip(self.stop_efficacy, other.stop_efficacy, strict=True)
            ),
            stop_futility=tuple(
                a + b for a, b in zip(self.stop_futility, other.stop_futility, strict=True)
            ),
        )


_ADDITIVE = (
    "trials",
    "success",
    "reject_final",
    "se_count",
    "se_sum",
    "covered",
    "n_enrolled",
    "duration_days",
    "information",
    "excluded",
    "screened",
    "secondary",
)


def block_moments(outcomes: TrialOutcomes, looks: int) -> Moments:
    """Sums of one block's per-trial outcomes."""
    estimate = outcomes.estimate[np.isfinite(outcomes.estimate)]
    se = outcomes.se[np.isfinite(outcomes.se)]
    stop = outcomes.stop_look
    mean = float(estimate.mean()) if estimate.size else 0.0
    return Moments(
        trials=int(outcomes.success.size),
        success=int(outcomes.success.sum()),
        reject_final=int(outcomes.reject_two_sided[stop == looks].sum()),
        estimates=int(estimate.size),
        estimate_mean=mean,
        estimate_m2=float(np.sum((estimate - mean) ** 2)),
        se_count=int(se.size),
        se_sum=float(se.sum()),
        covered=int(outcomes.covered.sum()),
        n_enrolled=float(outcomes.n_enrolled.sum()),
        duration_days=float(outcomes.duration_days.sum()),
        information=float(outcomes.information.sum()),
        excluded=float(outcomes.excluded.sum()),
        screened=float(outcomes.screened.sum()),
        secondary=int(outcomes.secondary_success.sum()),
        stop_efficacy=tuple(
            int(np.sum((stop == k) & outcomes.success)) for k in range(1, looks + 1)
        ),
        stop_futility=tuple(
            int(np.sum((stop == k) & outcomes.stopped_futility)) for k in range(1, looks + 1)
        ),
    )


def summarize(
    scenario: Scenario,
    blocks: Sequence[Moments],
    *,
    seed: int,
    truth: float,
    outcomes: TrialOutcomes | None = None,
) -> SimulationResult:
    """Operating characteristics of one scenario from its blocks' moments, in block order."""
    total = blocks[0]
    for block in blocks[1:]:
        total = total.merge(block)
    t = total.trials
    power = total.success / t
    has_estimates = total.estimates > 0
    return SimulationResult(
        scenario=scenario,
        trials=t,
        seed=seed,
        power=power,
        power_mc_se=math.sqrt(power * (1.0 - power) / t),
        rejection_two_sided=total.reject_final / t,
        truth=truth,
        mean_estimate=total.estimate_mean if has_estimates else math.nan,
        bias=total.estimate_mean - truth if has_estimates else math.nan,
        empirical_se=(
            math.sqrt(total.estimate_m2 / (total.estimates - 1))
            if total.estimates > 1
            else math.nan
        ),
        mean_se=total.se_sum / total.se_count if total.se_count else math.nan,
        coverage=total.covered / t,
        expected_n=total.n_enrolled / t,
        expected_duration_months=total.duration_days / t / DAYS_PER_MONTH,
        expected_information=total.information / t,
        stop_efficacy=tuple(k / t for k in total.stop_efficacy),
        stop_futility=tuple(k / t for k in total.stop_futility),
        secondary_power=total.secondary / t,
        mean_excluded=total.excluded / t,
        mean_screened=total.screened / t,
        outcomes=outcomes,
    )


@dataclass(frozen=True)
class GridResult(RenderedResult):
    """Operating characteristics of every scenario of a grid, in the order given."""

    results: tuple[SimulationResult, ...]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per scenario."""
        return pd.concat([r.summary for r in self.results], ignore_index=True)

    def __repr__(self) -> str:
        return f"GridResult({len(self.results)} scenarios)"

"""Operating characteristics of simulated trials, summarized from per-trial outcomes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hepatrial.simulate.analysis import TrialOutcomes
from hepatrial.simulate.trial import DAYS_PER_MONTH
from hepatrial.stats._common import RenderedResult

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


def _finite_mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def summarize(
    scenario: Scenario,
    outcomes: TrialOutcomes,
    *,
    seed: int,
    truth: float,
    looks: int,
    keep_trials: bool,
) -> SimulationResult:
    """Operating characteristics of one scenario from its per-trial outcomes."""
    trials = outcomes.success.size
    power = float(outcomes.success.mean())
    estimate = outcomes.estimate[np.isfinite(outcomes.estimate)]
    stop = outcomes.stop_look
    return SimulationResult(
        scenario=scenario,
        trials=trials,
        seed=seed,
        power=power,
        power_mc_se=math.sqrt(power * (1.0 - power) / trials),
        rejection_two_sided=float(outcomes.reject_two_sided[stop == looks].sum() / trials),
        truth=truth,
        mean_estimate=float(estimate.mean()) if estimate.size else math.nan,
        bias=float(estimate.mean() - truth) if estimate.size else math.nan,
        empirical_se=float(estimate.std(ddof=1)) if estimate.size > 1 else math.nan,
        mean_se=_finite_mean(outcomes.se),
        coverage=float(outcomes.covered.mean()),
        expected_n=float(outcomes.n_enrolled.mean()),
        expected_duration_months=float(outcomes.duration_days.mean() / DAYS_PER_MONTH),
        expected_information=float(outcomes.information.mean()),
        stop_efficacy=tuple(
            float(np.mean((stop == k) & outcomes.success)) for k in range(1, looks + 1)
        ),
        stop_futility=tuple(
            float(np.mean((stop == k) & outcomes.stopped_futility)) for k in range(1, looks + 1)
        ),
        secondary_power=float(outcomes.secondary_success.mean()),
        mean_excluded=float(outcomes.excluded.mean()),
        mean_screened=float(outcomes.screened.mean()),
        outcomes=outcomes if keep_trials else None,
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

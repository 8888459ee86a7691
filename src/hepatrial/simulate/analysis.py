"""Analysis of simulated trials with the batch estimators, at one or several looks.

Each look cuts the data at a calendar time (trial-specific) and analyses the primary endpoint:

- time to event (death, other terminal events censor): :func:`hepatrial.stats.batch.logrank_many`;
  the standardized statistic is the log-rank Z of the experimental arm, the effect estimate
  Peto's log hazard ratio (O − E)/V with SE 1/√V;
- change from baseline of MELD at day 90 (complete cases; deaths, transplants and dropouts
  before day 90 are excluded and counted): :func:`hepatrial.stats.batch.ancova_many` adjusted for
  baseline MELD; the t statistic is mapped to the normal scale through its P value, so a single
  look at 1.96 is exactly the two-sided 5% t-test decision.

Looks fall at information fractions of events (time to event) or of participants reaching day 90
(change from baseline). Efficacy is ``Z ≥ z_k`` in the direction of benefit and futility
``Z < f_k`` (:func:`hepatrial.design.gs_boundaries`); a fixed design is one look at
``z_{1−α/2}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from hepatrial.design import GsBoundaries
from hepatrial.simulate.trial import MELD_VISIT_DAY, TrialBlock
from hepatrial.stats.batch import ancova_many, compare_proportions_many, logrank_many
from hepatrial.stats.engine import FloatArray

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class Looks:
    """Information fractions and boundaries of the analyses (one look for a fixed design)."""

    information: tuple[float, ...]
    efficacy: tuple[float, ...]
    futility: tuple[float, ...] | None = None
    max_events: int | None = None

    @classmethod
    def fixed(cls, alpha: float) -> Looks:
        """A single final analysis at two-sided level ``alpha``."""
        return cls((1.0,), (float(stats.norm.isf(alpha / 2.0)),))

    @classmethod
    def from_boundaries(cls, design: GsBoundaries, max_events: int | None = None) -> Looks:
        """Looks of a group-sequential design."""
        return cls(design.information, design.z, design.futility, max_events)


@dataclass(frozen=True)
class LookResult:
    """Standardized statistic (positive = benefit) and estimate at one look, per trial."""

    z: FloatArray
    estimate: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    information: FloatArray
    excluded: FloatArray


def _trial_index(shape: tuple[int, int]) -> Array:
    return np.repeat(np.arange(shape[0], dtype=np.int64), shape[1])


def survival_look(block: TrialBlock, cut: FloatArray, alpha: float) -> LookResult:
    """Log-rank analysis of every trial with data cut at calendar time ``cut`` (days)."""
    follow_up = np.clip(cut[:, None] - block.entry, 0.0, None)
    time = np.minimum(block.death_time, follow_up)
    event = block.death_observed & (block.death_time <= follow_up)
    result = logrank_many(
        _trial_index(time.shape), time.ravel(), event.ravel(), block.treated.ravel()
    )
    observed_minus_expected = result.observed[:, 1] - result.expected[:, 1]
    variance = result.variance[:, 1, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = observed_minus_expected / variance
        se = 1.0 / np.sqrt(variance)
    half = float(stats.norm.isf(alpha / 2.0)) * se
    z = -np.asarray(result.z)
    return LookResult(
        z=z,
        estimate=estimate,
        se=se,
        ci_low=estimate - half,
        ci_high=estimate + half,
        information=event.sum(axis=1).astype(np.float64),
        excluded=np.zeros(time.shape[0]),
    )


def change_look(block: TrialBlock, cut: FloatArray, alpha: float) -> LookResult:
    """ANCOVA of the day-90 MELD change on complete cases with day 90 reached by ``cut``."""
    reached = block.entry + MELD_VISIT_DAY <= cut[:, None]
    complete = reached & block.meld_observed
    rows = np.nonzero(complete)
    result = ancova_many(
        rows[0].astype(np.int64),
        block.meld_change[rows],
        block.treated[rows].astype(np.int64),
        block.meld_baseline[rows],
        conf_level=1.0 - alpha,
    )
    n_trials = cut.shape[0]

    def full(values: FloatArray) -> FloatArray:
        out = np.full(n_trials, np.nan)
        out[result.trial] = values
        return out

    t_benefit = -full(result.statistic)
    df = full(result.df)
    z = -np.asarray(special.ndtri(special.stdtr(df, -t_benefit)))
    return LookResult(
        z=z,
        estimate=full(result.estimate),
        se=full(result.se),
        ci_low=full(result.ci_low),
        ci_high=full(result.ci_high),
        information=complete.sum(axis=1).astype(np.float64),
        excluded=(reached & ~block.meld_observed).sum(axis=1).astype(np.float64),
    )


def _kth_smallest(values: FloatArray, k: Array) -> FloatArray:
    ordered = np.sort(values, axis=1)
    index = np.clip(k - 1, 0, values.shape[1] - 1)
    return np.asarray(np.where(k >= 1, ordered[np.arange(values.shape[0]), index], np.inf))


def cut_times(block: TrialBlock, looks: Looks, survival: bool) -> FloatArray:
    """Calendar time of each look per trial, shape (trials, looks); the last is the final one."""
    final = block.entry.max(axis=1) + block.horizon
    fractions = np.asarray(looks.information)
    if survival:
        calendar = np.where(block.death_observed, block.entry + block.death_time, np.inf)
        if looks.max_events is not None:
            total = np.full(calendar.shape[0], float(looks.max_events))
        else:
            total = block.death_observed.sum(axis=1).astype(np.float64)
    else:
        calendar = block.entry + MELD_VISIT_DAY
        total = np.full(calendar.shape[0], float(calendar.shape[1]))
    cuts = np.empty((calendar.shape[0], fractions.size))
    cuts[:, -1] = final
    event_driven_end = survival and looks.max_events is not None
    for k, fraction in enumerate(fractions):
        if k == fractions.size - 1 and not event_driven_end:
            break  # the final analysis waits for complete follow-up
        needed = np.ceil(fraction * total - 1e-9).astype(np.int64)
        cuts[:, k] = np.minimum(_kth_smallest(calendar, needed), final)
    return cuts


@dataclass(frozen=True)
class TrialOutcomes:
    """Per-trial results of a block (the unit the runner concatenates and summarizes)."""

    success: Array
    reject_two_sided: Array
    stop_look: Array
    stopped_futility: Array
    z: FloatArray
    estimate: FloatArray
    se: FloatArray
    covered: Array
    n_enrolled: FloatArray
    duration_days: FloatArray
    information: FloatArray
    excluded: FloatArray
    screened: FloatArray
    secondary_success: Array


def analyse_block(
    block: TrialBlock, looks: Looks, *, survival: bool, truth: float, alpha: float
) -> TrialOutcomes:
    """Apply the looks to every trial: stop at the first boundary crossed."""
    cuts = cut_times(block, looks, survival)
    analyse = survival_look if survival else change_look
    results = [analyse(block, cuts[:, k], alpha) for k in range(cuts.shape[1])]
    z = np.stack([np.nan_to_num(r.z, nan=0.0) for r in results], axis=1)
    efficacy = z >= np.asarray(looks.efficacy)[None, :]
    futility = np.zeros_like(efficacy)
    if looks.futility is not None:
        futility[:, :-1] = z[:, :-1] < np.asarray(looks.futility)[None, :]
    decided = efficacy | futility
    decided[:, -1] = True
    stop = np.argmax(decided, axis=1)
    rows = np.arange(z.shape[0])

    def at_stop(name: str) -> FloatArray:
        stacked: FloatArray = np.stack([getattr(r, name) for r in results], axis=1)
        return np.asarray(stacked[rows, stop], dtype=np.float64)

    cut = cuts[rows, stop]
    estimate, ci_low, ci_high = at_stop("estimate"), at_stop("ci_low"), at_stop("ci_high")
    critical = float(stats.norm.isf(alpha / 2.0))
    return TrialOutcomes(
        success=efficacy[rows, stop],
        reject_two_sided=np.abs(z[rows, stop]) >= critical,
        stop_look=stop + 1,
        stopped_futility=futility[rows, stop],
        z=z[rows, stop],
        estimate=estimate,
        se=at_stop("se"),
        covered=(ci_low <= truth) & (truth <= ci_high),
        n_enrolled=(block.entry <= cut[:, None]).sum(axis=1).astype(np.float64),
        duration_days=cut,
        information=at_stop("information"),
        excluded=at_stop("excluded"),
        screened=block.screened,
        secondary_success=_secondary(block, cut, alpha),
    )


def _secondary(block: TrialBlock, cut: FloatArray, alpha: float) -> Array:
    """Complication (e.g. severe infection) lower with treatment at two-sided ``alpha``."""
    if block.complication is None:
        return np.zeros(cut.shape[0], dtype=bool)
    enrolled = block.entry <= cut[:, None]
    treated, control = enrolled & block.treated, enrolled & ~block.treated
    result = compare_proportions_many(
        (block.complication & treated).sum(axis=1),
        treated.sum(axis=1),
        (block.complication & control).sum(axis=1),
        control.sum(axis=1),
    )
    return np.asarray((result.p_value < alpha) & (result.risk_difference < 0))


def truth_of(survival: bool, hr: float, meld_shift: float) -> float:
    """The estimand's true value: log hazard ratio, or the MELD shift."""
    return math.log(hr) if survival else meld_shift

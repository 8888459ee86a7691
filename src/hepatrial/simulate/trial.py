"""One block of simulated trials: screening, allocation, and each participant's course.

The protocol drives the trial: candidates are screened with its eligibility criteria
(:mod:`.screening`), allocated in order of entry by the batch generators of
:mod:`hepatrial.allocation` with the protocol's method, ratio, block sizes and strata (or
minimisation factors), and followed for the primary endpoint's horizon. The first arm listed in
the protocol is the experimental arm, the last one the control arm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from hepatrial.allocation import (
    minimisation_assignments,
    permuted_block_assignments,
    simple_assignments,
)
from hepatrial.exceptions import ProtocolError
from hepatrial.protocol import Factor, Protocol, load_protocol
from hepatrial.protocol.variables import LAB_VARIABLES
from hepatrial.simulate import patients as pm
from hepatrial.simulate import screening
from hepatrial.stats.engine import FloatArray
from hepatrial.units import plausible_range

Array = npt.NDArray[Any]
BoolArray = npt.NDArray[np.bool_]
DAYS_PER_MONTH = 365.25 / 12.0
MELD_VISIT_DAY = 90.0


@dataclass(frozen=True)
class Effects:
    """True treatment effects of a scenario (experimental versus control)."""

    hr: float = 1.0
    meld_shift: float = 0.0
    risk_ratio: float = 1.0


@dataclass(frozen=True)
class TrialBlock:
    """Participants of ``n_trials`` trials, arrays of shape (n_trials, n) in order of entry."""

    entry: FloatArray
    treated: BoolArray
    screened: FloatArray
    horizon: float
    death_time: FloatArray
    death_observed: BoolArray
    follow_up_end: FloatArray
    meld_baseline: FloatArray
    meld_change: FloatArray
    meld_observed: BoolArray
    complication: BoolArray | None


@cache
def cached_protocol(protocol_id: str) -> Protocol:
    """A built-in protocol, loaded once per process."""
    return load_protocol(protocol_id)


@cache
def eligible_fraction(protocol_id: str, model_id: str) -> float:
    """Share of the model's candidates the protocol admits (fixed internal seed, 20 000 draws).

    Used only to size the candidate pool; the share does not affect any result.
    """
    protocol, model = cached_protocol(protocol_id), pm.load_model(model_id)
    values = _screen_values(protocol, model, np.random.default_rng(0), (1, 20_000))
    return max(float(screening.eligible(protocol, values).mean()), 1e-3)


def _screen_values(
    protocol: Protocol, model: pm.PatientModel, rng: np.random.Generator, shape: tuple[int, int]
) -> dict[str, Array]:
    candidates = pm.draw_candidates(model, rng, shape)
    for name in model.labs.values:
        if name in LAB_VARIABLES:
            low, high = plausible_range(LAB_VARIABLES[name].analyte)
            candidates[name] = np.clip(candidates[name], low, high)
    return screening.screening_values(protocol, candidates)


def screen(
    protocol: Protocol, model: pm.PatientModel, rng: np.random.Generator, n_trials: int, n: int
) -> tuple[dict[str, Array], FloatArray]:
    """The first ``n`` eligible candidates of each trial and how many were screened per trial."""
    p = eligible_fraction(protocol.id, model.id)
    width = math.ceil(n / p + 5.0 * math.sqrt(n * (1.0 - p)) / p + 10.0)
    values = _screen_values(protocol, model, rng, (n_trials, width))
    mask = screening.eligible(protocol, values)
    while mask.sum(axis=1).min() < n:
        more = _screen_values(protocol, model, rng, (n_trials, width // 4 + 1))
        values = {k: np.concatenate([values[k], more[k]], axis=1) for k in values}
        mask = np.concatenate([mask, screening.eligible(protocol, more)], axis=1)
    rows, cols = screening.first_eligible(mask, n)
    screened = cols[:, -1].astype(np.float64) + 1.0
    needed = {"meld", "meld_continuous"} | {
        f.band_of or f.name for f in protocol.allocation.factors
    }
    return {k: values[k][rows, cols] for k in needed if k in values}, screened


POOL_PATIENTS = 1 << 20
"""Eligible virtual patients in a pre-screened pool (per seed, protocol and model)."""
POOL_SPAWN_KEY = 1 << 40
"""Spawn key of the pool's random stream, far from the block keys 0, 1, 2, ..."""


@dataclass(frozen=True)
class EligiblePool:
    """Eligible participants screened once through the protocol, drawn from by every trial.

    ``values`` holds the screening variables the simulation needs (MELD in the protocol's
    variant, continuous MELD, allocation factors) for :data:`POOL_PATIENTS` participants;
    ``eligible_fraction`` is the share of screened candidates who were eligible.
    """

    values: dict[str, Array]
    eligible_fraction: float

    def draw(
        self, rng: np.random.Generator, n_trials: int, n: int
    ) -> tuple[dict[str, Array], FloatArray]:
        """``n`` participants per trial (with replacement) and the candidates screened.

        Candidates screened until the n-th eligible one: n + NegativeBinomial(n, p).
        """
        index = rng.integers(0, POOL_PATIENTS, size=(n_trials, n))
        failures = rng.negative_binomial(n, self.eligible_fraction, size=n_trials)
        return {k: v.take(index) for k, v in self.values.items()}, n + failures.astype(np.float64)


@lru_cache(maxsize=8)
def eligible_pool(protocol_id: str, model_id: str, seed: int) -> EligiblePool:
    """The pre-screened pool of a seed: 2^20 eligible participants, built in 64 batches."""
    protocol, model = cached_protocol(protocol_id), pm.load_model(model_id)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(POOL_SPAWN_KEY,)))
    batches, screened = [], 0.0
    for _ in range(64):
        values, count = screen(protocol, model, rng, 1, POOL_PATIENTS // 64)
        batches.append(values)
        screened += float(count.sum())
    pooled = {k: np.concatenate([b[k].ravel() for b in batches]) for k in batches[0]}
    return EligiblePool(pooled, POOL_PATIENTS / screened)


def _factor_codes(factor: Factor, values: dict[str, Array]) -> Array:
    if factor.band_of is not None:
        return np.searchsorted(np.asarray(factor.cutpoints), values[factor.band_of], side="right")
    if factor.name not in values or not factor.levels:
        raise ProtocolError(
            f"allocation factor {factor.name!r} needs its levels simulated by the patient model"
        )
    levels = np.asarray(factor.levels)
    order = np.argsort(levels)
    given = values[factor.name]
    position = np.clip(np.searchsorted(levels[order], given), 0, levels.size - 1)
    if not np.all(levels[order][position] == given):
        raise ProtocolError(
            f"the patient model simulates levels of {factor.name!r} outside {list(levels)}"
        )
    return order[position]


def allocate(protocol: Protocol, rng: np.random.Generator, values: dict[str, Array]) -> BoolArray:
    """Arms from the protocol's allocation method; returns True for the experimental arm."""
    if len(protocol.arms) != 2:
        raise ProtocolError(
            f"simulation supports two-arm protocols; {protocol.id} has {len(protocol.arms)}"
        )
    allocation = protocol.allocation
    ratio = [arm.ratio for arm in protocol.arms]
    shape = np.shape(values["meld"])
    codes = [_factor_codes(f, values) for f in allocation.factors]
    if allocation.method == "simple":
        arms = simple_assignments(rng, shape[0], shape[1], ratio)
    elif allocation.method == "permuted_blocks":
        strata = None
        if codes:
            sizes = [
                len(f.levels or ()) or int(c.max()) + 1
                for f, c in zip(allocation.factors, codes, strict=True)
            ]
            strata = np.ravel_multi_index(tuple(codes), tuple(sizes)).astype(np.int64)
        arms = permuted_block_assignments(
            rng, shape[0], shape[1], ratio, allocation.block_sizes or (), strata
        )
    else:
        arms = minimisation_assignments(
            rng,
            np.stack(codes, axis=-1).astype(np.int64),
            ratio,
            p_best=float(allocation.p_best or 0.8),
            imbalance=allocation.imbalance or "range",
            weights=[f.weight for f in allocation.factors],
            n_levels=[len(f.levels or ()) for f in allocation.factors],
        )
    return np.asarray(arms == 0)


def horizon_days(protocol: Protocol) -> float:
    """Follow-up of the primary endpoint in days (day 90 for change-from-baseline MELD)."""
    endpoint = protocol.primary_endpoint
    if endpoint.kind == "time_to_event":
        if endpoint.time_horizon_days is None:
            raise ProtocolError(f"{protocol.id}: the primary endpoint needs time_horizon_days")
        return float(endpoint.time_horizon_days)
    if endpoint.kind == "change_from_baseline" and endpoint.variable == "meld":
        return MELD_VISIT_DAY
    raise ProtocolError(
        f"{protocol.id}: primary endpoint kind {endpoint.kind!r} of {endpoint.variable!r} cannot "
        "be simulated; supported: time_to_event, change_from_baseline of meld"
    )


def simulate_block(
    protocol: Protocol,
    model: pm.PatientModel,
    rng: np.random.Generator,
    n_trials: int,
    n: int,
    effects: Effects,
    accrual_per_month: float,
    pool: EligiblePool | None = None,
) -> TrialBlock:
    """Screen, allocate and follow ``n`` participants in each of ``n_trials`` trials.

    With ``pool`` the participants are drawn from a pre-screened pool; without it every
    trial screens its own candidates.
    """
    if pool is None:
        values, screened = screen(protocol, model, rng, n_trials, n)
    else:
        values, screened = pool.draw(rng, n_trials, n)
    treated = allocate(protocol, rng, values)
    shape = treated.shape
    accrual_days = n / accrual_per_month * DAYS_PER_MONTH
    entry = np.sort(rng.random(shape), axis=1) * accrual_days
    meld_true = values["meld_continuous"]
    course = model.meld_course
    if course is not None:
        meld_true = meld_true - course.measurement_sd * rng.standard_normal(shape)
    times = pm.event_times(model, rng, meld_true, treated, effects.hr)
    dropout = (
        rng.exponential(1.0 / model.dropout.hazard_per_day, shape)
        if model.dropout.probability
        else np.full(shape, np.inf)
    )
    horizon = horizon_days(protocol)
    terminal = [t for name, t in times.items() if model.events[name].terminal and name != "death"]
    competing = np.minimum.reduce([*terminal, dropout]) if terminal else dropout
    follow_up_end = np.minimum(np.minimum(competing, times["death"]), horizon)
    death_observed = times["death"] <= np.minimum(competing, horizon)
    meld_baseline, meld_change, meld_observed = _meld_course(
        model, rng, meld_true, treated, effects, follow_up_end
    )
    complication = None
    if model.effects.binary is not None:
        complication = pm.binary_outcome(
            model, model.effects.binary, rng, meld_true, treated, effects.risk_ratio
        )
    return TrialBlock(
        entry=entry,
        treated=treated,
        screened=screened,
        horizon=horizon,
        death_time=np.minimum(times["death"], follow_up_end),
        death_observed=death_observed,
        follow_up_end=follow_up_end,
        meld_baseline=meld_baseline,
        meld_change=meld_change,
        meld_observed=meld_observed,
        complication=complication,
    )


def _meld_course(
    model: pm.PatientModel,
    rng: np.random.Generator,
    meld_true: FloatArray,
    treated: BoolArray,
    effects: Effects,
    follow_up_end: FloatArray,
) -> tuple[FloatArray, FloatArray, BoolArray]:
    course = model.meld_course
    if course is None:
        empty = np.zeros(meld_true.shape)
        return empty, empty, np.zeros(meld_true.shape, dtype=bool)
    drift = rng.normal(course.drift_mean_per_year, course.drift_sd_per_year, meld_true.shape)
    baseline = pm.meld_at(course, rng, meld_true, drift, 0.0)
    day90 = pm.meld_at(
        course, rng, meld_true, drift, MELD_VISIT_DAY, np.where(treated, effects.meld_shift, 0.0)
    )
    observed = follow_up_end >= MELD_VISIT_DAY
    return baseline, day90 - baseline, np.asarray(observed)

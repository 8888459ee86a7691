"""Allocation sequences for many simulated trials at once, on the cores of concealed allocation.

Public API
----------
``simple_assignments(rng, n_trials, n_per_trial, ratio) -> int array (n_trials, n_per_trial)``

``permuted_block_assignments(rng, n_trials, n_per_trial, ratio, block_sizes, strata=None)
-> int array (n_trials, n_per_trial)``; ``strata`` is an optional int array of the same shape
giving each participant's stratum; blocks never span strata.

``minimisation_assignments(rng, factors, ratio, *, p_best=0.8, imbalance="range", weights=None,
n_levels=None) -> int array (n_trials, n)``; ``factors`` is an int array
``(n_trials, n, n_factors)`` of level codes ``0..L_f-1``. The loop runs over participants; every
step is vectorized across trials.

Arms are returned as indices ``0..K-1`` in the order of ``ratio``. All randomness comes from
``rng``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from hepatrial.allocation import core
from hepatrial.exceptions import AllocationError

IntArray = npt.NDArray[np.int64]


def _check_shape(n_trials: int, n_per_trial: int) -> None:
    if n_trials < 1 or n_per_trial < 0:
        raise AllocationError(
            f"need n_trials >= 1 and n_per_trial >= 0; got {n_trials} and {n_per_trial}"
        )


def simple_assignments(
    rng: np.random.Generator, n_trials: int, n_per_trial: int, ratio: Sequence[int]
) -> IntArray:
    """Simple randomization: independent arms with probabilities proportional to ``ratio``."""
    _check_shape(n_trials, n_per_trial)
    probabilities = core.ratio_probabilities(core.check_ratio(ratio))
    return core.arm_from_uniform(rng.random((n_trials, n_per_trial)), probabilities)


def _block_arms(
    rng: np.random.Generator,
    counts: IntArray,
    ratio: tuple[int, ...],
    sizes: tuple[int, ...],
) -> tuple[IntArray, IntArray]:
    """Arms of consecutive permuted blocks of random size, at least ``counts[t]`` for trial t.

    Every trial draws the block sizes and sort keys of ``ceil(max(counts) / min(sizes))``
    blocks (the random stream does not depend on the counts of single trials), but only the
    blocks that start before a trial's count are sorted. Returns the arms of all trials one
    after the other and the index of each trial's first arm.
    """
    n_trials = counts.size
    length = int(counts.max(initial=0))
    n_blocks = -(-length // min(sizes)) if length else 0
    block_sizes = core.block_size_from_uniform(rng.random((n_trials, n_blocks)), sizes)
    keys = rng.random((n_trials, n_blocks, max(sizes)))
    starts = np.cumsum(block_sizes, axis=1) - block_sizes
    needed = starts < counts[:, None]
    arms = core.block_arms_from_keys(keys[needed], block_sizes[needed], ratio)
    per_trial = np.where(needed, block_sizes, 0).sum(axis=1)
    return arms[arms >= 0], np.cumsum(per_trial) - per_trial


def permuted_block_assignments(
    rng: np.random.Generator,
    n_trials: int,
    n_per_trial: int,
    ratio: Sequence[int],
    block_sizes: Sequence[int],
    strata: IntArray | None = None,
) -> IntArray:
    """Permuted-block randomization with random block sizes, optionally within strata.

    Each stratum of each trial gets its own sequence of blocks; the j-th participant of a stratum
    takes that stratum's j-th position. Block sizes are drawn with equal probability from
    ``block_sizes`` (multiples of ``sum(ratio)``).
    """
    _check_shape(n_trials, n_per_trial)
    ratio_t = core.check_ratio(ratio)
    sizes = core.check_block_sizes(block_sizes, ratio_t)
    if strata is None:
        arms, first = _block_arms(rng, np.full(n_trials, n_per_trial), ratio_t, sizes)
        sequence: IntArray = arms[first[:, None] + np.arange(n_per_trial)]
        return sequence
    strata = np.asarray(strata)
    if strata.shape != (n_trials, n_per_trial):
        raise AllocationError(
            f"strata must have shape (n_trials, n_per_trial) = {(n_trials, n_per_trial)}; "
            f"got {strata.shape}"
        )
    # the j-th participant of a stratum takes its j-th arm: ``column`` points every participant
    # to that arm in the concatenated arms of all strata and trials
    column = np.zeros((n_trials, n_per_trial), dtype=np.int64)
    if n_per_trial == 0:
        return column
    counter = np.int32 if n_per_trial < 1 << 31 else np.int64
    sequences, offset = [], 0
    for stratum in _levels(strata):
        mask = strata == stratum
        rank: IntArray = np.cumsum(mask, axis=1, dtype=counter)  # narrow counts: faster
        arms, first = _block_arms(rng, rank[:, -1], ratio_t, sizes)
        column = np.where(mask, rank + (first + (offset - 1))[:, None], column)
        sequences.append(arms)
        offset += arms.size
    assigned: IntArray = np.concatenate(sequences)[column]
    return assigned


def _levels(strata: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Sorted distinct strata (as ``np.unique``), by counting when they are small integers."""
    if strata.dtype.kind in "iu" and strata.size:
        low, high = int(strata.min()), int(strata.max())
        if high - low < 1 << 16:
            base = 0 if 0 <= low and high < 1 << 16 else low  # no shifted copy when small
            counts = np.bincount(strata.ravel() - base if base else strata.ravel())
            return (np.flatnonzero(counts[low - base :]) + low).astype(strata.dtype)
    return np.unique(strata)


def minimisation_assignments(
    rng: np.random.Generator,
    factors: IntArray,
    ratio: Sequence[int],
    *,
    p_best: float = 0.8,
    imbalance: core.Imbalance = "range",
    weights: Sequence[float] | None = None,
    n_levels: Sequence[int] | None = None,
) -> IntArray:
    """Pocock-Simon minimisation over many trials at once.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the random element (one uniform per participant and trial).
    factors : int array (n_trials, n, n_factors)
        Level code of each factor for each participant, in arrival order.
    ratio : sequence of int
        Allocation ratio.
    p_best : float
        Probability shared by the arms that minimise the imbalance (1 = deterministic).
    imbalance : {"range", "variance"}
        Imbalance measure, see :func:`hepatrial.allocation.core.minimisation_scores`.
    weights : sequence of float, optional
        Factor weights (default all 1).
    n_levels : sequence of int, optional
        Number of levels per factor (default: ``max code + 1``).
    """
    codes = np.asarray(factors, dtype=np.int64)
    if codes.ndim != 3 or codes.shape[2] < 1 or (codes.size and codes.min() < 0):
        raise AllocationError(
            "factors must be a non-negative int array of shape (n_trials, n, n_factors >= 1); "
            f"got shape {codes.shape}"
        )
    ratio_t = core.check_ratio(ratio)
    if not 0.0 < p_best <= 1.0:
        raise AllocationError(f"p_best must be in (0, 1]; got {p_best}")
    n_trials, n, n_factors = codes.shape
    w = np.ones(n_factors) if weights is None else np.asarray(weights, dtype=np.float64)
    observed = [int(codes[..., f].max()) + 1 if codes.size else 1 for f in range(n_factors)]
    levels = observed if n_levels is None else [int(n) for n in n_levels]
    if len(levels) != n_factors or any(n < o for n, o in zip(levels, observed, strict=True)):
        raise AllocationError(
            f"n_levels={list(levels)} must give, for each of the {n_factors} factors, more levels "
            f"than its largest code; codes need at least {observed}"
        )
    counts = np.zeros((n_trials, n_factors, max(levels), len(ratio_t)), dtype=np.int64)
    trial_index = np.arange(n_trials)[:, None]
    factor_index = np.arange(n_factors)[None, :]
    out = np.empty((n_trials, n), dtype=np.int64)
    for i in range(n):
        level_counts = counts[trial_index, factor_index, codes[:, i, :]]  # (T, F, K)
        scores = core.minimisation_scores(level_counts, ratio_t, w, imbalance)
        probabilities = core.minimisation_probabilities(scores, ratio_t, p_best)
        arms = core.arm_from_uniform(np.asarray(rng.random(n_trials)), probabilities)
        counts[trial_index, factor_index, codes[:, i, :], arms[:, None]] += 1
        out[:, i] = arms
    return out

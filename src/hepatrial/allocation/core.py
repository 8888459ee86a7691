"""Array cores shared by concealed single allocations and batch simulation.

Each core turns uniform draws into arms. A concealed allocation feeds it draws derived from the
sealed seed (:mod:`._draws`); the simulator feeds it draws from a ``numpy.random.Generator``. Both
paths therefore apply exactly the same rules.

Arms are integer indices ``0..K-1`` in protocol order; ``ratio`` holds their integer shares.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from hepatrial.exceptions import AllocationError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Imbalance = Literal["range", "variance"]


def check_ratio(ratio: Sequence[int]) -> tuple[int, ...]:
    """Return ``ratio`` as a tuple of positive ints, or raise :class:`AllocationError`."""
    values = tuple(int(r) for r in ratio)
    if len(values) < 2 or any(r < 1 for r in values) or list(values) != list(ratio):
        raise AllocationError(f"ratio must list at least two positive integers; got {list(ratio)}")
    return values


def check_block_sizes(block_sizes: Sequence[int], ratio: Sequence[int]) -> tuple[int, ...]:
    """Return the block sizes, each a positive multiple of ``sum(ratio)``, or raise."""
    total = sum(ratio)
    sizes = tuple(int(b) for b in block_sizes)
    bad = [b for b in sizes if b < total or b % total]
    if not sizes or bad or len(set(sizes)) != len(sizes):
        raise AllocationError(
            f"block_sizes must be distinct positive multiples of the ratio total {total} "
            f"(ratio {':'.join(map(str, ratio))}); got {list(block_sizes)}"
        )
    return sizes


def arm_from_uniform(u: FloatArray, probabilities: FloatArray) -> IntArray:
    """Inverse-CDF draw: the arm whose cumulative-probability interval contains ``u``.

    ``probabilities`` has shape ``(..., K)`` and ``u`` the leading shape. Arms with probability
    zero are never chosen.
    """
    cumulative = np.cumsum(probabilities, axis=-1)
    cumulative /= cumulative[..., -1:]
    arms = (cumulative <= np.asarray(u)[..., None]).sum(axis=-1)
    result: IntArray = np.minimum(arms, probabilities.shape[-1] - 1).astype(np.int64)
    return result


def ratio_probabilities(ratio: Sequence[int]) -> FloatArray:
    """Allocation probabilities proportional to ``ratio``."""
    shares = np.asarray(ratio, dtype=np.float64)
    result: FloatArray = shares / shares.sum()
    return result


def block_size_from_uniform(u: FloatArray, block_sizes: Sequence[int]) -> IntArray:
    """Block size chosen with equal probability among ``block_sizes``."""
    index = np.minimum((np.asarray(u) * len(block_sizes)).astype(np.int64), len(block_sizes) - 1)
    return np.asarray(block_sizes, dtype=np.int64)[index]


def block_arms_from_keys(keys: FloatArray, sizes: IntArray, ratio: Sequence[int]) -> IntArray:
    """Arms of permuted blocks; positions beyond a block's size hold ``-1``.

    Parameters
    ----------
    keys : array (..., max_block_size)
        Uniform sort keys; the first ``size`` keys of a block order its arms.
    sizes : int array (...)
        Size of each block, a multiple of ``sum(ratio)``.
    ratio : sequence of int
        Arm shares; a block of size ``b`` holds ``ratio[k] * b / sum(ratio)`` of arm ``k``.

    Notes
    -----
    The arms equal ``base[argsort(keys[:size], kind="stable")]`` with ``base`` the block's
    ratio-ordered multiset of arms (arm ``k`` at indices from ``b * sum(ratio[:k]) / sum(ratio)``
    on); all blocks are sorted at once, with the keys past each block's size set to infinity.
    """
    width = keys.shape[-1]
    size = np.asarray(sizes, dtype=np.int64)[..., None]
    inside = np.arange(width) < size
    # padding sorts after every real key, so each block's first ``size`` places are its own
    order = np.argsort(np.where(inside, keys, np.inf), axis=-1, kind="stable")
    total = sum(ratio)
    arm = np.zeros(order.shape, dtype=np.int8)
    for share in np.cumsum(ratio)[:-1]:
        arm += (order >= size * int(share) // total).view(np.int8)
    result: IntArray = np.where(inside, arm, np.int8(-1)).astype(np.int64)
    return result


def _scaled_counts(level_counts: IntArray, ratio: Sequence[int]) -> IntArray:
    """Counts multiplied by ``lcm(ratio) / ratio``: equal when arms are balanced to the ratio."""
    lcm = math.lcm(*ratio)
    return level_counts * np.asarray([lcm // r for r in ratio], dtype=np.int64)


def minimisation_scores(
    level_counts: IntArray, ratio: Sequence[int], weights: FloatArray, imbalance: Imbalance
) -> FloatArray:
    """Pocock-Simon total imbalance if the new participant joined each arm.

    Parameters
    ----------
    level_counts : int array (..., F, K)
        For each factor, the number of earlier participants sharing the new participant's level,
        by arm.
    ratio : sequence of int
        Allocation ratio; counts are scaled by ``1 / ratio`` so that a 2:1 split counts as balanced.
    weights : float array (F,)
        Factor weights.
    imbalance : {"range", "variance"}
        ``range``: max minus min of the scaled counts; ``variance``: their variance (computed as
        ``K * sum(x^2) - sum(x)^2``, proportional to the variance, exactly in integers).

    Returns
    -------
    float array (..., K)
        ``G[a] = sum_f w_f * d_f(a)``, where ``d_f(a)`` is the imbalance of factor ``f`` after
        adding one participant to arm ``a``.
        Reference: Pocock SJ, Simon R. Biometrics 1975;31:103-115.
    """
    n_arms = level_counts.shape[-1]
    step = _scaled_counts(np.eye(n_arms, dtype=np.int64), ratio)  # (K_candidate, K)
    scaled = _scaled_counts(level_counts, ratio)[..., None, :] + step  # (..., F, Kc, K)
    if imbalance == "range":
        per_factor = scaled.max(axis=-1) - scaled.min(axis=-1)
    else:
        per_factor = n_arms * (scaled**2).sum(axis=-1) - scaled.sum(axis=-1) ** 2
    result: FloatArray = np.einsum("...fk,f->...k", per_factor.astype(np.float64), weights)
    return result


def minimisation_probabilities(
    scores: FloatArray, ratio: Sequence[int], p_best: float
) -> FloatArray:
    """Assignment probabilities from imbalance scores (shape ``(..., K)``).

    The arms with the smallest score share ``p_best`` in proportion to their ratio; the other arms
    share ``1 - p_best`` in the same way. When every arm ties, the probabilities follow the ratio.
    """
    shares = np.asarray(ratio, dtype=np.float64)
    lowest = scores.min(axis=-1, keepdims=True)
    best = scores <= lowest + 1e-9 * np.maximum(1.0, np.abs(lowest))  # float weights: ties
    all_best = best.all(axis=-1, keepdims=True)
    best_share = np.where(best, shares, 0.0)
    other_share = np.where(best, 0.0, shares)
    with np.errstate(invalid="ignore", divide="ignore"):
        tilted = p_best * best_share / best_share.sum(axis=-1, keepdims=True) + (
            1.0 - p_best
        ) * np.nan_to_num(other_share / other_share.sum(axis=-1, keepdims=True))
    result: FloatArray = np.where(all_best, shares / shares.sum(), tilted)
    return result

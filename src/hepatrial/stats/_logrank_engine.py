"""Log-rank engine: observed, expected and variance per segment, with segment reductions.

A *segment* is a stratum of one trial (single-trial stratified test) or a whole simulated trial
(batch engine); the same vectorized code serves both, so the batch engine gives the single-trial
numbers by construction. Records are sorted by (segment, time); every run of equal (segment,
time) is one risk set, reduced with ``np.add.reduceat``; numbers at risk come from cumulative
sums within segments. No Python loop runs over segments or times, only over the k groups.

Formulas (R ``survdiff`` with ``rho = 0``; Mantel 1966; Peto & Peto 1972): at each distinct
time with ``d`` deaths among ``n`` at risk, ``n_j`` of them in group j,
``E_j += d n_j / n`` and ``V_jl += d (n - d) / (n - 1) * (n_j / n) (delta_jl - n_l / n)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from hepatrial.stats._common import FloatArray, IntArray


@dataclass(frozen=True)
class LogrankComponents:
    """Per segment: observed (S, k), expected (S, k) and variance (S, k, k) of the k groups."""

    observed: FloatArray
    expected: FloatArray
    variance: FloatArray


@dataclass(frozen=True)
class _Runs:
    """Records in (segment, time) order: event (bool) and group per record, run boundaries."""

    event: npt.NDArray[np.bool_]
    group: IntArray
    starts: IntArray  # first record of each run of equal (segment, time)
    run_segment: IntArray


def _runs_from_keys(keys: IntArray, k: int, n_times: int) -> _Runs:
    """Decode sorted keys ``((segment * n_times + time_rank) * k + group) * 2 + event``."""
    event = (keys & 1).astype(bool)
    rest = keys >> 1
    group = rest % k
    rest //= k  # segment * n_times + time rank: equal values form one run
    new_run = np.empty(rest.size, dtype=bool)
    new_run[0] = True
    np.not_equal(rest[1:], rest[:-1], out=new_run[1:])
    starts = np.flatnonzero(new_run)
    return _Runs(event, group, starts, rest[starts] // n_times)


def _time_ranks(time: FloatArray) -> tuple[IntArray, int] | None:
    """Order-preserving integer codes of times with many ties, and their range (else None).

    Whole-number times (days) are their own codes; other repeated values are hashed
    (``pd.factorize``) and the distinct values sorted. Mostly distinct times return None.
    """
    probe = time[:4096]
    if np.unique(probe).size > probe.size // 2:
        return None
    low, high = float(time.min()), float(time.max())
    if high - low < 1e7 and np.array_equal(time, np.floor(time)):
        return (time - low).astype(np.int64), int(high - low) + 1
    codes, uniques = pd.factorize(time, sort=False)
    if uniques.size > max(64, time.size // 4):
        return None
    rank = np.empty(uniques.size, dtype=np.int64)
    rank[np.argsort(uniques)] = np.arange(uniques.size)
    return rank[codes], int(uniques.size)


def _packed_runs(
    segment: IntArray, n_segments: int, time: FloatArray, event: FloatArray, group: IntArray, k: int
) -> _Runs | None:
    """Sort one packed integer key instead of an argsort plus gathers (times with many ties).

    Times are replaced by their rank among the distinct times (hash-based ``pd.factorize``);
    segment, time rank, group and event then fit one int64 that ``np.sort`` orders exactly.
    Returns None when times are mostly distinct or the key would not fit.
    """
    ranks = _time_ranks(time)
    if ranks is None:
        return None
    time_rank, n_times = ranks
    if n_segments * n_times * k * 2 >= 2**62:
        return None
    keys = segment.astype(np.int64) * n_times
    keys += time_rank
    keys *= k
    keys += group
    keys *= 2
    keys += event > 0
    keys.sort()
    return _runs_from_keys(keys, k, n_times)


def _segment_time_order(segment: IntArray, time: FloatArray) -> IntArray:
    """Permutation sorting by (segment, time); order within tied times is irrelevant here.

    With fewer than 2^16 segments (always, per chunk of the batch engine) an argsort of the
    times followed by a stable radix sort of 16-bit segment codes beats ``np.lexsort``.
    """
    if segment.size and int(segment.max()) < 1 << 16:
        by_time = np.argsort(time)
        by_segment = np.argsort(segment[by_time].astype(np.uint16), kind="stable")
        return np.asarray(by_time[by_segment])
    return np.asarray(np.lexsort((time, segment)))


def _lexsorted_runs(
    segment: IntArray, time: FloatArray, event: FloatArray, group: IntArray
) -> _Runs:
    """Sort by (segment, time) (skipped when the records are already in that order)."""
    same = segment[1:] == segment[:-1]
    if np.all((segment[1:] > segment[:-1]) | (same & (time[1:] >= time[:-1]))):
        seg, t, e, g = segment, time, event > 0, group
    else:
        order = _segment_time_order(segment, time)
        seg, t = segment[order], time[order]
        packed = (group.astype(np.int64) * 2 + (event > 0))[order]
        e, g = (packed & 1).astype(bool), packed >> 1
    new_run = np.empty(t.size, dtype=bool)
    new_run[0] = True
    np.not_equal(seg[1:], seg[:-1], out=new_run[1:])
    new_run[1:] |= t[1:] != t[:-1]
    starts = np.flatnonzero(new_run)
    return _Runs(e, g, starts, seg[starts])


def logrank_components(
    segment: IntArray,
    n_segments: int,
    time: FloatArray,
    event: FloatArray,
    group: IntArray,
    k: int,
) -> LogrankComponents:
    """Observed and expected events and their covariance per segment and group.

    ``segment`` holds codes ``0..n_segments-1``, ``group`` codes ``0..k-1``, ``event`` 0/1.
    """
    if time.size == 0:
        return _components_from_runs(None, n_segments, k)
    runs = _packed_runs(segment, n_segments, time, event, group, k) or _lexsorted_runs(
        segment, time, event, group
    )
    return _components_from_runs(runs, n_segments, k)


def _components_from_runs(runs: _Runs | None, n_segments: int, k: int) -> LogrankComponents:
    """Reduce the runs of tied (segment, time) to O, E and V per segment (zeros without runs)."""
    observed = np.zeros((n_segments, k))
    expected = np.zeros((n_segments, k))
    variance = np.zeros((n_segments, k, k))
    if runs is None:
        return LogrankComponents(observed, expected, variance)
    at_risk, deaths = _risk_sets(runs, k)
    for j in range(k):
        observed[:, j] = np.bincount(runs.run_segment, deaths[j], minlength=n_segments)
    d = _sum_rows(deaths)  # integers: exact in any order
    keep = np.flatnonzero(d > 0)
    at_risk, d, run_segment = at_risk[:, keep], d[keep], runs.run_segment[keep]
    n = _sum_rows(at_risk)
    share = at_risk / n
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    for j in range(k):
        expected[:, j] = np.bincount(run_segment, d * share[j], minlength=n_segments)
        for m in range(j, k):
            cross = (share[j] if j == m else 0.0) - share[j] * share[m]
            variance[:, j, m] = np.bincount(run_segment, spread * cross, minlength=n_segments)
            variance[:, m, j] = variance[:, j, m]
    return LogrankComponents(observed, expected, variance)


def _sum_rows(values: FloatArray) -> FloatArray:
    """Sum of the rows of a (k, runs) array of whole numbers (faster than ``sum(axis=0)``)."""
    total: FloatArray = values[0].copy()
    for row in values[1:]:
        total += row
    return total


def _risk_sets(runs: _Runs, k: int) -> tuple[FloatArray, FloatArray]:
    """Numbers at risk (k, runs) and deaths (k, runs) of each group at each run."""
    starts, run_segment = runs.starts, runs.run_segment
    n_runs = starts.size
    first_of_segment = np.empty(n_runs, dtype=bool)
    first_of_segment[0] = True
    np.not_equal(run_segment[1:], run_segment[:-1], out=first_of_segment[1:])
    segment_first = np.flatnonzero(first_of_segment)
    segment_last = np.append(segment_first[1:], n_runs) - 1
    last_run = np.repeat(segment_last, np.diff(np.append(segment_first, n_runs)))
    at_risk = np.empty((k, n_runs))
    deaths = np.empty((k, n_runs))
    for j in range(k):
        in_group = runs.group == j
        count = np.add.reduceat(in_group.astype(np.int64), starts)
        deaths[j] = np.add.reduceat((in_group & runs.event).astype(np.float64), starts)
        total = np.cumsum(count)
        # integer arithmetic: leaving after this run = total through segment end - total so far
        at_risk[j] = total[last_run] - total + count
    return at_risk, deaths


def chi_square_one(
    observed: FloatArray, expected: FloatArray, variance: FloatArray
) -> tuple[float, int]:
    """Log-rank statistic and df of one test, exactly as R's ``survdiff``.

    Groups with zero expected events are dropped, then the first remaining group:
    ``chi = (O - E)' V^{-1} (O - E)`` on the rest; 0 with df 0 when fewer than two groups remain.
    """
    present = expected > 0
    if present.sum() < 2:
        return 0.0, 0
    diff = (observed - expected)[present][1:]
    reduced = variance[np.ix_(present, present)][1:, 1:]
    df = int(present.sum() - 1)
    if np.linalg.matrix_rank(reduced) < df:
        # e.g. every patient at risk dies at the only death time: no variance, no test
        # (R's survdiff stops with "system is exactly singular")
        return float("nan"), df
    return float(diff @ np.linalg.solve(reduced, diff)), df


def chi_square_many(
    observed: FloatArray, expected: FloatArray, variance: FloatArray
) -> tuple[FloatArray, IntArray]:
    """Row-wise :func:`chi_square_one` for (S, k) arrays, vectorized over rows.

    Rows with a singular variance (no test possible) get NaN, as :func:`chi_square_one`.
    Two groups use ``(O_2 - E_2)^2 / V_22`` directly (what R computes). For k > 2 the
    quadratic form uses ``(V + u u')^{-1}`` with ``u`` the indicator of groups with expected
    events: ``V u = 0`` and ``(O - E)' u = 0``, so it equals R's reduced-matrix form without
    per-row indexing.
    """
    present = expected > 0
    df = present.sum(axis=1) - 1
    testable = df >= 1
    chi = np.zeros(observed.shape[0])
    diff = np.where(present, observed - expected, 0.0)
    if observed.shape[1] == 2:
        v = variance[:, 1, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            chi = np.where(testable, np.where(v > 0, diff[:, 1] ** 2 / v, np.nan), 0.0)
        return chi, np.maximum(df, 0).astype(np.int64)
    u = present.astype(np.float64)
    padded = variance + u[:, :, None] * u[:, None, :] + np.eye(u.shape[1]) * (1.0 - u)[:, None, :]
    full_rank = np.linalg.matrix_rank(padded) == u.shape[1]
    chi[testable & ~full_rank] = np.nan
    rows = np.flatnonzero(testable & full_rank)
    solved = np.linalg.solve(padded[rows], diff[rows][:, :, None])[:, :, 0]
    chi[rows] = np.einsum("ij,ij->i", diff[rows], solved)
    return chi, np.maximum(df, 0).astype(np.int64)


def logrank_components_rows(
    time: FloatArray, event: npt.NDArray[np.bool_], group: IntArray, k: int
) -> LogrankComponents:
    """:func:`logrank_components` for equal-sized segments given as the rows of (S, m) arrays.

    Each row is sorted on its own (``np.argsort`` along axis 1, several times cheaper than one
    sort by (segment, time)); the runs of tied times then go through the same reductions as
    :func:`logrank_components`, so both return identical numbers.
    """
    n_segments, m = time.shape
    if time.size == 0:
        return _components_from_runs(None, n_segments, k)
    order = np.argsort(time, axis=1)
    order += np.arange(0, time.size, m)[:, None]  # flat positions, for 1-d takes
    flat = order.ravel()
    t = time.ravel().take(flat).reshape(n_segments, m)
    packed = (group.astype(np.int64) * 2 + event).ravel().take(flat)
    new_run = np.ones((n_segments, m), dtype=bool)
    np.not_equal(t[:, 1:], t[:, :-1], out=new_run[:, 1:])
    starts = np.flatnonzero(new_run)
    runs = _Runs((packed & 1).astype(bool), packed >> 1, starts, starts // m)
    return _components_from_runs(runs, n_segments, k)

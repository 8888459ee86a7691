"""Harrell's concordance of a risk score with survival, counted as R's ``concordance``.

A pair is comparable when the patient with the shorter time had the event; a patient censored
at the same time as a death counts as having lived longer (R's convention). Concordant: the
patient who died first has the higher risk score. ``C = (concordant + tied_x / 2) /
(concordant + discordant + tied_x)`` (Harrell 1982; Therneau & Atkinson, survival vignette
"concordance"), within strata when given.

With the records ordered by stratum and decreasing time, each death is compared with a
contiguous range of records (those that lived longer in its stratum). The counts of scores
below and equal to the death's score in that range come, for all deaths at once, from a
wavelet matrix over the score ranks (Claude, Navarro & Ordonez 2015, "The wavelet matrix",
Information Systems 47:15-32): one stable partition and one prefix count per bit of the
rank, O(n log n) and vectorized.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hepatrial.stats._common import FloatArray, IntArray

Positions = npt.NDArray[np.signedinteger[Any]]


@dataclass(frozen=True)
class Concordance:
    """Pair counts and Harrell's C."""

    concordant: float
    discordant: float
    tied_risk: float

    @property
    def estimate(self) -> float:
        """``(concordant + tied_risk / 2) / (concordant + discordant + tied_risk)``."""
        total = self.concordant + self.discordant + self.tied_risk
        return (self.concordant + self.tied_risk / 2.0) / total if total else float("nan")


def range_counts(
    values: IntArray, begin: IntArray, end: IntArray, query: IntArray
) -> tuple[IntArray, IntArray]:
    """For each q: ``#{begin[q] <= j < end[q]: values[j] < query[q]}`` and the same with ``==``.

    ``values`` are non-negative integers. Wavelet matrix: from the most significant bit down,
    the values are stably partitioned by that bit (zeros first) and every query range is
    mapped into the part holding its own bit; when the query's bit is 1, the range's zeros
    (values equal above this bit, smaller at it) are counted as below. After the last bit the
    range holds exactly the values equal to the query.
    """
    top = int(max(values.max(initial=0), query.max(initial=0)))
    # 32-bit positions and ranks when they fit: half the memory traffic
    kind = np.dtype(np.int32 if max(top, values.size) < 2**31 - 1 else np.int64)
    current: Positions = values.astype(kind)
    spare: Positions = np.empty(values.size, dtype=kind)
    asked: Positions = query.astype(kind)
    start: Positions = begin.astype(kind)
    stop: Positions = end.astype(kind)
    below: Positions = np.zeros(query.size, dtype=kind)
    zeros_before: Positions = np.zeros(values.size + 1, dtype=kind)
    for shift in range(max(1, top.bit_length()) - 1, -1, -1):
        zero = (current & (1 << shift)) == 0
        np.cumsum(zero, out=zeros_before[1:])
        start_zeros, stop_zeros = zeros_before[start], zeros_before[stop]
        n_zeros = zeros_before[-1]
        one = (asked & (1 << shift)) != 0
        below += np.where(one, stop_zeros - start_zeros, 0)
        start = np.where(one, start + (n_zeros - start_zeros), start_zeros)
        stop = np.where(one, stop + (n_zeros - stop_zeros), stop_zeros)
        np.compress(zero, current, out=spare[:n_zeros])
        np.compress(~zero, current, out=spare[n_zeros:])
        current, spare = spare, current
    return below.astype(np.int64), (stop - start).astype(np.int64)


def _block_starts(new_block: np.ndarray) -> IntArray:
    """For each position, the first position of its block (``new_block`` marks block starts)."""
    starts = np.flatnonzero(new_block)
    return np.repeat(starts, np.diff(np.append(starts, new_block.size))).astype(np.int64)


def concordance(
    time: FloatArray,
    event: FloatArray,
    score: FloatArray,
    strata: IntArray,
    order: IntArray | None = None,
) -> Concordance:
    """Count concordant, discordant and risk-tied comparable pairs (higher score = higher risk).

    ``order`` may pass the positions already sorted by stratum, decreasing time and, at equal
    times, censorings before deaths (any order within a stratum, time and status).
    """
    if time.size == 0:
        return Concordance(0.0, 0.0, 0.0)
    ranks = np.unique(score, return_inverse=True)[1].astype(np.int64)
    if order is None:
        order = np.lexsort((event, -time, strata))
    s, t, e, r = strata[order], time[order], event[order], ranks[order]
    changes = np.ones(t.size, dtype=bool)
    changes[1:] = (s[1:] != s[:-1]) | (t[1:] != t[:-1]) | (e[1:] != e[:-1])
    stratum_new = np.ones(t.size, dtype=bool)
    stratum_new[1:] = s[1:] != s[:-1]
    dead = e > 0
    # a death is compared with its stratum's records before its own (time, event) group
    end = _block_starts(changes)[dead]
    begin = _block_starts(stratum_new)[dead]
    below, equal = range_counts(r, begin, end, r[dead])
    comparable = end - begin
    return Concordance(
        concordant=float(below.sum()),
        discordant=float((comparable - below - equal).sum()),
        tied_risk=float(equal.sum()),
    )

"""Harrell's concordance of a risk score with survival, counted as R's ``concordance``.

A pair is comparable when the patient with the shorter time had the event; a patient censored
at the same time as a death counts as having lived longer (R's convention). Concordant: the
patient who died first has the higher risk score. ``C = (concordant + tied_x / 2) /
(concordant + discordant + tied_x)`` (Harrell 1982; Therneau & Atkinson, survival vignette
"concordance"), within strata when given.

The counts for all events at once come from prefix counts "records before position p with
score rank below r", answered for every event with a dyadic (Fenwick-like) decomposition of
the prefix: O(n log^2 n) and vectorized.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepatrial.stats._common import FloatArray, IntArray


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


def _prefix_counts(
    ranks: IntArray, prefix: IntArray, below: IntArray
) -> tuple[FloatArray, FloatArray]:
    """For each query q: #{j < prefix[q]: ranks[j] < below[q]} and the same with <=.

    The prefix [0, p) is the union of the dyadic blocks given by the set bits of p; at each
    level the records are ordered by (block, rank), merging the previous level's order, and
    every query is a binary search.
    """
    n = ranks.size
    width = int(ranks.max()) + 2 if n else 1
    order = np.arange(n, dtype=np.int64)  # positions sorted by (block, rank); level 0: as is
    less = np.zeros(prefix.size)
    less_or_equal = np.zeros(prefix.size)
    for level in range(max(1, n.bit_length())):
        keys = (order >> level) * width + ranks[order]
        if level:
            # the previous order holds sorted runs of 2^(level-1): a stable (run-merging) sort
            # of them costs O(n) per level
            merged = np.argsort(keys, kind="stable")
            order, keys = order[merged], keys[merged]
        chosen = np.flatnonzero((prefix >> level) & 1)
        if chosen.size == 0:
            continue
        block = (prefix[chosen] >> (level + 1)) << 1
        low = np.minimum(block << level, n)  # blocks are full and contiguous in ``keys``
        base = block * width
        less[chosen] += np.searchsorted(keys, base + below[chosen], side="left") - low
        less_or_equal[chosen] += np.searchsorted(keys, base + below[chosen], side="right") - low
    return less, less_or_equal


def _block_starts(new_block: np.ndarray) -> IntArray:
    """For each position, the first position of its block (``new_block`` marks block starts)."""
    starts = np.flatnonzero(new_block)
    return np.repeat(starts, np.diff(np.append(starts, new_block.size))).astype(np.int64)


def concordance(
    time: FloatArray, event: FloatArray, score: FloatArray, strata: IntArray
) -> Concordance:
    """Count concordant, discordant and risk-tied comparable pairs (higher score = higher risk)."""
    if time.size == 0:
        return Concordance(0.0, 0.0, 0.0)
    ranks = np.unique(score, return_inverse=True)[1].astype(np.int64)
    order = np.lexsort((event, -time, strata))
    s, t, e, r = strata[order], time[order], event[order], ranks[order]
    changes = np.ones(t.size, dtype=bool)
    changes[1:] = (s[1:] != s[:-1]) | (t[1:] != t[:-1]) | (e[1:] != e[:-1])
    stratum_new = np.ones(t.size, dtype=bool)
    stratum_new[1:] = s[1:] != s[:-1]
    dead = e > 0
    end = _block_starts(changes)[dead]
    begin = _block_starts(stratum_new)[dead]
    rank = r[dead]
    less, less_equal = _prefix_counts(r, np.concatenate((end, begin)), np.tile(rank, 2))
    half = end.size
    below = less[:half] - less[half:]
    at_or_below = less_equal[:half] - less_equal[half:]
    comparable = (end - begin).astype(np.float64)
    return Concordance(
        concordant=float(below.sum()),
        discordant=float((comparable - at_or_below).sum()),
        tied_risk=float((at_or_below - below).sum()),
    )

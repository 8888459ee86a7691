"""Probability bound on the imbalance of two-arm, single-factor minimisation.

Derivation
----------
Two arms, ratio 1:1, one minimisation factor, range (or variance: with two arms they rank the arms
alike) imbalance, random element ``p = p_best > 1/2``, ``q = 1 - p``. Within one factor level let
``D = |n_A - n_B|`` among participants of that level. A new participant of that level:

* if ``D = 0`` both arms tie, each gets probability 1/2, and ``D`` becomes 1;
* if ``D >= 1`` the lagging arm is the unique best, chosen with probability ``p``: ``D`` moves to
  ``D - 1`` with probability ``p`` and to ``D + 1`` with probability ``q``.

Levels do not interact (each participant changes only the counts of its own level), and every
random element is a fresh draw. So each level's ``D`` is a reflecting birth-death chain started
at 0.
It is reversible, with stationary law ``pi(0) = (p - q) / (p - q + 1)``,
``pi(k) = pi(0) / p * (q / p)^(k - 1)`` for ``k >= 1`` (detailed balance: ``pi(0) = p pi(1)``,
``q pi(k) = p pi(k + 1)``). Reversibility gives ``P_0(D_t = k) = pi(k) P_k(D_t = 0) / pi(0)
<= pi(k) / pi(0)``, hence, summing the geometric tail,

``P(D_t >= d) <= (q / p)^(d - 1) / (p - q)`` for every step ``t`` and ``d >= 1``.

A union bound over the at most ``n`` steps of all levels together gives
``P(some level ever reaches d) <= n (q / p)^(d - 1) / (p - q)``. The bound returned is the
smallest ``d`` making this at most ``false_alarm``. With ``p = 1`` the chain never exceeds 1.
"""

from __future__ import annotations

import math


def minimisation_imbalance_bound(
    p_best: float, n_participants: int, false_alarm: float = 1e-6
) -> int:
    """Smallest ``d`` that any level's imbalance reaches with probability <= ``false_alarm``.

    Valid for two arms at 1:1 minimised on a single factor (see the module docstring for the
    derivation). Under it, a trial whose per-level imbalance reaches the bound is evidence of a
    broken allocator, not bad luck.

    Examples
    --------
    >>> minimisation_imbalance_bound(1.0, 400)
    1
    >>> minimisation_imbalance_bound(0.8, 400, 1e-6)
    16
    """
    if not 0.5 < p_best <= 1.0:
        raise ValueError(f"p_best must be in (0.5, 1] for a finite bound; got {p_best}")
    if n_participants < 1 or not 0.0 < false_alarm < 1.0:
        raise ValueError(
            f"need n_participants >= 1 and 0 < false_alarm < 1; got {n_participants}, {false_alarm}"
        )
    if p_best == 1.0:
        return 1
    q = 1.0 - p_best
    # n (q/p)^(d-1) / (p-q) <= alpha  <=>  d - 1 >= log(n / (alpha (p-q))) / log(p/q)
    needed = math.log(n_participants / (false_alarm * (p_best - q))) / math.log(p_best / q)
    return max(1, math.ceil(needed) + 1)

"""Competing-risks engines: Aalen-Johansen cumulative incidence with cmprsk's variance, Gray's test.

Both reproduce R's cmprsk (Gray, version 2.2): ``cuminc`` (Fortran ``cinc`` for the estimate and
its variance, ``tpoi`` for reading it at time points) and the K-sample test of ``cuminc``
(Fortran ``crstm``/``crst``; Gray 1988, Ann Stat 16:1141).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepatrial.stats._common import FloatArray, IntArray


@dataclass(frozen=True)
class IncidenceCurve:
    """Cumulative incidence of one cause at its jump times, as a right-continuous step function.

    ``time`` are the distinct times with an event of the cause; ``estimate`` and ``variance``
    hold the values from that time on. ``last_time`` is the largest follow-up time: beyond it
    the curve is undefined (cmprsk's ``timepoints`` returns NA).
    """

    time: FloatArray
    estimate: FloatArray
    variance: FloatArray
    last_time: float

    def at(self, times: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Estimate and variance at ``times`` (0 before the first jump, NaN outside [0, last])."""
        index = np.searchsorted(self.time, times, side="right") - 1
        padded_estimate = np.concatenate(([0.0], self.estimate))
        padded_variance = np.concatenate(([0.0], self.variance))
        estimate, variance = padded_estimate[index + 1], padded_variance[index + 1]
        outside = (times > self.last_time) | (times < 0)
        return np.where(outside, np.nan, estimate), np.where(outside, np.nan, variance)


def _tie_factor(count: FloatArray, at_risk: FloatArray) -> FloatArray:
    """cmprsk's correction for tied events: ``1 - (d - 1) / (n - 1)`` when d > 1, else 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 1, 1.0 - (count - 1.0) / (at_risk - 1.0), 1.0)


def incidence_curve(time: FloatArray, cause: IntArray, of_interest: int) -> IncidenceCurve:
    """Aalen-Johansen estimate of P(T <= t, cause = k) and cmprsk's variance (``cinc``).

    ``F(t) = sum_{t_j <= t} S(t_j-) d1_j / n_j`` with S the all-cause Kaplan-Meier. The variance
    is the delta-method estimate of Gray's ``cinc``: running sums ``v1, v2, v3`` over every
    event time, read as ``v1 + F^2 v3 - 2 F v2`` at the cause's jump times.
    """
    distinct, inverse = np.unique(time, return_inverse=True)
    count = np.bincount(inverse, minlength=distinct.size).astype(np.float64)
    d1 = np.bincount(inverse, weights=(cause == of_interest), minlength=distinct.size).astype(
        np.float64
    )
    other = (cause > 0) & (cause != of_interest)
    d2 = np.bincount(inverse, weights=other, minlength=distinct.size).astype(np.float64)
    at_risk = count[::-1].cumsum()[::-1]
    after = np.cumprod((at_risk - d1 - d2) / at_risk)
    before = np.concatenate(([1.0], after[:-1]))
    incidence = np.cumsum(before * d1 / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_after = np.where(after > 0, 1.0 / after, 0.0)
    # other-cause events (counted only while the all-cause curve stays above 0)
    w_other = np.where(
        (d2 > 0) & (after > 0), before**2 * _tie_factor(d2, at_risk) * d2 / at_risk**2, 0.0
    )
    t4_other = incidence * inv_after
    # events of the cause of interest
    w_cause = np.where(d1 > 0, before**2 * _tie_factor(d1, at_risk) * d1 / at_risk**2, 0.0)
    t4_cause = 1.0 + inv_after * incidence
    v1 = np.cumsum(t4_other**2 * w_other + t4_cause**2 * w_cause)
    v2 = np.cumsum(inv_after * t4_other * w_other + inv_after * t4_cause * w_cause)
    v3 = np.cumsum(inv_after**2 * w_other + inv_after**2 * w_cause)
    jumps = d1 > 0
    f = incidence[jumps]
    return IncidenceCurve(
        time=distinct[jumps],
        estimate=f,
        variance=v1[jumps] + f * f * v3[jumps] - 2.0 * f * v2[jumps],
        last_time=float(distinct[-1]) if distinct.size else float("nan"),
    )


@dataclass
class _GrayState:
    """Running quantities of ``crst`` for one stratum (k groups)."""

    at_risk: FloatArray
    surv_before: FloatArray  # skmm: all-cause KM per group, left-continuous
    inc_before: FloatArray  # f1m: cumulative incidence per group, left-continuous
    pooled_before: float  # fm
    c: FloatArray
    v2: FloatArray
    v3: FloatArray
    score: FloatArray
    var: FloatArray


def _gray_time(state: _GrayState, d: FloatArray, rho: float) -> None:
    """One distinct time of ``crst``: d[0..2, group] = censored, cause, other cause."""
    nd1, nd2 = float(d[1].sum()), float(d[2].sum())
    live = state.at_risk > 0
    rs, skmm, f1m, fm = state.at_risk, state.surv_before, state.inc_before, state.pooled_before
    safe = np.where(live, rs, 1.0)
    skm = np.where(live, skmm * (rs - d[1] - d[2]) / safe, skmm)
    f1 = np.where(live, f1m + skmm * d[1] / safe, f1m)
    t1 = np.where(live, rs / skmm, 0.0)
    tr = float(t1.sum())
    tq = float(np.sum(np.where(live, rs * (1.0 - f1m) / skmm, 0.0)))
    f = fm + nd1 / tr
    fb = (1.0 - fm) ** rho
    a = -fb * np.outer(t1, t1) / tr
    np.fill_diagonal(a, fb * t1 * (1.0 - t1 / tr))
    state.c += a * nd1 / (tr * (1.0 - fm))
    k1 = rs.size - 1
    state.score += np.where(live, fb * (d[1] - nd1 * rs * (1.0 - f1m) / (skmm * tq)), 0.0)[:k1]
    if nd1 > 0:
        t4 = np.where(skm > 0, 1.0 - (1.0 - f) / np.where(skm > 0, skm, 1.0), 1.0)
        t5 = 1.0 - (nd1 - 1.0) / (tr * skmm - 1.0) if nd1 > 1 else np.ones(rs.size)
        t3 = np.where(live, t5 * skmm * nd1 / (tr * safe), 0.0)
        _gray_add(state, a[:k1] - t4 * state.c[:k1], t4, t3)
    if nd2 > 0:
        hit = (skm > 0) & (d[2] > 0)
        t4 = np.where(hit, (1.0 - f) / np.where(skm > 0, skm, 1.0), 0.0)
        t3 = np.where(hit, _tie_factor(d[2], rs) * skmm**2 * d[2] / safe**2, 0.0)
        _gray_add(state, t4 * state.c[:k1], t4, t3, sign=-1.0)
    state.surv_before, state.inc_before, state.pooled_before = skm, f1, f


def _gray_add(
    state: _GrayState, t1: FloatArray, t4: FloatArray, t3: FloatArray, sign: float = 1.0
) -> None:
    """Accumulate ``v3``, ``v2`` and the variance from one event type at one time."""
    state.v3 += t4 * t4 * t3
    state.v2 += sign * t1 * (t4 * t3)
    state.var += (t1 * t3) @ t1.T


def gray_stratum(
    time: FloatArray, status: IntArray, group: IntArray, k: int, rho: float
) -> tuple[FloatArray, FloatArray]:
    """Score (k-1) and its covariance of Gray's test in one stratum (``crst``).

    ``status``: 0 censored, 1 cause of interest, 2 other cause; ``group`` codes 0..k-1.
    """
    state = _GrayState(
        at_risk=np.bincount(group, minlength=k).astype(np.float64),
        surv_before=np.ones(k),
        inc_before=np.zeros(k),
        pooled_before=0.0,
        c=np.zeros((k, k)),
        v2=np.zeros((k - 1, k)),
        v3=np.zeros(k),
        score=np.zeros(k - 1),
        var=np.zeros((k - 1, k - 1)),
    )
    order = np.argsort(time, kind="stable")
    t, m, g = time[order], status[order], group[order]
    starts = np.flatnonzero(np.concatenate(([True], t[1:] != t[:-1])))
    ends = np.append(starts[1:], t.size)
    for lo, hi in zip(starts, ends, strict=True):
        d = np.zeros((3, k))
        np.add.at(d, (m[lo:hi], g[lo:hi]), 1.0)
        if d[1].sum() + d[2].sum() > 0:
            # groups with nobody left at risk give 0/0 terms that crst skips; masked below
            with np.errstate(divide="ignore", invalid="ignore"):
                _gray_time(state, d, rho)
        state.at_risk -= d.sum(axis=0)
    c, k1 = state.c, k - 1
    var = state.var + (c[:k1] * state.v3) @ c[:k1].T
    var += c[:k1] @ state.v2.T + state.v2 @ c[:k1].T
    return state.score, var

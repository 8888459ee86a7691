"""Fine-Gray proportional subdistribution-hazards engine, as R's ``cmprsk::crr`` (Gray).

Risk sets keep patients who failed from a competing cause, weighted by the ratio of the
censoring survivor function ``G(t-)/G(t_j-)`` (Fine & Gray 1999, JASA 94:496). The fit
reproduces ``crr``'s Newton iteration with backtracking (gtol = 1e-6, maxiter = 10) and the
variance is ``crr``'s sandwich ``H^-1 (sum psi_i psi_i') H^-1`` (Fortran ``crrvv``), whose
``psi_i`` adds to the score residual the effect of estimating G. One censoring group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepatrial.exceptions import ConvergenceError
from hepatrial.stats._common import FloatArray, IntArray

GTOL = 1e-6
MAX_ITER = 10
_ONE_MINUS_EPS = 1.0 - np.finfo(np.float64).eps


@dataclass(frozen=True)
class FineGrayData:
    """Records sorted by time: status 1 = cause of interest, 2 = other cause, 0 = censored."""

    time: FloatArray
    status: IntArray
    x: FloatArray
    censor_surv: FloatArray  # G at t(1 - eps), as crr's summary(survfit, times = ftime * (1 - eps))
    fail_times: FloatArray  # distinct times of the cause of interest
    fail_counts: FloatArray
    fail_g: FloatArray  # G at each distinct failure time (left limit)


def prepare(time: FloatArray, status: IntArray, x: FloatArray) -> FineGrayData:
    """Sort the records and estimate the censoring distribution (Kaplan-Meier of censorings)."""
    order = np.argsort(time, kind="stable")
    t, s, xs = time[order], status[order], x[order]
    distinct, inverse = np.unique(t, return_inverse=True)
    count = np.bincount(inverse, minlength=distinct.size).astype(np.float64)
    censored = np.bincount(inverse, weights=(s == 0), minlength=distinct.size)
    at_risk = count[::-1].cumsum()[::-1]
    g_curve = np.cumprod(1.0 - censored / at_risk)
    index = np.searchsorted(distinct, t * _ONE_MINUS_EPS, side="right") - 1
    g = np.where(index >= 0, g_curve[np.maximum(index, 0)], 1.0)
    fail = s == 1
    fail_times, first = np.unique(t[fail], return_index=True)
    return FineGrayData(
        time=t,
        status=s,
        x=xs,
        censor_surv=g,
        fail_times=fail_times,
        fail_counts=np.unique(t[fail], return_counts=True)[1].astype(np.float64),
        fail_g=g[fail][first],
    )


def risk_weights(
    data: FineGrayData, beta: FloatArray, at: FloatArray, g_at: FloatArray
) -> FloatArray:
    """Weights (len(at), n): exp(eta) if t_j >= u; exp(eta) G(u-)/G(t_j-) if a competing
    failure before u; 0 otherwise."""
    risk = np.exp(data.x @ beta)
    later = data.time[None, :] >= at[:, None]
    competing = (data.status == 2)[None, :] & ~later
    ratio = g_at[:, None] / data.censor_surv[None, :]
    return np.where(later, risk[None, :], np.where(competing, risk[None, :] * ratio, 0.0))


@dataclass(frozen=True)
class Objective:
    """Minus the log partial likelihood, its gradient and Hessian (crr's ``crrfsv``)."""

    value: float
    gradient: FloatArray
    hessian: FloatArray


def objective(data: FineGrayData, beta: FloatArray, derivatives: bool = True) -> Objective:
    """``-l(beta) = -sum_fail eta + sum_u d_u log S0(u)`` with weighted risk sets."""
    w = risk_weights(data, beta, data.fail_times, data.fail_g)
    s0 = w.sum(axis=1)
    fail = data.status == 1
    value = float(-np.sum(data.x[fail] @ beta) + np.sum(data.fail_counts * np.log(s0)))
    p = beta.size
    if not derivatives:
        return Objective(value, np.zeros(p), np.zeros((p, p)))
    mean = (w @ data.x) / s0[:, None]
    gradient = -data.x[fail].sum(axis=0) + data.fail_counts @ mean
    second = np.einsum("uj,jk,jl->ukl", w, data.x, data.x) / s0[:, None, None]
    spread = second - mean[:, :, None] * mean[:, None, :]
    return Objective(value, gradient, np.einsum("u,ukl->kl", data.fail_counts, spread))


def fit_coefficients(data: FineGrayData, names: list[str]) -> tuple[FloatArray, int]:
    """crr's Newton iteration with backtracking; returns beta and the iterations used."""
    beta = np.zeros(data.x.shape[1])
    for iteration in range(MAX_ITER + 1):
        current = objective(data, beta)
        scale = np.maximum(np.abs(beta), 1.0)
        if np.max(np.abs(current.gradient) * scale) < max(abs(current.value), 1.0) * GTOL:
            return beta, iteration
        if iteration == MAX_ITER:
            break
        step = np.asarray(-np.linalg.solve(current.hessian, current.gradient), dtype=np.float64)
        beta = beta + _backtrack(data, beta, step, current, names)
    raise ConvergenceError(
        f"the Fine-Gray model for {names} did not converge in {MAX_ITER} iterations "
        "(cmprsk::crr defaults gtol = 1e-6, maxiter = 10); a covariate may separate the "
        "patients who had the event of interest"
    )


def _backtrack(
    data: FineGrayData, beta: FloatArray, step: FloatArray, current: Objective, names: list[str]
) -> FloatArray:
    slope = float(step @ current.gradient)
    for _ in range(21):
        value = objective(data, beta + step, derivatives=False).value
        if not np.isnan(value) and value <= current.value + 1e-4 * slope:
            return step
        step = step * 0.5
    raise ConvergenceError(
        f"the Fine-Gray likelihood for {names} could not be improved along the Newton "
        "direction (20 step halvings); the model may not be estimable (separation)"
    )


def sandwich_variance(data: FineGrayData, beta: FloatArray) -> FloatArray:
    """crr's variance ``H^-1 V H^-1`` (Fortran ``crrvv``), one censoring group."""
    t, status, x = data.time, data.status, data.x
    n, p = x.shape
    risk = np.exp(x @ beta)
    fail = np.flatnonzero(status == 1)
    g_fail = data.censor_surv[fail]
    w = risk_weights(data, beta, t[fail], g_fail)
    s0 = w.sum(axis=1)
    mean = (w @ x) / s0[:, None]
    second = np.einsum("fj,jk,jl->kl", w / s0[:, None], x, x)
    hessian = second - mean.T @ mean
    outer = _psi_outer(data, risk, fail, g_fail, s0, mean)
    inverse = np.linalg.inv(hessian)
    return np.asarray(inverse @ outer @ inverse.T)


def _psi_outer(
    data: FineGrayData,
    risk: FloatArray,
    fail: IntArray,
    g_fail: FloatArray,
    s0: FloatArray,
    mean: FloatArray,
) -> FloatArray:
    """``sum_i psi_i psi_i'`` with psi_i = eta_i (score residual) + its censoring term."""
    t, status, x, g = data.time, data.status, data.x, data.censor_surv
    n, p = x.shape
    t_fail = t[fail]
    starts = np.flatnonzero(np.concatenate(([True], t[1:] != t[:-1])))
    group_end = np.append(starts[1:], n)
    at_risk = (n - starts).astype(np.float64)
    psi_censor = np.zeros(p)
    total = np.zeros((p, p))
    for start, end, n_risk in zip(starts, group_end, at_risk, strict=True):
        here = slice(start, end)
        q = (
            _q_term(data, risk, fail, g_fail, s0, mean, int(start))
            if (status[here] == 0).any()
            else None
        )
        if q is not None:
            psi_censor = psi_censor - q * float((status[here] == 0).sum()) / n_risk**2
        for i in range(start, end):
            before = t_fail <= t[i]
            weight = np.where(before, risk[i], 0.0)
            if status[i] == 2:
                weight = np.where(before, weight, risk[i] * g_fail / g[i])
            eta = -((x[i] - mean) * (weight / s0)[:, None]).sum(axis=0)
            if status[i] == 1:
                eta += x[i] - mean[np.searchsorted(fail, i)]
            psi = psi_censor + (q / n_risk if status[i] == 0 and q is not None else 0.0)
            total += np.outer(eta + psi, eta + psi)
    return total


def _q_term(
    data: FineGrayData,
    risk: FloatArray,
    fail: IntArray,
    g_fail: FloatArray,
    s0: FloatArray,
    mean: FloatArray,
    start: int,
) -> FloatArray:
    """``q(t)`` of crrvv at the time of record ``start``: the censoring-weight derivative."""
    t, status, x, g = data.time, data.status, data.x, data.censor_surv
    earlier = (t < t[start]) & (status == 2)
    a = float(np.sum(risk[earlier] / g[earlier]))
    b = (risk[earlier] / g[earlier]) @ x[earlier]
    later = fail >= start
    gj = g_fail[later]
    ss0 = gj * a
    ss = gj[:, None] * b[None, :]
    return np.asarray(((ss - mean[later] * ss0[:, None]) / s0[later][:, None]).sum(axis=0))

"""Cox proportional-hazards engine: partial likelihood, Newton-Raphson, score residuals.

Follows R's survival package (``coxph.fit`` / ``coxfit6.c`` for the fit, ``coxscore2.c`` for
score residuals): Efron or Breslow handling of tied event times, strata with separate baseline
hazards, Newton-Raphson from beta = 0 with step halving, stopping when
``|1 - loglik_old / loglik_new| <= eps`` (``coxph.control``: eps = 1e-9, iter.max = 20), and R's
test for infinite coefficients (``|u' V| > toler.inf`` with toler.inf = sqrt(eps)).

Risk-set sums are reverse cumulative sums over records sorted by time within a stratum;
only the Efron sub-steps of tied deaths (at most the largest number of ties) are a loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepatrial.exceptions import ConvergenceError
from hepatrial.stats._common import FloatArray, IntArray

EPS = 1e-9
ITER_MAX = 20
TOLER_CHOL = EPS**0.75
TOLER_INF = EPS**0.5


@dataclass(frozen=True)
class Stratum:
    """Records of one stratum sorted by time, and the distinct times with deaths ("runs")."""

    index: IntArray  # positions in the caller's arrays, ascending time
    time: FloatArray
    x: FloatArray
    event: FloatArray
    run_starts: IntArray  # first record (at or after which all are at risk) of each death time
    run_times: FloatArray
    deaths: FloatArray  # deaths per run
    dead: IntArray  # positions of the deaths, ascending
    dead_starts: IntArray  # offsets in ``dead`` where each run's deaths begin


def make_strata(
    time: FloatArray, event: FloatArray, x: FloatArray, strata: IntArray
) -> list[Stratum]:
    """Split and sort the data once; every likelihood evaluation reuses it."""
    out = []
    for code in np.unique(strata):
        index = np.flatnonzero(strata == code)
        index = index[np.argsort(time[index], kind="stable")]
        t, e = time[index], event[index]
        dead = np.flatnonzero(e > 0)
        dead_new = np.concatenate(([True], t[dead][1:] != t[dead][:-1]))
        dead_starts = np.flatnonzero(dead_new)
        run_times = t[dead][dead_starts]
        out.append(
            Stratum(
                index=index,
                time=t,
                x=x[index],
                event=e,
                run_starts=np.searchsorted(t, run_times, side="left"),
                run_times=run_times,
                deaths=np.diff(np.append(dead_starts, dead.size)).astype(np.float64),
                dead=dead,
                dead_starts=dead_starts,
            )
        )
    return out


@dataclass(frozen=True)
class RiskSets:
    """Per death time: risk-set sums S0, S1, S2 and the same sums over the deaths there."""

    s0: FloatArray
    s1: FloatArray
    s2: FloatArray
    d0: FloatArray
    d1: FloatArray
    d2: FloatArray


def _suffix_sums(values: FloatArray, at: IntArray) -> FloatArray:
    """``sum(values[k:])`` for each k in ``at``, accumulated from the end as R does."""
    return np.cumsum(values[::-1], axis=0)[::-1][at]


def _square(triangle: FloatArray, p: int) -> FloatArray:
    """Rebuild symmetric p x p matrices from their upper triangles (last axis)."""
    rows, cols = np.triu_indices(p)
    full = np.empty((triangle.shape[0], p, p))
    full[:, rows, cols] = triangle
    full[:, cols, rows] = triangle
    return full


def risk_sets(stratum: Stratum, risk: FloatArray) -> RiskSets:
    """Sums over the risk set (time >= t) and over the deaths at t, for each death time t."""
    x, starts, dead = stratum.x, stratum.run_starts, stratum.dead
    p = x.shape[1]
    rows, cols = np.triu_indices(p)
    wx = risk[:, None] * x
    wxx = wx[:, rows] * x[:, cols]
    if dead.size == 0:
        empty = np.zeros((0,))
        return RiskSets(
            empty,
            np.zeros((0, p)),
            np.zeros((0, p, p)),
            empty,
            np.zeros((0, p)),
            np.zeros((0, p, p)),
        )
    return RiskSets(
        s0=_suffix_sums(risk, starts),
        s1=_suffix_sums(wx, starts),
        s2=_square(_suffix_sums(wxx, starts), p),
        d0=np.add.reduceat(risk[dead], stratum.dead_starts),
        d1=np.add.reduceat(wx[dead], stratum.dead_starts, axis=0),
        d2=_square(np.add.reduceat(wxx[dead], stratum.dead_starts, axis=0), p),
    )


def tie_fractions(deaths: FloatArray, efron: bool) -> list[tuple[IntArray, FloatArray]]:
    """Efron sub-steps: for l = 0..max(d)-1 the runs with d > l and their fraction l/d.

    Breslow is the same with every fraction 0 (d identical sub-steps, counted by weight d).
    """
    if not efron:
        runs = np.flatnonzero(deaths > 0)
        return [(runs, np.zeros(runs.size))]
    steps = []
    for level in range(int(deaths.max()) if deaths.size else 0):
        runs = np.flatnonzero(deaths > level)
        steps.append((runs, level / deaths[runs]))
    return steps


@dataclass(frozen=True)
class Evaluation:
    """Log partial likelihood, score vector and information matrix at one beta."""

    loglik: float
    score: FloatArray
    information: FloatArray


def evaluate(strata: list[Stratum], beta: FloatArray, efron: bool) -> Evaluation:
    """``l(beta) = sum_deaths eta - sum_runs sum_l log(S0 - (l/d) D0)`` and its derivatives."""
    p = beta.size
    loglik, score, info = 0.0, np.zeros(p), np.zeros((p, p))
    for stratum in strata:
        eta = stratum.x @ beta
        sums = risk_sets(stratum, np.exp(eta))
        loglik += float(eta[stratum.dead].sum())
        score += stratum.x[stratum.dead].sum(axis=0)
        for runs, frac in tie_fractions(stratum.deaths, efron):
            weight = np.ones(runs.size) if efron else stratum.deaths[runs]
            s0 = sums.s0[runs] - frac * sums.d0[runs]
            s1 = sums.s1[runs] - frac[:, None] * sums.d1[runs]
            s2 = sums.s2[runs] - frac[:, None, None] * sums.d2[runs]
            mean = s1 / s0[:, None]
            loglik -= float(np.sum(weight * np.log(s0)))
            score -= np.sum(weight[:, None] * mean, axis=0)
            spread = s2 / s0[:, None, None] - mean[:, :, None] * mean[:, None, :]
            info += np.sum(weight[:, None, None] * spread, axis=0)
    return Evaluation(loglik, score, info)


@dataclass(frozen=True)
class CoxFit:
    """Converged coefficients, their model-based variance, log-likelihoods and iterations."""

    coef: FloatArray
    variance: FloatArray
    loglik_null: float
    loglik: float
    score_null: FloatArray
    information_null: FloatArray
    iterations: int


def _cholesky_solve(information: FloatArray, vector: FloatArray, names: list[str]) -> FloatArray:
    """Solve ``I x = u``; refuse a singular information matrix (collinear covariates).

    Like R's ``cholesky2`` with ``toler.chol = eps^0.75``, a pivot of the scale-free
    (correlation-form) matrix below the tolerance marks a covariate that is (nearly) a linear
    combination of the others.
    """
    diag = np.diag(information)
    if np.any(~(diag > 0)):
        raise _singular(names, [names[i] for i in np.flatnonzero(~(diag > 0))])
    scale = 1.0 / np.sqrt(diag)
    scaled = information * scale[:, None] * scale[None, :]
    try:
        factor = np.linalg.cholesky(scaled)
    except np.linalg.LinAlgError:
        raise _singular(names, names) from None
    pivots = np.diag(factor) ** 2
    if np.any(pivots < TOLER_CHOL):
        raise _singular(names, [names[i] for i in np.flatnonzero(pivots < TOLER_CHOL)])
    solved = np.linalg.solve(factor.T, np.linalg.solve(factor, vector * scale))
    return np.asarray(solved * scale)


def _singular(names: list[str], culprits: list[str]) -> ConvergenceError:
    return ConvergenceError(
        f"the information matrix is singular at {culprits}: among covariates {names} some are "
        "constant among patients at risk or linear combinations of others; drop or combine them"
    )


def newton_raphson(strata: list[Stratum], p: int, efron: bool, names: list[str]) -> CoxFit:
    """R's ``coxfit6`` iteration (see module docstring); raises ConvergenceError on failure."""
    beta = np.zeros(p)
    start = evaluate(strata, beta, efron)
    loglik = start.loglik
    new_beta = beta + _cholesky_solve(start.information, start.score, names)
    halving = False
    for iteration in range(1, ITER_MAX + 1):
        current = evaluate(strata, new_beta, efron)
        if abs(1.0 - loglik / current.loglik) <= EPS and not halving:
            variance: FloatArray = np.asarray(np.linalg.inv(current.information), np.float64)
            _check_finite(current.score, variance, new_beta, names)
            return CoxFit(
                new_beta,
                variance,
                start.loglik,
                current.loglik,
                start.score,
                start.information,
                iteration,
            )
        if iteration == ITER_MAX:
            break
        if current.loglik < loglik:
            halving = True
            new_beta = (new_beta + beta) / 2.0
        else:
            halving = False
            loglik = current.loglik
            beta = new_beta
            new_beta = beta + _cholesky_solve(current.information, current.score, names)
    raise ConvergenceError(
        f"the Cox model did not converge in {ITER_MAX} Newton-Raphson iterations "
        f"(coxph.control(iter.max = {ITER_MAX}, eps = {EPS:g})); check for covariates that "
        "separate events from non-events"
    )


def _check_finite(
    score: FloatArray, variance: FloatArray, beta: FloatArray, names: list[str]
) -> None:
    """R's infinite-coefficient check: a further Newton step would still move beta a lot."""
    step = np.abs(score @ variance)
    infinite = (step > TOLER_INF) & (step > TOLER_INF * np.abs(beta))
    if infinite.any():
        which = [names[i] for i in np.flatnonzero(infinite)]
        raise ConvergenceError(
            f"monotone likelihood: the coefficient of {which} tends to infinity (the log "
            "likelihood converged while the estimate kept growing). A covariate separates "
            "patients with and without events; a finite hazard ratio cannot be estimated "
            "(consider Firth's penalized Cox regression or an exact test)"
        )


def score_residuals(strata: list[Stratum], beta: FloatArray, n: int, efron: bool) -> FloatArray:
    """Score residuals (n, p) in the caller's record order, as R's ``coxscore2.c``.

    For record i with risk w_i: ``delta_i (x_i - mean of xbar_l) - w_i sum_runs<=t_i sum_l
    c_il (x_i - xbar_l) / S0_l`` with ``c_il = 1 - l/d`` at its own death time, 1 otherwise.
    """
    residuals = np.zeros((n, beta.size))
    for stratum in strata:
        x = stratum.x
        risk = np.exp(x @ beta)
        parts = _hazard_parts(stratum, risk_sets(stratum, risk), beta.size, efron)
        hazard, hazard_mean, own, own_mean, dn_mean = parts
        # cumulative sums over death times up to each record's time (0 before the first)
        through = np.searchsorted(stratum.run_times, stratum.time, side="right")
        cum_h = np.concatenate(([0.0], np.cumsum(hazard)))[through]
        cum_hm = np.vstack((np.zeros((1, beta.size)), np.cumsum(hazard_mean, axis=0)))[through]
        resid = -risk[:, None] * (x * cum_h[:, None] - cum_hm)
        dead = stratum.dead
        run = through[dead] - 1
        resid[dead] += x[dead] - dn_mean[run]
        resid[dead] += risk[dead, None] * (x[dead] * own[run][:, None] - own_mean[run])
        residuals[stratum.index] = resid
    return residuals


def _hazard_parts(
    stratum: Stratum, sums: RiskSets, p: int, efron: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per death time: hazard increments and their covariate-weighted versions (coxscore2)."""
    n_runs = stratum.run_times.size
    hazard, hazard_mean = np.zeros(n_runs), np.zeros((n_runs, p))
    own, own_mean = np.zeros(n_runs), np.zeros((n_runs, p))
    dn_mean = np.zeros((n_runs, p))
    for runs, frac in tie_fractions(stratum.deaths, efron):
        d = stratum.deaths[runs]
        s0 = sums.s0[runs] - frac * sums.d0[runs]
        mean = (sums.s1[runs] - frac[:, None] * sums.d1[runs]) / s0[:, None]
        step = (np.ones(runs.size) if efron else d) / s0
        hazard[runs] += step
        hazard_mean[runs] += step[:, None] * mean
        own[runs] += frac * step
        own_mean[runs] += (frac * step)[:, None] * mean
        dn_mean[runs] += mean / d[:, None] if efron else mean
    return hazard, hazard_mean, own, own_mean, dn_mean

"""Cox proportional-hazards engine: partial likelihood, Newton-Raphson, score residuals.

Follows R's survival package (``coxph.fit`` / ``coxfit6.c`` for the fit, ``coxscore2.c`` for
score residuals): Efron or Breslow handling of tied event times, strata with separate baseline
hazards, Newton-Raphson from beta = 0 with step halving, stopping when
``|1 - loglik_old / loglik_new| <= eps`` (``coxph.control``: eps = 1e-9, iter.max = 20), and R's
test for infinite coefficients (``|u' V| > toler.inf`` with toler.inf = sqrt(eps)).

Risk-set sums are reverse cumulative sums, over the death times, of risk-weighted sums of
``1, x, x x'`` between consecutive death times (records sorted by time within a stratum);
Efron's terms for tied deaths are one row per death, so nothing loops over records, death
times or ties.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from hepatrial.exceptions import ConvergenceError
from hepatrial.stats._common import FloatArray, IntArray

EPS = 1e-9
ITER_MAX = 20
TOLER_CHOL = EPS**0.75
TOLER_INF = EPS**0.5


@dataclass(frozen=True)
class TieSteps:
    """The terms of the partial likelihood at the death times, one row per term.

    Efron: each death time with d deaths gives d terms l = 0..d-1 with fraction l/d of the
    deaths' own risk removed from the risk set, each of weight 1. Breslow: one term per death
    time, fraction 0, weight d.
    """

    run: IntArray  # death time (run) of each term, ascending
    fraction: FloatArray
    weight: FloatArray
    starts: IntArray  # first term of each run


def tie_steps(deaths: FloatArray, efron: bool) -> TieSteps:
    """Terms of Efron's (``efron``) or Breslow's approximation for runs of ``deaths`` deaths."""
    counts = deaths.astype(np.int64)
    if not efron:
        runs = np.arange(counts.size, dtype=np.int64)
        return TieSteps(runs, np.zeros(counts.size), deaths.astype(np.float64), runs)
    run = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    level = np.arange(run.size) - starts[run]
    return TieSteps(run, level / deaths[run], np.ones(run.size), starts)


@dataclass(frozen=True)
class Stratum:
    """Records of one stratum sorted by time, and the distinct times with deaths ("runs")."""

    index: IntArray  # positions in the caller's arrays: ascending time, deaths first in ties
    time: FloatArray
    x: FloatArray
    event: FloatArray
    run_starts: IntArray  # first record (at or after which all are at risk) of each death time
    run_times: FloatArray
    deaths: FloatArray  # deaths per run
    dead: IntArray  # positions of the deaths, ascending
    dead_starts: IntArray  # offsets in ``dead`` where each run's deaths begin
    products: FloatArray  # per record: 1, x, upper triangle of x x' (fixed across iterations)
    dead_x: FloatArray  # sum of x over the deaths
    steps: TieSteps

    def group_sums(self, risk: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Risk-weighted sums of ``products`` between consecutive death times and over the
        deaths at each death time.

        Each is a sparse (death times x records) matrix of risks times ``products``: one
        sequential pass over the records, no (records x columns) temporary.
        """
        first, runs, n = int(self.run_starts[0]), self.run_times.size, self.time.size
        between = sparse.csr_array(
            (risk[first:], np.arange(first, n), np.append(self.run_starts, n) - first),
            shape=(runs, n),
        )
        dying = sparse.csr_array(
            (risk[self.dead], self.dead, np.append(self.dead_starts, self.dead.size)),
            shape=(runs, n),
        )
        return between @ self.products, dying @ self.products


def _products(x: FloatArray) -> FloatArray:
    """Columns ``1, x_1..x_p, x_i x_j (i <= j)``: their risk-weighted sums are S0, S1, S2."""
    rows, cols = np.triu_indices(x.shape[1])
    return np.hstack((np.ones((x.shape[0], 1)), x, x[:, rows] * x[:, cols]))


def make_strata(
    time: FloatArray, event: FloatArray, x: FloatArray, strata: IntArray, efron: bool
) -> list[Stratum]:
    """Split and sort the data once; every likelihood evaluation reuses it."""
    out = []
    # by stratum, then time, deaths before censorings at equal times (each stratum's records
    # reversed give the concordance order); one sort for all strata
    order = np.lexsort((-event, time, strata))
    bounds = np.flatnonzero(np.diff(strata[order])) + 1
    for index in np.split(order, bounds):
        t, e, xs = time[index], event[index], x[index]
        dead = np.flatnonzero(e > 0)
        dead_times = t[dead]
        dead_starts = np.flatnonzero(np.r_[dead.size > 0, dead_times[1:] != dead_times[:-1]])
        run_times = dead_times[dead_starts]
        deaths = np.diff(np.append(dead_starts, dead.size)).astype(np.float64)
        out.append(
            Stratum(
                index=index,
                time=t,
                x=xs,
                event=e,
                run_starts=np.searchsorted(t, run_times, side="left"),
                run_times=run_times,
                deaths=deaths,
                dead=dead,
                dead_starts=dead_starts,
                products=_products(xs),
                dead_x=xs[dead].sum(axis=0),
                steps=tie_steps(deaths, efron),
            )
        )
    return out


@dataclass(frozen=True)
class RiskSets:
    """Per death time: risk-set sums S0, S1, S2 and the same sums over the deaths there.

    ``s2`` and ``d2`` hold the upper triangles (i <= j) of the p x p sums.
    """

    s0: FloatArray
    s1: FloatArray
    s2: FloatArray
    d0: FloatArray
    d1: FloatArray
    d2: FloatArray


def _square(triangle: FloatArray, p: int) -> FloatArray:
    """Rebuild the symmetric p x p matrix from its upper triangle."""
    rows, cols = np.triu_indices(p)
    full = np.empty((p, p))
    full[rows, cols] = triangle
    full[cols, rows] = triangle
    return full


def risk_sets(stratum: Stratum, risk: FloatArray) -> RiskSets:
    """Sums over the risk set (time >= t) and over the deaths at t, for each death time t.

    The risk-weighted products summed between consecutive death times are accumulated from
    the last death time backwards.
    """
    p = stratum.x.shape[1]
    between, dying = stratum.group_sums(risk)
    at_risk = np.cumsum(between[::-1], axis=0)[::-1]
    return RiskSets(
        s0=at_risk[:, 0],
        s1=np.ascontiguousarray(at_risk[:, 1 : p + 1]),
        s2=at_risk[:, p + 1 :],
        d0=dying[:, 0],
        d1=np.ascontiguousarray(dying[:, 1 : p + 1]),
        d2=dying[:, p + 1 :],
    )


def _step_means(sums: RiskSets, steps: TieSteps) -> tuple[FloatArray, FloatArray]:
    """Per term: ``s0 = S0 - f D0`` and the weighted covariate mean ``(S1 - f D1) / s0``."""
    k, f = steps.run, steps.fraction
    s0 = sums.s0[k] - f * sums.d0[k]
    mean = (sums.s1[k] - f[:, None] * sums.d1[k]) / s0[:, None]
    return s0, mean


def linear_predictor(x: FloatArray, beta: FloatArray) -> FloatArray:
    """``x @ beta`` without BLAS: a threaded matrix-vector product of this shape spends more
    time waking threads than computing, worst on a busy machine."""
    eta: FloatArray = np.einsum("ij,j->i", x, beta)
    return eta


@dataclass(frozen=True)
class Evaluation:
    """Log partial likelihood, score vector and information matrix at one beta."""

    loglik: float
    score: FloatArray
    information: FloatArray


def evaluate(strata: list[Stratum], beta: FloatArray) -> Evaluation:
    r"""``l(beta) = sum_deaths x beta - sum_terms w log(s0)`` and its derivatives.

    Over the terms (see :class:`TieSteps`) with ``s0 = S0 - f D0``, mean ``m = (S1 - f D1) /
    s0``: score ``sum_deaths x - sum w m`` and information ``sum w (S2 - f D2) / s0 - sum w m
    m'``; the first part is accumulated per death time as ``S2 sum(w / s0) - D2 sum(w f /
    s0)``.
    """
    p = beta.size
    loglik, score, second = 0.0, np.zeros(p), np.zeros(p * (p + 1) // 2)
    outer = np.zeros((p, p))
    for stratum in strata:
        if stratum.dead.size == 0:
            continue
        sums = risk_sets(stratum, np.exp(linear_predictor(stratum.x, beta)))
        steps = stratum.steps
        s0, mean = _step_means(sums, steps)
        loglik += float(stratum.dead_x @ beta) - float(np.einsum("i,i->", steps.weight, np.log(s0)))
        score += stratum.dead_x - steps.weight @ mean
        inverse = steps.weight / s0
        second += np.einsum("i,ij->j", np.add.reduceat(inverse, steps.starts), sums.s2)
        second -= np.einsum(
            "i,ij->j", np.add.reduceat(inverse * steps.fraction, steps.starts), sums.d2
        )
        outer += (mean * steps.weight[:, None]).T @ mean
    return Evaluation(loglik, score, _square(second, p) - outer)


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


def newton_raphson(strata: list[Stratum], p: int, names: list[str]) -> CoxFit:
    """R's ``coxfit6`` iteration (see module docstring); raises ConvergenceError on failure."""
    beta = np.zeros(p)
    start = evaluate(strata, beta)
    loglik = start.loglik
    new_beta = beta + _cholesky_solve(start.information, start.score, names)
    halving = False
    for iteration in range(1, ITER_MAX + 1):
        current = evaluate(strata, new_beta)
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


def score_residuals(strata: list[Stratum], beta: FloatArray, n: int) -> FloatArray:
    """Score residuals (n, p) in the caller's record order, as R's ``coxscore2.c``.

    For record i with risk w_i: ``delta_i (x_i - mean of xbar_l) - w_i sum_runs<=t_i sum_l
    c_il (x_i - xbar_l) / S0_l`` with ``c_il = 1 - l/d`` at its own death time, 1 otherwise.
    """
    residuals = np.zeros((n, beta.size))
    for stratum in strata:
        if stratum.dead.size == 0:
            continue
        x = stratum.x
        risk = np.exp(linear_predictor(x, beta))
        hazard, hazard_mean, own, own_mean, dn_mean = _hazard_parts(
            stratum, risk_sets(stratum, risk)
        )
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
    stratum: Stratum, sums: RiskSets
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per death time: hazard increments and their covariate-weighted versions (coxscore2).

    Sums over the terms of each death time of ``w / s0`` (hazard), its products with the
    term's mean, the same weighted by the fraction ``f`` (the deaths' own share), and the
    deaths' average mean (``w / d`` per term).
    """
    steps = stratum.steps
    s0, mean = _step_means(sums, steps)
    step = steps.weight / s0
    own_step = steps.fraction * step
    per_death = steps.weight / stratum.deaths[steps.run]

    def per_run(values: FloatArray) -> FloatArray:
        total: FloatArray = np.add.reduceat(values, steps.starts, axis=0)
        return total

    return (
        per_run(step),
        per_run(step[:, None] * mean),
        per_run(own_step),
        per_run(own_step[:, None] * mean),
        per_run(per_death[:, None] * mean),
    )

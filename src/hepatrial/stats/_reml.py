"""REML for the linear model with an unstructured within-subject covariance (the MMRM engine).

Model: :math:`y_i = X_i\\beta + e_i`, :math:`e_i \\sim N(0, \\Sigma_i)` independent across
subjects, with :math:`\\Sigma_i` the rows and columns of one unstructured :math:`T \\times T`
matrix :math:`\\Sigma` at the visits subject :math:`i` attended (missing visits are simply
absent: valid under missing at random). :math:`\\Sigma = LL^\\top` with :math:`L` lower
triangular, parametrized by :math:`\\theta` = its entries row by row with the diagonal on the
log scale. The objective is minus twice the restricted log-likelihood
(Patterson & Thompson, Biometrika 1971;58:545-54; Harville, JASA 1977;72:320-38)

.. math::
    f(\\theta) = (N - p)\\log 2\\pi + \\sum_i \\log|\\Sigma_i| + \\log|X^\\top V^{-1}X|
               + r^\\top V^{-1} r,\\qquad r = y - X\\hat\\beta(\\theta),

with the generalized least-squares :math:`\\hat\\beta`. Its gradient is analytic:
:math:`df = \\mathrm{tr}(M\\,d\\Sigma)` with :math:`M = \\sum_i E_i^\\top[\\Sigma_i^{-1} -
\\Sigma_i^{-1}(X_i\\Phi X_i^\\top + r_i r_i^\\top)\\Sigma_i^{-1}]E_i`,
:math:`\\Phi = (X^\\top V^{-1} X)^{-1}`. Subjects are processed by missing-data pattern, so
the work is a handful of small dense products however many subjects there are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from hepatrial.exceptions import ConvergenceError
from hepatrial.stats._common import FloatArray, IntArray

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class Pattern:
    """Subjects sharing the same observed visits: visit indices, X (m, k, p) and y (m, k)."""

    visits: IntArray
    X: FloatArray
    y: FloatArray


@dataclass(frozen=True)
class Evaluation:
    """Everything the objective computes at one theta."""

    value: float
    gradient_sigma: FloatArray
    beta: FloatArray
    phi: FloatArray


def build_patterns(
    X: FloatArray, y: FloatArray, subject: IntArray, visit: IntArray
) -> list[Pattern]:
    """Group the rows by subject, and subjects by their set of observed visits."""
    order = np.lexsort((visit, subject))
    X, y, subject, visit = X[order], y[order], subject[order], visit[order]
    starts = np.flatnonzero(np.r_[True, subject[1:] != subject[:-1]])
    stops = np.r_[starts[1:], len(subject)]
    by_pattern: dict[tuple[int, ...], list[int]] = {}
    for start, stop in zip(starts, stops, strict=True):
        by_pattern.setdefault(tuple(visit[start:stop].tolist()), []).append(int(start))
    patterns = []
    for visits, first_rows in by_pattern.items():
        rows = np.asarray(first_rows)[:, None] + np.arange(len(visits))[None, :]
        patterns.append(Pattern(np.asarray(visits, dtype=np.int64), X[rows], y[rows]))
    return patterns


def n_parameters(visits: int) -> int:
    """Number of covariance parameters of an unstructured T x T matrix."""
    return visits * (visits + 1) // 2


def cholesky_factor(theta: FloatArray, visits: int) -> FloatArray:
    """Lower-triangular L from theta (row-major lower triangle, log diagonal)."""
    L = np.zeros((visits, visits))
    L[np.tril_indices(visits)] = theta
    L[np.diag_indices(visits)] = np.exp(np.diag(L))
    return L


def theta_from_sigma(sigma: FloatArray) -> FloatArray:
    """Inverse of :func:`cholesky_factor` composed with ``L @ L.T``."""
    L = np.linalg.cholesky(sigma)
    L[np.diag_indices(len(sigma))] = np.log(np.diag(L))
    return np.asarray(L[np.tril_indices(len(sigma))], dtype=np.float64)


def chain_to_theta(M: FloatArray, L: FloatArray) -> FloatArray:
    """Map d/dSigma (as tr(M dSigma), M symmetric) to d/dtheta through Sigma = L L'."""
    G = 2.0 * M @ L
    G[np.diag_indices(len(L))] *= np.diag(L)
    return np.asarray(G[np.tril_indices(len(L))], dtype=np.float64)


def _across_subjects(A: FloatArray, B: FloatArray) -> FloatArray:
    """sum_m A_m B_m' for stacks A, B of shape (m, k, p): a (k, k) matrix."""
    m, k, p = A.shape
    left = A.transpose(1, 0, 2).reshape(k, m * p)
    right = B.transpose(1, 0, 2).reshape(k, m * p)
    return np.asarray(left @ right.T, dtype=np.float64)


def evaluate(theta: FloatArray, patterns: list[Pattern], visits: int) -> Evaluation:
    """REML objective f (minus twice the log-likelihood) and its gradient in Sigma."""
    L = cholesky_factor(theta, visits)
    sigma = L @ L.T
    p = patterns[0].X.shape[2]
    xtvx, xtvy = np.zeros((p, p)), np.zeros(p)
    logdet, inverses, n_obs = 0.0, [], 0
    for pat in patterns:
        block = sigma[np.ix_(pat.visits, pat.visits)]
        chol = np.linalg.cholesky(block)
        inverse = np.linalg.inv(block)
        inverses.append(inverse)
        logdet += len(pat.y) * 2.0 * float(np.log(np.diag(chol)).sum())
        flat_x = pat.X.reshape(-1, p)
        xtvx += flat_x.T @ (inverse @ pat.X).reshape(-1, p)
        xtvy += flat_x.T @ (pat.y @ inverse).ravel()
        n_obs += pat.y.size
    phi = np.asarray(np.linalg.inv(xtvx), dtype=np.float64)
    beta = phi @ xtvy
    quad, M = 0.0, np.zeros((visits, visits))
    for pat, inverse in zip(patterns, inverses, strict=True):
        r = pat.y - pat.X @ beta
        quad += float(((r @ inverse) * r).sum())
        spread = _across_subjects(pat.X @ phi, pat.X) + r.T @ r
        M[np.ix_(pat.visits, pat.visits)] += len(pat.y) * inverse - inverse @ spread @ inverse
    _, logdet_xtvx = np.linalg.slogdet(xtvx)
    value = (n_obs - p) * _LOG_2PI + logdet + float(logdet_xtvx) + quad
    return Evaluation(value=value, gradient_sigma=M, beta=beta, phi=phi)


def objective(theta: FloatArray, patterns: list[Pattern], visits: int) -> tuple[float, FloatArray]:
    """f(theta) and df/dtheta, for :func:`scipy.optimize.minimize`."""
    ev = evaluate(theta, patterns, visits)
    return ev.value, chain_to_theta(ev.gradient_sigma, cholesky_factor(theta, visits))


def hessian(theta: FloatArray, patterns: list[Pattern], visits: int) -> FloatArray:
    """Hessian of f by central differences of the analytic gradient (symmetrized)."""
    q = len(theta)
    H = np.empty((q, q))
    for j in range(q):
        step = 1e-5 * (1.0 + abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        H[:, j] = (objective(up, patterns, visits)[1] - objective(down, patterns, visits)[1]) / (
            2.0 * step
        )
    return np.asarray((H + H.T) / 2.0, dtype=np.float64)


def _newton_polish(
    theta: FloatArray, patterns: list[Pattern], visits: int
) -> tuple[FloatArray, FloatArray]:
    """A few Newton steps from the quasi-Newton optimum, to drive the gradient to ~0."""
    for _ in range(20):
        value, gradient = objective(theta, patterns, visits)
        H = hessian(theta, patterns, visits)
        if np.max(np.abs(gradient)) < 1e-9:
            return theta, H
        step = np.linalg.solve(H, gradient)
        candidate = theta - step
        if not objective(candidate, patterns, visits)[0] <= value + 1e-12:
            return theta, H
        theta = candidate
    return theta, hessian(theta, patterns, visits)


@dataclass(frozen=True)
class RemlFit:
    """Fitted REML model: theta, Sigma, beta, Phi = Cov(beta), Hessian of f, log-likelihood."""

    theta: FloatArray
    sigma: FloatArray
    beta: FloatArray
    phi: FloatArray
    hessian: FloatArray
    loglik: float
    iterations: int


def fit_reml(patterns: list[Pattern], visits: int, start: FloatArray) -> RemlFit:
    """Minimize f from ``start`` (a covariance matrix) by BFGS, then Newton; check the optimum."""
    result = optimize.minimize(
        objective,
        theta_from_sigma(start),
        args=(patterns, visits),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-7, "maxiter": 2000},
    )
    theta, H = _newton_polish(np.asarray(result.x, dtype=np.float64), patterns, visits)
    _, gradient = objective(theta, patterns, visits)
    eigenvalues = np.linalg.eigvalsh(H)
    if np.max(np.abs(gradient)) > 1e-5 or eigenvalues.min() <= 0:
        raise ConvergenceError(
            "the REML fit of the unstructured covariance did not reach a maximum "
            f"(largest gradient {np.max(np.abs(gradient)):.2g}, smallest Hessian eigenvalue "
            f"{eigenvalues.min():.2g}); too few subjects per visit pair can cause this"
        )
    ev = evaluate(theta, patterns, visits)
    L = cholesky_factor(theta, visits)
    return RemlFit(
        theta=theta,
        sigma=L @ L.T,
        beta=ev.beta,
        phi=ev.phi,
        hessian=H,
        loglik=-0.5 * ev.value,
        iterations=int(result.nit),
    )


def contrast_gradient(
    fit: RemlFit, patterns: list[Pattern], visits: int, contrast: FloatArray
) -> FloatArray:
    """d(c' Phi c)/dtheta = sum_i u_i' dSigma_i u_i with u_i = Sigma_i^-1 X_i Phi c."""
    w = fit.phi @ contrast
    U = np.zeros((visits, visits))
    for pat in patterns:
        inverse = np.linalg.inv(fit.sigma[np.ix_(pat.visits, pat.visits)])
        u = (pat.X @ w) @ inverse
        U[np.ix_(pat.visits, pat.visits)] += u.T @ u
    return chain_to_theta(U, cholesky_factor(fit.theta, visits))


def satterthwaite_df(
    fit: RemlFit, patterns: list[Pattern], visits: int, contrast: FloatArray
) -> float:
    """Satterthwaite df of c' beta: 2 v^2 / (g' A g), v = c' Phi c, A = (Hessian of -loglik)^-1.

    Satterthwaite, Biometrics Bull 1946;2:110-4; Giesbrecht & Burns, Biometrics
    1985;41:477-86; as R's ``mmrm`` (method = "Satterthwaite"), with A = 2 (Hessian of f)^-1.
    """
    v = float(contrast @ fit.phi @ contrast)
    g = contrast_gradient(fit, patterns, visits, contrast)
    A = 2.0 * np.linalg.inv(fit.hessian)
    return float(2.0 * v * v / (g @ A @ g))

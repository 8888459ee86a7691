"""REML for the linear model with a structured within-subject covariance (the MMRM engine).

Model: :math:`y_i = X_i\\beta + e_i`, :math:`e_i \\sim N(0, \\Sigma_i)` independent across
subjects, with :math:`\\Sigma_i` the rows and columns of one :math:`T \\times T` matrix
:math:`\\Sigma(\\theta)` at the visits subject :math:`i` attended (missing visits are simply
absent: valid under missing at random). The objective is minus twice the restricted
log-likelihood (Patterson & Thompson, Biometrika 1971;58:545-54; Harville, JASA
1977;72:320-38)

.. math::
    f(\\theta) = (N - p)\\log 2\\pi + \\sum_i \\log|\\Sigma_i| + \\log|X^\\top V^{-1}X|
               + r^\\top V^{-1} r,\\qquad r = y - X\\hat\\beta(\\theta),

with the generalized least-squares :math:`\\hat\\beta`. Its gradient is analytic:
:math:`\\partial f/\\partial\\theta_k = \\mathrm{tr}(M\\,\\partial\\Sigma/\\partial\\theta_k)` with
:math:`M = \\sum_i E_i^\\top[\\Sigma_i^{-1} - \\Sigma_i^{-1}(X_i\\Phi X_i^\\top + r_i r_i^\\top)
\\Sigma_i^{-1}]E_i`, :math:`\\Phi = (X^\\top V^{-1} X)^{-1}`. Subjects are processed by
missing-data pattern, so the work is a handful of small dense products however many
subjects there are.

Parametrizations of :math:`\\Sigma` (all unconstrained, always positive definite):

- unstructured: :math:`\\Sigma = LL^\\top`, :math:`\\theta` = the lower triangle of :math:`L`
  row by row with the diagonal on the log scale (log-Cholesky; Pinheiro & Bates,
  Stat Comput 1996;6:289-96);
- compound-symmetry: :math:`\\Sigma = \\sigma^2[(1-\\rho)I + \\rho J]`, :math:`\\theta =
  (\\log\\sigma^2, z)`, :math:`\\rho = \\rho_0 + (1-\\rho_0)\\,\\mathrm{expit}(z)`,
  :math:`\\rho_0 = -1/(T-1)`;
- ar1: :math:`\\Sigma_{st} = \\sigma^2\\rho^{|s-t|}` (visit positions), :math:`\\rho=\\tanh z`;
- heterogeneous-ar1: :math:`\\Sigma_{st} = \\sigma_s\\sigma_t\\rho^{|s-t|}`, :math:`\\theta =
  (\\log\\sigma_1, \\dots, \\log\\sigma_T, z)`.

Robust fitting (trials with heavy monotone dropout have few subjects at late visits): the
outcome is rescaled to unit residual variance; the search starts from the pairwise-complete
moment covariance of the least-squares residuals projected to positive definite; a chain of
BFGS, a trust-region Newton method, and BFGS from a diagonal start, each finished by
safeguarded Newton steps, stops at the first point whose Hessian is positive definite and whose
Newton decrement :math:`g^\\top H^{-1} g` is below :data:`DECREMENT_TOL`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy import optimize
from scipy.special import expit, logit

from hepatrial.exceptions import ConvergenceError
from hepatrial.stats._common import FloatArray, IntArray

Structure = Literal["unstructured", "compound-symmetry", "ar1", "heterogeneous-ar1"]
STRUCTURES: tuple[Structure, ...] = (
    "unstructured",
    "compound-symmetry",
    "ar1",
    "heterogeneous-ar1",
)
_LOG_2PI = float(np.log(2.0 * np.pi))
#: Converged when g' H^-1 g (twice the predicted further decrease of f) is below this.
DECREMENT_TOL = 1e-9
# Smallest eigenvalue of the starting correlation matrix after projection.
_START_EIGEN_FLOOR = 0.05


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


# --- parametrizations of Sigma: theta -> Sigma, dSigma/dtheta (q, T, T), Sigma -> theta ---


def _unstructured_sigma(theta: FloatArray, T: int) -> FloatArray:
    L = cholesky_factor(theta, T)
    return np.asarray(L @ L.T, dtype=np.float64)


def _unstructured_jacobian(theta: FloatArray, T: int) -> FloatArray:
    L = cholesky_factor(theta, T)
    rows, cols = np.tril_indices(T)
    J = np.zeros((len(rows), T, T))
    for k, (a, b) in enumerate(zip(rows, cols, strict=True)):
        factor = L[a, a] if a == b else 1.0
        J[k, a, :] += factor * L[:, b]
        J[k, :, a] += factor * L[:, b]
    return J


def _unstructured_theta(sigma: FloatArray, T: int) -> FloatArray:
    L = np.linalg.cholesky(sigma)
    L[np.diag_indices(T)] = np.log(np.diag(L))
    return np.asarray(L[np.tril_indices(T)], dtype=np.float64)


def _lags(T: int) -> FloatArray:
    index = np.arange(T, dtype=np.float64)
    return np.abs(index[:, None] - index[None, :])


def _cs_floor(T: int) -> float:
    return -1.0 / (T - 1) if T > 1 else 0.0


def _cs_sigma(theta: FloatArray, T: int) -> FloatArray:
    rho = _cs_floor(T) + (1.0 - _cs_floor(T)) * float(expit(theta[1])) if T > 1 else 0.0
    return np.asarray(np.exp(theta[0]) * ((1.0 - rho) * np.eye(T) + rho), dtype=np.float64)


def _cs_jacobian(theta: FloatArray, T: int) -> FloatArray:
    sigma = _cs_sigma(theta, T)
    if T == 1:
        return sigma[None]
    e = float(expit(theta[1]))
    d_rho = (1.0 - _cs_floor(T)) * e * (1.0 - e)
    return np.stack([sigma, np.exp(theta[0]) * d_rho * (1.0 - np.eye(T))])


def _cs_theta(sigma: FloatArray, T: int) -> FloatArray:
    variance = float(np.mean(np.diag(sigma)))
    if T == 1:
        return np.array([np.log(variance)])
    lo = _cs_floor(T)
    rho = float(np.mean(sigma[~np.eye(T, dtype=bool)])) / variance
    share = float(np.clip((rho - lo) / (1.0 - lo), 1e-6, 1.0 - 1e-6))
    return np.array([np.log(variance), float(logit(share))])


def _ar1_parts(rho: float, T: int) -> tuple[FloatArray, FloatArray]:
    """rho^|s-t| and its derivative in z = atanh(rho)."""
    lags = _lags(T)
    power = rho**lags
    below = np.where(lags > 0, rho ** np.maximum(lags - 1.0, 0.0), 0.0)
    return power, lags * below * (1.0 - rho * rho)


def _lag1_correlation(sigma: FloatArray) -> float:
    sd = np.sqrt(np.diag(sigma))
    corr = sigma / np.outer(sd, sd)
    return float(np.clip(np.mean(np.diag(corr, 1)), -0.95, 0.95))


def _ar1_sigma(theta: FloatArray, T: int) -> FloatArray:
    rho = float(np.tanh(theta[1])) if T > 1 else 0.0
    return np.asarray(np.exp(theta[0]) * _ar1_parts(rho, T)[0], dtype=np.float64)


def _ar1_jacobian(theta: FloatArray, T: int) -> FloatArray:
    if T == 1:
        return _ar1_sigma(theta, T)[None]
    power, d_power = _ar1_parts(float(np.tanh(theta[1])), T)
    return np.stack([np.exp(theta[0]) * power, np.exp(theta[0]) * d_power])


def _ar1_theta(sigma: FloatArray, T: int) -> FloatArray:
    log_variance = float(np.log(np.mean(np.diag(sigma))))
    if T == 1:
        return np.array([log_variance])
    return np.array([log_variance, float(np.arctanh(_lag1_correlation(sigma)))])


def _har1_sigma(theta: FloatArray, T: int) -> FloatArray:
    sd = np.exp(theta[:T])
    rho = float(np.tanh(theta[T])) if T > 1 else 0.0
    return np.asarray(np.outer(sd, sd) * _ar1_parts(rho, T)[0], dtype=np.float64)


def _har1_jacobian(theta: FloatArray, T: int) -> FloatArray:
    sd = np.exp(theta[:T])
    rho = float(np.tanh(theta[T])) if T > 1 else 0.0
    power, d_power = _ar1_parts(rho, T)
    sigma = np.outer(sd, sd) * power
    eye = np.eye(T)
    J = [sigma * (eye[k][:, None] + eye[k][None, :]) for k in range(T)]
    if T > 1:
        J.append(np.outer(sd, sd) * d_power)
    return np.stack(J)


def _har1_theta(sigma: FloatArray, T: int) -> FloatArray:
    log_sd = 0.5 * np.log(np.diag(sigma))
    if T == 1:
        return np.asarray(log_sd, dtype=np.float64)
    return np.asarray(np.r_[log_sd, np.arctanh(_lag1_correlation(sigma))], dtype=np.float64)


_Map = Callable[[FloatArray, int], FloatArray]
_PARAMETRIZATIONS: dict[Structure, tuple[_Map, _Map, _Map]] = {
    "unstructured": (_unstructured_sigma, _unstructured_jacobian, _unstructured_theta),
    "compound-symmetry": (_cs_sigma, _cs_jacobian, _cs_theta),
    "ar1": (_ar1_sigma, _ar1_jacobian, _ar1_theta),
    "heterogeneous-ar1": (_har1_sigma, _har1_jacobian, _har1_theta),
}


@dataclass(frozen=True)
class CovarianceModel:
    """A covariance structure over ``visits`` ordered visits."""

    structure: Structure
    visits: int

    def sigma(self, theta: FloatArray) -> FloatArray:
        """Sigma(theta)."""
        return _PARAMETRIZATIONS[self.structure][0](theta, self.visits)

    def jacobian(self, theta: FloatArray) -> FloatArray:
        """dSigma/dtheta_k stacked as (q, T, T)."""
        return _PARAMETRIZATIONS[self.structure][1](theta, self.visits)

    def theta(self, sigma: FloatArray) -> FloatArray:
        """Theta of ``sigma`` (exact for a matrix of this structure; else moment-matched)."""
        return _PARAMETRIZATIONS[self.structure][2](sigma, self.visits)

    def chain(self, M: FloatArray, theta: FloatArray) -> FloatArray:
        """tr(M dSigma/dtheta_k) for every k."""
        return np.asarray(np.einsum("kij,ij->k", self.jacobian(theta), M), dtype=np.float64)


def cholesky_factor(theta: FloatArray, visits: int) -> FloatArray:
    """Lower-triangular L from theta (row-major lower triangle, log diagonal)."""
    L = np.zeros((visits, visits))
    L[np.tril_indices(visits)] = theta
    L[np.diag_indices(visits)] = np.exp(np.diag(L))
    return L


def _across_subjects(A: FloatArray, B: FloatArray) -> FloatArray:
    """sum_m A_m B_m' for stacks A, B of shape (m, k, p): a (k, k) matrix."""
    m, k, p = A.shape
    left = A.transpose(1, 0, 2).reshape(k, m * p)
    right = B.transpose(1, 0, 2).reshape(k, m * p)
    return np.asarray(left @ right.T, dtype=np.float64)


def evaluate_sigma(sigma: FloatArray, patterns: list[Pattern]) -> Evaluation:
    """REML objective f (minus twice the log-likelihood) and its gradient in Sigma."""
    visits = len(sigma)
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


def evaluate(theta: FloatArray, patterns: list[Pattern], visits: int) -> Evaluation:
    """:func:`evaluate_sigma` at the unstructured (log-Cholesky) ``theta``."""
    return evaluate_sigma(_unstructured_sigma(theta, visits), patterns)


def model_objective(
    theta: FloatArray, patterns: list[Pattern], model: CovarianceModel
) -> tuple[float, FloatArray]:
    """f(theta) and df/dtheta; +inf where Sigma is numerically not positive definite."""
    try:
        ev = evaluate_sigma(model.sigma(theta), patterns)
    except np.linalg.LinAlgError:
        return float("inf"), np.zeros_like(theta)
    if not np.isfinite(ev.value):
        return float("inf"), np.zeros_like(theta)
    return ev.value, model.chain(ev.gradient_sigma, theta)


def objective(theta: FloatArray, patterns: list[Pattern], visits: int) -> tuple[float, FloatArray]:
    """f(theta) and df/dtheta of the unstructured model, for :func:`scipy.optimize.minimize`."""
    return model_objective(theta, patterns, CovarianceModel("unstructured", visits))


def model_hessian(theta: FloatArray, patterns: list[Pattern], model: CovarianceModel) -> FloatArray:
    """Hessian of f by central differences of the analytic gradient (symmetrized)."""
    q = len(theta)
    H = np.empty((q, q))
    for j in range(q):
        step = 1e-5 * (1.0 + abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        H[:, j] = (
            model_objective(up, patterns, model)[1] - model_objective(down, patterns, model)[1]
        ) / (2.0 * step)
    return np.asarray((H + H.T) / 2.0, dtype=np.float64)


def hessian(theta: FloatArray, patterns: list[Pattern], visits: int) -> FloatArray:
    """:func:`model_hessian` of the unstructured model."""
    return model_hessian(theta, patterns, CovarianceModel("unstructured", visits))


# --- robust fitting -------------------------------------------------------------------------


def moment_covariance(patterns: list[Pattern], visits: int) -> FloatArray:
    """Pairwise-complete covariance of least-squares residuals, projected to positive definite.

    Each pair of visits uses the subjects seen at both; pairs never seen together get
    correlation 0; the correlation matrix's eigenvalues are floored at
    ``_START_EIGEN_FLOOR`` (then rescaled to unit diagonal) so that the start is well inside
    the positive definite cone.
    """
    p = patterns[0].X.shape[2]
    X = np.concatenate([pat.X.reshape(-1, p) for pat in patterns])
    y = np.concatenate([pat.y.ravel() for pat in patterns])
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    sums, counts = np.zeros((visits, visits)), np.zeros((visits, visits))
    for pat in patterns:
        r = pat.y - pat.X @ coef
        index = np.ix_(pat.visits, pat.visits)
        sums[index] += r.T @ r
        counts[index] += len(r)
    covariance = sums / np.maximum(counts, 1.0) * len(y) / max(len(y) - p, 1)
    pooled = float(np.mean(np.diag(covariance)[np.diag(counts) > 0])) or 1.0
    variances = np.diag(covariance).copy()
    variances[~(variances > 1e-8 * pooled)] = pooled
    sd = np.sqrt(variances)
    correlation = np.where(counts > 1, covariance / np.outer(sd, sd), 0.0)
    np.fill_diagonal(correlation, 1.0)
    w, V = np.linalg.eigh((correlation + correlation.T) / 2.0)
    projected = (V * np.maximum(w, _START_EIGEN_FLOOR)) @ V.T
    norm = np.sqrt(np.diag(projected))
    return np.asarray(projected / np.outer(norm, norm) * np.outer(sd, sd), dtype=np.float64)


@dataclass(frozen=True)
class _Problem:
    patterns: list[Pattern]
    model: CovarianceModel

    def f(self, theta: FloatArray) -> tuple[float, FloatArray]:
        return model_objective(theta, self.patterns, self.model)

    def hessian(self, theta: FloatArray) -> FloatArray:
        return model_hessian(theta, self.patterns, self.model)


@dataclass(frozen=True)
class _Point:
    theta: FloatArray
    value: float
    decrement: float
    positive_definite: bool
    largest_gradient: float

    @property
    def converged(self) -> bool:
        return self.positive_definite and self.decrement <= DECREMENT_TOL


def _newton_step(H: FloatArray, gradient: FloatArray) -> tuple[FloatArray, float, bool]:
    """Newton step (on |eigenvalues| where H is indefinite), capped to length 1, decrement."""
    w, V = np.linalg.eigh(H)
    floor = 1e-10 * max(float(np.abs(w).max()), 1.0)
    w_safe = np.maximum(np.abs(w), floor)
    step = V @ ((V.T @ gradient) / w_safe)
    decrement = float(gradient @ step)
    length = float(np.linalg.norm(step))
    return (step if length <= 1.0 else step / length), decrement, bool(w.min() > 0)


def _accept(value: float, new_value: float, gradient: FloatArray, new_gradient: FloatArray) -> bool:
    # f sums ~N terms: differences below ~1e-12 |f| are rounding noise, so a step that
    # leaves f unchanged to that precision is judged by the gradient it reaches.
    if new_value < value:
        return True
    noise = 1e-12 * (1.0 + abs(value))
    smaller = np.max(np.abs(new_gradient)) < np.max(np.abs(gradient))
    return bool(new_value <= value + noise and smaller)


def _newton_polish(theta: FloatArray, problem: _Problem, steps: int = 30) -> _Point:
    """Safeguarded Newton steps (step halving, capped length) to drive the gradient to ~0."""
    value, gradient = problem.f(theta)
    point = _Point(theta, value, float("inf"), False, float(np.max(np.abs(gradient))))
    for _ in range(steps):
        step, decrement, positive = _newton_step(problem.hessian(theta), gradient)
        point = _Point(theta, value, decrement, positive, float(np.max(np.abs(gradient))))
        if point.converged and decrement < 1e-20:
            return point
        for _ in range(40):
            new_value, new_gradient = problem.f(theta - step)
            if _accept(value, new_value, gradient, new_gradient):
                break
            step = step / 2.0
        else:
            return point
        theta, value, gradient = theta - step, new_value, new_gradient
    step, decrement, positive = _newton_step(problem.hessian(theta), gradient)
    return _Point(theta, value, decrement, positive, float(np.max(np.abs(gradient))))


def _bfgs(theta: FloatArray, problem: _Problem) -> FloatArray:
    result = optimize.minimize(
        problem.f, theta, jac=True, method="BFGS", options={"gtol": 1e-7, "maxiter": 2000}
    )
    return np.asarray(result.x, dtype=np.float64)


def _trust_region(theta: FloatArray, problem: _Problem) -> FloatArray:
    result = optimize.minimize(
        problem.f,
        theta,
        jac=True,
        hess=problem.hessian,
        method="trust-exact",
        options={"gtol": 1e-8, "maxiter": 500},
    )
    return np.asarray(result.x, dtype=np.float64)


def _search(problem: _Problem, starts: list[FloatArray]) -> tuple[_Point, list[str]]:
    """The fallback chain; returns the first converged point (or the best) and a log."""
    attempts = [(_bfgs, 0), (_trust_region, 0)] + [(_bfgs, k) for k in range(1, len(starts))]
    points: list[_Point] = []
    log = []
    for method, k in attempts:
        with np.errstate(all="ignore"):
            point = _newton_polish(method(starts[k], problem), problem)
        log.append(
            f"{method.__name__.strip('_')} from start {k + 1}: f={point.value:.10g}, "
            f"largest gradient {point.largest_gradient:.2g}, decrement {point.decrement:.2g}"
        )
        if point.converged:
            return point, log
        points.append(point)
    best = min(points, key=lambda point: point.value)
    return best, log


@dataclass(frozen=True)
class RemlFit:
    """Fitted REML model: theta, Sigma, beta, Phi = Cov(beta), Hessian of f, log-likelihood.

    ``attempts``: optimizers of the fallback chain run (1 when the first converged);
    ``scale``: the outcome scale the search ran on (root mean moment variance).
    """

    theta: FloatArray
    sigma: FloatArray
    beta: FloatArray
    phi: FloatArray
    hessian: FloatArray
    loglik: float
    attempts: int
    model: CovarianceModel
    scale: float


def fit_reml(
    patterns: list[Pattern],
    visits: int,
    start: FloatArray | None = None,
    structure: Structure = "unstructured",
) -> RemlFit:
    """Maximize the REML likelihood robustly (see the module docstring); check the optimum.

    ``start`` (a covariance matrix in the outcome's units) is tried before the moment start.
    Raises :class:`ConvergenceError` when no attempt reaches a point with a positive definite
    Hessian and a Newton decrement below :data:`DECREMENT_TOL`.
    """
    model = CovarianceModel(structure, visits)
    moment = moment_covariance(patterns, visits)
    scale = float(np.sqrt(np.mean(np.diag(moment))))
    scaled = [replace(pat, y=pat.y / scale) for pat in patterns]
    candidates = [moment, np.diag(np.diag(moment))]
    if start is not None:
        candidates.insert(0, np.asarray(start, dtype=np.float64))
    starts = [model.theta(sigma / scale**2) for sigma in candidates]
    point, log = _search(_Problem(scaled, model), starts)
    if not point.converged:
        raise ConvergenceError(
            f"the REML fit of the {structure} covariance did not reach a maximum ({'; '.join(log)})"
        )
    sigma = model.sigma(point.theta) * scale**2
    theta = model.theta(sigma)
    ev = evaluate_sigma(sigma, patterns)
    return RemlFit(
        theta=theta,
        sigma=sigma,
        beta=ev.beta,
        phi=ev.phi,
        hessian=model_hessian(theta, patterns, model),
        loglik=-0.5 * ev.value,
        attempts=len(log),
        model=model,
        scale=scale,
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
    return fit.model.chain(U, fit.theta)


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

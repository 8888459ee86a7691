"""Negative binomial (NB2) log-linear regression by maximum likelihood, as R ``MASS::glm.nb``.

Counts :math:`y_i` with mean :math:`\\mu_i = t_i \\exp(x_i^\\top\\beta)` (offset
:math:`\\log t_i`) and variance :math:`\\mu_i + \\mu_i^2/\\theta`. The fit alternates, as
``glm.nb`` does (Venables & Ripley, MASS 4th ed., section 7.4), Fisher scoring for
:math:`\\beta` at fixed :math:`\\theta` and the root of the :math:`\\theta` score at fixed
:math:`\\mu`, until both stop moving (relative change below 1e-12); both routes reach the same
joint maximum. Standard errors are those ``summary.negbin`` reports: :math:`(X^\\top W X)^{-1}`
with :math:`W = \\mathrm{diag}(\\mu/(1 + \\mu/\\theta))` and the SE of :math:`\\theta` from the
observed information of ``MASS::theta.ml``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from hepatrial.exceptions import ConvergenceError
from hepatrial.stats._common import FloatArray

_MAX_ITER = 200
_TOL = 1e-12
_LOG_THETA_RANGE = (np.log(1e-8), np.log(1e8))


@dataclass(frozen=True)
class NegativeBinomialFit:
    """Coefficients, their covariance, theta, SE of theta and the log-likelihood."""

    coef: FloatArray
    cov: FloatArray
    theta: float
    theta_se: float
    loglik: float
    iterations: int


def _scoring(
    y: FloatArray, X: FloatArray, offset: FloatArray, beta: FloatArray, theta: float
) -> FloatArray:
    """Fisher scoring for beta at fixed theta (IRLS with log link) to full convergence."""
    for _ in range(_MAX_ITER):
        mu = np.exp(X @ beta + offset)
        weight = mu / (1.0 + mu / theta)
        working = X @ beta + (y - mu) / mu
        XtW = X.T * weight
        updated = np.asarray(np.linalg.solve(XtW @ X, XtW @ working), dtype=np.float64)
        if np.max(np.abs(updated - beta)) <= _TOL * (1.0 + np.max(np.abs(beta))):
            return np.asarray(updated, dtype=np.float64)
        beta = updated
    raise ConvergenceError(
        f"negative binomial scoring for the rate ratio did not converge in {_MAX_ITER} steps"
    )


def _rising_sums(y: FloatArray, theta: float, power: int) -> FloatArray:
    """sum_{k < y} (theta + k)^-power: digamma (power 1) or trigamma (power 2) differences.

    Exact for whole counts and free of the cancellation that psi(y + theta) - psi(theta)
    suffers when theta is large.
    """
    steps = (theta + np.arange(int(y.max()))) ** -float(power)
    return np.asarray(np.concatenate([[0.0], np.cumsum(steps)])[y.astype(np.int64)])


def _theta_score(log_theta: float, y: FloatArray, mu: FloatArray) -> float:
    """d loglik / d theta, with psi(y + theta) - psi(theta) + log(theta) + 1 - log(theta + mu)
    - (y + theta)/(theta + mu) rewritten without cancellation at large theta."""
    theta = float(np.exp(log_theta))
    terms = _rising_sums(y, theta, 1) - np.log1p(mu / theta) + (mu - y) / (theta + mu)
    return float(terms.sum())


def _theta_root(y: FloatArray, mu: FloatArray) -> float:
    low, high = _LOG_THETA_RANGE
    if _theta_score(high, y, mu) > 0.0:
        raise ConvergenceError(
            "the counts show no overdispersion (theta -> infinity): the negative binomial "
            "model reduces to Poisson; use method='poisson'"
        )
    if _theta_score(low, y, mu) < 0.0:
        raise ConvergenceError("theta below 1e-8: the counts are too dispersed to fit")
    return float(np.exp(optimize.brentq(_theta_score, low, high, args=(y, mu), xtol=1e-15)))


def _theta_information(y: FloatArray, mu: FloatArray, theta: float) -> float:
    """Observed information of theta (``MASS::theta.ml``'s ``info``)."""
    terms = _rising_sums(y, theta, 2) - mu / (theta * (mu + theta))
    terms += (mu - y) / (mu + theta) ** 2
    return float(terms.sum())


def loglik(y: FloatArray, mu: FloatArray, theta: float) -> float:
    """NB2 log-likelihood (R ``glm.nb``'s ``twologlik / 2``)."""
    terms = special.gammaln(y + theta) - special.gammaln(theta) - special.gammaln(y + 1.0)
    terms += theta * np.log(theta) + special.xlogy(y, mu) - (y + theta) * np.log(theta + mu)
    return float(terms.sum())


def fit_negative_binomial(y: FloatArray, X: FloatArray, offset: FloatArray) -> NegativeBinomialFit:
    """Maximum-likelihood NB2 regression of counts ``y`` on ``X`` with ``offset``."""
    beta = _scoring(y, X, offset, np.zeros(X.shape[1]), theta=np.inf)
    theta = _theta_root(y, np.exp(X @ beta + offset))
    for iteration in range(1, _MAX_ITER + 1):
        beta_new = _scoring(y, X, offset, beta, theta)
        theta_new = _theta_root(y, np.exp(X @ beta_new + offset))
        moved = np.max(np.abs(beta_new - beta)) + abs(np.log(theta_new / theta))
        beta, theta = beta_new, theta_new
        if moved <= _TOL * (1.0 + np.max(np.abs(beta))):
            mu = np.exp(X @ beta + offset)
            weight = mu / (1.0 + mu / theta)
            cov = np.asarray(np.linalg.inv((X.T * weight) @ X), dtype=np.float64)
            return NegativeBinomialFit(
                coef=beta,
                cov=cov,
                theta=theta,
                theta_se=float(np.sqrt(1.0 / _theta_information(y, mu, theta))),
                loglik=loglik(y, mu, theta),
                iterations=iteration,
            )
    raise ConvergenceError(f"negative binomial fit did not converge in {_MAX_ITER} alternations")

"""Fisher's exact test on a 2x2 table, with the conditional MLE of the odds ratio and its CI.

A transcription of the 2x2 branch of R's ``fisher.test`` (R Core Team, ``stats`` package):
the table's first cell follows the noncentral hypergeometric distribution given the margins
(Fisher 1935; Cornfield 1956). Roots are solved with :func:`scipy.optimize.brentq` to
``xtol=1e-14``; R's ``uniroot`` stops at ``.Machine$double.eps^0.25`` (about 1.2e-4), so R's
printed estimate and limits agree with these only to about four significant digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import stats as sps

from hepatrial.stats._common import FloatArray

_REL_ERR = 1.0 + 1e-7  # R's fisher.test: tables "as or less likely" up to this relative error
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class FisherExact:
    """Two-sided P, conditional MLE of the odds ratio and its exact CI."""

    p_value: float
    odds_ratio: float
    ci_low: float
    ci_high: float


class _Noncentral:
    """Noncentral hypergeometric law of cell (1,1) given the margins of a 2x2 table."""

    def __init__(self, x: int, row1: int, col1: int, col2: int) -> None:
        self.x = x
        self.support = np.arange(max(0, row1 - col2), min(row1, col1) + 1)
        self.log_density = sps.hypergeom.logpmf(self.support, col1 + col2, col1, row1)
        self.central = np.exp(self.log_density)
        self.lo, self.hi = int(self.support[0]), int(self.support[-1])

    def density(self, ncp: float) -> FloatArray:
        d = self.log_density + np.log(ncp) * self.support
        d = np.exp(d - d.max())
        return np.asarray(d / d.sum(), dtype=np.float64)

    def mean(self, ncp: float) -> float:
        if ncp == 0.0:
            return float(self.lo)
        if np.isinf(ncp):
            return float(self.hi)
        return float(self.support @ self.density(ncp))

    def cdf(self, ncp: float, upper: bool) -> float:
        """P(X <= x) (or P(X >= x) when ``upper``) under odds ratio ``ncp``."""
        if ncp == 0.0:
            return float(self.x <= self.lo if upper else self.x >= self.lo)
        if np.isinf(ncp):
            return float(self.x <= self.hi if upper else self.x >= self.hi)
        d = self.central if ncp == 1.0 else self.density(ncp)
        mask = self.support >= self.x if upper else self.support <= self.x
        return float(d[mask].sum())


def _conditional_mle(law: _Noncentral) -> float:
    x = law.x
    if x == law.lo:
        return 0.0
    if x == law.hi:
        return float("inf")
    mu = law.mean(1.0)
    if mu > x:
        return float(optimize.brentq(lambda t: law.mean(t) - x, 0.0, 1.0, xtol=1e-14))
    if mu < x:
        root = optimize.brentq(lambda t: law.mean(1.0 / t) - x, _EPS, 1.0, xtol=1e-14)
        return float(1.0 / root)
    return 1.0


def _upper_limit(law: _Noncentral, alpha: float) -> float:
    if law.x == law.hi:
        return float("inf")
    p = law.cdf(1.0, upper=False)
    if p < alpha:
        return float(optimize.brentq(lambda t: law.cdf(t, False) - alpha, 0.0, 1.0, xtol=1e-14))
    if p > alpha:
        root = optimize.brentq(lambda t: law.cdf(1.0 / t, False) - alpha, _EPS, 1.0, xtol=1e-14)
        return float(1.0 / root)
    return 1.0


def _lower_limit(law: _Noncentral, alpha: float) -> float:
    if law.x == law.lo:
        return 0.0
    p = law.cdf(1.0, upper=True)
    if p > alpha:
        return float(optimize.brentq(lambda t: law.cdf(t, True) - alpha, 0.0, 1.0, xtol=1e-14))
    if p < alpha:
        root = optimize.brentq(lambda t: law.cdf(1.0 / t, True) - alpha, _EPS, 1.0, xtol=1e-14)
        return float(1.0 / root)
    return 1.0


def fisher_exact(x1: int, n1: int, x2: int, n2: int, conf_level: float) -> FisherExact:
    """Fisher's exact test of rows (x1 of n1, x2 of n2), as R's ``fisher.test`` on the table.

    The two-sided P sums the null probabilities of every table no more likely than the
    observed one (relative tolerance 1e-7, as R); the odds ratio is group 1 over group 2.
    """
    law = _Noncentral(x=x1, row1=n1, col1=x1 + x2, col2=(n1 - x1) + (n2 - x2))
    observed = law.central[x1 - law.lo]
    p_value = float(min(1.0, law.central[law.central <= observed * _REL_ERR].sum()))
    alpha = (1.0 - conf_level) / 2.0
    return FisherExact(
        p_value=p_value,
        odds_ratio=_conditional_mle(law),
        ci_low=_lower_limit(law, alpha),
        ci_high=_upper_limit(law, alpha),
    )

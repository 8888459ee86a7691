"""Log-rank test of k survival curves, optionally stratified (R ``survdiff``, ``rho = 0``).

Front end over :mod:`hepatrial.stats._logrank_engine`, shared with the batch engine
(:func:`hepatrial.stats.batch.logrank_many`). A two-arm test is the k-arm test with k = 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.stats import chi2

from hepatrial.stats._common import FloatArray, IntArray
from hepatrial.stats._logrank_engine import chi_square_one, logrank_components
from hepatrial.stats._survival_input import (
    as_event_array,
    compared_groups,
    complete_records,
)
from hepatrial.stats.results import Exclusion, TestResultBase, package_version

__all__ = ["LogrankResult", "logrank", "logrank_engine"]


@dataclass(frozen=True, eq=False)
class LogrankResult(TestResultBase):
    """Log-rank (Mantel-Haenszel) test comparing the survival of k groups.

    A test without an effect estimate: ``estimate``, ``se`` and the interval are NaN.

    Attributes
    ----------
    statistic, df, p_value : float, int, float
        Chi-square statistic ``(O - E)' V^- (O - E)``, its degrees of freedom (groups with
        expected events minus one) and the upper-tail chi-square P value (NaN when df = 0).
    observed, expected : ndarray
        Events observed and expected under the null hypothesis per group (summed over strata).
    variance : ndarray
        k x k covariance matrix of ``O - E``.
    groups : tuple
        Group levels, the reference first. ``z`` (two groups only) is ``(O - E) / sqrt(V)``
        of the non-reference group: positive when it has more events than expected.
    """

    summary_columns: ClassVar[tuple[str, ...]] = (
        "group", "n", "observed", "expected", "statistic", "df", "p_value"
    )  # fmt: skip

    statistic: float
    df: int
    p_value: float
    observed: FloatArray
    expected: FloatArray
    variance: FloatArray
    groups: tuple[Any, ...]
    n_per_group: IntArray
    n_strata: int
    n: int
    n_excluded: int = 0
    exclusions: tuple[Exclusion, ...] = ()
    method: str = "log-rank test (Mantel-Haenszel), rho = 0"
    version: str = field(default_factory=package_version)

    @property
    def reference(self) -> Any:
        """The reference group (first level)."""
        return self.groups[0]

    @property
    def z(self) -> float:
        """Signed statistic of the non-reference group (two groups only)."""
        if len(self.groups) != 2:
            raise ValueError(f"z is defined for two groups; this test has {len(self.groups)}")
        return float((self.observed[1] - self.expected[1]) / np.sqrt(self.variance[1, 1]))

    @property
    def summary(self) -> pd.DataFrame:
        """One row per group: n, observed, expected, and the test (repeated on each row)."""
        return pd.DataFrame(
            {
                "group": list(self.groups),
                "n": self.n_per_group,
                "observed": self.observed,
                "expected": self.expected,
                "statistic": self.statistic,
                "df": self.df,
                "p_value": self.p_value,
            }
        )

    def _details(self) -> dict[str, Any]:
        return {"reference": self.reference, "n_strata": self.n_strata}

    def __repr__(self) -> str:
        strata = f", {self.n_strata} strata" if self.n_strata > 1 else ""
        return (
            f"LogrankResult(chi2={self.statistic:.4g}, df={self.df}, p={self.p_value:.4g}; "
            f"groups={list(self.groups)}{strata}, n={self.n}, excluded={self.n_excluded})"
        )


def p_value_chi2(statistic: Any, df: Any) -> Any:
    """Upper-tail chi-square probability; NaN where df = 0 (no test possible)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.asarray(df) > 0, chi2.sf(statistic, np.maximum(df, 1)), np.nan)


def logrank_engine(
    time: FloatArray,
    event: FloatArray,
    group: IntArray,
    levels: tuple[Any, ...],
    strata: IntArray | None = None,
) -> LogrankResult:
    """Engine entry point on complete numpy arrays (codes ``0..k-1``; validation tests use it)."""
    k = len(levels)
    if strata is None:
        strata = np.zeros(time.size, dtype=np.int64)
    n_strata = int(strata.max()) + 1 if strata.size else 1
    parts = logrank_components(strata, n_strata, time, event, group, k)
    observed = parts.observed.sum(axis=0)
    expected = parts.expected.sum(axis=0)
    variance = parts.variance.sum(axis=0)
    statistic, df = chi_square_one(observed, expected, variance)
    return LogrankResult(
        statistic=statistic,
        df=df,
        p_value=float(p_value_chi2(statistic, df)),
        observed=observed,
        expected=expected,
        variance=variance,
        groups=levels,
        n_per_group=np.bincount(group, minlength=k).astype(np.int64),
        n_strata=n_strata,
        n=int(time.size),
    )


def logrank(
    time: Any,
    event: Any,
    group: Any,
    *,
    strata: Any = None,
    reference: Any = None,
) -> LogrankResult:
    """Log-rank test that k groups share one survival curve, optionally stratified.

    Parameters
    ----------
    time, event : array-like or Series
        Follow-up time (>= 0) and event indicator (1 event, 0 censored).
    group : array-like or Series
        Group label of each record (e.g. the trial arm); at least two levels.
    strata : array-like or Series, optional
        Stratum label: O, E and V are summed over strata, as
        ``survdiff(Surv(time, event) ~ group + strata(strata))`` in R.
    reference : optional
        Level listed first (default: first sorted level). The statistic does not depend on it.

    Returns
    -------
    LogrankResult

    Notes
    -----
    ``chi2 = (O - E)' V^{-1} (O - E)`` over all groups but the first with expected events, where
    at each distinct event time ``E_j += d n_j / n`` and
    ``V_jl += d (n - d) / (n - 1) (n_j / n) (delta_jl - n_l / n)`` (Mantel 1966; R ``survdiff``).
    Records with a missing time, event, group or stratum are excluded and counted.

    Examples
    --------
    >>> result = logrank([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 1], ["a", "a", "a", "b", "b", "b"])
    >>> round(result.statistic, 4), result.df
    (5.0517, 1)
    """
    data = complete_records(time, event, group=group, strata=strata)
    as_event_array("event", data.event)
    labels, stratum_codes = compared_groups(data, reference)
    result = logrank_engine(data.time, data.event, labels.codes, labels.levels, stratum_codes)
    return LogrankResult(
        **{
            **result.__dict__,
            "n_excluded": data.n_excluded,
            "exclusions": data.exclusions,
        }
    )

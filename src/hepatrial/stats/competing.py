"""Competing risks: cumulative incidence (Aalen-Johansen), Gray's test and Fine-Gray regression.

In liver disease transplant competes with death: a patient transplanted can no longer die of
their native liver, and 1 - Kaplan-Meier overstates the probability of either event. These
front ends reproduce R's cmprsk (``cuminc``, its ``Tests``, ``crr``) over the engines in
:mod:`hepatrial.stats._competing_engine` and :mod:`hepatrial.stats._finegray_engine`.
``cause`` codes 0 = censored and 1, 2, ... = type of the first event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.stats import chi2

from hepatrial.exceptions import NotEstimableError
from hepatrial.stats._common import FloatArray, IntArray, as_float_array
from hepatrial.stats._competing_engine import IncidenceCurve, gray_stratum, incidence_curve
from hepatrial.stats._design import RatioTerms, design_matrix, model_frame, wald_terms
from hepatrial.stats._finegray_engine import fit_coefficients, objective, prepare, sandwich_variance
from hepatrial.stats._survival_input import (
    as_cause_array,
    check_times,
    compared_groups,
    complete_records,
    encode_labels,
)
from hepatrial.stats.results import (
    DescriptiveResult,
    Exclusion,
    TestResultBase,
    package_version,
)

__all__ = [
    "CumulativeIncidenceResult",
    "FineGrayResult",
    "GrayTestResult",
    "cumulative_incidence",
    "fine_gray",
    "gray_test",
]


@dataclass(frozen=True, eq=False)
class GrayTestResult(TestResultBase):
    """Gray's K-sample test that the cumulative incidence of one cause is equal across groups.

    ``statistic = s' V^-1 s`` over the first k - 1 groups' scores, chi-square with k - 1 df
    (R: ``cuminc(...)$Tests``, rho = 0 by default). NaN when V is singular (cmprsk prints -1).
    A test without an effect estimate: ``estimate``, ``se`` and the interval are NaN.
    """

    summary_columns: ClassVar[tuple[str, ...]] = ("cause", "statistic", "df", "p_value")

    statistic: float
    df: int
    p_value: float
    cause_of_interest: int
    groups: tuple[Any, ...]
    score: FloatArray
    variance: FloatArray
    rho: float
    n: int
    n_strata: int = 1
    n_excluded: int = 0
    exclusions: tuple[Exclusion, ...] = ()
    method: str = "Gray's test for equality of cumulative incidence functions"
    version: str = field(default_factory=package_version)

    @property
    def summary(self) -> pd.DataFrame:
        """One row: cause, statistic, df, p_value."""
        return pd.DataFrame(
            [
                {
                    "cause": self.cause_of_interest,
                    "statistic": self.statistic,
                    "df": self.df,
                    "p_value": self.p_value,
                }
            ]
        )

    def _details(self) -> dict[str, Any]:
        return {"cause_of_interest": self.cause_of_interest, "rho": self.rho,
                "n_strata": self.n_strata}  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"GrayTestResult(cause {self.cause_of_interest}: chi2={self.statistic:.4g}, "
            f"df={self.df}, p={self.p_value:.4g}; groups={list(self.groups)}, n={self.n}, "
            f"excluded={self.n_excluded})"
        )


def _gray_engine(
    time: FloatArray,
    cause: IntArray,
    group: Any,
    levels: tuple[Any, ...],
    of_interest: int,
    strata: IntArray,
    rho: float,
) -> tuple[float, FloatArray, FloatArray]:
    k = len(levels)
    status = np.where(cause == 0, 0, np.where(cause == of_interest, 1, 2))
    score, variance = np.zeros(k - 1), np.zeros((k - 1, k - 1))
    for code in np.unique(strata):
        rows = strata == code
        s, v = gray_stratum(time[rows], status[rows], group[rows], k, rho)
        score, variance = score + s, variance + v
    if np.linalg.matrix_rank(variance) < k - 1:
        return float("nan"), score, variance
    return float(score @ np.linalg.solve(variance, score)), score, variance


def gray_test(
    time: Any,
    cause: Any,
    group: Any,
    *,
    cause_of_interest: int,
    strata: Any = None,
    rho: float = 0.0,
) -> GrayTestResult:
    """Gray's test (1988) comparing the cumulative incidence of ``cause_of_interest`` among groups.

    Parameters
    ----------
    time : array-like
        Time to the first event or censoring (>= 0).
    cause : array-like
        0 censored, 1, 2, ... type of the first event (e.g. 1 transplant, 2 death).
    group : array-like
        Group of each record (at least two levels).
    cause_of_interest : int
        The event type compared.
    strata : array-like, optional
        Strata for a stratified test (``cuminc(strata=)``).
    rho : float
        Power of the weight ``(1 - F(t-))^rho`` (cmprsk default 0).

    Examples
    --------
    >>> result = gray_test([1, 2, 3, 4, 5, 6], [1, 2, 1, 0, 2, 1], ["a", "a", "a", "b", "b", "b"],
    ...                    cause_of_interest=1)
    >>> result.df
    1
    """
    data = complete_records(time, cause, event_name="cause", group=group, strata=strata)
    codes = as_cause_array("cause", data.event).astype(np.int64)
    labels, stratum = compared_groups(data)
    statistic, score, variance = _gray_engine(
        data.time, codes, labels.codes, labels.levels, int(cause_of_interest), stratum, rho
    )
    df = len(labels.levels) - 1
    return GrayTestResult(
        statistic=statistic,
        df=df,
        p_value=float(chi2.sf(statistic, df)),
        cause_of_interest=int(cause_of_interest),
        groups=labels.levels,
        score=score,
        variance=variance,
        rho=rho,
        n=int(codes.size),
        n_strata=int(stratum.max()) + 1,
        n_excluded=data.n_excluded,
        exclusions=data.exclusions,
    )


@dataclass(frozen=True, eq=False)
class CumulativeIncidenceResult(DescriptiveResult):
    """Cumulative incidence curves per group and cause, with Gray's tests when grouped.

    ``curves[(group, cause)]`` is an :class:`IncidenceCurve`; ``tests`` has one row per cause
    (statistic, df, p_value) when there are two or more groups, else None. Descriptive curves
    with no single effect: ``estimate``, ``se``, the interval and ``p_value`` are NaN.
    """

    summary_columns: ClassVar[tuple[str, ...]] = ("group", "cause", "time", "estimate", "variance")

    curves: dict[tuple[Any, int], IncidenceCurve]
    groups: tuple[Any, ...]
    causes: tuple[int, ...]
    tests: pd.DataFrame | None
    n: int
    n_excluded: int = 0
    exclusions: tuple[Exclusion, ...] = ()
    method: str = "Aalen-Johansen cumulative incidence; variance as R cmprsk::cuminc"
    version: str = field(default_factory=package_version)

    def at(self, times: Any) -> pd.DataFrame:
        """Estimates and variances at ``times`` (as ``cmprsk::timepoints``): columns group,
        cause, time, estimate, variance; NaN after a group's last follow-up time."""
        t = as_float_array("times", times)
        frames = []
        for (group, cause), curve in self.curves.items():
            estimate, variance = curve.at(t)
            frames.append(
                pd.DataFrame(
                    {
                        "group": group,
                        "cause": cause,
                        "time": t,
                        "estimate": estimate,
                        "variance": variance,
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per group and cause: estimate and variance at the group's last follow-up."""
        rows = []
        for (group, cause), curve in self.curves.items():
            estimate, variance = curve.at(np.array([curve.last_time]))
            rows.append(
                {
                    "group": group,
                    "cause": cause,
                    "time": curve.last_time,
                    "estimate": estimate[0],
                    "variance": variance[0],
                }
            )
        return pd.DataFrame(rows, columns=list(self.summary_columns))

    def __repr__(self) -> str:
        return (
            f"CumulativeIncidenceResult(groups={list(self.groups)}, causes={list(self.causes)}, "
            f"n={self.n}, excluded={self.n_excluded})"
        )


def cumulative_incidence(time: Any, cause: Any, *, group: Any = None) -> CumulativeIncidenceResult:
    """Aalen-Johansen cumulative incidence of each cause, per group, as ``cmprsk::cuminc``.

    ``F_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j`` with S the all-cause Kaplan-Meier curve
    (Kalbfleisch & Prentice 2002, ch. 8); variance by the delta method as Gray's ``cinc``.
    With two or more groups, Gray's test of each cause is in ``tests``. Records with a missing
    time, cause or group are excluded and counted.

    Examples
    --------
    >>> fit = cumulative_incidence([1, 2, 3, 4], [1, 2, 0, 1])
    >>> fit.at([2.5])["estimate"].tolist()
    [0.25, 0.25]
    """
    data = complete_records(time, cause, event_name="cause", group=group)
    codes = as_cause_array("cause", data.event).astype(np.int64)
    labels = (
        encode_labels("group", data.columns["group"])
        if group is not None
        else encode_labels("group", ["all"] * codes.size)
    )
    causes = tuple(int(c) for c in np.unique(codes[codes > 0]))
    curves = {
        (level, cause_k): incidence_curve(
            data.time[labels.codes == j], codes[labels.codes == j], cause_k
        )
        for cause_k in causes
        for j, level in enumerate(labels.levels)
    }
    tests = None
    if len(labels.levels) > 1:
        rows = []
        for cause_k in causes:
            statistic, _, _ = _gray_engine(
                data.time,
                codes,
                labels.codes,
                labels.levels,
                cause_k,
                np.zeros(codes.size, dtype=np.int64),
                0.0,
            )
            df = len(labels.levels) - 1
            rows.append(
                {
                    "cause": cause_k,
                    "statistic": statistic,
                    "df": df,
                    "p_value": float(chi2.sf(statistic, df)),
                }
            )
        tests = pd.DataFrame(rows)
    return CumulativeIncidenceResult(
        curves=curves,
        groups=labels.levels,
        causes=causes,
        tests=tests,
        n=int(codes.size),
        n_excluded=data.n_excluded,
        exclusions=data.exclusions,
    )


@dataclass(frozen=True, eq=False)
class FineGrayResult(RatioTerms):
    """Fine-Gray regression of the subdistribution hazard of one cause.

    ``terms`` has one row per term: ``coef, hazard_ratio`` (subdistribution hazard ratio),
    ``se`` (cmprsk's sandwich SE), ``z, p_value, ci_low, ci_high`` (Wald, on the ratio scale);
    ``coef``, ``hazard_ratio``, ``z`` and ``ci`` read its columns, and the main effect
    (``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value``) is its first row. ``loglik`` is
    the log pseudo-likelihood at the estimate.
    """

    summary_columns: ClassVar[tuple[str, ...]] = (
        "term", "coef", "hazard_ratio", "se", "z", "p_value", "ci_low", "ci_high"
    )  # fmt: skip

    terms: pd.DataFrame
    variance: FloatArray
    loglik: float
    iterations: int
    cause_of_interest: int
    references: dict[str, Any]
    conf_level: float
    n: int
    n_events: int
    n_competing: int
    n_excluded: int = 0
    exclusions: tuple[Exclusion, ...] = ()
    method: str = "Fine-Gray proportional subdistribution hazards (R cmprsk::crr)"
    version: str = field(default_factory=package_version)

    def _details(self) -> dict[str, Any]:
        return {
            "cause_of_interest": self.cause_of_interest,
            "references": self.references,
            "conf_level": self.conf_level,
            "n_events": self.n_events,
            "n_competing": self.n_competing,
        }

    def __repr__(self) -> str:
        terms = ", ".join(f"{k}: sHR {v:.3g}" for k, v in self.hazard_ratio.items())
        return (
            f"FineGrayResult(cause {self.cause_of_interest}; {terms}; n={self.n}, "
            f"events={self.n_events}, competing={self.n_competing}, excluded={self.n_excluded})"
        )


def fine_gray(
    data: Any,
    *,
    time: str,
    cause: str,
    covariates: list[str],
    cause_of_interest: int,
    reference: Any = None,
    conf_level: float = 0.95,
) -> FineGrayResult:
    """Fine-Gray model for the cumulative incidence of ``cause_of_interest``, as ``cmprsk::crr``.

    Parameters
    ----------
    data : DataFrame or mapping of columns
    time, cause : str
        Columns of time to first event and its type (0 censored, 1, 2, ...).
    covariates : list of str
        Numeric columns as they are; text columns as indicators against ``reference``.
    cause_of_interest : int
        Event type modelled (``failcode``); other types are competing events.

    Notes
    -----
    Subdistribution hazard ``lambda_k(t | x) = lambda_k0(t) exp(x' beta)`` estimated from a
    partial likelihood whose risk sets keep competing-event patients with weight
    ``G(t-)/G(T_j-)`` (Fine & Gray 1999). SE: cmprsk's sandwich estimator. Time and memory
    grow with patients x events (like crr's Fortran); meant for trial-sized data (up to a few
    thousand patients).
    """
    used = model_frame(data, [time, cause, *covariates])
    frame = used.frame
    t = frame[time].to_numpy(dtype=np.float64)
    check_times(time, t)
    codes = as_cause_array(cause, frame[cause].to_numpy(dtype=np.float64)).astype(np.int64)
    x, names, references = design_matrix(frame, covariates, reference)
    status = np.where(codes == 0, 0, np.where(codes == cause_of_interest, 1, 2))
    if not (status == 1).any():
        raise NotEstimableError(f"no event of cause_of_interest={cause_of_interest} in {cause}")
    prepared = prepare(t, status, x)
    beta, iterations = fit_coefficients(prepared, names)
    variance = sandwich_variance(prepared, beta)
    se = np.sqrt(np.diag(variance))
    return FineGrayResult(
        terms=wald_terms(beta, se, names, conf_level),
        variance=variance,
        loglik=-objective(prepared, beta, derivatives=False).value,
        iterations=iterations,
        cause_of_interest=int(cause_of_interest),
        references=references,
        conf_level=conf_level,
        n=int(t.size),
        n_events=int((status == 1).sum()),
        n_competing=int((status == 2).sum()),
        n_excluded=used.n_excluded,
        exclusions=used.exclusions,
    )

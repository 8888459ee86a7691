"""Change from baseline between two arms: ANCOVA, the two-sample t-test and Welch's test.

The front ends take a DataFrame (or a mapping of columns) and column names, apply the
complete-case policy of :mod:`hepatrial.stats._frames` (every excluded row counted and
reported), and call engines over plain numpy arrays. Differences are always the other arm
minus the reference arm; the reference defaults to the first sorted level of ``group``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from hepatrial.exceptions import NotEstimableError
from hepatrial.stats._common import FloatArray
from hepatrial.stats._frames import (
    DataLike,
    as_frame,
    check_conf_level,
    complete_cases,
    covariate_columns,
    group_levels,
)
from hepatrial.stats.results import Exclusion, ResultBase, package_version

Method = Literal["ancova", "t-test", "welch"]
_METHODS: tuple[str, ...] = ("ancova", "t-test", "welch")
_LSMEAN_COLUMNS = ["group", "n", "lsmean", "se", "df", "ci_low", "ci_high"]


@dataclass(frozen=True, repr=False)
class AncovaResult(ResultBase):
    """Difference in (adjusted) means between two arms, with per-arm (LS) means.

    ``estimate`` is the mean of ``comparator`` minus the mean of ``reference``; for ANCOVA
    both are least-squares means with covariates at their means (numeric) or averaged over
    their levels with equal weights (factors), as R's ``emmeans`` computes them.
    """

    summary_columns: ClassVar[tuple[str, ...]] = (
        "contrast", "estimate", "se", "df", "statistic", "p_value", "ci_low", "ci_high",
        "conf_level", "method", "n", "n_excluded",
    )  # fmt: skip

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    df: float
    statistic: float
    conf_level: float
    method: Method
    outcome: str
    group: str
    reference: Any
    comparator: Any
    covariates: tuple[str, ...]
    lsmeans: pd.DataFrame
    n: int
    n_excluded: int
    exclusions: tuple[Exclusion, ...]
    version: str = field(default_factory=package_version)

    @property
    def summary(self) -> pd.DataFrame:
        """One row: the contrast, its estimate, SE, df, t statistic, P, CI and provenance."""
        return pd.DataFrame(
            {
                "contrast": [f"{self.comparator} - {self.reference}"],
                "estimate": [self.estimate],
                "se": [self.se],
                "df": [self.df],
                "statistic": [self.statistic],
                "p_value": [self.p_value],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "conf_level": [self.conf_level],
                "method": [self.method],
                "n": [self.n],
                "n_excluded": [self.n_excluded],
            }
        )

    def _details(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "group": self.group,
            "reference": self.reference,
            "covariates": list(self.covariates),
            "conf_level": self.conf_level,
        }

    def __repr__(self) -> str:
        level = f"{100 * self.conf_level:g}%"
        return (
            f"AncovaResult({self.outcome}: {self.comparator} - {self.reference} = "
            f"{self.estimate:.4g} ({level} CI {self.ci_low:.4g} to {self.ci_high:.4g}), "
            f"P={self.p_value:.3g}, {self.method}, n={self.n}, excluded={self.n_excluded})"
        )


@dataclass(frozen=True)
class _Fit:
    """An ordinary least-squares fit: coefficients, their covariance and residual df."""

    coef: FloatArray
    cov: FloatArray
    df: int


def _fit_ols(y: FloatArray, X: FloatArray, names: Sequence[str]) -> _Fit:
    """Least squares through a QR decomposition (as R's ``lm``), refusing aliased columns."""
    n, p = X.shape
    if n <= p:
        raise NotEstimableError(
            f"{n} complete rows cannot estimate {p} coefficients and a variance"
        )
    q, r = np.linalg.qr(X)
    diag = np.abs(np.diag(r))
    tolerance = 1e-7 * max(float(diag.max()), 1.0)
    if np.any(diag < tolerance):
        aliased = [names[int(i)] for i in np.flatnonzero(diag < tolerance)]
        raise NotEstimableError(
            f"model columns {aliased} are constant or collinear with earlier columns; "
            "drop the redundant covariate"
        )
    coef = np.linalg.solve(r, q.T @ y)
    residual = y - X @ coef
    sigma2 = float(residual @ residual) / (n - p)
    r_inv = np.linalg.inv(r)
    return _Fit(coef=coef, cov=sigma2 * (r_inv @ r_inv.T), df=n - p)


def _t_interval(
    estimate: float, se: float, df: float, conf_level: float
) -> tuple[float, float, float, float]:
    """t statistic, two-sided P and the CI bounds for ``estimate`` with ``se`` on ``df``."""
    statistic = estimate / se
    p_value = float(2.0 * sps.t.sf(abs(statistic), df))
    half = float(sps.t.ppf(0.5 + conf_level / 2.0, df)) * se
    return statistic, p_value, estimate - half, estimate + half


def _lsmean_rows(
    levels: Sequence[Any],
    counts: Sequence[int],
    estimates: Sequence[float],
    ses: Sequence[float],
    dfs: Sequence[float],
    conf_level: float,
) -> pd.DataFrame:
    rows = []
    for level, n, estimate, se, df in zip(levels, counts, estimates, ses, dfs, strict=True):
        _, _, low, high = _t_interval(estimate, se, df, conf_level)
        rows.append([level, n, estimate, se, df, low, high])
    return pd.DataFrame(rows, columns=_LSMEAN_COLUMNS)


def _two_levels(frame: pd.DataFrame, group: str, reference: Any | None) -> tuple[Any, Any]:
    reference, levels = group_levels(frame[group], group, reference)
    if len(levels) != 2:
        raise ValueError(
            f"{group} must have exactly two levels for a difference in means; got {levels}. "
            "Subset the data to the two arms to compare."
        )
    comparator = levels[1] if reference == levels[0] else levels[0]
    return reference, comparator


@dataclass(frozen=True)
class _Prepared:
    frame: pd.DataFrame
    exclusions: tuple[Exclusion, ...]
    n_excluded: int
    reference: Any
    comparator: Any


def _prepare(
    data: DataLike, outcome: str, group: str, covariates: Sequence[str], reference: Any | None
) -> _Prepared:
    columns = [outcome, group, *covariates]
    frame = as_frame(data, columns)
    used, exclusions = complete_cases(frame, columns, stacklevel=4)
    ref, comparator = _two_levels(used, group, reference)
    return _Prepared(used, exclusions, len(frame) - len(used), ref, comparator)


def _ancova_engine(
    prepared: _Prepared, outcome: str, group: str, covariates: Sequence[str], conf_level: float
) -> tuple[tuple[float, ...], pd.DataFrame]:
    """Fit ``outcome ~ 1 + comparator + covariates``; return the contrast and LS means."""
    frame = prepared.frame
    indicator = (frame[group] == prepared.comparator).to_numpy(dtype=np.float64)
    coded = covariate_columns(frame, covariates)
    X = np.column_stack([np.ones(len(frame)), indicator, coded.matrix])
    y = frame[outcome].to_numpy(dtype=np.float64)
    fit = _fit_ols(y, X, ["(Intercept)", f"{group}{prepared.comparator}", *coded.names])
    estimate, se = float(fit.coef[1]), float(np.sqrt(fit.cov[1, 1]))
    contrast = (estimate, se, float(fit.df), *_t_interval(estimate, se, fit.df, conf_level))
    grids = [np.concatenate([[1.0, arm], coded.grid]) for arm in (0.0, 1.0)]
    lsmeans = _lsmean_rows(
        [prepared.reference, prepared.comparator],
        [int((indicator == 0).sum()), int(indicator.sum())],
        [float(g @ fit.coef) for g in grids],
        [float(np.sqrt(g @ fit.cov @ g)) for g in grids],
        [float(fit.df)] * 2,
        conf_level,
    )
    return contrast, lsmeans


def _t_test_engine(
    prepared: _Prepared, outcome: str, group: str, welch: bool, conf_level: float
) -> tuple[tuple[float, ...], pd.DataFrame]:
    """Student's pooled-variance t-test or Welch's test of comparator minus reference."""
    frame = prepared.frame
    arms = [
        frame.loc[frame[group] == level, outcome].to_numpy(dtype=np.float64)
        for level in (prepared.reference, prepared.comparator)
    ]
    n = np.array([len(a) for a in arms], dtype=np.float64)
    if np.any(n < 2):
        raise NotEstimableError(
            f"each arm needs at least 2 observed {outcome} values; got {n.tolist()}"
        )
    means = np.array([a.mean() for a in arms])
    variances = np.array([a.var(ddof=1) for a in arms])
    if welch:
        per_arm = variances / n
        se = float(np.sqrt(per_arm.sum()))
        df = float(per_arm.sum() ** 2 / (per_arm**2 / (n - 1)).sum())
        arm_se, arm_df = np.sqrt(per_arm), n - 1
    else:
        df = float(n.sum() - 2)
        pooled = float(((n - 1) * variances).sum() / df)
        se = float(np.sqrt(pooled * (1 / n).sum()))
        arm_se, arm_df = np.sqrt(pooled / n), np.full(2, df)
    estimate = float(means[1] - means[0])
    contrast = (estimate, se, df, *_t_interval(estimate, se, df, conf_level))
    lsmeans = _lsmean_rows(
        [prepared.reference, prepared.comparator],
        [int(k) for k in n],
        means.tolist(),
        arm_se.tolist(),
        arm_df.tolist(),
        conf_level,
    )
    return contrast, lsmeans


def _result(
    prepared: _Prepared,
    fitted: tuple[tuple[float, ...], pd.DataFrame],
    *,
    method: Method,
    outcome: str,
    group: str,
    covariates: Sequence[str],
    conf_level: float,
) -> AncovaResult:
    (estimate, se, df, statistic, p_value, low, high), lsmeans = fitted
    return AncovaResult(
        estimate=estimate,
        se=se,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        df=df,
        statistic=statistic,
        conf_level=conf_level,
        method=method,
        outcome=outcome,
        group=group,
        reference=prepared.reference,
        comparator=prepared.comparator,
        covariates=tuple(covariates),
        lsmeans=lsmeans,
        n=len(prepared.frame),
        n_excluded=prepared.n_excluded,
        exclusions=prepared.exclusions,
        version=package_version(),
    )


def _as_names(covariates: Sequence[str] | str) -> tuple[str, ...]:
    return (covariates,) if isinstance(covariates, str) else tuple(covariates)


def ancova(
    data: DataLike,
    *,
    outcome: str,
    group: str,
    covariates: Sequence[str] | str,
    reference: Any | None = None,
    conf_level: float = 0.95,
) -> AncovaResult:
    r"""Analysis of covariance: the covariate-adjusted difference in means between two arms.

    Fits :math:`y_i = \beta_0 + \delta\,[g_i = \text{comparator}] + x_i^\top\gamma + e_i` by
    least squares (R: ``lm(outcome ~ group + covariates)``) and reports
    :math:`\hat\delta`, its standard error :math:`\hat\sigma\sqrt{[(X^\top X)^{-1}]_{22}}`, a
    t-based CI on :math:`n - p` df and the two-sided P. LS means evaluate the fitted model at
    each arm with numeric covariates at their mean and factor levels equally weighted
    (Searle, Speed & Milliken, Am Stat 1980;34:216-21; R ``emmeans``).

    Parameters
    ----------
    data
        DataFrame (or mapping of equal-length columns), one row per participant.
    outcome, group
        Column names of the continuous outcome and of the arm (exactly two levels).
    covariates
        Column name(s) of adjustment covariates; non-numeric columns are factors coded with
        treatment contrasts (first sorted level as baseline).
    reference
        Reference arm; default the first sorted level of ``group``. The estimate is the
        other arm minus the reference.
    conf_level
        Confidence level of the intervals, strictly between 0 and 1.

    Returns
    -------
    AncovaResult
        Rows missing any used column are excluded, counted in ``exclusions``, and announced
        by an :class:`~hepatrial.exceptions.ExclusionWarning`.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"y": [1.0, 2.1, 2.9, 4.2, 2.0, 3.1, 3.9, 5.2],
    ...                   "arm": ["a"] * 4 + ["b"] * 4, "x": [1, 2, 3, 4, 1, 2, 3, 4]})
    >>> round(ancova(d, outcome="y", group="arm", covariates="x").estimate, 6)
    1.0
    """
    names = _as_names(covariates)
    level = check_conf_level(conf_level)
    prepared = _prepare(data, outcome, group, names, reference)
    fitted = _ancova_engine(prepared, outcome, group, names, level)
    return _result(
        prepared,
        fitted,
        method="ancova",
        outcome=outcome,
        group=group,
        covariates=names,
        conf_level=level,
    )


def change_from_baseline(
    data: DataLike,
    *,
    baseline: str,
    follow_up: str,
    group: str,
    method: Method = "ancova",
    covariates: Sequence[str] | str = (),
    reference: Any | None = None,
    conf_level: float = 0.95,
) -> AncovaResult:
    r"""Compare the change :math:`\Delta = \text{follow-up} - \text{baseline}` between two arms.

    ``method="ancova"`` (default, the more powerful analysis; Vickers & Altman, BMJ
    2001;323:1123-4) regresses :math:`\Delta` on the arm, the baseline value and any extra
    ``covariates`` (R: ``lm(change ~ group + baseline + ...)``; the arm effect equals that
    of the follow-up value adjusted for baseline). ``"t-test"`` is Student's pooled-variance
    two-sample test on :math:`\Delta` (R: ``t.test(change ~ group, var.equal = TRUE)``);
    ``"welch"`` uses Welch-Satterthwaite df (R: ``t.test(change ~ group)``).

    Parameters
    ----------
    data
        DataFrame (or mapping of columns), one row per participant.
    baseline, follow_up
        Column names of the baseline and follow-up values (same unit).
    group
        Column name of the arm (exactly two levels).
    method
        ``"ancova"``, ``"t-test"`` or ``"welch"``.
    covariates
        Extra adjustment covariates (ANCOVA only); the baseline is always included.
    reference
        Reference arm; default the first sorted level. Reports the other arm minus it.
    conf_level
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    AncovaResult
        ``outcome`` reads ``"<follow_up> - <baseline>"``; participants missing baseline,
        follow-up, arm or a covariate are excluded and counted per reason.
    """
    if method not in _METHODS:
        raise ValueError(f"method={method!r} is not one of {list(_METHODS)}")
    extra = _as_names(covariates)
    if method != "ancova" and extra:
        raise ValueError(f"covariates={list(extra)} need method='ancova'; t-tests take none")
    level = check_conf_level(conf_level)
    frame = as_frame(data, [baseline, follow_up, group, *extra])
    used, exclusions = complete_cases(frame, [baseline, follow_up, group, *extra])
    outcome = f"{follow_up} - {baseline}"
    used[outcome] = used[follow_up] - used[baseline]
    ref, comparator = _two_levels(used, group, reference)
    prepared = _Prepared(used, exclusions, len(frame) - len(used), ref, comparator)
    if method == "ancova":
        names = (baseline, *extra)
        fitted = _ancova_engine(prepared, outcome, group, names, level)
    else:
        names = ()
        fitted = _t_test_engine(prepared, outcome, group, method == "welch", level)
    return _result(
        prepared,
        fitted,
        method=method,
        outcome=outcome,
        group=group,
        covariates=names,
        conf_level=level,
    )

"""Batch ANCOVA and two-proportion comparisons over many simulated trials at once.

``ancova_many`` solves, per trial, the least-squares fit ``outcome ~ 1 + group + covariate``
in closed form from per-trial, per-arm sums accumulated with :func:`numpy.bincount` (two passes
over the rows, no Python loop per trial), giving the numbers of
:func:`hepatrial.stats.ancova` with the covariate as the only adjustment.
``compare_proportions_many`` evaluates the closed forms of
:func:`hepatrial.stats.compare_proportions` on arrays of 2x2 tables.
Memory is a few float arrays of the input length; callers analysing millions of trials pass
them in chunks of trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats as sps

from hepatrial.stats._common import FloatArray, IntArray, as_float_array, check_same_length
from hepatrial.stats._frames import check_conf_level
from hepatrial.stats.proportions import check_tables, closed_forms


@dataclass(frozen=True)
class AncovaManyResult:
    """Per-trial ANCOVA contrasts (arm 1 minus arm 0), one element per trial in ``trial``.

    Trials where the model cannot be fitted (an empty arm, a constant covariate within arms,
    fewer than four participants) hold NaN.
    """

    trial: IntArray
    estimate: FloatArray
    se: FloatArray
    df: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    n_reference: IntArray
    n_comparator: IntArray
    conf_level: float

    @property
    def summary(self) -> pd.DataFrame:
        """One row per trial."""
        names = ["trial", "estimate", "se", "df", "statistic", "p_value", "ci_low", "ci_high"]
        frame = pd.DataFrame({name: getattr(self, name) for name in names})
        frame["n_reference"] = self.n_reference
        frame["n_comparator"] = self.n_comparator
        return frame


def _trial_codes(trial: Any) -> tuple[IntArray, IntArray]:
    """Dense codes 0..T-1 for the trial keys, and the keys in code order."""
    keys = np.asarray(trial)
    if keys.ndim != 1 or not np.issubdtype(keys.dtype, np.integer):
        raise ValueError(f"trial must be a 1-D array of integer keys; got dtype {keys.dtype}")
    keys = keys.astype(np.int64, copy=False)
    if len(keys) and keys.min() >= 0 and keys.max() < 2 * len(keys) + 16:
        present = np.bincount(keys) > 0
        lookup = np.cumsum(present) - 1
        return lookup[keys].astype(np.int64), np.flatnonzero(present).astype(np.int64)
    ids, codes = np.unique(keys, return_inverse=True)
    return codes.astype(np.int64), ids.astype(np.int64)


def _arm_indicator(group: Any) -> npt.NDArray[np.int64]:
    arm = np.asarray(group)
    if arm.dtype == np.bool_:
        return arm.astype(np.int64)
    values = as_float_array("group", arm)
    if not np.isin(values, (0.0, 1.0)).all():
        raise ValueError("group must be coded 0 (reference arm) and 1 (comparator arm)")
    return values.astype(np.int64)


def ancova_many(
    trial: Any, outcome: Any, group: Any, covariate: Any, *, conf_level: float = 0.95
) -> AncovaManyResult:
    r"""ANCOVA ``outcome ~ group + covariate`` in every trial, vectorized across trials.

    With within-arm centred sums per trial, :math:`S_{xx} = \sum (x - \bar x_{arm})^2` and
    :math:`S_{xy}`, the slope is :math:`\hat\gamma = S_{xy}/S_{xx}`, the adjusted difference
    :math:`\hat\delta = (\bar y_1 - \bar y_0) - \hat\gamma(\bar x_1 - \bar x_0)` and
    :math:`\widehat{\mathrm{Var}}(\hat\delta) = s^2\,(1/n_0 + 1/n_1 + (\bar x_1 - \bar x_0)^2
    / S_{xx})` with :math:`s^2 = \mathrm{RSS}/(n - 3)` (Snedecor & Cochran, Statistical
    Methods, 8th ed., ch. 18). Identical to :func:`hepatrial.stats.ancova` per trial.

    Parameters
    ----------
    trial
        Integer trial key of each row (any order; keys need not be contiguous).
    outcome, covariate
        Finite outcome (e.g. change from baseline) and covariate (e.g. baseline) per row.
    group
        Arm per row: 0 for the reference arm, 1 for the comparator (or booleans).
    conf_level
        Confidence level of the t intervals.

    Returns
    -------
    AncovaManyResult
        Arrays ordered by sorted trial key.
    """
    level = check_conf_level(conf_level)
    y = as_float_array("outcome", outcome)
    x = as_float_array("covariate", covariate)
    arm = _arm_indicator(group)
    check_same_length(trial=np.asarray(trial), outcome=y, group=arm, covariate=x)
    if not (np.isfinite(y).all() and np.isfinite(x).all()):
        raise ValueError("outcome and covariate must be finite; remove missing rows first")
    codes, ids = _trial_codes(trial)
    cell = 2 * codes + arm
    cells = 2 * len(ids)
    n_cell = np.bincount(cell, minlength=cells).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_y = np.bincount(cell, y, cells) / n_cell
        mean_x = np.bincount(cell, x, cells) / n_cell
        dx = x - mean_x[cell]
        dy = y - mean_y[cell]
        sxx = np.bincount(codes, dx * dx, len(ids))
        slope = np.bincount(codes, dx * dy, len(ids)) / sxx
        residual = dy - slope[codes] * dx
        rss = np.bincount(codes, residual * residual, len(ids))
        n0, n1 = n_cell[0::2], n_cell[1::2]
        gap_x = mean_x[1::2] - mean_x[0::2]
        estimate = (mean_y[1::2] - mean_y[0::2]) - slope * gap_x
        df = n0 + n1 - 3.0
        se = np.sqrt(rss / df * (1.0 / n0 + 1.0 / n1 + gap_x * gap_x / sxx))
        bad = (n0 < 1) | (n1 < 1) | (df < 1) | ~(sxx > 0)
        estimate, se, df = (np.where(bad, np.nan, v) for v in (estimate, se, df))
        statistic = estimate / se
        p_value = 2.0 * sps.t.sf(np.abs(statistic), df)
        half = sps.t.ppf(0.5 + level / 2.0, df) * se
    return AncovaManyResult(
        trial=ids,
        estimate=estimate,
        se=se,
        df=df,
        statistic=statistic,
        p_value=p_value,
        ci_low=estimate - half,
        ci_high=estimate + half,
        n_reference=n0.astype(np.int64),
        n_comparator=n1.astype(np.int64),
        conf_level=level,
    )


@dataclass(frozen=True)
class ProportionsManyResult:
    """Per-table comparisons of two proportions: group 1 minus / over group 2."""

    statistic: FloatArray
    p_value: FloatArray
    p1: FloatArray
    p2: FloatArray
    risk_difference: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    risk_ratio: FloatArray
    risk_ratio_ci_low: FloatArray
    risk_ratio_ci_high: FloatArray
    odds_ratio: FloatArray
    odds_ratio_ci_low: FloatArray
    odds_ratio_ci_high: FloatArray
    test: Literal["chisq", "chisq-yates"]
    conf_level: float

    @property
    def summary(self) -> pd.DataFrame:
        """One row per table."""
        names = [n for n in self.__dataclass_fields__ if n not in ("test", "conf_level")]
        return pd.DataFrame({name: getattr(self, name) for name in names})


def compare_proportions_many(
    x1: Any,
    n1: Any,
    x2: Any,
    n2: Any,
    *,
    test: Literal["chisq", "chisq-yates"] = "chisq",
    conf_level: float = 0.95,
) -> ProportionsManyResult:
    """Chi-square P, Newcombe risk-difference CI, RR and OR for arrays of 2x2 tables.

    Element ``i`` equals ``compare_proportions(x1[i], n1[i], x2[i], n2[i], test=test)``
    (same closed forms, evaluated on whole arrays). Fisher's exact test is not offered here:
    it needs a root search per table.
    """
    if test not in ("chisq", "chisq-yates"):
        raise ValueError(f"test={test!r} is not one of ['chisq', 'chisq-yates']")
    level = check_conf_level(conf_level)
    forms = closed_forms(*check_tables(x1, n1, x2, n2), test, level)
    return ProportionsManyResult(
        statistic=forms.statistic,
        p_value=forms.p_value,
        p1=forms.p1,
        p2=forms.p2,
        risk_difference=forms.risk_difference,
        ci_low=forms.risk_difference_ci_low,
        ci_high=forms.risk_difference_ci_high,
        risk_ratio=forms.risk_ratio,
        risk_ratio_ci_low=forms.risk_ratio_ci_low,
        risk_ratio_ci_high=forms.risk_ratio_ci_high,
        odds_ratio=forms.odds_ratio,
        odds_ratio_ci_low=forms.odds_ratio_ci_low,
        odds_ratio_ci_high=forms.odds_ratio_ci_high,
        test=test,
        conf_level=level,
    )

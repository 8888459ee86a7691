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
from scipy import special
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


_CONDITION_LIMIT = 1e3  # one-pass sums lose at most ~3 of 16 digits before the fallback
_CHUNK_ROWS = 1 << 17  # rows per block of trials: a few such arrays stay in the CPU cache


@dataclass(frozen=True)
class _Trials:
    """Row-to-trial map: contiguous blocks (``starts``, rows sorted) or a dense code per row.

    ``width`` is the common number of rows per trial when rows are sorted and every trial has
    the same size (the simulator layout): the data then reshape to ``(trials, width)``.
    """

    ids: IntArray
    n_rows: int
    starts: IntArray | None = None
    codes: IntArray | None = None
    width: int | None = None

    def total(self, values: FloatArray) -> FloatArray:
        """Per-trial sums of ``values``."""
        if self.starts is not None:
            reduced: FloatArray = np.add.reduceat(values, self.starts)
            return reduced
        return np.asarray(np.bincount(self.row_codes(), values, len(self.ids)), dtype=np.float64)

    def sizes(self) -> FloatArray:
        """Rows per trial."""
        if self.starts is not None:
            sizes: FloatArray = np.diff(np.r_[self.starts, self.n_rows]).astype(np.float64)
            return sizes
        return np.bincount(self.row_codes(), minlength=len(self.ids)).astype(np.float64)

    def row_codes(self) -> IntArray:
        """Dense trial code (0..T-1) of every row."""
        if self.codes is not None:
            return self.codes
        return np.repeat(np.arange(len(self.ids), dtype=np.int64), self.sizes().astype(np.int64))


def _trials(trial: Any) -> _Trials:
    keys = np.asarray(trial)
    if keys.ndim != 1 or not np.issubdtype(keys.dtype, np.integer):
        raise ValueError(f"trial must be a 1-D array of integer keys; got dtype {keys.dtype}")
    if len(keys) == 0:
        raise ValueError("trial is empty: give at least one row per trial")
    keys = keys.astype(np.int64, copy=False)
    # Runs of equal keys; the rows are sorted by trial iff the run keys strictly increase.
    starts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate((np.zeros(1, dtype=np.int64), starts))
    ids = keys[starts]
    if np.all(ids[1:] > ids[:-1]):  # every trial is one block of rows
        width = len(keys) // len(starts)
        equal = width * len(starts) == len(keys) and bool(np.all(np.diff(starts) == width))
        return _Trials(ids=ids, n_rows=len(keys), starts=starts, width=width if equal else None)
    if keys.min() >= 0 and keys.max() < 2 * len(keys) + 16:
        present = np.bincount(keys) > 0
        lookup = np.cumsum(present) - 1
        ids = np.flatnonzero(present).astype(np.int64)
        return _Trials(ids=ids, n_rows=len(keys), codes=lookup[keys])
    unique, codes = np.unique(keys, return_inverse=True)
    return _Trials(ids=unique.astype(np.int64), n_rows=len(keys), codes=codes)


def _arm_indicator(group: Any) -> npt.NDArray[Any]:
    """The arm codes, checked to be 0/1 (integers and booleans are kept as they are)."""
    arm = np.asarray(group)
    if arm.dtype == np.bool_:
        return arm
    if np.issubdtype(arm.dtype, np.integer):
        # viewed as unsigned, negative codes are huge: one pass checks both bounds
        unsigned = arm.view(np.dtype(f"u{arm.dtype.itemsize}"))
        if len(arm) and unsigned.max() > 1:
            raise ValueError("group must be coded 0 (reference arm) and 1 (comparator arm)")
        return arm
    values = as_float_array("group", arm)
    if not ((values == 0.0) | (values == 1.0)).all():
        raise ValueError("group must be coded 0 (reference arm) and 1 (comparator arm)")
    return values


@dataclass(frozen=True)
class _Moments:
    """Per-trial arm sizes, arm means and pooled within-arm (co)variation sums."""

    n0: FloatArray
    n1: FloatArray
    gap_x: FloatArray
    gap_y: FloatArray
    sxx: FloatArray
    sxy: FloatArray
    syy: FloatArray


@dataclass(frozen=True)
class _Sums:
    """Per-trial raw sums of the shifted data ``xs``, ``ys`` (shift constant within a trial)."""

    n: FloatArray
    n1: FloatArray  # sum of arm
    x: FloatArray
    y: FloatArray
    x1: FloatArray  # sum of arm * xs
    y1: FloatArray
    xx: FloatArray
    yy: FloatArray
    xy: FloatArray

    def moments(self) -> _Moments:
        """Correct the raw sums to sums about each trial's arm means."""
        n0 = self.n - self.n1
        sx0, sy0 = self.x - self.x1, self.y - self.y1
        with np.errstate(divide="ignore", invalid="ignore"):
            m = [sx0 / n0, self.x1 / self.n1, sy0 / n0, self.y1 / self.n1]
            return _Moments(
                n0=n0,
                n1=self.n1,
                gap_x=m[1] - m[0],
                gap_y=m[3] - m[2],
                sxx=self.xx - sx0 * m[0] - self.x1 * m[1],
                sxy=self.xy - sx0 * m[2] - self.x1 * m[3],
                syy=self.yy - sy0 * m[2] - self.y1 * m[3],
            )


def _block_sums(width: int, x: FloatArray, y: FloatArray, arm: npt.NDArray[Any]) -> _Sums:
    """Sums for sorted trials of ``width`` rows each, shifted by each trial's own means.

    The rows reshape to a (trials, width) matrix; blocks of trials that fit in the CPU cache
    are reduced along rows (``einsum`` sums of products), one read of the input per block.
    """
    shape = (len(x) // width, width)
    xm, ym, am = x.reshape(shape), y.reshape(shape), arm.reshape(shape)
    out = np.empty((8, shape[0]))
    step = max(1, _CHUNK_ROWS // width)
    for lo in range(0, shape[0], step):
        rows = slice(lo, lo + step)
        o = out[:, rows]
        a = np.asarray(am[rows], dtype=np.float64)
        np.einsum("ij->i", a, out=o[0])
        xs = _centred(xm[rows])
        ys = _centred(ym[rows])
        np.einsum("ij->i", xs, out=o[1])
        np.einsum("ij->i", ys, out=o[2])
        for k, (left, right) in enumerate(((a, xs), (a, ys), (xs, xs), (ys, ys), (xs, ys)), 3):
            np.einsum("ij,ij->i", left, right, out=o[k])
    return _Sums(np.full(shape[0], float(width)), *out)


def _centred(block: FloatArray) -> FloatArray:
    """Rows of ``block`` minus their means (the sums of the result are taken, not assumed 0)."""
    centred: FloatArray = block - (np.einsum("ij->i", block) / block.shape[1])[:, None]
    return centred


def _row_sums(trials: _Trials, x: FloatArray, y: FloatArray, arm: npt.NDArray[Any]) -> _Sums:
    """Sums over rows in any layout (``reduceat`` or ``bincount``), shifted by overall means."""
    a = np.asarray(arm, dtype=np.float64)
    xs, ys = x - x.mean(), y - y.mean()
    return _Sums(
        n=trials.sizes(),
        n1=trials.total(a),
        x=trials.total(xs),
        y=trials.total(ys),
        x1=trials.total(a * xs),
        y1=trials.total(a * ys),
        xx=trials.total(xs * xs),
        yy=trials.total(ys * ys),
        xy=trials.total(xs * ys),
    )


def _two_pass(
    codes: IntArray, count: int, x: FloatArray, y: FloatArray, arm: FloatArray
) -> _Moments:
    """Arm means first, then sums of products of deviations from them (no cancellation)."""
    cell = 2 * codes + arm.astype(np.int64)
    n_cell = np.bincount(cell, minlength=2 * count).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_x = np.bincount(cell, x, 2 * count) / n_cell
        mean_y = np.bincount(cell, y, 2 * count) / n_cell
    dx, dy = x - mean_x[cell], y - mean_y[cell]
    return _Moments(
        n0=n_cell[0::2],
        n1=n_cell[1::2],
        gap_x=mean_x[1::2] - mean_x[0::2],
        gap_y=mean_y[1::2] - mean_y[0::2],
        sxx=np.asarray(np.bincount(codes, dx * dx, count), dtype=np.float64),
        sxy=np.asarray(np.bincount(codes, dx * dy, count), dtype=np.float64),
        syy=np.asarray(np.bincount(codes, dy * dy, count), dtype=np.float64),
    )


def _moments(trials: _Trials, x: FloatArray, y: FloatArray, arm: npt.NDArray[Any]) -> _Moments:
    """One-pass sums, recomputed by two passes for trials where they lost precision.

    Non-finite input shows in the sums (NaN and infinities propagate), so the rows are only
    scanned for it when a sum is not finite.
    """
    if trials.width is not None:
        sums = _block_sums(trials.width, x, y, arm)
    else:
        sums = _row_sums(trials, x, y, arm)
    if not (np.isfinite(sums.xx).all() and np.isfinite(sums.yy).all()):
        if not (np.isfinite(y).all() and np.isfinite(x).all()):
            raise ValueError("outcome and covariate must be finite; remove missing rows first")
    fast = sums.moments()
    with np.errstate(divide="ignore", invalid="ignore"):
        rss = fast.syy - fast.sxy * fast.sxy / fast.sxx
        risky = (sums.xx > _CONDITION_LIMIT * fast.sxx) | (sums.yy > _CONDITION_LIMIT * rss)
    risky &= (fast.n0 > 0) & (fast.n1 > 0)
    if not risky.any():
        return fast
    codes = trials.row_codes()
    rows = risky[codes]
    index = np.flatnonzero(risky)
    remap = np.cumsum(risky) - 1
    exact = _two_pass(
        remap[codes[rows]], len(index), x[rows], y[rows], arm[rows].astype(np.float64)
    )
    merged = {}
    for name in _Moments.__dataclass_fields__:
        values = getattr(fast, name).copy()
        values[index] = getattr(exact, name)
        merged[name] = values
    return _Moments(**merged)


def _t_quantiles(probability: float, df: FloatArray) -> FloatArray:
    """Student t quantiles, computed once per distinct df (trials mostly share one)."""
    levels, inverse = np.unique(df, return_inverse=True)
    quantiles: FloatArray = np.asarray(sps.t.ppf(probability, levels), dtype=np.float64)
    return quantiles[inverse]


def ancova_many(
    trial: Any, outcome: Any, group: Any, covariate: Any, *, conf_level: float = 0.95
) -> AncovaManyResult:
    r"""ANCOVA ``outcome ~ group + covariate`` in every trial, vectorized across trials.

    With within-arm centred sums per trial, :math:`S_{xx} = \sum (x - \bar x_{arm})^2` and
    :math:`S_{xy}`, the slope is :math:`\hat\gamma = S_{xy}/S_{xx}`, the adjusted difference
    :math:`\hat\delta = (\bar y_1 - \bar y_0) - \hat\gamma(\bar x_1 - \bar x_0)` and
    :math:`\widehat{\mathrm{Var}}(\hat\delta) = s^2\,(1/n_0 + 1/n_1 + (\bar x_1 - \bar x_0)^2
    / S_{xx})` with :math:`s^2 = (S_{yy} - S_{xy}^2/S_{xx})/(n - 3)` (Snedecor & Cochran,
    Statistical Methods, 8th ed., ch. 18). Identical to :func:`hepatrial.stats.ancova` per
    trial (to ~1e-13).

    The sums come from one pass over the rows about a shift constant within each trial. Rows
    sorted by trial with equal trial sizes (the simulator layout) are reduced as a
    (trials, patients) matrix in cache-sized blocks, shifted by each trial's first row; other
    sorted layouts use ``np.add.reduceat`` and unsorted ones ``np.bincount``, shifted by the
    overall means. Trials where the one-pass sums lose more than three digits (raw second
    moments over a thousand times the within-arm ones) are recomputed from deviations about
    their own arm means.

    Parameters
    ----------
    trial
        Integer trial key of each row (any order; keys need not be contiguous). Rows sorted
        by trial, the same number per trial, take the fastest path.
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
    trials = _trials(trial)
    m = _moments(trials, x, y, arm)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = m.sxy / m.sxx
        estimate = m.gap_y - slope * m.gap_x
        df = m.n0 + m.n1 - 3.0
        rss = np.maximum(m.syy - slope * m.sxy, 0.0)
        se = np.sqrt(rss / df * (1.0 / m.n0 + 1.0 / m.n1 + m.gap_x * m.gap_x / m.sxx))
        bad = (m.n0 < 1) | (m.n1 < 1) | (df < 1) | ~(m.sxx > 0)
        estimate, se, df = (np.where(bad, np.nan, v) for v in (estimate, se, df))
        statistic = estimate / se
        # scipy's t.sf(|t|, df) is stdtr(df, -|t|); called directly to skip its argument checks
        p_value = 2.0 * special.stdtr(df, -np.abs(statistic))
        half = _t_quantiles(0.5 + level / 2.0, df) * se
    return AncovaManyResult(
        trial=trials.ids,
        estimate=estimate,
        se=se,
        df=df,
        statistic=statistic,
        p_value=p_value,
        ci_low=estimate - half,
        ci_high=estimate + half,
        n_reference=m.n0.astype(np.int64),
        n_comparator=m.n1.astype(np.int64),
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

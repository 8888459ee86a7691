"""Two independent proportions: chi-square (with or without Yates) or Fisher, RD, RR and OR.

Group 1 is the first pair of arguments (``x1`` events out of ``n1``), group 2 the second.
Every effect is reported as group 1 minus group 2 (risk difference) or group 1 over group 2
(risk ratio, odds ratio); ``ProportionsResult.comparison`` spells it out. The closed forms are
vectorized and shared with :func:`hepatrial.stats.batch.compare_proportions_many`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as sps

from hepatrial.stats._common import FloatArray
from hepatrial.stats._fisher import fisher_exact
from hepatrial.stats._frames import check_conf_level
from hepatrial.stats.results import Exclusion, ResultBase, package_version

Test = Literal["chisq", "chisq-yates", "fisher"]
_TESTS: tuple[str, ...] = ("chisq", "chisq-yates", "fisher")


@dataclass(frozen=True)
class ClosedForms:
    """Per-table arrays of the closed-form quantities (one element per 2x2 table)."""

    p1: FloatArray
    p2: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    risk_difference: FloatArray
    risk_difference_ci_low: FloatArray
    risk_difference_ci_high: FloatArray
    risk_ratio: FloatArray
    risk_ratio_ci_low: FloatArray
    risk_ratio_ci_high: FloatArray
    odds_ratio: FloatArray
    odds_ratio_ci_low: FloatArray
    odds_ratio_ci_high: FloatArray


def _counts(name: str, values: Any) -> FloatArray:
    array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be a count or a 1-D array of counts; got shape {array.shape}"
        )
    bad = ~np.isfinite(array) | (array < 0) | (array != np.round(array))
    if bad.any():
        raise ValueError(f"{name} must hold non-negative whole counts; got {array[bad][:5]}")
    return array


def check_tables(
    x1: Any, n1: Any, x2: Any, n2: Any
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Coerce and check counts: whole numbers with 0 <= x <= n and n >= 1."""
    arrays = [_counts(name, v) for name, v in (("x1", x1), ("n1", n1), ("x2", x2), ("n2", n2))]
    lengths = {len(a) for a in arrays}
    if len(lengths) > 1:
        raise ValueError(
            f"x1, n1, x2, n2 must have the same length; got {[len(a) for a in arrays]}"
        )
    a1, m1, a2, m2 = arrays
    for x, n, label in ((a1, m1, "1"), (a2, m2, "2")):
        if np.any(n < 1) or np.any(x > n):
            bad = int(np.flatnonzero((n < 1) | (x > n))[0])
            raise ValueError(
                f"group {label}: x{label}={x[bad]:g} events out of n{label}={n[bad]:g} "
                f"participants; need n{label} >= 1 and 0 <= x{label} <= n{label}"
            )
    return a1, m1, a2, m2


def _chi_square(
    x1: FloatArray, n1: FloatArray, x2: FloatArray, n2: FloatArray, yates: bool
) -> tuple[FloatArray, FloatArray]:
    """Pearson's X^2 on the 2x2 table, as R ``chisq.test(table, correct = yates)``.

    X^2 = sum (|O - E| - c)^2 / E over the four cells with c = min(0.5, |O - E|) under
    Yates' correction (R's definition) and c = 0 otherwise; |O - E| is the same in all cells.
    A table with an empty margin has no statistic (NaN), as in R.
    """
    total = n1 + n2
    events, non_events = x1 + x2, total - x1 - x2
    expected = [n1 * events / total, n1 * non_events / total]
    expected += [n2 * events / total, n2 * non_events / total]
    deviation = np.abs(x1 - expected[0])
    correction = np.minimum(0.5, deviation) if yates else np.zeros_like(deviation)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = sum((deviation - correction) ** 2 / e for e in expected)
    statistic = np.where((events == 0) | (non_events == 0), np.nan, statistic)
    # P(chi2_1 > X^2) = erfc(sqrt(X^2 / 2)): the same tail as chi2.sf(X^2, 1) (to ~1e-13
    # relative) at a hundredth of the cost of the general incomplete gamma
    return statistic, np.asarray(special.erfc(np.sqrt(statistic / 2.0)), dtype=np.float64)


def wilson_interval(x: FloatArray, n: FloatArray, z: float) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval without continuity correction, as R ``prop.test(x, n, correct=FALSE)``.

    (p + z^2/(2n) -/+ z sqrt(p(1-p)/n + z^2/(4n^2))) / (1 + z^2/n); Wilson, JASA 1927;22:209-12.
    """
    p = x / n
    z22n = z * z / (2.0 * n)
    half = z * np.sqrt(p * (1.0 - p) / n + z22n / (2.0 * n))
    low = np.where(p > 0, (p + z22n - half) / (1.0 + 2.0 * z22n), 0.0)
    high = np.where(p < 1, (p + z22n + half) / (1.0 + 2.0 * z22n), 1.0)
    return low, high


def _log_interval(ratio: FloatArray, se_log: FloatArray, z: float) -> tuple[FloatArray, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return ratio * np.exp(-z * se_log), ratio * np.exp(z * se_log)


def closed_forms(
    x1: FloatArray, n1: FloatArray, x2: FloatArray, n2: FloatArray, test: Test, conf_level: float
) -> ClosedForms:
    """Vectorized chi-square test, Newcombe RD CI and log-scale RR and OR (Woolf) CIs.

    Risk difference CI: Newcombe's hybrid score method 10 (Stat Med 1998;17:873-90) from the
    Wilson limits (l_i, u_i): RD - sqrt((p1-l1)^2 + (u2-p2)^2), RD + sqrt((u1-p1)^2 + (p2-l2)^2).
    Risk ratio: exp(log RR -/+ z sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)) (Katz et al., Biometrics
    1978;34:469-74). Odds ratio: exp(log OR -/+ z sqrt(1/a + 1/b + 1/c + 1/d)) (Woolf, Ann Hum
    Genet 1955;19:251-3). Intervals that need a zero cell's reciprocal are NaN: no continuity
    correction is added behind the user's back.
    """
    z = float(sps.norm.ppf(0.5 + conf_level / 2.0))
    if test == "fisher":
        statistic = np.full_like(x1, np.nan)
        p_value = np.full_like(x1, np.nan)
    else:
        statistic, p_value = _chi_square(x1, n1, x2, n2, yates=test == "chisq-yates")
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    difference = p1 - p2
    cells = [x1, n1 - x1, x2, n2 - x2]
    with np.errstate(divide="ignore", invalid="ignore"):
        risk_ratio = p1 / p2
        se_rr = np.sqrt(1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2)
        odds_ratio = (cells[0] * cells[3]) / (cells[1] * cells[2])
        se_or = np.sqrt(sum(1.0 / c for c in cells))
    se_rr = np.where((x1 == 0) | (x2 == 0), np.nan, se_rr)
    se_or = np.where(np.any([c == 0 for c in cells], axis=0), np.nan, se_or)
    rr_low, rr_high = _log_interval(risk_ratio, se_rr, z)
    or_low, or_high = _log_interval(odds_ratio, se_or, z)
    return ClosedForms(
        p1=p1,
        p2=p2,
        statistic=statistic,
        p_value=p_value,
        risk_difference=difference,
        risk_difference_ci_low=difference - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        risk_difference_ci_high=difference + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
        risk_ratio=risk_ratio,
        risk_ratio_ci_low=rr_low,
        risk_ratio_ci_high=rr_high,
        odds_ratio=odds_ratio,
        odds_ratio_ci_low=or_low,
        odds_ratio_ci_high=or_high,
    )


@dataclass(frozen=True, repr=False)
class ProportionsResult(ResultBase):
    """Comparison of two proportions; effects are group 1 minus / over group 2.

    ``statistic`` is Pearson's X^2 (1 df; NaN for Fisher's test). ``conditional_odds_ratio``
    and its exact CI are filled for ``test="fisher"`` only (as R's ``fisher.test``).
    The main effect is the risk difference: ``estimate`` with Newcombe's interval
    (``ci_low``, ``ci_high``), ``se`` its unpooled Wald standard error
    ``sqrt(p1 (1 - p1) / n1 + p2 (1 - p2) / n2)`` (not the basis of the interval), and the
    test's ``p_value``. ``n`` is ``n1 + n2``; counts come in whole, so nothing is excluded.
    """

    summary_columns: ClassVar[tuple[str, ...]] = (
        "measure", "contrast", "estimate", "ci_low", "ci_high", "ci_method", "conf_level",
        "p_value", "test",
    )  # fmt: skip

    x1: int
    n1: int
    x2: int
    n2: int
    labels: tuple[str, str]
    test: Test
    conf_level: float
    statistic: float
    p_value: float
    p1: float
    p2: float
    risk_difference: float
    risk_difference_ci_low: float
    risk_difference_ci_high: float
    risk_ratio: float
    risk_ratio_ci_low: float
    risk_ratio_ci_high: float
    odds_ratio: float
    odds_ratio_ci_low: float
    odds_ratio_ci_high: float
    conditional_odds_ratio: float | None
    conditional_odds_ratio_ci_low: float | None
    conditional_odds_ratio_ci_high: float | None
    n_excluded: int = 0
    exclusions: tuple[Exclusion, ...] = ()
    version: str = field(default_factory=package_version)

    @property
    def estimate(self) -> float:
        """The risk difference p1 - p2."""
        return self.risk_difference

    @property
    def se(self) -> float:
        """Unpooled Wald standard error of the risk difference."""
        return math.sqrt(self.p1 * (1 - self.p1) / self.n1 + self.p2 * (1 - self.p2) / self.n2)

    @property
    def ci_low(self) -> float:
        """Lower Newcombe limit of the risk difference."""
        return self.risk_difference_ci_low

    @property
    def ci_high(self) -> float:
        """Upper Newcombe limit of the risk difference."""
        return self.risk_difference_ci_high

    @property
    def n(self) -> int:
        """Participants analysed in both groups, ``n1 + n2``."""
        return self.n1 + self.n2

    @property
    def method(self) -> str:
        """The test: ``"chisq"``, ``"chisq-yates"`` or ``"fisher"``."""
        return self.test

    @property
    def comparison(self) -> str:
        """Direction of every effect, e.g. ``"MSC minus/over control"``."""
        return f"{self.labels[0]} minus/over {self.labels[1]}"

    def _details(self) -> dict[str, Any]:
        return {
            "ci_methods": "RD Newcombe hybrid score; RR log (Katz); OR log (Woolf)",
            "conf_level": self.conf_level,
            "comparison": self.comparison,
        }

    @property
    def risk_difference_ci(self) -> tuple[float, float]:
        """Newcombe (hybrid Wilson score) interval of p1 - p2."""
        return self.risk_difference_ci_low, self.risk_difference_ci_high

    @property
    def summary(self) -> pd.DataFrame:
        """One row per effect measure with its estimate, CI, P and the direction."""
        one, two = self.labels
        rows: list[tuple[str, str, float, float | None, float | None, str]] = [
            ("risk difference", f"{one} - {two}", self.risk_difference,
             self.risk_difference_ci_low, self.risk_difference_ci_high, "Newcombe hybrid score"),
            ("risk ratio", f"{one} / {two}", self.risk_ratio,
             self.risk_ratio_ci_low, self.risk_ratio_ci_high, "log (Katz)"),
            ("odds ratio", f"{one} / {two}", self.odds_ratio,
             self.odds_ratio_ci_low, self.odds_ratio_ci_high, "log (Woolf)"),
        ]  # fmt: skip
        if self.conditional_odds_ratio is not None:
            rows.append(("odds ratio (conditional MLE)", f"{one} / {two}",
                         self.conditional_odds_ratio, self.conditional_odds_ratio_ci_low,
                         self.conditional_odds_ratio_ci_high, "exact (Fisher)"))  # fmt: skip
        frame = pd.DataFrame(
            rows, columns=["measure", "contrast", "estimate", "ci_low", "ci_high", "ci_method"]
        )
        frame["conf_level"] = self.conf_level
        frame["p_value"] = self.p_value
        frame["test"] = self.test
        return frame

    def __repr__(self) -> str:
        one, two = self.labels
        return (
            f"ProportionsResult({one} {self.x1}/{self.n1} vs {two} {self.x2}/{self.n2}: "
            f"RD={self.risk_difference:.4g} ({100 * self.conf_level:g}% CI "
            f"{self.risk_difference_ci_low:.4g} to {self.risk_difference_ci_high:.4g}), "
            f"P={self.p_value:.3g} ({self.test}))"
        )


def compare_proportions(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    *,
    test: Test = "chisq",
    conf_level: float = 0.95,
    labels: tuple[str, str] = ("group 1", "group 2"),
) -> ProportionsResult:
    r"""Compare the proportions x1/n1 (group 1) and x2/n2 (group 2).

    ``test="chisq"``: Pearson's chi-square without continuity correction (R:
    ``chisq.test(matrix(c(x1, n1 - x1, x2, n2 - x2), 2, byrow = TRUE), correct = FALSE)``,
    equal to ``prop.test(..., correct = FALSE)``); ``"chisq-yates"`` with Yates' correction
    (``correct = TRUE``); ``"fisher"``: Fisher's exact test (R: ``fisher.test(table)``), which
    also reports the conditional MLE of the odds ratio and its exact CI.

    Effects are group 1 minus group 2 (risk difference, Newcombe hybrid score CI) and group 1
    over group 2 (risk ratio and odds ratio, log-scale Wald CIs).

    Parameters
    ----------
    x1, n1, x2, n2
        Participants with the event and participants analysed, in group 1 and group 2.
    test
        ``"chisq"``, ``"chisq-yates"`` or ``"fisher"``.
    conf_level
        Confidence level, strictly between 0 and 1.
    labels
        Names of group 1 and group 2 used in the summary.

    Examples
    --------
    >>> round(compare_proportions(9, 56, 18, 54).p_value, 3)  # MATCH trial, Pearson
    0.035
    """
    if test not in _TESTS:
        raise ValueError(f"test={test!r} is not one of {list(_TESTS)}")
    level = check_conf_level(conf_level)
    a1, m1, a2, m2 = check_tables(x1, n1, x2, n2)
    if len(a1) != 1:
        raise ValueError("compare_proportions takes single counts; use compare_proportions_many")
    forms = closed_forms(a1, m1, a2, m2, test, level)
    scalar: dict[str, Any] = {
        name: float(getattr(forms, name)[0]) for name in ClosedForms.__dataclass_fields__
    }
    conditional: tuple[float | None, float | None, float | None] = (None, None, None)
    if test == "fisher":
        exact = fisher_exact(int(a1[0]), int(m1[0]), int(a2[0]), int(m2[0]), level)
        scalar["p_value"] = exact.p_value
        conditional = (exact.odds_ratio, exact.ci_low, exact.ci_high)
    return ProportionsResult(
        x1=int(a1[0]),
        n1=int(m1[0]),
        x2=int(a2[0]),
        n2=int(m2[0]),
        labels=(str(labels[0]), str(labels[1])),
        test=test,
        conf_level=level,
        conditional_odds_ratio=conditional[0],
        conditional_odds_ratio_ci_low=conditional[1],
        conditional_odds_ratio_ci_high=conditional[2],
        version=package_version(),
        **scalar,
    )

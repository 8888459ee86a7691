"""Event rates over person-time: the rate ratio by Poisson (exact and Wald) or negative binomial.

For "adverse events per participant-year". Two call forms:

* aggregated counts, ``rate_ratio(events1, person_time1, events2, person_time2)``: group 1
  over group 2, Poisson only (a negative binomial model needs each participant's count);
* one row per participant, ``rate_ratio(data, columns=RateColumns(events=..., exposure=...,
  group=...))``: the
  other level over the reference level (default: the first sorted level), Poisson on the
  summed counts or ``method="negative-binomial"`` on the individual counts.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from hepatrial.exceptions import NotEstimableError
from hepatrial.stats._frames import (
    as_frame,
    check_conf_level,
    complete_cases,
    group_levels,
)
from hepatrial.stats._negbin import fit_negative_binomial
from hepatrial.stats.results import Exclusion, ResultBase, package_version

RateMethod = Literal["poisson", "negative-binomial"]
_REL_ERR = 1.0 + 1e-7  # R's binom.test: outcomes "as or less likely" up to this relative error


@dataclass(frozen=True, repr=False)
class RateRatioResult(ResultBase):
    """Rate ratio ``labels[0]`` over ``labels[1]`` with its CI and P.

    Poisson: ``estimate``/``ci_*``/``p_value`` are the exact conditional (binomial) test of R's
    ``poisson.test``; ``wald_*`` is the Wald test on log(RR) with ``se`` = sqrt(1/e1 + 1/e2),
    the standard error of log(RR). Negative binomial: Wald inference of ``glm.nb`` (``wald_*``
    repeat it; ``se`` is that of the log rate ratio); ``theta`` is the dispersion (variance
    mu + mu^2/theta). ``n`` is None when the call gave aggregated counts only.
    """

    summary_columns: ClassVar[tuple[str, ...]] = (
        "contrast", "events_1", "person_time_1", "events_2", "person_time_2", "inference",
        "estimate", "ci_low", "ci_high", "p_value", "conf_level", "method",
    )  # fmt: skip

    method: RateMethod
    labels: tuple[str, str]
    events: tuple[float, float]
    person_time: tuple[float, float]
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    se: float
    wald_ci_low: float
    wald_ci_high: float
    wald_p_value: float
    theta: float | None
    theta_se: float | None
    loglik: float | None
    conf_level: float
    n: int | None
    n_excluded: int
    exclusions: tuple[Exclusion, ...]
    version: str = field(default_factory=package_version)

    @property
    def log_rate_ratio_se(self) -> float:
        """Deprecated name of :attr:`se` (the standard error of the log rate ratio)."""
        warnings.warn(
            "RateRatioResult.log_rate_ratio_se is deprecated; read .se (the same number)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.se

    @property
    def rates(self) -> tuple[float, float]:
        """Crude event rates (events per unit of person-time) of the two groups."""
        return self.events[0] / self.person_time[0], self.events[1] / self.person_time[1]

    @property
    def summary(self) -> pd.DataFrame:
        """Per-group counts and rates, then the rate ratio with CI, P and method."""
        one, two = self.labels
        exact = "exact conditional (binomial)" if self.method == "poisson" else "Wald (glm.nb)"
        return pd.DataFrame(
            {
                "contrast": [f"{one} / {two}"] * 2,
                "events_1": [self.events[0]] * 2,
                "person_time_1": [self.person_time[0]] * 2,
                "events_2": [self.events[1]] * 2,
                "person_time_2": [self.person_time[1]] * 2,
                "inference": [exact, "Wald"],
                "estimate": [self.estimate] * 2,
                "ci_low": [self.ci_low, self.wald_ci_low],
                "ci_high": [self.ci_high, self.wald_ci_high],
                "p_value": [self.p_value, self.wald_p_value],
                "conf_level": [self.conf_level] * 2,
                "method": [self.method] * 2,
            }
        ).iloc[: 1 if self.method == "negative-binomial" else 2]

    def _details(self) -> dict[str, Any]:
        return {
            "comparison": f"{self.labels[0]} / {self.labels[1]}",
            "conf_level": self.conf_level,
        }

    def __repr__(self) -> str:
        one, two = self.labels
        return (
            f"RateRatioResult({one} / {two} = {self.estimate:.4g} "
            f"({100 * self.conf_level:g}% CI {self.ci_low:.4g} to {self.ci_high:.4g}), "
            f"P={self.p_value:.3g}, {self.method})"
        )


def _binom_two_sided(x: int, n: int, p: float) -> float:
    """Two-sided exact binomial P as R's ``binom.test`` (sum of outcomes no more likely)."""
    d = sps.binom.pmf(x, n, p)
    m = n * p
    if x == m:
        return 1.0
    if x < m:
        i = np.arange(int(np.ceil(m)), n + 1)
        y = int((sps.binom.pmf(i, n, p) <= d * _REL_ERR).sum())
        value = sps.binom.cdf(x, n, p) + sps.binom.sf(n - y, n, p)
    else:
        i = np.arange(0, int(np.floor(m)) + 1)
        y = int((sps.binom.pmf(i, n, p) <= d * _REL_ERR).sum())
        value = sps.binom.cdf(y - 1, n, p) + sps.binom.sf(x - 1, n, p)
    return float(min(1.0, value))


def _clopper_pearson(x: int, n: int, conf_level: float) -> tuple[float, float]:
    alpha = (1.0 - conf_level) / 2.0
    low = 0.0 if x == 0 else float(sps.beta.ppf(alpha, x, n - x + 1))
    high = 1.0 if x == n else float(sps.beta.ppf(1.0 - alpha, x + 1, n - x))
    return low, high


def _check_aggregate(events: tuple[float, float], time: tuple[float, float]) -> None:
    for k in (0, 1):
        e, t = events[k], time[k]
        if not (np.isfinite(e) and e >= 0 and e == round(e)):
            raise ValueError(f"events{k + 1}={e!r} must be a non-negative whole count")
        if not (np.isfinite(t) and t > 0):
            raise ValueError(f"person_time{k + 1}={t!r} must be positive (e.g. participant-years)")
    if events[0] + events[1] == 0:
        raise NotEstimableError("no events in either group: the rate ratio is undefined")


def _poisson(
    events: tuple[float, float], time: tuple[float, float], conf_level: float
) -> dict[str, float]:
    """R ``poisson.test(c(e1, e2), c(t1, t2))`` (conditional binomial) and the Wald test."""
    x, n = int(events[0]), int(events[0] + events[1])
    share = time[0] / (time[0] + time[1])
    low, high = _clopper_pearson(x, n, conf_level)
    with np.errstate(divide="ignore"):
        estimate = float(np.float64(events[0] / time[0]) / np.float64(events[1] / time[1]))
        ci = [float(np.float64(b) / (1.0 - b) * time[1] / time[0]) for b in (low, high)]
    z = float(sps.norm.ppf(0.5 + conf_level / 2.0))
    se = float(np.sqrt(1.0 / events[0] + 1.0 / events[1])) if min(events) > 0 else np.nan
    wald_p = float(2.0 * sps.norm.sf(abs(np.log(estimate)) / se)) if min(events) > 0 else np.nan
    return {
        "estimate": estimate,
        "ci_low": ci[0],
        "ci_high": ci[1],
        "p_value": _binom_two_sided(x, n, share),
        "se": se,
        "wald_ci_low": estimate * np.exp(-z * se),
        "wald_ci_high": estimate * np.exp(z * se),
        "wald_p_value": wald_p,
    }


@dataclass(frozen=True)
class _Participants:
    frame: pd.DataFrame
    indicator: np.ndarray[Any, np.dtype[np.float64]]
    labels: tuple[str, str]
    exclusions: tuple[Exclusion, ...]
    n_excluded: int


def _participants(
    data: Any, events: str, exposure: str, group: str, reference: Any | None
) -> _Participants:
    columns = [events, exposure, group]
    frame = as_frame(data, columns)
    used, exclusions = complete_cases(frame, columns, stacklevel=5)
    counts = used[events].to_numpy(dtype=np.float64)
    time = used[exposure].to_numpy(dtype=np.float64)
    if np.any((counts < 0) | (counts != np.round(counts))):
        bad = counts[(counts < 0) | (counts != np.round(counts))][:5]
        raise ValueError(f"{events} must hold non-negative whole event counts; got {bad}")
    if np.any(~np.isfinite(time) | (time <= 0)):
        bad = time[~np.isfinite(time) | (time <= 0)][:5]
        raise ValueError(
            f"{exposure} must be positive person-time (e.g. years at risk); got {bad}. "
            "Participants with no time at risk contribute nothing: remove them explicitly"
        )
    ref, levels = group_levels(used[group], group, reference)
    if len(levels) != 2:
        raise ValueError(f"{group} must have exactly two levels; got {levels}")
    other = levels[1] if ref == levels[0] else levels[0]
    indicator = (used[group] == other).to_numpy(dtype=np.float64)
    labels = (str(other), str(ref))
    return _Participants(used, indicator, labels, exclusions, len(frame) - len(used))


def _negative_binomial(
    people: _Participants, events: str, exposure: str, conf_level: float
) -> dict[str, float]:
    y = people.frame[events].to_numpy(dtype=np.float64)
    X = np.column_stack([np.ones(len(y)), people.indicator])
    offset = np.log(people.frame[exposure].to_numpy(dtype=np.float64))
    fit = fit_negative_binomial(y, X, offset)
    log_rr, se = float(fit.coef[1]), float(np.sqrt(fit.cov[1, 1]))
    z = float(sps.norm.ppf(0.5 + conf_level / 2.0))
    p_value = float(2.0 * sps.norm.sf(abs(log_rr) / se))
    low, high = float(np.exp(log_rr - z * se)), float(np.exp(log_rr + z * se))
    return {
        "estimate": float(np.exp(log_rr)),
        "ci_low": low,
        "ci_high": high,
        "p_value": p_value,
        "se": se,
        "wald_ci_low": low,
        "wald_ci_high": high,
        "wald_p_value": p_value,
        "theta": fit.theta,
        "theta_se": fit.theta_se,
        "loglik": fit.loglik,
    }


@dataclass(frozen=True)
class RateColumns:
    """Columns of a table with one row per participant, for :func:`rate_ratio`.

    Attributes
    ----------
    events : str
        Count of events per participant (a non-negative whole number).
    exposure : str
        Person-time at risk (> 0), e.g. participant-years.
    group : str
        The arm.

    Examples
    --------
    >>> RateColumns(events="sae", exposure="years", group="arm")
    RateColumns(events='sae', exposure='years', group='arm')
    """

    events: str
    exposure: str
    group: str


def _per_participant(
    data: Any,
    *,
    columns: RateColumns | None,
    method: RateMethod,
    reference: Any | None,
    conf_level: float,
) -> RateRatioResult:
    if columns is None:
        raise ValueError(
            "with a data table, name the columns: "
            "columns=RateColumns(events=..., exposure=..., group=...)"
        )
    events, exposure, group = columns.events, columns.exposure, columns.group
    people = _participants(data, events, exposure, group, reference)
    frame, mask = people.frame, people.indicator == 1.0
    counts = frame[events].to_numpy(dtype=np.float64)
    time = frame[exposure].to_numpy(dtype=np.float64)
    totals = (float(counts[mask].sum()), float(counts[~mask].sum()))
    person_time = (float(time[mask].sum()), float(time[~mask].sum()))
    _check_aggregate(totals, person_time)
    if method == "poisson":
        figures: dict[str, Any] = _poisson(totals, person_time, conf_level)
        figures.update(theta=None, theta_se=None, loglik=None)
    else:
        figures = _negative_binomial(people, events, exposure, conf_level)
    return RateRatioResult(
        method=method,
        labels=people.labels,
        events=totals,
        person_time=person_time,
        conf_level=conf_level,
        n=len(frame),
        n_excluded=people.n_excluded,
        exclusions=people.exclusions,
        version=package_version(),
        **figures,
    )


def rate_ratio(
    events1: Any,
    person_time1: float | None = None,
    events2: float | None = None,
    person_time2: float | None = None,
    *,
    columns: RateColumns | None = None,
    method: RateMethod = "poisson",
    reference: Any | None = None,
    conf_level: float = 0.95,
    labels: tuple[str, str] = ("group 1", "group 2"),
) -> RateRatioResult:
    r"""Ratio of event rates per unit of person-time between two groups.

    Poisson (``method="poisson"``): conditional on the total :math:`e_1 + e_2`, :math:`e_1`
    is binomial with :math:`p = \rho t_1/(\rho t_1 + t_2)` under rate ratio :math:`\rho`;
    P is the two-sided exact binomial test of :math:`\rho = 1` and the CI maps the
    Clopper-Pearson limits :math:`p_L, p_U` to :math:`p/(1-p)\cdot t_2/t_1` (R:
    ``poisson.test(c(e1, e2), c(t1, t2))``). The Wald interval is
    :math:`\exp(\log\hat\rho \mp z\sqrt{1/e_1 + 1/e_2})` (R: ``glm(y ~ g + offset(log(t)),
    family = poisson)``).

    Negative binomial (``method="negative-binomial"``, per-participant rows only): NB2
    regression of each participant's count on the group with offset log(exposure), Wald CI
    and P (R: ``MASS::glm.nb(events ~ group + offset(log(exposure)))`` with
    ``confint.default``). Use it when participants differ in their propensity to events, as
    adverse events usually do: the Poisson test then overstates precision.

    Parameters
    ----------
    events1, person_time1, events2, person_time2
        Aggregated form: events and person-time (e.g. participant-years) of groups 1 and 2.
        Or pass a DataFrame (one row per participant) as the first argument with
    columns
        the names of its event count, person-time at risk (> 0) and arm columns.
    method
        ``"poisson"`` or ``"negative-binomial"``.
    reference
        Per-participant form: the denominator arm (default the first sorted level).
    conf_level
        Confidence level, strictly between 0 and 1.
    labels
        Aggregated form: names of group 1 (numerator) and group 2 (denominator).

    Examples
    --------
    >>> round(rate_ratio(10, 40.5, 4, 41.25).estimate, 4)
    2.5463
    """
    level = check_conf_level(conf_level)
    if method not in ("poisson", "negative-binomial"):
        raise ValueError(f"method={method!r} is not one of ['poisson', 'negative-binomial']")
    if isinstance(events1, pd.DataFrame | Mapping):
        return _per_participant(
            events1, columns=columns, method=method, reference=reference, conf_level=level
        )
    if method != "poisson":
        raise ValueError(
            "method='negative-binomial' needs one row per participant: call "
            "rate_ratio(data, columns=RateColumns(...), method='negative-binomial')"
        )
    if person_time1 is None or events2 is None or person_time2 is None:
        raise ValueError("give events1, person_time1, events2 and person_time2")
    counts = (float(events1), float(events2))
    time = (float(person_time1), float(person_time2))
    _check_aggregate(counts, time)
    return RateRatioResult(
        method="poisson",
        labels=(str(labels[0]), str(labels[1])),
        events=counts,
        person_time=time,
        theta=None,
        theta_se=None,
        loglik=None,
        conf_level=level,
        n=None,
        n_excluded=0,
        exclusions=(),
        version=package_version(),
        **_poisson(counts, time, level),
    )

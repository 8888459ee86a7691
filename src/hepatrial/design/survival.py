"""Survival sample size with uniform accrual, fixed follow-up and exponential dropout.

The number of events comes from :func:`hepatrial.design.events_survival`; the number of
participants is that number divided by the probability that a participant's event is observed
by the final analysis, under exponential event and dropout times and uniform accrual
(Lachin & Foulkes 1986, Biometrics 42:507, eq. 2.6; the same event probability rpact's
``getSampleSizeSurvival(accrualTime=, followUpTime=, dropoutRate1=)`` uses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from hepatrial.design._common import check_positive, check_probability
from hepatrial.design.sample_size import EventsMethod, events_survival
from hepatrial.stats.engine import RenderedResult


def event_probability(
    hazard: float, *, accrual_time: float, follow_up: float, dropout_hazard: float = 0.0
) -> float:
    """Probability that an event is observed before the final analysis.

    With event hazard λ, dropout hazard η, uniform entry over [0, A] and analysis at A + F::

        P = λ/(λ+η) · [1 − (e^{−(λ+η)F} − e^{−(λ+η)(A+F)}) / ((λ+η) A)]

    Parameters
    ----------
    hazard : float
        Event hazard λ, per unit of time (e.g. per month).
    accrual_time : float
        Accrual duration A, same time unit.
    follow_up : float
        Follow-up F after the last participant enters, same time unit (may be 0).
    dropout_hazard : float
        Dropout hazard η, per unit of time (0 for none).
    """
    total = check_positive("hazard", hazard) + float(dropout_hazard)
    a = check_positive("accrual_time", accrual_time)
    f = float(follow_up)
    if f < 0.0 or float(dropout_hazard) < 0.0:
        raise ValueError(
            f"follow_up={follow_up!r} and dropout_hazard={dropout_hazard!r} must be >= 0"
        )
    unobserved = (math.exp(-total * f) - math.exp(-total * (a + f))) / (total * a)
    return hazard / total * (1.0 - unobserved)


@dataclass(frozen=True)
class AccrualPlan:
    """Uniform accrual, follow-up after the last entry and exponential dropout (one time unit).

    Attributes
    ----------
    accrual_time : float
        Accrual duration A (e.g. months); participants enter uniformly over [0, A].
    follow_up : float
        Follow-up F after the last participant enters (may be 0); the analysis is at A + F.
    dropout_rate : float
        Probability of dropping out by ``dropout_time`` (exponential, same in both arms).
    dropout_time : float
        Time at which ``dropout_rate`` applies (rpact's ``dropoutTime``, default 12).

    Examples
    --------
    >>> AccrualPlan(accrual_time=24, follow_up=6, dropout_rate=0.05)
    AccrualPlan(accrual_time=24, follow_up=6, dropout_rate=0.05, dropout_time=12.0)
    """

    accrual_time: float
    follow_up: float
    dropout_rate: float = 0.0
    dropout_time: float = 12.0


@dataclass(frozen=True)
class SurvivalSampleSize(RenderedResult):
    """Events and participants for a survival trial with accrual and follow-up."""

    events: float
    n_total: float
    n_per_arm: int
    event_probability: float
    hazard_control: float
    hazard_treatment: float
    accrual_time: float
    follow_up: float
    accrual_rate: float
    method: str

    @property
    def summary(self) -> pd.DataFrame:
        """One row with every design quantity."""
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "events": self.events,
                    "n_total": self.n_total,
                    "n_per_arm": self.n_per_arm,
                    "event_probability": self.event_probability,
                    "hazard_control": self.hazard_control,
                    "hazard_treatment": self.hazard_treatment,
                    "accrual_time": self.accrual_time,
                    "follow_up": self.follow_up,
                    "accrual_rate": self.accrual_rate,
                }
            ]
        )

    def __repr__(self) -> str:
        return (
            f"SurvivalSampleSize({self.method}: events={self.events:.3f}, "
            f"n_total={self.n_total:.3f}, P(event)={self.event_probability:.4f})"
        )


def n_survival(
    *,
    hr: float,
    accrual: AccrualPlan,
    median_control: float | None = None,
    hazard_control: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    method: EventsMethod = "schoenfeld",
    sided: int = 2,
    ratio: float = 1.0,
) -> SurvivalSampleSize:
    """Participants needed for a log-rank comparison with uniform accrual and follow-up.

    ``n_total = D / ω`` with D from :func:`events_survival` and
    ``ω = (r P(λ_T) + P(λ_C)) / (1 + r)`` from :func:`event_probability`, λ_T = HR · λ_C.

    Parameters
    ----------
    hr : float
        Hazard ratio treatment / control.
    accrual : AccrualPlan
        Accrual duration, additional follow-up and dropout, in one time unit (e.g. months).
    median_control, hazard_control : float
        Control-arm median survival time or hazard (give exactly one); time unit as above.
    alpha, power, method, sided, ratio
        As in :func:`events_survival`.

    Examples
    --------
    >>> plan = AccrualPlan(accrual_time=24, follow_up=6)
    >>> n_survival(hr=0.53, median_control=6, accrual=plan).n_per_arm
    54
    """
    if (median_control is None) == (hazard_control is None):
        raise ValueError("give exactly one of median_control= or hazard_control=")
    if hazard_control is None:
        lam2 = math.log(2.0) / check_positive("median_control", float(median_control or 0.0))
    else:
        lam2 = check_positive("hazard_control", hazard_control)
    accrual_time, follow_up = accrual.accrual_time, accrual.follow_up
    dropout_rate, dropout_time = accrual.dropout_rate, accrual.dropout_time
    eta = 0.0
    if dropout_rate:
        eta = -math.log(1.0 - check_probability("dropout_rate", dropout_rate)) / check_positive(
            "dropout_time", dropout_time
        )
    events = events_survival(
        hr=hr, alpha=alpha, power=power, method=method, sided=sided, ratio=ratio
    )
    lam1 = events.hr * lam2
    probability = (
        events.ratio
        * event_probability(
            lam1, accrual_time=accrual_time, follow_up=follow_up, dropout_hazard=eta
        )
        + event_probability(
            lam2, accrual_time=accrual_time, follow_up=follow_up, dropout_hazard=eta
        )
    ) / (1.0 + events.ratio)
    n_total = events.events / probability
    per_arm = max(
        math.ceil(n_total * events.ratio / (1.0 + events.ratio) - 1e-9),
        math.ceil(n_total / (1.0 + events.ratio) - 1e-9),
    )
    return SurvivalSampleSize(
        events=events.events,
        n_total=n_total,
        n_per_arm=per_arm,
        event_probability=probability,
        hazard_control=lam2,
        hazard_treatment=lam1,
        accrual_time=float(accrual_time),
        follow_up=float(follow_up),
        accrual_rate=n_total / float(accrual_time),
        method=f"{method} events, uniform accrual (Lachin-Foulkes)",
    )

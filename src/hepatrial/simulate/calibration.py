"""Calibration of a patient model's event scales and complication intercept to published targets.

For an event with Weibull shape k, MELD slope b and scale s, the net probability of the event by
day d in the eligible population is ``1 − mean_i exp(−(d/s)^k · exp(b (MELD_i − ref)))`` over
eligible control patients drawn from the model (their true MELD, after measurement noise). The
scale solving ``probability = target`` is found by Brent's method; a complication's logit
intercept likewise solves ``mean_i expit(a + b (MELD_i − ref)) = target``. The targets and their
sources are listed in each model file under ``calibration``; the resulting values are stored in
the model file and checked by ``tests/test_simulate.py`` against simulated control arms.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from hepatrial.simulate import patients as pm
from hepatrial.simulate import trial
from hepatrial.stats.engine import FloatArray


def eligible_true_meld(model: pm.PatientModel, rng: np.random.Generator, n: int) -> FloatArray:
    """True MELD of ``n`` eligible participants of the model's protocol."""
    protocol = trial.cached_protocol(model.protocol)
    values, _ = trial.screen(protocol, model, rng, 1, n)
    meld_true = values["meld_continuous"][0]
    if model.meld_course is not None:
        meld_true = meld_true - model.meld_course.measurement_sd * rng.standard_normal(n)
    return np.asarray(meld_true)


def _scale(event: pm.EventHazard, excess: FloatArray, probability: float, day: float) -> float:
    multiplier = np.exp(event.per_meld_point * excess)

    def gap(log_scale: float) -> float:
        cumulative = (day / math.exp(log_scale)) ** event.shape * multiplier
        return float(1.0 - np.mean(np.exp(-cumulative))) - probability

    return math.exp(optimize.brentq(gap, math.log(day) - 20.0, math.log(day) + 20.0, xtol=1e-12))


def calibrate(model_id: str, *, n: int = 200_000, seed: int = 20_260_511) -> dict[str, float]:
    """Event scales (days) and complication intercepts that meet the model's targets.

    Returns ``{"death.scale_days": ..., "severe_infection.logit_intercept": ...}``.
    """
    model = pm.load_model(model_id)
    excess = eligible_true_meld(model, np.random.default_rng(seed), n) - model.reference_meld
    out: dict[str, float] = {}
    for name, target in model.calibration.items():
        probability = float(target["probability"])
        if name in model.events:
            day = float(target["by_day"])
            out[f"{name}.scale_days"] = _scale(model.events[name], excess, probability, day)
        elif name in model.binary:
            out[f"{name}.logit_intercept"] = _intercept(
                model.binary[name].per_meld_point * excess, probability
            )
    return out


def _intercept(linear: FloatArray, probability: float) -> float:
    def gap(a: float) -> float:
        return float(np.mean(special.expit(a + linear))) - probability

    return float(optimize.brentq(gap, -20.0, 20.0, xtol=1e-12))

"""Virtual patient models: parameters from YAML, and vectorized draws of patients and outcomes.

A model (``hepatrial/simulate/models/<id>.yaml``) describes the screened population (correlated
log-normal laboratory values in conventional units, and the clinical items the protocol's
eligibility reads), the course after randomization (MELD trajectory with between-patient drift
and measurement noise; event hazards that rise with MELD; a binary complication; dropout) and the
treatment effects it accepts. Every number in a model file is documented there with its source.

Arrays have shape ``(trials, patients)``. Every draw takes an explicit ``numpy.random.Generator``.
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hepatrial.exceptions import ProtocolError
from hepatrial.stats.engine import FloatArray

Array = npt.NDArray[Any]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Normal(_Strict):
    mean: float
    sd: float = Field(gt=0)


class LogNormal(_Strict):
    median: float = Field(gt=0)
    sdlog: float = Field(ge=0)


class Item(_Strict):
    """One screening item: exactly one of its distributions is given."""

    normal: Normal | None = None
    lognormal: LogNormal | None = None
    bernoulli: float | None = Field(default=None, ge=0, le=1)
    categorical: dict[str, float] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Item:
        given = [
            k
            for k in ("normal", "lognormal", "bernoulli", "categorical")
            if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(f"give exactly one distribution per item; got {given or 'none'}")
        if self.categorical is not None and not math.isclose(sum(self.categorical.values()), 1.0):
            raise ValueError(f"categorical probabilities must sum to 1; got {self.categorical}")
        return self


class Labs(_Strict):
    """Log-normal laboratory values (conventional units) correlated on the log scale."""

    values: dict[str, LogNormal]
    log_correlation: tuple[tuple[float, ...], ...]

    @model_validator(mode="after")
    def _shape(self) -> Labs:
        corr = np.asarray(self.log_correlation, dtype=float)
        k = len(self.values)
        if corr.shape != (k, k) or not np.allclose(corr, corr.T) or np.any(np.diag(corr) != 1):
            raise ValueError(
                f"log_correlation must be a symmetric {k}x{k} matrix with unit diagonal"
            )
        if np.linalg.eigvalsh(corr).min() <= 0:
            raise ValueError("log_correlation must be positive definite")
        return self


class MeldCourse(_Strict):
    """MELD after randomization: true MELD drifts linearly, each measurement adds noise."""

    measurement_sd: float = Field(ge=0)
    drift_mean_per_year: float
    drift_sd_per_year: float = Field(ge=0)


class EventHazard(_Strict):
    """Weibull hazard at the reference MELD, multiplied by exp(per_meld_point · (MELD − ref))."""

    shape: float = Field(default=1.0, gt=0)
    scale_days: float = Field(gt=0)
    per_meld_point: float = 0.0
    terminal: bool = True


class BinaryOutcome(_Strict):
    """A complication by a given day: logit P = intercept + per_meld_point · (MELD − ref)."""

    logit_intercept: float
    per_meld_point: float = 0.0
    by_day: int = Field(gt=0)


class Dropout(_Strict):
    """Exponential loss to follow-up: ``probability`` of dropping out by ``by_day``."""

    probability: float = Field(ge=0, lt=1)
    by_day: float = Field(gt=0)

    @property
    def hazard_per_day(self) -> float:
        return -math.log1p(-self.probability) / self.by_day


class Effects(_Strict):
    """Treatment effects the model accepts and the events a hazard ratio applies to."""

    hr_applies_to: tuple[str, ...]
    binary: str | None = None


class PatientModel(_Strict):
    """A virtual patient model, as read from its YAML file."""

    id: str
    title: str
    protocol: str
    derivation: str
    reference_meld: float
    accrual_per_month: float = Field(gt=0)
    labs: Labs
    items: dict[str, Item]
    meld_course: MeldCourse | None = None
    events: dict[str, EventHazard]
    binary: dict[str, BinaryOutcome] = {}
    dropout: Dropout
    effects: Effects
    calibration: dict[str, Any] = {}

    @model_validator(mode="after")
    def _effects_known(self) -> PatientModel:
        unknown = set(self.effects.hr_applies_to) - set(self.events)
        if unknown:
            raise ValueError(f"effects.hr_applies_to names unknown events {sorted(unknown)}")
        if self.effects.binary is not None and self.effects.binary not in self.binary:
            raise ValueError(f"effects.binary={self.effects.binary!r} is not a binary outcome")
        return self


MODELS: dict[str, str] = {
    "compensated-cirrhosis": "compensated_cirrhosis.yaml",
    "hbv-aclf": "hbv_aclf.yaml",
}
"""Built-in patient models."""

MODEL_FOR_PROTOCOL: dict[str, str] = {"match": "compensated-cirrhosis", "msc-aclf": "hbv-aclf"}
"""The patient model each built-in protocol is simulated with by default."""


@cache
def load_model(name: str) -> PatientModel:
    """Load a built-in patient model by id (see :data:`MODELS`)."""
    if name not in MODELS:
        raise ProtocolError(f"patient model {name!r} is unknown; built-in models: {sorted(MODELS)}")
    text = (
        resources.files("hepatrial.simulate")
        .joinpath("models")
        .joinpath(MODELS[name])
        .read_text("utf-8")
    )
    return PatientModel.model_validate(yaml.safe_load(text))


def draw_item(item: Item, rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    """Draw one screening item.

    Screening draws use single-precision uniforms and normals (about twice as fast; a screening
    value needs no more than 7 significant digits).
    """
    if item.normal is not None:
        normal = rng.standard_normal(shape, dtype=np.float32)
        return item.normal.mean + item.normal.sd * normal.astype(np.float64)
    if item.lognormal is not None:
        normal = rng.standard_normal(shape, dtype=np.float32).astype(np.float64)
        return np.asarray(item.lognormal.median * np.exp(item.lognormal.sdlog * normal))
    uniform = rng.random(shape, dtype=np.float32)
    if item.bernoulli is not None:
        return uniform < item.bernoulli
    levels = list(item.categorical or {})
    probabilities = np.array([(item.categorical or {})[k] for k in levels], dtype=np.float32)
    codes = np.searchsorted(np.cumsum(probabilities)[:-1], uniform, side="right")
    return np.asarray(levels)[codes]


def draw_candidates(
    model: PatientModel, rng: np.random.Generator, shape: tuple[int, int]
) -> dict[str, Array]:
    """Screening values of ``shape`` candidates: laboratory values and clinical items."""
    names = list(model.labs.values)
    chol = np.linalg.cholesky(np.asarray(model.labs.log_correlation)).astype(np.float32)
    independent = rng.standard_normal((len(names), shape[0] * shape[1]), dtype=np.float32)
    values: dict[str, Array] = {}
    for j, name in enumerate(names):
        # row j of chol @ independent, summed explicitly: numpy's matmul is slow for 3 x N;
        # single precision as in draw_item, converted to float64 for the scores
        normal = sum(chol[j, i] * independent[i] for i in range(j + 1))
        spec = model.labs.values[name]
        log_value = np.float32(spec.sdlog) * normal
        values[name] = (spec.median * np.exp(log_value).astype(np.float64)).reshape(shape)
    for name, item in model.items.items():
        values[name] = draw_item(item, rng, shape)
    return values


def event_times(
    model: PatientModel,
    rng: np.random.Generator,
    meld_true: FloatArray,
    treated: npt.NDArray[np.bool_],
    hr: float,
) -> dict[str, FloatArray]:
    """Latent time (days) to each event; the hazard ratio applies to treated participants.

    With cumulative hazard Λ(t) = m · (t / scale)^shape and multiplier
    m = exp(b (MELD − ref)) · HR^treated, the time is scale · (E / m)^(1/shape), E ~ Exp(1).
    """
    times: dict[str, FloatArray] = {}
    excess = meld_true - model.reference_meld
    log_hr = math.log(hr)
    for name, event in model.events.items():
        log_m = event.per_meld_point * excess
        if name in model.effects.hr_applies_to:
            log_m = log_m + log_hr * treated
        unit = rng.standard_exponential(meld_true.shape)
        times[name] = event.scale_days * (unit * np.exp(-log_m)) ** (1.0 / event.shape)
    return times


def binary_outcome(
    model: PatientModel,
    name: str,
    rng: np.random.Generator,
    meld_true: FloatArray,
    treated: npt.NDArray[np.bool_],
    risk_ratio: float,
) -> npt.NDArray[np.bool_]:
    """Whether each participant has complication ``name``; the risk ratio scales P if treated."""
    spec = model.binary[name]
    p = 1.0 / (
        1.0
        + np.exp(-(spec.logit_intercept + spec.per_meld_point * (meld_true - model.reference_meld)))
    )
    if name == model.effects.binary:
        p = np.where(treated, np.minimum(p * risk_ratio, 1.0), p)
    return np.asarray(rng.random(meld_true.shape) < p)


def meld_at(
    course: MeldCourse,
    rng: np.random.Generator,
    meld_true: FloatArray,
    drift_per_year: FloatArray,
    day: float,
    shift: FloatArray | float = 0.0,
) -> FloatArray:
    """A measured MELD at ``day``: true MELD + drift · day/365.25 + shift + measurement noise."""
    noise = course.measurement_sd * rng.standard_normal(meld_true.shape)
    return np.asarray(meld_true + drift_per_year * (day / 365.25) + shift + noise)

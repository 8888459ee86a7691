"""Result types of the analysis plan and the context handlers share.

An :class:`EndpointResult` is one analysis of one endpoint with its provenance (dataset hash,
options, exclusions); :class:`PlanResults` gathers them with the protocol and software version.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hepatrial.analysis.adam import AdamDatasets
from hepatrial.protocol import Endpoint, Protocol
from hepatrial.stats.engine import Exclusion

POPULATION_FLAGS = {"itt": "ITTFL", "treated": "SAFFL", "per_protocol": "PPROTFL"}
TTE_PARAMS = {
    "death": "OS",
    "death_or_transplant": "TFS",
    "mof_or_infection_death": "DTHMOF",
    "severe_infection": "INFECT",
    "decompensation": "DECOMP",
}


@dataclass(frozen=True)
class Analysis:
    """One analysis to run: an endpoint with its estimator, population, CI and role."""

    endpoint: Endpoint
    role: str
    estimator: str
    population: str
    ci_method: str | None
    conf_level: float
    covariates: tuple[str, ...]


@dataclass(frozen=True)
class EndpointResult:
    """The result of one analysis, with provenance.

    ``estimate`` is experimental minus control (difference in means, survival, proportions) or
    experimental over control (rate ratio, hazard ratio); ``by_arm`` holds per-arm figures.
    ``status`` is ``"done"`` or ``"not run"`` with the reason in ``note``.
    """

    endpoint_id: str
    label: str
    kind: str
    role: str
    estimator: str
    population: str
    ci_method: str | None
    conf_level: float
    test: str | None
    status: str
    estimate_label: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n: int
    by_arm: dict[str, dict[str, float]]
    exclusions: tuple[Exclusion, ...]
    dataset_hash: str
    note: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def n_excluded(self) -> int:
        """Participants of the population left out, over every reason."""
        return sum(e.count for e in self.exclusions)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (NaN becomes null)."""
        data = asdict(self)
        data["n_excluded"] = self.n_excluded
        cleaned: dict[str, Any] = clean(data)
        return cleaned


def clean(value: Any) -> Any:
    """Make ``value`` JSON-ready: NaN to None, numpy scalars to Python."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


@dataclass(frozen=True)
class PlanResults:
    """Every analysis of the plan, the dataset hash and the software version."""

    protocol_id: str
    protocol_version: str
    dataset_hash: str
    software_version: str
    arms: dict[str, str]
    control_arm: str
    experimental_arm: str
    results: tuple[EndpointResult, ...]
    options: dict[str, Any]

    def result(self, endpoint_id: str, estimator: str | None = None) -> EndpointResult:
        """The result of ``endpoint_id`` (its main analysis unless ``estimator`` is given)."""
        for r in self.results:
            if r.endpoint_id == endpoint_id and (
                r.estimator == estimator if estimator else r.role in ("primary", "secondary")
            ):
                return r
        raise KeyError(f"no result for endpoint {endpoint_id!r} estimator {estimator!r}")

    @property
    def summary(self) -> pd.DataFrame:
        """One row per analysis."""
        cols = ["endpoint_id", "role", "estimator", "population", "n", "estimate"]
        cols += ["ci_low", "ci_high", "p_value", "status"]
        return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in self.results])

    def to_json(self) -> str:
        """Every result with its provenance, as JSON text."""
        payload = {
            "protocol": {"id": self.protocol_id, "version": self.protocol_version},
            "dataset_sha256": self.dataset_hash,
            "software": {"hepatrial": self.software_version},
            "arms": self.arms,
            "control_arm": self.control_arm,
            "experimental_arm": self.experimental_arm,
            "options": self.options,
            "results": [r.to_dict() for r in self.results],
        }
        return json.dumps(clean(payload), indent=2, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Context:
    adam: AdamDatasets
    protocol: Protocol
    experimental: str
    control: str
    dataset_hash: str

    def population(self, name: str) -> pd.DataFrame:
        adsl = self.adam.adsl
        return adsl[adsl[POPULATION_FLAGS[name]] == "Y"]


def base_result(ctx: Context, a: Analysis, **values: Any) -> EndpointResult:
    defaults: dict[str, Any] = {
        "endpoint_id": a.endpoint.id,
        "label": a.endpoint.label,
        "kind": a.endpoint.kind,
        "role": a.role,
        "estimator": a.estimator,
        "population": a.population,
        "ci_method": a.ci_method,
        "conf_level": a.conf_level,
        "test": a.endpoint.test if a.role in ("primary", "secondary") else None,
        "status": "done",
        "estimate_label": "",
        "estimate": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "n": 0,
        "by_arm": {},
        "exclusions": (),
        "dataset_hash": ctx.dataset_hash,
        "options": {
            "covariates": list(a.covariates),
            "time_horizon_days": a.endpoint.time_horizon_days,
        },
    }
    defaults.update(values)
    return EndpointResult(**defaults)

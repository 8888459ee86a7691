"""Design by simulation: virtual patients through the real protocol, allocation and estimators.

Owns the virtual patient models (``models/*.yaml``), the trial generator (:mod:`.trial`), the
analyses of simulated trials with optional group-sequential looks (:mod:`.analysis`), the runner
with its seeding, chunking and local or Dask backends (:mod:`.runner`) and power-curve plots
(:mod:`.plots`). May import :mod:`hepatrial.protocol`, :mod:`hepatrial.allocation`,
:mod:`hepatrial.scores`, :mod:`hepatrial.units`, :mod:`hepatrial.stats.batch` and
:mod:`hepatrial.design`; never the store, the service or a front end.
Names are resolved lazily so that the command line starts quickly.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "Scenario": "runner",
    "SimulationResult": "results",
    "simulate": "runner",
    "simulate_grid": "runner",
    "GridResult": "results",
    "PatientModel": "patients",
    "load_model": "patients",
    "MODELS": "patients",
    "calibrate": "calibration",
    "power_curve_figure": "plots",
    "write_power_curves": "plots",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hepatrial.simulate' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hepatrial.simulate.{module}"), name)

"""Design by simulation: virtual patients through the real protocol, allocation and estimators.

Owns the virtual patient models (``models/*.yaml``), the trial generator (:mod:`.trial`), the
analyses of simulated trials with optional group-sequential looks (:mod:`.analysis`), the runner
with its seeding, chunking and local or Dask backends (:mod:`.runner`) and power-curve plots
(:mod:`.plots`). May import :mod:`hepatrial.protocol`, :mod:`hepatrial.allocation`,
:mod:`hepatrial.scores`, :mod:`hepatrial.units`, :mod:`hepatrial.stats` (the batch engine and
:mod:`hepatrial.stats.engine`) and :mod:`hepatrial.design`; never the store, the service, the
analysis pipeline or a front end.
"""

from __future__ import annotations

from hepatrial.simulate.calibration import calibrate
from hepatrial.simulate.patients import MODELS, PatientModel, load_model
from hepatrial.simulate.plots import power_curve_figure, write_power_curves
from hepatrial.simulate.results import GridResult, SimulationResult
from hepatrial.simulate.runner import Scenario, simulate, simulate_grid

__all__ = [
    "GridResult",
    "MODELS",
    "PatientModel",
    "Scenario",
    "SimulationResult",
    "calibrate",
    "load_model",
    "power_curve_figure",
    "simulate",
    "simulate_grid",
    "write_power_curves",
]

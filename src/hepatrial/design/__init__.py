"""Analytic trial design: sample sizes, group-sequential boundaries and assurance.

Owns closed-form and numerically integrated design calculations, validated against R rpact
(``tests/validation/test_design_vs_rpact.py``). May import numpy, scipy and pandas; never the
store, the simulator or a web framework. Alpha is two-sided unless ``sided=1``.
"""

from __future__ import annotations

from hepatrial.design.assurance import AssuranceResult, assurance
from hepatrial.design.group_sequential import GsBoundaries, gs_boundaries, spending_function
from hepatrial.design.sample_size import (
    EventsResult,
    SampleSizeResult,
    events_survival,
    n_mean_difference,
    n_proportions,
)
from hepatrial.design.survival import (
    AccrualPlan,
    SurvivalSampleSize,
    event_probability,
    n_survival,
)

__all__ = [
    "AccrualPlan",
    "AssuranceResult",
    "EventsResult",
    "GsBoundaries",
    "SampleSizeResult",
    "SurvivalSampleSize",
    "assurance",
    "event_probability",
    "events_survival",
    "gs_boundaries",
    "n_mean_difference",
    "n_proportions",
    "n_survival",
    "spending_function",
]

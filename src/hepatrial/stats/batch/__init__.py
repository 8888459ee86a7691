"""Batch engine: the single-trial estimators over many simulated trials at once.

Inputs are long arrays keyed by a trial index; every function gives, per trial, exactly the
numbers of its single-trial counterpart in :mod:`hepatrial.stats` (tests prove it), with numpy
vectorization and no Python loop per trial.
"""

from __future__ import annotations

from hepatrial.stats.batch.linear import ancova_many, compare_proportions_many
from hepatrial.stats.batch.survival import kaplan_meier_at_many, logrank_many

__all__ = [
    "ancova_many",
    "compare_proportions_many",
    "kaplan_meier_at_many",
    "logrank_many",
]

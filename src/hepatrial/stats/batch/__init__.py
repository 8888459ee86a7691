"""Batch engine: the single-trial estimators over many simulated trials at once.

Inputs are long arrays keyed by a trial index; every function gives, per trial, exactly the
numbers of its single-trial counterpart in :mod:`hepatrial.stats` (tests prove it), with numpy
vectorization and no Python loop per trial.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "logrank_many": "survival",
    "kaplan_meier_at_many": "survival",
    "ancova_many": "linear",
    "compare_proportions_many": "linear",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hepatrial.stats.batch' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hepatrial.stats.batch.{module}"), name)

"""Statistics core: estimators validated against R, and the batch engine for simulations.

Owns survival (Kaplan-Meier, log-rank, Cox), competing risks (Aalen-Johansen, Gray, Fine-Gray),
change from baseline (ANCOVA, t-tests), proportions and rates, and repeated measures (MMRM).
May import numpy, scipy, pandas and statsmodels; never the store, the report or a web framework.
Names are resolved lazily so that ``import hepatrial`` and the command line start quickly.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_EXPORTS: dict[str, str] = {
    "kaplan_meier": "survival",
    "kaplan_meier_by": "survival",
    "numbers_at_risk": "survival",
    "KaplanMeierResult": "survival",
    "KaplanMeierByGroup": "survival",
    "RestrictedMeanSurvival": "survival",
    "logrank": "logrank",
    "LogrankResult": "logrank",
    "cox_ph": "cox",
    "CoxResult": "cox",
    "cumulative_incidence": "competing",
    "gray_test": "competing",
    "fine_gray": "competing",
    "GrayTestResult": "competing",
    "CumulativeIncidenceResult": "competing",
    "FineGrayResult": "competing",
    "ancova": "ancova",
    "change_from_baseline": "ancova",
    "AncovaResult": "ancova",
    "compare_proportions": "proportions",
    "ProportionsResult": "proportions",
    "rate_ratio": "rates",
    "RateRatioResult": "rates",
    "mmrm": "mmrm",
    "MmrmResult": "mmrm",
}

__all__ = sorted(_EXPORTS)


class _StatsPackage(types.ModuleType):
    """Keeps ``hepatrial.stats.logrank`` (and ``mmrm``) the function, not the same-named module.

    Importing a submodule binds it on its package; for modules named like the function they
    export, that binding would shadow the function.
    """

    def __setattr__(self, key: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(key) == key:
            return
        super().__setattr__(key, value)


sys.modules[__name__].__class__ = _StatsPackage


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hepatrial.stats' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hepatrial.stats.{module}"), name)

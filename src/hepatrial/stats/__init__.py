"""Statistics core: estimators validated against R, and the batch engine for simulations.

Owns survival (Kaplan-Meier, log-rank, Cox), competing risks (Aalen-Johansen, Gray, Fine-Gray),
change from baseline (ANCOVA, t-tests), proportions and rates, and repeated measures (MMRM).
May import numpy, scipy, pandas and statsmodels; never the store, the report or a web framework.
Packages built on the estimators take the array types, exclusion records and the rendering mixin
from :mod:`hepatrial.stats.engine`, never from a private module.

``hepatrial.stats.logrank`` and ``hepatrial.stats.mmrm`` are the functions: the imports below
bind them after their same-named modules, which stay importable as
``from hepatrial.stats.logrank import ...``.
"""

from __future__ import annotations

from hepatrial.stats.ancova import AncovaResult, ancova, change_from_baseline
from hepatrial.stats.competing import (
    CumulativeIncidenceResult,
    FineGrayResult,
    GrayTestResult,
    cumulative_incidence,
    fine_gray,
    gray_test,
)
from hepatrial.stats.cox import CoxResult, cox_ph
from hepatrial.stats.logrank import LogrankResult, logrank
from hepatrial.stats.mmrm import MmrmResult, mmrm
from hepatrial.stats.proportions import ProportionsResult, compare_proportions
from hepatrial.stats.rates import RateColumns, RateRatioResult, rate_ratio
from hepatrial.stats.survival import (
    KaplanMeierByGroup,
    KaplanMeierResult,
    RestrictedMeanSurvival,
    kaplan_meier,
    kaplan_meier_by,
    numbers_at_risk,
)

__all__ = [
    "AncovaResult",
    "CoxResult",
    "CumulativeIncidenceResult",
    "FineGrayResult",
    "GrayTestResult",
    "KaplanMeierByGroup",
    "KaplanMeierResult",
    "LogrankResult",
    "MmrmResult",
    "ProportionsResult",
    "RateColumns",
    "RateRatioResult",
    "RestrictedMeanSurvival",
    "ancova",
    "change_from_baseline",
    "compare_proportions",
    "cox_ph",
    "cumulative_incidence",
    "fine_gray",
    "gray_test",
    "kaplan_meier",
    "kaplan_meier_by",
    "logrank",
    "mmrm",
    "numbers_at_risk",
    "rate_ratio",
]

"""Unit-safe, vectorized hepatology scores.

Every score takes keyword arguments named after the analyte. Plain numbers are conventional US
units (bilirubin and creatinine mg/dL, albumin g/dL, sodium mmol/L, INR ratio, counts 10^9/L,
AST/ALT U/L, age years); :class:`hepatrial.units.Quantity` inputs are converted. A single value
gives a float (or a result object of scalars); arrays or pandas Series give arrays. Implausible
or missing values raise :class:`hepatrial.exceptions.UnitError`.

:func:`score_cohort` scores a whole DataFrame and reports every invalid row instead of raising;
:func:`example_cohort` loads the bundled synthetic cohort.

This package imports only :mod:`hepatrial.units`, :mod:`hepatrial.exceptions`, numpy and pandas.
"""

from hepatrial.scores.aclf import (
    ORGANS,
    ClifOfResult,
    aclf_grade,
    clif_c_aclf,
    clif_c_ad,
    clif_of,
)
from hepatrial.scores.apasl import AarcResult, aarc, cossh_aclf_ii
from hepatrial.scores.child_pugh import ChildPughResult, child_pugh
from hepatrial.scores.cohort import SCORE_INPUTS, SCORES, ScoredCohort, example_cohort, score_cohort
from hepatrial.scores.fibrosis import AlbiResult, albi, apri, elf, fib4
from hepatrial.scores.mayo import mayo_pbc
from hepatrial.scores.meld import meld, meld_3, meld_na

__all__ = [
    "ORGANS",
    "SCORES",
    "SCORE_INPUTS",
    "AarcResult",
    "AlbiResult",
    "ChildPughResult",
    "ClifOfResult",
    "ScoredCohort",
    "aarc",
    "aclf_grade",
    "albi",
    "apri",
    "child_pugh",
    "clif_c_aclf",
    "clif_c_ad",
    "clif_of",
    "cossh_aclf_ii",
    "elf",
    "example_cohort",
    "fib4",
    "mayo_pbc",
    "meld",
    "meld_3",
    "meld_na",
    "score_cohort",
]

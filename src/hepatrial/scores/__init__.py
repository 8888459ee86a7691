"""Unit-safe, vectorized hepatology scores.

Every score takes keyword arguments named after the analyte. Plain numbers are conventional US
units (bilirubin and creatinine mg/dL, albumin g/dL, sodium mmol/L, INR ratio, counts 10^9/L,
AST/ALT U/L, age years); :class:`hepatrial.units.Quantity` inputs are converted. A single value
gives a float (or a result object of scalars); arrays or pandas Series give arrays. Implausible
or missing values raise :class:`hepatrial.exceptions.UnitError`.

This package imports only :mod:`hepatrial.units`, :mod:`hepatrial.exceptions`, numpy and pandas.
"""

from hepatrial.scores.child_pugh import ChildPughResult, child_pugh
from hepatrial.scores.meld import meld, meld_3, meld_na

__all__ = [
    "ChildPughResult",
    "child_pugh",
    "meld",
    "meld_3",
    "meld_na",
]

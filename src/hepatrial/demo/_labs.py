"""Laboratory values that give an exact continuous MELD, for the reconstruction.

The continuous UNOS MELD is ``10 * (0.957 ln Cr' + 0.378 ln Bili' + 1.120 ln INR' + 0.643)``
with bilirubin and creatinine in mg/dL floored at 1.0 and creatinine capped at 4.0 (Wiesner
et al., Gastroenterology 2003;124:91-96). Given a target score the excess over 6.43 is split
at random between the three laboratory terms and each term is inverted, so the laboratory values
reproduce the target to floating-point precision.
"""

from __future__ import annotations

import math

import numpy as np

from hepatrial.demo.records import LabRecord

MELD_FLOOR = 6.43
_BILIRUBIN_COEF = 3.78
_INR_COEF = 11.2
_CREATININE_COEF = 9.57


def labs_for_meld(meld: float, day: int, rng: np.random.Generator) -> tuple[LabRecord, ...]:
    """Bilirubin (mg/dL), INR and creatinine (mg/dL) whose continuous MELD equals ``meld``.

    Raises
    ------
    ValueError
        If ``meld`` is below 6.43, the value of the formula with every input at its floor.
    """
    excess = meld - MELD_FLOOR
    if excess <= 0:
        raise ValueError(f"meld={meld:.3f} is below the floor of the formula ({MELD_FLOOR})")
    if rng.random() < 0.6:
        bilirubin_share, inr_share = rng.dirichlet([2.0, 2.5])
        creatinine = float(rng.uniform(0.55, 0.99))
    else:
        bilirubin_share, inr_share, creatinine_share = rng.dirichlet([2.0, 2.5, 1.0])
        # keep creatinine below the formula's 4.0 mg/dL cap, where it would stop counting
        capped = min(creatinine_share, 0.95 * math.log(4.0) * _CREATININE_COEF / excess)
        bilirubin_share += creatinine_share - capped
        creatinine = math.exp(capped * excess / _CREATININE_COEF)
    bilirubin = math.exp(bilirubin_share * excess / _BILIRUBIN_COEF)
    inr = math.exp(inr_share * excess / _INR_COEF)
    return (
        LabRecord(day, "bilirubin", bilirubin, "mg/dL"),
        LabRecord(day, "inr", inr, "ratio"),
        LabRecord(day, "creatinine", creatinine, "mg/dL"),
    )


def continuous_meld(bilirubin_mg_dl: float, inr: float, creatinine_mg_dl: float) -> float:
    """The continuous (unrounded) UNOS MELD, used to check the inversion above."""
    bili = max(bilirubin_mg_dl, 1.0)
    ratio = max(inr, 1.0)
    creat = min(max(creatinine_mg_dl, 1.0), 4.0)
    return 10.0 * (
        0.957 * math.log(creat) + 0.378 * math.log(bili) + 1.120 * math.log(ratio) + 0.643
    )

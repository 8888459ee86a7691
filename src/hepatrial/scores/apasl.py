"""Asian scores for acute-on-chronic liver failure: APASL AARC and COSSH-ACLF II."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hepatrial.scores._inputs import (
    FloatArray,
    IntArray,
    Number,
    all_scalar,
    broadcast,
    finish,
    lab,
)
from hepatrial.scores.aclf import he_grade_codes
from hepatrial.units import BILIRUBIN_MG_DL_TO_UMOL_L, BUN_MG_DL_TO_UREA_MMOL_L


@dataclass(frozen=True)
class AarcResult:
    """AARC score (5-15) and grade (1, 2, 3) with the points of each item."""

    score: Any
    grade: Any
    bilirubin_points: Any
    he_points: Any
    inr_points: Any
    lactate_points: Any
    creatinine_points: Any

    @property
    def summary(self) -> pd.DataFrame:
        """One row per patient: item points, score and grade."""
        names = ("bilirubin", "he", "inr", "lactate", "creatinine")
        frame = pd.DataFrame(
            {f"{n}_points": np.atleast_1d(getattr(self, f"{n}_points")) for n in names}
        )
        frame["aarc"] = np.atleast_1d(self.score)
        frame["aarc_grade"] = np.atleast_1d(self.grade)
        return frame


def _closed_middle(values: FloatArray, low: float, high: float) -> IntArray:
    """1 below ``low``; 2 from ``low`` to ``high`` inclusive; 3 above ``high``."""
    return np.where(values < low, 1, np.where(values <= high, 2, 3)).astype(np.int64)


def aarc(*, bilirubin: Any, he_grade: Any, inr: Any, lactate: Any, creatinine: Any) -> AarcResult:
    """APASL ACLF Research Consortium (AARC) score and grade.

    Points (Choudhury 2017; the middle bands include both ends)::

        item                    1        2            3
        bilirubin (mg/dL)       < 15     15 - 25      > 25
        HE (West Haven)         0        1 - 2        3 - 4
        INR                     < 1.8    1.8 - 2.5    > 2.5
        lactate (mmol/L)        < 1.5    1.5 - 2.5    > 2.5
        creatinine (mg/dL)      < 0.7    0.7 - 1.5    > 1.5

        score 5-15; grade I 5-7, grade II 8-10, grade III 11-15

    Parameters
    ----------
    bilirubin, creatinine
        mg/dL or quantities.
    he_grade
        West Haven grade 0-4.
    inr
        Ratio.
    lactate
        mmol/L (or ``Quantity(x, "mg/dL")``).

    Returns
    -------
    AarcResult
        ``.score`` and ``.grade`` (1, 2 or 3 for grades I-III).

    References
    ----------
    Choudhury A, Jindal A, Maiwall R, et al. Liver failure determines the outcome in patients
    of acute-on-chronic liver failure (ACLF): comparison of APASL ACLF research consortium
    (AARC) and CLIF-SOFA models. Hepatol Int 2017;11:461-471.

    Examples
    --------
    >>> result = aarc(bilirubin=20, he_grade=1, inr=2.0, lactate=1.2, creatinine=0.9)
    >>> result.score, result.grade
    (9, 2)
    """
    scalar = all_scalar(bilirubin, he_grade, inr, lactate, creatinine)
    bili, he, inr_, lac, cr = broadcast(
        lab(bilirubin, "bilirubin"),
        he_grade_codes(he_grade),
        lab(inr, "inr"),
        lab(lactate, "lactate"),
        lab(creatinine, "creatinine"),
    )
    points = {
        "bilirubin_points": _closed_middle(bili, 15.0, 25.0),
        "he_points": np.where(he >= 3, 3, np.where(he >= 1, 2, 1)).astype(np.int64),
        "inr_points": _closed_middle(inr_, 1.8, 2.5),
        "lactate_points": _closed_middle(lac, 1.5, 2.5),
        "creatinine_points": _closed_middle(cr, 0.7, 1.5),
    }
    score = sum(points.values(), np.zeros_like(bili, dtype=np.int64))
    grade = np.where(score <= 7, 1, np.where(score <= 10, 2, 3)).astype(np.int64)
    return AarcResult(
        score=finish(score, scalar),
        grade=finish(grade, scalar),
        **{name: finish(value, scalar) for name, value in points.items()},
    )


def cossh_aclf_ii(
    *, inr: Any, he_grade: Any, neutrophils: Any, bilirubin: Any, urea: Any, age: Any
) -> Number:
    """COSSH-ACLF II score for hepatitis B-related ACLF (Li 2021).

    Formula (natural logarithms; bilirubin in µmol/L and urea in mmol/L, as derived)::

        COSSH-ACLF IIs = 1.649 ln(INR) + 0.457 HE score + 0.425 ln(neutrophils [10^9/L])
                       + 0.396 ln(bilirubin [µmol/L]) + 0.576 ln(urea [mmol/L]) + 0.033 age
        HE score: 1 no encephalopathy, 2 West Haven grade 1-2, 3 grade 3-4

    Parameters
    ----------
    inr
        Ratio.
    he_grade
        West Haven grade 0-4 (mapped to the HE score 1/2/3 above).
    neutrophils
        10^9/L.
    bilirubin
        mg/dL as a plain number (converted with 17.1), or a quantity such as
        ``umol_per_l(300)``.
    urea
        A plain number is blood urea nitrogen in mg/dL, the conventional US unit (converted to
        urea with 0.357 mmol/L per mg/dL). For urea in mmol/L, as Chinese laboratories report
        it, pass ``mmol_per_l(value)``.
    age
        Years.

    References
    ----------
    Li J, Liang X, You S, et al. Development and validation of a new prognostic score for
    hepatitis B virus-related acute-on-chronic liver failure. J Hepatol 2021;75:1104-1115.

    Examples
    --------
    >>> from hepatrial.units import mmol_per_l, umol_per_l
    >>> round(cossh_aclf_ii(inr=2.0, he_grade=0, neutrophils=5.0, bilirubin=umol_per_l(300),
    ...                     urea=mmol_per_l(5.0), age=45), 3)
    6.955
    """
    scalar = all_scalar(inr, he_grade, neutrophils, bilirubin, urea, age)
    inr_, he, neut, bili, bun, age_ = broadcast(
        lab(inr, "inr"),
        he_grade_codes(he_grade),
        lab(neutrophils, "neutrophils"),
        lab(bilirubin, "bilirubin"),
        lab(urea, "urea"),
        lab(age, "age"),
    )
    he_score = np.where(he >= 3, 3, np.where(he >= 1, 2, 1))
    score = (
        1.649 * np.log(inr_)
        + 0.457 * he_score
        + 0.425 * np.log(neut)
        + 0.396 * np.log(bili * BILIRUBIN_MG_DL_TO_UMOL_L)
        + 0.576 * np.log(bun * BUN_MG_DL_TO_UREA_MMOL_L)
        + 0.033 * age_
    )
    return finish(score, scalar)  # type: ignore[no-any-return]

"""EASL-CLIF scores: CLIF-C organ failure (OF), ACLF grade, CLIF-C ACLF and CLIF-C AD.

Organ failures follow the CANONIC study (Moreau 2013) and the CLIF-C OF score (Jalan 2014):

==============  ============================  ==================  =========================
organ           subscore 1                    subscore 2          subscore 3 (= failure*)
==============  ============================  ==================  =========================
liver           bilirubin < 6 mg/dL           6 to < 12           >= 12 (option: > 12)
kidney          creatinine < 2 mg/dL          2 to < 3.5          >= 3.5 or renal replacement
brain           West Haven grade 0            grade 1-2           grade 3-4, or ventilated
                                                                  because of encephalopathy
coagulation     INR < 2.0                     2.0 to < 2.5        >= 2.5
circulation     MAP >= 70 mmHg                MAP < 70 mmHg       vasopressors
respiration     PaO2/FiO2 > 300               > 200 to 300        <= 200, or mechanical
                (SpO2/FiO2 > 357)             (> 214 to 357)      ventilation not because
                                                                  of encephalopathy
==============  ============================  ==================  =========================

\\* Kidney failure is creatinine >= 2.0 mg/dL or renal replacement therapy, so kidney
subscores 2 and 3 both count as failure; for every other organ failure is subscore 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from hepatrial.exceptions import UnitError
from hepatrial.scores._inputs import (
    BoolArray,
    FloatArray,
    IntArray,
    Number,
    all_scalar,
    broadcast,
    finish,
    flag,
    lab,
    optional_lab,
    ordinal,
)

LiverBoundary = Literal["ge12", "gt12"]

ORGANS = ("liver", "kidney", "brain", "coagulation", "circulation", "respiration")
"""The six organ systems of CLIF-C OF, in the order hepatrial reports them."""

HE_GRADE_WORDS = {
    "none": 0,
    "no": 0,
    "0": 0,
    "grade 0": 0,
    "grade 1": 1,
    "i": 1,
    "grade 2": 2,
    "ii": 2,
    "grade 3": 3,
    "iii": 3,
    "grade 4": 4,
    "iv": 4,
}
"""Accepted spellings of the West Haven grade of hepatic encephalopathy (0-4)."""


def he_grade_codes(value: Any, field: str = "he_grade") -> IntArray:
    """West Haven grade 0-4 from integers or the words in :data:`HE_GRADE_WORDS`."""
    return ordinal(value, field, HE_GRADE_WORDS, 4)


@dataclass(frozen=True)
class ClifOfResult:
    """CLIF-C OF score, the organ subscores and failures, and the EASL-CLIF ACLF grade.

    Attributes
    ----------
    score
        CLIF-C OF, 6-18 (sum of six subscores of 1-3).
    liver, kidney, brain, coagulation, circulation, respiration
        Subscores 1-3.
    failing_organs
        The failing organs: a tuple of organ names for one patient; for many, an array of
        tuples.
    n_failures
        Number of organ failures (0-6).
    aclf_grade
        0 (no ACLF), 1, 2 or 3 (three or more organ failures); see :func:`aclf_grade`.
    """

    score: Any
    liver: Any
    kidney: Any
    brain: Any
    coagulation: Any
    circulation: Any
    respiration: Any
    failing_organs: Any
    n_failures: Any
    aclf_grade: Any

    @property
    def summary(self) -> pd.DataFrame:
        """One row per patient: subscores, CLIF-C OF, failures and ACLF grade."""
        frame = pd.DataFrame({organ: np.atleast_1d(getattr(self, organ)) for organ in ORGANS})
        frame["clif_of"] = np.atleast_1d(self.score)
        failing = self.failing_organs if np.ndim(self.n_failures) else [self.failing_organs]
        frame["failing_organs"] = [",".join(organs) for organs in failing]
        frame["n_failures"] = np.atleast_1d(self.n_failures)
        frame["aclf_grade"] = np.atleast_1d(self.aclf_grade)
        return frame

    def __repr__(self) -> str:
        if np.ndim(self.score) == 0:
            return (
                f"ClifOfResult(score={self.score}, failing_organs={self.failing_organs}, "
                f"aclf_grade={self.aclf_grade})"
            )
        return f"ClifOfResult({np.size(self.score)} patients)"


def _bands(values: FloatArray, edge_2: float, edge_3: float, *, closed_3: bool) -> IntArray:
    """1 below ``edge_2``; 2 from ``edge_2``; 3 from ``edge_3`` (or above it if not closed)."""
    three = values >= edge_3 if closed_3 else values > edge_3
    return np.where(three, 3, np.where(values >= edge_2, 2, 1)).astype(np.int64)


def _respiration(
    pao2_fio2: FloatArray, spo2_fio2: FloatArray, ventilated: BoolArray, missing_as_normal: bool
) -> IntArray:
    by_pao2 = np.where(pao2_fio2 <= 200, 3, np.where(pao2_fio2 <= 300, 2, 1))
    by_spo2 = np.where(spo2_fio2 <= 214, 3, np.where(spo2_fio2 <= 357, 2, 1))
    missing = np.isnan(pao2_fio2) & np.isnan(spo2_fio2) & ~ventilated
    if missing.any() and not missing_as_normal:
        first = int(np.flatnonzero(missing)[0])
        raise UnitError(
            f"respiration: neither pao2_fio2 nor spo2_fio2 is given (first at index {first}, "
            f"{int(missing.sum())} in all); give one, or missing_as_normal=True to score it 1"
        )
    score = np.where(np.isnan(pao2_fio2), np.where(np.isnan(spo2_fio2), 1, by_spo2), by_pao2)
    return np.where(ventilated, 3, score).astype(np.int64)


def _circulation(
    map_mmhg: FloatArray, vasopressors: BoolArray, missing_as_normal: bool
) -> IntArray:
    missing = np.isnan(map_mmhg) & ~vasopressors
    if missing.any() and not missing_as_normal:
        first = int(np.flatnonzero(missing)[0])
        raise UnitError(
            f"circulation: mean_arterial_pressure is not given (first at index {first}, "
            f"{int(missing.sum())} in all); give it, or missing_as_normal=True to score it 1"
        )
    by_map = np.where(map_mmhg < 70, 2, 1)
    return np.where(vasopressors, 3, by_map).astype(np.int64)


@dataclass(frozen=True)
class _Organs:
    subscores: IntArray  # (n, 6) in ORGANS order
    failures: BoolArray  # (n, 6)
    creatinine_mg_dl: FloatArray
    he_grade: IntArray


def _assess(
    arrays: dict[str, Any], liver_boundary: LiverBoundary, missing_as_normal: bool
) -> _Organs:
    liver = _bands(arrays["bilirubin"], 6.0, 12.0, closed_3=liver_boundary == "ge12")
    rrt = arrays["renal_replacement"]
    kidney = np.where(rrt, 3, _bands(arrays["creatinine"], 2.0, 3.5, closed_3=True))
    he = arrays["he_grade"]
    brain = np.where(arrays["ventilated_for_he"] | (he >= 3), 3, np.where(he >= 1, 2, 1))
    coagulation = _bands(arrays["inr"], 2.0, 2.5, closed_3=True)
    circulation = _circulation(arrays["map"], arrays["vasopressors"], missing_as_normal)
    ventilated = arrays["ventilation"] & ~arrays["ventilated_for_he"]
    respiration = _respiration(arrays["pao2"], arrays["spo2"], ventilated, missing_as_normal)
    subscores = np.stack([liver, kidney, brain, coagulation, circulation, respiration], axis=1)
    failures = subscores == 3
    failures[:, 1] = subscores[:, 1] >= 2
    return _Organs(subscores.astype(np.int64), failures, arrays["creatinine"], he)


def _grade(organs: _Organs, renal_replacement: BoolArray) -> IntArray:
    """EASL-CLIF (CANONIC) ACLF grade from organ failures, raw creatinine and HE grade."""
    n = organs.failures.sum(axis=1)
    kidney_failed = organs.failures[:, 1]
    brain_failed = organs.failures[:, 2]
    cr = organs.creatinine_mg_dl
    kidney_dysfunction = (cr >= 1.5) & (cr < 2.0) & ~renal_replacement
    brain_dysfunction = (organs.he_grade >= 1) & (organs.he_grade <= 2)
    single = n == 1
    grade_1 = single & (
        kidney_failed
        | (brain_failed & kidney_dysfunction)
        | (~kidney_failed & ~brain_failed & (kidney_dysfunction | brain_dysfunction))
    )
    return np.where(n >= 3, 3, np.where(n == 2, 2, np.where(grade_1, 1, 0))).astype(np.int64)


def _organ_arrays(
    bilirubin: Any,
    creatinine: Any,
    he_grade: Any,
    inr: Any,
    mean_arterial_pressure: Any,
    vasopressors: Any,
    pao2_fio2: Any,
    spo2_fio2: Any,
    renal_replacement: Any,
    mechanical_ventilation: Any,
    ventilated_for_encephalopathy: Any,
) -> dict[str, Any]:
    names = (
        "bilirubin creatinine he_grade inr map vasopressors pao2 spo2 renal_replacement "
        "ventilation ventilated_for_he"
    ).split()
    values = broadcast(
        lab(bilirubin, "bilirubin"),
        lab(creatinine, "creatinine"),
        he_grade_codes(he_grade),
        lab(inr, "inr"),
        optional_lab(mean_arterial_pressure, "mean_arterial_pressure"),
        flag(vasopressors, "vasopressors"),
        optional_lab(pao2_fio2, "pao2_fio2"),
        optional_lab(spo2_fio2, "spo2_fio2"),
        flag(renal_replacement, "renal_replacement"),
        flag(mechanical_ventilation, "mechanical_ventilation"),
        flag(ventilated_for_encephalopathy, "ventilated_for_encephalopathy"),
    )
    return dict(zip(names, values, strict=True))


def clif_of(
    *,
    bilirubin: Any,
    creatinine: Any,
    he_grade: Any,
    inr: Any,
    mean_arterial_pressure: Any = None,
    vasopressors: Any = False,
    pao2_fio2: Any = None,
    spo2_fio2: Any = None,
    renal_replacement: Any = False,
    mechanical_ventilation: Any = False,
    ventilated_for_encephalopathy: Any = False,
    liver_boundary: LiverBoundary = "ge12",
    missing_as_normal: bool = False,
) -> ClifOfResult:
    """CLIF-C organ failure score, organ failures and ACLF grade (EASL-CLIF).

    Subscores follow the table in this module's docstring; ``score`` is their sum (6-18).
    Organ failure: liver bilirubin >= 12 mg/dL; kidney creatinine >= 2.0 mg/dL or renal
    replacement; brain West Haven grade 3-4 (or ventilation because of encephalopathy);
    coagulation INR >= 2.5; circulation vasopressors; respiration PaO2/FiO2 <= 200 or
    SpO2/FiO2 <= 214 (or mechanical ventilation for another reason).

    Parameters
    ----------
    bilirubin, creatinine
        mg/dL or quantities.
    he_grade
        West Haven grade of hepatic encephalopathy, 0-4.
    inr
        Ratio.
    mean_arterial_pressure
        mmHg. May be omitted (or NaN) when ``vasopressors`` is true.
    vasopressors
        Any vasopressor (terlipressin given for hepatorenal syndrome is a protocol decision;
        hepatrial counts what it is told).
    pao2_fio2, spo2_fio2
        Oxygenation ratios (PaO2 in mmHg over FiO2 as a fraction; SpO2 in % over FiO2).
        PaO2/FiO2 is used when given, otherwise SpO2/FiO2.
    renal_replacement
        Renal replacement therapy: kidney subscore 3 and kidney failure.
    mechanical_ventilation
        Respiration subscore 3 unless ``ventilated_for_encephalopathy`` is also true.
    ventilated_for_encephalopathy
        Ventilated because of encephalopathy: brain subscore 3 instead of respiration.
    liver_boundary
        ``"ge12"`` (default): bilirubin exactly 12.0 mg/dL is liver failure (subscore 3), as in
        the CANONIC and EASL 2023 definition "bilirubin >= 12 mg/dL". ``"gt12"``: the CLIF-C OF
        table's "> 12" reading, where 12.0 scores 2.
    missing_as_normal
        If true, a missing MAP (without vasopressors) or missing oxygenation ratios (without
        ventilation) scores 1; by default they raise ``UnitError``.

    Returns
    -------
    ClifOfResult

    References
    ----------
    Moreau R, Jalan R, Gines P, et al. Acute-on-chronic liver failure is a distinct syndrome
    that develops in patients with acute decompensation of cirrhosis. Gastroenterology
    2013;144:1426-1437. Jalan R, Saliba F, Pavesi M, et al. Development and validation of a
    prognostic score to predict mortality in patients with acute-on-chronic liver failure.
    J Hepatol 2014;61:1038-1047. EASL Clinical Practice Guidelines on acute-on-chronic liver
    failure. J Hepatol 2023;79:461-491.

    Examples
    --------
    >>> result = clif_of(bilirubin=13, creatinine=1.7, he_grade=0, inr=1.8,
    ...                  mean_arterial_pressure=75, pao2_fio2=350)
    >>> result.score, result.failing_organs, result.aclf_grade
    (8, ('liver',), 1)
    """
    if liver_boundary not in ("ge12", "gt12"):
        raise ValueError(f"liver_boundary={liver_boundary!r}; use 'ge12' or 'gt12'")
    inputs = (bilirubin, creatinine, he_grade, inr, mean_arterial_pressure, vasopressors)
    scalar = all_scalar(*inputs, pao2_fio2, spo2_fio2, renal_replacement, mechanical_ventilation)
    arrays = _organ_arrays(
        bilirubin,
        creatinine,
        he_grade,
        inr,
        mean_arterial_pressure,
        vasopressors,
        pao2_fio2,
        spo2_fio2,
        renal_replacement,
        mechanical_ventilation,
        ventilated_for_encephalopathy,
    )
    organs = _assess(arrays, liver_boundary, missing_as_normal)
    grade = _grade(organs, arrays["renal_replacement"])
    failing = np.empty(organs.failures.shape[0], dtype=object)
    failing[:] = [
        tuple(o for o, f in zip(ORGANS, row, strict=True) if f) for row in organs.failures
    ]
    sub = {organ: finish(organs.subscores[:, i], scalar) for i, organ in enumerate(ORGANS)}
    return ClifOfResult(
        score=finish(organs.subscores.sum(axis=1), scalar),
        failing_organs=failing[0] if scalar else failing,
        n_failures=finish(organs.failures.sum(axis=1).astype(np.int64), scalar),
        aclf_grade=finish(grade, scalar),
        **sub,
    )


def aclf_grade(**organ_data: Any) -> Any:
    """EASL-CLIF ACLF grade: 0 (no ACLF), 1, 2 or 3; takes the arguments of :func:`clif_of`.

    Rules (Moreau 2013, CANONIC)::

        no organ failure                                              -> 0 (no ACLF)
        single kidney failure                                         -> 1
        single brain failure with kidney dysfunction (Cr 1.5-1.99)    -> 1
        single liver, coagulation, circulation or respiration failure
            with kidney dysfunction and/or brain dysfunction (HE 1-2) -> 1
        any other single organ failure                                -> 0
        two organ failures                                            -> 2
        three or more                                                 -> 3

    Kidney dysfunction is judged on the raw creatinine (1.5 <= Cr < 2.0 mg/dL), which lies
    inside kidney subscore 1; the grade therefore cannot be computed from subscores alone.

    Returns
    -------
    int or numpy.ndarray
        The grade; an int for one patient.

    Examples
    --------
    >>> aclf_grade(bilirubin=3, creatinine=2.4, he_grade=0, inr=1.4,
    ...            mean_arterial_pressure=80, pao2_fio2=400)
    1
    """
    return clif_of(**organ_data).aclf_grade


def clif_c_aclf(*, clif_of: Any, age: Any, wbc: Any) -> Number:
    """CLIF-C ACLF score, for patients with ACLF (Jalan 2014).

    Formula (EF-CLIF; unrounded)::

        CLIF-C ACLF = 10 x (0.33 x CLIF-C OF + 0.04 x age [years] + 0.63 x ln(WBC [10^9/L]) - 2)

    Parameters
    ----------
    clif_of
        A :class:`ClifOfResult` or CLIF-C OF values (6-18).
    age
        Years.
    wbc
        White cell count, 10^9/L (a count per µL such as 8500 is refused; give
        ``Quantity(8500, "cells/µL")``).

    References
    ----------
    Jalan R, Saliba F, Pavesi M, et al. J Hepatol 2014;61:1038-1047.

    Examples
    --------
    >>> round(clif_c_aclf(clif_of=10, age=50, wbc=10), 2)
    47.51
    """
    of_value = clif_of.score if isinstance(clif_of, ClifOfResult) else clif_of
    scalar = all_scalar(of_value, age, wbc)
    of_array = np.atleast_1d(np.asarray(of_value, dtype=np.float64))
    bad = ~((of_array >= 6) & (of_array <= 18))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise UnitError(f"clif_of={of_array[first]:g} is outside the CLIF-C OF range 6-18")
    of_, age_, wbc_ = broadcast(of_array, lab(age, "age"), lab(wbc, "wbc"))
    score = 10.0 * (0.33 * of_ + 0.04 * age_ + 0.63 * np.log(wbc_) - 2.0)
    return finish(score, scalar)  # type: ignore[no-any-return]


def clif_c_ad(*, age: Any, creatinine: Any, inr: Any, wbc: Any, sodium: Any) -> Number:
    """CLIF-C AD score, for acute decompensation without ACLF (Jalan 2015).

    Formula (EF-CLIF; unrounded; no floor on creatinine)::

        CLIF-C AD = 10 x (0.03 x age + 0.66 x ln(creatinine [mg/dL]) + 1.71 x ln(INR)
                          + 0.88 x ln(WBC [10^9/L]) - 0.05 x sodium [mmol/L] + 8)

    Risk groups (Jalan 2015): <= 45 low, 46-59 intermediate, >= 60 high.

    References
    ----------
    Jalan R, Pavesi M, Saliba F, et al. The CLIF Consortium Acute Decompensation score
    (CLIF-C ADs) for prognosis of hospitalised cirrhotic patients without acute-on-chronic
    liver failure. J Hepatol 2015;62:831-840.

    Examples
    --------
    >>> round(clif_c_ad(age=60, creatinine=1.0, inr=1.0, wbc=1.0, sodium=140), 2)
    28.0
    """
    scalar = all_scalar(age, creatinine, inr, wbc, sodium)
    age_, cr, inr_, wbc_, na = broadcast(
        lab(age, "age"),
        lab(creatinine, "creatinine"),
        lab(inr, "inr"),
        lab(wbc, "wbc"),
        lab(sodium, "sodium"),
    )
    score = 10.0 * (
        0.03 * age_
        + 0.66 * np.log(cr)
        + 1.71 * np.log(inr_)
        + 0.88 * np.log(wbc_)
        - 0.05 * na
        + 8.0
    )
    return finish(score, scalar)  # type: ignore[no-any-return]

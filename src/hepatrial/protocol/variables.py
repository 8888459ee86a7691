"""The variables an eligibility expression can read, besides the protocol's own facts.

Three families, each name saying its unit:

* patient items: ``age`` (years, completed) and ``sex`` (``"female"`` or ``"male"``);
* laboratory values, each converted from the unit it was reported in to the unit in its name
  (``bilirubin_mg_dl``, ``bilirubin_umol_l``, ``inr``, ...);
* scores computed from the laboratory values and clinical items (``meld``, ``meld_na``, ``meld_3``,
  ``child_pugh``, ``child_pugh_class``, ``clif_of``, ``aclf_grade``, ``aarc``).

Clinical items that the scores need (dialysis, ascites, encephalopathy grade, ...) are declared in
:data:`CLINICAL_ITEMS`; they are given with the patient, not with the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

PATIENT_VARIABLES: dict[str, str] = {
    "age": "age in completed years at screening",
    "sex": 'sex recorded for MELD 3.0: "female" or "male"',
}


@dataclass(frozen=True)
class LabVariable:
    """An expression variable holding one laboratory value in one unit."""

    analyte: str
    unit: str


LAB_VARIABLES: dict[str, LabVariable] = {
    "bilirubin_mg_dl": LabVariable("bilirubin", "mg/dL"),
    "bilirubin_umol_l": LabVariable("bilirubin", "µmol/L"),
    "creatinine_mg_dl": LabVariable("creatinine", "mg/dL"),
    "creatinine_umol_l": LabVariable("creatinine", "µmol/L"),
    "inr": LabVariable("inr", "1"),
    "sodium_mmol_l": LabVariable("sodium", "mmol/L"),
    "albumin_g_dl": LabVariable("albumin", "g/dL"),
    "albumin_g_l": LabVariable("albumin", "g/L"),
    "platelets_10e9_l": LabVariable("platelets", "10^9/L"),
    "wbc_10e9_l": LabVariable("wbc", "10^9/L"),
    "lactate_mmol_l": LabVariable("lactate", "mmol/L"),
    "ast_u_l": LabVariable("ast", "U/L"),
    "alt_u_l": LabVariable("alt", "U/L"),
}
"""Expression variable -> (analyte, unit the value is converted to)."""

ANALYTES: frozenset[str] = frozenset(v.analyte for v in LAB_VARIABLES.values())

CLINICAL_ITEMS: dict[str, str] = {
    "dialysis": "two or more dialysis sessions, or 24 h of CVVHD, in the prior 7 days (yes/no)",
    "ascites": 'ascites grade for Child-Pugh: "none", "mild" or "moderate_severe"',
    "encephalopathy_grade": "West-Haven hepatic encephalopathy grade 0-4",
    "vasopressors": "on vasopressors for circulatory failure (yes/no), for CLIF-C OF",
    "mean_arterial_pressure": "mean arterial pressure (mmHg), for CLIF-C OF without vasopressors",
    "pao2_fio2": "PaO2/FiO2 ratio (mmHg), for CLIF-C OF",
    "spo2_fio2": "SpO2/FiO2 ratio, for CLIF-C OF when no arterial gas",
}


@dataclass(frozen=True)
class ScoreVariable:
    """A score an expression can read, with the analytes and clinical items it needs.

    ``circulation`` means mean arterial pressure or vasopressors; ``respiration`` means PaO2/FiO2
    or SpO2/FiO2.
    """

    description: str
    analytes: tuple[str, ...]
    clinical: tuple[str, ...] = ()


SCORE_VARIABLES: dict[str, ScoreVariable] = {
    "meld": ScoreVariable(
        "MELD in the variant the protocol names (eligibility.meld_variant)",
        ("bilirubin", "inr", "creatinine"),
        ("dialysis",),
    ),
    "meld_na": ScoreVariable(
        "MELD-Na (OPTN 2016)", ("bilirubin", "inr", "creatinine", "sodium"), ("dialysis",)
    ),
    "meld_3": ScoreVariable(
        "MELD 3.0 (OPTN 2023)",
        ("bilirubin", "inr", "creatinine", "sodium", "albumin"),
        ("dialysis", "sex"),
    ),
    "child_pugh": ScoreVariable(
        "Child-Turcotte-Pugh points (5-15)",
        ("bilirubin", "albumin", "inr"),
        ("ascites", "encephalopathy_grade"),
    ),
    "child_pugh_class": ScoreVariable(
        'Child-Turcotte-Pugh class "A", "B" or "C"',
        ("bilirubin", "albumin", "inr"),
        ("ascites", "encephalopathy_grade"),
    ),
    "clif_of": ScoreVariable(
        "CLIF-C organ failure score (6-18)",
        ("bilirubin", "creatinine", "inr"),
        ("encephalopathy_grade", "circulation", "respiration"),
    ),
    "aclf_grade": ScoreVariable(
        "EASL-CLIF ACLF grade 0-3 (0 = no ACLF)",
        ("bilirubin", "creatinine", "inr"),
        ("encephalopathy_grade", "circulation", "respiration"),
    ),
    "aarc": ScoreVariable(
        "AARC score (5-15)",
        ("bilirubin", "inr", "lactate", "creatinine"),
        ("encephalopathy_grade",),
    ),
}

RESERVED_NAMES: frozenset[str] = frozenset(
    set(PATIENT_VARIABLES) | set(LAB_VARIABLES) | set(SCORE_VARIABLES)
)
"""Names a protocol fact may not take, because screening computes them."""

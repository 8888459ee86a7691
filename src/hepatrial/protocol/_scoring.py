"""Expression variables from screening labs: lab values in named units and hepatology scores.

Scores come from :mod:`hepatrial.scores` (never re-implemented here); this module only decides
which inputs each needs and what to say when one is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from hepatrial import scores
from hepatrial.protocol.expressions import Value
from hepatrial.protocol.models import MeldVariant
from hepatrial.protocol.patient import ClinicalItems, Patient
from hepatrial.protocol.variables import LAB_VARIABLES, SCORE_VARIABLES
from hepatrial.units import conventional_unit, convert

_ASCITES = {"none": 0, "mild": 1, "moderate_severe": 2}

_MELD_ANALYTES: dict[str, tuple[str, ...]] = {
    "unos_unrounded": ("bilirubin", "inr", "creatinine"),
    "unos": ("bilirubin", "inr", "creatinine"),
    "meld_na": ("bilirubin", "inr", "creatinine", "sodium"),
    "meld_3": ("bilirubin", "inr", "creatinine", "sodium", "albumin"),
}


def lab_variables(conventional: Mapping[str, float]) -> dict[str, Value]:
    """Every lab expression variable whose analyte has a usable value (in the variable's unit)."""
    out: dict[str, Value] = {}
    for name, variable in LAB_VARIABLES.items():
        if variable.analyte in conventional:
            value = convert(
                conventional[variable.analyte],
                variable.analyte,
                conventional_unit(variable.analyte),
                variable.unit,
            )
            out[name] = float(value)
    return out


@dataclass(frozen=True)
class _Inputs:
    labs: Mapping[str, float]
    clinical: ClinicalItems
    sex: str | None
    meld_variant: MeldVariant


def _meld_family(inputs: _Inputs, variant: MeldVariant) -> float:
    labs, dialysis = inputs.labs, inputs.clinical.dialysis
    bilirubin, inr, creatinine = labs["bilirubin"], labs["inr"], labs["creatinine"]
    if variant in ("unos_unrounded", "unos"):
        rounding: Literal["optn", "continuous"] = (
            "continuous" if variant == "unos_unrounded" else "optn"
        )
        return float(
            scores.meld(
                bilirubin=bilirubin,
                inr=inr,
                creatinine=creatinine,
                dialysis=dialysis,
                rounding=rounding,
            )
        )
    if variant == "meld_na":
        return float(
            scores.meld_na(
                bilirubin=bilirubin,
                inr=inr,
                creatinine=creatinine,
                sodium=labs["sodium"],
                dialysis=dialysis,
            )
        )
    return float(
        scores.meld_3(
            sex=inputs.sex,
            bilirubin=bilirubin,
            sodium=labs["sodium"],
            inr=inr,
            creatinine=creatinine,
            albumin=labs["albumin"],
            dialysis=dialysis,
        )
    )


def _child_pugh(inputs: _Inputs) -> scores.ChildPughResult:
    grade = inputs.clinical.encephalopathy_grade or 0
    return scores.child_pugh(
        bilirubin=inputs.labs["bilirubin"],
        albumin=inputs.labs["albumin"],
        inr=inputs.labs["inr"],
        ascites=_ASCITES[inputs.clinical.ascites or "none"],
        encephalopathy=0 if grade == 0 else (1 if grade <= 2 else 2),
    )


def _clif(inputs: _Inputs) -> scores.ClifOfResult:
    clinical = inputs.clinical
    return scores.clif_of(
        bilirubin=inputs.labs["bilirubin"],
        creatinine=inputs.labs["creatinine"],
        he_grade=clinical.encephalopathy_grade,
        inr=inputs.labs["inr"],
        mean_arterial_pressure=clinical.mean_arterial_pressure,
        vasopressors=clinical.vasopressors,
        pao2_fio2=clinical.pao2_fio2,
        spo2_fio2=clinical.spo2_fio2,
        renal_replacement=clinical.dialysis,
    )


def _aarc(inputs: _Inputs) -> int:
    result = scores.aarc(
        bilirubin=inputs.labs["bilirubin"],
        he_grade=inputs.clinical.encephalopathy_grade,
        inr=inputs.labs["inr"],
        lactate=inputs.labs["lactate"],
        creatinine=inputs.labs["creatinine"],
    )
    return int(result.score)


_COMPUTE: dict[str, Callable[[_Inputs], Value]] = {
    "meld": lambda i: _meld_family(i, i.meld_variant),
    "meld_na": lambda i: _meld_family(i, "meld_na"),
    "meld_3": lambda i: _meld_family(i, "meld_3"),
    "child_pugh": lambda i: int(_child_pugh(i).points),
    "child_pugh_class": lambda i: str(_child_pugh(i).class_),
    "clif_of": lambda i: int(_clif(i).score),
    "aclf_grade": lambda i: int(_clif(i).aclf_grade),
    "aarc": _aarc,
}


def _clinical_missing(item: str, clinical: ClinicalItems, sex: str | None) -> bool:
    if item == "sex":
        return sex is None
    if item == "circulation":
        return clinical.mean_arterial_pressure is None and not clinical.vasopressors
    if item == "respiration":
        return clinical.pao2_fio2 is None and clinical.spo2_fio2 is None
    if item in ("ascites", "encephalopathy_grade"):
        return getattr(clinical, item) is None
    return False


def _requirements(name: str, variant: MeldVariant) -> tuple[tuple[str, ...], tuple[str, ...]]:
    spec = SCORE_VARIABLES[name]
    if name == "meld":
        clinical = ("dialysis", "sex") if variant == "meld_3" else ("dialysis",)
        return _MELD_ANALYTES[variant], clinical
    return spec.analytes, spec.clinical


def score_variables(
    names: frozenset[str],
    conventional: Mapping[str, float],
    lab_problems: Mapping[str, str],
    patient: Patient,
    meld_variant: MeldVariant,
) -> tuple[dict[str, Value], dict[str, str]]:
    """Compute the scores in ``names``; return (values, reason each unavailable one is missing)."""
    inputs = _Inputs(conventional, patient.clinical, patient.sex, meld_variant)
    values: dict[str, Value] = {}
    unavailable: dict[str, str] = {}
    for name in sorted(names & set(SCORE_VARIABLES)):
        analytes, clinical = _requirements(name, meld_variant)
        missing = [lab_problems.get(a, f"no {a} result") for a in analytes if a not in conventional]
        missing += [
            f"clinical item {c!r} not given"
            for c in clinical
            if _clinical_missing(c, patient.clinical, patient.sex)
        ]
        if missing:
            unavailable[name] = f"{name} cannot be computed: " + "; ".join(missing)
        else:
            values[name] = _COMPUTE[name](inputs)
    return values, unavailable

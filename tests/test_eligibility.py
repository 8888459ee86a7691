"""Screening: scores from labs with units, stale labs refused, every criterion explained."""

from __future__ import annotations

import copy
import math
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepatrial.allocation import factor_levels
from hepatrial.exceptions import EligibilityError, UnitError
from hepatrial.protocol import Protocol, load_protocol, protocol_from_dict, screen
from hepatrial.scores import meld

ON = date(2026, 11, 10)
MATCH_FACTS = {
    "compensated_cirrhosis": True,
    "liver_stiffness_kpa": 21.5,
    "aetiology": "alcohol",
    "hcc": False,
    "other_active_malignancy": False,
    "pregnant_or_breastfeeding": False,
    "prior_liver_transplant": False,
}


def _labs(bilirubin: float, inr: float, creatinine: float, day: str = "2026-11-01") -> list[Any]:
    """Bilirubin and creatinine in µmol/L, as European laboratories report them."""
    return [
        {"analyte": "bilirubin", "value": bilirubin, "unit": "µmol/L", "collected_on": day},
        {"analyte": "inr", "value": inr, "unit": "ratio", "collected_on": day},
        {"analyte": "creatinine", "value": creatinine, "unit": "umol/L", "collected_on": day},
    ]


def _match_patient(**changes: Any) -> dict[str, Any]:
    patient = {"age": 54, "labs": _labs(34.2, 1.5, 88.4), "facts": dict(MATCH_FACTS)}
    patient.update(changes)
    return patient


@pytest.fixture(scope="module")
def match() -> Protocol:
    return load_protocol("match")


def test_eligible_patient_with_si_units(match: Protocol) -> None:
    """34.2 µmol/L bilirubin = 2.0 mg/dL, 88.4 µmol/L creatinine = 1.0 mg/dL, INR 1.5.

    Continuous UNOS MELD = 3.78 ln 2 + 11.2 ln 1.5 + 9.57 ln 1 + 6.43 = 2.62009 + 4.54121 + 6.43
    = 13.5913 (Kamath 2001 / OPTN formula without rounding).
    """
    result = screen(match, _match_patient(), on=ON)
    assert result.eligible and result.status == "eligible"
    expected = 3.78 * math.log(2.0) + 11.2 * math.log(1.5) + 6.43
    assert result.values["meld"] == pytest.approx(expected, rel=1e-12)
    assert result.values["bilirubin_mg_dl"] == pytest.approx(2.0)
    assert result.values["creatinine_umol_l"] == pytest.approx(88.4)
    assert [c.id for c in result.criteria] == [
        "meld_range",
        "age_range",
        "compensated_cirrhosis",
        "liver_stiffness",
        "hcc",
        "other_malignancy",
        "pregnancy",
        "transplant",
    ]
    assert result.criteria[0].reason == "met: meld >= 10 and meld <= 17 with meld=13.59"
    assert result.reasons == []
    assert list(result.summary.columns) == ["id", "kind", "label", "outcome", "passed", "reason"]
    result.raise_if_not_eligible()


def test_continuous_meld_matters_at_the_upper_limit(match: Protocol) -> None:
    """Bilirubin 2.0 mg/dL, INR 2.09, creatinine 1.0 mg/dL.

    Continuous MELD = 3.78 ln 2 + 11.2 ln 2.09 + 6.43 = 17.306: above 17, so MATCH (continuous
    MELD, an inferred assumption) refuses the patient. The integer UNOS MELD rounds it to 17,
    inside the range: a protocol using the integer variant accepts the same patient.
    """
    patient = _match_patient(labs=_labs(34.2, 2.09, 88.4))
    continuous = screen(match, patient, on=ON)
    assert continuous.status == "ineligible"
    assert continuous.values["meld"] == pytest.approx(
        3.78 * math.log(2.0) + 11.2 * math.log(2.09) + 6.43, rel=1e-12
    )
    assert continuous.reasons == ["meld_range: not met: meld >= 10 and meld <= 17 with meld=17.31"]
    data = match.model_dump(mode="python")
    data["eligibility"]["meld_variant"] = "unos"
    data["eligibility"]["assumptions"] = []
    integer = screen(protocol_from_dict(data), patient, on=ON)
    assert integer.values["meld"] == 17.0 and integer.eligible


def test_stale_labs_are_refused_with_reason(match: Protocol) -> None:
    result = screen(match, _match_patient(), on=date(2026, 12, 10))
    assert result.status == "incomplete" and not result.eligible
    meld = result.criteria[0]
    assert meld.outcome == "not_evaluable" and meld.passed is None
    assert "bilirubin 34.2 µmol/L of 2026-11-01 is 39 days old" in meld.reason
    assert "(labs up to 28 days old are accepted)" in meld.reason
    assert any("creatinine" in p for p in result.problems)


def test_latest_lab_is_used(match: Protocol) -> None:
    labs = _labs(34.2, 1.5, 88.4, day="2026-10-01") + _labs(51.3, 1.5, 88.4, day="2026-11-05")
    result = screen(match, _match_patient(labs=labs), on=ON)
    assert result.values["bilirubin_mg_dl"] == pytest.approx(3.0)
    assert {lab.collected_on for lab in result.labs_used} == {date(2026, 11, 5)}
    assert result.eligible  # the 40-day-old results are superseded, not held against the patient


def test_lab_after_screening_date_is_refused(match: Protocol) -> None:
    with pytest.raises(EligibilityError, match="collected on 2026-11-11, after the screening date"):
        screen(match, _match_patient(labs=_labs(34.2, 1.5, 88.4, day="2026-11-11")), on=ON)


def test_wrong_unit_is_refused(match: Protocol) -> None:
    labs = _labs(34.2, 1.5, 88.4)
    labs[2]["unit"] = "g/dL"
    with pytest.raises(UnitError, match="'g/dL' is not a unit of creatinine"):
        screen(match, _match_patient(labs=labs), on=ON)


def test_implausible_value_is_refused_with_hint(match: Protocol) -> None:
    labs = _labs(34.2, 1.5, 88.4)
    labs[2]["unit"] = "mg/dL"  # 88.4 mg/dL: µmol/L entered as mg/dL
    with pytest.raises(UnitError, match="creatinine=88.4 mg/dL is implausible"):
        screen(match, _match_patient(labs=labs), on=ON)


def test_exclusion_and_age_reasons(match: Protocol) -> None:
    facts = dict(MATCH_FACTS, hcc=True)
    result = screen(match, _match_patient(age=80, facts=facts), on=ON)
    assert result.status == "ineligible"
    assert result.reasons == [
        "age_range: not met: age >= 18 and age <= 75 with age=80",
        "hcc: excluded: hcc with hcc=True",
    ]
    with pytest.raises(EligibilityError, match="ineligible for match: age_range"):
        result.raise_if_not_eligible()


def test_missing_fact_makes_screening_incomplete(match: Protocol) -> None:
    facts = {k: v for k, v in MATCH_FACTS.items() if k != "liver_stiffness_kpa"}
    result = screen(match, _match_patient(facts=facts), on=ON)
    assert result.status == "incomplete"
    assert result.reasons == [
        "liver_stiffness: cannot be assessed: liver_stiffness_kpa was not given"
    ]


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"hcc_status": False}, "unknown fact"),
        ({"hcc": "no"}, "hcc='no': a yes/no answer"),
        ({"aetiology": "hbv"}, "aetiology='hbv' is not a level"),
        ({"liver_stiffness_kpa": "21"}, "a number in kPa"),
    ],
)
def test_malformed_facts_are_refused(match: Protocol, facts: dict[str, Any], message: str) -> None:
    with pytest.raises(EligibilityError, match=message):
        screen(match, _match_patient(facts=dict(MATCH_FACTS, **facts)), on=ON)


def test_unknown_patient_key_is_refused(match: Protocol) -> None:
    with pytest.raises(EligibilityError, match="name: Extra inputs are not permitted"):
        screen(match, _match_patient(name="Jane Doe"), on=ON)


def test_msc_aclf_apasl_type_criteria_and_band() -> None:
    """Bilirubin 205.2 µmol/L (= 12.0 mg/dL), INR 2.0, creatinine 88.4 µmol/L (1.0 mg/dL).

    UNOS MELD(i) = 0.378 ln 12 + 1.12 ln 2 + 0.643 = 2.3586, rounded to 2.4, x 10 = 24 (OPTN),
    inside 17-30; 205.2 >= 171 µmol/L meets the jaundice criterion; factor band: 24 >= 22.
    """
    protocol = load_protocol("msc-aclf")
    patient = {
        "age": 45,
        "labs": _labs(205.2, 2.0, 88.4, day="2026-11-09"),
        "facts": {
            "hbsag_positive_over_6_months": True,
            "ascites_or_encephalopathy_within_4_weeks": True,
            "hcc": False,
            "other_active_malignancy": False,
            "pregnant_or_breastfeeding": False,
            "hcv_or_hiv_coinfection": False,
        },
    }
    result = screen(protocol, patient, on=ON)
    assert result.eligible
    assert result.values["meld"] == 24.0
    assert result.values["bilirubin_umol_l"] == pytest.approx(205.2)
    assert factor_levels(protocol, result.values) == {"meld_band": "meld_22_or_more"}
    stale = screen(protocol, patient, on=date(2026, 11, 13))  # 4 days > 3-day window
    assert stale.status == "incomplete"


def _aclf_protocol() -> Protocol:
    data = load_protocol("match").model_dump(mode="python")
    data = copy.deepcopy(data)
    data["eligibility"]["inclusion"] = [
        {"id": "aclf", "label": "EASL-CLIF ACLF grade 1 or more", "expression": "aclf_grade >= 1"},
        {"id": "child_pugh_c", "label": "Child-Pugh C", "expression": 'child_pugh_class == "C"'},
    ]
    data["eligibility"]["exclusion"] = []
    data["eligibility"]["facts"] = []
    data["eligibility"]["assumptions"] = []
    return protocol_from_dict(data)


def test_scores_need_their_clinical_items() -> None:
    protocol = _aclf_protocol()
    labs = _labs(205.2, 2.6, 88.4) + [
        {"analyte": "albumin", "value": 25, "unit": "g/L", "collected_on": "2026-11-01"}
    ]
    result = screen(protocol, {"age": 50, "labs": labs}, on=ON)
    assert result.status == "incomplete"
    assert "clinical item 'encephalopathy_grade' not given" in result.criteria[0].reason
    assert "clinical item 'ascites' not given" in result.criteria[1].reason


def test_aclf_grade_and_child_pugh_from_labs() -> None:
    """Bilirubin 12 mg/dL (liver failure, >= 12) and INR 2.6 (coagulation failure, >= 2.5): two
    organ failures, EASL-CLIF ACLF grade 2 (Moreau 2013).

    Child-Pugh: bilirubin > 3 (3) + albumin 2.5 g/dL < 2.8 (3) + INR > 2.3 (3) + mild ascites (2)
    + HE grade 1 (2) = 13 points, class C (Pugh 1973).
    """
    protocol = _aclf_protocol()
    labs = _labs(205.2, 2.6, 88.4) + [
        {"analyte": "albumin", "value": 25, "unit": "g/L", "collected_on": "2026-11-01"}
    ]
    clinical = {
        "ascites": "mild",
        "encephalopathy_grade": 1,
        "mean_arterial_pressure": 75,
        "pao2_fio2": 380,
    }
    result = screen(protocol, {"age": 50, "labs": labs, "clinical": clinical}, on=ON)
    assert result.values["aclf_grade"] == 2
    assert result.values["child_pugh_class"] == "C"
    assert result.eligible


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    bilirubin=st.floats(0.3, 30.0),
    inr=st.floats(0.8, 4.0),
    creatinine=st.floats(0.3, 8.0),
    si=st.booleans(),
)
def test_meld_criterion_matches_the_score_function(
    bilirubin: float, inr: float, creatinine: float, si: bool
) -> None:
    """Whatever the units reported, screening's MELD is hepatrial.scores.meld (continuous) of the
    converted values, and the MATCH MELD criterion is exactly 10 <= MELD <= 17."""
    protocol = load_protocol("match")
    factor = (17.1, 88.4) if si else (1.0, 1.0)
    unit = "µmol/L" if si else "mg/dL"
    labs = [
        {"analyte": "bilirubin", "value": bilirubin * factor[0], "unit": unit, "collected_on": ON},
        {"analyte": "inr", "value": inr, "unit": "ratio", "collected_on": ON},
        {
            "analyte": "creatinine",
            "value": creatinine * factor[1],
            "unit": unit,
            "collected_on": ON,
        },
    ]
    result = screen(protocol, _match_patient(labs=labs), on=ON)
    expected = meld(bilirubin=bilirubin, inr=inr, creatinine=creatinine, rounding="continuous")
    assert result.values["meld"] == pytest.approx(expected, rel=1e-9)
    assert result.criteria[0].passed is (10 <= result.values["meld"] <= 17)
    assert result.eligible is (10 <= result.values["meld"] <= 17)


def test_every_lab_variable_unit_is_known_to_the_units_module() -> None:
    """Each expression variable's unit converts from the analyte's conventional unit."""
    from hepatrial.protocol.variables import LAB_VARIABLES
    from hepatrial.units import conventional_unit, convert

    for name, variable in LAB_VARIABLES.items():
        unit = conventional_unit(variable.analyte)
        assert convert(1.0, variable.analyte, unit, variable.unit) > 0, name

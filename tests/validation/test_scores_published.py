"""Every score against worked examples from its defining publication, an official calculator or
a published implementation's tests (cited at each case), and every floor, cap and cut-off.

Hand derivations are written out term by term so that a reader can check them with a pocket
calculator; ln is the natural logarithm.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hepatrial.scores import (
    aarc,
    aclf_grade,
    albi,
    apri,
    child_pugh,
    clif_c_aclf,
    clif_c_ad,
    clif_of,
    cossh_aclf_ii,
    elf,
    fib4,
    mayo_pbc,
    meld,
    meld_3,
    meld_na,
)
from hepatrial.units import g_per_l, mmol_per_l, umol_per_l

# ---------------------------------------------------------------------------------------------
# MELD (UNOS/OPTN, pre-2016)
# ---------------------------------------------------------------------------------------------


def test_meld_ameld_example() -> None:
    # ampel-leipzig/ameld tests/testthat/test_meld.R: meld(creatinine = 1.9, bilirubin = 4.2,
    # inr = 1.2, cause = "other") == 20.0391626, and 20 with round = TRUE.
    assert meld(bilirubin=4.2, inr=1.2, creatinine=1.9, rounding="continuous") == pytest.approx(
        20.0391626, abs=5e-8
    )
    assert meld(bilirubin=4.2, inr=1.2, creatinine=1.9) == 20


def test_meld_transplantr_example_in_si_units() -> None:
    # johnasher/transplantr tests/testthat/test_liver.R: meld(INR = 2.0, bili = 54, creat = 170)
    # rounded to 3 decimals is 24.798 (transplantr does not round to the integer). OPTN rounds
    # MELD(i) = 2.4798 to the tenth (2.5) and multiplies by 10: 25.
    continuous = meld(
        bilirubin=umol_per_l(54), inr=2.0, creatinine=umol_per_l(170), rounding="continuous"
    )
    assert round(continuous, 3) == 24.798
    assert meld(bilirubin=umol_per_l(54), inr=2.0, creatinine=umol_per_l(170)) == 25


def test_meld_floors_at_one() -> None:
    # Every lab at or below its 1.0 floor: MELD(i) = 0.643, 10 x 0.643 = 6.43 -> 6.
    assert meld(bilirubin=1.0, inr=1.0, creatinine=1.0, rounding="continuous") == pytest.approx(
        6.43
    )
    assert meld(bilirubin=0.3, inr=0.9, creatinine=0.5) == 6
    below = meld(bilirubin=0.9, inr=0.9, creatinine=0.9, rounding="continuous")
    assert below == meld(bilirubin=1.0, inr=1.0, creatinine=1.0, rounding="continuous")


def test_meld_creatinine_cap_and_dialysis() -> None:
    # Cr 4.1 is capped at 4.0; dialysis sets Cr to 4.0 whatever it is.
    cap = meld(bilirubin=1.0, inr=1.0, creatinine=4.0, rounding="continuous")
    assert meld(bilirubin=1.0, inr=1.0, creatinine=4.1, rounding="continuous") == cap
    dialysed = meld(bilirubin=1.0, inr=1.0, creatinine=1.0, dialysis=True, rounding="continuous")
    assert dialysed == cap
    # 10 x (0.957 ln 4 + 0.643) = 10 x (1.32668 + 0.643) = 19.6968 -> 20
    assert cap == pytest.approx(10 * (0.957 * math.log(4) + 0.643))
    assert meld(bilirubin=1.0, inr=1.0, creatinine=1.0, dialysis=True) == 20


def test_meld_caps_at_40() -> None:
    # 10 x (0.957 ln 4 + 0.378 ln 40 + 1.120 ln 5 + 0.643) = 51.67 -> 40
    assert meld(bilirubin=40, inr=5, creatinine=4) == 40
    assert meld(bilirubin=40, inr=5, creatinine=4, rounding="continuous") == pytest.approx(
        10 * (0.957 * math.log(4) + 0.378 * math.log(40) + 1.120 * math.log(5) + 0.643)
    )


# ---------------------------------------------------------------------------------------------
# MELD-Na
# ---------------------------------------------------------------------------------------------


def test_meld_na_optn_hand_derivation_of_transplantr_inputs() -> None:
    # Inputs of transplantr's MELD-Na test (INR 1.8, bili 2, creat 2, Na 131).
    # MELD(i) = 0.957 ln 2 + 0.378 ln 2 + 1.120 ln 1.8 + 0.643 = 2.2267 -> tenth 2.2 -> 22.
    # MELD-Na = 22 + 1.32 x 6 - 0.033 x 22 x 6 = 22 + 7.92 - 4.356 = 25.564 -> 26.
    assert meld_na(bilirubin=2, inr=1.8, creatinine=2, sodium=131) == 26
    optn = meld_na(bilirubin=2, inr=1.8, creatinine=2, sodium=131, rounding="continuous")
    # continuous: the sodium term on the unrounded 10 x MELD(i) = 22.2668
    m = 10 * (0.957 * math.log(2) + 0.378 * math.log(2) + 1.120 * math.log(1.8) + 0.643)
    assert optn == pytest.approx(m + 1.32 * 6 - 0.033 * m * 6)


def test_meld_na_kim2008_transplantr_example() -> None:
    # johnasher/transplantr tests/testthat/test_liver.R: meld_na(INR = 1.8, bili = 2, creat = 2,
    # Na = 131) rounded to 3 decimals is 26.257 (transplantr implements Kim 2008).
    kim = meld_na(
        bilirubin=2, inr=1.8, creatinine=2, sodium=131, variant="kim2008", rounding="continuous"
    )
    assert round(kim, 3) == 26.257


def test_meld_na_ameld_unos_example() -> None:
    # ameld test_meld.R: meld_na(creatinine = 1.9, bilirubin = 4.2, inr = 1.2, sodium = 125,
    # type = "unos", round = TRUE) == 28. By hand: MELD(i) 20; 20 + 15.84 - 7.92 = 27.92 -> 28.
    assert meld_na(bilirubin=4.2, inr=1.2, creatinine=1.9, sodium=125) == 28


def test_meld_na_sodium_bounds_125_137() -> None:
    at = {
        na: meld_na(bilirubin=4.2, inr=1.2, creatinine=1.9, sodium=na)
        for na in (120, 125, 137, 145)
    }
    assert at[120] == at[125] == 28
    assert at[137] == at[145] == 20


def test_meld_na_only_when_meld_above_11() -> None:
    # INR 1.5: 10 x (1.120 ln 1.5 + 0.643) = 10.971 -> MELD(i) 11: no sodium adjustment.
    assert meld_na(bilirubin=1, inr=1.5, creatinine=1, sodium=125) == 11
    # INR 1.6: 10 x (1.120 ln 1.6 + 0.643) = 11.694 -> 12 > 11: 12 + 15.84 - 4.752 = 23.088 -> 23.
    assert meld_na(bilirubin=1, inr=1.6, creatinine=1, sodium=125) == 23
    assert meld_na(bilirubin=1, inr=1.6, creatinine=1, sodium=137) == 12


def test_meld_na_dialysis_and_cap() -> None:
    dialysed = meld_na(bilirubin=1, inr=1, creatinine=1, sodium=130, dialysis=True)
    assert dialysed == meld_na(bilirubin=1, inr=1, creatinine=4, sodium=130)
    # MELD(i) 20 (see MELD dialysis test): 20 + 1.32 x 7 - 0.033 x 20 x 7 = 24.62 -> 25
    assert dialysed == 25
    assert meld_na(bilirubin=40, inr=5, creatinine=4, sodium=125) == 40


# ---------------------------------------------------------------------------------------------
# MELD 3.0
# ---------------------------------------------------------------------------------------------


def _meld3_by_hand(
    female: bool, bili: float, na: float, inr: float, cr: float, alb: float
) -> float:
    """Kim 2021 equation written out for already-bounded inputs."""
    return (
        1.33 * female
        + 4.56 * math.log(bili)
        + 0.82 * (137 - na)
        - 0.24 * (137 - na) * math.log(bili)
        + 9.09 * math.log(inr)
        + 11.14 * math.log(cr)
        + 1.85 * (3.5 - alb)
        - 1.83 * (3.5 - alb) * math.log(cr)
        + 6
    )


def test_meld_3_hand_derivation() -> None:
    # Female, bili 2.0, Na 130, INR 1.5, Cr 1.2, Alb 3.0:
    # 1.33 + 4.56 ln 2 (3.1607) + 0.82 x 7 (5.74) - 0.24 x 7 x ln 2 (1.1645) + 9.09 ln 1.5
    # (3.6857) + 11.14 ln 1.2 (2.0311) + 1.85 x 0.5 (0.925) - 1.83 x 0.5 x ln 1.2 (0.1668) + 6
    # = 21.5412 -> 22.
    value = meld_3(
        sex="F",
        bilirubin=2.0,
        sodium=130,
        inr=1.5,
        creatinine=1.2,
        albumin=3.0,
        rounding="continuous",
    )
    assert value == pytest.approx(21.5412, abs=1e-4)
    assert value == pytest.approx(_meld3_by_hand(True, 2.0, 130, 1.5, 1.2, 3.0), rel=1e-14)
    assert meld_3(sex="F", bilirubin=2.0, sodium=130, inr=1.5, creatinine=1.2, albumin=3.0) == 22
    assert meld_3(sex="M", bilirubin=2.0, sodium=130, inr=1.5, creatinine=1.2, albumin=3.0) == 20


BASE = dict(sex="M", bilirubin=3.0, sodium=130.0, inr=1.8, creatinine=1.5, albumin=2.5)


@pytest.mark.parametrize(
    ("field", "outside", "bound"),
    [
        ("bilirubin", 0.4, 1.0),
        ("inr", 0.8, 1.0),
        ("creatinine", 0.6, 1.0),
        ("creatinine", 3.8, 3.0),
        ("sodium", 118.0, 125.0),
        ("sodium", 141.0, 137.0),
        ("albumin", 1.1, 1.5),
        ("albumin", 4.2, 3.5),
    ],
)
def test_meld_3_input_bounds(field: str, outside: float, bound: float) -> None:
    # OPTN policy 9.1.D: bili, INR, Cr floors 1.0; Cr cap 3.0; Na 125-137; albumin 1.5-3.5.
    a = meld_3(**{**BASE, field: outside}, rounding="continuous")  # type: ignore[arg-type]
    b = meld_3(**{**BASE, field: bound}, rounding="continuous")  # type: ignore[arg-type]
    assert a == b


def test_meld_3_dialysis_sets_creatinine_to_3() -> None:
    dialysed = meld_3(**{**BASE, "creatinine": 1.1}, dialysis=True, rounding="continuous")  # type: ignore[arg-type]
    assert dialysed == meld_3(**{**BASE, "creatinine": 3.0}, rounding="continuous")  # type: ignore[arg-type]


def test_meld_3_output_bounds_6_and_40() -> None:
    # All labs at their floors and bounds, male: every term is 0 except the constant 6.
    assert meld_3(sex="M", bilirubin=0.5, sodium=140, inr=0.9, creatinine=0.7, albumin=4.0) == 6
    # Extreme: 4.56 ln 40 + 0.82 x 12 - 0.24 x 12 ln 40 + 9.09 ln 5 + 11.14 ln 3 + 1.85 x 2
    # - 1.83 x 2 ln 3 + 6 = 16.82 + 9.84 - 10.62 + 14.63 + 12.24 + 3.7 - 4.02 + 6 = 48.6 -> 40
    raw = meld_3(
        sex="M", bilirubin=40, sodium=120, inr=5, creatinine=4, albumin=1.0, rounding="continuous"
    )
    assert raw == pytest.approx(_meld3_by_hand(False, 40, 125, 5, 3, 1.5))
    assert raw > 40
    assert meld_3(sex="M", bilirubin=40, sodium=120, inr=5, creatinine=4, albumin=1.0) == 40


def test_meld_3_adolescent_rule() -> None:
    # OPTN: candidates aged 12-17 receive the 1.33 points whatever their sex.
    kwargs = dict(
        bilirubin=2.0, sodium=130, inr=1.5, creatinine=1.2, albumin=3.0, rounding="continuous"
    )
    boy = meld_3(sex="M", age=15, **kwargs)  # type: ignore[arg-type]
    assert boy == meld_3(sex="F", **kwargs)  # type: ignore[arg-type]
    assert meld_3(sex="F", age=15, **kwargs) == boy  # type: ignore[arg-type]
    assert meld_3(sex="M", age=18, **kwargs) == meld_3(sex="M", **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Child-Pugh
# ---------------------------------------------------------------------------------------------

NORMAL = dict(bilirubin=1.0, albumin=4.0, inr=1.0, ascites=0, encephalopathy=0)


@pytest.mark.parametrize(
    ("field", "value", "points"),
    [
        ("bilirubin", 1.99, 1),
        ("bilirubin", 2.0, 2),
        ("bilirubin", 3.0, 2),
        ("bilirubin", 3.01, 3),
        ("albumin", 3.51, 1),
        ("albumin", 3.5, 2),
        ("albumin", 2.8, 2),
        ("albumin", 2.79, 3),
        ("inr", 1.69, 1),
        ("inr", 1.7, 2),
        ("inr", 2.3, 2),
        ("inr", 2.31, 3),
        ("ascites", 1, 2),
        ("ascites", 2, 3),
        ("encephalopathy", 1, 2),
        ("encephalopathy", 2, 3),
    ],
)
def test_child_pugh_cut_offs_on_both_sides(field: str, value: float, points: int) -> None:
    # Pugh RNH et al. Br J Surg 1973;60:646, table as printed by MDCalc and Cleveland Clinic
    # J Med: middle bands include both ends (bilirubin 2-3, albumin 2.8-3.5, INR 1.7-2.3).
    result = child_pugh(**{**NORMAL, field: value})  # type: ignore[arg-type]
    assert getattr(result, f"{field}_points") == points
    assert result.points == 4 + points


def test_child_pugh_harrison_albumin_band() -> None:
    # Harrison's table: 2 points for 3.0-3.5 g/dL, 3 points below 3.0.
    assert child_pugh(**{**NORMAL, "albumin": 2.9}).albumin_points == 2  # type: ignore[arg-type]
    harrison = child_pugh(**{**NORMAL, "albumin": 2.9}, albumin_band="harrison")  # type: ignore[arg-type]
    assert harrison.albumin_points == 3
    assert child_pugh(**{**NORMAL, "albumin": 3.0}, albumin_band="harrison").albumin_points == 2  # type: ignore[arg-type]


def test_child_pugh_cholestatic_bilirubin_bands() -> None:
    for value, points in ((3.99, 1), (4.0, 2), (10.0, 2), (10.01, 3)):
        result = child_pugh(**{**NORMAL, "bilirubin": value}, bilirubin_bands="cholestatic")  # type: ignore[arg-type]
        assert result.bilirubin_points == points


@pytest.mark.parametrize(
    ("points", "klass"), [(5, "A"), (6, "A"), (7, "B"), (9, "B"), (10, "C"), (15, "C")]
)
def test_child_pugh_class_boundaries(points: int, klass: str) -> None:
    # Classes A 5-6, B 7-9, C 10-15. Build the total from ascites, HE, INR, bilirubin, albumin.
    extra = points - 5
    grades = [min(2, max(0, extra - 2 * i)) for i in range(5)]
    bili = (1.0, 2.5, 5.0)[grades[0]]
    alb = (4.0, 3.0, 2.0)[grades[1]]
    inr = (1.0, 2.0, 3.0)[grades[2]]
    result = child_pugh(
        bilirubin=bili, albumin=alb, inr=inr, ascites=grades[3], encephalopathy=grades[4]
    )
    assert result.points == points
    assert result.class_ == klass


def test_child_pugh_si_units_34_2_umol() -> None:
    # MDCalc's Child-Pugh page: 2 mg/dL = 34.2 µmol/L and 3 mg/dL = 51.3 µmol/L bound band 2.
    values = np.array([34.1, 34.2, 51.3, 51.4])
    result = child_pugh(
        bilirubin=umol_per_l(values), albumin=4.0, inr=1.0, ascites=0, encephalopathy=0
    )
    np.testing.assert_array_equal(result.bilirubin_points, [1, 2, 2, 3])


# ---------------------------------------------------------------------------------------------
# ALBI (Johnson 2015) and modified ALBI (Hiraoka 2017)
# ---------------------------------------------------------------------------------------------


def test_albi_hand_derivation() -> None:
    # Bilirubin 10 µmol/L, albumin 40 g/L: 0.66 x log10(10) - 0.085 x 40 = 0.66 - 3.4 = -2.74.
    # (SI inputs pass through mg/dL, rounded to 12 decimals, hence the 1e-9 tolerance.)
    result = albi(bilirubin=umol_per_l(10), albumin=g_per_l(40))
    assert result.score == pytest.approx(-2.74, abs=1e-9)
    assert result.grade == 1


def _albumin_for(score: float, bilirubin_umol: float) -> float:
    """Albumin (g/L) that gives ``score`` with ``bilirubin_umol``: solve the ALBI equation."""
    return (0.66 * math.log10(bilirubin_umol) - score) / 0.085


@pytest.mark.parametrize(
    ("target", "grade", "modified"),
    [
        (-2.61, 1, "1"),
        (-2.59, 2, "2a"),
        (-2.28, 2, "2a"),
        (-2.26, 2, "2b"),
        (-1.40, 2, "2b"),
        (-1.38, 3, "3"),
    ],
)
def test_albi_grade_cut_offs_on_both_sides(target: float, grade: int, modified: str) -> None:
    # Johnson 2015: grade 1 <= -2.60 < grade 2 <= -1.39 < grade 3; Hiraoka 2017: 2a <= -2.270 < 2b.
    albumin = _albumin_for(target, 20.0)
    result = albi(bilirubin=umol_per_l(20.0), albumin=g_per_l(albumin))
    assert result.score == pytest.approx(target, abs=1e-9)
    assert result.grade == grade
    assert result.modified_grade == modified


# ---------------------------------------------------------------------------------------------
# FIB-4 (Sterling 2006) and APRI (Wai 2003)
# ---------------------------------------------------------------------------------------------


def test_fib4_hand_derivation() -> None:
    # 50 years, AST 40 U/L, ALT 25 U/L, platelets 200 x 10^9/L: 50 x 40 / (200 x 5) = 2.0.
    assert fib4(age=50, ast=40, alt=25, platelets=200) == pytest.approx(2.0)
    # 65 years, AST 90, ALT 36, platelets 100: 65 x 90 / (100 x 6) = 9.75
    assert fib4(age=65, ast=90, alt=36, platelets=100) == pytest.approx(9.75)


def test_apri_transplantr_examples() -> None:
    # johnasher/transplantr tests/testthat/test_liver.R:
    # round(apri(ast = 38, plt = 150, ast_uln = 40), 2) == 0.63
    # round(apri(ast = 160, plt = 75), 2) == 5.33
    assert round(apri(ast=38, platelets=150, ast_uln=40), 2) == 0.63
    assert round(apri(ast=160, platelets=75), 2) == 5.33


# ---------------------------------------------------------------------------------------------
# ELF
# ---------------------------------------------------------------------------------------------


def test_elf_hand_derivation_both_algorithms() -> None:
    # HA 50, PIIINP 10, TIMP-1 250 ng/mL.
    # 2.494 + 0.846 ln 50 (3.3096) + 0.735 ln 10 (1.6924) + 0.391 ln 250 (2.1589) = 9.6549
    assert elf(ha=50, piiinp=10, timp1=250) == pytest.approx(
        2.494 + 0.846 * math.log(50) + 0.735 * math.log(10) + 0.391 * math.log(250)
    )
    assert round(elf(ha=50, piiinp=10, timp1=250), 4) == 9.6549
    # 2.278 + 0.851 ln 50 (3.3291) + 0.751 ln 10 (1.7293) + 0.394 ln 250 (2.1755) = 9.5118
    assert round(elf(ha=50, piiinp=10, timp1=250, algorithm="2.278"), 4) == 9.5118


# ---------------------------------------------------------------------------------------------
# Mayo PBC (Dickson 1989)
# ---------------------------------------------------------------------------------------------


def test_mayo_pbc_hand_derivation() -> None:
    # Age 50, bilirubin 2.0 mg/dL, albumin 3.0 g/dL, PT 12 s, edema 0.5:
    # 0.871 ln 2 (0.60373) - 2.53 ln 3 (2.77948) + 0.039 x 50 (1.95) + 2.38 ln 12 (5.91407)
    # + 0.859 x 0.5 (0.4295) = 6.11782
    value = mayo_pbc(age=50, bilirubin=2.0, albumin=3.0, prothrombin_time=12.0, edema=0.5)
    assert value == pytest.approx(6.11782, abs=1e-5)


# ---------------------------------------------------------------------------------------------
# EASL-CLIF: CLIF-C OF, ACLF grade, CLIF-C ACLF, CLIF-C AD
# ---------------------------------------------------------------------------------------------

ORGAN_NORMAL = dict(
    bilirubin=1.0, creatinine=1.0, he_grade=0, inr=1.0, mean_arterial_pressure=80, pao2_fio2=400
)


@pytest.mark.parametrize(
    ("field", "value", "organ", "subscore"),
    [
        ("bilirubin", 5.99, "liver", 1),
        ("bilirubin", 6.0, "liver", 2),
        ("bilirubin", 11.99, "liver", 2),
        ("bilirubin", 12.0, "liver", 3),
        ("creatinine", 1.99, "kidney", 1),
        ("creatinine", 2.0, "kidney", 2),
        ("creatinine", 3.49, "kidney", 2),
        ("creatinine", 3.5, "kidney", 3),
        ("he_grade", 1, "brain", 2),
        ("he_grade", 2, "brain", 2),
        ("he_grade", 3, "brain", 3),
        ("inr", 1.99, "coagulation", 1),
        ("inr", 2.0, "coagulation", 2),
        ("inr", 2.49, "coagulation", 2),
        ("inr", 2.5, "coagulation", 3),
        ("mean_arterial_pressure", 70, "circulation", 1),
        ("mean_arterial_pressure", 69, "circulation", 2),
        ("pao2_fio2", 301, "respiration", 1),
        ("pao2_fio2", 300, "respiration", 2),
        ("pao2_fio2", 201, "respiration", 2),
        ("pao2_fio2", 200, "respiration", 3),
    ],
)
def test_clif_of_subscore_cut_offs(field: str, value: float, organ: str, subscore: int) -> None:
    # Jalan 2014 CLIF-C OF table (EF-CLIF calculator; Gut table "simplified CLIF-SOFA").
    result = clif_of(**{**ORGAN_NORMAL, field: value})  # type: ignore[arg-type]
    assert getattr(result, organ) == subscore
    assert result.score == 5 + subscore


@pytest.mark.parametrize(("spo2", "subscore"), [(358, 1), (357, 2), (215, 2), (214, 3)])
def test_clif_of_spo2_fio2_cut_offs(spo2: float, subscore: int) -> None:
    organs = {**ORGAN_NORMAL, "pao2_fio2": None, "spo2_fio2": spo2}
    assert clif_of(**organs).respiration == subscore  # type: ignore[arg-type]


def test_clif_of_renal_replacement_vasopressors_and_range() -> None:
    rrt = clif_of(**ORGAN_NORMAL, renal_replacement=True)  # type: ignore[arg-type]
    assert rrt.kidney == 3 and rrt.failing_organs == ("kidney",)
    worst = clif_of(bilirubin=20, creatinine=4, he_grade=4, inr=3, vasopressors=True, pao2_fio2=150)
    assert worst.score == 18 and worst.n_failures == 6 and worst.aclf_grade == 3


def test_clif_of_liver_boundary_option() -> None:
    # CANONIC / EASL 2023: liver failure is bilirubin >= 12 mg/dL (default "ge12");
    # the CLIF-C OF table prints "> 12" for 3 points ("gt12").
    at_12 = {**ORGAN_NORMAL, "bilirubin": 12.0}
    assert clif_of(**at_12).liver == 3  # type: ignore[arg-type]
    assert clif_of(**at_12, liver_boundary="gt12").liver == 2  # type: ignore[arg-type]
    assert clif_of(**{**ORGAN_NORMAL, "bilirubin": 12.01}, liver_boundary="gt12").liver == 3  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "grade"),
    [
        ({}, 0),
        ({"creatinine": 2.0}, 1),  # single kidney failure
        ({"creatinine": 1.99, "he_grade": 0}, 0),  # kidney dysfunction alone is not ACLF
        ({"he_grade": 3}, 0),  # single brain failure, creatinine < 1.5
        ({"he_grade": 3, "creatinine": 1.5}, 1),  # + kidney dysfunction
        ({"he_grade": 3, "creatinine": 1.49}, 0),
        ({"bilirubin": 12.0}, 0),  # single liver failure alone
        ({"bilirubin": 12.0, "creatinine": 1.5}, 1),  # + kidney dysfunction
        ({"bilirubin": 12.0, "he_grade": 1}, 1),  # + brain dysfunction
        ({"inr": 2.5, "he_grade": 2}, 1),
        ({"inr": 2.5, "creatinine": 1.99}, 1),
        ({"inr": 2.5}, 0),
        ({"bilirubin": 12.0, "creatinine": 2.0}, 2),
        ({"bilirubin": 12.0, "creatinine": 2.0, "inr": 2.5}, 3),
    ],
)
def test_aclf_grade_canonic_rules(changes: dict[str, float], grade: int) -> None:
    # Moreau 2013 (CANONIC): grade 1 = single kidney failure; single brain failure with
    # creatinine 1.5-1.9; single other failure with creatinine 1.5-1.9 and/or HE grade 1-2.
    assert aclf_grade(**{**ORGAN_NORMAL, **changes}) == grade


def test_clif_c_aclf_hand_derivation() -> None:
    # 10 x (0.33 x 10 + 0.04 x 50 + 0.63 x ln 10 - 2) = 10 x (3.3 + 2 + 1.45063 - 2) = 47.5063
    assert clif_c_aclf(clif_of=10, age=50, wbc=10) == pytest.approx(47.5063, abs=1e-4)


def test_clif_c_ad_hand_derivation() -> None:
    # 10 x (0.03 x 60 + 0.66 ln 1.5 + 1.71 ln 1.4 + 0.88 ln 8 - 0.05 x 132 + 8)
    # = 10 x (1.8 + 0.26761 + 0.57537 + 1.82991 - 6.6 + 8) = 58.7288
    value = clif_c_ad(age=60, creatinine=1.5, inr=1.4, wbc=8, sodium=132)
    assert value == pytest.approx(58.7288, abs=1e-4)
    # No creatinine floor: creatinine 0.5 makes the creatinine term negative.
    low = clif_c_ad(age=60, creatinine=0.5, inr=1.4, wbc=8, sodium=132)
    assert value - low == pytest.approx(10 * 0.66 * math.log(3))


# ---------------------------------------------------------------------------------------------
# APASL AARC (Choudhury 2017)
# ---------------------------------------------------------------------------------------------

AARC_LOW = dict(bilirubin=5.0, he_grade=0, inr=1.2, lactate=1.0, creatinine=0.6)


@pytest.mark.parametrize(
    ("field", "value", "points"),
    [
        ("bilirubin", 14.99, 1),
        ("bilirubin", 15.0, 2),
        ("bilirubin", 25.0, 2),
        ("bilirubin", 25.01, 3),
        ("he_grade", 2, 2),
        ("he_grade", 3, 3),
        ("inr", 1.79, 1),
        ("inr", 1.8, 2),
        ("inr", 2.5, 2),
        ("inr", 2.51, 3),
        ("lactate", 1.49, 1),
        ("lactate", 1.5, 2),
        ("lactate", 2.5, 2),
        ("lactate", 2.51, 3),
        ("creatinine", 0.69, 1),
        ("creatinine", 0.7, 2),
        ("creatinine", 1.5, 2),
        ("creatinine", 1.51, 3),
    ],
)
def test_aarc_point_cut_offs(field: str, value: float, points: int) -> None:
    # Choudhury 2017 point table: middle bands include both ends.
    result = aarc(**{**AARC_LOW, field: value})  # type: ignore[arg-type]
    name = "he" if field == "he_grade" else field
    assert getattr(result, f"{name}_points") == points
    assert result.score == 4 + points


@pytest.mark.parametrize(("score", "grade"), [(5, 1), (7, 1), (8, 2), (10, 2), (11, 3), (15, 3)])
def test_aarc_grades(score: int, grade: int) -> None:
    # Grades I 5-7, II 8-10, III 11-15. Raise items one point at a time.
    extra = score - 5
    steps = [min(2, max(0, extra - 2 * i)) for i in range(5)]
    result = aarc(
        bilirubin=(5.0, 20.0, 30.0)[steps[0]],
        he_grade=(0, 1, 3)[steps[1]],
        inr=(1.2, 2.0, 3.0)[steps[2]],
        lactate=(1.0, 2.0, 3.0)[steps[3]],
        creatinine=(0.6, 1.0, 2.0)[steps[4]],
    )
    assert result.score == score and result.grade == grade


# ---------------------------------------------------------------------------------------------
# COSSH-ACLF II (Li 2021)
# ---------------------------------------------------------------------------------------------


def test_cossh_aclf_ii_hand_derivation() -> None:
    # INR 2.0, no HE (HE score 1), neutrophils 5, TB 300 µmol/L, urea 5 mmol/L, age 45:
    # 1.649 ln 2 (1.14299) + 0.457 x 1 + 0.425 ln 5 (0.68401) + 0.396 ln 300 (2.25868)
    # + 0.576 ln 5 (0.92704) + 0.033 x 45 (1.485) = 6.95474
    value = cossh_aclf_ii(
        inr=2.0, he_grade=0, neutrophils=5.0, bilirubin=umol_per_l(300), urea=mmol_per_l(5), age=45
    )
    assert value == pytest.approx(6.95474, abs=1e-5)
    # HE grade 1-2 gives HE score 2, grade 3-4 gives 3: +0.457 per step.
    kwargs = dict(inr=2.0, neutrophils=5.0, bilirubin=umol_per_l(300), urea=mmol_per_l(5), age=45)
    grades = [cossh_aclf_ii(he_grade=g, **kwargs) for g in (0, 1, 2, 3, 4)]  # type: ignore[arg-type]
    assert np.diff(grades) == pytest.approx([0.457, 0.0, 0.457, 0.0])

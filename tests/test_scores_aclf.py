"""CLIF-C OF, ACLF grade, CLIF-C ACLF/AD, AARC and COSSH-ACLF II: API behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from hepatrial.exceptions import UnitError
from hepatrial.scores import (
    ORGANS,
    ClifOfResult,
    aarc,
    aclf_grade,
    clif_c_aclf,
    clif_c_ad,
    clif_of,
    cossh_aclf_ii,
)
from hepatrial.units import Quantity, mmol_per_l, umol_per_l

HEALTHY = dict(
    bilirubin=1.0, creatinine=1.0, he_grade=0, inr=1.1, mean_arterial_pressure=85, pao2_fio2=420
)


def test_healthy_scores_six_with_no_failure() -> None:
    result = clif_of(**HEALTHY)  # type: ignore[arg-type]
    assert isinstance(result, ClifOfResult)
    assert result.score == 6
    assert result.failing_organs == ()
    assert result.n_failures == 0 and result.aclf_grade == 0
    assert repr(result) == "ClifOfResult(score=6, failing_organs=(), aclf_grade=0)"


def test_arrays_give_arrays_and_a_summary() -> None:
    result = clif_of(
        bilirubin=[1.0, 13.0, 20.0],
        creatinine=[1.0, 1.7, 4.0],
        he_grade=[0, 0, 3],
        inr=[1.1, 1.8, 3.0],
        mean_arterial_pressure=[85, 75, 60],
        pao2_fio2=[420, 350, np.nan],
        spo2_fio2=[np.nan, np.nan, 200],
    )
    assert result.score.tolist() == [6, 8, 17]
    assert result.failing_organs[1] == ("liver",)
    assert result.failing_organs[2] == ("liver", "kidney", "brain", "coagulation", "respiration")
    assert result.aclf_grade.tolist() == [0, 1, 3]
    summary = result.summary
    assert list(summary.columns)[:6] == list(ORGANS)
    assert summary["failing_organs"].tolist()[1] == "liver"


def test_missing_map_or_oxygenation_is_refused_unless_asked() -> None:
    base = dict(bilirubin=1.0, creatinine=1.0, he_grade=0, inr=1.1)
    with pytest.raises(UnitError, match="mean_arterial_pressure is not given"):
        clif_of(**base, pao2_fio2=400)  # type: ignore[arg-type]
    with pytest.raises(UnitError, match="neither pao2_fio2 nor spo2_fio2"):
        clif_of(**base, mean_arterial_pressure=80)  # type: ignore[arg-type]
    assert clif_of(**base, missing_as_normal=True).score == 6  # type: ignore[arg-type]
    # vasopressors and ventilation make MAP and oxygenation unnecessary
    both = clif_of(**base, vasopressors=True, mechanical_ventilation=True)  # type: ignore[arg-type]
    assert both.circulation == 3 and both.respiration == 3


def test_ventilation_for_encephalopathy_counts_as_brain_failure() -> None:
    result = clif_of(
        **{**HEALTHY, "he_grade": 2},  # type: ignore[arg-type]
        mechanical_ventilation=True,
        ventilated_for_encephalopathy=True,
    )
    assert result.brain == 3 and result.respiration == 1
    assert result.failing_organs == ("brain",)


def test_aclf_grade_function_matches_result_attribute() -> None:
    kwargs = {**HEALTHY, "creatinine": 2.4}
    assert aclf_grade(**kwargs) == clif_of(**kwargs).aclf_grade == 1  # type: ignore[arg-type]


def test_bad_he_grade_and_option() -> None:
    with pytest.raises(UnitError, match="he_grade=5 is not a grade"):
        clif_of(**{**HEALTHY, "he_grade": 5})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="liver_boundary"):
        clif_of(**HEALTHY, liver_boundary="12")  # type: ignore[arg-type]


def test_clif_c_aclf_accepts_result_or_number_and_checks_range() -> None:
    of = clif_of(**{**HEALTHY, "bilirubin": 13.0})  # type: ignore[arg-type]
    assert clif_c_aclf(clif_of=of, age=50, wbc=10) == clif_c_aclf(clif_of=8, age=50, wbc=10)
    with pytest.raises(UnitError, match="clif_of=19 is outside the CLIF-C OF range 6-18"):
        clif_c_aclf(clif_of=19, age=50, wbc=10)
    per_ul = clif_c_aclf(clif_of=8, age=50, wbc=Quantity(10000, "cells/µL"))
    assert per_ul == pytest.approx(clif_c_aclf(clif_of=8, age=50, wbc=10))


def test_clif_c_ad_rejects_wbc_per_microlitre() -> None:
    with pytest.raises(UnitError, match=r"wbc=8500 10\^9/L is implausible"):
        clif_c_ad(age=60, creatinine=1.0, inr=1.2, wbc=8500, sodium=135)


def test_aarc_result() -> None:
    result = aarc(
        bilirubin=[10, 30],
        he_grade=[0, 4],
        inr=[1.2, 3.0],
        lactate=[1.0, 3.0],
        creatinine=[0.6, 2.0],
    )
    assert result.score.tolist() == [5, 15]
    assert result.grade.tolist() == [1, 3]
    assert result.summary["aarc"].tolist() == [5, 15]


def test_cossh_urea_conventional_and_mmol() -> None:
    # 5 mmol/L urea is 5 / 0.357 = 14.0 mg/dL of blood urea nitrogen.
    mmol = cossh_aclf_ii(
        inr=2.0, he_grade=0, neutrophils=5, bilirubin=umol_per_l(300), urea=mmol_per_l(5), age=45
    )
    bun = cossh_aclf_ii(
        inr=2.0, he_grade=0, neutrophils=5, bilirubin=300 / 17.1, urea=5 / 0.357, age=45
    )
    assert mmol == pytest.approx(bun, abs=1e-9)

"""score_cohort: the DataFrame front end, its unit conventions and its error report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepatrial.scores import SCORES, ScoredCohort, example_cohort, meld_3, score_cohort


def _frame(**columns: list[object]) -> pd.DataFrame:
    return pd.DataFrame(columns)


CONVENTIONAL = dict(
    sex=["M", "F"],
    bilirubin=[2.0, 1.2],
    creatinine=[1.5, 0.9],
    albumin=[3.0, 3.6],
    sodium=[130, 138],
    inr=[1.5, 1.1],
    dialysis=[0, 0],
)


def test_example_cohort_is_shipped_and_scores_cleanly() -> None:
    cohort = example_cohort()
    assert len(cohort) == 200
    assert set(cohort["units"]) == {"conventional", "si"}
    assert cohort["patient_id"].is_unique
    result = score_cohort(cohort, SCORES)
    assert isinstance(result, ScoredCohort)
    assert result.n_invalid == 0 and result.valid.all()
    assert len(result.table) == 200
    assert result.table["meld_3"].between(6, 40).all()
    assert set(result.table["child_pugh_class"]) <= {"A", "B", "C"}


def test_si_rows_equal_their_conventional_twins() -> None:
    cohort = example_cohort()
    si_rows = cohort[cohort["units"] == "si"].copy()
    twin = si_rows.copy()
    twin["units"] = "conventional"
    twin["bilirubin"] = si_rows["bilirubin"] / 17.1
    twin["creatinine"] = si_rows["creatinine"] / 88.4
    twin["albumin"] = si_rows["albumin"] / 10
    twin["urea"] = si_rows["urea"] / 0.357
    a = score_cohort(si_rows, "meld_3,child_pugh,albi,cossh_aclf_ii").table
    b = score_cohort(twin, "meld_3,child_pugh,albi,cossh_aclf_ii").table
    np.testing.assert_array_equal(a["meld_3"], b["meld_3"])
    np.testing.assert_array_equal(a["child_pugh_points"], b["child_pugh_points"])
    np.testing.assert_allclose(a["albi"], b["albi"], rtol=1e-9)
    np.testing.assert_allclose(a["cossh_aclf_ii"], b["cossh_aclf_ii"], rtol=1e-9)


def test_scores_match_the_scalar_functions() -> None:
    result = score_cohort(_frame(**CONVENTIONAL), ["meld_3"])
    expected = meld_3(sex="M", bilirubin=2.0, sodium=130, inr=1.5, creatinine=1.5, albumin=3.0)
    assert result.table["meld_3"].iloc[0] == expected


def test_units_argument_and_suffixed_columns() -> None:
    si = _frame(
        sex=["M"], bilirubin=[34.2], creatinine=[132.6], albumin=[30], sodium=[130], inr=[1.5]
    )
    suffixed = _frame(
        sex=["M"],
        bilirubin_umol_l=[34.2],
        creatinine_mg_dl=[1.5],
        albumin_g_l=[30],
        sodium=[130],
        inr=[1.5],
    )
    expected = meld_3(sex="M", bilirubin=2.0, sodium=130, inr=1.5, creatinine=1.5, albumin=3.0)
    assert score_cohort(si, "meld_3", units="si").table["meld_3"].iloc[0] == expected
    assert score_cohort(suffixed, "meld_3", units="si").table["meld_3"].iloc[0] == expected
    assert score_cohort(suffixed, "meld_3").table["meld_3"].iloc[0] == expected


def test_every_problem_is_reported_with_row_field_value_unit_reason() -> None:
    frame = _frame(
        sex=["M", "F", "X", "M"],
        bilirubin=[1.2, 1.2, "abc", 2.0],
        creatinine=[0.9, 88, 1.0, 1.0],
        albumin=[3.5, 3.5, 35, 3.0],
        sodium=[138, 138, 138, 130],
        inr=[1.1, 1.1, 1.1, 1.5],
        dialysis=[0, "no", 0, None],
    )
    result = score_cohort(frame, "meld_3")
    errors = result.errors
    assert list(errors.columns) == ["row", "field", "value", "unit", "reason"]
    assert errors["row"].tolist() == [2, 3, 3, 3, 4]
    assert errors["field"].tolist() == ["creatinine", "albumin", "bilirubin", "sex", "dialysis"]
    creatinine = errors.iloc[0]
    assert creatinine["unit"] == "mg/dL"
    assert "88 µmol/L would be 1.0 mg/dL" in creatinine["reason"]
    assert errors.iloc[2]["reason"] == "bilirubin='abc' is not a number"
    assert result.valid.tolist() == [True, False, False, False]
    assert result.n_invalid == 3
    # invalid rows keep their place with empty scores; nothing is dropped
    assert len(result.table) == 4
    assert result.table["meld_3"].isna().tolist() == [False, True, True, True]


def test_value_given_twice_and_missing_value() -> None:
    frame = _frame(
        bilirubin=[1.0, None, 1.0],
        bilirubin_umol_l=[17.1, None, None],
        inr=[1.0, 1.0, 1.0],
        creatinine=[1.0, 1.0, 1.0],
    )
    errors = score_cohort(frame, "meld").errors
    assert errors["row"].tolist() == [1, 2]
    assert "also given in bilirubin" in errors["reason"].iloc[0]
    assert (
        errors["reason"].iloc[1] == "bilirubin is missing (looked in: bilirubin, bilirubin_umol_l)"
    )


def test_row_units_column_overrides_default_and_bad_system_is_reported() -> None:
    frame = _frame(
        units=["si", "conventional", "metric"],
        bilirubin=[17.1, 1.0, 1.0],
        inr=[1.0, 1.0, 1.0],
        creatinine=[88.4, 1.0, 1.0],
    )
    result = score_cohort(frame, "meld", units="si")
    assert result.table["meld"].iloc[:2].tolist() == [6.0, 6.0]
    assert result.errors["field"].tolist() == ["units"]


def test_absent_flag_columns_are_assumed_and_recorded() -> None:
    frame = _frame(bilirubin=[1.0], inr=[1.0], creatinine=[1.0])
    result = score_cohort(frame, "meld")
    assert result.assumptions == ("dialysis: no column; taken as 'no' for every row",)


def test_absent_required_column_is_reported_for_every_row() -> None:
    frame = _frame(bilirubin=[1.0, 2.0], inr=[1.0, 1.0])
    result = score_cohort(frame, "meld")
    assert result.errors["field"].tolist() == ["creatinine", "creatinine"]


def test_options_reach_the_scores_and_unknowns_are_refused() -> None:
    frame = _frame(bilirubin=[2.0], inr=[1.8], creatinine=[2.0], sodium=[131])
    kim = score_cohort(frame, "meld_na", options={"meld_na": {"variant": "kim2008"}})
    assert kim.table["meld_na"].iloc[0] == 26.0
    with pytest.raises(ValueError, match="unknown score"):
        score_cohort(frame, "meld,meld4")
    with pytest.raises(ValueError, match="options for unknown score"):
        score_cohort(frame, "meld", options={"meld4": {}})
    with pytest.raises(ValueError, match=r"meld_na has no option varient; options: .*variant"):
        score_cohort(frame, "meld_na", options={"meld_na": {"varient": "kim2008"}})
    with pytest.raises(ValueError, match="no score requested"):
        score_cohort(frame, "")


def test_clif_missing_organ_data_reported_or_scored_as_normal() -> None:
    frame = _frame(bilirubin=[13.0], creatinine=[1.7], he_grade=[0], inr=[1.8])
    strict = score_cohort(frame, "clif_of")
    assert set(strict.errors["field"]) == {"mean_arterial_pressure", "pao2_fio2"}
    lenient = score_cohort(frame, "clif_of", options={"clif_of": {"missing_as_normal": True}})
    assert lenient.n_invalid == 0
    assert lenient.table["clif_of"].iloc[0] == 8
    assert lenient.table["clif_failing_organs"].iloc[0] == "liver"


def test_summary_reports_numbers_and_categories() -> None:
    summary = score_cohort(example_cohort(), "meld,child_pugh").summary
    assert summary["score"].tolist() == ["meld", "child_pugh_points", "child_pugh_class"]
    assert summary.loc[0, "n"] == 200
    assert summary.loc[2, "categories"].startswith("A: ")
    assert repr(score_cohort(example_cohort(), "meld")) == (
        "ScoredCohort(200 rows, 0 invalid, scores=['meld'])"
    )


def test_numeric_sex_codes_are_refused_but_numeric_grades_accepted() -> None:
    frame = _frame(
        sex=[0, 1],
        bilirubin=[1.0, 1.0],
        sodium=[135, 135],
        inr=[1.0, 1.0],
        creatinine=[1.0, 1.0],
        albumin=[3.5, 3.5],
        ascites=[0, 2],
        encephalopathy=[1.0, 0.0],
    )
    result = score_cohort(frame, "meld_3,child_pugh")
    assert result.errors["field"].tolist() == ["sex", "sex"]
    assert "allowed: f, female, m, male" in result.errors["reason"].iloc[0]
    # bilirubin 1 (1) + albumin 3.5 (2) + INR 1 (1) + ascites 0/2 (1/3) + encephalopathy 1/0 (2/1)
    assert score_cohort(frame, "child_pugh").table["child_pugh_points"].tolist() == [7, 8]


def test_empty_and_all_invalid_tables_still_get_score_columns() -> None:
    empty = score_cohort(example_cohort().iloc[:0], "meld,child_pugh")
    assert len(empty.table) == 0
    assert empty.score_columns == ("meld", "child_pugh_points", "child_pugh_class")
    bad = _frame(bilirubin=[1.0], inr=[1.0], creatinine=[88.0])
    result = score_cohort(bad, "meld")
    assert result.n_invalid == 1 and "meld" in result.table.columns
    assert result.summary["n"].tolist() == [0]

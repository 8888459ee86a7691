"""Reading the trial as DataFrames and the SDTM-like export, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
from _store_support import (
    INVESTIGATOR,
    SCREEN_DAY,
    SEED,
    adverse_event_fields,
    enrol,
    match_patient,
    record_on_day,
    screen,
)

from hepatrial.service import (
    TABLE_NAMES,
    export_sdtm,
    load_trial_tables,
    record_adverse_event,
    record_dose,
    record_lab,
    record_outcome,
    record_qol,
    record_visit,
    record_withdrawal,
)
from hepatrial.store import StoreSession

pytest_plugins = ["_store_support"]

DAY = dt.timedelta(days=1)


def _small_trial(session: StoreSession) -> dict[str, str]:
    """Four randomized participants with follow-up, one screen failure; returns code -> arm."""
    arms = {code: enrol(session, code, aetiology="masld").arm for code in ("E1", "E2", "E3", "E4")}
    screen(session, "F1", site="S02", patient=match_patient(age=80))
    treated = next(c for c, a in arms.items() if a == "macrophage")
    dose = {"dose_number": 1, "amount": 9.0e8, "unit": "cells"}
    record_on_day(record_dose, session, treated, 7, "given_on", **dose)
    on_day_90 = partial(record_on_day, session=session, participant_id="E1", day=90)
    on_day_90(record_visit, date_field="visit_date", visit="d90")
    lab = {"analyte": "bilirubin", "value": 25.65, "unit": "µmol/L", "visit": "d90"}
    on_day_90(record_lab, date_field="collected_on", **lab)
    qol = {"instrument": "EQ-5D-5L", "visit": "d90", "answers": {"mobility": 2, "vas": 80}}
    on_day_90(record_qol, date_field="answered_on", **qol)
    ae = adverse_event_fields(end_date=SCREEN_DAY + 40 * DAY)
    record_adverse_event(session, participant_id="E2", event=ae, user=INVESTIGATOR)
    record_on_day(
        record_outcome, session, "E2", 30, "occurred_on", kind="decompensation", detail="ascites"
    )
    record_on_day(
        record_outcome, session, "E3", 60, "occurred_on", kind="death", cause="liver failure"
    )
    record_on_day(record_withdrawal, session, "E4", 20, "withdrawn_on", reason="lost to follow-up")
    return arms


def test_load_trial_tables(session: StoreSession) -> None:
    arms = _small_trial(session)
    tables = load_trial_tables(session)
    assert tuple(tables) == TABLE_NAMES
    assert len(tables["participants"]) == 5
    randomized = tables["randomizations"].set_index("participant_id")
    assert randomized["arm"].to_dict() == arms
    assert list(randomized["sequence_number"]) == [1, 2, 3, 4]
    assert randomized["factor_aetiology"].eq("masld").all()
    screenings = tables["screenings"].set_index("participant_id")
    assert screenings.loc["F1", "failed_criteria"] == "age_range"
    assert screenings.loc["E1", "score_meld"] == pytest.approx(12.4203, abs=5e-5)
    assert screenings.loc["E1", "lab_bilirubin_unit"] == "mg/dL"
    assert screenings.loc["E1", "fact_aetiology"] == "masld"
    labs = tables["labs"]
    assert labs.loc[0, "visit"] == "d90" and labs.loc[0, "study_day"] == 90
    assert labs.loc[0, "value_standard"] == pytest.approx(1.5)  # 25.65 / 17.1
    assert tables["outcomes"].set_index("participant_id").loc["E3", "study_day"] == 60
    assert pd.api.types.is_datetime64_any_dtype(tables["visits"]["visit_date"])
    assert tables["trial"].loc[0, "protocol_name"] == "match"
    assert "seed" not in tables["trial"].columns


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_sdtm(session: StoreSession, tmp_path: Path, fmt: str) -> None:
    arms = _small_trial(session)
    result = export_sdtm(session, tmp_path / "sdtm", format=fmt)  # type: ignore[arg-type]
    assert set(result.files) == {"DM", "LB", "AE", "EX", "DS", "QS", "CE"}
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    domains = {code: read(path) for code, path in result.files.items()}
    assert result.rows == {code: len(frame) for code, frame in domains.items()}
    dm = domains["DM"].set_index("SUBJID")
    assert list(dm.columns[:3]) == ["STUDYID", "DOMAIN", "USUBJID"]
    assert dm.loc["E1", "USUBJID"] == "MATCH-E1" and dm.loc["E1", "RFSTDTC"] == "2026-01-10"
    assert dm.loc["F1", "ARMCD"] == "SCRNFAIL" and dm.loc["E3", "DTHFL"] == "Y"
    for code, arm in arms.items():
        assert dm.loc[code, "ARMCD"] == arm
    lb = domains["LB"]
    followup = lb[lb["VISIT"] == "Day 90"].iloc[0]
    # SDTM study day: day 1 is the randomization date, so protocol day 90 is LBDY 91
    assert (followup["LBTESTCD"], followup["LBDY"], followup["LBSTRESN"]) == ("BILI", 91, 1.5)
    assert (lb["VISIT"] == "SCREENING").sum() == 15  # 3 labs x 5 screened participants
    ae = domains["AE"].iloc[0]
    assert (ae["AESER"], str(ae["AETOXGR"]), ae["AEOUT"], ae["AESTDY"]) == (
        "Y",
        "3",
        "RECOVERED",
        31,
    )
    assert len(domains["EX"]) == 1 and domains["EX"].iloc[0]["EXDOSE"] == 9.0e8
    ds = domains["DS"]
    assert set(ds["DSDECOD"]) == {"SCREEN FAILURE", "RANDOMIZED", "LOST TO FOLLOW-UP", "DEATH"}
    assert len(domains["QS"]) == 2 and set(domains["QS"]["QSTESTCD"]) == {"MOBILITY", "VAS"}
    assert list(domains["CE"]["CEDECOD"]) == ["DECOMPENSATION"]
    for path in result.files.values():
        content = path.read_bytes()
        assert SEED not in content and SEED.hex().encode() not in content
    assert not list((tmp_path / "sdtm").glob("*.tmp-*"))

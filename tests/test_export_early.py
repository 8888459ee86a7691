"""The SDTM-like export on stores at the first stages of a trial (nothing or little randomized).

Every domain file is written with its header even when it has no row, and participants who were
screened but not randomized appear in DM with ARMCD/ACTARMCD ``NOTASSGN`` ("Not Assigned"; an
ineligible screening gives ``SCRNFAIL``, "Screen Failure"), the SDTM IG 3.x convention for
subjects not assigned to an arm; their study days are empty because RFSTDTC is.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _early_stores import STAGES, build_stage

from hepatrial.service import export_sdtm, sdtm_domains
from hepatrial.store import dispose_engine, open_session

COLUMNS = {
    "DM": ["STUDYID", "DOMAIN", "USUBJID", "SUBJID", "RFSTDTC", "ARMCD", "ARM", "ACTARMCD"],
    "LB": ["STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBSTRESN", "LBDTC", "LBDY"],
    "AE": ["STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AESTDY"],
    "EX": ["STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXTRT", "EXSTDY"],
    "DS": ["STUDYID", "DOMAIN", "USUBJID", "DSSEQ", "DSDECOD", "DSSTDY"],
    "QS": ["STUDYID", "DOMAIN", "USUBJID", "QSSEQ", "QSTESTCD", "QSDY"],
    "CE": ["STUDYID", "DOMAIN", "USUBJID", "CESEQ", "CEDECOD", "CESTDY"],
}


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_writes_every_domain_with_its_columns(
    url: str, tmp_path: Path, stage: str, fmt: str
) -> None:
    build_stage(url, stage)
    with open_session(url) as session:
        written = export_sdtm(session, tmp_path / "out", format=fmt)  # type: ignore[arg-type]
    dispose_engine(url)
    assert set(written.files) == set(COLUMNS)
    for code, path in written.files.items():
        frame = pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path)
        assert set(COLUMNS[code]) <= set(frame.columns), code
        assert len(frame) == written.rows[code]


def test_empty_store_exports_empty_domains(url: str, tmp_path: Path) -> None:
    build_stage(url, "empty")
    with open_session(url) as session:
        written = export_sdtm(session, tmp_path / "out")
    dispose_engine(url)
    assert written.rows == dict.fromkeys(COLUMNS, 0)


def test_screened_participant_is_not_assigned_in_dm(url: str) -> None:
    build_stage(url, "screened")
    with open_session(url) as session:
        domains = sdtm_domains(session)
    dispose_engine(url)
    dm = domains["DM"].set_index("USUBJID")
    assert list(dm.index) == ["MATCH-P001"]
    row = dm.loc["MATCH-P001"]
    assert (row["ARMCD"], row["ARM"]) == ("NOTASSGN", "Not Assigned")
    assert (row["ACTARMCD"], row["ACTARM"]) == ("NOTASSGN", "Not Assigned")
    assert row["RFSTDTC"] == ""
    # the three screening labs (bilirubin, INR, creatinine) are in LB without a study day
    lb = domains["LB"]
    assert sorted(lb["LBTESTCD"]) == ["BILI", "CREAT", "INR"]
    assert lb["LBDY"].isna().all()
    assert domains["DS"].empty


def test_one_lab_has_study_day_relative_to_randomization(url: str) -> None:
    # randomized 2026-01-10, lab collected 2026-01-17: 7 days later is SDTM day 7 + 1 = 8
    build_stage(url, "one_lab")
    with open_session(url) as session:
        domains = sdtm_domains(session)
    dispose_engine(url)
    lb = domains["LB"]
    followup = lb[lb["VISIT"] != "SCREENING"]
    # recorded without a visit: unscheduled, not mistaken for a screening value
    assert followup["VISIT"].tolist() == ["UNSCHEDULED"]
    assert followup["VISITNUM"].isna().all()
    assert followup["LBDY"].tolist() == [8]
    assert followup["LBSTRESN"].round(4).tolist() == [round(30.0 / 17.1, 4)]
    dm = domains["DM"].set_index("USUBJID")
    assert set(dm["ARMCD"]) == {"macrophage", "standard-care"}


def test_seed_sequence(url: str) -> None:
    # the stages rely on this allocation order for the fixed seed (see _early_stores.SEED)
    assert build_stage(url, "both_arms") == ["macrophage", "macrophage", "standard-care"]


@pytest.mark.parametrize("stage", ["empty", "screened", "one_lab"])
def test_early_export_reads_back_into_the_report(url: str, tmp_path: Path, stage: str) -> None:
    from typer.testing import CliRunner

    from hepatrial.cli.main import app

    build_stage(url, stage)
    with open_session(url) as session:
        export_sdtm(session, tmp_path / "sdtm")
    dispose_engine(url)
    page = tmp_path / "r.html"
    run = CliRunner().invoke(
        app, ["report", "--sdtm", str(tmp_path / "sdtm"), "--protocol", "match", "-o", str(page)]
    )
    assert run.exit_code == 0, run.output
    randomized = 3 if stage == "one_lab" else 0
    assert f"· {randomized} randomized ·" in page.read_text(encoding="utf-8")

"""The operations command line, end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from _store_support import match_patient
from sqlalchemy import text
from typer.testing import CliRunner

from hepatrial.cli.main import app
from hepatrial.store import make_engine

pytest_plugins = ["_store_support"]

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def _ok(*args: str) -> str:
    code, output = _run(*args)
    assert code == 0, output
    return output


def test_cli_walk_through(db_url: str, tmp_path: Path) -> None:
    db = ("--db", db_url)
    assert "seed commitment" in _ok("init", "--protocol", "match", "--admin", "adm", *db)
    _ok("site", "add", "S01", "Edinburgh", "--user", "adm", *db)
    _ok("user", "add", "inv", "investigator", "--user", "adm", *db)
    patient = tmp_path / "p001.yaml"
    patient.write_text(yaml.safe_dump(match_patient()), encoding="utf-8")
    screened = _ok(
        "screen", "P001", str(patient), "--site", "S01", "--user", "inv", "--on", "2026-01-10", *db
    )
    assert "eligible" in screened and "meld_range" in screened
    randomized = _ok(
        "randomize", "P001", "--user", "inv", "--weight", "70", "--on", "2026-01-10", *db
    )
    assert "#1 ->" in randomized
    code, output = _run(
        "randomize", "P001", "--user", "inv", "--weight", "70", "--on", "2026-01-10", *db
    )
    assert code == 1 and "already randomized" in output
    _ok("record", "visit", "P001", "d7", "--on", "2026-01-17", "--user", "inv", *db)
    _ok(
        "record",
        "lab",
        "P001",
        "bilirubin",
        "30",
        "umol/L",
        "--on",
        "2026-01-17",
        "--visit",
        "d7",
        "--user",
        "inv",
        *db,
    )
    code, output = _run(
        "record",
        "lab",
        "P001",
        "creatinine",
        "88",
        "mg/dL",
        "--on",
        "2026-01-17",
        "--user",
        "inv",
        *db,
    )
    assert code == 1 and "88 µmol/L would be 1.0 mg/dL" in output
    fever = ("record", "ae", "P001", "--term", "Fever", "--soc", "General disorders",
             "--grade", "1", "--outcome", "recovered", "--start", "2026-01-20",
             "--user", "inv", *db)  # fmt: skip
    code, output = _run(*fever, "--end", "2026-01-18")
    assert code == 1 and "before start_date" in output
    _ok(*fever, "--end", "2026-01-21")
    _ok(
        "record",
        "qol",
        "P001",
        "EQ-5D-5L",
        "mobility=1",
        "vas=80",
        "--on",
        "2026-01-17",
        "--user",
        "inv",
        *db,
    )
    _ok(
        "record",
        "outcome",
        "P001",
        "infection",
        "--on",
        "2026-02-01",
        "--detail",
        "urinary",
        "--not-severe",
        "--user",
        "inv",
        *db,
    )
    schedule = _ok("schedule", "--on", "2026-01-24", *db)
    assert "Day 14" in schedule and "overdue" not in schedule.split("Day 14")[0][-40:]
    exported = _ok("export", "--format", "csv", "-o", str(tmp_path / "sdtm"), *db)
    assert "DM: 1 row(s)" in exported and (tmp_path / "sdtm" / "lb.csv").is_file()
    assert "audit trail intact" in _ok("audit", "verify", *db)
    with make_engine(db_url).begin() as connection:
        connection.execute(text("UPDATE lab_results SET value = 3 WHERE analyte = 'bilirubin'"))
    code, output = _run("audit", "verify", *db)
    assert code == 1 and "lab_results id=1" in output and "value is 3.0 in the table" in output


def test_init_creates_hepatrial_db_in_the_working_directory(tmp_path: Path) -> None:
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        _ok("init", "--protocol", "msc-aclf")
        assert (tmp_path / "hepatrial.db").is_file()
        assert "intact: 3 entries" in _ok("audit", "verify")
        code, output = _run("init", "--protocol", "match")
        assert code == 1 and "already holds a trial" in output
    finally:
        from hepatrial.store import dispose_engine

        dispose_engine("sqlite:///hepatrial.db")
        os.chdir(previous)


def test_cli_refuses_a_store_without_schema(tmp_path: Path) -> None:
    code, output = _run("schedule", "--db", f"sqlite:///{tmp_path / 'empty.db'}")
    assert code == 1 and "hepatrial init" in output


def test_cli_names_an_unusable_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'trial.db'}"
    code, output = _run("init", "--protocol", "match", "--db", url)
    assert code == 1 and "cannot use the database" in output and "unable to open" in output


def test_the_command_line_starts_without_the_design_and_report_stacks() -> None:
    """Trial operations (screen, randomize, record) must not pay for SciPy, matplotlib,
    statsmodels or Dask at start-up: those load only inside design, simulate and report."""
    probe = (
        "import sys, hepatrial.cli.main; "
        "print(','.join(m for m in ('scipy', 'matplotlib', 'statsmodels', 'dask') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""

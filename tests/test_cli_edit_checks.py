"""Edit checks at the command line: one line per problem, exit status 1 for a refusal and 2
for a usage error, never a traceback; --confirm stores the reason; only `init` creates a store."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _store_support import match_patient
from sqlalchemy import select
from typer.testing import CliRunner

from hepatrial.cli.main import app
from hepatrial.store import Confirmation, open_session

pytest_plugins = ["_store_support"]

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> tuple[str, ...]:
    """A MATCH store with site S01, investigator inv and participant P001 randomized."""
    db = ("--db", db_url)
    for args in (
        ("init", "--protocol", "match", "--admin", "adm"),
        ("site", "add", "S01", "Edinburgh", "--user", "adm"),
        ("user", "add", "inv", "investigator", "--user", "adm"),
    ):
        assert _run(*args, *db)[0] == 0
    patient = tmp_path / "p001.yaml"
    patient.write_text(yaml.safe_dump(match_patient()), encoding="utf-8")
    screen = ("screen", "P001", str(patient), "--site", "S01", "--user", "inv")
    assert _run(*screen, "--on", "2026-01-10", *db)[0] == 0
    randomize = ("randomize", "P001", "--user", "inv", "--weight", "70", "--on", "2026-01-10")
    assert _run(*randomize, *db)[0] == 0
    return db


def test_every_problem_gets_its_own_line_with_its_rule(
    store: tuple[str, ...], tmp_path: Path
) -> None:
    record = match_patient()
    record["facts"] = {**record["facts"], "liver_stiffness_kpa": 750}  # type: ignore[dict-item]
    record["labs"] = [
        *record["labs"],  # type: ignore[misc]
        {"analyte": "inr", "value": 1.9, "unit": "1", "collected_on": "2026-01-05"},
    ]
    patient = tmp_path / "p002.yaml"
    patient.write_text(yaml.safe_dump(record), encoding="utf-8")
    code, output = _run("screen", "P002", str(patient), "--site", "S01", "--user", "inv", *store)
    assert code == 1
    lines = output.splitlines()
    assert lines[0] == "refused: 2 problems"
    assert any("(fact.out_of_range, hard)" in line for line in lines[1:])
    assert any("(lab.conflicting_values, hard)" in line for line in lines[1:])
    assert "Traceback" not in output


def test_a_soft_problem_asks_for_a_reason_then_stores_it(store: tuple[str, ...]) -> None:
    lab = ("record", "lab", "P001", "bilirubin", "1.8", "umol/L", "--on", "2026-01-17")
    code, output = _run(*lab, "--user", "inv", *store)
    assert code == 1 and output.startswith("needs confirmation: bilirubin=1.8")
    assert '--confirm "...")' in output
    reason = "report re-read: 1.8 umol/L"
    code, output = _run(*lab, "--user", "inv", "--confirm", reason, *store)
    assert code == 0, output
    with open_session(store[1]) as session:
        confirmation = session.execute(select(Confirmation)).scalar_one()
        assert (confirmation.rule, confirmation.reason) == ("lab.unit_mix_up", reason)


@pytest.mark.parametrize(
    ("kind", "text", "needle"),
    [
        ("yaml", "age: [55\nsex: male\n", "is not valid: YAML, line 2"),
        ("json", '{"age": 55,', "is not valid: JSON, line 1"),
    ],
)
def test_malformed_screening_file_is_a_usage_error(
    store: tuple[str, ...], tmp_path: Path, kind: str, text: str, needle: str
) -> None:
    patient = tmp_path / f"p.{kind}"
    patient.write_text(text, encoding="utf-8")
    code, output = _run("screen", "P003", str(patient), "--site", "S01", "--user", "inv", *store)
    flat = " ".join(re.sub("[│╭╮╰╯─]", " ", output).split())  # Rich's error box, unwrapped
    assert code == 2 and needle in flat and "Traceback" not in output


@pytest.mark.parametrize(
    "command",
    [
        ("schedule",),
        ("audit", "verify"),
        ("export", "-o", "out"),
        ("report", "-o", "report.html"),
        ("record", "lab", "P001", "inr", "1.2", "1", "--user", "inv"),
    ],
    ids=["schedule", "audit-verify", "export", "report", "record-lab"],
)
def test_no_command_but_init_creates_a_store(tmp_path: Path, command: tuple[str, ...]) -> None:
    missing = tmp_path / "none.db"
    code, output = _run(*command, "--db", f"sqlite:///{missing}")
    assert code == 1 and "no store at" in output
    assert not missing.exists()


def test_a_bad_database_url_is_refused_without_a_traceback(tmp_path: Path) -> None:
    code, output = _run("schedule", "--db", "not a url")
    assert code == 1 and "is not a database URL" in output
    code, output = _run("schedule", "--db", "mysql://user@host/db")
    assert code == 1 and "is not supported" in output


def test_a_refusal_from_the_installed_command_has_no_traceback(store: tuple[str, ...]) -> None:
    """The real process, as users run it: stderr holds the refusal, exit status 1."""
    command = Path(sys.executable).with_name("hepatrial")
    run = subprocess.run(
        [str(command), "record", "lab", "P001", "inr", "1.2", "1", "--on", "2999-01-01"]
        + ["--user", "inv", *store],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1
    assert "after today" in run.stderr and "Traceback" not in run.stderr

"""The ``hepatrial score`` command."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import hepatrial.cli.score as score_cli
from hepatrial.cli.main import app
from hepatrial.scores import example_cohort

runner = CliRunner()

GOOD = """patient_id,sex,bilirubin,creatinine,albumin,sodium,inr,ascites,he_grade,dialysis
P1,M,1.2,0.9,3.5,138,1.1,0,0,0
P2,F,2.0,1.5,3.0,130,1.5,mild,1,0
"""
BAD = GOOD + "P3,M,1.2,88,3.5,138,1.1,0,0,0\nP4,X,abc,1.0,3.5,138,1.1,0,0,0\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cohort.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_scores_are_written_beside_the_rows(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        [
            "score",
            str(_write(tmp_path, GOOD)),
            "--scores",
            "meld,meld_3,child_pugh",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert table["patient_id"].tolist() == ["P1", "P2"]
    assert {"meld", "meld_3", "child_pugh_points", "child_pugh_class"} <= set(table.columns)
    assert "Scores in" in result.output


def test_invalid_rows_fail_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["score", str(_write(tmp_path, BAD)), "-o", str(out)])
    assert result.exit_code == 1
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "cohort.csv"]  # no temporary left behind
    assert "row 3 (line 4): creatinine=88 mg/dL is implausible" in result.output
    assert "row 4 (line 5): bilirubin='abc' is not a number" in result.output
    assert "row 4 (line 5): sex='X' is not a valid sex" in result.output
    assert "nothing written" in result.output


def test_keep_going_writes_valid_rows_and_an_error_file(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["score", str(_write(tmp_path, BAD)), "-o", str(out), "--keep-going"]
    )
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["patient_id"].tolist() == ["P1", "P2"]
    errors = pd.read_csv(tmp_path / "out.errors.csv")
    assert errors["row"].tolist() == [3, 4, 4]
    assert list(errors.columns) == ["row", "field", "value", "unit", "reason"]
    custom = tmp_path / "problems.csv"
    runner.invoke(
        app,
        [
            "score",
            str(tmp_path / "cohort.csv"),
            "-o",
            str(out),
            "--keep-going",
            "--errors",
            str(custom),
        ],
    )
    assert custom.exists()


def test_si_units_option(tmp_path: Path) -> None:
    text = "bilirubin,creatinine,inr\n17.1,88.4,1.0\n"
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["score", str(_write(tmp_path, text)), "-s", "meld", "-u", "si", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["meld"].tolist() == [6.0]
    assert "dialysis: no column" in result.output


def test_chunks_keep_row_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(score_cli, "CHUNK_ROWS", 3)
    lines = ["bilirubin,creatinine,inr"] + ["1.0,1.0,1.0"] * 7 + ["1.0,88,1.0"]
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        [
            "score",
            str(_write(tmp_path, "\n".join(lines) + "\n")),
            "-s",
            "meld",
            "-o",
            str(out),
            "--keep-going",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 7
    assert pd.read_csv(tmp_path / "out.errors.csv")["row"].tolist() == [8]


def test_example_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "example.csv"
    result = runner.invoke(app, ["score", "--example", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Example cohort: 200 synthetic patients" in result.output
    assert "meld_3" in result.output and "cossh_aclf_ii" in result.output
    assert len(pd.read_csv(out)) == len(example_cohort())


def test_usage_errors(tmp_path: Path) -> None:
    cohort = _write(tmp_path, GOOD)
    assert runner.invoke(app, ["score", str(cohort)]).exit_code == 2
    assert runner.invoke(app, ["score", str(cohort), "-o", "x.csv", "-u", "metric"]).exit_code == 2
    missing = runner.invoke(app, ["score", str(tmp_path / "nope.csv"), "-o", "x.csv"])
    assert missing.exit_code == 2
    unknown = runner.invoke(
        app, ["score", str(cohort), "-o", str(tmp_path / "o.csv"), "-s", "meld4"]
    )
    assert unknown.exit_code == 2
    assert "unknown score" in unknown.output
    assert not (tmp_path / "o.csv").exists()


def test_count_rows_handles_missing_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n2", encoding="utf-8")
    assert score_cli._count_rows(path) == 2
    path.write_text("a\n1\n2\n", encoding="utf-8")
    assert score_cli._count_rows(path) == 2

"""The ``hepatrial design`` and ``hepatrial simulate`` commands."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hepatrial.cli.main import app

runner = CliRunner()


def test_design_from_match_prints_the_sample_size() -> None:
    result = runner.invoke(
        app, ["design", "--from", "match", "--endpoint", "ddmeld", "--power", "0.9"]
    )
    assert result.exit_code == 0, result.output
    # SD = (1.79 / 3.91993) / sqrt(1/27 + 1/24) = 1.6277; normal n per arm
    # = 2 (1.95996 + 1.28155)^2 1.6277^2 / 0.87^2 = 73.56 -> 74.
    assert "1.6277" in result.output
    assert "74 (147.12)" in result.output
    assert "75 (149.07)" in result.output


def test_design_group_sequential_and_survival() -> None:
    result = runner.invoke(
        app,
        [
            "design",
            "--from",
            "msc-aclf",
            "--endpoint",
            "survival",
            "--looks",
            "3",
            "--futility",
            "obf",
            "--power",
            "0.9",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "3.710, 2.511, 1.993" in result.output
    assert "105.20" in result.output  # Schoenfeld: 4 (1.95996 + 1.28155)^2 / log(0.5315)^2


def test_design_refuses_an_unknown_endpoint() -> None:
    result = runner.invoke(app, ["design", "--from", "match", "--endpoint", "survival"])
    assert result.exit_code != 0
    assert "--endpoint ddmeld" in result.output


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("design", "--spending", "linear"),
        ("design", "--futility", "always"),
        ("simulate", "--spending", "linear"),
        ("simulate", "--backend", "ray"),
    ],
)
def test_enumerated_options_are_choices(command: str, option: str, value: str) -> None:
    """A value outside an option's choices is refused before the command runs."""
    result = runner.invoke(app, [command, option, value, "--looks", "2"])
    assert result.exit_code == 2
    assert value in result.output and "is not one of" in result.output


def test_simulate_writes_power_curves(tmp_path: Path) -> None:
    out = tmp_path / "curves"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--protocol",
            "msc-aclf",
            "--trials",
            "1000",
            "--n",
            "40,60",
            "--hr",
            "1,0.5",
            "--workers",
            "1",
            "--seed",
            "3",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "power_curves.csv")
    assert summary.shape[0] == 4
    assert (out / "power_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "power_curves.html").read_text()
    assert "data:image/png;base64," in page and "<table" in page
    assert "stop_efficacy_1" in page


def test_simulate_refuses_bad_sizes() -> None:
    result = runner.invoke(app, ["simulate", "--n", "40,abc", "--trials", "10"])
    assert result.exit_code != 0
    assert "--n" in result.output


def test_simulate_group_sequential_with_futility(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "simulate",
            "--protocol",
            "msc-aclf",
            "--trials",
            "1000",
            "--n",
            "200",
            "--hr",
            "0.6",
            "--looks",
            "2",
            "--futility",
            "obf",
            "--max-events",
            "80",
            "--workers",
            "1",
            "-o",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "power_curves.csv")
    assert summary["stop_futility_1"].iloc[0] > 0
    stops = summary["stop_efficacy_1"].iloc[0] + summary["stop_efficacy_2"].iloc[0]
    assert stops == pytest.approx(summary["power"].iloc[0], abs=1e-12)


def test_simulate_shows_no_secondary_power_without_a_complication(tmp_path: Path) -> None:
    # the compensated-cirrhosis model (MATCH) has no binary complication, so no secondary test:
    # the column shows "–", not a power of 0
    result = runner.invoke(
        app,
        ["simulate", "--protocol", "match", "--trials", "20", "--n", "40", "--workers", "1"]
        + ["-o", str(tmp_path / "m")],
    )
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("│ 40 "))
    assert row.split("│")[-2].strip() == "–"
    assert "no complication to test" in result.output

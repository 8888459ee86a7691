"""``hepatrial protocol``: list, check (exit codes) and assumptions."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hepatrial.cli.main import app

runner = CliRunner()


def test_list_shows_builtins() -> None:
    result = runner.invoke(app, ["protocol", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("match", "msc-aclf", "realistic"):
        assert name in result.output


def test_check_valid_builtin() -> None:
    result = runner.invoke(app, ["protocol", "check", "msc-aclf"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "permuted_blocks" in result.output
    assert "valid" in result.output


def test_check_invalid_file_exits_1_with_key_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\narms: [{id: a, label: A, ratoi: 1}]\nvisitz: []\n", encoding="utf-8")
    result = runner.invoke(app, ["protocol", "check", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "unknown key 'visitz'" in result.output
    assert "arms[0]: unknown key 'ratoi'" in result.output
    assert "eligibility: required key is missing" in result.output


def test_assumptions_lists_paths() -> None:
    result = runner.invoke(app, ["protocol", "assumptions", "match"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "eligibility.meld_variant" in result.output
    assert "eligibility.inclusion[age_range].expression" in result.output
    assert "inferred" in result.output

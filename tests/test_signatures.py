"""Signature hygiene over src/: options that travel together are objects, not long signatures.

A public function (no leading underscore) outside the command line
(``cli/``: one parameter per option is Typer's idiom) and the score formulas (``scores/``: the
parameters are the clinical inputs) takes at most :data:`MAX_PARAMETERS` parameters, counting
positional and keyword-only ones but not ``self``, ``cls`` or ``session``. Groups of options
that go together are frozen dataclasses (``AdverseEventFields``, ``AccrualPlan``,
``RateColumns``, ``Scenario``). The command line needs no ``type: ignore``: enumerated options
are ``Literal`` choices.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "hepatrial"
MAX_PARAMETERS = 10
EXEMPT_PACKAGES = ("cli", "scores")
NOT_COUNTED = {"self", "cls", "session"}


def _public_functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function and method whose name has no leading ``_`` (in any module)."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and not node.name.startswith("_")
    ]


def _parameter_count(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    arguments = function.args
    names = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    return sum(name not in NOT_COUNTED for name in names)


def _checked_modules() -> list[Path]:
    return [
        path
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).parts[0] not in EXEMPT_PACKAGES
    ]


def test_the_checked_modules_are_found() -> None:
    names = {p.relative_to(SRC).as_posix() for p in _checked_modules()}
    assert {"service/records.py", "design/survival.py", "stats/rates.py"} <= names
    assert not any(n.startswith(("cli/", "scores/")) for n in names)


def test_public_functions_take_at_most_ten_parameters() -> None:
    too_long = [
        f"{path.relative_to(SRC)}:{function.lineno} {function.name}() takes "
        f"{_parameter_count(function)} parameters"
        for path in _checked_modules()
        for function in _public_functions(ast.parse(path.read_text(encoding="utf-8")))
        if _parameter_count(function) > MAX_PARAMETERS
    ]
    assert not too_long, (
        f"public functions with more than {MAX_PARAMETERS} parameters (group the options "
        "that travel together in a frozen dataclass):\n" + "\n".join(too_long)
    )


def test_the_counter_sees_keyword_only_parameters_and_skips_the_session() -> None:
    tree = ast.parse("def record(session, a, /, b, *c, d, e=1, **f): pass")
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    assert _parameter_count(function) == 4  # a, b, d, e


def test_the_command_line_needs_no_type_ignore() -> None:
    ignored = [
        f"{path.relative_to(SRC)}:{number}"
        for path in sorted((SRC / "cli").glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "type: ignore" in line
    ]
    assert not ignored, "type: ignore in the command line: " + ", ".join(ignored)

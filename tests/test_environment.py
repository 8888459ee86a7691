"""The environment users get: the committed locks, the packaging extras and the core library
without the command line or Dask.

The locks are read as text (``name==version ; marker`` lines written by ``make lock``); the
installed versions are compared with them unless ``HEPATRIAL_UNLOCKED=1`` (the run against the
newest releases, which is meant to differ).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "requirements"
EXTRAS_ONLY = {
    "typer",
    "rich",
    "dask",
    "distributed",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic_settings",
}


def _pins(lock: Path) -> dict[str, tuple[str, str]]:
    """``{name: (version, marker)}`` of every ``name==version`` line of a lock."""
    pins: dict[str, tuple[str, str]] = {}
    for line in lock.read_text().splitlines():
        if not line or line[0] in " #-":
            continue
        requirement = Requirement(line.rstrip(" \\"))
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", line
        key = f"{canonicalize_name(requirement.name)} {requirement.marker or ''}".strip()
        pins[key] = (specifier.version, str(requirement.marker or ""))
    return pins


def _project() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"": project["dependencies"], **project["optional-dependencies"]}


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def _locked_names(lock: Path) -> set[str]:
    return {key.split(" ")[0] for key in _pins(lock)}


def test_test_lock_keeps_every_version_the_demo_lock_installs() -> None:
    demo, test = _pins(LOCKS / "all.lock"), _pins(LOCKS / "test.lock")
    changed = {k: (v, test.get(k)) for k, v in demo.items() if test.get(k) != v}
    assert not changed, f"make test would change what make demo installed: {changed}"
    assert set(test) > set(demo)


def test_locks_cover_what_pyproject_asks_for() -> None:
    """A dependency added to pyproject.toml without `make lock` fails here, not for a user."""
    extras = _project()
    hepatrial = {"hepatrial"}
    demo = _names(extras[""] + extras["cli"] + extras["dask"]) - hepatrial
    assert demo <= _locked_names(LOCKS / "all.lock")
    assert _names(extras["test"]) <= _locked_names(LOCKS / "test.lock")
    assert _names(extras["bench"]) <= _locked_names(LOCKS / "bench.lock")


def test_lifelines_stays_out_of_the_user_and_test_environments() -> None:
    """lifelines caps pandas below 3; it is a benchmark comparison only."""
    for lock in ("all.lock", "test.lock"):
        assert "lifelines" not in _locked_names(LOCKS / lock)
    assert "lifelines" in _locked_names(LOCKS / "bench.lock")
    demo_pandas = {v for k, (v, _) in _pins(LOCKS / "all.lock").items() if k.startswith("pandas")}
    assert demo_pandas and all(int(v.split(".")[0]) >= 3 for v in demo_pandas)


def test_every_pin_carries_hashes() -> None:
    for lock in LOCKS.glob("*.lock"):
        text = lock.read_text()
        assert text.count("==") <= text.count("--hash=sha256:"), lock.name


@pytest.mark.skipif(
    os.environ.get("HEPATRIAL_UNLOCKED") == "1", reason="the newest-releases run is not locked"
)
def test_installed_versions_are_the_locked_ones() -> None:
    """The suite runs in exactly the environment `make demo` gives users (plus the test tools)."""
    environment = default_environment()
    wrong = {}
    for key, (version, marker) in _pins(LOCKS / "test.lock").items():
        if marker and not Requirement(f"x ; {marker}").marker.evaluate(environment):  # type: ignore[union-attr]
            continue
        name = key.split(" ")[0]
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (version, installed)
    assert not wrong, f"installed versions differ from requirements/test.lock: {wrong}"


def test_core_requirements_leave_the_extras_out() -> None:
    core = [r for r in metadata.requires("hepatrial") or [] if "extra ==" not in r]
    assert not _names(core) & (EXTRAS_ONLY | {"lifelines"})
    assert {"pandas", "numpy", "sqlalchemy"} <= _names(core)


_WITHOUT_EXTRAS = textwrap.dedent(
    """
    import importlib, sys

    for name in {blocked!r}:
        sys.modules[name] = None  # `import name` now fails as if it were not installed
    for module in {core!r}:
        importlib.import_module(module)
    leaked = sorted(
        m for m, v in sys.modules.items() if v is not None and m.split(".")[0] in {blocked!r}
    )
    assert not leaked, leaked
    from hepatrial.exceptions import MissingExtraError
    from hepatrial.simulate.runner import _execute_dask
    try:
        _execute_dask([], "tcp://127.0.0.1:1", None)
    except MissingExtraError as error:
        print(error)
    try:
        import hepatrial.cli
    except SystemExit as error:
        print(error)
    """
)

CORE = [
    "hepatrial",
    "hepatrial.units",
    "hepatrial.scores",
    "hepatrial.stats",
    "hepatrial.design",
    "hepatrial.protocol",
    "hepatrial.allocation",
    "hepatrial.store",
    "hepatrial.service",
    "hepatrial.analysis",
    "hepatrial.analysis.plan",
    "hepatrial.report",
    "hepatrial.simulate",
    "hepatrial.simulate.runner",
    "hepatrial.demo.run",
]


def test_core_library_imports_without_the_cli_and_dask_extras() -> None:
    """Typer, Rich, Dask and distributed made unimportable: the core still imports, and the two
    optional capabilities say which extra to install."""
    script = _WITHOUT_EXTRAS.format(blocked=sorted(EXTRAS_ONLY), core=CORE)
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines == [
        "backend='dask' needs the 'dask' extra; install it with: pip install 'hepatrial[dask]'",
        "hepatrial: the command line needs the 'cli' extra (Typer and Rich); "
        "install it with: pip install 'hepatrial[cli]'",
    ]

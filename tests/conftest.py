"""Shared fixtures: the real PostgreSQL server and Debian's chromium.

Both are used for real when present. Without them a test skips with a message, except under
``CI=true``, where a missing service is a failure: CI must never skip these tests silently.
Under ``CI=true`` the property tests also run with derandomized examples.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import settings

IN_CI = os.environ.get("CI", "").lower() == "true"

# Under CI the property tests draw the same examples on every run (a failure found while
# developing is kept in the example database and replayed; CI starts from a clean clone).
settings.register_profile("ci", derandomize=True, print_blob=True)
if IN_CI:
    settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def _sealing_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Sealing keys of PostgreSQL test stores go to a temporary directory, never the home one
    (SQLite stores keep theirs beside the database file, in each test's own directory)."""
    previous = os.environ.get("HEPATRIAL_KEY_DIR")
    os.environ["HEPATRIAL_KEY_DIR"] = str(tmp_path_factory.mktemp("keys"))
    yield
    if previous is None:
        os.environ.pop("HEPATRIAL_KEY_DIR", None)
    else:
        os.environ["HEPATRIAL_KEY_DIR"] = previous


POSTGRES_ADMIN_URL = os.environ.get(
    "HEPATRIAL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required when CI=true", pytrace=False)
    pytest.skip(f"{what} is not available on this machine")


def _postgres_reachable() -> str | None:
    try:
        import psycopg

        dsn = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return str(exc)
    return None


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """SQLAlchemy URL of the PostgreSQL database ``test`` (trust auth, user postgres)."""
    problem = _postgres_reachable()
    if problem is not None:
        _missing(f"PostgreSQL at {POSTGRES_ADMIN_URL} ({problem})")
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards; yields its URL."""
    import psycopg

    name = f"hepatrial_test_{uuid.uuid4().hex[:12]}"
    dsn = postgres_admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of Debian's chromium binary (never a downloaded browser)."""
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )
    if path is None:
        _missing("Debian's chromium (apt-get install chromium)")
    assert path is not None
    return path

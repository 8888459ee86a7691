"""Fixtures shared by the store, service, audit, CLI, concurrency and crash tests.

``db_url`` runs a test twice: on a fresh SQLite file and on a fresh PostgreSQL database (the
``postgres_database`` fixture of ``conftest.py``, which fails under ``CI=true`` if PostgreSQL
is missing). ``trial_url`` is a migrated store holding the MATCH trial with a fixed seed, two
sites and users of every role.

PYTEST_DONT_REWRITE (plain helpers, imported by test modules before pytest loads it as a plugin)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hepatrial.service.trials import add_site, add_user, create_trial
from hepatrial.store import StoreSession, dispose_engine, init_db, open_session

SEED = bytes(range(32))
ADMIN = "adm-1"
INVESTIGATOR = "inv-1"
COORDINATOR_S02 = "crd-2"
MONITOR = "mon-1"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    yield url
    dispose_engine(url)


def build_trial(url: str, protocol: str = "match", *, seed: bytes = SEED) -> None:
    """Migrate ``url`` and set up ``protocol`` with two sites and one user of each role."""
    init_db(url)
    with open_session(url) as session:
        create_trial(session, protocol, seed=seed, admin=ADMIN)
        add_site(session, code="S01", name="Edinburgh", user=ADMIN)
        add_site(session, code="S02", name="Glasgow", user=ADMIN)
        add_user(session, user_id=INVESTIGATOR, role="investigator", user=ADMIN)
        add_user(session, user_id=COORDINATOR_S02, role="coordinator", site="S02", user=ADMIN)
        add_user(session, user_id=MONITOR, role="monitor", user=ADMIN)


@pytest.fixture
def trial_url(db_url: str) -> str:
    """A migrated store holding the MATCH trial (fixed seed), sites S01/S02 and users."""
    build_trial(db_url)
    return db_url


@pytest.fixture
def session(trial_url: str) -> Iterator[StoreSession]:
    """An audited session on ``trial_url``."""
    with open_session(trial_url) as opened:
        yield opened

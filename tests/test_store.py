"""The trial store itself: migrations, engine settings and database-level constraints."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import asdict
from pathlib import Path

import pytest
from _store_support import ADMIN, adverse_event_fields
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

import hepatrial.store.records  # noqa: F401 - registers every table on the metadata
from hepatrial.exceptions import NotFoundError, RecordError
from hepatrial.service._common import write_operation
from hepatrial.store import (
    AdverseEvent,
    Base,
    StoreSession,
    init_db,
    make_engine,
    session_factory,
)
from hepatrial.store.engine import head_revision, schema_revision

pytest_plugins = ["_store_support"]


def test_migrations_create_exactly_the_models(db_url: str) -> None:
    engine = init_db(db_url)
    init_db(db_url)  # upgrading an up-to-date store is a no-op
    assert schema_revision(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pragmas.db'}"
    engine = init_db(url)
    with engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    # synchronous: 1 is NORMAL
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 30000,
    }


def test_unmigrated_store_and_unknown_url_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    with pytest.raises(NotFoundError, match="no store at .*create one with `hepatrial init"):
        session_factory(f"sqlite:///{empty}")
    assert not empty.exists()  # opening never creates a store
    sqlite3.connect(empty).close()  # an empty SQLite file: a database without the schema
    with pytest.raises(RecordError, match="has no hepatrial schema; run `hepatrial init`"):
        session_factory(f"sqlite:///{empty}")
    with pytest.raises(RecordError, match="not supported"):
        make_engine("mysql://user@host/db")


def test_database_refuses_impossible_adverse_events(session: StoreSession) -> None:
    """Check constraints hold even for a write that bypasses the service's checks."""
    base = {"participant_id": "Z1", **asdict(adverse_event_fields(start_date=dt.date(2026, 1, 2)))}
    del base["grade"]
    with write_operation(session, ADMIN):
        session.execute(
            text(
                "INSERT INTO participants (id, site_code, created_at) "
                "VALUES ('Z1', 'S01', '2026-01-01 00:00:00')"
            )
        )
    for bad in ({"grade": 6}, {"grade": 2, "end_date": dt.date(2026, 1, 1)}):
        with pytest.raises(IntegrityError), write_operation(session, ADMIN):
            session.add(AdverseEvent(**{**base, **bad}))  # type: ignore[arg-type]


def test_foreign_keys_are_enforced(session: StoreSession) -> None:
    with pytest.raises(IntegrityError), write_operation(session, ADMIN):
        session.add(AdverseEvent(participant_id="nobody", **asdict(adverse_event_fields())))

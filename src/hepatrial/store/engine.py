"""Engines, sessions and migrations of the trial store.

SQLite (the default, ``sqlite:///hepatrial.db``) runs in WAL mode with ``synchronous=NORMAL``
(a commit is durable once the WAL is synced at checkpoint; a crash can lose at most the last
commits but never corrupts or half-applies one), foreign keys on and a 30 s busy timeout.
Every writing operation starts its SQLite transaction with ``BEGIN IMMEDIATE`` (session
connection option ``hepatrial_write=True``): it takes the write lock up front, so two writers
never fail upgrading a read lock, and a randomization's read of the allocation history and its
insert happen under one lock. Reads use a deferred ``BEGIN``. PostgreSQL is used through
``postgresql+psycopg://user@host/db`` URLs at READ COMMITTED; operations that must be
serialized lock rows explicitly (``SELECT ... FOR UPDATE``).

:func:`init_db` upgrades the database to the newest Alembic revision, programmatically (no
``alembic.ini`` is needed).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hepatrial.exceptions import RecordError
from hepatrial.store.audit import install_audit_hook

DEFAULT_URL: Final = "sqlite:///hepatrial.db"
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


class StoreSession(Session):
    """Session class of the trial store: every flush writes the audit log (see ``audit``)."""


install_audit_hook(StoreSession)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writing operations ask for the write lock up front (see the module docstring);
        # reads use a deferred transaction and never block writers in WAL mode.
        immediate = connection.get_execution_options().get("hepatrial_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str = DEFAULT_URL, *, pool_size: int = 5) -> Engine:
    """An engine for ``url`` (cached per process), configured as the module docstring says.

    Parameters
    ----------
    url
        ``sqlite:///path.db`` or ``postgresql+psycopg://user@host:port/database``.
    pool_size
        Connections kept open for PostgreSQL (ignored for SQLite).
    """
    with _engines_lock:
        cached = _engines.get(url)
        if cached is not None:
            return cached
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(
                url,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            )
            _configure_sqlite(engine)
        elif parsed.get_backend_name() == "postgresql":
            engine = create_engine(
                url, pool_size=pool_size, max_overflow=2 * pool_size, pool_pre_ping=True
            )
        else:
            raise RecordError(
                f"database URL {parsed.render_as_string(hide_password=True)!r} is not "
                "supported; use sqlite:///file.db or postgresql+psycopg://user@host/database"
            )
        _engines[url] = engine
        return engine


def dispose_engine(url: str) -> None:
    """Close the cached engine of ``url``, if any (before dropping its database, say)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def dispose_engines() -> None:
    """Close every cached engine (for example in a forked or finished process)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def init_db(url: str = DEFAULT_URL) -> Engine:
    """Create or upgrade the store at ``url`` to the newest schema revision; return its engine."""
    engine = make_engine(url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return engine


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (``None`` for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest Alembic revision shipped with this version of hepatrial."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise RecordError("hepatrial ships no schema migrations; the installation is broken")
    return head


def session_factory(url_or_engine: str | Engine = DEFAULT_URL) -> sessionmaker[StoreSession]:
    """A factory of audited sessions; refuses a store that is not at the newest schema."""
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    current = schema_revision(engine)
    if current != head_revision():
        state = "has no hepatrial schema" if current is None else f"is at schema revision {current}"
        raise RecordError(
            f"the database {engine.url.render_as_string(hide_password=True)} {state}; "
            f"run `hepatrial init` (or hepatrial.store.init_db) to create or upgrade it"
        )
    return sessionmaker(bind=engine, class_=StoreSession, expire_on_commit=False)


def open_session(url: str = DEFAULT_URL) -> StoreSession:
    """A new audited session on the store at ``url`` (close it, or use it as a context manager)."""
    return session_factory(url)()

"""Engines, sessions and migrations of the trial store.

SQLite (the default, ``sqlite:///hepatrial.db``) runs in WAL mode with ``synchronous=NORMAL``
(a commit is durable once the WAL is synced at checkpoint; a crash can lose at most the last
commits but never corrupts or half-applies one), foreign keys on and a 30 s busy timeout.
Every writing operation starts its SQLite transaction with ``BEGIN IMMEDIATE`` (session
connection option ``hepatrial_write=True``): it takes the write lock up front, so two writers
never fail upgrading a read lock, and a randomization's read of the allocation history and its
insert happen under one lock. Reads use a deferred ``BEGIN``.

Writers of a file-backed SQLite database queue in the kernel rather than in SQLite's busy
handler (which sleeps with growing back-off, up to 100 ms a sleep, and so gives writers that
wait a long tail of latency). Before ``BEGIN IMMEDIATE`` the connection takes an exclusive
``flock`` on the lock file ``<database file>.write-lock`` (created next to the database, left
in place, holding no data); it keeps the lock through ``COMMIT`` or ``ROLLBACK`` and releases
it once the transaction has ended, also when the connection is closed or invalidated, and the
kernel releases it when the process dies. A waiting writer sleeps until the lock is released
and wakes at once. Each DBAPI connection opens the lock file itself, so threads of one process
queue too; reads never take the lock. A writer that waits longer than the busy timeout gets
SQLite's own error type and wording, ``database is locked``, naming the database and the lock
file. The busy timeout stays for writers that do not take the lock (other programs, schema
migrations). On Windows (no ``fcntl``) and for in-memory databases writers wait in the busy
handler as before.

PostgreSQL is used through ``postgresql+psycopg://user@host/db`` URLs at READ COMMITTED;
operations that must be serialized lock rows explicitly (``SELECT ... FOR UPDATE``); audited
writers first queue on an advisory lock, which PostgreSQL grants in arrival order
(:func:`hepatrial.store.audit.lock_head_statement`).

:func:`init_db` upgrades the database to the newest Alembic revision, programmatically (no
``alembic.ini`` is needed).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hepatrial.exceptions import NotFoundError, RecordError
from hepatrial.store.audit import install_audit_hook

if sys.platform != "win32":
    import fcntl

DEFAULT_URL: Final = "sqlite:///hepatrial.db"
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
SQLITE_WRITE_LOCK_SUFFIX: Final = ".write-lock"
MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


class StoreSession(Session):
    """Session class of the trial store: every flush writes the audit log (see ``audit``)."""


install_audit_hook(StoreSession)


class _LockWaiter:
    """A blocking ``flock(LOCK_EX)`` on ``fd`` in a helper thread, which a waiter may abandon.

    There is no ``flock`` with a timeout, and a blocked system call in a thread other than the
    main one cannot be interrupted, so the call blocks in a daemon thread while the writer waits
    for it on an event, up to its timeout. Both sleep in the kernel until the lock is released:
    nothing polls. A writer that gives up marks the waiter abandoned and leaves the descriptor
    to it; when the lock is granted later, the thread closes the descriptor, which releases the
    lock at once. A mutex decides which of the two, grant or abandonment, came first.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.error: OSError | None = None
        self._finished = threading.Event()
        self._mutex = threading.Lock()
        self.abandoned = False

    def start(self) -> None:
        """Start waiting for the lock in a daemon thread."""
        threading.Thread(target=self._run, name="hepatrial-sqlite-write-lock", daemon=True).start()

    def _run(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as error:
            self.error = error
        with self._mutex:
            if self.abandoned:
                os.close(self.fd)  # releases the lock nobody waits for any more
                return
            self._finished.set()

    def wait(self, timeout_s: float) -> bool:
        """Whether ``flock`` returned within ``timeout_s``; if not, the waiter is abandoned.

        Interrupted (``KeyboardInterrupt``, say), the waiter is abandoned, or the lock released
        if it was granted meanwhile, before the exception goes on.
        """
        finished = False
        try:
            self._finished.wait(timeout_s)
            finished = True
        finally:
            with self._mutex:
                if not self._finished.is_set():
                    self.abandoned = True
                    finished = False
                elif not finished and self.error is None:
                    fcntl.flock(self.fd, fcntl.LOCK_UN)
        return finished


class _WriteLock:
    """The write-lock file of one SQLite database, as opened by one DBAPI connection.

    Parameters
    ----------
    database
        Absolute path of the database file (from ``PRAGMA database_list``).
    timeout_s
        Longest wait for the lock before the write is refused as ``database is locked``.
    """

    def __init__(self, database: str, timeout_s: float) -> None:
        self.database = database
        self.path = database + SQLITE_WRITE_LOCK_SUFFIX
        self.timeout_s = timeout_s
        self.held = False
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, waiting in the kernel's queue; raise ``OperationalError`` on timeout."""
        if self.held:
            return
        fd = self._descriptor()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            contended = False
        except BlockingIOError:
            contended = True
        except OSError as error:
            raise self._lock_failed(error) from error
        if contended:
            self._wait(fd)
        self.held = True

    def release(self) -> None:
        """Release the lock if this connection holds it."""
        if self.held and self._fd is not None:
            self.held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the descriptor, which releases the lock if it is held."""
        fd, self._fd, self.held = self._fd, None, False
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        # A connection dropped without close() must not keep the lock (or the descriptor).
        try:
            self.close()
        except OSError:
            pass

    def _descriptor(self) -> int:
        if self._fd is None:
            try:
                mode = os.stat(self.database).st_mode & 0o666  # as SQLite's -wal and -shm files
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, mode)
            except OSError as error:
                raise self._error(
                    f"cannot open the write-lock file {self.path} of the SQLite database "
                    f"{self.database} ({error.strerror}); writers need to create it next to "
                    "the database, so the directory must be writable"
                ) from error
        return self._fd

    def _wait(self, fd: int) -> None:
        waiter = _LockWaiter(fd)
        waiter.start()
        try:
            granted = waiter.wait(self.timeout_s)
        finally:
            if waiter.abandoned:
                # The waiter owns the descriptor now and closes it when its flock returns;
                # the next write opens a new one, so that late grant cannot unlock it.
                self._fd = None
        if waiter.error is not None:
            raise self._lock_failed(waiter.error) from waiter.error
        if not granted:
            raise self._error(
                f"database is locked: waited {self.timeout_s:g} s for the SQLite database "
                f"{self.database} while another writer held it (write-lock file {self.path}); "
                "retry once it has finished, or look for a process stuck inside a write"
            )

    def _lock_failed(self, error: OSError) -> OperationalError:
        return self._error(
            f"cannot lock the write-lock file {self.path} of the SQLite database "
            f"{self.database} ({error.strerror})"
        )

    @staticmethod
    def _error(message: str) -> OperationalError:
        # The same exception type, statement and wording as SQLite's own "database is locked".
        return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(message))


class _QueuedConnection(sqlite3.Connection):
    """A sqlite3 connection that releases its write lock once its transaction has ended.

    SQLAlchemy's ``commit`` and ``rollback`` events run before the statement is sent, so the
    lock is released here, at the DBAPI level, after it: every path that ends a transaction
    (commit, rollback, the pool's reset of a connection returned mid-transaction, close on
    invalidation or disposal) goes through these methods.
    """

    write_lock: _WriteLock | None = None

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release_if_ended()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release_if_ended()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.write_lock is not None:
                self.write_lock.close()

    def _release_if_ended(self) -> None:
        # A COMMIT that failed leaves the transaction open: keep the lock until its rollback.
        if self.write_lock is not None and not _in_transaction(self):
            self.write_lock.release()


def _in_transaction(dbapi_connection: sqlite3.Connection) -> bool:
    try:
        return dbapi_connection.in_transaction
    except sqlite3.ProgrammingError:  # closed
        return False


def _attach_write_lock(dbapi_connection: Any) -> None:
    """Give a file-backed database's connection its own descriptor of the write-lock file."""
    if sys.platform == "win32" or not isinstance(dbapi_connection, _QueuedConnection):
        return
    cursor = dbapi_connection.cursor()
    rows = cursor.execute("PRAGMA database_list").fetchall()
    cursor.close()
    database = next((str(file) for _seq, name, file in rows if name == "main"), "")
    if database:  # in-memory and temporary databases have no file
        dbapi_connection.write_lock = _WriteLock(database, SQLITE_BUSY_TIMEOUT_MS / 1000)


def _begin_immediate(connection: Any) -> None:
    """``BEGIN IMMEDIATE``, after the write lock when the database has one."""
    dbapi_connection = connection.connection.dbapi_connection
    lock = getattr(dbapi_connection, "write_lock", None)
    if lock is None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    lock.acquire()
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if not _in_transaction(dbapi_connection):
            lock.release()
        raise


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
        _attach_write_lock(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writing operations ask for the write lock up front (see the module docstring);
        # reads use a deferred transaction and never block writers in WAL mode.
        if connection.get_execution_options().get("hepatrial_write", False):
            _begin_immediate(connection)
        else:
            connection.exec_driver_sql("BEGIN")


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
                connect_args={
                    "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                    "check_same_thread": False,
                    "factory": _QueuedConnection,
                },
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


def _create_private_sqlite_file(url: str) -> None:
    """Create a new SQLite store file readable by its owner only (mode 0600): SQLite gives its
    ``-wal`` and ``-shm`` files, and hepatrial its write-lock file, the same mode."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    try:
        os.close(os.open(parsed.database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError:
        pass  # a missing or read-only directory: SQLite's own error names it when it connects


def init_db(url: str = DEFAULT_URL) -> Engine:
    """Create or upgrade the store at ``url`` to the newest schema revision; return its engine.

    A new SQLite file is created without group or world access.
    """
    _create_private_sqlite_file(url)
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


def _refuse_missing_sqlite_file(url: str) -> None:
    """Opening a store never creates one: a SQLite file that does not exist is refused here,
    before a connection would create it empty (only :func:`init_db` creates a store)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if not Path(parsed.database).exists():
        raise NotFoundError(
            f"no store at {parsed.database}: create one with `hepatrial init --protocol NAME` "
            "(or hepatrial.store.init_db), or give the URL of an existing store"
        )


def session_factory(url_or_engine: str | Engine = DEFAULT_URL) -> sessionmaker[StoreSession]:
    """A factory of audited sessions; refuses a missing store, and one that is not at the
    newest schema."""
    if isinstance(url_or_engine, str):
        _refuse_missing_sqlite_file(url_or_engine)
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

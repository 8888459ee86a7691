"""SQLite writers queue on the write-lock file ``<database>.write-lock`` (``flock``).

Writers in several spawned processes randomize through the queue without lost updates and the
audit chain verifies. The lock is held from ``BEGIN IMMEDIATE`` through ``COMMIT``, and it is
free again after a commit, after a refused operation's rollback, when a pooled connection is
returned or invalidated mid-transaction, and when the holding process is killed with SIGKILL
inside its transaction. Readers do not take it; connections of one process queue against each
other; a writer that waits longer than the busy timeout is refused with SQLite's wording,
``database is locked``, naming the database; an in-memory database has no lock file.

The test probes the lock through a descriptor of its own: ``flock`` locks belong to the open
file, so a probe in the test process conflicts with the store's connections like any other
process would.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import _workers
import pytest
from _store_support import (
    ADMIN,
    INVESTIGATOR,
    SCREEN_DAY,
    build_trial,
    match_patient,
    screen_codes,
)
from sqlalchemy import Connection, event, func, select
from sqlalchemy.exc import OperationalError

import hepatrial.store.engine as store_engine
from hepatrial.exceptions import RecordError
from hepatrial.service import add_user, randomize, verify_allocations
from hepatrial.store import (
    Randomization,
    User,
    acting_as,
    dispose_engine,
    make_engine,
    open_session,
    verify_audit,
)
from hepatrial.store.audit import PAUSE_VARIABLE
from hepatrial.store.engine import SQLITE_WRITE_LOCK_SUFFIX

pytest_plugins = ["_store_support"]

WORKER = Path(__file__).with_name("_workers.py")
SHORT_TIMEOUT_MS = 400


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A SQLite store holding the MATCH trial; yields its URL and its write-lock file."""
    database = tmp_path / "store.db"
    url = f"sqlite:///{database}"
    build_trial(url, "match")
    yield url, Path(f"{database}{SQLITE_WRITE_LOCK_SUFFIX}")
    dispose_engine(url)


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> float:
    """Busy timeout and write-lock timeout of engines made from now on: 0.4 s (not 30 s)."""
    monkeypatch.setattr(store_engine, "SQLITE_BUSY_TIMEOUT_MS", SHORT_TIMEOUT_MS)
    return SHORT_TIMEOUT_MS / 1000


def _held(lock_file: Path) -> bool:
    """Whether anyone holds the write lock (tried without waiting, released at once)."""
    fd = os.open(lock_file, os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases the probe's own lock, if it got it
    return False


@contextmanager
def _holding(lock_file: Path) -> Iterator[None]:
    """Hold the write lock, as a writer in another process would."""
    fd = os.open(lock_file, os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


def _wait_until_free(lock_file: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _held(lock_file):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _randomize(url: str, code: str) -> int:
    with open_session(url) as session:
        result = randomize(
            session, participant_id=code, user=INVESTIGATOR, randomized_on=SCREEN_DAY, weight_kg=70
        )
    return result.sequence_number


def _check_store(url: str) -> list[Randomization]:
    with open_session(url) as session:
        rows = list(
            session.execute(select(Randomization).order_by(Randomization.sequence_number))
            .scalars()
            .all()
        )
        report = verify_audit(session)
        assert report.ok, report
        replay = verify_allocations(session)
        assert replay.ok, replay.message
    return rows


@pytest.mark.slow
def test_writers_in_processes_queue_without_lost_updates(store: tuple[str, Path]) -> None:
    url, lock_file = store
    workers, participants = 4, 80
    codes = [f"Q{n:03d}" for n in range(1, participants + 1)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        assert all(pool.map(_workers.warm_up, range(workers)))
        patients = [(code, "S01", match_patient()) for code in codes]
        screened = pool.starmap(
            _workers.screen_all, [(url, patients[w::workers]) for w in range(workers)]
        )
        assert sum(screened) == participants
        # Each process also retries every fourth participant of the next one: 20 races.
        chunks = [codes[w::workers] for w in range(workers)]
        repeats = [chunks[(w + 1) % workers][::4] for w in range(workers)]
        start_at = time.time() + 1.0
        results = pool.starmap(
            _workers.randomize_all,
            [(url, chunks[w] + repeats[w], start_at) for w in range(workers)],
        )
    assert sum(done for done, _ in results) == participants
    assert sum(refused for _, refused in results) == sum(len(r) for r in repeats) == 20
    rows = _check_store(url)
    # Each randomization reads the highest sequence number and writes the next one: a lost
    # update would repeat or skip a number.
    assert [r.sequence_number for r in rows] == list(range(1, participants + 1))
    assert sorted(r.participant_id for r in rows) == codes
    assert lock_file.exists() and not _held(lock_file)


def test_lock_is_held_from_begin_through_commit(store: tuple[str, Path]) -> None:
    url, lock_file = store
    statements: list[tuple[str, bool]] = []

    def _trace(statement: str) -> None:  # SQLite calls it as each statement starts
        if statement in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT"):
            statements.append((statement, _held(lock_file)))

    with open_session(url) as session:
        dbapi_connection = session.connection().connection.dbapi_connection
        assert isinstance(dbapi_connection, sqlite3.Connection)
        dbapi_connection.set_trace_callback(_trace)
        try:
            session.execute(select(func.count()).select_from(User))
            session.commit()
            session.connection(execution_options={"hepatrial_write": True})
            assert _held(lock_file)
            with acting_as(session, ADMIN):
                session.add(User(id="usr-9", role="monitor", active=True))
                session.commit()
            assert not _held(lock_file)
        finally:
            dbapi_connection.set_trace_callback(None)
    # The read transaction does not take the lock; the write takes it before BEGIN IMMEDIATE
    # and still holds it when COMMIT starts.
    assert statements == [
        ("COMMIT", False),
        ("BEGIN IMMEDIATE", True),
        ("COMMIT", True),
    ]


def test_lock_is_released_after_a_refused_operation(store: tuple[str, Path]) -> None:
    url, lock_file = store
    begins: list[tuple[bool, bool]] = []

    def _on_begin(connection: Connection) -> None:  # runs after the store's own listener
        writing = bool(connection.get_execution_options().get("hepatrial_write", False))
        begins.append((writing, _held(lock_file)))

    engine = make_engine(url)
    event.listen(engine, "begin", _on_begin)
    try:
        with open_session(url) as session:
            with pytest.raises(RecordError, match="user 'inv-1' already exists"):
                add_user(session, user_id=INVESTIGATOR, role="investigator", user=ADMIN)
            assert not _held(lock_file)
            add_user(session, user_id="inv-2", role="investigator", user=ADMIN)
            assert not _held(lock_file)
    finally:
        event.remove(engine, "begin", _on_begin)
    # Both operations, refused and accepted, held the lock; reads (the schema check) did not.
    assert [held for writing, held in begins if writing] == [True, True]
    assert not any(held for writing, held in begins if not writing)


def test_lock_is_released_when_a_connection_leaves_mid_transaction(
    store: tuple[str, Path],
) -> None:
    url, lock_file = store
    session = open_session(url)
    session.connection(execution_options={"hepatrial_write": True})
    assert _held(lock_file)
    session.close()  # the pool rolls the returned connection back
    assert not _held(lock_file)

    with make_engine(url).connect() as connection:
        connection = connection.execution_options(hepatrial_write=True)
        connection.begin()
        dbapi_connection = connection.connection.dbapi_connection  # kept: no help from GC
        assert _held(lock_file)
        connection.invalidate()  # closes the DBAPI connection
        assert not _held(lock_file)
        del dbapi_connection
    assert _check_store(url) == []


def test_readers_are_not_blocked_by_the_write_lock(
    store: tuple[str, Path], short_timeout: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads succeed while another process holds the lock, and never ask for it.

    A reader that asked for the lock would wait the short timeout and be refused with
    ``database is locked``; the recorded requests show that no read asked at all (no clock is
    involved, so a loaded machine cannot fail the test).
    """
    url, lock_file = store
    screen_codes(url, ["R001"])
    dispose_engine(url)  # new connections get the short timeout
    requests: list[str] = []
    acquire = store_engine._WriteLock.acquire

    def _recorded(self: store_engine._WriteLock) -> None:
        requests.append(self.path)
        acquire(self)

    monkeypatch.setattr(store_engine._WriteLock, "acquire", _recorded)
    with _holding(lock_file):
        assert _check_store(url) == []
        with open_session(url) as session:
            assert session.execute(select(func.count()).select_from(User)).scalar_one() == 4
        assert requests == []
        assert _held(lock_file)
    assert _randomize(url, "R001") == 1
    assert requests == [str(lock_file)]  # the write did ask, once


def test_a_writer_waiting_too_long_is_refused_clearly(
    store: tuple[str, Path], short_timeout: float
) -> None:
    url, lock_file = store
    dispose_engine(url)
    database = url.removeprefix("sqlite:///")
    with _holding(lock_file), open_session(url) as session:
        began = time.monotonic()
        with pytest.raises(OperationalError) as refused:
            add_user(session, user_id="inv-2", role="investigator", user=ADMIN)
        waited = time.monotonic() - began
        message = str(refused.value.orig)
        assert message.startswith("database is locked: waited 0.4 s for the SQLite database")
        assert f"{database} while another writer held it" in message
        assert f"(write-lock file {lock_file})" in message
        assert short_timeout <= waited < short_timeout + 5
    # The abandoned wait gives the lock straight back once it is granted.
    assert _wait_until_free(lock_file, 5)
    with open_session(url) as session:
        add_user(session, user_id="inv-2", role="investigator", user=ADMIN)
        assert session.get(User, "inv-2") is not None


def test_connections_of_one_process_queue(store: tuple[str, Path]) -> None:
    url, lock_file = store
    screen_codes(url, ["T001", "T002"])
    finished = threading.Event()
    sequence: list[int] = []

    def _second_writer() -> None:
        sequence.append(_randomize(url, "T002"))
        finished.set()

    with open_session(url) as first:
        randomize(
            first, participant_id="T001", user=INVESTIGATOR, randomized_on=SCREEN_DAY, weight_kg=70
        )
        first.connection(execution_options={"hepatrial_write": True})
        thread = threading.Thread(target=_second_writer)
        thread.start()
        assert not finished.wait(0.5)  # queued behind the open write transaction
        first.commit()
    assert finished.wait(10)
    thread.join()
    assert sequence == [2] and not _held(lock_file)


def _start_paused_writer(url: str, code: str) -> subprocess.Popen[str]:
    """A writer process that pauses inside its transaction, before COMMIT (see _workers)."""
    env = {**os.environ, PAUSE_VARIABLE: "60"}
    process = subprocess.Popen(
        [sys.executable, str(WORKER), url, code], env=env, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    deadline = time.time() + 120
    while time.time() < deadline:
        line = process.stderr.readline()
        if "pausing" in line:
            return process
        if not line and process.poll() is not None:
            break
    process.kill()
    pytest.fail("the writer process never reached the pause inside its transaction")


@pytest.mark.slow
def test_lock_of_a_killed_writer_is_released(store: tuple[str, Path], short_timeout: float) -> None:
    url, lock_file = store
    screen_codes(url, ["K001", "K002"])
    process = _start_paused_writer(url, "K001")
    try:
        assert _held(lock_file)
        dispose_engine(url)
        with pytest.raises(OperationalError, match="database is locked: waited 0.4 s"):
            _randomize(url, "K002")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert not _held(lock_file)
    assert _randomize(url, "K002") == 1  # the killed transaction left nothing behind
    assert [r.participant_id for r in _check_store(url)] == ["K002"]


def test_in_memory_database_has_no_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a lock file named after no file would land here
    engine = make_engine("sqlite://")
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(hepatrial_write=True)
            with connection.begin():
                connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
                connection.exec_driver_sql("INSERT INTO t VALUES (1)")
                dbapi_connection = connection.connection.dbapi_connection
                assert dbapi_connection.write_lock is None  # type: ignore[union-attr]
            assert connection.exec_driver_sql("SELECT x FROM t").scalar_one() == 1
    finally:
        dispose_engine("sqlite://")
    assert list(tmp_path.iterdir()) == []

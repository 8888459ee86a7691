"""Audited inserts without ORM objects (hepatrial.store.writes), on SQLite and PostgreSQL.

The rows written by ``insert_audited`` must be indistinguishable, for ``verify_audit``, from rows
written through the ORM; a failing deferred write (sent with COMMIT on PostgreSQL) must leave
nothing; the chain must continue across both paths in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from _store_support import ADMIN, INVESTIGATOR, SEED, build_trial, enrol
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from hepatrial.exceptions import AuditError
from hepatrial.service._common import write_operation
from hepatrial.store import (
    AllocationSecret,
    AuditEntry,
    AuditHead,
    Dose,
    Randomization,
    Site,
    StoreSession,
    make_engine,
    verify_audit,
)
from hepatrial.store.audit import WRITERS_QUEUE_KEY, canonical_json, lock_head_statement
from hepatrial.store.writes import (
    insert_audited,
    lock_and_read,
    read_and_reserve,
    read_together,
    reserve_ids,
)

pytest_plugins = ["_store_support"]

DAY = dt.date(2026, 1, 10)


def _dose(dose_id: int, participant_id: str, number: int) -> dict[str, Any]:
    return {
        "id": dose_id,
        "participant_id": participant_id,
        "intervention": "extra",
        "dose_number": number,
        "planned_day": 7 * number,
        "planned_date": DAY + dt.timedelta(days=7 * number),
        "window_start": DAY,
        "window_end": DAY + dt.timedelta(days=30),
        "unit": "cells",
        "weight_kg": 70,  # an int for a float column: the log must show 70.0, as the ORM does
        "planned_amount_per_kg": None,
        "planned_total": 1.5e8,
        "status": "planned",
        "given_on": None,
        "given_total": None,
        "given_amount_per_kg": None,
        "deviation": None,
    }


def _entries(session: StoreSession) -> int:
    return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def test_rows_log_exactly_what_the_orm_would(session: StoreSession) -> None:
    enrol(session, "P001")
    with write_operation(session, INVESTIGATOR):
        ids = reserve_ids(session, {Dose: 2})[Dose]
        seq = insert_audited(session, [(Dose, [_dose(i, "P001", n) for n, i in enumerate(ids)])])
    assert len(set(ids)) == 2
    for dose_id in ids:
        stored = session.get(Dose, dose_id)
        assert stored is not None
        entry = session.execute(
            select(AuditEntry).where(
                AuditEntry.table_name == "doses", AuditEntry.record_id == str(dose_id)
            )
        ).scalar_one()
        assert entry.action == "insert" and entry.user_id == INVESTIGATOR
        assert entry.after == canonical_json(stored.audit_state())
        assert json.loads(entry.after or "{}")["weight_kg"] == 70.0
    assert seq == verify_audit(session).n_entries
    assert verify_audit(session).ok


def test_orm_writes_continue_the_chain_after_a_deferred_insert(session: StoreSession) -> None:
    enrol(session, "P002")
    with write_operation(session, ADMIN):
        (dose_id,) = reserve_ids(session, {Dose: 1})[Dose]
        insert_audited(session, [(Dose, [_dose(dose_id, "P002", 5)])], at_commit=True)
        session.add(Site(code="S09", name="Aberdeen"))
    report = verify_audit(session)
    assert report.ok, report
    tables = session.execute(
        select(AuditEntry.table_name).order_by(AuditEntry.seq.desc()).limit(2)
    ).scalars()
    assert list(tables) == ["sites", "doses"]  # the deferred rows were chained first


def test_failed_deferred_write_leaves_nothing(session: StoreSession) -> None:
    enrol(session, "P003")
    before = _entries(session)
    head = session.execute(select(AuditHead.last_seq, AuditHead.last_hash)).one()
    session.commit()
    with pytest.raises(IntegrityError), write_operation(session, ADMIN):
        session.add(Site(code="S10", name="Perth"))
        session.flush()
        (dose_id,) = reserve_ids(session, {Dose: 1})[Dose]
        # no such participant: the foreign key fails when the write is sent with COMMIT
        insert_audited(session, [(Dose, [_dose(dose_id, "NOBODY", 6)])], at_commit=True)
    assert session.get(Site, "S10") is None
    assert _entries(session) == before
    assert session.execute(select(AuditHead.last_seq, AuditHead.last_hash)).one() == head
    assert verify_audit(session).ok


def test_reserved_ids_do_not_repeat_within_a_transaction(session: StoreSession) -> None:
    with write_operation(session, ADMIN):
        first = reserve_ids(session, {Dose: 3, Randomization: 1})
        second = reserve_ids(session, {Dose: 2})
    assert len(set(first[Dose] + second[Dose])) == 5
    assert len(first[Randomization]) == 1


def test_lock_and_read_sees_committed_rows_and_the_head(session: StoreSession) -> None:
    enrol(session, "P004")
    session.commit()
    statement = select(Randomization.participant_id).where(
        Randomization.sequence_number >= Randomization.sequence_number
    )
    with write_operation(session, ADMIN):
        head, rows = lock_and_read(session, statement, {})
        current = session.execute(select(AuditHead.last_seq, AuditHead.last_hash)).one()
    assert head == tuple(current)
    assert [row[0] for row in rows] == ["P004"]


def test_secret_tables_and_incomplete_rows_are_refused(session: StoreSession) -> None:
    with pytest.raises(AuditError, match="custom audit state"):
        AllocationSecret.audit_state_of({"trial_id": 1, "seed": SEED})
    with pytest.raises(AuditError, match="missing: deviation"):
        Dose.audit_state_of({k: v for k, v in _dose(1, "P005", 1).items() if k != "deviation"})
    with pytest.raises(AuditError, match="acting user"):
        insert_audited(session, [(Dose, [_dose(1, "P005", 1)])])
    session.rollback()


def test_values_survive_the_json_rows_exactly(session: StoreSession) -> None:
    """Rows travel to PostgreSQL as one JSON array per table: nothing may be rounded or shifted.

    Expected values are the inputs themselves: 0.1 + 0.2 (0.30000000000000004), 1e-300, a
    float's 17-digit form and a timezone-aware instant with microseconds must come back
    bit-for-bit, and the audit entry must still match the stored row.
    """
    enrol(session, "P006")
    awkward = [0.1 + 0.2, 1e-300, 123456789.12345679]
    with write_operation(session, INVESTIGATOR):
        ids = reserve_ids(session, {Dose: 3})[Dose]
        rows = []
        for number, (dose_id, total) in enumerate(zip(ids, awkward, strict=True), start=1):
            row = _dose(dose_id, "P006", number)
            row.update(planned_total=total, deviation='dose d\u00e9cal\u00e9e \u2264 1 day "late"')
            rows.append(row)
        insert_audited(session, [(Dose, rows)], at_commit=True)
    stored = [session.get(Dose, dose_id) for dose_id in ids]
    assert [dose.planned_total for dose in stored if dose] == awkward
    assert {dose.deviation for dose in stored if dose} == {rows[0]["deviation"]}
    assert all(
        dose is not None and dose.planned_date == DAY + dt.timedelta(days=7 * n)
        for n, dose in enumerate(stored, start=1)
    )
    assert verify_audit(session).ok


def test_read_together_returns_each_statement_in_order(session: StoreSession) -> None:
    enrol(session, "P007")
    session.commit()
    statements = [
        (select(Randomization.participant_id), {}),
        (select(func.count()).select_from(AuditEntry), {}),
        (select(AuditHead.last_seq), {}),
    ]
    with write_operation(session, ADMIN):
        together = read_together(session, statements)
        one_by_one = [session.execute(s, p).all() for s, p in statements]
    assert [list(map(tuple, rows)) for rows in together] == [
        list(map(tuple, rows)) for rows in one_by_one
    ]
    assert together[0][0][0] == "P007"
    assert together[1][0][0] == together[2][0][0]  # the head names the last audit row


def test_read_together_reports_errors_as_sqlalchemy_does(session: StoreSession) -> None:
    bad = text("SELECT seq FROM no_such_table")
    with pytest.raises(DBAPIError), write_operation(session, ADMIN):
        read_together(session, [(select(AuditHead.last_seq), {}), (bad, {})])
    assert verify_audit(session).ok  # the failed transaction was rolled back


def test_read_and_reserve_gives_fresh_keys_with_the_reads(session: StoreSession) -> None:
    with write_operation(session, ADMIN):
        (head,), reserved = read_and_reserve(
            session, [(select(AuditHead.last_seq), {})], {Dose: 2, Randomization: 1}
        )
        again = reserve_ids(session, {Dose: 1, Randomization: 1})
    assert head[0][0] >= 1
    assert len(reserved[Dose]) == 2 and len(reserved[Randomization]) == 1
    assert not set(reserved[Dose]) & set(again[Dose])
    assert not set(reserved[Randomization]) & set(again[Randomization])


def _advisory_waits(admin: Any, pids: set[int]) -> dict[int, bool]:
    rows = admin.execute(
        "SELECT pid, granted FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
        (WRITERS_QUEUE_KEY & 0xFFFFFFFF,),
    ).fetchall()
    return {pid: granted for pid, granted in rows if pid in pids}


def test_postgresql_writers_are_served_in_arrival_order(postgres_database: str) -> None:
    """Audited writers queue on an advisory lock: a later writer never overtakes an earlier one.

    Three connections lock the head one after another; when the first commits, the second
    (which asked first) must hold the lock while the third still waits. The order is what
    PostgreSQL's lock manager promises for heavyweight locks; a bare row lock does not.
    """
    import psycopg

    build_trial(postgres_database)
    engine = make_engine(postgres_database)
    dsn = postgres_database.replace("postgresql+psycopg://", "postgresql://")
    lock_sql = str(lock_head_statement(engine.connect()).compile(dialect=engine.dialect))
    lock_sql = lock_sql.replace("%(queue)s", str(WRITERS_QUEUE_KEY))
    with (
        psycopg.connect(dsn, autocommit=True) as admin,
        psycopg.connect(dsn) as first,
        psycopg.connect(dsn) as second,
        psycopg.connect(dsn) as third,
    ):
        pids = {c.info.backend_pid: name for c, name in ((first, 1), (second, 2), (third, 3))}
        first.execute(lock_sql).fetchone()
        with ThreadPoolExecutor(2) as pool:
            waiting_second = pool.submit(lambda: second.execute(lock_sql).fetchone())
            _wait_until(lambda: list(_advisory_waits(admin, set(pids)).values()).count(False) == 1)
            waiting_third = pool.submit(lambda: third.execute(lock_sql).fetchone())
            _wait_until(lambda: list(_advisory_waits(admin, set(pids)).values()).count(False) == 2)
            first.commit()
            waiting_second.result(timeout=10)
            states = {
                pids[pid]: granted for pid, granted in _advisory_waits(admin, set(pids)).items()
            }
            assert states == {2: True, 3: False}
            second.commit()
            waiting_third.result(timeout=10)
            third.commit()


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the expected lock state was not reached in time")
        time.sleep(0.01)

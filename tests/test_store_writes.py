"""Audited inserts without ORM objects (hepatrial.store.writes), on SQLite and PostgreSQL.

The rows written by ``insert_audited`` must be indistinguishable, for ``verify_audit``, from rows
written through the ORM; a failing deferred write (sent with COMMIT on PostgreSQL) must leave
nothing; the chain must continue across both paths in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from _store_support import ADMIN, INVESTIGATOR, SEED, enrol
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

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
    verify_audit,
)
from hepatrial.store.audit import canonical_json
from hepatrial.store.writes import insert_audited, lock_and_read, reserve_ids

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

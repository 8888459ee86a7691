"""The hash-chained audit log: written with every change, recomputed, tampering named."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from _store_support import ADMIN, SEED
from sqlalchemy import select, text

from hepatrial.exceptions import AuditError, RecordError
from hepatrial.service._common import write_operation
from hepatrial.service.trials import add_site
from hepatrial.store import (
    AllocationSecret,
    AuditEntry,
    Site,
    StoreSession,
    make_engine,
    verify_audit,
)
from hepatrial.store.audit import GENESIS_HASH

pytest_plugins = ["_store_support"]


def _sql(url: str, statement: str) -> None:
    with make_engine(url).begin() as connection:
        connection.execute(text(statement))


def test_setup_writes_an_intact_chain(session: StoreSession) -> None:
    report = verify_audit(session)
    assert report.ok, report
    entries = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
    # create_trial: trial, secret, admin; two sites; three users -> 8 entries
    assert [e.table_name for e in entries] == [
        "trials",
        "allocation_secrets",
        "users",
        "sites",
        "sites",
        "users",
        "users",
        "users",
    ]
    assert report.n_entries == 8 and report.head_hash == entries[-1].hash
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(e.user_id == ADMIN and e.action == "insert" for e in entries)


def test_hash_is_sha256_of_the_canonical_row(session: StoreSession) -> None:
    first, second = session.execute(select(AuditEntry).order_by(AuditEntry.seq).limit(2)).scalars()
    # Hand derivation of the documented formula: SHA-256 over sorted-key compact JSON of the
    # row fields plus the previous hash; time as UTC ISO 8601 with microseconds (SQLite gives
    # it back naive, in UTC).
    moment = second.recorded_at
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    fields = {
        "seq": second.seq,
        "recorded_at": moment.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "user_id": second.user_id,
        "table_name": second.table_name,
        "record_id": second.record_id,
        "action": second.action,
        "before": second.before,
        "after": second.after,
        "prev_hash": first.hash,
    }
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert second.hash == hashlib.sha256(payload.encode()).hexdigest()
    assert second.prev_hash == first.hash


def test_the_seed_never_reaches_the_log(session: StoreSession) -> None:
    logged = " ".join(
        f"{e.before} {e.after}" for e in session.execute(select(AuditEntry)).scalars()
    )
    assert SEED.hex() not in logged
    secret_entry = session.execute(
        select(AuditEntry).where(AuditEntry.table_name == "allocation_secrets")
    ).scalar_one()
    stored = session.execute(select(AllocationSecret.seed)).scalar_one()
    assert stored != SEED and SEED not in stored  # kept sealed (hepatrial.store.sealing)
    # the log keeps the digest of the stored (sealed) value, which reveals nothing of the seed
    digest = json.loads(secret_entry.after or "{}")["seed_sha256"]
    assert digest == hashlib.sha256(stored).hexdigest()


def test_direct_update_of_data_is_named(session: StoreSession, trial_url: str) -> None:
    _sql(trial_url, "UPDATE sites SET name = 'Aberdeen' WHERE code = 'S02'")
    report = verify_audit(session)
    assert not report.ok
    problem = report.first_problem
    assert problem is not None and problem.table == "sites" and problem.record_id == "S02"
    assert "name is 'Aberdeen' in the table but 'Glasgow' in the audit log" in problem.detail
    assert problem.audit_seq == 5


def test_direct_edit_of_an_audit_row_is_named(session: StoreSession, trial_url: str) -> None:
    _sql(trial_url, "UPDATE audit_log SET user_id = 'someone-else' WHERE seq = 4")
    problem = verify_audit(session).first_problem
    assert problem is not None and problem.audit_seq == 4 and problem.table == "sites"
    assert "does not match its hash" in problem.detail


def test_deleted_audit_rows_are_found(session: StoreSession, trial_url: str) -> None:
    _sql(trial_url, "DELETE FROM audit_log WHERE seq = 3")
    problem = verify_audit(session).first_problem
    assert problem is not None and problem.audit_seq == 4
    assert "jumps from 2 to 4" in problem.detail


def test_truncated_tail_is_found(session: StoreSession, trial_url: str) -> None:
    _sql(trial_url, "DELETE FROM audit_log WHERE seq = 8")
    report = verify_audit(session)
    assert any(p.table == "audit_head" for p in report.problems)
    assert any("not in the audit log" in p.detail for p in report.problems)


def test_row_inserted_behind_the_service_is_found(session: StoreSession, trial_url: str) -> None:
    _sql(
        trial_url,
        "INSERT INTO sites (code, name, created_at) VALUES ('S99', 'Ghost', '2026-01-01 00:00:00')",
    )
    problem = verify_audit(session).first_problem
    assert problem is not None and problem.record_id == "S99" and problem.audit_seq is None


def test_update_records_before_and_after(session: StoreSession) -> None:
    with write_operation(session, ADMIN):
        site = session.get(Site, "S01")
        assert site is not None
        site.name = "Royal Infirmary of Edinburgh"
    entry = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
    ).scalar_one()
    assert entry.action == "update" and entry.record_id == "S01"
    assert json.loads(entry.before or "{}")["name"] == "Edinburgh"
    assert json.loads(entry.after or "{}")["name"] == "Royal Infirmary of Edinburgh"
    assert verify_audit(session).ok


def test_failed_operation_leaves_no_trace(session: StoreSession) -> None:
    before = verify_audit(session).n_entries
    with pytest.raises(RecordError, match="already exists"):
        add_site(session, code="S01", name="Duplicate", user=ADMIN)
    with pytest.raises(ZeroDivisionError):
        with write_operation(session, ADMIN):
            session.add(Site(code="S03", name="Dundee"))
            session.flush()
            _ = 1 / 0
    assert session.get(Site, "S03") is None
    report = verify_audit(session)
    assert report.ok and report.n_entries == before


def test_write_without_acting_user_is_refused(session: StoreSession) -> None:
    session.add(Site(code="S04", name="Inverness"))
    with pytest.raises(AuditError, match="acting user"):
        session.flush()
    session.rollback()

"""The hash-chained audit log: every write to trial data, in the same transaction as the write.

How it works
------------
A ``Session`` made by :func:`hepatrial.store.engine.session_factory` carries four hooks.
``after_flush`` describes every inserted, updated or deleted
:class:`~hepatrial.store.base.Audited` row: the acting user (:func:`acting_as`), the table, the
record id, the action and the row before and after as canonical JSON. ``before_commit``
appends these descriptions to ``audit_log`` in the same transaction, just before it commits;
``after_commit`` and ``after_rollback`` forget what was kept for the transaction. Each entry's
hash is

.. math:: h_i = \\mathrm{SHA256}(\\mathrm{canonical\\_json}(seq_i, time_i, user_i, table_i,
          record_i, action_i, before_i, after_i, h_{i-1}))

with :math:`h_0` = 64 zeros, canonical JSON being sorted keys, no spaces, UTF-8. The single
``audit_head`` row holds the last sequence number and hash; it is read ``FOR UPDATE``
(:func:`lock_audit_head`; on PostgreSQL after a fair, first-come first-served advisory lock,
see :func:`lock_head_statement`), so concurrent writers append one after another and the
chain never forks; the lock is held from the append (or, for a randomization, from its
history read) to the commit. Because the log is written in the same transaction as the data,
a rolled-back or killed transaction leaves neither. On PostgreSQL the audit rows and the new
head are one statement (each insert a data-modifying CTE of the head update, each table's
rows one JSON array) and, with psycopg, that statement and ``COMMIT`` are sent together in
pipeline mode: one round trip while the head is locked. Rows written without ORM objects
(:mod:`hepatrial.store.writes`) are chained by the same functions. (For crash tests only:
when the environment variable ``HEPATRIAL_PAUSE_BEFORE_COMMIT`` holds seconds, the commit
sleeps that long after the audit entries are written and before ``COMMIT``, which is then
sent on its own, so a test can kill the process there.)

:func:`verify_audit` recomputes the chain, then replays it and compares the final state of
every record with the tables, so a direct SQL edit of either the log or the data is found and
named. A chain proves integrity only relative to its head: publish :attr:`AuditReport.head_hash`
(for instance in monitoring reports) to make rewriting the whole chain detectable too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import pandas as pd
from sqlalchemy import (
    Connection,
    Executable,
    String,
    Table,
    TextClause,
    bindparam,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.attributes import get_history

from hepatrial.exceptions import AuditError
from hepatrial.store.base import Audited, Base, audit_value, canonical_time, utc_now
from hepatrial.store.models import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
ACTOR_KEY = "hepatrial.actor"
PENDING_KEY = "hepatrial.audit_pending"
HEAD_KEY = "hepatrial.audit_head"
APPENDED_KEY = "hepatrial.audit_appended"
RESERVED_KEY = "hepatrial.reserved_ids"
DEFERRED_KEY = "hepatrial.deferred_writes"
PAUSE_VARIABLE = "HEPATRIAL_PAUSE_BEFORE_COMMIT"
_log = logging.getLogger(__name__)
_AUDIT_TABLE: Table = Base.metadata.tables["audit_log"]
_HEAD_TABLE: Table = Base.metadata.tables["audit_head"]


def canonical_json(value: Any) -> str:
    """JSON text with sorted keys and no insignificant whitespace (the hashed form)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(fields: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 (hex) of one audit row's fields and the previous row's hash."""
    payload = canonical_json({**fields, "prev_hash": prev_hash})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _entry_fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "recorded_at": canonical_time(entry.recorded_at),
        "user_id": entry.user_id,
        "table_name": entry.table_name,
        "record_id": entry.record_id,
        "action": entry.action,
        "before": entry.before,
        "after": entry.after,
    }


@contextmanager
def acting_as(session: Session, user_id: str) -> Iterator[Session]:
    """Attribute every write made inside the block to ``user_id`` in the audit log."""
    previous = session.info.get(ACTOR_KEY)
    session.info[ACTOR_KEY] = user_id
    try:
        yield session
    finally:
        session.info[ACTOR_KEY] = previous


def _state_before(obj: Audited) -> dict[str, Any]:
    state = obj.audit_state()
    if type(obj).audit_state is not Audited.audit_state:
        return state
    for key, is_float in obj.audit_columns():
        history = get_history(obj, key)
        if history.deleted:
            state[key] = audit_value(history.deleted[0], is_float=is_float)
    return state


def _pending_changes(session: Session) -> list[tuple[str, Audited, str | None, str | None]]:
    changes: list[tuple[str, Audited, str | None, str | None]] = []
    for obj in session.new:
        if isinstance(obj, Audited):
            changes.append(("insert", obj, None, canonical_json(obj.audit_state())))
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            before = canonical_json(_state_before(obj))
            after = canonical_json(obj.audit_state())
            if before != after:
                changes.append(("update", obj, before, after))
    for obj in session.deleted:
        if isinstance(obj, Audited):
            changes.append(("delete", obj, canonical_json(_state_before(obj)), None))
    return changes


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    """Describe the flushed changes; they are chained and written just before commit."""
    changes = _pending_changes(session)
    if not changes:
        return
    actor = session.info.get(ACTOR_KEY)
    if not actor:
        raise AuditError(
            "a write to trial data needs an acting user for the audit log; wrap it in "
            "`with hepatrial.store.acting_as(session, user_id):` (service functions do this)"
        )
    pending: list[dict[str, Any]] = session.info.setdefault(PENDING_KEY, [])
    for action, obj, before, after in changes:
        pending.append(
            {
                "user_id": str(actor),
                "table_name": obj.__class__.__table__.name,  # type: ignore[attr-defined]
                "record_id": obj.audit_record_id(),
                "action": action,
                "before": before,
                "after": after,
            }
        )


def lock_audit_head(session: Session) -> tuple[int, str]:
    """Lock the audit head ``FOR UPDATE`` now; return its (last sequence number, last hash).

    Every audited transaction takes this lock before it commits, so holding it serializes the
    caller with every other writer until commit; randomization takes it before reading the
    allocation history. The head is kept for this transaction's appends, which then do not
    read it again. On SQLite the write lock of ``BEGIN IMMEDIATE`` already serializes writers.
    """
    locked = session.info.get(HEAD_KEY)
    if locked is None:
        connection = session.connection()
        last_seq, last_hash = connection.execute(lock_head_statement(connection)).one()
        locked = session.info[HEAD_KEY] = (last_seq, last_hash)
    return locked


LOCK_HEAD = (
    select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1).with_for_update()
)
WRITERS_QUEUE_KEY = 0x6865706174726961
"""Key of the PostgreSQL advisory lock that audited writers queue on (``"hepatria"`` in ASCII).

Advisory locks belong to one database, so trial stores in different databases of a server
never wait for each other."""

_QUEUED_LOCK_HEAD = text(
    'SELECT "head"."last_seq", "head"."last_hash" '
    'FROM "audit_head" AS "head", (SELECT pg_advisory_xact_lock(:queue)) AS "queued" '
    'WHERE "head"."id" = 1 FOR UPDATE OF "head"'
).bindparams(queue=WRITERS_QUEUE_KEY)


def lock_head_statement(connection: Connection) -> Executable:
    """The statement that locks the audit head and returns (last sequence number, last hash).

    On PostgreSQL writers first queue on a transaction-scoped advisory lock, then lock the
    head row (uncontended once the advisory lock is held, except by writers outside hepatrial).
    The lock manager grants an advisory lock to waiters in the order they asked, and a newcomer
    queues behind them; a row lock alone is not fair: when its holder commits, a transaction
    arriving at that moment can take the row before those that waited, which gave the
    randomization latency a long tail under load. Both locks end with the transaction.
    """
    if connection.dialect.name == "postgresql":
        return _QUEUED_LOCK_HEAD
    return LOCK_HEAD


def chain_entries(
    pending: list[dict[str, Any]], seq: int, prev_hash: str
) -> tuple[list[dict[str, Any]], int, str]:
    """Audit rows for ``pending`` changes appended after (``seq``, ``prev_hash``).

    Each change names ``user_id``, ``table_name``, ``record_id``, ``action``, ``before`` and
    ``after``; the rows add ``seq``, ``recorded_at``, ``prev_hash`` and ``hash`` (see the module
    docstring). Returns the rows, the last sequence number and the last hash.
    """
    now = utc_now()
    rows: list[dict[str, Any]] = []
    for change in pending:
        seq += 1
        fields = {"seq": seq, "recorded_at": canonical_time(now), **change}
        digest = entry_hash(fields, prev_hash)
        rows.append({**fields, "recorded_at": now, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    return rows, seq, prev_hash


def _recordset_sql(table: Table, parameter: str) -> str:
    """``INSERT INTO table (...) SELECT ... FROM json_populate_recordset(NULL::table, :p)``."""
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    source = f'json_populate_recordset(NULL::"{table.name}", CAST(:{parameter} AS json))'
    return f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM {source}'


@cache
def _postgres_statement(names: tuple[str, ...]) -> TextClause:
    """Head update with one data-modifying CTE per table and one for the audit rows.

    Each table's rows travel as one JSON array (``json_populate_recordset`` turns it into
    rows of the table's type), so the statement has a handful of parameters whatever the
    number of rows: the driver caches its parsed form and the server prepares it once.
    """
    parts = [
        f'"new_{name}" AS ({_recordset_sql(Base.metadata.tables[name], f"t{index}")})'
        for index, name in enumerate(names)
    ]
    parts.append(f'"appended" AS ({_recordset_sql(_AUDIT_TABLE, "audit")})')
    move_head = (
        'UPDATE "audit_head" SET "last_seq" = :head_seq, "last_hash" = :head_hash WHERE "id" = 1'
    )
    statement = text(f"WITH {', '.join(parts)} {move_head}")
    return statement.bindparams(
        *(bindparam(f"t{index}", type_=String()) for index in range(len(names))),
        bindparam("audit", type_=String()),
        bindparam("head_seq", type_=_HEAD_TABLE.c.last_seq.type),
        bindparam("head_hash", type_=_HEAD_TABLE.c.last_hash.type),
    )


def _json_value(value: Any) -> Any:
    """JSON form of a column value that the json module does not write itself."""
    if isinstance(value, dt.date):  # datetime included: ISO 8601 with its UTC offset
        return value.isoformat()
    if isinstance(value, bytes):
        return "\\x" + value.hex()  # bytea's hex input form
    raise TypeError(f"cannot store {type(value).__name__} value {value!r} through JSON")


def _json_rows(table: Table, rows: Sequence[Mapping[str, Any]]) -> str:
    """``rows`` (by column key) as a JSON array of objects keyed by column name.

    Floats are written in their shortest round-trip form, so the server parses them to the
    same double; non-finite numbers are refused (a column value never holds one).
    """
    names = {c.key: c.name for c in table.columns}
    records = [{names[key]: value for key, value in row.items()} for row in rows]
    return json.dumps(records, default=_json_value, allow_nan=False, separators=(",", ":"))


def append_entries(
    connection: Connection,
    audit_rows: list[dict[str, Any]],
    seq: int,
    last_hash: str,
    tables: Sequence[tuple[Table, list[dict[str, Any]]]] = (),
) -> None:
    """Write ``tables``' rows, the chained ``audit_rows`` and the new head (``seq``, ``last_hash``).

    On PostgreSQL one statement does it all (each insert a data-modifying CTE of the head
    update); elsewhere one statement per table. The caller holds the head lock.
    """
    if connection.dialect.name == "postgresql":
        params = {
            "head_seq": seq,
            "head_hash": last_hash,
            "audit": _json_rows(_AUDIT_TABLE, audit_rows),
        }
        for index, (table, rows) in enumerate(tables):
            params[f"t{index}"] = _json_rows(table, rows)
        statement = _postgres_statement(tuple(table.name for table, _ in tables))
        driver = pipelining_driver_of(connection)
        if driver is None:
            connection.execute(statement, params)
        else:
            sql, prepared = driver_statement(statement, connection, params)
            try:
                driver.execute(sql, prepared)
            except driver.Error as error:  # outside a pipeline: report it as SQLAlchemy would
                raise DBAPIError.instance(sql, None, error, driver.Error) from error
        return
    for table, rows in tables:
        connection.execute(insert(table), rows)
    connection.execute(insert(AuditEntry), audit_rows)
    connection.execute(
        update(AuditHead).where(AuditHead.id == 1).values(last_seq=seq, last_hash=last_hash)
    )


_DriverForm = tuple[str, dict[str, Any], dict[str, Callable[[Any], Any]]]
_driver_forms: dict[tuple[Any, str], _DriverForm] = {}
"""Per (statement, dialect name): driver SQL, literal parameters and bind processors."""


def driver_statement(
    statement: Any, connection: Connection, params: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """``statement`` as the driver's SQL text and ``params`` converted as SQLAlchemy would.

    The SQL is compiled once per statement object and dialect, with the bind processors of
    its typed parameters (JSON, for instance); each call then only applies those processors,
    skipping the per-execution work of SQLAlchemy's execution context. For statements sent
    to psycopg directly, in pipeline mode, while the audit head is locked.
    """
    key = (statement, connection.dialect.name)
    form = _driver_forms.get(key)
    if form is None:
        dialect = connection.dialect
        compiled = statement.compile(dialect=dialect)
        processors = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        form = _driver_forms[key] = (compiled.string, dict(compiled.params), processors)
    sql, defaults, processors = form
    values = {**defaults, **params}
    for name, processor in processors.items():
        if name in values:
            values[name] = processor(values[name])
    return sql, values


def pipelining_driver(session: Session) -> Any | None:
    """The psycopg connection under ``session`` when it can pipeline statements, else None."""
    return pipelining_driver_of(session.connection())


def pipelining_driver_of(connection: Connection) -> Any | None:
    """The psycopg connection under ``connection`` when it can pipeline statements, else None."""
    if connection.dialect.name != "postgresql" or connection.dialect.driver != "psycopg":
        return None
    # Imported here, not at the top: SQLAlchemy has loaded it for this PostgreSQL connection,
    # and a module-level import would add about 0.1 s to every command on SQLite.
    import psycopg

    driver = connection.connection.driver_connection
    if isinstance(driver, psycopg.Connection) and psycopg.Pipeline.is_supported():
        return driver
    return None


def _before_commit(session: Session) -> None:
    """Append the transaction's changes to the chain, holding the head lock only until commit.

    Writes deferred to commit (:func:`hepatrial.store.writes.insert_audited` with
    ``at_commit=True``) run first: their audit entries were chained when they were prepared,
    before any entry described since. On PostgreSQL through psycopg the final writes and
    ``COMMIT`` are sent in pipeline mode, in one round trip: the server runs them in order and
    an error in a write leaves the ``COMMIT`` unexecuted, so the transaction rolls back. The
    session's own commit then finds the transaction closed and only ends its bookkeeping.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()
    deferred: list[Callable[[Connection], None]] = session.info.pop(DEFERRED_KEY, [])
    pending: list[dict[str, Any]] = session.info.pop(PENDING_KEY, [])
    appended = session.info.pop(APPENDED_KEY, False)
    if pending:
        rows, seq, last_hash = chain_entries(pending, *lock_audit_head(session))
        deferred.append(partial(append_entries, audit_rows=rows, seq=seq, last_hash=last_hash))
    session.info.pop(HEAD_KEY, None)
    driver = None
    if deferred and not os.environ.get(PAUSE_VARIABLE):
        driver = pipelining_driver(session)
    if driver is None:
        for write in deferred:
            write(session.connection())
        if deferred or appended:
            _pause_for_fault_injection()
        return
    connection = session.connection()
    try:
        with driver.pipeline():  # leaving it sends one Sync and collects every result
            for write in deferred:
                write(connection)
            driver.execute("COMMIT")
    except driver.Error as error:  # raised by the Sync: report it as SQLAlchemy would
        raise DBAPIError.instance("COMMIT", None, error, driver.Error) from error


def _pause_for_fault_injection() -> None:
    """Sleep before COMMIT when ``HEPATRIAL_PAUSE_BEFORE_COMMIT`` is set (crash tests only)."""
    pause = os.environ.get(PAUSE_VARIABLE)
    if pause:
        _log.warning("fault injection: pausing %s s before commit", pause)
        time.sleep(float(pause))


def _forget_transaction(session: Session) -> None:
    """Drop what this module kept for the transaction that just ended."""
    for key in (PENDING_KEY, HEAD_KEY, APPENDED_KEY, RESERVED_KEY, DEFERRED_KEY):
        session.info.pop(key, None)


def install_audit_hook(session_class: type[Session]) -> None:
    """Register the audit hooks on a session class (done by the session factory)."""
    for name, hook in (
        ("after_flush", _after_flush),
        ("before_commit", _before_commit),
        ("after_commit", _forget_transaction),
        ("after_rollback", _forget_transaction),
    ):
        if not event.contains(session_class, name, hook):
            event.listen(session_class, name, hook)


@dataclass(frozen=True)
class AuditProblem:
    """One verification failure: where (audit sequence number, table, record) and what differs."""

    audit_seq: int | None
    table: str
    record_id: str
    detail: str

    def __str__(self) -> str:
        where = f"audit row {self.audit_seq}" if self.audit_seq is not None else "table data"
        return f"{where} ({self.table} id={self.record_id}): {self.detail}"


@dataclass(frozen=True)
class AuditReport:
    """Result of :func:`verify_audit`: ``ok`` when the chain and the tables agree."""

    n_entries: int
    head_hash: str
    problems: tuple[AuditProblem, ...]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    @property
    def first_problem(self) -> AuditProblem | None:
        """The first tampered row (lowest audit sequence number, then table data)."""
        return self.problems[0] if self.problems else None

    @property
    def summary(self) -> pd.DataFrame:
        """One row per problem: audit_seq, table, record_id, detail."""
        return pd.DataFrame(
            [vars(p) for p in self.problems], columns=["audit_seq", "table", "record_id", "detail"]
        )

    def __repr__(self) -> str:
        status = (
            "intact" if self.ok else f"{len(self.problems)} problem(s), first: {self.problems[0]}"
        )
        return f"AuditReport({self.n_entries} entries, head {self.head_hash[:12]}, {status})"


def _check_chain(
    session: Session, problems: list[AuditProblem]
) -> tuple[int, str, dict[tuple[str, str], tuple[int, str | None]]]:
    """Recompute every hash; return (count, last hash, final state per record)."""
    expected_seq, prev_hash = 1, GENESIS_HASH
    state: dict[tuple[str, str], tuple[int, str | None]] = {}
    stream = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=2000)
    )
    for entry in stream.scalars():
        where = (entry.seq, entry.table_name, entry.record_id)
        if entry.seq != expected_seq:
            problems.append(
                AuditProblem(
                    *where,
                    f"sequence jumps from {expected_seq - 1} to "
                    f"{entry.seq}: audit rows were deleted",
                )
            )
        elif entry.prev_hash != prev_hash:
            problems.append(
                AuditProblem(
                    *where,
                    "prev_hash does not match the previous row's "
                    "hash: the chain was cut or rewritten",
                )
            )
        elif entry_hash(_entry_fields(entry), prev_hash) != entry.hash:
            problems.append(
                AuditProblem(
                    *where, "content does not match its hash: the audit row itself was edited"
                )
            )
        state[(entry.table_name, entry.record_id)] = (entry.seq, entry.after)
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return expected_seq - 1, prev_hash, state


def _describe_difference(logged: str | None, current: str) -> str:
    if logged is None:
        return "row exists in the table but the audit log says it was deleted"
    old, new = json.loads(logged), json.loads(current)
    fields = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    parts = [
        f"{k} is {new.get(k)!r} in the table but {old.get(k)!r} in the audit log" for k in fields
    ]
    return "; ".join(parts) + " (changed outside the audited service)"


def _audited_models() -> list[type[Audited]]:
    return [m.class_ for m in Base.registry.mappers if issubclass(m.class_, Audited)]


def _check_tables(
    session: Session,
    state: dict[tuple[str, str], tuple[int, str | None]],
    problems: list[AuditProblem],
) -> None:
    seen: set[tuple[str, str]] = set()
    for model in _audited_models():
        table = model.__table__.name  # type: ignore[attr-defined]
        for obj in session.execute(select(model)).scalars():
            key = (table, obj.audit_record_id())
            seen.add(key)
            current = canonical_json(obj.audit_state())
            logged = state.get(key)
            if logged is None:
                problems.append(
                    AuditProblem(
                        None,
                        *key,
                        "row is not in the audit log (inserted outside the audited service)",
                    )
                )
            elif logged[1] != current:
                problems.append(
                    AuditProblem(logged[0], *key, _describe_difference(logged[1], current))
                )
    for key, (seq, after) in state.items():
        if after is not None and key not in seen:
            problems.append(
                AuditProblem(
                    seq,
                    *key,
                    "row is in the audit log but missing from the "
                    "table (deleted outside the audited service)",
                )
            )


def verify_audit(session: Session) -> AuditReport:
    """Recompute the audit chain and compare its final state with every audited table.

    Parameters
    ----------
    session
        A session on the store (read only; nothing is written).

    Returns
    -------
    AuditReport
        ``ok`` when intact; otherwise ``problems`` sorted by audit sequence number, each naming
        the audit row or table row, the table, the record id and what differs.
    """
    problems: list[AuditProblem] = []
    n_entries, last_hash, state = _check_chain(session, problems)
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    if head is None or head.last_seq != n_entries or head.last_hash != last_hash:
        problems.append(
            AuditProblem(
                n_entries,
                "audit_head",
                "1",
                "the head does not name the "
                "last audit row: rows were appended or removed at the end",
            )
        )
    _check_tables(session, state, problems)
    problems.sort(key=lambda p: (p.audit_seq is None, p.audit_seq or 0, p.table, p.record_id))
    return AuditReport(n_entries=n_entries, head_hash=last_hash, problems=tuple(problems))

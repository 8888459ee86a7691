"""Declarative base, shared column types and the audited-row contract of the trial store.

Every table whose rows are trial data derives from :class:`Audited`: each insert, update and
delete of such a row is written to the hash-chained audit log in the same transaction (see
:mod:`hepatrial.store.audit`). ``audit_state`` gives the row as the audit log records it; a
table holding a secret overrides it so that the secret never reaches the log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Float, LargeBinary, MetaData, inspect
from sqlalchemy.orm import DeclarativeBase

from hepatrial.exceptions import AuditError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every hepatrial table (constraint names are deterministic)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        dt.datetime: DateTime(timezone=True),
        bytes: LargeBinary,
    }


def utc_now() -> dt.datetime:
    """The current time in UTC, truncated to microseconds (what both databases store)."""
    return dt.datetime.now(dt.UTC)


def canonical_time(value: dt.datetime) -> str:
    """ISO 8601 text of an instant in UTC; a naive value (SQLite) is read as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def audit_value(value: Any, *, is_float: bool) -> Any:
    """A column value as JSON-ready data, identical before and after a database round trip."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return canonical_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if is_float:
        return float(value)
    return value


_AUDIT_COLUMNS: dict[type[Any], tuple[tuple[str, bool], ...]] = {}


def _audit_columns(model: type[Any]) -> tuple[tuple[str, bool], ...]:
    columns = _AUDIT_COLUMNS.get(model)
    if columns is None:
        attributes = inspect(model).column_attrs
        columns = tuple((a.key, isinstance(a.columns[0].type, Float)) for a in attributes)
        _AUDIT_COLUMNS[model] = columns
    return columns


class Audited:
    """Mixin of tables whose every change is written to the audit log."""

    __audited__: ClassVar[bool] = True

    @classmethod
    def audit_columns(cls) -> list[tuple[str, bool]]:
        """(attribute name, is a float column) of every mapped column, in table order."""
        return list(_audit_columns(cls))

    def audit_state(self) -> dict[str, Any]:
        """Column values of this row as the audit log records them (JSON-ready)."""
        return {
            key: audit_value(getattr(self, key), is_float=is_float)
            for key, is_float in self.audit_columns()
        }

    @classmethod
    def audit_state_of(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """What :meth:`audit_state` gives for a row holding ``values`` (every column by key).

        For rows written without ORM objects (:func:`hepatrial.store.writes.insert_audited`);
        refused for a table that overrides :meth:`audit_state` to keep a secret out of the log.
        """
        if cls.audit_state is not Audited.audit_state:
            raise AuditError(
                f"{cls.__name__} records a custom audit state; write it through the ORM session"
            )
        columns = _audit_columns(cls)
        missing = [key for key, _ in columns if key not in values]
        if missing:
            raise AuditError(
                f"a {cls.__name__} row needs every column for its audit entry; missing: "
                f"{', '.join(missing)}"
            )
        return {key: audit_value(values[key], is_float=is_float) for key, is_float in columns}

    def audit_record_id(self) -> str:
        """Primary key of this row as text (every audited table has a one-column key)."""
        identity = inspect(self).identity
        if identity is None:
            mapper = inspect(type(self))
            identity = mapper.primary_key_from_instance(self)
        return "/".join(str(part) for part in identity)

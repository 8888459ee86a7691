"""Alembic environment of the trial store, run programmatically by ``hepatrial.store.init_db``.

The caller passes an open connection in ``config.attributes["connection"]``; there is no
``alembic.ini`` and no offline (SQL script) mode.
"""

from __future__ import annotations

from alembic import context

import hepatrial.store.records  # noqa: F401 - registers the follow-up tables on the metadata
from hepatrial.store.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through hepatrial.store.init_db(url)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

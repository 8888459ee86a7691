"""Roles: the unblinded statistician and the DSMB member join the five existing roles (and a
role name may have up to 32 characters).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 19:35:00.000000

SQLite cannot change a CHECK constraint in place: the users table is rebuilt (Alembic's batch
mode) with foreign-key checks deferred to the commit, so the rows that refer to users stay
valid throughout.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_OLD = "role IN ('investigator', 'coordinator', 'monitor', 'statistician', 'admin')"
_NEW = (
    "role IN ('investigator', 'coordinator', 'monitor', 'statistician', "
    "'unblinded_statistician', 'dsmb', 'admin')"
)


def _replace(check: str, length: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA defer_foreign_keys=ON")
    with op.batch_alter_table("users", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_users_role"), type_="check")
        batch.alter_column("role", type_=sa.String(length=length), existing_nullable=False)
        batch.create_check_constraint(op.f("ck_users_role"), check)


def upgrade() -> None:
    _replace(_NEW, 32)


def downgrade() -> None:
    _replace(_OLD, 16)

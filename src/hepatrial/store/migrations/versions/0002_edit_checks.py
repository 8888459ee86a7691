"""Edit checks: treatment discontinuations and confirmations of soft edit checks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 18:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discontinuations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("discontinued_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_discontinuations_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discontinuations")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_discontinuations_participant_id")),
    )
    op.create_table(
        "confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=True),
        sa.Column("record_table", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("confirmed_by", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_confirmations_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmations")),
    )
    op.create_index(
        op.f("ix_confirmations_participant_id"), "confirmations", ["participant_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_confirmations_participant_id"), table_name="confirmations")
    op.drop_table("confirmations")
    op.drop_table("discontinuations")

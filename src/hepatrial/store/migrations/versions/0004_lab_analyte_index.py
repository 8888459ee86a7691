"""An index of lab results by analyte, for the cohort edit check's read of recent values.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 19:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_lab_results_analyte_id", "lab_results", ["analyte", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_lab_results_analyte_id", table_name="lab_results")

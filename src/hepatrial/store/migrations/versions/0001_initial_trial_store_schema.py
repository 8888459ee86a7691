"""Initial trial store schema: trial, sites, users, participants, records and the audit log.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 11:18:13.262923
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "sites",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_sites")),
    )
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("protocol_name", sa.String(length=80), nullable=False),
        sa.Column("protocol_version", sa.String(length=40), nullable=False),
        sa.Column("protocol_yaml", sa.Text(), nullable=False),
        sa.Column("protocol_sha256", sa.String(length=64), nullable=False),
        sa.Column("seed_commitment", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trials")),
    )
    op.create_table(
        "allocation_secrets",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_allocation_secrets_trial_id_trials")
        ),
        sa.PrimaryKeyConstraint("trial_id", name=op.f("pk_allocation_secrets")),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("site_code", sa.String(length=32), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("age_years", sa.Double(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sex IN ('M', 'F')", name=op.f("ck_participants_sex")),
        sa.ForeignKeyConstraint(
            ["site_code"], ["sites.code"], name=op.f("fk_participants_site_code_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("site_code", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('investigator', 'coordinator', 'monitor', 'statistician', 'admin')",
            name=op.f("ck_users_role"),
        ),
        sa.ForeignKeyConstraint(
            ["site_code"], ["sites.code"], name=op.f("fk_users_site_code_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "adverse_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("system_organ_class", sa.String(length=120), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("related", sa.Boolean(), nullable=False),
        sa.Column("liver_related", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name=op.f("ck_adverse_events_dates")
        ),
        sa.CheckConstraint("grade BETWEEN 1 AND 5", name=op.f("ck_adverse_events_grade")),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_adverse_events_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_events")),
    )
    op.create_index(
        op.f("ix_adverse_events_participant_id"), "adverse_events", ["participant_id"], unique=False
    )
    op.create_table(
        "doses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("intervention", sa.String(length=40), nullable=False),
        sa.Column("dose_number", sa.Integer(), nullable=False),
        sa.Column("planned_day", sa.Integer(), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("weight_kg", sa.Double(), nullable=False),
        sa.Column("planned_amount_per_kg", sa.Double(), nullable=True),
        sa.Column("planned_total", sa.Double(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=True),
        sa.Column("given_total", sa.Double(), nullable=True),
        sa.Column("given_amount_per_kg", sa.Double(), nullable=True),
        sa.Column("deviation", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('planned', 'given', 'missed')", name=op.f("ck_doses_status")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_doses_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doses")),
        sa.UniqueConstraint(
            "participant_id", "intervention", "dose_number", name=op.f("uq_doses_participant_id")
        ),
    )
    op.create_index(op.f("ix_doses_participant_id"), "doses", ["participant_id"], unique=False)
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("severe", sa.Boolean(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('death', 'transplant', 'decompensation', 'infection')",
            name=op.f("ck_outcomes_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_outcomes_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
    )
    op.create_index(
        op.f("ix_outcomes_participant_id"), "outcomes", ["participant_id"], unique=False
    )
    op.create_table(
        "screenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("screened_on", sa.Date(), nullable=False),
        sa.Column("protocol_version", sa.String(length=40), nullable=False),
        sa.Column("labs", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("screened_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_screenings_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["screened_by"], ["users.id"], name=op.f("fk_screenings_screened_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screenings")),
    )
    op.create_index(
        op.f("ix_screenings_participant_id"), "screenings", ["participant_id"], unique=False
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("visit_label", sa.String(length=40), nullable=False),
        sa.Column("planned_day", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("study_day", sa.Integer(), nullable=False),
        sa.Column("in_window", sa.Boolean(), nullable=False),
        sa.Column("weight_kg", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_visits_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("participant_id", "visit_label", name=op.f("uq_visits_participant_id")),
    )
    op.create_index(op.f("ix_visits_participant_id"), "visits", ["participant_id"], unique=False)
    op.create_table(
        "withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_withdrawals_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawals")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_withdrawals_participant_id")),
    )
    op.create_table(
        "lab_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("analyte", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("value_standard", sa.Double(), nullable=False),
        sa.Column("unit_standard", sa.String(length=20), nullable=False),
        sa.Column("collected_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_lab_results_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_lab_results_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lab_results")),
    )
    op.create_index(
        op.f("ix_lab_results_participant_id"), "lab_results", ["participant_id"], unique=False
    )
    op.create_table(
        "qol_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("instrument", sa.String(length=40), nullable=False),
        sa.Column("item", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_qol_answers_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_qol_answers_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qol_answers")),
        sa.UniqueConstraint(
            "participant_id",
            "visit_id",
            "instrument",
            "item",
            name=op.f("uq_qol_answers_participant_id"),
        ),
    )
    op.create_index(
        op.f("ix_qol_answers_participant_id"), "qol_answers", ["participant_id"], unique=False
    )
    op.create_table(
        "randomizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("screening_id", sa.Integer(), nullable=False),
        sa.Column("sequence_number", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=40), nullable=False),
        sa.Column("stratum", sa.String(length=200), nullable=False),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("randomized_on", sa.Date(), nullable=False),
        sa.Column("randomized_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("randomized_by", sa.String(length=64), nullable=False),
        sa.Column("weight_kg", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_randomizations_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["randomized_by"], ["users.id"], name=op.f("fk_randomizations_randomized_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["screening_id"],
            ["screenings.id"],
            name=op.f("fk_randomizations_screening_id_screenings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_randomizations")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_randomizations_participant_id")),
        sa.UniqueConstraint("sequence_number", name=op.f("uq_randomizations_sequence_number")),
    )

    audit_head = sa.table(
        "audit_head",
        sa.column("id", sa.Integer()),
        sa.column("last_seq", sa.Integer()),
        sa.column("last_hash", sa.String()),
    )
    # The chain starts from a genesis hash of 64 zeros (hepatrial.store.audit.GENESIS_HASH).
    op.bulk_insert(audit_head, [{"id": 1, "last_seq": 0, "last_hash": "0" * 64}])


def downgrade() -> None:
    op.drop_table("randomizations")
    op.drop_index(op.f("ix_qol_answers_participant_id"), table_name="qol_answers")
    op.drop_table("qol_answers")
    op.drop_index(op.f("ix_lab_results_participant_id"), table_name="lab_results")
    op.drop_table("lab_results")
    op.drop_table("withdrawals")
    op.drop_index(op.f("ix_visits_participant_id"), table_name="visits")
    op.drop_table("visits")
    op.drop_index(op.f("ix_screenings_participant_id"), table_name="screenings")
    op.drop_table("screenings")
    op.drop_index(op.f("ix_outcomes_participant_id"), table_name="outcomes")
    op.drop_table("outcomes")
    op.drop_index(op.f("ix_doses_participant_id"), table_name="doses")
    op.drop_table("doses")
    op.drop_index(op.f("ix_adverse_events_participant_id"), table_name="adverse_events")
    op.drop_table("adverse_events")
    op.drop_table("users")
    op.drop_table("participants")
    op.drop_table("allocation_secrets")
    op.drop_table("trials")
    op.drop_table("sites")
    op.drop_table("audit_log")
    op.drop_table("audit_head")

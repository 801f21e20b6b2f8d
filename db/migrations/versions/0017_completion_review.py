"""the review of a lead unit's completion claim (办结审核: 销号 or 退回); a unit's 已完成
stored before review counts as accepted, marked so and audited

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import db.models

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DECISION = ("ACCEPTED", "RETURNED")


def upgrade() -> None:
    op.create_table(
        "completionreview",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("claim_report_id", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.BigInteger(), nullable=False),
        sa.Column("claimed_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.Enum(*DECISION, name="reviewdecision"), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("self_accepted", sa.Boolean(), nullable=False),
        sa.Column("at_migration", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.ForeignKeyConstraint(["claim_report_id"], ["statusreport.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_report_id"),
    )
    op.create_index(
        "ix_completionreview_pair", "completionreview", ["task_id", "unit_id", "id"], unique=False
    )
    # every pair whose status in force is 已完成 was accepted as it was reported
    op.execute(
        "INSERT INTO completionreview (task_id, unit_id, claim_report_id, claimed_by, "
        "claimed_at, decision, decided_at, self_accepted, at_migration) "
        "SELECT p.task_id, p.unit_id, r.id, r.reporter_user_id, r.created_at, 'ACCEPTED', "
        "r.created_at, false, true FROM progress p "
        "JOIN statusreport r ON r.id = p.status_report_id WHERE p.status = 'DONE'"
    )
    op.execute(
        "INSERT INTO auditevent (actor_user_id, action, subject, before, after, reason, at) "
        "SELECT 0, 'review.accepted', 'task_id:' || c.task_id || ':unit_id:' || c.unit_id, "
        "NULL, 'accepted', 'accepted at migration (reported before completion review)', "
        "c.claimed_at FROM completionreview c WHERE c.at_migration"
    )


def downgrade() -> None:
    op.drop_index("ix_completionreview_pair", table_name="completionreview")
    op.drop_table("completionreview")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TYPE IF EXISTS reviewdecision")

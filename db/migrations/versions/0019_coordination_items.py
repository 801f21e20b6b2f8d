"""coordination items (协调事项) opened by 遇到困难 reports

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import db.models

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    instant = db.models.UTCDateTime(timezone=True)
    op.create_table(
        "coordinationitem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("raised_by_unit_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("need", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("assigned_unit_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", instant, nullable=True),
        sa.Column("assigned_by", sa.BigInteger(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("detail_requested_at", instant, nullable=True),
        sa.Column("closed_at", instant, nullable=True),
        sa.Column("closed_by", sa.BigInteger(), nullable=True),
        sa.Column("closing_note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", instant, nullable=False),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["raised_by_unit_id"], ["unit.id"]),
        sa.ForeignKeyConstraint(["assigned_unit_id"], ["unit.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["statusreport.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_coordinationitem_task_id", "coordinationitem", ["task_id"], unique=False)
    op.create_index("ix_coordinationitem_status", "coordinationitem", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_coordinationitem_status", table_name="coordinationitem")
    op.drop_index("ix_coordinationitem_task_id", table_name="coordinationitem")
    op.drop_table("coordinationitem")

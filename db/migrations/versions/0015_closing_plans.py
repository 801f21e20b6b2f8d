"""closing and evaluating a plan: past records (补录) with the date they happened, tasks
carried over (结转) from an earlier plan, who closed a plan and when

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan") as batch:
        batch.add_column(
            sa.Column("closed_at", db.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("closed_by", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("statusreport") as batch:
        batch.add_column(sa.Column("occurred_on", sa.Date(), nullable=True))
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("carried_from_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_task_carried_from_id", "task", ["carried_from_id"], ["id"])
        batch.create_index("ix_task_carried_from_id", ["carried_from_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("task") as batch:
        batch.drop_index("ix_task_carried_from_id")
        batch.drop_constraint("fk_task_carried_from_id", type_="foreignkey")
        batch.drop_column("carried_from_id")
    with op.batch_alter_table("statusreport") as batch:
        batch.drop_column("occurred_on")
    with op.batch_alter_table("plan") as batch:
        batch.drop_column("closed_by")
        batch.drop_column("closed_at")

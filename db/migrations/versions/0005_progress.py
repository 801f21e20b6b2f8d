"""where each unit stands on each task (progress), filled from the reports

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("NOT_STARTED", "IN_PROGRESS", "DONE", "BLOCKED")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        status: sa.types.TypeEngine[str] = postgresql.ENUM(
            *STATUSES, name="status", create_type=False
        )
    else:
        status = sa.Enum(*STATUSES, name="status")
    op.create_table(
        "progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("status", status, nullable=True),
        sa.Column("status_report_id", sa.Integer(), nullable=True),
        sa.Column("last_report_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["last_report_id"], ["statusreport.id"]),
        sa.ForeignKeyConstraint(["status_report_id"], ["statusreport.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "unit_id", name="uq_progress_pair"),
    )
    op.create_index(op.f("ix_progress_task_id"), "progress", ["task_id"], unique=False)
    # each pair's newest report, and its newest report with a status (by id)
    op.execute(
        """
        INSERT INTO progress (task_id, unit_id, status, status_report_id, last_report_id)
        SELECT heads.task_id, heads.unit_id, withstatus.status, heads.newest_status,
               heads.newest
        FROM (
            SELECT task_id, unit_id, MAX(id) AS newest,
                   MAX(CASE WHEN status IS NOT NULL THEN id END) AS newest_status
            FROM statusreport GROUP BY task_id, unit_id
        ) AS heads
        LEFT JOIN statusreport AS withstatus ON withstatus.id = heads.newest_status
        """
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_progress_task_id"), table_name="progress")
    op.drop_table("progress")

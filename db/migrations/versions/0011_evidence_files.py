"""evidence files kept with their reports

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 08:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from db.models import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "evidencefile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", text(length=20), nullable=False),
        sa.Column("file_name", text(length=255), nullable=False),
        sa.Column("caption", text(), nullable=True),
        sa.Column("mime_type", text(length=255), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", text(length=64), nullable=False),
        sa.Column("stored_path", text(length=500), nullable=True),
        sa.Column("telegram_file_id", text(length=255), nullable=True),
        sa.Column("telegram_file_unique_id", text(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["statusreport.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evidencefile_report_id", "evidencefile", ["report_id"])
    op.create_index("ix_evidencefile_task_id", "evidencefile", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_evidencefile_task_id", table_name="evidencefile")
    op.drop_index("ix_evidencefile_report_id", table_name="evidencefile")
    op.drop_table("evidencefile")

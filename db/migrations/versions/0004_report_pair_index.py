"""index of each (task, unit)'s reports by id, for the digest's status before its period

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 01:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_statusreport_pair", "statusreport", ["task_id", "unit_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_statusreport_pair", table_name="statusreport")

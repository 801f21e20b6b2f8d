"""the chat message a report's note came from, stored once

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("statusreport") as batch:
        batch.add_column(
            sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    op.create_index("ix_statusreport_origin", "statusreport", ["origin"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_statusreport_origin", table_name="statusreport")
    with op.batch_alter_table("statusreport") as batch:
        batch.drop_column("origin")

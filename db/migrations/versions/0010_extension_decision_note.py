"""the reason a coordinator gives when rejecting an extension request

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("extensionrequest") as batch_op:
        batch_op.add_column(
            sa.Column("decision_note", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("extensionrequest") as batch_op:
        batch_op.drop_column("decision_note")

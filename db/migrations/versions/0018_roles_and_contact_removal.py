"""roles granted in chat (coordinators, leaders) and removed contacts

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import db.models

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rolegrant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("granted_by", sa.BigInteger(), nullable=False),
        sa.Column("granted_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rolegrant_telegram_user_id", "rolegrant", ["telegram_user_id"], unique=False
    )
    with op.batch_alter_table("contact") as batch:
        batch.add_column(
            sa.Column("removed_at", db.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("removed_by", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("removed_by")
        batch.drop_column("removed_at")
    op.drop_index("ix_rolegrant_telegram_user_id", table_name="rolegrant")
    op.drop_table("rolegrant")

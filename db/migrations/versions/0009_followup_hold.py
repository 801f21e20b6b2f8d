"""a held follow-up and its decision (followuphold), the bot's own settings (setting), and
the send ledger outcome DROPPED

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import db.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TYPE deliveryoutcome ADD VALUE IF NOT EXISTS 'DROPPED'")
    op.create_table(
        "setting",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "followuphold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("found_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("open_pairs", sa.Integer(), nullable=False),
        sa.Column("late_pairs", sa.Integer(), nullable=False),
        sa.Column("overdue_pairs", sa.Integer(), nullable=False),
        sa.Column("overdue_working_days", sa.Integer(), nullable=False),
        sa.Column("decision", sa.Enum("SEND", "DROP", name="holddecision"), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_table("followuphold")
    op.drop_table("setting")
    if bind.dialect.name == "postgresql":
        op.execute("DROP TYPE IF EXISTS holddecision")
    # PostgreSQL cannot drop an enum value: dropped rows become failed ones
    op.execute("UPDATE delivery SET outcome = 'FAILED' WHERE outcome = 'DROPPED'")

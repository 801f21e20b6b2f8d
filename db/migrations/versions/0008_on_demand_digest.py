"""send ledger: the digest on demand (/digest) as a delivery kind of its own

A /digest posted in a chat is recorded (kind ON_DEMAND, destination "<chat id>" or
"<chat id>:<topic id>") so that the same request repeated within a minute is answered with a
pointer to the first instead of a second post. On SQLite the kind column is plain text; on
PostgreSQL the enum type gets the value.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 05:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE deliverykind ADD VALUE IF NOT EXISTS 'ON_DEMAND'")


def downgrade() -> None:
    # PostgreSQL cannot drop a value from an enum type; the rows go, the unused value stays
    op.execute("DELETE FROM delivery WHERE kind = 'ON_DEMAND'")

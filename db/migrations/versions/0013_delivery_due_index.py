"""index of the send ledger by outcome, kind and next attempt, for the tick's retry claims

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 14:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_delivery_due", "delivery", ["outcome", "kind", "next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_delivery_due", table_name="delivery")

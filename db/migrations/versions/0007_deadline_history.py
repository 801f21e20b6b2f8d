"""deadlines keep their history: task.original_deadline and task.deadline_basis, audit reason

`original_deadline` (原定期限) of an existing task is the deadline before the first change a
person made (the earliest `task.deadline` audit event by a user), else its current deadline;
`deadline_basis` is EXTENSION where an approved extension set the deadline in force,
COORDINATOR where a coordinator changed it otherwise, else PLAN. `auditevent.reason` is new and
empty for the events before it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 05:30:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BASES = ("PLAN", "COORDINATOR", "EXTENSION")


def _basis_type(*, create: bool) -> Any:
    if op.get_bind().dialect.name == "postgresql":
        return postgresql.ENUM(*BASES, name="deadlinebasis", create_type=create)
    return sa.Enum(*BASES, name="deadlinebasis")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgresql.ENUM(*BASES, name="deadlinebasis").create(bind, checkfirst=True)
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("original_deadline", sa.Date(), nullable=True))
        batch.add_column(sa.Column("deadline_basis", _basis_type(create=False), nullable=True))
    with op.batch_alter_table("auditevent") as batch:
        batch.add_column(sa.Column("reason", sa.String(), nullable=True))

    tasks = bind.execute(
        sa.text("SELECT id, number, deadline, deadline_by_coordinator FROM task")
    ).all()
    for task_id, number, deadline, by_coordinator in tasks:
        first = bind.execute(
            sa.text(
                "SELECT before FROM auditevent WHERE action = 'task.deadline' "
                "AND subject = :subject AND actor_user_id <> 0 AND before IS NOT NULL "
                "ORDER BY at, id LIMIT 1"
            ),
            {"subject": f"task:{number}"},
        ).scalar()
        extended = bind.execute(
            sa.text(
                "SELECT count(*) FROM extensionrequest WHERE task_id = :task "
                "AND status = 'APPROVED' AND requested_deadline = :deadline"
            ),
            {"task": task_id, "deadline": deadline},
        ).scalar()
        basis = "EXTENSION" if by_coordinator and extended else None
        basis = basis or ("COORDINATOR" if by_coordinator else "PLAN")
        bind.execute(
            sa.text(
                "UPDATE task SET original_deadline = :original, deadline_basis = :basis "
                "WHERE id = :task"
            ),
            {"original": first or deadline, "basis": basis, "task": task_id},
        )
    with op.batch_alter_table("task") as batch:
        batch.alter_column("original_deadline", existing_type=sa.Date(), nullable=False)
        batch.alter_column(
            "deadline_basis", existing_type=_basis_type(create=False), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("auditevent") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("deadline_basis")
        batch.drop_column("original_deadline")
    if op.get_bind().dialect.name == "postgresql":
        postgresql.ENUM(*BASES, name="deadlinebasis").drop(op.get_bind(), checkfirst=True)

"""several plans: tasks belong to a plan (numbers unique within it), plans get 简称, period
start and status, holds belong to a plan, units get aliases

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 02:00:00

An existing database holds one plan (the shipped one, or an edited copy): every task and
hold is moved into it. A database with tasks but no plan row gets a plan named 原有计划 to
hold them. The period start and 简称 are read from the plan's title as `jobs.plans` reads
them (copied here, so this migration never changes with that module).
"""

import re
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import db.models

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIVE_YEAR = re.compile(r"(十[一二三四五六七八九]五)")
_PERIOD = re.compile(r"(\d{4})\s*(?:年)?\s*[—–\-－~～至到]+\s*(\d{4})\s*年")


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "unitalias",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_unitalias_name", "unitalias", ["name"], unique=True)
    op.create_index("ix_unitalias_unit_id", "unitalias", ["unit_id"], unique=False)

    status = sa.Enum("ACTIVE", "CLOSED", name="planstatus")
    if bind.dialect.name == "postgresql":
        status.create(bind, checkfirst=True)
    with op.batch_alter_table("plan") as batch:
        batch.add_column(
            sa.Column(
                "short_name",
                sqlmodel.sql.sqltypes.AutoString(length=30),
                nullable=False,
                server_default="",
            )
        )
        batch.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch.add_column(sa.Column("status", status, nullable=False, server_default="ACTIVE"))

    plans = bind.execute(sa.text("SELECT id, title, issued_on, period_end FROM plan")).all()
    has_tasks = bind.execute(sa.text("SELECT count(*) FROM task")).scalar_one() > 0
    if not plans and has_tasks:
        last = bind.execute(sa.text("SELECT max(deadline) FROM task")).scalar_one()
        end = _as_date(last)
        bind.execute(
            sa.text(
                "INSERT INTO plan (title, document_number, issued_on, period_end, short_name) "
                "VALUES ('原有计划', '原有计划', :start, :end, '原有计划')"
            ),
            {"start": date(end.year, 1, 1), "end": end},
        )
        plans = bind.execute(sa.text("SELECT id, title, issued_on, period_end FROM plan")).all()
    for plan_id, title, issued_on, period_end in plans:
        found = _PERIOD.search(title or "")
        start_year = int(found.group(1)) if found else _as_date(issued_on).year
        start = min(date(start_year, 1, 1), _as_date(period_end))
        named = _FIVE_YEAR.search(title or "")
        bind.execute(
            sa.text("UPDATE plan SET period_start = :start, short_name = :name WHERE id = :id"),
            {"start": start, "name": named.group(1) if named else "", "id": plan_id},
        )
    with op.batch_alter_table("plan") as batch:
        batch.alter_column("period_start", existing_type=sa.Date(), nullable=False)
        batch.alter_column("short_name", server_default=None)
        batch.alter_column("status", server_default=None)
    op.create_index("ix_plan_document_number", "plan", ["document_number"], unique=True)

    first = min((row[0] for row in plans), default=None)
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("followuphold") as batch:
        batch.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
    if first is not None:
        bind.execute(sa.text("UPDATE task SET plan_id = :id"), {"id": first})
        bind.execute(sa.text("UPDATE followuphold SET plan_id = :id"), {"id": first})
    with op.batch_alter_table("task") as batch:
        batch.alter_column("plan_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("fk_task_plan_id", "plan", ["plan_id"], ["id"])
        batch.drop_index("ix_task_number")
        batch.create_index("ix_task_plan_id", ["plan_id"], unique=False)
        batch.create_unique_constraint("uq_task_plan_number", ["plan_id", "number"])
    with op.batch_alter_table("followuphold") as batch:
        batch.create_foreign_key("fk_followuphold_plan_id", "plan", ["plan_id"], ["id"])
        batch.create_index("ix_followuphold_plan_id", ["plan_id"], unique=False)


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("followuphold") as batch:
        batch.drop_index("ix_followuphold_plan_id")
        batch.drop_constraint("fk_followuphold_plan_id", type_="foreignkey")
        batch.drop_column("plan_id")
    with op.batch_alter_table("task") as batch:
        batch.drop_constraint("uq_task_plan_number", type_="unique")
        batch.drop_index("ix_task_plan_id")
        batch.drop_constraint("fk_task_plan_id", type_="foreignkey")
        batch.drop_column("plan_id")
        batch.create_index("ix_task_number", ["number"], unique=True)
    op.drop_index("ix_plan_document_number", table_name="plan")
    with op.batch_alter_table("plan") as batch:
        batch.drop_column("status")
        batch.drop_column("period_start")
        batch.drop_column("short_name")
    if bind.dialect.name == "postgresql":
        op.execute("DROP TYPE IF EXISTS planstatus")
    op.drop_index("ix_unitalias_unit_id", table_name="unitalias")
    op.drop_index("ix_unitalias_name", table_name="unitalias")
    op.drop_table("unitalias")

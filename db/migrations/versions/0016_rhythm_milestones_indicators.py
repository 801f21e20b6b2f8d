"""a plan's reporting rhythm, tasks' yearly milestones, a plan's main indicators and their
values by year

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import db.models

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RHYTHM = ("MONTHLY", "QUARTERLY", "HALF_YEARLY")
KIND = ("LEVEL", "CUMULATIVE")
ATTRIBUTE = ("BINDING", "EXPECTED")


def upgrade() -> None:
    bind = op.get_bind()
    rhythm = sa.Enum(*RHYTHM, name="rhythm")
    kind = sa.Enum(*KIND, name="indicatorkind")
    attribute = sa.Enum(*ATTRIBUTE, name="indicatorattribute")
    if bind.dialect.name == "postgresql":  # create_table makes the types of its columns
        rhythm.create(bind, checkfirst=True)
    with op.batch_alter_table("plan") as batch:
        batch.add_column(sa.Column("rhythm", rhythm, nullable=True))
        batch.add_column(sa.Column("rhythm_day", sa.Integer(), nullable=True))
    op.create_table(
        "milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("closed_by_report_id", sa.Integer(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["closed_by_report_id"], ["statusreport.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_milestone_task_id", "milestone", ["task_id"], unique=False)
    op.create_table(
        "indicator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("measure", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("target_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("comparison", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
        sa.Column("target_value", sa.Float(), nullable=True),
        sa.Column("kind", kind, nullable=False),
        sa.Column("attribute", attribute, nullable=False),
        sa.Column("owner_unit_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"]),
        sa.ForeignKeyConstraint(["owner_unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "number", name="uq_indicator_plan_number"),
    )
    op.create_index("ix_indicator_plan_id", "indicator", ["plan_id"], unique=False)
    op.create_table(
        "indicatorvalue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("entered_by", sa.BigInteger(), nullable=False),
        sa.Column("entered_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["indicator_id"], ["indicator.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_indicatorvalue_indicator_id", "indicatorvalue", ["indicator_id"], unique=False
    )


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index("ix_indicatorvalue_indicator_id", table_name="indicatorvalue")
    op.drop_table("indicatorvalue")
    op.drop_index("ix_indicator_plan_id", table_name="indicator")
    op.drop_table("indicator")
    op.drop_index("ix_milestone_task_id", table_name="milestone")
    op.drop_table("milestone")
    with op.batch_alter_table("plan") as batch:
        batch.drop_column("rhythm_day")
        batch.drop_column("rhythm")
    if bind.dialect.name == "postgresql":
        for name in ("rhythm", "indicatorkind", "indicatorattribute"):
            op.execute(f"DROP TYPE IF EXISTS {name}")

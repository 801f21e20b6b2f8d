"""one send ledger (delivery) for reminders, digests, escalations, nudges and notices

Reminder and digest rows move into it with keys by database ids; the escalations, nudges and
calendar notices that the audit trail recorded become ledger rows too (their audit events
stay as history).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 19:40:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import db.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = ("PENDING", "SENT", "FAILED", "UNCERTAIN", "RETRY")
KINDS = ("REMINDER", "DIGEST", "ESCALATION", "NUDGE", "NOTICE")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _enum(name: str, values: tuple[str, ...], *, exists: bool) -> Any:
    if op.get_bind().dialect.name == "postgresql":
        return postgresql.ENUM(*values, name=name, create_type=not exists)
    return sa.Enum(*values, name=name)


def _aware(value: Any) -> Any:
    """An instant read with plain SQL (naive UTC on SQLite) as aware UTC, for the ledger."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgresql.ENUM(*KINDS, name="deliverykind").create(bind, checkfirst=True)
    delivery = op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", _enum("deliverykind", KINDS, exists=True), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("destination", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("outcome", _enum("deliveryoutcome", OUTCOMES, exists=True), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("parts_sent", sa.Integer(), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_delivery_key"), "delivery", ["key"], unique=True)
    op.create_index(
        "ix_delivery_message", "delivery", ["channel", "destination", "message_id"], unique=False
    )
    op.create_index("ix_delivery_pair", "delivery", ["task_id", "unit_id"], unique=False)

    def row(**values: Any) -> dict[str, Any]:
        base = {
            "channel": "telegram",
            "task_id": None,
            "unit_id": None,
            "contact_id": None,
            "error": None,
            "attempts": 1,
            "next_attempt_at": None,
            "message_id": None,
            "body": "[]",
            "parts_sent": 0,
            "sent_at": None,
        }
        base.update(values)
        return base

    rows: list[dict[str, Any]] = []
    for r in bind.execute(
        sa.text(
            "SELECT task_id, unit_id, contact_id, kind, occasion_on, chat_id, message_id, "
            "outcome, error, attempts, next_attempt_at, created_at, sent_at FROM reminder"
        )
    ).mappings():
        rows.append(
            row(
                key=f"reminder:{r['task_id']}:{r['unit_id']}:{r['contact_id']}:"
                f"{str(r['kind']).lower()}:{r['occasion_on']}",
                kind="REMINDER",
                destination=str(r["chat_id"]),
                task_id=r["task_id"],
                unit_id=r["unit_id"],
                contact_id=r["contact_id"],
                outcome=r["outcome"],
                error=r["error"],
                attempts=r["attempts"],
                next_attempt_at=_aware(r["next_attempt_at"]),
                message_id=r["message_id"],
                created_at=_aware(r["created_at"]),
                sent_at=_aware(r["sent_at"]),
            )
        )
    for r in bind.execute(
        sa.text(
            "SELECT period, chat_id, outcome, body, parts_sent, error, next_attempt_at, "
            "created_at, sent_at FROM digestpost"
        )
    ).mappings():
        rows.append(
            row(
                key=f"digest:{r['period']}:telegram:{r['chat_id']}",
                kind="DIGEST",
                destination=str(r["chat_id"]),
                outcome=r["outcome"],
                body=r["body"],
                parts_sent=r["parts_sent"],
                error=r["error"],
                next_attempt_at=_aware(r["next_attempt_at"]),
                created_at=_aware(r["created_at"]),
                sent_at=_aware(r["sent_at"]),
            )
        )
    task_ids: dict[int, int] = dict(bind.execute(sa.text("SELECT number, id FROM task")).all())
    for action, subject, at in bind.execute(
        sa.text(
            "SELECT action, subject, at FROM auditevent WHERE action IN "
            "('task.escalated', 'contact.nudged', 'calendar.unknown_year') ORDER BY id"
        )
    ).all():
        parts = str(subject).split(":")
        at = _aware(at) or EPOCH
        if action == "task.escalated" and len(parts) == 6:
            # "task:<number>:unit:<unit id>:deadline:<date>"
            task_id = task_ids.get(int(parts[1]))
            if task_id is None:
                continue
            rows.append(
                row(
                    key=f"escalation:{task_id}:{parts[3]}:{parts[5]}",
                    kind="ESCALATION",
                    destination="coordinators",
                    task_id=task_id,
                    unit_id=int(parts[3]),
                    outcome="SENT",
                    created_at=at,
                    sent_at=at,
                )
            )
        elif action == "contact.nudged" and len(parts) == 4:
            # "contact:<contact id>:cycle:<date>"
            rows.append(
                row(
                    key=f"nudge:{parts[1]}:{parts[3]}",
                    kind="NUDGE",
                    destination=f"contact:{parts[1]}",
                    contact_id=int(parts[1]),
                    outcome="SENT",
                    created_at=at,
                    sent_at=at,
                )
            )
        elif action == "calendar.unknown_year" and len(parts) == 2:
            rows.append(
                row(
                    key=f"notice:calendar:{parts[1]}",
                    kind="NOTICE",
                    destination="coordinators",
                    outcome="SENT",
                    created_at=at,
                    sent_at=at,
                )
            )
    seen: set[str] = set()
    unique: list[dict[str, Any]] = []
    for entry in rows:
        if entry["key"] not in seen:
            seen.add(entry["key"])
            unique.append(entry)
    if unique:
        op.bulk_insert(delivery, unique)
    op.drop_index(op.f("ix_reminder_key"), table_name="reminder")
    op.drop_index(op.f("ix_reminder_message_id"), table_name="reminder")
    op.drop_index(op.f("ix_reminder_task_id"), table_name="reminder")
    op.drop_table("reminder")
    op.drop_table("digestpost")
    if bind.dialect.name == "postgresql":
        op.execute("DROP TYPE IF EXISTS reminderkind")


def downgrade() -> None:
    bind = op.get_bind()
    reminder = op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            _enum("reminderkind", ("BEFORE", "DUE", "OVERDUE"), exists=False),
            nullable=False,
        ),
        sa.Column("occasion_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("outcome", _enum("deliveryoutcome", OUTCOMES, exists=True), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("next_attempt_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_reminder_key"), "reminder", ["key"], unique=True)
    op.create_index(op.f("ix_reminder_message_id"), "reminder", ["message_id"], unique=False)
    op.create_index(op.f("ix_reminder_task_id"), "reminder", ["task_id"], unique=False)
    digestpost = op.create_table(
        "digestpost",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("outcome", _enum("deliveryoutcome", OUTCOMES, exists=True), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="[]"),
        sa.Column("parts_sent", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("next_attempt_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period", "chat_id", name="uq_digest_period_chat"),
    )
    deadlines: dict[int, Any] = dict(bind.execute(sa.text("SELECT id, deadline FROM task")).all())
    numbers: dict[int, int] = dict(bind.execute(sa.text("SELECT id, number FROM task")).all())
    reminders: list[dict[str, Any]] = []
    digests: list[dict[str, Any]] = []
    for r in bind.execute(
        sa.text(
            "SELECT key, kind, destination, task_id, unit_id, contact_id, outcome, error, "
            "attempts, next_attempt_at, message_id, body, parts_sent, created_at, sent_at "
            "FROM delivery WHERE kind IN ('REMINDER', 'DIGEST')"
        )
    ).mappings():
        parts = str(r["key"]).split(":")
        common = {
            "outcome": r["outcome"],
            "error": r["error"],
            "next_attempt_at": _aware(r["next_attempt_at"]),
            "created_at": _aware(r["created_at"]),
            "sent_at": _aware(r["sent_at"]),
        }
        if r["kind"] == "REMINDER" and len(parts) == 6 and r["task_id"] in numbers:
            task_id = r["task_id"]
            reminders.append(
                {
                    **common,
                    "key": f"{numbers[task_id]}:{parts[2]}:{parts[3]}:{parts[4]}:{parts[5]}",
                    "task_id": task_id,
                    "unit_id": r["unit_id"],
                    "contact_id": r["contact_id"],
                    "kind": parts[4].upper(),
                    "occasion_on": datetime.strptime(parts[5], "%Y-%m-%d").date(),
                    "deadline": deadlines[task_id],
                    "chat_id": int(r["destination"]),
                    "message_id": r["message_id"],
                    "attempts": r["attempts"],
                }
            )
        elif r["kind"] == "DIGEST" and len(parts) == 4:
            digests.append(
                {
                    **common,
                    "period": parts[1],
                    "chat_id": int(parts[3]),
                    "body": r["body"],
                    "parts_sent": r["parts_sent"],
                }
            )
    if reminders:
        op.bulk_insert(reminder, reminders)
    if digests:
        op.bulk_insert(digestpost, digests)
    op.drop_index("ix_delivery_pair", table_name="delivery")
    op.drop_index("ix_delivery_message", table_name="delivery")
    op.drop_index(op.f("ix_delivery_key"), table_name="delivery")
    op.drop_table("delivery")
    if bind.dialect.name == "postgresql":
        op.execute("DROP TYPE IF EXISTS deliverykind")

"""The audit trail: who changed what, when.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session

from db.models import (
    AuditEvent,
    Plan,
    Task,
)


def task_subject(session: Session, task: Task) -> str:
    """The audit subject of a task: "task:<简称 of its plan>:<序号>" (events stored before
    several plans say "task:<序号>", a task of the plan loaded first); see
    `parse_task_subject`."""
    plan = session.get(Plan, task.plan_id)
    return f"task:{plan.short_name if plan is not None else ''}:{task.number}"


def parse_task_subject(subject: str) -> tuple[str | None, int] | None:
    """The plan's 简称 (None for the older form without one) and the 序号 a task subject
    ("task:十四五:5" or "task:5") names; None for any other subject."""
    parts = subject.split(":")
    if parts[0] != "task" or len(parts) not in (2, 3) or not parts[-1].isdigit():
        return None
    return (parts[1] if len(parts) == 3 else None), int(parts[-1])


def record_audit(
    session: Session,
    *,
    actor_user_id: int,
    action: str,
    subject: str,
    before: object | None,
    after: object | None,
    now: datetime,
    reason: str | None = None,
) -> AuditEvent:
    """Append an audit event; non-string before/after values are stored as JSON. `reason`
    is why (as typed by the person, or stated by the bot), None when none was given."""

    def text(value: object | None) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, default=str)

    event = AuditEvent(
        actor_user_id=actor_user_id,
        action=action,
        subject=subject,
        before=text(before),
        after=text(after),
        reason=reason,
        at=now,
    )
    session.add(event)
    session.flush()
    return event

"""Yearly milestones (年度目标) of tasks: set from the task file or by a coordinator, closed by
the report that says so.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction. Dates are local dates in the configured zone.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from db.models import Milestone, Task
from db.repo.audit import record_audit

MILESTONE_TEXT_LIMIT = 200  # characters of a milestone's text


def milestones_of_task(session: Session, *, task_id: int) -> list[Milestone]:
    """The task's milestones by due date (then id)."""
    return list(
        session.exec(
            select(Milestone)
            .where(Milestone.task_id == task_id)
            .order_by(col(Milestone.due_on), col(Milestone.id))
        )
    )


def add_milestone(
    session: Session,
    *,
    task_id: int,
    due_on: date,
    text: str,
    actor_user_id: int,
    now: datetime,
) -> Milestone:
    """Add a yearly milestone to task `task_id`, audited ("milestone.add", after
    "<due_on> <text>"); the same due date and text again returns the stored one unchanged.
    Raises `ValueError` for an unknown task, an empty text or one longer than
    `MILESTONE_TEXT_LIMIT`."""
    text = " ".join(text.split())
    if not text:
        raise ValueError("a milestone needs a text")
    if len(text) > MILESTONE_TEXT_LIMIT:
        raise ValueError(f"a milestone's text is at most {MILESTONE_TEXT_LIMIT} characters")
    task = session.get(Task, task_id)
    if task is None:
        raise ValueError(f"no task with id {task_id}")
    for existing in milestones_of_task(session, task_id=task_id):
        if existing.due_on == due_on and existing.text == text:
            return existing
    milestone = Milestone(task_id=task_id, due_on=due_on, text=text)
    session.add(milestone)
    record_audit(
        session,
        actor_user_id=actor_user_id,
        action="milestone.add",
        subject=f"task:{task_id}",
        before=None,
        after=f"{due_on.isoformat()} {text}",
        now=now,
    )
    session.flush()
    return milestone


def close_milestone(
    session: Session,
    *,
    milestone_id: int,
    task_id: int,
    report_id: int,
    on: date,
    actor_user_id: int,
    now: datetime,
) -> Milestone | None:
    """Close open milestone `milestone_id` of task `task_id` by report `report_id` on local
    date `on`, audited ("milestone.close"); None (nothing changed) when it is not a
    milestone of that task or already closed."""
    milestone = session.get(Milestone, milestone_id)
    if milestone is None or milestone.task_id != task_id or milestone.closed_on is not None:
        return None
    milestone.closed_by_report_id = report_id
    milestone.closed_on = on
    session.add(milestone)
    record_audit(
        session,
        actor_user_id=actor_user_id,
        action="milestone.close",
        subject=f"task:{task_id}",
        before=f"{milestone.due_on.isoformat()} {milestone.text}",
        after=f"report:{report_id}",
        now=now,
    )
    session.flush()
    return milestone

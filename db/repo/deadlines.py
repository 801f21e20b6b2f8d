"""Deadline changes that keep their history, and the notices they queue for contacts.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes;
deadlines are plain dates in the configured zone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from db.models import Assignment, Contact, Delivery, Task
from db.repo.audit import record_audit, task_subject
from db.repo.units import default_plan_id
from jobs.types import AssignmentRole, DeadlineBasis, DeliveryKind, DeliveryOutcome


@dataclass(frozen=True)
class DeadlineChange:
    """One task's deadline moved (or to be moved) from `before` to `after`."""

    task_id: int
    number: int
    text: str
    original: date
    before: date
    after: date


def tasks_by_numbers(
    session: Session, *, numbers: Sequence[int], plan_id: int | None = None
) -> list[Task]:
    """The tasks of plan `plan_id` (None: `default_plan_id`'s) with these 序号, by number;
    unknown numbers are left out. Read by the range of the numbers and filtered here: a typed
    range such as 1-999999 would otherwise bind a million parameters (more than SQLite or
    PostgreSQL take)."""
    if not numbers:
        return []
    plan_id = default_plan_id(session) if plan_id is None else plan_id
    wanted = set(numbers)
    inside = session.exec(
        select(Task)
        .where(
            Task.plan_id == plan_id,
            col(Task.number) >= min(wanted),
            col(Task.number) <= max(wanted),
        )
        .order_by(col(Task.number))
    ).all()
    return [task for task in inside if task.number in wanted]


def all_tasks(session: Session, *, plan_id: int | None = None) -> list[Task]:
    """Every task of plan `plan_id` (None: `default_plan_id`'s), by number."""
    plan_id = default_plan_id(session) if plan_id is None else plan_id
    return list(
        session.exec(select(Task).where(Task.plan_id == plan_id).order_by(col(Task.number))).all()
    )


def plan_changes(tasks: Sequence[Task], *, new: date) -> list[DeadlineChange]:
    """What setting `new` on `tasks` would change (tasks already at `new` left out)."""
    return [
        DeadlineChange(
            task_id=t.id or 0,
            number=t.number,
            text=t.text,
            original=t.original_deadline,
            before=t.deadline,
            after=new,
        )
        for t in tasks
        if t.deadline != new
    ]


def set_deadline(
    session: Session,
    *,
    task: Task,
    new: date,
    actor_user_id: int,
    reason: str | None,
    now: datetime,
    basis: DeadlineBasis = DeadlineBasis.COORDINATOR,
) -> int | None:
    """Move one task's deadline to `new`, audited (action "task.deadline", who, why) and
    marked with its `basis`; the original deadline (原定期限) stays. Returns the audit
    event's id, or None when the deadline already is `new` (nothing stored)."""
    if task.deadline == new:
        return None
    event = record_audit(
        session,
        actor_user_id=actor_user_id,
        action="task.deadline",
        subject=task_subject(session, task),
        before=task.deadline.isoformat(),
        after=new.isoformat(),
        reason=reason,
        now=now,
    )
    task.deadline = new
    task.deadline_by_coordinator = True
    task.deadline_basis = basis
    session.add(task)
    session.flush()
    return event.id


def apply_deadline_batch(
    session: Session,
    *,
    numbers: Sequence[int],
    new: date,
    actor_user_id: int,
    reason: str | None,
    now: datetime,
    plan_id: int | None = None,
) -> tuple[int, list[DeadlineChange]]:
    """Set `new` on the tasks of plan `plan_id` (None: `default_plan_id`'s) with these
    numbers (those already at it are left alone).

    Returns the batch id (the first audit event's id, 0 when nothing changed) and the
    changes made, read afresh in this transaction."""
    changes = plan_changes(tasks_by_numbers(session, numbers=numbers, plan_id=plan_id), new=new)
    batch = 0
    for change in changes:
        task = session.get(Task, change.task_id)
        assert task is not None
        event_id = set_deadline(
            session, task=task, new=new, actor_user_id=actor_user_id, reason=reason, now=now
        )
        batch = batch or (event_id or 0)
    return batch, changes


def lead_contacts_of_tasks(
    session: Session, *, task_ids: Sequence[int]
) -> dict[int, tuple[Contact, list[int]]]:
    """The reachable contacts of the lead units of `task_ids`: contact id to (contact, the
    task ids of those its unit leads), in task order."""
    if not task_ids:
        return {}
    rows = session.exec(
        select(Contact, Assignment.task_id)
        .join(Assignment, col(Assignment.unit_id) == col(Contact.unit_id))
        .where(
            col(Assignment.task_id).in_(list(task_ids)),
            Assignment.role == AssignmentRole.LEAD,
            col(Contact.unreachable_reason).is_(None),
            col(Contact.removed_at).is_(None),
        )
        .order_by(col(Contact.id), col(Assignment.task_id))
    ).all()
    result: dict[int, tuple[Contact, list[int]]] = {}
    for contact, task_id in rows:
        result.setdefault(contact.id or 0, (contact, []))[1].append(task_id)
    return result


def queue_notice(
    session: Session,
    *,
    key: str,
    destination: str,
    text: str,
    now: datetime,
    contact_id: int | None = None,
) -> bool:
    """Queue a one-time notice for the next follow-up tick: a send-ledger row of kind
    NOTICE, RETRY from `now`, holding its text; `key` makes it once only (False when the
    key is already in the ledger). `bot.delivery.send_queued_notices` sends it."""
    if session.exec(select(Delivery.id).where(Delivery.key == key)).first() is not None:
        return False
    session.add(
        Delivery(
            key=key,
            kind=DeliveryKind.NOTICE,
            destination=destination,
            contact_id=contact_id,
            outcome=DeliveryOutcome.RETRY,
            attempts=0,
            next_attempt_at=now,
            body=json.dumps([text], ensure_ascii=False),
            created_at=now,
        )
    )
    session.flush()
    return True


__all__ = [
    "DeadlineChange",
    "all_tasks",
    "apply_deadline_batch",
    "lead_contacts_of_tasks",
    "plan_changes",
    "queue_notice",
    "set_deadline",
    "tasks_by_numbers",
]

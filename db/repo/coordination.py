"""Coordination items (协调事项): open, add to, assign, ask for detail, close, list.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes; the
local dates of `jobs.coordination.ItemView` are in `zone`. Every change is audited with the
subject "coordination:<item id>".
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from db.models import Assignment, CoordinationItem, Plan, Task, Unit
from db.repo.audit import record_audit
from jobs.coordination import (
    CLOSED,
    OPEN,
    AssignRefusal,
    ItemView,
    check_assignment,
    merged_need,
)


def item_subject(item_id: int | None) -> str:
    """The audit subject of an item: "coordination:<id>"."""
    return f"coordination:{item_id}"


def _audit(
    session: Session,
    item_id: int | None,
    action: str,
    *,
    actor_user_id: int,
    now: datetime,
    before: object | None = None,
    after: object | None = None,
    reason: str | None = None,
) -> None:
    record_audit(
        session,
        actor_user_id=actor_user_id,
        action=f"coordination.{action}",
        subject=item_subject(item_id),
        before=before,
        after=after,
        reason=reason,
        now=now,
    )


def open_item_of(session: Session, *, task_id: int, unit_id: int) -> CoordinationItem | None:
    """The open item raised by `unit_id` on `task_id`, or None."""
    stmt = select(CoordinationItem).where(
        CoordinationItem.task_id == task_id,
        CoordinationItem.raised_by_unit_id == unit_id,
        CoordinationItem.status == OPEN,
    )
    return session.exec(stmt).first()


def raise_item(
    session: Session,
    *,
    task_id: int,
    unit_id: int,
    report_id: int | None,
    note: str,
    label: str,
    actor_user_id: int,
    now: datetime,
) -> tuple[CoordinationItem, bool]:
    """Open an item for a 遇到困难 report (`report_id`, its `note`) of `unit_id` on
    `task_id`, or add the note to that pair's open item after `label`. Returns the item and
    whether it is new."""
    item = open_item_of(session, task_id=task_id, unit_id=unit_id)
    if item is None:
        item = CoordinationItem(
            task_id=task_id,
            raised_by_unit_id=unit_id,
            report_id=report_id,
            need=note,
            status=OPEN,
            created_at=now,
        )
        session.add(item)
        session.flush()
        action, created = "open", True
    else:
        item.need = merged_need(item.need, label, note)
        session.add(item)
        action, created = "add", False
    _audit(
        session,
        item.id,
        action,
        actor_user_id=actor_user_id,
        now=now,
        after={"task_id": task_id, "unit_id": unit_id, "report_id": report_id, "note": note},
    )
    return item, created


def get_item(session: Session, *, item_id: int) -> CoordinationItem | None:
    """The item with this id, or None."""
    return session.get(CoordinationItem, item_id)


def assign_item(
    session: Session, *, item_id: int, unit_id: int, actor_user_id: int, now: datetime
) -> CoordinationItem | AssignRefusal | None:
    """Assign item `item_id` to `unit_id`: the item, why not (`AssignRefusal`), or None
    when there is no such item."""
    item = session.get(CoordinationItem, item_id)
    if item is None:
        return None
    refusal = check_assignment(
        status=item.status,
        raised_by_unit_id=item.raised_by_unit_id,
        assigned_unit_id=item.assigned_unit_id,
        unit_id=unit_id,
    )
    if refusal is not None:
        return refusal
    before = item.assigned_unit_id
    item.assigned_unit_id, item.assigned_at, item.assigned_by = unit_id, now, actor_user_id
    session.add(item)
    _audit(
        session,
        item.id,
        "assign",
        actor_user_id=actor_user_id,
        now=now,
        before=before,
        after=unit_id,
    )
    session.flush()
    return item


def request_detail(
    session: Session, *, item_id: int, actor_user_id: int, now: datetime
) -> CoordinationItem | None:
    """Mark that a coordinator asked the raising unit for more detail: the item, or None
    when it does not exist or is closed."""
    item = session.get(CoordinationItem, item_id)
    if item is None or item.status != OPEN:
        return None
    item.detail_requested_at = now
    session.add(item)
    _audit(
        session,
        item.id,
        "ask_detail",
        actor_user_id=actor_user_id,
        now=now,
    )
    session.flush()
    return item


def add_note(
    session: Session,
    *,
    item_id: int,
    unit_id: int,
    note: str,
    label: str,
    actor_user_id: int,
    now: datetime,
) -> CoordinationItem | None:
    """Append a contact's `note` (after `label`) to open item `item_id`, when `unit_id` is
    its raising or assigned unit: the item, or None (no such open item, or another unit).
    A note of the raising unit answers a request for detail (it clears
    `detail_requested_at`)."""
    item = session.get(CoordinationItem, item_id)
    if item is None or item.status != OPEN:
        return None
    if unit_id not in (item.raised_by_unit_id, item.assigned_unit_id):
        return None
    item.need = merged_need(item.need, label, note)
    if unit_id == item.raised_by_unit_id:
        item.detail_requested_at = None
    session.add(item)
    _audit(
        session,
        item.id,
        "note",
        actor_user_id=actor_user_id,
        now=now,
        after={"unit_id": unit_id, "note": note},
    )
    session.flush()
    return item


def close_item(
    session: Session, *, item_id: int, note: str, actor_user_id: int, now: datetime
) -> CoordinationItem | None:
    """Close open item `item_id` with `note`, once: the item, or None when it does not
    exist or is already closed (the update is conditional, so two closings store one)."""
    result = session.connection().execute(
        update(CoordinationItem)
        .where(col(CoordinationItem.id) == item_id, col(CoordinationItem.status) == OPEN)
        .values(status=CLOSED, closed_at=now, closed_by=actor_user_id, closing_note=note)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    _audit(
        session,
        item_id,
        "close",
        actor_user_id=actor_user_id,
        now=now,
        before=OPEN,
        after=CLOSED,
        reason=note,
    )
    item = session.get(CoordinationItem, item_id)
    if item is not None:
        session.refresh(item)
    return item


def item_views(
    session: Session,
    *,
    zone: ZoneInfo,
    open_only: bool = True,
    task_id: int | None = None,
    item_id: int | None = None,
) -> list[ItemView]:
    """Items as `ItemView`s, oldest first: the open ones (`open_only`), of one task
    (`task_id`) or one item (`item_id`) when given."""
    stmt = (
        select(CoordinationItem, Task, Plan)
        .join(Task, col(Task.id) == col(CoordinationItem.task_id))
        .join(Plan, col(Plan.id) == col(Task.plan_id))
        .order_by(col(CoordinationItem.created_at), col(CoordinationItem.id))
    )
    if open_only:
        stmt = stmt.where(CoordinationItem.status == OPEN)
    if task_id is not None:
        stmt = stmt.where(CoordinationItem.task_id == task_id)
    if item_id is not None:
        stmt = stmt.where(CoordinationItem.id == item_id)
    names = {u.id: u.name for u in session.exec(select(Unit))}
    views = []
    for item, task, plan in session.exec(stmt).all():
        views.append(
            ItemView(
                id=item.id or 0,
                task_id=task.id or 0,
                plan=plan.short_name,
                task_number=task.number,
                task_text=task.text,
                raised_by=names.get(item.raised_by_unit_id, "?"),
                assigned_to=(
                    names.get(item.assigned_unit_id, "?")
                    if item.assigned_unit_id is not None
                    else None
                ),
                need=item.need,
                opened_on=item.created_at.astimezone(zone).date(),
                closed_on=item.closed_at.astimezone(zone).date() if item.closed_at else None,
                closing_note=item.closing_note,
            )
        )
    return views


def assigned_open_items(session: Session) -> list[CoordinationItem]:
    """Open items assigned to a unit, oldest first (for reminders)."""
    stmt = (
        select(CoordinationItem)
        .where(CoordinationItem.status == OPEN, col(CoordinationItem.assigned_unit_id).is_not(None))
        .order_by(col(CoordinationItem.id))
    )
    return list(session.exec(stmt).all())


def units_of_task(session: Session, *, task_id: int) -> list[Unit]:
    """The task's units, lead units (牵头单位) first, each once, in document order."""
    stmt = (
        select(Unit, Assignment.role)
        .join(Assignment, col(Assignment.unit_id) == col(Unit.id))
        .where(Assignment.task_id == task_id)
        .order_by(col(Assignment.role), col(Assignment.position))
    )
    seen: dict[int | None, Unit] = {}
    for unit, _role in session.exec(stmt).all():
        seen.setdefault(unit.id, unit)
    return list(seen.values())


def all_items(session: Session) -> list[CoordinationItem]:
    """Every item, open or closed, oldest first (for the ledger)."""
    stmt = select(CoordinationItem).order_by(col(CoordinationItem.id))
    return list(session.exec(stmt).all())


def mark_reminded(session: Session, *, item_ids: list[int], on: date) -> None:
    """Record that the assigned units of `item_ids` were reminded on local date `on`."""
    for item_id in item_ids:
        item = session.get(CoordinationItem, item_id)
        if item is not None:
            item.reminded_on = on
            session.add(item)
    session.flush()

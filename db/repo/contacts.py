"""Contacts, invitation codes and chat migrations.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import bindparam, exists, func, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from db.models import (
    Assignment,
    ChatMigration,
    Contact,
    Invite,
    Plan,
    Task,
    Unit,
)
from db.repo.audit import record_audit
from db.repo.units import lead_units
from jobs.types import PlanStatus

INVITE_CODE_BYTES = 12  # token_urlsafe(12): 16 characters of [A-Za-z0-9_-], 96 bits


def get_contact(session: Session, *, telegram_user_id: int) -> Contact | None:
    """Return the contact bound to this Telegram user, or None (also for a removed one)."""
    return session.exec(
        select(Contact).where(
            Contact.telegram_user_id == telegram_user_id, col(Contact.removed_at).is_(None)
        )
    ).first()


def removed_contact_unit(session: Session, *, telegram_user_id: int) -> str | None:
    """The name of the unit a coordinator removed this Telegram user from as its contact,
    or None when the user is an active contact or was never one."""
    row = session.exec(
        select(Unit.name)
        .join(Contact, col(Contact.unit_id) == col(Unit.id))
        .where(Contact.telegram_user_id == telegram_user_id, col(Contact.removed_at).is_not(None))
    ).first()
    return row


def remove_contact(
    session: Session, *, contact_id: int, removed_by: int, now: datetime
) -> Contact | None:
    """Remove a contact (soft: `removed_at`, `removed_by`), audited as "contact.remove".

    Returns the contact, or None when there is no such contact or it was removed already
    (nothing changes then). Its reports keep their reporter; nothing is sent to it any more.
    """
    contact = session.get(Contact, contact_id)
    if contact is None or contact.removed_at is not None:
        return None
    unit = session.get(Unit, contact.unit_id)
    contact.removed_at = now
    contact.removed_by = removed_by
    session.flush()
    record_audit(
        session,
        actor_user_id=removed_by,
        action="contact.remove",
        subject=f"unit:{unit.name if unit else contact.unit_id}",
        before=contact.display_name or str(contact.telegram_user_id),
        after=None,
        now=now,
    )
    return contact


@dataclass(frozen=True)
class TaskLine:
    """A task as a report needs it: database id, 序号 and text; `plan` is the 简称 of its
    plan when more than one plan is active (messages then name it), else ""."""

    id: int
    number: int
    text: str
    plan: str = ""


@dataclass(frozen=True)
class Reporter:
    """A contact about to report on a task (`reporter_on_task`): the contact, its unit, the
    task (None if the id or 序号 names none) and whether the unit may report on it
    (`may_report`); `closed_plan` names the task's plan when it is closed (no more reports)."""

    contact_id: int
    unit_id: int
    unit_name: str
    task: TaskLine | None
    allowed: bool
    closed_plan: str | None = None  # the task's plan's 简称 when that plan is closed


def reporter_on_task(
    session: Session,
    *,
    telegram_user_id: int,
    task_id: int,
) -> Reporter | None:
    """The contact bound to this Telegram user with its unit, the task `task_id` (None when
    there is no such task), and whether the unit may report on it, in one statement (the
    report conversation's check at every button press and at 确认提交). None when the user
    is no contact."""
    statement = _reporter_statement()
    row = (
        session.connection()
        .execute(
            statement,
            {
                "user_id": telegram_user_id,
                "task_key": task_id,
            },
        )
        .first()
    )
    if row is None:
        return None
    (
        contact_id,
        unit_id,
        unit_name,
        found_id,
        number,
        text,
        allowed,
        label,
        status,
        active,
        title,
    ) = row
    open_plan = status not in (PlanStatus.CLOSED, PlanStatus.CLOSED.name)
    task = (
        TaskLine(found_id, number, text, (label or "") if (active or 0) > 1 else "")
        if found_id is not None
        else None
    )
    closed = None if open_plan or found_id is None else (label or title)
    return Reporter(contact_id, unit_id, unit_name, task, bool(task and allowed), closed)


@functools.cache
def _reporter_statement() -> Any:
    """`reporter_on_task`'s statement, built once per process (parameters `user_id`,
    `task_key`): contact, unit, the task and its plan left-joined, an EXISTS over the
    assignments of the unit or of its collective parent unit (`may_report`), and the number
    of active plans."""
    contact, unit, task, assignment, plan = (
        Contact.__table__.c,  # type: ignore[attr-defined]
        Unit.__table__.c,  # type: ignore[attr-defined]
        Task.__table__,  # type: ignore[attr-defined]
        Assignment.__table__.c,  # type: ignore[attr-defined]
        Plan.__table__,  # type: ignore[attr-defined]
    )
    other = Plan.__table__.alias("active_plan")  # type: ignore[attr-defined]
    active = (
        core_select(func.count())
        .select_from(other)
        .where(other.c.status == PlanStatus.ACTIVE)
        .scalar_subquery()
    )
    key = task.c.id
    allowed = exists().where(
        assignment.task_id == task.c.id,
        or_(assignment.unit_id == contact.unit_id, assignment.unit_id == unit.parent_id),
    )
    return (
        core_select(
            contact.id,
            contact.unit_id,
            unit.name,
            task.c.id,
            task.c.number,
            task.c.text,
            allowed,
            plan.c.short_name,
            plan.c.status,
            active,
            plan.c.title,
        )
        .select_from(
            Contact.__table__.join(Unit.__table__, unit.id == contact.unit_id)  # type: ignore[attr-defined]
            .outerjoin(task, key == bindparam("task_key"))
            .outerjoin(plan, plan.c.id == task.c.plan_id)
        )
        .where(contact.telegram_user_id == bindparam("user_id"), contact.removed_at.is_(None))
    )


def contacts_of_unit(session: Session, *, unit_id: int) -> list[Contact]:
    """Return the contacts of a unit in registration order (not the removed ones)."""
    stmt = (
        select(Contact)
        .where(Contact.unit_id == unit_id, col(Contact.removed_at).is_(None))
        .order_by(col(Contact.id))
    )
    return list(session.exec(stmt).all())


def contact_counts(session: Session) -> dict[int, int]:
    """Return {unit id: number of contacts} for units with at least one contact."""
    stmt = (
        select(Contact.unit_id, func.count())
        .where(col(Contact.removed_at).is_(None))
        .group_by(col(Contact.unit_id))
    )
    return {unit_id: n for unit_id, n in session.exec(stmt).all()}


def lead_units_without_contact(session: Session) -> list[Unit]:
    """The lead units (in order of first appearance) that have no contact yet."""
    counts = contact_counts(session)
    return [u for u in lead_units(session) if not counts.get(u.id or 0)]


def create_invite(
    session: Session, *, unit_id: int, created_by: int, now: datetime, valid_for: timedelta
) -> Invite:
    """Create a one-time invite for `unit_id` with a random code from `secrets`.

    The code is 16 URL-safe characters, valid for a Telegram deep link `start` parameter
    (A-Z, a-z, 0-9, _ and -, at most 64 characters).
    """
    invite = Invite(
        code=secrets.token_urlsafe(INVITE_CODE_BYTES),
        unit_id=unit_id,
        created_by=created_by,
        created_at=now,
        expires_at=now + valid_for,
    )
    session.add(invite)
    session.flush()
    return invite


class InviteProblem(StrEnum):
    """Why an invite code could not be redeemed."""

    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Redemption:
    """The outcome of redeeming an invite: the contact, and its previous unit when it moved."""

    contact: Contact
    unit: Unit
    previous_unit: Unit | None


def redeem_invite(
    session: Session,
    *,
    code: str,
    telegram_user_id: int,
    chat_id: int,
    display_name: str,
    username: str | None,
    now: datetime,
) -> Redemption | InviteProblem:
    """Bind the user to the invite's unit (creating or moving its contact) and use up the code.

    A user is a contact of one unit at a time: redeeming a code of another unit moves them.
    Returns an `InviteProblem` and changes nothing when the code is unknown, used or expired.
    """
    invite = session.exec(select(Invite).where(Invite.code == code)).first()
    if invite is None:
        return InviteProblem.UNKNOWN
    if invite.used_by is not None:
        return InviteProblem.USED
    if invite.expires_at <= now:
        return InviteProblem.EXPIRED
    # use the code up with a conditional update, so two simultaneous redemptions of one
    # code cannot both succeed (the row count tells who won)
    claimed = session.execute(
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_by).is_(None))
        .values(used_by=telegram_user_id, used_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", claimed).rowcount != 1:
        return InviteProblem.USED
    session.refresh(invite)
    unit = session.get(Unit, invite.unit_id)
    assert unit is not None
    contact = session.exec(
        select(Contact).where(Contact.telegram_user_id == telegram_user_id)
    ).first()
    previous: Unit | None = None
    if contact is None:
        contact = Contact(
            telegram_user_id=telegram_user_id,
            chat_id=chat_id,
            unit_id=invite.unit_id,
            display_name=display_name,
            username=username,
            created_at=now,
        )
        session.add(contact)
    else:
        if contact.unit_id != invite.unit_id and contact.removed_at is None:
            previous = session.get(Unit, contact.unit_id)
        contact.removed_at = None
        contact.removed_by = None
        contact.unit_id = invite.unit_id
        contact.chat_id = chat_id
        contact.display_name = display_name
        contact.username = username
        contact.unreachable_reason = None
    session.flush()
    record_audit(
        session,
        actor_user_id=telegram_user_id,
        action="contact.register",
        subject=f"unit:{unit.name}",
        before=previous.name if previous else None,
        after=unit.name,
        now=now,
    )
    return Redemption(contact=contact, unit=unit, previous_unit=previous)


def mark_unreachable(
    session: Session, *, contact_id: int, reason: str, now: datetime
) -> Contact | None:
    """Mark a contact unreachable (Telegram refused delivery); return it if this is news.

    Returns None when the contact is unknown or was already marked, so callers tell the
    coordinators only once. Registering again (a new invite) or /start (`mark_reachable`)
    clears the mark.
    """
    contact = session.get(Contact, contact_id)
    if contact is None or contact.unreachable_reason is not None:
        return None
    contact.unreachable_reason = reason[:200]
    contact.unreachable_at = now
    session.flush()
    record_audit(
        session,
        actor_user_id=0,
        action="contact.unreachable",
        subject=f"contact:{contact_id}",
        before=None,
        after=reason[:200],
        now=now,
    )
    return contact


def mark_reachable(session: Session, *, contact_id: int, now: datetime) -> bool:
    """Clear a contact's unreachable mark (the contact wrote to the bot again, e.g. /start,
    so Telegram delivers to them); return True if it was set. The reminders their refused
    message of the day carried were released, so the next tick sends them."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.unreachable_reason is None:
        return False
    before = contact.unreachable_reason
    contact.unreachable_reason = None
    session.flush()
    record_audit(
        session,
        actor_user_id=contact.telegram_user_id,
        action="contact.reachable",
        subject=f"contact:{contact_id}",
        before=before,
        after=None,
        now=now,
    )
    return True


def record_chat_migration(
    session: Session, *, old_chat_id: int, new_chat_id: int, now: datetime
) -> None:
    """Remember that Telegram moved `old_chat_id` (a group) to `new_chat_id` (a supergroup)."""
    row = session.exec(
        select(ChatMigration).where(ChatMigration.old_chat_id == old_chat_id)
    ).first()
    if row is None:
        session.add(ChatMigration(old_chat_id=old_chat_id, new_chat_id=new_chat_id, at=now))
    else:
        row.new_chat_id, row.at = new_chat_id, now
    session.flush()


def current_chat_id(session: Session, *, chat_id: int) -> int:
    """Follow recorded migrations from `chat_id` to the chat's id today (at most 5 hops)."""
    for _ in range(5):
        row = session.exec(
            select(ChatMigration).where(ChatMigration.old_chat_id == chat_id)
        ).first()
        if row is None:
            break
        chat_id = row.new_chat_id
    return chat_id

"""Data functions: every query and write of the bot goes through here.

Functions take the `Session` as first argument and keyword-only data; they flush but never
commit: the caller owns the transaction (`Database.session()`), so one handler's writes commit
together. Instants are aware UTC datetimes; raising `ValueError` on naive ones (`UTCDateTime`).
"""

from __future__ import annotations

import functools
import json
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, String, bindparam, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from db.models import (
    Assignment,
    AuditEvent,
    ChatMigration,
    Contact,
    Delivery,
    ExtensionRequest,
    Invite,
    Plan,
    Progress,
    StatusReport,
    Task,
    Unit,
    UTCDateTime,
)
from jobs.state import (
    ContactView,
    FollowUpState,
    PeriodReports,
    ReportView,
    TaskView,
    UnitView,
)
from jobs.types import (
    AssignmentRole,
    DeliveryKind,
    DeliveryOutcome,
    ExtensionStatus,
    Status,
)

INVITE_CODE_BYTES = 12  # token_urlsafe(12): 16 characters of [A-Za-z0-9_-], 96 bits


# ---------------------------------------------------------------- units and tasks


def get_unit_by_name(session: Session, *, name: str) -> Unit | None:
    """Return the unit with exactly this document name, or None."""
    return session.exec(select(Unit).where(Unit.name == name)).first()


def find_units(session: Session, *, fragment: str, limit: int = 5) -> list[Unit]:
    """Return up to `limit` units whose name contains `fragment` (for "did you mean")."""
    fragment = fragment.strip()
    if not fragment:
        return []
    rows = session.exec(select(Unit).order_by(col(Unit.id))).all()
    return [u for u in rows if fragment in u.name or u.name in fragment][:limit]


def lead_units(session: Session) -> list[Unit]:
    """Return every unit that leads at least one task, in order of first appearance."""
    stmt = (
        select(Unit, func.min(Assignment.task_id))
        .join(Assignment, col(Assignment.unit_id) == col(Unit.id))
        .where(Assignment.role == AssignmentRole.LEAD)
        .group_by(col(Unit.id))
        .order_by(func.min(Assignment.task_id), col(Unit.id))
    )
    return [unit for unit, _ in session.exec(stmt).all()]


def get_task(session: Session, *, number: int) -> Task | None:
    """Return the task with this 序号, or None."""
    return session.exec(select(Task).where(Task.number == number)).first()


def is_lead_unit(session: Session, *, task_id: int, unit_id: int) -> bool:
    """Tell whether `unit_id` is a lead unit (牵头单位) of `task_id`."""
    stmt = select(Assignment.id).where(
        Assignment.task_id == task_id,
        Assignment.unit_id == unit_id,
        Assignment.role == AssignmentRole.LEAD,
    )
    return session.exec(stmt).first() is not None


def may_report(session: Session, *, task_id: int, unit_id: int) -> bool:
    """Whether a unit may report on a task: it leads it, is a responsible unit (协办), or is a
    member town of a collective unit (各镇街) named on it."""
    unit = session.get(Unit, unit_id)
    ids = [unit_id] + ([unit.parent_id] if unit is not None and unit.parent_id else [])
    stmt = select(Assignment.id).where(
        Assignment.task_id == task_id, col(Assignment.unit_id).in_(ids)
    )
    return session.exec(stmt).first() is not None


def tasks_of_unit(session: Session, *, unit_id: int) -> list[Task]:
    """The tasks a unit may report on (see `may_report`), by number."""
    unit = session.get(Unit, unit_id)
    ids = [unit_id] + ([unit.parent_id] if unit is not None and unit.parent_id else [])
    stmt = (
        select(Task)
        .join(Assignment, col(Assignment.task_id) == col(Task.id))
        .where(col(Assignment.unit_id).in_(ids))
        .order_by(col(Task.number))
        .distinct()
    )
    return list(session.exec(stmt).all())


def ensure_member_units(session: Session, *, members: dict[str, list[str]]) -> int:
    """Create the member towns of collective units (config `collective_units`) as units with
    `parent_id`, and re-parent existing ones; return how many were created. Unknown
    collective names are skipped (check-config reports them)."""
    created = 0
    for collective_name, names in members.items():
        collective = get_unit_by_name(session, name=collective_name)
        if collective is None or not collective.is_collective:
            continue
        for name in names:
            name = name.strip()
            if not name:
                continue
            unit = get_unit_by_name(session, name=name)
            if unit is None:
                session.add(Unit(name=name, parent_id=collective.id))
                created += 1
            elif unit.parent_id is None and not unit.is_collective:
                unit.parent_id = collective.id
    session.flush()
    return created


def tasks_led_by(session: Session, *, unit_id: int) -> list[Task]:
    """Return the tasks `unit_id` leads, by number."""
    stmt = (
        select(Task)
        .join(Assignment, col(Assignment.task_id) == col(Task.id))
        .where(Assignment.unit_id == unit_id, Assignment.role == AssignmentRole.LEAD)
        .order_by(col(Task.number))
    )
    return list(session.exec(stmt).all())


def unit_names_of_task(session: Session, *, task_id: int, role: AssignmentRole) -> list[str]:
    """Return the names of a task's units with `role`, in document order."""
    stmt = (
        select(Unit.name)
        .join(Assignment, col(Assignment.unit_id) == col(Unit.id))
        .where(Assignment.task_id == task_id, Assignment.role == role)
        .order_by(col(Assignment.position))
    )
    return list(session.exec(stmt).all())


def get_plan(session: Session) -> Plan | None:
    """Return the plan row, or None before the task file was loaded."""
    return session.exec(select(Plan)).first()


# ---------------------------------------------------------------- contacts and invites


def get_contact(session: Session, *, telegram_user_id: int) -> Contact | None:
    """Return the contact bound to this Telegram user, or None."""
    return session.exec(select(Contact).where(Contact.telegram_user_id == telegram_user_id)).first()


def contacts_of_unit(session: Session, *, unit_id: int) -> list[Contact]:
    """Return the contacts of a unit in registration order."""
    stmt = select(Contact).where(Contact.unit_id == unit_id).order_by(col(Contact.id))
    return list(session.exec(stmt).all())


def contact_counts(session: Session) -> dict[int, int]:
    """Return {unit id: number of contacts} for units with at least one contact."""
    stmt = select(Contact.unit_id, func.count()).group_by(col(Contact.unit_id))
    return {unit_id: n for unit_id, n in session.exec(stmt).all()}


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
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return InviteProblem.USED
    session.refresh(invite)
    unit = session.get(Unit, invite.unit_id)
    assert unit is not None
    contact = get_contact(session, telegram_user_id=telegram_user_id)
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
        if contact.unit_id != invite.unit_id:
            previous = session.get(Unit, contact.unit_id)
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
    coordinators only once. Registering again (a new invite) clears the mark.
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


# ---------------------------------------------------------------- status reports


def add_report(
    session: Session,
    *,
    task_id: int,
    unit_id: int,
    contact_id: int | None,
    reporter_user_id: int,
    status: Status | None,
    note: str,
    now: datetime,
    source: str = "conversation",
    evidence_kind: str | None = None,
    evidence_file_id: str | None = None,
    evidence_file_name: str | None = None,
    entered_by: int | None = None,
    corrects_id: int | None = None,
) -> StatusReport:
    """Store a status report exactly as given and return it with its id.

    Its (task, unit) `Progress` row is updated in the same transaction. A report carrying a
    status that differs from the unit's previous one is also written to the audit trail
    ("report.status", before and after).
    """
    progress = session.exec(
        select(Progress).where(Progress.task_id == task_id, Progress.unit_id == unit_id)
    ).first()
    before = progress.status if progress is not None else None
    report = StatusReport(
        task_id=task_id,
        unit_id=unit_id,
        contact_id=contact_id,
        reporter_user_id=reporter_user_id,
        status=status,
        note=note,
        created_at=now,
        source=source,
        evidence_kind=evidence_kind,
        evidence_file_id=evidence_file_id,
        evidence_file_name=evidence_file_name,
        entered_by=entered_by,
        corrects_id=corrects_id,
    )
    session.add(report)
    session.flush()
    assert report.id is not None
    if progress is None:
        progress = Progress(task_id=task_id, unit_id=unit_id, last_report_id=report.id)
    progress.last_report_id = report.id
    if status is not None:
        progress.status, progress.status_report_id = status, report.id
    session.add(progress)
    session.flush()
    if status is not None and status != before:
        record_audit(
            session,
            actor_user_id=entered_by or reporter_user_id,
            action="report.status",
            subject=f"task_id:{task_id}:unit_id:{unit_id}",
            before=(before or Status.NOT_STARTED).value,
            after=status.value,
            now=now,
        )
    return report


def latest_report_by(session: Session, *, task_id: int, unit_id: int) -> StatusReport | None:
    """The newest report of any kind of one unit on one task, or None."""
    stmt = (
        select(StatusReport)
        .join(Progress, col(Progress.last_report_id) == col(StatusReport.id))
        .where(Progress.task_id == task_id, Progress.unit_id == unit_id)
    )
    return session.exec(stmt).first()


def create_extension(
    session: Session,
    *,
    task: Task,
    unit_id: int,
    contact_id: int | None,
    requested_by: int,
    requested_deadline: date,
    reason: str,
    now: datetime,
) -> ExtensionRequest:
    """Record a pending extension request (申请延期) and audit it."""
    request = ExtensionRequest(
        task_id=task.id or 0,
        unit_id=unit_id,
        contact_id=contact_id,
        requested_by=requested_by,
        current_deadline=task.deadline,
        requested_deadline=requested_deadline,
        reason=reason,
        created_at=now,
    )
    session.add(request)
    session.flush()
    record_audit(
        session,
        actor_user_id=requested_by,
        action="extension.request",
        subject=f"extension:{request.id}:task:{task.number}",
        before=task.deadline.isoformat(),
        after=requested_deadline.isoformat(),
        now=now,
    )
    return request


def decide_extension(
    session: Session, *, request_id: int, approve: bool, decided_by: int, now: datetime
) -> ExtensionRequest | None:
    """Approve or reject a pending request; on approval the task's deadline moves.

    Returns None when the request is unknown or already decided (by another coordinator):
    the conditional update makes the first decision the only one. Audited.
    """
    status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    decided = session.execute(
        update(ExtensionRequest)
        .where(
            col(ExtensionRequest.id) == request_id,
            col(ExtensionRequest.status) == ExtensionStatus.PENDING,
        )
        .values(status=status, decided_by=decided_by, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        return None
    request = session.get(ExtensionRequest, request_id)
    assert request is not None
    session.refresh(request)
    task = session.get(Task, request.task_id)
    assert task is not None
    record_audit(
        session,
        actor_user_id=decided_by,
        action=f"extension.{status.value}",
        subject=f"extension:{request.id}:task:{task.number}",
        before=task.deadline.isoformat(),
        after=request.requested_deadline.isoformat() if approve else task.deadline.isoformat(),
        now=now,
    )
    if approve and task.deadline != request.requested_deadline:
        record_audit(
            session,
            actor_user_id=decided_by,
            action="task.deadline",
            subject=f"task:{task.number}",
            before=task.deadline.isoformat(),
            after=request.requested_deadline.isoformat(),
            now=now,
        )
        task.deadline = request.requested_deadline
        task.deadline_by_coordinator = True
    session.flush()
    return request


def open_tasks_of_unit(session: Session, *, unit_id: int) -> list[Task]:
    """Return the tasks `unit_id` may report on (`may_report`: leads, 协办 or member town)
    whose latest status from that unit is not DONE.

    "Latest" is the newest report with a status, by id, as in `load_state`.
    """
    newest = (
        select(func.max(StatusReport.id))
        .where(StatusReport.unit_id == unit_id, col(StatusReport.status).is_not(None))
        .group_by(col(StatusReport.task_id))
    )
    done = set(
        session.exec(
            select(StatusReport.task_id).where(
                col(StatusReport.id).in_(newest), StatusReport.status == Status.DONE
            )
        ).all()
    )
    return [t for t in tasks_of_unit(session, unit_id=unit_id) if t.id not in done]


# ---------------------------------------------------------------- the follow-up state


def _report_columns(report: Any = StatusReport) -> tuple[Any, ...]:
    """The columns of a `ReportView` but the reporter's name, in `_report_view`'s order."""
    return (
        report.id,
        report.task_id,
        report.unit_id,
        report.status,
        report.note,
        report.created_at,
        report.evidence_kind,
    )


def _report_view(row: Sequence[Any], reporter_name: str | None) -> ReportView:
    report_id, task_id, unit_id, status, note, created_at, evidence_kind = row
    return ReportView(
        id=report_id,
        task_id=task_id,
        unit_id=unit_id,
        status=status,
        note=note,
        created_at=created_at,
        reporter_name=reporter_name or "",
        evidence_kind=evidence_kind,
    )


REPORT_COLUMNS = len(_report_columns())  # where a row's `_report_view` part ends


def load_state(session: Session) -> FollowUpState:
    """Read tasks, units, contacts and each (task, unit)'s latest reports into a
    `FollowUpState`, fresh from the database.

    Six SQL statements, whatever the number of tasks or reports: the latest reports come
    from the `Progress` rows joined to their two reports by primary key, never from an
    aggregate over the report history. Reads plain Core rows, not ORM objects.
    `recent_reports` and `status_before` stay empty (a digest adds its period's,
    `load_period`).
    """
    connection = session.connection()

    def rows(stmt: Any) -> Sequence[Any]:
        return connection.execute(stmt).all()

    units = {
        unit_id: UnitView(unit_id, name, is_collective, parent_id)
        for unit_id, name, is_collective, parent_id in rows(
            sa_select(
                col(Unit.id), col(Unit.name), col(Unit.is_collective), col(Unit.parent_id)
            ).order_by(col(Unit.id))
        )
    }
    leads: dict[int, list[int]] = {}
    responsibles: dict[int, list[int]] = {}
    for task_id, unit_id, role in rows(
        sa_select(col(Assignment.task_id), col(Assignment.unit_id), col(Assignment.role)).order_by(
            col(Assignment.position)
        )
    ):
        target = leads if role == AssignmentRole.LEAD else responsibles
        target.setdefault(task_id, []).append(unit_id)
    tasks = tuple(
        TaskView(
            id=task_id,
            number=number,
            text=text,
            deadline=deadline,
            lead_unit_ids=tuple(leads.get(task_id, ())),
            responsible_unit_ids=tuple(responsibles.get(task_id, ())),
        )
        for task_id, number, text, deadline in rows(
            sa_select(col(Task.id), col(Task.number), col(Task.text), col(Task.deadline)).order_by(
                col(Task.number)
            )
        )
    )
    contacts = tuple(
        ContactView(
            id=contact_id,
            unit_id=unit_id,
            telegram_user_id=user_id,
            chat_id=chat_id,
            display_name=display_name,
            unreachable_reason=unreachable_reason,
            registered_at=registered_at,
        )
        for (
            contact_id,
            unit_id,
            user_id,
            chat_id,
            display_name,
            unreachable_reason,
            registered_at,
        ) in rows(
            sa_select(
                col(Contact.id),
                col(Contact.unit_id),
                col(Contact.telegram_user_id),
                col(Contact.chat_id),
                col(Contact.display_name),
                col(Contact.unreachable_reason),
                col(Contact.created_at),
            ).order_by(col(Contact.id))
        )
    )
    names = {c.id: c.display_name for c in contacts}
    latest_status: dict[tuple[int, int], ReportView] = {}
    latest_report: dict[tuple[int, int], ReportView] = {}
    width = REPORT_COLUMNS + 1
    for row in rows(_heads_statement()):
        report = _report_view(row[:REPORT_COLUMNS], names.get(row[REPORT_COLUMNS]))
        latest_report[(report.task_id, report.unit_id)] = report
        status_id = row[width]
        if status_id is not None:
            status_report = (
                report
                if status_id == report.id
                else _report_view(row[width + 1 : width + 1 + REPORT_COLUMNS], names.get(row[-1]))
            )
            latest_status[(report.task_id, report.unit_id)] = status_report
    plan = rows(sa_select(col(Plan.title)).limit(1))
    return FollowUpState(
        tasks=tasks,
        units=units,
        contacts=contacts,
        latest_status=latest_status,
        latest_report=latest_report,
        plan_title=plan[0].title if plan else "",
    )


@functools.cache
def _heads_statement() -> Any:
    """`load_state`'s statement of each pair's newest report and newest report with a
    status, from its `Progress` row; built once per process (no parameters)."""
    from sqlalchemy.orm import aliased

    last, with_status = aliased(StatusReport), aliased(StatusReport)
    # the report with a status is joined only when it is not the newest report itself (the
    # common case), which halves the rows' width
    return (
        sa_select(
            *_report_columns(last),
            last.contact_id,
            col(Progress.status_report_id),
            *_report_columns(with_status),
            with_status.contact_id,
        )
        .select_from(Progress)
        .join(last, last.id == col(Progress.last_report_id))
        .outerjoin(
            with_status,
            (with_status.id == col(Progress.status_report_id))
            & (col(Progress.status_report_id) != col(Progress.last_report_id)),
        )
    )


@functools.cache
def _period_statement() -> Any:
    """Build `load_period`'s statement once per process (bound parameter `since`)."""
    from sqlalchemy import case
    from sqlalchemy.orm import aliased

    since = bindparam("since", type_=UTCDateTime())
    old, previous = aliased(StatusReport), aliased(StatusReport)
    # A pair's newest status before `since`, looked up once per pair: at its first report of
    # the period, the one whose previous report (by id, one backward step in the
    # (task_id, unit_id, id) index `ix_statusreport_pair`) is older than `since` or absent.
    # The lookup walks back from the pair's newest report; doing it for every report of the
    # period made it quadratic in a pair's reports (16,000 note-only replies: 122 s).
    previous_at = (
        sa_select(previous.created_at)
        .where(
            previous.task_id == StatusReport.task_id,
            previous.unit_id == StatusReport.unit_id,
            previous.id < StatusReport.id,
        )
        .order_by(col(previous.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    lookup = (
        sa_select(old.status)
        .where(
            old.task_id == StatusReport.task_id,
            old.unit_id == StatusReport.unit_id,
            col(old.status).is_not(None),
            old.created_at < since,
        )
        .order_by(col(old.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    status_before = case((previous_at >= since, None), else_=lookup)
    return (
        sa_select(*_report_columns(), col(Contact.display_name), status_before)
        .outerjoin(Contact, col(Contact.id) == col(StatusReport.contact_id))
        .where(col(StatusReport.created_at) >= since)
        .order_by(col(StatusReport.created_at), col(StatusReport.id))
    )


def load_period(session: Session, *, since: datetime) -> PeriodReports:
    """Read the reports of a digest period starting at `since` (aware UTC): those created at
    or after it, and the status each of their (task, unit) pairs had before it.

    One SQL statement, whatever the number of tasks; it looks up the older reports of the
    period's pairs only (index `ix_statusreport_pair`, migration 0004), not the whole
    history.
    """
    reports: list[ReportView] = []
    statuses: dict[tuple[int, int], Status] = {}
    rows = session.connection().execute(_period_statement(), {"since": since}).all()
    for row in rows:
        report = _report_view(row[:REPORT_COLUMNS], row[REPORT_COLUMNS])
        reports.append(report)
        before = row[REPORT_COLUMNS + 1]  # only at a pair's first report of the period
        if before is not None:
            statuses.setdefault((report.task_id, report.unit_id), Status(before))
    return PeriodReports(recent=tuple(reports), status_before=statuses)


# ---------------------------------------------------------------- the send ledger

KEYS_PER_STATEMENT = 900  # SQLite without JSON functions: bound parameters per IN list
SQLITE_JSON = sqlite3.sqlite_version_info >= (3, 38, 0)  # json_each built in from 3.38


def settled_keys(session: Session, *, keys: Iterable[str], now: datetime | None = None) -> set[str]:
    """Return which of `keys` are settled in the send ledger: every row except a RETRY row
    whose `next_attempt_at` has passed at `now` (those may be claimed again). `now=None`
    counts every row, RETRY included.

    One statement with the keys as one parameter: on PostgreSQL an array
    (`key IN (SELECT unnest(...))`, one index lookup per key), on SQLite 3.38 and later a
    JSON array (`json_each`); older SQLite: IN lists of `KEYS_PER_STATEMENT` keys.
    """
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        array = bindparam("keys", wanted, type_=ARRAY(String))
        chunks = [col(Delivery.key).in_(select(func.unnest(array)))]
    elif SQLITE_JSON:
        listed = func.json_each(bindparam("keys", json.dumps(wanted, ensure_ascii=False)))
        chunks = [col(Delivery.key).in_(select(listed.table_valued("value").c.value))]
    else:
        size = KEYS_PER_STATEMENT
        chunks = [
            col(Delivery.key).in_(wanted[start : start + size])
            for start in range(0, len(wanted), size)
        ]
    found: set[str] = set()
    for condition in chunks:
        stmt = select(Delivery.key).where(condition)
        if now is not None:
            stmt = stmt.where(
                (Delivery.outcome != DeliveryOutcome.RETRY) | (col(Delivery.next_attempt_at) > now)
            )
        found.update(connection.execute(stmt).scalars())
    return found


def claim_delivery(
    session: Session,
    *,
    key: str,
    kind: DeliveryKind,
    destination: str,
    now: datetime,
    channel: str = "telegram",
    task_id: int | None = None,
    unit_id: int | None = None,
    contact_id: int | None = None,
    parts: Sequence[str] = (),
) -> Delivery | None:
    """Claim `key` for sending: insert a PENDING ledger row (holding the rendered `parts` of a
    multi-part post), or take over a RETRY row whose `next_attempt_at` has passed (its
    destination updated). Return None when the key is settled or claimed elsewhere.

    Commit before sending: the unique key and the conditional update are what make a send
    at-most-once across ticks, restarts and concurrent instances.
    """
    row = Delivery(
        key=key,
        kind=kind,
        channel=channel,
        destination=destination,
        task_id=task_id,
        unit_id=unit_id,
        contact_id=contact_id,
        body=json.dumps(list(parts), ensure_ascii=False),
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        pass
    else:
        return row
    retried = session.execute(
        update(Delivery)
        .where(
            col(Delivery.key) == key,
            col(Delivery.outcome) == DeliveryOutcome.RETRY,
            col(Delivery.next_attempt_at) <= now,
        )
        .values(
            outcome=DeliveryOutcome.PENDING,
            attempts=Delivery.attempts + 1,
            destination=destination,
            contact_id=contact_id,
        )
        .execution_options(synchronize_session=False)
    )
    if retried.rowcount != 1:  # type: ignore[attr-defined]
        return None
    claimed = session.exec(select(Delivery).where(Delivery.key == key)).one()
    session.refresh(claimed)
    return claimed


RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(minutes=30)
DIGEST_RETRY_AFTER = timedelta(minutes=1)


def retry_backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 30 s doubling per attempt, at most 30 minutes."""
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)


def settle_delivery(
    session: Session,
    *,
    delivery_id: int,
    outcome: DeliveryOutcome,
    now: datetime,
    message_id: int | None = None,
    error: str | None = None,
) -> None:
    """Record what became of a claimed send: SENT (with its message id), FAILED, UNCERTAIN,
    or RETRY (then `next_attempt_at` is set: a minute later for a digest, which resumes at
    its next part, `retry_backoff` otherwise). Raises `LookupError` for an unknown id."""
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise LookupError(f"delivery {delivery_id} not in the ledger")
    row.outcome = outcome
    row.error = error
    if message_id is not None:
        row.message_id = message_id
    if outcome == DeliveryOutcome.SENT:
        row.sent_at = now
    if outcome == DeliveryOutcome.RETRY:
        wait = (
            DIGEST_RETRY_AFTER if row.kind == DeliveryKind.DIGEST else retry_backoff(row.attempts)
        )
        row.next_attempt_at = now + wait
    session.flush()


def delivery_part_sent(
    session: Session, *, delivery_id: int, parts_sent: int, message_id: int | None = None
) -> None:
    """Record that the first `parts_sent` parts of a multi-part post were delivered."""
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise LookupError(f"delivery {delivery_id} not in the ledger")
    row.parts_sent = parts_sent
    if message_id is not None:
        row.message_id = message_id
    session.flush()


def delivery_parts(row: Delivery) -> list[str]:
    """The rendered parts stored with a multi-part post."""
    parts = json.loads(row.body or "[]")
    return [str(p) for p in parts] if isinstance(parts, list) else []


def claim_retry(session: Session, *, kind: DeliveryKind, now: datetime) -> Delivery | None:
    """Take over the oldest RETRY row of `kind` whose `next_attempt_at` has passed (a digest
    stopped by an outage resumes from its stored parts)."""
    candidates = session.exec(
        select(Delivery.id)
        .where(
            Delivery.kind == kind,
            Delivery.outcome == DeliveryOutcome.RETRY,
            col(Delivery.next_attempt_at) <= now,
        )
        .order_by(col(Delivery.id))
    ).all()
    for delivery_id in candidates:
        taken = session.execute(
            update(Delivery)
            .where(
                col(Delivery.id) == delivery_id,
                col(Delivery.outcome) == DeliveryOutcome.RETRY,
            )
            .values(outcome=DeliveryOutcome.PENDING, attempts=Delivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            row = session.get(Delivery, delivery_id)
            if row is not None:
                session.refresh(row)
            return row
    return None


def key_claimed(session: Session, *, key: str) -> bool:
    """Tell whether the send ledger holds `key` in any state."""
    return session.exec(select(Delivery.id).where(Delivery.key == key)).first() is not None


def mark_pending_uncertain(session: Session) -> int:
    """Turn ledger rows left PENDING by a crash into UNCERTAIN; return how many.

    Run at start-up, before the first tick: those sends may or may not have reached Telegram,
    and at-most-once delivery means they are not retried.
    """
    rows = session.exec(select(Delivery).where(Delivery.outcome == DeliveryOutcome.PENDING)).all()
    for row in rows:
        row.outcome = DeliveryOutcome.UNCERTAIN
        row.error = row.error or "process stopped during the send"
    session.flush()
    return len(rows)


def delivery_for_message(
    session: Session, *, destination: str, message_id: int, channel: str = "telegram"
) -> Delivery | None:
    """The ledger row of what the bot sent as `message_id` to `destination` (a reminder a
    contact replies to), or None."""
    stmt = select(Delivery).where(
        Delivery.channel == channel,
        Delivery.destination == destination,
        Delivery.message_id == message_id,
    )
    return session.exec(stmt).first()


def sent_reminder_counts(session: Session) -> dict[tuple[int, int], int]:
    """Return {(task id, unit id): number of reminders SENT} for pairs with at least one."""
    stmt = (
        select(Delivery.task_id, Delivery.unit_id, func.count())
        .where(Delivery.kind == DeliveryKind.REMINDER, Delivery.outcome == DeliveryOutcome.SENT)
        .group_by(col(Delivery.task_id), col(Delivery.unit_id))
    )
    return {
        (task_id, unit_id): int(n)
        for task_id, unit_id, n in session.exec(stmt).all()
        if task_id is not None and unit_id is not None
    }


def last_digest_at(session: Session) -> datetime | None:
    """Return when the last weekly digest was sent (aware UTC), or None."""
    stmt = (
        select(Delivery.sent_at)
        .where(Delivery.kind == DeliveryKind.DIGEST, Delivery.outcome == DeliveryOutcome.SENT)
        .order_by(col(Delivery.sent_at).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


# ---------------------------------------------------------------- audit trail


def record_audit(
    session: Session,
    *,
    actor_user_id: int,
    action: str,
    subject: str,
    before: object | None,
    after: object | None,
    now: datetime,
) -> AuditEvent:
    """Append an audit event; non-string before/after values are stored as JSON."""

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
        at=now,
    )
    session.add(event)
    session.flush()
    return event


def reports_of_task(session: Session, *, task_id: int) -> Sequence[StatusReport]:
    """Return every report on a task, oldest first."""
    stmt = (
        select(StatusReport)
        .where(StatusReport.task_id == task_id)
        .order_by(col(StatusReport.created_at), col(StatusReport.id))
    )
    return session.exec(stmt).all()


# ---------------------------------------------------------------- ledger export (read-only)


def tasks_by_number(session: Session) -> list[Task]:
    """Return every task, by 序号."""
    return list(session.exec(select(Task).order_by(col(Task.number))).all())


def contacts_by_id(session: Session) -> dict[int, Contact]:
    """Return every contact (reachable or not) keyed by its id."""
    return {c.id or 0: c for c in session.exec(select(Contact).order_by(col(Contact.id)))}


def reports_oldest_first(session: Session) -> list[StatusReport]:
    """Return every status report of every task, oldest first (ties by id)."""
    stmt = select(StatusReport).order_by(col(StatusReport.created_at), col(StatusReport.id))
    return list(session.exec(stmt).all())


def audit_trail(session: Session) -> list[AuditEvent]:
    """Return every audit event, oldest first (ties by id)."""
    stmt = select(AuditEvent).order_by(col(AuditEvent.at), col(AuditEvent.id))
    return list(session.exec(stmt).all())

"""Status reports, extension requests and their decisions.

`add_report` writes the report and the (task, unit)'s `Progress` row in one flush, so the
follow-up state read by `state.load_state` is current the moment the caller commits.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, cast
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from db.models import (
    ExtensionRequest,
    Plan,
    Progress,
    StatusReport,
    Task,
)
from db.repo.audit import record_audit, task_subject
from db.repo.deadlines import set_deadline
from db.repo.units import tasks_of_unit
from jobs.backfill import effective_on
from jobs.types import (
    DeadlineBasis,
    ExtensionStatus,
    PlanStatus,
    Status,
)


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
    origin: str | None = None,
) -> StatusReport:
    """Store a status report exactly as given and return it with its id.

    `origin` names the chat message its note came from (unique: see `report_from`).

    Its (task, unit) `Progress` row is updated in the same transaction. A report carrying a
    status that differs from the unit's previous one is also written to the audit trail
    ("report.status", before and after).
    """
    # Core statements, built once, on the session's connection: the ORM's unit of work cost
    # three times as much for these three rows, at every report (the throughput benchmark)
    session.flush()  # anything the caller added before, so the statements below see it
    connection = session.connection()
    statements = _report_statements()
    before_row = connection.execute(
        statements.progress_of, {"task_id": task_id, "unit_id": unit_id}
    ).first()
    before = before_row.status if before_row is not None else None
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
        origin=origin,
    )
    key = connection.execute(
        statements.insert_report, report.model_dump(exclude={"id"})
    ).inserted_primary_key
    assert key is not None
    report.id = key[0]
    pair: dict[str, Any] = {"last_report_id": report.id}
    if status is not None:
        pair.update(status=status, status_report_id=report.id)
    if before_row is None:
        connection.execute(
            statements.insert_progress, {"task_id": task_id, "unit_id": unit_id, **pair}
        )
    else:
        update_pair = statements.update_status if status is not None else statements.update_last
        connection.execute(update_pair, {"progress_id": before_row.id, **pair})
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


BACKFILL_SOURCE = "backfill"


def add_backfill(
    session: Session,
    *,
    task_id: int,
    unit_id: int,
    status: Status | None,
    note: str,
    occurred_on: date,
    entered_by: int,
    now: datetime,
    zone: ZoneInfo,
) -> StatusReport:
    """Store a past record (补录) entered at `now` by `entered_by` (0: the task file or the
    console) that happened on the local date `occurred_on`, and return it with its id.

    The report has source "backfill", `reporter_user_id` = `entered_by`, no contact. Callers
    check it first (`jobs.backfill.check_backfill`). The pair's `Progress` moves to it only
    when its effective date is on or after that of the pair's current newest report (and,
    for the status, of its current newest report with a status); `zone` converts a live
    report's `created_at` to its local date. On equal dates the record wins (the later id).
    So a 2023 record entered today never hides a report from last week. Audited
    ("report.backfill", subject "task_id:<id>:unit_id:<id>", after "<date> <status>").
    """
    session.flush()
    report = StatusReport(
        task_id=task_id,
        unit_id=unit_id,
        contact_id=None,
        reporter_user_id=entered_by,
        status=status,
        note=note,
        created_at=now,
        source=BACKFILL_SOURCE,
        entered_by=entered_by,
        occurred_on=occurred_on,
    )
    session.add(report)
    session.flush()
    assert report.id is not None
    progress = session.exec(
        select(Progress).where(Progress.task_id == task_id, Progress.unit_id == unit_id)
    ).first()

    def newer(report_id: int | None) -> bool:
        if report_id is None:
            return True
        current = session.get(StatusReport, report_id)
        if current is None:
            return True
        return occurred_on >= effective_on(current.occurred_on, current.created_at, zone)

    if progress is None:
        progress = Progress(task_id=task_id, unit_id=unit_id, last_report_id=report.id)
        if status is not None:
            progress.status = status
            progress.status_report_id = report.id
    else:
        if newer(progress.last_report_id):
            progress.last_report_id = report.id
        if status is not None and newer(progress.status_report_id):
            progress.status = status
            progress.status_report_id = report.id
    session.add(progress)
    record_audit(
        session,
        actor_user_id=entered_by,
        action="report.backfill",
        subject=f"task_id:{task_id}:unit_id:{unit_id}",
        before=None,
        after=f"{occurred_on.isoformat()} {status.value if status else ''}".strip(),
        now=now,
    )
    session.flush()
    return report


def backfill_exists(
    session: Session,
    *,
    task_id: int,
    unit_id: int,
    occurred_on: date,
    status: Status | None,
    note: str,
) -> bool:
    """Whether the same past record (task, unit, date, status and note) is already stored,
    so loading a sheet twice stores its rows once."""
    stmt = select(StatusReport.id).where(
        StatusReport.task_id == task_id,
        StatusReport.unit_id == unit_id,
        StatusReport.source == BACKFILL_SOURCE,
        StatusReport.occurred_on == occurred_on,
        StatusReport.note == note,
        StatusReport.status == status if status is not None else col(StatusReport.status).is_(None),
    )
    return session.exec(stmt).first() is not None


class _ReportStatements(NamedTuple):
    progress_of: Any  # parameters task_id, unit_id
    insert_report: Any  # parameters: the report's columns but id
    insert_progress: Any  # task_id, unit_id, last_report_id[, status, status_report_id]
    update_status: Any  # progress_id, last_report_id, status, status_report_id
    update_last: Any  # progress_id, last_report_id


@functools.cache
def _report_statements() -> _ReportStatements:
    """`add_report`'s statements, built once per process (SQLAlchemy caches their compiled
    form; building them anew at each report cost as much as running them)."""
    reports, progress = StatusReport.__table__, Progress.__table__  # type: ignore[attr-defined]
    by_id = progress.c.id == bindparam("progress_id")
    return _ReportStatements(
        progress_of=select(progress.c.id, progress.c.status).where(
            progress.c.task_id == bindparam("task_id"), progress.c.unit_id == bindparam("unit_id")
        ),
        insert_report=insert(reports),
        insert_progress=insert(progress),
        update_status=update(progress)
        .where(by_id)
        .values(
            last_report_id=bindparam("last_report_id"),
            status=bindparam("status", type_=progress.c.status.type),
            status_report_id=bindparam("status_report_id"),
        ),
        update_last=update(progress)
        .where(by_id)
        .values(last_report_id=bindparam("last_report_id")),
    )


def report_from(session: Session, *, origin: str) -> StatusReport | None:
    """The report stored from the chat message `origin` ("tg:<chat>:<message>"), if any."""
    return session.exec(select(StatusReport).where(StatusReport.origin == origin)).first()


def status_in_force(session: Session, *, task_id: int, unit_id: int) -> Status | None:
    """The status the unit reported last on the task (`Progress.status`), None without one:
    one indexed read."""
    row = session.exec(
        select(Progress).where(Progress.task_id == task_id, Progress.unit_id == unit_id)
    ).first()
    return row.status if row is not None else None


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
        subject=f"extension:{request.id}:{task_subject(session, task)}",
        before=task.deadline.isoformat(),
        after=requested_deadline.isoformat(),
        now=now,
    )
    return request


def decide_extension(
    session: Session,
    *,
    request_id: int,
    approve: bool,
    decided_by: int,
    now: datetime,
    note: str | None = None,
) -> ExtensionRequest | None:
    """Approve or reject a pending request; on approval the task's deadline moves. `note` is
    the reason a coordinator gave (stored as typed in `decision_note`).

    Returns None when the request is unknown or already decided (by another coordinator):
    the conditional update makes the first decision the only one. Audited; an approval
    moves the deadline as an approved extension (`DeadlineBasis.EXTENSION`, the request's
    reason as the audit's reason).
    """
    status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    decided = session.execute(
        update(ExtensionRequest)
        .where(
            col(ExtensionRequest.id) == request_id,
            col(ExtensionRequest.status) == ExtensionStatus.PENDING,
        )
        .values(status=status, decided_by=decided_by, decided_at=now, decision_note=note)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", decided).rowcount != 1:
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
        subject=f"extension:{request.id}:{task_subject(session, task)}",
        before=task.deadline.isoformat(),
        after=request.requested_deadline.isoformat() if approve else task.deadline.isoformat(),
        now=now,
    )
    if approve:
        set_deadline(
            session,
            task=task,
            new=request.requested_deadline,
            actor_user_id=decided_by,
            reason=request.reason,
            now=now,
            basis=DeadlineBasis.EXTENSION,
        )
    session.flush()
    return request


def open_tasks_of_unit(session: Session, *, unit_id: int) -> list[Task]:
    """Return the tasks of active plans that `unit_id` may report on (`may_report`: leads,
    协办 or member town) whose latest status from that unit is not DONE, by plan and number.

    "Latest" is the pair's `Progress` status, as in `load_state` (so a past record (补录) of
    an older date never overrides a newer live report).
    """
    done = set(
        session.exec(
            select(Progress.task_id).where(
                Progress.unit_id == unit_id, Progress.status == Status.DONE
            )
        ).all()
    )
    closed = set(session.exec(select(Plan.id).where(Plan.status == PlanStatus.CLOSED)).all())
    return [
        t
        for t in tasks_of_unit(session, unit_id=unit_id)
        if t.id not in done and t.plan_id not in closed
    ]


def reports_of_task(session: Session, *, task_id: int) -> Sequence[StatusReport]:
    """Return every report on a task, oldest first."""
    stmt = (
        select(StatusReport)
        .where(StatusReport.task_id == task_id)
        .order_by(col(StatusReport.created_at), col(StatusReport.id))
    )
    return session.exec(stmt).all()

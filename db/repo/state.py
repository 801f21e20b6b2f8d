"""The follow-up state, read fresh: one indexed read of tasks, assignments, progress and
contacts, and the reports of a digest period.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from db.models import (
    Assignment,
    Contact,
    Milestone,
    Plan,
    Progress,
    StatusReport,
    Task,
    Unit,
    UTCDateTime,
)
from db.repo.reviews import latest_reviews
from jobs.plans import PlanView, newest_first
from jobs.state import (
    ContactView,
    FollowUpState,
    MilestoneView,
    PeriodReports,
    ReportView,
    TaskView,
    UnitView,
)
from jobs.types import (
    AssignmentRole,
    Status,
)


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
        report.corrects_id,
        report.occurred_on,
    )


def _report_view(row: Sequence[Any], reporter_name: str | None) -> ReportView:
    (
        report_id,
        task_id,
        unit_id,
        status,
        note,
        created_at,
        evidence_kind,
        corrects_id,
        occurred_on,
    ) = row
    return ReportView(
        id=report_id,
        task_id=task_id,
        unit_id=unit_id,
        status=status,
        note=note,
        created_at=created_at,
        reporter_name=reporter_name or "",
        evidence_kind=evidence_kind,
        corrects_id=corrects_id,
        occurred_on=occurred_on,
    )


BACKFILL = "backfill"  # `StatusReport.source` of a past record (补录)
REPORT_COLUMNS = len(_report_columns())  # where a row's `_report_view` part ends


def load_state(session: Session) -> FollowUpState:
    """Read tasks, units, contacts and each (task, unit)'s latest reports into a
    `FollowUpState`, fresh from the database.

    Eight SQL statements, whatever the number of tasks or reports: the latest reports come
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
    milestones: dict[int, list[MilestoneView]] = {}
    for milestone_id, task_id, due_on, text, closed_on in rows(
        sa_select(
            col(Milestone.id),
            col(Milestone.task_id),
            col(Milestone.due_on),
            col(Milestone.text),
            col(Milestone.closed_on),
        ).order_by(col(Milestone.due_on), col(Milestone.id))
    ):
        milestones.setdefault(task_id, []).append(
            MilestoneView(milestone_id, due_on, text, closed_on)
        )
    tasks = tuple(
        TaskView(
            id=task_id,
            number=number,
            text=text,
            deadline=deadline,
            lead_unit_ids=tuple(leads.get(task_id, ())),
            responsible_unit_ids=tuple(responsibles.get(task_id, ())),
            plan_id=plan_id,
            milestones=tuple(milestones.get(task_id, ())),
        )
        for task_id, number, text, deadline, plan_id in rows(
            sa_select(
                col(Task.id),
                col(Task.number),
                col(Task.text),
                col(Task.deadline),
                col(Task.plan_id),
            ).order_by(col(Task.plan_id), col(Task.number))
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
            )
            .where(col(Contact.removed_at).is_(None))
            .order_by(col(Contact.id))
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
    plans = {plan.id: plan for plan in read_plans(session)}
    reviews = latest_reviews(session)
    active = [p for p in newest_first(plans.values()) if p.active] or list(plans.values())
    return FollowUpState(
        tasks=tasks,
        units=units,
        contacts=contacts,
        latest_status=latest_status,
        latest_report=latest_report,
        plan_title=active[0].title if len(active) == 1 else "",
        plans=plans,
        reviews=reviews,
    )


def read_plans(session: Session) -> list[PlanView]:
    """Every plan, the newest first (`jobs.plans.newest_first`)."""
    return newest_first(
        PlanView(
            id=plan.id or 0,
            title=plan.title,
            document_number=plan.document_number,
            short_name=plan.short_name,
            issued_on=plan.issued_on,
            period_start=plan.period_start,
            period_end=plan.period_end,
            status=plan.status,
            rhythm=plan.rhythm,
            rhythm_day=plan.rhythm_day,
        )
        for plan in session.exec(select(Plan))
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
            col(last.contact_id),
            col(Progress.status_report_id),
            *_report_columns(with_status),
            col(with_status.contact_id),
        )
        .select_from(Progress)
        .join(last, col(last.id) == col(Progress.last_report_id))
        .outerjoin(
            with_status,
            (col(with_status.id) == col(Progress.status_report_id))
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
        sa_select(col(previous.created_at))
        .where(
            col(previous.task_id) == col(StatusReport.task_id),
            col(previous.unit_id) == col(StatusReport.unit_id),
            col(previous.id) < col(StatusReport.id),
            col(previous.source) != BACKFILL,
        )
        .order_by(col(previous.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    lookup = (
        sa_select(col(old.status))
        .where(
            col(old.task_id) == col(StatusReport.task_id),
            col(old.unit_id) == col(StatusReport.unit_id),
            col(old.status).is_not(None),
            col(old.created_at) < since,
        )
        .order_by(col(old.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    status_before = case((previous_at >= since, None), else_=lookup)
    return (
        sa_select(*_report_columns(), col(Contact.display_name), status_before)
        .outerjoin(Contact, col(Contact.id) == col(StatusReport.contact_id))
        .where(col(StatusReport.created_at) >= since, col(StatusReport.source) != BACKFILL)
        .order_by(col(StatusReport.created_at), col(StatusReport.id))
    )


def load_period(session: Session, *, since: datetime) -> PeriodReports:
    """Read the reports of a digest period starting at `since` (aware UTC): those created at
    or after it, and the status each of their (task, unit) pairs had before it. Past records
    (补录, source "backfill") are never among them: entering one is not a change of the period.

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

"""Reads for the 总结评估 (`jobs.evaluation`): one plan's tasks, deadline history and reports.

Functions take the `Session` first and keyword-only data; they only read.

The deadline history comes from the audit trail: events of action "task.deadline" with
subject "task:<简称>:<number>" (`repo.task_subject`; before/after ISO dates, `at` UTC), and
those stored before several plans, "task:<number>", which name the 序号, not the plan. A
task's events are those of its subjects that chain from its original deadline (原定期限) to
its deadline in force, each event's `before` the previous one's `after` (`_chain`); an
older event of another plan's task with the same 序号 does not fit the chain.
An event is an approved extension when an APPROVED `ExtensionRequest` of the task was
decided at the same instant, a task-file change when its actor is 0 (the system), a bulk
move when other tasks' deadline events share its `at` (one /deadline batch), else a
coordinator's change of this task.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from db.models import (
    Assignment,
    AuditEvent,
    CompletionReview,
    EvidenceFile,
    ExtensionRequest,
    Plan,
    StatusReport,
    Task,
    Unit,
)
from db.repo.audit import task_subject
from jobs.evaluation import ChangeBasis, DeadlineMove, ReportRecord, TaskRecord
from jobs.plans import PlanView
from jobs.types import AssignmentRole, ExtensionStatus

BACKFILL_SOURCE = "backfill"


def effective_date(report: StatusReport, zone: ZoneInfo) -> date:
    """A report's local date: `occurred_on` for a past record, else the day (in `zone`) it
    was made."""
    if report.occurred_on is not None:
        return report.occurred_on
    return report.created_at.astimezone(zone).date()


def _plan_view(plan: Plan) -> PlanView:
    return PlanView(
        id=plan.id or 0,
        title=plan.title,
        document_number=plan.document_number,
        short_name=plan.short_name,
        issued_on=plan.issued_on,
        period_start=plan.period_start,
        period_end=plan.period_end,
        status=plan.status,
    )


def _chain(task: Task, newest_first: list[AuditEvent]) -> list[AuditEvent]:
    """The events, oldest first, leading from the task's original deadline to its deadline
    in force: the longest such chain, newest events tried first; when none reaches the
    original (history cut short), the chain of newest matches back from the deadline."""
    original = task.original_deadline.isoformat()
    memo: dict[tuple[str, int], list[AuditEvent] | None] = {}

    def back(current: str, after_index: int) -> list[AuditEvent] | None:
        key = (current, after_index)
        if key in memo:
            return memo[key]
        best: list[AuditEvent] | None = [] if current == original else None
        for index in range(after_index + 1, len(newest_first)):
            event = newest_first[index]
            if event.after != current or event.before is None:
                continue
            rest = back(event.before, index)
            if rest is not None and (best is None or len(rest) + 1 > len(best)):
                best = [*rest, event]
        memo[key] = best
        return best

    found = back(task.deadline.isoformat(), -1)
    if found is not None:
        return found
    greedy: list[AuditEvent] = []
    current, index = task.deadline.isoformat(), -1
    while True:
        nxt = next(
            (
                i
                for i in range(index + 1, len(newest_first))
                if newest_first[i].after == current and newest_first[i].before is not None
            ),
            None,
        )
        if nxt is None:
            return list(reversed(greedy))
        greedy.append(newest_first[nxt])
        current, index = newest_first[nxt].before or "", nxt


def _moves(
    task: Task,
    events: list[AuditEvent],
    batch_sizes: Counter[datetime],
    approved_at: set[datetime],
    zone: ZoneInfo,
) -> tuple[DeadlineMove, ...]:
    chain = _chain(task, sorted(events, key=lambda e: (e.at, e.id or 0), reverse=True))
    moves: list[DeadlineMove] = []
    for event in chain:
        if event.actor_user_id == 0:
            basis = ChangeBasis.PLAN
        elif event.at in approved_at:
            basis = ChangeBasis.EXTENSION
        elif batch_sizes[event.at] > 1:
            basis = ChangeBasis.BULK
        else:
            basis = ChangeBasis.COORDINATOR
        try:
            before, after = (
                date.fromisoformat(event.before or ""),
                date.fromisoformat(event.after or ""),
            )
        except ValueError:
            continue
        moves.append(
            DeadlineMove(
                on=event.at.astimezone(zone).date(),
                before=before,
                after=after,
                basis=basis,
                reason=event.reason,
            )
        )
    return tuple(moves)


def counted_reports(session: Session, task_ids: list[int]) -> list[StatusReport]:
    """The reports on `task_ids` by id, a report corrected by a later one left out (what the
    evaluation and the statistics count)."""
    rows = list(
        session.exec(
            select(StatusReport)
            .where(col(StatusReport.task_id).in_(task_ids))
            .order_by(col(StatusReport.id))
        )
    )
    corrected = {r.corrects_id for r in rows if r.corrects_id is not None}
    return [r for r in rows if r.id not in corrected]


def evaluation_input(
    session: Session, *, plan_id: int, zone: ZoneInfo
) -> tuple[PlanView, list[TaskRecord], list[ReportRecord]]:
    """The plan `plan_id`, its tasks (by 序号, with their deadline changes and the later
    plans' tasks carrying them over) and every report
    on them (a corrected report left out, its correction marked), for `jobs.evaluation.
    evaluate`. Raises `LookupError` when there is no such plan."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise LookupError(f"no plan with id {plan_id}")
    tasks = list(
        session.exec(select(Task).where(Task.plan_id == plan_id).order_by(col(Task.number)))
    )
    task_ids = [t.id for t in tasks if t.id is not None]
    names = {u.id: u.name for u in session.exec(select(Unit))}
    roles: dict[int, dict[AssignmentRole, list[str]]] = {}
    for a in session.exec(
        select(Assignment)
        .where(col(Assignment.task_id).in_(task_ids))
        .order_by(col(Assignment.position), col(Assignment.id))
    ):
        roles.setdefault(a.task_id, {}).setdefault(a.role, []).append(names.get(a.unit_id, "?"))
    events = list(session.exec(select(AuditEvent).where(AuditEvent.action == "task.deadline")))
    batch_sizes = Counter(e.at for e in events if e.actor_user_id != 0)
    by_subject: dict[str, list[AuditEvent]] = {}
    for event in events:
        by_subject.setdefault(event.subject, []).append(event)
    approved: dict[int, set[datetime]] = {}
    for request in session.exec(
        select(ExtensionRequest).where(
            col(ExtensionRequest.task_id).in_(task_ids),
            ExtensionRequest.status == ExtensionStatus.APPROVED,
        )
    ):
        if request.decided_at is not None:
            approved.setdefault(request.task_id, set()).add(request.decided_at)
    carried: dict[int, list[str]] = {}
    for later, later_plan in session.exec(
        select(Task, Plan)
        .join(Plan, col(Plan.id) == col(Task.plan_id))
        .where(col(Task.carried_from_id).in_(task_ids))
        .order_by(col(Plan.period_start), col(Task.number))
    ):
        label = later_plan.short_name or later_plan.title
        carried.setdefault(later.carried_from_id or 0, []).append(f"{label}第{later.number}项")
    records: list[TaskRecord] = []
    for task in tasks:
        mine = roles.get(task.id or 0, {})
        records.append(
            TaskRecord(
                number=task.number,
                text=task.text,
                original_deadline=task.original_deadline,
                deadline=task.deadline,
                lead_units=tuple(mine.get(AssignmentRole.LEAD, [])),
                responsible_units=tuple(mine.get(AssignmentRole.RESPONSIBLE, [])),
                changes=_moves(
                    task,
                    by_subject.get(task_subject(session, task), [])
                    + by_subject.get(f"task:{task.number}", []),
                    batch_sizes,
                    approved.get(task.id or 0, set()),
                    zone,
                ),
                carried_to=tuple(carried.get(task.id or 0, [])),
            )
        )
    number_of = {t.id: t.number for t in tasks}
    rows = counted_reports(session, task_ids)
    waiting = set(
        session.exec(
            select(CompletionReview.claim_report_id).where(
                col(CompletionReview.task_id).in_(task_ids),
                col(CompletionReview.decision).is_(None),
            )
        )
    )
    files: dict[int, list[str]] = {}
    for f in session.exec(
        select(EvidenceFile)
        .where(col(EvidenceFile.task_id).in_(task_ids))
        .order_by(col(EvidenceFile.report_id), col(EvidenceFile.position), col(EvidenceFile.id))
    ):
        files.setdefault(f.report_id, []).append(f.file_name)
    reports: list[ReportRecord] = []
    for row in rows:
        evidence = files.get(row.id or 0) or (
            [row.evidence_file_name] if row.evidence_file_name else []
        )
        reports.append(
            ReportRecord(
                id=row.id or 0,
                task=number_of[row.task_id],
                unit=names.get(row.unit_id, "?"),
                status=row.status,
                note=row.note,
                on=effective_date(row, zone),
                backfill=row.source == BACKFILL_SOURCE,
                evidence=tuple(evidence),
                correction=row.corrects_id is not None,
                awaiting_review=row.id in waiting,
            )
        )
    return _plan_view(plan), records, reports


__all__ = ["effective_date", "evaluation_input"]

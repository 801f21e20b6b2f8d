"""Reads for the follow-up statistics (`jobs.stats`): one plan's (task, lead unit) pairs with
their completion, report dates and reminder dates.

Functions take the `Session` first and keyword-only data; they only read. Dates are local to
`zone` (a report's effective date: `occurred_on` for a past record, else the day it was made).

How a pair's completion is read lives in `completions` alone: every other function and
`jobs.stats` only see its `Completion` values.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from db.models import Assignment, Contact, Delivery, Plan, Task, Unit
from db.repo.evaluation import counted_reports, effective_date, evaluation_input
from db.repo.reviews import latest_reviews
from jobs.calendar import WorkingCalendar
from jobs.plans import PlanView
from jobs.rhythm import Rule, rule_of
from jobs.stats import (
    NOT_DONE,
    Completion,
    PairInput,
    PlanStats,
    TaskInput,
    deadline_in_force,
    plan_stats,
    unit_completion,
)
from jobs.types import AssignmentRole, DeliveryKind, DeliveryOutcome, ReviewDecision, Status

REMINDER_KINDS = (DeliveryKind.REMINDER, DeliveryKind.NUDGE)


def completions(
    session: Session, *, plan_id: int, zone: ZoneInfo
) -> dict[tuple[int, int], Completion]:
    """{(task id, unit id): Completion} for every pair of plan `plan_id` with a report.

    The claim and the returns come from the reports (`jobs.stats.unit_completion`): the
    unit's final status 已完成 is a claim, made on the day of the report that began its final
    run of 已完成 reports; a later status after an 已完成 (a 退回 stores 推进中) is a return.
    The acceptance is the completion review's (`repo.latest_reviews`): accepted (销号) on the
    local day it was decided; a claim still waiting (待审核) is not accepted; an 已完成 with
    no review (a 补录, or review off before reviews were kept) counts accepted on its day."""
    task_ids = [
        t for t in session.exec(select(Task.id).where(Task.plan_id == plan_id)) if t is not None
    ]
    history: dict[tuple[int, int], list[tuple[date, int, Status | None]]] = {}
    for row in counted_reports(session, task_ids):
        history.setdefault((row.task_id, row.unit_id), []).append(
            (effective_date(row, zone), row.id or 0, row.status)
        )
    reviews = latest_reviews(session)
    found: dict[tuple[int, int], Completion] = {}
    for pair, items in history.items():
        completion = unit_completion(items)[1]
        review = reviews.get(pair)
        claimed = completion.claimed_on
        if claimed is not None and review is not None:
            if review.decision is None:
                completion = replace(completion, accepted_on=None)
            elif review.decision is ReviewDecision.ACCEPTED and review.decided_at is not None:
                decided = review.decided_at.astimezone(zone).date()
                completion = replace(completion, accepted_on=max(decided, claimed))
        found[pair] = completion
    return found


def reminder_days(
    session: Session, *, task_ids: list[int], zone: ZoneInfo
) -> dict[tuple[int, int], list[date]]:
    """{(task id, unit id): local dates of the reminders SENT to the unit about the task}:
    `Delivery` rows of kind reminder naming the task and unit, and nudges (kind nudge: a
    contact silent in a reporting cycle) to a contact of a unit, counted for each of the
    unit's lead tasks among `task_ids`. The day is that of `sent_at` (else `created_at`)."""
    leads: dict[int, list[int]] = {}
    for a in session.exec(
        select(Assignment).where(
            col(Assignment.task_id).in_(task_ids), Assignment.role == AssignmentRole.LEAD
        )
    ):
        leads.setdefault(a.unit_id, []).append(a.task_id)
    unit_of = {c.id: c.unit_id for c in session.exec(select(Contact))}
    wanted = set(task_ids)
    days: dict[tuple[int, int], list[date]] = {}
    rows = session.exec(
        select(Delivery).where(
            col(Delivery.kind).in_(REMINDER_KINDS), Delivery.outcome == DeliveryOutcome.SENT
        )
    )
    for row in rows:
        day = (row.sent_at or row.created_at).astimezone(zone).date()
        if row.kind == DeliveryKind.REMINDER:
            if row.task_id in wanted and row.unit_id is not None and row.task_id is not None:
                days.setdefault((row.task_id, row.unit_id), []).append(day)
        elif row.contact_id is not None and row.task_id is None:
            unit = unit_of.get(row.contact_id)
            for lead_task in leads.get(unit or 0, []):
                days.setdefault((lead_task, unit or 0), []).append(day)
    return days


def stats_input(
    session: Session, *, plan_id: int, zone: ZoneInfo, default_day: int, as_of: date
) -> tuple[PlanView, Rule, list[TaskInput]]:
    """The plan `plan_id`, its reporting rule (`default_day`: config `follow_up.cycle_day`)
    and its tasks by 序号 with one `PairInput` per lead unit, for `jobs.stats.plan_stats`;
    the deadline in force counts the deadline changes made by `as_of`.
    Raises `LookupError` when there is no such plan."""
    plan_row = session.get(Plan, plan_id)
    if plan_row is None:
        raise LookupError(f"no plan with id {plan_id}")
    plan, records, reports = evaluation_input(session, plan_id=plan_id, zone=zone)
    rule = rule_of(plan_row.rhythm, plan_row.rhythm_day, default_day)
    ids = {
        t.number: t.id
        for t in session.exec(select(Task).where(Task.plan_id == plan_id))
        if t.id is not None
    }
    unit_ids = {u.name: u.id for u in session.exec(select(Unit)) if u.id is not None}
    done = completions(session, plan_id=plan_id, zone=zone)
    reminders = reminder_days(session, task_ids=list(ids.values()), zone=zone)
    report_days: dict[tuple[int, str], list[date]] = {}
    for r in reports:
        report_days.setdefault((r.task, r.unit), []).append(r.on)
    tasks: list[TaskInput] = []
    for record in records:
        deadline = deadline_in_force(record.original_deadline, record.changes, as_of)
        task_id = ids[record.number]
        pairs = tuple(
            PairInput(
                task=record.number,
                unit=unit,
                original_deadline=record.original_deadline,
                deadline=deadline,
                completion=done.get((task_id, unit_ids.get(unit, 0)), NOT_DONE),
                reports=tuple(report_days.get((record.number, unit), [])),
                reminders=tuple(reminders.get((task_id, unit_ids.get(unit, 0)), [])),
            )
            for unit in record.lead_units
        )
        tasks.append(TaskInput(record.number, record.original_deadline, deadline, pairs))
    return plan, rule, tasks


def plan_statistics(
    session: Session,
    *,
    plan_id: int,
    zone: ZoneInfo,
    default_day: int,
    as_of: date,
    calendar: WorkingCalendar,
) -> tuple[PlanView, PlanStats]:
    """The plan `plan_id` and its statistics as of local date `as_of` (`jobs.stats.plan_stats`
    over `stats_input`). Raises `LookupError` when there is no such plan."""
    plan, rule, tasks = stats_input(
        session, plan_id=plan_id, zone=zone, default_day=default_day, as_of=as_of
    )
    period = (plan.period_start, plan.period_end)
    return plan, plan_stats(tasks, as_of=as_of, period=period, rule=rule, calendar=calendar)


__all__ = ["completions", "plan_statistics", "reminder_days", "stats_input"]

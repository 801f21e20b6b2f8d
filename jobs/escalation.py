"""Who the follow-up chases beyond reminders: escalations of long-overdue lead units to the
coordinators, and nudges to contacts of units silent in a reporting cycle. Pure functions
of a local date (or instant), a `FollowUpState` and the settings; the shell records and
sends what they return.

Escalation (config `follow_up.escalate_after_working_days`): a lead unit whose task is
overdue by more than that many working days and that has not reported it done is named to
the coordinators once per task, unit and deadline (a new deadline starts a new count).
The leaders' tier (config `follow_up.escalate_leaders_after_working_days`, 0 = off) names
the same cases to the leaders once they are overdue by more than that many working days,
under its own send ledger keys (`leaders_escalation_key`), so each tier fires once.

Nudge (config `follow_up.nudge_after_days`): that many days into a reporting cycle (the
period of the task's plan's rhythm, `jobs.rhythm`; by default the monthly cycle of
`jobs.lights.cycle_start`), each reachable contact of a lead unit that has not reported on
some open task in the cycle is nudged once per cycle, listing those tasks. Tasks of plans
whose cycles start on the same day share one nudge; a contact with silent tasks in cycles
starting on different days gets one nudge per start (the daily message carries one a day,
the next waits for the next working day). A contact who registered after the nudge day was
never asked in this cycle and is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from jobs.calendar import WorkingCalendar
from jobs.lights import LightPolicy, reported_in_cycle, task_cycle_start, working_days_until
from jobs.state import ContactView, FollowUpState, TaskView


@dataclass(frozen=True)
class EscalationCase:
    """A lead unit overdue on a task beyond the threshold and not done.

    `key` identifies the case for the once-only rule; `overdue_days` counts calendar days
    past the deadline at the local date the case was found.
    """

    key: str
    task: TaskView
    unit_id: int
    overdue_days: int


def escalation_key(task: TaskView, unit_id: int) -> str:
    """The send ledger key of an escalation: "escalation:<task id>:<unit id>:<deadline>"."""
    return f"escalation:{task.id}:{unit_id}:{task.deadline}"


def leaders_escalation_key(task: TaskView, unit_id: int) -> str:
    """The send ledger key of the leaders' tier of an escalation:
    "escalation-leaders:<task id>:<unit id>:<deadline>"."""
    return f"escalation-leaders:{task.id}:{unit_id}:{task.deadline}"


def escalation_cases(
    today: date,
    state: FollowUpState,
    calendar: WorkingCalendar,
    *,
    after_working_days: int,
    key: Callable[[TaskView, int], str] = escalation_key,
) -> list[EscalationCase]:
    """The cases to escalate at local date `today`, in task order, each with its send ledger
    key made by `key` (`escalation_key` for the coordinators' tier, `leaders_escalation_key`
    for the leaders'; the caller leaves out those already sent)."""
    overdue_days: dict[date, int] = {}
    cases: list[EscalationCase] = []
    for task in state.tasks:
        if task.deadline >= today:
            continue
        if task.deadline not in overdue_days:
            overdue_days[task.deadline] = working_days_until(
                task.deadline, today, calendar, stop_after=after_working_days
            )
        if overdue_days[task.deadline] <= after_working_days:
            continue
        for unit_id in task.lead_unit_ids:
            if state.unit_claimed(task.id, unit_id):
                continue
            cases.append(
                EscalationCase(key(task, unit_id), task, unit_id, (today - task.deadline).days)
            )
    return cases


@dataclass(frozen=True)
class Nudge:
    """A nudge to one contact: the cycle it belongs to and the task numbers not reported,
    with each task's plan id in `plan_ids` (same order; empty when not known)."""

    key: str
    contact: ContactView
    cycle_start: date
    task_numbers: tuple[int, ...]
    plan_ids: tuple[int, ...] = ()


def nudge_key(contact: ContactView, start: date) -> str:
    """The send ledger key of a nudge: "nudge:<contact id>:<cycle start date>"."""
    return f"nudge:{contact.id}:{start}"


def nudges_due(
    now: datetime,
    state: FollowUpState,
    lights: LightPolicy,
    *,
    nudge_after_days: int,
) -> list[Nudge]:
    """The nudges due at `now` (aware; its local date in `lights.zone` fixes the cycle), each
    with its send ledger key (the caller leaves out those already sent). Empty when
    `nudge_after_days` is 0 or less or the cycle's nudge day has not come. Raises
    `ValueError` if `now` is naive."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if nudge_after_days <= 0:
        return []
    today = now.astimezone(lights.zone).date()
    after = timedelta(days=nudge_after_days)
    # (unit id, cycle start): (number, plan id) of each task
    silent: dict[tuple[int, date], list[tuple[int, int]]] = {}
    for task in state.tasks:
        start = task_cycle_start(task, state, today, lights.cycle_day)
        if today < start + after:
            continue
        for unit_id in task.lead_unit_ids:
            if state.unit_claimed(task.id, unit_id):
                continue
            if reported_in_cycle(task, unit_id, state, today, lights):
                continue
            silent.setdefault((unit_id, start), []).append((task.number, task.plan_id))
    starts = sorted({start for _, start in silent})
    nudges: list[Nudge] = []
    for contact in state.contacts:
        if contact.unreachable_reason is not None:
            continue
        for start in starts:
            tasks = silent.get((contact.unit_id, start))
            if tasks is None:
                continue
            nudge_day = datetime.combine(start + after, time(0), lights.zone)
            if contact.registered_at is not None and contact.registered_at >= nudge_day:
                continue
            nudges.append(
                Nudge(
                    nudge_key(contact, start),
                    contact,
                    start,
                    tuple(number for number, _ in tasks),
                    tuple(plan_id for _, plan_id in tasks),
                )
            )
    return nudges

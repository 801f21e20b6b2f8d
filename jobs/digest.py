"""The digest (督办周报) as data: built from a `FollowUpState` at a fixed instant.

Rendering to Chinese HTML messages is the Telegram layer's job (`bot/render.py`); this module
only decides what the digest says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from db.models import Status
from db.state import FollowUpState, ReportView, TaskView


@dataclass(frozen=True)
class TaskLine:
    """A task in a list of the digest: number, text, deadline and lead unit names."""

    number: int
    text: str
    deadline: date
    lead_units: tuple[str, ...]
    days_left: int  # deadline minus the digest's local date; negative when overdue


@dataclass(frozen=True)
class UnitRow:
    """The latest word of one lead unit on one task: status, note and when (UTC), if any."""

    task_number: int
    unit_name: str
    status: Status
    note: str
    reported_at: datetime | None
    has_contact: bool


@dataclass(frozen=True)
class Digest:
    """Everything one digest says.

    `period_start`/`period_end` are local dates; `counts` counts tasks by aggregated status
    (every status present, zeros included); `rows` has one row per (task, lead unit) in task
    order; `new_reports` are the reports stored during the period.
    """

    plan_title: str
    generated_at: datetime
    period_start: date
    period_end: date
    counts: dict[Status, int]
    overdue: tuple[TaskLine, ...]
    due_soon: tuple[TaskLine, ...]
    no_report: tuple[TaskLine, ...]
    rows: tuple[UnitRow, ...]
    units_without_contact: tuple[str, ...]
    units_unreachable: tuple[str, ...]
    new_reports: tuple[ReportView, ...]
    task_count: int


def _line(task: TaskView, state: FollowUpState, today: date) -> TaskLine:
    return TaskLine(
        number=task.number,
        text=task.text,
        deadline=task.deadline,
        lead_units=tuple(state.units[u].name for u in task.lead_unit_ids if u in state.units),
        days_left=(task.deadline - today).days,
    )


def build_digest(
    now: datetime,
    state: FollowUpState,
    *,
    zone: ZoneInfo,
    since: datetime,
    due_soon_days: int = 14,
) -> Digest:
    """Build the digest at `now` (aware) covering reports since `since` (aware).

    Overdue: deadline before today and not done. Due soon: deadline within `due_soon_days`
    days from today (config `schedule.due_soon_days`) and not done. No report: no lead unit has
    reported anything on the task yet. Units without contact: lead units nobody registered for.
    Unreachable units: lead units whose every contact Telegram refuses to deliver to.
    """
    today = now.astimezone(zone).date()
    counts = dict.fromkeys(Status, 0)
    overdue: list[TaskLine] = []
    due_soon: list[TaskLine] = []
    no_report: list[TaskLine] = []
    rows: list[UnitRow] = []
    with_contact = {c.unit_id for c in state.contacts}
    reachable = {c.unit_id for c in state.contacts if c.unreachable_reason is None}
    lead_ids: dict[int, None] = {}
    for task in state.tasks:
        status = state.task_status(task)
        counts[status] += 1
        line = _line(task, state, today)
        if status is not Status.DONE:
            if line.days_left < 0:
                overdue.append(line)
            elif line.days_left <= due_soon_days:
                due_soon.append(line)
        if not any((task.id, u) in state.latest_report for u in task.lead_unit_ids):
            no_report.append(line)
        for unit_id in task.lead_unit_ids:
            lead_ids[unit_id] = None
            latest = state.latest_report.get((task.id, unit_id))
            rows.append(
                UnitRow(
                    task_number=task.number,
                    unit_name=state.units[unit_id].name,
                    status=state.unit_status(task.id, unit_id),
                    note=latest.note if latest else "",
                    reported_at=latest.created_at if latest else None,
                    has_contact=unit_id in with_contact,
                )
            )
    return Digest(
        plan_title=state.plan_title,
        generated_at=now,
        period_start=since.astimezone(zone).date(),
        period_end=today,
        counts=counts,
        overdue=tuple(sorted(overdue, key=lambda t: (t.days_left, t.number))),
        due_soon=tuple(sorted(due_soon, key=lambda t: (t.days_left, t.number))),
        no_report=tuple(no_report),
        rows=tuple(rows),
        units_without_contact=tuple(state.units[u].name for u in lead_ids if u not in with_contact),
        units_unreachable=tuple(
            state.units[u].name for u in lead_ids if u in with_contact and u not in reachable
        ),
        new_reports=state.recent_reports,
        task_count=len(state.tasks),
    )

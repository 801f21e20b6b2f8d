"""The digest (督办周报) as data: built from a `FollowUpState` at a fixed instant.

Rendering to Chinese HTML messages is the Telegram layer's job (`bot/render.py`); this module
only decides what the digest says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypedDict
from zoneinfo import ZoneInfo

from jobs.calendar import WorkingCalendar
from jobs.lights import (
    Light,
    LightPolicy,
    reported_in_cycle,
    task_light,
    task_rule,
    unit_light,
)
from jobs.review import ReviewState
from jobs.rhythm import period_of
from jobs.state import FollowUpState, ReportView, TaskView
from jobs.types import Rhythm, Status


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
    """The latest word of one lead unit on one task: status, note and when (UTC), if any;
    `occurred_on` the local date of a past record (补录), which it is shown by."""

    task_number: int
    unit_name: str
    status: Status
    note: str
    reported_at: datetime | None
    has_contact: bool
    occurred_on: date | None = None


@dataclass(frozen=True)
class RhythmState:
    """Where a plan's reporting rhythm stands at the digest's date: the rhythm, the current
    period's first day (local), and of the lead units with an open task (one they have not
    reported 已完成), how many reported on every such task in the period (`reported`) out
    of how many (`total`). The others are the digest's `silent` units plus its
    `silent_without_contact` ones: `total - reported == len(silent) + silent_without_contact`."""

    rhythm: Rhythm
    start: date
    reported: int
    total: int


@dataclass(frozen=True)
class Digest:
    """Everything one digest says.

    `period_start`/`period_end` are local dates; the period itself runs from the instant
    `period_since` (aware) to `generated_at`, the next digest's period starting where this
    one ends; `counts` counts tasks by aggregated status
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
    # traffic lights and changes (empty when built without a LightPolicy)
    light_counts: dict[Light, int] = field(default_factory=dict)
    red: tuple[LightLine, ...] = ()
    yellow: tuple[LightLine, ...] = ()
    # unit name, task numbers (未反馈); units with a contact only (others: units_without_contact)
    silent: tuple[tuple[str, tuple[int, ...]], ...] = ()
    period_since: datetime | None = None
    changes: tuple[Change, ...] = ()
    newly_overdue: tuple[TaskLine, ...] = ()
    # member towns of collective units: (task number, collective, towns that reported, members)
    member_rollup: tuple[tuple[int, str, tuple[str, ...], int], ...] = ()
    # main indicators (主要指标) without a value for the last full year: their numbers, the year
    indicators_missing: tuple[int, ...] = ()
    indicators_year: int | None = None
    # the plan's rhythm (None without lights, or when the tasks follow different rhythms)
    rhythm_state: RhythmState | None = None
    # lead units without a contact that have not reported in the cycle (named only under
    # units_without_contact, counted here so that the 未反馈 count adds up)
    silent_without_contact: int = 0
    # the plan's last day, when its period has ended before the digest's date (set by the
    # caller, who knows the plan): the digest then reads as a plan awaiting its evaluation
    period_ended_on: date | None = None
    # completion claims waiting for review (待审核): (task number, lead unit name), task order
    claimed: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class UnitWord:
    """A unit's latest word on a task: its latest status and the note of its latest report;
    `reported` False when it has never reported on the task (nor has anyone for it)."""

    unit_name: str
    status: Status
    note: str
    reported: bool = True


@dataclass(frozen=True)
class LightLine:
    """A task under a red or yellow light: the units that carry the light, and why.
    `deadline` and `days_left` are of the date the light follows (`TaskView.target`: the
    next open yearly milestone's due date when nearer than the deadline).

    `words` has one `UnitWord` per unit in `units`, in the same order."""

    number: int
    text: str
    deadline: date
    units: tuple[str, ...]
    days_left: int
    blocked: bool  # some unit reported 遇到困难
    words: tuple[UnitWord, ...] = ()


@dataclass(frozen=True)
class Change:
    """A report stored during the digest's period; `before` is the unit's status before it.

    `corrected` marks a correction (更正) of an earlier report; a report corrected later in
    the same period is not a change of its own (it appears once, as its correction)."""

    task_number: int
    unit_name: str
    before: Status
    after: Status | None  # None for a note-only report
    note: str
    at: datetime
    corrected: bool = False


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
    lights: LightPolicy | None = None,
    calendar: WorkingCalendar | None = None,
    status_before: dict[tuple[int, int], Status] | None = None,
) -> Digest:
    """Build the digest at `now` (aware) covering reports since `since` (aware).

    Overdue: deadline before today and not done. Due soon: deadline within `due_soon_days`
    days from today (config `schedule.due_soon_days`) and not done. No report: no lead unit has
    reported anything on the task yet. Units without contact: lead units nobody registered for.
    Unreachable units: lead units whose every contact Telegram refuses to deliver to.
    With `lights` and `calendar`: the traffic lights (`jobs.lights`), red tasks (soonest
    overdue first) and yellow tasks (遇到困难 first, then by deadline),
    the units that have not reported within the reporting cycle (未反馈), the reports of the
    period as changes (`status_before`: each (task, unit)'s status at `since`), the tasks
    that became overdue during the period, and how many member towns of each collective unit
    reported in the cycle (`member_rollup`). `claimed` lists the lead units' 已完成 waiting
    for review (待审核), which do not count as done.
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
    claimed: list[tuple[int, str]] = []
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
            if state.review_state(task.id, unit_id) is ReviewState.CLAIMED:
                claimed.append((task.number, state.units[unit_id].name))
            latest = state.latest_report.get((task.id, unit_id))
            rows.append(
                UnitRow(
                    task_number=task.number,
                    unit_name=state.units[unit_id].name,
                    status=state.unit_status(task.id, unit_id),
                    note=latest.note if latest else "",
                    reported_at=latest.created_at if latest else None,
                    has_contact=unit_id in with_contact,
                    occurred_on=latest.occurred_on if latest else None,
                )
            )
    extra: _LightSections = (
        _light_sections(
            state, today, since.astimezone(zone).date(), lights, calendar, status_before
        )
        if lights is not None and calendar is not None
        else {}
    )
    without_contact = tuple(state.units[u].name for u in lead_ids if u not in with_contact)
    if "silent" in extra:  # a unit without a contact is listed once, under 尚无联络员
        with_word = tuple(item for item in extra["silent"] if item[0] not in without_contact)
        extra["silent_without_contact"] = len(extra["silent"]) - len(with_word)
        extra["silent"] = with_word
    return Digest(
        **extra,
        plan_title=state.plan_title,
        generated_at=now,
        period_start=since.astimezone(zone).date(),
        period_end=today,
        period_since=since,
        counts=counts,
        overdue=tuple(sorted(overdue, key=lambda t: (t.days_left, t.number))),
        due_soon=tuple(sorted(due_soon, key=lambda t: (t.days_left, t.number))),
        no_report=tuple(no_report),
        rows=tuple(rows),
        units_without_contact=without_contact,
        units_unreachable=tuple(
            state.units[u].name for u in lead_ids if u in with_contact and u not in reachable
        ),
        new_reports=state.recent_reports,
        task_count=len(state.tasks),
        claimed=tuple(claimed),
    )


def _word(state: FollowUpState, task_id: int, unit_id: int) -> UnitWord:
    latest = state.latest_report.get((task_id, unit_id))
    return UnitWord(
        state.units[unit_id].name,
        state.unit_status(task_id, unit_id),
        latest.note if latest else "",
        reported=latest is not None,
    )


class _LightSections(TypedDict, total=False):
    """`Digest`'s traffic-light fields, as `_light_sections` computes them."""

    light_counts: dict[Light, int]
    red: tuple[LightLine, ...]
    yellow: tuple[LightLine, ...]
    silent: tuple[tuple[str, tuple[int, ...]], ...]
    changes: tuple[Change, ...]
    newly_overdue: tuple[TaskLine, ...]
    member_rollup: tuple[tuple[int, str, tuple[str, ...], int], ...]
    rhythm_state: RhythmState | None
    silent_without_contact: int


def _light_sections(
    state: FollowUpState,
    today: date,
    period_start: date,
    policy: LightPolicy,
    calendar: WorkingCalendar,
    status_before: dict[tuple[int, int], Status] | None,
) -> _LightSections:
    light_counts = dict.fromkeys(Light, 0)
    red: list[LightLine] = []
    yellow: list[LightLine] = []
    silent: dict[int, list[int]] = {}
    open_units: dict[int, None] = {}
    newly_overdue: list[TaskLine] = []
    for task in state.tasks:
        per_unit = {
            u: unit_light(task, u, state, today, policy, calendar) for u in task.lead_unit_ids
        }
        overall = task_light(list(per_unit.values()))
        light_counts[overall] += 1
        blocked = any(state.unit_status(task.id, u) is Status.BLOCKED for u in per_unit)
        target = task.target()  # the lights' date: the next open milestone's, or the deadline
        days_left = (target - today).days
        if overall in (Light.RED, Light.YELLOW):
            carriers = [u for u, light in per_unit.items() if light is overall]
            line = LightLine(
                task.number,
                task.text,
                target,
                tuple(state.units[u].name for u in carriers),
                days_left,
                blocked,
                tuple(_word(state, task.id, u) for u in carriers),
            )
            (red if overall is Light.RED else yellow).append(line)
        for unit_id in task.lead_unit_ids:
            if state.unit_claimed(task.id, unit_id):
                continue
            open_units[unit_id] = None
            if not reported_in_cycle(task, unit_id, state, today, policy):
                silent.setdefault(unit_id, []).append(task.number)
        if state.task_status(task) is not Status.DONE and period_start <= task.deadline < today:
            newly_overdue.append(_line(task, state, today))
    before = dict(status_before or {})
    numbers = {task.id: task.number for task in state.tasks}
    corrected_later = {r.corrects_id for r in state.recent_reports if r.corrects_id is not None}
    before_report: dict[int, Status] = {}  # report id -> its pair's status before it
    changes: list[Change] = []
    for report in state.recent_reports:
        key = (report.task_id, report.unit_id)
        previous = before.get(key, Status.NOT_STARTED)
        if report.corrects_id is not None and report.corrects_id in before_report:
            previous = before_report[report.corrects_id]  # as if the corrected one never was
        before_report[report.id] = previous
        if report.status is not None:
            before[key] = report.status
        if report.id in corrected_later:
            continue
        changes.append(
            Change(
                task_number=numbers.get(report.task_id, 0),
                unit_name=state.units[report.unit_id].name if report.unit_id in state.units else "",
                before=previous,
                after=report.status,
                note=report.note,
                at=report.created_at,
                corrected=report.corrects_id is not None,
            )
        )
    return {
        "light_counts": light_counts,
        "red": tuple(sorted(red, key=lambda line: (line.days_left, line.number))),
        "yellow": tuple(
            sorted(yellow, key=lambda line: (not line.blocked, line.days_left, line.number))
        ),
        "silent": tuple((state.units[u].name, tuple(numbers)) for u, numbers in silent.items()),
        "changes": tuple(changes),
        "newly_overdue": tuple(newly_overdue),
        "member_rollup": member_rollup(state, today, policy),
        "rhythm_state": _rhythm_state(state, today, policy, len(open_units), len(silent)),
    }


def _rhythm_state(
    state: FollowUpState, today: date, policy: LightPolicy, total: int, silent: int
) -> RhythmState | None:
    """The rhythm line of a digest whose tasks all follow one rhythm (one plan's section)."""
    rules = {task_rule(task, state, policy.cycle_day) for task in state.tasks}
    if len(rules) != 1:
        return None
    rule = rules.pop()
    return RhythmState(rule.rhythm, period_of(today, rule).start, total - silent, total)


def member_rollup(
    state: FollowUpState, today: date, policy: LightPolicy
) -> tuple[tuple[int, str, tuple[str, ...], int], ...]:
    """For each task (by number) and each of its collective units that has member towns
    (lead units first, then responsible units, each in document order): (task number,
    collective name, names of the members that reported on the task in the current
    reporting cycle in unit order, number of members).

    "Reported in the cycle" is the traffic lights' rule (`jobs.lights.reported_in_cycle`,
    config `lights.cycle_day`), read from the state: no SQL of its own.
    """
    members: dict[int, list[int]] = {}
    for unit in state.units.values():
        if unit.parent_id is not None:
            members.setdefault(unit.parent_id, []).append(unit.id)
    rows: list[tuple[int, str, tuple[str, ...], int]] = []
    for task in state.tasks:
        for unit_id in (*task.lead_unit_ids, *task.responsible_unit_ids):
            towns = members.get(unit_id)
            if not towns or not state.units[unit_id].is_collective:
                continue
            done = tuple(
                state.units[town].name
                for town in sorted(towns)
                if reported_in_cycle(task, town, state, today, policy)
            )
            rows.append((task.number, state.units[unit_id].name, done, len(towns)))
    return tuple(rows)

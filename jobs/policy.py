"""The reminder and digest policy: pure functions of a fixed instant and a state snapshot.

Nothing here reads the clock, the database or Telegram; tests pass fixed instants.

Reminder occasions of a task, for each lead unit that has not reported it done:
- BEFORE: `deadline - d` for each d in `before_days` (config `schedule.before_days`,
  default 14, 7, 3, 1 days);
- DUE: the deadline day itself (config `schedule.on_the_day`);
- OVERDUE: `deadline + k * overdue_every_days` for k = 1, 2, ... while not done.
An occasion falling on a non-working day goes out on the next working day. Reminders are sent
only on a working day, from `reminder_hour` until `quiet_after_hour` local time. At any instant
only the newest occasion whose day has come is current: an older one not sent in time (the bot
was down) is superseded by it, so each contact gets one reminder per task, late, once.
A task's next open yearly milestone (年度目标, `TaskView.next_milestone`) is reminded like a
deadline of the task: its occasions are computed from its due date in the same way, and the
newer of the milestone's and the deadline's current occasions is the task's current one (the
milestone's on a tie); such a reminder carries the milestone (`DueReminder.milestone`) and
counts its days left to the milestone's due date.
An OVERDUE reminder asks for news of a late task: a unit that reported on the task (a status
or a note) in the current reporting cycle (its plan's rhythm, `jobs.lights.task_rule`; by
default config `follow_up.cycle_day`) has answered it, and gets none until the next cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jobs.calendar import WorkingCalendar, next_working_day
from jobs.lights import rule_began, task_rule
from jobs.state import ContactView, FollowUpState, MilestoneView, TaskView
from jobs.types import ReminderKind, Status


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out. Built from config `[schedule]`; `zone` is an IANA zone."""

    zone: ZoneInfo
    reminder_hour: int = 9
    quiet_after_hour: int = 21
    before_days: tuple[int, ...] = (14, 7, 3, 1)
    on_the_day: bool = True
    overdue_every_days: int = 7
    remind_responsible: bool = False  # also remind 责任单位 and member towns (协办)
    cycle_day: int = 25  # the reporting cycle's first day of the month (config follow_up)


@dataclass(frozen=True)
class Occasion:
    """A reminder occasion: its kind, nominal date, and the working day it is sent on."""

    kind: ReminderKind
    nominal_on: date
    send_on: date
    offset_days: int  # days before the deadline (BEFORE/DUE) or after it (OVERDUE)


@dataclass(frozen=True)
class DueReminder:
    """One reminder to send now: which task, unit and contact, and the ledger key.

    `days_left` is deadline minus today in calendar days (negative when overdue); for a
    reminder of a yearly milestone (`milestone`), its due date minus today.
    """

    key: str
    task: TaskView
    unit_id: int
    contact: ContactView
    occasion: Occasion
    days_left: int
    milestone: MilestoneView | None = None

    @property
    def due_on(self) -> date:
        """The date reminded of: the milestone's due date, else the task's deadline."""
        return self.milestone.due_on if self.milestone is not None else self.task.deadline


def reminder_key(task_id: int, unit_id: int, contact_id: int, occasion: Occasion) -> str:
    """Return the send ledger key
    "reminder:<task id>:<unit id>:<contact id>:<kind>:<nominal date>"."""
    return f"reminder:{task_id}:{unit_id}:{contact_id}:{occasion.kind}:{occasion.nominal_on}"


def current_occasion(
    deadline: date, today: date, policy: ReminderPolicy, calendar: WorkingCalendar
) -> Occasion | None:
    """Return the newest occasion for `deadline` whose send day is on or before `today`.

    None when no occasion has come yet (the deadline is further than the largest offset).
    Among occasions sent on the same day, the one nearest the deadline (or latest overdue) wins.
    """
    nominal: list[tuple[ReminderKind, date, int]] = [
        (ReminderKind.BEFORE, deadline - timedelta(days=d), d) for d in policy.before_days
    ]
    if policy.on_the_day:
        nominal.append((ReminderKind.DUE, deadline, 0))
    if today > deadline:
        step = policy.overdue_every_days
        k = (today - deadline).days // step
        # the last two overdue occasions: the newer may move past today on a holiday
        for j in (k - 1, k):
            if j >= 1:
                nominal.append(
                    (ReminderKind.OVERDUE, deadline + timedelta(days=j * step), j * step)
                )
    best: Occasion | None = None
    for kind, on, offset in nominal:
        if on > today:
            continue
        send_on = next_working_day(calendar, on)
        if send_on > today:
            continue
        candidate = Occasion(kind=kind, nominal_on=on, send_on=send_on, offset_days=offset)
        if best is None or (candidate.send_on, candidate.nominal_on) > (
            best.send_on,
            best.nominal_on,
        ):
            best = candidate
    return best


def sending_allowed(now: datetime, policy: ReminderPolicy, calendar: WorkingCalendar) -> bool:
    """Tell whether reminders may go out at `now` (aware): a working day, within the hours."""
    local = now.astimezone(policy.zone)
    if not calendar.is_working_day(local.date()):
        return False
    return policy.reminder_hour <= local.hour < policy.quiet_after_hour


def reminder_candidates(
    now: datetime,
    state: FollowUpState,
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
    *,
    any_hour: bool = False,
) -> list[DueReminder]:
    """Return the current reminder of every (open task, lead unit, reachable contact) at `now`
    (and of responsible units and member towns too with `policy.remind_responsible`),
    leaving out OVERDUE ones of units that reported on the task in the current cycle.

    Empty outside sending hours or on a non-working day, unless `any_hour` (what would be
    current at `now`'s local date, for dropping a held backlog). The caller drops those
    whose key is already in the ledger.
    Raises `ValueError` if `now` is naive.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not any_hour and not sending_allowed(now, policy, calendar):
        return []
    today = now.astimezone(policy.zone).date()
    latest_report = state.latest_report
    by_unit: dict[int, list[ContactView]] = {}
    for contact in state.contacts:
        if contact.unreachable_reason is None:
            by_unit.setdefault(contact.unit_id, []).append(contact)
    members: dict[int, list[int]] = {}
    if policy.remind_responsible:
        for unit in state.units.values():
            if unit.parent_id is not None:
                members.setdefault(unit.parent_id, []).append(unit.id)
    latest_status = state.latest_status
    done = Status.DONE
    due: list[DueReminder] = []
    append = due.append
    # per deadline: the current occasion and the key's tail "<kind>:<date>", as reminder_key
    # writes it (the loop below runs once per task, unit and contact: tens of thousands)
    occasions: dict[date, tuple[Occasion, str] | None] = {}
    for task in state.tasks:
        found = _occasion_of(task.deadline, occasions, today, policy, calendar)
        milestone = task.next_milestone() if task.milestones else None
        if milestone is not None:
            early = _occasion_of(milestone.due_on, occasions, today, policy, calendar)
            if early is not None and (
                found is None
                or (early[0].send_on, early[0].nominal_on)
                >= (found[0].send_on, found[0].nominal_on)
            ):
                found = early
            else:
                milestone = None
        if found is None:
            continue
        occasion, tail = found
        deadline = milestone.due_on if milestone is not None else task.deadline
        days_left = (deadline - today).days
        units = _units_to_remind(task, members) if policy.remind_responsible else task.lead_unit_ids
        for unit_id in units:
            report = latest_status.get((task.id, unit_id))
            if report is not None and report.status is done:
                continue
            if occasion.kind is ReminderKind.OVERDUE:
                answer = latest_report.get((task.id, unit_id))
                cycle_began = rule_began(
                    today, task_rule(task, state, policy.cycle_day), policy.zone
                )
                if answer is not None and (
                    answer.created_at >= cycle_began
                    if answer.occurred_on is None
                    else answer.occurred_on >= cycle_began.date()
                ):
                    continue
            head = f"reminder:{task.id}:{unit_id}:"
            for contact in by_unit.get(unit_id, ()):
                append(
                    DueReminder(
                        key=f"{head}{contact.id}:{tail}",
                        task=task,
                        unit_id=unit_id,
                        contact=contact,
                        occasion=occasion,
                        days_left=days_left,
                        milestone=milestone,
                    )
                )
    return due


def _occasion_of(
    due: date,
    occasions: dict[date, tuple[Occasion, str] | None],
    today: date,
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
) -> tuple[Occasion, str] | None:
    """The current occasion of a due date and its key's tail, cached in `occasions`."""
    if due not in occasions:
        occasion = current_occasion(due, today, policy, calendar)
        occasions[due] = (
            None
            if occasion is None
            else (occasion, reminder_key(0, 0, 0, occasion).split(":", 4)[4])
        )
    return occasions[due]


def _units_to_remind(task: TaskView, members: dict[int, list[int]]) -> list[int]:
    """The lead units of a task, its responsible units, and the member towns of a
    responsible collective unit (各镇街): everyone a reminder goes to with remind_responsible."""
    units = list(task.lead_unit_ids)
    for unit_id in task.responsible_unit_ids:
        units.append(unit_id)
        units.extend(members.get(unit_id, ()))
    return units


@dataclass(frozen=True)
class DigestSchedule:
    """When the weekly digest goes out: ISO weekday (1 = Monday) and local time, in `zone`."""

    zone: ZoneInfo
    weekday: int = 1
    at: time = time(9, 0)

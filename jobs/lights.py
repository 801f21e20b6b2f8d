"""Traffic lights (红黄绿灯), as supervision offices (督办) use them. Pure functions.

For one lead unit on one task, at local date `today`:
- 🟢 GREEN: the unit reported it done, or reported it in progress within the current
  reporting cycle;
- 🔴 RED: the deadline has passed and the unit has not reported it done;
- 🟡 YELLOW: not done and the deadline is within `yellow_working_days` working days
  (config `follow_up.yellow_working_days`), or the unit's latest status is 遇到困难;
- ⚪ NONE (未反馈): none of the above: an open task the unit has not reported on within the
  current reporting cycle.
Red is checked before yellow, and both before green, so an overdue task is red even if it was
reported in progress yesterday. A task's light is the worst of its lead units' lights, in the
order red, yellow, none, green.

The reporting cycle (config `follow_up.cycle_day`, a day of the month) starts on the most
recent such day on or before today; a report created on or after its start counts for it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jobs.calendar import WorkingCalendar
from jobs.state import FollowUpState, TaskView
from jobs.types import Status


class Light(enum.StrEnum):
    """A traffic light, worst first in `SEVERITY`."""

    RED = "red"
    YELLOW = "yellow"
    NONE = "none"
    GREEN = "green"


SEVERITY = (Light.RED, Light.YELLOW, Light.NONE, Light.GREEN)


@dataclass(frozen=True)
class LightPolicy:
    """Thresholds of the lights (config `[follow_up]`); `zone` is the configured IANA zone."""

    zone: ZoneInfo
    yellow_working_days: int = 10
    cycle_day: int = 25  # day of the month a reporting cycle starts (1-28)


def cycle_start(today: date, cycle_day: int) -> date:
    """The first day of the reporting cycle containing `today` (a day `cycle_day` of a month)."""
    if today.day >= cycle_day:
        return today.replace(day=cycle_day)
    previous = today.replace(day=1) - timedelta(days=1)
    return previous.replace(day=min(cycle_day, previous.day))


def working_days_until(
    today: date, deadline: date, calendar: WorkingCalendar, *, stop_after: int = 400
) -> int:
    """Working days after `today` up to and including `deadline` (0 if the deadline is today
    or past). Counting stops once it exceeds `stop_after` (callers only compare with a
    threshold), and after 400 calendar days in any case."""
    count = 0
    day = today
    for _ in range(min((deadline - today).days, 400)):
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            count += 1
            if count > stop_after:
                break
    return count


def unit_light(
    task: TaskView,
    unit_id: int,
    state: FollowUpState,
    today: date,
    policy: LightPolicy,
    calendar: WorkingCalendar,
) -> Light:
    """The light of one lead unit on one task at local date `today` (rules in the module doc)."""
    status = state.unit_status(task.id, unit_id)
    if status is Status.DONE:
        return Light.GREEN
    if task.deadline < today:
        return Light.RED
    if status is Status.BLOCKED:
        return Light.YELLOW
    days = policy.yellow_working_days
    if working_days_until(today, task.deadline, calendar, stop_after=days) <= days:
        return Light.YELLOW
    latest = state.latest_status.get((task.id, unit_id))
    if status is Status.IN_PROGRESS and latest is not None:
        start = datetime.combine(cycle_start(today, policy.cycle_day), time(0), policy.zone)
        if latest.created_at >= start:
            return Light.GREEN
    return Light.NONE


def task_light(lights: list[Light]) -> Light:
    """The worst of a task's lead-unit lights (GREEN for a task without lead units)."""
    for light in SEVERITY:
        if light in lights:
            return light
    return Light.GREEN


def reported_in_cycle(
    task: TaskView, unit_id: int, state: FollowUpState, today: date, policy: LightPolicy
) -> bool:
    """Whether the unit reported anything (status or note) on the task in the current cycle."""
    latest = state.latest_report.get((task.id, unit_id))
    if latest is None:
        return False
    start = datetime.combine(cycle_start(today, policy.cycle_day), time(0), policy.zone)
    return latest.created_at >= start

"""Traffic lights (红黄绿灯), as supervision offices (督办) use them. Pure functions.

For one lead unit on one task, at local date `today`:
- 🟢 GREEN: the unit reported it done, or reported on it (推进中 or a note) within the
  current reporting cycle without difficulties;
- 🔴 RED: the deadline, or the due date of the task's next open yearly milestone (年度目标,
  `TaskView.target`: the nearer of the two), has passed and the unit has not reported the
  task done;
- 🟡 YELLOW: the unit's latest status is 遇到困难, or that date is within
  `yellow_working_days` working days (config `follow_up.yellow_working_days`) and the unit
  has not reported in the cycle;
- ⚪ NONE (未反馈): an open task the unit has not reported on within the current reporting
  cycle, its deadline further away.
The checks run in that order after DONE: red, 遇到困难, reported in the cycle (green), near
deadline (yellow), else none. So an overdue task is red even if it was reported in progress
yesterday, and a 推进中 report in the cycle turns a task green even close to its deadline
(the digest's legend says so in one line). Every yellow or none unit that is not 遇到困难 has
not reported in the cycle, so it is also listed 未反馈. A task's light is the worst of its lead
units' lights, in the order red, yellow, none, green.

The reporting cycle of a task is the period of its plan's rhythm containing today
(`jobs.rhythm`; a plan without a rhythm: the configured monthly cycle, config
`follow_up.cycle_day`, which starts on the most recent such day on or before today); a report
whose effective date (its creation, or a past record's `occurred_on`) is on or after its
start counts for it.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jobs.calendar import WorkingCalendar
from jobs.rhythm import Rule, period_of, rule_of
from jobs.state import FollowUpState, TaskView
from jobs.types import Rhythm, Status


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


def task_rule(task: TaskView, state: FollowUpState, default_day: int) -> Rule:
    """The reporting rhythm of the task's plan (`jobs.rhythm.rule_of`): the configured
    monthly cycle on `default_day` for a plan without one or a plan the state does not know."""
    plan = state.plans.get(task.plan_id)
    if plan is None:
        return Rule(Rhythm.MONTHLY, default_day)
    return rule_of(plan.rhythm, plan.rhythm_day, default_day)


def task_cycle_start(task: TaskView, state: FollowUpState, today: date, default_day: int) -> date:
    """The first day of the task's reporting cycle containing `today` (its plan's rhythm)."""
    return period_of(today, task_rule(task, state, default_day)).start


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
    if state.unit_claimed(task.id, unit_id):  # accepted, or waiting for review (待审核)
        return Light.GREEN
    target = task.target()
    if target < today:
        return Light.RED
    if status is Status.BLOCKED:
        return Light.YELLOW
    if reported_in_cycle(task, unit_id, state, today, policy):
        return Light.GREEN
    days = policy.yellow_working_days
    if working_days_until(today, target, calendar, stop_after=days) <= days:
        return Light.YELLOW
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
    """Whether the unit reported anything (status or note) on the task in the current cycle,
    judged by the report's effective date: a past record (补录) counts on the day it happened
    (`occurred_on`), not on the day it was entered."""
    latest = state.latest_report.get((task.id, unit_id))
    if latest is None:
        return False
    rule = task_rule(task, state, policy.cycle_day)
    if latest.occurred_on is not None:
        return latest.occurred_on >= period_of(today, rule).start
    return latest.created_at >= rule_began(today, rule, policy.zone)


def cycle_began(today: date, cycle_day: int, zone: ZoneInfo) -> datetime:
    """The instant (aware, midnight in `zone`) the monthly reporting cycle containing `today`
    began."""
    return rule_began(today, Rule(Rhythm.MONTHLY, cycle_day), zone)


@functools.lru_cache(maxsize=64)
def rule_began(today: date, rule: Rule, zone: ZoneInfo) -> datetime:
    """The instant (aware, midnight in `zone`) the period of `rule` containing `today` began.
    Cached: the lights and the nudges ask it once per task and unit, tens of thousands of
    times a tick at the province's scale, always for the same day."""
    return datetime.combine(period_of(today, rule).start, time(0), zone)

"""Tests of yearly milestones (年度目标) in the reminder policy and the lights, at fixed
local dates in Asia/Shanghai on a Monday-Friday calendar. Expectations by hand.

Task 1 is due 2026-12-31 (a Thursday) and led by unit 1, with a milestone due Friday
2026-06-26. The default occasions are 14, 7, 3 and 1 days before, the day itself, and every
7 days after."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import render
from jobs.calendar import WeekdayCalendar
from jobs.digest import build_digest
from jobs.lights import Light, LightPolicy, unit_light
from jobs.policy import ReminderPolicy, reminder_candidates
from jobs.state import ContactView, FollowUpState, MilestoneView, ReportView, TaskView, UnitView
from jobs.types import ReminderKind, Status

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = WeekdayCalendar()
POLICY = ReminderPolicy(zone=SHANGHAI)
LIGHTS = LightPolicy(zone=SHANGHAI, yellow_working_days=10, cycle_day=25)
GOAL = MilestoneView(7, date(2026, 6, 26), "完成年度培训200人次")


def state(*milestones: MilestoneView, reports: tuple[ReportView, ...] = ()) -> FollowUpState:
    return FollowUpState(
        tasks=(
            TaskView(1, 1, "开展职业技能培训", date(2026, 12, 31), (1,), milestones=milestones),
        ),
        units={1: UnitView(1, "区人力社保局")},
        contacts=(ContactView(11, 1, 11, 11, "联络员"),),
        latest_status={(r.task_id, r.unit_id): r for r in reports if r.status is not None},
        latest_report={(r.task_id, r.unit_id): r for r in reports},
    )


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("when", "kind", "nominal", "days_left"),
    [
        (at(2026, 6, 12), ReminderKind.BEFORE, date(2026, 6, 12), 14),
        (at(2026, 6, 19), ReminderKind.BEFORE, date(2026, 6, 19), 7),
        (at(2026, 6, 26), ReminderKind.DUE, date(2026, 6, 26), 0),
        (at(2026, 7, 3), ReminderKind.OVERDUE, date(2026, 7, 3), -7),
    ],
)
def test_an_open_milestone_is_reminded_like_a_deadline(
    when: datetime, kind: ReminderKind, nominal: date, days_left: int
) -> None:
    [due] = reminder_candidates(when, state(GOAL), POLICY, CAL)
    assert due.milestone == GOAL
    assert (due.occasion.kind, due.occasion.nominal_on, due.days_left) == (kind, nominal, days_left)
    assert due.due_on == date(2026, 6, 26)
    assert due.key == f"reminder:1:1:11:{kind}:{nominal}"


def test_without_a_milestone_nothing_is_due_in_june() -> None:
    assert reminder_candidates(at(2026, 6, 19), state(), POLICY, CAL) == []


def test_a_closed_milestone_is_no_longer_reminded_and_the_deadline_takes_over() -> None:
    closed = MilestoneView(7, date(2026, 6, 26), "完成年度培训200人次", date(2026, 6, 20))
    assert reminder_candidates(at(2026, 7, 3), state(closed), POLICY, CAL) == []
    [due] = reminder_candidates(at(2026, 12, 17), state(closed), POLICY, CAL)
    assert due.milestone is None and due.days_left == 14


def test_the_deadlines_newer_occasion_wins_over_an_older_milestone_one() -> None:
    # a milestone two days before the deadline: on 2026-12-17 the deadline's 14-days-before
    # occasion is current, the milestone's (due 12-29) 14-days-before came on 12-15
    late = MilestoneView(8, date(2026, 12, 29), "年底前验收")
    [due] = reminder_candidates(at(2026, 12, 17), state(late), POLICY, CAL)
    assert due.milestone is None and due.occasion.nominal_on == date(2026, 12, 17)


def test_a_done_unit_gets_no_milestone_reminder() -> None:
    done = ReportView(1, 1, 1, Status.DONE, "", at(2026, 6, 1))
    assert reminder_candidates(at(2026, 6, 19), state(GOAL, reports=(done,)), POLICY, CAL) == []


@pytest.mark.parametrize(
    ("today", "light"),
    [
        (date(2026, 6, 1), Light.NONE),  # 19 working days to the milestone
        (date(2026, 6, 15), Light.YELLOW),  # 9 working days to the milestone
        (date(2026, 6, 29), Light.RED),  # the milestone passed, open
    ],
)
def test_the_light_follows_the_nearer_milestone(today: date, light: Light) -> None:
    st = state(GOAL)
    assert unit_light(st.tasks[0], 1, st, today, LIGHTS, CAL) is light
    plain = state()
    assert unit_light(plain.tasks[0], 1, plain, today, LIGHTS, CAL) is Light.NONE


def test_a_closed_milestone_no_longer_colours_the_light() -> None:
    closed = MilestoneView(7, date(2026, 6, 26), "完成年度培训200人次", date(2026, 6, 20))
    st = state(closed)
    assert unit_light(st.tasks[0], 1, st, date(2026, 6, 29), LIGHTS, CAL) is Light.NONE


def test_the_reminder_names_the_milestone() -> None:
    st = state(GOAL)
    [due] = reminder_candidates(at(2026, 6, 19), st, POLICY, CAL)
    text = render.reminder_text(due, st.units)
    assert "年度目标：完成年度培训200人次，2026年6月26日前完成（还有7天）" in text
    assert "完成时限：2026年12月31日（还有195天）" in text


def test_the_digests_red_line_counts_from_the_open_milestone() -> None:
    st = state(GOAL)
    digest = build_digest(
        at(2026, 6, 29),
        st,
        zone=SHANGHAI,
        since=at(2026, 6, 22),
        lights=LIGHTS,
        calendar=CAL,
    )
    [line] = digest.red
    assert (line.number, line.deadline, line.days_left) == (1, date(2026, 6, 26), -3)

"""Tests of the one-message-a-day grouping (jobs/daily.py) and of the schedule preview of
messages (jobs.schedule.preview_messages), at fixed instants on the official calendar."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.schedule_view import render_schedule
from jobs.calendar import OfficialCalendar
from jobs.daily import (
    coordinators_key,
    daily_key,
    daily_messages,
    escalation_day,
    split_daily,
)
from jobs.escalation import Nudge, escalation_cases, leaders_escalation_key, nudges_due
from jobs.lights import LightPolicy
from jobs.policy import DigestSchedule, ReminderPolicy, reminder_candidates
from jobs.schedule import preview_messages
from jobs.state import ContactView, FollowUpState, ReportView, TaskView, UnitView
from jobs.types import Status

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = ReminderPolicy(zone=SHANGHAI)
WEEKLY = DigestSchedule(zone=SHANGHAI)
CALENDAR = OfficialCalendar()

CANLIAN, MINZHENG, CAIZHENG = 1, 2, 3
UNITS = {
    CANLIAN: UnitView(CANLIAN, "区残联"),
    MINZHENG: UnitView(MINZHENG, "区民政局"),
    CAIZHENG: UnitView(CAIZHENG, "区财政局"),
}
WANG = ContactView(7, CANLIAN, 7007, 7007, "王芳")
LI = ContactView(8, MINZHENG, 8008, 8008, "李明")
ZHAO = ContactView(9, MINZHENG, 9009, 9009, "赵强")


def plan(deadline: date, *, canlian_tasks: int = 19) -> FollowUpState:
    """区残联 leads `canlian_tasks` tasks (numbers 1..), 区民政局 two more (one with 区财政局,
    which has no contact), all due on `deadline`."""
    tasks = [TaskView(100 + n, n, f"任务{n}", deadline, (CANLIAN,)) for n in range(1, 20)][
        :canlian_tasks
    ]
    tasks.append(TaskView(200, 20, "任务20", deadline, (MINZHENG,)))
    tasks.append(TaskView(201, 21, "任务21", deadline, (MINZHENG, CAIZHENG)))
    return FollowUpState(tasks=tuple(tasks), units=UNITS, contacts=(WANG, LI, ZHAO))


def local(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=SHANGHAI)


# ---------------------------------------------------------------- contacts' messages


def test_one_message_per_contact_listing_every_task_in_order() -> None:
    state = plan(date(2026, 12, 31))
    now = local(2026, 12, 17)  # 14 days before: every task's reminder is due
    due = reminder_candidates(now, state, POLICY, CALENDAR)
    assert len(due) == 19 + 2 * 2  # 区残联 19; 区民政局's two tasks to its two contacts
    messages = daily_messages(now.date(), reversed(due))
    assert [m.contact.id for m in messages] == [ZHAO.id, LI.id, WANG.id]  # first item first
    wang = next(m for m in messages if m.contact == WANG)
    assert [r.task.number for r in wang.reminders] == list(range(1, 20))
    assert wang.key == daily_key(WANG.id, date(2026, 12, 17)) == "daily:7:2026-12-17"
    assert wang.single is None and wang.item_keys == [r.key for r in wang.reminders]
    li = next(m for m in messages if m.contact == LI)
    assert [r.task.number for r in li.reminders] == [20, 21]
    assert sorted(k for m in messages for k in m.item_keys) == sorted(d.key for d in due)


def test_a_long_message_is_split_into_parts_of_at_most_per_part_tasks() -> None:
    state = plan(date(2026, 12, 31))
    now = local(2026, 12, 17)
    due = reminder_candidates(now, state, POLICY, CALENDAR)
    [wang] = [m for m in daily_messages(now.date(), due) if m.contact == WANG]
    assert split_daily(wang) == [wang]  # 19 tasks: one part, the message itself
    parts = split_daily(wang, per_part=8)
    assert [[r.task.number for r in p.reminders] for p in parts] == [
        list(range(1, 9)),
        list(range(9, 17)),
        [17, 18, 19],
    ]
    assert [(p.part, p.parts, p.reminder_count, p.key) for p in parts] == [
        (i, 3, 19, wang.key) for i in (1, 2, 3)
    ]
    assert all(p.single is None for p in split_daily(wang, per_part=1))  # parts list tasks
    nudged = replace(wang, nudge=Nudge("nudge:7:2026-12-01", WANG, date(2026, 12, 1), (1, 2)))
    assert [p.nudge is not None for p in split_daily(nudged, per_part=8)] == [False, False, True]


def test_a_contact_already_messaged_today_gets_nothing_more() -> None:
    state = plan(date(2026, 12, 31))
    now = local(2026, 12, 17)
    due = reminder_candidates(now, state, POLICY, CALENDAR)
    messages = daily_messages(now.date(), due, messaged={WANG.id, LI.id})
    assert [m.contact for m in messages] == [ZHAO]


def test_a_single_reminder_and_a_nudge_are_one_message() -> None:
    state = plan(date(2026, 2, 6), canlian_tasks=1)
    now = local(2026, 2, 5)  # 1 day before; the cycle from 2026-01-25 is 11 days old
    due = [r for r in reminder_candidates(now, state, POLICY, CALENDAR) if r.contact == WANG]
    nudges = nudges_due(now, state, LightPolicy(zone=SHANGHAI), nudge_after_days=10)
    assert {n.contact for n in nudges} == {WANG, LI, ZHAO}
    messages = daily_messages(now.date(), due, nudges)
    assert len(messages) == 3  # the nudges of 李明 and 赵强 are messages of their own
    wang = next(m for m in messages if m.contact == WANG)
    assert wang.single is not None and wang.single.task.number == 1
    assert wang.nudge is not None and wang.item_keys[-1] == wang.nudge.key
    li = next(m for m in messages if m.contact == LI)
    assert li.reminders == () and li.single is None and li.nudge is not None


# ---------------------------------------------------------------- escalations


def test_escalations_are_one_message_grouped_by_unit() -> None:
    state = plan(date(2026, 11, 30))
    today = date(2026, 12, 10)  # 8 working days after the deadline
    cases = escalation_cases(today, state, CALENDAR, after_working_days=5)
    assert len(cases) == 19 + 2 + 1
    day = escalation_day(today, list(reversed(cases)), state)
    assert day is not None and day.key == coordinators_key(today) == "coordinators:2026-12-10"
    assert [g.unit_id for g in day.units] == [CANLIAN, MINZHENG]
    assert [c.task.number for c in day.units[0].cases] == list(range(1, 20))
    assert [(g.unit_id, [c.task.number for c in g.cases]) for g in day.without_contact] == [
        (CAIZHENG, [21])
    ]
    assert sorted(c.key for c in day.cases) == sorted(c.key for c in cases)
    assert escalation_day(today, [], state) is None


def test_a_unit_whose_contacts_are_unreachable_counts_as_without_contact() -> None:
    state = plan(date(2026, 11, 30))
    blocked = ContactView(7, CANLIAN, 7007, 7007, "王芳", unreachable_reason="blocked")
    state = FollowUpState(tasks=state.tasks, units=UNITS, contacts=(blocked, LI))
    today = date(2026, 12, 10)
    day = escalation_day(
        today, escalation_cases(today, state, CALENDAR, after_working_days=5), state
    )
    assert day is not None
    assert {g.unit_id for g in day.without_contact} == {CANLIAN, CAIZHENG}


# ---------------------------------------------------------------- the preview of messages


def test_preview_has_one_message_per_contact_a_day_and_one_escalation_a_day() -> None:
    state = plan(date(2026, 12, 10))
    done = ReportView(1, 101, CANLIAN, Status.DONE, "完成", datetime(2026, 12, 1, tzinfo=UTC))
    state = FollowUpState(
        tasks=state.tasks, units=UNITS, contacts=state.contacts, latest_status={(101, 1): done}
    )
    planned = preview_messages(
        date(2026, 11, 26),
        date(2026, 12, 31),
        state,
        POLICY,
        WEEKLY,
        CALENDAR,
        escalate_after_working_days=5,
    )
    per_day = Counter((m.date, m.contact) for m in planned if m.kind == "reminders")
    assert set(per_day.values()) == {1}
    # 14, 7, 3, 1 days before, the day, 7, 14 days after: 区残联's 18 open tasks in each
    wang = [m for m in planned if m.contact == WANG.id]
    assert [m.date for m in wang] == [
        date(2026, 11, 26),
        date(2026, 12, 3),
        date(2026, 12, 7),
        date(2026, 12, 9),
        date(2026, 12, 10),
        date(2026, 12, 17),
        date(2026, 12, 24),
        date(2026, 12, 31),
    ]
    assert all([p.task for p in m.sends] == list(range(2, 20)) for m in wang)
    assert all(m.to == "王芳" and m.unit == "区残联" for m in wang)
    # 区财政局 has no contact: its reminders are listed as not sent, one entry a day
    undelivered = [m for m in planned if m.kind == "undelivered"]
    assert len({m.date for m in undelivered}) == len(undelivered) == 8
    assert all([p.unit for p in m.sends] == ["区财政局"] for m in undelivered)
    # escalations: once, on the 6th working day after the deadline (2026-12-18)
    [escalation] = [m for m in planned if m.kind == "escalation"]
    assert escalation.date == date(2026, 12, 18)
    assert len(escalation.escalated) == 18 + 2 + 1
    assert escalation.without_contact == ("区财政局",)
    # digests on Mondays; everything sorted by day
    assert [m.date.weekday() for m in planned if m.kind == "digest"] == [0] * 5
    assert [m.date for m in planned] == sorted(m.date for m in planned)


def test_preview_leaves_out_escalations_already_sent_and_without_coordinators() -> None:
    state = plan(date(2026, 11, 30))
    today = date(2026, 12, 10)
    sent = {c.key for c in escalation_cases(today, state, CALENDAR, after_working_days=5)}
    sent.discard("escalation:200:2:2026-11-30")  # 区民政局's task 20 was not escalated yet
    planned = preview_messages(
        today,
        today + timedelta(days=7),
        state,
        POLICY,
        None,
        CALENDAR,
        escalate_after_working_days=5,
        escalated=sent,
    )
    [escalation] = [m for m in planned if m.kind == "escalation"]
    assert (escalation.date, escalation.escalated) == (today, ((20, "区民政局"),))
    none = preview_messages(today, today, state, POLICY, None, CALENDAR)
    assert [m for m in none if m.kind == "escalation"] == []


def test_a_held_follow_up_previews_no_overdue_reminder_escalation_or_digest() -> None:
    state = plan(date(2026, 12, 10))
    args = (date(2026, 11, 26), date(2026, 12, 31), state, POLICY, WEEKLY, CALENDAR)
    free = preview_messages(*args, escalate_after_working_days=5)
    held = preview_messages(*args, escalate_after_working_days=5, held=True)
    assert {m.kind for m in free} >= {"reminders", "escalation", "digest"}
    assert {m.kind for m in held} == {"reminders", "undelivered"}
    # reminders before and on the deadline still go out; overdue ones wait
    kinds = {p.kind for m in held for p in m.sends}
    assert kinds == {"before", "due"}
    assert [m.date for m in held if m.contact == WANG.id][-1] == date(2026, 12, 10)
    assert "督办暂停中" in render_schedule(held, held=True).splitlines()[0]
    assert "督办暂停中" not in render_schedule(free)


def test_a_nudge_names_its_tasks_by_plan_when_several_plans_are_active() -> None:
    from bot.render import nudge_tasks

    nudge = Nudge("nudge:7:2026-12-01", WANG, date(2026, 12, 1), (2, 5, 2, 3), (1, 1, 2, 2))
    assert nudge_tasks(nudge) == "第2、5、2、3项"
    tags = {1: "【十四五】", 2: "【十五五】"}
    assert nudge_tasks(nudge, tags) == "【十四五】第2、5项、【十五五】第2、3项"
    state = plan(date(2026, 2, 6), canlian_tasks=1)
    nudges = nudges_due(local(2026, 2, 5), state, LightPolicy(zone=SHANGHAI), nudge_after_days=10)
    assert all(len(n.plan_ids) == len(n.task_numbers) for n in nudges)


def test_preview_has_the_leaders_tier_once_after_its_own_threshold() -> None:
    state = plan(date(2026, 12, 10))
    args = (date(2026, 12, 10), date(2027, 1, 31), state, POLICY, None, CALENDAR)
    planned = preview_messages(
        *args, escalate_after_working_days=5, escalate_leaders_after_working_days=10
    )
    coordinators = [m for m in planned if m.kind == "escalation" and m.to is None]
    leaders = [m for m in planned if m.kind == "escalation" and m.to == "leaders"]
    assert [m.date for m in coordinators] == [date(2026, 12, 18)]  # 6th working day after
    assert [m.date for m in leaders] == [date(2026, 12, 25)]  # 11th working day after
    assert leaders[0].escalated == coordinators[0].escalated
    sent = {
        c.key
        for c in escalation_cases(
            date(2026, 12, 25),
            state,
            CALENDAR,
            after_working_days=10,
            key=leaders_escalation_key,
        )
    }
    again = preview_messages(
        *args,
        escalate_after_working_days=5,
        escalate_leaders_after_working_days=10,
        escalated=sent,
    )
    assert [m.to for m in again if m.kind == "escalation"] == [None]
    off = preview_messages(*args, escalate_after_working_days=5)
    assert [m.to for m in off if m.kind == "escalation"] == [None]

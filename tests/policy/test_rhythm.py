"""Tests of a plan's reporting rhythm (jobs/rhythm.py) and how the lights, the overdue
reminders, the nudges and the digest follow it, at fixed local dates in Asia/Shanghai on a
Monday-Friday calendar. Expectations are written by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.render import short_digest_lines
from jobs.calendar import WeekdayCalendar
from jobs.digest import RhythmState, build_digest
from jobs.escalation import nudges_due
from jobs.lights import Light, LightPolicy, reported_in_cycle, unit_light
from jobs.plans import PlanView
from jobs.policy import ReminderPolicy, reminder_candidates
from jobs.rhythm import Period, Rule, check_day, next_period, parse_rhythm, period_of, rule_of
from jobs.state import ContactView, FollowUpState, ReportView, TaskView, UnitView
from jobs.types import ReminderKind, Rhythm

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = WeekdayCalendar()
LIGHTS = LightPolicy(zone=SHANGHAI, cycle_day=25)
Q25 = Rule(Rhythm.QUARTERLY, 25)


@pytest.mark.parametrize(
    ("today", "rule", "start", "end"),
    [
        (date(2026, 12, 6), Rule(Rhythm.MONTHLY, 25), date(2026, 11, 25), date(2026, 12, 24)),
        (date(2026, 12, 25), Rule(Rhythm.MONTHLY, 25), date(2026, 12, 25), date(2027, 1, 24)),
        (date(2026, 1, 3), Rule(Rhythm.MONTHLY, 5), date(2025, 12, 5), date(2026, 1, 4)),
        (date(2026, 12, 6), Q25, date(2026, 10, 25), date(2027, 1, 24)),
        (date(2026, 1, 24), Q25, date(2025, 10, 25), date(2026, 1, 24)),
        (date(2026, 1, 25), Q25, date(2026, 1, 25), date(2026, 4, 24)),
        (date(2026, 4, 25), Q25, date(2026, 4, 25), date(2026, 7, 24)),
        (date(2026, 7, 1), Rule(Rhythm.QUARTERLY, 1), date(2026, 7, 1), date(2026, 9, 30)),
        (date(2026, 6, 30), Rule(Rhythm.HALF_YEARLY, 1), date(2026, 1, 1), date(2026, 6, 30)),
        (date(2026, 12, 6), Rule(Rhythm.HALF_YEARLY, 10), date(2026, 7, 10), date(2027, 1, 9)),
        (date(2026, 3, 1), Rule(Rhythm.HALF_YEARLY, 10), date(2026, 1, 10), date(2026, 7, 9)),
    ],
)
def test_the_period_containing_a_date(today: date, rule: Rule, start: date, end: date) -> None:
    assert period_of(today, rule) == Period(rule.rhythm, start, end)


def test_the_next_period_follows_without_gap() -> None:
    period = period_of(date(2026, 12, 6), Q25)
    assert next_period(period, Q25) == Period(
        Rhythm.QUARTERLY, date(2027, 1, 25), date(2027, 4, 24)
    )


def test_a_plan_without_a_rhythm_follows_the_configured_monthly_cycle() -> None:
    assert rule_of(None, None, 25) == Rule(Rhythm.MONTHLY, 25)
    assert rule_of(None, 10, 25) == Rule(Rhythm.MONTHLY, 25)  # a day alone means nothing
    assert rule_of(Rhythm.QUARTERLY, None, 25) == Q25
    assert rule_of(Rhythm.HALF_YEARLY, 1, 25) == Rule(Rhythm.HALF_YEARLY, 1)


@pytest.mark.parametrize("day", [0, 29, 31, -1, True])
def test_a_rhythm_day_outside_1_to_28_is_refused(day: int) -> None:
    with pytest.raises(ValueError):
        check_day(day)
    with pytest.raises(ValueError):
        period_of(date(2026, 1, 1), Rule(Rhythm.MONTHLY, day))


@pytest.mark.parametrize(
    ("word", "rhythm"),
    [
        ("quarterly", Rhythm.QUARTERLY),
        (" Quarterly ", Rhythm.QUARTERLY),
        ("季度", Rhythm.QUARTERLY),
        ("每季度", Rhythm.QUARTERLY),
        ("月度", Rhythm.MONTHLY),
        ("半年", Rhythm.HALF_YEARLY),
        ("half_yearly", Rhythm.HALF_YEARLY),
    ],
)
def test_rhythm_words(word: str, rhythm: Rhythm) -> None:
    assert parse_rhythm(word) is rhythm


def test_an_unknown_rhythm_word_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_rhythm("每周")


# ---------------------------------------------------------------- the follow-up by rhythm


def plan(pid: int, rhythm: Rhythm | None, day: int | None = None) -> PlanView:
    return PlanView(
        id=pid,
        title=f"规划{pid}",
        document_number=f"文号{pid}",
        short_name=f"简称{pid}",
        issued_on=date(2026, 1, 1),
        period_start=date(2026, 1, 1),
        period_end=date(2030, 12, 31),
        rhythm=rhythm,
        rhythm_day=day,
    )


def contact(cid: int, unit_id: int) -> ContactView:
    return ContactView(cid, unit_id, cid, cid, f"联络员{cid}")


def note(task_id: int, unit_id: int, at: datetime) -> ReportView:
    return ReportView(task_id * 10 + unit_id, task_id, unit_id, None, "进展", at)


def state(*reports: ReportView) -> FollowUpState:
    """Task 1 of plan 1 (monthly, the configured cycle) and task 2 of plan 2 (quarterly from
    day 25), both led by units 1 and 2 and due 2030-12-31; one contact per unit."""
    return FollowUpState(
        tasks=(
            TaskView(1, 1, "任务一", date(2030, 12, 31), (1, 2), plan_id=1),
            TaskView(2, 1, "任务甲", date(2030, 12, 31), (1, 2), plan_id=2),
        ),
        units={1: UnitView(1, "单位一"), 2: UnitView(2, "单位二")},
        contacts=(contact(11, 1), contact(12, 2)),
        latest_report={(r.task_id, r.unit_id): r for r in reports},
        plans={1: plan(1, None), 2: plan(2, Rhythm.QUARTERLY, 25)},
    )


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def test_a_report_counts_for_its_plans_period() -> None:
    # reported on 2026-11-10: before the monthly cycle from 2026-11-25, within the quarter
    # from 2026-10-25
    st = state(note(1, 1, at(date(2026, 11, 10))), note(2, 1, at(date(2026, 11, 10))))
    today = date(2026, 12, 6)
    monthly, quarterly = st.tasks
    assert not reported_in_cycle(monthly, 1, st, today, LIGHTS)
    assert reported_in_cycle(quarterly, 1, st, today, LIGHTS)
    assert unit_light(monthly, 1, st, today, LIGHTS, CAL) is Light.NONE
    assert unit_light(quarterly, 1, st, today, LIGHTS, CAL) is Light.GREEN
    # a report of 2026-10-24 is of the quarter before
    old = state(note(2, 1, at(date(2026, 10, 24))))
    assert not reported_in_cycle(old.tasks[1], 1, old, today, LIGHTS)


def test_nudges_follow_each_plans_period() -> None:
    st = state(note(2, 1, at(date(2026, 11, 10))))
    # 2026-12-06: the monthly cycle from 2026-11-25 is 11 days old, the quarter from
    # 2026-10-25 42 days: both nudge days have come; unit 1 reported in the quarter
    found = nudges_due(at(date(2026, 12, 6)).astimezone(UTC), st, LIGHTS, nudge_after_days=7)
    assert sorted((n.contact.id, n.cycle_start, n.task_numbers, n.plan_ids) for n in found) == [
        (11, date(2026, 11, 25), (1,), (1,)),
        (12, date(2026, 10, 25), (1,), (2,)),
        (12, date(2026, 11, 25), (1,), (1,)),
    ]
    # 2026-10-30: the quarter and the monthly cycle both began on 2026-10-25, 5 days ago:
    # no nudge is due yet
    assert nudges_due(at(date(2026, 10, 30)).astimezone(UTC), st, LIGHTS, nudge_after_days=7) == []
    # 2027-01-04: monthly cycle from 2026-12-25 due; the quarter from 2026-10-25 still due
    # for unit 2 (not reported), once per quarter: its key is the same as on 2026-12-06
    later = nudges_due(at(date(2027, 1, 4)).astimezone(UTC), st, LIGHTS, nudge_after_days=7)
    assert {n.key for n in later if 2 in n.plan_ids} == {"nudge:12:2026-10-25"}


def test_the_digest_shows_the_rhythms_state() -> None:
    # plan 2's section on 2026-12-07: unit 1 reported in the quarter, unit 2 did not
    st = state(note(2, 1, at(date(2026, 11, 10)))).for_plan(2)
    digest = build_digest(
        at(date(2026, 12, 7)),
        st,
        zone=SHANGHAI,
        since=at(date(2026, 11, 30)),
        lights=LIGHTS,
        calendar=CAL,
    )
    assert digest.rhythm_state == RhythmState(Rhythm.QUARTERLY, date(2026, 10, 25), 1, 2)
    assert [name for name, _ in digest.silent] == ["单位二"]
    lines = short_digest_lines(digest, SHANGHAI)
    assert (
        "<b>📭 本季度（2026年10月25日起）1/2 个牵头单位已反馈全部在办任务；"
        "本周期未反馈的单位（1个）</b>" in lines
    )
    monthly = build_digest(
        at(date(2026, 12, 7)),
        state(note(1, 1, at(date(2026, 11, 10)))).for_plan(1),
        zone=SHANGHAI,
        since=at(date(2026, 11, 30)),
        lights=LIGHTS,
        calendar=CAL,
    )
    assert monthly.rhythm_state == RhythmState(Rhythm.MONTHLY, date(2026, 11, 25), 0, 2)
    assert [name for name, _ in monthly.silent] == ["单位一", "单位二"]


def test_the_rhythm_count_adds_up_with_the_units_it_lists() -> None:
    # unit 2 has no contact: it is named under 尚无联络员, and counted among the silent here
    st = replace(state(note(2, 1, at(date(2026, 11, 10)))), contacts=(contact(11, 1),))
    digest = build_digest(
        at(date(2026, 12, 7)),
        st.for_plan(2),
        zone=SHANGHAI,
        since=at(date(2026, 11, 30)),
        lights=LIGHTS,
        calendar=CAL,
    )
    rhythm = digest.rhythm_state
    assert rhythm is not None and (rhythm.reported, rhythm.total) == (1, 2)
    assert digest.silent == () and digest.silent_without_contact == 1
    assert rhythm.total - rhythm.reported == len(digest.silent) + digest.silent_without_contact
    text = "\n".join(short_digest_lines(digest, SHANGHAI))
    assert "1/2 个牵头单位已反馈全部在办任务；本周期未反馈的单位（1个）" in text
    assert "另1个尚无联络员的单位（见下）" in text
    assert "尚无联络员的牵头单位（1个）" in text and "单位二" in text


def test_a_digest_of_a_plan_whose_period_ended_reads_as_awaiting_evaluation() -> None:
    ended = replace(
        state(),
        tasks=(TaskView(1, 1, "任务一", date(2025, 6, 30), (1, 2), plan_id=1),),
    ).for_plan(1)
    digest = replace(
        build_digest(
            at(date(2026, 12, 7)),
            ended,
            zone=SHANGHAI,
            since=at(date(2026, 11, 30)),
            lights=LIGHTS,
            calendar=CAL,
        ),
        period_ended_on=date(2025, 12, 31),
    )
    text = "\n".join(short_digest_lines(digest, SHANGHAI))
    assert "规划期已于2025年12月31日结束，尚有1项未完成" in text
    assert "🔴 规划期内未完成（1项）" in text
    assert "· 第1项 单位一（未反馈）；单位二（未反馈）｜原定2025年6月30日" in text
    assert "已逾期" not in text and "未反馈的单位" not in text
    held = "\n".join(short_digest_lines(digest, SHANGHAI, held_period_end=date(2025, 12, 31)))
    assert "逾期提醒已暂停。" in held and held.count("规划期已于") == 1


def test_an_overdue_task_reported_in_the_quarter_gets_no_overdue_reminder() -> None:
    overdue = FollowUpState(
        tasks=(TaskView(2, 1, "任务甲", date(2026, 11, 30), (1,), plan_id=2),),
        units={1: UnitView(1, "单位一")},
        contacts=(contact(11, 1),),
        latest_report={(2, 1): note(2, 1, at(date(2026, 11, 10)))},
        plans={2: plan(2, Rhythm.QUARTERLY, 25)},
    )
    policy = ReminderPolicy(zone=SHANGHAI, cycle_day=25)
    # Monday 2026-12-07 is the first OVERDUE occasion (deadline + 7); the report of
    # 2026-11-10 is in the quarter from 2026-10-25 (not in the monthly cycle from 11-25)
    assert reminder_candidates(at(date(2026, 12, 7)), overdue, policy, CAL) == []
    monthly = FollowUpState(
        tasks=overdue.tasks,
        units=overdue.units,
        contacts=overdue.contacts,
        latest_report=overdue.latest_report,
        plans={2: plan(2, None)},
    )
    [due] = reminder_candidates(at(date(2026, 12, 7)), monthly, policy, CAL)
    assert due.occasion.kind is ReminderKind.OVERDUE

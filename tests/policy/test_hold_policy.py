"""The pure rules of a held follow-up (`jobs.hold`), of the first start's digest
(`jobs.schedule.digest_before_first_start`) and of a fresh report as the answer to an overdue
reminder (`jobs.policy.reminder_candidates`), at fixed instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from jobs.calendar import OfficialCalendar, WeekdayCalendar
from jobs.hold import assess, assess_state, held_reminder
from jobs.policy import DigestSchedule, ReminderPolicy, reminder_candidates
from jobs.schedule import digest_before_first_start, digest_due_at
from jobs.state import ContactView, FollowUpState, ReportView, TaskView, UnitView
from jobs.types import ReminderKind, Status

ZONE = ZoneInfo("Asia/Shanghai")
WEEKDAYS = WeekdayCalendar()


def test_a_plan_whose_period_ended_is_held() -> None:
    finding = assess(date(2026, 12, 4), date(2025, 12, 31), [date(2025, 12, 31)] * 3, WEEKDAYS)
    assert finding.period_ended and finding.held
    assert (finding.open_pairs, finding.late_pairs, finding.overdue_pairs) == (3, 3, 3)


def test_an_ended_period_with_nothing_late_holds_nothing() -> None:
    """New deadlines already set (or everything done): there is no backlog to hold."""
    finding = assess(date(2026, 12, 4), date(2025, 12, 31), [date(2027, 6, 30)], WEEKDAYS)
    assert finding.period_ended and not finding.held
    assert not assess(date(2026, 12, 4), date(2025, 12, 31), [], WEEKDAYS).held


def test_more_than_half_overdue_beyond_ten_working_days_is_held() -> None:
    # Monday 2026-03-02; ten working days after Monday 2026-02-16 is Monday 2026-03-02
    today = date(2026, 3, 2)
    long_ago = date(2026, 2, 13)  # Friday: 11 working days before today
    ten_days = date(2026, 2, 16)  # exactly 10 working days: not beyond the threshold
    future = date(2026, 6, 30)
    period_end = date(2030, 12, 31)
    assert assess(today, period_end, [long_ago, long_ago, future], WEEKDAYS).held
    half = assess(today, period_end, [long_ago, future], WEEKDAYS)
    assert (half.overdue_pairs, half.open_pairs) == (1, 2) and not half.held
    assert not assess(today, period_end, [ten_days, ten_days, future], WEEKDAYS).held


def test_working_days_follow_the_official_calendar() -> None:
    """The Spring Festival 2026 (2-15 to 2-23 off, 2-14 and 2-28 make-up Saturdays): a
    deadline on 2026-02-13 is 10 working days late on 2026-03-05, 11 on 2026-03-06
    (Monday to Friday alone would count 14 on 03-05)."""
    calendar = OfficialCalendar()
    period_end = date(2030, 12, 31)
    assert not assess(date(2026, 3, 5), period_end, [date(2026, 2, 13)], calendar).held
    assert assess(date(2026, 3, 6), period_end, [date(2026, 2, 13)], calendar).held
    assert assess(date(2026, 3, 5), period_end, [date(2026, 2, 13)], WEEKDAYS).held


def state_with(reports: dict[tuple[int, int], ReportView] | None = None) -> FollowUpState:
    reports = reports or {}
    return FollowUpState(
        tasks=(
            TaskView(1, 1, "任务一", date(2025, 12, 31), (10, 11)),
            TaskView(2, 2, "任务二", date(2027, 6, 30), (10,)),
        ),
        units={10: UnitView(10, "区残联"), 11: UnitView(11, "区民政局")},
        contacts=(ContactView(5, 10, 2001, 2001, "李明"),),
        latest_status={k: v for k, v in reports.items() if v.status is not None},
        latest_report=reports,
    )


def report(task_id: int, unit_id: int, status: Status | None, at: datetime) -> ReportView:
    return ReportView(1, task_id, unit_id, status, "", at)


def test_open_pairs_leave_out_those_reported_done() -> None:
    done = {(1, 11): report(1, 11, Status.DONE, datetime(2025, 12, 1, tzinfo=UTC))}
    finding = assess_state(date(2026, 12, 4), date(2025, 12, 31), state_with(done), WEEKDAYS)
    assert (finding.open_pairs, finding.late_pairs) == (2, 1)


def test_only_overdue_reminders_wait_while_held() -> None:
    assert held_reminder(ReminderKind.OVERDUE)
    assert not held_reminder(ReminderKind.BEFORE) and not held_reminder(ReminderKind.DUE)


def test_no_digest_for_a_week_before_the_first_start() -> None:
    schedule = DigestSchedule(zone=ZONE)
    # the bot first starts on Friday 2026-12-04 09:30
    first = datetime(2026, 12, 4, 9, 30, tzinfo=ZONE)
    assert digest_due_at("2026-W49", schedule, WEEKDAYS) == datetime(
        2026, 11, 30, 9, 0, tzinfo=ZONE
    )
    assert digest_before_first_start("2026-W49", first, schedule, WEEKDAYS)
    assert not digest_before_first_start("2026-W50", first, schedule, WEEKDAYS)
    assert not digest_before_first_start("2026-W49", None, schedule, WEEKDAYS)
    # a Monday holiday moves the due instant: National Day 2026 moves W41's to Thursday 10-08
    official = OfficialCalendar()
    assert digest_due_at("2026-W41", schedule, official).date() == date(2026, 10, 8)
    assert not digest_before_first_start(
        "2026-W41", datetime.combine(date(2026, 10, 7), time(10), ZONE), schedule, official
    )


def test_a_fresh_report_answers_the_overdue_reminder() -> None:
    """A contact who reported on a late task in the current cycle (from the 25th) gets no
    overdue reminder for it; reminders of other tasks still come, and a report of an
    earlier cycle does not count."""
    policy = ReminderPolicy(zone=ZONE)
    # Wednesday 2026-01-07 10:00, 7 days after the deadline: an overdue occasion
    now = datetime(2026, 1, 7, 10, 0, tzinfo=ZONE)
    due = reminder_candidates(now, state_with(), policy, WEEKDAYS)
    assert [(d.task.number, d.occasion.kind) for d in due] == [(1, ReminderKind.OVERDUE)]
    minutes_ago = datetime(2026, 1, 7, 9, 55, tzinfo=ZONE)
    fresh = {(1, 10): report(1, 10, Status.IN_PROGRESS, minutes_ago)}
    assert reminder_candidates(now, state_with(fresh), policy, WEEKDAYS) == []
    note = {(1, 10): report(1, 10, None, minutes_ago)}  # a reply to a reminder answers too
    assert reminder_candidates(now, state_with(note), policy, WEEKDAYS) == []
    old = {(1, 10): report(1, 10, Status.IN_PROGRESS, datetime(2025, 12, 20, tzinfo=ZONE))}
    assert len(reminder_candidates(now, state_with(old), policy, WEEKDAYS)) == 1


def test_a_report_does_not_silence_the_reminders_before_the_deadline() -> None:
    policy = ReminderPolicy(zone=ZONE)
    # 2027-06-16 10:00: 14 days before task 2's deadline
    now = datetime(2027, 6, 16, 10, 0, tzinfo=ZONE)
    fresh = {(2, 10): report(2, 10, Status.IN_PROGRESS, datetime(2027, 6, 16, 9, tzinfo=ZONE))}
    due = reminder_candidates(now, state_with(fresh), policy, WEEKDAYS)
    assert [(d.task.number, d.occasion.kind) for d in due if d.task.number == 2] == [
        (2, ReminderKind.BEFORE)
    ]


def test_any_hour_finds_what_is_current_outside_sending_hours() -> None:
    policy = ReminderPolicy(zone=ZONE)
    night = datetime(2026, 1, 7, 23, 0, tzinfo=ZONE)
    assert reminder_candidates(night, state_with(), policy, WEEKDAYS) == []
    assert len(reminder_candidates(night, state_with(), policy, WEEKDAYS, any_hour=True)) == 1


def test_the_notice_says_what_was_found_in_plain_chinese() -> None:
    from bot.render import hold_notice

    ended = hold_notice(
        found_on=date(2026, 12, 4),
        period_end=date(2025, 12, 31),
        open_pairs=46,
        late_pairs=46,
        overdue_pairs=46,
        overdue_working_days=10,
    )
    assert "规划期已于2025年12月31日结束。未完成的督办事项共46项" in ended
    assert "其中46项逾期超过10个工作日。" in ended
    soon_after = hold_notice(
        found_on=date(2026, 1, 5),
        period_end=date(2025, 12, 31),
        open_pairs=46,
        late_pairs=46,
        overdue_pairs=0,
        overdue_working_days=10,
    )
    assert "其中0项逾期超过10个工作日，已过完成时限的共46项。" in soon_after
    running = hold_notice(
        found_on=date(2027, 3, 1),
        period_end=date(2030, 12, 31),
        open_pairs=10,
        late_pairs=8,
        overdue_pairs=6,
        overdue_working_days=10,
    )
    assert "规划期" not in running and "其中6项逾期超过10个工作日，已过完成时限的共8项。" in running

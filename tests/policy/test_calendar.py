"""Tests of the official working-day calendar (jobs/calendar.py) and the policy on top of it.

The expected 2026 dates are the State Council's arrangement (国务院办公厅关于2026年部分节假日
安排的通知), typed in here by hand, not read from the library:
  元旦 1月1日(四)-3日(六), 1月4日(日)上班; 春节 2月15日(日)-23日(一), 2月14日(六)、28日(六)上班;
  清明 4月4日(六)-6日(一); 劳动节 5月1日(五)-5日(二), 5月9日(六)上班; 端午 6月19日(五)-21日(日);
  中秋 9月25日(五)-27日(日); 国庆 10月1日(四)-7日(三), 9月20日(日)、10月10日(六)上班.
Weekdays used below: 2026-09-20 Sun, 21 Mon, 25 Fri, 26 Sat, 28 Mon; 10-01 Thu, 05 Mon,
08 Thu, 09 Fri, 10 Sat, 11 Sun, 12 Mon, 17 Sat; 2026-12-31 Thu; 2027-01-01 Fri, 02 Sat, 04 Mon.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobs.calendar import (
    OfficialCalendar,
    WeekdayCalendar,
    WorkingCalendar,
    library_years,
    next_working_day,
)
from jobs.policy import (
    DueReminder,
    ReminderPolicy,
    current_occasion,
    reminder_candidates,
    sending_allowed,
)
from jobs.state import ContactView, FollowUpState, TaskView, UnitView
from jobs.types import ReminderKind

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = ReminderPolicy(zone=SHANGHAI)


def unsent_reminders(
    now: datetime,
    state: FollowUpState,
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
    sent: set[str],
) -> list[DueReminder]:
    """What the tick sends at `now`: the reminder candidates whose key is not in the ledger."""
    return [r for r in reminder_candidates(now, state, policy, calendar) if r.key not in sent]


# weekend days that are official working days in 2026 (调休上班)
MAKE_UP_2026 = {
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
}
# Monday-Friday days off in 2026
WEEKDAY_HOLIDAYS_2026 = {
    date(2026, 1, 1),
    date(2026, 1, 2),
    *(date(2026, 2, d) for d in (16, 17, 18, 19, 20, 23)),
    date(2026, 4, 6),
    date(2026, 5, 1),
    date(2026, 5, 4),
    date(2026, 5, 5),
    date(2026, 6, 19),
    date(2026, 9, 25),
    *(date(2026, 10, d) for d in (1, 2, 5, 6, 7)),
}
NATIONAL_DAY_2026 = [date(2026, 10, d) for d in range(1, 8)]

# the first year whose 调休 arrangement the installed library lacks (2027 with holidays 0.108)
UNKNOWN_YEAR = library_years().stop


def statutory_days_off(year: int) -> set[date]:
    """The weekdays off of a year without the 调休 arrangement, as the `holidays` package
    computes them: the statutory holidays and, for one on a weekend, its estimated day off."""
    import holidays

    return {d for d in holidays.China(years=year) if d.year == year and d.weekday() < 5}


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def local(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


def one_task_state(deadline: date) -> FollowUpState:
    return FollowUpState(
        tasks=(TaskView(100, 7, "为残疾人提供服务。", deadline, (1,)),),
        units={1: UnitView(1, "区民政局")},
        contacts=(ContactView(11, 1, 5011, 5011, "联络员11"),),
    )


# ---------------------------------------------------------------- the library's years


def test_library_knows_2004_to_at_least_2026():
    years = library_years()
    assert years.start <= 2004
    assert 2026 in years
    assert UNKNOWN_YEAR >= 2027
    cal = OfficialCalendar()
    assert cal.known_years() == years
    assert cal.is_known_year(2026)
    assert not cal.is_known_year(UNKNOWN_YEAR)
    assert not cal.is_known_year(years.start - 1)


# ---------------------------------------------------------------- the official 2026 calendar


def test_2026_matches_the_official_arrangement_day_by_day():
    cal = OfficialCalendar()
    for day in days_of(2026):
        weekend = day.weekday() >= 5
        expected = day in MAKE_UP_2026 if weekend else day not in WEEKDAY_HOLIDAYS_2026
        assert cal.is_working_day(day) is expected, day


def test_national_day_2026_is_a_holiday_and_the_make_up_days_work():
    cal = OfficialCalendar()
    assert [cal.is_working_day(d) for d in NATIONAL_DAY_2026] == [False] * 7
    assert cal.is_working_day(date(2026, 10, 8)) is True  # Thursday after
    assert cal.is_working_day(date(2026, 9, 20)) is True  # 调休 Sunday
    assert cal.is_working_day(date(2026, 10, 10)) is True  # 调休 Saturday
    assert cal.is_working_day(date(2026, 10, 11)) is False  # ordinary Sunday
    assert cal.is_working_day(date(2026, 10, 17)) is False  # ordinary Saturday
    assert cal.is_working_day(date(2026, 9, 25)) is False  # 中秋, a Friday
    assert next_working_day(cal, date(2026, 10, 1)) == date(2026, 10, 8)
    assert next_working_day(cal, date(2026, 9, 25)) == date(2026, 9, 28)
    assert next_working_day(cal, date(2026, 9, 19)) == date(2026, 9, 20)  # Sat -> 调休 Sun
    assert next_working_day(cal, date(2026, 2, 15)) == date(2026, 2, 24)  # Spring Festival
    # the plain weekday calendar would get all of these wrong
    assert WeekdayCalendar().is_working_day(date(2026, 10, 1)) is True
    assert WeekdayCalendar().is_working_day(date(2026, 10, 10)) is False


def test_known_year_does_not_call_back_or_warn(caplog):
    calls: list[int] = []
    cal = OfficialCalendar(on_unknown_year=calls.append)
    with caplog.at_level(logging.WARNING, logger="jobs.calendar"):
        for day in days_of(2026):
            cal.is_working_day(day)
    assert calls == []
    assert caplog.records == []
    assert cal.unknown_years_seen() == frozenset()


# ---------------------------------------------------------------- overrides


def test_overrides_win_over_the_library():
    cal = OfficialCalendar(
        extra_holidays=[date(2026, 3, 18), date(2026, 10, 10)],  # a Wednesday; a 调休 Saturday
        extra_workdays=[date(2026, 10, 5), date(2026, 3, 22)],  # a holiday Monday; a Sunday
    )
    assert cal.is_working_day(date(2026, 3, 18)) is False
    assert cal.is_working_day(date(2026, 10, 10)) is False
    assert cal.is_working_day(date(2026, 10, 5)) is True
    assert cal.is_working_day(date(2026, 3, 22)) is True
    # neighbours are unaffected
    assert cal.is_working_day(date(2026, 3, 17)) is True
    assert cal.is_working_day(date(2026, 10, 6)) is False
    assert next_working_day(cal, date(2026, 10, 1)) == date(2026, 10, 5)
    assert next_working_day(cal, date(2026, 10, 9)) == date(2026, 10, 9)
    assert next_working_day(cal, date(2026, 10, 10)) == date(2026, 10, 12)


def test_a_day_in_both_overrides_is_a_working_day():
    day = date(2026, 10, 3)  # a National Day Saturday
    cal = OfficialCalendar(extra_holidays=[day], extra_workdays=[day])
    assert cal.is_working_day(day) is True


def test_overrides_accept_positional_arguments_and_generators():
    cal = OfficialCalendar((date(2026, 3, d) for d in (18, 19)), iter([date(2026, 3, 21)]))
    assert [cal.is_working_day(date(2026, 3, d)) for d in range(17, 23)] == [
        True,  # Tue
        False,  # Wed, extra holiday
        False,  # Thu, extra holiday
        True,  # Fri
        True,  # Sat, extra workday
        False,  # Sun
    ]


# ---------------------------------------------------------------- a year the library lacks


def test_unknown_year_keeps_its_statutory_holidays_and_calls_back_once(caplog):
    calls: list[int] = []
    cal = OfficialCalendar(on_unknown_year=calls.append)
    days_off = statutory_days_off(UNKNOWN_YEAR)
    assert len(days_off) >= 7  # 元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆 (those on weekdays)
    with caplog.at_level(logging.WARNING, logger="jobs.calendar"):
        for _ in range(3):
            for day in days_of(UNKNOWN_YEAR):
                expected = day.weekday() < 5 and day not in days_off
                assert cal.is_working_day(day) is expected, day
    assert calls == [UNKNOWN_YEAR]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(UNKNOWN_YEAR) in warnings[0].getMessage()
    assert cal.unknown_years_seen() == frozenset({UNKNOWN_YEAR})


def test_2027_falls_back_with_overrides():
    if UNKNOWN_YEAR != 2027:
        pytest.skip("the installed chinesecalendar knows 2027")
    calls: list[int] = []
    cal = OfficialCalendar(
        extra_holidays=[date(2027, 1, 1)],  # 元旦, a Friday: configured by the coordinator
        extra_workdays=[date(2027, 1, 2)],  # a Saturday
        on_unknown_year=calls.append,
    )
    assert cal.is_working_day(date(2027, 1, 1)) is False
    assert cal.is_working_day(date(2027, 1, 2)) is True
    assert cal.is_working_day(date(2027, 1, 3)) is False  # Sunday
    assert cal.is_working_day(date(2027, 1, 4)) is True  # Monday
    assert calls == [2027]  # asked about by the days the overrides do not decide
    # across the year boundary: the last day of 2026 is known, the first of 2027 is not
    assert next_working_day(cal, date(2026, 12, 31)) == date(2026, 12, 31)
    assert next_working_day(cal, date(2027, 1, 1)) == date(2027, 1, 2)
    assert calls == [2027]


def test_each_unknown_year_is_reported_once_each():
    calls: list[int] = []
    cal = OfficialCalendar(on_unknown_year=calls.append)
    early = library_years().start - 1
    for year in (UNKNOWN_YEAR, early, UNKNOWN_YEAR + 1, early, UNKNOWN_YEAR):
        cal.is_working_day(date(year, 6, 1))
        cal.is_working_day(date(year, 6, 2))
    assert calls == [UNKNOWN_YEAR, early, UNKNOWN_YEAR + 1]
    # a second calendar (a restart) warns again
    other: list[int] = []
    OfficialCalendar(on_unknown_year=other.append).is_working_day(date(UNKNOWN_YEAR, 6, 1))
    assert other == [UNKNOWN_YEAR]


def test_a_failing_callback_does_not_break_the_calendar(caplog):
    def broken(year: int) -> None:
        raise RuntimeError("telegram is down")

    cal = OfficialCalendar(on_unknown_year=broken)
    with caplog.at_level(logging.WARNING, logger="jobs.calendar"):
        assert cal.is_working_day(date(UNKNOWN_YEAR, 3, 1)) is (
            date(UNKNOWN_YEAR, 3, 1).weekday() < 5
        )
        assert next_working_day(cal, date(UNKNOWN_YEAR, 3, 6)) >= date(UNKNOWN_YEAR, 3, 6)
    assert any("callback failed" in r.getMessage() for r in caplog.records)


def test_no_callback_needed():
    cal = OfficialCalendar()
    assert cal.is_working_day(date(UNKNOWN_YEAR, 3, 1)) is (date(UNKNOWN_YEAR, 3, 1).weekday() < 5)


# ---------------------------------------------------------------- policy on the official calendar


def test_reminder_in_the_national_day_holiday_goes_out_on_the_eighth():
    cal = OfficialCalendar()
    deadline = date(2026, 10, 12)  # Monday: 14-day = Mon 28 Sep, 7-day = Mon 5 Oct (holiday)
    state = one_task_state(deadline)
    ledger = {"reminder:100:1:11:before:2026-09-28"}
    for day in NATIONAL_DAY_2026:
        assert (
            unsent_reminders(local(day.year, day.month, day.day), state, POLICY, cal, ledger) == []
        )
        assert sending_allowed(local(day.year, day.month, day.day), POLICY, cal) is False
    [r] = unsent_reminders(local(2026, 10, 8, 9, 0), state, POLICY, cal, ledger)
    assert r.occasion.kind is ReminderKind.BEFORE
    assert r.occasion.nominal_on == date(2026, 10, 5)
    assert r.occasion.send_on == date(2026, 10, 8)
    assert r.occasion.offset_days == 7
    assert r.days_left == 4
    assert r.key == "reminder:100:1:11:before:2026-10-05"
    ledger.add(r.key)
    # then the 3-day occasion on Friday 9th; the 1-day one (Sunday 11th) moves to Monday 12th,
    # where the due-day occasion supersedes it
    [r3] = unsent_reminders(local(2026, 10, 9), state, POLICY, cal, ledger)
    assert r3.key == "reminder:100:1:11:before:2026-10-09"
    ledger.add(r3.key)
    assert unsent_reminders(local(2026, 10, 10), state, POLICY, cal, ledger) == []
    [r0] = unsent_reminders(local(2026, 10, 12), state, POLICY, cal, ledger)
    assert r0.key == "reminder:100:1:11:due:2026-10-12"


def test_two_holiday_occasions_collapse_into_one_on_the_eighth():
    cal = OfficialCalendar()
    deadline = date(2026, 10, 10)  # 调休 Saturday: 7-day = Sat 3rd, 3-day = Wed 7th, both off
    occasion = current_occasion(deadline, date(2026, 10, 8), POLICY, cal)
    assert occasion is not None
    assert (occasion.kind, occasion.nominal_on, occasion.send_on, occasion.offset_days) == (
        ReminderKind.BEFORE,
        date(2026, 10, 7),
        date(2026, 10, 8),
        3,
    )
    # the 14-day occasion (Sat 26 Sep, 中秋) went out on Monday 28 Sep
    early = current_occasion(deadline, date(2026, 9, 28), POLICY, cal)
    assert early is not None
    assert (early.nominal_on, early.send_on) == (date(2026, 9, 26), date(2026, 9, 28))
    assert current_occasion(deadline, date(2026, 9, 25), POLICY, cal) is None


def test_make_up_saturday_gets_its_reminder():
    cal = OfficialCalendar()
    deadline = date(2026, 10, 10)  # the 调休 Saturday itself
    state = one_task_state(deadline)
    ledger = {"reminder:100:1:11:before:2026-10-09"}
    assert sending_allowed(local(2026, 10, 10, 9), POLICY, cal) is True
    [r] = unsent_reminders(local(2026, 10, 10, 9), state, POLICY, cal, ledger)
    assert r.key == "reminder:100:1:11:due:2026-10-10"
    assert r.occasion.send_on == date(2026, 10, 10)
    assert r.days_left == 0
    # the plain Monday-Friday calendar would have waited until Monday
    assert unsent_reminders(local(2026, 10, 10, 9), state, POLICY, WeekdayCalendar(), ledger) == []


def test_make_up_sunday_gets_its_reminder():
    cal = OfficialCalendar()
    deadline = date(2026, 9, 21)  # Monday: the 1-day occasion is the 调休 Sunday 20th
    state = one_task_state(deadline)
    ledger = {"reminder:100:1:11:before:2026-09-18"}
    [r] = unsent_reminders(local(2026, 9, 20, 9), state, POLICY, cal, ledger)
    assert r.key == "reminder:100:1:11:before:2026-09-20"
    assert r.occasion.send_on == date(2026, 9, 20)
    assert r.days_left == 1


def test_reminders_in_the_unknown_year_use_the_fallback():
    calls: list[int] = []
    cal = OfficialCalendar(on_unknown_year=calls.append)
    # a Monday deadline in March of the unknown year; the 3-day occasion falls on Friday
    monday = date(UNKNOWN_YEAR, 3, 8) + timedelta(days=(7 - date(UNKNOWN_YEAR, 3, 8).weekday()) % 7)
    assert monday.weekday() == 0
    state = one_task_state(monday)
    friday = monday - timedelta(days=3)
    [r] = unsent_reminders(local(friday.year, friday.month, friday.day), state, POLICY, cal, set())
    assert r.occasion.nominal_on == friday and r.occasion.offset_days == 3
    saturday = monday - timedelta(days=2)
    assert (
        unsent_reminders(
            local(saturday.year, saturday.month, saturday.day), state, POLICY, cal, {r.key}
        )
        == []
    )
    assert calls == [UNKNOWN_YEAR]


# ---------------------------------------------------------------- statutory holidays of any year


def test_the_holidays_package_agrees_with_chinesecalendar_on_every_day_of_2025_and_2026():
    chinese_calendar = pytest.importorskip("chinese_calendar")
    cal = OfficialCalendar()
    for year in (2025, 2026):
        differing = [
            day
            for day in days_of(year)
            if cal.is_working_day(day) is not chinese_calendar.is_workday(day)
        ]
        assert differing == [], year


@pytest.mark.parametrize("year", [2027, 2028, 2030])
def test_statutory_holidays_of_a_year_without_the_arrangement_are_days_off(year):
    calls: list[int] = []
    cal = OfficialCalendar(on_unknown_year=calls.append)
    new_year = date(year, 1, 1)
    national_day = [date(year, 10, d) for d in (1, 2, 3)]
    labour_day = [date(year, 5, 1), date(year, 5, 2)]
    for day in [new_year, *labour_day, *national_day]:
        assert cal.is_working_day(day) is False, day
    lunar = {  # 春节 (day 1), 清明, 端午, 中秋 of those years
        2027: [date(2027, 2, 6), date(2027, 4, 5), date(2027, 6, 9), date(2027, 9, 15)],
        2028: [date(2028, 1, 26), date(2028, 4, 4), date(2028, 5, 28), date(2028, 10, 3)],
        2030: [date(2030, 2, 3), date(2030, 4, 5), date(2030, 6, 5), date(2030, 9, 12)],
    }[year]
    for day in lunar:
        assert cal.is_working_day(day) is False, day
    assert calls == ([year] if year not in library_years() else [])


def test_overrides_win_in_a_year_without_the_arrangement():
    cal = OfficialCalendar(
        extra_workdays=[date(2027, 10, 1)],  # a statutory holiday, declared worked locally
        extra_holidays=[date(2027, 3, 3)],  # a Wednesday
    )
    assert cal.is_working_day(date(2027, 10, 1)) is True
    assert cal.is_working_day(date(2027, 3, 3)) is False
    assert cal.is_working_day(date(2027, 10, 2)) is False

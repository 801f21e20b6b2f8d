"""Pure policy of coordination items (jobs.coordination) and their digest lines."""

from __future__ import annotations

from datetime import date

from bot.render import COORDINATION_DIGEST_ITEMS, coordination_lines
from jobs.calendar import WeekdayCalendar
from jobs.coordination import (
    CLOSED,
    NEED_MAX_CHARS,
    OPEN,
    AssignRefusal,
    ItemView,
    check_assignment,
    days_open,
    merged_need,
    reminder_due,
)

CAL = WeekdayCalendar(holidays=[date(2026, 12, 9)])  # a Wednesday holiday


def test_assignment_refusals() -> None:
    check = check_assignment
    assert check(status=OPEN, raised_by_unit_id=1, assigned_unit_id=None, unit_id=2) is None
    assert check(status=OPEN, raised_by_unit_id=1, assigned_unit_id=None, unit_id=1) is (
        AssignRefusal.RAISING_UNIT
    )
    assert check(status=OPEN, raised_by_unit_id=1, assigned_unit_id=2, unit_id=2) is (
        AssignRefusal.SAME_UNIT
    )
    assert check(status=OPEN, raised_by_unit_id=1, assigned_unit_id=2, unit_id=3) is None
    assert check(status=CLOSED, raised_by_unit_id=1, assigned_unit_id=None, unit_id=2) is (
        AssignRefusal.CLOSED
    )


def test_days_open_counts_calendar_days_never_negative() -> None:
    assert days_open(date(2026, 12, 1), date(2026, 12, 7)) == 6
    assert days_open(date(2026, 12, 7), date(2026, 12, 7)) == 0
    assert days_open(date(2026, 12, 8), date(2026, 12, 7)) == 0


def test_reminder_due_every_n_working_days_on_working_days_only() -> None:
    monday = date(2026, 12, 7)
    due = [
        day.day
        for day in (date(2026, 12, d) for d in range(7, 22))
        if reminder_due(since=monday, today=day, every=3, calendar=CAL)
    ]
    # working days after Monday the 7th: 8, (9 holiday), 10, 11 -> the 11th is the third;
    # never on the weekend, and from then on every later working day counts (since unchanged)
    assert due[0] == 11
    assert 12 not in due and 13 not in due
    assert not reminder_due(since=monday, today=monday, every=3, calendar=CAL)
    assert not reminder_due(since=monday, today=date(2026, 12, 21), every=0, calendar=CAL)


def test_merged_need_appends_and_keeps_the_newest_part() -> None:
    assert merged_need("缺资金", "补充（2026年12月8日）", "约20万元") == (
        "缺资金\n补充（2026年12月8日）：约20万元"
    )
    assert merged_need("", "补充", "只有这句") == "只有这句"
    long = merged_need("旧" * NEED_MAX_CHARS, "补充", "新内容")
    assert len(long) == NEED_MAX_CHARS and long.endswith("补充：新内容")


def view(n: int, assigned: str | None) -> ItemView:
    return ItemView(
        id=n,
        task_id=n,
        plan="十四五",
        task_number=n,
        task_text="任务",
        raised_by="区民政局",
        assigned_to=assigned,
        need="需协调",
        opened_on=date(2026, 12, 1),
    )


def test_digest_lines_name_units_and_days_and_count_the_rest() -> None:
    assert coordination_lines([], date(2026, 12, 7)) == []
    lines = coordination_lines([view(5, "潼南税务局"), view(6, None)], date(2026, 12, 7))
    assert lines == [
        "<b>协调事项（2项未办结）</b>",
        "· 十四五第5项 区民政局提出 → 潼南税务局，已6天",
        "· 十四五第6项 区民政局提出 → 待指派，已6天",
    ]
    many = coordination_lines(
        [view(i, None) for i in range(COORDINATION_DIGEST_ITEMS + 3)], date(2026, 12, 7)
    )
    assert len(many) == COORDINATION_DIGEST_ITEMS + 2 and "另有3项" in many[-1]


def test_digest_lines_leave_the_plans_their_share_of_a_small_budget() -> None:
    views = [view(i, None) for i in range(1, 6)]
    lines = coordination_lines(views, date(2026, 12, 7), budget=12)
    assert lines[1].startswith("· 十四五第1项") and len(lines) == 3 and "另有4项" in lines[2]

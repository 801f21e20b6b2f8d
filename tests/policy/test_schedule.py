"""Tests of the working-day digest rule and the dry-run preview (jobs/schedule.py).

The preview must list exactly what the real tick would send, so several tests compare it with
a day-by-day simulation of the tick through the policy's own functions (`reminder_candidates`,
`digest_due`) with a ledger of what was already sent.
Calendar facts (official 2026 arrangement, see tests/policy/test_calendar.py): 2026-02-15..23 春节
(Feb 16 and 23 are Mondays), Feb 14 and 28 (Saturdays) work; 2026-09-25..27 中秋;
2026-10-01..07 国庆 (Oct 5 is a Monday), Sep 20 (Sunday) and Oct 10 (Saturday) work.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.schedule_view import render_schedule
from jobs.calendar import OfficialCalendar, WeekdayCalendar, WorkingCalendar, library_years
from jobs.policy import (
    DigestSchedule,
    DueReminder,
    ReminderPolicy,
    reminder_candidates,
)
from jobs.schedule import (
    PlannedMessage,
    PlannedSend,
    digest_due,
    planned_digests,
    preview,
    preview_messages,
)
from jobs.state import ContactView, FollowUpState, ReportView, TaskView, UnitView
from jobs.types import Status

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = ReminderPolicy(zone=SHANGHAI)
WEEKLY = DigestSchedule(zone=SHANGHAI)  # Monday 09:00
UNKNOWN_YEAR = library_years().stop  # 2027 with holidays 0.108


def unsent_reminders(
    now: datetime,
    state: FollowUpState,
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
    sent: set[str],
) -> list[DueReminder]:
    """What the tick sends at `now`: the reminder candidates whose key is not in the ledger."""
    return [r for r in reminder_candidates(now, state, policy, calendar) if r.key not in sent]


class EveryDay:
    """A calendar on which every day is a working day: the digest rule without moves."""

    def is_working_day(self, day: date) -> bool:
        return True


def local(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def contact(cid: int, unit_id: int, unreachable: str | None = None) -> ContactView:
    return ContactView(cid, unit_id, 5000 + cid, 5000 + cid, f"联络员{cid}", unreachable)


UNITS = {
    1: UnitView(1, "区民政局"),
    2: UnitView(2, "区残联"),
    3: UnitView(3, "区财政局"),
    4: UnitView(4, "区教委"),
}


def busy_state(*deadlines: date) -> FollowUpState:
    """Tasks numbered from 1 whose lead units cycle through (1, 2), (2, 3), (4, 1), (3,).

    Unit 1 has two contacts, unit 2 one, unit 3 only an unreachable one, unit 4 none; unit 2
    reported task 2 done.
    """
    leads = ((1, 2), (2, 3), (4, 1), (3,))
    tasks = tuple(
        TaskView(100 + i, i, f"任务{i}", deadline, leads[(i - 1) % 4])
        for i, deadline in enumerate(deadlines, start=1)
    )
    done = ReportView(1, 102, 2, Status.DONE, "完成", datetime(2026, 1, 5, 2, tzinfo=UTC))
    return FollowUpState(
        tasks=tasks,
        units=UNITS,
        contacts=(contact(11, 1), contact(12, 1), contact(21, 2), contact(31, 3, "blocked")),
        latest_status={(102, 2): done},
    )


DEADLINES = (
    date(2026, 10, 10),  # the 调休 Saturday
    date(2026, 10, 12),  # 7 days before is the holiday Monday
    date(2026, 2, 24),  # right after the Spring Festival
    date(2026, 12, 31),  # overdue reminders run into the unknown year
    date(2026, 9, 21),  # the day before is the 调休 Sunday
)


# ---------------------------------------------------------------- the digest on working days


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(2026, 9, 28, 8, 59), None),
        (local(2026, 9, 28, 9, 0), "2026-W40"),  # Monday after 中秋: a working day
        (local(2026, 10, 5, 9, 0), None),  # Monday in the National Day holiday
        (local(2026, 10, 7, 23, 0), None),
        (local(2026, 10, 8, 8, 59), None),
        (local(2026, 10, 8, 9, 0), "2026-W41"),  # next working day, same time, nominal week
        (local(2026, 10, 9, 15, 0), "2026-W41"),  # still due (the ledger stops a second send)
        (local(2026, 10, 10, 15, 0), "2026-W41"),  # the 调休 Saturday is a working day
        (local(2026, 10, 11, 15, 0), None),  # Sunday
        (local(2026, 10, 12, 8, 0), None),
        (local(2026, 10, 12, 9, 0), "2026-W42"),
        # Spring Festival: Mondays 16 and 23 Feb are both off; only the newer week goes out
        (local(2026, 2, 9, 9, 0), "2026-W07"),
        (local(2026, 2, 14, 12, 0), "2026-W07"),  # 调休 Saturday, still in week 7
        (local(2026, 2, 16, 9, 0), None),
        (local(2026, 2, 23, 9, 0), None),
        (local(2026, 2, 24, 8, 59), None),
        (local(2026, 2, 24, 9, 0), "2026-W09"),
        (local(2026, 2, 28, 9, 0), "2026-W09"),  # 调休 Saturday
        (local(2026, 3, 2, 9, 0), "2026-W10"),
        # New Year 2026: Thursday 1 and Friday 2 January off; the Monday before works
        (local(2025, 12, 29, 9, 0), "2026-W01"),
        (local(2026, 1, 2, 9, 0), None),
        (local(2026, 1, 4, 9, 0), "2026-W01"),  # 调休 Sunday
    ],
)
def test_digest_due_on_the_official_calendar(now, expected):
    assert digest_due(now, WEEKLY, OfficialCalendar()) == expected


def test_digest_due_in_the_unknown_year_falls_back_and_calls_back_once():
    calls: list[int] = []
    cal = OfficialCalendar(on_unknown_year=calls.append)
    first_monday = date(UNKNOWN_YEAR, 1, 4) - timedelta(days=date(UNKNOWN_YEAR, 1, 4).weekday())
    for offset in range(0, 70):
        day = first_monday + timedelta(days=offset)
        key = digest_due(at(day, 9), WEEKLY, cal)
        if not cal.is_working_day(day):
            assert key is None
        else:
            year, week, _ = day.isocalendar()
            assert key == f"{year}-W{week:02d}"
    assert calls == [UNKNOWN_YEAR]


def test_digest_due_on_plain_working_days_is_the_digest_of_every_day():
    cal = WeekdayCalendar()
    for schedule in (WEEKLY, DigestSchedule(zone=SHANGHAI, weekday=5, at=time(17, 30))):
        for day in days(date(2025, 12, 22), date(2026, 1, 18)):
            for hour in range(0, 24):
                now = at(day, hour, 30)
                if day.weekday() < 5:
                    assert digest_due(now, schedule, cal) == digest_due(now, schedule, EveryDay())
                else:
                    assert digest_due(now, schedule, cal) is None


def test_digest_on_a_saturday_moves_to_monday_unless_it_is_a_make_up_day():
    saturday = DigestSchedule(zone=SHANGHAI, weekday=6, at=time(9, 0))
    cal = OfficialCalendar()
    assert digest_due(local(2026, 10, 10, 9), saturday, cal) == "2026-W41"  # 调休 Saturday
    assert digest_due(local(2026, 10, 17, 9), saturday, cal) is None  # ordinary Saturday
    assert digest_due(local(2026, 10, 19, 8, 59), saturday, cal) is None
    assert digest_due(local(2026, 10, 19, 9), saturday, cal) == "2026-W42"  # Monday after


def test_digest_due_rejects_naive():
    with pytest.raises(ValueError):
        digest_due(datetime(2026, 10, 8, 9), WEEKLY, OfficialCalendar())


def simulate_digests(
    start: date, end: date, schedule: DigestSchedule, cal: object
) -> list[tuple[date, time, str]]:
    """Tick every 15 minutes from `start` to `end`; post each due period once."""
    posted: set[str] = set()
    sent: list[tuple[date, time, str]] = []
    for day in days(start, end):
        for minute in range(0, 24 * 60, 15):
            now = at(day, minute // 60, minute % 60)
            key = digest_due(now, schedule, cal)  # type: ignore[arg-type]
            if key is not None and key not in posted:
                posted.add(key)
                sent.append((day, now.time(), key))
    return sent


@pytest.mark.parametrize(
    "schedule",
    [WEEKLY, DigestSchedule(zone=SHANGHAI, weekday=6, at=time(9, 0))],
    ids=["monday", "saturday"],
)
def test_planned_digests_are_what_the_tick_posts(schedule):
    cal = OfficialCalendar()
    start, end = date(2026, 1, 5), date(2026, 12, 27)  # Monday .. Sunday
    planned = planned_digests(start, end, schedule, cal)
    assert [(p.date, p.time, p.period) for p in planned] == simulate_digests(
        start, end, schedule, cal
    )


def test_planned_digests_around_the_holidays():
    cal = OfficialCalendar()
    feb = planned_digests(date(2026, 2, 1), date(2026, 3, 8), WEEKLY, cal)
    assert [(p.date, p.period, p.nominal) for p in feb] == [
        (date(2026, 2, 2), "2026-W06", date(2026, 2, 2)),
        (date(2026, 2, 9), "2026-W07", date(2026, 2, 9)),
        (date(2026, 2, 24), "2026-W09", date(2026, 2, 23)),  # W08 is superseded
        (date(2026, 3, 2), "2026-W10", date(2026, 3, 2)),
    ]
    october = planned_digests(date(2026, 10, 1), date(2026, 10, 31), WEEKLY, cal)
    assert [(p.date, p.period) for p in october] == [
        (date(2026, 10, 8), "2026-W41"),
        (date(2026, 10, 12), "2026-W42"),
        (date(2026, 10, 19), "2026-W43"),
        (date(2026, 10, 26), "2026-W44"),
    ]
    assert october[0].moved and not october[1].moved
    # a range starting inside the holiday still finds the moved digest; one ending before
    # its send day does not list it
    assert [
        p.period for p in planned_digests(date(2026, 10, 8), date(2026, 10, 8), WEEKLY, cal)
    ] == ["2026-W41"]
    assert planned_digests(date(2026, 10, 2), date(2026, 10, 7), WEEKLY, cal) == []


# ---------------------------------------------------------------- the reminder preview


def reminders_only(planned: list[PlannedSend]) -> list[PlannedSend]:
    return [p for p in planned if p.kind != "digest"]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 9, 1), date(2026, 11, 30)),
        (date(2026, 1, 20), date(2026, 3, 15)),
        (date(2026, 12, 1), date(UNKNOWN_YEAR, 2, 28)),
    ],
    ids=["autumn", "spring-festival", "into-unknown-year"],
)
def test_preview_lists_exactly_the_current_occasions_sent_on_their_day(start, end):
    state = busy_state(*DEADLINES)
    cal = OfficialCalendar()
    planned = reminders_only(preview(start, end, state, POLICY, None, cal))
    assert planned
    by_day: dict[date, Counter[tuple[int, str, str, date]]] = {}
    for p in planned:
        assert p.task is not None and p.unit is not None and p.contacts is not None
        by_day.setdefault(p.date, Counter())[(p.task, p.unit, p.kind, p.nominal)] += p.contacts
    for day in days(start, end):
        candidates = reminder_candidates(at(day, POLICY.reminder_hour), state, POLICY, cal)
        on_the_day = Counter(
            (c.task.number, UNITS[c.unit_id].name, c.occasion.kind.value, c.occasion.nominal_on)
            for c in candidates
            if c.occasion.send_on == day
        )
        listed = +by_day.get(day, Counter())  # drop the zero-contact entries
        assert listed == on_the_day, day


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 9, 1), date(2026, 11, 30)),
        (date(2026, 2, 10), date(2026, 3, 1)),
        (date(2026, 12, 1), date(UNKNOWN_YEAR, 2, 28)),
    ],
    ids=["autumn", "spring-festival", "into-unknown-year"],
)
def test_preview_equals_a_day_by_day_simulation_of_the_tick(start, end):
    state = busy_state(*DEADLINES)
    cal = OfficialCalendar()
    # the simulated bot runs from long before the range, with a ledger, ticking every hour
    ledger: set[str] = set()
    simulated: Counter[tuple[date, time, int, str, str, date]] = Counter()
    for day in days(date(2025, 12, 1), end):
        for hour in range(24):
            for r in unsent_reminders(at(day, hour), state, POLICY, cal, ledger):
                ledger.add(r.key)
                if day >= start:
                    simulated[
                        (
                            day,
                            time(hour),
                            r.task.number,
                            UNITS[r.unit_id].name,
                            r.occasion.kind.value,
                            r.occasion.nominal_on,
                        )
                    ] += 1
    planned = reminders_only(preview(start, end, state, POLICY, None, cal))
    listed = Counter(
        {
            (p.date, p.time, p.task, p.unit, p.kind, p.nominal): p.contacts
            for p in planned
            if p.contacts
        }
    )
    assert listed == simulated


def test_preview_entries_for_a_holiday_task():
    state = busy_state(date(2026, 10, 12))  # task 1, lead units 1 and 2
    cal = OfficialCalendar()
    planned = preview(date(2026, 9, 25), date(2026, 10, 13), state, POLICY, WEEKLY, cal)
    rows = [(p.date, p.kind, p.task, p.unit, p.contacts, p.nominal) for p in planned]
    assert rows == [
        (date(2026, 9, 28), "before", 1, "区民政局", 2, date(2026, 9, 28)),
        (date(2026, 9, 28), "before", 1, "区残联", 1, date(2026, 9, 28)),
        (date(2026, 9, 28), "digest", None, None, None, date(2026, 9, 28)),
        (date(2026, 10, 8), "before", 1, "区民政局", 2, date(2026, 10, 5)),
        (date(2026, 10, 8), "before", 1, "区残联", 1, date(2026, 10, 5)),
        (date(2026, 10, 8), "digest", None, None, None, date(2026, 10, 5)),
        (date(2026, 10, 9), "before", 1, "区民政局", 2, date(2026, 10, 9)),
        (date(2026, 10, 9), "before", 1, "区残联", 1, date(2026, 10, 9)),
        (date(2026, 10, 12), "due", 1, "区民政局", 2, date(2026, 10, 12)),
        (date(2026, 10, 12), "due", 1, "区残联", 1, date(2026, 10, 12)),
        (date(2026, 10, 12), "digest", None, None, None, date(2026, 10, 12)),
    ]
    assert all(p.time == time(9, 0) for p in planned)
    assert planned[5].period == "2026-W41"
    assert planned[3].deadline == date(2026, 10, 12) and planned[3].offset_days == 7


def test_preview_of_the_make_up_saturday():
    state = busy_state(date(2026, 10, 10))
    planned = preview(
        date(2026, 10, 10), date(2026, 10, 11), state, POLICY, WEEKLY, OfficialCalendar()
    )
    assert [(p.date, p.kind, p.unit) for p in planned] == [
        (date(2026, 10, 10), "due", "区民政局"),
        (date(2026, 10, 10), "due", "区残联"),
    ]


def test_preview_skips_units_that_reported_done_and_lists_units_without_contacts():
    state = busy_state(date(2026, 3, 20), date(2026, 3, 20), date(2026, 3, 20))
    planned = preview(date(2026, 3, 20), date(2026, 3, 20), state, POLICY, None, WeekdayCalendar())
    assert [(p.task, p.unit, p.contacts) for p in planned] == [
        (1, "区民政局", 2),
        (1, "区残联", 1),
        (2, "区财政局", 0),  # 区残联 reported task 2 done; 区财政局's only contact is unreachable
        (3, "区教委", 0),  # no contact registered
        (3, "区民政局", 2),
    ]


def test_preview_range_checks_and_no_digest_without_a_group():
    state = busy_state(date(2026, 3, 20))
    with pytest.raises(ValueError):
        preview(date(2026, 3, 2), date(2026, 3, 1), state, POLICY, WEEKLY, WeekdayCalendar())
    one_day = preview(date(2026, 3, 16), date(2026, 3, 16), state, POLICY, None, WeekdayCalendar())
    assert [p.kind for p in one_day] == []
    with_group = preview(
        date(2026, 3, 16), date(2026, 3, 16), state, POLICY, WEEKLY, WeekdayCalendar()
    )
    assert [(p.kind, p.period) for p in with_group] == [("digest", "2026-W12")]


def test_preview_into_the_unknown_year_calls_back_once():
    calls: list[int] = []
    cal = OfficialCalendar(on_unknown_year=calls.append)
    state = busy_state(date(UNKNOWN_YEAR, 1, 20))
    planned = preview(
        date(UNKNOWN_YEAR - 1, 12, 20), date(UNKNOWN_YEAR, 2, 10), state, POLICY, WEEKLY, cal
    )
    assert any(p.kind == "before" for p in planned)
    assert any(p.kind == "due" for p in planned)
    assert calls == [UNKNOWN_YEAR]
    for p in planned:
        if p.date.year == UNKNOWN_YEAR:
            assert p.date.weekday() < 5


# ---------------------------------------------------------------- rendering


def sample_messages() -> list[PlannedMessage]:
    state = busy_state(date(2026, 10, 12), date(2026, 10, 12))  # task 2: only 区财政局
    return preview_messages(
        date(2026, 10, 8), date(2026, 10, 8), state, POLICY, WEEKLY, OfficialCalendar()
    )


def display_column(line: str, text: str) -> int:
    """Terminal column where `text` starts in `line` (wide characters take two columns)."""
    before = line[: line.index(text)]
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in before)


def test_render_schedule_text():
    text = render_schedule(sample_messages(), json=False)
    lines = text.splitlines()
    assert lines[0].split() == ["日期", "时间", "类型", "收件人", "内容"]
    # task 1 is led by 区民政局 (two contacts) and 区残联 (one): one message each
    assert lines[1].split() == [
        "2026-10-08",
        "周四",
        "09:00",
        "提醒",
        "联络员11（区民政局）",
        "1项任务",
    ]
    assert lines[2] == (
        "    · 第1项，提前提醒，完成时限 2026-10-12，提前7天，原定 2026-10-05 非工作日，顺延"
    )
    assert lines[3].split()[4:] == ["联络员12（区民政局）", "1项任务"]
    assert lines[5].split()[4:] == ["联络员21（区残联）", "1项任务"]
    # task 2: 区残联 reported it done; 区财政局's only contact is unreachable: not sent
    assert lines[7].split()[3:] == ["不发送", "暂无可送达的联络员", "1项提醒不会发出"]
    assert lines[8] == "    · 区财政局：第2项"
    assert lines[9].split()[3:] == ["周报", "残工委群", "2026-W41", "周报"]
    assert lines[-1] == (
        "共 4 条消息：提醒 3 条，升级督办 0 条，周报 1 次；"
        "另有 1 项提醒的单位暂无联络员，不会发出。"
    )
    # columns line up in terminal cells (CJK characters are two cells wide)
    assert display_column(lines[0], "收件人") == display_column(lines[1], "联络员11")
    assert display_column(lines[1], "联络员11") == display_column(lines[9], "残工委群")
    assert render_schedule([], json=False) == "该时间段内没有要发送的提醒或周报。"


def test_render_schedule_json():
    data = json.loads(render_schedule(sample_messages(), json=True))
    assert data[0] == {
        "date": "2026-10-08",
        "time": "09:00",
        "kind": "reminders",
        "to": "联络员11",
        "unit": "区民政局",
        "contact": 11,
        "reminders": [
            {
                "kind": "before",
                "task": 1,
                "plan": None,
                "unit": "区民政局",
                "nominal_date": "2026-10-05",
                "deadline": "2026-10-12",
                "offset_days": 7,
            }
        ],
        "escalated": [],
        "without_contact": [],
        "period": None,
    }
    kinds = ["reminders", "reminders", "reminders", "undelivered", "digest"]
    assert [d["kind"] for d in data] == kinds
    assert data[4]["period"] == "2026-W41" and data[4]["reminders"] == []
    assert json.loads(render_schedule([], json=True)) == []


def test_preview_names_the_plan_of_each_reminder_when_several_are_active():
    from dataclasses import replace

    from jobs.plans import PlanView
    from jobs.types import PlanStatus

    old = PlanView(
        1,
        "旧规划",
        "旧〔2022〕1号",
        "十四五",
        date(2022, 1, 1),
        date(2021, 1, 1),
        date(2025, 12, 31),
    )
    new = PlanView(
        2,
        "新规划",
        "新〔2026〕1号",
        "十五五",
        date(2026, 1, 1),
        date(2026, 1, 1),
        date(2030, 12, 31),
    )
    base = busy_state(date(2026, 10, 12), date(2026, 10, 12))
    state = replace(
        base,
        tasks=(replace(base.tasks[0], plan_id=1), replace(base.tasks[1], plan_id=2)),
        plans={1: old, 2: new},
    )
    cal = OfficialCalendar()
    planned = preview(date(2026, 10, 12), date(2026, 10, 12), state, POLICY, None, cal)
    assert [(p.task, p.unit, p.plan) for p in planned] == [
        (1, "区民政局", "十四五"),
        (1, "区残联", "十四五"),
        (2, "区财政局", "十五五"),  # 区残联 reported task 2 done
    ]
    closed = replace(state, plans={1: replace(old, status=PlanStatus.CLOSED), 2: new})
    planned = preview(
        date(2026, 10, 12), date(2026, 10, 12), closed.followed_up(), POLICY, None, cal
    )
    assert {p.plan for p in planned} == {""}  # one active plan left: no plan named
    assert {p.task for p in planned} == {2}

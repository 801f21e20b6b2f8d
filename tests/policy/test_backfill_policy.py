"""Past records (补录), pure policy: which dates and units are refused, how dates are read,
and that a record entered today counts in the reporting cycle by the date it happened."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from jobs.backfill import (
    BackfillRefusal,
    PlanPeriod,
    check_backfill,
    effective_on,
    read_past_date,
)
from jobs.calendar import WeekdayCalendar
from jobs.lights import Light, LightPolicy, reported_in_cycle, unit_light
from jobs.state import FollowUpState, ReportView, TaskView, UnitView
from jobs.types import Status

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 6)
FOURTEENTH = PlanPeriod(date(2021, 1, 1), date(2025, 12, 31))
FIFTEENTH = PlanPeriod(date(2026, 1, 1), date(2030, 12, 31))


@pytest.mark.parametrize(
    ("occurred_on", "period", "named", "expected"),
    [
        (date(2023, 6, 30), FOURTEENTH, True, None),
        (date(2021, 1, 1), FOURTEENTH, True, None),  # the period's first day
        (date(2025, 12, 31), FOURTEENTH, True, None),  # and its last
        (date(2020, 12, 31), FOURTEENTH, True, BackfillRefusal.BEFORE_PLAN),
        (date(2026, 1, 1), FOURTEENTH, True, BackfillRefusal.AFTER_PLAN),
        (date(2026, 12, 6), FIFTEENTH, True, None),  # today is not the future
        (date(2026, 12, 7), FIFTEENTH, True, BackfillRefusal.FUTURE),
        (date(2027, 3, 1), FOURTEENTH, True, BackfillRefusal.FUTURE),  # future beats period
        (date(2023, 6, 30), FOURTEENTH, False, BackfillRefusal.UNIT_NOT_ON_TASK),
        (date(2019, 6, 30), FOURTEENTH, False, BackfillRefusal.BEFORE_PLAN),  # date first
    ],
)
def test_check_backfill(
    occurred_on: date, period: PlanPeriod, named: bool, expected: BackfillRefusal | None
) -> None:
    assert (
        check_backfill(occurred_on=occurred_on, today=TODAY, period=period, named=named) == expected
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-06-30", date(2023, 6, 30)),
        ("2023/6/30", date(2023, 6, 30)),
        ("2023.6.30", date(2023, 6, 30)),
        ("2023年6月30日", date(2023, 6, 30)),
        ("２０２３年６月３０日", date(2023, 6, 30)),  # full-width digits
        ("6月30日", None),  # a past record's year is never guessed
        ("2023-02-30", None),
        ("23-6-30", None),
        ("昨天", None),
        ("", None),
    ],
)
def test_read_past_date(text: str, expected: date | None) -> None:
    assert read_past_date(text, TODAY) == expected


def test_effective_on_is_the_record_date_or_the_local_date_of_creation() -> None:
    late_evening = datetime(2025, 6, 30, 16, 30, tzinfo=UTC)  # 2025-07-01 00:30 local
    assert effective_on(None, late_evening, SHANGHAI) == date(2025, 7, 1)
    assert effective_on(date(2023, 6, 30), late_evening, SHANGHAI) == date(2023, 6, 30)


POLICY = LightPolicy(zone=SHANGHAI, yellow_working_days=10, cycle_day=25)
CYCLE_TODAY = date(2026, 12, 6)  # the cycle began 2026-11-25
ENTERED_TODAY = datetime(2026, 12, 6, 2, tzinfo=UTC)


def state_with(report: ReportView) -> tuple[TaskView, FollowUpState]:
    task = TaskView(1, 1, "任务", date(2027, 6, 30), (7,))
    latest = {(1, 7): report}
    state = FollowUpState(
        tasks=(task,),
        units={7: UnitView(7, "区民政局")},
        contacts=(),
        latest_status={k: v for k, v in latest.items() if v.status is not None},
        latest_report=latest,
    )
    return task, state


def test_a_backfill_entered_today_is_not_this_cycles_report() -> None:
    old = ReportView(
        1, 1, 7, Status.IN_PROGRESS, "补录", ENTERED_TODAY, occurred_on=date(2025, 6, 30)
    )
    task, state = state_with(old)
    assert not reported_in_cycle(task, 7, state, CYCLE_TODAY, POLICY)
    assert unit_light(task, 7, state, CYCLE_TODAY, POLICY, WeekdayCalendar()) is Light.NONE
    # the same report live would be green
    live = ReportView(1, 1, 7, Status.IN_PROGRESS, "现场", ENTERED_TODAY)
    task, state = state_with(live)
    assert reported_in_cycle(task, 7, state, CYCLE_TODAY, POLICY)
    # a record of a day within the cycle counts: it happened in the cycle
    recent = ReportView(
        1, 1, 7, Status.IN_PROGRESS, "补录", ENTERED_TODAY, occurred_on=date(2026, 11, 25)
    )
    task, state = state_with(recent)
    assert reported_in_cycle(task, 7, state, CYCLE_TODAY, POLICY)


def test_a_done_backfill_makes_the_pair_done() -> None:
    done = ReportView(1, 1, 7, Status.DONE, "补录", ENTERED_TODAY, occurred_on=date(2024, 1, 2))
    task, state = state_with(done)
    assert unit_light(task, 7, state, CYCLE_TODAY, POLICY, WeekdayCalendar()) is Light.GREEN


def test_the_digest_row_of_a_past_record_shows_its_date() -> None:
    from dataclasses import replace

    from bot.render import digest_lines
    from jobs.digest import UnitRow, build_digest
    from tests.policy.test_render import NOW, SINCE, small_state

    digest = build_digest(NOW, small_state(), zone=SHANGHAI, since=SINCE)
    rows = (
        UnitRow(1, "区民政局", Status.DONE, "已办结", ENTERED_TODAY, True, date(2023, 6, 30)),
        UnitRow(2, "区残联", Status.IN_PROGRESS, "推进", ENTERED_TODAY, True),
    )
    lines = digest_lines(replace(digest, rows=rows), SHANGHAI)
    shown = [line for line in lines if "区民政局" in line and "已办结" in line]
    assert shown == ["✅ 第1项｜区民政局｜已完成：已办结（2023年6月30日，补录）"]
    [live] = [line for line in lines if "第2项｜区残联" in line]
    assert live.endswith("｜推进中：推进（2026年12月6日 10:00）")

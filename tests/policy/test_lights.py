"""The traffic-light rule (`jobs.lights.unit_light`) and the digest's counts that follow it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from jobs.calendar import WeekdayCalendar
from jobs.digest import build_digest
from jobs.lights import Light, LightPolicy, unit_light
from jobs.state import ContactView, FollowUpState, ReportView, TaskView, UnitView
from jobs.types import Status

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = LightPolicy(zone=SHANGHAI, yellow_working_days=10, cycle_day=25)
TODAY = date(2026, 3, 16)  # the cycle started on 2026-02-25
IN_CYCLE = datetime(2026, 3, 2, 2, tzinfo=UTC)
BEFORE_CYCLE = datetime(2026, 2, 20, 2, tzinfo=UTC)
SOON = date(2026, 3, 20)  # within 10 working days
LATER = date(2026, 9, 30)


def light(status: Status | None, at: datetime | None, deadline: date) -> Light:
    task = TaskView(1, 1, "任务", deadline, (7,))
    latest = {}
    if at is not None:
        latest[(1, 7)] = ReportView(1, 1, 7, status, "说明", at)
    with_status = {k: v for k, v in latest.items() if v.status is not None}
    state = FollowUpState(
        tasks=(task,),
        units={7: UnitView(7, "区民政局")},
        contacts=(),
        latest_status=with_status,
        latest_report=latest,
    )
    return unit_light(task, 7, state, TODAY, POLICY, WeekdayCalendar())


def test_in_progress_in_the_cycle_is_green_even_close_to_the_deadline() -> None:
    assert light(Status.IN_PROGRESS, IN_CYCLE, SOON) is Light.GREEN
    assert light(Status.IN_PROGRESS, IN_CYCLE, LATER) is Light.GREEN


def test_close_to_the_deadline_without_a_report_in_the_cycle_is_yellow() -> None:
    assert light(None, None, SOON) is Light.YELLOW
    assert light(Status.IN_PROGRESS, BEFORE_CYCLE, SOON) is Light.YELLOW


def test_blocked_is_yellow_and_overdue_is_red_whatever_was_reported() -> None:
    assert light(Status.BLOCKED, IN_CYCLE, LATER) is Light.YELLOW
    assert light(Status.IN_PROGRESS, IN_CYCLE, date(2026, 3, 10)) is Light.RED
    assert light(Status.DONE, BEFORE_CYCLE, date(2026, 3, 10)) is Light.GREEN


def test_far_deadline_without_a_report_in_the_cycle_is_none() -> None:
    assert light(None, None, LATER) is Light.NONE
    assert light(Status.IN_PROGRESS, BEFORE_CYCLE, LATER) is Light.NONE


def test_the_digest_counts_add_up_and_every_yellow_or_none_unit_is_listed_silent() -> None:
    units = {i: UnitView(i, f"单位{i}") for i in range(1, 6)}
    tasks = (
        TaskView(1, 1, "一", SOON, (1,)),  # silent, due soon: yellow and silent
        TaskView(2, 2, "二", SOON, (2,)),  # in progress this cycle: green
        TaskView(3, 3, "三", LATER, (3,)),  # silent: none
        TaskView(4, 4, "四", date(2026, 3, 1), (4,)),  # overdue: red
        TaskView(5, 5, "五", LATER, (5, 1)),  # blocked: yellow
    )
    reports = {
        (2, 2): ReportView(1, 2, 2, Status.IN_PROGRESS, "推进", IN_CYCLE),
        (5, 5): ReportView(2, 5, 5, Status.BLOCKED, "资金未到位", IN_CYCLE),
    }
    state = FollowUpState(
        tasks=tasks,
        units=units,
        # every unit but 单位4 has a contact: 单位4 is listed under 尚无联络员, not as silent
        contacts=tuple(ContactView(u, u, 100 + u, 100 + u, f"联络员{u}") for u in (1, 2, 3, 5)),
        latest_status=dict(reports),
        latest_report=dict(reports),
    )
    now = datetime(2026, 3, 16, 1, tzinfo=UTC)
    digest = build_digest(
        now,
        state,
        zone=SHANGHAI,
        since=datetime(2026, 3, 9, 1, tzinfo=UTC),
        lights=POLICY,
        calendar=WeekdayCalendar(),
    )
    counts = digest.light_counts
    assert sum(counts.values()) == len(tasks)
    assert (counts[Light.RED], counts[Light.YELLOW], counts[Light.GREEN], counts[Light.NONE]) == (
        1,
        2,
        1,
        1,
    )
    assert [line.number for line in digest.red] == [4]
    assert [line.number for line in digest.yellow] == [5, 1]  # 遇到困难 first
    assert digest.yellow[0].words[0].status is Status.BLOCKED
    assert digest.yellow[0].words[0].note == "资金未到位"
    silent = dict(digest.silent)
    assert silent["单位1"] == (1, 5) and silent["单位3"] == (3,) and "单位2" not in silent
    assert "单位4" not in silent and digest.units_without_contact == ("单位4",)

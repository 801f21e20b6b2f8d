"""Tests of the escalation and nudge decisions (jobs/escalation.py), at fixed local dates in
Asia/Shanghai on a Monday-Friday calendar. Weekdays (2026): Jan 02 Fri, 05 Mon, 06 Tue,
07 Wed, 08 Thu, 09 Fri, 12 Mon; Jan 25 Sun, 27 Tue, 28 Wed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from jobs.calendar import WeekdayCalendar
from jobs.escalation import escalation_cases, escalation_key, nudge_key, nudges_due
from jobs.lights import LightPolicy
from jobs.state import ContactView, FollowUpState, ReportView, TaskView, UnitView
from jobs.types import Status

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = WeekdayCalendar()
LIGHTS = LightPolicy(zone=SHANGHAI, cycle_day=25)


def contact(cid: int, unit_id: int, **kw: object) -> ContactView:
    return ContactView(
        id=cid,
        unit_id=unit_id,
        telegram_user_id=cid,
        chat_id=cid,
        display_name=f"联络员{cid}",
        **kw,  # type: ignore[arg-type]
    )


def report(task_id: int, unit_id: int, status: Status | None, at: datetime) -> ReportView:
    return ReportView(
        id=task_id * 10 + unit_id,
        task_id=task_id,
        unit_id=unit_id,
        status=status,
        note="",
        created_at=at,
    )


def state(
    *,
    reports: tuple[ReportView, ...] = (),
    contacts: tuple[ContactView, ...] = (),
) -> FollowUpState:
    """Task 1 (deadline 2025-12-31) led by units 1 and 2; task 2 (2026-06-30) led by unit 1."""
    return FollowUpState(
        tasks=(
            TaskView(1, 1, "任务一", date(2025, 12, 31), (1, 2)),
            TaskView(2, 2, "任务二", date(2026, 6, 30), (1,), (3,)),
        ),
        units={i: UnitView(i, f"单位{i}") for i in (1, 2, 3)},
        contacts=contacts,
        latest_status={(r.task_id, r.unit_id): r for r in reports if r.status is not None},
        latest_report={(r.task_id, r.unit_id): r for r in reports},
    )


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 1, 7), []),  # 5 working days after 2025-12-31 (Jan 1-2, 5-7): not > 5
        (date(2026, 1, 8), [(1, 1, 8), (1, 2, 8)]),  # the 6th working day
        (date(2026, 1, 12), [(1, 1, 12), (1, 2, 12)]),
    ],
)
def test_lead_units_overdue_beyond_the_threshold_are_cases(
    today: date, expected: list[tuple[int, int, int]]
) -> None:
    found = escalation_cases(today, state(), CAL, after_working_days=5)
    assert [(c.task.number, c.unit_id, c.overdue_days) for c in found] == expected


def test_a_unit_done_is_no_case_and_a_case_keeps_its_key() -> None:
    done = report(1, 2, Status.DONE, datetime(2026, 1, 2, 2, tzinfo=UTC))
    first = state(reports=(done,))
    assert [
        c.unit_id for c in escalation_cases(date(2026, 1, 8), first, CAL, after_working_days=5)
    ] == [1]
    key = escalation_key(first.tasks[0], 1)
    assert key == "escalation:1:1:2025-12-31"
    # the next day names the same case by the same key, which the send ledger then holds
    later = escalation_cases(date(2026, 1, 9), first, CAL, after_working_days=5)
    assert [c.key for c in later] == [key]


def test_blocked_and_in_progress_units_are_still_cases() -> None:
    at = datetime(2026, 1, 2, 2, tzinfo=UTC)
    reports = (report(1, 1, Status.BLOCKED, at), report(1, 2, Status.IN_PROGRESS, at))
    found = escalation_cases(date(2026, 1, 8), state(reports=reports), CAL, after_working_days=5)
    assert [c.unit_id for c in found] == [1, 2]


def shanghai(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=SHANGHAI)


def test_nudges_come_on_the_cycles_nudge_day_for_silent_lead_units_only() -> None:
    # cycle from 2026-01-25; nudge day 2026-01-27 with nudge_after_days=2
    contacts = (contact(11, 1), contact(12, 2), contact(13, 3))
    reported = report(1, 2, Status.IN_PROGRESS, shanghai(2026, 1, 26))  # in the cycle
    s = state(reports=(reported,), contacts=contacts)
    assert nudges_due(shanghai(2026, 1, 26), s, LIGHTS, nudge_after_days=2) == []
    found = nudges_due(shanghai(2026, 1, 27), s, LIGHTS, nudge_after_days=2)
    # unit 1 silent on tasks 1 and 2; unit 2 reported task 1; unit 3 is only responsible
    assert [(n.contact.id, n.task_numbers, n.cycle_start) for n in found] == [
        (11, (1, 2), date(2026, 1, 25))
    ]
    assert found[0].key == nudge_key(contacts[0], date(2026, 1, 25)) == "nudge:11:2026-01-25"
    # the next day of the same cycle names the same nudge by the same key (the ledger's)
    later = nudges_due(shanghai(2026, 1, 28), s, LIGHTS, nudge_after_days=2)
    assert [n.key for n in later] == [found[0].key]


def test_nudges_skip_unreachable_contacts_those_registered_after_the_nudge_day_and_done_tasks() -> (
    None
):
    contacts = (
        contact(11, 1, unreachable_reason="Forbidden: bot was blocked by the user"),
        contact(12, 1, registered_at=shanghai(2026, 1, 27, 8)),
        contact(13, 1, registered_at=shanghai(2026, 1, 26, 23)),
    )
    done = report(2, 1, Status.DONE, shanghai(2026, 1, 2))
    found = nudges_due(
        shanghai(2026, 1, 27),
        state(reports=(done,), contacts=contacts),
        LIGHTS,
        nudge_after_days=2,
    )
    assert [(n.contact.id, n.task_numbers) for n in found] == [(13, (1,))]


def test_no_nudges_when_switched_off_and_a_naive_instant_is_refused() -> None:
    s = state(contacts=(contact(11, 1),))
    assert nudges_due(shanghai(2026, 1, 27), s, LIGHTS, nudge_after_days=0) == []
    with pytest.raises(ValueError):
        nudges_due(datetime(2026, 1, 27, 10), s, LIGHTS, nudge_after_days=2)

"""Tests of the reminder policy (jobs/policy.py) and the working-day calendar (jobs/calendar.py).

Every expectation is derived by hand from the rules in the module docstrings, at fixed instants
in Asia/Shanghai. Weekdays of the dates used (2026):
  Mar 06 Fri, 09 Mon, 12 Thu, 13 Fri, 14 Sat, 15 Sun, 16 Mon, 17 Tue, 18 Wed, 19 Thu, 20 Fri,
  21 Sat, 22 Sun, 23 Mon, 24 Tue, 25 Wed, 26 Thu, 27 Fri, 28 Sat, 30 Mon; Apr 03 Fri;
  Sep 26 Sat, 27 Sun; Oct 01 Thu, 02 Fri, 08 Thu, 09 Fri, 10 Sat.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobs.calendar import WeekdayCalendar, WorkingCalendar, next_working_day
from jobs.policy import (
    DigestSchedule,
    DueReminder,
    Occasion,
    ReminderPolicy,
    current_occasion,
    reminder_candidates,
    sending_allowed,
)
from jobs.schedule import digest_due
from jobs.state import ContactView, FollowUpState, ReportView, TaskView, UnitView
from jobs.types import ReminderKind, Status

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = ReminderPolicy(zone=SHANGHAI)
CAL = WeekdayCalendar()

TASK_ID = 100
TASK_NUMBER = 7
UNIT_A = 1
UNIT_B = 2


def local(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    """An aware instant in Shanghai local time."""
    return datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


def utc(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


def contact(cid: int, unit_id: int, unreachable: str | None = None) -> ContactView:
    return ContactView(
        id=cid,
        unit_id=unit_id,
        telegram_user_id=5000 + cid,
        chat_id=5000 + cid,
        display_name=f"联络员{cid}",
        unreachable_reason=unreachable,
    )


def report(unit_id: int, status: Status | None, *, task_id: int = TASK_ID) -> ReportView:
    return ReportView(
        id=900 + unit_id,
        task_id=task_id,
        unit_id=unit_id,
        status=status,
        note="说明",
        created_at=utc(2026, 3, 1, 2),
    )


def make_state(
    deadline: date,
    *,
    leads: tuple[int, ...] = (UNIT_A,),
    contacts: tuple[ContactView, ...] = (contact(11, UNIT_A),),
    latest_status: dict[tuple[int, int], ReportView] | None = None,
) -> FollowUpState:
    return FollowUpState(
        tasks=(
            TaskView(
                id=TASK_ID,
                number=TASK_NUMBER,
                text="为残疾人提供服务。",
                deadline=deadline,
                lead_unit_ids=leads,
                responsible_unit_ids=(3,),
            ),
        ),
        units={
            UNIT_A: UnitView(UNIT_A, "区民政局"),
            UNIT_B: UnitView(UNIT_B, "区残联"),
            3: UnitView(3, "区财政局"),
        },
        contacts=contacts,
        latest_status=dict(latest_status or {}),
    )


def unsent_reminders(
    now: datetime,
    state: FollowUpState,
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
    sent: set[str],
) -> list[DueReminder]:
    """What the tick sends at `now`: the reminder candidates whose key is not in the ledger."""
    return [r for r in reminder_candidates(now, state, policy, calendar) if r.key not in sent]


def due(now: datetime, state: FollowUpState, sent: set[str] | None = None, **kw: object):
    policy = ReminderPolicy(zone=SHANGHAI, **kw) if kw else POLICY  # type: ignore[arg-type]
    return unsent_reminders(now, state, policy, CAL, sent or set())


# ---------------------------------------------------------------- before the deadline

FRIDAY_DEADLINE = date(2026, 3, 20)


@pytest.mark.parametrize(
    ("today", "kind", "offset", "key_kind"),
    [
        (date(2026, 3, 6), ReminderKind.BEFORE, 14, "before"),
        (date(2026, 3, 13), ReminderKind.BEFORE, 7, "before"),
        (date(2026, 3, 17), ReminderKind.BEFORE, 3, "before"),
        (date(2026, 3, 19), ReminderKind.BEFORE, 1, "before"),
        (date(2026, 3, 20), ReminderKind.DUE, 0, "due"),
    ],
)
def test_each_offset_gives_one_reminder(today, kind, offset, key_kind):
    state = make_state(FRIDAY_DEADLINE)
    now = local(today.year, today.month, today.day, 10)
    result = due(now, state)
    assert len(result) == 1
    r = result[0]
    assert r.occasion.kind is kind
    assert r.occasion.nominal_on == today
    assert r.occasion.send_on == today
    assert r.occasion.offset_days == offset
    assert r.days_left == offset
    assert r.key == f"reminder:100:1:11:{key_kind}:{today.isoformat()}"
    assert r.task.number == TASK_NUMBER
    assert r.unit_id == UNIT_A
    assert r.contact.id == 11


def test_nothing_fifteen_days_before():
    state = make_state(FRIDAY_DEADLINE)
    assert due(local(2026, 3, 5), state) == []  # Thursday, deadline - 15
    assert current_occasion(FRIDAY_DEADLINE, date(2026, 3, 5), POLICY, CAL) is None


def test_nothing_between_offsets_once_the_occasion_was_sent():
    state = make_state(FRIDAY_DEADLINE)
    sent = {"reminder:100:1:11:before:2026-03-06"}
    for day in (9, 10, 11, 12):  # Mon..Thu between the 14- and the 7-day occasions
        assert due(local(2026, 3, day, 10), state, sent) == []
    # and the 7-day occasion comes on its day
    [r] = due(local(2026, 3, 13, 10), state, sent)
    assert r.key == "reminder:100:1:11:before:2026-03-13"


def test_on_the_day_can_be_switched_off():
    state = make_state(FRIDAY_DEADLINE)
    sent = {"reminder:100:1:11:before:2026-03-19"}
    assert due(local(2026, 3, 20), state, sent, on_the_day=False) == []


def test_custom_before_days():
    state = make_state(FRIDAY_DEADLINE)
    [r] = due(local(2026, 3, 18), state, before_days=(2,))
    assert r.key == "reminder:100:1:11:before:2026-03-18"
    assert r.days_left == 2
    # with only a 2-day offset, nothing 3 days before
    assert due(local(2026, 3, 17), state, before_days=(2,)) == []


# ---------------------------------------------------------------- weekends


def test_weekend_occasion_moves_to_monday():
    deadline = date(2026, 3, 18)  # Wednesday: the 3-day occasion is Sunday 15th
    state = make_state(deadline)
    sent = {"reminder:100:1:11:before:2026-03-04", "reminder:100:1:11:before:2026-03-11"}
    assert due(local(2026, 3, 14, 10), state, sent) == []  # Saturday
    assert due(local(2026, 3, 15, 10), state, sent) == []  # Sunday
    [r] = due(local(2026, 3, 16, 10), state, sent)  # Monday
    assert r.occasion.kind is ReminderKind.BEFORE
    assert r.occasion.nominal_on == date(2026, 3, 15)
    assert r.occasion.send_on == date(2026, 3, 16)
    assert r.occasion.offset_days == 3
    assert r.days_left == 2
    assert r.key == "reminder:100:1:11:before:2026-03-15"


def test_two_occasions_on_the_same_monday_keep_the_nearer_one():
    deadline = date(2026, 3, 24)  # Tuesday: 3-day = Sat 21st -> Mon 23rd; 1-day = Mon 23rd
    state = make_state(deadline)
    sent = {"reminder:100:1:11:before:2026-03-10", "reminder:100:1:11:before:2026-03-17"}
    assert due(local(2026, 3, 20, 10), state, sent) == []  # Friday: the 3-day one is not due yet
    result = due(local(2026, 3, 23, 10), state, sent)
    assert len(result) == 1
    [r] = result
    assert r.occasion.kind is ReminderKind.BEFORE
    assert r.occasion.nominal_on == date(2026, 3, 23)
    assert r.occasion.offset_days == 1
    assert r.days_left == 1
    assert r.key == "reminder:100:1:11:before:2026-03-23"
    # once the 1-day one is sent, the superseded 3-day one never goes out
    sent.add(r.key)
    assert due(local(2026, 3, 23, 15), state, sent) == []
    # the deadline day
    [r2] = due(local(2026, 3, 24, 10), state, sent)
    assert r2.key == "reminder:100:1:11:due:2026-03-24"


def test_due_day_on_sunday_moves_to_monday_and_beats_the_saturday_occasion():
    deadline = date(2026, 3, 22)  # Sunday; the 1-day occasion is Saturday
    state = make_state(deadline)
    sent = {"reminder:100:1:11:before:2026-03-19"}  # the 3-day occasion, Thursday
    assert due(local(2026, 3, 20), state, sent) == []
    [r] = due(local(2026, 3, 23), state, sent)
    assert r.occasion.kind is ReminderKind.DUE
    assert r.occasion.nominal_on == date(2026, 3, 22)
    assert r.occasion.send_on == date(2026, 3, 23)
    assert r.days_left == -1
    assert r.key == "reminder:100:1:11:due:2026-03-22"


def test_nothing_on_weekends_even_when_overdue():
    state = make_state(FRIDAY_DEADLINE)
    assert due(local(2026, 3, 21, 10), state) == []
    assert due(local(2026, 3, 22, 15), state) == []
    assert due(local(2026, 3, 28, 10), state) == []  # Saturday, deadline + 8


# ---------------------------------------------------------------- hours and zone


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 3, 20, 0, 30), 0),  # 08:30 in Shanghai
        (utc(2026, 3, 20, 0, 59), 0),  # 08:59
        (utc(2026, 3, 20, 1, 0), 1),  # 09:00
        (utc(2026, 3, 20, 4, 0), 1),  # 12:00
        (utc(2026, 3, 20, 12, 59), 1),  # 20:59
        (utc(2026, 3, 20, 13, 0), 0),  # 21:00
        (utc(2026, 3, 20, 15, 30), 0),  # 23:30
        (utc(2026, 3, 19, 23, 0), 0),  # 07:00 on the 20th
        (local(2026, 3, 20, 8, 59), 0),
        (local(2026, 3, 20, 9, 0), 1),
        (local(2026, 3, 20, 20, 59), 1),
        (local(2026, 3, 20, 21, 0), 0),
    ],
)
def test_sending_hours_are_local(now, expected):
    state = make_state(FRIDAY_DEADLINE)
    result = due(now, state)
    assert len(result) == expected
    if expected:
        assert result[0].key == "reminder:100:1:11:due:2026-03-20"
        assert result[0].days_left == 0


def test_local_date_not_utc_date_decides_the_occasion():
    # 21:30 on Thursday in New York is 09:30 on Friday in Shanghai: the deadline day there.
    new_york = datetime(2026, 3, 19, 21, 30, tzinfo=ZoneInfo("America/New_York"))
    state = make_state(FRIDAY_DEADLINE)
    [r] = due(new_york, state)
    assert r.occasion.kind is ReminderKind.DUE
    assert r.days_left == 0


def test_custom_hours():
    state = make_state(FRIDAY_DEADLINE)
    assert due(local(2026, 3, 20, 8, 0), state, reminder_hour=8, quiet_after_hour=18) != []
    assert due(local(2026, 3, 20, 17, 59), state, reminder_hour=8, quiet_after_hour=18) != []
    assert due(local(2026, 3, 20, 18, 0), state, reminder_hour=8, quiet_after_hour=18) == []


def test_sending_allowed():
    assert sending_allowed(local(2026, 3, 20, 9), POLICY, CAL) is True
    assert sending_allowed(local(2026, 3, 21, 12), POLICY, CAL) is False  # Saturday
    assert sending_allowed(utc(2026, 3, 20, 0, 30), POLICY, CAL) is False  # 08:30 local
    assert sending_allowed(utc(2026, 3, 20, 13, 0), POLICY, CAL) is False  # 21:00 local


# ---------------------------------------------------------------- overdue


def test_overdue_repeats_every_seven_days():
    state = make_state(FRIDAY_DEADLINE)
    sent = {"reminder:100:1:11:due:2026-03-20"}
    for day in (23, 24, 25, 26):  # working days before deadline + 7
        assert due(local(2026, 3, day), state, sent) == [], day
    [r7] = due(local(2026, 3, 27), state, sent)
    assert r7.occasion.kind is ReminderKind.OVERDUE
    assert r7.occasion.nominal_on == date(2026, 3, 27)
    assert r7.occasion.offset_days == 7
    assert r7.days_left == -7
    assert r7.key == "reminder:100:1:11:overdue:2026-03-27"
    sent.add(r7.key)
    for day in (date(2026, 3, 30), date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 2)):
        assert due(local(day.year, day.month, day.day), state, sent) == [], day
    [r14] = due(local(2026, 4, 3), state, sent)
    assert r14.occasion.kind is ReminderKind.OVERDUE
    assert r14.occasion.nominal_on == date(2026, 4, 3)
    assert r14.occasion.offset_days == 14
    assert r14.days_left == -14
    assert r14.key == "reminder:100:1:11:overdue:2026-04-03"
    sent.add(r14.key)
    [r21] = due(local(2026, 4, 10), state, sent)
    assert r21.key == "reminder:100:1:11:overdue:2026-04-10"
    assert r21.days_left == -21


def test_overdue_on_a_weekend_moves_to_monday():
    deadline = date(2026, 3, 21)  # Saturday: deadline + 7 is Saturday 28th
    state = make_state(deadline)
    sent = {"reminder:100:1:11:due:2026-03-21"}
    assert due(local(2026, 3, 27), state, sent) == []
    [r] = due(local(2026, 3, 30), state, sent)
    assert r.occasion.kind is ReminderKind.OVERDUE
    assert r.occasion.nominal_on == date(2026, 3, 28)
    assert r.occasion.send_on == date(2026, 3, 30)
    assert r.days_left == -9
    assert r.key == "reminder:100:1:11:overdue:2026-03-28"


def test_current_occasion_on_a_non_working_day():
    # deadline Saturday 21 March; on Sunday 5 April the newest overdue occasion (Sat 4 April)
    # is not sent until Monday 6th, so the current one is still deadline + 7 (sent Mon 30th)
    occasion = current_occasion(date(2026, 3, 21), date(2026, 4, 5), POLICY, CAL)
    assert occasion == Occasion(
        kind=ReminderKind.OVERDUE,
        nominal_on=date(2026, 3, 28),
        send_on=date(2026, 3, 30),
        offset_days=7,
    )
    # on Monday 6th the deadline + 14 occasion takes over
    occasion = current_occasion(date(2026, 3, 21), date(2026, 4, 6), POLICY, CAL)
    assert occasion == Occasion(ReminderKind.OVERDUE, date(2026, 4, 4), date(2026, 4, 6), 14)
    # Sunday 22nd: the DUE occasion (Sat 21st) is only sent on Monday, so the 1-day one
    # (Friday 20th) is still current; on Monday the DUE occasion takes over
    occasion = current_occasion(date(2026, 3, 21), date(2026, 3, 22), POLICY, CAL)
    assert occasion == Occasion(ReminderKind.BEFORE, date(2026, 3, 20), date(2026, 3, 20), 1)
    occasion = current_occasion(date(2026, 3, 21), date(2026, 3, 23), POLICY, CAL)
    assert occasion == Occasion(ReminderKind.DUE, date(2026, 3, 21), date(2026, 3, 23), 0)


def test_overdue_every_three_days():
    state = make_state(FRIDAY_DEADLINE)
    sent = {"reminder:100:1:11:due:2026-03-20"}
    [r] = due(local(2026, 3, 23), state, sent, overdue_every_days=3)
    assert r.key == "reminder:100:1:11:overdue:2026-03-23"
    sent.add(r.key)
    assert due(local(2026, 3, 25), state, sent, overdue_every_days=3) == []
    [r2] = due(local(2026, 3, 26), state, sent, overdue_every_days=3)
    assert r2.key == "reminder:100:1:11:overdue:2026-03-26"
    assert r2.occasion.offset_days == 6


# ---------------------------------------------------------------- who gets reminded


def test_done_unit_gets_nothing_other_lead_unit_still_does():
    state = make_state(
        FRIDAY_DEADLINE,
        leads=(UNIT_A, UNIT_B),
        contacts=(contact(11, UNIT_A), contact(21, UNIT_B)),
        latest_status={(TASK_ID, UNIT_A): report(UNIT_A, Status.DONE)},
    )
    result = due(local(2026, 3, 20), state)
    assert [(r.unit_id, r.contact.id, r.key) for r in result] == [
        (UNIT_B, 21, "reminder:100:2:21:due:2026-03-20")
    ]


@pytest.mark.parametrize("status", [Status.IN_PROGRESS, Status.BLOCKED, Status.NOT_STARTED])
def test_unit_not_done_is_reminded(status):
    state = make_state(FRIDAY_DEADLINE, latest_status={(TASK_ID, UNIT_A): report(UNIT_A, status)})
    [r] = due(local(2026, 3, 20), state)
    assert r.key == "reminder:100:1:11:due:2026-03-20"


def test_all_lead_units_done_nobody_reminded():
    state = make_state(
        FRIDAY_DEADLINE,
        leads=(UNIT_A, UNIT_B),
        contacts=(contact(11, UNIT_A), contact(21, UNIT_B)),
        latest_status={
            (TASK_ID, UNIT_A): report(UNIT_A, Status.DONE),
            (TASK_ID, UNIT_B): report(UNIT_B, Status.DONE),
        },
    )
    assert due(local(2026, 3, 27), state) == []


def test_unreachable_contact_is_skipped():
    state = make_state(
        FRIDAY_DEADLINE,
        contacts=(contact(11, UNIT_A, unreachable="bot blocked"), contact(12, UNIT_A)),
    )
    result = due(local(2026, 3, 20), state)
    assert [r.key for r in result] == ["reminder:100:1:12:due:2026-03-20"]


def test_unit_without_reachable_contact_gets_nothing():
    state = make_state(FRIDAY_DEADLINE, contacts=(contact(11, UNIT_A, unreachable="gone"),))
    assert due(local(2026, 3, 20), state) == []


def test_responsible_unit_contact_is_not_reminded():
    state = make_state(FRIDAY_DEADLINE, contacts=(contact(31, 3),))
    assert due(local(2026, 3, 20), state) == []


def test_each_contact_of_a_unit_gets_one():
    state = make_state(
        FRIDAY_DEADLINE,
        contacts=(contact(11, UNIT_A), contact(12, UNIT_A), contact(13, UNIT_A)),
    )
    result = due(local(2026, 3, 19), state)
    assert sorted(r.key for r in result) == [
        "reminder:100:1:11:before:2026-03-19",
        "reminder:100:1:12:before:2026-03-19",
        "reminder:100:1:13:before:2026-03-19",
    ]
    assert sorted(r.contact.id for r in result) == [11, 12, 13]


def test_several_tasks_share_and_differ_in_deadline():
    state = FollowUpState(
        tasks=(
            TaskView(1, 1, "甲", date(2026, 3, 20), (UNIT_A,)),
            TaskView(2, 2, "乙", date(2026, 3, 20), (UNIT_A,)),
            TaskView(3, 3, "丙", date(2026, 3, 27), (UNIT_A,)),
        ),
        units={UNIT_A: UnitView(UNIT_A, "区民政局")},
        contacts=(contact(11, UNIT_A),),
    )
    result = due(local(2026, 3, 20), state)
    assert sorted(r.key for r in result) == [
        "reminder:1:1:11:due:2026-03-20",
        "reminder:2:1:11:due:2026-03-20",
        "reminder:3:1:11:before:2026-03-20",
    ]


# ---------------------------------------------------------------- restart and catch-up


def test_restart_at_the_same_instant_sends_nothing_twice():
    state = make_state(
        FRIDAY_DEADLINE,
        leads=(UNIT_A, UNIT_B),
        contacts=(contact(11, UNIT_A), contact(12, UNIT_A), contact(21, UNIT_B)),
    )
    now = local(2026, 3, 17, 9, 5)
    first = due(now, state)
    assert sorted(r.key for r in first) == [
        "reminder:100:1:11:before:2026-03-17",
        "reminder:100:1:12:before:2026-03-17",
        "reminder:100:2:21:before:2026-03-17",
    ]
    ledger = {r.key for r in first}
    assert due(now, state, ledger) == []
    assert due(now + timedelta(minutes=1), state, ledger) == []
    assert due(local(2026, 3, 18, 16), state, ledger) == []
    # candidates are still there; only the ledger filters them
    assert len(reminder_candidates(now, state, POLICY, CAL)) == 3


def test_catch_up_after_missing_the_seven_day_occasion():
    deadline = date(2026, 3, 23)  # Monday: 14-day = Mon 9th, 7-day = Mon 16th, 3-day = Fri 20th
    state = make_state(deadline)
    ledger = {"reminder:100:1:11:before:2026-03-09"}
    # the bot was down on Monday 16th and comes back on Wednesday 18th (5 days before)
    result = due(local(2026, 3, 18, 10), state, ledger)
    assert len(result) == 1
    [r] = result
    assert r.occasion.kind is ReminderKind.BEFORE
    assert r.occasion.nominal_on == date(2026, 3, 16)
    assert r.occasion.offset_days == 7
    assert r.days_left == 5
    assert r.key == "reminder:100:1:11:before:2026-03-16"
    ledger.add(r.key)
    # once
    assert due(local(2026, 3, 18, 10, 1), state, ledger) == []
    assert due(local(2026, 3, 19, 10), state, ledger) == []
    # then the 3-day occasion on its day
    [r3] = due(local(2026, 3, 20, 10), state, ledger)
    assert r3.key == "reminder:100:1:11:before:2026-03-20"


def test_catch_up_newest_occasion_supersedes_older_missed_ones():
    deadline = date(2026, 3, 26)  # Thursday: 7-day = Thu 19th, 3-day = Mon 23rd
    state = make_state(deadline)
    ledger = {"reminder:100:1:11:before:2026-03-12"}
    # down during both the 7-day and the 3-day occasions; back on Tuesday 24th (2 days before)
    result = due(local(2026, 3, 24, 10), state, ledger)
    assert len(result) == 1
    [r] = result
    assert r.occasion.nominal_on == date(2026, 3, 23)
    assert r.occasion.offset_days == 3
    assert r.days_left == 2
    assert r.key == "reminder:100:1:11:before:2026-03-23"
    ledger.add(r.key)
    assert due(local(2026, 3, 24, 20), state, ledger) == []
    [r1] = due(local(2026, 3, 25, 10), state, ledger)
    assert r1.key == "reminder:100:1:11:before:2026-03-25"


def test_catch_up_after_the_deadline_sends_the_overdue_not_the_due():
    state = make_state(FRIDAY_DEADLINE)
    ledger = {"reminder:100:1:11:before:2026-03-19"}
    [r] = due(local(2026, 3, 30), state, ledger)  # deadline + 10, down since the 19th
    assert r.occasion.kind is ReminderKind.OVERDUE
    assert r.key == "reminder:100:1:11:overdue:2026-03-27"
    assert r.days_left == -10


def test_naive_datetime_raises():
    state = make_state(FRIDAY_DEADLINE)
    with pytest.raises(ValueError):
        reminder_candidates(datetime(2026, 3, 20, 10), state, POLICY, CAL)


# ---------------------------------------------------------------- holidays


NATIONAL_DAY = [date(2026, 10, d) for d in range(1, 8)]  # Thu 1st .. Wed 7th
MAKE_UP = [date(2026, 9, 27), date(2026, 10, 10)]  # Sunday, Saturday


def test_occasion_on_a_holiday_moves_to_next_working_day():
    cal = WeekdayCalendar(holidays=NATIONAL_DAY, workdays=MAKE_UP)
    # deadline Saturday 10th (a make-up working day): 14-day = Sat 26 Sep -> Mon 28 Sep;
    # 7-day = Sat 3rd (holiday), 3-day = Wed 7th (holiday): both go out on Thursday 8th
    deadline = date(2026, 10, 10)
    state = make_state(deadline)
    ledger = {"reminder:100:1:11:before:2026-09-26"}
    assert unsent_reminders(local(2026, 10, 2), state, POLICY, cal, ledger) == []
    assert unsent_reminders(local(2026, 10, 7), state, POLICY, cal, ledger) == []
    [r] = unsent_reminders(local(2026, 10, 8), state, POLICY, cal, ledger)
    assert r.occasion.nominal_on == date(2026, 10, 7)
    assert r.occasion.send_on == date(2026, 10, 8)
    assert r.occasion.offset_days == 3
    assert r.days_left == 2
    assert r.key == "reminder:100:1:11:before:2026-10-07"


def test_make_up_workday_allows_sending():
    cal = WeekdayCalendar(holidays=NATIONAL_DAY, workdays=MAKE_UP)
    deadline = date(2026, 10, 10)  # Saturday, a make-up working day
    state = make_state(deadline)
    ledger = {"reminder:100:1:11:before:2026-10-09"}
    [r] = unsent_reminders(local(2026, 10, 10), state, POLICY, cal, ledger)
    assert r.key == "reminder:100:1:11:due:2026-10-10"
    assert r.occasion.send_on == date(2026, 10, 10)


# ---------------------------------------------------------------- calendar


def test_weekday_calendar_plain():
    cal = WeekdayCalendar()
    assert [cal.is_working_day(date(2026, 3, d)) for d in range(16, 23)] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_weekday_calendar_overrides():
    cal = WeekdayCalendar(holidays=NATIONAL_DAY, workdays=MAKE_UP)
    assert cal.is_working_day(date(2026, 10, 1)) is False  # Thursday holiday
    assert cal.is_working_day(date(2026, 10, 2)) is False  # Friday holiday
    assert cal.is_working_day(date(2026, 10, 8)) is True  # Thursday after
    assert cal.is_working_day(date(2026, 9, 27)) is True  # make-up Sunday
    assert cal.is_working_day(date(2026, 10, 10)) is True  # make-up Saturday
    assert cal.is_working_day(date(2026, 9, 26)) is False  # ordinary Saturday
    both = WeekdayCalendar(holidays=[date(2026, 3, 21)], workdays=[date(2026, 3, 21)])
    assert both.is_working_day(date(2026, 3, 21)) is True  # workdays win


def test_next_working_day():
    cal = WeekdayCalendar(holidays=NATIONAL_DAY, workdays=MAKE_UP)
    assert next_working_day(cal, date(2026, 3, 16)) == date(2026, 3, 16)  # Monday itself
    assert next_working_day(cal, date(2026, 3, 21)) == date(2026, 3, 23)  # Saturday
    assert next_working_day(cal, date(2026, 3, 22)) == date(2026, 3, 23)  # Sunday
    assert next_working_day(cal, date(2026, 9, 26)) == date(2026, 9, 27)  # make-up Sunday
    assert next_working_day(WeekdayCalendar(), date(2026, 9, 26)) == date(2026, 9, 28)
    assert next_working_day(cal, date(2026, 9, 27)) == date(2026, 9, 27)  # make-up Sunday
    assert next_working_day(cal, date(2026, 10, 1)) == date(2026, 10, 8)  # whole holiday
    assert next_working_day(cal, date(2026, 10, 9)) == date(2026, 10, 9)


def test_next_working_day_without_any_raises():
    class NeverWorks:
        def is_working_day(self, day: date) -> bool:
            return False

    with pytest.raises(ValueError):
        next_working_day(NeverWorks(), date(2026, 1, 1))


# ---------------------------------------------------------------- digest schedule

WEEKLY = DigestSchedule(zone=SHANGHAI)


class EveryDay:
    """A calendar on which every day is a working day, so `digest_due` never moves a digest."""

    def is_working_day(self, day: date) -> bool:
        return True


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(2026, 3, 16, 8, 59), None),  # Monday before 09:00
        (utc(2026, 3, 16, 0, 59), None),  # 08:59 local
        (utc(2026, 3, 16, 1, 0), "2026-W12"),  # 09:00 local
        (local(2026, 3, 16, 9, 0), "2026-W12"),
        (local(2026, 3, 18, 3, 0), "2026-W12"),  # Wednesday night
        (local(2026, 3, 22, 23, 59), "2026-W12"),  # Sunday evening of the same week
        (utc(2026, 3, 22, 15, 59), "2026-W12"),  # Sunday 23:59 local
        (utc(2026, 3, 22, 16, 30), None),  # Monday 00:30 local of week 13
        (local(2026, 3, 23, 8, 59), None),
        (local(2026, 3, 23, 9, 0), "2026-W13"),
        # New Year: 2025-12-29 (Monday) starts ISO week 2026-W01
        (local(2025, 12, 29, 8, 0), None),
        (local(2025, 12, 29, 9, 0), "2026-W01"),
        (local(2026, 1, 1, 10, 0), "2026-W01"),
        # 2020 has 53 ISO weeks; 1-3 January 2021 belong to 2020-W53
        (local(2021, 1, 1, 10, 0), "2020-W53"),
        (local(2021, 1, 3, 22, 0), "2020-W53"),
        (local(2021, 1, 4, 8, 0), None),
        (local(2021, 1, 4, 9, 0), "2021-W01"),
        # 2026 has 53 ISO weeks too
        (utc(2026, 12, 28, 1, 0), "2026-W53"),
        (local(2027, 1, 3, 12, 0), "2026-W53"),
        (utc(2027, 1, 3, 16, 30), None),  # Monday 00:30 local, 4 January 2027
        (local(2027, 1, 4, 9, 30), "2027-W01"),
    ],
)
def test_digest_due_on_every_day(now, expected):
    assert digest_due(now, WEEKLY, EveryDay()) == expected


def test_digest_due_other_weekday_and_time():
    friday = DigestSchedule(zone=SHANGHAI, weekday=5, at=time(17, 30))
    assert digest_due(local(2026, 3, 19, 20), friday, EveryDay()) is None  # Thursday
    assert digest_due(local(2026, 3, 20, 17, 29), friday, EveryDay()) is None
    assert digest_due(local(2026, 3, 20, 17, 30), friday, EveryDay()) == "2026-W12"
    assert digest_due(local(2026, 3, 22, 12), friday, EveryDay()) == "2026-W12"
    assert digest_due(local(2026, 3, 23, 12), friday, EveryDay()) is None  # Monday of week 13

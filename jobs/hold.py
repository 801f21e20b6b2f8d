"""Whether the follow-up of a plan is held until a coordinator decides. Pure functions.

A plan is checked when the bot starts and when its task file is (re)loaded. Its follow-up is
*held* when some open (task, lead unit) pair is past its deadline and either
- the plan's period has ended (`today` is after `period_end`), or
- more than half of the open pairs are overdue by more than `overdue_working_days` working
  days (default 10, counted on the working-day calendar, `jobs.calendar`).
An open pair is a lead unit of a task that has not reported it done.

While held and undecided, the bot sends nothing about the past on its own: no overdue
reminders (`ReminderKind.OVERDUE`), no escalations and no weekly digest; reminders before
and on a deadline and answers to people still go out. A coordinator decides once per hold
(`HoldDecision`): SEND lets what is due go out, once each; DROP settles what is due now as
dropped in the send ledger, so it never goes out, and the follow-up goes on from the next
occasion. Nothing here reads the clock, the database or Telegram.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from jobs.calendar import WorkingCalendar
from jobs.lights import working_days_until
from jobs.state import FollowUpState
from jobs.types import ReminderKind

OVERDUE_WORKING_DAYS = 10


@dataclass(frozen=True)
class HoldFinding:
    """What the check of a plan found at local date `today`.

    `open_pairs` counts the open (task, lead unit) pairs, `late_pairs` those past their
    deadline, `overdue_pairs` those overdue by more than `overdue_working_days` working days.
    """

    today: date
    period_end: date
    open_pairs: int
    late_pairs: int
    overdue_pairs: int
    overdue_working_days: int = OVERDUE_WORKING_DAYS

    @property
    def period_ended(self) -> bool:
        """True when `today` is after the plan's last day."""
        return self.today > self.period_end

    @property
    def mostly_overdue(self) -> bool:
        """True when more than half of the open pairs are overdue beyond the threshold."""
        return 2 * self.overdue_pairs > self.open_pairs

    @property
    def held(self) -> bool:
        """True when the follow-up should wait for a coordinator (rule in the module doc)."""
        return self.late_pairs > 0 and (self.period_ended or self.mostly_overdue)


def assess(
    today: date,
    period_end: date,
    deadlines: Iterable[date],
    calendar: WorkingCalendar,
    *,
    overdue_working_days: int = OVERDUE_WORKING_DAYS,
) -> HoldFinding:
    """Check a plan at local date `today`: `deadlines` has one entry per open pair."""
    counted: dict[date, int] = {}
    open_pairs = late = overdue = 0
    for deadline in deadlines:
        open_pairs += 1
        if deadline >= today:
            continue
        late += 1
        if deadline not in counted:
            counted[deadline] = working_days_until(
                deadline, today, calendar, stop_after=overdue_working_days
            )
        if counted[deadline] > overdue_working_days:
            overdue += 1
    return HoldFinding(
        today=today,
        period_end=period_end,
        open_pairs=open_pairs,
        late_pairs=late,
        overdue_pairs=overdue,
        overdue_working_days=overdue_working_days,
    )


def open_pair_deadlines(state: FollowUpState) -> list[date]:
    """The deadline of every open (task, lead unit) pair of `state`, in task order."""
    return [
        task.deadline
        for task in state.tasks
        for unit_id in task.lead_unit_ids
        if not state.unit_claimed(task.id, unit_id)
    ]


def assess_state(
    today: date,
    period_end: date,
    state: FollowUpState,
    calendar: WorkingCalendar,
    *,
    overdue_working_days: int = OVERDUE_WORKING_DAYS,
) -> HoldFinding:
    """`assess` on the open pairs of a follow-up state."""
    return assess(
        today,
        period_end,
        open_pair_deadlines(state),
        calendar,
        overdue_working_days=overdue_working_days,
    )


def held_reminder(kind: ReminderKind) -> bool:
    """Whether a reminder of this kind waits while the follow-up is held (overdue ones)."""
    return kind is ReminderKind.OVERDUE

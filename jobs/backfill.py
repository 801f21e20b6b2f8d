"""Past records (补录): whether a record a coordinator enters for an earlier date may be
stored. Pure functions; `today` (a local date in the configured zone) is passed in.

A past record names a task, a unit, a status, a note and the local date it happened
(`occurred_on`). It is refused when:

- the date is not a full calendar date with a four-digit year (``6月30日`` is refused: a
  past record's year must be said, not guessed);
- the date is after `today`;
- the date lies outside the plan's period (`period_start`..`period_end`, both included);
- the unit may not report on the task (`named`: it leads it, is a responsible unit (协办),
  or is a member town of a collective unit named on it, as `repo.may_report` says).

A 已完成 from a unit that is only a responsible unit is accepted: it records that unit's
part as done; the task's own state follows its lead units (lights, reminders, 办结率), so it
does not close the task. The note's rules are the chat's (`bot.flow_common.note_problem`),
applied by the callers.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from jobs.dates import parse_date

_YEAR = re.compile(r"\d{4}")


class BackfillRefusal(enum.StrEnum):
    """Why a past record is refused (the chat and the console word each in Chinese)."""

    UNREADABLE_DATE = "unreadable_date"
    FUTURE = "future"
    BEFORE_PLAN = "before_plan"
    AFTER_PLAN = "after_plan"
    UNIT_NOT_ON_TASK = "unit_not_on_task"


@dataclass(frozen=True)
class PlanPeriod:
    """A plan's period, both ends included (local dates)."""

    start: date
    end: date


def read_past_date(text: str, today: date) -> date | None:
    """A past record's date typed by a person: ``2023-06-30``, ``2023/6/30``,
    ``2023.6.30`` or ``2023年6月30日``; None if unreadable, not a real calendar day, or
    without a four-digit year."""
    cleaned = "".join(unicodedata.normalize("NFKC", text).split())
    if not _YEAR.match(cleaned):
        return None
    return parse_date(cleaned, today)


def check_backfill(
    *, occurred_on: date, today: date, period: PlanPeriod, named: bool
) -> BackfillRefusal | None:
    """Why the record may not be stored (the first problem, in the module doc's order after
    the date's reading), or None if it may."""
    if occurred_on > today:
        return BackfillRefusal.FUTURE
    if occurred_on < period.start:
        return BackfillRefusal.BEFORE_PLAN
    if occurred_on > period.end:
        return BackfillRefusal.AFTER_PLAN
    if not named:
        return BackfillRefusal.UNIT_NOT_ON_TASK
    return None


def effective_on(occurred_on: date | None, created_at: datetime, zone: ZoneInfo) -> date:
    """A report's effective local date: `occurred_on` for a past record, else the date
    `created_at` (aware) falls on in `zone`."""
    if occurred_on is not None:
        return occurred_on
    return created_at.astimezone(zone).date()


__all__ = [
    "BackfillRefusal",
    "PlanPeriod",
    "check_backfill",
    "effective_on",
    "read_past_date",
]

"""Coordination items (协调事项): pure policy of their follow-up.

A 遇到困难 report opens an item for its (task, unit), or adds its note to the open one; a
coordinator assigns it to another unit, asks the raising unit for more detail, and closes
it with a note. This module decides, without the clock, the database or Telegram:

- `check_assignment`: whether an item may go to a unit (not closed, not the raising unit,
  not the unit it is already with);
- `days_open`: calendar days since the item opened, for the digest and `/items`;
- `reminder_due`: whether the assigned unit's contacts are reminded of an open item today:
  on a working day once `every` working days have passed since it was assigned or last
  reminded;
- `merged_need`: the need text with a later note appended.

Local dates are dates in the configured zone, passed in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from jobs.calendar import WorkingCalendar
from jobs.lights import working_days_until

OPEN = "open"
CLOSED = "closed"
NEED_MAX_CHARS = 2000  # the stored need text keeps its newest part within this length


class AssignRefusal(enum.StrEnum):
    """Why an item cannot go to a unit."""

    CLOSED = "closed"
    RAISING_UNIT = "raising_unit"
    SAME_UNIT = "same_unit"


@dataclass(frozen=True)
class ItemView:
    """An item as the digest, `/items` and `/task` show it: the task (plan 简称, 序号, text),
    the raising unit, the assigned unit (None: not assigned yet), the local date it opened
    and, when closed, the local date it closed."""

    id: int
    task_id: int
    plan: str
    task_number: int
    task_text: str
    raised_by: str
    assigned_to: str | None
    need: str
    opened_on: date
    closed_on: date | None = None
    closing_note: str | None = None

    @property
    def is_open(self) -> bool:
        """True while the item is not closed."""
        return self.closed_on is None


def check_assignment(
    *, status: str, raised_by_unit_id: int, assigned_unit_id: int | None, unit_id: int
) -> AssignRefusal | None:
    """None when an item (`status`, its raising and assigned unit ids) may be assigned to
    `unit_id`, else why not."""
    if status != OPEN:
        return AssignRefusal.CLOSED
    if unit_id == raised_by_unit_id:
        return AssignRefusal.RAISING_UNIT
    if unit_id == assigned_unit_id:
        return AssignRefusal.SAME_UNIT
    return None


def days_open(opened_on: date, today: date) -> int:
    """Calendar days from the local date an item opened to `today` (0 on the same day,
    never negative)."""
    return max((today - opened_on).days, 0)


def reminder_due(*, since: date, today: date, every: int, calendar: WorkingCalendar) -> bool:
    """True when the assigned unit of an open item is reminded on local date `today`:
    `today` is a working day and at least `every` working days (after `since`, up to and
    including `today`) have passed since `since`, the local date it was assigned or last
    reminded. `every` < 1 means never."""
    if every < 1 or today <= since or not calendar.is_working_day(today):
        return False
    return working_days_until(since, today, calendar, stop_after=every) >= every


def merged_need(need: str, label: str, note: str) -> str:
    """`need` with `note` appended on a line of its own after `label` (e.g. "补充（12月8日）"),
    keeping the newest `NEED_MAX_CHARS` characters."""
    merged = f"{need}\n{label}：{note}" if need else note
    return merged[-NEED_MAX_CHARS:]

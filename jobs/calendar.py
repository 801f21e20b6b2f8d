"""Working days: which local dates reminders and digests may go out on.

`WorkingCalendar` is the interface the policy uses. `WeekdayCalendar` counts Monday to Friday
as working days, with explicit extra holidays and extra workdays; the official Chinese holiday
calendar (with 调休 make-up days) plugs in behind the same interface.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Protocol

MAX_SEARCH_DAYS = 366


class WorkingCalendar(Protocol):
    """Tells whether a local date is a working day."""

    def is_working_day(self, day: date) -> bool:
        """Return True when `day` (a date in the configured zone) is a working day."""
        ...


class WeekdayCalendar:
    """Monday-Friday are working days, except `holidays`; `workdays` are extra working days."""

    def __init__(self, *, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> None:
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)

    def is_working_day(self, day: date) -> bool:
        """Return True for Monday-Friday not in `holidays`, and for any day in `workdays`."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


def next_working_day(calendar: WorkingCalendar, day: date) -> date:
    """Return `day` itself if it is a working day, else the first working day after it.

    Raises `ValueError` if no working day comes within a year (a calendar that is all holiday).
    """
    for offset in range(MAX_SEARCH_DAYS + 1):
        candidate = day + timedelta(days=offset)
        if calendar.is_working_day(candidate):
            return candidate
    raise ValueError(f"no working day within {MAX_SEARCH_DAYS} days after {day}")

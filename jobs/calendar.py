"""Working days: which local dates reminders and digests may go out on.

`WorkingCalendar` is the interface the policy uses. Two implementations:

- `OfficialCalendar`, the one the bot runs with: the official Chinese calendar from the
  `chinesecalendar` package (import name `chinese_calendar`): statutory holidays (法定节假日)
  are not working days, and 调休 make-up days (a Saturday or Sunday declared a working day) are.
  Config overrides win over the library: `extra_holidays` for local days off, `extra_workdays`
  for local working days (a day in both is a working day). The library only knows the years
  the State Council has published (chinesecalendar 1.11: 2004-2026) and raises
  `NotImplementedError` for the others; for such a year the calendar falls back to
  Monday-Friday plus the overrides, logs a warning and calls `on_unknown_year(year)` once per
  year, so the bot can tell the coordinators, and never crashes or goes silent. Upgrading the
  package (``pip install -U chinesecalendar``) brings the new year's arrangement.
- `WeekdayCalendar`: Monday to Friday with explicit holidays and workdays (tests, fallback).

Nothing here reads the clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from types import ModuleType
from typing import Protocol

log = logging.getLogger(__name__)

MAX_SEARCH_DAYS = 366
_CACHE_LIMIT = 20_000  # days remembered by an OfficialCalendar before its cache is cleared

_library_module: ModuleType | None
try:  # a hard dependency; guarded so a broken install degrades to the fallback, not a crash
    import chinese_calendar
except ImportError:  # pragma: no cover - only on a broken install
    _library_module = None
else:
    _library_module = chinese_calendar


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


def library_years() -> range:
    """Return the years the installed `chinesecalendar` has official data for (maybe empty)."""
    if _library_module is None:
        return range(0)
    days = _library_module.holidays.keys()
    if not days:
        return range(0)
    return range(min(days).year, max(days).year + 1)


class OfficialCalendar:
    """The official Chinese working-day calendar (holidays and 调休) plus local overrides.

    `extra_holidays` are days off on top of the official ones (a local arrangement);
    `extra_workdays` are working days on top of them; a day in both is a working day, as in
    `WeekdayCalendar`. For a year the library does not know, Monday-Friday plus the overrides
    apply, a warning is logged and `on_unknown_year(year)` is called, each once per year and
    calendar instance; an exception raised by the callback is logged and swallowed.
    """

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        on_unknown_year: Callable[[int], None] | None = None,
    ) -> None:
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        self.on_unknown_year = on_unknown_year
        self._known = library_years()
        self._reported: set[int] = set()
        self._lock = threading.Lock()
        self._cache: dict[date, bool] = {}

    def known_years(self) -> range:
        """Return the years with official data (chinesecalendar 1.11: 2004 to 2026)."""
        return self._known

    def is_known_year(self, year: int) -> bool:
        """Tell whether the library has the official arrangement of `year`."""
        return year in self._known

    def unknown_years_seen(self) -> frozenset[int]:
        """Return the years asked about that fell back to Monday-Friday (for a status line)."""
        with self._lock:
            return frozenset(self._reported)

    def is_working_day(self, day: date) -> bool:
        """Return True for an official working day (调休 included) or an extra workday."""
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        official = self._official(day)
        if official is None:
            self._report_unknown(day.year)
            official = day.weekday() < 5
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[day] = official
        return official

    def _official(self, day: date) -> bool | None:
        """The library's answer for `day`, or None when it has no data for that year."""
        if _library_module is None or day.year not in self._known:
            return None
        try:
            return bool(_library_module.is_workday(day))
        except NotImplementedError:
            return None

    def _report_unknown(self, year: int) -> None:
        with self._lock:
            if year in self._reported:
                return
            self._reported.add(year)
        known = f"{self._known.start}-{self._known.stop - 1}" if self._known else "none"
        log.warning(
            "no official holiday data for %d (chinesecalendar knows %s): using Monday-Friday "
            "plus the configured extra holidays/workdays; upgrade chinesecalendar once the "
            "State Council publishes the arrangement",
            year,
            known,
        )
        if self.on_unknown_year is not None:
            try:
                self.on_unknown_year(year)
            except Exception:
                log.exception("on_unknown_year callback failed for %d", year)


def next_working_day(calendar: WorkingCalendar, day: date) -> date:
    """Return `day` itself if it is a working day, else the first working day after it.

    Raises `ValueError` if no working day comes within a year (a calendar that is all holiday).
    """
    for offset in range(MAX_SEARCH_DAYS + 1):
        candidate = day + timedelta(days=offset)
        if calendar.is_working_day(candidate):
            return candidate
    raise ValueError(f"no working day within {MAX_SEARCH_DAYS} days after {day}")

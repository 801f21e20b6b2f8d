"""Working days: which local dates reminders and digests may go out on.

`WorkingCalendar` is the interface the policy uses. Two implementations:

- `OfficialCalendar`, the one the bot runs with: the official Chinese calendar from the
  `holidays` package's China calendar (`holidays.China`): statutory holidays (法定节假日:
  元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆) are not working days, and 调休 make-up days (a
  Saturday or Sunday declared a working day) are. The library computes the statutory days of
  any year from the Gregorian and the lunar calendar; the 调休 arrangement (which weekdays
  are bridged and which weekend days are worked) comes from the State Council's yearly
  notice, which the library carries for the years it has published (holidays 0.108:
  2001-2026). For a later year the statutory holidays still apply (with the library's
  estimate of the day off for one that falls on a weekend) and only the 调休 arrangement is
  missing: a warning is logged and `on_unknown_year(year)` is called once per year, so the
  bot can tell the coordinators; it never crashes or goes silent. Upgrading the package
  (``pip install -U holidays``) brings the new year's arrangement. Config overrides win
  over the library: `extra_holidays` for local days off, `extra_workdays` for local working
  days (a 调休 Saturday not yet in the library, say).
- `WeekdayCalendar`: Monday to Friday with explicit holidays and workdays (tests, fallback).

Nothing here reads the clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any, Protocol

log = logging.getLogger(__name__)

MAX_SEARCH_DAYS = 366

_china: Any
_arrangements: Any
try:  # a hard dependency; guarded so a broken install degrades to the fallback, not a crash
    import holidays as _holidays_package
    from holidays.countries.china import ChinaStaticHolidays
except ImportError:  # pragma: no cover - only on a broken install
    _china, _arrangements = None, {}
else:
    _china = _holidays_package.China
    # the State Council's yearly notices the library carries: {year: ((holiday, worked day), ...)}
    _arrangements = getattr(ChinaStaticHolidays, "special_public_holidays", {})


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
    """Return the years whose 调休 arrangement (the State Council's notice) the installed
    `holidays` package carries (holidays 0.108: 2001-2026); maybe empty."""
    years = [year for year in _arrangements if isinstance(year, int)]
    if _china is None or not years:
        return range(0)
    return range(min(years), max(years) + 1)


class OfficialCalendar:
    """The official Chinese working-day calendar (holidays and 调休) plus local overrides.

    `extra_holidays` are days off on top of the official ones (a local arrangement);
    `extra_workdays` are working days on top of them; a day in both is a working day, as in
    `WeekdayCalendar`. For a year without the 调休 arrangement, the statutory holidays the
    library computes still apply, Saturdays and Sundays are days off, a warning is logged and
    `on_unknown_year(year)` is called, each once per year and calendar instance; an exception
    raised by the callback is logged and swallowed.
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
        # the library's days of a year: {year: (weekdays off, weekend days worked)}
        self._years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}

    def known_years(self) -> range:
        """Return the years with the official 调休 arrangement (holidays 0.108: 2001-2026)."""
        return self._known

    def is_known_year(self, year: int) -> bool:
        """Tell whether the library has the official arrangement of `year`."""
        return year in self._known

    def unknown_years_seen(self) -> frozenset[int]:
        """Return the years asked about that lacked the 调休 arrangement (for a status line)."""
        with self._lock:
            return frozenset(self._reported)

    def is_working_day(self, day: date) -> bool:
        """Return True for an official working day (调休 included) or an extra workday."""
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        if day.year not in self._known:
            self._report_unknown(day.year)
        days_off, worked = self._library_days(day.year)
        if day.weekday() >= 5:
            return day in worked
        return day not in days_off

    def _library_days(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """The library's weekdays off and weekend working days of `year` (both empty when the
        library is missing). A weekend day of `year` can be worked for the next year's
        holiday (2001-12-29 for 元旦 2002), so the next year is read too."""
        cached = self._years.get(year)
        if cached is not None:
            return cached
        if _china is None:
            found: tuple[frozenset[date], frozenset[date]] = (frozenset(), frozenset())
        else:
            calendar = _china(years=(year, year + 1))
            found = (
                frozenset(d for d in calendar if d.year == year and d.weekday() < 5),
                frozenset(d for d in calendar.weekend_workdays if d.year == year),
            )
        with self._lock:
            self._years[year] = found
        return found

    def _report_unknown(self, year: int) -> None:
        with self._lock:
            if year in self._reported:
                return
            self._reported.add(year)
        known = f"{self._known.start}-{self._known.stop - 1}" if self._known else "none"
        log.warning(
            "no 调休 arrangement for %d in the holidays package (it has %s): its statutory "
            "holidays are days off, weekends too, plus the configured extra holidays/workdays; "
            "upgrade holidays once the State Council publishes the arrangement",
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

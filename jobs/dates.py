"""Dates typed by people, the one parser every command and flow uses.

Accepted forms (full-width digits and separators are read like ASCII ones, spaces ignored):

- ``2027-06-30``, ``2027/6/30``, ``2027.6.30``: a four-digit year, month and day;
- ``2027年6月30日`` (or ``号`` for ``日``, or without it);
- ``6月30日`` (or ``6月30号``): the next such day on or after `today` (this year's if it has
  not passed, else next year's; a 2月29日 the next leap year's).

Two-digit years (``27-6-30``), day-first forms and anything else are refused: a deadline is
too important to guess. Dates are plain calendar dates in the configured zone; `today` is
passed in by the caller (the clock lives outside this module).
"""

from __future__ import annotations

import calendar
import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

_FULL = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_CHINESE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})[日号]?")
_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})[日号]?")


def _normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def parse_date(text: str, today: date) -> date | None:
    """Read one date typed by a person (forms in the module docstring); None if unreadable
    or not a real calendar day (2027-02-30)."""
    cleaned = _normalise(text)
    for pattern in (_FULL, _CHINESE):
        match = pattern.fullmatch(cleaned)
        if match:
            year, month, day = (int(g) for g in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                return None
    match = _MONTH_DAY.fullmatch(cleaned)
    if match is None:
        return None
    month, day = int(match.group(1)), int(match.group(2))
    for year in range(today.year, today.year + 9):  # 2月29日: the next leap year within 8
        try:
            candidate = date(year, month, day)
        except ValueError:
            if not 1 <= month <= 12 or day > 29 or not (month == 2 and day == 29):
                return None
            continue
        if candidate >= today:
            return candidate
    return None


MAX_YEARS_AHEAD = 10


class DateProblem(enum.StrEnum):
    """Why a typed date was refused as a new deadline."""

    UNREADABLE = "unreadable"  # not one of the accepted forms, or no such calendar day
    PAST = "past"  # before today
    NOT_LATER = "not_later"  # not after the date it must come after (the current deadline)
    TOO_FAR = "too_far"  # more than MAX_YEARS_AHEAD years after today: surely a typing slip


@dataclass(frozen=True)
class DateRefusal:
    """A refused date: the problem, and the date it was read as (None when unreadable)."""

    problem: DateProblem
    read_as: date | None = None


def parse_new_deadline(text: str, today: date, *, after: date | None = None) -> date | DateRefusal:
    """Read a new deadline or extension date: it must be readable, not before `today`, at
    most `MAX_YEARS_AHEAD` years after it (a plan runs five years; 9999-12-31 is a slip),
    and later than `after` when given (an extension must move the deadline later). With `after`,
    a month and day alone (``12月31日``) is the next such day after `after`, since that is
    the only one an extension can mean."""
    earliest = today if after is None else max(today, after + timedelta(days=1))
    read = parse_date(text, earliest)
    if read is None:
        return DateRefusal(DateProblem.UNREADABLE)
    if read < today:
        return DateRefusal(DateProblem.PAST, read)
    if after is not None and read <= after:
        return DateRefusal(DateProblem.NOT_LATER, read)
    if read.year > today.year + MAX_YEARS_AHEAD or (
        read.year == today.year + MAX_YEARS_AHEAD
        and (read.month, read.day) > (today.month, today.day)
    ):
        return DateRefusal(DateProblem.TOO_FAR, read)
    return read


def example_date(today: date) -> date:
    """A plausible future deadline for usage texts: the last day of the month six months
    after `today`'s month (2026-12-05 gives 2027-06-30), so no example is ever in the past."""
    month_index = today.year * 12 + today.month - 1 + 6
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, calendar.monthrange(year, month)[1])


__all__ = [
    "MAX_YEARS_AHEAD",
    "DateProblem",
    "DateRefusal",
    "example_date",
    "parse_date",
    "parse_new_deadline",
]

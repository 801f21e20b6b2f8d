"""A plan's reporting rhythm (报送频次): the periods lead units report in. Pure functions.

A rhythm is monthly, quarterly or half-yearly on a rhythm day `day` (1-28) of a month. Its
periods start on that day of every month (monthly), of January, April, July and October
(quarterly), or of January and July (half-yearly); a period runs up to the day before the
next one starts. The period's start is its rhythm date (报送节点): a report whose effective
date is on or after it counts for the period (`jobs.lights.reported_in_cycle`), and a contact
whose unit has not reported in the period is nudged once, `follow_up.nudge_after_days` after
it (`jobs.escalation.nudges_due`).

A plan without a rhythm follows the configured monthly cycle (`follow_up.cycle_day`):
`rule_of` gives `Rule(Rhythm.MONTHLY, cycle_day)` for it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from jobs.types import Rhythm

START_MONTHS: dict[Rhythm, tuple[int, ...]] = {
    Rhythm.MONTHLY: tuple(range(1, 13)),
    Rhythm.QUARTERLY: (1, 4, 7, 10),
    Rhythm.HALF_YEARLY: (1, 7),
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A reporting rhythm and its day of the month (1-28)."""

    rhythm: Rhythm
    day: int


@dataclass(frozen=True, slots=True)
class Period:
    """One period of a rhythm: `start` (its rhythm date) to `end`, both included, local."""

    rhythm: Rhythm
    start: date
    end: date


def check_day(day: int) -> int:
    """Return `day` if it is a valid rhythm day (1-28); raise `ValueError` otherwise."""
    if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 28:
        raise ValueError(f"rhythm day must be an integer from 1 to 28, not {day!r}")
    return day


def rule_of(rhythm: Rhythm | None, day: int | None, default_day: int) -> Rule:
    """The rule of a plan with `rhythm` and `day` (either may be None): no rhythm is the
    configured monthly cycle on `default_day`; a rhythm without a day uses `default_day`."""
    if rhythm is None:
        return Rule(Rhythm.MONTHLY, default_day)
    return Rule(rhythm, day if day is not None else default_day)


def _starts_around(year: int, rule: Rule) -> list[date]:
    return [
        date(y, month, rule.day)
        for y in (year - 1, year, year + 1)
        for month in START_MONTHS[rule.rhythm]
    ]


@functools.lru_cache(maxsize=256)
def period_of(today: date, rule: Rule) -> Period:
    """The period of `rule` containing local date `today`. Raises `ValueError` for a day
    outside 1-28."""
    check_day(rule.day)
    starts = _starts_around(today.year, rule)
    index = max(i for i, start in enumerate(starts) if start <= today)
    following = starts[index + 1]
    return Period(rule.rhythm, starts[index], date.fromordinal(following.toordinal() - 1))


def next_period(period: Period, rule: Rule) -> Period:
    """The period after `period` under `rule`."""
    return period_of(date.fromordinal(period.end.toordinal() + 1), rule)


_NAMES: dict[str, Rhythm] = {
    "monthly": Rhythm.MONTHLY,
    "月": Rhythm.MONTHLY,
    "月度": Rhythm.MONTHLY,
    "每月": Rhythm.MONTHLY,
    "按月": Rhythm.MONTHLY,
    "quarterly": Rhythm.QUARTERLY,
    "季": Rhythm.QUARTERLY,
    "季度": Rhythm.QUARTERLY,
    "每季度": Rhythm.QUARTERLY,
    "按季度": Rhythm.QUARTERLY,
    "half_yearly": Rhythm.HALF_YEARLY,
    "half-yearly": Rhythm.HALF_YEARLY,
    "半年": Rhythm.HALF_YEARLY,
    "半年度": Rhythm.HALF_YEARLY,
    "每半年": Rhythm.HALF_YEARLY,
}


def parse_rhythm(name: str) -> Rhythm:
    """The rhythm a word names: monthly / quarterly / half_yearly (or half-yearly), or in
    Chinese 月度 (每月, 按月, 月), 季度 (每季度, 按季度, 季), 半年 (半年度, 每半年); case and
    surrounding spaces ignored. Raises `ValueError` for anything else."""
    found = _NAMES.get(name.strip().lower())
    if found is None:
        raise ValueError(f"unknown rhythm {name!r}: use monthly, quarterly or half_yearly")
    return found


def rhythm_text(rhythm: Rhythm | None, day: int | None) -> str:
    """A plan's rhythm as the audit trail writes it: "quarterly:25", "quarterly" (the
    configured day), or "" (no rhythm: the configured monthly cycle)."""
    if rhythm is None:
        return ""
    return f"{rhythm.value}:{day}" if day is not None else rhythm.value

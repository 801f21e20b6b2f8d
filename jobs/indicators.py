"""A plan's main indicators (主要指标, 专栏1): their targets and their lights. Pure functions.

A target is written as the document writes it. `parse_target` reads it:
- a bare number (100, 97, 97%, ９７％) means "at least" (">=");
- a number after a comparison (＞90, >90, ≥90, >=90, ＜5, ≤5, =100, or 不低于/不少于 90,
  高于/超过 90, 低于/少于 5, 不高于/不超过 5) uses that comparison;
- anything else (与全区地区生产总值增长基本同步) is a text target: it needs judgement.

The light of an indicator at local date `today` (`indicator_light`) is judged on the last
full year (`assessed_year`): the year before today's, kept within the plan's period (after
the period ended, its last year; before the period's first full year, None).
- JUDGEMENT: a text target with a value for that year (someone has to judge it);
- NO_VALUE: no value for that year (also: no full year of the period yet);
- LEVEL targets: MET or NOT_MET as that year's value compares with the target;
- CUMULATIVE targets: the sum of the values of the period's years up to today's year is
  compared: MET once it reaches the target (even before that year's value is in); otherwise
  NO_VALUE when the assessed year has no value, else NOT_MET. Before the period ends,
  NOT_MET means "not reached so far" (`Assessment.final` is False, the texts say 尚未达到);
  after it ends, the target was missed.
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from jobs.types import IndicatorKind

COMPARISONS = (">", ">=", "<", "<=", "=")


class IndicatorLight(enum.StrEnum):
    """An indicator's light; the values are the stable words of `taskbot indicators --json`."""

    MET = "met"
    NOT_MET = "not_met"
    NO_VALUE = "no_value"
    JUDGEMENT = "judgement"


@dataclass(frozen=True)
class Target:
    """A parsed target: `comparison` (one of `COMPARISONS`) and `value`, both None for a text
    target that needs judgement."""

    comparison: str | None
    value: float | None

    @property
    def is_text(self) -> bool:
        """True for a text target."""
        return self.comparison is None or self.value is None


_WORDS = (
    ("不低于", ">="),
    ("不少于", ">="),
    ("不高于", "<="),
    ("不超过", "<="),
    ("高于", ">"),
    ("超过", ">"),
    ("大于", ">"),
    ("低于", "<"),
    ("少于", "<"),
    ("小于", "<"),
)
_SIGNS = {"≥": ">=", "≤": "<=", "⩾": ">=", "⩽": "<="}
_TARGET = re.compile(r"(>=|<=|>|<|=)?\s*([0-9]+(?:\.[0-9]+)?)\s*%?")


def parse_target(text: str) -> Target:
    """Read a target as the document writes it (see the module docstring); a text target
    gives `Target(None, None)`. Never raises."""
    normal = unicodedata.normalize("NFKC", text).strip()
    for sign, comparison in _SIGNS.items():
        normal = normal.replace(sign, comparison)
    for word, comparison in _WORDS:
        if normal.startswith(word):
            normal = comparison + normal[len(word) :]
            break
    match = _TARGET.fullmatch(normal)
    if match is None:
        return Target(None, None)
    return Target(match.group(1) or ">=", float(match.group(2)))


def compares(value: float, target: Target) -> bool:
    """Whether `value` meets a number target. Raises `ValueError` for a text target."""
    if target.comparison is None or target.value is None:
        raise ValueError("a text target cannot be compared")
    goal = target.value
    return {
        ">": value > goal,
        ">=": value >= goal,
        "<": value < goal,
        "<=": value <= goal,
        "=": math.isclose(value, goal),
    }[target.comparison]


def assessed_year(today: date, period_start: date, period_end: date) -> int | None:
    """The last full year an indicator is judged on: today's year minus one, at most the
    period's last year; None when it is before the period's first year."""
    year = min(today.year - 1, period_end.year)
    return year if year >= period_start.year else None


@dataclass(frozen=True)
class Assessment:
    """An indicator's light, the year it was judged on (None: no full year yet), the value
    compared (that year's for LEVEL, the total so far for CUMULATIVE; None without one) and
    whether the judgement is final (LEVEL: always; CUMULATIVE: once met or the period ended)."""

    light: IndicatorLight
    year: int | None
    value: float | None
    final: bool


def indicator_light(
    *,
    target: Target,
    kind: IndicatorKind,
    values: Mapping[int, float],
    today: date,
    period_start: date,
    period_end: date,
) -> Assessment:
    """Judge an indicator at local date `today` from its `values` by year (the value that
    counts for each year), as the module docstring says."""
    year = assessed_year(today, period_start, period_end)
    if kind is IndicatorKind.CUMULATIVE:
        last = min(today.year, period_end.year)
        total = sum(v for y, v in values.items() if period_start.year <= y <= last)
        shown = total if any(period_start.year <= y <= last for y in values) else None
        if not target.is_text and shown is not None and compares(total, target):
            return Assessment(IndicatorLight.MET, year, total, True)
        if year is None or year not in values:
            return Assessment(IndicatorLight.NO_VALUE, year, shown, False)
        if target.is_text:
            return Assessment(IndicatorLight.JUDGEMENT, year, shown, False)
        return Assessment(IndicatorLight.NOT_MET, year, total, today > period_end)
    if year is None or year not in values:
        return Assessment(IndicatorLight.NO_VALUE, year, None, False)
    value = values[year]
    if target.is_text:
        return Assessment(IndicatorLight.JUDGEMENT, year, value, True)
    light = IndicatorLight.MET if compares(value, target) else IndicatorLight.NOT_MET
    return Assessment(light, year, value, True)


def format_number(value: float) -> str:
    """A value as people write it: 750, 97.5 (no trailing .0); 1e+308 for a value of 16
    digits or more."""
    whole = float(value).is_integer() and abs(value) < 1e15
    return str(int(value)) if whole else f"{value:g}"

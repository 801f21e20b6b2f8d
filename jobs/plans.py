"""Plans (规划, 年度工作要点) side by side: their names and which one a command means. Pure.

A plan is named in messages and commands by its 简称 (`short_name`, e.g. 十四五); a command
that names no plan means the newest active plan (`newest_first`: latest period start, then
latest issue date, then latest loaded).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from jobs.types import PlanStatus, Rhythm

# “十四五” / 十五五 in a title; a period such as （2021—2025年） or 2027年
_FIVE_YEAR = re.compile(r"[“\"]?(十[一二三四五六七八九]五)[”\"]?")
_PERIOD = re.compile(r"(\d{4})\s*(?:年)?\s*[—–\-－~～至到]+\s*(\d{4})\s*年")
_YEAR = re.compile(r"(\d{4})\s*年")
# what a typed plan name may be wrapped in (a copied 【简称】 tag, quotes, 《》), and the
# brackets a 文号's year may be typed with
_WRAPPERS = "【】[]〔〕“”\"'‘’《》「」（）()"
_OPENING = str.maketrans("[［(（【", "〔〔〔〔〔")
_CLOSING = str.maketrans("]］)）】", "〕〕〕〕〕")


@dataclass(frozen=True, slots=True)
class PlanView:
    """A plan as the policy and the views see it; dates are local, both ends included.
    `rhythm` and `rhythm_day` its reporting rhythm (`jobs.rhythm`); None: the configured
    monthly cycle."""

    id: int
    title: str
    document_number: str
    short_name: str
    issued_on: date
    period_start: date
    period_end: date
    status: PlanStatus = PlanStatus.ACTIVE
    rhythm: Rhythm | None = None
    rhythm_day: int | None = None

    @property
    def active(self) -> bool:
        """True while the plan is followed up (not closed)."""
        return self.status is PlanStatus.ACTIVE

    @property
    def label(self) -> str:
        """How messages name the plan: its 简称, else its title."""
        return self.short_name or self.title


def period_in_title(title: str) -> tuple[int, int] | None:
    """The years of a plan's period as its title gives them: （2021—2025年） gives
    (2021, 2025), 2027年工作要点 gives (2027, 2027); None when the title names no year or a
    reversed period."""
    found = _PERIOD.search(title)
    if found:
        first, last = int(found.group(1)), int(found.group(2))
        return (first, last) if first <= last else None
    years = _YEAR.findall(title)
    if len(years) == 1:
        return int(years[0]), int(years[0])
    return None


def default_short_name(title: str, period_start: date, period_end: date) -> str:
    """A 简称 for a plan whose task file gives none: 十四五 when the title names a five-year
    plan, else its years (2027年, 2026—2030年)."""
    found = _FIVE_YEAR.search(title)
    if found:
        return found.group(1)
    if period_start.year == period_end.year:
        return f"{period_end.year}年"
    return f"{period_start.year}—{period_end.year}年"


def plans_named(plans: Iterable[PlanView]) -> bool:
    """Whether messages name a task's plan: when more than one plan is active (with one, a
    task's number says all)."""
    return sum(1 for p in plans if p.active) > 1


def newest_first(plans: Iterable[PlanView]) -> list[PlanView]:
    """The plans, the newest first (latest period start, issue date, then id)."""
    return sorted(plans, key=lambda p: (p.period_start, p.issued_on, p.id), reverse=True)


@dataclass(frozen=True)
class PlanChoice:
    """What a command's words say about the plan: the plan meant (None when there is no plan
    at all), the words left once a plan's name is taken out, whether the plan was named, and
    the other active plans (the command names its plan when there are any)."""

    plan: PlanView | None
    words: tuple[str, ...]
    named: bool
    others: tuple[PlanView, ...]


def plan_key(name: str) -> str:
    """A plan name as `choose_plan` compares it: without the brackets or quotes around it
    (【十四五】, “十五五”), without spaces (one `taskbot --plan` argument may have them), and
    with a 文号's year in 〔〕 however typed ([2026], （2026）)."""
    joined = "".join(name.split())
    stripped = joined.strip(_WRAPPERS) or joined
    return stripped.translate(_OPENING).translate(_CLOSING)


def choose_plan(plans: Sequence[PlanView], words: Sequence[str]) -> PlanChoice:
    """Take a plan's name (its 简称 or 文号, as `plan_key` compares them) out of `words`;
    without one, the newest active plan (or the newest plan when none is active). The first
    word naming a plan wins."""
    ordered = newest_first(plans)
    by_name: dict[str, PlanView] = {}
    for plan in reversed(ordered):  # the newest wins a name two plans share
        for name in (plan.short_name, plan.document_number):
            if name:
                by_name[plan_key(name)] = plan
    chosen: PlanView | None = None
    left: list[str] = []
    for word in words:
        if chosen is None and plan_key(word) in by_name:
            chosen = by_name[plan_key(word)]
        else:
            left.append(word)
    named = chosen is not None
    if chosen is None:
        candidates = [p for p in ordered if p.active] or ordered
        chosen = candidates[0] if candidates else None
    others = tuple(p for p in ordered if p.active and chosen is not None and p.id != chosen.id)
    return PlanChoice(plan=chosen, words=tuple(left), named=named, others=others)

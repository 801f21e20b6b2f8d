"""A plan's main indicators (主要指标) and their yearly values.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction. Instants are aware UTC datetimes; years are calendar years.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from db.models import Indicator, IndicatorValue, Plan, Unit
from db.repo.audit import record_audit
from jobs.indicators import Target, format_number
from jobs.types import IndicatorAttribute, IndicatorKind


class IndicatorRefused(ValueError):
    """A value or owner that cannot be recorded; `reason` is a stable English word
    (unknown_indicator, year_outside_period, future_year, not_a_number, no_source,
    unknown_unit) and the message says why in English."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class YearValue:
    """The value that counts for a year (the newest recorded), its source, who entered it
    (Telegram id, 0: the console) and when (aware UTC)."""

    year: int
    value: float
    source: str
    entered_by: int = 0
    entered_at: datetime | None = None


@dataclass(frozen=True)
class IndicatorView:
    """An indicator with its values that count, oldest year first, and its owner unit."""

    id: int
    plan_id: int
    number: int
    name: str
    measure: str
    target_text: str
    target: Target
    kind: IndicatorKind
    attribute: IndicatorAttribute
    owner_unit_id: int | None
    owner_unit_name: str | None
    values: tuple[YearValue, ...] = field(default=())

    def by_year(self) -> dict[int, float]:
        """The values that count, by year."""
        return {v.year: v.value for v in self.values}


def _view(row: Indicator, values: list[YearValue], owner: str | None) -> IndicatorView:
    assert row.id is not None
    return IndicatorView(
        id=row.id,
        plan_id=row.plan_id,
        number=row.number,
        name=row.name,
        measure=row.measure,
        target_text=row.target_text,
        target=Target(row.comparison, row.target_value),
        kind=row.kind,
        attribute=row.attribute,
        owner_unit_id=row.owner_unit_id,
        owner_unit_name=owner,
        values=tuple(sorted(values, key=lambda v: v.year)),
    )


def plan_indicators(session: Session, *, plan_id: int) -> list[IndicatorView]:
    """The plan's indicators by number, each with the newest value of each year."""
    rows = list(
        session.exec(
            select(Indicator).where(Indicator.plan_id == plan_id).order_by(col(Indicator.number))
        )
    )
    ids = [r.id for r in rows]
    newest: dict[tuple[int, int], IndicatorValue] = {}
    if ids:
        for value in session.exec(
            select(IndicatorValue)
            .where(col(IndicatorValue.indicator_id).in_(ids))
            .order_by(col(IndicatorValue.id))
        ):
            newest[(value.indicator_id, value.year)] = value
    units = {u.id: u.name for u in session.exec(select(Unit))}
    by_indicator: dict[int, list[YearValue]] = {}
    for (indicator_id, year), value in newest.items():
        by_indicator.setdefault(indicator_id, []).append(
            YearValue(year, value.value, value.source, value.entered_by, value.entered_at)
        )
    return [
        _view(
            row,
            by_indicator.get(row.id or 0, []),
            units.get(row.owner_unit_id) if row.owner_unit_id is not None else None,
        )
        for row in rows
    ]


def get_indicator(session: Session, *, plan_id: int, number: int) -> Indicator | None:
    """The plan's indicator with that 序号, or None."""
    return session.exec(
        select(Indicator).where(Indicator.plan_id == plan_id, Indicator.number == number)
    ).first()


def _subject(session: Session, indicator: Indicator) -> str:
    plan = session.get(Plan, indicator.plan_id)
    return f"indicator:{plan.short_name if plan is not None else ''}:{indicator.number}"


def record_value(
    session: Session,
    *,
    plan_id: int,
    number: int,
    year: int,
    value: float,
    source: str,
    entered_by: int,
    today: date,
    now: datetime,
) -> IndicatorValue:
    """Record the indicator's value for `year` (a later value supersedes an earlier one of
    the same year; both stay), audited as `indicator.value`. `today` is the local date.

    Raises `IndicatorRefused`: no such indicator; the year outside the plan's period or
    after today's year; the value not a finite number; the source empty."""
    indicator = get_indicator(session, plan_id=plan_id, number=number)
    if indicator is None or indicator.id is None:
        raise IndicatorRefused("unknown_indicator", f"the plan has no indicator {number}")
    plan = session.get(Plan, plan_id)
    assert plan is not None
    if not plan.period_start.year <= year <= plan.period_end.year:
        raise IndicatorRefused(
            "year_outside_period",
            f"{year} is outside the plan's period {plan.period_start.year}-{plan.period_end.year}",
        )
    if year > today.year:
        raise IndicatorRefused("future_year", f"{year} is in the future")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise IndicatorRefused("not_a_number", f"{value!r} is not a number")
    source = source.strip()
    if not source:
        raise IndicatorRefused("no_source", "a value needs its source (数据来源)")
    before = [
        v
        for v in session.exec(
            select(IndicatorValue)
            .where(IndicatorValue.indicator_id == indicator.id, IndicatorValue.year == year)
            .order_by(col(IndicatorValue.id))
        )
    ]
    row = IndicatorValue(
        indicator_id=indicator.id,
        year=year,
        value=float(value),
        source=source,
        entered_by=entered_by,
        entered_at=now,
    )
    session.add(row)
    record_audit(
        session,
        actor_user_id=entered_by,
        action="indicator.value",
        subject=_subject(session, indicator),
        before={"year": year, "value": format_number(before[-1].value), "source": before[-1].source}
        if before
        else None,
        after={"year": year, "value": format_number(float(value)), "source": source},
        now=now,
    )
    session.flush()
    return row


def set_owner(
    session: Session,
    *,
    plan_id: int,
    number: int,
    unit_id: int | None,
    actor_user_id: int,
    now: datetime,
) -> Indicator:
    """Set (or clear, with None) the unit that owns the indicator, audited as
    `indicator.owner`. Raises `IndicatorRefused` for an unknown indicator or unit."""
    indicator = get_indicator(session, plan_id=plan_id, number=number)
    if indicator is None:
        raise IndicatorRefused("unknown_indicator", f"the plan has no indicator {number}")
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    if unit_id is not None and unit is None:
        raise IndicatorRefused("unknown_unit", f"no unit with id {unit_id}")
    old = session.get(Unit, indicator.owner_unit_id) if indicator.owner_unit_id else None
    if indicator.owner_unit_id != unit_id:
        record_audit(
            session,
            actor_user_id=actor_user_id,
            action="indicator.owner",
            subject=_subject(session, indicator),
            before=old.name if old is not None else None,
            after=unit.name if unit is not None else None,
            now=now,
        )
        indicator.owner_unit_id = unit_id
        session.add(indicator)
    session.flush()
    return indicator

"""The main indicators (主要指标) as documents show them: one row per indicator with its
target, attribute, values by year and 完成情况, for the ledger's 主要指标 sheet and the
evaluation's table 三、主要指标完成情况. Reads the database through `db.repo`; lights are
judged at the local date `today` (`jobs.indicators.indicator_light`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from db import repo
from jobs.indicators import Assessment, IndicatorLight, format_number, indicator_light
from jobs.plans import PlanView
from jobs.types import IndicatorAttribute, IndicatorKind

ATTRIBUTE_LABEL = {IndicatorAttribute.BINDING: "约束性", IndicatorAttribute.EXPECTED: "预期性"}
KIND_LABEL = {IndicatorKind.LEVEL: "年度水平", IndicatorKind.CUMULATIVE: "期间累计"}
STATUS_MET = "已达到"
STATUS_NOT_MET = "未达到"
STATUS_NOT_YET = "尚未达到（累计{total}）"
STATUS_NO_VALUE = "缺{year}年数据"
STATUS_NO_YEAR = "暂无完整年度数据"
STATUS_JUDGEMENT = "需研判（{year}年{value}）"


def status_text(assessment: Assessment) -> str:
    """完成情况 in words: 已达到, 未达到, 尚未达到（累计600）, 缺2025年数据, 需研判（…）."""
    light = assessment.light
    value = format_number(assessment.value) if assessment.value is not None else ""
    if light is IndicatorLight.MET:
        return STATUS_MET
    if light is IndicatorLight.NOT_MET:
        return STATUS_NOT_MET if assessment.final else STATUS_NOT_YET.format(total=value)
    if light is IndicatorLight.JUDGEMENT:
        return STATUS_JUDGEMENT.format(year=assessment.year, value=value)
    if assessment.year is None:
        return STATUS_NO_YEAR
    return STATUS_NO_VALUE.format(year=assessment.year)


@dataclass(frozen=True)
class IndicatorRow:
    """One indicator as a document row: `values` by year (the value that counts), `sources`
    by year, `status` its 完成情况 in words, `light` the stable English word."""

    plan: str
    number: int
    name: str
    measure: str
    target: str
    attribute: str
    kind: str
    owner: str
    values: dict[int, float]
    sources: dict[int, str]
    status: str
    light: str

    @property
    def name_with_measure(self) -> str:
        """指标 as the document writes it: the name with its measure in （）."""
        return f"{self.name}（{self.measure}）" if self.measure else self.name


def indicator_rows(session: Session, plan: PlanView, today: date) -> list[IndicatorRow]:
    """The plan's indicators as rows, by number."""
    rows = []
    for view in repo.plan_indicators(session, plan_id=plan.id):
        assessment = indicator_light(
            target=view.target,
            kind=view.kind,
            values=view.by_year(),
            today=today,
            period_start=plan.period_start,
            period_end=plan.period_end,
        )
        rows.append(
            IndicatorRow(
                plan=plan.label,
                number=view.number,
                name=view.name,
                measure=view.measure,
                target=view.target_text,
                attribute=ATTRIBUTE_LABEL[view.attribute],
                kind=KIND_LABEL[view.kind],
                owner=view.owner_unit_name or "",
                values=view.by_year(),
                sources={v.year: v.source for v in view.values},
                status=status_text(assessment),
                light=assessment.light.value,
            )
        )
    return rows


def period_years(plan: PlanView) -> list[int]:
    """The calendar years of the plan's period, oldest first."""
    return list(range(plan.period_start.year, plan.period_end.year + 1))

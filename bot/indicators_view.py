"""Chat views of a plan's main indicators (主要指标): `/indicators [简称]` lists them with
their lights (coordinators and contacts); `/indicator [简称] 序号 年份 数值 来源…` records a
value: a coordinator for any indicator, a contact only for the indicators its unit owns
(`Indicator.owner_unit_id`), which a coordinator sets with `/indicator [简称] 序号 填报单位
单位名` (无 clears it). Everyone else gets `texts.NOT_CONTACT`. The database work runs
in `in_worker`; lights are judged at the local date of `svc.now()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from telegram import Update

from bot import render, texts
from bot.access import is_coordinator
from bot.context import BotContext, Services
from bot.handlers import reply
from bot.plan_choice import choice_line, read_choice
from bot.reads import in_worker
from db import repo
from jobs.indicators import Assessment, IndicatorLight, format_number, indicator_light
from jobs.plans import PlanChoice, PlanView
from jobs.types import IndicatorAttribute, IndicatorKind

ATTRIBUTE_LABEL = {IndicatorAttribute.BINDING: "约束性", IndicatorAttribute.EXPECTED: "预期性"}


def light_text(assessment: Assessment) -> str:
    """The Chinese label of an indicator's light (🟢 已达到, ⚪ 缺2025年数据, ...)."""
    labels = texts.INDICATOR_LIGHT_LABEL
    if assessment.light is IndicatorLight.NO_VALUE:
        if assessment.year is None:
            return labels["no_year"]
        return labels["no_value"].format(year=assessment.year)
    if assessment.light is IndicatorLight.NOT_MET and not assessment.final:
        return labels["not_yet"]
    return labels[assessment.light.value]


def assess(view: repo.IndicatorView, plan: PlanView, today: date) -> Assessment:
    """`jobs.indicators.indicator_light` of a stored indicator of `plan` at `today`."""
    return indicator_light(
        target=view.target,
        kind=view.kind,
        values=view.by_year(),
        today=today,
        period_start=plan.period_start,
        period_end=plan.period_end,
    )


@dataclass(frozen=True)
class _Who:
    coordinator: bool
    unit_id: int | None  # the contact's unit; None for someone who is not a contact


def _read_list(
    svc: Services, words: list[str], user_id: int
) -> tuple[PlanChoice, list[repo.IndicatorView], int | None]:
    with svc.db.session() as s:
        choice = read_choice(s, words)
        contact = repo.get_contact(s, telegram_user_id=user_id)
        views = repo.plan_indicators(s, plan_id=choice.plan.id) if choice.plan else []
        return choice, views, contact.unit_id if contact is not None else None


def list_lines(plan: PlanView, views: list[repo.IndicatorView], today: date) -> list[str]:
    """The lines of `/indicators`: a header, one entry per indicator, the footer."""
    label = render.esc(plan.label)
    if not views:
        return [texts.INDICATORS_NONE.format(plan=label)]
    lines = [texts.INDICATORS_HEADER.format(plan=label, count=len(views))]
    for view in views:
        assessment = assess(view, plan, today)
        values = "、".join(f"{v.year}年{format_number(v.value)}" for v in view.values[-3:])
        if view.kind is IndicatorKind.CUMULATIVE and assessment.value is not None:
            values += "，" + texts.INDICATOR_TOTAL.format(total=format_number(assessment.value))
        lines.append(
            texts.INDICATOR_LINE.format(
                number=view.number,
                name=render.esc(view.name),
                measure=render.esc(view.measure),
                target=render.esc(view.target_text),
                attribute=ATTRIBUTE_LABEL[view.attribute],
                values=values or texts.INDICATOR_NO_VALUES,
                light=light_text(assessment),
            )
        )
    lines.append(texts.INDICATORS_FOOTER)
    return lines


async def indicators_command(update: Update, context: BotContext) -> None:
    """`/indicators [简称]`: the plan's main indicators with values and lights."""
    user = update.effective_user
    svc = context.svc
    if user is None:
        return
    words = list(context.args or [])
    choice, views, unit_id = await in_worker(svc, _read_list, svc, words, user.id)
    if unit_id is None and not await is_coordinator(svc, user.id):
        await reply(update, texts.NOT_CONTACT)
        return
    if choice.plan is None:
        await reply(update, texts.INDICATORS_NO_PLAN)
        return
    if choice.words:  # a word that names no plan
        plans = [choice.plan, *choice.others]
        await reply(
            update,
            texts.PLAN_UNKNOWN.format(
                name=render.esc(render.clip(choice.words[0], 30)),
                plans="、".join(f"“{render.esc(p.label)}”" for p in plans),
                example=render.esc(f"/indicators {choice.plan.label}"),
            ),
        )
        return
    lines = list_lines(choice.plan, views, svc.today())
    which = choice_line(choice, "indicators", "")
    if which:
        lines.insert(0, which)
    for part in render.split_lines(lines):
        await reply(update, part)


def _parse_value(text: str) -> float | None:
    cleaned = text.replace("％", "").replace("%", "").replace("，", "").replace(",", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _record(
    svc: Services,
    choice: PlanChoice,
    who: _Who,
    number: int,
    year: int,
    value: float,
    source: str,
    user_id: int,
) -> str:
    """Check and store a value; return the reply (a refusal or the receipt)."""
    plan = choice.plan
    assert plan is not None
    now = svc.now()
    today = now.astimezone(svc.policy.zone).date()
    with svc.db.session() as s:
        views = repo.plan_indicators(s, plan_id=plan.id)
        view = next((v for v in views if v.number == number), None)
        if view is None:
            return texts.INDICATOR_UNKNOWN.format(number=number, count=len(views))
        if not who.coordinator:
            if view.owner_unit_id is None:
                return texts.INDICATOR_NO_OWNER.format(number=number)
            if view.owner_unit_id != who.unit_id:
                return texts.INDICATOR_NOT_YOURS.format(
                    number=number, owner=render.esc(view.owner_unit_name or "")
                )
        old = next((v for v in view.values if v.year == year), None)
        try:
            repo.record_value(
                s,
                plan_id=plan.id,
                number=number,
                year=year,
                value=value,
                source=source,
                entered_by=user_id,
                today=today,
                now=now,
            )
        except repo.IndicatorRefused as exc:
            if exc.reason in ("year_outside_period", "future_year"):
                return texts.INDICATOR_BAD_YEAR.format(
                    first=plan.period_start.year, last=plan.period_end.year
                )
            if exc.reason == "no_source":
                return texts.INDICATOR_NO_SOURCE
            return texts.INDICATOR_BAD_VALUE.format(text=format_number(value))
        fresh = next(v for v in repo.plan_indicators(s, plan_id=plan.id) if v.number == number)
    receipt = texts.INDICATOR_RECORDED.format(
        plan=render.esc(plan.label),
        number=number,
        name=render.esc(view.name),
        year=year,
        value=format_number(value),
        measure=render.esc(view.measure),
        source=render.esc(render.clip(source, 60)),
        light=light_text(assess(fresh, plan, today)),
    )
    if old is not None:
        receipt += texts.INDICATOR_REPLACED.format(old=format_number(old.value))
    return receipt


def _set_owner(svc: Services, choice: PlanChoice, number: int, typed: str, user_id: int) -> str:
    """Set or clear (typed 无) the unit that records indicator `number`; return the reply."""
    plan = choice.plan
    assert plan is not None
    with svc.db.session() as s:
        views = repo.plan_indicators(s, plan_id=plan.id)
        view = next((v for v in views if v.number == number), None)
        if view is None:
            return texts.INDICATOR_UNKNOWN.format(number=number, count=len(views))
        unit = None
        if typed not in texts.INDICATOR_OWNER_CLEAR:
            unit, suggestions = repo.resolve_unit(s, text=typed)
            if unit is None or unit.id is None:
                return render.unknown_unit(typed, suggestions, texts.INDICATOR_OWNER_USAGE)
        repo.set_owner(
            s,
            plan_id=plan.id,
            number=number,
            unit_id=unit.id if unit is not None else None,
            actor_user_id=user_id,
            now=svc.now(),
        )
        unit_name = unit.name if unit is not None else None
    fields = {"plan": render.esc(plan.label), "number": number, "name": render.esc(view.name)}
    if unit_name is None:
        return texts.INDICATOR_OWNER_CLEARED.format(**fields)
    return texts.INDICATOR_OWNER_SET.format(unit=render.esc(unit_name), **fields)


def _read_who(svc: Services, words: list[str], user_id: int) -> tuple[PlanChoice, int | None]:
    with svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user_id)
        return read_choice(s, words), contact.unit_id if contact is not None else None


async def indicator_command(update: Update, context: BotContext) -> None:
    """`/indicator [简称] 序号 年份 数值 来源…`: record a value (see the module docstring)."""
    user = update.effective_user
    svc = context.svc
    if user is None:
        return
    text = update.effective_message.text if update.effective_message else ""
    parts = (text or "").split(maxsplit=4)
    choice, unit_id = await in_worker(svc, _read_who, svc, parts[1:2], user.id)
    coordinator = await is_coordinator(svc, user.id)
    if unit_id is None and not coordinator:
        await reply(update, texts.NOT_CONTACT)
        return
    if choice.named:  # /indicator 十四五 3 2025 100 来源
        parts = (text or "").split(maxsplit=5)
        del parts[1]
    if len(parts) >= 3 and parts[1].isdecimal() and parts[2] in texts.INDICATOR_OWNER_WORDS:
        if not coordinator:
            await reply(update, texts.INDICATOR_OWNER_COORDINATORS)
            return
        typed = " ".join(parts[3:]).strip()
        if not typed:
            await reply(update, texts.INDICATOR_OWNER_USAGE)
            return
        if choice.plan is None:
            await reply(update, texts.INDICATORS_NO_PLAN)
            return
        answer = await in_worker(svc, _set_owner, svc, choice, int(parts[1]), typed, user.id)
        which = choice_line(choice, "indicator", f"{parts[1]} 填报单位 ……")
        await reply(update, "\n".join(filter(None, [answer, which])))
        return
    if len(parts) < 4 or not parts[1].isdecimal() or not parts[2].isdecimal():
        await reply(update, texts.INDICATOR_USAGE)
        return
    if len(parts) < 5 or not parts[4].strip():
        await reply(update, texts.INDICATOR_NO_SOURCE)
        return
    value = _parse_value(parts[3])
    if value is None:
        await reply(
            update, texts.INDICATOR_BAD_VALUE.format(text=render.esc(render.clip(parts[3], 20)))
        )
        return
    if choice.plan is None:
        await reply(update, texts.INDICATORS_NO_PLAN)
        return
    answer = await in_worker(
        svc,
        _record,
        svc,
        choice,
        _Who(coordinator, unit_id),
        int(parts[1]),
        int(parts[2]),
        value,
        parts[4].strip(),
        user.id,
    )
    which = choice_line(choice, "indicator", f"{parts[1]} {parts[2]} {parts[3]} ……")
    await reply(update, "\n".join(filter(None, [answer, which])))

"""Follow-up statistics in chat: `/stats [简称]` (coordinators, private chat).

Shows the plan named (else the newest active plan, `jobs.plans.choose_plan`) as of today
in the configured zone: the overall line over tasks and over (task, lead unit) pairs, then
at most `MAX_UNITS` lead units by done rate ascending and the tasks finished late (超期办结),
at most `MAX_LATE`; longer lists point to the ledger's 统计 sheet (/export). Figures come
from `repo.plan_statistics` (`jobs.stats`).
"""

from __future__ import annotations

from datetime import datetime

from telegram import Update

from bot import render, texts
from bot.access import reader_only
from bot.context import BotContext, Services
from bot.handlers import is_private, reply
from bot.plan_choice import choice_line, read_choice, unknown_plan
from bot.reads import in_worker
from db import repo
from jobs.evaluation import Rate
from jobs.stats import Counts, PlanStats

MAX_UNITS = 20
MAX_LATE = 15


def _pct(part: int, whole: int) -> str:
    return Rate(part, whole).percent


def _number(value: int | float | None) -> str:
    return texts.STATS_NONE if value is None else f"{value:g}"


def _unit_line(name: str, c: Counts) -> str:
    return texts.STATS_UNIT_LINE.format(
        unit=render.esc(name),
        accepted=c.accepted,
        total=c.total,
        done_rate=_pct(c.accepted, c.total),
        on_time=c.on_time,
        overdue_done=c.overdue_done,
        open_overdue=c.open_overdue,
        per_cycle=_number(c.figures()["reports_per_cycle"]),
    )


def _late_line(late: tuple[tuple[int, str], ...]) -> str | None:
    by_task: dict[int, list[str]] = {}
    for number, unit in late:
        by_task.setdefault(number, []).append(unit)
    if not by_task:
        return None
    items = [
        texts.STATS_LATE_ITEM.format(number=n, units=render.esc("、".join(u)))
        for n, u in list(by_task.items())[:MAX_LATE]
    ]
    more = len(by_task) - MAX_LATE
    text = "、".join(items) + (texts.STATS_MORE_LATE.format(count=len(by_task)) if more > 0 else "")
    return texts.STATS_LATE.format(items=text)


def stats_text(label: str, stats: PlanStats) -> str:
    """The /stats answer (HTML) of one plan's statistics."""
    t, p = stats.tasks, stats.pairs
    figures = p.figures()
    days = figures["avg_working_days_reminder_to_report"]
    lines = [
        texts.STATS_HEAD.format(plan=render.esc(label), as_of=render.fmt_date(stats.as_of)),
        texts.STATS_OVERALL.format(
            total=t.total,
            accepted=t.accepted,
            done_rate=_pct(t.accepted, t.total),
            on_time=_pct(t.on_time, t.total),
            on_time_original=_pct(t.on_time_original, t.total),
            overdue_done=t.overdue_done,
            open_overdue=t.open_overdue,
        ),
        texts.STATS_PAIRS.format(
            total=p.total,
            done_rate=_pct(p.accepted, p.total),
            on_time=_pct(p.on_time, p.total),
            returns=p.returns,
            per_cycle=_number(figures["reports_per_cycle"]),
            reminders=p.reminders,
            days=texts.STATS_NONE if days is None else texts.STATS_DAYS.format(days=f"{days:g}"),
        ),
    ]
    order = stats.unit_order()
    if order:
        lines.append(texts.STATS_UNITS_HEAD)
        lines += [_unit_line(u, stats.units[u]) for u in order[:MAX_UNITS]]
        if len(order) > MAX_UNITS:
            lines.append(texts.STATS_MORE_UNITS.format(count=len(order) - MAX_UNITS))
    late = _late_line(stats.late)
    if late:
        lines.append(late)
    return "\n".join(lines)


def _run(svc: Services, words: list[str], now: datetime) -> str:
    zone = svc.policy.zone
    today = now.astimezone(zone).date()
    with svc.db.session() as s:
        plans = repo.read_plans(s)
        choice = read_choice(s, words)
        if choice.plan is None:
            return texts.STATS_NO_PLAN
        if choice.words:
            return unknown_plan(texts.STATS_UNKNOWN, choice, plans)
        plan, stats = repo.plan_statistics(
            s,
            plan_id=choice.plan.id,
            zone=zone,
            default_day=svc.settings.follow_up.cycle_day,
            as_of=today,
            calendar=svc.calendar,
        )
    said = choice_line(choice, "stats", "")
    return "\n".join(x for x in (said, stats_text(plan.label, stats)) if x)


@reader_only
async def stats_command(update: Update, context: BotContext) -> None:
    """`/stats [简称]` (coordinators and leaders, private chat): the plan's statistics."""
    message = update.effective_message
    if message is None:
        return
    if not is_private(update):
        await reply(update, texts.STATS_PRIVATE_ONLY)
        return
    svc = context.svc
    words = list(context.args or [])
    text = await in_worker(svc, _run, svc, words, svc.now())
    await reply(update, text)

"""A plan's reporting rhythm (报送频次) in chat: `/rhythm [简称] 周期 [日]` (coordinators).

`/rhythm` alone lists each active plan's rhythm and the current period; `/rhythm 季度 25`
sets the rhythm of the newest active plan (or of the plan named: `/rhythm 十五五 季度 25`),
`/rhythm 十五五 默认` goes back to the configured monthly cycle. The words are
`jobs.rhythm.parse_rhythm`'s (月度, 季度, 半年 or monthly, quarterly, half_yearly); the day is
1-28 (without it: config `follow_up.cycle_day`). Stored by `repo.set_plan_rhythm`, audited.
"""

from __future__ import annotations

from datetime import datetime

from telegram import Update

from bot import render, texts
from bot.access import coordinator_only
from bot.context import BotContext, Services
from bot.handlers import reply
from bot.plan_choice import choice_line, read_choice
from bot.reads import in_worker
from db import repo
from jobs.plans import PlanView
from jobs.rhythm import Rule, check_day, parse_rhythm, period_of, rule_of
from jobs.types import Rhythm

RESET_WORDS = ("默认", "default")


def rhythm_line(plan: PlanView, today_rule: tuple[Rule, datetime]) -> str:
    """One plan's rhythm and its current period (HTML)."""
    rule, now = today_rule
    period = period_of(now.date(), rule)
    return texts.RHYTHM_LINE.format(
        plan=render.esc(plan.label),
        rhythm=texts.RHYTHM_NAME[rule.rhythm.value],
        day=rule.day,
        configured=texts.RHYTHM_CONFIGURED if plan.rhythm is None else "",
        start=render.fmt_date(period.start),
        end=render.fmt_date(period.end),
    )


def _run(svc: Services, words: list[str], actor: int, now: datetime) -> str:
    default_day = svc.settings.follow_up.cycle_day
    local = now.astimezone(svc.lights.zone)
    with svc.db.session() as s:
        choice = read_choice(s, words)
        if not choice.words:
            plans = [p for p in repo.read_plans(s) if p.active]
            if not plans:
                return texts.RHYTHM_NO_PLAN
            lines = [
                rhythm_line(p, (rule_of(p.rhythm, p.rhythm_day, default_day), local)) for p in plans
            ]
            return "\n".join([texts.RHYTHM_HEAD, *lines, texts.RHYTHM_USAGE])
        plan = choice.plan
        if plan is None:
            return texts.RHYTHM_NO_PLAN
        rest = list(choice.words)
        rhythm: Rhythm | None
        day: int | None = None
        if len(rest) > 2:
            return texts.RHYTHM_USAGE
        if rest[0].lower() in RESET_WORDS:
            if len(rest) != 1:
                return texts.RHYTHM_USAGE
            rhythm = None
        else:
            try:
                rhythm = parse_rhythm(rest[0])
            except ValueError:
                return (
                    texts.RHYTHM_UNKNOWN.format(word=render.esc(render.clip(rest[0], 30)))
                    + "\n"
                    + (texts.RHYTHM_USAGE)
                )
            if len(rest) == 2:
                try:
                    day = check_day(int(rest[1].removesuffix("日").removesuffix("号")))
                except ValueError:
                    return texts.RHYTHM_BAD_DAY.format(word=render.esc(rest[1]))
        repo.set_plan_rhythm(
            s, plan_id=plan.id, rhythm=rhythm, day=day, actor_user_id=actor, now=now
        )
        stored = next(p for p in repo.read_plans(s) if p.id == plan.id)
        line = rhythm_line(stored, (rule_of(stored.rhythm, stored.rhythm_day, default_day), local))
        said = choice_line(choice, "rhythm", "季度 25")
    return "\n".join(x for x in (said, texts.RHYTHM_SET, line) if x)


@coordinator_only
async def rhythm_command(update: Update, context: BotContext) -> None:
    """`/rhythm [简称] [周期 [日]]` (coordinators): show or set a plan's reporting rhythm."""
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None:
        return
    svc = context.svc
    words = (message.text or "").split()[1:]
    text = await in_worker(svc, _run, svc, words, user.id, svc.now())
    await reply(update, text)

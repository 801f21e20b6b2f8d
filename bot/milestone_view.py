"""Yearly milestones (年度目标) in chat: `/milestone [简称] 序号 日期 内容` (coordinators).

Adds a milestone to the task with that 序号 in the plan named (or the newest active plan),
due by the date typed (`jobs.dates.parse_date`'s forms) with the text after it. The date
must be before the task's deadline (after it the deadline itself is the target) and not
before the plan's period starts. Stored by
`repo.add_milestone`, audited; /task lists a task's milestones.
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
from jobs.dates import parse_date


def _run(svc: Services, words: list[str], actor: int, now: datetime) -> str:
    today = now.astimezone(svc.policy.zone).date()
    with svc.db.session() as s:
        choice = read_choice(s, words[:1])
        rest = words[1:] if choice.named else words
        if len(rest) < 3 or choice.plan is None:
            return texts.MILESTONE_USAGE
        number_text = rest[0].strip().lstrip("第").rstrip("项")
        if not number_text.isdecimal() or len(number_text) > 6:
            return texts.MILESTONE_USAGE
        number = int(number_text)
        due_on = parse_date(rest[1], today)
        if due_on is None:
            return texts.MILESTONE_USAGE
        text = " ".join(rest[2:])
        found = repo.tasks_by_numbers(s, numbers=[number], plan_id=choice.plan.id)
        task = found[0] if found else None
        if task is None or task.id is None:
            return texts.MILESTONE_UNKNOWN_TASK.format(number=number)
        if due_on >= task.deadline:
            return texts.MILESTONE_AFTER_DEADLINE.format(deadline=render.fmt_date(task.deadline))
        if due_on < choice.plan.period_start:
            return texts.MILESTONE_BEFORE_PERIOD.format(
                start=render.fmt_date(choice.plan.period_start)
            )
        try:
            milestone = repo.add_milestone(
                s, task_id=task.id, due_on=due_on, text=text, actor_user_id=actor, now=now
            )
        except ValueError:
            return texts.MILESTONE_BAD_TEXT.format(limit=repo.MILESTONE_TEXT_LIMIT)
        said = choice_line(choice, "milestone", f"{number} {due_on.isoformat()} 内容")
        done = texts.MILESTONE_ADDED.format(
            number=number, due=render.fmt_date(milestone.due_on), text=render.esc(milestone.text)
        )
    return "\n".join(x for x in (said, done) if x)


@coordinator_only
async def milestone_command(update: Update, context: BotContext) -> None:
    """`/milestone [简称] 序号 日期 内容` (coordinators): add a yearly milestone to a task."""
    user = update.effective_user
    message = update.effective_message
    if user is None or message is None:
        return
    svc = context.svc
    words = (message.text or "").split()[1:]
    text = await in_worker(svc, _run, svc, words, user.id, svc.now())
    await reply(update, text)

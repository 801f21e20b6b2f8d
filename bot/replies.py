"""Answers to what the bot sent: a plain text reply to a reminder, stored as a note on its
task (`reply_to_reminder`, outside the conversation), and the 修改这条反馈 button (c:ID) of a
receipt, which starts a correction of one's own latest report within the correction window
(`correct_report`, an entry point of the conversation of `bot/report_flow.py`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Message, Update
from telegram.error import TelegramError

from bot import keyboards, render, texts
from bot.context import BotContext
from bot.flow_common import PICK_STATUS, answer, note_problem, start_draft
from bot.handlers import reply
from db import repo
from db.models import StatusReport, Task, Unit

log = logging.getLogger(__name__)


def _task_number_of(message: Message, bot_id: int) -> int | None:
    """The task number of a reminder message of this bot, read from its status buttons."""
    if message.from_user is None or message.from_user.id != bot_id:
        return None
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            parsed = keyboards.parse_status_data(str(button.callback_data or ""))
            if parsed is not None:
                return parsed[0]
    return None


async def reply_to_reminder(update: Update, context: BotContext) -> None:
    """Store a plain text reply to a reminder message as a note on that reminder's task.

    The reminder is found in the ledger by its message id or, when its send was recorded as
    uncertain (no message id), by the task of its status buttons.
    """
    message = update.effective_message
    user = update.effective_user
    replied = message.reply_to_message if message is not None else None
    if message is None or user is None or replied is None:
        return
    svc = context.svc
    note = message.text or ""
    problem = note_problem(note)
    if problem is not None:
        await reply(update, problem)
        return
    now = svc.now()
    button_task = _task_number_of(replied, context.bot.id)
    with svc.db.session() as s:
        reminder = repo.delivery_for_message(
            s, destination=str(message.chat_id), message_id=replied.message_id
        )
        if reminder is not None and reminder.task_id is None:
            reminder = None  # a digest or notice: about no task
        contact = repo.get_contact(s, telegram_user_id=user.id)
        if reminder is not None:
            task = s.get(Task, reminder.task_id)
            unit_id: int | None = reminder.unit_id
        elif button_task is not None:
            task = repo.get_task(s, number=button_task)
            unit_id = contact.unit_id if contact else None
        else:
            task, unit_id = None, None
        unit = s.get(Unit, unit_id) if unit_id is not None else None
        stored = None
        if (
            task is not None
            and unit is not None
            and contact is not None
            and contact.unit_id == unit.id
            and repo.may_report(s, task_id=task.id or 0, unit_id=unit.id or 0)
        ):
            stored = repo.add_report(
                s,
                task_id=task.id or 0,
                unit_id=unit.id or 0,
                contact_id=contact.id,
                reporter_user_id=user.id,
                status=None,
                note=note,
                now=now,
                source="reply",
            )
    if task is None:
        await reply(update, texts.REPLY_NOT_REMINDER)
        return
    if stored is None or unit is None:
        await reply(update, texts.NOT_YOUR_TASK.format(number=task.number))
        return
    log.info(
        "report stored: id=%s task=%s unit=%s user=%s status=none source=reply note_chars=%d",
        stored.id,
        task.number,
        unit.id,
        user.id,
        len(note),
    )
    try:
        await reply(
            update,
            texts.REPLY_SAVED.format(
                number=task.number,
                unit=render.esc(unit.name),
                note=render.esc(note),
                at=render.fmt_instant(now, svc.policy.zone),
            ),
        )
    except TelegramError as exc:  # stored and committed: never report that as a failure
        log.warning("note %s stored; acknowledgement not delivered: %s", stored.id, exc)


async def correct_report(update: Update, context: BotContext) -> int | None:
    """Start a correction of one's own latest report, within the correction window."""
    query = update.callback_query
    user = update.effective_user
    svc = context.svc
    if query is None or user is None or query.data is None:
        return None
    report_id = int(query.data.split(":")[1])
    window = timedelta(minutes=svc.settings.follow_up.correction_minutes)
    with svc.db.session() as s:
        report = s.get(StatusReport, report_id)
        task = s.get(Task, report.task_id) if report else None
        latest = (
            repo.latest_report_by(s, task_id=report.task_id, unit_id=report.unit_id)
            if report
            else None
        )
    allowed = (
        report is not None
        and task is not None
        and latest is not None
        and latest.id == report.id
        and report.reporter_user_id == user.id
        and report.entered_by is None
        and svc.now() - report.created_at <= window
    )
    if not allowed or report is None or task is None:
        minutes = f"{svc.settings.follow_up.correction_minutes:g}"
        await answer(update, texts.CORRECT_EXPIRED.format(minutes=minutes), alert=True)
        return None
    draft = await start_draft(update, context, task.number)
    if draft is None:
        return None
    draft.corrects_id = report.id
    context.draft_store.draft = draft
    await answer(update)
    await reply(
        update,
        texts.CORRECT_START.format(
            number=task.number, at=render.fmt_instant(report.created_at, svc.policy.zone)
        ),
        reply_markup=keyboards.status_keyboard(task.number, extension=False),
    )
    return PICK_STATUS

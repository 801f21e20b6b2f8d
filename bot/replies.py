"""Answers to what the bot sent: a plain text reply to a reminder, stored as a note on its
task (`reply_to_reminder`, outside the conversation), and the 修改这条反馈 button (c:ID) of a
receipt, which starts a correction of one's own latest report within the correction window
(`correct_report`, an entry point of the conversation of `bot/report_flow.py`).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from sqlmodel import Session
from telegram import Message, Update
from telegram.error import TelegramError

from bot import coordination_view, keyboards, render, texts
from bot.access import is_coordinator
from bot.context import BotContext
from bot.flow_common import PICK_STATUS, SKIP, answer, find_task, note_problem, start_draft
from bot.handlers import reply
from bot.plan_choice import read_tags
from db import repo
from db.models import Contact, StatusReport, Task, Unit
from jobs.scope import describe_numbers

log = logging.getLogger(__name__)

MENTIONED_TASK = re.compile(r"第\s*(\d{1,4})\s*项")  # a task named in a contact's text
MENTIONED_MAX = 10  # tasks named in a reply put first in its picker, at most


def _task_of(message: Message, bot_id: int) -> keyboards.TaskRef | None:
    """The task of a reminder message of this bot, read from its status buttons."""
    if message.from_user is None or message.from_user.id != bot_id:
        return None
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            parsed = keyboards.parse_task_data(str(button.callback_data or ""))
            if parsed is not None and parsed.action == "r":
                return parsed.task
    return None


def _listed_task_ids(message: Message, bot_id: int) -> set[int]:
    """The task ids of the task buttons (t2:<id>) of a message of the day of this bot."""
    if message.from_user is None or message.from_user.id != bot_id:
        return set()
    markup = message.reply_markup
    found = set()
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            parsed = keyboards.parse_task_data(str(button.callback_data or ""))
            if parsed is not None and parsed.action == "t" and parsed.task.task_id is not None:
                found.add(parsed.task.task_id)
    return found


def _store_note(
    session: Session,
    *,
    task: Task | None,
    unit: Unit | None,
    contact: Contact | None,
    note: str,
    now: datetime,
    source: str,
    origin: Message,
) -> StatusReport | None:
    """Store `note` as a note-only report of `contact` for (`task`, `unit`) when the contact
    belongs to that unit, the unit may report on the task and the task's plan is not closed;
    None (nothing stored) else.
    The text of one message (`origin`) is stored once: a later call for it returns the
    report stored the first time (a double tap, a delivery repeated after a restart)."""
    key = origin_key(origin)
    earlier = repo.report_from(session, origin=key)
    if earlier is not None:
        return earlier
    if (
        task is None
        or unit is None
        or contact is None
        or contact.unit_id != unit.id
        or not repo.may_report(session, task_id=task.id or 0, unit_id=unit.id or 0)
        or repo.closed_plan_label(session, plan_id=task.plan_id) is not None
    ):
        return None
    return repo.add_report(
        session,
        task_id=task.id or 0,
        unit_id=unit.id or 0,
        contact_id=contact.id,
        reporter_user_id=contact.telegram_user_id,
        status=None,
        note=note,
        now=now,
        source=source,
        origin=key,
    )


def origin_key(message: Message) -> str:
    """The key of the chat message a note comes from (`StatusReport.origin`)."""
    return f"tg:{message.chat_id}:{message.message_id}"


async def reply_to_reminder(update: Update, context: BotContext) -> None:
    """Store a plain text reply to a reminder message as a note on that reminder's task.

    The reminder is found in the ledger by its message id or, when its send was recorded as
    uncertain (no message id), by the task of its status buttons. A reply to a contact's
    message of the day listing several tasks (`jobs.daily`: its ledger rows, or its task
    buttons when the send was uncertain) asks which of those tasks the note is for (the
    buttons of `offer_note`, limited to the tasks of that message that the contact's unit may
    still report on).
    """
    message = update.effective_message
    user = update.effective_user
    replied = message.reply_to_message if message is not None else None
    if message is None or user is None or replied is None:
        return
    request_id = (
        keyboards.reason_request_of(replied.reply_markup)
        if replied.from_user is not None and replied.from_user.id == context.bot.id
        else None
    )
    review_id = (
        keyboards.return_request_of(replied.reply_markup)
        if replied.from_user is not None and replied.from_user.id == context.bot.id
        else None
    )
    if review_id is not None:
        from bot.review_view import take_return_reason  # it imports this module's peers

        await take_return_reason(update, context, review_id)
        return
    item_marker = (
        coordination_view.marker_of(replied.reply_markup)
        if replied.from_user is not None and replied.from_user.id == context.bot.id
        else None
    )
    if item_marker is not None:  # a reply to a coordination item's message
        await coordination_view.take_reply(update, context, *item_marker)
        return
    if request_id is not None:
        from bot.extension_flow import take_reject_reason  # it imports this module's peers

        await take_reject_reason(update, context, request_id)
        return
    svc = context.svc
    note = message.text or ""
    problem = note_problem(note)
    if problem is not None:
        await reply(update, problem)
        return
    now = svc.now()
    button_task = _task_of(replied, context.bot.id)
    with svc.db.session() as s:
        rows = repo.deliveries_for_message(
            s, destination=str(message.chat_id), message_id=replied.message_id
        )
        about = [row for row in rows if row.task_id is not None]  # a digest or notice: none
        reminder = about[0] if len(about) == 1 else None
        contact = repo.get_contact(s, telegram_user_id=user.id)
        listed = {row.task_id for row in about} or _listed_task_ids(replied, context.bot.id)
        open_tasks = repo.open_tasks_of_unit(s, unit_id=contact.unit_id) if contact else []
        tags = read_tags(s, html_text=False)
        several = [(t.id or 0, t.number, t.text) for t in open_tasks if t.id in listed]
        # tasks the note names (第50项) come first, even from another part of the message
        named = {int(n) for n in MENTIONED_TASK.findall(note)}
        # of the tasks with a named number (one per plan), the replied message's own first
        mentioned = sorted(
            ((t.id or 0, t.number, t.text) for t in open_tasks if t.number in named),
            key=lambda found: found[0] not in listed,
        )[:MENTIONED_MAX]
        task_tags = {t.id or 0: tags.get(t.plan_id, "") for t in open_tasks}
        if reminder is not None:
            task = s.get(Task, reminder.task_id)
            unit_id: int | None = reminder.unit_id
        elif button_task is not None:
            task = find_task(s, button_task)
            unit_id = contact.unit_id if contact else None
        else:
            task, unit_id = None, None
        unit = s.get(Unit, unit_id) if unit_id is not None else None
        closed = repo.closed_plan_label(s, plan_id=task.plan_id) if task is not None else None
        # a reply to one task's reminder that names other tasks only (第7项 under 第5项's
        # reminder): which task is meant is asked, not guessed
        elsewhere = task is not None and bool(mentioned) and task.number not in named
        stored = (
            None
            if elsewhere
            else _store_note(
                s,
                task=task,
                unit=unit,
                contact=contact,
                note=note,
                now=now,
                source="reply",
                origin=message,
            )
        )
    if elsewhere and task is not None:
        choices = mentioned + [(t.id or 0, t.number, t.text) for t in open_tasks if t.id == task.id]
        await message.reply_text(
            texts.REPLY_NAMES_OTHER_TASK.format(
                numbers=describe_numbers(sorted(n for _, n, _ in mentioned)), number=task.number
            ),
            reply_markup=keyboards.note_keyboard(choices, task_tags),
            reply_to_message_id=message.message_id,
        )
        return
    if len(listed) > 1 and several:
        # a message of the day listing several tasks: which one is the note for?
        text = texts.DAILY_PICK_TASK
        if mentioned:
            first = {n for _, n, _ in mentioned}
            first_ids = {task_id for task_id, _, _ in mentioned}
            several = mentioned + [task for task in several if task[0] not in first_ids]
            text += "\n" + texts.OFFER_NOTE_MENTIONED.format(
                numbers=describe_numbers(sorted(first))
            )
        await message.reply_text(
            text,
            reply_markup=keyboards.note_keyboard(several, task_tags),
            reply_to_message_id=message.message_id,
        )
        return
    if task is None:
        await offer_note(update, context)
        return
    if stored is None and closed is not None:
        await reply(
            update, texts.PLAN_CLOSED_TASK.format(plan=render.esc(closed), number=task.number)
        )
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
                plan=render.esc(tags.get(task.plan_id, "")),
                number=task.number,
                unit=render.esc(unit.name),
                note=render.esc(note),
                at=render.fmt_instant(now, svc.policy.zone),
            ),
        )
    except TelegramError as exc:  # stored and committed: never report that as a failure
        log.warning("note %s stored; acknowledgement not delivered: %s", stored.id, exc)


async def offer_note(update: Update, context: BotContext) -> None:
    """Answer a contact's text sent outside any conversation: offer to store it as a note on
    one of the unit's open tasks (buttons n:<number>, and 不用保存 n:0), as a reply to the
    text itself so that the press finds the text again (`store_offered_note`); nothing is kept
    in the process. Tasks the text names (第9项) come first. A coordinator or a stranger is
    told what to do instead; the "interrupted"
    answer is given only when a draft of this user is still held (a conversation cut off).
    """
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    svc = context.svc
    with svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user.id)
        unit = s.get(Unit, contact.unit_id) if contact else None
        tasks = repo.open_tasks_of_unit(s, unit_id=unit.id or 0) if unit else []
        led = {t.id for t in repo.tasks_led_by(s, unit_id=unit.id or 0)} if unit else set()
        tags = read_tags(s, html_text=False)
    # as in /report: a task the unit supports (责任单位 / member town) is marked 协办
    offered = [
        (t.id or 0, t.number, ("" if t.id in led else texts.TASK_SUPPORTING) + t.text)
        for t in tasks
    ]
    task_tags = {t.id or 0: tags.get(t.plan_id, "") for t in tasks}
    interrupted = context.user_data is not None and context.user_data.draft is not None
    if interrupted:
        context.draft_store.draft = None
        await reply(update, texts.TEXT_NOT_UNDERSTOOD)
        return
    if unit is None:
        coordinator = await is_coordinator(svc, user.id)
        await reply(update, texts.COORDINATOR_TEXT if coordinator else texts.STRANGER_TEXT)
        return
    note = message.text or ""
    if not message.text:
        await reply(update, texts.CONTACT_NOT_TEXT)
        return
    if note.strip().lower() in SKIP:  # 跳过 of a report cut off, not a progress note
        await reply(update, texts.NO_REPORT_IN_PROGRESS)
        return
    problem = note_problem(note)
    if problem is not None:
        await reply(update, problem)
        return
    if not offered:
        await reply(update, texts.OFFER_NO_TASKS.format(unit=render.esc(unit.name)))
        return
    mentioned = {int(n) for n in MENTIONED_TASK.findall(note)} & {n for _, n, _ in offered}
    text = texts.OFFER_NOTE.format(unit=render.esc(unit.name))
    if mentioned:
        offered.sort(key=lambda task: task[1] not in mentioned)
        text += "\n" + texts.OFFER_NOTE_MENTIONED.format(
            numbers=describe_numbers(sorted(mentioned))
        )
    if len(offered) > keyboards.MAX_TASK_BUTTONS:  # Telegram takes 100 buttons at most
        text += "\n" + texts.OFFER_NOTE_MORE.format(shown=keyboards.MAX_TASK_BUTTONS)
        offered = offered[: keyboards.MAX_TASK_BUTTONS]
    await message.reply_text(
        text,
        reply_markup=keyboards.note_keyboard(offered, task_tags),
        reply_to_message_id=message.message_id,
    )


async def store_offered_note(update: Update, context: BotContext) -> None:
    """Store the text an offer (`offer_note`) answered, exactly as sent, as a note-only report
    (source "chat") on the chosen task, once; n:0 declines. Only the text's author may press,
    and only while their unit may still report on that task."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None or query.data is None:
        return
    offer = query.message if isinstance(query.message, Message) else None
    original = offer.reply_to_message if offer is not None else None
    kind, value = query.data.split(":")
    task_id = int(value) if kind == "ni" else None
    number = 0 if task_id is not None else int(value)
    if (
        offer is None
        or offer.reply_markup is None  # already answered: the offer lost its buttons
        or original is None
        or original.from_user is None
        or original.from_user.id != user.id
        or not original.text
    ):
        await answer(update, texts.BUTTON_EXPIRED, alert=True)
        return
    if task_id is None and number == 0:
        await answer(update)
        await _close_offer(offer, texts.OFFER_DECLINED)
        return
    svc = context.svc
    # the text as last edited before this press (Telegram may show the offer's quoted text
    # as first sent)
    edited = context.user_data.edited_notes if context.user_data is not None else {}
    note = edited.get(original.message_id, original.text)
    now = svc.now()
    stored = None
    tag = ""
    with svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user.id)
        task = (
            repo.get_task_by_id(s, task_id=task_id)
            if task_id is not None
            else repo.get_task(s, number=number, plan_id=repo.first_plan_id(s))
        )
        if task is not None:
            number = task.number
        unit = s.get(Unit, contact.unit_id) if contact else None
        if note_problem(note) is None:
            stored = _store_note(
                s,
                task=task,
                unit=unit,
                contact=contact,
                note=note,
                now=now,
                # the picker of a reply to a message of the day, or the offer of a plain text
                source="reply" if (offer.text or "").startswith(texts.DAILY_PICK_TASK) else "chat",
                origin=original,
            )
            first = repo.get_task_by_id(s, task_id=stored.task_id) if stored else None
            number = first.number if first is not None else number  # stored by a first tap
            tag = read_tags(s).get(first.plan_id, "") if first is not None else ""
    if stored is None or unit is None:
        await answer(update, texts.NOT_YOUR_TASK.format(number=number), alert=True)
        return
    log.info(
        "report stored: id=%s task=%s unit=%s user=%s status=none source=chat note_chars=%d",
        stored.id,
        number,
        unit.id,
        user.id,
        len(note),
    )
    await answer(update)
    await _close_offer(
        offer,
        texts.REPLY_SAVED.format(
            plan=tag,
            number=number,
            unit=render.esc(unit.name),
            note=render.esc(note),
            at=render.fmt_instant(stored.created_at, svc.policy.zone),
        ),
    )


EDITS_REMEMBERED = 50  # per user: the latest edited texts kept for a later press


async def remember_edit(update: Update, context: BotContext) -> None:
    """Remember the new text of a user's edited private message from which no note was
    stored yet, so that a later press on the offer answering it (`store_offered_note`)
    stores the text as edited, not as first sent. A note already stored stays as it was
    (an edit never stores a note twice); nothing is answered."""
    message = update.edited_message
    if message is None or not message.text or context.user_data is None:
        return
    with context.svc.db.session() as s:
        if repo.report_from(s, origin=origin_key(message)) is not None:
            return
    edited = context.user_data.edited_notes
    edited.pop(message.message_id, None)
    edited[message.message_id] = message.text
    while len(edited) > EDITS_REMEMBERED:
        del edited[next(iter(edited))]


async def _close_offer(offer: Message, text: str) -> None:
    """Turn the offer into its outcome, without buttons, so it cannot be pressed twice."""
    try:
        await offer.edit_text(text, reply_markup=None)
    except TelegramError as exc:  # stored and committed: never report that as a failure
        log.warning("offer %s closed; edit not delivered: %s", offer.message_id, exc)


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
        earlier = repo.evidence_of_reports(s, report_ids=[report_id]).get(report_id, [])
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
    draft = await start_draft(update, context, keyboards.TaskRef(task_id=task.id))
    if draft is None:
        return None
    draft.corrects_id = report.id
    draft.kept = [repo.evidence.as_new(row) for row in earlier]  # kept unless replaced
    draft.corrects_receipt_id = query.message.message_id if query.message else None
    context.draft_store.draft = draft
    await answer(update)
    await reply(
        update,
        texts.CORRECT_START.format(
            number=task.number, at=render.fmt_instant(report.created_at, svc.policy.zone)
        ),
        reply_markup=keyboards.status_keyboard(task.id or 0, extension=False),
    )
    return PICK_STATUS

"""The status report conversation, one function per state (private chats only).

    /report ──> PICK_TASK ──(t:N)──> PICK_STATUS ──(r:N:status)──> NOTE
    reminder button (r:N:status) ─────────────────────────────────> NOTE
    NOTE ──(text)──> EVIDENCE ──(photo / document / 跳过)──> CONFIRM ──(确认提交)──> saved

/cancel leaves at any step; after `conversation.timeout_minutes` idle the conversation ends
and says so. Each draft carries a random nonce in its 跳过 / 确认提交 / 取消 buttons, so a press
on an older draft's buttons can never store the current one. A plain text reply to a reminder
message is stored as a note on its task (`reply_to_reminder`, outside the conversation).
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
import warnings
from datetime import date, timedelta

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import keyboards, render, texts
from bot.access import coordinator_only
from bot.context import BotContext, Draft
from bot.handlers import is_private, reply
from db import repo
from db.models import Contact, StatusReport, Task, Unit

log = logging.getLogger(__name__)

PICK_TASK, PICK_STATUS, NOTE, EVIDENCE, CONFIRM, EXT_DATE, EXT_REASON, EXT_CONFIRM = range(8)
# Longest note, in UTF-16 code units as Telegram counts: the confirmation and the
# acknowledgement echo it inside one message of at most 4096 (Bot API sendMessage limit).
NOTE_LIMIT = 2000
SKIP_WORDS = frozenset({"跳过", "skip", "无", "没有", "不用"})


def visible_text(text: str) -> str:
    """`text` without whitespace and invisible format characters (Unicode category Cf:
    zero-width spaces and joiners, direction marks and overrides, BOM)."""
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")


def note_problem(note: str) -> str | None:
    """Return why a note cannot be stored (a Chinese message), or None if it is fine.

    Refused: empty or invisible-only text, text over `NOTE_LIMIT` UTF-16 units, NUL
    characters (PostgreSQL text cannot hold them). Anything else is stored exactly as sent.
    """
    if not visible_text(note):
        return texts.NOTE_EMPTY
    length = render.telegram_length(note)
    if length > NOTE_LIMIT:
        return texts.NOTE_TOO_LONG.format(length=length, limit=NOTE_LIMIT)
    if "\x00" in note:
        return texts.NOTE_BAD_CHARACTER
    return None


def _contact_and_unit(context: BotContext, user_id: int) -> tuple[Contact, Unit] | None:
    with context.svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user_id)
        unit = s.get(Unit, contact.unit_id) if contact else None
    if contact is None or unit is None:
        return None
    return contact, unit


async def _answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(text, show_alert=alert)
        except TelegramError as exc:  # an old query cannot be answered any more; harmless
            log.info("callback answer failed: %s", exc)


def _draft(context: BotContext) -> Draft | None:
    return context.user_data.draft if context.user_data is not None else None


async def report(update: Update, context: BotContext) -> int:
    """List the contact's open tasks as buttons."""
    user = update.effective_user
    if user is None or not is_private(update):
        await reply(update, texts.PRIVATE_ONLY)
        return ConversationHandler.END
    found = _contact_and_unit(context, user.id)
    if found is None:
        await reply(update, texts.NOT_CONTACT)
        return ConversationHandler.END
    _contact, unit = found
    with context.svc.db.session() as s:
        open_tasks = repo.open_tasks_of_unit(s, unit_id=unit.id or 0)
        led = {t.number for t in repo.tasks_led_by(s, unit_id=unit.id or 0)}
    # tasks the unit supports (责任单位 / member town) are marked 协办 on their button
    tasks = [
        (t.number, ("" if t.number in led else texts.TASK_SUPPORTING) + t.text) for t in open_tasks
    ]
    supporting = sum(1 for t in open_tasks if t.number not in led)
    context.draft_store.draft = None
    unit_name = render.esc(unit.name)
    if not tasks:
        await reply(update, texts.REPORT_NO_TASKS.format(unit=unit_name))
        return ConversationHandler.END
    await reply(
        update,
        texts.REPORT_CHOOSE_TASK.format(
            unit=unit_name,
            count=len(tasks),
            supporting=texts.REPORT_SUPPORTING.format(count=supporting) if supporting else "",
        ),
        reply_markup=keyboards.task_keyboard(tasks),
    )
    return PICK_TASK


def _task_for(context: BotContext, unit_id: int, number: int) -> tuple[Task | None, bool]:
    with context.svc.db.session() as s:
        task = repo.get_task(s, number=number)
        allowed = task is not None and repo.may_report(s, task_id=task.id or 0, unit_id=unit_id)
    return task, allowed


async def _start_draft(update: Update, context: BotContext, number: int) -> Draft | None:
    """Check the presser may report on task `number`; return a fresh draft or None (answered).

    A refused press leaves any draft in progress untouched.
    """
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return None
    if not is_private(update) or (query.message is not None and query.message.chat.id != user.id):
        await _answer(update, texts.PRIVATE_ONLY, alert=True)
        return None
    found = _contact_and_unit(context, user.id)
    if found is None:
        await _answer(update, texts.NOT_CONTACT, alert=True)
        return None
    contact, unit = found
    task, allowed = _task_for(context, unit.id or 0, number)
    if task is None:
        await _answer(update, texts.UNKNOWN_TASK.format(number=number), alert=True)
        return None
    if not allowed:
        log.warning("refused report: user=%s unit=%s task=%s", user.id, unit.id, number)
        await _answer(update, texts.NOT_YOUR_TASK.format(number=number), alert=True)
        return None
    return Draft(
        task_id=task.id or 0,
        task_number=task.number,
        task_text=task.text,
        unit_id=unit.id or 0,
        unit_name=unit.name,
        contact_id=contact.id or 0,
        nonce=secrets.token_hex(4),
    )


async def pick_task(update: Update, context: BotContext) -> int | None:
    """Show the status buttons for the chosen task."""
    query = update.callback_query
    assert query is not None and query.data is not None
    draft = await _start_draft(update, context, int(query.data.split(":")[1]))
    if draft is None:
        return None  # stay where we are
    context.draft_store.draft = draft
    await _answer(update)
    if isinstance(query.message, Message):
        await query.message.reply_text(
            texts.REPORT_CHOOSE_STATUS.format(
                number=draft.task_number, text=render.esc(draft.task_text)
            ),
            reply_markup=keyboards.status_keyboard(draft.task_number),
        )
    return PICK_STATUS


async def pick_status(update: Update, context: BotContext) -> int | None:
    """Take the status from a button (reminder or status choice) and ask for a note."""
    query = update.callback_query
    assert query is not None
    parsed = keyboards.parse_status_data(query.data or "")
    if parsed is None:
        await _answer(update, texts.BUTTON_EXPIRED, alert=True)
        return None
    number, status = parsed
    draft = await _start_draft(update, context, number)
    if draft is None:
        return None  # a refused press keeps the report in progress, if any
    previous = _draft(context)
    draft.status = status
    if (
        previous is not None
        and previous.corrects_id is not None
        and previous.status is None
        and previous.task_number == number
    ):
        draft.corrects_id = previous.corrects_id  # the status choice of a correction
        previous = None
    context.draft_store.draft = draft
    await _answer(update)
    text = texts.ASK_NOTE.format(number=number, status=texts.STATUS_LABEL[status], limit=NOTE_LIMIT)
    if previous is not None and previous.status is not None and previous.nonce != draft.nonce:
        text = texts.DRAFT_REPLACED.format(number=previous.task_number) + "\n" + text
    if isinstance(query.message, Message):
        await query.message.reply_text(text)
    return NOTE


async def take_note(update: Update, context: BotContext) -> int:
    """Store the note in the draft and ask for evidence."""
    message = update.effective_message
    draft = _draft(context)
    if message is None or draft is None:
        await reply(update, texts.BUTTON_EXPIRED)
        return ConversationHandler.END
    note = message.text or ""
    problem = note_problem(note)
    if problem is not None:
        await reply(update, problem)
        return NOTE
    draft.note = note
    draft.note_message_id = message.message_id
    await reply(update, texts.ASK_EVIDENCE, reply_markup=keyboards.skip_keyboard(draft.nonce))
    return EVIDENCE


async def note_not_text(update: Update, context: BotContext) -> int:
    """Ask again for a text note when something else was sent."""
    await reply(update, texts.NOTE_NOT_TEXT)
    return NOTE


async def edited_note(update: Update, context: BotContext) -> int | None:
    """Take a correction of the note message while the draft is not yet stored."""
    message = update.edited_message
    draft = _draft(context)
    if message is None or draft is None or message.message_id != draft.note_message_id:
        return None
    note = message.text or ""
    problem = note_problem(note)
    if problem is not None:
        await reply(update, problem)
        return None
    draft.note = note
    await reply(update, texts.NOTE_UPDATED.format(note=render.esc(note)))
    if draft.confirming:
        return await _ask_confirmation(update, draft)
    return None


def _evidence_text(draft: Draft) -> str:
    if draft.evidence_kind == "photo":
        return texts.EVIDENCE_PHOTO
    if draft.evidence_kind == "document":
        return texts.EVIDENCE_DOCUMENT.format(name=render.esc(draft.evidence_file_name or ""))
    return texts.EVIDENCE_NONE


def _summary(template: str, draft: Draft, **extra: str) -> str:
    return template.format(
        number=draft.task_number,
        text=render.esc(render.clip(draft.task_text, 60)),
        unit=render.esc(draft.unit_name),
        status=render.status_label(draft.status),
        note=render.esc(draft.note),
        evidence=_evidence_text(draft),
        **extra,
    )


async def _ask_confirmation(update: Update, draft: Draft) -> int:
    draft.confirming = True
    message = update.effective_message
    if message is not None:
        await message.reply_text(
            _summary(texts.CONFIRM, draft), reply_markup=keyboards.confirm_keyboard(draft.nonce)
        )
    return CONFIRM


async def take_evidence(update: Update, context: BotContext) -> int:
    """Keep a reference to the photo or document and ask for confirmation."""
    message = update.effective_message
    draft = _draft(context)
    if message is None or draft is None:
        return ConversationHandler.END
    if message.photo:
        largest = message.photo[-1]
        draft.evidence_kind, draft.evidence_file_id = "photo", largest.file_id
        draft.evidence_file_name = None
    elif message.document is not None:
        draft.evidence_kind, draft.evidence_file_id = "document", message.document.file_id
        draft.evidence_file_name = (message.document.file_name or "").replace("\x00", "")
        draft.evidence_file_name = draft.evidence_file_name or "未命名文件"
    draft.media_group_id = message.media_group_id
    return await _ask_confirmation(update, draft)


async def skip_evidence(update: Update, context: BotContext) -> int | None:
    """Go on without evidence (the 跳过 button, /skip, or typing 跳过)."""
    draft = _draft(context)
    if update.callback_query is not None:
        if draft is None or keyboards.nonce_of(update.callback_query.data) != draft.nonce:
            await _answer(update, texts.BUTTON_EXPIRED, alert=True)
            return None
        await _answer(update)
    if draft is None:
        await reply(update, texts.BUTTON_EXPIRED)
        return ConversationHandler.END
    draft.evidence_kind = draft.evidence_file_id = draft.evidence_file_name = None
    return await _ask_confirmation(update, draft)


async def evidence_text(update: Update, context: BotContext) -> int | None:
    """Treat 跳过 typed as text like the button; ask again for anything else."""
    message = update.effective_message
    if message is not None and (message.text or "").strip().lower() in SKIP_WORDS:
        return await skip_evidence(update, context)
    return await evidence_not_file(update, context)


async def evidence_not_file(update: Update, context: BotContext) -> int:
    """Ask again for a photo, a document or 跳过."""
    draft = _draft(context)
    markup = keyboards.skip_keyboard(draft.nonce) if draft else None
    await reply(update, texts.EVIDENCE_NOT_FILE, reply_markup=markup)
    return EVIDENCE


async def extra_file(update: Update, context: BotContext) -> int | None:
    """A file at the confirmation: the evidence if none was kept (after 跳过), else explain
    that only the first file of an album is kept."""
    draft = _draft(context)
    if draft is not None and draft.evidence_kind is None:
        return await take_evidence(update, context)
    await reply(update, texts.EVIDENCE_ONLY_ONE)
    return None


async def confirm_text(update: Update, context: BotContext) -> None:
    """Remind the user to press a button on the confirmation."""
    await reply(update, texts.CONFIRM_USE_BUTTONS)


async def confirm(update: Update, context: BotContext) -> int | None:
    """Store the report and acknowledge it with what was stored."""
    query = update.callback_query
    user = update.effective_user
    draft = _draft(context)
    if query is None or user is None:
        return None
    if draft is None or keyboards.nonce_of(query.data) != draft.nonce:
        await _answer(update, texts.BUTTON_EXPIRED, alert=True)
        return None  # an older confirmation: the current draft stays as it is
    svc = context.svc
    now = svc.now()
    stored_id = None
    with svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user.id)
        allowed = (
            contact is not None
            and contact.unit_id == draft.unit_id
            and repo.may_report(s, task_id=draft.task_id, unit_id=draft.unit_id)
        )
        if allowed:
            stored = repo.add_report(
                s,
                task_id=draft.task_id,
                unit_id=draft.unit_id,
                contact_id=contact.id if contact else None,
                reporter_user_id=user.id,
                status=draft.status,
                note=draft.note,
                now=now,
                evidence_kind=draft.evidence_kind,
                evidence_file_id=draft.evidence_file_id,
                evidence_file_name=draft.evidence_file_name,
                corrects_id=draft.corrects_id,
            )
            stored_id = stored.id
    context.draft_store.draft = None
    if not allowed:
        await _answer(update, texts.NOT_YOUR_TASK.format(number=draft.task_number), alert=True)
        return ConversationHandler.END
    log.info(
        "report stored: id=%s task=%s unit=%s user=%s status=%s evidence=%s note_chars=%d",
        stored_id,
        draft.task_number,
        draft.unit_id,
        user.id,
        draft.status,
        draft.evidence_kind or "none",
        len(draft.note),
    )
    # stored and committed: from here on, a Telegram failure must not look like a lost report
    await _answer(update)
    saved = _summary(texts.SAVED, draft, at=render.fmt_instant(now, svc.policy.zone))
    markup = (
        keyboards.correction_keyboard(stored_id or 0)
        if svc.settings.follow_up.correction_minutes > 0
        else None
    )
    try:
        if isinstance(query.message, Message):
            # the confirmation card becomes the receipt
            await query.message.edit_text(saved, reply_markup=markup)
        else:
            await context.bot.send_message(user.id, saved, reply_markup=markup)
    except TelegramError as exc:
        log.warning("report %s stored but the receipt edit failed: %s", stored_id, exc)
        try:
            await context.bot.send_message(user.id, saved)
        except TelegramError as again:
            log.warning("report %s stored; receipt not delivered: %s", stored_id, again)
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int | None:
    """Leave the conversation without storing anything."""
    draft = _draft(context)
    if update.callback_query is not None:
        if draft is None or keyboards.nonce_of(update.callback_query.data) != draft.nonce:
            await _answer(update, texts.BUTTON_EXPIRED, alert=True)
            return None
        await _answer(update)
    if context.user_data is not None:
        context.user_data.draft = None
    await reply(update, texts.CANCELLED)
    return ConversationHandler.END


async def cancel_outside(update: Update, context: BotContext) -> None:
    """Answer /cancel when no conversation runs (in private chats; silence in groups)."""
    if is_private(update):
        await reply(update, texts.NOTHING_TO_CANCEL)


async def timed_out(update: Update, context: BotContext) -> None:
    """Tell the user the idle conversation ended and nothing was stored."""
    if context.user_data is not None:
        context.user_data.draft = None
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat.id, texts.TIMED_OUT)


async def stale_button(update: Update, context: BotContext) -> None:
    """Answer a press on a conversation button when no conversation runs."""
    await _answer(update, texts.BUTTON_EXPIRED)


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
        reminder = repo.reminder_for_message(
            s, chat_id=message.chat_id, message_id=replied.message_id
        )
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


def parse_date(text: str) -> date | None:
    """Read a date typed by a person: 2026-06-30, 2026/6/30, 2026.6.30 or 2026年6月30日."""
    cleaned = text.strip().replace("年", "-").replace("月", "-").rstrip("日号")
    for sep in ("/", "."):
        cleaned = cleaned.replace(sep, "-")
    parts = cleaned.split("-")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


async def ask_extension(update: Update, context: BotContext) -> int | None:
    """Start an extension request (申请延期) for the task of the pressed button."""
    query = update.callback_query
    assert query is not None and query.data is not None
    number = int(query.data.split(":")[1])
    draft = await _start_draft(update, context, number)
    if draft is None:
        return None
    with context.svc.db.session() as s:
        task = repo.get_task(s, number=number)
        lead = task is not None and repo.is_lead_unit(
            s, task_id=task.id or 0, unit_id=draft.unit_id
        )
        draft.deadline = task.deadline if task else None
    if not lead:  # only a lead unit (牵头单位) may ask to move the deadline
        await _answer(update, texts.EXT_LEAD_ONLY.format(number=number), alert=True)
        return None
    context.draft_store.draft = draft
    await _answer(update)
    await reply(
        update,
        texts.EXT_ASK_DATE.format(
            number=number, deadline=render.fmt_date(draft.deadline or date.today())
        ),
    )
    return EXT_DATE


async def take_extension_date(update: Update, context: BotContext) -> int:
    """Take the requested new deadline; it must be later than the current one."""
    message = update.effective_message
    draft = _draft(context)
    if message is None or draft is None or draft.deadline is None:
        await reply(update, texts.BUTTON_EXPIRED)
        return ConversationHandler.END
    text = message.text or ""
    requested = parse_date(text)
    if requested is None:
        await reply(update, texts.EXT_BAD_DATE.format(text=render.esc(render.clip(text, 30))))
        return EXT_DATE
    if requested <= draft.deadline:
        await reply(update, texts.EXT_NOT_LATER.format(deadline=render.fmt_date(draft.deadline)))
        return EXT_DATE
    draft.requested_deadline = requested
    await reply(update, texts.EXT_ASK_REASON)
    return EXT_REASON


def _extension_card(template: str, draft: Draft, **extra: str) -> str:
    return template.format(
        number=draft.task_number,
        text=render.esc(render.clip(draft.task_text, 60)),
        unit=render.esc(draft.unit_name),
        current=render.fmt_date(draft.deadline or date.today()),
        requested=render.fmt_date(draft.requested_deadline or date.today()),
        reason=render.esc(draft.note),
        **extra,
    )


async def take_extension_reason(update: Update, context: BotContext) -> int:
    """Take the reason and show the request for confirmation."""
    message = update.effective_message
    draft = _draft(context)
    if message is None or draft is None:
        await reply(update, texts.BUTTON_EXPIRED)
        return ConversationHandler.END
    reason = message.text or ""
    problem = note_problem(reason)
    if problem is not None:
        await reply(update, problem)
        return EXT_REASON
    draft.note = reason
    await message.reply_text(
        _extension_card(texts.EXT_CONFIRM, draft),
        reply_markup=keyboards.confirm_keyboard(draft.nonce),
    )
    return EXT_CONFIRM


async def submit_extension(update: Update, context: BotContext) -> int | None:
    """Store the extension request and send it to the coordinators with 批准 / 驳回."""
    query = update.callback_query
    user = update.effective_user
    draft = _draft(context)
    if query is None or user is None:
        return None
    if draft is None or keyboards.nonce_of(query.data) != draft.nonce:
        await _answer(update, texts.BUTTON_EXPIRED, alert=True)
        return None
    svc = context.svc
    now = svc.now()
    with svc.db.session() as s:
        task = repo.get_task(s, number=draft.task_number)
        contact = repo.get_contact(s, telegram_user_id=user.id)
        allowed = (
            task is not None
            and contact is not None
            and contact.unit_id == draft.unit_id
            and draft.requested_deadline is not None
            and repo.is_lead_unit(s, task_id=task.id or 0, unit_id=draft.unit_id)
        )
        request_id = None
        if allowed and task is not None and draft.requested_deadline is not None:
            draft.deadline = task.deadline
            request = repo.create_extension(
                s,
                task=task,
                unit_id=draft.unit_id,
                contact_id=contact.id if contact else None,
                requested_by=user.id,
                requested_deadline=draft.requested_deadline,
                reason=draft.note,
                now=now,
            )
            request_id = request.id
    context.draft_store.draft = None
    if request_id is None:
        await _answer(update, texts.NOT_YOUR_TASK.format(number=draft.task_number), alert=True)
        return ConversationHandler.END
    log.info(
        "extension requested: id=%s task=%s unit=%s", request_id, draft.task_number, draft.unit_id
    )
    await _answer(update)
    try:
        if isinstance(query.message, Message):
            await query.message.edit_text(texts.EXT_SUBMITTED)
    except TelegramError as exc:
        log.warning("extension %s stored; receipt edit failed: %s", request_id, exc)
    card = _extension_card(
        texts.EXT_TO_COORDINATOR, draft, name=render.esc(user.full_name or str(user.id))
    )
    for coordinator in svc.settings.telegram.coordinators:
        try:
            await context.bot.send_message(
                coordinator, card, reply_markup=keyboards.decision_keyboard(request_id)
            )
        except TelegramError as exc:
            log.warning(
                "extension %s not delivered to coordinator %s: %s", request_id, coordinator, exc
            )
    return ConversationHandler.END


@coordinator_only
async def decide_extension(update: Update, context: BotContext) -> None:
    """Approve or reject an extension request (coordinators); tell the contact either way."""
    query = update.callback_query
    user = update.effective_user
    svc = context.svc
    if query is None or user is None or query.data is None:
        return
    approve = query.data.startswith("xa:")
    request_id = int(query.data.split(":")[1])
    now = svc.now()
    with svc.db.session() as s:
        request = repo.decide_extension(
            s, request_id=request_id, approve=approve, decided_by=user.id, now=now
        )
        task = s.get(Task, request.task_id) if request else None
        contact = s.get(Contact, request.contact_id) if request and request.contact_id else None
    if request is None or task is None:
        await _answer(update, texts.EXT_ALREADY_DECIDED, alert=True)
        return
    log.info("extension %s %s by %s", request_id, "approved" if approve else "rejected", user.id)
    await _answer(update)
    decision = texts.EXT_DECISION_APPROVED if approve else texts.EXT_DECISION_REJECTED
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(
                texts.EXT_DECIDED.format(
                    original=render.esc(query.message.text or ""),
                    decision=decision,
                    who=render.esc(user.full_name or str(user.id)),
                    at=render.fmt_instant(now, svc.policy.zone),
                )
            )
        except TelegramError as exc:
            log.warning("extension %s decided; message edit failed: %s", request_id, exc)
    if contact is not None:
        template = texts.EXT_APPROVED if approve else texts.EXT_REJECTED
        text = template.format(
            number=task.number,
            requested=render.fmt_date(request.requested_deadline),
            current=render.fmt_date(request.current_deadline),
        )
        try:
            await context.bot.send_message(contact.chat_id, text)
        except TelegramError as exc:
            log.warning("extension %s decided; contact not told: %s", request_id, exc)


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
        await _answer(update, texts.CORRECT_EXPIRED.format(minutes=minutes), alert=True)
        return None
    draft = await _start_draft(update, context, task.number)
    if draft is None:
        return None
    draft.corrects_id = report.id
    context.draft_store.draft = draft
    await _answer(update)
    await reply(
        update,
        texts.CORRECT_START.format(
            number=task.number, at=render.fmt_instant(report.created_at, svc.policy.zone)
        ),
        reply_markup=keyboards.status_keyboard(task.number, extension=False),
    )
    return PICK_STATUS


def build_conversation(timeout: timedelta) -> ConversationHandler:  # type: ignore[type-arg]
    """Return the status report `ConversationHandler` with the given idle timeout."""
    with warnings.catch_warnings():
        # per_message=False is deliberate: one conversation per user and private chat, entered
        # from buttons on any reminder; PTB warns that callback queries are then not tracked
        # per message, which is what we want (the draft nonce guards against old buttons).
        warnings.filterwarnings("ignore", message=".*per_message=False", category=PTBUserWarning)
        return _conversation(timeout)


def _conversation(timeout: timedelta) -> ConversationHandler:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    new = private & ~filters.UpdateType.EDITED
    edited = private & filters.UpdateType.EDITED_MESSAGE & filters.TEXT
    files = new & (filters.PHOTO | filters.Document.ALL)
    return ConversationHandler(
        entry_points=[
            CommandHandler("report", report),
            CallbackQueryHandler(pick_status, pattern=keyboards.STATUS_PATTERN),
            CallbackQueryHandler(ask_extension, pattern=keyboards.EXTENSION_PATTERN),
            CallbackQueryHandler(correct_report, pattern=keyboards.CORRECTION_PATTERN),
        ],
        states={
            PICK_TASK: [CallbackQueryHandler(pick_task, pattern=keyboards.TASK_PATTERN)],
            PICK_STATUS: [CallbackQueryHandler(pick_task, pattern=keyboards.TASK_PATTERN)],
            NOTE: [
                MessageHandler(new & filters.TEXT & ~filters.COMMAND, take_note),
                MessageHandler(new & ~filters.COMMAND, note_not_text),
            ],
            EVIDENCE: [
                MessageHandler(files, take_evidence),
                CallbackQueryHandler(skip_evidence, pattern=keyboards.draft_pattern("skip")),
                CommandHandler("skip", skip_evidence),
                MessageHandler(edited, edited_note),
                MessageHandler(new & filters.TEXT & ~filters.COMMAND, evidence_text),
                MessageHandler(new & ~filters.COMMAND, evidence_not_file),
            ],
            CONFIRM: [
                CallbackQueryHandler(confirm, pattern=keyboards.draft_pattern("ok")),
                CallbackQueryHandler(cancel, pattern=keyboards.draft_pattern("no")),
                MessageHandler(edited, edited_note),
                MessageHandler(files, extra_file),
                MessageHandler(new & ~filters.COMMAND, confirm_text),
            ],
            EXT_DATE: [
                MessageHandler(new & filters.TEXT & ~filters.COMMAND, take_extension_date),
                MessageHandler(new & ~filters.COMMAND, note_not_text),
            ],
            EXT_REASON: [
                MessageHandler(new & filters.TEXT & ~filters.COMMAND, take_extension_reason),
                MessageHandler(new & ~filters.COMMAND, note_not_text),
            ],
            EXT_CONFIRM: [
                CallbackQueryHandler(submit_extension, pattern=keyboards.draft_pattern("ok")),
                CallbackQueryHandler(cancel, pattern=keyboards.draft_pattern("no")),
                MessageHandler(new & ~filters.COMMAND, confirm_text),
            ],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        allow_reentry=True,
        conversation_timeout=timeout,
        name="status_report",
    )

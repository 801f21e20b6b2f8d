"""The status report conversation, one function per state (private chats only).

    /report ──> PICK_TASK ──(t:N)──> PICK_STATUS ──(r:N:status)──> NOTE
    reminder button (r:N:status) ─────────────────────────────────> NOTE
    NOTE ──(text)──> EVIDENCE ──(photo / document / 跳过)──> CONFIRM ──(确认提交)──> saved

/cancel leaves at any step; after `conversation.timeout_minutes` idle the conversation ends
and says so. A plain text reply to a reminder message is stored as a note on its task
(`reply_to_reminder`, outside the conversation).
"""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta

from telegram import Message, Update
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
from bot.context import BotContext, Draft
from bot.handlers import is_private, reply
from db import repo
from db.models import Contact, Task, Unit

log = logging.getLogger(__name__)

PICK_TASK, PICK_STATUS, NOTE, EVIDENCE, CONFIRM = range(5)
NOTE_LIMIT = 2000  # characters; a note longer than this is refused with a clear answer


def _contact_and_unit(context: BotContext, user_id: int) -> tuple[Contact, Unit] | None:
    with context.svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user_id)
        unit = s.get(Unit, contact.unit_id) if contact else None
    if contact is None or unit is None:
        return None
    return contact, unit


async def _answer(update: Update, text: str | None = None) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text)


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
        tasks = [(t.number, t.text) for t in repo.open_tasks_of_unit(s, unit_id=unit.id or 0)]
    context.draft_store.draft = None
    unit_name = render.esc(unit.name)
    if not tasks:
        await reply(update, texts.REPORT_NO_TASKS.format(unit=unit_name))
        return ConversationHandler.END
    await reply(
        update,
        texts.REPORT_CHOOSE_TASK.format(unit=unit_name, count=len(tasks)),
        reply_markup=keyboards.task_keyboard(tasks),
    )
    return PICK_TASK


def _task_for(context: BotContext, unit_id: int, number: int) -> tuple[Task | None, bool]:
    with context.svc.db.session() as s:
        task = repo.get_task(s, number=number)
        allowed = task is not None and repo.is_lead_unit(s, task_id=task.id or 0, unit_id=unit_id)
    return task, allowed


async def _start_draft(update: Update, context: BotContext, number: int) -> Draft | None:
    """Check the presser may report on task `number`; return a fresh draft or None (answered)."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return None
    if not is_private(update) or (query.message is not None and query.message.chat.id != user.id):
        await query.answer(texts.PRIVATE_ONLY, show_alert=True)
        return None
    found = _contact_and_unit(context, user.id)
    if found is None:
        await query.answer(texts.NOT_CONTACT, show_alert=True)
        return None
    contact, unit = found
    task, allowed = _task_for(context, unit.id or 0, number)
    if task is None:
        await query.answer(texts.UNKNOWN_TASK.format(number=number), show_alert=True)
        return None
    if not allowed:
        log.warning("refused report: user=%s unit=%s task=%s", user.id, unit.id, number)
        await query.answer(texts.NOT_YOUR_TASK.format(number=number), show_alert=True)
        return None
    draft = Draft(
        task_id=task.id or 0,
        task_number=task.number,
        task_text=task.text,
        unit_id=unit.id or 0,
        unit_name=unit.name,
        contact_id=contact.id or 0,
    )
    context.draft_store.draft = draft
    return draft


async def pick_task(update: Update, context: BotContext) -> int:
    """Show the status buttons for the chosen task."""
    query = update.callback_query
    assert query is not None and query.data is not None
    draft = await _start_draft(update, context, int(query.data.split(":")[1]))
    if draft is None:
        return PICK_TASK
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.reply_text(
            texts.REPORT_CHOOSE_STATUS.format(
                number=draft.task_number, text=render.esc(draft.task_text)
            ),
            reply_markup=keyboards.status_keyboard(draft.task_number),
        )
    return PICK_STATUS


async def pick_status(update: Update, context: BotContext) -> int:
    """Take the status from a button (reminder or status choice) and ask for a note."""
    query = update.callback_query
    assert query is not None
    parsed = keyboards.parse_status_data(query.data or "")
    if parsed is None:
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)
        return ConversationHandler.END
    number, status = parsed
    draft = await _start_draft(update, context, number)
    if draft is None:
        return ConversationHandler.END
    draft.status = status
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.reply_text(
            texts.ASK_NOTE.format(
                number=number, status=texts.STATUS_LABEL[status], limit=NOTE_LIMIT
            )
        )
    return NOTE


async def take_note(update: Update, context: BotContext) -> int:
    """Store the note in the draft and ask for evidence."""
    message = update.effective_message
    draft = context.draft_store.draft
    if message is None or draft is None:
        await reply(update, texts.BUTTON_EXPIRED)
        return ConversationHandler.END
    note = message.text or ""
    if not note.strip():
        await reply(update, texts.NOTE_EMPTY)
        return NOTE
    if len(note) > NOTE_LIMIT:
        await reply(update, texts.NOTE_TOO_LONG.format(length=len(note), limit=NOTE_LIMIT))
        return NOTE
    draft.note = note
    await reply(update, texts.ASK_EVIDENCE, reply_markup=keyboards.skip_keyboard())
    return EVIDENCE


async def note_not_text(update: Update, context: BotContext) -> int:
    """Ask again for a text note when something else was sent."""
    await reply(update, texts.NOTE_NOT_TEXT)
    return NOTE


def _evidence_text(draft: Draft) -> str:
    if draft.evidence_kind == "photo":
        return texts.EVIDENCE_PHOTO
    if draft.evidence_kind == "document":
        return texts.EVIDENCE_DOCUMENT.format(name=render.esc(draft.evidence_file_name or ""))
    return texts.EVIDENCE_NONE


async def _ask_confirmation(update: Update, draft: Draft) -> int:
    text = texts.CONFIRM.format(
        number=draft.task_number,
        text=render.esc(render.clip(draft.task_text, 60)),
        unit=render.esc(draft.unit_name),
        status=render.status_label(draft.status),
        note=render.esc(draft.note),
        evidence=_evidence_text(draft),
    )
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, reply_markup=keyboards.confirm_keyboard())
    return CONFIRM


async def take_evidence(update: Update, context: BotContext) -> int:
    """Keep a reference to the photo or document and ask for confirmation."""
    message = update.effective_message
    draft = context.draft_store.draft
    if message is None or draft is None:
        return ConversationHandler.END
    if message.photo:
        largest = message.photo[-1]
        draft.evidence_kind, draft.evidence_file_id = "photo", largest.file_id
        draft.evidence_file_name = None
    elif message.document is not None:
        draft.evidence_kind, draft.evidence_file_id = "document", message.document.file_id
        draft.evidence_file_name = message.document.file_name or "未命名文件"
    return await _ask_confirmation(update, draft)


async def skip_evidence(update: Update, context: BotContext) -> int:
    """Go on without evidence."""
    draft = context.draft_store.draft
    await _answer(update)
    if draft is None:
        await reply(update, texts.BUTTON_EXPIRED)
        return ConversationHandler.END
    draft.evidence_kind = draft.evidence_file_id = draft.evidence_file_name = None
    return await _ask_confirmation(update, draft)


async def evidence_not_file(update: Update, context: BotContext) -> int:
    """Ask again for a photo, a document or 跳过."""
    await reply(update, texts.EVIDENCE_NOT_FILE, reply_markup=keyboards.skip_keyboard())
    return EVIDENCE


async def confirm(update: Update, context: BotContext) -> int:
    """Store the report and acknowledge it with what was stored."""
    query = update.callback_query
    user = update.effective_user
    draft = context.draft_store.draft
    if query is None or user is None or draft is None:
        await _answer(update, texts.BUTTON_EXPIRED)
        return ConversationHandler.END
    svc = context.svc
    now = svc.now()
    with svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user.id)
        if contact is None or contact.unit_id != draft.unit_id:
            allowed = False
        else:
            allowed = repo.is_lead_unit(s, task_id=draft.task_id, unit_id=draft.unit_id)
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
            )
            report_id = stored.id
    context.draft_store.draft = None
    if not allowed:
        await query.answer(texts.NOT_YOUR_TASK.format(number=draft.task_number), show_alert=True)
        return ConversationHandler.END
    log.info(
        "report stored: id=%s task=%s unit=%s user=%s status=%s evidence=%s note_chars=%d",
        report_id,
        draft.task_number,
        draft.unit_id,
        user.id,
        draft.status,
        draft.evidence_kind or "none",
        len(draft.note),
    )
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.reply_text(
            texts.SAVED.format(
                number=draft.task_number,
                unit=render.esc(draft.unit_name),
                status=render.status_label(draft.status),
                note=render.esc(draft.note),
                evidence=_evidence_text(draft),
                at=render.fmt_instant(now, svc.policy.zone),
            )
        )
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    """Leave the conversation without storing anything."""
    await _answer(update)
    if context.user_data is not None:
        context.user_data.draft = None
    await reply(update, texts.CANCELLED)
    return ConversationHandler.END


async def cancel_outside(update: Update, context: BotContext) -> None:
    """Answer /cancel when no conversation runs."""
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


async def reply_to_reminder(update: Update, context: BotContext) -> None:
    """Store a plain text reply to a reminder message as a note on that reminder's task."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.reply_to_message is None:
        return
    svc = context.svc
    note = message.text or ""
    if not note.strip():
        await reply(update, texts.NOTE_EMPTY)
        return
    if len(note) > NOTE_LIMIT:
        await reply(update, texts.NOTE_TOO_LONG.format(length=len(note), limit=NOTE_LIMIT))
        return
    now = svc.now()
    with svc.db.session() as s:
        reminder = repo.reminder_for_message(
            s, chat_id=message.chat_id, message_id=message.reply_to_message.message_id
        )
        contact = repo.get_contact(s, telegram_user_id=user.id)
        task = s.get(Task, reminder.task_id) if reminder else None
        unit = s.get(Unit, reminder.unit_id) if reminder else None
        stored = None
        if (
            reminder is not None
            and task is not None
            and unit is not None
            and contact is not None
            and contact.unit_id == reminder.unit_id
        ):
            stored = repo.add_report(
                s,
                task_id=reminder.task_id,
                unit_id=reminder.unit_id,
                contact_id=contact.id,
                reporter_user_id=user.id,
                status=None,
                note=note,
                now=now,
                source="reply",
            )
    if reminder is None or task is None or unit is None:
        await reply(update, texts.REPLY_NOT_REMINDER)
        return
    if stored is None:
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
    await reply(
        update,
        texts.REPLY_SAVED.format(
            number=task.number,
            unit=render.esc(unit.name),
            note=render.esc(note),
            at=render.fmt_instant(now, svc.policy.zone),
        ),
    )


def build_conversation(timeout: timedelta) -> ConversationHandler:  # type: ignore[type-arg]
    """Return the status report `ConversationHandler` with the given idle timeout."""
    private = filters.ChatType.PRIVATE
    with warnings.catch_warnings():
        # per_message=False is deliberate: one conversation per user and private chat, entered
        # from buttons on any reminder; PTB warns that callback queries are then not tracked
        # per message, which is what we want.
        warnings.filterwarnings("ignore", message=".*per_message=False", category=PTBUserWarning)
        return _conversation(private, timeout)


def _conversation(private: filters.BaseFilter, timeout: timedelta) -> ConversationHandler:  # type: ignore[type-arg]
    return ConversationHandler(
        entry_points=[
            CommandHandler("report", report),
            CallbackQueryHandler(pick_status, pattern=keyboards.STATUS_PATTERN),
        ],
        states={
            PICK_TASK: [CallbackQueryHandler(pick_task, pattern=keyboards.TASK_PATTERN)],
            PICK_STATUS: [
                CallbackQueryHandler(pick_task, pattern=keyboards.TASK_PATTERN),
            ],
            NOTE: [
                MessageHandler(private & filters.TEXT & ~filters.COMMAND, take_note),
                MessageHandler(
                    private & ~filters.COMMAND & ~filters.UpdateType.EDITED, note_not_text
                ),
            ],
            EVIDENCE: [
                MessageHandler(private & (filters.PHOTO | filters.Document.ALL), take_evidence),
                CallbackQueryHandler(skip_evidence, pattern=f"^{keyboards.SKIP}$"),
                CommandHandler("skip", skip_evidence),
                MessageHandler(
                    private & ~filters.COMMAND & ~filters.UpdateType.EDITED, evidence_not_file
                ),
            ],
            CONFIRM: [
                CallbackQueryHandler(confirm, pattern=f"^{keyboards.CONFIRM}$"),
                CallbackQueryHandler(cancel, pattern=f"^{keyboards.CANCEL}$"),
            ],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        allow_reentry=True,
        conversation_timeout=timeout,
        name="status_report",
    )

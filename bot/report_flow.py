"""The status report conversation, one function per state (private chats only).

    /report ──> PICK_TASK ──(t:N)──> PICK_STATUS ──(r:N:status)──> NOTE
    reminder button (r:N:status) ─────────────────────────────────> NOTE
    NOTE ──(text)──> EVIDENCE ──(photo / document / 跳过)──> CONFIRM ──(确认提交)──> saved

/cancel leaves at any step; after `conversation.timeout_minutes` idle the conversation ends
and says so. Each draft carries a random nonce in its 跳过 / 确认提交 / 取消 buttons, so a press
on an older draft's buttons can never store the current one. `build_conversation` makes the
one `ConversationHandler`, which also runs the extension request (`bot/extension_flow.py`)
and the correction of a report (`bot/replies.py`, which also stores a plain text reply to a
reminder, outside the conversation).
"""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta

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
from bot.context import BotContext, Draft
from bot.extension_flow import (
    ask_extension,
    submit_extension,
    take_extension_date,
    take_extension_reason,
)
from bot.flow_common import (
    CONFIRM,
    EVIDENCE,
    EXT_CONFIRM,
    EXT_DATE,
    EXT_REASON,
    NOTE,
    NOTE_LIMIT,
    PICK_STATUS,
    PICK_TASK,
    answer,
    contact_and_unit,
    draft_of,
    note_problem,
    start_draft,
)
from bot.handlers import is_private, reply
from bot.replies import correct_report
from db import repo

log = logging.getLogger(__name__)

SKIP_WORDS = frozenset({"跳过", "skip", "无", "没有", "不用"})


async def report(update: Update, context: BotContext) -> int:
    """List the contact's open tasks as buttons."""
    user = update.effective_user
    if user is None or not is_private(update):
        await reply(update, texts.PRIVATE_ONLY)
        return ConversationHandler.END
    found = contact_and_unit(context, user.id)
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


async def pick_task(update: Update, context: BotContext) -> int | None:
    """Show the status buttons for the chosen task."""
    query = update.callback_query
    assert query is not None and query.data is not None
    draft = await start_draft(update, context, int(query.data.split(":")[1]))
    if draft is None:
        return None  # stay where we are
    context.draft_store.draft = draft
    await answer(update)
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
        await answer(update, texts.BUTTON_EXPIRED, alert=True)
        return None
    number, status = parsed
    draft = await start_draft(update, context, number)
    if draft is None:
        return None  # a refused press keeps the report in progress, if any
    previous = draft_of(context)
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
    await answer(update)
    text = texts.ASK_NOTE.format(number=number, status=texts.STATUS_LABEL[status], limit=NOTE_LIMIT)
    if previous is not None and previous.status is not None and previous.nonce != draft.nonce:
        text = texts.DRAFT_REPLACED.format(number=previous.task_number) + "\n" + text
    if isinstance(query.message, Message):
        await query.message.reply_text(text)
    return NOTE


async def take_note(update: Update, context: BotContext) -> int:
    """Store the note in the draft and ask for evidence."""
    message = update.effective_message
    draft = draft_of(context)
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
    draft = draft_of(context)
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
    draft = draft_of(context)
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
    draft = draft_of(context)
    if update.callback_query is not None:
        if draft is None or keyboards.nonce_of(update.callback_query.data) != draft.nonce:
            await answer(update, texts.BUTTON_EXPIRED, alert=True)
            return None
        await answer(update)
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
    draft = draft_of(context)
    markup = keyboards.skip_keyboard(draft.nonce) if draft else None
    await reply(update, texts.EVIDENCE_NOT_FILE, reply_markup=markup)
    return EVIDENCE


async def extra_file(update: Update, context: BotContext) -> int | None:
    """A file at the confirmation: the evidence if none was kept (after 跳过), else explain
    that only the first file of an album is kept."""
    draft = draft_of(context)
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
    draft = draft_of(context)
    if query is None or user is None:
        return None
    if draft is None or keyboards.nonce_of(query.data) != draft.nonce:
        await answer(update, texts.BUTTON_EXPIRED, alert=True)
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
        await answer(update, texts.NOT_YOUR_TASK.format(number=draft.task_number), alert=True)
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
    await answer(update)
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
    draft = draft_of(context)
    if update.callback_query is not None:
        if draft is None or keyboards.nonce_of(update.callback_query.data) != draft.nonce:
            await answer(update, texts.BUTTON_EXPIRED, alert=True)
            return None
        await answer(update)
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
    await answer(update, texts.BUTTON_EXPIRED)


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

"""What the report, extension and reply flows share (private chats): the conversation's
states, the note rule, the draft of the user and the check that a presser may report.

The states are those of the one `ConversationHandler` built in `bot/report_flow.py`; the
extension flow (`bot/extension_flow.py`) and the correction of a report (`bot/replies.py`)
return them too.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata

from telegram import Update
from telegram.error import TelegramError

from bot import render, texts
from bot.context import BotContext, Draft
from bot.handlers import is_private
from db import repo
from db.models import Contact, Task, Unit

log = logging.getLogger(__name__)

PICK_TASK, PICK_STATUS, NOTE, EVIDENCE, CONFIRM, EXT_DATE, EXT_REASON, EXT_CONFIRM = range(8)
# Longest note, in UTF-16 code units as Telegram counts: the confirmation and the
# acknowledgement echo it inside one message of at most 4096 (Bot API sendMessage limit).
NOTE_LIMIT = 2000


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


def contact_and_unit(context: BotContext, user_id: int) -> tuple[Contact, Unit] | None:
    with context.svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user_id)
        unit = s.get(Unit, contact.unit_id) if contact else None
    if contact is None or unit is None:
        return None
    return contact, unit


async def answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(text, show_alert=alert)
        except TelegramError as exc:  # an old query cannot be answered any more; harmless
            log.info("callback answer failed: %s", exc)


def draft_of(context: BotContext) -> Draft | None:
    return context.user_data.draft if context.user_data is not None else None


def _task_for(context: BotContext, unit_id: int, number: int) -> tuple[Task | None, bool]:
    with context.svc.db.session() as s:
        task = repo.get_task(s, number=number)
        allowed = task is not None and repo.may_report(s, task_id=task.id or 0, unit_id=unit_id)
    return task, allowed


async def start_draft(update: Update, context: BotContext, number: int) -> Draft | None:
    """Check the presser may report on task `number`; return a fresh draft or None (answered).

    A refused press leaves any draft in progress untouched.
    """
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return None
    if not is_private(update) or (query.message is not None and query.message.chat.id != user.id):
        await answer(update, texts.PRIVATE_ONLY, alert=True)
        return None
    found = contact_and_unit(context, user.id)
    if found is None:
        await answer(update, texts.NOT_CONTACT, alert=True)
        return None
    contact, unit = found
    task, allowed = _task_for(context, unit.id or 0, number)
    if task is None:
        await answer(update, texts.UNKNOWN_TASK.format(number=number), alert=True)
        return None
    if not allowed:
        log.warning("refused report: user=%s unit=%s task=%s", user.id, unit.id, number)
        await answer(update, texts.NOT_YOUR_TASK.format(number=number), alert=True)
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

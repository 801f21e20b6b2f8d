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

from sqlmodel import Session
from telegram import Update
from telegram.error import TelegramError

from bot import render, texts
from bot.context import BotContext, Draft
from bot.handlers import is_private
from bot.keyboards import TaskRef
from db import repo
from db.models import Contact, Task, Unit

log = logging.getLogger(__name__)

PICK_TASK, PICK_STATUS, NOTE, EVIDENCE, CONFIRM, EXT_DATE, EXT_REASON, EXT_CONFIRM = range(8)
# Longest note, in UTF-16 code units as Telegram counts: the confirmation and the
# acknowledgement echo it inside one message of at most 4096 (Bot API sendMessage limit).
NOTE_LIMIT = 2000
# 跳过 itself, typed: also answered outside a report (one cut off by a restart or the idle
# timeout), where the other skip words (无, 没有, 不用) may be meant as a note
SKIP = frozenset({"跳过", "skip"})
# typed instead of pressing 跳过 at the evidence step
SKIP_WORDS = SKIP | {"无", "没有", "不用"}


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


def find_task(session: Session, ref: TaskRef) -> Task | None:
    """The task a button names, by database id or (buttons sent before several plans) by 序号
    in the plan loaded first; None if none."""
    if ref.task_id is not None:
        return repo.get_task_by_id(session, task_id=ref.task_id)
    return repo.get_task(session, number=ref.number or 0, plan_id=repo.first_plan_id(session))


async def start_draft(update: Update, context: BotContext, ref: TaskRef) -> Draft | None:
    """Check the presser may report on the task `ref` names; return a fresh draft or None
    (the press is then answered).

    A refused press leaves any draft in progress untouched; a task of a closed plan is
    answered as such (it takes no more reports). A task id that names no task
    (the task was removed from the task file) is answered as an expired button. One session,
    one statement (`repo.reporter_on_task`).
    """
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return None
    if not is_private(update) or (query.message is not None and query.message.chat.id != user.id):
        await answer(update, texts.PRIVATE_ONLY, alert=True)
        return None
    with context.svc.db.session() as s:
        task_id = ref.task_id
        if task_id is None:  # a button sent before several plans: its number in the first
            old = find_task(s, ref)
            task_id = old.id if old is not None and old.id is not None else 0
        found = repo.reporter_on_task(s, telegram_user_id=user.id, task_id=task_id)
    if found is None:
        await answer(update, texts.NOT_CONTACT, alert=True)
        return None
    task = found.task
    if task is None:
        if ref.number is None:
            await answer(update, texts.BUTTON_EXPIRED, alert=True)
        else:
            await answer(update, texts.UNKNOWN_TASK.format(number=ref.number), alert=True)
        return None
    if not found.allowed:
        log.warning("refused report: user=%s unit=%s task=%s", user.id, found.unit_id, task.number)
        await answer(update, texts.NOT_YOUR_TASK.format(number=task.number), alert=True)
        return None
    if found.closed_plan is not None:
        await answer(
            update,
            texts.PLAN_CLOSED_TASK.format(plan=found.closed_plan, number=task.number),
            alert=True,
        )
        return None
    return Draft(
        task_id=task.id,
        task_number=task.number,
        task_text=task.text,
        task_plan=texts.PLAN_TAG.format(plan=render.esc(task.plan)) if task.plan else "",
        unit_id=found.unit_id,
        unit_name=found.unit_name,
        contact_id=found.contact_id,
        nonce=secrets.token_hex(4),
    )

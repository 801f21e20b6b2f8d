"""The extension request (申请延期) of a lead unit and its decision by a coordinator.

    申请延期 button (x:N) ──> EXT_DATE ──(date)──> EXT_REASON ──(text)──> EXT_CONFIRM
    EXT_CONFIRM ──(确认提交)──> stored, sent to every coordinator with 批准 / 驳回
    批准 / 驳回 (xa:ID / xr:ID, coordinators only) ──> decided, the contact is told

The request's states run in the one `ConversationHandler` of `bot/report_flow.py`;
`decide_extension` is a handler of its own (a coordinator's button, outside any conversation).
"""

from __future__ import annotations

import logging
from datetime import date

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ConversationHandler

from bot import keyboards, render, texts
from bot.access import coordinator_only
from bot.context import BotContext, Draft
from bot.flow_common import (
    EXT_CONFIRM,
    EXT_DATE,
    EXT_REASON,
    answer,
    draft_of,
    note_problem,
    start_draft,
)
from bot.handlers import reply
from db import repo
from db.models import Contact, Task

log = logging.getLogger(__name__)


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
    draft = await start_draft(update, context, number)
    if draft is None:
        return None
    with context.svc.db.session() as s:
        task = repo.get_task(s, number=number)
        lead = task is not None and repo.is_lead_unit(
            s, task_id=task.id or 0, unit_id=draft.unit_id
        )
        draft.deadline = task.deadline if task else None
    if not lead:  # only a lead unit (牵头单位) may ask to move the deadline
        await answer(update, texts.EXT_LEAD_ONLY.format(number=number), alert=True)
        return None
    context.draft_store.draft = draft
    await answer(update)
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
    draft = draft_of(context)
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
    draft = draft_of(context)
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
    draft = draft_of(context)
    if query is None or user is None:
        return None
    if draft is None or keyboards.nonce_of(query.data) != draft.nonce:
        await answer(update, texts.BUTTON_EXPIRED, alert=True)
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
        await answer(update, texts.NOT_YOUR_TASK.format(number=draft.task_number), alert=True)
        return ConversationHandler.END
    log.info(
        "extension requested: id=%s task=%s unit=%s", request_id, draft.task_number, draft.unit_id
    )
    await answer(update)
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
        await answer(update, texts.EXT_ALREADY_DECIDED, alert=True)
        return
    log.info("extension %s %s by %s", request_id, "approved" if approve else "rejected", user.id)
    await answer(update)
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

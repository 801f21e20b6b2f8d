"""The extension request (申请延期) of a lead unit and its decision by a coordinator.

    申请延期 button (x2:ID) ──> EXT_DATE ──(date)──> EXT_REASON ──(text)──> EXT_CONFIRM
    EXT_CONFIRM ──(确认提交)──> stored, sent to every coordinator with 批准 / 驳回
    批准 (xa:ID, coordinators only) ──> approved, the contact is told
    驳回 (xr:ID) ──> the card asks for the reason, with 批准 / 不写理由，直接驳回 (xn:ID) below;
    a reply to the card ──> rejected, the contact is told the reason; xn ──> rejected without

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
from bot.access import coordinator_ids, coordinator_only, is_coordinator
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
from db.models import Contact, ExtensionRequest, Task, Unit
from jobs.dates import DateRefusal, example_date, parse_new_deadline
from jobs.types import ExtensionStatus

log = logging.getLogger(__name__)


def _today(context: BotContext) -> date:
    svc = context.svc
    return svc.now().astimezone(svc.policy.zone).date()


async def ask_extension(update: Update, context: BotContext) -> int | None:
    """Start an extension request (申请延期) for the task of the pressed button."""
    query = update.callback_query
    assert query is not None
    parsed = keyboards.parse_task_data(query.data or "")
    if parsed is None or parsed.action != "x":
        await answer(update, texts.BUTTON_EXPIRED, alert=True)
        return None
    draft = await start_draft(update, context, parsed.task)
    if draft is None:
        return None
    number = draft.task_number
    with context.svc.db.session() as s:
        task = repo.get_task_by_id(s, task_id=draft.task_id)
        lead = task is not None and repo.is_lead_unit(
            s, task_id=task.id or 0, unit_id=draft.unit_id
        )
        draft.deadline = task.deadline if task else None
    if not lead:  # only a lead unit (牵头单位) may ask to move the deadline
        await answer(update, texts.EXT_LEAD_ONLY.format(number=number), alert=True)
        return None
    context.draft_store.draft = draft
    await answer(update)
    today = _today(context)
    deadline = draft.deadline or today
    await reply(
        update,
        texts.EXT_ASK_DATE.format(
            number=number,
            deadline=render.fmt_date(deadline),
            example=example_date(max(today, deadline)).isoformat(),
        ),
    )
    return EXT_DATE


async def take_extension_date(update: Update, context: BotContext) -> int:
    """Take the requested new deadline (`jobs.dates`): readable, not in the past, and later
    than the current deadline; refused with the reason otherwise."""
    message = update.effective_message
    draft = draft_of(context)
    if message is None or draft is None or draft.deadline is None:
        await reply(update, texts.BUTTON_EXPIRED)
        return ConversationHandler.END
    text = message.text or ""
    today = _today(context)
    requested = parse_new_deadline(text, today, after=draft.deadline)
    if isinstance(requested, DateRefusal):
        await reply(update, render.date_refusal(requested, text, today, current=draft.deadline))
        return EXT_DATE
    draft.requested_deadline = requested
    await reply(update, texts.EXT_ASK_REASON)
    return EXT_REASON


def _extension_card(template: str, draft: Draft, **extra: str) -> str:
    return template.format(
        plan=draft.task_plan,
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
        task = repo.get_task_by_id(s, task_id=draft.task_id)
        contact = repo.get_contact(s, telegram_user_id=user.id)
        if contact is not None and contact.unit_id != draft.unit_id:
            merged_into = s.get(Unit, contact.unit_id)
            if s.get(Unit, draft.unit_id) is None and merged_into is not None:
                draft.unit_id, draft.unit_name = contact.unit_id, merged_into.name
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
    for coordinator in coordinator_ids(svc):
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
    if query is None or user is None or query.data is None:
        return
    request_id = int(query.data.split(":")[1])
    if query.data.startswith("xr:"):
        await _ask_reason(update, context, request_id)
        return
    approve = query.data.startswith("xa:")
    card = query.message if isinstance(query.message, Message) else None
    await decide(update, context, request_id, approve=approve, card=card, note=None)


async def _ask_reason(update: Update, context: BotContext, request_id: int) -> None:
    """Ask the coordinator who pressed 驳回 for the reason, on the request card itself (the
    reply to it carries the card, whose button names the request: nothing kept in memory)."""
    query = update.callback_query
    assert query is not None
    with context.svc.db.session() as s:
        request = s.get(ExtensionRequest, request_id)
        pending = request is not None and request.status is ExtensionStatus.PENDING
        task = s.get(Task, request.task_id) if request else None
        unit = s.get(Unit, request.unit_id) if request else None
    if not pending or task is None or unit is None:
        await answer(update, texts.EXT_ALREADY_DECIDED, alert=True)
        return
    await answer(update)
    card = query.message
    if isinstance(card, Message):
        question = texts.EXT_ASK_REJECT_REASON.format(
            number=task.number, unit=render.esc(unit.name)
        )
        try:
            await card.edit_text(
                render.esc(_card_text(card)) + "\n\n" + question,
                reply_markup=keyboards.reason_keyboard(request_id),
            )
        except TelegramError as exc:
            log.warning("extension %s: reason question not shown: %s", request_id, exc)


def _card_text(card: Message) -> str:
    """The request card's own text, without a question for a rejection's reason."""
    text = card.text or ""
    marker = texts.EXT_ASK_REJECT_REASON.split("{", 1)[0]
    return text.split("\n\n" + marker, 1)[0]


async def take_reject_reason(update: Update, context: BotContext, request_id: int) -> None:
    """A coordinator's reply to the question for a rejection's reason: reject with it."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    if not await is_coordinator(context.svc, user.id):
        await reply(update, texts.NOT_COORDINATOR)
        return
    reason = message.text or ""
    problem = note_problem(reason)
    if problem is not None:
        await reply(update, problem)
        return
    await decide(
        update, context, request_id, approve=False, card=message.reply_to_message, note=reason
    )


async def decide(
    update: Update,
    context: BotContext,
    request_id: int,
    *,
    approve: bool,
    card: Message | None,
    note: str | None,
) -> None:
    """Decide request `request_id` once; mark the request `card` with the decision (when
    known) and tell the contact, with the coordinator's reason `note` on a rejection."""
    user = update.effective_user
    query = update.callback_query
    svc = context.svc
    assert user is not None
    now = svc.now()
    with svc.db.session() as s:
        request = repo.decide_extension(
            s, request_id=request_id, approve=approve, decided_by=user.id, now=now, note=note
        )
        task = s.get(Task, request.task_id) if request else None
        contact = s.get(Contact, request.contact_id) if request and request.contact_id else None
    if request is None or task is None:
        if query is not None:
            await answer(update, texts.EXT_ALREADY_DECIDED, alert=True)
        else:
            await reply(update, texts.EXT_ALREADY_DECIDED)
        return
    log.info("extension %s %s by %s", request_id, "approved" if approve else "rejected", user.id)
    await answer(update)
    decision = texts.EXT_DECISION_APPROVED if approve else texts.EXT_DECISION_REJECTED
    if card is not None:
        try:
            await card.edit_text(
                texts.EXT_DECIDED.format(
                    original=render.esc(_card_text(card)),
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
            reason=texts.EXT_REJECTED_REASON.format(reason=render.esc(note)) if note else "",
        )
        try:
            await context.bot.send_message(contact.chat_id, text)
        except TelegramError as exc:
            log.warning("extension %s decided; contact not told: %s", request_id, exc)

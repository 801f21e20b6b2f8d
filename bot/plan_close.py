"""Closing a plan (`/close_plan 简称` in a coordinator's private chat, `taskbot plan close`)
and carrying its unfinished tasks over (结转) into another plan.

The preview counts the plan's tasks by final state and lists the unfinished ones briefly.
In chat its buttons are 关闭, 关闭并结转到“<the newest other active plan>” (which asks for the
carried tasks' deadline: a typed date, or the button with the target plan's period end) and
取消. Nothing is stored before that; a press on an older or lost preview, or after the plan
or what would be carried changed since the preview, stores nothing. The storage rules are
`repo.close_plan` and `repo.carry_over`.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop

from bot import render, texts
from bot.access import coordinator_only, is_coordinator
from bot.context import BotContext, PlanCloseDraft
from bot.flow_common import answer
from bot.handlers import edit_preview, is_private, reply
from db import repo
from jobs.dates import parse_date
from jobs.plans import PlanView, choose_plan
from jobs.scope import describe_numbers
from jobs.types import Status

log = logging.getLogger(__name__)
CONFIRM_PATTERN = r"^pc:(close|carry|end|no):[0-9a-f]{8}$"
UNFINISHED_SHOWN = 10  # unfinished tasks listed in the preview (the rest counted)
TEXT_SHOWN = 24  # characters of a task's text in the preview


def find_plan(session: Session, name: str) -> PlanView | str:
    """The plan named `name` (简称 or 文号), or the refusal text (HTML)."""
    plans = repo.read_plans(session)
    choice = choose_plan(plans, [name])
    if choice.plan is None or not choice.named:
        known = "、".join(p.label for p in plans) or "无"
        return texts.CLOSE_PLAN_UNKNOWN.format(
            name=render.esc(render.clip(name, 30)), plans=render.esc(known)
        )
    if not choice.plan.active:
        return texts.CLOSE_PLAN_ALREADY.format(plan=render.esc(choice.plan.label))
    return choice.plan


def carry_target(session: Session, plan_id: int) -> PlanView | None:
    """The newest active plan other than `plan_id`, or None."""
    return next((p for p in repo.read_plans(session) if p.active and p.id != plan_id), None)


def preview_text(
    session: Session,
    plan: PlanView,
    *,
    into: PlanView | None = None,
    deadline: date | None = None,
) -> str:
    """The preview (HTML) of closing `plan`: its tasks by final state, the unfinished ones
    briefly, and with `into` what would be carried there and under which numbers."""
    tasks = repo.tasks_by_status(session, plan_id=plan.id)
    order = (Status.DONE, Status.IN_PROGRESS, Status.BLOCKED, Status.NOT_STARTED)
    counts = "，".join(
        texts.CLOSE_PLAN_COUNT.format(
            label=texts.STATUS_LABEL[status], count=sum(1 for t in tasks if t.status is status)
        )
        for status in order
    )
    open_tasks = [t for t in tasks if t.status is not Status.DONE]
    unfinished = ""
    if open_tasks:
        lines = [
            texts.CLOSE_PLAN_UNFINISHED_LINE.format(
                number=t.number,
                status=texts.STATUS_LABEL[t.status],
                text=render.esc(render.clip(t.text, TEXT_SHOWN)),
            )
            for t in open_tasks[:UNFINISHED_SHOWN]
        ]
        if len(open_tasks) > UNFINISHED_SHOWN:
            lines.append(
                texts.CLOSE_PLAN_UNFINISHED_MORE.format(count=len(open_tasks) - UNFINISHED_SHOWN)
            )
        unfinished = texts.CLOSE_PLAN_UNFINISHED.format(
            count=len(open_tasks), lines="\n".join(lines)
        )
    text = texts.CLOSE_PLAN_PREVIEW.format(
        plan=render.esc(plan.label),
        title=render.esc(plan.title),
        number=render.esc(plan.document_number),
        total=len(tasks),
        counts=counts,
        unfinished=unfinished,
    )
    if into is not None:
        text += "\n" + carry_text(session, plan, into, deadline)
    return text


def carry_text(session: Session, plan: PlanView, into: PlanView, deadline: date | None) -> str:
    """What carrying `plan`'s unfinished tasks into `into` would do (HTML)."""
    items = repo.carry_plan(session, from_plan_id=plan.id, into_plan_id=into.id, task_ids=None)
    label = render.esc(into.label)
    if not items:
        return texts.CLOSE_PLAN_CARRY_NONE.format(into=label)
    lines = "\n".join(
        texts.CLOSE_PLAN_CARRY_LINE.format(old=i.from_number, into=label, new=i.new_number)
        for i in items
    )
    return texts.CLOSE_PLAN_CARRY.format(
        into=label,
        deadline=render.fmt_date(deadline) if deadline is not None else "待定",
        lines=lines,
    )


def apply(
    session: Session,
    plan: PlanView,
    *,
    into: PlanView | None,
    deadline: date | None,
    actor_user_id: int,
    now: datetime,
) -> str:
    """Close `plan` and, with `into` and `deadline`, carry its unfinished tasks there; return
    the text (HTML) that says what was done. Raises `repo.PlanChangeRefused` as the repo
    does (the caller rolls back)."""
    carried = []
    if into is not None and deadline is not None:
        carried = repo.carry_over(
            session,
            from_plan_id=plan.id,
            into_plan_id=into.id,
            task_ids=None,
            deadline=deadline,
            actor_user_id=actor_user_id,
            now=now,
        )
    repo.close_plan(session, plan_id=plan.id, actor_user_id=actor_user_id, now=now)
    text = texts.CLOSE_PLAN_DONE.format(plan=render.esc(plan.label))
    if carried and into is not None and deadline is not None:
        text += "\n" + texts.CLOSE_PLAN_CARRIED.format(
            count=len(carried),
            into=render.esc(into.label),
            numbers=describe_numbers([t.number for t in carried]),
            deadline=render.fmt_date(deadline),
        )
    return text


def _keyboard(nonce: str, into: PlanView | None) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(texts.BUTTON_CLOSE_PLAN, callback_data=f"pc:close:{nonce}")]]
    if into is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    texts.BUTTON_CLOSE_AND_CARRY.format(into=into.label),
                    callback_data=f"pc:carry:{nonce}",
                )
            ]
        )
    rows.append([InlineKeyboardButton(texts.BUTTON_CANCEL, callback_data=f"pc:no:{nonce}")])
    return InlineKeyboardMarkup(rows)


def _deadline_keyboard(nonce: str, end: date) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.BUTTON_CARRY_DEADLINE.format(end=render.fmt_date(end)),
                    callback_data=f"pc:end:{nonce}",
                )
            ],
            [InlineKeyboardButton(texts.BUTTON_CANCEL, callback_data=f"pc:no:{nonce}")],
        ]
    )


@coordinator_only
async def close_plan_command(update: Update, context: BotContext) -> None:
    """`/close_plan 简称` (coordinators, private chat): the preview, then 关闭, 关闭并结转 or
    取消."""
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    if not is_private(update):
        await reply(update, texts.PRIVATE_ONLY)
        return
    parts = (message.text or "").split()
    if len(parts) != 2:
        await reply(update, texts.CLOSE_PLAN_USAGE)
        return
    with context.svc.db.session() as s:
        plan = find_plan(s, parts[1])
        into = carry_target(s, plan.id) if isinstance(plan, PlanView) else None
        text = preview_text(s, plan, into=into) if isinstance(plan, PlanView) else plan
        carry = (
            tuple(
                i.from_task_id
                for i in repo.carry_plan(
                    s, from_plan_id=plan.id, into_plan_id=into.id, task_ids=None
                )
            )
            if isinstance(plan, PlanView) and into is not None
            else ()
        )
    if not isinstance(plan, PlanView):
        await reply(update, text)
        return
    nonce = secrets.token_hex(4)
    context.draft_store.plan_close = PlanCloseDraft(
        nonce=nonce,
        plan_id=plan.id,
        into_plan_id=into.id if into is not None else None,
        carry_ids=carry,
    )
    await reply(update, text, reply_markup=_keyboard(nonce, into))


def _plans(session: Session, draft: PlanCloseDraft) -> tuple[PlanView, PlanView | None] | None:
    """The draft's plan and target as they are now; None when the preview is stale: the
    plan closed, the target gone or closed, or what would be carried changed."""
    plans = {p.id: p for p in repo.read_plans(session)}
    plan = plans.get(draft.plan_id)
    if plan is None or not plan.active:
        return None
    if draft.into_plan_id is None:
        return plan, None
    into = plans.get(draft.into_plan_id)
    if into is None or not into.active:
        return None
    carry = tuple(
        i.from_task_id
        for i in repo.carry_plan(session, from_plan_id=plan.id, into_plan_id=into.id, task_ids=None)
    )
    return (plan, into) if carry == draft.carry_ids else None


async def _store(
    update: Update,
    context: BotContext,
    draft: PlanCloseDraft,
    *,
    carry: bool,
    deadline: date | None,
) -> str:
    user = update.effective_user
    svc = context.svc
    actor = user.id if user is not None else 0
    with svc.db.session() as s:
        found = _plans(s, draft)
        if found is None:
            return texts.CLOSE_PLAN_STALE
        plan, into = found
        try:
            text = apply(
                s,
                plan,
                into=into if carry else None,
                deadline=deadline if carry else None,
                actor_user_id=actor,
                now=svc.now(),
            )
        except repo.PlanChangeRefused as refused:
            s.rollback()
            return render.esc(refused.message)
    log.info(
        "plan %s closed by %s; carried into %s",
        draft.plan_id,
        actor,
        draft.into_plan_id if carry else None,
    )
    return text


@coordinator_only
async def close_plan_button(update: Update, context: BotContext) -> None:
    """关闭 / 关闭并结转 / the period-end deadline / 取消 under a preview. A press on an older
    or lost preview, or on a preview gone stale, stores nothing."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    _, action, nonce = query.data.split(":")
    draft = context.draft_store.plan_close
    if draft is None or draft.nonce != nonce:
        await answer(update, texts.CLOSE_PLAN_EXPIRED, alert=True)
        return
    await answer(update)
    if action == "no":
        context.draft_store.plan_close = None
        await edit_preview(query.message, texts.CLOSE_PLAN_CANCELLED)
        return
    if action == "carry":
        with context.svc.db.session() as s:
            found = _plans(s, draft)
        if found is None or found[1] is None:
            context.draft_store.plan_close = None
            await edit_preview(query.message, texts.CLOSE_PLAN_STALE)
            return
        into = found[1]
        context.draft_store.plan_close = PlanCloseDraft(
            nonce=draft.nonce,
            plan_id=draft.plan_id,
            into_plan_id=draft.into_plan_id,
            carry_ids=draft.carry_ids,
            asking_deadline=True,
            period_end=into.period_end,
        )
        await edit_preview(
            query.message,
            texts.CLOSE_PLAN_ASK_DEADLINE.format(
                into=render.esc(into.label),
                count=len(draft.carry_ids),
                end=render.fmt_date(into.period_end),
            ),
            _deadline_keyboard(nonce, into.period_end),
        )
        return
    if action == "end" and (not draft.asking_deadline or draft.period_end is None):
        await answer(update, texts.CLOSE_PLAN_EXPIRED, alert=True)
        return
    context.draft_store.plan_close = None
    carry = action == "end"
    text = await _store(update, context, draft, carry=carry, deadline=draft.period_end)
    await edit_preview(query.message, text)


async def carry_deadline_reply(update: Update, context: BotContext) -> None:
    """A coordinator's typed deadline for the carried tasks, while a close asks for one:
    closes and carries (the handler runs before the others and stops them). Any other text
    goes on to the other handlers."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or context.user_data is None:
        return
    draft = context.user_data.plan_close
    if draft is None or not draft.asking_deadline:
        return
    if not await is_coordinator(context.svc, user.id):
        return
    typed = message.text or ""
    today = context.svc.now().astimezone(context.svc.policy.zone).date()
    deadline = parse_date(typed, today)
    if deadline is None or deadline < today:
        await reply(
            update, texts.CLOSE_PLAN_BAD_DEADLINE.format(text=render.esc(render.clip(typed, 30)))
        )
        raise ApplicationHandlerStop
    context.user_data.plan_close = None
    await reply(update, await _store(update, context, draft, carry=True, deadline=deadline))
    raise ApplicationHandlerStop


__all__ = [
    "CONFIRM_PATTERN",
    "apply",
    "carry_deadline_reply",
    "carry_target",
    "close_plan_button",
    "close_plan_command",
    "find_plan",
    "preview_text",
]

"""Deadline changes by a coordinator: `/deadline <范围> <日期> [原因]` in chat, and the parts
the CLI's `taskbot deadline` shares with it.

范围 is one task number (changed at once, as before), a list or range of numbers
(`1-10,12`), one lead unit's name (its tasks; its name or a former name matched exactly,
with suggestions), or 全部 (every task). Dates are read by `jobs.dates` and must not be
in the past. A change of more than one task is previewed with 确认修改 / 取消 buttons before
anything is stored; the preview groups tasks by their current deadline so it fits one
message at any plan size.

Whatever changed, the reachable contacts of the lead units concerned are told once, one
message per contact listing their tasks' new deadlines: queued in the send ledger (NOTICE,
key "deadline:<batch>:<contact id>", batch = the first audit event's id) in the transaction
that moves the deadlines, then sent (`bot.delivery.send_queued_notices`), so a restart never
sends it twice and the CLI's changes go out on the bot's next tick.
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import render, texts
from bot.access import coordinator_only
from bot.backlog import recheck_plan
from bot.context import BotContext, DeadlineBatch
from bot.delivery import DEADLINE_NOTICE_PREFIX, send_queued_notices
from bot.flow_common import answer
from bot.handlers import edit_preview, reply
from bot.plan_choice import choice_line, read_choice, read_tags
from bot.reads import in_worker
from db import repo
from db.models import Task, Unit
from jobs.dates import DateProblem, DateRefusal, example_date, parse_new_deadline
from jobs.scope import describe_numbers, looks_like_numbers, parse_task_numbers

log = logging.getLogger(__name__)
PREVIEW_GROUPS = 12  # lines of a preview grouped by current deadline, at most
# longest reason (UTF-16 units, as Telegram counts): the preview and each contact's notice
# quote it within one message of at most 4096
REASON_LIMIT = 1000
CONFIRM_PATTERN = r"^dl:(ok|no):[0-9a-f]{8}$"


def reason_refusal(reason: str | None) -> str | None:
    """The answer (HTML) to a reason longer than `REASON_LIMIT` UTF-16 units, which the
    preview and each contact's notice quote; None when it fits (or there is none)."""
    length = render.telegram_length(reason or "")
    if length <= REASON_LIMIT:
        return None
    return texts.DEADLINE_REASON_TOO_LONG.format(length=length, limit=REASON_LIMIT)


@dataclass(frozen=True)
class Scope:
    """Resolved 范围: the tasks, how to name them, whether one number was given."""

    tasks: list[Task]
    label: str
    single: bool
    plan_id: int | None = None


def resolve_scope(session: Session, text: str, plan_id: int | None = None) -> Scope | str:
    """Read 范围 (module docstring) among the tasks of plan `plan_id` (None: the default
    plan, `repo.default_plan_id`); return the tasks, or the refusal text (HTML), also when
    the plan is closed (its tasks are no longer followed up)."""
    cleaned = text.strip()
    plan_id = repo.default_plan_id(session) if plan_id is None else plan_id
    closed = repo.closed_plan_label(session, plan_id=plan_id) if plan_id is not None else None
    if closed is not None:
        return texts.DEADLINE_PLAN_CLOSED.format(plan=render.esc(closed))
    if cleaned == texts.DEADLINE_SCOPE_ALL:
        tasks = repo.all_tasks(session, plan_id=plan_id)
        return Scope(tasks, texts.DEADLINE_SCOPE_EVERY, single=False, plan_id=plan_id)
    numbers = parse_task_numbers(cleaned)
    if numbers is not None:
        tasks = repo.tasks_by_numbers(session, numbers=numbers, plan_id=plan_id)
        missing = sorted(set(numbers) - {t.number for t in tasks})
        if missing:
            return texts.DEADLINE_NO_TASKS.format(numbers=describe_numbers(missing))
        label = texts.DEADLINE_SCOPE_NUMBERS.format(numbers=describe_numbers(numbers))
        single = len(numbers) == 1 and "-" not in cleaned
        return Scope(tasks, label, single=single, plan_id=plan_id)
    if looks_like_numbers(cleaned):
        return texts.DEADLINE_BAD_NUMBERS.format(text=render.esc(render.clip(cleaned, 30)))
    unit = repo.find_unit(session, name=cleaned)
    if unit is None:
        refusal = texts.INVITE_NO_UNIT.format(name=render.esc(render.clip(cleaned, 50)))
        suggestions = [u.name for u in repo.find_units(session, fragment=cleaned)]
        if suggestions:
            refusal += "\n" + texts.INVITE_DID_YOU_MEAN.format(
                names=render.esc("、".join(suggestions))
            )
        return refusal
    tasks = [t for t in repo.tasks_led_by(session, unit_id=unit.id or 0) if t.plan_id == plan_id]
    if not tasks:
        return texts.DEADLINE_UNIT_LEADS_NONE.format(unit=render.esc(unit.name))
    label = texts.DEADLINE_SCOPE_UNIT.format(unit=render.esc(unit.name))
    return Scope(tasks, label, False, plan_id=plan_id)


def preview_text(
    session: Session, scope: Scope, new: date, reason: str | None
) -> tuple[str, int] | str:
    """The preview of setting `new` on the scope's tasks (HTML, one message at any size) and
    the number of tasks it changes; the refusal text when none would change."""
    changes = repo.plan_changes(scope.tasks, new=new)
    if not changes:
        return texts.DEADLINE_NOTHING.format(after=render.fmt_date(new))
    by_before: dict[date, list[int]] = defaultdict(list)
    for change in changes:
        by_before[change.before].append(change.number)
    groups = sorted(by_before.items(), key=lambda item: item[1][0])
    lines = [
        texts.DEADLINE_PREVIEW_GROUP.format(
            numbers=describe_numbers(numbers), before=render.fmt_date(before)
        )
        for before, numbers in groups[:PREVIEW_GROUPS]
    ]
    rest = groups[PREVIEW_GROUPS:]
    if rest:
        lines.append(
            texts.DEADLINE_PREVIEW_MORE.format(
                count=len(rest), tasks=sum(len(numbers) for _, numbers in rest)
            )
        )
    text = texts.DEADLINE_PREVIEW.format(
        scope=scope.label,
        after=render.fmt_date(new),
        count=len(changes),
        lines="\n".join(lines),
    )
    skipped = len(scope.tasks) - len(changes)
    extra = [texts.DEADLINE_PREVIEW_SKIPPED.format(count=skipped)] if skipped else []
    if reason:
        extra.append(texts.DEADLINE_PREVIEW_REASON.format(reason=render.esc(reason)))
    contacts = repo.lead_contacts_of_tasks(session, task_ids=[c.task_id for c in changes])
    extra.append(
        texts.DEADLINE_PREVIEW_CONTACTS.format(contacts=len(contacts))
        if contacts
        else texts.DEADLINE_PREVIEW_NO_CONTACTS
    )
    return "\n".join([text, *extra]), len(changes)


def apply_and_queue(
    session: Session,
    *,
    numbers: list[int],
    new: date,
    actor_user_id: int,
    reason: str | None,
    now: datetime,
    plan_id: int | None = None,
) -> tuple[list[repo.DeadlineChange], int]:
    """Move the deadlines (audited) and queue one notice per reachable contact of the lead
    units concerned (one line per change shared by several tasks: 第1-3、5项：before →
    after), in the caller's transaction. Returns the changes and how many contacts
    will be told. The tasks are plan `plan_id`'s (None: the default plan)."""
    batch, changes = repo.apply_deadline_batch(
        session,
        numbers=numbers,
        new=new,
        actor_user_id=actor_user_id,
        reason=reason,
        now=now,
        plan_id=plan_id,
    )
    if not changes:
        return changes, 0
    by_task = {c.task_id: c for c in changes}
    # one batch is one plan's: named when several plans are active
    first = session.get(Task, changes[0].task_id)
    tag = read_tags(session).get(first.plan_id, "") if first is not None else ""
    contacts = repo.lead_contacts_of_tasks(session, task_ids=list(by_task))
    reason_line = texts.DEADLINE_NOTICE_REASON.format(reason=render.esc(reason)) if reason else ""
    for contact_id, (contact, task_ids) in contacts.items():
        unit = session.get(Unit, contact.unit_id)
        same: dict[tuple[date, date], list[int]] = {}
        for t in task_ids:
            same.setdefault((by_task[t].before, by_task[t].after), []).append(by_task[t].number)
        lines = [
            texts.DEADLINE_NOTICE_LINE.format(
                plan=tag,
                numbers=describe_numbers(numbers),
                before=render.fmt_date(before),
                after=render.fmt_date(after),
            )
            for (before, after), numbers in sorted(same.items(), key=lambda i: min(i[1]))
        ]
        repo.queue_notice(
            session,
            key=f"{DEADLINE_NOTICE_PREFIX}{batch}:{contact_id}",
            destination=str(contact.chat_id),
            contact_id=contact_id,
            text=texts.DEADLINE_NOTICE.format(
                unit=render.esc(unit.name if unit else ""),
                lines="\n".join(lines),
                reason=reason_line,
            ),
            now=now,
        )
    return changes, len(contacts)


def _keyboard(nonce: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.BUTTON_DEADLINE_CONFIRM, callback_data=f"dl:ok:{nonce}"),
                InlineKeyboardButton(texts.BUTTON_CANCEL, callback_data=f"dl:no:{nonce}"),
            ]
        ]
    )


@coordinator_only
async def deadline_command(update: Update, context: BotContext) -> None:
    """`/deadline <范围> <日期> [原因]` (coordinators): one task at once, more after a
    preview and 确认修改; contacts told once."""
    user = update.effective_user
    message = update.effective_message
    svc = context.svc
    if user is None or message is None:
        return
    today = svc.today()
    parts = (message.text or "").split(maxsplit=3)
    with svc.db.session() as s:
        choice = read_choice(s, parts[1:2])
    if choice.named:  # /deadline 十四五 1-5 日期 原因
        parts = (message.text or "").split(maxsplit=4)
        del parts[1]
    plan_id = choice.plan.id if choice.plan is not None else None
    if len(parts) < 3:
        await reply(
            update,
            texts.DEADLINE_USAGE.format(
                forms=render.date_forms(today),
                example=example_date(today).isoformat(),
            ),
        )
        return
    scope_text, date_text = parts[1], parts[2]
    reason = parts[3].strip() if len(parts) > 3 else None
    refusal = reason_refusal(reason)
    if refusal is not None:
        await reply(update, refusal)
        return
    new = parse_new_deadline(date_text, today)
    if isinstance(new, DateRefusal):
        await reply(update, render.date_refusal(new, date_text, today, current=None))
        return
    now = svc.now()
    with svc.db.session() as s:
        scope = resolve_scope(s, scope_text, plan_id)
        preview = None
        changes: list[repo.DeadlineChange] = []
        told = 0
        if isinstance(scope, Scope) and scope.single:
            changes, told = apply_and_queue(
                s,
                numbers=[t.number for t in scope.tasks],
                new=new,
                actor_user_id=user.id,
                reason=reason,
                now=now,
                plan_id=plan_id,
            )
        elif isinstance(scope, Scope):
            preview = preview_text(s, scope, new, reason)
    which = choice_line(choice, "deadline", f"{scope_text} {date_text}")
    if isinstance(scope, str):
        await reply(update, scope + ("\n" + which if which else ""))
        return
    if scope.single:
        [task] = scope.tasks
        if not changes:
            await reply(
                update,
                texts.DEADLINE_UNCHANGED.format(number=task.number, after=render.fmt_date(new)),
            )
            return
        log.info("deadline changed: task=%s by=%s -> %s", task.number, user.id, new)
        text = texts.DEADLINE_CHANGED.format(
            number=task.number,
            before=render.fmt_date(changes[0].before),
            after=render.fmt_date(new),
        )
        if told:
            text += "\n" + texts.DEADLINE_CONTACTS_TOLD.format(contacts=told)
        if which:
            text += "\n" + which
        hold_line = await in_worker(svc, recheck_plan, svc)
        if hold_line:
            text += "\n" + hold_line
        await reply(update, text)
        await send_queued_notices(context.bot, svc, at_once=True)
        return
    assert preview is not None
    if isinstance(preview, str):
        await reply(update, preview)
        return
    text, _count = preview
    if which:
        text += "\n" + which
    nonce = secrets.token_hex(4)
    context.draft_store.deadline_batch = DeadlineBatch(
        nonce=nonce,
        seen=tuple((t.number, t.deadline) for t in scope.tasks),
        new=new,
        reason=reason,
        plan_id=plan_id,
    )
    await reply(update, text, reply_markup=_keyboard(nonce))


@coordinator_only
async def confirm_deadline_batch(update: Update, context: BotContext) -> None:
    """确认修改 / 取消 under a preview: store (re-checking the date against today) and tell
    the contacts, or drop it. A press on an older or lost preview changes nothing, nor does
    one on a preview whose tasks' deadlines changed since it was shown (another coordinator's
    change would otherwise be overwritten unseen)."""
    query = update.callback_query
    user = update.effective_user
    svc = context.svc
    if query is None or user is None or query.data is None:
        return
    _, action, nonce = query.data.split(":")
    batch = context.draft_store.deadline_batch
    if batch is None or batch.nonce != nonce:
        await answer(update, texts.DEADLINE_BATCH_EXPIRED, alert=True)
        return
    context.draft_store.deadline_batch = None
    await answer(update)
    if action == "no":
        await edit_preview(query.message, texts.DEADLINE_BATCH_CANCELLED)
        return
    today = svc.today()
    if batch.new < today:
        await edit_preview(
            query.message,
            render.date_refusal(DateRefusal(DateProblem.PAST, batch.new), "", today, current=None),
        )
        return
    with svc.db.session() as s:
        closed = (
            repo.closed_plan_label(s, plan_id=batch.plan_id) if batch.plan_id is not None else None
        )
    if closed is not None:  # closed between the preview and the press
        await edit_preview(
            query.message, texts.DEADLINE_PLAN_CLOSED.format(plan=render.esc(closed))
        )
        return
    with svc.db.session() as s:
        seen = dict(batch.seen)
        moved = [
            t.number
            for t in repo.tasks_by_numbers(s, numbers=batch.numbers, plan_id=batch.plan_id)
            if t.number in seen and t.deadline != seen[t.number]
        ]
        changes: list[repo.DeadlineChange] = []
        told = 0
        if not moved:
            changes, told = apply_and_queue(
                s,
                numbers=batch.numbers,
                new=batch.new,
                actor_user_id=user.id,
                reason=batch.reason,
                now=svc.now(),
                plan_id=batch.plan_id,
            )
    if moved:  # changed since the preview: confirming would overwrite it unseen
        log.info("stale deadline preview refused: tasks=%s by=%s", moved, user.id)
        await edit_preview(
            query.message, texts.DEADLINE_BATCH_STALE.format(numbers=describe_numbers(moved))
        )
        return
    if not changes:
        await edit_preview(
            query.message, texts.DEADLINE_NOTHING.format(after=render.fmt_date(batch.new))
        )
        return
    log.info(
        "deadlines changed: tasks=%s by=%s -> %s contacts=%d",
        [c.number for c in changes],
        user.id,
        batch.new,
        told,
    )
    text = texts.DEADLINE_BATCH_DONE.format(
        count=len(changes),
        numbers=describe_numbers([c.number for c in changes]),
        after=render.fmt_date(batch.new),
    )
    text += (
        texts.DEADLINE_CONTACTS_TOLD.format(contacts=told)
        if told
        else texts.DEADLINE_NO_CONTACTS_TOLD
    )
    hold_line = await in_worker(svc, recheck_plan, svc)
    await edit_preview(query.message, text + ("\n" + hold_line if hold_line else ""))
    await send_queued_notices(context.bot, svc, at_once=True)


__all__ = [
    "CONFIRM_PATTERN",
    "Scope",
    "apply_and_queue",
    "confirm_deadline_batch",
    "deadline_command",
    "preview_text",
    "resolve_scope",
]

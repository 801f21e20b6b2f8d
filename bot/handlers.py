"""Command handlers: onboarding (/start, /invite), /whoami, /units, /help, /digest, fallbacks.

Each handler reads what it needs inside one short database session, closes it, and only then
awaits Telegram. Refusals are short and polite and change nothing.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import tempfile
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Message, ReplyParameters, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import CommandHandler, filters

from bot import render, texts
from bot.access import coordinator_ids, coordinator_only, is_coordinator, is_leader, reader_only
from bot.context import BotContext, Services
from bot.delivery import send, send_digest
from bot.plan_choice import read_choice, unknown_plan
from bot.reads import current_digest, ledger_light_of, ledger_review_of
from db import repo
from db.models import Invite, Unit
from db.repo import InviteProblem
from jobs.types import DeliveryKind, DeliveryOutcome

log = logging.getLogger(__name__)
INVITE_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # Telegram deep-link parameter alphabet


NEW_MESSAGE = filters.UpdateType.MESSAGE
"""Only new messages: an edited message never runs a command again or stores a note twice
(python-telegram-bot's handlers take edited messages too unless told otherwise)."""


def command(
    name: str, callback: Callable[[Update, BotContext], Coroutine[Any, Any, Any]]
) -> CommandHandler:
    """A `CommandHandler` for `/name` that answers new messages only (`NEW_MESSAGE`)."""
    return CommandHandler(name, callback, filters=NEW_MESSAGE)


def display_name(user: User) -> str:
    """Return "First Last" (or @username, or the id) of a Telegram user."""
    name = " ".join(p for p in (user.first_name, user.last_name) if p).replace("\x00", "")
    return name.strip() or (f"@{user.username}" if user.username else str(user.id))


async def edit_preview(
    message: object, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace a preview's text (and its buttons: none unless `markup`) once it is decided;
    a Telegram refusal is logged, never raised (what was decided is already stored)."""
    if isinstance(message, Message):
        try:
            await message.edit_text(text, reply_markup=markup)
        except TelegramError as exc:
            log.warning("preview not edited: %s", exc)


async def reply(update: Update, text: str, **kwargs: object) -> None:
    """Answer in the chat of the update (HTML parse mode comes from the defaults)."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(text, **kwargs)  # type: ignore[arg-type]


def topic_of(update: Update) -> int | None:
    """The forum topic the update's message was written in (its `message_thread_id`), or None
    outside forum topics: every part of an answer sent with `bot.send_*` goes there
    (`Message.reply_text` does the same on its own)."""
    message = update.effective_message
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


def is_private(update: Update) -> bool:
    """Tell whether the update comes from a private chat."""
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


def addressed_to_me(update: Update, bot_username: str | None) -> bool:
    """Tell whether a command is meant for this bot: any command in a private chat; in a
    group only one written ``/name@<bot_username>`` (a bare ``/name`` may be another bot's)."""
    if is_private(update):
        return True
    message = update.effective_message
    command = (message.text or "").split(maxsplit=1)[0] if message is not None else ""
    _, at, username = command.partition("@")
    return bool(at and bot_username and username.lower() == bot_username.lower())


async def start(update: Update, context: BotContext) -> None:
    """Register a contact from an invite code, or explain how to get one; a registered
    contact's /start clears their unreachable mark (`repo.mark_reachable`: they unblocked
    the bot), so what their refused message of the day carried goes out on the next tick."""
    user = update.effective_user
    if user is None or not is_private(update):
        return
    svc = context.svc
    code = context.args[0] if context.args else ""
    if code and not INVITE_CODE.fullmatch(code):
        code = "invalid"  # not a code we could have made: answer as unknown, query nothing
    if not code:
        with svc.db.session() as s:
            contact = repo.get_contact(s, telegram_user_id=user.id)
            unit = s.get(Unit, contact.unit_id) if contact else None
            if contact is not None and contact.id is not None:  # writing to us: reachable again
                repo.mark_reachable(s, contact_id=contact.id, now=svc.now())
        if unit is not None:
            await reply(update, texts.START_ALREADY.format(unit=render.esc(unit.name)))
        elif await is_coordinator(svc, user.id):
            await reply(update, texts.START_COORDINATOR)
        else:
            await reply(update, texts.START_NO_CODE)
        return
    now = svc.now()
    if svc.invite_guard.blocked(user.id, now):
        log.warning("invite redemption refused: user=%s reason=too_many_attempts", user.id)
        await reply(update, texts.INVITE_TOO_MANY)
        return
    with svc.db.session() as s:
        result = repo.redeem_invite(
            s,
            code=code[:64],
            telegram_user_id=user.id,
            chat_id=update.effective_chat.id if update.effective_chat else user.id,
            display_name=display_name(user),
            username=user.username,
            now=now,
        )
        task_count, left_behind = 0, 0
        if not isinstance(result, InviteProblem):
            task_count = len(repo.tasks_led_by(s, unit_id=result.unit.id or 0))
            if result.previous_unit is not None:
                left_behind = len(repo.contacts_of_unit(s, unit_id=result.previous_unit.id or 0))
    if isinstance(result, InviteProblem):
        failures = svc.invite_guard.failed(user.id, now)
        log.warning(
            "invite redemption refused: user=%s reason=%s failures_in_window=%d",
            user.id,
            result.value,
            failures,
        )
        message = {
            InviteProblem.UNKNOWN: texts.INVITE_UNKNOWN,
            InviteProblem.USED: texts.INVITE_USED,
            InviteProblem.EXPIRED: texts.INVITE_EXPIRED,
        }[result]
        await reply(update, message)
        return
    log.info("contact registered: user=%s unit=%s", user.id, result.unit.id)
    unit_name = render.esc(result.unit.name)
    text = texts.REGISTERED.format(unit=unit_name, count=task_count)
    if result.previous_unit is not None:
        text += "\n" + texts.REGISTERED_MOVED.format(
            previous=render.esc(result.previous_unit.name), unit=unit_name
        )
    await reply(update, text)
    notice = texts.COORDINATOR_REGISTERED.format(
        name=render.esc(display_name(user)), unit=unit_name
    )
    if result.previous_unit is not None:  # the coordinators must know the old unit lost one
        previous = render.esc(result.previous_unit.name)
        notice = texts.COORDINATOR_MOVED.format(
            name=render.esc(display_name(user)), previous=previous, unit=unit_name
        )
        if not left_behind:
            notice += "\n" + texts.COORDINATOR_MOVED_NONE_LEFT.format(previous=previous)
    for coordinator in coordinator_ids(svc):
        if coordinator == user.id:
            continue
        try:
            await context.bot.send_message(coordinator, notice)
        except Exception:  # a coordinator who never started the bot must not break onboarding
            log.warning("could not tell coordinator %s about a registration", coordinator)


async def help_command(update: Update, context: BotContext) -> None:
    """Explain what the bot does and list the commands of the asker's roles: a contact's
    (naming the unit), a coordinator's, both for a coordinator who is also a contact, and
    how to register for anyone else."""
    user = update.effective_user
    with context.svc.db.session() as s:
        plan = repo.get_plan(s)
        contact = repo.get_contact(s, telegram_user_id=user.id) if user else None
        unit = s.get(Unit, contact.unit_id) if contact else None
    coordinator = await is_coordinator(context.svc, user.id if user else None)
    parts = [texts.HELP_HEAD.format(plan_title=render.esc(plan.title if plan else ""))]
    if unit is not None:
        parts.append(texts.HELP_CONTACT.format(unit=render.esc(unit.name)))
    if coordinator:
        parts.append(texts.HELP_COORDINATOR)
        parts.append(texts.HELP_PEOPLE)
    leader = not coordinator and await is_leader(context.svc, user.id if user else None)
    if leader:
        parts.append(texts.HELP_LEADER)
    if unit is None and not coordinator and not leader:
        parts.append(texts.HELP_STRANGER)
    await reply(update, "\n\n".join(parts))


async def whoami(update: Update, context: BotContext) -> None:
    """Tell the user what the bot knows of them: id, coordinator, contact of which unit."""
    user = update.effective_user
    if user is None:
        return
    svc = context.svc
    roles: list[str] = []
    if await is_coordinator(svc, user.id):
        roles.append(texts.WHOAMI_COORDINATOR)
    elif await is_leader(svc, user.id):
        roles.append(texts.WHOAMI_LEADER)
    with svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user.id)
        unit = s.get(Unit, contact.unit_id) if contact else None
    if contact is not None and unit is not None:
        roles.append(
            texts.WHOAMI_CONTACT.format(
                unit=render.esc(unit.name),
                since=render.fmt_instant(contact.created_at, svc.policy.zone),
            )
        )
    if not roles:
        roles.append(texts.WHOAMI_NOBODY)
    if update.effective_chat is not None and not is_private(update):
        roles.append(texts.WHOAMI_CHAT.format(chat_id=update.effective_chat.id))
        topic = topic_of(update)
        if topic is not None:
            roles.append(texts.WHOAMI_TOPIC.format(thread_id=topic))
    await reply(update, texts.WHOAMI.format(user_id=user.id, roles="\n".join(roles)))


@coordinator_only
async def invite(update: Update, context: BotContext) -> None:
    """Create a one-time invite link for a unit (coordinator, private chat)."""
    asked = await unit_in_private(update, context, texts.INVITE_USAGE)
    if asked is None:
        return
    user, name = asked
    svc = context.svc
    if name == texts.INVITE_ALL:
        await _invite_all(update, context)
        return
    unit, suggestions, created = new_invite(svc, name, user.id)
    if unit is None or created is None:
        await reply(update, render.unknown_unit(name, suggestions, texts.INVITE_USAGE))
        return
    await reply(update, invite_text(svc, context.bot.username, unit, created))


async def unit_in_private(
    update: Update, context: BotContext, usage: str
) -> tuple[User, str] | None:
    """The user and the unit name typed after a private-chat-only command; None (answered
    `texts.INVITE_PRIVATE_ONLY` in a group, `usage` without a name) when there is none."""
    user = update.effective_user
    if user is None:
        return None
    if not is_private(update):
        await reply(update, texts.INVITE_PRIVATE_ONLY)
        return None
    name = " ".join(context.args or []).strip()
    if not name:
        await reply(update, usage)
        return None
    return user, name


def new_invite(
    svc: Services, name: str, created_by: int
) -> tuple[Unit | None, list[str], Invite | None]:
    """Resolve the unit typed as `name` and create a one-time invite for it (audited): the
    unit, the names it may have meant when none matched, and the invite (None without a
    unit)."""
    with svc.db.session() as s:
        unit, suggestions = repo.resolve_unit(s, text=name)
        created = None
        if unit is not None:
            [created] = create_invites(
                s,
                [unit],
                created_by=created_by,
                now=svc.now(),
                valid_for=svc.settings.invites.valid_for,
            )
            log.info("invite created: unit=%s by=%s", unit.id, created_by)
    return unit, suggestions, created


def invite_text(svc: Services, bot_username: str, unit: Unit, created: Invite) -> str:
    """The answer carrying a new invite: unit, expiry, `t.me` link and code (HTML)."""
    return texts.INVITE_CREATED.format(
        unit=render.esc(unit.name),
        expires=render.fmt_instant(created.expires_at, svc.policy.zone),
        link=render.esc(invite_link(bot_username, created.code)),
        code=render.esc(created.code),
    )


def create_invites(
    session: Session, units: list[Unit], *, created_by: int, now: datetime, valid_for: timedelta
) -> list[Invite]:
    """Create one one-time invite per unit (in order), each audited ("invite.create");
    `created_by` is the coordinator's Telegram id, 0 for the console."""
    invites = []
    for unit in units:
        created = repo.create_invite(
            session, unit_id=unit.id or 0, created_by=created_by, now=now, valid_for=valid_for
        )
        repo.record_audit(
            session,
            actor_user_id=created_by,
            action="invite.create",
            subject=f"unit:{unit.name}",
            before=None,
            after=created.expires_at.isoformat(),
            now=now,
        )
        invites.append(created)
    return invites


def invite_link(bot_username: str, code: str) -> str:
    """The deep link that registers whoever opens it with invite `code`."""
    return f"https://t.me/{bot_username}?start={code}"


async def _invite_all(update: Update, context: BotContext) -> None:
    """/invite 全部: one invite for each lead unit without a contact, one message of links."""
    user = update.effective_user
    svc = context.svc
    if user is None:
        return
    now = svc.now()
    with svc.db.session() as s:
        pending = repo.lead_units_without_contact(s)
        created = create_invites(
            s, pending, created_by=user.id, now=now, valid_for=svc.settings.invites.valid_for
        )
        names = [u.name for u in pending]
    if not created:
        await reply(update, texts.INVITE_ALL_NONE)
        return
    log.info("invites created: units=%d by=%s", len(created), user.id)
    lines = [
        texts.INVITE_ALL_HEADER.format(
            count=len(created), expires=render.fmt_instant(created[0].expires_at, svc.policy.zone)
        )
    ]
    for name, invite in zip(names, created, strict=True):
        lines.append(
            texts.INVITE_ALL_LINE.format(
                unit=render.esc(name),
                link=render.esc(invite_link(context.bot.username, invite.code)),
            )
        )
    lines.append(texts.INVITE_ALL_FOOTER)
    for part in render.split_lines(lines):
        await reply(update, part)


@coordinator_only
async def units(update: Update, context: BotContext) -> None:
    """List every lead unit and whether it has a contact (coordinator)."""
    svc = context.svc
    lines: list[str] = []
    with svc.db.session() as s:
        leads = repo.lead_units(s)
        for unit in leads:
            contacts = repo.contacts_of_unit(s, unit_id=unit.id or 0)
            names = "、".join(render.esc(c.display_name) for c in contacts) or texts.UNITS_NONE
            lines.append(
                texts.UNITS_LINE.format(
                    icon="✅" if contacts else "⚠️",
                    unit=render.esc(unit.name),
                    contacts=names,
                    tasks=len(repo.tasks_led_by(s, unit_id=unit.id or 0)),
                )
            )
        with_contact = sum(1 for line in lines if line.startswith("✅"))
    header = texts.UNITS_HEADER.format(with_contact=with_contact, total=len(leads))
    chat_id = update.effective_chat.id if update.effective_chat else 0
    async with svc.chat_lock(chat_id):  # the parts stay together (`Services.chat_lock`)
        for part in render.split_lines([header, *lines]):
            await reply(update, part)


REPEAT_WINDOW = timedelta(minutes=1)
"""The same /digest asked for again in one chat (and topic) within this is not posted again."""


@reader_only
async def digest_command(update: Update, context: BotContext) -> None:
    """Post the digest into this chat (in a forum, into this topic) now (coordinator; group or
    private).

    Recorded in the send ledger (kind ON_DEMAND, destination "<chat>" or "<chat>:<topic>"):
    the same request again within `REPEAT_WINDOW` (a double tap, or commands queued while the
    bot was down and delivered together at its start) gets one line pointing to the first.
    """
    user = update.effective_user
    chat = update.effective_chat
    svc = context.svc
    if user is None or chat is None:
        return
    thread = topic_of(update)
    destination = str(chat.id) if thread is None else f"{chat.id}:{thread}"
    now = svc.now()
    with svc.db.session() as s:
        first = repo.recent_delivery(
            s, kind=DeliveryKind.ON_DEMAND, destination=destination, since=now - REPEAT_WINDOW
        )
        first_at, first_message = (first.created_at, first.message_id) if first else (now, None)
        claimed = None
        if first is None:
            claimed = repo.claim_delivery(
                s,
                key=f"digest:on_demand:telegram:{destination}:{now.isoformat()}:{user.id}",
                kind=DeliveryKind.ON_DEMAND,
                destination=destination,
                now=now,
            )
        claimed_id = claimed.id if claimed is not None else None
    if claimed_id is None:
        log.info("digest on demand repeated: chat=%s by=%s; pointed to the first", chat.id, user.id)
        pointer = (
            {"reply_parameters": ReplyParameters(first_message, allow_sending_without_reply=True)}
            if first_message is not None
            else {}
        )
        at = first_at.astimezone(svc.policy.zone).strftime("%H:%M")
        await reply(update, texts.DIGEST_REPEATED.format(at=at), **pointer)
        return
    with svc.db.session() as s:
        choice = read_choice(s, list(context.args or []))
    parts = await current_digest(
        svc, choice.plan.id if choice.named and choice.plan is not None else None
    )
    outcome, sent, error = await send_digest(
        context.bot, svc, chat.id, parts, delivery_id=claimed_id, thread_id=thread
    )
    with svc.db.session() as s:
        repo.settle_delivery(s, delivery_id=claimed_id, outcome=outcome, now=svc.now(), error=error)
    log.info(
        "digest on demand %s: chat=%s by=%s parts=%d/%d",
        outcome.value,
        chat.id,
        user.id,
        sent,
        len(parts),
    )
    if outcome != DeliveryOutcome.SENT:
        # tell the coordinator privately: the chat where they asked may be the one failing
        notice = texts.DIGEST_FAILED.format(
            sent=sent, total=len(parts), reason=render.esc(error or outcome.value)
        )
        result = await send(context.bot, user.id, notice)
        if result.outcome != DeliveryOutcome.SENT:
            log.warning("could not tell coordinator %s that /digest failed", user.id)


@coordinator_only
async def export_command(update: Update, context: BotContext) -> None:
    """Send the ledger (台账) as an .xlsx document (coordinator, private chat)."""
    user, chat, svc = update.effective_user, update.effective_chat, context.svc
    if user is None or chat is None:
        return
    if not is_private(update):
        await reply(update, texts.EXPORT_PRIVATE_ONLY)
        return
    now, zone = svc.now(), svc.policy.zone
    # imported here: openpyxl takes a fifth of a second to import, and the bot's start-up
    # should not wait for a spreadsheet library that only this command uses
    from office.ledger import ledger_filename, write_ledger

    def build() -> tuple[bytes, int, int]:
        buffer = io.BytesIO()
        with svc.db.session() as s:  # a short read-only session, closed before any await
            summary = write_ledger(
                s,
                buffer,
                zone=zone,
                now=now,
                status_labels=texts.STATUS_LABEL,
                light_of=ledger_light_of(svc, s),
                calendar=svc.calendar,
                cycle_day=svc.settings.follow_up.cycle_day,
                review_of=ledger_review_of(svc),
            )
        return buffer.getvalue(), summary.ledger_rows, summary.reports

    content, rows, reports = await asyncio.to_thread(build)  # openpyxl is synchronous
    log.info("ledger export: chat=%s by=%s rows=%d bytes=%d", chat.id, user.id, rows, len(content))
    await context.bot.send_document(
        chat_id=chat.id,
        document=content,
        filename=ledger_filename(now, zone),
        caption=texts.EXPORT_CAPTION.format(
            at=render.fmt_instant(now, zone), rows=rows, reports=reports
        ),
    )


@coordinator_only
async def evaluate_command(update: Update, context: BotContext) -> None:
    """Send the 总结评估 draft (.docx) of the plan named by its 简称, else the newest active
    plan; a 中期评估 while the plan's period runs (coordinator, private chat). Reports up to
    today (configured zone) count."""
    user, chat, svc = update.effective_user, update.effective_chat, context.svc
    if user is None or chat is None:
        return
    if not is_private(update):
        await reply(update, texts.EVALUATE_PRIVATE_ONLY)
        return
    words = list(context.args or [])
    zone = svc.policy.zone
    today = svc.now().astimezone(zone).date()
    from jobs.evaluation import evaluate  # python-docx only when asked
    from office.evaluation import evaluation_filename, kind_of, write_evaluation
    from office.indicators import indicator_rows

    def build() -> tuple[str, Any, bytes | None]:
        with svc.db.session() as s:  # a short read-only session, closed before any await
            plans = repo.read_plans(s)
            choice = read_choice(s, words)
            if choice.plan is None:
                return texts.EVALUATE_NO_PLAN, None, None
            if choice.words:
                return unknown_plan(texts.EVALUATE_UNKNOWN, choice, plans), None, None
            if today < choice.plan.period_start:
                return (
                    texts.EVALUATE_NOT_STARTED.format(
                        plan=render.esc(choice.plan.label),
                        start=render.fmt_date(choice.plan.period_start),
                    ),
                    None,
                    None,
                )
            plan, tasks, reports = repo.evaluation_input(s, plan_id=choice.plan.id, zone=zone)
            indicators = indicator_rows(s, plan, today)
        evaluation = evaluate(plan, tasks, reports, as_of=today)
        buffer = io.BytesIO()
        write_evaluation(
            evaluation, buffer, status_labels=texts.STATUS_LABEL, indicators=indicators
        )
        return "", evaluation, buffer.getvalue()

    answer, evaluation, content = await asyncio.to_thread(build)  # python-docx is synchronous
    if content is None or evaluation is None:
        await reply(update, answer)
        return
    log.info(
        "evaluation: chat=%s by=%s plan=%s bytes=%d",
        chat.id,
        user.id,
        evaluation.plan.id,
        len(content),
    )
    await context.bot.send_document(
        chat_id=chat.id,
        document=content,
        filename=evaluation_filename(evaluation),
        caption=texts.EVALUATE_CAPTION.format(
            plan=evaluation.plan.label,
            kind=kind_of(evaluation),
            as_of=render.fmt_date(evaluation.as_of),
            total=len(evaluation.tasks),
            rate=evaluation.completion.percent,
            on_time=evaluation.on_time_original.percent,
            adjusted=evaluation.on_time_adjusted.percent,
        ),
    )


@coordinator_only
async def export_files_command(update: Update, context: BotContext) -> None:
    """Send the 材料汇编: a zip of the ledger and every evidence file by task and unit,
    in parts when over the upload limit (coordinator, private chat)."""
    from bot.evidence import write_files_export  # openpyxl only when asked

    user, chat, svc = update.effective_user, update.effective_chat, context.svc
    if user is None or chat is None:
        return
    if not is_private(update):
        await reply(update, texts.EXPORT_FILES_PRIVATE_ONLY)
        return
    now, zone = svc.now(), svc.policy.zone
    with tempfile.TemporaryDirectory(prefix="taskbot-bundle-") as folder:
        target = Path(folder) / f"材料汇编-{now.astimezone(zone):%Y%m%d}.zip"
        done = await asyncio.to_thread(
            write_files_export, svc, target, part_limit=svc.settings.evidence.zip_part_bytes
        )
        if done.files == 0 and done.missing == 0:
            await reply(update, texts.EXPORT_FILES_NONE)
            return
        log.info(
            "files export: chat=%s by=%s files=%d missing=%d parts=%d",
            chat.id,
            user.id,
            done.files,
            done.missing,
            len(done.paths),
        )
        if done.missing:
            log.warning("files export: %d kept evidence files missing on disk", done.missing)
        total = len(done.paths)
        for n, path in enumerate(done.paths, start=1):
            part = texts.EXPORT_FILES_PART.format(n=n, total=total) if total > 1 else ""
            caption = texts.EXPORT_FILES_CAPTION.format(count=done.files, part=part)
            if done.missing and n == total:  # said once, with the last part
                caption += texts.EXPORT_FILES_MISSING.format(missing=done.missing)
            await context.bot.send_document(
                chat_id=chat.id,
                document=path.read_bytes(),
                filename=path.name,
                caption=caption,
            )


async def unknown_command(update: Update, context: BotContext) -> None:
    """Answer an unknown command in private, or in a group when addressed ``/x@bot``; stay
    silent on a bare one in groups (it may be another bot's)."""
    if addressed_to_me(update, context.bot.username):
        await reply(update, texts.UNKNOWN_COMMAND)


async def private_fallback(update: Update, context: BotContext) -> None:
    """Answer any other private message (`bot.replies.offer_note`): a contact's text is
    offered to be stored on one of their tasks; others are told what to do."""
    from bot.replies import offer_note  # bot.replies imports this module

    await offer_note(update, context)

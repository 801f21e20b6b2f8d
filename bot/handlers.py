"""Command handlers: onboarding (/start, /invite), /whoami, /units, /help, /digest, fallbacks.

Each handler reads what it needs inside one short database session, closes it, and only then
awaits Telegram. Refusals are short and polite and change nothing.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re

from telegram import Update, User
from telegram.constants import ChatType

from bot import render, texts
from bot.access import coordinator_only, is_coordinator
from bot.context import BotContext
from bot.delivery import current_digest, ledger_light_of, send, send_digest
from db import repo
from db.models import Unit
from db.repo import InviteProblem
from jobs.types import DeliveryOutcome

log = logging.getLogger(__name__)
INVITE_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # Telegram deep-link parameter alphabet


def display_name(user: User) -> str:
    """Return "First Last" (or @username, or the id) of a Telegram user."""
    name = " ".join(p for p in (user.first_name, user.last_name) if p).replace("\x00", "")
    return name.strip() or (f"@{user.username}" if user.username else str(user.id))


async def reply(update: Update, text: str, **kwargs: object) -> None:
    """Answer in the chat of the update (HTML parse mode comes from the defaults)."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(text, **kwargs)  # type: ignore[arg-type]


def is_private(update: Update) -> bool:
    """Tell whether the update comes from a private chat."""
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


async def start(update: Update, context: BotContext) -> None:
    """Register a contact from an invite code, or explain how to get one."""
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
        if isinstance(result, InviteProblem):
            task_count = 0
        else:
            task_count = len(repo.tasks_led_by(s, unit_id=result.unit.id or 0))
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
    for coordinator in svc.settings.telegram.coordinators:
        if coordinator == user.id:
            continue
        try:
            await context.bot.send_message(coordinator, notice)
        except Exception:  # a coordinator who never started the bot must not break onboarding
            log.warning("could not tell coordinator %s about a registration", coordinator)


async def help_command(update: Update, context: BotContext) -> None:
    """Explain what the bot does and list the commands."""
    with context.svc.db.session() as s:
        plan = repo.get_plan(s)
    await reply(update, texts.HELP.format(plan_title=render.esc(plan.title if plan else "")))


async def whoami(update: Update, context: BotContext) -> None:
    """Tell the user what the bot knows of them: id, coordinator, contact of which unit."""
    user = update.effective_user
    if user is None:
        return
    svc = context.svc
    roles: list[str] = []
    if await is_coordinator(svc, user.id):
        roles.append(texts.WHOAMI_COORDINATOR)
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
    await reply(update, texts.WHOAMI.format(user_id=user.id, roles="\n".join(roles)))


@coordinator_only
async def invite(update: Update, context: BotContext) -> None:
    """Create a one-time invite link for a unit (coordinator, private chat)."""
    user = update.effective_user
    svc = context.svc
    if user is None:
        return
    if not is_private(update):
        await reply(update, texts.INVITE_PRIVATE_ONLY)
        return
    name = " ".join(context.args or []).strip()
    if not name:
        await reply(update, texts.INVITE_USAGE)
        return
    now = svc.now()
    with svc.db.session() as s:
        # a name with NUL is no unit's name (and PostgreSQL text cannot even compare it)
        unit = repo.get_unit_by_name(s, name=name) if "\x00" not in name else None
        suggestions = [] if unit else [u.name for u in repo.find_units(s, fragment=name)]
        created = None
        if unit is not None:
            created = repo.create_invite(
                s,
                unit_id=unit.id or 0,
                created_by=user.id,
                now=now,
                valid_for=svc.settings.invites.valid_for,
            )
            repo.record_audit(
                s,
                actor_user_id=user.id,
                action="invite.create",
                subject=f"unit:{unit.name}",
                before=None,
                after=created.expires_at.isoformat(),
                now=now,
            )
    if unit is None or created is None:
        text = texts.INVITE_NO_UNIT.format(name=render.esc(render.clip(name, 50)))
        if suggestions:
            text += "\n" + texts.INVITE_DID_YOU_MEAN.format(
                names=render.esc("、".join(suggestions))
            )
        else:
            text += "\n" + texts.INVITE_USAGE
        await reply(update, text)
        return
    log.info("invite created: unit=%s by=%s", unit.id, user.id)
    link = f"https://t.me/{context.bot.username}?start={created.code}"
    await reply(
        update,
        texts.INVITE_CREATED.format(
            unit=render.esc(unit.name),
            expires=render.fmt_instant(created.expires_at, svc.policy.zone),
            link=render.esc(link),
            code=render.esc(created.code),
        ),
    )


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
    for part in render.split_lines([header, *lines]):
        await reply(update, part)


@coordinator_only
async def digest_command(update: Update, context: BotContext) -> None:
    """Post the digest into this chat now (coordinator; group or private)."""
    user = update.effective_user
    chat = update.effective_chat
    svc = context.svc
    if user is None or chat is None:
        return
    parts = await current_digest(svc)
    outcome, sent, error = await send_digest(context.bot, svc, chat.id, parts)
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


async def unknown_command(update: Update, context: BotContext) -> None:
    """Answer an unknown command in private; stay silent in groups (it may be another bot's)."""
    if is_private(update):
        await reply(update, texts.UNKNOWN_COMMAND)


async def private_fallback(update: Update, context: BotContext) -> None:
    """Answer any other private message: guide contacts to /report, strangers to an invite."""
    user = update.effective_user
    if user is None:
        return
    with context.svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user.id)
    known = contact is not None or await is_coordinator(context.svc, user.id)
    await reply(update, texts.TEXT_NOT_UNDERSTOOD if known else texts.STRANGER_TEXT)

"""People who come and go: roles granted in chat and the contacts of a unit (coordinators).

Roles: `/add_coordinator <用户编号> [姓名]`, `/remove_coordinator <用户编号>`, `/add_leader`,
`/remove_leader` (the same shapes) and `/roles`. A grant takes effect at once (`bot.access`
reads the database at every check); the config's coordinators and leaders cannot be removed
in chat. The person granted or revoked is told (a failed send is logged and ignored).

Contacts: `/contacts <单位>` lists a unit's contacts with a 移除 button each ("pc:rm:<contact
id>"), `/remove_contact <单位> <姓名|序号|用户编号>` does the same by text, `/handover <单位>`
removes the unit's contacts and gives a new invite for the next one. A removed contact is
told once; afterwards every message or button press of theirs in a private chat is answered
by `removed_gate` and nothing is stored. Every change is audited (`repo.record_audit`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, User
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot import render, texts
from bot.access import coordinator_only, is_reader
from bot.context import BotContext, Services
from bot.delivery import send
from bot.handlers import invite_text, is_private, new_invite, reply, unit_in_private
from bot.reads import in_worker
from db import repo
from db.models import Contact, Unit
from jobs.types import DeliveryOutcome, Role

log = logging.getLogger(__name__)

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
REMOVE_PATTERN = r"^pc:rm:\d{1,12}$"
USER_ID = re.compile(r"[1-9]\d{0,15}")
GATE_EXEMPT = ("/start", "/whoami", "/help")


def _configured(svc: Services, role: Role) -> list[int]:
    tg = svc.settings.telegram
    return list(tg.coordinators if role is Role.COORDINATOR else tg.leaders)


async def _tell(context: BotContext, chat_id: int, text: str) -> None:
    result = await send(context.bot, chat_id, text)
    if result.outcome is not DeliveryOutcome.SENT:
        log.info("notice to user %s %s: %s", chat_id, result.outcome.value, result.error)


async def _target(
    update: Update, context: BotContext, usage: str
) -> tuple[User, int, list[str]] | None:
    """The asker, the user id typed first and the words after it; None when answered
    instead (`usage` without words, `texts.ROLE_BAD_ID` for a word that is no user id)."""
    user = update.effective_user
    args = context.args or []
    if user is None:
        return None
    if not args:
        await reply(update, usage)
        return None
    if not USER_ID.fullmatch(args[0]):
        await reply(update, texts.ROLE_BAD_ID.format(text=render.esc(render.clip(args[0], 30))))
        return None
    return user, int(args[0]), args[1:]


def _add_role(role: Role) -> Handler:
    @coordinator_only
    async def add_role(update: Update, context: BotContext) -> None:
        """`/add_<role> <用户编号> [姓名]` (coordinators): grant the role at once, audited."""
        target = await _target(update, context, texts.ROLE_ADD_USAGE.format(role=role.value))
        if target is None:
            return
        user, user_id, rest = target
        name = " ".join(rest).replace("\x00", "").strip()[:60]
        label = texts.ROLE_NAME[role.value]
        shown = render.esc(name) or texts.ROLES_NONE
        if user_id in _configured(context.svc, role):
            await reply(update, texts.ROLE_ALREADY.format(name=shown, user_id=user_id, role=label))
            return
        with context.svc.db.session() as s:
            added = repo.grant_role(
                s,
                telegram_user_id=user_id,
                role=role,
                display_name=name,
                granted_by=user.id,
                now=context.svc.now(),
            )
        if not added:
            await reply(update, texts.ROLE_ALREADY.format(name=shown, user_id=user_id, role=label))
            return
        log.info("role granted: role=%s user=%s by=%s", role.value, user_id, user.id)
        await reply(update, texts.ROLE_ADDED.format(name=shown, user_id=user_id, role=label))
        await _tell(context, user_id, texts.ROLE_GRANTED_NOTICE.format(role=label))

    add_role.__name__ = f"add_{role.value}"
    return add_role


def _remove_role(role: Role) -> Handler:
    @coordinator_only
    async def remove_role(update: Update, context: BotContext) -> None:
        """`/remove_<role> <用户编号>` (coordinators): revoke a grant made in chat, audited;
        the config's holders cannot be removed here."""
        usage = texts.ROLE_REMOVE_USAGE.format(role=role.value)
        target = await _target(update, context, usage)
        if target is None:
            return
        user, user_id, rest = target
        if rest:
            await reply(update, usage)
            return
        label = texts.ROLE_NAME[role.value]
        if user_id in _configured(context.svc, role):
            await reply(update, texts.ROLE_IN_CONFIG.format(user_id=user_id, role=label))
            return
        if role is Role.COORDINATOR and user_id == user.id:
            await reply(update, texts.ROLE_NOT_SELF)
            return
        with context.svc.db.session() as s:
            removed = repo.revoke_role(
                s, telegram_user_id=user_id, role=role, revoked_by=user.id, now=context.svc.now()
            )
        if not removed:
            await reply(update, texts.ROLE_NOT_HELD.format(user_id=user_id, role=label))
            return
        log.info("role revoked: role=%s user=%s by=%s", role.value, user_id, user.id)
        await reply(update, texts.ROLE_REMOVED.format(user_id=user_id, role=label))
        await _tell(context, user_id, texts.ROLE_REVOKED_NOTICE.format(role=label))

    remove_role.__name__ = f"remove_{role.value}"
    return remove_role


add_coordinator = _add_role(Role.COORDINATOR)
add_leader = _add_role(Role.LEADER)
remove_coordinator = _remove_role(Role.COORDINATOR)
remove_leader = _remove_role(Role.LEADER)


@coordinator_only
async def roles_command(update: Update, context: BotContext) -> None:
    """`/roles` (coordinators): the coordinators and leaders, from the config and granted."""
    svc = context.svc
    with svc.db.session() as s:
        grants = repo.active_grants(s)
    lines = [texts.ROLES_HEADER]
    for role in (Role.COORDINATOR, Role.LEADER):
        lines.append(texts.ROLES_SECTION.format(role=texts.ROLE_NAME[role.value]))
        rows = [texts.ROLES_CONFIG_LINE.format(user_id=u) for u in _configured(svc, role)]
        rows += [
            texts.ROLES_GRANT_LINE.format(
                user_id=g.telegram_user_id,
                name=render.esc(g.display_name),
                since=render.fmt_instant(g.granted_at, svc.policy.zone),
                by=g.granted_by,
            )
            for g in grants
            if g.role is role
        ]
        lines.extend(rows or [texts.ROLES_NONE])
    await reply(update, "\n".join(lines))


def _contact_line(svc: Services, n: int, contact: Contact) -> str:
    return texts.CONTACTS_LINE.format(
        n=n,
        name=render.esc(contact.display_name),
        username=f" @{render.esc(contact.username)}" if contact.username else "",
        since=render.fmt_instant(contact.created_at, svc.policy.zone),
        reachable=texts.CONTACTS_UNREACHABLE if contact.unreachable_reason else "",
    )


@coordinator_only
async def contacts_command(update: Update, context: BotContext) -> None:
    """`/contacts <单位>` (coordinators): the unit's contacts (name, username, since,
    reachable) with a 移除 button each."""
    svc = context.svc
    name = " ".join(context.args or []).strip()
    if not name:
        await reply(update, texts.CONTACTS_USAGE)
        return
    with svc.db.session() as s:
        unit, suggestions = repo.resolve_unit(s, text=name)
        members = repo.contacts_of_unit(s, unit_id=unit.id or 0) if unit else []
    if unit is None:
        await reply(update, render.unknown_unit(name, suggestions, texts.CONTACTS_USAGE))
        return
    shown = render.esc(unit.name)
    if not members:
        await reply(update, texts.CONTACTS_NONE.format(unit=shown))
        return
    lines = [texts.CONTACTS_HEADER.format(unit=shown)]
    lines += [_contact_line(svc, n, c) for n, c in enumerate(members, start=1)]
    lines.append(texts.CONTACTS_FOOTER.format(unit=shown))
    buttons = [
        [
            InlineKeyboardButton(
                texts.CONTACT_REMOVE_BUTTON.format(n=n, name=render.clip(c.display_name, 20)),
                callback_data=f"pc:rm:{c.id}",
            )
        ]
        for n, c in enumerate(members, start=1)
    ]
    await reply(update, "\n".join(lines), reply_markup=InlineKeyboardMarkup(buttons))


async def _remove(
    context: BotContext, contact_ids: list[int], actor: int
) -> tuple[list[Contact], Unit | None, int]:
    """Remove the contacts `contact_ids` (one unit's), audited; tell each removed one.
    Returns those removed, their unit and how many contacts the unit has left."""
    svc = context.svc
    with svc.db.session() as s:
        removed = [
            c
            for c in (
                repo.remove_contact(s, contact_id=i, removed_by=actor, now=svc.now())
                for i in contact_ids
            )
            if c is not None
        ]
        unit = s.get(Unit, removed[0].unit_id) if removed else None
        left = len(repo.contacts_of_unit(s, unit_id=unit.id or 0)) if unit else 0
        s.expunge_all()
    for contact in removed:
        log.info("contact removed: contact=%s unit=%s by=%s", contact.id, contact.unit_id, actor)
        notice = texts.CONTACT_REMOVED_NOTICE.format(unit=render.esc(unit.name if unit else ""))
        await _tell(context, contact.chat_id, notice)
    return removed, unit, left


def _removed_text(removed: list[Contact], unit: Unit, left: int) -> str:
    shown = render.esc(unit.name)
    return texts.CONTACT_REMOVED.format(
        unit=shown,
        name="、".join(render.esc(c.display_name) for c in removed),
        left="" if left else texts.CONTACT_REMOVED_NONE_LEFT.format(unit=shown),
    )


@coordinator_only
async def remove_contact_button(update: Update, context: BotContext) -> None:
    """The 移除 button of `/contacts` ("pc:rm:<contact id>"): remove that contact."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    contact_id = int((query.data or "pc:rm:0").rsplit(":", 1)[1])
    removed, unit, left = await _remove(context, [contact_id], user.id)
    if not removed or unit is None:
        await query.answer(texts.CONTACT_ALREADY_REMOVED, show_alert=True)
        return
    await query.answer()
    await reply(update, _removed_text(removed, unit, left))


@coordinator_only
async def remove_contact_command(update: Update, context: BotContext) -> None:
    """`/remove_contact <单位> <姓名|序号|用户编号>` (coordinators); 序号 as `/contacts` shows."""
    user = update.effective_user
    args = context.args or []
    if user is None:
        return
    if len(args) < 2:
        await reply(update, texts.CONTACT_REMOVE_USAGE)
        return
    which = " ".join(args[1:]).strip()
    with context.svc.db.session() as s:
        unit, suggestions = repo.resolve_unit(s, text=args[0])
        members = repo.contacts_of_unit(s, unit_id=unit.id or 0) if unit else []
    if unit is None:
        await reply(update, render.unknown_unit(args[0], suggestions, texts.CONTACT_REMOVE_USAGE))
        return
    if which.isdigit() and 1 <= int(which) <= len(members):
        found = [members[int(which) - 1]]
    else:
        found = [c for c in members if which in (c.display_name, str(c.telegram_user_id))]
    shown = render.esc(unit.name)
    typed = render.esc(render.clip(which, 30))
    if len(found) != 1:
        problem = texts.CONTACT_AMBIGUOUS if found else texts.CONTACT_NOT_FOUND
        await reply(update, problem.format(unit=shown, text=typed))
        return
    removed, removed_unit, left = await _remove(context, [found[0].id or 0], user.id)
    if not removed or removed_unit is None:
        await reply(update, texts.CONTACT_ALREADY_REMOVED)
        return
    await reply(update, _removed_text(removed, removed_unit, left))


@coordinator_only
async def handover_command(update: Update, context: BotContext) -> None:
    """`/handover <单位>` (coordinators, private): remove the unit's contacts (each told) and
    give a one-time invite for the new contact."""
    asked = await unit_in_private(update, context, texts.HANDOVER_USAGE)
    if asked is None:
        return
    user, name = asked
    svc = context.svc
    unit, suggestions, created = new_invite(svc, name, user.id)
    if unit is None or created is None:
        await reply(update, render.unknown_unit(name, suggestions, texts.HANDOVER_USAGE))
        return
    with svc.db.session() as s:
        members = [c.id or 0 for c in repo.contacts_of_unit(s, unit_id=unit.id or 0)]
    removed, _, _ = await _remove(context, members, user.id)
    shown = render.esc(unit.name)
    head = (
        texts.HANDOVER_DONE.format(
            unit=shown, names="、".join(render.esc(c.display_name) for c in removed)
        )
        if removed
        else texts.HANDOVER_NONE.format(unit=shown)
    )
    await reply(update, f"{head}\n{invite_text(svc, context.bot.username, unit, created)}")


def _removed_unit(svc: Services, user_id: int) -> str | None:
    with svc.db.session() as s:
        return repo.removed_contact_unit(s, telegram_user_id=user_id)


async def removed_gate(update: Update, context: BotContext) -> None:
    """Answer a removed contact's message or button press in a private chat with
    `texts.CONTACT_REMOVED_ANSWER` and stop every later handler (nothing is stored).

    Runs before every other handler (an early handler group). Lets through /start (a new
    invite reactivates the contact), /whoami and /help, and coordinators and leaders.
    """
    user = update.effective_user
    if user is None or not is_private(update):
        return
    message = update.effective_message
    if update.callback_query is None and message is not None:
        if (message.text or "").startswith(GATE_EXEMPT):
            return
    unit = await in_worker(context.svc, _removed_unit, context.svc, user.id)
    if unit is None or await is_reader(context.svc, user.id):
        return
    text = texts.CONTACT_REMOVED_ANSWER.format(unit=render.esc(unit))
    log.info("update of removed contact refused: user=%s", user.id)
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(
                texts.CONTACT_REMOVED_ANSWER.format(unit=unit), show_alert=True
            )
        except TelegramError as exc:  # too old to answer: nothing to tell, nothing stored
            log.info("callback answer failed: %s", exc)
    elif message is not None:
        await reply(update, text)
    raise ApplicationHandlerStop


__all__ = [
    "REMOVE_PATTERN",
    "add_coordinator",
    "add_leader",
    "contacts_command",
    "handover_command",
    "remove_contact_button",
    "remove_contact_command",
    "remove_coordinator",
    "remove_leader",
    "removed_gate",
    "roles_command",
]

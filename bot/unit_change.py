"""Renamed and merged units (机构改革): `/rename_unit 旧名称 新名称` and `/merge_unit 单位
并入单位` in chat (coordinators), and the parts the console's `taskbot unit` shares with them.

A unit is named as people type it (`repo.resolve_unit`: its name, a former name or the name of
a unit merged into it, 民政局 for 区民政局 ...); an unknown name is answered with the closest
names. Nothing is stored before the coordinator presses 确认 under the preview, which lists
the tasks naming the unit and how many contacts and reports follow it. A press on an older
or lost preview changes nothing, nor does one after either unit's name changed since the
preview was shown. The storage rules are `repo.rename_unit` and `repo.merge_unit`.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import render, texts
from bot.access import coordinator_only
from bot.context import BotContext, UnitChangeDraft
from bot.flow_common import answer
from bot.handlers import edit_preview, reply
from db import repo
from db.models import Unit
from jobs.scope import describe_numbers

log = logging.getLogger(__name__)
CONFIRM_PATTERN = r"^uc:(ok|no):[0-9a-f]{8}$"
RENAME, MERGE = "rename", "merge"


def refusal_text(refused: repo.UnitChangeRefused, unit: Unit, target: str, holder: str = "") -> str:
    """The Chinese answer (HTML) to a refused rename or merge of `unit` (`target`: the new
    name, or the name of the unit merged into)."""
    template = texts.UNIT_CHANGE_REFUSED.get(refused.reason, texts.UNIT_CHANGE_REFUSED["no_unit"])
    return template.format(
        unit=render.esc(unit.name),
        name=render.esc(render.clip(target, 50)),
        holder=render.esc(holder),
        length=len(target.strip()),
        limit=repo.UNIT_NAME_LIMIT,
        numbers=describe_numbers(list(refused.tasks)),
    )


def _footprint(session: Session, unit: Unit, verb: str) -> str:
    found = repo.unit_footprint(session, unit_id=unit.id or 0)
    tasks = (
        texts.UNIT_FOOTPRINT_TASKS.format(numbers=describe_numbers(list(found.task_numbers)))
        if found.task_numbers
        else texts.UNIT_FOOTPRINT_NO_TASKS
    )
    return texts.UNIT_FOOTPRINT.format(
        tasks=tasks, contacts=found.contacts, reports=found.reports, verb=verb
    )


def resolve(session: Session, kind: str, first: str, second: str) -> UnitChangeDraft | str:
    """Read a rename (`first` the unit, `second` the new name) or a merge (`first` the unit,
    `second` the unit it goes into); return the change to preview (nonce empty) or the
    refusal text (HTML)."""
    usage = texts.RENAME_UNIT_USAGE if kind == RENAME else texts.MERGE_UNIT_USAGE
    unit, suggestions = repo.resolve_unit(session, text=first)
    if unit is None or unit.id is None:
        return render.unknown_unit(first, suggestions, usage)
    if kind == RENAME:
        try:
            new = repo.check_new_unit_name(session, unit_id=unit.id, name=second)
        except repo.UnitChangeRefused as refused:
            holder = repo.find_unit(session, name=second)
            return refusal_text(refused, unit, second, holder.name if holder else "")
        return UnitChangeDraft("", RENAME, unit.id, unit.name, new)
    into, suggestions = repo.resolve_unit(session, text=second)
    if into is None or into.id is None:
        return render.unknown_unit(second, suggestions, usage)
    try:
        repo.check_merge(session, unit_id=unit.id, into_unit_id=into.id)
    except repo.UnitChangeRefused as refused:
        culprit = into if refused.reason == "collective" and into.is_collective else unit
        return refusal_text(refused, culprit, into.name)
    return UnitChangeDraft("", MERGE, unit.id, unit.name, into.name, into.id)


def preview_text(session: Session, change: UnitChangeDraft) -> str:
    """The preview (HTML) of a resolved change: the names, the tasks naming the unit, the
    contacts and reports that follow it, and for a merge the aliases that go with it."""
    unit = session.get(Unit, change.unit_id)
    assert unit is not None
    if change.kind == RENAME:
        return texts.RENAME_UNIT_PREVIEW.format(
            old=render.esc(unit.name),
            new=render.esc(change.target),
            footprint=_footprint(session, unit, texts.UNIT_FOOTPRINT_KEEP),
        )
    into = render.esc(change.target)
    aliases = repo.aliases_of(session, unit_id=change.unit_id)
    return texts.MERGE_UNIT_PREVIEW.format(
        unit=render.esc(unit.name),
        into=into,
        aliases=texts.MERGE_UNIT_ALIASES.format(names=render.esc("、".join(aliases)))
        if aliases
        else "",
        footprint=_footprint(session, unit, texts.UNIT_FOOTPRINT_MOVE.format(into=into)),
    )


def is_stale(session: Session, change: UnitChangeDraft) -> bool:
    """Whether the units changed since the preview: gone, or named otherwise."""
    unit = session.get(Unit, change.unit_id)
    if unit is None or unit.name != change.unit_name:
        return True
    if change.kind == MERGE:
        into = session.get(Unit, change.target_id or 0)
        return into is None or into.name != change.target
    return False


def apply(session: Session, change: UnitChangeDraft, *, actor_user_id: int, now: datetime) -> str:
    """Store a previewed change (raising `repo.UnitChangeRefused` as the repo does; `now`
    aware UTC) and return the text (HTML) that says it was done."""
    if change.kind == RENAME:
        repo.rename_unit(
            session,
            unit_id=change.unit_id,
            new_name=change.target,
            actor_user_id=actor_user_id,
            now=now,
        )
        return texts.RENAME_UNIT_DONE.format(
            old=render.esc(change.unit_name), new=render.esc(change.target)
        )
    repo.merge_unit(
        session,
        unit_id=change.unit_id,
        into_unit_id=change.target_id or 0,
        actor_user_id=actor_user_id,
        now=now,
    )
    return texts.MERGE_UNIT_DONE.format(
        unit=render.esc(change.unit_name), into=render.esc(change.target)
    )


def _keyboard(nonce: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.BUTTON_UNIT_CONFIRM, callback_data=f"uc:ok:{nonce}"),
                InlineKeyboardButton(texts.BUTTON_CANCEL, callback_data=f"uc:no:{nonce}"),
            ]
        ]
    )


async def _start(update: Update, context: BotContext, kind: str) -> None:
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    parts = (message.text or "").split()
    if len(parts) != 3:
        await reply(update, texts.RENAME_UNIT_USAGE if kind == RENAME else texts.MERGE_UNIT_USAGE)
        return
    with context.svc.db.session() as s:
        change = resolve(s, kind, parts[1], parts[2])
        text = preview_text(s, change) if not isinstance(change, str) else change
    if isinstance(change, str):
        await reply(update, change)
        return
    nonce = secrets.token_hex(4)
    context.draft_store.unit_change = UnitChangeDraft(
        nonce, change.kind, change.unit_id, change.unit_name, change.target, change.target_id
    )
    await reply(update, text, reply_markup=_keyboard(nonce))


@coordinator_only
async def rename_unit_command(update: Update, context: BotContext) -> None:
    """`/rename_unit 旧名称 新名称` (coordinators): preview, then 确认 or 取消."""
    await _start(update, context, RENAME)


@coordinator_only
async def merge_unit_command(update: Update, context: BotContext) -> None:
    """`/merge_unit 单位 并入单位` (coordinators): preview, then 确认 or 取消."""
    await _start(update, context, MERGE)


@coordinator_only
async def confirm_unit_change(update: Update, context: BotContext) -> None:
    """确认 / 取消 under a rename or merge preview: store it, or drop it. A press on an older
    or lost preview, or after either unit's name changed, changes nothing."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None or query.data is None:
        return
    _, action, nonce = query.data.split(":")
    change = context.draft_store.unit_change
    if change is None or change.nonce != nonce:
        await answer(update, texts.UNIT_CHANGE_EXPIRED, alert=True)
        return
    context.draft_store.unit_change = None
    await answer(update)
    if action == "no":
        await edit_preview(query.message, texts.UNIT_CHANGE_CANCELLED)
        return
    svc = context.svc
    with svc.db.session() as s:
        if is_stale(s, change):
            text = texts.UNIT_CHANGE_STALE
        else:
            try:
                text = apply(s, change, actor_user_id=user.id, now=svc.now())
            except repo.UnitChangeRefused as refused:
                s.rollback()
                unit = s.get(Unit, change.unit_id)
                holder = repo.find_unit(s, name=change.target)
                text = (
                    refusal_text(refused, unit, change.target, holder.name if holder else "")
                    if unit is not None
                    else texts.UNIT_CHANGE_REFUSED["no_unit"]
                )
    log.info("unit %s: unit=%s by=%s -> %s", change.kind, change.unit_id, user.id, change.target)
    await edit_preview(query.message, text)


__all__ = [
    "CONFIRM_PATTERN",
    "apply",
    "confirm_unit_change",
    "is_stale",
    "merge_unit_command",
    "preview_text",
    "refusal_text",
    "rename_unit_command",
    "resolve",
]

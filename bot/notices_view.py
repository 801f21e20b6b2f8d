"""/notice 单位 (the 督办通知单 of one unit) and /bulletin [简称] (the 督查通报): .docx filled
from the templates (`office.notices`), sent as documents to a coordinator in private chat."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path
from typing import Any

from telegram import Update

from bot import render, texts
from bot.access import coordinator_only
from bot.context import BotContext, Services
from bot.handlers import is_private, reply
from bot.plan_choice import read_choice, unknown_plan
from db import repo

log = logging.getLogger(__name__)


def notice_document(
    svc: Services, unit_id: int, *, plan_id: int | None = None, number: str = ""
) -> tuple[dict[str, Any], bytes | None]:
    """The 督办通知单 of unit `unit_id` today (`office.notices.notice_context`, the state read
    afresh) and the filled .docx, None when the unit has no open task. Blocking (run it in a
    worker thread); raises `office.notices.TemplateError` for a broken template."""
    from office.notices import NOTICE, notice_context, render

    with svc.db.session() as s:
        state = repo.load_state(s)
    filled = notice_context(
        state,
        unit_id,
        today=svc.today(),
        zone=svc.policy.zone,
        lights=svc.lights,
        calendar=svc.calendar,
        status_labels=texts.STATUS_LABEL,
        number=number,
        plan_id=plan_id,
    )
    if not filled["rows"]:
        return filled, None
    buffer = io.BytesIO()
    render(NOTICE, filled, buffer, svc.settings.documents.folder())
    return filled, buffer.getvalue()


def bulletin_document(
    svc: Services, *, plan_id: int | None = None, number: str = ""
) -> tuple[dict[str, Any], bytes | None]:
    """The 督查通报 now (`office.notices.bulletin_context`: every active plan, or the plan
    `plan_id`) and the filled .docx, None when there is no plan to report on. Blocking (run it
    in a worker thread); raises `office.notices.TemplateError` for a broken template."""
    from office.notices import BULLETIN, bulletin_context, read_bulletin, render

    now, zone = svc.now(), svc.policy.zone
    with svc.db.session() as s:
        parts, since = read_bulletin(
            s,
            now=now,
            zone=zone,
            lights=svc.lights,
            calendar=svc.calendar,
            due_soon_days=svc.settings.schedule.due_soon_days,
            plan_id=plan_id,
        )
    filled = bulletin_context(
        parts, today=now.astimezone(zone).date(), since=since.astimezone(zone).date(), number=number
    )
    if not parts:
        return filled, None
    buffer = io.BytesIO()
    render(BULLETIN, filled, buffer, svc.settings.documents.folder())
    return filled, buffer.getvalue()


def _broken(exc: Exception) -> str:
    """The Chinese answer for a broken template (`office.notices.TemplateError`)."""
    from office.notices import TemplateError

    assert isinstance(exc, TemplateError)
    log.warning("document template broken: %s", exc)
    return texts.DOCUMENT_TEMPLATE_BROKEN.format(
        name=render.esc(Path(exc.template).name), detail=render.esc(render.clip(exc.detail, 300))
    )


@coordinator_only
async def notice_command(update: Update, context: BotContext) -> None:
    """Send the 督办通知单 (.docx) of the unit named (as /unit reads a name: alias, part of
    the name), its open tasks of active plans in three colours (coordinator, private chat)."""
    from office.notices import TemplateError, notice_filename

    user, chat, svc = update.effective_user, update.effective_chat, context.svc
    if user is None or chat is None:
        return
    if not is_private(update):
        await reply(update, texts.NOTICE_PRIVATE_ONLY)
        return
    name = " ".join(context.args or []).strip()
    if not name:
        await reply(update, texts.NOTICE_USAGE)
        return

    def build() -> tuple[str, str, bytes | None]:
        with svc.db.session() as s:  # a short read-only session, closed before any await
            unit, suggestions = repo.resolve_unit(s, text=name)
        if unit is None:
            return render.unknown_unit(name, suggestions, texts.NOTICE_USAGE), "", None
        try:
            filled, content = notice_document(svc, unit.id or 0)
        except TemplateError as exc:
            return _broken(exc), "", None
        if content is None:
            return texts.NOTICE_NOTHING_OPEN.format(unit=render.esc(unit.name)), "", None
        caption = texts.NOTICE_CAPTION.format(
            unit=render.esc(filled["unit"]),
            open=filled["open_count"],
            overdue=filled["overdue_count"],
            reply_by=filled["reply_by"],
        )
        return caption, notice_filename(unit.name, svc.today()), content

    text, filename, content = await asyncio.to_thread(build)  # docxtpl is synchronous
    if content is None:
        await reply(update, text)
        return
    log.info("notice: chat=%s by=%s bytes=%d", chat.id, user.id, len(content))
    await context.bot.send_document(
        chat_id=chat.id, document=content, filename=filename, caption=text
    )


@coordinator_only
async def bulletin_command(update: Update, context: BotContext) -> None:
    """Send the 督查通报 (.docx): every active plan, or the plan named by its 简称, from the
    digest's data since the last weekly digest (coordinator, private chat)."""
    from office.notices import TemplateError, bulletin_filename

    user, chat, svc = update.effective_user, update.effective_chat, context.svc
    if user is None or chat is None:
        return
    if not is_private(update):
        await reply(update, texts.BULLETIN_PRIVATE_ONLY)
        return
    words = list(context.args or [])

    def build() -> tuple[str, str, bytes | None]:
        with svc.db.session() as s:  # a short read-only session, closed before any await
            plans = repo.read_plans(s)
            choice = read_choice(s, words)
            if choice.plan is None:
                return texts.BULLETIN_NO_PLAN, "", None
            if choice.words:
                return unknown_plan(texts.BULLETIN_UNKNOWN, choice, plans), "", None
            named = choice.plan if choice.named else None
        try:
            filled, content = bulletin_document(svc, plan_id=named.id if named else None)
        except TemplateError as exc:
            return _broken(exc), "", None
        if content is None:
            return texts.BULLETIN_NO_PLAN, "", None
        caption = texts.BULLETIN_CAPTION.format(
            plans=render.esc("、".join(p["name"] for p in filled["plans"])), period=filled["period"]
        )
        return caption, bulletin_filename(svc.today(), named), content

    text, filename, content = await asyncio.to_thread(build)  # docxtpl is synchronous
    if content is None:
        await reply(update, text)
        return
    log.info("bulletin: chat=%s by=%s bytes=%d", chat.id, user.id, len(content))
    await context.bot.send_document(
        chat_id=chat.id, document=content, filename=filename, caption=text
    )


__all__ = ["bulletin_command", "notice_command"]

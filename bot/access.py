"""Who may do what: the coordinator check and the guard of coordinator-only handlers.

`is_coordinator(svc, user_id)` is the one place that decides whether a Telegram user is a
coordinator: the config list `telegram.coordinators` (the root of trust, never removable in
chat) or an active grant kept in the database (`repo.grant_role`, `/add_coordinator`), read
afresh at every check in a worker thread. `is_leader` does the same for leaders (分管领导:
`telegram.leaders` or a grant), who read what coordinators read and change nothing.
`coordinator_ids` and `leader_ids` list everyone holding the role now, for notices.

`coordinator_only` wraps every handler that only coordinators may use (commands and buttons):
it awaits `is_coordinator` before the handler runs and, when refused, answers with the one
refusal text `texts.NOT_COORDINATOR` (an alert on a button press, a reply to a message) and
does not call the handler. `reader_only` does the same for read-only views that coordinators
and leaders may use. Handlers that behave differently for coordinators and others call
`is_coordinator` themselves.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from telegram import Update
from telegram.error import TelegramError

from bot import texts
from bot.context import BotContext, Services
from bot.reads import in_worker
from db import repo
from jobs.types import Role

log = logging.getLogger(__name__)

R = TypeVar("R")
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, R]]


def _configured(svc: Services, role: Role) -> list[int]:
    tg = svc.settings.telegram
    return list(tg.coordinators if role is Role.COORDINATOR else tg.leaders)


def _granted(svc: Services, user_id: int, role: Role) -> bool:
    with svc.db.session() as s:
        return repo.has_role(s, telegram_user_id=user_id, role=role)


def _holders(svc: Services, role: Role) -> list[int]:
    with svc.db.session() as s:
        granted = repo.holders(s, role=role)
    configured = _configured(svc, role)
    return configured + [u for u in granted if u not in configured]


async def has_role(svc: Services, user_id: int | None, role: Role) -> bool:
    """Tell whether the Telegram user `user_id` holds `role` (False for None): listed in
    the config, or granted in chat (the database, read now in a worker thread)."""
    if user_id is None:
        return False
    if user_id in _configured(svc, role):
        return True
    return await in_worker(svc, _granted, svc, user_id, role)


async def is_coordinator(svc: Services, user_id: int | None) -> bool:
    """Tell whether the Telegram user `user_id` is a coordinator (False for None).

    Sources: the config list `telegram.coordinators` of `svc.settings`, then an active
    coordinator grant in the database.
    """
    return await has_role(svc, user_id, Role.COORDINATOR)


async def is_leader(svc: Services, user_id: int | None) -> bool:
    """Tell whether the Telegram user `user_id` is a leader (config `telegram.leaders` or an
    active leader grant); False for None."""
    return await has_role(svc, user_id, Role.LEADER)


async def is_reader(svc: Services, user_id: int | None) -> bool:
    """Tell whether the user may use the read-only views: a coordinator or a leader."""
    return await is_coordinator(svc, user_id) or await is_leader(svc, user_id)


def coordinator_ids(svc: Services) -> list[int]:
    """The coordinators now: the config's, then those granted in chat (blocking read; call
    it from a worker thread or the tick)."""
    return _holders(svc, Role.COORDINATOR)


def leader_ids(svc: Services) -> list[int]:
    """The leaders now: the config's, then those granted in chat (blocking read)."""
    return _holders(svc, Role.LEADER)


async def refuse(update: Update) -> None:
    """Answer `texts.NOT_COORDINATOR`: as an alert to a button press, else as a reply.

    A callback query that can no longer be answered (too old) is logged and ignored.
    """
    query = update.callback_query
    if query is not None:
        try:
            await query.answer(texts.NOT_COORDINATOR, show_alert=True)
        except TelegramError as exc:
            log.info("callback answer failed: %s", exc)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(texts.NOT_COORDINATOR)


def _guard(
    check: Callable[[Services, int | None], Coroutine[Any, Any, bool]], what: str
) -> Callable[[Handler[R]], Handler[R | None]]:
    def wrap(handler: Handler[R]) -> Handler[R | None]:
        @functools.wraps(handler)
        async def guarded(update: Update, context: BotContext) -> R | None:
            user = update.effective_user
            if not await check(context.svc, user.id if user is not None else None):
                log.info(
                    "%s %s refused: user=%s",
                    what,
                    handler.__name__,
                    user.id if user is not None else None,
                )
                await refuse(update)
                return None
            return await handler(update, context)

        return guarded

    return wrap


def coordinator_only(handler: Handler[R]) -> Handler[R | None]:
    """Wrap `handler` so that it runs only for coordinators.

    For anyone else (or an update without a user) the wrapper answers with `refuse` and
    returns None without calling `handler`.
    """
    return _guard(is_coordinator, "coordinator-only")(handler)


def reader_only(handler: Handler[R]) -> Handler[R | None]:
    """Wrap `handler` so that it runs only for coordinators and leaders (read-only views);
    anyone else gets `refuse` and the handler is not called."""
    return _guard(is_reader, "reader-only")(handler)


__all__ = [
    "coordinator_ids",
    "coordinator_only",
    "has_role",
    "is_coordinator",
    "is_leader",
    "is_reader",
    "leader_ids",
    "reader_only",
    "refuse",
]

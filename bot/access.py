"""Who may do what: the coordinator check and the guard of coordinator-only handlers.

`is_coordinator(svc, user_id)` is the one place that decides whether a Telegram user is a
coordinator. Today the rule is the config list `telegram.coordinators`; it is a coroutine so
that roles kept in the database can join it without blocking the event loop (a synchronous
PTB filter could not read the database there).

`coordinator_only` wraps every handler that only coordinators may use (commands and buttons):
it awaits `is_coordinator` before the handler runs and, when refused, answers with the one
refusal text `texts.NOT_COORDINATOR` (an alert on a button press, a reply to a message) and
does not call the handler. Handlers that behave differently for coordinators and others call
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

log = logging.getLogger(__name__)

R = TypeVar("R")
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, R]]


async def is_coordinator(svc: Services, user_id: int | None) -> bool:
    """Tell whether the Telegram user `user_id` is a coordinator (False for None).

    Source: the config list `telegram.coordinators` of `svc.settings`.
    """
    return user_id is not None and user_id in svc.settings.telegram.coordinators


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


def coordinator_only(handler: Handler[R]) -> Handler[R | None]:
    """Wrap `handler` so that it runs only for coordinators.

    For anyone else (or an update without a user) the wrapper answers with `refuse` and
    returns None without calling `handler`.
    """

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext) -> R | None:
        user = update.effective_user
        if not await is_coordinator(context.svc, user.id if user is not None else None):
            log.info(
                "coordinator-only %s refused: user=%s",
                handler.__name__,
                user.id if user is not None else None,
            )
            await refuse(update)
            return None
        return await handler(update, context)

    return guarded


__all__ = ["coordinator_only", "is_coordinator", "refuse"]

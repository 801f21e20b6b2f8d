"""Flood control: python-telegram-bot's AIORateLimiter plus a per-chat limit.

Bot API flood limits (core.telegram.org/bots/faq, "My bot is hitting limits"): about 30
messages per second overall, 20 per minute in one group, and about one per second in one chat
(short bursts tolerated). `AIORateLimiter` covers the first two; `FloodLimiter` adds the third
with an aiolimiter leaky bucket per chat: a burst of `chat_burst` messages (2, one below
the burst Telegram tolerates, to absorb timing jitter), then `chat_rate` per second. A 429
that still happens is retried by AIORateLimiter after the `retry_after` Telegram asks for.

The overall limit is a `PriorityPacer`: a send marked bulk (`rate_limit_args=BULK`, the
tick's reminders and nudges) waits while an interactive one (any other: the answers to
users) waits, so a contact's answer goes out at the next free slot even during a fan-out
of a thousand reminders, and the fan-out still uses every slot nobody else needs.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

OVERALL_PER_SECOND = 30.0  # Bot API: messages per second over all chats
GROUP_PER_MINUTE = 20  # Bot API: messages per minute to one group
SEND_ENDPOINTS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendAudio",
        "sendVideo",
        "sendVoice",
        "sendSticker",
        "sendAnimation",
        "sendMediaGroup",
        "sendLocation",
        "sendContact",
        "copyMessage",
        "forwardMessage",
    }
)


@dataclass(frozen=True)
class Bulk:
    """`rate_limit_args` of a bulk send (a Bot method's `rate_limit_args=BULK`): it yields
    the overall limit to interactive sends. `max_retries` as AIORateLimiter's int argument
    (None: the limiter's own)."""

    max_retries: int | None = None


BULK = Bulk()


class PriorityPacer:
    """Lets one request through per slot of `1 / per_second` seconds (event-loop time):
    slots follow each other on a grid, and a request let through up to one interval after
    its slot still uses it (so a timer firing late, as the event loop's always do by up to a
    millisecond, does not push every later slot back); a request later than that starts a
    new grid. Each request goes within one interval after its slot, so no sliding
    one-second window ever holds more than `per_second` + 1 of them. Requests that must
    wait are let through interactive first, then bulk, each class in arrival order."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0  # loop time at which the next request may go
        self._queues: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (
            deque(),  # interactive
            deque(),  # bulk
        )
        self._timer: asyncio.TimerHandle | None = None

    def waiting(self) -> tuple[int, int]:
        """How many interactive and bulk requests wait."""
        return len(self._queues[0]), len(self._queues[1])

    async def wait(self, *, bulk: bool) -> None:
        """Return when this request may go (at once if nobody waits and the slot is free)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._queues[0] and not self._queues[1] and now >= self._next:
            self._take_slot(now)
            return
        future: asyncio.Future[None] = loop.create_future()
        queue = self._queues[1 if bulk else 0]
        queue.append(future)
        self._arm(loop)
        try:
            await future
        except asyncio.CancelledError:
            if future in queue:
                queue.remove(future)
            raise

    def _take_slot(self, now: float) -> None:
        """A request goes at `now` (>= the slot `_next`): the next slot follows on the grid,
        or one interval from now if this one was more than an interval late."""
        if now < self._next + self._interval:
            self._next += self._interval
        else:
            self._next = now + self._interval

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is None:
            self._timer = loop.call_at(max(self._next, loop.time()), self._release, loop)

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        for queue in self._queues:
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)
                    self._take_slot(loop.time())
                    if self._queues[0] or self._queues[1]:
                        self._arm(loop)
                    return


class FloodLimiter(AIORateLimiter):
    """AIORateLimiter with an extra limit per chat for the send endpoints, and its overall
    limit (every request with a chat id) a `PriorityPacer` that serves interactive sends
    before bulk ones (`rate_limit_args=BULK`, or `Bulk(max_retries)`; an int is
    AIORateLimiter's maximum number of retries after a 429).

    Rates come from the config's [telegram] section: `chat_messages_per_second` (`chat_rate`),
    `group_messages_per_minute`, `messages_per_second` (overall); each must be above 1.
    """

    def __init__(
        self,
        *,
        chat_rate: float = 1.0,
        chat_burst: int = 2,
        group_per_minute: float = GROUP_PER_MINUTE,
        overall_per_second: float = OVERALL_PER_SECOND,
        max_retries: int = 3,
    ):
        # A leaky bucket of capacity N lets N through at once and then drains at its rate, so
        # a 1-second window could see N + rate messages. With capacity 1 (the pacer: one
        # request per interval) and a rate one below the limit, no sliding window ever holds
        # more than the limit: 29/s overall (limit 30), 19/min per group (limit 20).
        super().__init__(
            overall_max_rate=0,  # the overall limit is the pacer, applied in process_request
            group_max_rate=1,
            group_time_period=60 / (group_per_minute - 1),
            max_retries=max_retries,
        )
        self._overall = PriorityPacer(overall_per_second - 1)
        self._chat_rate = chat_rate
        self._chat_burst = chat_burst
        self._chat_limiters: dict[int, AsyncLimiter] = {}

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chat_limiters.get(chat_id)
        if limiter is None:
            limiter = AsyncLimiter(self._chat_burst, self._chat_burst / self._chat_rate)
            self._chat_limiters[chat_id] = limiter
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | Bulk | None,
    ) -> Any:
        """Wait for the chat's own bucket (send endpoints only), then apply AIORateLimiter
        (the group limit, waiting out a 429, retries) around the call, which first waits
        for the overall pacer when the request names a chat."""
        bulk = isinstance(rate_limit_args, Bulk)
        retries = rate_limit_args.max_retries if isinstance(rate_limit_args, Bulk) else None
        if isinstance(rate_limit_args, int):
            retries = rate_limit_args
        chat_id = data.get("chat_id")
        if chat_id is not None:
            inner = callback

            async def paced(*args: Any, **kwargs: Any) -> Any:
                await self._overall.wait(bulk=bulk)
                return await inner(*args, **kwargs)

            callback = paced
        if endpoint in SEND_ENDPOINTS and chat_id is not None:
            try:
                key = int(chat_id)
            except (TypeError, ValueError):
                key = None
            if key is not None:
                async with self._chat_limiter(key):
                    return await super().process_request(
                        callback, args, kwargs, endpoint, data, retries
                    )
        return await super().process_request(callback, args, kwargs, endpoint, data, retries)

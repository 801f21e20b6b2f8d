"""Flood control: python-telegram-bot's AIORateLimiter plus a per-chat limit.

Bot API flood limits (core.telegram.org/bots/faq, "My bot is hitting limits"): about 30
messages per second overall, 20 per minute in one group, and about one per second in one chat
(short bursts tolerated). `AIORateLimiter` covers the first two; `FloodLimiter` adds the third
with an aiolimiter leaky bucket per chat: a burst of `chat_burst` messages (2, one below
the burst Telegram tolerates, to absorb timing jitter), then `chat_rate` per second. A 429
that still happens is retried by AIORateLimiter after the `retry_after` Telegram asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
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


class FloodLimiter(AIORateLimiter):
    """AIORateLimiter with an extra limit per chat for the send endpoints.

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
        # a 1-second window could see N + rate messages. With capacity 1 and a rate one below
        # the limit, no sliding window ever holds more than the limit: 29/s overall (limit 30),
        # 19/min per group (limit 20).
        super().__init__(
            overall_max_rate=1,
            overall_time_period=1 / (overall_per_second - 1),
            group_max_rate=1,
            group_time_period=60 / (group_per_minute - 1),
            max_retries=max_retries,
        )
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
        rate_limit_args: int | None,
    ) -> Any:
        """Wait for the chat's own bucket (send endpoints only), then apply AIORateLimiter."""
        chat_id = data.get("chat_id")
        if endpoint in SEND_ENDPOINTS and chat_id is not None:
            try:
                key = int(chat_id)
            except (TypeError, ValueError):
                key = None
            if key is not None:
                async with self._chat_limiter(key):
                    return await super().process_request(
                        callback, args, kwargs, endpoint, data, rate_limit_args
                    )
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )

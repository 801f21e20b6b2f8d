"""The flood limiter's overall limit: interactive sends go before waiting bulk sends
(`rate_limit_args=BULK`), and the pace stays one request per interval."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from bot.ratelimit import BULK, Bulk, FloodLimiter, PriorityPacer


def test_pacer_serves_interactive_before_waiting_bulk() -> None:
    async def scenario() -> list[str]:
        pacer = PriorityPacer(per_second=20)  # one every 50 ms
        order: list[str] = []

        async def request(name: str, bulk: bool) -> None:
            await pacer.wait(bulk=bulk)
            order.append(name)

        await pacer.wait(bulk=True)  # takes the current slot: everyone below must wait
        bulk = [asyncio.create_task(request(f"bulk{i}", True)) for i in range(3)]
        await asyncio.sleep(0)
        assert pacer.waiting() == (0, 3)
        interactive = asyncio.create_task(request("answer", False))
        await asyncio.gather(*bulk, interactive)
        return order

    assert asyncio.run(scenario()) == ["answer", "bulk0", "bulk1", "bulk2"]


def test_pacer_keeps_one_request_per_interval() -> None:
    async def scenario() -> list[float]:
        pacer = PriorityPacer(per_second=50)  # one every 20 ms
        times: list[float] = []

        async def request(bulk: bool) -> None:
            await pacer.wait(bulk=bulk)
            times.append(time.monotonic())

        await asyncio.gather(*(request(i % 2 == 0) for i in range(12)))
        await asyncio.sleep(0.1)  # idle: a new grid starts
        await asyncio.gather(*(request(False) for i in range(4)))
        return times

    times = asyncio.run(scenario())
    assert len(times) == 16
    # each request goes within one interval after its slot: any k + 1 consecutive requests
    # span more than k - 1 intervals
    for i, j in itertools.combinations(range(len(times)), 2):
        assert times[j] - times[i] > (j - i - 1) * 0.020 - 0.001, (i, j, times)
    # and the pace is one per interval: 12 requests take 11 intervals, less a late timer
    assert times[11] - times[0] > 10 * 0.020


def test_pacer_forgets_a_cancelled_waiter() -> None:
    async def scenario() -> tuple[int, int]:
        pacer = PriorityPacer(per_second=20)
        await pacer.wait(bulk=False)
        waiter = asyncio.create_task(pacer.wait(bulk=False))
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.sleep(0)
        left = pacer.waiting()
        await asyncio.wait_for(pacer.wait(bulk=True), 1)  # the next slot still comes
        return left

    assert asyncio.run(scenario()) == (0, 0)


def test_flood_limiter_answers_a_user_ahead_of_a_reminder_fan_out() -> None:
    async def scenario() -> list[tuple[str, int]]:
        limiter = FloodLimiter(chat_rate=100, overall_per_second=21)  # 20/s: 50 ms apart
        sent: list[tuple[str, int]] = []

        async def post(endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
            sent.append((endpoint, data["chat_id"]))
            return {}

        def send(chat_id: int, marker: Any) -> Any:
            data = {"chat_id": chat_id, "text": "x"}
            return limiter.process_request(
                post, ("sendMessage", data), {}, "sendMessage", data, marker
            )

        fan_out = [asyncio.create_task(send(100 + i, BULK)) for i in range(6)]
        await asyncio.sleep(0.01)  # the first reminder is out, five wait for the pacer
        answer = asyncio.create_task(send(7, None))
        retrying = asyncio.create_task(send(8, 2))  # an int: AIORateLimiter's retries
        await asyncio.gather(*fan_out, answer, retrying)
        return sent

    sent = asyncio.run(scenario())
    chats = [chat for _, chat in sent]
    assert chats[0] == 100
    assert chats[1:3] == [7, 8], chats  # both interactive sends before the waiting reminders
    assert chats[3:] == [101, 102, 103, 104, 105]


def test_bulk_marker_carries_retries() -> None:
    assert Bulk(max_retries=5).max_retries == 5
    assert BULK.max_retries is None

"""In-memory SQLite URLs of every form: the state and the digest are read inline there (a
worker thread would get a new, empty database), so ticks and /digest work."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest

from bot.app import build_application
from standin import BotApiStandIn
from standin.harness import COORDINATOR, running, standin_settings
from tests.conftest import BotHarness


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file:tbmem?mode=memory&uri=true",
        "sqlite:///file::memory:?uri=true",
        "sqlite:///file:tbshared?mode=memory&cache=shared&uri=true",
    ],
)
async def test_memory_db_tick_and_digest(standin: BotApiStandIn, clock, url: str, caplog) -> None:
    settings = standin_settings(standin, url, schedule={"tick_seconds": 3600})
    app = build_application(settings, clock=clock)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(running(app))
        bot = BotHarness(standin, app, clock, settings, stack)
        bot.hold_tick()
        await bot.register(2002, "潼南税务局")
        await bot.tick()
        await standin.wait_idle(quiet=0.05)
        assert [m for m in standin.sent if m.chat_id == 2002 and m.buttons]
        since = len(standin.sent)
        standin.send_text(COORDINATOR, "/digest")
        m = await standin.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
        assert "督办汇总" in m.plain_text, m.plain_text

"""Running the real bot against the stand-in: settings, a movable clock, polling in-loop.

Shared by the demo (:mod:`standin.demo`), the end-to-end tests and the benchmarks.
`COORDINATOR` and `GROUP` are the coordinator's user id and the committee group's chat id that
:func:`standin_settings` configures.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.config import Settings
from bot.transport import close_transports
from standin.client import BotApiStandIn

COORDINATOR = 1001
GROUP = -1001234567890


class MutableClock:
    """A clock for tests and the demo: returns `now` (aware UTC) until moved."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by `delta` and return the new instant."""
        self.now += delta
        return self.now

    def set(self, instant: datetime) -> None:
        """Jump to `instant` (aware)."""
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        self.now = instant


def _evidence_folder() -> str:
    """A new temporary evidence folder, removed when the process exits."""
    folder = tempfile.mkdtemp(prefix="taskbot-evidence-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def standin_settings(standin: BotApiStandIn, database_url: str, **overrides: Any) -> Settings:
    """Settings that point the bot at `standin`; `overrides` are merged per config section."""
    raw: dict[str, Any] = {
        "telegram": {
            "token": standin.token,
            "base_url": standin.base_url,
            "base_file_url": standin.base_file_url,
            "coordinators": [COORDINATOR],
            "digest_chat_id": GROUP,
            # the scripted users act faster than people; flood tests set the real rate
            "chat_messages_per_second": 50.0,
            "group_messages_per_minute": 600.0,
        },
        "database": {"url": database_url},
        "schedule": {"tick_seconds": 0.2},
        # the digest's picture is drawn in a child process: off unless a test turns it on
        "follow_up": {"digest_chart": False},
        # a folder of the test's own (never the working folder), quick download retries
        "evidence": {"dir": _evidence_folder(), "retry_seconds": 0.05},
    }
    for section, values in overrides.items():
        if isinstance(values, dict):
            raw.setdefault(section, {}).update(values)
        else:
            raw[section] = values
    return Settings.model_validate(raw)


@asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    """Run `app` with long polling inside the current event loop; stop it on exit.

    Does what `Application.run_polling` does, minus the signal handling and its own loop:
    initialize, `post_init`, start, poll; then stop, `post_shutdown`, shutdown.
    """
    try:
        await app.initialize()
    except BaseException:  # python-telegram-bot leaves the transports open then
        await close_transports(app.bot_data.transports)
        raise
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES
        )
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            await app.stop()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
    finally:
        await app.shutdown()

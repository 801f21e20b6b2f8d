"""Driving a bot process from the benchmark: config files, subprocesses, and per-chat inboxes
of what the bot sent through the stand-in.

The suite's only import of the Bot API stand-in and the demo helpers (a fixed clock, running
an application in-process, settings pointing at a stand-in): the other modules take them
from here."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.common import REPO
from standin import BotApiStandIn, SentMessage
from standin.harness import MutableClock, running, standin_settings

__all__ = [
    "COORDINATOR",
    "TOKEN",
    "BotApiStandIn",
    "Inbox",
    "MutableClock",
    "SentMessage",
    "running",
    "standin_settings",
]

# a token `taskbot check-config` accepts (digits, colon, 20+ URL-safe characters)
TOKEN = "123456789:BENCHMARK-TOKEN-0123456789abcdefghij"
COORDINATOR = 1001


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(type(value))


def write_config(
    path: Path, standin: BotApiStandIn, database_url: str, **sections: Mapping[str, Any]
) -> Path:
    """A taskbot config file pointing at `standin`; `sections` override or add keys."""
    raw: dict[str, dict[str, Any]] = {
        "telegram": {
            "token": standin.token,
            "base_url": standin.base_url,
            "base_file_url": standin.base_file_url,
            "coordinators": [COORDINATOR],
        },
        "database": {"url": database_url},
        "schedule": {"tick_seconds": 3600},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    lines: list[str] = []
    for name, values in raw.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in values.items())
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def clean_env() -> dict[str, str]:
    """The environment for a bot process: no token or database from the caller's shell."""
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start `args` with the repository importable; stdout and stderr go to `log`."""
    handle = log.open("ab")
    return subprocess.Popen(
        args, cwd=str(REPO), env=clean_env(), stdout=handle, stderr=subprocess.STDOUT
    )


def botproc(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.botproc", *args]


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> int:
    """SIGINT (PTB stops polling and shuts down cleanly), then SIGKILL after `timeout`."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


async def astop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> int:
    """`stop` without blocking the event loop (the stand-in keeps answering meanwhile), then
    a moment for requests that arrived meanwhile to be handled."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if process.poll() is None:
            process.kill()
    code = process.wait()
    await asyncio.sleep(0.2)
    return code


async def wait_call(standin: BotApiStandIn, method: str, since: int, timeout: float) -> float:
    """Monotonic time at which the stand-in received the first `method` call after index
    `since` of its call list."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in standin.calls[since:]:
            if call.method == method:
                return call.time
        await asyncio.sleep(0.002)
    raise TimeoutError(f"no {method} call within {timeout:g} s")


class Inbox:
    """Routes every message the bot sends (or edits) to a queue per chat, in order."""

    def __init__(self, standin: BotApiStandIn) -> None:
        self.standin = standin
        self.cursor = len(standin.sent)
        self.queues: dict[int, asyncio.Queue[SentMessage]] = {}
        self._task: asyncio.Task[None] | None = None

    def queue(self, chat_id: int) -> asyncio.Queue[SentMessage]:
        if chat_id not in self.queues:
            self.queues[chat_id] = asyncio.Queue()
        return self.queues[chat_id]

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def drain(self) -> None:
        """Forget everything received so far."""
        self._route()
        for q in self.queues.values():
            while not q.empty():
                q.get_nowait()

    def _route(self) -> None:
        sent = self.standin.sent
        while self.cursor < len(sent):
            message = sent[self.cursor]
            self.cursor += 1
            self.queue(message.chat_id).put_nowait(message)

    async def _run(self) -> None:
        while True:
            self._route()
            await self.standin.wait_for(lambda m: True, since=self.cursor, timeout=24 * 3600)

    async def next(self, chat_id: int, timeout: float = 60.0) -> SentMessage:
        try:
            return await asyncio.wait_for(self.queue(chat_id).get(), timeout)
        except TimeoutError:
            raise AssertionError(
                self.standin.dump(f"chat {chat_id}: no answer within {timeout:g} s")
            ) from None

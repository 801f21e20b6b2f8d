"""Bot processes for the benchmarks, each pointed at a stand-in in the benchmark process.

    python -m bench.botproc bot --config FILE --clock ISO [--lift-overall-limit] [--per-chat N]
        the real bot (`bot.app.build_application`) on a fixed clock, long polling
    python -m bench.botproc minimal --base-url URL --token TOKEN [--concurrent N]
        the framework's ceiling: a python-telegram-bot Application with one handler that answers
        every update with one sendMessage, nothing else (no rate limiter, no database)
    python -m bench.botproc cli [--lift-overall-limit] -- ARGS...
        `taskbot ARGS...` (bot.cli.main), e.g. `--config FILE run`

`--lift-overall-limit` raises the bot's own overall flood limit (`bot.ratelimit`, 30 messages
per second, Telegram's limit for the whole bot, not configurable) so that a throughput or
memory benchmark measures the bot's processing instead of that limit; the stand-in does not
enforce it. `--per-chat N` is an experiment: process updates of different chats concurrently
(at most N at once), each chat's updates in order; `--sniffio` another (see
`provide_sniffio`). `--profile FILE` writes cProfile stats of
the whole process at exit. The process stops cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor, ContextTypes, TypeHandler


def provide_sniffio() -> None:
    """Experiment: make `import sniffio` succeed. httpcore 1.0 imports sniffio on every lock it
    sets up, i.e. several times per request; anyio 4 no longer installs it, so each of those
    imports fails after searching sys.path. Installing sniffio has the same effect."""
    import types

    if "sniffio" not in sys.modules:
        module = types.ModuleType("sniffio")
        module.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
        sys.modules["sniffio"] = module


def lift_overall_limit() -> None:
    import bot.ratelimit

    bot.ratelimit.OVERALL_PER_SECOND = 1_000_000  # type: ignore[misc]


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; the updates of one chat run in order."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Any) -> None:
        key = None
        if isinstance(update, Update):
            if update.effective_chat is not None:
                key = update.effective_chat.id
            elif update.effective_user is not None:
                key = update.effective_user.id
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def run_bot(args: argparse.Namespace) -> None:
    if args.lift_overall_limit:
        lift_overall_limit()
    from bot.app import build_application
    from bot.config import load_settings

    settings = load_settings(Path(args.config), environ={})
    instant = datetime.fromisoformat(args.clock)
    app = build_application(settings, clock=lambda: instant)
    if args.tick_at_start:
        # the tick scheduled in post_init (first=0) is added before the JobQueue's scheduler
        # starts, and APScheduler then moves its first run one interval later: run one now
        from bot.delivery import tick

        bot_post_init = app.post_init
        assert bot_post_init is not None

        async def post_init(application: Any) -> None:
            await bot_post_init(application)
            application.job_queue.run_once(tick, when=0.2, name="bench: tick at start")

        app.post_init = post_init
    if args.per_chat:
        app._update_processor = PerChatUpdateProcessor(args.per_chat)  # type: ignore[attr-defined]
    app.run_polling(allowed_updates=Update.ALL_TYPES, timeout=5)


def run_minimal(args: argparse.Namespace) -> None:
    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is not None:
            await context.bot.send_message(chat.id, "ok")

    builder = Application.builder().token(args.token).base_url(args.base_url)
    if args.concurrent > 1:
        builder = builder.concurrent_updates(args.concurrent)
    app = builder.build()
    app.add_handler(TypeHandler(Update, answer))
    app.run_polling(allowed_updates=Update.ALL_TYPES, timeout=5)


def run_cli(args: argparse.Namespace) -> None:
    if args.lift_overall_limit:
        lift_overall_limit()
    from bot.cli import main

    code = main(args.rest)
    if code:
        sys.exit(code)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.botproc")
    p.add_argument("--profile", type=Path)
    p.add_argument("--sniffio", action="store_true", help="experiment: see provide_sniffio")
    sub = p.add_subparsers(dest="kind", required=True)
    b = sub.add_parser("bot")
    b.add_argument("--config", required=True)
    b.add_argument("--clock", required=True, help="the fixed instant, ISO 8601 with offset")
    b.add_argument("--lift-overall-limit", action="store_true")
    b.add_argument("--per-chat", type=int, default=0)
    b.add_argument("--tick-at-start", action="store_true")
    m = sub.add_parser("minimal")
    m.add_argument("--base-url", required=True)
    m.add_argument("--token", required=True)
    m.add_argument("--concurrent", type=int, default=1)
    c = sub.add_parser("cli")
    c.add_argument("--lift-overall-limit", action="store_true")
    c.add_argument("rest", nargs=argparse.REMAINDER)
    args = p.parse_args()
    if args.kind == "cli" and args.rest[:1] == ["--"]:
        args.rest = args.rest[1:]
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.sniffio:
        provide_sniffio()
    run = {"bot": run_bot, "minimal": run_minimal, "cli": run_cli}[args.kind]
    if args.profile:
        profiler = cProfile.Profile()
        try:
            profiler.runcall(run, args)
        finally:
            profiler.dump_stats(str(args.profile))
    else:
        run(args)


if __name__ == "__main__":
    main()

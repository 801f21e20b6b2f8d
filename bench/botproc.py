"""Bot processes for the benchmarks, each pointed at a stand-in in the benchmark process.

    python -m bench.botproc bot --config FILE --clock ISO [--per-chat N]
        the real bot (`bot.app.build_application`) on a fixed clock, long polling
    python -m bench.botproc minimal --config FILE [--concurrent N]
        the framework's ceiling: a python-telegram-bot Application on the bot's own HTTP
        transports and defaults (taken from `bot.app.build_application` for the config FILE,
        so it follows whatever client the bot uses), with one handler that makes the Bot API
        calls the bot makes at each step of a report, with the bot's texts and keyboards
        (the status button: answerCallbackQuery and sendMessage; the note: sendMessage;
        跳过: answerCallbackQuery and sendMessage; 确认提交: answerCallbackQuery and
        editMessageText), nothing else (no conversation, rate limiter or database)
    python -m bench.botproc cli -- ARGS...
        `taskbot ARGS...` (bot.cli.main), e.g. `--config FILE run`

The benchmarks lift the bot's own overall flood limit (30 messages per second, Telegram's limit
for the whole bot) with `messages_per_second = 1000` in the bot's config, so that throughput
and memory measure the bot's processing; the stand-in does not enforce it. `--per-chat N` is
an experiment: process updates of different chats concurrently
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

SAMPLE_TASK = "建立困难残疾人生活补贴和重度残疾人护理补贴标准动态调整机制"
SAMPLE_NOTE = "已完成全区低保对象排查，低保边缘家庭重度残疾人申请正在逐户审核。"


def provide_sniffio() -> None:
    """Experiment: make `import sniffio` succeed. httpcore 1.0 imports sniffio on every lock it
    sets up, i.e. several times per request; anyio 4 no longer installs it, so each of those
    imports fails after searching sys.path. Installing sniffio has the same effect."""
    import types

    if "sniffio" not in sys.modules:
        module = types.ModuleType("sniffio")
        module.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
        sys.modules["sniffio"] = module


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
    from bot.app import build_application
    from bot.config import load_settings

    settings = load_settings(Path(args.config), environ={})
    instant = datetime.fromisoformat(args.clock)
    app = build_application(settings, clock=lambda: instant)  # its first tick: 1 s after start
    if args.per_chat:
        app._update_processor = PerChatUpdateProcessor(args.per_chat)
    app.run_polling(allowed_updates=Update.ALL_TYPES, timeout=5)


def run_minimal(args: argparse.Namespace) -> None:
    from bot import keyboards, texts
    from bot.app import build_application
    from bot.config import load_settings
    from bot.context import Draft
    from bot.flow_common import NOTE_LIMIT
    from bot.report_flow import _summary
    from jobs.types import Status

    # the bot's own messages of one report, as its conversation sends them (bot.report_flow):
    # the request for a note, the request for evidence with 跳过, the confirmation card with
    # 确认提交 / 取消, the receipt with 修改; same texts, parse mode and keyboards
    draft = Draft(
        task_id=1,
        task_number=1,
        task_text=SAMPLE_TASK,
        unit_id=1,
        unit_name="区民政局",
        contact_id=1,
        nonce="00000000",
        status=Status.IN_PROGRESS,
        note=SAMPLE_NOTE,
    )
    ask_note = texts.ASK_NOTE.format(
        number=1, status=texts.STATUS_LABEL[Status.IN_PROGRESS], limit=NOTE_LIMIT
    )
    ask_evidence = texts.ASK_EVIDENCE.format(limit=10)
    card = _summary(texts.CONFIRM, draft)
    edits = iter(range(1, 10**9))  # each receipt differs ("message is not modified")

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, message = update.callback_query, update.effective_message
        if message is None:
            return
        if query is None:  # the note
            await message.reply_text(ask_evidence, reply_markup=keyboards.skip_keyboard("0"))
            return
        await query.answer()
        data = query.data or ""
        if data.startswith("skip:"):
            await message.reply_text(card, reply_markup=keyboards.confirm_keyboard("0"))
        elif data.startswith("ok:"):
            saved = _summary(texts.SAVED, draft, at=f"2025-12-17 09:{next(edits) % 60:02d}")
            await message.edit_text(saved, reply_markup=keyboards.correction_keyboard(1))
        else:  # a status button
            await message.reply_text(ask_note)

    settings = load_settings(Path(args.config), environ={})
    # the bot's transports and defaults, built as the bot builds them (its Application is not
    # started)
    bot_app = build_application(settings)
    long_poll, requests = bot_app.bot._request
    builder = (
        Application.builder()
        .token(settings.token)
        .base_url(settings.telegram.base_url)
        .defaults(bot_app.bot.defaults)
        .request(requests)
        .get_updates_request(long_poll)
    )
    if args.concurrent > 1:
        builder = builder.concurrent_updates(args.concurrent)
    app = builder.build()
    app.add_handler(TypeHandler(Update, answer))
    app.run_polling(allowed_updates=Update.ALL_TYPES, timeout=5)


def run_cli(args: argparse.Namespace) -> None:
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
    b.add_argument("--per-chat", type=int, default=0)
    m = sub.add_parser("minimal")
    m.add_argument("--config", required=True)
    m.add_argument("--concurrent", type=int, default=1)
    c = sub.add_parser("cli")
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

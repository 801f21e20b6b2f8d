"""`taskbot demo`: the real bot against the local Bot API stand-in, on a temporary SQLite file.

A short scripted scenario on the 30 seed tasks: the coordinator invites two units, their
contacts register, reminders go out, one contact reports 推进中 with a note, another 已完成
with a document, and the coordinator types /digest in the committee group. Returns the chat
as it happened (the stand-in's transcript). The same helpers drive the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.config import Settings
from bot.standin import BotApiStandIn, SentMessage
from bot.transport import close_transports

DEMO_START = datetime(2025, 12, 17, 1, 30, tzinfo=UTC)  # Wednesday 09:30 in Asia/Shanghai
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
    }
    for section, values in overrides.items():
        if isinstance(values, dict):
            raw.setdefault(section, {}).update(values)
        else:
            raw[section] = values
    return Settings.model_validate(raw)


@asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:  # type: ignore[type-arg]
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


def _button(message: SentMessage, label: str) -> str:
    for text, data in message.buttons:
        if text == label:
            return data
    raise AssertionError(f"no button {label!r} on message {message.message_id}")


async def run_demo(*, verbose: bool = False) -> str:
    """Play the scenario and return the transcript as printable text."""
    if verbose:
        logging.getLogger().setLevel(logging.INFO)
    else:  # the demo's fast tick (0.2 s) often finds the previous one still sending
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
    clock = MutableClock(DEMO_START)
    standin = BotApiStandIn(bot_username="canggongwei_bot", bot_first_name="督办助手", clock=clock)
    await standin.start()
    names = {COORDINATOR: "王协调（区残联）", 2001: "李明（区民政局）", 2002: "张华（潼南税务局）"}
    standin.user(COORDINATOR, "王协调")
    standin.user(2001, "李明")
    standin.user(2002, "张华")
    standin.group(GROUP, "残工委工作群")
    for member in (COORDINATOR, 2001, 2002):
        standin.add_member(GROUP, member)
    try:
        with tempfile.TemporaryDirectory(prefix="taskbot-demo-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'demo.sqlite3'}"
            # no weekly digest in the demo: the coordinator asks for one with /digest
            settings = standin_settings(standin, url, telegram={"digest_chat_id": None})
            app = build_application(settings, clock=clock)
            async with running(app):
                await _scenario(standin, clock)
                await standin.wait_idle()
    finally:
        await standin.stop()
    header = (
        "taskbot demo: the real bot against a local Bot API stand-in, 30 tasks of the appendix\n"
        "演示时间：2025-12-17 09:30（北京时间），距 2025-12-31 完成时限 14 天\n" + "=" * 60
    )
    return header + "\n" + standin.transcript().render(names, tz=ZoneInfo("Asia/Shanghai"))


async def _scenario(standin: BotApiStandIn, clock: MutableClock) -> None:
    link_of: dict[str, str] = {}
    standin.send_text(COORDINATOR, "/start")
    await standin.wait_for(lambda m: m.chat_id == COORDINATOR)
    for unit in ("区民政局", "潼南税务局"):
        standin.send_text(COORDINATOR, f"/invite {unit}")
        invite = await standin.wait_for(
            lambda m, u=unit: (
                m.chat_id == COORDINATOR and "start=" in m.plain_text and u in m.plain_text
            )
        )
        link_of[unit] = invite.plain_text.split("start=", 1)[1].split()[0]
    for user, unit in ((2001, "区民政局"), (2002, "潼南税务局")):
        standin.send_text(user, f"/start {link_of[unit]}")
        await standin.wait_for(lambda m, u=user: m.chat_id == u and "登记成功" in m.plain_text)
    # the tick (every 0.2 s here) finds the 14-days-before occasion of every task
    reminder = await standin.wait_for(
        lambda m: m.chat_id == 2001 and "第 2 项" in m.plain_text and bool(m.buttons)
    )
    tax = await standin.wait_for(
        lambda m: m.chat_id == 2002 and "第 10 项" in m.plain_text and bool(m.buttons)
    )
    await asyncio.sleep(0.5)

    # 李明 reports 推进中 with a note, no evidence
    standin.press_button(2001, reminder.message_id, _button(reminder, "推进中"))
    await standin.wait_for(lambda m: m.chat_id == 2001 and "请用一两句话" in m.plain_text)
    standin.send_text(2001, "已完成全区低保对象排查，低保边缘家庭重度残疾人申请正在逐户审核。")
    ask = await standin.wait_for(
        lambda m: m.chat_id == 2001 and bool(m.buttons) and "跳过" in str(m.buttons)
    )
    standin.press_button(2001, ask.message_id, _button(ask, "跳过"))
    confirm = await standin.wait_for(lambda m: m.chat_id == 2001 and "请确认" in m.plain_text)
    standin.press_button(2001, confirm.message_id, _button(confirm, "确认提交"))
    await standin.wait_for(lambda m: m.chat_id == 2001 and "已记录" in m.plain_text)

    # 张华 reports 已完成 with a document
    clock.advance(timedelta(minutes=20))
    standin.press_button(2002, tax.message_id, _button(tax, "已完成"))
    await standin.wait_for(lambda m: m.chat_id == 2002 and "请用一两句话" in m.plain_text)
    standin.send_text(2002, "残疾人集中就业单位增值税即征即退已全部兑现，政府采购预留份额已落实。")
    await standin.wait_for(lambda m: m.chat_id == 2002 and "佐证材料" in m.plain_text)
    standin.send_document(
        2002,
        "潼南税务局关于残疾人就业税收优惠落实情况的报告".encode(),
        "税收优惠落实情况.pdf",
        mime_type="application/pdf",
    )
    confirm = await standin.wait_for(lambda m: m.chat_id == 2002 and "请确认" in m.plain_text)
    standin.press_button(2002, confirm.message_id, _button(confirm, "确认提交"))
    await standin.wait_for(lambda m: m.chat_id == 2002 and "已记录" in m.plain_text)

    # the coordinator asks for the digest in the committee group
    clock.advance(timedelta(minutes=10))
    standin.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
    await standin.wait_for(lambda m: m.chat_id == GROUP and "督办汇总" in m.plain_text)

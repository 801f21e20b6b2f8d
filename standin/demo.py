"""`taskbot demo`: the real bot against the local Bot API stand-in, on a temporary SQLite file.

A short scripted scenario on the 30 seed tasks: the coordinator invites two units, their
contacts register, reminders go out, one contact reports 推进中 with a note, another 已完成
with a document, and the coordinator types /digest in the committee group. Returns the chat
as it happened (the stand-in's transcript). The helpers it runs the bot with
(:mod:`standin.harness`) also drive the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import build_application
from standin.client import BotApiStandIn
from standin.harness import COORDINATOR, GROUP, MutableClock, running, standin_settings
from standin.records import SentMessage

DEMO_START = datetime(2025, 12, 17, 1, 30, tzinfo=UTC)  # Wednesday 09:30 in Asia/Shanghai


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

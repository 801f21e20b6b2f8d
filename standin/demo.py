"""`taskbot demo`: the real bot against the local Bot API stand-in, on a temporary SQLite file.

A short scripted scenario on the 30 seed tasks, on Monday 2026-12-07 (the
coordinator's first working day with the bot):
the plan's period has ended, so the bot holds its overdue follow-up and tells the coordinator;
the coordinator sets new deadlines (all tasks to 2027-06-30, two of them to 2026-12-21), which
lifts the hold; two units are invited, their contacts register and get their reminders, one
reports 推进中 with a note, another 已完成 with a document, and the coordinator types /digest
in the committee group. Returns the chat
as it happened (the stand-in's transcript). The helpers it runs the bot with
(:mod:`standin.harness`) also drive the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import build_application
from standin.client import BotApiStandIn
from standin.harness import COORDINATOR, GROUP, MutableClock, running, standin_settings
from standin.records import SentMessage

DEMO_START = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # Monday 09:30 in Asia/Shanghai


def _button(message: SentMessage, label: str) -> str:
    for text, data in message.buttons:
        if text == label and data is not None:
            return data
    raise AssertionError(f"no button {label!r} on message {message.message_id}")


def _invite_for(unit: str) -> Callable[[SentMessage], bool]:
    """Match the coordinator's invitation link for `unit`."""
    return lambda m: m.chat_id == COORDINATOR and "start=" in m.plain_text and unit in m.plain_text


def _registered(user: int) -> Callable[[SentMessage], bool]:
    """Match the confirmation of `user`'s registration."""
    return lambda m: m.chat_id == user and "登记成功" in m.plain_text


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
        "演示时间：2026-12-07 09:30（北京时间，周一）；规划期已于 2025-12-31 结束\n" + "=" * 60
    )
    return header + "\n" + standin.transcript().render(names, tz=ZoneInfo("Asia/Shanghai"))


async def _confirm_deadlines(standin: BotApiStandIn, command: str) -> None:
    """Type a /deadline command as the coordinator and press 确认修改 under its preview."""
    since = len(standin.sent)
    standin.send_text(COORDINATOR, command)
    preview = await standin.wait_for(
        lambda m: m.chat_id == COORDINATOR and "确认修改" in str(m.buttons), since=since
    )
    standin.press_button(COORDINATOR, preview.message_id, _button(preview, "确认修改"))
    await standin.wait_for(
        lambda m: m.chat_id == COORDINATOR and m.method == "editMessageText", since=since
    )


async def _scenario(standin: BotApiStandIn, clock: MutableClock) -> None:
    link_of: dict[str, str] = {}
    # at its first start the bot found the plan's period ended and told the coordinator
    await standin.wait_for(lambda m: m.chat_id == COORDINATOR and "已暂停" in m.plain_text)
    await _confirm_deadlines(
        standin, "/deadline 全部 2027年6月30日 十五五规划衔接，按年度工作安排调整"
    )
    await _confirm_deadlines(standin, "/deadline 2,10 2026年12月21日 年底前完成")
    for unit in ("区民政局", "潼南税务局"):
        standin.send_text(COORDINATOR, f"/invite {unit}")
        invite = await standin.wait_for(_invite_for(unit))
        link_of[unit] = invite.plain_text.split("start=", 1)[1].split()[0]
    for user, unit in ((2001, "区民政局"), (2002, "潼南税务局")):
        standin.send_text(user, f"/start {link_of[unit]}")
        await standin.wait_for(_registered(user))
    # the tick (every 0.2 s here) finds the 14-days-before occasion of tasks 2 and 10
    reminder = await standin.wait_for(
        lambda m: m.chat_id == 2001 and "第2项" in m.plain_text and bool(m.buttons)
    )
    tax = await standin.wait_for(
        lambda m: m.chat_id == 2002 and "第10项" in m.plain_text and bool(m.buttons)
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

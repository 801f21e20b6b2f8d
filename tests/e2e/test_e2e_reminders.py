"""End to end through the stand-in: reminders fan-out, the ledger, restarts, catch-up."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.app import build_application
from db.lock import AlreadyRunning
from db.models import Delivery
from jobs.types import DeliveryKind, DeliveryOutcome
from standin.harness import running
from tests.conftest import BotHarness, reminded_tasks

MINZHENG_TASKS = {2, 5, 8, 25}  # tasks led by 区民政局 in the appendix


def reminders_to(bot: BotHarness, chat_id: int) -> list[Any]:
    return [m for m in bot.api.messages_to(chat_id) if "完成时限" in m.plain_text]


def task_number(message: Any) -> int:
    return int(message.plain_text.split("第", 1)[1].split("项", 1)[0])


async def test_reminders_go_to_every_contact_once(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.register(2003, "区民政局")  # a unit may have several contacts
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    await bot.api.wait_idle()
    for chat in (2001, 2003):
        # one message a day: the four tasks of 区民政局 in one message, each with a button
        [sent] = reminders_to(bot, chat)
        assert sorted(reminded_tasks(sent)) == sorted(MINZHENG_TASKS)
        assert sent.plain_text.count("完成时限") == 4
        assert "区民政局有4项任务" in sent.plain_text
        assert "完成时限：2025年12月31日（还有14天）" in sent.plain_text
        assert [label.split(" ")[0] for label, _ in sent.buttons] == [
            f"第{n}项" for n in reminded_tasks(sent)
        ]
        assert all(data.startswith("t2:") for _, data in sent.buttons)
    tax = reminders_to(bot, 2002)
    assert [task_number(m) for m in tax] == [10]
    text = tax[0].plain_text
    assert "⏰ 任务提醒" in text
    assert "落实残疾人集中就业单位税费优惠" in text
    assert "牵头单位：潼南税务局" in text
    assert "完成时限：2025年12月31日（还有14天）" in text
    assert [label for label, _ in tax[0].buttons] == ["推进中", "已完成", "遇到困难", "申请延期"]

    # a second tick at the same instant sends nothing more
    count = len(bot.api.sent)
    await bot.tick()
    await bot.api.wait_idle()
    assert len(bot.api.sent) == count
    with bot.svc.db.session() as s:
        rows = s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.REMINDER)).all()
        tasks = [r for r in rows if r.key.startswith("reminder:")]
        days = [r for r in rows if r.key.startswith("daily:")]
        assert len(tasks) == 9  # one per task, unit and contact, as before
        assert len(days) == 3  # one message per contact and day
        assert {r.outcome for r in rows} == {DeliveryOutcome.SENT}
        assert all(r.message_id for r in rows)
        assert {r.key.split(":")[4] for r in tasks} == {"before"}  # the occasion kind
        # each task row carries the message id of its contact's message of the day
        for day in days:
            mine = [r for r in tasks if r.contact_id == day.contact_id]
            assert {r.message_id for r in mine} == {day.message_id}


async def test_next_occasion_and_overdue_repeats(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    # 7 days before the deadline: Wednesday 2025-12-24
    bot.clock.advance(timedelta(days=7))
    await bot.tick()
    # the deadline day itself: Wednesday 2025-12-31
    bot.clock.advance(timedelta(days=7))
    await bot.tick()
    # 7 days overdue: Wednesday 2026-01-07; then 3 days later nothing, then 14 days overdue
    bot.clock.advance(timedelta(days=7))
    await bot.tick()
    bot.clock.advance(timedelta(days=3))
    await bot.tick()
    bot.clock.advance(timedelta(days=4))
    await bot.tick()
    await bot.api.wait_idle()
    whens = [m.plain_text.split("（", 2)[-1].split("）")[0] for m in reminders_to(bot, 2002)]
    assert whens == ["还有14天", "还有7天", "今天到期", "已逾期7天", "已逾期14天"]
    titles = [m.plain_text.splitlines()[0] for m in reminders_to(bot, 2002)]
    assert titles[2] == "📌 今日到期提醒" and titles[3] == "❗ 逾期催办"


async def test_nothing_on_weekends_and_catch_up_once(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    # Saturday 2025-12-27 10:00: the 3-days-before occasion (12-28, a Sunday) is not due yet
    bot.clock.set(bot.clock.now.replace(day=27, hour=2))
    await bot.tick()
    await bot.api.wait_idle()
    assert len(reminders_to(bot, 2002)) == 1
    # the bot was down on Monday 12-29 (3 days-before moved there) and Tuesday 12-30 (1 day);
    # it comes back Tuesday 20:00: only the newest occasion (1 day before) goes out, once
    bot.clock.set(bot.clock.now.replace(day=30, hour=12))
    await bot.tick()
    await bot.tick()
    await bot.api.wait_idle()
    sent = reminders_to(bot, 2002)
    assert len(sent) == 2
    assert "还有1天" in sent[1].plain_text


async def test_restart_sends_nothing_twice(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.tick()
    await bot.api.wait_idle()
    [sent] = reminders_to(bot, 2001)
    assert sorted(reminded_tasks(sent)) == sorted(MINZHENG_TASKS)
    # a new application on the same database, as after a restart; its first tick runs at once
    await bot.restart(schedule={"tick_seconds": 0.1})
    await asyncio.sleep(0.5)
    await bot.tick()
    await bot.api.wait_idle()
    assert len(reminders_to(bot, 2001)) == 1


async def test_first_tick_runs_a_second_after_start_not_an_interval_later(
    bot: BotHarness,
) -> None:
    await bot.register(2001, "区民政局")
    assert reminders_to(bot, 2001) == []
    # production wiring: hourly interval, JobQueue not held; the first tick must not wait an hour
    await bot.restart(hold_tick=False, schedule={"tick_seconds": 3600})
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "完成时限" in m.plain_text, timeout=5)
    await bot.api.wait_idle()
    [sent] = reminders_to(bot, 2001)
    assert sorted(reminded_tasks(sent)) == sorted(MINZHENG_TASKS)


async def test_a_second_instance_refuses_to_start(bot: BotHarness) -> None:
    second = build_application(bot.settings, clock=bot.clock)
    with pytest.raises(AlreadyRunning, match="another taskbot instance"):
        async with running(second):
            pass
    # the first one still works
    bot.api.send_text(2001, "/whoami")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "身份" in m.plain_text)


async def test_done_unit_gets_no_more_reminders(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    reminder = reminders_to(bot, 2002)[0]
    bot.api.press_button(2002, reminder.message_id, "r:10:done")
    await bot.api.wait_for(lambda m: m.chat_id == 2002 and "请用一两句话" in m.plain_text)
    bot.api.send_text(2002, "已全部落实。")
    ask = await bot.api.wait_for(lambda m: m.chat_id == 2002 and "跳过" in str(m.buttons))
    bot.api.click(2002, ask, "跳过")
    confirm = await bot.api.wait_for(lambda m: m.chat_id == 2002 and "请确认" in m.plain_text)
    bot.api.click(2002, confirm, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == 2002 and "已记录" in m.plain_text)
    bot.clock.advance(timedelta(days=7))
    await bot.tick()
    await bot.api.wait_idle()
    assert len(reminders_to(bot, 2002)) == 1

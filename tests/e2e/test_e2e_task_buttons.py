"""Task buttons name their task by database id ("r2:<id>:<status>", "t2:<id>", "x2:<id>");
buttons on messages sent before that ("r:<number>:<status>", "t:<number>", "x:<number>")
keep working. End to end through the stand-in, plus the parser."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.keyboards import TaskButton, TaskRef, parse_task_data
from db.models import StatusReport, Task
from jobs.types import Status
from tests.conftest import BotHarness

CONTACT = 2001  # registered for 区民政局, which leads task 2


def task_id(bot: BotHarness, number: int) -> int:
    with bot.svc.db.session() as s:
        return s.exec(select(Task).where(Task.number == number)).one().id or 0


def stored_reports(bot: BotHarness) -> list[StatusReport]:
    with bot.svc.db.session() as s:
        return list(s.exec(select(StatusReport).order_by(StatusReport.id)).all())


def renumber_tasks(bot: BotHarness, offset: int) -> None:
    """Move every task's 序号 by `offset` (as a reloaded task file or a later plan would),
    so that no task's number equals its id any more."""
    with bot.svc.db.session() as s:
        s.exec(update(Task).values(number=Task.number + offset))  # type: ignore[call-overload]


async def finish_report(bot: BotHarness, note: str) -> None:
    """Answer the conversation started by a status button: note, no evidence, confirm."""
    await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "请用一两句话" in m.plain_text)
    bot.api.send_text(CONTACT, note)
    evidence = await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "佐证材料" in m.plain_text)
    bot.api.click(CONTACT, evidence, "跳过")
    confirm = await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "请确认" in m.plain_text)
    bot.api.click(CONTACT, confirm, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "已记录" in m.plain_text)


async def old_reminder(bot: BotHarness, number: int) -> Any:
    """A reminder as the bot sent it before its buttons carried task ids."""
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("推进中", callback_data=f"r:{number}:in_progress"),
                InlineKeyboardButton("已完成", callback_data=f"r:{number}:done"),
                InlineKeyboardButton("遇到困难", callback_data=f"r:{number}:blocked"),
            ],
            [InlineKeyboardButton("申请延期", callback_data=f"x:{number}")],
        ]
    )
    since = len(bot.api.sent)
    await bot.app.bot.send_message(CONTACT, f"⏰ 第 {number} 项（旧提醒）", reply_markup=markup)
    return await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "旧提醒" in m.plain_text, since=since
    )


@pytest.mark.parametrize(
    ("data", "parsed"),
    [
        ("r2:41:done", TaskButton("r", TaskRef(task_id=41), Status.DONE)),
        ("r:4:blocked", TaskButton("r", TaskRef(number=4), Status.BLOCKED)),
        ("t2:41", TaskButton("t", TaskRef(task_id=41))),
        ("t:4", TaskButton("t", TaskRef(number=4))),
        ("x2:41", TaskButton("x", TaskRef(task_id=41))),
        ("x:4", TaskButton("x", TaskRef(number=4))),
        ("r2:41:not_started", None),  # not a reportable status
        ("r2:41:bogus", None),
        ("r2:41", None),  # a status button without its status
        ("t2:41:done", None),
        ("x3:41", None),
        ("xa:41", None),  # an extension decision, not a task button
        ("r2:-1:done", None),
        ("t2:1234567890", None),
    ],
)
def test_parse_task_data(data: str, parsed: TaskButton | None) -> None:
    assert parse_task_data(data) == parsed


async def test_new_buttons_carry_the_task_id_and_follow_the_task(bot: BotHarness) -> None:
    await bot.register(CONTACT, "区民政局")
    await bot.tick()
    # 区民政局 leads 2, 5, 8 and 25: one message of the day with a task button each
    daily = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "第2项" in m.plain_text and bool(m.buttons)
    )
    two = task_id(bot, 2)
    assert [data for _, data in daily.buttons] == [f"t2:{task_id(bot, n)}" for n in (2, 5, 8, 25)]
    bot.api.press_button(CONTACT, daily.message_id, f"t2:{two}")
    reminder = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "请选择当前进展" in m.plain_text
    )
    assert "第2项" in reminder.plain_text
    assert [data for _, data in reminder.buttons] == [
        f"r2:{two}:in_progress",
        f"r2:{two}:done",
        f"r2:{two}:blocked",
        f"x2:{two}",
    ]
    renumber_tasks(bot, 100)  # the id still names the task; its number 2 no longer does
    bot.api.press_button(CONTACT, reminder.message_id, f"r2:{two}:in_progress")
    ask = await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "请用一两句话" in m.plain_text)
    assert "第102项" in ask.plain_text
    await finish_report(bot, "按任务编号反馈。")
    [stored] = stored_reports(bot)
    assert (stored.task_id, stored.status) == (two, Status.IN_PROGRESS)
    # the number the reminder showed now names no task: an old-format press says so
    bot.api.press_button(CONTACT, reminder.message_id, "r:2:in_progress")
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "没有找到第2项" in str(c.params.get("text"))
    )
    # an id that names no task is an expired button
    bot.api.press_button(CONTACT, reminder.message_id, "r2:999999:done")
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "失效" in str(c.params.get("text"))
    )
    assert len(stored_reports(bot)) == 1


async def test_buttons_of_a_message_sent_before_the_ids_keep_working(bot: BotHarness) -> None:
    await bot.register(CONTACT, "区民政局")
    old = await old_reminder(bot, 2)
    bot.api.click(CONTACT, old, "已完成")
    ask = await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "请用一两句话" in m.plain_text)
    assert "第2项" in ask.plain_text and "已完成" in ask.plain_text
    await finish_report(bot, "旧按钮也能反馈。")
    [stored] = stored_reports(bot)
    assert (stored.task_id, stored.status) == (task_id(bot, 2), Status.DONE)
    # the old extension button asks for the new date of the same task
    since = len(bot.api.sent)
    bot.api.click(CONTACT, old, "申请延期")
    ext = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "申请延期后的完成时限" in m.plain_text, since=since
    )
    assert "第2项" in ext.plain_text
    bot.api.send_text(CONTACT, "/cancel")
    await bot.api.wait_idle(quiet=0.05)
    # a text reply to the old message (not in the send ledger) is a note on its task
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, "旧提醒的回复。", reply_to_message_id=old.message_id)
    saved = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "进展说明" in m.plain_text, since=since
    )
    assert "第2项" in saved.plain_text
    notes = [r for r in stored_reports(bot) if r.source == "reply"]
    assert [(r.task_id, r.note) for r in notes] == [(task_id(bot, 2), "旧提醒的回复。")]


async def test_report_menu_new_and_old_task_buttons(bot: BotHarness) -> None:
    await bot.register(CONTACT, "区民政局")
    bot.api.send_text(CONTACT, "/report")
    menu = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "请选择要反馈的任务" in m.plain_text
    )
    datas = [data for _, data in menu.buttons]
    two = task_id(bot, 2)
    assert f"t2:{two}" in datas and all(d and d.startswith("t2:") for d in datas)
    bot.api.press_button(CONTACT, menu.message_id, f"t2:{two}")
    statuses = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "请选择当前进展" in m.plain_text
    )
    assert "第2项" in statuses.plain_text
    assert f"r2:{two}:done" in [data for _, data in statuses.buttons]
    # an old menu's button (t:<number>) picks the same task
    since = len(bot.api.sent)
    bot.api.press_button(CONTACT, menu.message_id, "t:2")
    again = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "请选择当前进展" in m.plain_text, since=since
    )
    assert "第2项" in again.plain_text
    bot.api.click(CONTACT, again, "遇到困难")
    await finish_report(bot, "经费未到位。")
    [stored] = stored_reports(bot)
    assert (stored.task_id, stored.status) == (two, Status.BLOCKED)

"""End to end through the stand-in: coordination items (协调事项) opened by 遇到困难 reports,
assigned to another unit, asked for detail, closed; the digest and /items list them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from db.models import AuditEvent, CoordinationItem
from standin.harness import COORDINATOR
from tests.conftest import STRANGER, BotHarness

RAISING = 2001  # a contact of 区民政局, lead unit of task 5
OTHER = 2002  # a contact of 潼南税务局


async def report_blocked(bot: BotHarness, chat: int, number: int, note: str) -> Any:
    """Report 遇到困难 with `note` on task `number` from its reminder; return the
    coordinator's notice."""
    reminder = await bot.api.wait_for(
        lambda m: m.chat_id == chat and f"第{number}项" in m.plain_text and bool(m.buttons)
    )
    since = len(bot.api.sent)
    bot.api.press_button(chat, reminder.message_id, f"r:{number}:blocked")
    await bot.api.wait_for(
        lambda m: m.chat_id == chat and "请用一两句话" in m.plain_text, since=since
    )
    bot.api.send_text(chat, note)
    ask = await bot.api.wait_for(
        lambda m: m.chat_id == chat and "佐证材料" in m.plain_text, since=since
    )
    bot.api.click(chat, ask, "跳过")
    confirm = await bot.api.wait_for(
        lambda m: m.chat_id == chat and "请确认" in m.plain_text, since=since
    )
    bot.api.click(chat, confirm, "确认提交")
    return await bot.api.wait_for(
        lambda m: (
            m.chat_id == COORDINATOR and "遇到困难" in m.plain_text and "协调事项" in m.plain_text
        ),
        since=since,
    )


def items(bot: BotHarness) -> list[CoordinationItem]:
    with bot.svc.db.session() as s:
        return list(s.exec(select(CoordinationItem).order_by(CoordinationItem.id)).all())


async def ask(bot: BotHarness, card: Any, label: str, expect: str) -> Any:
    """Press `label` on the coordinator's `card`; return the question containing `expect`."""
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, card, label)
    return await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and expect in m.plain_text, since=since
    )


async def answer_to(bot: BotHarness, chat: int, question: Any, text: str, expect: str) -> Any:
    """Reply `text` to `question` in `chat`; return the bot's answer containing `expect`."""
    since = len(bot.api.sent)
    bot.api.send_text(chat, text, reply_to_message_id=question.message_id)
    return await bot.api.wait_for(
        lambda m: m.chat_id == chat and expect in m.plain_text, since=since
    )


async def answer_to_command(bot: BotHarness, chat: int, text: str, expect: str) -> Any:
    since = len(bot.api.sent)
    bot.api.send_text(chat, text)
    return await bot.api.wait_for(
        lambda m: m.chat_id == chat and expect in m.plain_text, since=since
    )


async def digest_text(bot: BotHarness) -> str:
    bot.clock.advance(timedelta(minutes=2))  # /digest answers once a minute
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/digest")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "督办" in m.plain_text, since=since
    )
    await bot.api.wait_idle()
    return "\n".join(m.plain_text for m in bot.api.sent[since:] if m.chat_id == COORDINATOR)


async def test_an_item_assigned_to_another_unit_reaches_it_and_leaves_the_digest_when_closed(
    bot: BotHarness,
) -> None:
    await bot.register(RAISING, "区民政局")
    await bot.register(OTHER, "潼南税务局")
    await bot.tick()
    notice = await report_blocked(bot, RAISING, 5, "需税务部门提供减免名单")
    assert "已登记为协调事项（编号1）" in notice.plain_text
    assert [label for label, _ in notice.buttons] == ["指派单位", "要求补充", "关闭事项"]
    [item] = items(bot)
    assert (item.status, item.need, item.assigned_unit_id) == (
        "open",
        "需税务部门提供减免名单",
        None,
    )
    assert "协调事项（1项未办结）" in await digest_text(bot)
    # a contact cannot use the coordinator's buttons
    bot.api.click(RAISING, notice, "指派单位")
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "仅限协调员" in str(c.params))
    question = await ask(bot, notice, "指派单位", "请回复本消息")
    # bad input: the raising unit itself, an unknown unit; nothing stored
    await answer_to(bot, COORDINATOR, question, "区民政局", "不能指派给它自己")
    await answer_to(bot, COORDINATOR, question, "火星办公室", "没有找到单位")
    assert items(bot)[0].assigned_unit_id is None
    done = await answer_to(bot, COORDINATOR, question, "税务局", "已指派给潼南税务局")
    assert "已通知其联络员1人" in done.plain_text
    told = await bot.api.wait_for(lambda m: m.chat_id == OTHER and "协调事项" in m.plain_text)
    assert "需税务部门提供减免名单" in told.plain_text and "区民政局" in told.plain_text
    assert "潼南税务局" in (await digest_text(bot)).split("协调事项（1项未办结）")[1]
    # the assigned unit answers by replying; the coordinators get it
    await answer_to(bot, OTHER, told, "名单已于本周提供", "已记入协调事项1")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "名单已于本周提供" in m.plain_text
    )
    close = await ask(bot, notice, "关闭事项", "关闭说明")
    close_again = await ask(bot, notice, "关闭事项", "关闭说明")  # a second question open
    await answer_to(bot, COORDINATOR, close, "名单已提供，困难已解决", "协调事项1已关闭")
    await bot.api.wait_for(lambda m: m.chat_id == RAISING and "已关闭" in m.plain_text)
    await bot.api.wait_for(lambda m: m.chat_id == OTHER and "已关闭" in m.plain_text)
    [item] = items(bot)
    assert (item.status, item.closing_note, item.closed_by) == (
        "closed",
        "名单已提供，困难已解决",
        COORDINATOR,
    )
    assert "名单已于本周提供" in item.need
    assert "协调事项（" not in await digest_text(bot)
    # /task shows the task's items, closed ones too
    shown = await answer_to_command(bot, RAISING, "/task 5", "协调事项：")
    assert "编号1 区民政局提出 → 潼南税务局（" in shown.plain_text
    assert "已关闭）：需税务部门提供减免名单" in shown.plain_text
    # closing twice, and any press on the closed item: refused, nothing stored twice
    await answer_to(bot, COORDINATOR, close_again, "再关一次", "已关闭，不能再操作")
    bot.api.click(COORDINATOR, notice, "要求补充")
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "已关闭" in str(c.params))
    with bot.svc.db.session() as s:
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("coordination.close") == 1
    assert "coordination.open" in actions and "coordination.assign" in actions


async def test_asking_for_detail_round_trip_and_a_second_report_joins_the_item(
    bot: BotHarness,
) -> None:
    await bot.register(RAISING, "区民政局")
    await bot.tick()
    notice = await report_blocked(bot, RAISING, 5, "缺少资金")
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, notice, "要求补充")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已请区民政局补充说明" in m.plain_text, since=since
    )
    asked = await bot.api.wait_for(
        lambda m: m.chat_id == RAISING and "补充说明协调事项" in m.plain_text, since=since
    )
    assert items(bot)[0].detail_requested_at is not None
    await answer_to(bot, RAISING, asked, "缺口约20万元，需区财政局支持", "已记入协调事项1")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "缺口约20万元" in m.plain_text, since=since
    )
    [item] = items(bot)
    assert item.detail_requested_at is None
    assert item.need.startswith("缺少资金\n补充（") and "缺口约20万元，需区财政局支持" in item.need
    # a second 遇到困难 on the same task joins the open item instead of opening another
    second = await report_blocked(bot, RAISING, 5, "资金仍未到位")
    assert "已并入" in second.plain_text
    [item] = items(bot)
    assert item.need.endswith("资金仍未到位")
    # /items lists it with a button that shows its card
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/items")
    listing = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "1项未办结" in m.plain_text, since=since
    )
    bot.api.click(COORDINATOR, listing, listing.buttons[0][0])
    card = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "提出单位：区民政局" in m.plain_text, since=since
    )
    assert "承办单位：待指派" in card.plain_text
    bot.api.send_text(STRANGER, "/items")
    await bot.api.wait_for(lambda m: m.chat_id == STRANGER and "仅限协调员" in m.plain_text)


async def assigned_item(bot: BotHarness) -> Any:
    """Task 5's item raised by 区民政局 and assigned to 潼南税务局; the unit's message."""
    await bot.register(RAISING, "区民政局")
    await bot.register(OTHER, "潼南税务局")
    await bot.tick()
    notice = await report_blocked(bot, RAISING, 5, "需税务部门提供减免名单")
    question = await ask(bot, notice, "指派单位", "请回复本消息")
    # the question offers the task's other units as buttons; 潼南税务局 is typed
    assert "区民政局" not in [label for label, _ in question.buttons]
    await answer_to(bot, COORDINATOR, question, "潼南税务局", "已指派给潼南税务局")
    return notice


async def test_the_assigned_unit_is_reminded_every_three_working_days_until_closed(
    bot: BotHarness,
) -> None:
    notice = await assigned_item(bot)  # Wednesday 2025-12-17
    await bot.api.wait_idle()

    async def reminders_on(day: int) -> list[Any]:
        bot.clock.set(bot.clock.now.replace(day=day))
        since = len(bot.api.sent)
        await bot.tick()
        await bot.api.wait_idle()
        to_unit = [m for m in bot.api.sent[since:] if m.chat_id == OTHER]
        found = [m for m in to_unit if "仍未办结" in m.plain_text]
        assert not found or len(to_unit) == 1, "one unsolicited message a day"
        return found

    # Thu 18, Fri 19: not yet; Sat 20, Sun 21: never on a weekend; Mon 22: the third
    # working day after the assignment
    for day in (18, 19, 20, 21):
        assert await reminders_on(day) == [], day
    [reminder] = await reminders_on(22)
    assert "编号1" in reminder.plain_text and "已5天" in reminder.plain_text
    assert "需税务部门提供减免名单" in reminder.plain_text
    # the reminder takes the contact's message of the day; a reply to it is a note
    await answer_to(bot, OTHER, reminder, "正在核对名单", "已记入协调事项1")
    assert await reminders_on(23) == []  # counted again from the 22nd
    close = await ask(bot, notice, "关闭事项", "关闭说明")
    await answer_to(bot, COORDINATOR, close, "已解决", "协调事项1已关闭")
    assert await reminders_on(29) == []  # closed: no more reminders
    with bot.svc.db.session() as s:
        [item] = s.exec(select(CoordinationItem)).all()
        assert item.reminded_on is not None and item.reminded_on.day == 22


@pytest.mark.parametrize(
    "bot_settings_overrides",
    [{"schedule": {"tick_seconds": 3600}, "follow_up": {"coordination_reminder_working_days": 1}}],
)
async def test_an_item_reminder_waits_for_a_day_without_another_message(bot: BotHarness) -> None:
    await assigned_item(bot)  # Wednesday 2025-12-17; task 10 of 潼南税务局 is due on the 31st
    await bot.api.wait_idle()
    texts_on: dict[int, list[str]] = {}
    for day in (18, 19, 22, 23, 24, 25):
        bot.clock.set(bot.clock.now.replace(day=day))
        since = len(bot.api.sent)
        await bot.tick()
        await bot.api.wait_idle()
        texts_on[day] = [m.plain_text for m in bot.api.sent[since:] if m.chat_id == OTHER]
    # every working day one message: the item's, except on the 24th, 7 days before task 10's
    # deadline, when the task reminder is the message of the day and the item waits
    assert all(len(sent) == 1 for sent in texts_on.values()), texts_on
    assert [day for day, sent in texts_on.items() if "仍未办结" in sent[0]] == [18, 19, 22, 23, 25]
    assert "第10项" in texts_on[24][0]


async def test_a_phone_report_of_difficulty_recorded_by_a_coordinator_opens_an_item(
    bot: BotHarness,
) -> None:
    recorded = await answer_to_command(
        bot,
        COORDINATOR,
        "/record 5 区民政局 遇到困难 电话反馈：场地未落实",
        "已登记为协调事项（编号1）",
    )
    assert [label for label, _ in recorded.buttons] == ["指派单位", "要求补充", "关闭事项"]
    [item] = items(bot)
    assert (item.need, item.report_id is not None) == ("电话反馈：场地未落实", True)
    again = await answer_to_command(
        bot, COORDINATOR, "/record 5 区民政局 遇到困难 仍未落实", "已并入"
    )
    assert "编号1" in again.plain_text and len(items(bot)) == 1

"""Break-it tests through the stand-in: coordination items under double presses, units
without a contact or with markup in their names, and stale buttons."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from db.models import AuditEvent, CoordinationItem, Unit
from standin.harness import COORDINATOR
from tests.conftest import BotHarness
from tests.e2e.test_e2e_coordination import (
    OTHER,
    RAISING,
    answer_to,
    ask,
    items,
    report_blocked,
)

LEADER = 4004


@pytest.fixture
def bot_settings_overrides() -> dict[str, Any]:
    return {"schedule": {"tick_seconds": 3600}, "telegram": {"leaders": [LEADER]}}


def audit(bot: BotHarness) -> list[str]:
    with bot.svc.db.session() as s:
        return [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]


async def opened(bot: BotHarness, *, other: bool = True) -> Any:
    await bot.register(RAISING, "区民政局")
    if other:
        await bot.register(OTHER, "潼南税务局")
    await bot.tick()
    return await report_blocked(bot, RAISING, 5, "需税务部门提供减免名单")


async def test_a_double_press_of_ask_detail_asks_the_unit_once(bot: BotHarness) -> None:
    notice = await opened(bot)
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, notice, "要求补充")
    bot.api.click(COORDINATOR, notice, "要求补充")  # a double tap
    await bot.api.wait_for(
        lambda m: m.chat_id == RAISING and "补充说明" in m.plain_text, since=since
    )
    await bot.api.wait_idle(quiet=0.3)
    asked = [m for m in bot.api.sent[since:] if m.chat_id == RAISING and "补充说明" in m.plain_text]
    assert len(asked) == 1, f"the raising unit was asked {len(asked)} times"


async def test_double_press_of_a_unit_button_assigns_and_tells_once(bot: BotHarness) -> None:
    notice = await opened(bot)
    question = await ask(bot, notice, "指派单位", "请回复本消息")
    label = question.buttons[0][0]
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, question, label)
    bot.api.click(COORDINATOR, question, label)
    await bot.api.wait_idle(quiet=0.5)
    assert audit(bot).count("coordination.assign") == 1
    # the assigned unit's contact is told once
    told = [
        m for m in bot.api.sent[since:] if m.chat_id != COORDINATOR and "协调事项" in m.plain_text
    ]
    assert len(told) <= 1


async def test_assign_to_a_unit_without_contact_says_so(bot: BotHarness) -> None:
    notice = await opened(bot, other=False)
    question = await ask(bot, notice, "指派单位", "请回复本消息")
    done = await answer_to(bot, COORDINATOR, question, "潼南税务局", "协调事项1已指派给潼南税务局")
    assert "尚无联络员" in done.plain_text
    assert (
        items(bot)[0].assigned_unit is not None
        if hasattr(CoordinationItem, "assigned_unit")
        else True
    )


async def test_assign_to_a_unit_with_markup_in_its_name(bot: BotHarness) -> None:
    with bot.svc.db.session() as s:
        unit = s.exec(select(Unit).where(Unit.name == "潼南税务局")).one()
        unit.name = "潼南<b>税务</b>&amp;局"
        s.add(unit)
        s.commit()
    notice = await opened(bot, other=False)
    await bot.register(OTHER, "潼南<b>税务</b>&amp;局")
    question = await ask(bot, notice, "指派单位", "请回复本消息")
    done = await answer_to(bot, COORDINATOR, question, "潼南<b>税务</b>&amp;局", "已指派给")
    assert "潼南<b>税务</b>&amp;局" in done.plain_text
    told = await bot.api.wait_for(lambda m: m.chat_id == OTHER and "协调事项" in m.plain_text)
    assert "需税务部门提供减免名单" in told.plain_text


async def test_a_leader_can_change_nothing_on_an_item(bot: BotHarness) -> None:
    bot.api.user(LEADER, "刘领导")
    notice = await opened(bot)
    question = await ask(bot, notice, "指派单位", "请回复本消息")
    for label in ("指派单位", "要求补充", "关闭事项"):
        calls = len(bot.api.calls)
        bot.api.click(LEADER, notice, label)
        await bot.api.wait_for_call(
            "answerCallbackQuery", lambda c: "仅限协调员" in str(c.params), since=calls
        )
    unit_label = question.buttons[0][0]
    calls = len(bot.api.calls)
    bot.api.click(LEADER, question, unit_label)
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "仅限协调员" in str(c.params), since=calls
    )
    await bot.api.wait_idle(quiet=0.3)
    [item] = items(bot)
    assert item.assigned_unit_id is None and item.status == "open"


async def test_a_removed_contact_replying_to_an_item_message_stores_nothing(
    bot: BotHarness,
) -> None:
    notice = await opened(bot)
    bot.api.click(COORDINATOR, notice, "要求补充")
    asked = await bot.api.wait_for(lambda m: m.chat_id == RAISING and "补充说明" in m.plain_text)
    bot.api.send_text(COORDINATOR, "/remove_contact 区民政局 李明")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR and "已移除" in m.plain_text)
    await bot.api.wait_idle()
    need = items(bot)[0].need
    since = len(bot.api.sent)
    bot.api.send_text(RAISING, "补充：名单在税务局", reply_to_message_id=asked.message_id)
    answer = await bot.api.wait_for(lambda m: m.chat_id == RAISING, since=since)
    assert "不再是" in answer.plain_text
    calls = len(bot.api.calls)
    bot.api.click(RAISING, asked, asked.buttons[0][0])
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "不再是" in str(c.params), since=calls
    )
    await bot.api.wait_idle(quiet=0.2)
    assert items(bot)[0].need == need
    assert not [
        m for m in bot.api.sent[since:] if m.chat_id == COORDINATOR and "补充" in m.plain_text
    ]


async def test_a_reassigned_units_old_message_no_longer_takes_notes(bot: BotHarness) -> None:
    bot.api.user(2003, "赵敏")
    notice = await opened(bot)
    await bot.register(2003, "区教委")
    question = await ask(bot, notice, "指派单位", "请回复本消息")
    await answer_to(bot, COORDINATOR, question, "潼南税务局", "已指派给潼南税务局")
    told = await bot.api.wait_for(lambda m: m.chat_id == OTHER and "协调事项" in m.plain_text)
    question = await ask(bot, notice, "指派单位", "请回复本消息")
    await answer_to(bot, COORDINATOR, question, "区教委", "已指派给区教委")
    answer = await answer_to(bot, OTHER, told, "我们已经办好了", "协调事项1")
    assert "不由贵单位" in answer.plain_text, answer.plain_text
    assert "我们已经办好了" not in items(bot)[0].need

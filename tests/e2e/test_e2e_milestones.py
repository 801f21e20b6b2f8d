"""End to end through the stand-in: a yearly milestone (年度目标) set by a coordinator, its
reminder and light, and the report that closes it.

The shipped plan's tasks are due 2025-12-31; the harness starts on Wednesday 2025-12-17
09:30. A milestone of task 10 (潼南税务局) due 2025-12-24 has its 7-days-before occasion on
2025-12-17, the same day as the deadline's 14-days-before one: the milestone's wins.
"""

from __future__ import annotations

from sqlmodel import select

from db.models import AuditEvent, Milestone, StatusReport
from jobs.types import Status
from standin.harness import COORDINATOR
from tests.conftest import BotHarness

B = 2002  # 潼南税务局, the lead unit of task 10


async def ask(bot: BotHarness, user: int, text: str) -> str:
    since = len(bot.api.sent)
    bot.api.send_text(user, text)
    message = await bot.api.wait_for(lambda m: m.chat_id == user, since=since)
    return message.plain_text


async def test_a_milestone_is_reminded_and_closed_by_a_report(bot: BotHarness) -> None:
    await bot.register(B, "潼南税务局")
    assert "用法：/milestone" in await ask(bot, COORDINATOR, "/milestone 10 2025-12-24")
    assert "应早于该任务的完成时限" in await ask(
        bot, COORDINATOR, "/milestone 10 2026-01-05 太晚的目标"
    )
    assert "没有第99项任务" in await ask(bot, COORDINATOR, "/milestone 99 2025-12-24 目标")
    await ask(bot, B, "/milestone 10 2025-12-24 联络员设的目标")  # coordinators only
    with bot.svc.db.session() as s:
        assert s.exec(select(Milestone)).all() == []
    added = await ask(bot, COORDINATOR, "/milestone 10 2025-12-24 完成年度减免税清单核对")
    assert "已为第10项任务设置年度目标" in added and "2025年12月24日前" in added
    view = await ask(bot, COORDINATOR, "/task 10")
    assert "🎯 年度目标（2025年12月24日前）：完成年度减免税清单核对（还有7天）" in view

    since = len(bot.api.sent)
    await bot.tick()
    reminder = await bot.api.wait_for(
        lambda m: m.chat_id == B and "第10项" in m.plain_text and bool(m.buttons), since=since
    )
    assert (
        "年度目标：完成年度减免税清单核对，2025年12月24日前完成（还有7天）" in reminder.plain_text
    )
    assert "完成时限：2025年12月31日（还有14天）" in reminder.plain_text
    labels = [label for label, _ in reminder.buttons]
    assert "完成年度目标：完成年度减免税清单核对" in labels

    reminder_data = dict(reminder.buttons)["完成年度目标：完成年度减免税清单核对"]
    bot.api.press_button(B, reminder.message_id, reminder_data)
    note = await bot.api.wait_for(lambda m: m.chat_id == B and "请用一两句话" in m.plain_text)
    assert "推进中（完成年度目标：完成年度减免税清单核对）" in note.plain_text
    bot.api.send_text(B, "清单已核对完毕。")
    evidence = await bot.api.wait_for(lambda m: m.chat_id == B and "佐证材料" in m.plain_text)
    bot.api.click(B, evidence, "跳过")
    confirm = await bot.api.wait_for(lambda m: m.chat_id == B and "请确认" in m.plain_text)
    bot.api.click(B, confirm, "确认提交")
    ack = await bot.api.wait_for(lambda m: m.chat_id == B and "已记录" in m.plain_text)
    assert "推进中（完成年度目标：完成年度减免税清单核对）" in ack.plain_text
    with bot.svc.db.session() as s:
        [report] = s.exec(select(StatusReport)).all()
        assert report.status == Status.IN_PROGRESS  # the task itself is not done
        [milestone] = s.exec(select(Milestone)).all()
        assert milestone.closed_by_report_id == report.id
        assert str(milestone.closed_on) == "2025-12-17"
        actions = [a.action for a in s.exec(select(AuditEvent)) if "milestone" in a.action]
        assert actions == ["milestone.add", "milestone.close"]
    view = await ask(bot, COORDINATOR, "/task 10")
    assert "✅ 年度目标（2025年12月24日前）：完成年度减免税清单核对（2025年12月17日已完成）" in view
    # a second press of the old button finds the milestone closed and stores nothing
    calls = len(bot.api.calls)
    bot.api.press_button(B, reminder.message_id, reminder_data)
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "已完成或已更改" in str(c.params), since=calls
    )
    with bot.svc.db.session() as s:
        assert len(s.exec(select(StatusReport)).all()) == 1

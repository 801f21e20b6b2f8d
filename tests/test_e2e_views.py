"""End to end through the stand-in: /task, /unit, /deadline, and lights in the views."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from db.models import AuditEvent, Delivery, Task
from jobs.types import DeliveryKind
from standin.harness import COORDINATOR
from tests.conftest import STRANGER, BotHarness


async def ask(bot: BotHarness, user: int, text: str) -> str:
    since = len(bot.api.sent)
    bot.api.send_text(user, text)
    await bot.api.wait_for(lambda m: m.chat_id == user, since=since)
    await bot.api.wait_idle(quiet=0.1)
    return "\n".join(m.plain_text for m in bot.api.sent[since:] if m.chat_id == user)


async def test_task_shows_units_lights_deadline_and_history(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.tick()
    reminder = await bot.api.wait_for(
        lambda m: m.chat_id == 2001 and "第 8 项" in m.plain_text and bool(m.buttons)
    )
    bot.api.send_text(2001, "已制定应急预案", reply_to_message_id=reminder.message_id)
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "进展说明" in m.plain_text)
    text = await ask(bot, COORDINATOR, "/task 8")
    assert "第 8 项 🟡" in text
    assert "加强突发公共事件中对残疾人的保护。" in text
    assert "区民政局（🟡未开始）" in text and "区应急管理局（🟡未开始）" in text
    assert "责任单位：区残联、各镇街" in text
    assert "完成时限：2025年12月31日（还有 14 天）" in text
    assert "2025-12-17 09:30｜区民政局｜留言｜李明：已制定应急预案" in text
    # the contact of a lead unit may look, a contact of another unit and strangers may not
    assert "第 8 项" in await ask(bot, 2001, "/task 8")
    await bot.register(2002, "潼南税务局")
    assert "不由贵单位牵头" in await ask(bot, 2002, "/task 8")
    assert "还不是任何单位的联络员" in await ask(bot, STRANGER, "/task 8")
    assert "没有找到第 99 项" in await ask(bot, COORDINATOR, "/task 99")
    assert "用法" in await ask(bot, COORDINATOR, "/task abc")


async def test_unit_lists_its_tasks_with_lights(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    text = await ask(bot, COORDINATOR, "/unit 区民政局")
    assert "联络员：李明" in text
    assert "牵头任务（4 项）" in text
    assert "🟡 第 2 项" in text and "🟡 第 25 项" in text
    # a contact sees its own unit without naming it, and not another unit
    assert "牵头任务（4 项）" in await ask(bot, 2001, "/unit")
    assert "仅限协调员" in await ask(bot, 2001, "/unit 区残联")
    assert "区民政局" in await ask(bot, COORDINATOR, "/unit 民政")  # did you mean


async def test_deadline_change_is_audited_and_moves_the_reminders(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    assert "仅限协调员" in await ask(bot, 2002, "/deadline 10 2026-06-30")
    assert "格式" in await ask(bot, COORDINATOR, "/deadline 10 明年")
    assert "用法" in await ask(bot, COORDINATOR, "/deadline 10")
    text = await ask(bot, COORDINATOR, "/deadline 10 2026-01-14")
    assert "由 2025年12月31日 改为 2026年1月14日" in text
    with bot.svc.db.session() as s:
        task = s.exec(select(Task).where(Task.number == 10)).one()
        assert task.deadline.isoformat() == "2026-01-14" and task.deadline_by_coordinator
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "task.deadline")).one()
        assert (event.actor_user_id, event.before, event.after) == (
            COORDINATOR,
            "2025-12-31",
            "2026-01-14",
        )
    # 2025-12-17 is now 28 days before the deadline: no reminder yet; 14 days before: one
    await bot.tick()
    await bot.api.wait_idle()
    assert not [m for m in bot.api.messages_to(2002) if "完成时限" in m.plain_text]
    bot.clock.advance(timedelta(days=14))  # 2025-12-31, 14 days before 2026-01-14
    await bot.tick()
    await bot.api.wait_idle()
    [reminder] = [m for m in bot.api.messages_to(2002) if "完成时限" in m.plain_text]
    assert "2026年1月14日（还有 14 天）" in reminder.plain_text
    with bot.svc.db.session() as s:
        [row] = s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.REMINDER)).all()
        assert row.key.endswith(":before:2025-12-31")  # 14 days before the new deadline
    # a reload of the task file keeps the coordinator's deadline
    await bot.restart()
    with bot.svc.db.session() as s:
        task = s.exec(select(Task).where(Task.number == 10)).one()
        assert task.deadline.isoformat() == "2026-01-14"


async def test_overdue_lead_units_are_escalated_to_the_coordinators_once(
    bot: BotHarness,
) -> None:
    await bot.register(2002, "潼南税务局")
    # 2026-01-08 (Thursday): 5 working days after 2025-12-31 (01-01 and 01-02 are holidays,
    # Sunday 01-04 is a 调休 working day): not yet more than 5
    bot.clock.set(bot.clock.now.replace(year=2026, month=1, day=8))
    since = len(bot.api.sent)
    await bot.tick()
    await bot.api.wait_idle()
    assert not [m for m in bot.api.sent[since:] if "督办提醒" in m.plain_text]
    bot.clock.advance(timedelta(days=1))  # 2026-01-09: the 6th working day after
    await bot.tick()
    await bot.api.wait_idle()
    [notice] = [m for m in bot.api.sent[since:] if "督办提醒" in m.plain_text]
    assert notice.chat_id == COORDINATOR
    assert "共 46 项" in notice.plain_text  # every (task, lead unit) pair of the plan
    assert "第 10 项" in notice.plain_text and "联络员：张华" in notice.plain_text
    assert "联络员：暂无联络员" in notice.plain_text
    bot.clock.advance(timedelta(hours=2))
    await bot.tick()
    await bot.api.wait_idle()
    assert len([m for m in bot.api.sent[since:] if "督办提醒" in m.plain_text]) == 1

"""End to end through the stand-in: /task, /unit, /deadline, and lights in the views."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from db.models import AuditEvent, Delivery, Task
from standin.harness import COORDINATOR
from tests.conftest import STRANGER, BotHarness, reply_to_daily


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
        lambda m: m.chat_id == 2001 and "第8项" in m.plain_text and bool(m.buttons)
    )
    await reply_to_daily(bot, 2001, reminder, "已制定应急预案", 8)
    text = await ask(bot, COORDINATOR, "/task 8")
    assert "第8项 🟡" in text
    assert "加强突发公共事件中对残疾人的保护。" in text
    # 区民政局 replied in this cycle (green), the other lead units are due soon (yellow)
    assert "区民政局（🟢已留言）" in text and "区应急管理局（🟡未开始）" in text
    assert "责任单位：区残联、各镇街" in text
    assert "完成时限：2025年12月31日（还有14天）" in text
    assert "2025年12月17日 9:30｜区民政局｜留言｜李明：已制定应急预案" in text
    # the contact of a lead unit may look, a contact of another unit and strangers may not
    assert "第8项" in await ask(bot, 2001, "/task 8")
    await bot.register(2002, "潼南税务局")
    refusal = await ask(bot, 2002, "/task 8")
    assert "第8项不由潼南税务局牵头" in refusal and "发送 /unit 查看本单位的任务" in refusal
    assert "还不是任何单位的联络员" in await ask(bot, STRANGER, "/task 8")
    assert "没有找到第99项" in await ask(bot, COORDINATOR, "/task 99")
    assert "用法" in await ask(bot, COORDINATOR, "/task abc")


async def test_unit_lists_its_tasks_with_lights(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    text = await ask(bot, COORDINATOR, "/unit 区民政局")
    assert "联络员：李明" in text
    assert "牵头任务（4项）" in text
    assert "🟡 第2项" in text and "🟡 第25项" in text
    # a contact sees its own unit without naming it, and not another unit
    assert "牵头任务（4项）" in await ask(bot, 2001, "/unit")
    assert "联络员只能查看本单位的任务。发送 /unit 查看区民政局的任务。" in await ask(
        bot, 2001, "/unit 区残联"
    )
    assert "区民政局" in await ask(bot, COORDINATOR, "/unit 民政")  # did you mean


async def test_deadline_change_is_audited_and_moves_the_reminders(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    assert "仅限协调员" in await ask(bot, 2002, "/deadline 10 2026-06-30")
    assert "无法识别日期“明年”" in await ask(bot, COORDINATOR, "/deadline 10 明年")
    assert "不能早于今天" in await ask(bot, COORDINATOR, "/deadline 10 2025-12-16")
    assert "用法" in await ask(bot, COORDINATOR, "/deadline 10")
    text = await ask(bot, COORDINATOR, "/deadline 10 2026-01-14")
    assert "由2025年12月31日改为2026年1月14日" in text
    assert "已通知1位联络员" in text
    notice = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "完成时限调整" in m.plain_text
    )  # sent right after the answer: waited for, not assumed
    assert "第10项：2025年12月31日 → 2026年1月14日" in notice.plain_text
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
    assert not [m for m in bot.api.messages_to(2002) if "还有" in m.plain_text]
    bot.clock.advance(timedelta(days=14))  # 2025-12-31, 14 days before 2026-01-14
    await bot.tick()
    await bot.api.wait_idle()
    [reminder] = [m for m in bot.api.messages_to(2002) if "还有" in m.plain_text]
    assert "2026年1月14日（还有14天）" in reminder.plain_text
    with bot.svc.db.session() as s:
        [row] = s.exec(select(Delivery).where(col(Delivery.key).startswith("reminder:"))).all()
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
    assert "共46项" in notice.plain_text  # every (task, lead unit) pair of the plan
    # grouped by unit: 潼南税务局 with its contact and task; the units without a contact
    # on one line, each named once, not one escalation each
    lines = notice.plain_text.splitlines()
    at = lines.index("潼南税务局｜联络员：张华")
    assert lines[at + 1].startswith("· 第10项 ")
    [without] = [line for line in lines if line.startswith("未登记联络员：")]
    assert "区财政局（第10项）" in without and "区民政局（第2、5、8、25项）" in without
    assert without.count("区残联（") == 1
    assert "暂无联络员" not in notice.plain_text
    assert len(lines) < 10  # not 46 lines
    bot.clock.advance(timedelta(hours=2))
    await bot.tick()
    await bot.api.wait_idle()
    assert len([m for m in bot.api.sent[since:] if "督办提醒" in m.plain_text]) == 1

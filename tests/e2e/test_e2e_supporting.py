"""End to end through the stand-in: responsible units (协办), member towns of 各镇街, the
town roll-up in the digest, and the reporting-cycle nudge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from db import repo
from db.models import Delivery, StatusReport
from jobs.types import DeliveryKind
from standin.harness import COORDINATOR
from tests.conftest import BotHarness, reminded_tasks

TOWNS = ["梓潼街道", "桂林街道", "大佛街道"]


@pytest.fixture
def bot_settings_overrides() -> dict[str, Any]:
    return {
        "schedule": {"tick_seconds": 3600},
        "collective_units": {"各镇街": TOWNS},
        "follow_up": {"remind_responsible_units": True, "nudge_after_days": 0},
    }


def task_lines(message: Any) -> dict[int, str]:
    """The task lines of a message of the day by task number."""
    found = {}
    for line in message.plain_text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) > 1 and parts[1].startswith("第") and parts[1].endswith("项"):
            found[int(parts[1][1:-1])] = line
    return found


async def test_towns_are_units_that_report_and_are_rolled_up(bot: BotHarness) -> None:
    with bot.svc.db.session() as s:
        parent = repo.get_unit_by_name(s, name="各镇街")
        town = repo.get_unit_by_name(s, name="梓潼街道")
        assert parent is not None and town is not None and town.parent_id == parent.id
    await bot.register(2003, "梓潼街道")
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    await bot.api.wait_idle()
    # with remind_responsible_units, the town gets the reminders of 各镇街's tasks as 协办
    # (all in one message of the day, each task on its line, marked 协办)
    [town_daily] = [m for m in bot.api.messages_to(2003) if "完成时限" in m.plain_text]
    numbers = reminded_tasks(town_daily)
    assert numbers == [5, 8, 9, 12, 13, 23, 24, 25, 26, 27, 30]  # 各镇街 is 责任单位 there
    assert all("（协办）｜完成时限" in line for line in task_lines(town_daily).values())
    # 潼南税务局 leads 10 and supports 9: both tasks in its one message; 9 marked 协办
    [tax] = [m for m in bot.api.messages_to(2002) if "完成时限" in m.plain_text]
    assert reminded_tasks(tax) == [9, 10]
    lines = task_lines(tax)
    assert "（协办）" in lines[9] and "（协办）" not in lines[10]
    # the town reports 推进中 on task 9 through its button on the message of the day
    since = len(bot.api.sent)
    bot.api.click(
        2003, town_daily, next(label for label, _ in town_daily.buttons if "第9项" in label)
    )
    ninth = await bot.api.wait_for(
        lambda m: m.chat_id == 2003 and "请选择当前进展" in m.plain_text, since=since
    )
    bot.api.click(2003, ninth, "推进中")
    await bot.api.wait_for(lambda m: m.chat_id == 2003 and "请用一两句话" in m.plain_text)
    bot.api.send_text(2003, "已摸底辖区用人单位")
    ask = await bot.api.wait_for(
        lambda m: m.chat_id == 2003 and "跳过" in str(m.buttons), since=since
    )
    bot.api.click(2003, ask, "跳过")
    card = await bot.api.wait_for(
        lambda m: m.chat_id == 2003 and "请确认" in m.plain_text, since=since
    )
    bot.api.click(2003, card, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == 2003 and "已记录" in m.plain_text, since=since)
    with bot.svc.db.session() as s:
        [report] = s.exec(select(StatusReport)).all()
        assert report.unit_id == town.id
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/task 9")
    view = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert "协办反馈：梓潼街道（推进中）" in view.plain_text
    # but a town may not ask to move a deadline: only lead units may, so the status choice
    # offers no 申请延期, and a forged press of one is refused
    assert "申请延期" not in [label for label, _ in ninth.buttons]
    task9 = ninth.data_for("推进中").split(":")[1]
    calls = len(bot.api.calls)
    bot.api.press_button(2003, ninth.message_id, f"x2:{task9}")
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "牵头单位可以申请延期" in str(c.params), since=calls
    )
    # the digest rolls the towns up: 1 of 3 reported on task 9
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/digest")
    digest = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "镇街反馈" in m.plain_text, since=since
    )
    # one line per task a town reported on, naming it; one line for the tasks none did
    assert "· 第9项 各镇街：梓潼街道已反馈（1/3）" in digest.plain_text
    assert "· 第5、8、12、13、23-27、30项 各镇街：尚无镇街反馈" in digest.plain_text
    assert "/3个镇街" not in digest.plain_text and "0/3" not in digest.plain_text
    assert "· 第9项 梓潼街道：未开始→推进中" in digest.plain_text


async def test_units_silent_in_the_cycle_are_nudged_once(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.register(2002, "潼南税务局")
    await bot.restart(
        schedule={"tick_seconds": 3600}, follow_up={"nudge_after_days": 7, "cycle_day": 25}
    )
    # the contacts registered 2025-12-17; the cycle from 2025-12-25 nudges on 2026-01-01,
    # a holiday, so on the next working day, 2026-01-04 (a 调休 Sunday)
    bot.clock.set(bot.clock.now.replace(year=2025, month=12, day=26))
    with bot.svc.db.session() as s:
        unit = repo.get_unit_by_name(s, name="区民政局")
        task = repo.get_task(s, number=2)
        assert unit is not None and task is not None
        repo.add_report(
            s,
            task_id=task.id or 0,
            unit_id=unit.id or 0,
            contact_id=None,
            reporter_user_id=2001,
            status=None,
            note="12月进展",
            now=bot.clock.now,
        )
    since = len(bot.api.sent)
    bot.clock.set(bot.clock.now.replace(year=2025, month=12, day=31))
    await bot.tick()
    await bot.api.wait_idle()
    assert not [m for m in bot.api.sent[since:] if "进展反馈提醒" in m.plain_text]
    bot.clock.set(bot.clock.now.replace(year=2026, month=1, day=4))
    await bot.tick()
    await bot.tick()
    await bot.api.wait_idle()
    nudges = [m for m in bot.api.sent[since:] if "进展反馈提醒" in m.plain_text]
    assert sorted(m.chat_id for m in nudges) == [2001, 2002]
    mine = next(m for m in nudges if m.chat_id == 2001)
    assert "区民政局牵头的第5、8、25项任务" in mine.plain_text  # task 2 was reported
    assert "2025年12月25日" in mine.plain_text
    with bot.svc.db.session() as s:
        events = s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.NUDGE)).all()
        assert len([e for e in events if e.key.startswith("nudge:")]) == 2
    bot.clock.advance(timedelta(days=1))
    await bot.tick()
    await bot.api.wait_idle()
    assert len([m for m in bot.api.sent[since:] if "进展反馈提醒" in m.plain_text]) == 2

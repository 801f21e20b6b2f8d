"""End to end through the stand-in: a scripted first week with the shipped plan (issue 12).

The bot starts for the first time on Friday 2026-12-04 (the plan's period ended on
2025-12-31, so its follow-up is held) with a coordinator, the committee group and contacts
of three units, one of them 区残联 (19 tasks). The coordinator lets the held reminders go out
(发送积压提醒); the tick runs several times a day until Friday 2026-12-11. Every message the
bot sends on its own (during a tick) is counted per chat and day: a person gets at most one
a working day, none at the weekend, apart from the notice of the held follow-up (which the
coordinator needs at once).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from db import repo
from standin.harness import COORDINATOR, GROUP, MutableClock
from tests.conftest import FIRST_DAY_CONTACTS, BotHarness, reminded_tasks, report_in_progress

FRIDAY = date(2026, 12, 4)
CONTACTS = FIRST_DAY_CONTACTS
TICK_HOURS = ((8, 0), (9, 30), (11, 0), (14, 0), (17, 0), (20, 30), (22, 0))
HOLD_NOTICE = "逾期提醒已暂停"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """`day` at hour:minute in Asia/Shanghai (UTC+8), as an aware UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock(local(FRIDAY, 7))


async def tick_at(bot: BotHarness, when: datetime, log: list[tuple[date, Any]]) -> None:
    """Tick at `when`; log what the bot sent on its own meanwhile, by local day."""
    bot.clock.set(when)
    since = len(bot.api.sent)
    await bot.tick()
    await bot.api.wait_idle(quiet=0.05)
    day = (when + timedelta(hours=8)).date()
    log.extend((day, m) for m in bot.api.sent[since:] if not m.is_edit)


def led_tasks(bot: BotHarness, unit: str) -> list[int]:
    with bot.svc.db.session() as s:
        found = repo.get_unit_by_name(s, name=unit)
        assert found is not None and found.id is not None
        return sorted(t.number for t in repo.tasks_led_by(s, unit_id=found.id))


async def test_a_week_brings_each_person_at_most_one_message_a_working_day(
    first_day: BotHarness,
) -> None:
    bot = first_day
    log: list[tuple[date, Any]] = []
    day = FRIDAY
    while day <= FRIDAY + timedelta(days=7):
        for hour, minute in TICK_HOURS:
            await tick_at(bot, local(day, hour, minute), log)
            if (day, hour) == (FRIDAY, 9):
                # the coordinator lets the held reminders go out (an answer, not counted)
                [notice] = [
                    m for m in bot.api.messages_to(COORDINATOR) if HOLD_NOTICE in m.plain_text
                ]
                since = len(bot.api.sent)
                bot.api.click(COORDINATOR, notice, "发送积压提醒")
                await bot.api.wait_for(
                    lambda m: m.chat_id == COORDINATOR and "已恢复督办" in m.plain_text,
                    since=since,
                )
                await bot.api.wait_idle(quiet=0.05)
            if (day, hour) == (FRIDAY, 11):
                # 潼南税务局 reports task 10 from its reminder (answers, not counted)
                [reminder] = [
                    m
                    for d, m in log
                    if m.chat_id == 2002 and d == day and "完成时限" in m.plain_text
                ]
                await report_in_progress(bot, 2002, reminder, "已与区财政局对接")
        day += timedelta(days=1)

    counted = Counter((m.chat_id, d) for d, m in log if HOLD_NOTICE not in m.plain_text)
    per_chat = {
        chat: [counted[(chat, FRIDAY + timedelta(days=i))] for i in range(8)]
        for chat in (COORDINATOR, GROUP, *CONTACTS)
    }
    #            Fri Sat Sun Mon Tue Wed Thu Fri
    assert per_chat == {
        # a calendar warning (2027 lacks its 调休 data) on Friday; the escalations, held
        # until the decision, wait for Monday, grouped in one message
        COORDINATOR: [1, 0, 0, 1, 0, 0, 0, 0],
        GROUP: [0, 0, 0, 1, 0, 0, 0, 0],  # the weekly digest, Monday 09:00
        # the held overdue reminders on Friday after the decision, one message each; the
        # next overdue occasion (2026-12-09) on Wednesday, except for 潼南税务局, which
        # reported on Friday (no nudge: they registered after the cycle's nudge day)
        2001: [1, 0, 0, 0, 0, 1, 0, 0],
        2002: [1, 0, 0, 0, 0, 0, 0, 0],
        2003: [1, 0, 0, 0, 0, 1, 0, 0],
    }
    # the notice of the held follow-up: once, at the start (the only one at once)
    notices = [m for m in bot.api.messages_to(COORDINATOR) if HOLD_NOTICE in m.plain_text]
    assert len([m for m in notices if not m.is_edit]) == 1

    monday = FRIDAY + timedelta(days=3)
    for chat, unit in CONTACTS.items():
        [held] = [m for d, m in log if m.chat_id == chat and d == FRIDAY]
        assert reminded_tasks(held) == led_tasks(bot, unit)  # each held reminder, once
        assert "逾期" in held.plain_text
    [escalation] = [m for d, m in log if m.chat_id == COORDINATOR and d == monday]
    assert "逾期已超过5个工作日" in escalation.plain_text
    assert "未登记联络员：" in escalation.plain_text
    assert len(escalation.plain_text.splitlines()) < 40
    [wednesday] = [m for d, m in log if m.chat_id == 2003 and d == monday + timedelta(days=2)]
    assert reminded_tasks(wednesday) == led_tasks(bot, "区残联")
    assert "已逾期343天" in wednesday.plain_text

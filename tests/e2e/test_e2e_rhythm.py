"""End to end through the stand-in: a plan's quarterly reporting rhythm (报送频次).

The coordinator sets 十四五 to quarterly from day 25 (/rhythm 十四五 季度 25): its periods
start 2026-01-25, 2026-04-25, ...; with `nudge_after_days` 7 each period's nudge is due a
week after its start (2026-02-01, a Sunday: sent on Monday 2026-02-02; 2026-05-02, in the
Labour Day holiday: sent on Wednesday 2026-05-06). The configured monthly cycle would nudge
again on 2026-03-04; the quarterly rhythm does not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from db import repo
from db.models import AuditEvent, Contact, Delivery
from jobs.types import DeliveryKind, Rhythm
from standin.harness import COORDINATOR
from tests.conftest import BotHarness

SHANGHAI = ZoneInfo("Asia/Shanghai")
NUDGE = "进展反馈提醒"
A, B = 2001, 2002  # 区民政局 (tasks 2, 5, 8, 25), 潼南税务局 (task 10)


@pytest.fixture
def bot_settings_overrides() -> dict[str, Any]:
    return {
        "schedule": {"tick_seconds": 3600},
        "follow_up": {"nudge_after_days": 7, "cycle_day": 25},
    }


def on(bot: BotHarness, year: int, month: int, day: int) -> None:
    bot.clock.set(datetime(year, month, day, 10, tzinfo=SHANGHAI))


async def tick(bot: BotHarness) -> None:
    await bot.tick()
    await bot.tick()
    await bot.api.wait_idle()


def nudged(bot: BotHarness, since: int) -> list[int]:
    return sorted(m.chat_id for m in bot.api.sent[since:] if NUDGE in m.plain_text)


def nudge_keys(bot: BotHarness) -> list[str]:
    with bot.svc.db.session() as s:
        rows = s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.NUDGE)).all()
        return sorted(r.key for r in rows if r.key.startswith("nudge:"))


async def test_a_quarterly_rhythm_nudges_once_per_quarter_and_not_who_reported(
    bot: BotHarness,
) -> None:
    await bot.register(A, "区民政局")
    await bot.register(B, "潼南税务局")
    bot.decide_backlog()  # the plan's period has ended: a coordinator let the follow-up run
    await bot.restart(
        schedule={"tick_seconds": 3600}, follow_up={"nudge_after_days": 7, "cycle_day": 25}
    )
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/rhythm 十四五 季度 25")
    answer = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert "已设置报送频次" in answer.plain_text
    assert "每季度25日起一期" in answer.plain_text
    with bot.svc.db.session() as s:
        [plan] = [p for p in repo.read_plans(s) if p.short_name == "十四五"]
        assert (plan.rhythm, plan.rhythm_day) == (Rhythm.QUARTERLY, 25)
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "plan.rhythm")).all()
        assert [(a.before, a.after, a.actor_user_id) for a in audit] == [
            ("", "quarterly:25", COORDINATOR)
        ]

    start = len(bot.api.sent)
    on(bot, 2026, 1, 30)  # Friday: the quarter from 2026-01-25 nudges from 2026-02-01
    await tick(bot)
    assert nudged(bot, start) == []
    on(bot, 2026, 2, 2)  # Monday: each contact gets its quarter's nudge, once
    await tick(bot)
    assert nudged(bot, start) == [A, B]
    [first] = [m for m in bot.api.sent[start:] if NUDGE in m.plain_text and m.chat_id == A]
    assert "自2026年1月25日以来尚未反馈进展" in first.plain_text
    assert "区民政局牵头的第2、5、8、25项任务" in first.plain_text
    on(bot, 2026, 2, 3)
    await tick(bot)
    on(bot, 2026, 3, 5)  # the monthly cycle from 2026-02-25 would nudge again: not a quarter
    await tick(bot)
    assert nudged(bot, start) == [A, B]
    assert nudge_keys(bot) == [f"nudge:{c}:2026-01-25" for c in sorted(contact_ids(bot).values())]

    # 区民政局 reports on each of its tasks in the next quarter (from 2026-04-25)
    on(bot, 2026, 4, 28)
    with bot.svc.db.session() as s:
        unit = repo.get_unit_by_name(s, name="区民政局")
        assert unit is not None
        for number in (2, 5, 8, 25):
            task = repo.get_task(s, number=number)
            assert task is not None
            repo.add_report(
                s,
                task_id=task.id or 0,
                unit_id=unit.id or 0,
                contact_id=None,
                reporter_user_id=A,
                status=None,
                note="二季度进展",
                now=bot.clock.now,
            )
    second = len(bot.api.sent)
    on(bot, 2026, 5, 6)  # the first working day after the nudge day 2026-05-02
    await tick(bot)
    on(bot, 2026, 5, 7)
    await tick(bot)
    assert nudged(bot, second) == [B]  # 区民政局 reported in the quarter: no nudge
    ids = contact_ids(bot)
    assert nudge_keys(bot) == sorted(
        [
            f"nudge:{ids[A]}:2026-01-25",
            f"nudge:{ids[B]}:2026-01-25",
            f"nudge:{ids[B]}:2026-04-25",
        ]
    )


def contact_ids(bot: BotHarness) -> dict[int, int]:
    """Contact id by Telegram user id."""
    with bot.svc.db.session() as s:
        return {c.telegram_user_id: c.id or 0 for c in s.exec(select(Contact))}

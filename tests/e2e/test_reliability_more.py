"""More reliability: invite guessing is slowed down, status saves during a fan-out never hit
"database is locked", the calendar warns the coordinators once about a year it lacks."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from db import repo
from db.models import Contact, Delivery, StatusReport
from jobs.types import DeliveryKind, DeliveryOutcome
from standin.harness import COORDINATOR
from tests.conftest import STRANGER, BotHarness

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_repeated_wrong_invite_codes_are_locked_out_and_logged(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    code = await bot.invite_code("区民政局")
    for i in range(5):
        since = len(bot.api.sent)
        bot.api.send_text(STRANGER, f"/start guess{i}")
        answer = await bot.api.wait_for(lambda m: m.chat_id == STRANGER, since=since)
        assert "无效" in answer.plain_text
    # the sixth try is refused without even looking, even with the right code
    since = len(bot.api.sent)
    bot.api.send_text(STRANGER, f"/start {code}")
    answer = await bot.api.wait_for(lambda m: m.chat_id == STRANGER, since=since)
    assert "错误次数过多" in answer.plain_text
    with bot.svc.db.session() as s:
        assert s.exec(select(Contact)).all() == []
    refusals = [
        r.getMessage() for r in caplog.records if "invite redemption refused" in r.getMessage()
    ]
    assert len(refusals) == 6 and "too_many_attempts" in refusals[-1]
    # an hour later the code works
    bot.clock.advance(timedelta(hours=1, minutes=1))
    since = len(bot.api.sent)
    bot.api.send_text(STRANGER, f"/start {code}")
    assert (
        "登记成功"
        in (await bot.api.wait_for(lambda m: m.chat_id == STRANGER, since=since)).plain_text
    )


@pytest.fixture
def bot_settings_overrides() -> dict[str, Any]:
    return {"schedule": {"tick_seconds": 3600}, "telegram": {"chat_messages_per_second": 50.0}}


async def test_status_saves_during_a_fan_out_never_lock_the_database(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with bot.svc.db.session() as s:
        unit = repo.get_unit_by_name(s, name="潼南税务局")
        task = repo.get_task(s, number=10)
        assert unit is not None and task is not None
        for i in range(60):
            bot.api.user(600_000 + i, f"联络员{i}")
            s.add(
                Contact(
                    telegram_user_id=600_000 + i,
                    chat_id=600_000 + i,
                    unit_id=unit.id or 0,
                    display_name=f"联络员{i}",
                    created_at=bot.clock.now,
                )
            )
    bot.api.delay_next("sendMessage", 0.02, count=60)  # each send takes a little while

    def save_reports() -> int:
        for i in range(60):  # written from another thread, as a second process would
            with bot.svc.db.session() as s:
                repo.add_report(
                    s,
                    task_id=task.id or 0,
                    unit_id=unit.id or 0,
                    contact_id=None,
                    reporter_user_id=COORDINATOR,
                    status=None,
                    note=f"进展{i}",
                    now=bot.clock.now,
                )
        return 60

    saved, _ = await asyncio.gather(asyncio.to_thread(save_reports), bot.tick())
    await bot.api.wait_idle()
    assert saved == 60
    with bot.svc.db.session() as s:
        assert len(s.exec(select(StatusReport)).all()) == 60
        rows = s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.REMINDER)).all()
        tasks = [r for r in rows if r.key.startswith("reminder:")]
        assert len(tasks) == 60 and len(rows) == 120  # each with its message of the day
        assert {r.outcome for r in rows} == {DeliveryOutcome.SENT}
    assert not [r for r in caplog.records if "locked" in r.getMessage().lower()]


async def test_a_year_without_holiday_data_is_announced_to_the_coordinators_once(
    bot: BotHarness,
) -> None:
    # 2026-12-15: the tick looks 30 days ahead, into 2027, whose 调休 arrangement holidays
    # 0.108 lacks
    bot.clock.set(bot.clock.now.replace(year=2026, month=12, day=15))
    since = len(bot.api.sent)
    await bot.tick()
    await bot.tick()
    bot.clock.advance(timedelta(days=1))
    await bot.tick()
    await bot.api.wait_idle()
    warnings = [m for m in bot.api.sent[since:] if "2027年" in m.plain_text]
    assert len(warnings) == 1 and warnings[0].chat_id == COORDINATOR
    # only the 调休 arrangement is missing: the statutory holidays still hold
    assert "2027年的放假调休安排尚未录入本助手" in warnings[0].plain_text
    assert "法定节假日照常不发提醒" in warnings[0].plain_text
    # in the coordinator's words: no package or configuration key to pass on
    for word in ("holidays", "extra_workdays", "[calendar]", "软件包"):
        assert word not in warnings[0].plain_text
    assert "周一至周五" not in warnings[0].plain_text
    # and after a restart it is not repeated (remembered in the audit trail)
    await bot.restart()
    await bot.tick()
    await bot.api.wait_idle()
    assert len([m for m in bot.api.sent[since:] if "2027年" in m.plain_text]) == 1


async def test_the_calendar_warning_waits_for_a_working_day_in_sending_hours(
    bot: BotHarness,
) -> None:
    # a bot first started on Saturday night (UTC), early Sunday in Beijing: the warning,
    # a coordinators' message of the day, waits for a working day from 09:00
    sunday_6am = datetime(2026, 12, 6, 6, 4, tzinfo=SHANGHAI).astimezone(UTC)
    bot.clock.set(sunday_6am)
    since = len(bot.api.sent)
    await bot.tick()
    bot.clock.set(sunday_6am + timedelta(days=1))  # Monday 06:04
    await bot.tick()
    await bot.api.wait_idle()
    assert [m for m in bot.api.sent[since:] if "2027年" in m.plain_text] == []
    monday_9am = datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)
    bot.clock.set(monday_9am)
    await bot.tick()  # Monday's message is the escalations: the warning waits for Tuesday
    bot.clock.set(monday_9am + timedelta(days=1))
    await bot.tick()
    await bot.api.wait_idle()
    warnings = [m for m in bot.api.sent[since:] if "2027年" in m.plain_text]
    assert len(warnings) == 1 and warnings[0].chat_id == COORDINATOR


async def test_the_calendar_warning_waits_for_a_coordinator(bot: BotHarness) -> None:
    # README step 5: the bot first runs with no coordinator configured
    await bot.restart(telegram={"coordinators": []})
    bot.clock.set(bot.clock.now.replace(year=2026, month=12, day=15))
    since = len(bot.api.sent)
    await bot.tick()
    await bot.api.wait_idle()
    assert [m for m in bot.api.sent[since:] if "2027年" in m.plain_text] == []
    # the coordinator's id is put in the config and the bot restarted: now it is told
    await bot.restart(telegram={"coordinators": [COORDINATOR]})
    await bot.tick()
    await bot.api.wait_idle()
    warnings = [m for m in bot.api.sent[since:] if "2027年" in m.plain_text]
    assert len(warnings) == 1 and warnings[0].chat_id == COORDINATOR

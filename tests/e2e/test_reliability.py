"""Reliability through fault injection in the stand-in: 429, 5xx, timeouts, blocked users,
chat migration, flood limits, and the delivery ledger's guarantees."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from db import repo
from db.models import ChatMigration, Contact, Delivery
from jobs.types import DeliveryKind, DeliveryOutcome
from standin.harness import COORDINATOR, GROUP
from tests.conftest import BotHarness, reminded_tasks

TAX_TASK = 10  # the only task led by 潼南税务局


def reminders_to(bot: BotHarness, chat_id: int) -> list[Any]:
    return [m for m in bot.api.messages_to(chat_id) if "完成时限" in m.plain_text]


def ledger(bot: BotHarness, kind: DeliveryKind = DeliveryKind.REMINDER) -> list[Delivery]:
    """The send ledger's rows of one kind (reminders by default), oldest first, without the
    rows of the contacts' messages of the day ("daily:"; see `days`)."""
    with bot.svc.db.session() as s:
        stmt = select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id)
        return [r for r in s.exec(stmt).all() if not r.key.startswith("daily:")]


def days(bot: BotHarness) -> list[Delivery]:
    """The send ledger's rows of the contacts' messages of the day, oldest first."""
    with bot.svc.db.session() as s:
        stmt = select(Delivery).where(col(Delivery.key).startswith("daily:"))
        return list(s.exec(stmt.order_by(Delivery.id)).all())


async def test_429_retry_after_waits_then_delivers(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    bot.api.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        chat_id=2002,
    )
    await bot.tick()
    await bot.api.wait_idle()
    calls = [c for c in bot.api.calls if c.method == "sendMessage" and c.chat_id == 2002]
    assert calls[-2].status == 429 and calls[-1].status == 200
    assert calls[-1].time - calls[-2].time >= 1.0  # waited at least retry_after
    assert len(reminders_to(bot, 2002)) == 1
    assert [r.outcome for r in ledger(bot)] == [DeliveryOutcome.SENT]


async def test_server_errors_are_retried_with_backoff_and_nothing_is_lost(
    bot: BotHarness,
) -> None:
    await bot.register(2001, "区民政局")
    bot.api.fail_next(
        "sendMessage", error_code=502, description="Bad Gateway", count=100, chat_id=2001
    )
    await bot.tick()  # every send answers 502: nothing delivered, all marked for retry
    await bot.api.wait_idle()
    assert reminders_to(bot, 2001) == []
    rows = ledger(bot) + days(bot)  # the four reminders and their message of the day
    assert len(rows) == 5 and {r.outcome for r in rows} == {DeliveryOutcome.RETRY}
    assert {r.next_attempt_at for r in rows} == {bot.clock.now + timedelta(seconds=30)}
    await bot.tick()  # too early: the backoff has not passed, nothing is tried
    tries = [
        c
        for c in bot.api.calls
        if c.method == "sendMessage" and c.chat_id == 2001 and "完成时限" in c.params["text"]
    ]
    assert len(tries) == 1  # one message for the four tasks
    bot.api.clear_faults()  # the API is back
    bot.clock.advance(timedelta(seconds=31))
    await bot.tick()
    await bot.api.wait_idle()
    [sent] = reminders_to(bot, 2001)
    assert sorted(reminded_tasks(sent)) == [2, 5, 8, 25]
    rows = ledger(bot) + days(bot)
    assert {r.outcome for r in rows} == {DeliveryOutcome.SENT}
    assert {r.attempts for r in rows} == {2}
    await bot.tick()
    await bot.api.wait_idle()
    assert len(reminders_to(bot, 2001)) == 1  # delivered once


LONG_DIGEST = {"digest_lines": 2000}  # every task listed: a digest of several messages


@pytest.fixture
def bot_settings_overrides() -> dict[str, Any]:
    return {"schedule": {"tick_seconds": 3600}, "telegram": {"timeout_seconds": 0.5}}


async def test_timeout_is_recorded_uncertain_and_not_resent(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    bot.api.delay_next("sendMessage", 1.5)  # longer than the bot's 0.5 s timeout
    await bot.tick()
    [row] = ledger(bot)
    assert row.outcome == DeliveryOutcome.UNCERTAIN
    assert "Timed" in (row.error or "")
    await bot.api.wait_idle(quiet=1.5)  # the stand-in delivers it after the delay anyway
    bot.clock.advance(timedelta(hours=1))
    await bot.tick()
    await bot.api.wait_idle()
    assert len(reminders_to(bot, 2002)) == 1  # not resent blindly
    assert [r.outcome for r in ledger(bot)] == [DeliveryOutcome.UNCERTAIN]


async def test_blocked_user_is_marked_unreachable_and_others_still_served(
    bot: BotHarness,
) -> None:
    await bot.register(2001, "区民政局")
    await bot.register(2003, "区民政局")
    await bot.register(2002, "潼南税务局")
    bot.api.block_chat(2001)
    since = len(bot.api.sent)
    await bot.tick()
    await bot.api.wait_idle()
    [other] = reminders_to(bot, 2003)
    assert sorted(reminded_tasks(other)) == [2, 5, 8, 25]
    assert len(reminders_to(bot, 2002)) == 1
    notices = [
        m for m in bot.api.sent[since:] if m.chat_id == COORDINATOR and "无法向" in m.plain_text
    ]
    assert len(notices) == 1  # told once, not once per reminder
    assert "区民政局" in notices[0].plain_text and "李明" in notices[0].plain_text
    with bot.svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=2001)
        assert contact is not None and contact.unreachable_reason
        assert "blocked" in contact.unreachable_reason
    # the refused message leaves no row: its four tasks wait for the contact to come back
    assert [r for r in ledger(bot) if r.outcome != DeliveryOutcome.SENT] == []
    assert len(days(bot)) == 2  # the two contacts who got theirs
    assert all(r.outcome == DeliveryOutcome.SENT for r in days(bot))
    tries = [c for c in bot.api.calls if c.method == "sendMessage" and c.chat_id == 2001]
    assert [c.status for c in tries] == [200, 403]  # its registration, then the one message
    # the unit still has a reachable contact, so it is not listed as unreachable
    bot.api.send_text(COORDINATOR, "/digest")
    digest = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "尚无联络员的牵头单位" in m.plain_text,
        since=since,
    )
    assert "联络员无法送达" not in digest.plain_text


async def test_chat_not_found_lists_the_unit_as_unreachable(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    bot.api.fail_next(
        "sendMessage", error_code=400, description="Bad Request: chat not found", chat_id=2002
    )
    await bot.tick()
    await bot.api.wait_idle()
    # nothing was delivered, so nothing is settled: the task waits for the contact
    assert ledger(bot) == [] and days(bot) == []
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/digest")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "尚无联络员的牵头单位" in m.plain_text,
        since=since,
    )
    digest = "\n".join(m.plain_text for m in bot.api.sent[since:] if m.chat_id == COORDINATOR)
    assert "联络员无法送达的牵头单位（1个）" in digest
    assert "联络员无法送达的牵头单位（1个）\n潼南税务局\n" in digest
    # registering again with a new invite makes the contact reachable
    await bot.register(2002, "潼南税务局")
    with bot.svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=2002)
        assert contact is not None and contact.unreachable_reason is None


async def test_group_migrated_to_supergroup_gets_the_digest_once(bot: BotHarness) -> None:
    new_id = -1009876543210
    bot.api.migrate_group(GROUP, new_id)
    # Monday 2025-12-22 09:00 local: the weekly digest is due
    bot.clock.set(bot.clock.now.replace(day=22, hour=1, minute=0))
    await bot.tick()
    await bot.api.wait_idle()
    await bot.tick()
    await bot.api.wait_idle()
    firsts = [m for m in bot.api.messages_to(new_id) if "督办汇总" in m.plain_text]
    assert len(firsts) == 1
    assert not [m for m in bot.api.messages_to(GROUP) if "督办汇总" in m.plain_text]
    with bot.svc.db.session() as s:
        [migration] = s.exec(select(ChatMigration)).all()
        assert (migration.old_chat_id, migration.new_chat_id) == (GROUP, new_id)
    [post] = ledger(bot, DeliveryKind.DIGEST)
    assert post.outcome == DeliveryOutcome.SENT
    # the next week goes straight to the new id: one failed call to the old id in all
    bot.clock.advance(timedelta(days=7))
    await bot.tick()
    await bot.api.wait_idle()
    assert len([m for m in bot.api.messages_to(new_id) if "督办汇总" in m.plain_text]) == 2
    old_calls = [c for c in bot.api.calls if c.method == "sendMessage" and c.chat_id == GROUP]
    assert len(old_calls) == 1


REAL_LIMITS = {"chat_messages_per_second": 1.0, "group_messages_per_minute": 20.0}


@pytest.mark.parametrize(
    "bot_settings_overrides", [{"schedule": {"tick_seconds": 3600}, "telegram": REAL_LIMITS}]
)
async def test_flood_limits_fan_out_of_200_and_a_long_digest_get_no_429(
    bot: BotHarness, bot_settings_overrides: dict[str, Any], tmp_path: Path
) -> None:
    bot.api.set_flood_limits(True)
    with bot.svc.db.session() as s:
        unit = repo.get_unit_by_name(s, name="潼南税务局")
        assert unit is not None
        for i in range(200):
            uid = 500_000 + i
            bot.api.user(uid, f"联络员{i}")
            s.add(
                Contact(
                    telegram_user_id=uid,
                    chat_id=uid,
                    unit_id=unit.id or 0,
                    display_name=f"联络员{i}",
                    created_at=bot.clock.now,
                )
            )
    # two contacts of 区民政局, their 4 reminders in one message each
    for uid in (2001, 2003):
        await bot.register(uid, "区民政局")
    await bot.tick()
    await bot.api.wait_idle()
    assert len([r for r in ledger(bot) if r.outcome == DeliveryOutcome.SENT]) == 208
    assert bot.api.flood_429_count == 0, [(c.chat_id, c.response) for c in bot.api.failed_calls()]
    # a digest in several parts to the group, twice in a row: a plan of 200 tasks, each with
    # its own lead unit, and a line budget that lists them all make the digest long
    await bot.restart(
        tasks={"file": str(big_plan(tmp_path))},
        schedule={"tick_seconds": 3600},
        telegram=REAL_LIMITS,
        follow_up=LONG_DIGEST,
    )
    parts = 0
    for _ in range(2):
        since = len(bot.api.sent)
        bot.api.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
        await bot.api.wait_for(
            lambda m: m.chat_id == GROUP and "详情：" in m.plain_text, since=since, timeout=60
        )
        parts += len([m for m in bot.api.sent[since:] if m.chat_id == GROUP])
        bot.clock.advance(timedelta(seconds=61))  # the same /digest within a minute: a pointer
    assert parts >= 4  # several parts each time
    assert bot.api.flood_429_count == 0


def big_plan(tmp_path: Path) -> Path:
    """A task file of 200 tasks, each led by a unit of its own (a digest of several parts)."""
    plan = tmp_path / "plan.toml"
    lines = [
        '[plan]\ntitle = "测试规划"\ndocument_number = "测试〔2025〕1号"',
        "issued_on = 2025-01-01\nperiod_end = 2025-12-31\n",
    ]
    for n in range(1, 201):
        lines.append(
            f'[[tasks]]\nnumber = {n}\ntext = "测试任务{n}。"\n'
            f'lead_units = ["潼南区第{n}号测试牵头单位工作领导小组办公室"]\n'
        )
    plan.write_text("\n".join(lines), encoding="utf-8")
    return plan


async def test_reminder_log_lines_carry_ids_not_notes(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    reminder = await bot.api.wait_for(lambda m: m.chat_id == 2002 and bool(m.buttons))
    secret_note = "这是一段不应出现在日志中的私密说明内容"
    bot.api.send_text(2002, secret_note, reply_to_message_id=reminder.message_id)
    await bot.api.wait_for(lambda m: m.chat_id == 2002 and "进展说明" in m.plain_text)
    messages = [r.getMessage() for r in caplog.records]
    sent_lines = [m for m in messages if m.startswith("daily message sent:")]
    assert len(sent_lines) == 1 and f"tasks=[{TAX_TASK}]" in sent_lines[0]
    stored = [m for m in messages if m.startswith("report stored:")]
    assert len(stored) == 1 and "note_chars=" in stored[0]
    assert not any(secret_note in m for m in messages)
    assert not any(bot.settings.token in m for m in messages)


async def test_weekly_digest_interrupted_by_an_outage_resumes_at_the_next_part(
    bot: BotHarness, tmp_path: Path
) -> None:
    # a plan of 200 tasks, each led by its own unit, all listed: several messages
    plan = big_plan(tmp_path)
    await bot.restart(
        tasks={"file": str(plan)}, schedule={"tick_seconds": 3600}, follow_up=LONG_DIGEST
    )
    # Monday 2025-12-22 09:00 local: the digest is due; the API fails from part 2 on
    bot.clock.set(bot.clock.now.replace(day=22, hour=1, minute=0))
    sent_before = len(bot.api.messages_to(GROUP))
    bot.api.fail_next(
        "sendMessage", error_code=502, description="Bad Gateway", count=50, chat_id=GROUP, after=1
    )
    await bot.tick()
    await bot.api.wait_idle()
    with bot.svc.db.session() as s:
        [post] = s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.DIGEST)).all()
        assert post.outcome == DeliveryOutcome.RETRY
        assert post.parts_sent == 1
        parts = repo.delivery_parts(post)
    assert len(parts) >= 2
    assert len(bot.api.messages_to(GROUP)) == sent_before + 1
    bot.api.clear_faults()
    bot.clock.advance(timedelta(seconds=61))
    await bot.tick()
    await bot.api.wait_idle()
    delivered = [m.text for m in bot.api.messages_to(GROUP)][sent_before:]
    assert delivered == parts  # every part once, in order, part 1 not repeated
    with bot.svc.db.session() as s:
        [post] = s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.DIGEST)).all()
        assert post.outcome == DeliveryOutcome.SENT and post.parts_sent == len(parts)


async def test_failed_digest_on_demand_is_reported_to_the_coordinator(bot: BotHarness) -> None:
    bot.api.fail_next(
        "sendMessage", error_code=500, description="Internal Server Error", chat_id=GROUP, count=5
    )
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
    notice = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "未能全部发出" in m.plain_text, since=since
    )
    assert "已发0/" in notice.plain_text


async def test_a_weekly_digest_refused_by_the_group_is_reported_to_the_coordinators(
    bot: BotHarness,
) -> None:
    """The bot removed from the committee group: the week's digest is refused for good
    (403) and never retried; the coordinators are told, once, instead of nobody knowing."""
    bot.api.fail_next(
        "sendMessage",
        error_code=403,
        description="Forbidden: bot was kicked from the supergroup chat",
        chat_id=GROUP,
    )
    since = len(bot.api.sent)
    await bot.tick()  # T0: the digest of the week is due
    await bot.api.wait_idle()
    [post] = ledger(bot, DeliveryKind.DIGEST)
    assert post.outcome == DeliveryOutcome.FAILED
    notices = [
        m
        for m in bot.api.sent[since:]
        if m.chat_id == COORDINATOR and "本周督办汇总未能发到工作群" in m.plain_text
    ]
    assert len(notices) == 1
    assert "已发0/1条" in notices[0].plain_text and "kicked" in notices[0].plain_text
    bot.clock.advance(timedelta(minutes=5))
    await bot.tick()
    await bot.api.wait_idle()
    assert sum("本周督办汇总未能" in m.plain_text for m in bot.api.messages_to(COORDINATOR)) == 1

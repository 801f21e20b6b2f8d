"""End to end through the stand-in: Telegram conventions a trial found missing (issue 15):
edited messages, forum topics, repeated /digest, parts that must not interleave."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import render
from db.models import Delivery, StatusReport
from jobs.types import DeliveryKind, DeliveryOutcome
from standin import SentMessage
from standin.harness import COORDINATOR, GROUP
from tests.conftest import GROUP_MEMBER, BotHarness


def reports(bot: BotHarness) -> list[StatusReport]:
    with bot.svc.db.session() as s:
        return list(s.exec(select(StatusReport).order_by(StatusReport.id)).all())


async def test_an_edited_command_does_not_run_again(bot: BotHarness) -> None:
    sent = bot.api.send_text(COORDINATOR, "/whoami")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR and "协调员" in m.plain_text)
    await bot.api.wait_idle(quiet=0.1)
    since = len(bot.api.sent)
    bot.api.edit_text(COORDINATOR, sent["message_id"], "/units")
    bot.api.edit_text(COORDINATOR, sent["message_id"], "/nosuchcommand")
    await bot.api.wait_idle(quiet=0.3)
    assert [m.plain_text for m in bot.api.sent[since:]] == []


async def test_an_edited_report_command_does_not_start_a_new_draft(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    sent = bot.api.send_text(2001, "/report")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and bool(m.buttons))
    await bot.api.wait_idle(quiet=0.1)
    since = len(bot.api.sent)
    bot.api.edit_text(2001, sent["message_id"], "/report ")
    await bot.api.wait_idle(quiet=0.3)
    assert [m.plain_text for m in bot.api.sent[since:]] == []


async def test_an_edited_reply_to_a_reminder_is_not_stored_twice(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.tick()
    reminder = await bot.api.wait_for(
        lambda m: m.chat_id == 2001 and "第25项" in m.plain_text and bool(m.buttons)
    )
    # 区民政局's message of the day lists four tasks: the note's task is asked for
    note = bot.api.send_text(2001, "已建成5个残疾人之家", reply_to_message_id=reminder.message_id)
    ask = await bot.api.wait_for(lambda m: m.chat_id == 2001 and "哪一项任务" in m.plain_text)
    bot.api.click(2001, ask, next(label for label, _ in ask.buttons if "第25项" in label))
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "进展说明" in m.plain_text)
    await bot.api.wait_idle(quiet=0.1)
    since = len(bot.api.sent)
    bot.api.edit_text(2001, note["message_id"], "已建成6个残疾人之家")
    await bot.api.wait_idle(quiet=0.3)
    assert [r.note for r in reports(bot)] == ["已建成5个残疾人之家"]
    assert bot.api.sent[since:] == []


FORUM = -1009876543210
TOPIC = 77


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Digests listing every task (no line budget), split into parts of at most 700
    characters (about six), as a long digest is split at Telegram's 4096."""
    original = render.render_plan_digests

    def split_small(*args: Any, **kwargs: Any) -> list[str]:
        return original(*args, **{**kwargs, "limit": 700, "budget": 2000})

    monkeypatch.setattr(render, "render_plan_digests", split_small)


async def test_every_part_of_an_answer_goes_to_the_topic_of_the_command(
    bot: BotHarness, small_parts: None
) -> None:
    bot.api.group(FORUM, "残工委论坛群", forum=True, members=[COORDINATOR])
    since = len(bot.api.sent)
    bot.api.send_text(
        COORDINATOR, "/digest@canggongwei_bot", chat_id=FORUM, message_thread_id=TOPIC
    )
    await bot.api.wait_for(lambda m: m.chat_id == FORUM and "详情：" in m.plain_text, since=since)
    await bot.api.wait_idle(quiet=0.1)
    parts = [m for m in bot.api.sent[since:] if m.chat_id == FORUM]
    assert len(parts) > 1
    assert [m.message_thread_id for m in parts] == [TOPIC] * len(parts)
    # one-part answers too, and a refusal
    since = len(bot.api.sent)
    bot.api.send_text(
        COORDINATOR, "/whoami@canggongwei_bot", chat_id=FORUM, message_thread_id=TOPIC
    )
    whoami = await bot.api.wait_for(lambda m: m.chat_id == FORUM, since=since)
    assert whoami.message_thread_id == TOPIC
    assert f"本话题编号：{TOPIC}" in whoami.plain_text
    bot.api.add_member(FORUM, GROUP_MEMBER, announce=False)
    since = len(bot.api.sent)
    bot.api.send_text(GROUP_MEMBER, "/digest@canggongwei_bot", chat_id=FORUM, message_thread_id=5)
    refusal = await bot.api.wait_for(lambda m: m.chat_id == FORUM, since=since)
    assert "仅限协调员" in refusal.plain_text and refusal.message_thread_id == 5


async def test_weekly_digest_goes_to_the_configured_topic(
    bot: BotHarness, small_parts: None
) -> None:
    bot.api.group(FORUM, "残工委论坛群", forum=True, members=[COORDINATOR])
    await bot.restart(telegram={"digest_chat_id": FORUM, "digest_thread_id": TOPIC})
    await bot.tick()  # Wednesday 2025-12-17: this week's digest is due since Monday 09:00
    await bot.api.wait_for(lambda m: m.chat_id == FORUM and "详情：" in m.plain_text)
    await bot.api.wait_idle(quiet=0.1)
    parts = bot.api.messages_to(FORUM)
    assert len(parts) > 1 and {m.message_thread_id for m in parts} == {TOPIC}


async def test_weekly_digest_without_a_topic_goes_to_the_general_topic(bot: BotHarness) -> None:
    bot.api.group(FORUM, "残工委论坛群", forum=True, members=[COORDINATOR])
    await bot.restart(telegram={"digest_chat_id": FORUM})
    await bot.tick()
    await bot.api.wait_for(lambda m: m.chat_id == FORUM and "督办汇总" in m.plain_text)
    await bot.api.wait_idle(quiet=0.1)
    assert {m.message_thread_id for m in bot.api.messages_to(FORUM)} == {None}


def heads(messages: list[SentMessage]) -> list[int]:
    """The part number of each digest part (1 for a first part, i for "（续i/n）")."""
    numbers = []
    for m in messages:
        if m.plain_text.startswith("📊"):
            numbers.append(1)
        elif m.plain_text.startswith("（续"):
            numbers.append(int(m.plain_text.removeprefix("（续").split("/", 1)[0]))
    return numbers


async def test_a_repeated_digest_within_a_minute_is_posted_once(bot: BotHarness) -> None:
    since = len(bot.api.sent)
    first = bot.api.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
    again = bot.api.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
    pointer = await bot.api.wait_for(
        lambda m: m.chat_id == GROUP and "一分钟内不重复发送" in m.plain_text, since=since
    )
    await bot.api.wait_idle(quiet=0.1)
    posted = [m for m in bot.api.sent[since:] if m.chat_id == GROUP]
    assert heads(posted).count(1) == 1
    assert pointer.plain_text.count("\n") == 0 and "09:30" in pointer.plain_text
    assert pointer.reply_to_message_id == posted[0].message_id
    assert first["message_id"] != again["message_id"]
    # a minute later it is posted again; another chat is not affected
    bot.clock.advance(timedelta(seconds=61))
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
    bot.api.send_text(COORDINATOR, "/digest")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    await bot.api.wait_idle(quiet=0.1)
    assert heads([m for m in bot.api.sent[since:] if m.chat_id == GROUP]) == [1]
    assert heads(bot.api.sent[since:]) == [1, 1]


async def test_a_digest_queued_while_down_is_posted_once_after_the_start(
    bot: BotHarness,
) -> None:
    await bot.app.updater.stop()
    bot.api.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
    bot.api.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
    bot.api.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
    await bot.restart()

    def pointer(m: SentMessage) -> bool:
        return m.chat_id == GROUP and "一分钟内不重复发送" in m.plain_text

    first = await bot.api.wait_for(pointer)
    # the second pointer, not a quiet spell: a loaded machine may pause between the two
    await bot.api.wait_for(pointer, since=bot.api.sent.index(first) + 1)
    await bot.api.wait_idle(quiet=0.2)
    posted = bot.api.messages_to(GROUP)
    assert heads(posted) == [1]
    assert len([m for m in posted if "一分钟内不重复发送" in m.plain_text]) == 2


async def test_two_digests_to_one_chat_never_interleave(bot: BotHarness, small_parts: None) -> None:
    # every send answered after 50 ms: the weekly digest is still going out when /digest comes
    bot.api.delay_next("sendMessage", 0.05, count=100)
    weekly = asyncio.create_task(bot.tick())  # 2025-12-17: this week's digest is due
    await bot.api.wait_for(lambda m: m.chat_id == GROUP)
    bot.api.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
    await weekly
    await bot.api.wait_for(
        lambda m: len([p for p in bot.api.messages_to(GROUP) if "详情：" in p.plain_text]) == 2
    )
    await bot.api.wait_idle(quiet=0.2)
    numbers = heads(bot.api.messages_to(GROUP))
    parts = len(numbers) // 2
    assert parts > 1 and numbers == [*range(1, parts + 1)] * 2


async def test_ticks_skipped_by_a_long_tick_are_logged_once(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.register(2001, "区民政局")
    await bot.register(2002, "潼南税务局")
    since = len(bot.api.sent)
    bot.api.delay_next("sendMessage", 0.3, count=6)  # a fan-out of about 2 s: ten intervals
    caplog.set_level(logging.INFO)
    await bot.restart(hold_tick=False, schedule={"tick_seconds": 0.2})
    await bot.api.wait_for(lambda m: "完成时限" in m.plain_text, since=since, timeout=10)
    await bot.api.wait_idle(quiet=0.8, timeout=20)  # then a few quick ticks
    assert len([m for m in bot.api.sent[since:] if "完成时限" in m.plain_text]) == 2  # 1 each
    skips = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skips) == 2, skips
    assert skips[0].startswith("follow-up tick skipped: the previous one still runs")
    assert re.fullmatch(r"follow-up tick ended; \d+ ticks skipped meanwhile", skips[1]), skips
    assert int(skips[1].split()[3]) >= 3


async def test_a_weekly_digest_stopped_between_parts_resumes_at_the_next_part(
    bot: BotHarness, small_parts: None
) -> None:
    # the application starts stopping after the first part went out
    bot.svc.stop_requested = lambda: len(bot.api.messages_to(GROUP)) >= 1
    await bot.tick()  # 2025-12-17: this week's digest is due
    await bot.api.wait_idle(quiet=0.1)
    [first] = bot.api.messages_to(GROUP)
    assert first.plain_text.startswith("📊")
    with bot.svc.db.session() as s:
        [row] = s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.DIGEST)).all()
        assert (row.outcome, row.parts_sent) == (DeliveryOutcome.RETRY, 1)
    await bot.restart()
    bot.clock.advance(timedelta(minutes=1))
    await bot.tick()
    await bot.api.wait_for(lambda m: m.chat_id == GROUP and "详情：" in m.plain_text)
    await bot.api.wait_idle(quiet=0.1)
    texts = [m.plain_text for m in bot.api.messages_to(GROUP)]
    total = int(texts[-1].removeprefix("（续").split("/", 1)[1].split("）", 1)[0])
    assert heads(bot.api.messages_to(GROUP)) == list(range(1, total + 1))

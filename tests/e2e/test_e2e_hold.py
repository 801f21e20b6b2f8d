"""End to end through the stand-in: the shipped plan (period ended 2025-12-31) started on
Friday 2026-12-04 holds its follow-up. No overdue reminder, escalation or digest goes out
before a coordinator decides; the coordinators are told once; after 发送积压提醒 each held
reminder goes out once, after 不再发送 none does, and the follow-up goes on from the next
occasion."""

from __future__ import annotations

from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from bot.app import build_application
from db import repo
from db.models import Delivery, FollowUpHold
from jobs.types import DeliveryKind, DeliveryOutcome, HoldDecision
from standin import BotApiStandIn
from standin.harness import COORDINATOR, GROUP, MutableClock, running, standin_settings
from tests.conftest import FIRST_DAY_CONTACTS, BotHarness, reminded_tasks

FRIDAY = datetime(2026, 12, 4, 1, 30, tzinfo=UTC)  # Friday 2026-12-04 09:30 local
MONDAY = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # the weekly digest is due at 09:00
WEDNESDAY = datetime(2026, 12, 9, 1, 30, tzinfo=UTC)  # 49 weeks after 2025-12-31
CONTACTS = FIRST_DAY_CONTACTS


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock(FRIDAY)


def reminders(bot: BotHarness, chat_id: int, since: int = 0) -> list[Any]:
    return [m for m in bot.api.sent[since:] if m.chat_id == chat_id and "完成时限" in m.plain_text]


def task_number(message: Any) -> int:
    return int(message.plain_text.split("第", 1)[1].split("项", 1)[0])


def escalations(bot: BotHarness, since: int = 0) -> list[Any]:
    return [
        m for m in bot.api.sent[since:] if m.chat_id == COORDINATOR and "逾期已超过" in m.plain_text
    ]


def digests(bot: BotHarness, since: int = 0) -> list[Any]:
    return [m for m in bot.api.sent[since:] if m.chat_id == GROUP and "督办汇总" in m.plain_text]


def notices(bot: BotHarness) -> list[Any]:
    return [
        m
        for m in bot.api.messages_to(COORDINATOR)
        if m.method == "sendMessage" and "逾期提醒已暂停" in m.plain_text
    ]


def led_tasks(bot: BotHarness, unit: str) -> set[int]:
    with bot.svc.db.session() as s:
        found = repo.get_unit_by_name(s, name=unit)
        assert found is not None and found.id is not None
        return {t.number for t in repo.tasks_led_by(s, unit_id=found.id)}


async def tick(bot: BotHarness) -> None:
    await bot.tick()
    await bot.api.wait_idle(quiet=0.1)


async def held_until_monday(bot: BotHarness) -> Any:
    """Tick on Friday and on Monday; nothing about the past goes out; return the notice."""
    await tick(bot)
    bot.clock.set(MONDAY)
    await tick(bot)
    for chat in CONTACTS:
        assert reminders(bot, chat) == []
    assert escalations(bot) == []
    assert digests(bot) == []
    [notice] = notices(bot)  # once, not again on Monday
    text = notice.plain_text
    assert "规划期已于2025年12月31日结束。" in text
    assert "其中" in text and "项逾期超过10个工作日" in text
    assert "/deadline" in text and "/backlog send" in text and "/backlog drop" in text
    assert [label for label, _ in notice.buttons] == ["发送积压提醒", "不再发送"]
    with bot.svc.db.session() as s:
        hold = repo.open_hold(s)
        assert hold is not None
        assert f"未完成的督办事项共{hold.open_pairs}项" in text
        assert f"其中{hold.overdue_pairs}项逾期超过10个工作日" in text
        assert hold.overdue_pairs == hold.open_pairs > 27
    return notice


async def test_held_until_send_then_each_held_reminder_goes_out_once(
    first_day: BotHarness,
) -> None:
    bot = first_day
    # the contact of 潼南税务局 answered by phone on Friday: task 10 is in progress
    bot.api.send_text(COORDINATOR, "/record 10 潼南税务局 推进中 已开始落实")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR and "已代" in m.plain_text)
    notice = await held_until_monday(bot)

    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, notice, "发送积压提醒")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已恢复督办" in m.plain_text, since=since
    )
    await tick(bot)
    for chat, unit in CONTACTS.items():
        sent = reminders(bot, chat, since)
        expected = led_tasks(bot, unit) - ({10} if unit == "潼南税务局" else set())
        # one message per contact a day, however many tasks (none: 10 was answered)
        assert len(sent) == (1 if expected else 0), unit
        got = [n for m in sent for n in reminded_tasks(m)]
        assert Counter(got) == Counter(expected), unit
        assert all("逾期催办" in m.plain_text or "❗" in m.plain_text for m in sent)
        assert all("还有" not in m.plain_text for m in sent)  # only overdue ones were held
    assert len(led_tasks(bot, "区残联")) == 19
    assert len(escalations(bot, since)) >= 1
    assert len(digests(bot, since)) >= 1

    # nothing goes out twice: not on the next tick, not after a restart
    count = len(bot.api.sent)
    await tick(bot)
    await bot.restart()
    await tick(bot)
    assert len(bot.api.sent) == count
    assert len(notices(bot)) == 1
    with bot.svc.db.session() as s:
        hold = s.exec(select(FollowUpHold)).one()
        assert (hold.decision, hold.decided_by) == (HoldDecision.SEND, COORDINATOR)


async def test_held_until_drop_then_none_goes_out(first_day: BotHarness) -> None:
    bot = first_day
    await held_until_monday(bot)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/backlog drop")
    answer = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已恢复督办" in m.plain_text, since=since
    )
    await tick(bot)
    await tick(bot)
    assert all(reminders(bot, chat, since) == [] for chat in CONTACTS)
    assert escalations(bot, since) == [] and digests(bot, since) == []
    with bot.svc.db.session() as s:
        rows = s.exec(select(Delivery).where(Delivery.outcome == DeliveryOutcome.DROPPED)).all()
    kinds = Counter(r.kind for r in rows)
    held = sum(len(led_tasks(bot, unit)) for unit in CONTACTS.values())
    assert kinds[DeliveryKind.REMINDER] == held
    assert kinds[DeliveryKind.DIGEST] == 1 and kinds[DeliveryKind.ESCALATION] > 0
    assert f"积压的{held + kinds[DeliveryKind.ESCALATION] + 1}条提醒不再发送" in answer.plain_text

    # a second decision is refused politely; the follow-up goes on at the next occasion
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/backlog send")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "督办提醒正常进行" in m.plain_text, since=since
    )
    bot.clock.set(WEDNESDAY)
    await tick(bot)
    [sent] = reminders(bot, 2001, since)
    assert set(reminded_tasks(sent)) == led_tasks(bot, "区民政局")


async def test_only_coordinators_decide(first_day: BotHarness) -> None:
    bot = first_day
    await tick(bot)
    [notice] = notices(bot)
    since = len(bot.api.sent)
    bot.api.send_text(2001, "/backlog send")
    await bot.api.wait_for(lambda m: m.chat_id == 2001, since=since)
    with bot.svc.db.session() as s:
        assert repo.open_hold(s) is not None
    # the coordinator finds the notice again with /backlog, buttons included
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/backlog")
    again = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert again.plain_text == notice.plain_text and again.buttons == notice.buttons


async def test_a_digest_of_a_week_before_the_first_start_is_never_posted(
    standin: BotApiStandIn, database_url: str, clock: MutableClock
) -> None:
    """The follow-up runs (a plan without a backlog), the bot first starts on Friday: the
    digest of Monday 2026-11-30 is not caught up; Monday 2026-12-07's goes out."""
    from tests.conftest import record_history

    record_history(database_url, first_start=None, decided=HoldDecision.SEND)
    settings = standin_settings(standin, database_url, schedule={"tick_seconds": 3600})
    async with AsyncExitStack() as stack:
        app = build_application(settings, clock=clock)
        await stack.enter_async_context(running(app))
        bot = BotHarness(standin, app, clock, settings, stack)
        bot.hold_tick()
        await tick(bot)
        assert digests(bot) == []
        clock.set(MONDAY)
        await tick(bot)
        assert len(digests(bot)) >= 1
        with bot.svc.db.session() as s:
            assert repo.first_start(s) == FRIDAY


async def test_new_deadlines_in_chat_lift_the_hold_and_the_follow_up_runs(
    first_day: BotHarness,
) -> None:
    bot = first_day
    await tick(bot)
    assert len(notices(bot)) == 1
    # the committee asks meanwhile: the digest says why everything is red
    bot.api.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
    held = await bot.api.wait_for(lambda m: m.chat_id == GROUP)
    assert "规划期已于2025年12月31日结束" in held.plain_text
    assert "逾期提醒已暂停" in held.plain_text
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/deadline 全部 2027年6月30日 十五五衔接")
    preview = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and bool(m.buttons), since=since
    )
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, preview, "确认修改")
    done = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "任务" in m.plain_text, since=since
    )
    assert done.method == "editMessageText" and "暂停已解除" in done.plain_text
    await bot.api.wait_idle(quiet=0.1)
    with bot.svc.db.session() as s:
        assert repo.open_hold(s) is None
        hold = s.exec(select(FollowUpHold)).one()
        assert (hold.decision, hold.decided_by) == (HoldDecision.SEND, 0)
    # Monday's weekly digest goes out; nothing is late, so no reminder or escalation
    since = len(bot.api.sent)
    bot.clock.set(MONDAY)
    await tick(bot)
    [weekly] = digests(bot, since)
    assert "逾期提醒暂停中" not in weekly.plain_text and "🔴0" in weekly.plain_text
    assert escalations(bot, since) == []
    assert all("逾期" not in m.plain_text for chat in CONTACTS for m in reminders(bot, chat, since))
    bot.api.send_text(COORDINATOR, "/backlog")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "督办提醒正常进行" in m.plain_text, since=since
    )


async def test_a_late_task_left_keeps_the_hold_and_says_so(first_day: BotHarness) -> None:
    bot = first_day
    await tick(bot)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/deadline 3 2027年6月30日")
    answer = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert "继续暂停" in answer.plain_text and "/backlog" in answer.plain_text
    with bot.svc.db.session() as s:
        assert repo.open_hold(s) is not None

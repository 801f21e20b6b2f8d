"""Every tick and every view reads the database afresh: a report stored between two ticks,
or during a tick's fan-out, is seen by the next step at once; a task-file reload while the
bot runs is seen at once; escalations and nudges go out exactly once; state reads run in a
worker thread while the bot goes on answering."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import delivery, reads
from bot.app import GC_THRESHOLDS
from bot.delivery import escalate_overdue
from db import repo
from db.models import Delivery
from jobs.types import DeliveryKind, Status
from standin.harness import COORDINATOR
from tests.conftest import BotHarness

ESCALATION = "督办提醒"
NUDGE = "进展反馈提醒"
CONTACT, UNIT, TASK = 2002, "潼南税务局", 10  # 潼南税务局 leads task 10 with 区财政局


def unit_block(text: str, unit: str) -> list[int]:
    """The task numbers escalated under `unit`'s heading (a unit with a contact) in an
    escalation message."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{unit}｜联络员："))
    numbers = []
    for line in lines[start + 1 :]:
        if not line.startswith("· 第"):
            break
        numbers.append(int(line[3:].split("项", 1)[0]))
    return numbers


def on(bot: BotHarness, year: int, month: int, day: int) -> None:
    """Move the clock to that day, keeping the time of day (09:30 in Asia/Shanghai)."""
    bot.clock.set(bot.clock.now.replace(year=year, month=month, day=day))


async def tick(bot: BotHarness) -> None:
    await bot.tick()
    await bot.api.wait_idle(quiet=0.05)


def texts_with(bot: BotHarness, marker: str, since: int = 0) -> list[Any]:
    return [m for m in bot.api.sent[since:] if marker in m.plain_text]


def report(bot: BotHarness, number: int, unit: str, status: Status, note: str = "") -> None:
    with bot.svc.db.session() as s:
        task, found = repo.get_task(s, number=number), repo.get_unit_by_name(s, name=unit)
        assert task is not None and found is not None
        repo.add_report(
            s,
            task_id=task.id or 0,
            unit_id=found.id or 0,
            contact_id=None,
            reporter_user_id=CONTACT,
            status=status,
            note=note,
            now=bot.clock.now,
        )


async def quiet_tick(bot: BotHarness) -> None:
    """A tick now sends nothing."""
    since = len(bot.api.sent)
    await tick(bot)
    assert bot.api.sent[since:] == []


async def test_a_report_stored_between_two_ticks_stops_the_next_ticks_reminder(
    bot: BotHarness,
) -> None:
    await bot.register(CONTACT, UNIT)  # 2025-12-17 09:30: 14 days before 2025-12-31
    await bot.register(2001, "区民政局")
    await tick(bot)
    assert [m for m in bot.api.sent if m.chat_id == CONTACT and f"第{TASK}项" in m.plain_text]
    report(bot, TASK, UNIT, Status.DONE)
    on(bot, 2025, 12, 24)  # the 7-days-before occasion
    since = len(bot.api.sent)
    await tick(bot)
    assert [m for m in bot.api.sent[since:] if m.chat_id == 2001], "the occasion is due"
    assert not [
        m for m in bot.api.sent[since:] if m.chat_id == CONTACT and f"第{TASK}项" in m.plain_text
    ]


async def test_a_report_is_seen_by_every_view_at_once(bot: BotHarness) -> None:
    await bot.register(CONTACT, UNIT)
    await tick(bot)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, f"/task {TASK}")
    view = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert "遇到困难" not in view.plain_text
    report(bot, TASK, UNIT, Status.BLOCKED, "缺少场地")
    for command in (f"/task {TASK}", f"/unit {UNIT}", "/digest"):
        since = len(bot.api.sent)
        bot.api.send_text(COORDINATOR, command)
        view = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
        await bot.api.wait_idle(quiet=0.05)
        shown = "\n".join(m.plain_text for m in bot.api.sent[since:])
        assert "缺少场地" in shown or "遇到困难" in shown, (command, shown)


async def test_escalation_goes_out_once_on_the_day_it_is_due_and_after_a_deadline_change(
    bot: BotHarness,
) -> None:
    await bot.register(CONTACT, UNIT)
    # 2026-01-08: 5 working days after 2025-12-31, not yet more than 5
    on(bot, 2026, 1, 8)
    await tick(bot)
    await quiet_tick(bot)
    assert texts_with(bot, ESCALATION) == []
    on(bot, 2026, 1, 9)  # the 6th working day after
    await tick(bot)
    [notice] = texts_with(bot, ESCALATION)
    assert notice.chat_id == COORDINATOR
    assert "共46项" in notice.plain_text
    await quiet_tick(bot)
    bot.clock.advance(timedelta(hours=2))
    await quiet_tick(bot)
    # the coordinator moves task 10's deadline earlier: a new case for each of its two lead
    # units (the case is per deadline), escalated once on the next tick
    # (a date already past: /deadline refuses it, so the change is made in storage)
    with bot.svc.db.session() as s:
        task = repo.get_task(s, number=10)
        assert task is not None
        repo.set_deadline(
            s,
            task=task,
            new=date(2025, 12, 20),
            actor_user_id=COORDINATOR,
            reason=None,
            now=bot.clock.now,
        )
    since = len(bot.api.sent)
    await tick(bot)
    # at most one escalation message a day: the new cases wait for the next working day
    assert texts_with(bot, ESCALATION, since) == []
    on(bot, 2026, 1, 12)  # Monday
    await tick(bot)
    [notice] = texts_with(bot, ESCALATION, since)
    assert "共2项" in notice.plain_text
    assert unit_block(notice.plain_text, "潼南税务局") == [10]  # with its contact
    assert "未登记联络员：区财政局（第10项）" in notice.plain_text
    await tick(bot)
    assert len(texts_with(bot, ESCALATION)) == 2


async def test_a_report_stored_during_the_reminder_fan_out_counts_for_the_escalation(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.register(CONTACT, UNIT)
    real_send = delivery.send
    stored: list[datetime] = []

    async def send_after_a_report(*args: Any, **kwargs: Any) -> delivery.SendResult:
        if not stored:  # the first reminder: meanwhile 潼南税务局 reports task 10 done
            report(bot, TASK, UNIT, Status.DONE, "已完成")
            stored.append(bot.clock.now)
        return await real_send(*args, **kwargs)

    monkeypatch.setattr(delivery, "send", send_after_a_report)
    on(bot, 2026, 1, 9)  # the 6th working day after 2025-12-31: escalation is due
    await tick(bot)
    assert stored, "the tick sent no reminder"
    [notice] = texts_with(bot, ESCALATION)
    assert "共45项" in notice.plain_text
    assert "区财政局（第10项）" in notice.plain_text  # no contact: on the one line
    assert "潼南税务局" not in notice.plain_text  # done: not escalated


async def test_nudges_follow_a_contact_refused_in_the_tick_and_back_later_the_same_day(
    bot: BotHarness,
) -> None:
    await bot.register(2001, "区民政局")
    await bot.register(CONTACT, UNIT)
    # Tuesday 2026-01-06: nudges of the cycle from 2025-12-25 are due (nudge day 2026-01-04);
    # 2001 has blocked the bot, which the reminders of this very tick find out
    on(bot, 2026, 1, 6)
    bot.api.block_chat(2001)
    await tick(bot)
    assert sorted(m.chat_id for m in texts_with(bot, NUDGE)) == [CONTACT]
    with bot.svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=2001)
        assert contact is not None and contact.unreachable_reason is not None
    await quiet_tick(bot)
    # 2001 unblocks the bot and registers again (which clears the mark), the same day: the
    # nudge it missed goes out, once
    bot.api.unblock_chat(2001)
    await bot.register(2001, "区民政局")
    await tick(bot)
    assert sorted(m.chat_id for m in texts_with(bot, NUDGE)) == [2001, CONTACT]
    await quiet_tick(bot)
    bot.clock.advance(timedelta(days=1))
    await tick(bot)
    await tick(bot)
    assert sorted(m.chat_id for m in texts_with(bot, NUDGE)) == [2001, CONTACT]


@pytest.mark.parametrize("edit", ["swap lead and responsible", "plan title"])
async def test_a_task_file_reload_while_running_is_seen_at_once(bot: BotHarness, edit: str) -> None:
    """`taskbot init` with an edited task file while the bot runs (another connection):
    /task and the digest show the edit at once."""
    from db.engine import Database
    from db.seed import load_plan, read_task_file

    await tick(bot)
    plan = read_task_file()
    if edit == "plan title":
        plan = dataclasses.replace(plan, title="更正后的规划名称")
    else:
        last = plan.tasks[-1]
        assert last.number == 30 and last.lead_units == ("区发展改革委",)
        swapped = dataclasses.replace(
            last,
            lead_units=("区残联",),
            responsible_units=("区发展改革委", "区民政局", "区人力社保局", "各镇街"),
        )
        plan = dataclasses.replace(plan, tasks=(*plan.tasks[:-1], swapped))
    other = Database(bot.settings.database.url)
    try:
        with other.session() as s:
            load_plan(s, plan, now=bot.clock.now)
    finally:
        other.dispose()
    if edit == "plan title":
        posted = await reads.current_digest(bot.svc)
        assert "更正后的规划名称" in "\n".join(posted)
    else:
        since = len(bot.api.sent)
        bot.api.send_text(COORDINATOR, "/task 30")
        view = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
        assert "牵头单位：区残联" in view.plain_text


async def test_escalations_wait_while_no_coordinator_is_configured(bot: BotHarness) -> None:
    """Without coordinators the escalation records nothing, so a coordinator configured
    later still hears of the cases."""
    await bot.register(CONTACT, UNIT)
    on(bot, 2026, 1, 9)  # the 6th working day after 2025-12-31: the cases are due
    bot.decide_backlog()  # the plan's period has ended: a coordinator let the follow-up run
    await bot.restart(schedule={"tick_seconds": 3600}, telegram={"coordinators": []})
    assert await escalate_overdue(bot.app.bot, bot.svc) == 0
    with bot.svc.db.session() as s:
        assert not s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.ESCALATION)).all()
    await bot.restart(schedule={"tick_seconds": 3600})  # the coordinator is configured
    await tick(bot)
    [notice] = texts_with(bot, ESCALATION)
    assert notice.chat_id == COORDINATOR and "共46项" in notice.plain_text


async def test_state_reads_run_in_a_worker_thread_and_updates_are_answered_meanwhile(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not bot.svc.db.shared_across_threads:
        pytest.skip("an in-memory database is read inline")
    await bot.register(CONTACT, UNIT)
    reading, release = threading.Event(), threading.Event()
    threads: list[str] = []
    real: Callable[..., Any] = repo.load_state

    def held(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        if not reading.is_set():
            reading.set()
            release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(repo, "load_state", held)
    running = asyncio.create_task(bot.tick())
    await asyncio.to_thread(reading.wait, 10)
    assert reading.is_set()
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/help")  # answered on the event loop meanwhile
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert not running.done()
    release.set()
    await running
    assert threads and threading.main_thread().name not in threads


async def test_the_application_sets_the_garbage_collector_thresholds(bot: BotHarness) -> None:
    # a state read makes many short-lived objects: Python's default thresholds (700, 10, 10)
    # made hundreds of collections per large read, full ones stalling the event loop
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] >= 10_000

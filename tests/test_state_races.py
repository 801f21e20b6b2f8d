"""Reports stored while the state is being read in a worker thread (the event loop goes on
handling updates meanwhile) count for the tick that runs then: a tick that waited for the
start-up warm-up, or read the state again itself, reads the fingerprint anew afterwards.
Found by a break-it trial: with the warm-up's fingerprint reused, a unit that reported DONE
just before the tick was still reminded and escalated. Each case runs with and without the
report (`race`), so that it can fail only through the race."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot import delivery
from bot.demo import COORDINATOR
from db import repo
from jobs.types import Status
from tests.conftest import BotHarness

ESCALATION = "督办提醒"
UNIT = "潼南税务局"
CONTACT = 2002
TASK = 10  # the task of 潼南税务局 whose reminders and escalation the cases watch


def on(bot: BotHarness, year: int, month: int, day: int) -> None:
    """Move the clock to that day, keeping the time of day (09:30 local)."""
    bot.clock.set(bot.clock.now.replace(year=year, month=month, day=day))


async def tick(bot: BotHarness) -> None:
    await bot.tick()
    await bot.api.wait_idle(quiet=0.05)


def report(bot: BotHarness, task: int, unit: str, status: Status) -> None:
    """Store a report of `unit` on task number `task` directly (as a handler would)."""
    with bot.svc.db.session() as s:
        unit_row = repo.get_unit_by_name(s, name=unit)
        task_row = repo.get_task(s, number=task)
        assert unit_row is not None and task_row is not None
        repo.add_report(
            s,
            task_id=task_row.id or 0,
            unit_id=unit_row.id or 0,
            contact_id=None,
            reporter_user_id=CONTACT,
            status=status,
            note="已完成" if status is Status.DONE else "进展",
            now=bot.clock.now,
        )


def held_state_read(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the next `repo.load_state` wait, after reading, until released:
    returns (read, release)."""
    read, release = threading.Event(), threading.Event()
    real: Callable[..., Any] = repo.load_state

    def held(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if not read.is_set():
            read.set()
            release.wait(10)
        return result

    monkeypatch.setattr(repo, "load_state", held)
    return read, release


def escalated(bot: BotHarness, since: int) -> list[str]:
    """The lines of the first escalation sent since `since` about this unit's task."""
    notices = [m for m in bot.api.sent[since:] if ESCALATION in m.plain_text]
    assert notices, "an escalation is due"
    return [
        line
        for line in notices[0].plain_text.splitlines()
        if f"第 {TASK} 项" in line and UNIT in line
    ]


async def restart_with_held_warm_up(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, race: bool
) -> tuple[threading.Event, Any]:
    """Restart; with `race`, hold the warm-up's read and store a DONE report meanwhile
    (committed before the next tick starts); then start a tick. Returns (release, tick)."""
    read, release = held_state_read(monkeypatch)
    await bot.restart()
    if race:
        await asyncio.to_thread(read.wait, 10)
    else:
        release.set()
        await bot.svc.reminder_memo.warming
    report(bot, TASK, UNIT, Status.DONE)
    running = asyncio.create_task(bot.tick())  # e.g. the JobQueue's first tick
    await asyncio.sleep(0.2)
    return release, running


@pytest.mark.parametrize("race", [False, True])
async def test_a_tick_after_the_warm_up_does_not_escalate_a_unit_just_done(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, race: bool
) -> None:
    await bot.register(CONTACT, UNIT)
    on(bot, 2026, 1, 8)  # escalation not yet due; reminders and nudges go out
    await tick(bot)
    await tick(bot)
    on(bot, 2026, 1, 9)  # the 6th working day after 2025-12-31: escalation due
    since = len(bot.api.sent)
    release, running = await restart_with_held_warm_up(bot, monkeypatch, race)
    release.set()
    await running
    await bot.api.wait_idle(quiet=0.05)
    assert escalated(bot, since) == []


@pytest.mark.parametrize("race", [False, True])
async def test_a_tick_after_the_warm_up_does_not_remind_a_unit_just_done(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, race: bool
) -> None:
    await bot.register(CONTACT, UNIT)  # 2025-12-17 09:30: the 14-days-before reminder is due
    since = len(bot.api.sent)
    release, running = await restart_with_held_warm_up(bot, monkeypatch, race)
    release.set()
    await running
    await bot.api.wait_idle(quiet=0.05)
    sent = [m for m in bot.api.sent[since:] if m.chat_id == CONTACT and m.buttons]
    assert not [m for m in sent if f"第 {TASK} 项" in m.plain_text]


@pytest.mark.parametrize("race", [False, True])
async def test_a_report_stored_during_the_ticks_own_read_counts_for_its_escalation(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, race: bool
) -> None:
    await bot.register(CONTACT, UNIT)
    on(bot, 2026, 1, 8)
    await tick(bot)
    await tick(bot)
    on(bot, 2026, 1, 9)
    report(bot, 1, "区民政局", Status.IN_PROGRESS)  # the state changes: the tick reads it again
    read, release = held_state_read(monkeypatch)
    since = len(bot.api.sent)
    running = asyncio.create_task(bot.tick())
    await asyncio.to_thread(read.wait, 10)
    if race:  # reported while the tick's read is in flight
        report(bot, TASK, UNIT, Status.DONE)
    release.set()
    await running
    await bot.api.wait_idle(quiet=0.05)
    lines = escalated(bot, since)
    assert lines == [] if race else len(lines) == 1


@pytest.mark.parametrize("view", ["/task 3", "/unit 区残联", "/digest"])
async def test_views_during_the_ticks_digest_build_show_a_report_stored_meanwhile(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, view: str
) -> None:
    """While the tick builds the weekly digest in a worker thread, a report is stored and a
    view asked for: the view reads the fingerprint itself (the tick's is only the tick's)
    and shows the report. Found by a break-it trial (the view showed 未开始)."""
    building = threading.Event()
    real = delivery.build_current_digest

    def slow_build(svc: Any, state: Any = None) -> Any:  # a large plan: the build takes a while
        if state is not None and not building.is_set():
            building.set()
            time.sleep(0.5)
        return real(svc, state)

    monkeypatch.setattr(delivery, "build_current_digest", slow_build)
    tick = asyncio.create_task(bot.tick())  # the harness's first day: the digest is due
    assert await asyncio.to_thread(building.wait, 5)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/record 3 区残联 已完成 全部兑现")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已代" in m.plain_text, since=since
    )
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, view)
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    await bot.api.wait_idle(quiet=0.1)
    assert not tick.done(), "the digest build was not in progress"
    await tick
    text = "\n".join(m.plain_text for m in bot.api.sent[since:] if m.chat_id == COORDINATOR)
    if view.startswith("/task"):
        assert "区残联（🟢已完成）" in text
    elif view.startswith("/unit"):
        assert "已完成" in next(line for line in text.splitlines() if "第 3 项" in line)
    else:
        assert "第 3 项｜区残联｜未开始 → 已完成" in text
        assert "任务状态：已完成 1" in text and "🟢 1" in text

"""A tick that starts while the start-up warm-up is still reading reads a fingerprint of its
own afterwards: a unit's DONE report committed before the tick began is neither escalated
nor reminded (with the warm-up's fingerprint it was, found by a break-it trial)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from db import repo
from db.models import Status
from tests.conftest import BotHarness

ESCALATION = "督办提醒"


def on(bot: BotHarness, y: int, m: int, d: int) -> None:
    bot.clock.set(bot.clock.now.replace(year=y, month=m, day=d))


@pytest.mark.parametrize("race", [False, True])
async def test_done_report_before_tick_is_not_escalated(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, race: bool
) -> None:
    await bot.register(2002, "潼南税务局")
    with bot.svc.db.session() as s:
        unit = repo.get_unit_by_name(s, name="潼南税务局")
        task = repo.get_task(s, number=10)
        unit_id, task_id = unit.id, task.id
    on(bot, 2026, 1, 8)  # escalation not yet due; reminders, nudges go out
    await bot.tick()
    await bot.api.wait_idle(quiet=0.05)
    await bot.tick()
    await bot.api.wait_idle(quiet=0.05)
    on(bot, 2026, 1, 9)  # 6th working day after 2025-12-31: escalation due

    loaded = threading.Event()
    release = threading.Event()
    real = repo.load_state

    def slow_load(*a: Any, **k: Any) -> Any:
        result = real(*a, **k)
        if k.get("since") is None and race and not loaded.is_set():
            loaded.set()
            release.wait(10)  # the warm-up's read is done, the warm-up still running
        return result

    monkeypatch.setattr(repo, "load_state", slow_load)
    await bot.restart()
    if race:
        await asyncio.to_thread(loaded.wait, 10)
    else:
        await bot.svc.reminder_memo.warming
    # 潼南税务局 reports task 10 done (committed before the tick starts)
    with bot.svc.db.session() as s:
        repo.add_report(
            s,
            task_id=task_id,
            unit_id=unit_id,
            contact_id=None,
            reporter_user_id=2002,
            status=Status.DONE,
            note="已完成",
            now=bot.clock.now,
        )
    since = len(bot.api.sent)
    tick = asyncio.create_task(bot.tick())  # e.g. the JobQueue's first tick, 1 s after start
    await asyncio.sleep(0.2)
    release.set()
    await tick
    await bot.api.wait_idle(quiet=0.05)
    notices = [m for m in bot.api.sent[since:] if ESCALATION in m.plain_text]
    assert notices
    bad = [
        line
        for line in notices[0].plain_text.splitlines()
        if "第 10 项" in line and "潼南税务局" in line
    ]
    assert bad == [], f"escalated a unit that reported DONE before the tick: {bad}"


@pytest.mark.parametrize("race", [False, True])
async def test_done_report_before_tick_gets_no_reminder(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, race: bool
) -> None:
    await bot.register(2002, "潼南税务局")  # 2025-12-17 09:30: 14-day reminders are due
    with bot.svc.db.session() as s:
        unit = repo.get_unit_by_name(s, name="潼南税务局")
        task = repo.get_task(s, number=10)
        unit_id, task_id = unit.id, task.id
    loaded = threading.Event()
    release = threading.Event()
    real = repo.load_state

    def slow_load(*a: Any, **k: Any) -> Any:
        result = real(*a, **k)
        if k.get("since") is None and race and not loaded.is_set():
            loaded.set()
            release.wait(10)
        return result

    monkeypatch.setattr(repo, "load_state", slow_load)
    await bot.restart()
    if race:
        await asyncio.to_thread(loaded.wait, 10)
    else:
        await bot.svc.reminder_memo.warming
    with bot.svc.db.session() as s:
        repo.add_report(
            s,
            task_id=task_id,
            unit_id=unit_id,
            contact_id=None,
            reporter_user_id=2002,
            status=Status.DONE,
            note="已完成",
            now=bot.clock.now,
        )
    since = len(bot.api.sent)
    tick = asyncio.create_task(bot.tick())
    await asyncio.sleep(0.2)
    release.set()
    await tick
    await bot.api.wait_idle(quiet=0.05)
    sent = [m for m in bot.api.sent[since:] if m.chat_id == 2002 and m.buttons]
    # only task 10 is due for this unit at T0
    assert not [m for m in sent if "第 10 项" in m.plain_text], "reminded a task reported DONE"

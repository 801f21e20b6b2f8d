"""After a start the bot reads the follow-up state, the day's reminder candidates and the
ledger's settled keys in a worker thread (`bot.delivery.warm_up`), so that the first tick is
as quick as any later one, and every later read of the state happens off the event loop
while updates go on being handled."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot import delivery
from bot.context import ReminderMemo
from db import repo
from db.engine import Database
from db.models import Reminder
from standin.harness import COORDINATOR
from tests.conftest import BotHarness

UNIT = "潼南税务局"
CONTACT = 2002


def counting(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    *,
    before: Callable[[], None] | None = None,
) -> Counter[str]:
    """Count calls of `repo.<name>` by the thread that made them ("loop" or "worker"),
    running `before` first in each call."""
    calls: Counter[str] = Counter()
    real = getattr(repo, name)
    loop_thread = threading.get_ident()

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls["loop" if threading.get_ident() == loop_thread else "worker"] += 1
        if before is not None:
            before()
        return real(*args, **kwargs)

    monkeypatch.setattr(repo, name, counted)
    return calls


async def warmed(bot: BotHarness) -> None:
    warming = bot.svc.reminder_memo.warming
    assert warming is not None, "post_init starts the warm-up"
    await warming


async def test_after_a_restart_the_first_tick_reads_neither_state_nor_whole_ledger(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.register(CONTACT, UNIT)
    await bot.tick()  # 09:30 on a working day: this unit's current reminders go out
    await bot.api.wait_idle(quiet=0.05)
    sent = [m for m in bot.api.sent if m.chat_id == CONTACT and m.buttons]
    assert sent, "the unit has reminders due"
    with bot.svc.db.session() as s:
        ledger_keys = {r.key for r in s.exec(select(Reminder)).all()}
    await bot.restart()
    await warmed(bot)
    memo = bot.svc.reminder_memo
    with bot.svc.db.session() as s:
        assert memo.state == repo.load_state(s)
    loads = counting(monkeypatch, "load_state")
    assert memo.candidates is not None and memo.candidates[0] == bot.clock.now.date()
    assert memo.settled == ledger_keys == {c.key for c in memo.candidates[1]}
    # the first tick: one fingerprint, no state, no ledger question, nothing sent twice
    asked = counting(monkeypatch, "sent_reminder_keys")
    before = len(bot.api.sent)
    await bot.tick()
    await bot.api.wait_idle(quiet=0.05)
    assert [m for m in bot.api.sent[before:] if m.buttons] == []
    assert loads == Counter()
    assert asked == Counter()


async def test_state_reads_run_in_a_worker_thread_and_updates_are_answered_meanwhile(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await warmed(bot)
    await bot.register(CONTACT, UNIT)  # a registration changes the fingerprint
    reading = threading.Event()
    release = threading.Event()

    def slow() -> None:
        reading.set()
        release.wait(10)

    loads = counting(monkeypatch, "load_state", before=slow)
    periods = counting(monkeypatch, "load_period")  # the weekly digest is due too
    tick = asyncio.create_task(bot.tick())
    await asyncio.to_thread(reading.wait, 10)
    assert reading.is_set()
    # the state is being read: the bot still answers a command on the event loop
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/help")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert not tick.done()
    release.set()
    await tick
    assert loads == Counter({"worker": 1})
    assert periods == Counter({"worker": 1})  # the digest is built from the state read


async def test_ticks_wait_for_a_warm_up_still_running_instead_of_reading_again(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await warmed(bot)
    await bot.register(CONTACT, UNIT)
    release = threading.Event()
    loads = counting(monkeypatch, "load_state", before=lambda: release.wait(10))
    found: list[int] = []
    real_candidates = delivery.reminder_candidates

    def candidates(*args: Any) -> Any:
        found.append(threading.get_ident())
        return real_candidates(*args)

    monkeypatch.setattr(delivery, "reminder_candidates", candidates)
    delivery.start_warm_up(bot.svc)  # as post_init does
    waiting = [
        asyncio.create_task(bot.tick()),
        asyncio.create_task(delivery.escalate_overdue(bot.app.bot, bot.svc)),
        asyncio.create_task(delivery.nudge_silent_units(bot.app.bot, bot.svc)),
    ]
    await asyncio.sleep(0.2)
    assert not any(t.done() for t in waiting)
    release.set()
    await asyncio.gather(*waiting)
    assert loads == Counter({"worker": 1})
    # the day's candidates too are found once, by the warm-up, off the event loop
    assert len(found) == 1 and found[0] != threading.get_ident()
    await bot.api.wait_idle(quiet=0.05)
    reminders = [m for m in bot.api.sent if m.chat_id == CONTACT and m.buttons]
    assert len(reminders) == len({m.plain_text for m in reminders}) > 0  # each once


async def test_a_failed_warm_up_is_logged_and_the_first_tick_reads_for_itself(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.register(CONTACT, UNIT)
    failures = iter([OperationalError("SELECT", {}, Exception("database is locked"))])

    def fail_once() -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure

    loads = counting(monkeypatch, "load_state", before=fail_once)
    await bot.restart()
    await warmed(bot)
    assert "warm-up after start failed" in caplog.text
    assert bot.svc.reminder_memo.state is None
    await bot.tick()
    await bot.api.wait_idle(quiet=0.05)
    assert loads == Counter({"worker": 2})
    assert [m for m in bot.api.sent if m.chat_id == CONTACT and m.buttons]


async def test_a_stop_during_the_warm_up_closes_the_database_after_its_read(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await warmed(bot)
    finished: list[float] = []
    began = threading.Event()

    def slow() -> None:
        began.set()
        time.sleep(0.5)
        finished.append(time.monotonic())

    counting(monkeypatch, "load_state", before=slow)
    await bot.restart()  # its warm-up reads for half a second once the bot polls
    assert await asyncio.to_thread(began.wait, 5)
    database = bot.svc.db
    disposed: list[float] = []
    real_dispose = database.dispose

    def dispose() -> None:
        disposed.append(time.monotonic())
        real_dispose()

    monkeypatch.setattr(database, "dispose", dispose)
    await bot.restart()  # stops the first while its warm-up still reads
    assert finished and disposed
    assert disposed[0] >= finished[0]


async def test_the_warm_up_reads_only_once_the_bot_polls_and_not_when_stopped_before(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """post_init starts the warm-up before the application polls: its read would compete
    with setMyCommands and the first getUpdates, so it waits for `started`; a bot stopped
    before it began reads nothing, and its shutdown does not wait for the start."""
    await warmed(bot)
    await bot.register(CONTACT, UNIT)  # the fingerprint changed: a warm-up would read
    loads = counting(monkeypatch, "load_state")
    polling = False
    delivery.start_warm_up(bot.svc, started=lambda: polling)
    await asyncio.sleep(0.1)
    assert loads == Counter()
    polling = True
    await warmed(bot)
    assert loads == Counter({"worker": 1})
    await bot.register(CONTACT + 1, UNIT)
    delivery.start_warm_up(bot.svc, started=lambda: False)
    started = time.monotonic()
    await delivery.finish_warm_up(bot.svc)  # as post_shutdown does
    assert time.monotonic() - started < 1  # not the whole WARM_UP_WAIT
    assert loads == Counter({"worker": 1})
    bot.svc.reminder_memo.stopping = False  # the harness's bot goes on


async def test_off_the_loop_reads_an_in_memory_database_inline(tmp_path: Any) -> None:
    """Inline for an in-memory database; in a worker thread otherwise, after which a running
    tick's remembered fingerprint is dropped (handlers ran meanwhile)."""
    database = Database("sqlite://")
    try:
        svc: Any = type("Svc", (), {"db": database, "reminder_memo": ReminderMemo()})()
        svc.reminder_memo.tick_version = ("fingerprint",)
        assert await delivery.off_the_loop(svc, threading.get_ident) == threading.get_ident()
        assert svc.reminder_memo.tick_version == ("fingerprint",)  # nothing ran meanwhile
    finally:
        database.dispose()
    file_database = Database(f"sqlite:///{tmp_path / 'file.sqlite3'}")
    try:
        svc = type("Svc", (), {"db": file_database, "reminder_memo": ReminderMemo()})()
        svc.reminder_memo.tick_version = ("fingerprint",)
        assert await delivery.off_the_loop(svc, threading.get_ident) != threading.get_ident()
        assert svc.reminder_memo.tick_version is None
    finally:
        file_database.dispose()


async def test_frozen_objects_are_collected_fully_once_a_day_at_night_only(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await warmed(bot)
    unfrozen: list[int] = []
    real_unfreeze = gc.unfreeze
    monkeypatch.setattr(delivery.gc, "unfreeze", lambda: (unfrozen.append(1), real_unfreeze())[1])
    await bot.register(CONTACT, UNIT)  # the next tick reads the state again
    await bot.tick()  # 09:30 local: sending hours; the read freezes, never unfreezes
    assert unfrozen == []
    assert gc.get_freeze_count() > 0
    bot.clock.advance(timedelta(hours=13))  # 22:30 local
    await bot.tick()
    assert unfrozen == [1]
    assert gc.get_freeze_count() > 0  # what survived is frozen again
    bot.clock.advance(timedelta(hours=1))
    await bot.tick()
    assert unfrozen == [1]  # once a day
    bot.clock.advance(timedelta(hours=2))  # 01:30 the next day, before sending hours
    await bot.tick()
    assert unfrozen == [1, 1]

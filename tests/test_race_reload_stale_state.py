"""A report stored while the tick's own reload runs in the worker thread (the event loop
handles updates meanwhile) counts for the escalation of the same tick: after an awaited read
the tick's next step reads the fingerprint anew, as after a send (`_tick_acts`)."""

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
async def test_report_during_reload_counts_for_escalation(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, race: bool
) -> None:
    await bot.register(2002, "潼南税务局")
    with bot.svc.db.session() as s:
        unit_id = repo.get_unit_by_name(s, name="潼南税务局").id
        task_id = repo.get_task(s, number=10).id
        other = repo.get_unit_by_name(s, name="区民政局").id
        task1 = repo.get_task(s, number=1).id
    on(bot, 2026, 1, 8)
    await bot.tick()
    await bot.api.wait_idle(quiet=0.05)
    await bot.tick()
    await bot.api.wait_idle(quiet=0.05)
    on(bot, 2026, 1, 9)
    # something changes the state, so the next tick reads it again
    with bot.svc.db.session() as s:
        repo.add_report(
            s,
            task_id=task1,
            unit_id=other,
            contact_id=None,
            reporter_user_id=1,
            status=Status.IN_PROGRESS,
            note="x",
            now=bot.clock.now,
        )
    loaded, release = threading.Event(), threading.Event()
    real = repo.load_state

    def slow(*a: Any, **k: Any) -> Any:
        result = real(*a, **k)
        if k.get("since") is None and not loaded.is_set():
            loaded.set()
            release.wait(10)
        return result

    monkeypatch.setattr(repo, "load_state", slow)
    since = len(bot.api.sent)
    tick = asyncio.create_task(bot.tick())
    await asyncio.to_thread(loaded.wait, 10)
    if race:  # 潼南税务局 reports task 10 done while the tick's state read is in flight
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
    release.set()
    await tick
    await bot.api.wait_idle(quiet=0.05)
    sent = bot.api.sent[since:]
    notices = [m for m in sent if ESCALATION in m.plain_text]
    assert notices
    bad = [
        line
        for line in notices[0].plain_text.splitlines()
        if "第 10 项" in line and "潼南税务局" in line
    ]
    if race:
        assert bad == [], f"escalated a unit that reported DONE before the step: {bad}"

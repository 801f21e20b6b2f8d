"""How often one minute tick reads the follow-up state: once when it sends nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from db import repo
from tests.conftest import BotHarness

CONTACT, UNIT = 2002, "潼南税务局"  # 潼南税务局 leads task 10 with 区财政局


async def test_a_quiet_tick_reads_the_state_once_for_all_its_steps(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.register(CONTACT, UNIT)
    # 2026-01-09 09:30: a working day in sending hours, escalations due (6th working day
    # after 2025-12-31) and past the reporting cycle's nudge day: every step reads
    bot.clock.set(bot.clock.now.replace(year=2026, month=1, day=9))
    await bot.tick()  # reminders, escalations and nudges go out
    await bot.api.wait_idle(quiet=0.05)
    reads: list[int] = []
    real = repo.load_state

    def counted(session: Any) -> Any:
        reads.append(1)
        return real(session)

    monkeypatch.setattr(repo, "load_state", counted)
    bot.clock.set(bot.clock.now + timedelta(minutes=1))
    since = len(bot.api.sent)
    await bot.tick()
    await bot.api.wait_idle(quiet=0.05)
    assert bot.api.sent[since:] == []
    assert len(reads) == 1

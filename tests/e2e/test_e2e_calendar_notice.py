"""End to end through the stand-in: the coordinators are told, once and in plain words, that
next year's 调休 arrangement is not in the holiday data yet (the package's years end in 2026)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from standin.harness import COORDINATOR
from tests.conftest import BotHarness


def calendar_notices(bot: BotHarness) -> list[str]:
    return [m.plain_text for m in bot.api.messages_to(COORDINATOR) if "调休安排" in m.plain_text]


async def test_the_missing_2027_arrangement_is_told_once_in_a_coordinators_words(
    bot: BotHarness,
) -> None:
    monday = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    for day in range(4):  # it shares the coordinators' one message a day: it may wait a day
        bot.clock.set(monday + timedelta(days=day))
        await bot.tick()
        await bot.api.wait_idle()
    [notice] = calendar_notices(bot)
    assert "2027年的放假调休安排尚未录入本助手" in notice
    # no configuration keys or package names: the coordinator passes it on to the maintainer
    for word in ("holidays", "extra_workdays", "[calendar]", "软件包"):
        assert word not in notice

"""The weekly digest's picture (bot/chart.py) goes to the committee group through the
stand-in's sendPhoto, after the digest's text, once, even across a restart; without the CJK
font the digest goes out without it and the log says why once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import chart
from db.models import Delivery
from jobs.types import DeliveryKind, DeliveryOutcome
from standin.harness import GROUP
from standin.records import SentMessage
from tests.conftest import BotHarness

pytestmark = pytest.mark.slow

CAPTION = "🚦 各牵头单位红黄绿灯（2025年12月17日）"


@pytest.fixture
def bot_settings_overrides() -> dict[str, Any]:
    """The picture on (the stand-in's settings leave it off for the other tests)."""
    return {"schedule": {"tick_seconds": 3600}, "follow_up": {"digest_chart": True}}


@pytest.fixture(autouse=True)
def fresh_font() -> Iterator[None]:
    chart.reset_font()
    yield
    chart.reset_font()


def photos(bot: BotHarness) -> list[SentMessage]:
    return [m for m in bot.api.messages_to(GROUP) if m.method == "sendPhoto"]


def digest_texts(bot: BotHarness) -> list[SentMessage]:
    return [m for m in bot.api.messages_to(GROUP) if m.method == "sendMessage"]


def digest_row(bot: BotHarness) -> Delivery:
    with bot.svc.db.session() as s:
        [row] = s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.DIGEST)).all()
        return row


async def test_the_weekly_digest_carries_its_chart_once_across_a_restart(bot: BotHarness) -> None:
    await bot.tick()  # 2025-12-17: this week's digest is due
    photo = await bot.api.wait_for(
        lambda m: m.chat_id == GROUP and m.method == "sendPhoto", timeout=30
    )
    await bot.api.wait_idle(quiet=0.2)
    assert photo.plain_text == CAPTION
    assert photo.file_content is not None and photo.file_content.startswith(b"\x89PNG")
    assert len(photo.file_content) > 20_000  # a drawn chart, not an empty canvas
    texts = digest_texts(bot)
    assert texts and texts[0].plain_text.startswith("📊")
    assert bot.api.messages_to(GROUP)[-1] is photo  # after the text it illustrates
    row = digest_row(bot)
    assert row.outcome == DeliveryOutcome.SENT and row.parts_sent == len(texts) + 1
    await bot.restart()
    bot.clock.advance(timedelta(minutes=1))
    await bot.tick()
    bot.clock.advance(timedelta(hours=2))
    await bot.tick()
    await bot.api.wait_idle(quiet=0.2)
    assert photos(bot) == [photo]
    assert len(digest_texts(bot)) == len(texts)


async def test_a_restart_between_the_text_and_the_chart_sends_each_once(bot: BotHarness) -> None:
    # the application starts stopping once the text went out: the chart is left for later
    bot.svc.stop_requested = lambda: len(digest_texts(bot)) >= 1
    await bot.tick()
    await bot.api.wait_for(lambda m: m.chat_id == GROUP)
    await bot.api.wait_idle(quiet=0.2)
    assert photos(bot) == []
    texts = digest_texts(bot)
    row = digest_row(bot)
    assert (row.outcome, row.parts_sent) == (DeliveryOutcome.RETRY, len(texts))
    await bot.restart()
    bot.clock.advance(timedelta(minutes=1))
    await bot.tick()
    await bot.api.wait_for(lambda m: m.chat_id == GROUP and m.method == "sendPhoto", timeout=30)
    bot.clock.advance(timedelta(minutes=5))
    await bot.tick()
    await bot.api.wait_idle(quiet=0.2)
    assert len(photos(bot)) == 1
    assert [m.text for m in digest_texts(bot)] == [m.text for m in texts]
    assert digest_row(bot).outcome == DeliveryOutcome.SENT


async def test_without_the_font_the_digest_goes_out_without_its_chart_and_one_log_line(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(chart, "FONT_MODULE", "no_such_font_package")
    caplog.set_level(logging.INFO)
    await bot.tick()
    await bot.api.wait_for(lambda m: m.chat_id == GROUP)
    await bot.api.wait_idle(quiet=0.2)
    sent = len(bot.api.messages_to(GROUP))
    assert sent >= 1 and photos(bot) == []
    row = digest_row(bot)
    assert row.outcome == DeliveryOutcome.SENT and row.parts_sent == sent
    # next week's digest: still no chart, and nothing more in the log about it
    bot.clock.set(bot.clock.now.replace(day=22, hour=1, minute=5))  # Monday 09:05
    since = len(bot.api.sent)
    await bot.tick()
    await bot.api.wait_for(lambda m: m.chat_id == GROUP, since=since)
    await bot.api.wait_idle(quiet=0.2)
    assert len(bot.api.messages_to(GROUP)) > sent and photos(bot) == []
    lines = [r.getMessage() for r in caplog.records if "CJK font" in r.getMessage()]
    assert len(lines) == 1 and "without its picture" in lines[0]

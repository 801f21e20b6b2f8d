"""The weekly digest in the committee's DingTalk and WeCom groups: the real application
posting to local stand-ins of both group robot APIs (signature, sizes and rate checked by
them), exactly once across a restart, certain failures retried, secrets kept out of logs,
and `taskbot channels test`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from bot.cli import main, setup_logging
from bot.webhooks import (
    DINGTALK,
    WECOM,
    Robot,
    new_limiter,
    post,
    post_weekly_webhook_digests,
    text_message,
    webhook_secrets,
)
from db.models import Delivery
from jobs.types import DeliveryKind, DeliveryOutcome
from standin.dingtalk import DingTalkStandIn
from standin.harness import COORDINATOR, GROUP, MutableClock
from standin.wecom import WeComStandIn
from tests.conftest import BotHarness
from tests.e2e.test_reliability import LONG_DIGEST, big_plan

SECRET = "SECb3f1c0ffee0123456789abcdef0123456789abcdef0123456789abcdef01"
PNG = b"\x89PNG\r\n\x1a\n" + b"chart" * 100


@pytest.fixture
async def robots(clock: MutableClock) -> AsyncIterator[tuple[DingTalkStandIn, WeComStandIn]]:
    """A signed DingTalk robot and a WeCom robot, both judging timestamps by the bot's clock."""
    ms = lambda: clock.now.timestamp() * 1000  # noqa: E731
    async with (
        DingTalkStandIn(token="dingtalk-token-0123456789", secret=SECRET, clock_ms=ms) as dt,
        WeComStandIn(token="wecom-key-0123456789abcdef", clock_ms=ms) as wc,
    ):
        yield dt, wc


def robot_settings(dt: DingTalkStandIn, wc: WeComStandIn, **more: Any) -> dict[str, Any]:
    return {
        "schedule": {"tick_seconds": 3600},
        "dingtalk": {"webhook": dt.webhook, "secret": SECRET},
        "wecom": {"webhook": wc.webhook},
        "follow_up": {"digest_chart": True},
        **more,
    }


async def start_with(bot: BotHarness, dt: DingTalkStandIn, wc: WeComStandIn, **more: Any) -> None:
    """Restart the bot with both robots configured; their limiters fast (a test's minute is
    not waited out; `test_the_limiter_keeps_a_robot_within_its_rate` checks the pacing)."""
    await bot.restart(**robot_settings(dt, wc, **more))
    for stand_in, channel in ((dt, DINGTALK), (wc, WECOM)):
        bot.svc.webhook_limiters[Robot(channel, stand_in.webhook).fingerprint] = new_limiter(0.5)


def webhook_rows(bot: BotHarness) -> list[Delivery]:
    with bot.svc.db.session() as s:
        stmt = select(Delivery).where(col(Delivery.channel).in_([DINGTALK, WECOM]))
        return list(s.exec(stmt.order_by(Delivery.id)).all())


def monday(bot: BotHarness) -> None:
    """Monday 2025-12-22 09:00 local: the weekly digest is due."""
    bot.clock.set(bot.clock.now.replace(day=22, hour=1, minute=0))


async def test_weekly_digest_reaches_both_groups_exactly_once_across_a_restart(
    bot: BotHarness, robots: tuple[DingTalkStandIn, WeComStandIn]
) -> None:
    dt, wc = robots
    await start_with(bot, dt, wc)
    monday(bot)
    await bot.tick()
    await bot.api.wait_for(lambda m: m.chat_id == GROUP and "督办汇总" in m.plain_text)
    await bot.api.wait_idle()
    assert len(dt.posts) == 1 and len(wc.texts()) == 1
    # the chart the bot drew goes to WeCom as an image after the text (DingTalk needs a URL)
    [chart] = wc.images()
    assert chart.startswith(b"\x89PNG") and wc.posts[-1]["msgtype"] == "image"
    [dt_text], [wc_text] = dt.texts(), wc.texts()
    assert "<chart>" not in dt_text + wc_text
    for text in (dt_text, wc_text):
        assert text.startswith("**📊 残工委重点任务督办汇总**")
        assert "<b>" not in text and "&lt;" not in text
    assert dt.posts[0]["markdown"]["title"] == "残工委重点任务督办汇总"
    # the signature was checked: the signed request carried timestamp and sign
    assert {"timestamp", "sign"} <= set(dt.requests[0].query)
    rows = webhook_rows(bot)
    assert [(r.channel, r.kind, r.outcome) for r in rows] == [
        (DINGTALK, DeliveryKind.DIGEST, DeliveryOutcome.SENT),
        (WECOM, DeliveryKind.DIGEST, DeliveryOutcome.SENT),
    ]
    for row, stand_in in zip(rows, (dt, wc), strict=True):
        assert row.destination == Robot(row.channel, stand_in.webhook).fingerprint
        assert row.key.startswith("digest:2025-W52:") and row.key.endswith(row.destination)
        assert stand_in.token not in f"{row.key} {row.destination} {row.body} {row.error}"
    # a restart, a tick and another a minute later: nothing again
    await bot.restart(**robot_settings(dt, wc))
    await bot.tick()
    bot.clock.advance(timedelta(seconds=61))
    await bot.tick()
    await bot.api.wait_idle()
    assert len(dt.posts) == 1 and len(wc.texts()) == 1
    # in Telegram too the week's digest went out once: its text and its chart
    assert [m.method for m in bot.api.messages_to(GROUP)] == ["sendMessage", "sendPhoto"]
    assert len(wc.images()) == 1
    # the next week's digest goes out again, once
    bot.clock.advance(timedelta(days=7))
    await bot.tick()
    await bot.tick()
    assert len(dt.posts) == 2 and len(wc.texts()) == 2


async def test_a_rate_limit_and_a_5xx_are_retried_a_minute_later_once(
    bot: BotHarness, robots: tuple[DingTalkStandIn, WeComStandIn]
) -> None:
    dt, wc = robots
    await start_with(bot, dt, wc)
    monday(bot)
    dt.fail_next(errcode=130101, errmsg="send too fast, exceed 20 times per minute")
    wc.fail_next(status=502)
    await bot.tick()
    assert not dt.posts and not wc.posts
    rows = webhook_rows(bot)
    assert [r.outcome for r in rows] == [DeliveryOutcome.RETRY, DeliveryOutcome.RETRY]
    assert rows[0].error is not None and "130101" in rows[0].error
    assert rows[1].error == "HTTP 502"
    told = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "未能推送到企业微信群" in m.plain_text
    )
    assert "HTTP 502" in told.plain_text and "将自动重试" in told.plain_text
    await bot.api.wait_idle()
    await bot.tick()  # within the backoff: not yet
    assert not dt.posts and not wc.posts
    bot.clock.advance(timedelta(seconds=61))
    await bot.tick()
    await bot.tick()
    await bot.api.wait_idle()
    assert len(dt.posts) == 1 and len(wc.texts()) == 1
    notices = [m for m in bot.api.messages_to(COORDINATOR) if "未能推送到" in m.plain_text]
    assert sorted("钉钉群" in m.plain_text for m in notices) == [False, True]  # once each
    assert [r.outcome for r in webhook_rows(bot)] == [DeliveryOutcome.SENT] * 2
    assert [r.attempts for r in webhook_rows(bot)] == [2, 2]


async def test_a_timeout_after_sending_is_uncertain_and_never_resent(
    bot: BotHarness, robots: tuple[DingTalkStandIn, WeComStandIn], monkeypatch: Any
) -> None:
    dt, wc = robots
    await start_with(bot, dt, wc)
    monday(bot)
    real_post = httpx.AsyncClient.post

    async def post_then_time_out(self: httpx.AsyncClient, url: str, **kwargs: Any) -> Any:
        await real_post(self, url, **kwargs)  # it arrives, the answer does not
        raise httpx.ReadTimeout("timed out")

    monkeypatch.setattr(httpx.AsyncClient, "post", post_then_time_out)
    await bot.tick()
    monkeypatch.undo()
    assert [r.outcome for r in webhook_rows(bot)] == [DeliveryOutcome.UNCERTAIN] * 2
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "推送到钉钉群的结果不确定" in m.plain_text
    )
    bot.clock.advance(timedelta(minutes=5))
    await bot.tick()
    assert len(dt.posts) == 1 and len(wc.posts) == 1


async def test_a_long_digest_is_split_within_each_limit_and_the_chart_goes_to_wecom(
    bot: BotHarness, robots: tuple[DingTalkStandIn, WeComStandIn], tmp_path: Path
) -> None:
    dt, wc = robots
    await start_with(bot, dt, wc, tasks={"file": str(big_plan(tmp_path))}, follow_up=LONG_DIGEST)
    monday(bot)
    assert await post_weekly_webhook_digests(bot.svc, png=PNG) == 2
    wc_texts, dt_texts = wc.texts(), dt.texts()
    assert len(wc_texts) >= 3 and 1 <= len(dt_texts) < len(wc_texts)
    assert all(len(t.encode()) <= 4096 for t in wc_texts)
    assert all(len(t.encode()) <= 20000 for t in dt_texts)
    for index, text in enumerate(wc_texts[1:], start=2):
        assert text.startswith(f"（续 {index}/{len(wc_texts)}）")
    for texts_ in (wc_texts, dt_texts):
        joined = "\n".join(texts_)
        assert [joined.count(f"第{n}号测试牵头单位") for n in (1, 100, 200)] == [1, 1, 1]
    assert wc.images() == [PNG] and wc.posts[-1]["msgtype"] == "image"
    assert all(body["msgtype"] == "markdown" for body in dt.posts)
    [dt_row, wc_row] = webhook_rows(bot)
    assert (dt_row.parts_sent, wc_row.parts_sent) == (len(dt_texts), len(wc_texts))
    assert not [r for r in wc.requests + dt.requests if r.errcode not in (0, None)]


async def test_an_interrupted_post_resumes_at_the_next_part(
    bot: BotHarness, robots: tuple[DingTalkStandIn, WeComStandIn], tmp_path: Path
) -> None:
    dt, wc = robots
    await start_with(bot, dt, wc, tasks={"file": str(big_plan(tmp_path))}, follow_up=LONG_DIGEST)
    monday(bot)
    await post_weekly_webhook_digests(bot.svc)  # sent whole: how many parts it takes
    whole = wc.texts()
    wc.posts.clear()
    bot.clock.advance(timedelta(days=7))
    # the second part fails; the rest resumes after the restart, none twice
    real_post = httpx.AsyncClient.post
    calls = 0

    async def fail_second(self: httpx.AsyncClient, url: str, **kwargs: Any) -> Any:
        nonlocal calls
        calls += "key=" in url  # WeCom's
        if calls == 2 and "key=" in url:
            raise httpx.ConnectError("connection refused")
        return await real_post(self, url, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx.AsyncClient, "post", fail_second)
        await post_weekly_webhook_digests(bot.svc)
    [row] = [r for r in webhook_rows(bot) if r.channel == WECOM and "W01" in r.key]
    assert (row.outcome, row.parts_sent) == (DeliveryOutcome.RETRY, 1)
    await start_with(bot, dt, wc, tasks={"file": str(big_plan(tmp_path))}, follow_up=LONG_DIGEST)
    bot.clock.advance(timedelta(seconds=61))
    await post_weekly_webhook_digests(bot.svc)
    assert len(wc.texts()) == len(whole)
    assert [t.split("\n\n", 1)[0] for t in wc.texts()[1:]] == [
        f"（续 {i}/{len(whole)}）" for i in range(2, len(whole) + 1)
    ]


async def test_the_limiter_keeps_a_robot_within_its_rate(clock: MutableClock) -> None:
    """25 posts at once to a robot that takes 20 a window (1.5 s here): paced by the
    limiter, none is refused; without it, the robot refuses the excess."""
    window = 1.5
    async with (
        WeComStandIn(window_seconds=window) as paced,
        WeComStandIn(window_seconds=window) as unpaced,
    ):
        now = datetime.now(UTC)
        async with httpx.AsyncClient() as client:
            robot = Robot(WECOM, paced.webhook)
            limiter = new_limiter(window)
            body = text_message(robot, "测试")
            results = await asyncio.gather(
                *(post(client, robot, body, limiter, now) for _ in range(25))
            )
            assert all(r.outcome == DeliveryOutcome.SENT for r in results)
            assert len(paced.posts) == 25
            other = Robot(WECOM, unpaced.webhook)
            loose = new_limiter(window / 1000)
            results = await asyncio.gather(
                *(post(client, other, body, loose, now) for _ in range(25))
            )
    refused = [r for r in results if r.outcome == DeliveryOutcome.RETRY]
    assert refused and all("45009" in (r.error or "") for r in refused)
    assert len(unpaced.posts) == 20


async def test_webhook_secrets_never_reach_a_log(
    bot: BotHarness,
    robots: tuple[DingTalkStandIn, WeComStandIn],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dt, wc = robots
    await start_with(bot, dt, wc)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        setup_logging("DEBUG", bot.settings.token, *webhook_secrets(bot.settings))
        logging.getLogger("httpx").setLevel(logging.DEBUG)  # it logs each request's URL
        root.addHandler(caplog.handler)  # what our own modules log, before any filter
        caplog.set_level(logging.DEBUG)
        monday(bot)
        dt.fail_next(errcode=310000, errmsg=f"sign not match for {SECRET}")
        await bot.tick()
        bot.clock.advance(timedelta(seconds=61))
        await bot.tick()
        assert len(dt.posts) == 1 and len(wc.texts()) == 1
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("httpx").setLevel(logging.WARNING)
    printed = capsys.readouterr().err
    assert "HTTP Request: POST" in printed  # the URLs were logged, redacted
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert any("weekly digest to dingtalk sent" in m for m in ours)
    told = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "未能推送到钉钉群" in m.plain_text
    )
    assert "310000" in told.plain_text
    chat = " ".join(m.text for m in bot.api.sent)
    for secret in (dt.token, wc.token, SECRET, dt.webhook, wc.webhook):
        assert secret not in printed
        assert secret not in chat
        assert not [m for m in ours if secret in m]


async def test_channels_test_posts_to_each_configured_robot(
    robots: tuple[DingTalkStandIn, WeComStandIn],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dt, wc = robots
    dt.clock_ms = wc.clock_ms = None  # the command signs with the real time
    config = tmp_path / "config.toml"
    config.write_text(
        f'[dingtalk]\nwebhook = "{dt.webhook}"\nsecret = "{SECRET}"\n', encoding="utf-8"
    )
    monkeypatch.setenv("WECOM_WEBHOOK", wc.webhook)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        code = await asyncio.to_thread(main, ["channels", "test", "--config", str(config)])
        assert code == 0
        out, err = capsys.readouterr()
        assert len(dt.posts) == 1 and len(wc.posts) == 1
        assert "测试消息" in dt.texts()[0] and "测试消息" in wc.texts()[0]
        assert out.count("test message posted") == 2
        # a wrong secret: refused by the robot, said so, exit 1, nothing secret printed
        config.write_text(
            f'[dingtalk]\nwebhook = "{dt.webhook}"\nsecret = "SECwrong"\n', encoding="utf-8"
        )
        code = await asyncio.to_thread(main, ["channels", "test", "--config", str(config)])
        out, err = capsys.readouterr()
        assert code == 1
        assert "dingtalk" in err and "310000" in err and "NOT posted" in err
        for secret in (dt.token, wc.token, "SECwrong", SECRET):
            assert secret not in out + err
        monkeypatch.delenv("WECOM_WEBHOOK")
        config.write_text("", encoding="utf-8")
        code = await asyncio.to_thread(main, ["channels", "test", "--config", str(config)])
        assert code == 1 and "no group robot configured" in capsys.readouterr().err
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


async def test_a_coordinator_posts_the_digest_to_the_groups_on_demand(
    bot: BotHarness, robots: tuple[DingTalkStandIn, WeComStandIn]
) -> None:
    dt, wc = robots
    await start_with(bot, dt, wc)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/digest_groups")
    answer = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "推送结果" in m.plain_text, since=since
    )
    await bot.api.wait_idle()
    assert "钉钉群：已发送" in answer.plain_text and "企业微信群：已发送" in answer.plain_text
    assert len(dt.posts) == 1 and len(wc.texts()) == 1
    assert "督办汇总" in dt.texts()[0] and "督办汇总" in wc.texts()[0]
    rows = webhook_rows(bot)
    assert [(r.kind, r.outcome) for r in rows] == [
        (DeliveryKind.ON_DEMAND, DeliveryOutcome.SENT)
    ] * 2
    # a double tap within the minute posts nothing more
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/digest_groups")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "未重复推送" in m.plain_text, since=since
    )
    assert len(dt.posts) == 1 and len(wc.texts()) == 1
    # later, a group that refuses is named in the answer; the other still gets it
    bot.clock.advance(timedelta(minutes=2))
    wc.fail_next(errcode=93000, errmsg="invalid webhook url")
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/digest_groups")
    answer = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "推送结果" in m.plain_text, since=since
    )
    assert "钉钉群：已发送" in answer.plain_text
    assert "企业微信群：未送达" in answer.plain_text and "93000" in answer.plain_text
    assert len(dt.posts) == 2 and len(wc.texts()) == 1


async def test_a_digest_overtaken_by_the_next_weeks_is_not_posted_late(
    bot: BotHarness, robots: tuple[DingTalkStandIn, WeComStandIn]
) -> None:
    """A wrong DingTalk secret for a week, fixed the next Monday: the group gets this week's
    digest, not last week's as well."""
    dt, wc = robots
    settings = robot_settings(dt, wc)
    settings["dingtalk"]["secret"] = "SEC" + "0" * 61
    await bot.restart(**settings)
    monday(bot)
    await bot.tick()
    await bot.api.wait_idle()
    assert not dt.posts
    bot.clock.advance(timedelta(days=7))  # next Monday 09:00
    await start_with(bot, dt, wc)  # the secret fixed
    for _ in range(3):
        await bot.tick()
        bot.clock.advance(timedelta(minutes=31))
    await bot.api.wait_idle()
    assert len(dt.posts) == 1 and "2025年12月" in dt.texts()[0]
    rows = {
        r.key.split(":")[1]: (r.outcome, r.error)
        for r in webhook_rows(bot)
        if r.channel == DINGTALK
    }
    assert rows["2025-W52"] == (DeliveryOutcome.FAILED, "superseded by a newer digest")
    assert rows["2026-W01"][0] == DeliveryOutcome.SENT

"""The group robot webhooks (`bot.webhooks`): DingTalk's signature, the markdown parts and
their sizes, how a post's answer is classified, the config keys and their redaction."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.config import ConfigError, load_settings
from bot.redact import RedactingFilter
from bot.webhooks import (
    DINGTALK,
    WECOM,
    Robot,
    configured_robots,
    markdown_line,
    markdown_parts,
    new_limiter,
    post,
    post_url,
    sign,
    webhook_secrets,
)
from jobs.types import DeliveryOutcome

SECRET = "SEC0123456789abcdef"
TIMESTAMP_MS = 1767225600000  # 2026-01-01 00:00:00 UTC
# base64(HMAC-SHA256(key=SECRET, msg="1767225600000\nSEC0123456789abcdef")), computed once by
# hand with the standard library, independently of bot.webhooks
KNOWN_SIGN = "B0RWzLp5DJ68eWPlqN2is7j/CJw7WP3nV1RkTFHU+F4="
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789token"
KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
WECOM_URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"


def test_signature_matches_the_known_answer() -> None:
    assert sign(TIMESTAMP_MS, SECRET) == KNOWN_SIGN
    assert sign(TIMESTAMP_MS + 1, SECRET) != KNOWN_SIGN


def test_signed_url_carries_the_timestamp_and_the_url_encoded_sign() -> None:
    robot = Robot(DINGTALK, DINGTALK_URL, SECRET)
    url = post_url(robot, datetime(2026, 1, 1, tzinfo=UTC))
    assert url.startswith(DINGTALK_URL + "&timestamp=1767225600000&sign=")
    assert "sign=B0RWzLp5DJ68eWPlqN2is7j%2FCJw7WP3nV1RkTFHU%2BF4%3D" in url
    assert parse_qs(urlsplit(url).query)["sign"] == [KNOWN_SIGN]
    # unsigned robots and WeCom post to their URL as it is
    assert post_url(Robot(DINGTALK, DINGTALK_URL), datetime.now(UTC)) == DINGTALK_URL
    assert post_url(Robot(WECOM, WECOM_URL), datetime.now(UTC)) == WECOM_URL


def test_fingerprint_is_short_and_not_the_token() -> None:
    robot = Robot(DINGTALK, DINGTALK_URL)
    assert robot.fingerprint == hashlib.sha256(DINGTALK_URL.encode()).hexdigest()[:12]
    assert "abcdef0123456789token" not in robot.fingerprint
    assert Robot(DINGTALK, DINGTALK_URL + "x").fingerprint != robot.fingerprint


def test_telegram_html_becomes_markdown() -> None:
    line = '<b>❗ 已逾期（2项）</b> &lt;说明&gt; &amp; <i>备注</i> <a href="https://x.cn/?a=1&amp;b=2">链接</a>'
    assert (
        markdown_line(line) == "**❗ 已逾期（2项）** <说明> & *备注* [链接](https://x.cn/?a=1&b=2)"
    )
    assert markdown_line("<code>42</code><u>x</u>") == "`42`x"


@pytest.mark.parametrize("limit", [4096, 20000])
def test_long_digest_is_split_in_order_within_the_byte_limit(limit: int) -> None:
    lines = [
        f"· 第{n}项 测试任务{n}｜潼南区第{n}号测试牵头单位｜2025年12月31日" for n in range(400)
    ]
    title = "<b>📊 残工委重点任务督办汇总</b>\n"
    html_parts = [
        title + "\n".join(lines[:200]),
        "\n".join(lines[200:]),
    ]
    parts = markdown_parts(html_parts, limit)
    assert len(parts) >= 2
    assert all(len(p.encode("utf-8")) <= limit for p in parts)
    assert parts[0].startswith("**📊 残工委重点任务督办汇总**")
    assert parts[1].startswith(f"（续 2/{len(parts)}）")
    joined = "\n\n".join(parts)
    positions = [joined.index(f"· 第{n}项 ") for n in (0, 199, 200, 399)]
    assert positions == sorted(positions)
    assert sum(p.count("· 第") for p in parts) == 400  # every line once


def test_a_line_longer_than_the_limit_is_cut_between_characters() -> None:
    parts = markdown_parts(["长" * 3000], 4096)
    assert len(parts) == 3
    assert all(len(p.encode("utf-8")) <= 4096 for p in parts)
    assert "".join(p.split("\n\n")[-1] for p in parts) == "长" * 3000


def test_telegram_continuation_marks_are_dropped() -> None:
    parts = markdown_parts(["<b>标题</b>\n第一行", "（续 2/2）\n第二行"], 4096)
    assert parts == ["**标题**\n\n第一行\n\n第二行"]


async def _post_with(handler: object) -> tuple[DeliveryOutcome, str | None]:
    robot = Robot(DINGTALK, DINGTALK_URL, SECRET)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:  # type: ignore[arg-type]
        result = await post(
            client, robot, {"msgtype": "markdown"}, new_limiter(), datetime.now(UTC)
        )
    return result.outcome, result.error


def _raise(exc: Exception) -> object:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("handler", "outcome"),
    [
        (lambda r: httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}), DeliveryOutcome.SENT),
        (
            lambda r: httpx.Response(200, json={"errcode": 130101, "errmsg": "too fast"}),
            DeliveryOutcome.RETRY,
        ),
        (lambda r: httpx.Response(200, json={"errcode": 45009}), DeliveryOutcome.RETRY),
        (lambda r: httpx.Response(502, text="<html>bad gateway</html>"), DeliveryOutcome.RETRY),
        (lambda r: httpx.Response(404), DeliveryOutcome.RETRY),
        (lambda r: httpx.Response(200, text="not json"), DeliveryOutcome.UNCERTAIN),
        (_raise(httpx.ConnectError("refused")), DeliveryOutcome.RETRY),
        (_raise(httpx.ConnectTimeout("slow")), DeliveryOutcome.RETRY),
        (_raise(httpx.ReadTimeout("no answer")), DeliveryOutcome.UNCERTAIN),
        (_raise(httpx.RemoteProtocolError("dropped")), DeliveryOutcome.UNCERTAIN),
    ],
)
async def test_post_outcomes(handler: object, outcome: DeliveryOutcome) -> None:
    got, error = await _post_with(handler)
    assert got == outcome
    assert "abcdef0123456789token" not in (error or "")
    assert SECRET not in (error or "")


async def test_an_error_quoting_the_url_is_redacted() -> None:
    _, error = await _post_with(_raise(httpx.ConnectError(f"cannot reach {DINGTALK_URL}")))
    assert error is not None and "abcdef0123456789token" not in error


def test_config_keys_and_environment_overrides(tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[dingtalk]\nwebhook = "{DINGTALK_URL}"\nsecret = "{SECRET}"\n', encoding="utf-8"
    )
    settings = load_settings(config, environ={"WECOM_WEBHOOK": WECOM_URL})
    robots = configured_robots(settings)
    assert [(r.channel, r.url, r.secret) for r in robots] == [
        (DINGTALK, DINGTALK_URL, SECRET),
        (WECOM, WECOM_URL, ""),
    ]
    overridden = load_settings(
        config, environ={"DINGTALK_WEBHOOK": DINGTALK_URL + "2", "DINGTALK_SECRET": "SECother"}
    )
    assert [(r.url, r.secret) for r in configured_robots(overridden)] == [
        (DINGTALK_URL + "2", "SECother")
    ]
    assert SECRET not in repr(settings) and "abcdef0123456789token" not in repr(settings)


@pytest.mark.parametrize(
    "url", ["oapi.dingtalk.com/robot/send?access_token=x", "https://robot.example.cn/send"]
)
def test_a_bad_webhook_is_a_config_problem_that_does_not_quote_it(tmp_path, url: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[dingtalk]\nwebhook = "{url}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ={})
    [problem] = info.value.problems
    assert problem.startswith("dingtalk.webhook:")
    assert url not in problem


def test_log_records_lose_the_webhook_secrets(tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[dingtalk]\nwebhook = "{DINGTALK_URL}"\nsecret = "{SECRET}"\n'
        f'[wecom]\nwebhook = "{WECOM_URL}"\n',
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "HTTP Request: POST %s and %s signed with %s; key %s",
        (post_url(configured_robots(settings)[0], datetime.now(UTC)), WECOM_URL, SECRET, KEY),
        None,
    )
    RedactingFilter(*webhook_secrets(settings)).filter(record)
    message = record.getMessage()
    for secret in ("abcdef0123456789token", SECRET, KEY):
        assert secret not in message

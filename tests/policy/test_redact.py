"""Unit tests of `bot.redact.redact` and its logging filter: the bot token (whole or its
secret half) and URL passwords leave the text; everything else stays as it was."""

from __future__ import annotations

import logging
import sys
import traceback

from bot.redact import RedactingFilter, redact

TOKEN = "123456789:AAEhBOweik6ad9r_Q-SECRETsecret0123"
HALF = TOKEN.split(":", 1)[1]


def test_the_token_in_text_becomes_a_placeholder() -> None:
    text = f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed"
    assert redact(text, TOKEN) == "POST https://api.telegram.org/bot<token>/sendMessage failed"
    assert redact(f"The token `{TOKEN}` was rejected", TOKEN) == (
        "The token `<token>` was rejected"
    )
    # its secret half alone is a secret too
    assert redact(f"path /{HALF}/getMe", TOKEN) == "path /<token>/getMe"
    assert redact(f"{TOKEN} {TOKEN}", TOKEN) == "<token> <token>"


def test_the_token_in_a_traceback_is_hidden() -> None:
    try:
        raise RuntimeError(f"request to https://api.example/bot{TOKEN}/getUpdates")
    except RuntimeError:
        text = traceback.format_exc()
    assert TOKEN in text
    scrubbed = redact(text, TOKEN)
    assert TOKEN not in scrubbed and HALF not in scrubbed
    assert "Traceback (most recent call last)" in scrubbed
    assert "RuntimeError: request to https://api.example/bot<token>/getUpdates" in scrubbed


def test_url_passwords_are_hidden_and_user_names_kept() -> None:
    assert redact("proxy http://alice:s3cret@127.0.0.1:3128 refused") == (
        "proxy http://alice:***@127.0.0.1:3128 refused"
    )
    assert redact("ALL_PROXY=socks5://bob:pa55@proxy.local:1080") == (
        "ALL_PROXY=socks5://bob:***@proxy.local:1080"
    )
    assert redact("postgresql+psycopg://postgres:pw/with@at@db:5432/taskbot") == (
        "postgresql+psycopg://postgres:***@db:5432/taskbot"
    )
    assert redact("https://:only-password@host/x") == "https://:***@host/x"
    both = redact(f"https://u:pw@h/bot{TOKEN} and socks5h://v:pw2@p:1", TOKEN)
    assert both == "https://u:***@h/bot<token> and socks5h://v:***@p:1"


def test_text_without_secrets_is_unchanged() -> None:
    for text in (
        "",
        "nothing to hide",
        "sqlite:///data/taskbot.sqlite3",
        "https://api.telegram.org/bot",
        "http://127.0.0.1:8081/bot and someone@example.org",
        "报告已保存：第3项，时间 2026-06-30 10:00",
    ):
        assert redact(text) == text
        assert redact(text, TOKEN) == text
        assert redact(text, "") == text


def test_the_filter_scrubs_message_arguments_and_traceback() -> None:
    try:
        raise ConnectionError(f"407 from http://alice:PW@proxy:3128 for bot{TOKEN}")
    except ConnectionError:
        record = logging.LogRecord(
            "bot", logging.ERROR, __file__, 1, "via %s", (f"bot{TOKEN}",), sys.exc_info()
        )
    assert RedactingFilter(TOKEN).filter(record) is True
    line = logging.Formatter().format(record)
    assert TOKEN not in line and "PW" not in line
    assert record.getMessage() == "via bot<token>"
    assert "407 from http://alice:***@proxy:3128 for bot<token>" in line

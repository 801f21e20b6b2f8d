"""The application's error handler: an outage of the Bot API during long polling is one
warning line per retry; any other error is logged with its traceback."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.app import error_handler


def context(error: Exception) -> Any:
    return SimpleNamespace(error=error)


@pytest.mark.parametrize("error", [NetworkError("Server disconnected"), TimedOut()])
async def test_a_failed_poll_is_one_warning_line_without_traceback(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.app")
    await error_handler(None, context(error))
    records = [r for r in caplog.records if r.name == "bot.app"]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert records[0].exc_info is None
    assert "cannot reach the Bot API" in records[0].getMessage()


@pytest.mark.parametrize("error", [BadRequest("Bad Request: wrong offset"), ValueError("bug")])
async def test_other_errors_are_logged_with_their_traceback(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.app")
    try:
        raise error
    except Exception as raised:
        await error_handler(None, context(raised))
    records = [r for r in caplog.records if r.name == "bot.app"]
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info is not None

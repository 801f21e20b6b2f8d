"""Keeping secrets out of printed and logged text: the bot token and URL passwords.

`redact(text, *secrets)` is the one function that does it; `RedactingFilter` applies it to
every log record (message, traceback, stack). No Telegram import: the CLI uses this module
before python-telegram-bot is loaded.
"""

from __future__ import annotations

import logging
import re

TOKEN_PLACEHOLDER = "<token>"
PASSWORD_PLACEHOLDER = "***"
# `//user:password@` of a URL in free text. The password runs to the last "@" before the next
# whitespace, so that an unencoded "@" or "/" in it is hidden too (over-hiding is harmless).
URL_PASSWORD = re.compile(r"//([^/@\s:]*):\S*@")


def redact(text: str, *secrets: str) -> str:
    """`text` with every secret replaced by "<token>" and every URL password by "***".

    Each non-empty secret (normally the bot token, "<digits>:<secret>") is replaced wherever
    it occurs, and so is its part after the first ":" on its own (the token's secret half,
    as a Bot API path or an error message may quote it). Every `//user:password@` (a
    database URL, a proxy's from HTTPS_PROXY, http or socks5) becomes `//user:***@`; the
    user name stays. Text holding none of these is returned unchanged.
    """
    parts: set[str] = set()
    for secret in secrets:
        if secret:
            parts.add(secret)
            half = secret.partition(":")[2]
            if half:
                parts.add(half)
    for part in sorted(parts, key=len, reverse=True):  # the whole token before its half
        text = text.replace(part, TOKEN_PLACEHOLDER)
    return URL_PASSWORD.sub(rf"//\1:{PASSWORD_PLACEHOLDER}@", text)


class RedactingFilter(logging.Filter):
    """Apply `redact(..., *secrets)` to every log record passing through: its message, the
    traceback of its exception (python-telegram-bot's InvalidToken quotes the token, aiohttp's
    proxy errors the proxy URL) and its stack. Never drops a record."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = redact(message, *self.secrets)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            # what the handler's Formatter would write; it uses exc_text when set
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, *self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, *self.secrets)
        return True


__all__ = ["RedactingFilter", "redact"]

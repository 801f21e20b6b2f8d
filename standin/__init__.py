"""Local stand-in for the Telegram Bot API, for end-to-end tests and the ``taskbot demo``.

:class:`BotApiStandIn` is an aiohttp web server on ``127.0.0.1`` (ephemeral port) that speaks
the Bot API over HTTP, so the *real* python-telegram-bot ``Application`` can run against it::

    async with BotApiStandIn() as tg:
        app = (
            Application.builder()
            .token(tg.token)
            .base_url(tg.base_url)
            .base_file_url(tg.base_file_url)
            .build()
        )
        tg.user(1001, "Alice")
        ...
        tg.send_text(1001, "/start")
        reply = await tg.wait_for(lambda m: m.chat_id == 1001)

Server side it answers the methods a bot uses (``getUpdates`` long polling, ``sendMessage``,
edits, callback answers, documents/photos with ``getFile`` + download, commands, webhook
housekeeping) with objects shaped like the real API, and reproduces the errors that catch bugs:
unknown chats, HTML/Markdown entity parsing, the 4096 UTF-16 unit limit, 64-byte callback data,
"message is not modified", blocked users, migrated groups and (optionally) flood limits.
Faults can be injected with :meth:`BotApiStandIn.fail_next` / :meth:`BotApiStandIn.delay_next`.

Client side, tests act as the human users: register users/groups, send texts/files, edit,
press buttons; then read :attr:`BotApiStandIn.sent`, :attr:`BotApiStandIn.calls` or the
:meth:`BotApiStandIn.transcript` of the conversation.

Modules: :mod:`standin.formatting` (the parse modes), :mod:`standin.records` (what tests read),
:mod:`standin.server` (the HTTP server, its state, faults and flood limits),
:mod:`standin.methods` (the Bot API method handlers), :mod:`standin.client` (the users' side);
these import nothing from the rest of the project. :mod:`standin.harness` (settings, clock and
polling helpers that run the real bot against the stand-in) and :mod:`standin.demo` (the
``taskbot demo`` scenario) import the bot. The package is imported only by ``taskbot demo``,
the tests and the benchmarks, never by the bot itself.
"""

from standin.client import BotApiStandIn
from standin.formatting import EntityParseError, parse_formatted_text, utf16_length
from standin.records import (
    ApiCall,
    FloodLimits,
    SentMessage,
    Transcript,
    TranscriptEntry,
    UploadedFile,
    buttons,
)
from standin.server import DEFAULT_TOKEN

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "BotApiStandIn",
    "EntityParseError",
    "FloodLimits",
    "SentMessage",
    "Transcript",
    "TranscriptEntry",
    "UploadedFile",
    "buttons",
    "parse_formatted_text",
    "utf16_length",
]

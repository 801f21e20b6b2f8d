"""The HTTP half of the Bot API stand-in: an aiohttp server on ``127.0.0.1`` and its state.

:class:`StandInServer` keeps the users, chats, messages, files and updates, runs the server on
an ephemeral port, parses each request (token, JSON or form parameters, uploaded files),
applies injected faults and delays and (optionally) the flood limits, and dispatches the call
to the method handler (:mod:`standin.methods`). The module keeps no module-level state and
imports nothing from the rest of the project.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Self

from aiohttp import web

from standin.formatting import JSON, EntityParseError, parse_formatted_text, utf16_length
from standin.records import (
    ApiCall,
    FloodLimits,
    SentMessage,
    TranscriptEntry,
    UploadedFile,
    _ApiError,
    _ChatBucket,
    _Delay,
    _Fault,
    _keyboard_buttons,
    _keyboard_labels,
    _Request,
    _StoredFile,
)

DEFAULT_TOKEN = "123456789:STAND-IN-TOKEN"
"""Token used when none is given; the part before ":" is the bot's user id."""

MAX_MESSAGE_LENGTH = 4096  # UTF-16 code units of the text after entity parsing
MAX_CAPTION_LENGTH = 1024  # UTF-16 code units of the caption after entity parsing
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

_LOG = logging.getLogger(__name__)

# Real Bot API methods the stand-in does not emulate (answered 404 with an explanatory suffix).
_KNOWN_BUT_NOT_EMULATED = frozenset(
    (
        "sendAudio sendVideo sendVoice sendAnimation sendSticker sendLocation sendContact "
        "sendPoll sendMediaGroup sendVenue sendDice copyMessage copyMessages forwardMessage "
        "forwardMessages editMessageMedia banChatMember unbanChatMember restrictChatMember "
        "promoteChatMember exportChatInviteLink createChatInviteLink answerInlineQuery "
        "setMessageReaction"
    ).split()
)

# Updates Telegram does not send unless explicitly listed in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_INT_FIELDS = frozenset(
    (
        "message_id offset limit reply_to_message_id message_thread_id user_id from_chat_id "
        "cache_time max_connections until_date"
    ).split()
)
_NUMBER_FIELDS = frozenset({"timeout"})
_BOOL_FIELDS = frozenset(
    (
        "disable_notification protect_content show_alert drop_pending_updates "
        "disable_web_page_preview allow_sending_without_reply disable_content_type_detection "
        "has_spoiler show_caption_above_media allow_paid_broadcast for_channels"
    ).split()
)
_JSON_FIELDS = frozenset(
    (
        "reply_markup entities caption_entities allowed_updates commands scope menu_button "
        "reply_parameters link_preview_options media rights message_ids results"
    ).split()
)

_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,64})?")


_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", ".png", "image/png"),
    (b"\xff\xd8\xff", ".jpg", "image/jpeg"),
    (b"GIF87a", ".gif", "image/gif"),
    (b"GIF89a", ".gif", "image/gif"),
    (b"BM", ".bmp", "image/bmp"),
)


def _image_info(data: bytes) -> tuple[str, int, int] | None:
    """Return (extension, width, height) for PNG/JPEG/GIF/BMP/WEBP bytes, None otherwise."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp", 512, 512
    found = next((ext for magic, ext, _mime in _IMAGE_MAGIC if data.startswith(magic)), None)
    if found is None:
        return None
    ext = found
    width = height = 0
    if ext == ".png" and len(data) >= 24:
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    elif ext == ".gif" and len(data) >= 10:
        width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    elif ext == ".bmp" and len(data) >= 26:
        width = int.from_bytes(data[18:22], "little", signed=True)
        height = abs(int.from_bytes(data[22:26], "little", signed=True))
    elif ext == ".jpg":
        pos = 2
        while pos + 9 < len(data):
            if data[pos] != 0xFF:
                pos += 1
                continue
            marker = data[pos + 1]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD):
                height = int.from_bytes(data[pos + 5 : pos + 7], "big")
                width = int.from_bytes(data[pos + 7 : pos + 9], "big")
                break
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                pos += 2
                continue
            pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return ext, width or 320, height or 320


def _coerce(key: str, value: Any) -> Any:
    """Type a parameter the way the Bot API reads it (form values arrive as strings)."""
    if key == "chat_id":
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return value
        return value
    if not isinstance(value, str):
        return value
    if key in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    if key in _NUMBER_FIELDS:
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    if key in _BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    if key in _JSON_FIELDS:
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError as err:
            what = "reply keyboard markup" if key == "reply_markup" else key
            raise _ApiError(400, f"Bad Request: can't parse {what} JSON object") from err
    return value


class StandInServer:
    """The HTTP server half of :class:`~standin.BotApiStandIn` (see it for the arguments).

    Holds the state (users, chats, messages, files, updates, faults, flood accounting), runs
    the aiohttp server and dispatches each request to the handler :meth:`_method_table` names
    (the handlers are in :mod:`standin.methods`).
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "standin_bot",
        bot_first_name: str = "Stand-in Bot",
        bot_id: int | None = None,
        enforce_flood_limits: bool = False,
        flood_limits: FloodLimits | None = None,
        strict_html_ampersand: bool = True,
        privacy_mode: bool = False,
        clock: Callable[[], float | datetime] | None = None,
    ) -> None:
        if bot_id is None:
            prefix = token.split(":", 1)[0]
            bot_id = int(prefix) if prefix.isdigit() else 123456789
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.enforce_flood_limits = enforce_flood_limits
        self.flood_limits = flood_limits or FloodLimits()
        self.strict_html_ampersand = strict_html_ampersand
        self.privacy_mode = privacy_mode
        self._clock = clock

        # What tests read.
        self.calls: list[ApiCall] = []
        self.sent: list[SentMessage] = []
        self.answered_callbacks: dict[str, dict[str, Any]] = {}
        self.deleted: list[tuple[int, int]] = []
        self.downloads: list[str] = []
        self.server_errors: list[str] = []
        self.flood_429_count = 0
        """Number of 429 answers given (flood limits and injected ones)."""
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.menu_buttons: dict[int | None, JSON] = {}
        self.webhook_url = ""

        # Users, chats, messages, files.
        self._users: dict[int, JSON] = {}
        self._started: set[int] = set()
        self._chats: dict[int, JSON] = {}
        self._members: dict[int, dict[int, str]] = {}
        self._migrated: dict[int, int] = {}
        self._blocked: dict[int, str] = {}
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._raw_texts: dict[tuple[int, int], tuple[str | None, str | None]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_counter = 0
        self._pending_callbacks: dict[str, JSON] = {}
        self._callback_counter = 0
        self._bot_texts: dict[str, str] = {}

        # Updates and long polling.
        self._updates: list[JSON] = []
        self._next_update_id = 1000
        self._max_delivered = 0
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0

        # Faults, delays, flood accounting.
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._global_sends: deque[float] = deque()
        self._group_sends: dict[int, deque[float]] = {}
        self._chat_buckets: dict[int, _ChatBucket] = {}

        # Transcript and waiting.
        self._transcript: list[TranscriptEntry] = []
        self._signal = asyncio.Event()
        self._closing = False
        self._inflight = 0
        self._last_activity = time.monotonic()

        # Server.
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        table = self._method_table()
        self._handlers = {name.lower(): handler for name, handler in table.items()}
        self._canonical = {name.lower(): name for name in [*table, *_KNOWN_BUT_NOT_EMULATED]}

    # ----------------------------------------------------------------------------------------
    # Lifecycle
    # ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the HTTP server on 127.0.0.1 with an ephemeral port.

        Raises:
            RuntimeError: already started.
        """
        if self._runner is not None:
            raise RuntimeError("stand-in already started")
        self._closing = False
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown_path)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._last_activity = time.monotonic()

    async def stop(self) -> None:
        """Stop the server; pending long polls and delayed answers finish at once."""
        self._closing = True
        self._bump()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port. Raises RuntimeError before :meth:`start`."""
        if self._port is None:
            raise RuntimeError("stand-in not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL, ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder.base_url`` (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder.base_file_url`` (PTB appends the token)."""
        return f"{self.url}/file/bot"

    @property
    def bot_user(self) -> JSON:
        """The bot's User object, as getMe returns it."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ----------------------------------------------------------------------------------------
    # Fault injection and limits
    # ----------------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        count: int = 1,
        chat_id: int | None = None,
        after: int = 0,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` (case-insensitive) with an error,
        after letting ``after`` matching calls through normally.

        Args:
            error_code: HTTP status and ``error_code`` (e.g. 429, 400, 403, 502).
            description: e.g. ``"Too Many Requests: retry after 3"``.
            retry_after / migrate_to_chat_id: put into ``parameters`` (PTB raises
                ``RetryAfter`` / ``ChatMigrated``).
            chat_id: only calls with this ``chat_id`` parameter are affected.
        """
        parameters: JSON = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        self._faults.append(
            _Fault(
                method.lower(), error_code, description, parameters or None, count, chat_id, after
            )
        )

    def clear_faults(self) -> None:
        """Forget every pending injected failure and delay (the API is healthy again)."""
        self._faults.clear()
        self._delays.clear()

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Delay the answer to the next ``count`` calls of ``method`` by ``seconds``.

        The call is processed *after* the delay even if the client gave up meanwhile (a
        timed-out ``sendMessage`` may still deliver the message, as with the real API).
        """
        self._delays.append(_Delay(method.lower(), seconds, count))

    def block_chat(
        self, chat_id: int, description: str = "Forbidden: bot was blocked by the user"
    ) -> None:
        """Make sends to ``chat_id`` answer 403 with ``description``."""
        self._blocked[chat_id] = description

    def unblock_chat(self, chat_id: int) -> None:
        """Undo :meth:`block_chat`."""
        self._blocked.pop(chat_id, None)

    def set_flood_limits(self, enabled: bool, limits: FloodLimits | None = None) -> None:
        """Switch flood-limit enforcement on/off, optionally with new limits."""
        self.enforce_flood_limits = enabled
        if limits is not None:
            self.flood_limits = limits

    def _method_table(self) -> dict[str, Callable[[_Request], Any]]:
        """Bot API method name -> handler; defined by :class:`standin.methods.BotApiMethods`."""
        raise NotImplementedError

    # ----------------------------------------------------------------------------------------
    # HTTP plumbing
    # ----------------------------------------------------------------------------------------

    def _bump(self) -> None:
        event, self._signal = self._signal, asyncio.Event()
        event.set()

    async def _wait_event(self, event: asyncio.Event, timeout: float) -> None:
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass

    async def _parse_request(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = UploadedFile(
                            key, value.filename, value.content_type, value.file.read()
                        )
                    else:
                        raw[key] = value
            else:
                body = await request.read()
                if body.strip():
                    try:
                        decoded = json.loads(body)
                    except ValueError as err:
                        raise _ApiError(400, "Bad Request: can't parse JSON object") from err
                    if not isinstance(decoded, dict):
                        raise _ApiError(400, "Bad Request: JSON object expected")
                    raw.update(decoded)
        params = {key: _coerce(key, value) for key, value in raw.items()}
        return params, files

    async def _handle_method(self, request: web.Request) -> web.Response:
        requested = request.match_info["method"]
        method = self._canonical.get(requested.lower(), requested)
        call = ApiCall(method, {}, {}, time.monotonic(), time.time())
        self.calls.append(call)
        polling = method == "getUpdates"
        if not polling:
            self._inflight += 1
            self._last_activity = time.monotonic()
        status = 200
        try:
            try:
                if request.match_info["token"] != self.token:
                    raise _ApiError(401, "Unauthorized")
                params, files = await self._parse_request(request)
                call.params, call.files = params, files
                delay = self._take_delay(method)
                if delay:
                    await self._sleep(delay)
                self._raise_injected_fault(method, params)
                handler = self._handlers.get(method.lower())
                if handler is None:
                    description = "Not Found: method not found"
                    if method in _KNOWN_BUT_NOT_EMULATED:
                        description += f" (the stand-in does not emulate {method})"
                    raise _ApiError(404, description)
                result = await handler(_Request(method, params, files, request))
                body: JSON = {"ok": True, "result": result}
            except _ApiError as err:
                status, body = err.error_code, err.body()
            except Exception as err:  # a stand-in bug: answer 500 and keep a record
                _LOG.exception("stand-in failed on %s", method)
                self.server_errors.append(f"{method}: {err!r}")
                status = 500
                body = {
                    "ok": False,
                    "error_code": 500,
                    "description": f"Internal Server Error: stand-in bug: {err!r}",
                }
        finally:
            if not polling:
                self._inflight -= 1
                self._last_activity = time.monotonic()
        call.status, call.response = status, body
        if status == 429:
            self.flood_429_count += 1
        self._bump()
        return web.json_response(body, status=status)

    async def _handle_unknown_path(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self._last_activity = time.monotonic()
        stored = self._files_by_path.get(path)
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        self.downloads.append(path)
        self._bump()
        return web.Response(
            body=stored.data,
            headers={"Content-Type": stored.mime_type or "application/octet-stream"},
        )

    def _take_delay(self, method: str) -> float:
        for delay in self._delays:
            if delay.method == method.lower() and delay.remaining > 0:
                delay.remaining -= 1
                if delay.remaining == 0:
                    self._delays.remove(delay)
                return delay.seconds
        return 0.0

    async def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await self._wait_event(self._signal, remaining)

    def _raise_injected_fault(self, method: str, params: Mapping[str, Any]) -> None:
        for fault in self._faults:
            if fault.method != method.lower() or fault.remaining <= 0:
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            if fault.skip > 0:
                fault.skip -= 1
                continue
            fault.remaining -= 1
            if fault.remaining == 0:
                self._faults.remove(fault)
            raise _ApiError(fault.error_code, fault.description, fault.parameters)

    # ----------------------------------------------------------------------------------------
    # Internal helpers: chats, messages, files, flood limits
    # ----------------------------------------------------------------------------------------

    def _now(self) -> float:
        """Unix time from the configured clock."""
        if self._clock is None:
            return time.time()
        value = self._clock()
        return value.timestamp() if isinstance(value, datetime) else float(value)

    def _require_user(self, user_id: int) -> JSON:
        user = self._users.get(user_id)
        if user is None:
            raise ValueError(f"unknown user {user_id}; register it with user() first")
        return user

    def _require_chat(self, chat_id: int) -> JSON:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}; register it with user()/group() first")
        return chat

    def _new_message_id(self, chat_id: int) -> int:
        next_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = next_id + 1
        return next_id

    def _enqueue(self, payload: JSON) -> int:
        kind = next(iter(payload), "")
        allowed = self._allowed_updates
        if allowed is not None and kind not in allowed:
            return 0
        if allowed is None and kind in _OPT_IN_UPDATES:
            return 0
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, **copy.deepcopy(payload)})
        self._bump()
        return update_id

    def _log(
        self,
        kind: str,
        chat_id: int,
        sender_id: int,
        message_id: int | None,
        text: str,
        *,
        keyboard: list[list[str]] | None = None,
        attachment: str | None = None,
        chat: JSON | None = None,
    ) -> None:
        chat = chat or self._chats.get(chat_id) or {"id": chat_id}
        if chat.get("type") == "private":
            chat_title = f"{chat.get('first_name', chat_id)} (private)"
        else:
            chat_title = str(chat.get("title", chat_id))
        from_bot = sender_id == self.bot_id
        if from_bot:
            sender_name = self.bot_first_name
        elif sender_id in self._users:
            sender_name = str(self._users[sender_id]["first_name"])
        else:
            sender_name = str(sender_id)
        self._transcript.append(
            TranscriptEntry(
                time=self._now(),
                kind=kind,
                chat_id=chat_id,
                chat_title=chat_title,
                sender_id=sender_id,
                sender_name=sender_name,
                from_bot=from_bot,
                message_id=message_id,
                text=text,
                keyboard=keyboard or [],
                attachment=attachment,
            )
        )

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        fields: JSON,
        *,
        reply_to_message_id: int | None = None,
        kind: str = "message",
        text: str = "",
        attachment: str | None = None,
    ) -> JSON:
        user = self._require_user(user_id)
        chat_id = user_id if chat_id is None else chat_id
        chat = self._require_chat(chat_id)
        if chat["type"] == "private":
            if chat_id != user_id:
                raise ValueError("a user can only write in their own private chat")
            self._started.add(user_id)
        else:
            self._members.setdefault(chat_id, {}).setdefault(user_id, "member")
        message_id = self._new_message_id(chat_id)
        msg: JSON = {
            "message_id": message_id,
            "from": copy.deepcopy(user),
            "chat": copy.deepcopy(chat),
            "date": int(self._now()),
        }
        msg.update(copy.deepcopy(fields))
        if reply_to_message_id is not None:
            target = self._messages.get((chat_id, reply_to_message_id))
            if target is None:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat_id}")
            msg["reply_to_message"] = self._embeddable(target)
        self._messages[(chat_id, message_id)] = msg
        if self._should_deliver(msg):
            self._enqueue({"message": msg})
        self._log(kind, chat_id, user_id, message_id, text, attachment=attachment)
        return copy.deepcopy(msg)

    def _should_deliver(self, msg: JSON) -> bool:
        if not self.privacy_mode or msg["chat"]["type"] == "private":
            return True
        text = str(msg.get("text") or msg.get("caption") or "")
        if any(k in msg for k in ("new_chat_members", "left_chat_member", "migrate_to_chat_id")):
            return True
        match = _COMMAND_RE.match(text)
        if match:
            suffix = match.group(1)
            return suffix is None or suffix[1:].lower() == self.bot_username.lower()
        replied = msg.get("reply_to_message")
        if replied and replied.get("from", {}).get("id") == self.bot_id:
            return True
        return f"@{self.bot_username}".lower() in text.lower()

    @staticmethod
    def _embeddable(msg: JSON) -> JSON:
        embedded = copy.deepcopy(msg)
        embedded.pop("reply_to_message", None)
        return embedded

    def _store_file(
        self, data: bytes, kind: str, file_name: str | None, mime_type: str | None
    ) -> _StoredFile:
        self._file_counter += 1
        n = self._file_counter
        ext = ""
        width = height = 0
        if kind == "photos":
            info = _image_info(data)
            ext, width, height = info if info else (".jpg", 320, 320)
        elif file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        if mime_type in (None, "", "application/octet-stream") and file_name:
            mime_type = mimetypes.guess_type(file_name)[0] or mime_type
        stored = _StoredFile(
            file_id=f"STANDIN-{kind[:-1].upper()}-{n:06d}-{self.bot_id}",
            file_unique_id=f"U{n:06d}",
            file_path=f"{kind}/file_{n}{ext}",
            kind=kind,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def _document_dict(stored: _StoredFile) -> JSON:
        doc: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            doc["file_name"] = stored.file_name
        if stored.mime_type:
            doc["mime_type"] = stored.mime_type
        return doc

    @staticmethod
    def _photo_size(stored: _StoredFile) -> JSON:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "width": stored.width,
            "height": stored.height,
        }

    def _resolve_chat_id(self, params: Mapping[str, Any]) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, str):
            wanted = raw.lstrip("@").lower()
            for chat_id, chat in self._chats.items():
                if (
                    raw.startswith("@")
                    and chat["type"] != "private"
                    and str(chat.get("username", "")).lower() == wanted
                ):
                    return chat_id
            raise _ApiError(400, "Bad Request: chat not found")
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _ApiError(400, "Bad Request: chat not found")
        return raw

    def _target_chat(self, params: Mapping[str, Any]) -> JSON:
        chat_id = self._resolve_chat_id(params)
        if chat_id in self._migrated:
            raise _ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _ApiError(400, "Bad Request: chat not found")
        return chat

    def _check_can_write(self, chat_id: int) -> None:
        if chat_id in self._blocked:
            raise _ApiError(403, self._blocked[chat_id])
        if chat_id > 0 and chat_id not in self._started:
            raise _ApiError(403, "Forbidden: bot can't initiate conversation with a user")

    def _flood_check(self, chat_id: int) -> None:
        if not self.enforce_flood_limits:
            return
        limits = self.flood_limits
        now = time.monotonic()
        while self._global_sends and now - self._global_sends[0] >= 1.0:
            self._global_sends.popleft()
        retry_after = 0
        if len(self._global_sends) >= limits.global_per_second:
            retry_after = max(retry_after, 1)
        if chat_id < 0:
            sends = self._group_sends.setdefault(chat_id, deque())
            while sends and now - sends[0] >= 60.0:
                sends.popleft()
            if len(sends) >= limits.group_per_minute:
                retry_after = max(retry_after, math.ceil(sends[0] + 60.0 - now))
        bucket = self._chat_buckets.get(chat_id)
        if bucket is not None:
            tokens = min(
                float(limits.chat_burst),
                bucket.tokens + (now - bucket.updated) * limits.chat_per_second,
            )
            if tokens < 1.0:
                retry_after = max(retry_after, math.ceil((1.0 - tokens) / limits.chat_per_second))
        if retry_after:
            raise _ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )

    def _flood_record(self, chat_id: int) -> None:
        limits = self.flood_limits
        now = time.monotonic()
        self._global_sends.append(now)
        if chat_id < 0:
            self._group_sends.setdefault(chat_id, deque()).append(now)
        bucket = self._chat_buckets.get(chat_id)
        if bucket is None:
            bucket = _ChatBucket(float(limits.chat_burst), now)
        bucket.tokens = min(
            float(limits.chat_burst),
            bucket.tokens + (now - bucket.updated) * limits.chat_per_second,
        )
        bucket.tokens -= 1.0
        bucket.updated = now
        self._chat_buckets[chat_id] = bucket

    def _format(self, text: str, parse_mode: Any, explicit_entities: Any) -> tuple[str, list[JSON]]:
        if explicit_entities is not None:
            if not isinstance(explicit_entities, list):
                raise _ApiError(400, "Bad Request: can't parse entities JSON object")
            return text, explicit_entities
        mode = str(parse_mode or "")
        if mode.lower() not in ("", "html", "markdown", "markdownv2"):
            raise _ApiError(400, "Bad Request: unsupported parse_mode")
        try:
            return parse_formatted_text(text, mode, strict_ampersand=self.strict_html_ampersand)
        except EntityParseError as err:
            raise _ApiError(400, f"Bad Request: can't parse entities: {err}") from err

    def _parse_reply_markup(self, params: Mapping[str, Any]) -> JSON | None:
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError as err:
                raise _ApiError(
                    400, "Bad Request: can't parse reply keyboard markup JSON object"
                ) from err
        if not isinstance(markup, dict):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _ApiError(
                    400,
                    'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be '
                    "an Array of Arrays",
                )
            for row in rows:
                for button in row:
                    self._check_inline_button(button)
        return markup

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise _ApiError(
                400,
                "Bad Request: can't parse inline keyboard button: InlineKeyboardButton "
                "must be an Object",
            )
        if not isinstance(button.get("text"), str):
            raise _ApiError(
                400,
                'Bad Request: can\'t parse inline keyboard button: Field "text" must be of '
                "type String",
            )
        if not any(key in button for key in _INLINE_BUTTON_ACTIONS):
            raise _ApiError(
                400,
                "Bad Request: can't parse inline keyboard button: Text buttons are unallowed "
                "in the inline keyboard",
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= (
                MAX_CALLBACK_DATA_BYTES
            ):
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url):
                raise _ApiError(400, "Bad Request: BUTTON_URL_INVALID")

    def _reply_target(self, params: Mapping[str, Any], chat_id: int) -> JSON | None:
        reply = params.get("reply_parameters")
        allow = bool(params.get("allow_sending_without_reply"))
        message_id: Any = None
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply", allow))
            if isinstance(reply.get("chat_id"), int):
                chat_id = reply["chat_id"]
        elif params.get("reply_to_message_id") is not None:
            message_id = params.get("reply_to_message_id")
        if message_id is None:
            return None
        try:
            target = self._messages.get((chat_id, int(message_id)))
        except (TypeError, ValueError):
            target = None
        if target is None:
            if allow:
                return None
            raise _ApiError(400, "Bad Request: message to be replied not found")
        return self._embeddable(target)

    def _new_bot_message(
        self,
        chat: JSON,
        fields: JSON,
        markup: JSON | None,
        reply: JSON | None,
        thread: Any = None,
    ) -> JSON:
        """A new message of the bot in `chat`; `thread` is the ``message_thread_id`` asked
        for: in a forum (``is_forum``) the message is in that topic (``is_topic_message``),
        elsewhere it is kept as Telegram keeps a reply thread's id."""
        chat_id = int(chat["id"])
        message_id = self._new_message_id(chat_id)
        msg: JSON = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": copy.deepcopy(chat),
            "date": int(self._now()),
        }
        msg.update(fields)
        if thread is not None:
            msg["message_thread_id"] = int(thread)
            if chat.get("is_forum"):
                msg["is_topic_message"] = True
        if reply is not None:
            msg["reply_to_message"] = reply
        if markup is not None and "inline_keyboard" in markup:
            msg["reply_markup"] = copy.deepcopy(markup)
        self._messages[(chat_id, message_id)] = msg
        return msg

    def _record_sent(
        self,
        method: str,
        msg: JSON,
        *,
        raw_text: str | None,
        parse_mode: Any,
        reply_markup: JSON | None,
        stored: _StoredFile | None = None,
    ) -> None:
        chat_id = int(msg["chat"]["id"])
        message_id = int(msg["message_id"])
        plain = str(msg.get("text", msg.get("caption", "")))
        entities: list[JSON] = msg.get("entities") or msg.get("caption_entities") or []
        reply = msg.get("reply_to_message")
        self.sent.append(
            SentMessage(
                method=method,
                chat_id=chat_id,
                message_id=message_id,
                text=raw_text,
                plain_text=plain,
                parse_mode=str(parse_mode) if parse_mode else None,
                entities=copy.deepcopy(entities),
                reply_markup=copy.deepcopy(reply_markup),
                buttons=_keyboard_buttons(reply_markup),
                document=copy.deepcopy(msg.get("document")),
                photo=copy.deepcopy(msg.get("photo")),
                file_content=stored.data if stored is not None else None,
                reply_to_message_id=int(reply["message_id"]) if reply else None,
                message=copy.deepcopy(msg),
                time=time.monotonic(),
            )
        )
        attachment = None
        if msg.get("document"):
            doc = msg["document"]
            attachment = f"document {doc.get('file_name', '')}, {doc.get('file_size', 0)} bytes"
        elif msg.get("photo"):
            attachment = f"photo, {msg['photo'][-1].get('file_size', 0)} bytes"
        self._log(
            "edit" if method.startswith("edit") else "message",
            chat_id,
            self.bot_id,
            message_id,
            plain,
            keyboard=_keyboard_labels(msg.get("reply_markup")),
            attachment=attachment if not method.startswith("edit") else None,
        )
        self._bump()

    def _resolve_input_file(self, req: _Request, field_name: str, kind: str) -> _StoredFile:
        value = req.params.get(field_name)
        part: UploadedFile | None = None
        if isinstance(value, str) and value.startswith("attach://"):
            part = req.files.get(value[len("attach://") :])
            if part is None:
                raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        elif field_name in req.files:
            part = req.files[field_name]
        if part is not None:
            if not part.data:
                raise _ApiError(400, "Bad Request: file must be non-empty")
            mime = part.content_type
            if kind == "photos":
                if _image_info(part.data) is None:
                    raise _ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            return self._store_file(part.data, kind, part.file_name, mime)
        if isinstance(value, str) and value:
            stored = self._files.get(value)
            if stored is None:
                raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            if stored.kind != kind:
                raise _ApiError(400, "Bad Request: type of file mismatch")
            return stored
        raise _ApiError(400, f"Bad Request: there is no {field_name} in the request")

    def _caption(self, params: Mapping[str, Any]) -> tuple[str | None, JSON]:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None, {}
        caption = str(caption)
        plain, entities = self._format(
            caption, params.get("parse_mode"), params.get("caption_entities")
        )
        if utf16_length(plain) > MAX_CAPTION_LENGTH:
            raise _ApiError(400, "Bad Request: message caption is too long")
        fields: JSON = {"caption": plain}
        if entities:
            fields["caption_entities"] = entities
        return caption, fields

    def _bot_message_for_edit(self, params: Mapping[str, Any]) -> JSON:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._target_chat(params)
        message_id = params.get("message_id")
        if message_id is None or message_id == "":
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        if not isinstance(message_id, int):
            raise _ApiError(400, "Bad Request: message to edit not found")
        msg = self._messages.get((int(chat["id"]), message_id))
        if msg is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_id:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return msg

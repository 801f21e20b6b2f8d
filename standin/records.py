"""Records of the stand-in: what tests read (calls, sent messages, the transcript, flood limits,
buttons helpers) and the internal state records the server keeps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from aiohttp import web

from standin.formatting import JSON

# --------------------------------------------------------------------------------------------
# Records exposed to tests
# --------------------------------------------------------------------------------------------


@dataclass
class UploadedFile:
    """A multipart file part of a request: form field name, file name, content type, bytes."""

    field_name: str
    file_name: str | None
    content_type: str | None
    data: bytes


@dataclass
class ApiCall:
    """One HTTP request to a Bot API method.

    Attributes:
        method: canonical method name (``"sendMessage"``) if known, else as requested.
        params: parameters after type coercion (ints, bools, decoded JSON for reply_markup...).
        files: uploaded multipart parts by part name.
        time: ``time.monotonic()`` when the request arrived (seconds).
        wall_time: ``time.time()`` when the request arrived (unix seconds).
        status: HTTP status answered; ``0`` while the request is still being processed.
        response: the JSON body answered (``None`` while in flight).
    """

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    time: float
    wall_time: float
    status: int = 0
    response: JSON | None = None

    @property
    def ok(self) -> bool:
        """True if the call was answered with HTTP 200."""
        return self.status == 200

    @property
    def description(self) -> str | None:
        """The error description of a failed call (``None`` for successes / in flight)."""
        if self.response is None or self.response.get("ok"):
            return None
        return str(self.response.get("description"))

    @property
    def chat_id(self) -> Any:
        """The ``chat_id`` parameter, if any (int or "@username")."""
        return self.params.get("chat_id")


@dataclass
class SentMessage:
    """A message the bot successfully sent (``send*``) or edited (``edit*``).

    Attributes:
        method: ``"sendMessage"``, ``"sendDocument"``, ``"sendPhoto"``, ``"editMessageText"``,
            ``"editMessageReplyMarkup"`` or ``"editMessageCaption"``.
        chat_id / message_id: where the message lives.
        text: the raw text (or caption) as the bot sent it, markup included; for
            ``editMessageReplyMarkup`` the unchanged current raw text.
        plain_text: what the user sees: entities unescaped, tags removed.
        parse_mode: the parse_mode parameter as sent (``None`` if absent).
        entities: parsed entities (Bot API dicts, UTF-16 offsets).
        reply_markup: the reply_markup object as sent/now attached (``None`` if none).
        buttons: inline keyboard flattened to ``(label, callback_data)``; URL and other
            non-callback buttons have ``None`` as data.
        document / photo: the Document dict / list of PhotoSize dicts, if a file was sent.
        file_content: the bytes of that file.
        reply_to_message_id: id of the replied-to message, if any.
        message: the full Message object returned to the bot.
        time: ``time.monotonic()`` when it was recorded.
    """

    method: str
    chat_id: int
    message_id: int
    text: str | None
    plain_text: str
    parse_mode: str | None
    entities: list[JSON]
    reply_markup: JSON | None
    buttons: list[tuple[str, str | None]]
    document: JSON | None
    photo: list[JSON] | None
    file_content: bytes | None
    reply_to_message_id: int | None
    message: JSON
    time: float

    @property
    def message_thread_id(self) -> int | None:
        """The forum topic (or reply thread) the message went to; None: the chat itself
        (in a forum, its general topic)."""
        thread = self.message.get("message_thread_id")
        return int(thread) if thread is not None else None

    @property
    def is_edit(self) -> bool:
        """True for edits (``editMessage*``), False for new messages."""
        return self.method.startswith("edit")

    @property
    def labels(self) -> list[str]:
        """The labels of the inline keyboard buttons, in order."""
        return [label for label, _ in self.buttons]

    def data_for(self, label: str) -> str:
        """Return the callback_data of the button labelled ``label``.

        Raises:
            KeyError: no button with that label carries callback data.
        """
        for text, data in self.buttons:
            if text == label and data is not None:
                return data
        raise KeyError(f"no callback button {label!r}; buttons are {self.buttons!r}")


@dataclass
class TranscriptEntry:
    """One event of the chat log: a message, an edit, a button press, a callback answer...

    Attributes:
        time: unix time (seconds).
        kind: ``"message"``, ``"edit"``, ``"button"``, ``"callback_answer"``, ``"delete"``,
            ``"join"`` or ``"migration"``.
        chat_id / chat_title: the chat (a private chat's title is the user's name).
        sender_id / sender_name: who acted (the bot for bot actions).
        from_bot: True if the bot acted.
        message_id: the message concerned (``None`` when not applicable).
        text: message text (plain), pressed label, or callback answer text.
        keyboard: inline keyboard labels by row.
        attachment: short description of a document/photo, if any.
    """

    time: float
    kind: str
    chat_id: int
    chat_title: str
    sender_id: int
    sender_name: str
    from_bot: bool
    message_id: int | None
    text: str
    keyboard: list[list[str]] = field(default_factory=list)
    attachment: str | None = None


class Transcript(list[TranscriptEntry]):
    """Chronological list of :class:`TranscriptEntry` with a human-readable rendering."""

    def render(self, names: Mapping[int, str] | None = None, tz: tzinfo | None = None) -> str:
        """Render the log, one block per event (time, chat, sender, text, [buttons]).

        Args:
            names: optional display names by user id / chat id, overriding the registered
                first names and group titles.
            tz: time zone of the printed times (default: the machine's local time).

        Returns:
            The transcript as text (blocks separated by blank lines); "" when empty.
        """
        names = names or {}
        blocks: list[str] = []
        for e in self:
            stamp = datetime.fromtimestamp(e.time, tz).strftime("%H:%M:%S")
            chat = names.get(e.chat_id, e.chat_title)
            who = names.get(e.sender_id, e.sender_name)
            mid = f"#{e.message_id}" if e.message_id is not None else ""
            body: list[str] = []
            if e.kind == "message":
                head = f"{who}:"
                if e.attachment:
                    body.append(f"[{e.attachment}]")
                body.extend(e.text.splitlines() if e.text else [])
            elif e.kind == "edit":
                head = f"{who} edited {mid}:"
                body.extend(e.text.splitlines() if e.text else [])
            elif e.kind == "button":
                head = f"{who} pressed [{e.text}] on {mid}"
            elif e.kind == "callback_answer":
                if not e.text:
                    continue  # a silent answer changes nothing the user sees
                head = f"{who} answered the button press: {e.text}"
            elif e.kind == "delete":
                head = f"{who} deleted {mid}"
            else:
                head = f"{who}: {e.text}"
            body.extend(" ".join(f"[{label}]" for label in row) for row in e.keyboard if row)
            lines = [f"{stamp}  {chat}  {mid:>5}  {head}"]
            lines.extend(f"    {line}" for line in body)
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


@dataclass(frozen=True)
class FloodLimits:
    """Flood limits applied to ``send*`` methods when enforcement is on.

    Attributes:
        global_per_second: messages per second over all chats (Telegram: about 30).
        group_per_minute: messages per minute to one group/supergroup (negative chat id).
        chat_per_second: sustained messages per second to one chat.
        chat_burst: short burst tolerated by one chat before 429s start.
    """

    global_per_second: int = 30
    group_per_minute: int = 20
    chat_per_second: float = 1.0
    chat_burst: int = 3


def buttons(message: SentMessage | Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """Return the inline keyboard of a message as ``[(label, callback_data), ...]``.

    Accepts a :class:`SentMessage` or a Message dict; non-callback buttons (URL...) have
    ``None`` as data; a message without inline keyboard gives ``[]``.
    """
    if isinstance(message, SentMessage):
        return list(message.buttons)
    return _keyboard_buttons(message.get("reply_markup"))


def _keyboard_buttons(markup: Any) -> list[tuple[str, str | None]]:
    if not isinstance(markup, Mapping):
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    result: list[tuple[str, str | None]] = []
    for row in rows:
        for button in row:
            if isinstance(button, str):
                result.append((button, None))
            elif isinstance(button, Mapping):
                data = button.get("callback_data")
                result.append(
                    (str(button.get("text", "")), data if isinstance(data, str) else None)
                )
    return result


def _keyboard_labels(markup: Any) -> list[list[str]]:
    if not isinstance(markup, Mapping):
        return []
    rows = markup.get("inline_keyboard") or []
    return [
        [str(b.get("text", "")) for b in row if isinstance(b, Mapping)]
        for row in rows
        if isinstance(row, list)
    ]


# --------------------------------------------------------------------------------------------
# Internal state records
# --------------------------------------------------------------------------------------------


class _ApiError(Exception):
    """An error answer: HTTP status == error_code, Telegram JSON body."""

    def __init__(self, error_code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        result: JSON = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            result["parameters"] = self.parameters
        return result


@dataclass
class _Fault:
    method: str  # lower-case
    error_code: int
    description: str
    parameters: JSON | None
    remaining: int
    chat_id: int | None
    skip: int = 0  # let this many matching calls through first


@dataclass
class _Delay:
    method: str  # lower-case
    seconds: float
    remaining: int


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    kind: str  # "documents" / "photos"
    data: bytes
    file_name: str | None
    mime_type: str | None
    width: int = 0
    height: int = 0


@dataclass
class _Request:
    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    http: web.Request


@dataclass
class _ChatBucket:
    tokens: float
    updated: float

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

The module keeps no module-level state and imports nothing from the rest of the project.
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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from aiohttp import web

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

JSON = dict[str, Any]

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
_BOT_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


# --------------------------------------------------------------------------------------------
# Text helpers: UTF-16 lengths and Telegram's entity parsers
# --------------------------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, the unit Telegram counts in.

    Characters outside the Basic Multilingual Plane (most emoji) count as 2.
    """
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _char_u16(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


class EntityParseError(ValueError):
    """Telegram would reject this markup.

    The message is the part Telegram writes after ``"Bad Request: can't parse entities: "``,
    e.g. ``'Unsupported start tag "br" at byte offset 12'``.
    """


_HTML_TAGS = frozenset(
    ("a b strong i em u ins s strike del code pre tg-spoiler span blockquote tg-emoji").split()
)
_HTML_ENTITY_TYPE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}
_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_SPACES = frozenset(" \t\r\n\v\f\0")
_URL_RE = re.compile(r"^(https?|ftp|tg|mailto):|^[^\s/]+\.[^\s]+", re.IGNORECASE)


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference starting with "&" at ``pos`` like Telegram (tdlib).

    Returns (character, position after the reference) or None when it is not a reference
    Telegram understands (only &lt; &gt; &amp; &quot; and numeric ones; ";" is optional).
    """
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        value = 0
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                value = value * 16 + int(text[end], 16)
                end += 1
        else:
            while end < n and "0" <= text[end] <= "9":
                value = value * 10 + int(text[end])
                end += 1
        if value == 0 or value >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(value)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _NAMED_HTML_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < n and text[end] == ";":
        end += 1
    return char, end


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    char_index: int
    byte_offset: int


def _parse_html(text: str, *, strict_ampersand: bool) -> tuple[str, list[JSON]]:
    """Port of tdlib's HTML parser (the one behind the Bot API). See parse_formatted_text."""
    n = len(text)
    out: list[str] = []
    entities: list[JSON] = []
    stack: list[_OpenTag] = []
    utf16 = 0
    i = 0

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    def boff(k: int) -> int:
        return len(text[:k].encode("utf-8", "surrogatepass"))

    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                ch, i = decoded
                if 0xD800 <= ord(ch) <= 0xDFFF:
                    raise EntityParseError(
                        "Text contains invalid Unicode characters after decoding HTML "
                        "entities, check for unmatched surrogate code units"
                    )
                out.append(ch)
                utf16 += _char_u16(ch)
                continue
            if strict_ampersand:
                raise EntityParseError(
                    f'Character "&" at byte offset {boff(i)} does not start a character '
                    'reference; escape it as "&amp;" (stand-in strictness: Telegram itself '
                    "would show it literally)"
                )
        if c != "<":
            out.append(c)
            utf16 += _char_u16(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            # start tag
            while at(i) not in _HTML_SPACES and at(i) != ">":
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {boff(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise EntityParseError(
                    f'Unsupported start tag "{tag}" at byte offset {boff(begin)}'
                )
            argument = ""
            while at(i) != ">":
                while i < n and at(i) in _HTML_SPACES:
                    i += 1
                if at(i) == ">":
                    break
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {boff(begin)}")
                attr_begin = i
                while at(i) not in _HTML_SPACES and at(i) not in "=>":
                    i += 1
                attr_name = text[attr_begin:i].lower()
                if not attr_name:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {boff(begin)}'
                    )
                while i < n and at(i) in _HTML_SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr_name == "expandable":
                        argument = "expandable"
                        continue
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {boff(begin)}'
                    )
                i += 1
                while i < n and at(i) in _HTML_SPACES:
                    i += 1
                if i >= n:
                    raise EntityParseError(
                        f'Unclosed start tag "{tag}" at byte offset {boff(begin)}'
                    )
                if at(i) not in "'\"":
                    token_begin = i
                    while (at(i).isascii() and at(i).isalnum()) or at(i) in ".-":
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _HTML_SPACES and at(i) != ">":
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset {boff(token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    chars: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            dec = _decode_html_entity(text, i)
                            if dec is not None:
                                chars.append(dec[0])
                                i = dec[1]
                                continue
                        chars.append(text[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(chars)
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {boff(begin)}")
                if (
                    (tag == "a" and attr_name == "href")
                    or (tag == "span" and attr_name == "class")
                    or (tag == "tg-emoji" and attr_name == "emoji-id")
                ):
                    argument = value
                elif tag == "code" and attr_name == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
            if tag == "span" and argument != "tg-spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {boff(begin)}'
                )
            stack.append(_OpenTag(tag, argument, utf16, len(out), boff(begin)))
            i += 1  # skip ">"
            continue

        # end tag
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {boff(begin)}")
        i += 1  # skip "/"
        while at(i) not in _HTML_SPACES and at(i) != ">":
            i += 1
        end_name = text[begin + 2 : i]
        while i < n and at(i) in _HTML_SPACES:
            i += 1
        if at(i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {boff(begin)}")
        opened = stack.pop()
        if end_name and end_name.lower() != opened.name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {boff(begin)}, expected "
                f'"</{opened.name}>", found "</{end_name}>"'
            )
        i += 1  # skip ">"
        length = utf16 - opened.utf16_offset
        if length <= 0:
            continue
        entity: JSON = {
            "type": _HTML_ENTITY_TYPE[opened.name],
            "offset": opened.utf16_offset,
            "length": length,
        }
        last = entities[-1] if entities else None
        same_range = (
            last is not None and last["offset"] == opened.utf16_offset and last["length"] == length
        )
        if opened.name == "a":
            url = opened.argument or "".join(out[opened.char_index :])
            if not _URL_RE.match(url):
                continue  # Telegram silently drops links with invalid URLs
            entity["url"] = url
        elif opened.name == "tg-emoji":
            if not opened.argument.isdigit() or int(opened.argument) == 0:
                raise EntityParseError("Invalid custom emoji identifier specified")
            entity["custom_emoji_id"] = opened.argument
        elif opened.name == "blockquote" and opened.argument:
            entity["type"] = "expandable_blockquote"
        elif opened.name == "pre":
            if last is not None and same_range and last["type"] == "code" and last.get("_lang"):
                last["type"] = "pre"
                last["language"] = last.pop("_lang")
                continue
        elif opened.name == "code" and opened.argument:
            if last is not None and same_range and last["type"] == "pre":
                last["language"] = opened.argument
                continue
            entity["_lang"] = opened.argument
        entities.append(entity)

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    for entity in entities:
        entity.pop("_lang", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _parse_markdown_v2(text: str) -> tuple[str, list[JSON]]:
    """Simplified port of tdlib's MarkdownV2 parser (see parse_formatted_text)."""
    n = len(text)
    out: list[str] = []
    entities: list[JSON] = []
    stack: list[_OpenTag] = []
    utf16 = 0
    quote_start: int | None = None
    i = 0

    def boff(k: int) -> int:
        return len(text[:k].encode("utf-8", "surrogatepass"))

    def emit(ch: str) -> None:
        nonlocal utf16
        out.append(ch)
        utf16 += _char_u16(ch)

    while i < n:
        c = text[i]
        top = stack[-1].name if stack else None
        in_code = top in ("code", "pre")
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            emit(text[i + 1])
            i += 2
            continue
        if c == ">" and not in_code and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = utf16
            i += 1
            continue
        if c == "\n" and quote_start is not None and not text.startswith(">", i + 1):
            if utf16 > quote_start:
                entities.append(
                    {"type": "blockquote", "offset": quote_start, "length": utf16 - quote_start}
                )
            quote_start = None
        reserved = "`" if in_code else _MDV2_RESERVED
        if c not in reserved:
            emit(c)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        is_end = (
            (top == "bold" and c == "*")
            or (top == "italic" and c == "_" and nxt != "_")
            or (top == "code" and c == "`")
            or (top == "pre" and text.startswith("```", i))
            or (top in ("text_link", "custom_emoji") and c == "]")
            or (top == "underline" and text.startswith("__", i))
            or (top == "strikethrough" and c == "~")
            or (top == "spoiler" and text.startswith("||", i))
        )
        if not is_end:
            begin = i
            argument = ""
            if c == "_" and nxt == "_":
                kind, i = "underline", i + 2
            elif c == "_":
                kind, i = "italic", i + 1
            elif c == "*":
                kind, i = "bold", i + 1
            elif c == "~":
                kind, i = "strikethrough", i + 1
            elif c == "|" and nxt == "|":
                kind, i = "spoiler", i + 2
            elif c == "[":
                kind, i = "text_link", i + 1
            elif c == "!" and nxt == "[":
                kind, i = "custom_emoji", i + 2
            elif c == "`" and text.startswith("```", i):
                kind, i = "pre", i + 3
                lang_end = i
                while lang_end < n and not text[lang_end].isspace() and text[lang_end] != "`":
                    lang_end += 1
                if lang_end > i and lang_end < n and text[lang_end] != "`":
                    argument = text[i:lang_end]
                    i = lang_end
                if i < n and text[i] in "\r\n":
                    i += 1
            elif c == "`":
                kind, i = "code", i + 1
            else:
                raise EntityParseError(
                    f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
                )
            stack.append(_OpenTag(kind, argument, utf16, len(out), boff(begin)))
            continue

        opened = stack.pop()
        entity: JSON = {
            "type": opened.name,
            "offset": opened.utf16_offset,
            "length": utf16 - opened.utf16_offset,
        }
        if opened.name in ("text_link", "custom_emoji"):
            i += 1  # "]"
            url_chars: list[str] = []
            if i < n and text[i] == "(":
                url_begin = i
                i += 1
                while i < n and text[i] != ")":
                    if text[i] == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                        url_chars.append(text[i + 1])
                        i += 2
                        continue
                    url_chars.append(text[i])
                    i += 1
                if i >= n:
                    raise EntityParseError(
                        f"Can't find end of a URL at byte offset {boff(url_begin)}"
                    )
                i += 1  # ")"
            url = "".join(url_chars) or "".join(out[opened.char_index :])
            if opened.name == "custom_emoji":
                match = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
                if match is None:
                    raise EntityParseError(
                        f"Custom emoji entity at byte offset {opened.byte_offset} must have an URL"
                    )
                entity["custom_emoji_id"] = match.group(1)
            elif _URL_RE.match(url):
                entity["url"] = url
            else:
                continue
        elif opened.name == "pre":
            i += 3
            if opened.argument:
                entity["language"] = opened.argument
        elif opened.name in ("underline", "spoiler"):
            i += 2
        else:
            i += 1
        if entity["length"] > 0:
            entities.append(entity)

    if stack:
        opened = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[opened.name]} entity at byte offset "
            f"{opened.byte_offset}"
        )
    if quote_start is not None and utf16 > quote_start:
        entities.append(
            {"type": "blockquote", "offset": quote_start, "length": utf16 - quote_start}
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_markdown_legacy(text: str) -> tuple[str, list[JSON]]:
    """Port of tdlib's legacy "Markdown" parser (no nesting; see parse_formatted_text)."""
    n = len(text)
    out: list[str] = []
    entities: list[JSON] = []
    utf16 = 0
    i = 0
    kinds = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            utf16 += 1
            i += 2
            continue
        if c not in kinds:
            out.append(c)
            utf16 += _char_u16(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        is_pre = text.startswith("```", i)
        language = ""
        if is_pre:
            i += 3
            lang_end = i
            while lang_end < n and not text[lang_end].isspace() and text[lang_end] != "`":
                lang_end += 1
            if lang_end > i and lang_end < n and text[lang_end] != "`":
                language = text[i:lang_end]
                i = lang_end
            if i < n and text[i] in "\r\n":
                i += 1
        else:
            i += 1
        start_offset = utf16
        start_index = len(out)
        while i < n and (text[i] != end_char or (is_pre and not text.startswith("```", i))):
            out.append(text[i])
            utf16 += _char_u16(text[i])
            i += 1
        if i >= n:
            byte_offset = len(text[:begin].encode("utf-8", "surrogatepass"))
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {byte_offset}"
            )
        entity: JSON = {"type": kinds[c], "offset": start_offset, "length": utf16 - start_offset}
        i += 3 if is_pre else 1
        if is_pre:
            entity["type"] = "pre"
            if language:
                entity["language"] = language
        if c == "[":
            url = ""
            if i < n and text[i] == "(":
                close = text.find(")", i)
                if close != -1:
                    url = text[i + 1 : close]
                    i = close + 1
            url = url or "".join(out[start_index:])
            if not _URL_RE.match(url):
                continue
            entity["url"] = url
        if entity["length"] > 0:
            entities.append(entity)
    return "".join(out), entities


def parse_formatted_text(
    text: str, parse_mode: str | None, *, strict_ampersand: bool = True
) -> tuple[str, list[JSON]]:
    """Parse ``text`` the way the Bot API does for ``parse_mode``.

    Args:
        text: the raw text as a bot would send it.
        parse_mode: ``None``/``""`` (plain), ``"HTML"``, ``"MarkdownV2"`` or ``"Markdown"``
            (case-insensitive).
        strict_ampersand: in HTML, reject a bare "&" that does not start a character
            reference. Telegram itself shows such an "&" literally; the stand-in rejects it by
            default because it nearly always means user text was not ``html.escape``-d.

    Returns:
        ``(plain_text, entities)`` where entities are Bot API ``MessageEntity`` dicts with
        offsets/lengths in UTF-16 code units.

    Raises:
        EntityParseError: the markup would be rejected ("can't parse entities").
        ValueError: unknown ``parse_mode``.
    """
    mode = (parse_mode or "").lower()
    if mode == "":
        return text, []
    if mode == "html":
        return _parse_html(text, strict_ampersand=strict_ampersand)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown_legacy(text)
    raise ValueError(f"unsupported parse_mode {parse_mode!r}")


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


def _short(text: str | None, limit: int = 120) -> str:
    if text is None:
        return "None"
    flat = text.replace("\n", "⏎")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


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


# --------------------------------------------------------------------------------------------
# The stand-in
# --------------------------------------------------------------------------------------------


class BotApiStandIn:
    """A local Bot API server plus the "human side" of the conversation.

    Use as ``async with BotApiStandIn() as tg:`` (or ``await tg.start()`` / ``await
    tg.stop()``). Everything runs on the current event loop; all methods that are not
    coroutines are synchronous and safe to call from the test body or from bot handlers.

    Args:
        token: the bot token PTB must use; requests with another token get 401.
        bot_username / bot_first_name: returned by getMe.
        bot_id: the bot's user id; defaults to the numeric part of the token.
        enforce_flood_limits: answer 429 when ``send*`` calls exceed ``flood_limits``.
        flood_limits: the limits (defaults: :class:`FloodLimits`).
        strict_html_ampersand: reject a bare "&" in HTML (see :func:`parse_formatted_text`).
        privacy_mode: like a bot with privacy mode on, only deliver group messages that are
            commands, replies to the bot, mentions of the bot or service messages.
        clock: source of "now" for message dates and transcript times: a callable returning
            unix seconds or an aware datetime (e.g. the fake clock the bot runs on); default
            ``time.time``. Flood limits, timeouts and ApiCall.time always use real time.
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
        table: dict[str, Callable[[_Request], Any]] = {
            "getMe": self._m_get_me,
            "getUpdates": self._m_get_updates,
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
            "setMyCommands": self._m_set_my_commands,
            "getMyCommands": self._m_get_my_commands,
            "deleteMyCommands": self._m_delete_my_commands,
            "setChatMenuButton": self._m_set_chat_menu_button,
            "getChatMenuButton": self._m_get_chat_menu_button,
            "sendMessage": self._m_send_message,
            "sendDocument": self._m_send_document,
            "sendPhoto": self._m_send_photo,
            "editMessageText": self._m_edit_message_text,
            "editMessageReplyMarkup": self._m_edit_message_reply_markup,
            "editMessageCaption": self._m_edit_message_caption,
            "deleteMessage": self._m_delete_message,
            "answerCallbackQuery": self._m_answer_callback_query,
            "getFile": self._m_get_file,
            "getChat": self._m_get_chat,
            "getChatMember": self._m_get_chat_member,
            "getChatAdministrators": self._m_get_chat_administrators,
            "getChatMemberCount": self._m_get_chat_member_count,
            "sendChatAction": self._m_send_chat_action,
            "pinChatMessage": self._m_pin_chat_message,
            "unpinChatMessage": self._m_true_for_chat,
            "unpinAllChatMessages": self._m_true_for_chat,
            "leaveChat": self._m_leave_chat,
            "setMyDescription": self._m_set_bot_text,
            "setMyShortDescription": self._m_set_bot_text,
            "setMyName": self._m_set_bot_text,
            "getMyDescription": self._m_get_bot_text,
            "getMyShortDescription": self._m_get_bot_text,
            "getMyName": self._m_get_bot_text,
            "close": self._m_true,
            "logOut": self._m_true,
        }
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

    async def __aenter__(self) -> BotApiStandIn:
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

    # ----------------------------------------------------------------------------------------
    # The human side: users, chats, updates
    # ----------------------------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
        started: bool = True,
    ) -> JSON:
        """Register a user and their private chat (chat id == user id) and return the User.

        Args:
            started: if False the user never opened the bot: sends to the private chat answer
                403 "bot can't initiate conversation" until the user sends something.

        Raises:
            ValueError: ``user_id`` is not positive.
        """
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        chat: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            chat["last_name"] = last_name
        if username:
            chat["username"] = username
        self._chats[user_id] = chat
        if started:
            self._started.add(user_id)
        else:
            self._started.discard(user_id)
        return copy.deepcopy(user)

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        supergroup: bool | None = None,
        username: str | None = None,
        members: Iterable[int] = (),
    ) -> JSON:
        """Register a group the bot is in and return its Chat object.

        Args:
            chat_id: negative id; ``-100...`` (13+ digits) means a supergroup unless
                ``supergroup`` says otherwise.
            members: user ids already in the group (no join messages are sent).

        Raises:
            ValueError: ``chat_id`` is not negative.
        """
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if supergroup is None:
            supergroup = str(chat_id).startswith("-100") and len(str(chat_id)) >= 14
        chat: JSON = {
            "id": chat_id,
            "type": "supergroup" if supergroup else "group",
            "title": title,
        }
        if username:
            chat["username"] = username
        self._chats[chat_id] = chat
        roster = self._members.setdefault(chat_id, {})
        for member in members:
            roster.setdefault(member, "member")
        return copy.deepcopy(chat)

    def add_member(
        self, chat_id: int, user_id: int, *, status: str = "member", announce: bool = True
    ) -> JSON | None:
        """Put a registered user into a registered group.

        Args:
            status: ``"member"``, ``"administrator"`` or ``"creator"`` (getChatMember).
            announce: queue the ``new_chat_members`` service message Telegram sends.

        Returns:
            The service Message dict, or None if ``announce`` is False.

        Raises:
            ValueError: unknown user or group.
        """
        user = self._require_user(user_id)
        chat = self._require_chat(chat_id)
        if chat["type"] == "private":
            raise ValueError("add_member needs a group")
        self._members.setdefault(chat_id, {})[user_id] = status
        if not announce:
            return None
        return self._user_message(
            user_id, chat_id, {"new_chat_members": [user]}, kind="join", text="joined the group"
        )

    def migrate_group(
        self, old_chat_id: int, new_chat_id: int, *, by_user_id: int | None = None
    ) -> JSON:
        """Upgrade a group to a supergroup, as Telegram does.

        Queues the two service messages (``migrate_to_chat_id`` in the old chat,
        ``migrate_from_chat_id`` in the new one). Afterwards, calls to the old id answer 400
        "group chat was upgraded to a supergroup chat" with ``parameters.migrate_to_chat_id``.

        Returns:
            The new supergroup Chat object.

        Raises:
            ValueError: unknown old group or a non-negative new id.
        """
        old = self._require_chat(old_chat_id)
        if old["type"] == "private" or new_chat_id >= 0:
            raise ValueError("migration goes from a group to a negative supergroup id")
        members = dict(self._members.get(old_chat_id, {}))
        new_chat = self.group(new_chat_id, old.get("title", ""), supergroup=True)
        self._members[new_chat_id] = members
        actor = by_user_id if by_user_id is not None else next(iter(members), None)
        sender = self._users.get(actor) if actor is not None else None
        old_mid = self._new_message_id(old_chat_id)
        old_msg: JSON = {
            "message_id": old_mid,
            "chat": copy.deepcopy(old),
            "date": int(self._now()),
            "migrate_to_chat_id": new_chat_id,
        }
        new_mid = self._new_message_id(new_chat_id)
        new_msg: JSON = {
            "message_id": new_mid,
            "chat": copy.deepcopy(new_chat),
            "date": int(self._now()),
            "migrate_from_chat_id": old_chat_id,
        }
        if sender is not None:
            old_msg["from"] = copy.deepcopy(sender)
            new_msg["from"] = copy.deepcopy(sender)
        self._migrated[old_chat_id] = new_chat_id
        self._chats.pop(old_chat_id, None)
        self._messages[(old_chat_id, old_mid)] = old_msg
        self._messages[(new_chat_id, new_mid)] = new_msg
        self._enqueue({"message": old_msg})
        self._enqueue({"message": new_msg})
        self._log(
            "migration",
            old_chat_id,
            sender["id"] if sender else 0,
            old_mid,
            f"group upgraded to supergroup {new_chat_id}",
            chat=old,
        )
        return new_chat

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """The user sends ``text`` (private chat by default); returns the Message dict.

        A leading ``/command`` (optionally ``/command@botname``, Telegram's rule:
        ``[A-Za-z0-9_]``) gets a ``bot_command`` entity at offset 0, so PTB's CommandHandler
        sees it. ``reply_to_message_id`` embeds the full replied-to message (bot's or user's).

        Raises:
            ValueError: unknown user/chat/replied-to message.
        """
        fields: JSON = {"text": text}
        match = _COMMAND_RE.match(text)
        if match:
            fields["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(match.group(0))}
            ]
        return self._user_message(
            user_id, chat_id, fields, reply_to_message_id=reply_to_message_id, text=text
        )

    def send_photo(
        self,
        user_id: int,
        content: bytes,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """The user sends a photo; the bot can getFile + download ``content``.

        Returns the Message dict (``photo`` holds one PhotoSize).

        Raises:
            ValueError: unknown user/chat.
        """
        stored = self._store_file(content, "photos", None, None)
        fields: JSON = {"photo": [self._photo_size(stored)]}
        if caption:
            fields["caption"] = caption
        return self._user_message(
            user_id,
            chat_id,
            fields,
            reply_to_message_id=reply_to_message_id,
            text=caption or "",
            attachment=f"photo, {len(content)} bytes",
        )

    def send_document(
        self,
        user_id: int,
        content: bytes,
        file_name: str,
        mime_type: str = "application/octet-stream",
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """The user sends a file; the bot can getFile + download ``content``.

        Returns the Message dict with ``document`` {file_id, file_unique_id, file_name,
        mime_type, file_size}.

        Raises:
            ValueError: unknown user/chat.
        """
        stored = self._store_file(content, "documents", file_name, mime_type)
        fields: JSON = {"document": self._document_dict(stored)}
        if caption:
            fields["caption"] = caption
        return self._user_message(
            user_id,
            chat_id,
            fields,
            reply_to_message_id=reply_to_message_id,
            text=caption or "",
            attachment=f"document {file_name}, {len(content)} bytes",
        )

    def send_message(self, user_id: int, chat_id: int | None = None, **message_fields: Any) -> JSON:
        """Escape hatch: the user sends a Message with arbitrary extra fields.

        ``message_id``, ``from``, ``chat`` and ``date`` are filled in; pass e.g.
        ``sticker={...}``, ``location={...}``, ``contact={...}``, ``forward_origin={...}``.

        Raises:
            ValueError: unknown user/chat.
        """
        text = str(message_fields.get("text") or message_fields.get("caption") or "")
        extra = ", ".join(k for k in message_fields if k not in ("text", "caption"))
        return self._user_message(
            user_id, chat_id, dict(message_fields), text=text, attachment=extra or None
        )

    def edit_text(
        self, user_id: int, message_id: int, new_text: str, chat_id: int | None = None
    ) -> JSON:
        """The user edits one of their text messages; queues an ``edited_message`` update.

        Returns the edited Message dict.

        Raises:
            ValueError: unknown message or not this user's message.
        """
        chat_id = user_id if chat_id is None else chat_id
        msg = self._messages.get((chat_id, message_id))
        if msg is None or msg.get("from", {}).get("id") != user_id:
            raise ValueError(f"user {user_id} has no message {message_id} in chat {chat_id}")
        msg["text"] = new_text
        msg["edit_date"] = int(self._now())
        msg.pop("entities", None)
        match = _COMMAND_RE.match(new_text)
        if match:
            msg["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(match.group(0))}
            ]
        self._enqueue({"edited_message": msg})
        self._log("edit", chat_id, user_id, message_id, new_text)
        return copy.deepcopy(msg)

    def press_button(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> str:
        """The user presses an inline button; queues a ``callback_query`` update.

        The data is not checked against the message's keyboard (tests may forge it).

        Returns:
            The callback query id (look it up later in :attr:`answered_callbacks`).

        Raises:
            ValueError: unknown user or message.
        """
        user = self._require_user(user_id)
        chat_id = user_id if chat_id is None else chat_id
        msg = self._messages.get((chat_id, message_id))
        if msg is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        self._callback_counter += 1
        query_id = f"{self.bot_id}{self._callback_counter:08d}"
        query: JSON = {
            "id": query_id,
            "from": copy.deepcopy(user),
            "message": copy.deepcopy(msg),
            "chat_instance": f"{abs(chat_id) * 31 + 7}",
            "data": callback_data,
        }
        self._pending_callbacks[query_id] = query
        self._enqueue({"callback_query": query})
        label = next(
            (t for t, d in _keyboard_buttons(msg.get("reply_markup")) if d == callback_data),
            f"data={callback_data!r}",
        )
        self._log("button", chat_id, user_id, message_id, label)
        return query_id

    def click(self, user_id: int, message: SentMessage, label: str) -> str:
        """Press the button labelled ``label`` on a message the bot sent.

        Raises:
            KeyError: no callback button with that label.
        """
        return self.press_button(
            user_id, message.message_id, message.data_for(label), chat_id=message.chat_id
        )

    def buttons(self, message: SentMessage | Mapping[str, Any]) -> list[tuple[str, str | None]]:
        """Same as the module function :func:`buttons`."""
        return buttons(message)

    def queue_update(self, update: Mapping[str, Any]) -> int:
        """Queue a raw Update (without ``update_id``); returns the assigned update_id."""
        return self._enqueue(copy.deepcopy(dict(update)))

    # ----------------------------------------------------------------------------------------
    # Reading what happened
    # ----------------------------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Sent/edited messages in ``chat_id``, in order."""
        return [s for s in self.sent if s.chat_id == chat_id]

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """The current state of a message (after edits), or None if unknown/deleted."""
        msg = self._messages.get((chat_id, message_id))
        return copy.deepcopy(msg) if msg is not None else None

    def file_content(self, file_id: str) -> bytes:
        """The bytes stored for ``file_id``. Raises KeyError if unknown."""
        return self._files[file_id].data

    @property
    def pending_updates(self) -> int:
        """Number of queued updates not yet confirmed by a getUpdates offset."""
        return len(self._updates)

    def failed_calls(self, method: str | None = None) -> list[ApiCall]:
        """Answered calls with a status >= 400 (optionally of one method)."""
        return [
            c
            for c in self.calls
            if c.status >= 400 and (method is None or c.method.lower() == method.lower())
        ]

    def transcript(self) -> Transcript:
        """The conversation so far (both sides), chronologically; see :class:`Transcript`."""
        return Transcript(copy.deepcopy(self._transcript))

    def transcript_text(
        self, names: Mapping[int, str] | None = None, tz: tzinfo | None = None
    ) -> str:
        """Shortcut for ``transcript().render(names, tz)``: the chat as it happened, as text."""
        return self.transcript().render(names, tz)

    async def wait_for(
        self,
        predicate: Callable[[SentMessage], bool],
        *,
        timeout: float = 5.0,
        since: int = 0,
    ) -> SentMessage:
        """Return the first entry of :attr:`sent` (from index ``since``) matching ``predicate``.

        Waits up to ``timeout`` seconds for it to appear.

        Raises:
            AssertionError: on timeout, with a dump of what was sent and of failed calls.
        """
        deadline = time.monotonic() + timeout
        while True:
            event = self._signal
            for item in self.sent[since:]:
                if predicate(item):
                    return item
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(self.dump(f"no sent message matched within {timeout:g}s"))
            await self._wait_event(event, remaining)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> ApiCall:
        """Return the first *answered* call of ``method`` (case-insensitive) matching.

        Raises:
            AssertionError: on timeout, with a dump.
        """
        wanted = method.lower()
        deadline = time.monotonic() + timeout
        while True:
            event = self._signal
            for call in self.calls[since:]:
                if (
                    call.status
                    and call.method.lower() == wanted
                    and (predicate is None or predicate(call))
                ):
                    return call
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(self.dump(f"no {method} call matched within {timeout:g}s"))
            await self._wait_event(event, remaining)

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until every queued update was fetched and the bot was quiet for ``quiet`` s.

        "Quiet" means no request other than getUpdates arrived or was in progress (long polls
        do not count).

        Raises:
            AssertionError: not idle within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            unfetched = [u for u in self._updates if u["update_id"] > self._max_delivered]
            if not unfetched and self._inflight == 0 and now - self._last_activity >= quiet:
                return
            if now >= deadline:
                raise AssertionError(
                    self.dump(
                        f"not idle after {timeout:g}s: {len(unfetched)} update(s) not fetched, "
                        f"{self._inflight} request(s) in progress"
                    )
                )
            await asyncio.sleep(0.02)

    def dump(self, headline: str = "stand-in state") -> str:
        """A readable summary of sent messages, failed calls and server errors."""
        lines = [headline, f"sent messages ({len(self.sent)}):"]
        start = max(0, len(self.sent) - 30)
        for index, s in enumerate(self.sent[start:], start):
            extra = f" buttons={s.labels}" if s.buttons else ""
            if s.document:
                extra += f" document={s.document.get('file_name')}"
            if s.photo:
                extra += " photo"
            lines.append(
                f"  [{index}] {s.method} chat={s.chat_id} #{s.message_id}: "
                f"{_short(s.plain_text)!s}{extra}"
            )
        failed = [c for c in self.calls if c.status >= 400 and c.method != "getUpdates"]
        if failed:
            lines.append(f"failed calls ({len(failed)}, last 10):")
            for c in failed[-10:]:
                lines.append(
                    f"  {c.method} -> {c.status} {c.description!r} "
                    f"params={_short(json.dumps(c.params, ensure_ascii=False, default=str))}"
                )
        if self.server_errors:
            lines.append("stand-in internal errors:")
            lines.extend(f"  {err}" for err in self.server_errors[-5:])
        lines.append(f"unconfirmed updates: {len(self._updates)}")
        return "\n".join(lines)

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
        self, chat: JSON, fields: JSON, markup: JSON | None, reply: JSON | None
    ) -> JSON:
        chat_id = int(chat["id"])
        message_id = self._new_message_id(chat_id)
        msg: JSON = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": copy.deepcopy(chat),
            "date": int(self._now()),
        }
        msg.update(fields)
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

    # ----------------------------------------------------------------------------------------
    # Method handlers (each gets the parsed request, returns the "result")
    # ----------------------------------------------------------------------------------------

    async def _m_true(self, req: _Request) -> bool:
        return True

    async def _m_get_me(self, req: _Request) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_get_updates(self, req: _Request) -> list[JSON]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        params = req.params
        offset = params.get("offset")
        limit = params.get("limit")
        limit = min(100, max(1, limit)) if isinstance(limit, int) else 100
        timeout = params.get("timeout")
        timeout = max(0.0, float(timeout)) if isinstance(timeout, int | float) else 0.0
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed] or None
        if isinstance(offset, int) and offset != 0:
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._bump()
        deadline = time.monotonic() + timeout
        batch: list[JSON] = []
        while True:
            event = self._signal
            transport = req.http.transport
            if transport is None or transport.is_closing():
                return []  # the client gave up on this poll: deliver nothing
            if generation != self._poll_generation:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            batch = self._updates[:limit]
            remaining = deadline - time.monotonic()
            if batch or self._closing or remaining <= 0:
                break
            await self._wait_event(event, remaining)
        if batch:
            self._max_delivered = max(self._max_delivered, batch[-1]["update_id"])
            self._last_activity = time.monotonic()
        return copy.deepcopy(batch)

    async def _m_set_webhook(self, req: _Request) -> bool:
        self.webhook_url = str(req.params.get("url") or "")
        if req.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_delete_webhook(self, req: _Request) -> bool:
        self.webhook_url = ""
        if req.params.get("drop_pending_updates"):
            self._updates.clear()
            self._max_delivered = self._next_update_id - 1
        return True

    async def _m_get_webhook_info(self, req: _Request) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: Mapping[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _m_set_my_commands(self, req: _Request) -> bool:
        commands = req.params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise _ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not _BOT_COMMAND_NAME_RE.match(
                str(command.get("command", ""))
            ):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if not 1 <= len(description) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(req.params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _m_get_my_commands(self, req: _Request) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(req.params), []))

    async def _m_delete_my_commands(self, req: _Request) -> bool:
        self.commands.pop(self._commands_key(req.params), None)
        return True

    async def _m_set_chat_menu_button(self, req: _Request) -> bool:
        chat_id = req.params.get("chat_id")
        button = req.params.get("menu_button") or {"type": "default"}
        self.menu_buttons[chat_id if isinstance(chat_id, int) else None] = button
        return True

    async def _m_get_chat_menu_button(self, req: _Request) -> JSON:
        chat_id = req.params.get("chat_id")
        key = chat_id if isinstance(chat_id, int) else None
        return copy.deepcopy(
            self.menu_buttons.get(key) or self.menu_buttons.get(None) or {"type": "commands"}
        )

    async def _m_send_message(self, req: _Request) -> JSON:
        params = req.params
        chat = self._target_chat(params)
        chat_id = int(chat["id"])
        self._check_can_write(chat_id)
        self._flood_check(chat_id)
        text = params.get("text")
        if text is None or text == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        plain, entities = self._format(text, params.get("parse_mode"), params.get("entities"))
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_length(plain) > MAX_MESSAGE_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        markup = self._parse_reply_markup(params)
        reply = self._reply_target(params, chat_id)
        fields: JSON = {"text": plain}
        if entities:
            fields["entities"] = entities
        msg = self._new_bot_message(chat, fields, markup, reply)
        self._raw_texts[(chat_id, msg["message_id"])] = (text, params.get("parse_mode"))
        self._flood_record(chat_id)
        self._record_sent(
            req.method, msg, raw_text=text, parse_mode=params.get("parse_mode"), reply_markup=markup
        )
        return copy.deepcopy(msg)

    async def _send_file(self, req: _Request, field_name: str, kind: str) -> JSON:
        params = req.params
        chat = self._target_chat(params)
        chat_id = int(chat["id"])
        self._check_can_write(chat_id)
        self._flood_check(chat_id)
        raw_caption, fields = self._caption(params)
        stored = self._resolve_input_file(req, field_name, kind)
        if kind == "photos":
            fields["photo"] = [self._photo_size(stored)]
        else:
            fields["document"] = self._document_dict(stored)
        markup = self._parse_reply_markup(params)
        reply = self._reply_target(params, chat_id)
        msg = self._new_bot_message(chat, fields, markup, reply)
        self._raw_texts[(chat_id, msg["message_id"])] = (raw_caption, params.get("parse_mode"))
        self._flood_record(chat_id)
        self._record_sent(
            req.method,
            msg,
            raw_text=raw_caption,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            stored=stored,
        )
        return copy.deepcopy(msg)

    async def _m_send_document(self, req: _Request) -> JSON:
        return await self._send_file(req, "document", "documents")

    async def _m_send_photo(self, req: _Request) -> JSON:
        return await self._send_file(req, "photo", "photos")

    def _apply_edit(
        self,
        req: _Request,
        msg: JSON,
        new_fields: JSON,
        markup: JSON | None,
        raw_text: str | None,
        parse_mode: Any,
    ) -> JSON:
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        old_content = {key: msg.get(key) or None for key in new_fields}
        new_content = {key: value or None for key, value in new_fields.items()}
        if old_content == new_content and (msg.get("reply_markup") or None) == inline:
            raise _ApiError(400, _NOT_MODIFIED)
        for key, value in new_content.items():
            if value is None:
                msg.pop(key, None)
            else:
                msg[key] = value
        if inline is None:
            msg.pop("reply_markup", None)
        else:
            msg["reply_markup"] = copy.deepcopy(inline)
        msg["edit_date"] = int(self._now())
        where = (int(msg["chat"]["id"]), int(msg["message_id"]))
        if raw_text is not None:
            self._raw_texts[where] = (raw_text, parse_mode)
        else:
            raw_text, parse_mode = self._raw_texts.get(where, (None, None))
        self._record_sent(
            req.method, msg, raw_text=raw_text, parse_mode=parse_mode, reply_markup=inline
        )
        return copy.deepcopy(msg)

    async def _m_edit_message_text(self, req: _Request) -> JSON:
        params = req.params
        msg = self._bot_message_for_edit(params)
        if "text" not in msg:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        text = params.get("text")
        if text is None or text == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        plain, entities = self._format(text, params.get("parse_mode"), params.get("entities"))
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_length(plain) > MAX_MESSAGE_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        markup = self._parse_reply_markup(params)
        return self._apply_edit(
            req,
            msg,
            {"text": plain, "entities": entities},
            markup,
            text,
            params.get("parse_mode"),
        )

    async def _m_edit_message_caption(self, req: _Request) -> JSON:
        params = req.params
        msg = self._bot_message_for_edit(params)
        if "text" in msg:
            raise _ApiError(400, "Bad Request: there is no caption in the message to edit")
        raw_caption, fields = self._caption(params)
        markup = self._parse_reply_markup(params)
        new_fields: JSON = {
            "caption": fields.get("caption"),
            "caption_entities": fields.get("caption_entities"),
        }
        return self._apply_edit(
            req, msg, new_fields, markup, raw_caption or "", params.get("parse_mode")
        )

    async def _m_edit_message_reply_markup(self, req: _Request) -> JSON:
        msg = self._bot_message_for_edit(req.params)
        markup = self._parse_reply_markup(req.params)
        return self._apply_edit(req, msg, {}, markup, None, None)

    async def _m_delete_message(self, req: _Request) -> bool:
        chat = self._target_chat(req.params)
        chat_id = int(chat["id"])
        message_id = req.params.get("message_id")
        if not isinstance(message_id, int) or (chat_id, message_id) not in self._messages:
            raise _ApiError(400, "Bad Request: message to delete not found")
        del self._messages[(chat_id, message_id)]
        self.deleted.append((chat_id, message_id))
        self._log("delete", chat_id, self.bot_id, message_id, "")
        return True

    async def _m_answer_callback_query(self, req: _Request) -> bool:
        query_id = str(req.params.get("callback_query_id") or "")
        query = self._pending_callbacks.pop(query_id, None)
        if query is None:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.answered_callbacks[query_id] = dict(req.params)
        text = str(req.params.get("text") or "")
        if req.params.get("show_alert") and text:
            text = f"(alert) {text}"
        message = query.get("message") or {}
        chat_id = int(message.get("chat", {}).get("id", query["from"]["id"]))
        self._log("callback_answer", chat_id, self.bot_id, message.get("message_id"), text)
        return True

    async def _m_get_file(self, req: _Request) -> JSON:
        file_id = str(req.params.get("file_id") or "")
        stored = self._files.get(file_id)
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _m_get_chat(self, req: _Request) -> JSON:
        chat = self._target_chat(req.params)
        return {
            **copy.deepcopy(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member_object(self, chat_id: int, user_id: int) -> JSON:
        if user_id == self.bot_id:
            user: JSON = self.bot_user
            status = self._members.get(chat_id, {}).get(user_id, "member")
        else:
            known = self._users.get(user_id)
            if known is None:
                raise _ApiError(400, "Bad Request: user not found")
            user = copy.deepcopy(known)
            if chat_id == user_id:
                status = "member"
            else:
                status = self._members.get(chat_id, {}).get(user_id, "left")
        member: JSON = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": False,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_pin_messages": True,
                }
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member

    async def _m_get_chat_member(self, req: _Request) -> JSON:
        chat = self._target_chat(req.params)
        user_id = req.params.get("user_id")
        if not isinstance(user_id, int):
            raise _ApiError(400, "Bad Request: user not found")
        return self._member_object(int(chat["id"]), user_id)

    async def _m_get_chat_administrators(self, req: _Request) -> list[JSON]:
        chat = self._target_chat(req.params)
        chat_id = int(chat["id"])
        return [
            self._member_object(chat_id, user_id)
            for user_id, status in self._members.get(chat_id, {}).items()
            if status in ("creator", "administrator")
        ]

    async def _m_get_chat_member_count(self, req: _Request) -> int:
        chat = self._target_chat(req.params)
        if chat["type"] == "private":
            return 2
        return len(self._members.get(int(chat["id"]), {})) + 1

    async def _m_send_chat_action(self, req: _Request) -> bool:
        chat = self._target_chat(req.params)
        self._check_can_write(int(chat["id"]))
        return True

    async def _m_pin_chat_message(self, req: _Request) -> bool:
        chat = self._target_chat(req.params)
        message_id = req.params.get("message_id")
        if not isinstance(message_id, int) or (int(chat["id"]), message_id) not in self._messages:
            raise _ApiError(400, "Bad Request: message to pin not found")
        return True

    async def _m_true_for_chat(self, req: _Request) -> bool:
        self._target_chat(req.params)
        return True

    async def _m_leave_chat(self, req: _Request) -> bool:
        chat = self._target_chat(req.params)
        self._blocked[int(chat["id"])] = "Forbidden: bot is not a member of the group chat"
        return True

    async def _m_set_bot_text(self, req: _Request) -> bool:
        key = req.method[len("setMy") :].lower()
        field_name = {"description": "description", "shortdescription": "short_description"}.get(
            key, "name"
        )
        language = str(req.params.get("language_code") or "")
        self._bot_texts[f"{field_name}:{language}"] = str(req.params.get(field_name) or "")
        return True

    async def _m_get_bot_text(self, req: _Request) -> JSON:
        key = req.method[len("getMy") :].lower()
        field_name = {"description": "description", "shortdescription": "short_description"}.get(
            key, "name"
        )
        language = str(req.params.get("language_code") or "")
        value = self._bot_texts.get(f"{field_name}:{language}")
        if value is None and field_name == "name":
            value = self.bot_first_name
        return {field_name: value or ""}

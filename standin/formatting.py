"""Telegram's parse modes as the stand-in reads them: HTML, MarkdownV2 and legacy Markdown.

:func:`parse_formatted_text` turns a text with a ``parse_mode`` into the plain text and the
message entities Telegram would store (offsets and lengths in UTF-16 code units), or raises
:class:`EntityParseError` with the description Telegram gives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


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

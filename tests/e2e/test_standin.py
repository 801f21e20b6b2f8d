"""The Bot API stand-in works with the real python-telegram-bot over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import io
import struct
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from standin import (
    BotApiStandIn,
    EntityParseError,
    FloodLimits,
    SentMessage,
    buttons,
    parse_formatted_text,
)

# PTB 22 warns about the future type of RetryAfter.retry_after whenever it builds the error.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)

ALICE = 1001
BOB = 1002
GROUP = -4001


def tiny_png() -> bytes:
    """A valid 2x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
async def tg() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as standin:
        standin.user(ALICE, "Alice", "alice")
        standin.user(BOB, "Bob")
        standin.group(GROUP, "Work committee", members=[ALICE, BOB])
        yield standin


@pytest.fixture
async def bot(tg: BotApiStandIn) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as direct:
        yield direct


@asynccontextmanager
async def running(
    tg: BotApiStandIn, *handlers: BaseHandler[Any, Any, Any]
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """A real PTB Application polling the stand-in; fails the test if a handler raised."""
    errors: list[BaseException] = []

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        errors.append(context.error)

    app = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .build()
    )
    for handler in handlers:
        app.add_handler(handler)
    app.add_error_handler(on_error)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
    assert not errors, f"handler errors: {errors!r}"


# --------------------------------------------------------------------------------------------
# A real Application
# --------------------------------------------------------------------------------------------


async def test_command_reply_and_button_press(tg: BotApiStandIn) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.effective_user is not None
        await update.message.reply_text(
            f"Hello <b>{update.effective_user.first_name}</b> &amp; welcome",
            parse_mode="HTML",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("Done", callback_data="done:7")]]
            ),
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer(f"noted {query.data}")
        await query.edit_message_text(f"finished by {query.from_user.first_name}")

    async with running(tg, CommandHandler("start", start), CallbackQueryHandler(pressed)) as app:
        assert app.bot.username == tg.bot_username
        tg.send_text(ALICE, "/start")
        reply = await tg.wait_for(lambda m: m.chat_id == ALICE)
        assert reply.text == "Hello <b>Alice</b> &amp; welcome"
        assert reply.plain_text == "Hello Alice & welcome"
        assert reply.parse_mode == "HTML"
        assert reply.entities == [{"type": "bold", "offset": 6, "length": 5}]
        assert reply.buttons == [("Done", "done:7")]
        assert buttons(reply) == tg.buttons(reply.message) == [("Done", "done:7")]

        query_id = tg.click(ALICE, reply, "Done")
        edited = await tg.wait_for(lambda m: m.is_edit)
        assert edited.message_id == reply.message_id
        assert edited.plain_text == "finished by Alice"
        assert edited.buttons == []  # an edit without reply_markup drops the keyboard
        await tg.wait_for_call("answerCallbackQuery")
        assert tg.answered_callbacks[query_id]["text"] == "noted done:7"
        await tg.wait_idle(quiet=0.1)

    current = tg.message(ALICE, reply.message_id)
    assert current is not None and "reply_markup" not in current
    rendered = tg.transcript().render()
    assert "Alice:\n    /start" in rendered
    assert "[Done]" in rendered
    assert "Alice pressed [Done]" in rendered
    assert "answered the button press: noted done:7" in rendered


async def test_reply_embeds_the_bot_message(tg: BotApiStandIn) -> None:
    async def echo_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        assert message is not None and message.reply_to_message is not None
        replied = message.reply_to_message
        assert replied.from_user is not None
        await message.reply_text(
            f"you answered {replied.from_user.username}'s '{replied.text}' with '{message.text}'"
        )

    async with running(tg, MessageHandler(filters.REPLY, echo_reply)) as app:
        question = await app.bot.send_message(ALICE, "Progress of task 3?")
        tg.send_text(ALICE, "80%", reply_to_message_id=question.message_id)
        answer = await tg.wait_for(lambda m: m.plain_text.startswith("you answered"))
    assert answer.plain_text == (
        f"you answered {tg.bot_username}'s 'Progress of task 3?' with '80%'"
    )


async def test_bot_downloads_photo_and_document(tg: BotApiStandIn) -> None:
    async def receive(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        assert message is not None
        if message.photo:
            file = await message.photo[-1].get_file()
            kind = "photo"
        else:
            assert message.document is not None
            file = await message.document.get_file()
            kind = f"document {message.document.file_name} {message.document.mime_type}"
        buffer = io.BytesIO()
        await file.download_to_memory(buffer)
        data = buffer.getvalue()
        await message.reply_text(
            f"{kind}: {len(data)} bytes {hashlib.sha256(data).hexdigest()[:12]} "
            f"caption={message.caption}"
        )

    photo = tiny_png()
    document = "进度报告\n".encode() * 100
    async with running(tg, MessageHandler(filters.PHOTO | filters.Document.ALL, receive)):
        tg.send_photo(ALICE, photo, caption="现场照片")
        got_photo = await tg.wait_for(lambda m: m.plain_text.startswith("photo"))
        tg.send_document(BOB, document, "报告.txt", "text/plain", caption="weekly", chat_id=GROUP)
        got_doc = await tg.wait_for(lambda m: m.plain_text.startswith("document"))
    digest = hashlib.sha256
    assert got_photo.plain_text == (
        f"photo: {len(photo)} bytes {digest(photo).hexdigest()[:12]} caption=现场照片"
    )
    assert got_doc.chat_id == GROUP
    assert got_doc.plain_text == (
        f"document 报告.txt text/plain: {len(document)} bytes "
        f"{digest(document).hexdigest()[:12]} caption=weekly"
    )
    assert len(tg.downloads) == 2


# --------------------------------------------------------------------------------------------
# Direct Bot calls: Telegram's validation and errors
# --------------------------------------------------------------------------------------------


async def test_html_is_validated_like_telegram(tg: BotApiStandIn, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r'(?i)can.t parse entities.*end tag.*"b"'):
        await bot.send_message(ALICE, "<b>x", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "" at byte offset 2'):
        await bot.send_message(ALICE, "a < b", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(ALICE, "Tom & Jerry", parse_mode="HTML")
    ok = await bot.send_message(ALICE, "a &lt; b", parse_mode="HTML")
    assert ok.text == "a < b"
    assert tg.sent[-1].text == "a &lt; b"
    assert tg.sent[-1].plain_text == "a < b"
    assert len(tg.sent) == 1  # rejected messages are not "sent"


@pytest.mark.parametrize(
    ("html", "plain", "entities"),
    [
        ("<b>bold</b> <i>it</i>", "bold it", [("bold", 0, 4), ("italic", 5, 2)]),
        ("<B>x</B>", "x", [("bold", 0, 1)]),
        ('<a href="https://e.x/?a=1&amp;b=2">link</a>', "link", [("text_link", 0, 4)]),
        ("&#128512;&#x41;&quot;&gt;", '😀A">', []),
        ("<tg-spoiler>s</tg-spoiler>", "s", [("spoiler", 0, 1)]),
        ('<span class="tg-spoiler">s</span>', "s", [("spoiler", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ('<pre><code class="language-py">x</code></pre>', "x", [("pre", 0, 1)]),
        ("😀<u>u</u>", "😀u", [("underline", 2, 1)]),
        ("<b>a<i>b</i></b>", "ab", [("bold", 0, 2), ("italic", 1, 1)]),
        ("x > y", "x > y", []),
    ],
)
def test_html_parser_accepts(html: str, plain: str, entities: list[tuple[str, int, int]]) -> None:
    text, parsed = parse_formatted_text(html, "HTML")
    assert text == plain
    assert [(e["type"], e["offset"], e["length"]) for e in parsed] == entities


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("&nbsp;", 'Character "&" at byte offset 0'),
        ("é <x>", 'Unsupported start tag "x" at byte offset 3'),
    ],
)
def test_html_parser_rejects(html: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_formatted_text(html, "HTML")
    assert error in str(caught.value)


def test_markdown_v2_reserved_characters() -> None:
    with pytest.raises(EntityParseError, match=r"Character '.' is reserved"):
        parse_formatted_text("Done.", "MarkdownV2")
    with pytest.raises(EntityParseError, match=r"Can't find end of Bold entity"):
        parse_formatted_text("*bold", "MarkdownV2")
    text, entities = parse_formatted_text(r"*bold* \- [link](https://e\.x) `a.b`", "MarkdownV2")
    assert text == "bold - link a.b"
    assert [e["type"] for e in entities] == ["bold", "text_link", "code"]
    assert parse_formatted_text("a & b", "HTML", strict_ampersand=False)[0] == "a & b"


async def test_length_is_measured_on_plain_text_in_utf16(tg: BotApiStandIn, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(ALICE, "a" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(ALICE, "😀" * 2048 + "a")  # 4097 UTF-16 code units
    await bot.send_message(ALICE, "a" * 4096)
    await bot.send_message(ALICE, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(ALICE, "<b> </b>", parse_mode="HTML")
    assert len(tg.sent) == 2


async def test_fail_next_429_surfaces_as_retry_after(tg: BotApiStandIn, bot: Bot) -> None:
    tg.fail_next(
        "sendmessage",
        error_code=429,
        description="Too Many Requests: retry after 7",
        retry_after=7,
    )
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(ALICE, "first try")
    assert "Retry in 7 seconds" in str(caught.value)
    await bot.send_message(ALICE, "second try")
    assert [s.plain_text for s in tg.sent] == ["second try"]
    assert tg.flood_429_count == 1
    assert [c.status for c in tg.calls if c.method == "sendMessage"] == [429, 200]


async def test_fail_next_can_target_one_chat(tg: BotApiStandIn, bot: Bot) -> None:
    tg.fail_next("sendMessage", error_code=502, description="Bad Gateway", chat_id=BOB)
    await bot.send_message(ALICE, "unaffected")
    with pytest.raises(Exception, match=r"Bad Gateway"):
        await bot.send_message(BOB, "hit")
    await bot.send_message(BOB, "fine again")


async def test_unknown_blocked_and_migrated_chats(tg: BotApiStandIn, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hello?")
    tg.block_chat(BOB)
    with pytest.raises(Forbidden, match=r"blocked by the user"):
        await bot.send_message(BOB, "hello?")
    tg.user(1003, "Carol", started=False)
    with pytest.raises(Forbidden, match=r"can't initiate conversation"):
        await bot.send_message(1003, "hello?")
    tg.send_text(1003, "/start")
    await bot.send_message(1003, "now it works")

    tg.migrate_group(GROUP, -1001234567890)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(GROUP, "hello group")
    assert caught.value.new_chat_id == -1001234567890
    await bot.send_message(-1001234567890, "hello supergroup")
    updates = await bot.get_updates(timeout=0)
    migrations = [u.message.migrate_to_chat_id for u in updates if u.message]
    assert -1001234567890 in migrations


async def test_flood_limits(tg: BotApiStandIn, bot: Bot) -> None:
    tg.set_flood_limits(True)
    results = await asyncio.gather(
        *(bot.send_message(ALICE, f"burst {i}") for i in range(5)), return_exceptions=True
    )
    limited = [r for r in results if isinstance(r, RetryAfter)]
    assert len(limited) == 2, results
    assert tg.flood_429_count == 2
    assert len(tg.sent) == 3
    too_many = tg.failed_calls("sendMessage")[0]
    assert too_many.status == 429
    assert too_many.response is not None
    assert too_many.response["parameters"]["retry_after"] >= 1

    tg.set_flood_limits(True, FloodLimits(group_per_minute=2, chat_burst=10))
    await bot.send_message(GROUP, "one")
    await bot.send_message(GROUP, "two")
    with pytest.raises(RetryAfter):
        await bot.send_message(GROUP, "three")


async def test_edits_behave_like_telegram(tg: BotApiStandIn, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(ALICE, "v1", reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "v1", chat_id=ALICE, message_id=sent.message_id, reply_markup=keyboard
        )
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("v2", chat_id=ALICE, message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_reply_markup(chat_id=ALICE, message_id=999)
    await bot.edit_message_reply_markup(chat_id=ALICE, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(chat_id=ALICE, message_id=sent.message_id)
    edited = await bot.edit_message_text("v2", chat_id=ALICE, message_id=sent.message_id)
    assert isinstance(edited, type(sent)) and edited.text == "v2"
    assert [(s.method, s.plain_text, s.labels) for s in tg.messages_to(ALICE)] == [
        ("sendMessage", "v1", ["A"]),
        ("editMessageReplyMarkup", "v1", []),
        ("editMessageText", "v2", []),
    ]
    assert await bot.delete_message(ALICE, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(ALICE, sent.message_id)


async def test_callback_data_longer_than_64_bytes(tg: BotApiStandIn, bot: Bot) -> None:
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(ALICE, "pick", reply_markup=too_long)


async def test_bot_can_send_files_and_read_them_back(tg: BotApiStandIn, bot: Bot) -> None:
    doc = await bot.send_document(
        GROUP, b"col1,col2\n1,2\n", filename="table.csv", caption="<i>export</i>", parse_mode="HTML"
    )
    assert doc.document is not None and doc.document.file_name == "table.csv"
    assert doc.caption == "export"
    record = tg.sent[-1]
    assert record.file_content == b"col1,col2\n1,2\n"
    assert record.document is not None and record.document["mime_type"] == "text/csv"
    again = await bot.send_document(ALICE, doc.document.file_id)  # by file_id
    assert again.document is not None and again.document.file_id == doc.document.file_id
    photo = await bot.send_photo(ALICE, tiny_png())
    assert photo.photo[-1].width == 2 and photo.photo[-1].height == 1
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(ALICE, b"%PDF-1.4 not an image")
    file = await bot.get_file(doc.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"col1,col2\n1,2\n"


async def test_delay_provokes_timeouts_but_the_message_still_arrives(
    tg: BotApiStandIn, bot: Bot
) -> None:
    tg.delay_next("sendMessage", 0.4)
    with pytest.raises(TimedOut):
        await bot.send_message(ALICE, "slow", read_timeout=0.1)
    late = await tg.wait_for(lambda m: m.plain_text == "slow", timeout=2)
    assert late.chat_id == ALICE


async def test_get_updates_long_polling(tg: BotApiStandIn, bot: Bot) -> None:
    assert await bot.get_updates(timeout=0) == ()

    async def later() -> None:
        await asyncio.sleep(0.1)
        tg.send_text(ALICE, "hi")

    task = asyncio.create_task(later())
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    assert time.monotonic() - started < 2
    await task
    assert len(updates) == 1 and updates[0].message is not None
    assert updates[0].message.text == "hi"
    tg.send_text(ALICE, "second")
    tg.send_text(ALICE, "third")
    first = await bot.get_updates(offset=updates[0].update_id + 1, limit=1, timeout=0)
    assert [u.message.text for u in first if u.message] == ["second"]
    rest = await bot.get_updates(offset=first[0].update_id + 1, timeout=0)
    assert [u.message.text for u in rest if u.message] == ["third"]
    assert tg.pending_updates == 1


async def test_command_entities(tg: BotApiStandIn) -> None:
    message = tg.send_text(ALICE, "/report@standin_bot 3 tasks")
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 19}]
    assert "entities" not in tg.send_text(ALICE, "no command")
    button_press = tg.press_button(ALICE, message["message_id"], "forged:data")
    assert button_press


async def test_raw_http_formats_and_errors(tg: BotApiStandIn) -> None:
    base = f"{tg.base_url}{tg.token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/sendMessage", json={"chat_id": ALICE, "text": "json"}) as r:
            assert r.status == 200 and (await r.json())["result"]["text"] == "json"
        async with http.post(
            f"{base}/SENDMESSAGE", data={"chat_id": str(ALICE), "text": "form"}
        ) as r:
            assert r.status == 200
        async with http.get(f"{base}/sendMessage", params={"chat_id": ALICE, "text": "query"}) as r:
            assert r.status == 200
        async with http.get(f"{base}/noSuchMethod") as r:
            assert r.status == 404
            assert await r.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with http.get(f"{tg.base_url}1:wrong/getMe") as r:
            assert r.status == 401
            assert (await r.json())["description"] == "Unauthorized"
    assert [s.plain_text for s in tg.sent] == ["json", "form", "query"]


async def test_wrong_token_raises_invalid_token(tg: BotApiStandIn) -> None:
    wrong = Bot("1:wrong", base_url=tg.base_url, base_file_url=tg.base_file_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()


async def test_wait_for_timeout_shows_what_was_sent(tg: BotApiStandIn, bot: Bot) -> None:
    await bot.send_message(ALICE, "something else")
    with pytest.raises(BadRequest):
        await bot.send_message(ALICE, "<oops>", parse_mode="HTML")
    with pytest.raises(AssertionError) as caught:
        await tg.wait_for(lambda m: m.plain_text == "never", timeout=0.05)
    report = str(caught.value)
    assert "something else" in report
    assert "Unsupported start tag" in report


async def test_transcript_render_uses_names(tg: BotApiStandIn, bot: Bot) -> None:
    tg.send_text(BOB, "hello all", chat_id=GROUP)
    await bot.send_message(GROUP, "hi Bob")
    text = tg.transcript().render({BOB: "Bob (secretary)", GROUP: "Committee"})
    assert "Committee" in text and "Bob (secretary):\n    hello all" in text
    assert f"{tg.bot_first_name}:\n    hi Bob" in text
    assert isinstance(tg.sent[0], SentMessage)


async def test_privacy_mode_and_fake_clock() -> None:
    start = datetime(2025, 12, 17, 1, 30, tzinfo=UTC)
    async with BotApiStandIn(privacy_mode=True, clock=lambda: start) as api:
        api.user(ALICE, "Alice")
        api.group(GROUP, "Work committee", members=[ALICE])
        api.send_text(ALICE, "chatter the bot cannot see", chat_id=GROUP)
        api.send_text(ALICE, "/digest@standin_bot", chat_id=GROUP)
        async with Bot(api.token, base_url=api.base_url) as direct:
            assert not (await direct.get_me()).can_read_all_group_messages
            updates = await direct.get_updates(timeout=0)
        assert [u.message.text for u in updates if u.message] == ["/digest@standin_bot"]
        assert updates[0].message is not None and updates[0].message.date == start
        text = api.transcript_text(tz=ZoneInfo("Asia/Shanghai"))
        assert text.startswith("09:30:00  Work committee")
        assert "chatter the bot cannot see" in text

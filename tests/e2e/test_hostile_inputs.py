"""Hostile and odd inputs through the Bot API stand-in, one table row per input.

Each row says who sends what at which step of a chat, and what must follow: a clear answer
(a substring of the Chinese text in `bot/texts.py`) or deliberate silence, and what is stored:
the exact note after confirming, or nothing at all. After every row: no ERROR was logged and
the digest still renders. One bot runs for the whole module (starting one per row would take
minutes); each row first brings the chats back to a known state.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlmodel import col, func, select

from bot import texts
from bot.context import InviteGuard
from bot.reads import build_current_digest
from bot.render import DIGEST_LINE_BUDGET, DIGEST_WORD_NOTE_CHARS, clip, telegram_length
from db import repo
from db.models import AuditEvent, Contact, Invite, StatusReport, Task
from jobs.types import AssignmentRole, Status
from standin import BotApiStandIn, SentMessage
from standin.harness import COORDINATOR, GROUP
from tests.conftest import GROUP_MEMBER, STRANGER, BotHarness, database_url_in, started_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONTACT = 2001  # contact of 区民政局, which leads tasks 2, 5, 8 and 25
NEWCOMER = 4004  # writes in the group; the bot has never heard of them
NOTE_TASK = 2  # the conversation rows report on task 2 (button on its reminder)
REPLY_TASK = 25  # the reply rows answer the reminder of task 25
BASE_NOTE = "原始说明"  # the note typed before the evidence and confirmation rows
ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
NUL_REFUSED_FOR_NOTES_ONLY = (
    "NUL is refused in notes (PostgreSQL text cannot hold it) but not in other text that "
    "reaches the database: psycopg.DataError, an ERROR logged, and the generic error answer"
)

WHO = {
    "stranger": STRANGER,
    "contact": CONTACT,
    "coordinator": COORDINATOR,
    "member": GROUP_MEMBER,
    "newcomer": NEWCOMER,
}

# ---------------------------------------------------------------- inputs that are not plain text

STICKER = {
    "sticker": {
        "file_id": "stk-1",
        "file_unique_id": "stk-u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "😀",
    }
}
VOICE = {
    "voice": {"file_id": "voice-1", "file_unique_id": "voice-u1", "duration": 3},
}
LOCATION = {"location": {"latitude": 30.1915, "longitude": 105.7844}}
SHARED_CONTACT = {
    "contact": {"phone_number": "+8613800000000", "first_name": "李明", "user_id": CONTACT}
}
FORWARDED_TEXT = "转发：<b>关于残疾人之家建设的通知</b> & 附件"
FORWARDED = {
    "text": FORWARDED_TEXT,
    "forward_origin": {"type": "hidden_user", "sender_user_name": "某科室", "date": 1765900000},
}
JOINED = {"new_chat_members": [{"id": NEWCOMER, "is_bot": False, "first_name": "新人"}]}


@dataclass(frozen=True)
class Edit:
    """The sender edits their last text message (the note, in a conversation) into `text`."""

    text: str


@dataclass(frozen=True)
class Photo:
    """The sender sends a photo."""

    caption: str | None = None


@dataclass(frozen=True)
class Document:
    """The sender sends a file named `name`."""

    name: str


@dataclass(frozen=True)
class Press:
    """The sender presses the confirmation's button `label` `times` times in a row."""

    label: str
    times: int


@dataclass(frozen=True)
class Case:
    """One row: who sends `send` at `step`; `answer` is a substring of the expected answer
    (None: deliberate silence); `stored` the note stored exactly after confirming (None:
    nothing stored); `forbid` a text the answer must not contain."""

    who: str
    step: str  # idle | note | evidence | confirm | reply | group | group-reply
    send: Any
    answer: str | None
    stored: str | None = None
    forbid: str | None = None


def row(
    name: str,
    who: str,
    step: str,
    send: Any,
    answer: str | None,
    stored: str | None = None,
    *,
    forbid: str | None = None,
    bug: str | None = None,
    bug_on_postgres: str | None = None,
) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=f"bug: {bug}")] if bug else []
    if bug_on_postgres:
        reason = f"bug on PostgreSQL: {bug_on_postgres}"
        marks.append(pytest.mark.xfail(ON_POSTGRES, strict=True, reason=reason))
    return pytest.param(Case(who, step, send, answer, stored, forbid), id=name, marks=marks)


# substrings of the answers, from bot/texts.py
ASK_EVIDENCE = "如有佐证材料"
NOT_TEXT = "请用文字"
EMPTY = "不能为空"
TOO_LONG = "说明太长了"
BAD_CHAR = "控制字符"
NOT_FILE = "请发送照片、文件或语音"
DOWNLOAD_FAILED = "下载失败"
USE_BUTTONS = "请点击上方"
UNKNOWN_COMMAND = "无法识别的命令"
NOT_UNDERSTOOD = "我没有理解您的消息"
CONTACT_NOT_TEXT = "请发送文字说明任务进展"
OFFER = "要把这段话记为"
STRANGER_TEXT = "单位联络员请使用协调员发给您的邀请链接登记"
INVITE_UNKNOWN = "邀请码无效"
UPDATED = "已按您修改后的内容更新说明"
REPLY_SAVED = f"已将您的留言记录为第{REPLY_TASK}项任务"

HTML_BOLD = "<b>已完成</b>排查"
HTML_CLOSE = "进度</i>过半</b>"
HTML_AMP = "资金&amp;人员已到位 &lt;b&gt; 不是标签"
HTML_NUL_ENTITY = "编号&#0;与&#x0;实体"
HTML_LINK = '<a href="x">点此</a> <a href="javascript:alert(1)">链接</a>'
HTML_SCRIPT = "<script>alert('x')</script><tg-spoiler>秘密</tg-spoiler><pre>代码"
HTML_LT = "<" * 2000  # 2,000 units typed, 8,000 once escaped
MARKDOWN = "*粗体* _斜体_ __下划线__ [链接](http://x.cn) `代码` ~删除~ ||剧透|| \\*"
CJK_2000 = ("残疾人之家建设进展顺利" * 200)[:2000]
EMOJI_1000 = "😀" * 1000  # 2,000 UTF-16 units: exactly at the limit
ZWJ_AND_FLAGS = "👨‍👩‍👧‍👦 👩🏽‍💻 🏳️‍🌈 🇨🇳🇭🇰 1️⃣ 👍🏿 已完成"
RTL = "مرحبا بالعالم שלום עולם 进展123"
RLO = "\u202eevif-owt\u202c 已完成 \u2067مرحبا\u2069"
BELL_ESCAPE = "响铃\x07 \x1b[31m红色\x1b[0m 退格\x08删除\x7f"
SEPARATORS = "第一行\r\n第二行\u2028第三行\u2029第四行\x0b第五行\x0c\x1c\x85"
SQL = "'); DROP TABLE statusreport;--"
SQL_MORE = "\" OR 1=1; -- %_\\ ' UNION SELECT * FROM contact; /*"
PLAIN_EDIT = "<i>改正后的说明</i> & 更新"
DOC_NAME = '<b>报告</b>&amp;"落实"\u202efdp.exe'

HOSTILE_NOTES: list[str] = [
    HTML_BOLD,
    HTML_CLOSE,
    HTML_AMP,
    HTML_NUL_ENTITY,
    HTML_LINK,
    HTML_SCRIPT,
    HTML_LT,
    MARKDOWN,
    CJK_2000,
    EMOJI_1000,
    ZWJ_AND_FLAGS,
    RTL,
    RLO,
    BELL_ESCAPE,
    SEPARATORS,
    SQL,
    SQL_MORE,
    PLAIN_EDIT,
    FORWARDED_TEXT,
]

CASES = [
    # ------------------------------------------------ the note step: stored exactly, or refused
    row("note-html-bold", "contact", "note", HTML_BOLD, ASK_EVIDENCE, HTML_BOLD),
    row("note-html-stray-closing-tags", "contact", "note", HTML_CLOSE, ASK_EVIDENCE, HTML_CLOSE),
    row("note-html-entities-amp", "contact", "note", HTML_AMP, ASK_EVIDENCE, HTML_AMP),
    row("note-html-entity-nul", "contact", "note", HTML_NUL_ENTITY, ASK_EVIDENCE, HTML_NUL_ENTITY),
    row("note-html-links", "contact", "note", HTML_LINK, ASK_EVIDENCE, HTML_LINK),
    row("note-html-script-spoiler-pre", "contact", "note", HTML_SCRIPT, ASK_EVIDENCE, HTML_SCRIPT),
    row("note-2000-lt-signs", "contact", "note", HTML_LT, ASK_EVIDENCE, HTML_LT),
    row("note-markdown-specials", "contact", "note", MARKDOWN, ASK_EVIDENCE, MARKDOWN),
    row("note-10000-chars-refused", "contact", "note", "资" * 10_000, TOO_LONG),
    row("note-2000-cjk-stored", "contact", "note", CJK_2000, ASK_EVIDENCE, CJK_2000),
    row("note-2001-cjk-refused", "contact", "note", CJK_2000 + "。", "2001字"),
    row("note-1000-emoji-at-limit", "contact", "note", EMOJI_1000, ASK_EVIDENCE, EMOJI_1000),
    row("note-1001-emoji-refused", "contact", "note", "😀" * 1001, "2002字"),
    row("note-2000-emoji-refused", "contact", "note", "😀" * 2000, "4000字"),
    row("note-empty-text", "contact", "note", "", NOT_TEXT),
    row("note-whitespace-only", "contact", "note", " \t\n\u3000\u00a0 ", EMPTY),
    row("note-zero-width-only", "contact", "note", "\u200b\u200c\u200d\u2060\ufeff", EMPTY),
    row(
        "note-zero-width-between-spaces",
        "contact",
        "note",
        "\u200b \u200b \u200b",
        EMPTY,
    ),
    row(
        "note-bidi-marks-only",
        "contact",
        "note",
        "\u200e\u200f\u202e\u2066",
        EMPTY,
    ),
    row("note-zwj-sequences-flags", "contact", "note", ZWJ_AND_FLAGS, ASK_EVIDENCE, ZWJ_AND_FLAGS),
    row("note-right-to-left", "contact", "note", RTL, ASK_EVIDENCE, RTL),
    row("note-rlo-override", "contact", "note", RLO, ASK_EVIDENCE, RLO),
    row("note-bell-ansi-escape", "contact", "note", BELL_ESCAPE, ASK_EVIDENCE, BELL_ESCAPE),
    row("note-line-separators", "contact", "note", SEPARATORS, ASK_EVIDENCE, SEPARATORS),
    row("note-nul-refused", "contact", "note", "资金\x00到位", BAD_CHAR),
    row("note-sql-drop-table", "contact", "note", SQL, ASK_EVIDENCE, SQL),
    row("note-sql-union-like", "contact", "note", SQL_MORE, ASK_EVIDENCE, SQL_MORE),
    row("note-unknown-command", "contact", "note", "/frobnicate", UNKNOWN_COMMAND),
    row("note-sticker", "contact", "note", STICKER, NOT_TEXT),
    row("note-voice", "contact", "note", VOICE, NOT_TEXT),
    row("note-location", "contact", "note", LOCATION, NOT_TEXT),
    row("note-shared-contact", "contact", "note", SHARED_CONTACT, NOT_TEXT),
    row("note-photo-with-caption", "contact", "note", Photo("照片里是说明"), NOT_TEXT),
    row("note-forwarded-text", "contact", "note", FORWARDED, ASK_EVIDENCE, FORWARDED_TEXT),
    # ------------------------------------------------ the evidence step: a photo/file or 跳过
    row("evidence-sticker", "contact", "evidence", STICKER, NOT_FILE),
    row("evidence-voice-not-downloadable", "contact", "evidence", VOICE, DOWNLOAD_FAILED),
    row("evidence-location", "contact", "evidence", LOCATION, NOT_FILE),
    row("evidence-html-text", "contact", "evidence", "<b>没有</b>文件 &amp;", NOT_FILE),
    row("evidence-unknown-command", "contact", "evidence", "/frobnicate", UNKNOWN_COMMAND),
    row(
        "evidence-document-html-rlo-name",
        "contact",
        "evidence",
        Document(DOC_NAME),
        # the bidirectional override is not shown (it makes "fdp.exe" display as "exe.pdf")
        "1. 文件《" + DOC_NAME.replace("\u202e", "") + "》",
        BASE_NOTE,
    ),
    row(
        "evidence-document-nul-in-name",
        "contact",
        "evidence",
        Document("报告\x00.pdf"),
        "1. 文件《报告.pdf》",
        BASE_NOTE,
    ),
    row("evidence-edit-note", "contact", "evidence", Edit(PLAIN_EDIT), UPDATED, PLAIN_EDIT),
    row("evidence-edit-note-nul", "contact", "evidence", Edit("改\x00"), BAD_CHAR, BASE_NOTE),
    # ------------------------------------------------ the confirmation step: buttons only
    row("confirm-text", "contact", "confirm", "确认 <b>提交</b>", USE_BUTTONS),
    row("confirm-sticker", "contact", "confirm", STICKER, USE_BUTTONS),
    row("confirm-contact-card", "contact", "confirm", SHARED_CONTACT, USE_BUTTONS),
    row("confirm-unknown-command", "contact", "confirm", "/中文", USE_BUTTONS),
    row("confirm-double-click", "contact", "confirm", Press("确认提交", 2), "已记录", BASE_NOTE),
    row("confirm-edit-note", "contact", "confirm", Edit(PLAIN_EDIT), UPDATED, PLAIN_EDIT),
    row(
        "confirm-edit-note-too-long", "contact", "confirm", Edit("长" * 10_000), TOO_LONG, BASE_NOTE
    ),
    row("confirm-edit-note-blank", "contact", "confirm", Edit(" \u200b "), EMPTY, BASE_NOTE),
    row(
        "confirm-photo-after-skipping",
        "contact",
        "confirm",
        Photo(),
        "佐证材料",
        forbid="已保存第一份",
    ),
    # ------------------------------------------------ a reply to a reminder
    row("reply-html", "contact", "reply", HTML_SCRIPT, REPLY_SAVED, HTML_SCRIPT),
    row("reply-markdown", "contact", "reply", MARKDOWN, REPLY_SAVED, MARKDOWN),
    row("reply-10000-chars-refused", "contact", "reply", "长" * 10_000, TOO_LONG),
    row("reply-nul-refused", "contact", "reply", "\x00", BAD_CHAR),
    row("reply-whitespace-refused", "contact", "reply", "\u3000 \n", EMPTY),
    row("reply-sticker", "contact", "reply", STICKER, CONTACT_NOT_TEXT),
    # ------------------------------------------------ a private chat with no conversation
    row("idle-stranger-html", "stranger", "idle", "<b>你好</b> &amp;", STRANGER_TEXT),
    row("idle-stranger-sql", "stranger", "idle", SQL, STRANGER_TEXT),
    row("idle-contact-rlo", "contact", "idle", RLO, OFFER),
    row("idle-unknown-command", "coordinator", "idle", "/frobnicate", UNKNOWN_COMMAND),
    row("idle-unknown-command-chinese", "stranger", "idle", "/中文", STRANGER_TEXT),
    row("idle-command-other-bot", "contact", "idle", "/help@otherbot", UNKNOWN_COMMAND),
    row("idle-invite-no-argument", "coordinator", "idle", "/invite", "用法：/invite 单位名称"),
    row("idle-invite-5000-chars", "coordinator", "idle", "/invite " + "局" * 5000, "没有找到名为"),
    row(
        "idle-invite-html",
        "coordinator",
        "idle",
        "/invite <b>区民政局</b>",
        "没有找到名为“<b>区民政局</b>”的单位",
    ),
    row("idle-invite-zero-width", "coordinator", "idle", "/invite 区民政局\u200b", "您是不是要找"),
    row("idle-start-64-chars", "stranger", "idle", "/start " + "A1_-" * 16, INVITE_UNKNOWN),
    row("idle-start-5000-chars", "stranger", "idle", "/start " + "x" * 5000, INVITE_UNKNOWN),
    row("idle-start-html", "stranger", "idle", "/start <b>", INVITE_UNKNOWN),
    row(
        "idle-start-nul",
        "stranger",
        "idle",
        "/start ab\x00cd",
        INVITE_UNKNOWN,
    ),
    row(
        "idle-invite-nul",
        "coordinator",
        "idle",
        "/invite 区民政局\x00",
        "没有找到名为",
    ),
    row("idle-start-sql", "stranger", "idle", "/start ' OR '1'='1", INVITE_UNKNOWN),
    row("idle-whoami-junk-args", "stranger", "idle", "/whoami <i> &#0; \x07", "尚未登记"),
    row("idle-sticker", "contact", "idle", STICKER, CONTACT_NOT_TEXT),
    row("idle-voice", "stranger", "idle", VOICE, STRANGER_TEXT),
    row("idle-location", "coordinator", "idle", LOCATION, NOT_UNDERSTOOD),
    row("idle-shared-contact", "stranger", "idle", SHARED_CONTACT, STRANGER_TEXT),
    row("idle-forwarded", "stranger", "idle", FORWARDED, STRANGER_TEXT),
    row("idle-edited-message", "contact", "idle", Edit("<b>改了</b>"), None),
    row("idle-cancel-nothing-running", "contact", "idle", "/cancel", "当前没有进行中的操作"),
    # ------------------------------------------------ the committee group
    row("group-member-text", "member", "group", "<b>大家好</b> &amp; *加油*", None),
    row("group-stranger-sticker", "stranger", "group", STICKER, None),
    row("group-newcomer-text", "newcomer", "group", SQL, None),
    row("group-newcomer-joins", "newcomer", "group", JOINED, None),
    row("group-member-mention", "member", "group", "@canggongwei_bot 进展如何？", None),
    row("group-member-location", "member", "group", LOCATION, None),
    row("group-member-edit", "member", "group", Edit("改过的 <i>"), None),
    row("group-member-reply-to-digest", "member", "group-reply", "收到 <b>", None),
    row("group-member-cancel", "member", "group", "/cancel", None),
    row("group-coordinator-cancel", "coordinator", "group", "/cancel", None),
    # addressed to this bot by name: answered even in the group
    row(
        "group-contact-cancel",
        "contact",
        "group",
        "/cancel@canggongwei_bot",
        "当前没有进行中的操作",
    ),
    row(
        "group-unknown-command", "member", "group", "/frobnicate@CangGongWei_bot", "无法识别的命令"
    ),
    row("group-unknown-for-other-bot", "member", "group", "/frobnicate@otherbot", None),
    row("group-start-without-code", "newcomer", "group", "/start", None),
    row("group-digest-for-other-bot", "coordinator", "group", "/digest@otherbot", None),
]


# ---------------------------------------------------------------- one bot for the module


@dataclass
class Env:
    bot: BotHarness
    reminders: dict[int, SentMessage] = field(default_factory=dict)

    @property
    def api(self) -> BotApiStandIn:
        return self.bot.api


def reminder_of(number: int) -> Callable[[SentMessage], bool]:
    return lambda m: m.chat_id == CONTACT and f"第{number}项" in m.plain_text and bool(m.buttons)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    """The bot with 2001 registered for 区民政局 and this week's reminders sent."""
    url = database_url_in(tmp_path_factory.mktemp("hostile"))
    users = (
        (COORDINATOR, "王协调"),
        (CONTACT, "李明"),
        (STRANGER, "路人"),
        (GROUP_MEMBER, "委员甲"),
        (NEWCOMER, "新人"),
    )
    async with started_bot(url, users, (COORDINATOR, CONTACT, GROUP_MEMBER, STRANGER)) as bot:
        api = bot.api
        await bot.register(CONTACT, "区民政局")
        await bot.tick()  # the reminders of tasks 2, 5, 8, 25 and the weekly digest
        result = Env(bot)
        for number in (2, 5, 8, 25):
            result.reminders[number] = await api.wait_for(reminder_of(number))
        await api.wait_for(lambda m: m.chat_id == GROUP and "督办汇总" in m.plain_text)
        await api.wait_idle(quiet=0.1)
        yield result


def counts(env: Env) -> tuple[int, int, int, int]:
    """Rows of StatusReport, Invite, Contact and AuditEvent."""
    with env.bot.svc.db.session() as s:
        return tuple(  # type: ignore[return-value]
            s.exec(select(func.count()).select_from(table)).one()
            for table in (StatusReport, Invite, Contact, AuditEvent)
        )


def latest_report(env: Env) -> StatusReport:
    with env.bot.svc.db.session() as s:
        return s.exec(select(StatusReport).order_by(col(StatusReport.id).desc())).first()  # type: ignore[return-value]


async def said(env: Env, chat: int, fragment: str, since: int) -> SentMessage:
    """The first message to `chat` since `since` containing `fragment`.

    Fails one second after the bot first answered in `chat` without it (not after the
    stand-in's five), quoting what the bot said instead.
    """
    api = env.api
    await api.wait_for(lambda m: m.chat_id == chat, since=since)
    try:
        return await api.wait_for(
            lambda m: m.chat_id == chat and fragment in m.plain_text, since=since, timeout=1.0
        )
    except AssertionError:
        answers = [m.plain_text[:120] for m in api.sent[since:] if m.chat_id == chat]
        raise AssertionError(f"expected an answer with {fragment!r}; got {answers}") from None


async def reset(env: Env) -> None:
    """No conversation running for the contact, no invite failures remembered."""
    env.bot.svc.invite_guard = InviteGuard()
    since = len(env.api.sent)
    env.api.send_text(CONTACT, "/cancel")
    await env.api.wait_for(
        lambda m: (
            m.chat_id == CONTACT and ("已取消" in m.plain_text or "没有进行中" in m.plain_text)
        ),
        since=since,
    )


async def go_to(env: Env, step: str) -> dict[str, Any]:
    """Bring the contact's conversation to `step`; return the messages met on the way."""
    api = env.api
    seen: dict[str, Any] = {}
    if step not in ("note", "evidence", "confirm"):
        return seen
    since = len(api.sent)
    api.press_button(CONTACT, env.reminders[NOTE_TASK].message_id, f"r:{NOTE_TASK}:in_progress")
    await said(env, CONTACT, "请用一两句话", since)
    if step == "note":
        return seen
    since = len(api.sent)
    seen["note_id"] = api.send_text(CONTACT, BASE_NOTE)["message_id"]
    seen["evidence"] = await said(env, CONTACT, ASK_EVIDENCE, since)
    if step == "evidence":
        return seen
    since = len(api.sent)
    api.click(CONTACT, seen["evidence"], texts.BUTTON_SKIP)
    seen["confirm"] = await said(env, CONTACT, "请确认", since)
    return seen


def deliver(env: Env, case: Case, user: int, chat: int, seen: dict[str, Any]) -> None:
    """Send the row's input as `user` in `chat` (an edit changes the message `note_id`)."""
    api, send = env.api, case.send
    reply_to = None
    if case.step == "reply":
        reply_to = env.reminders[REPLY_TASK].message_id
    elif case.step == "group-reply":
        reply_to = [m for m in api.messages_to(GROUP) if not m.is_edit][-1].message_id
    if isinstance(send, Edit):
        api.edit_text(user, seen["note_id"], send.text, chat_id=chat)
    elif isinstance(send, Press):
        confirmation = [m for m in api.messages_to(CONTACT) if "请确认" in m.plain_text][-1]
        for _ in range(send.times):
            api.click(user, confirmation, send.label)
    elif isinstance(send, Document):
        api.send_document(user, b"%PDF-1.4 hostile", send.name, chat_id=chat)
    elif isinstance(send, Photo):
        api.send_photo(user, b"\x89PNG hostile", caption=send.caption, chat_id=chat)
    elif isinstance(send, dict):
        fields = dict(send)
        if reply_to is not None:
            fields["reply_to_message"] = api.message(chat, reply_to)
        api.send_message(user, chat_id=chat, **fields)
    else:
        api.send_text(user, send, chat_id=chat, reply_to_message_id=reply_to)


async def finish(env: Env, case: Case, seen: dict[str, Any], answer: SentMessage) -> str:
    """Drive the conversation to 确认提交 and return the receipt's text."""
    api = env.api
    since = len(api.sent)
    if "请确认" in answer.plain_text:  # the input itself led to the confirmation
        confirm = answer
    elif case.step == "note":
        api.click(CONTACT, answer, texts.BUTTON_SKIP)
        confirm = await said(env, CONTACT, "请确认", since)
    elif case.step == "evidence":
        api.click(CONTACT, seen["evidence"], texts.BUTTON_SKIP)
        confirm = await said(env, CONTACT, "请确认", since)
    else:
        confirm = [m for m in api.messages_to(CONTACT) if "请确认" in m.plain_text][-1]
    since = len(api.sent)
    api.click(CONTACT, confirm, texts.BUTTON_CONFIRM)
    receipt = await said(env, CONTACT, "已记录", since)
    return receipt.plain_text


def assert_no_errors(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, "ERROR logged: " + "; ".join(
        f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in errors
    )


def assert_digest_renders(env: Env) -> None:
    parts = build_current_digest(env.bot.svc)
    assert parts and all(p.strip() for p in parts), "the digest rendered nothing"
    assert all(telegram_length(p) <= 4096 for p in parts)


@pytest.mark.parametrize("case", CASES)
async def test_hostile_input(env: Env, case: Case, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    api = env.api
    await reset(env)
    user = WHO[case.who]
    chat = GROUP if case.step.startswith("group") else user
    seen = await go_to(env, case.step)
    if isinstance(case.send, Edit) and case.step in ("idle", "group"):
        seen["note_id"] = api.send_text(user, "原文", chat_id=chat)["message_id"]
        await api.wait_idle(quiet=0.1)
    before = counts(env)
    reports_before = before[0]
    since = len(api.sent)
    deliver(env, case, user, chat, seen)

    if case.answer is None:
        await api.wait_idle(quiet=0.25)
        said_after = [m.plain_text[:80] for m in api.sent[since:] if m.chat_id in (chat, user)]
        assert said_after == [], f"expected silence, the bot said {said_after}"
        answer = None
    else:
        if case.step == "reply" and case.answer == REPLY_SAVED:
            # 区民政局's message of the day lists four tasks: the bot asks which one first
            ask = await said(env, chat, "这条留言是关于哪一项任务的", since)
            assert counts(env) == before, "stored before the task was chosen"
            api.click(user, ask, next(b for b, _ in ask.buttons if f"第{REPLY_TASK}项" in b))
        answer = await said(env, chat, case.answer, since)
        if case.forbid is not None:
            assert case.forbid not in answer.plain_text, answer.plain_text

    if case.stored is None:
        await api.wait_idle(quiet=0.05)
        assert counts(env) == before, "something was stored"
    elif case.step == "reply":
        stored = latest_report(env)
        assert counts(env)[0] == reports_before + 1
        assert stored.source == "reply" and stored.status is None
        assert stored.note == case.stored
        assert answer is not None and f"进展说明：\n{case.stored}\n时间" in answer.plain_text
    else:
        assert answer is not None
        if isinstance(case.send, Press):  # the receipt is the answer; the presses are all in
            await api.wait_idle(quiet=0.1)
            receipt = answer.plain_text
        else:
            receipt = await finish(env, case, seen, answer)
        stored = latest_report(env)
        assert counts(env)[0] == reports_before + 1, "not stored exactly once"
        assert (stored.status, stored.reporter_user_id) == (Status.IN_PROGRESS, CONTACT)
        assert stored.note == case.stored
        assert f"说明：{case.stored}\n佐证材料" in receipt  # shown back exactly, escaped right
        if isinstance(case.send, Document):
            assert stored.evidence_kind == "document"
            # stored as sent, less NUL characters (PostgreSQL text cannot hold them) and
            # bidirectional overrides (a name must not display as another)
            shown = case.send.name.replace("\x00", "").replace("\u202e", "")
            assert stored.evidence_file_name == shown
    assert_no_errors(caplog)
    assert_digest_renders(env)


@pytest.mark.parametrize(
    ("user_id", "name"),
    [
        pytest.param(
            4005, '<b>王</b>&amp;"五" *李* \u202e👨‍👩‍👧 ' + "长" * 40, id="html-rlo-emoji"
        ),
        pytest.param(
            4006,
            "王\x00五",
            id="nul",
        ),
    ],
)
async def test_hostile_display_name_registers_and_shows_verbatim(
    env: Env, user_id: int, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A profile name is user input too: stored as sent, shown escaped to the coordinator."""
    caplog.set_level(logging.INFO)
    api = env.api
    api.user(user_id, name)
    code = await env.bot.invite_code("区教委")
    since = len(api.sent)
    api.send_text(user_id, f"/start {code}")
    await said(env, user_id, "登记成功", since)
    notice = await said(env, COORDINATOR, "已登记为", since)
    shown = name.replace("\x00", "")  # NUL cannot be stored; every other character is
    assert f"📋 {shown}已登记为区教委的联络员" in notice.plain_text
    with env.bot.svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user_id)
        assert contact is not None and contact.display_name == shown
    since = len(api.sent)
    api.send_text(COORDINATOR, "/units")
    units = await said(env, COORDINATOR, "区教委：", since)
    assert shown in units.plain_text
    assert_no_errors(caplog)
    assert_digest_renders(env)


async def test_the_digest_shows_every_hostile_note(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """With every hostile note stored (one task each, after this week's digest went out, so
    they are the period's only reports), the real /digest goes out whole and shows each note."""
    caplog.set_level(logging.INFO)
    api, svc = env.api, env.bot.svc
    env.bot.clock.set(datetime(2025, 12, 22, 1, 0, tzinfo=UTC))  # Monday 09:00 in Shanghai
    since = len(api.sent)
    await env.bot.tick()  # the weekly digest: the next period starts now
    await said(env, GROUP, "督办汇总", since)
    await api.wait_idle(quiet=0.1)
    env.bot.clock.advance(timedelta(minutes=5))
    shown: dict[int, str] = {}
    with svc.db.session() as s:
        tasks = s.exec(select(Task).order_by(col(Task.number))).all()
        for task, note in zip(tasks, HOSTILE_NOTES, strict=False):
            lead = repo.unit_names_of_task(s, task_id=task.id or 0, role=AssignmentRole.LEAD)[0]
            unit = repo.get_unit_by_name(s, name=lead)
            assert unit is not None
            repo.add_report(
                s,
                task_id=task.id or 0,
                unit_id=unit.id or 0,
                contact_id=None,
                reporter_user_id=CONTACT,
                status=Status.BLOCKED,
                note=note,
                now=svc.now(),
            )
            shown[task.number] = note
    since = len(api.sent)
    api.send_text(COORDINATOR, "/digest")
    await said(env, COORDINATOR, "督办汇总", since)
    await api.wait_idle(quiet=0.1)
    [digest] = [m for m in api.sent[since:] if m.chat_id == COORDINATOR]
    assert telegram_length(digest.plain_text) <= 4096
    lines = digest.plain_text.splitlines()
    assert len(lines) <= DIGEST_LINE_BUDGET and any("共30项任务" in line for line in lines)
    # each task's yellow line (遇到困难) shows the head of its note; those past the line
    # budget are counted by number on one line
    shown_lines = [line for line in lines if line.startswith("· 第") and "｜" in line]
    assert shown_lines
    for line in shown_lines:
        number = int(line.split("第", 1)[1].split("项", 1)[0])
        head = clip(shown[number], DIGEST_WORD_NOTE_CHARS)
        assert f"遇到困难：{head}）" in line, (number, line)
    rest = [line for line in lines if line.startswith("…另有") and "项：第" in line]
    assert len(rest) == 1 and f"另有{30 - len(shown_lines)}项" in rest[0]
    assert not api.failed_calls("sendMessage")
    assert_no_errors(caplog)

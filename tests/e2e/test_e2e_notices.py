"""End to end through the stand-in: /notice 单位 sends the unit's 督办通知单 and /bulletin the
督查通报 (.docx) to a coordinator in private chat; refused for others and in the group; an
unknown unit or plan and a broken custom template get a clear answer and no document."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

from db import repo
from jobs.types import Status
from standin import SentMessage
from standin.harness import COORDINATOR, GROUP
from tests.conftest import BotHarness

GREEN, YELLOW = "C6EFCE", "FFEB9C"


@pytest.fixture
def bot_settings_overrides(tmp_path: Path) -> dict[str, Any]:
    """An office's templates folder, empty unless a test puts a template in it."""
    folder = tmp_path / "templates"
    folder.mkdir()
    return {"schedule": {"tick_seconds": 3600}, "documents": {"templates_dir": str(folder)}}


async def ask(bot: BotHarness, user: int, text: str, chat: int | None = None) -> SentMessage:
    """Send `text` and wait for the bot's first answer in that chat."""
    where = chat if chat is not None else user
    since = len(bot.api.sent)
    bot.api.send_text(user, text, chat_id=where)
    return await bot.api.wait_for(lambda m: m.chat_id == where, since=since)


def fill(row: Any) -> str | None:
    shd = row.cells[0]._tc.find(f"{qn('w:tcPr')}/{qn('w:shd')}")
    return None if shd is None else shd.get(qn("w:fill"))


async def test_notice_sends_the_units_three_colour_sheet(bot: BotHarness) -> None:
    with bot.svc.db.session() as s:
        task = repo.get_task(s, number=2)
        unit, _ = repo.resolve_unit(s, text="区民政局")
        assert task is not None and unit is not None
        repo.add_report(
            s,
            task_id=task.id or 0,
            unit_id=unit.id or 0,
            contact_id=None,
            reporter_user_id=COORDINATOR,
            status=Status.IN_PROGRESS,
            note="已完成摸底排查",
            now=bot.svc.now(),
            source="coordinator",
            entered_by=COORDINATOR,
        )
    sent = await ask(bot, COORDINATOR, "/notice 民政局")
    assert sent.method == "sendDocument"
    assert sent.document is not None
    # the bot's clock is 2025-12-17: the deadlines (2025-12-31) are 10 working days away
    assert sent.document["file_name"] == "督办通知单-区民政局-20251217.docx"
    assert "区民政局督办通知单：未办结任务4项，其中逾期0项" in sent.plain_text
    doc = docx.Document(io.BytesIO(sent.file_content or b""))
    table = doc.tables[0]
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert [r[1] for r in rows] == ["第5项", "第8项", "第25项", "第2项"]
    assert rows[3][4] == "剩余14天"
    assert rows[3][5] == "2025年12月17日 推进中：已完成摸底排查"
    assert rows[0][5] == "未反馈"
    assert [fill(row) for row in table.rows[1:]] == [YELLOW, YELLOW, YELLOW, GREEN]
    assert "区民政局：" in [p.text for p in doc.paragraphs]


async def test_bulletin_sends_the_summary(bot: BotHarness) -> None:
    sent = await ask(bot, COORDINATOR, "/bulletin")
    assert sent.method == "sendDocument"
    assert sent.document is not None
    assert sent.document["file_name"] == "督查通报-20251217.docx"
    assert "督查通报（“十四五”规划；本期：2025年12月10日至2025年12月17日）" in sent.plain_text
    doc = docx.Document(io.BytesIO(sent.file_content or b""))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "一、“十四五”规划" in text
    assert "共有重点任务30项，已办结0项，办结率0.0%" in text
    assert "实施期已于" not in text  # the plan's period has not ended
    assert "（一）逾期未办结任务（红灯）\n无。" in text
    (yellow,) = doc.tables
    assert len(yellow.rows) == 31 and fill(yellow.rows[1]) == YELLOW


async def test_refusals_and_bad_input(bot: BotHarness, tmp_path: Path) -> None:
    await bot.register(2002, "潼南税务局")
    cases = (
        (2002, None, "/notice 潼南税务局", "仅限协调员"),
        (2002, None, "/bulletin", "仅限协调员"),
        (COORDINATOR, GROUP, "/notice 区民政局", "私聊"),
        (COORDINATOR, GROUP, "/bulletin", "私聊"),
        (COORDINATOR, None, "/notice", "用法：/notice 单位名称"),
        (COORDINATOR, None, "/notice 没有这个局", "没有找到名为“没有这个局”的单位"),
        (COORDINATOR, None, "/bulletin 十九五", "没有名为“十九五”的规划"),
    )
    for user, chat, text, expected in cases:
        answer = await ask(bot, user, text, chat)
        assert expected in answer.plain_text, text
        assert answer.method == "sendMessage"
    broken = docx.Document()
    broken.add_paragraph("{{ 单位名 }}")
    broken.save(str(tmp_path / "templates" / "notice.docx"))
    answer = await ask(bot, COORDINATOR, "/notice 区民政局")
    assert answer.method == "sendMessage"
    assert "模板 notice.docx 有误，无法生成文件" in answer.plain_text
    # the bulletin's template is not replaced: the shipped one still serves
    assert (await ask(bot, COORDINATOR, "/bulletin")).method == "sendDocument"
    await bot.api.wait_idle()

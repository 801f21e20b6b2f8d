"""End to end through the stand-in: /export sends the ledger workbook to a coordinator."""

from __future__ import annotations

import io
from datetime import date

import openpyxl

from standin.harness import COORDINATOR, GROUP
from tests.conftest import BotHarness


async def test_export_sends_the_ledger_workbook(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    reminder = await bot.api.wait_for(lambda m: m.chat_id == 2002 and bool(m.buttons))
    bot.api.send_text(2002, "已兑现 =1+1", reply_to_message_id=reminder.message_id)
    await bot.api.wait_for(lambda m: m.chat_id == 2002 and "进展说明" in m.plain_text)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/export")
    doc = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and m.method == "sendDocument", since=since
    )
    assert doc.document is not None
    assert doc.document["file_name"] == "残工委重点任务台账-20251217.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(doc.file_content or b""))
    ledger = book["台账"]
    assert ledger.freeze_panes == "A2"
    headers = [c.value for c in ledger[1]]
    assert headers[:5] == ["序号", "工作任务", "牵头单位", "责任单位", "完成时限"]
    assert ledger.max_row == 1 + 46  # one row per (task, lead unit) of the appendix
    rows = {(r[0], r[2]): r for r in ledger.iter_rows(min_row=2, values_only=True)}
    tax = rows[(10, "潼南税务局")]
    deadline = tax[4]
    assert getattr(deadline, "date", lambda: deadline)() == date(2025, 12, 31)
    assert "已兑现 =1+1" in [v for v in tax if isinstance(v, str)]
    assert tax[headers.index("状态灯")] == "🟢 绿灯"  # replied in this reporting cycle
    reports = book["反馈记录"]
    assert reports.max_row == 2
    # refused for others, and in the group
    for user, chat in ((2002, 2002), (COORDINATOR, GROUP)):
        since = len(bot.api.sent)
        bot.api.send_text(user, "/export", chat_id=chat)
        answer = await bot.api.wait_for(lambda m, c=chat: m.chat_id == c, since=since)
        assert "仅限协调员" in answer.plain_text or "私聊" in answer.plain_text
        assert answer.method == "sendMessage"

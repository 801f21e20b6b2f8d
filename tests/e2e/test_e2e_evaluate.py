"""End to end through the stand-in: /evaluate sends a plan's 总结评估 draft (.docx) to a
coordinator in private chat; refused for others, in the group, and for an unknown plan."""

from __future__ import annotations

import io
from datetime import date

import docx

from db.models import Plan
from standin.harness import COORDINATOR, GROUP
from tests.conftest import BotHarness
from tests.evaluation_data import store_sample


async def test_evaluate_sends_the_draft(bot: BotHarness) -> None:
    store_sample(bot.svc.db)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/evaluate 评估样例")
    sent = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and m.method == "sendDocument", since=since
    )
    assert sent.document is not None
    # the bot's clock is 2025-12-17, before the plan's last day: a 中期评估 so far
    assert sent.document["file_name"] == "评估样例中期评估（初稿）20251217.docx"
    caption = sent.plain_text
    assert "评估样例中期评估初稿（截至2025年12月17日）" in caption
    assert "重点任务6项，办结率66.7%，按时办结率16.7%（原定期限）/33.3%（调整后期限）" in caption
    doc = docx.Document(io.BytesIO(sent.file_content or b""))
    assert doc.paragraphs[0].text == "评估样例中期评估报告（初稿）"
    cells = {c.text for t in doc.tables for row in t.rows for c in row.cells}
    assert {"66.7%（4/6）", "16.7%（1/6）", "33.3%（2/6）", "补录"} <= cells


async def test_evaluate_refusals(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    with bot.svc.db.session() as s:
        s.add(
            Plan(
                title="“十五五”规划（2026—2030年）",
                document_number="十五五〔2026〕1号",
                short_name="十五五",
                issued_on=date(2025, 12, 1),
                period_start=date(2026, 1, 1),
                period_end=date(2030, 12, 31),
            )
        )
    cases = (
        (2002, 2002, "/evaluate", "仅限协调员"),
        (COORDINATOR, GROUP, "/evaluate", "私聊"),
        (COORDINATOR, COORDINATOR, "/evaluate 没有这个", "没有名为“没有这个”的规划"),
        # the bot's clock is 2025-12-17
        (COORDINATOR, COORDINATOR, "/evaluate 十五五", "规划期自2026年1月1日开始"),
    )
    for user, chat, text, expected in cases:
        since = len(bot.api.sent)
        bot.api.send_text(user, text, chat_id=chat)
        answer = await bot.api.wait_for(lambda m, c=chat: m.chat_id == c, since=since)
        assert expected in answer.plain_text
        assert answer.method == "sendMessage"

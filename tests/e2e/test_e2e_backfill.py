"""End to end through the stand-in: past records (补录) entered by a coordinator with
/backfill. A preview and 确认补录 store one record, marked 补录 with its real date in /task;
a second or stale press stores nothing; every refusal gives its reason; a photo sent with the
command as its caption is kept as evidence; a 遇到困难 record alerts nobody; the digest's
changes leave it out; it never counts as this cycle's report, but a 已完成 one ends the
reminders of its pair.

The clock is the suite's T0: Wednesday 2025-12-17 09:30 local, within the shipped 十四五
plan (2021-01-01..2025-12-31) whose tasks are due 2025-12-31."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from db.models import AuditEvent, EvidenceFile, StatusReport, Task
from standin.harness import COORDINATOR
from tests.conftest import BotHarness, reminded_tasks

CONTACT = 2001  # 区民政局: leads tasks 2, 5, 8 and 25
PHOTO = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
    b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe"
    b"\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


async def ask(bot: BotHarness, text: str) -> list[Any]:
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, text)
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    await bot.api.wait_idle(quiet=0.1)
    return [m for m in bot.api.sent[since:] if m.chat_id == COORDINATOR]


def backfills(bot: BotHarness) -> list[tuple[int, str | None, str, str, int | None]]:
    """(序号, status, occurred_on, note, entered_by) of each stored report, oldest first."""
    with bot.svc.db.session() as s:
        rows = s.exec(
            select(StatusReport, Task.number).join(Task).order_by(col(StatusReport.id))
        ).all()
        return [
            (
                n,
                r.status.value if r.status else None,
                r.occurred_on.isoformat() if r.occurred_on else r.source,
                r.note,
                r.entered_by,
            )
            for r, n in rows
        ]


async def test_preview_confirm_and_history_and_no_alert(bot: BotHarness) -> None:
    [preview] = await ask(bot, "/backfill 2 区民政局 遇到困难 2023年6月30日 资金未到位，待追加预算")
    assert preview.plain_text.splitlines()[:6] == [
        "请核对补录内容",
        "任务：《十四五》第2项 " + preview.plain_text.splitlines()[1].split("第2项 ", 1)[1],
        "单位：区民政局",
        "状态：遇到困难",
        "日期：2023年6月30日",
        "说明：资金未到位，待追加预算",
    ]
    assert [label for label, _ in preview.buttons] == ["确认补录", "取消"]
    assert backfills(bot) == []  # nothing before 确认补录
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, preview, "确认补录")
    await bot.api.wait_idle(quiet=0.2)
    assert backfills(bot) == [(2, "blocked", "2023-06-30", "资金未到位，待追加预算", COORDINATOR)]
    # no 遇到困难 alert to anyone, no message at all but the edit of the preview
    sent = bot.api.sent[since:]
    assert [m for m in sent if "遇到困难" in m.plain_text and "任务：" in m.plain_text] == []
    assert [m.chat_id for m in sent if m.chat_id != COORDINATOR] == []
    # a second press on the same preview stores nothing
    bot.api.click(COORDINATOR, preview, "确认补录")
    await bot.api.wait_idle(quiet=0.2)
    assert len(backfills(bot)) == 1
    with bot.svc.db.session() as s:
        [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "report.backfill")).all()
        assert (event.actor_user_id, event.after) == (COORDINATOR, "2023-06-30 blocked")
    # /task shows it with its real date and the mark 补录, by date among live reports
    await ask(bot, "/record 2 区民政局 推进中 电话反馈：已启动复核")
    [shown, *_] = await ask(bot, "/task 2")
    history = [line for line in shown.plain_text.splitlines() if line.startswith("· ")]
    assert history[1] == (
        "· 2023年6月30日（补录）｜区民政局｜遇到困难｜协调员补录：资金未到位，待追加预算"
    )


async def test_cancel_and_refusals_store_nothing(bot: BotHarness) -> None:
    [preview] = await ask(bot, "/backfill 5 区民政局 已完成 2024-01-02 标准已提高")
    bot.api.click(COORDINATOR, preview, "取消")
    await bot.api.wait_idle(quiet=0.1)
    bot.api.click(COORDINATOR, preview, "确认补录")  # stale after 取消
    await bot.api.wait_idle(quiet=0.1)
    cases = {
        "/backfill 5 区民政局 已完成 2026-01-05 x": "日期2026年1月5日在今天之后",
        "/backfill 5 区民政局 已完成 2020/6/30 x": "日期2020年6月30日早于《",
        "/backfill 2 潼南税务局 已完成 2023-06-30 x": "潼南税务局不是第2项的牵头单位或责任单位",
        "/backfill 5 区民政局 已完成 6月30日 x": "无法识别日期“6月30日”",
        "/backfill 5 区民政局 好了 2023-06-30 x": "无法识别状态“好了”",
        "/backfill 5 区民政局 已完成 2023-06-30": "用法：/backfill",
        "/backfill 99 区民政局 已完成 2023-06-30 x": "第99项",
        "/backfill 5 火星局 已完成 2023-06-30 x": "火星局",
        "/backfill 5 区民政局 已完成 2023-06-30 " + "长" * 2001: "2001",
    }
    for command, reason in cases.items():
        answers = await ask(bot, command)
        assert answers, command
        assert reason in answers[0].plain_text, (command, answers[0].plain_text)
        assert answers[0].buttons == [] or "确认补录" not in str(answers[0].buttons)
    assert backfills(bot) == []


async def test_a_photo_with_the_command_is_kept_as_evidence(bot: BotHarness) -> None:
    since = len(bot.api.sent)
    bot.api.send_photo(
        COORDINATOR, PHOTO, caption="/backfill 8 区民政局 已完成 2024-03-01 验收合格"
    )
    preview = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "请核对补录内容" in m.plain_text, since=since
    )
    assert "佐证材料：" in preview.plain_text
    bot.api.click(COORDINATOR, preview, "确认补录")
    await bot.api.wait_idle(quiet=0.2)
    assert backfills(bot) == [(8, "done", "2024-03-01", "验收合格", COORDINATOR)]
    with bot.svc.db.session() as s:
        [report] = s.exec(select(StatusReport)).all()
        [file] = s.exec(select(EvidenceFile)).all()
        assert (file.report_id, file.kind) == (report.id, "photo")


async def test_backfills_never_remind_nor_show_as_this_weeks_changes(bot: BotHarness) -> None:
    await bot.register(CONTACT, "区民政局")
    for command in (
        "/backfill 5 区民政局 已完成 2024-01-02 补贴标准已提高",
        "/backfill 8 区民政局 推进中 2025-12-16 补录专用说明",
    ):
        [preview] = await ask(bot, command)
        since = len(bot.api.sent)
        bot.api.click(COORDINATOR, preview, "确认补录")
        await bot.api.wait_for(
            lambda m: m.chat_id == COORDINATOR and "已补录" in m.plain_text, since=since
        )
        await bot.api.wait_idle(quiet=0.1)
    assert [b[:3] for b in backfills(bot)] == [
        (5, "done", "2024-01-02"),
        (8, "in_progress", "2025-12-16"),
    ]
    assert [m for m in bot.api.sent if m.chat_id == CONTACT and "补录" in m.plain_text] == []
    since = len(bot.api.sent)
    await bot.tick()
    await bot.api.wait_idle(quiet=0.1)
    reminded = [n for m in bot.api.sent[since:] if m.chat_id == CONTACT for n in reminded_tasks(m)]
    # task 5 is done by its 补录 (its reminders stop); task 8's record of yesterday is no
    # report of this week for the digest, but it is of this cycle (since 2025-11-25)
    assert reminded == [2, 8, 25]
    [digest, *_] = await ask(bot, "/digest")
    text = "\n".join(m.plain_text for m in bot.api.sent[since:] if m.chat_id == COORDINATOR)
    assert "补录专用说明" not in text and "补贴标准已提高" not in text, digest.plain_text
    assert "📝 本期没有新反馈。" in digest.plain_text.splitlines()

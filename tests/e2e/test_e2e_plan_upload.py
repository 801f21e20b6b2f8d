"""End to end through the stand-in: a coordinator loads a new plan by sending its document
(`bot/plan_upload.py`): the report, 确认导入 (once, also after a restart), 取消, the identity
template, and the refusals (.doc, a damaged file, a row without a number, anyone else's
document) that change nothing."""

from __future__ import annotations

import io
from pathlib import Path

from sqlmodel import select

from bot.plan_upload import uploads_root
from db.models import AuditEvent, Plan, Task, Unit
from standin.harness import COORDINATOR
from tests.conftest import STRANGER, BotHarness

CONTACT = 2001
NUMBER = "潼南府办发〔2026〕5号"
TITLE = "重庆市潼南区“十五五”残疾人保障和发展规划（2026—2030年）"
HEAD = [
    NUMBER,
    "重庆市潼南区人民政府办公室",
    f"关于印发{TITLE}的通知",
    "各镇人民政府、街道办事处，区政府各部门，有关单位：",
    f"《{TITLE}》已经区政府同意，现印发给你们，请认真贯彻执行。",
    "重庆市潼南区人民政府办公室",
    "2026年4月18日",
    TITLE,
]
ROWS = [
    ["序号", "工作任务", "牵头单位", "责任单位"],
    ["一、兜底保障", "一、兜底保障", "一、兜底保障", "一、兜底保障"],
    ["1", "十五五第一项：健全残疾人动态监测机制。", "区残联", "区民政局"],
    ["2", "十五五第二项：开展残疾人就业帮扶。", "区人力社保局", "区残联、区数据局"],
    ["3", "十五五第三项：推进无障碍环境建设。", "区住房城乡建委", "各镇街"],
]


def docx_bytes(head: list[str] = HEAD, rows: list[list[str]] = ROWS) -> bytes:
    from docx import Document

    doc = Document()
    for paragraph in head:
        doc.add_paragraph(paragraph)
    table = doc.add_table(rows=len(rows), cols=len(rows[0]))
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def state(bot: BotHarness) -> tuple[object, ...]:
    """Everything a load could change: plans, tasks, units."""
    with bot.svc.db.session() as s:
        plans = [(p.title, p.document_number) for p in s.exec(select(Plan))]
        tasks = sorted((t.number, t.text, t.deadline) for t in s.exec(select(Task)))
        units = sorted(u.name for u in s.exec(select(Unit)))
    return plans, tasks, units


def uploads(bot: BotHarness) -> list[Path]:
    root = uploads_root(bot.svc)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def loads(bot: BotHarness) -> list[AuditEvent]:
    with bot.svc.db.session() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == "plan.upload")))


async def send(bot: BotHarness, content: bytes, name: str, user: int = COORDINATOR) -> object:
    """Send a document; return the bot's last answer to it (the one with buttons if any)."""
    since = len(bot.api.sent)
    bot.api.send_document(user, content, name)
    await bot.api.wait_idle()
    answers = [m for m in bot.api.sent[since:] if m.chat_id == user]
    assert answers, "no answer"
    return answers


async def test_upload_report_confirm_loads_once(bot: BotHarness) -> None:
    answers = await send(bot, docx_bytes(), "十五五规划.docx")
    text = "\n".join(m.plain_text for m in answers)
    assert NUMBER in text and TITLE in text and "2026年4月18日" in text
    assert "2026—2030年" in text and "共3项（序号1—3）" in text
    assert "跳过的分类标题行：1行" in text
    assert "区数据局（相近：区大数据发展局" in text and "起止年份：2026—2030\n" in text
    assert state(bot)[0] == [
        ("重庆市潼南区“十四五”残疾人保障和发展规划（2021—2025年）", "潼南府办发〔2022〕23号")
    ]
    report = answers[-1]
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, report, "确认导入")
    done = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已导入" in m.plain_text, since=since
    )
    assert NUMBER in done.plain_text and "新增单位1个" in done.plain_text
    plans, tasks, units = state(bot)
    assert (TITLE, NUMBER) in plans
    texts = {text for _, text, _ in tasks}
    assert {row[1] for row in ROWS[2:]} <= texts
    assert "区数据局" in units
    [event] = loads(bot)
    assert event.actor_user_id == COORDINATOR and event.subject == f"plan:{NUMBER}"
    assert uploads(bot) == []
    after = state(bot)
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, report, "确认导入")  # a second press: nothing more
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "已失效" in str(c.params))
    await bot.api.wait_idle()
    assert not [m for m in bot.api.sent[since:] if "已导入" in m.plain_text]
    assert len(loads(bot)) == 1 and state(bot) == after


async def test_confirm_after_a_restart(bot: BotHarness) -> None:
    answers = await send(bot, docx_bytes(), "十五五规划.docx")
    await bot.restart()
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, answers[-1], "确认导入")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已导入" in m.plain_text, since=since
    )
    assert len(loads(bot)) == 1


async def test_the_latest_upload_replaces_an_earlier_one(bot: BotHarness) -> None:
    first = await send(bot, docx_bytes(), "十五五规划.docx")
    second = await send(bot, docx_bytes(), "十五五规划（修改稿）.docx")
    assert len({p.parent for p in uploads(bot)}) == 1
    bot.api.click(COORDINATOR, first[-1], "确认导入")
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "已失效" in str(c.params))
    assert loads(bot) == []
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, second[-1], "确认导入")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已导入" in m.plain_text, since=since
    )
    assert len(loads(bot)) == 1


async def test_cancel_changes_nothing(bot: BotHarness) -> None:
    before = state(bot)
    answers = await send(bot, docx_bytes(), "十五五规划.docx")
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, answers[-1], "取消")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已取消，未导入" in m.plain_text, since=since
    )
    assert uploads(bot) == []
    bot.api.click(COORDINATOR, answers[-1], "确认导入")  # the old button does nothing
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "已失效" in str(c.params))
    assert state(bot) == before and loads(bot) == []


async def test_old_formats_are_asked_to_be_saved_as_docx(bot: BotHarness) -> None:
    before = state(bot)
    for name in ("规划.doc", "规划.wps", "规划.ofd"):
        answers = await send(bot, b"\xd0\xcf\x11\xe0 old", name)
        assert "请先另存为 .docx 再发送" in answers[-1].plain_text
    assert state(bot) == before and uploads(bot) == []


async def test_damaged_encrypted_and_tableless_documents_change_nothing(
    bot: BotHarness,
) -> None:
    before = state(bot)
    cases = [
        (b"PK\x03\x04 not really a docx", "规划.docx", "已损坏"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 encrypted", "规划.docx", "设有密码"),
        (docx_bytes(rows=[["甲", "乙"], ["1", "2"]]), "通知.docx", "没有找到“重点任务分工”表"),
    ]
    for content, name, expected in cases:
        answers = await send(bot, content, name)
        assert expected in answers[-1].plain_text
        assert "数据库未作任何改动" in answers[-1].plain_text
        assert bot.api.buttons(answers[-1]) == []
    assert state(bot) == before and uploads(bot) == []


async def test_a_row_without_a_number_is_not_loaded(bot: BotHarness) -> None:
    before = state(bot)
    rows = [*ROWS, ["", "没有序号的一行任务。", "区残联", ""]]
    answers = await send(bot, docx_bytes(rows=rows), "十五五规划.docx")
    text = "\n".join(m.plain_text for m in answers)
    assert "无法归入任务的行：1行" in text and "（没有序号）" in text and "不能导入" in text
    assert all(bot.api.buttons(m) == [] for m in answers)
    assert state(bot) == before and uploads(bot) == []


async def test_missing_identity_is_typed_in_one_reply(bot: BotHarness) -> None:
    answers = await send(bot, docx_bytes(head=["附件", "重点任务分工"]), "分工表.docx")
    text = "\n".join(m.plain_text for m in answers)
    assert "没有读出：标题、文号、印发日期、起止年份" in text
    assert answers[-1].plain_text.startswith("标题：")
    assert [label for label, _ in bot.api.buttons(answers[-1])] == ["取消"]
    since = len(bot.api.sent)
    bot.api.send_text(
        COORDINATOR, f"标题：{TITLE}\n文号：潼南府办发[2026]5号\n印发日期：2026年4月31日"
    )
    bad = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "填写有误" in m.plain_text, since=since
    )
    assert "印发日期" in bad.plain_text
    since = len(bot.api.sent)
    bot.api.send_text(
        COORDINATOR,
        f"标题：{TITLE}\n文号：潼南府办发[2026]5号\n印发日期：2026-04-18\n起止年份：2026—2030",
    )
    report = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "核对无误" in m.plain_text, since=since
    )
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, report, "确认导入")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已导入" in m.plain_text, since=since
    )
    assert (TITLE, NUMBER) in state(bot)[0]
    with bot.svc.db.session() as s:
        plan = s.exec(select(Plan).where(Plan.document_number == NUMBER)).one()
        assert (str(plan.issued_on), str(plan.period_end)) == ("2026-04-18", "2030-12-31")


async def test_plan_command_explains_and_is_for_coordinators(bot: BotHarness) -> None:
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/plan")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "导入新规划" in m.plain_text, since=since
    )
    bot.api.send_text(STRANGER, "/plan")
    await bot.api.wait_for(
        lambda m: m.chat_id == STRANGER and "仅限协调员" in m.plain_text, since=since
    )


async def test_anyone_elses_document_is_not_a_plan(bot: BotHarness) -> None:
    await bot.register(CONTACT, "区民政局")
    before = state(bot)
    answers = await send(bot, docx_bytes(), "十五五规划.docx", user=CONTACT)
    assert [m.plain_text for m in answers] == [
        "请发送文字说明任务进展，或发送 /report 按步骤反馈（可附照片或文件）。"
    ]
    answers = await send(bot, docx_bytes(), "十五五规划.docx", user=STRANGER)
    assert "邀请链接" in answers[-1].plain_text and "核对" not in answers[-1].plain_text
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, f"标题：{TITLE}")  # a contact's text: offered as a note
    await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "要把这段话记为" in m.plain_text, since=since
    )
    assert state(bot) == before and uploads(bot) == []

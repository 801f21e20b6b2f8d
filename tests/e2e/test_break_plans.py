"""Trying to break several plans in one bot, end to end through the stand-in: two plans
with the same numbers, plan names typed as users type them, a 简称 that is a number."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
from sqlalchemy import update
from sqlmodel import col, select

from db import repo
from db.models import ExtensionRequest, Plan, StatusReport, Unit
from db.seed import PlanRecord, TaskRecord, load_plan
from jobs.types import PlanStatus
from standin.harness import COORDINATOR
from tests.conftest import BotHarness
from tests.e2e.test_e2e_hold import FRIDAY
from tests.e2e.test_e2e_plan_upload import HEAD, NUMBER, ROWS, docx_bytes, send

CONTACT = 2001  # 区民政局: leads 2, 5, 8, 25 of the shipped plan, 1-3 of the second
SECOND = "潼南残工委发〔2026〕7号"


def load_second(bot: BotHarness, short_name: str = "十五五", numbers: range = range(1, 4)) -> None:
    """Load a second plan whose tasks 1-3 are led by 区民政局 (as the shipped 2 is)."""
    record = PlanRecord(
        title="重庆市潼南区“十五五”残疾人保障和发展规划（2026—2030年）",
        document_number=SECOND,
        issued_on=date(2026, 4, 18),
        period_start=date(2026, 1, 1),
        period_end=date(2030, 12, 31),
        short_name=short_name,
        tasks=tuple(
            TaskRecord(
                number=n,
                text=f"十五五第{n}项任务。",
                lead_units=("区民政局",),
                responsible_units=("区残联",),
                deadline=date(2027, 6, 30),
            )
            for n in numbers
        ),
    )
    with bot.svc.db.session() as s:
        load_plan(s, record, now=bot.clock.now)


async def ask(bot: BotHarness, text: str, user: int = COORDINATOR) -> str:
    since = len(bot.api.sent)
    bot.api.send_text(user, text)
    await bot.api.wait_for(lambda m: m.chat_id == user, since=since)
    await bot.api.wait_idle()
    return "\n".join(m.plain_text for m in bot.api.sent[since:] if m.chat_id == user)


async def test_a_plan_named_as_its_tag_or_with_ascii_brackets_is_understood(
    bot: BotHarness,
) -> None:
    load_second(bot)
    for typed in ("【十四五】", "潼南府办发[2022]23号"):
        answer = await ask(bot, f"/task {typed} 2")
        assert "【十四五】第2项" in answer and "最低生活保障" in answer, answer


async def test_report_naming_a_plan_counts_that_plans_tasks_alone(bot: BotHarness) -> None:
    load_second(bot)
    await bot.register(CONTACT, "区民政局")
    answer = await ask(bot, "/report 十五五", CONTACT)
    assert "未完成的共3项）" in answer, answer  # 十五五 1-3, none 协办
    answer = await ask(bot, "/report 十四五", CONTACT)
    assert "未完成的共10项，其中协办6项" in answer, answer


async def test_report_naming_a_closed_plan_says_it_is_closed(bot: BotHarness) -> None:
    load_second(bot)
    await bot.register(CONTACT, "区民政局")
    with bot.svc.db.session() as s:
        s.exec(
            update(Plan).where(col(Plan.short_name) == "十四五").values(status=PlanStatus.CLOSED)
        )  # type: ignore[call-overload]
    for typed in ("/report 十四五", "/report 十四五 2"):
        answer = await ask(bot, typed, CONTACT)
        assert "“十四五”已结束跟进" in answer and "均已反馈完成" not in answer, answer
    assert "未完成的共3项）" in await ask(bot, "/report", CONTACT)


async def test_an_unknown_plan_name_is_answered_as_such(bot: BotHarness) -> None:
    load_second(bot)
    answer = await ask(bot, "/task 十六五 2")
    assert "没有简称或文号为“十六五”的计划" in answer and "“十五五”、“十四五”" in answer, answer
    assert "/task 十五五 2" in answer
    assert "用法" in await ask(bot, "/task 十四五 第二项")  # a plan named, a number unread


async def test_an_upload_with_a_loaded_plans_document_number_says_it_updates_that_plan(
    bot: BotHarness,
) -> None:
    shipped = "潼南府办发〔2022〕23号"
    head = [shipped if line == NUMBER else line for line in HEAD]
    answers = await send(bot, docx_bytes(head), "十四五更新.docx")
    text = "\n".join(m.plain_text for m in answers)  # type: ignore[attr-defined]
    assert "此文号的计划（“十四五”）已导入" in text, text
    fresh = "\n".join(m.plain_text for m in await send(bot, docx_bytes(), "十五五.docx"))  # type: ignore[attr-defined]
    assert "已导入：确认后" not in fresh


async def test_the_ledgers_audit_sheet_names_the_plan_of_a_changed_deadline(
    bot: BotHarness,
) -> None:
    load_second(bot)
    await ask(bot, "/deadline 十四五 2 2026年6月30日 十四五顺延")
    await ask(bot, "/deadline 十五五 2 2027年12月31日 十五五调整")
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/export")
    doc = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and m.method == "sendDocument", since=since
    )
    book = openpyxl.load_workbook(io.BytesIO(doc.file_content or b""))
    rows = list(book["操作记录"].iter_rows(min_row=2, values_only=True))
    subjects = {row[7]: row[4] for row in rows if row[3] == "修改完成时限"}
    assert subjects == {"十四五顺延": "【十四五】第2项", "十五五调整": "【十五五】第2项"}, rows


async def test_a_report_confirmed_after_its_unit_was_merged_is_stored_for_the_merged_unit(
    bot: BotHarness,
) -> None:
    await bot.register(2002, "潼南税务局")
    with bot.svc.db.session() as s:
        s.add(Unit(name="国家税务总局潼南税务局"))
    await bot.tick()
    reminder = await bot.api.wait_for(lambda m: m.chat_id == 2002 and bool(m.buttons))
    since = len(bot.api.sent)
    bot.api.click(2002, reminder, "推进中")
    await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "请用一两句话" in m.plain_text, since=since
    )
    bot.api.send_text(2002, "已完成系统对接")
    evidence = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "佐证材料" in m.plain_text, since=since
    )
    bot.api.click(2002, evidence, "跳过")
    confirm = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "请确认" in m.plain_text, since=since
    )
    with bot.svc.db.session() as s:  # the coordinator merges the unit meanwhile
        old = repo.get_unit_by_name(s, name="潼南税务局")
        into = repo.get_unit_by_name(s, name="国家税务总局潼南税务局")
        assert old is not None and into is not None
        repo.merge_unit(
            s,
            unit_id=old.id or 0,
            into_unit_id=into.id or 0,
            actor_user_id=COORDINATOR,
            now=bot.svc.now(),
        )
    bot.api.click(2002, confirm, "确认提交")
    saved = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "已记录" in m.plain_text, since=since
    )
    assert "国家税务总局潼南税务局" in saved.plain_text
    with bot.svc.db.session() as s:
        [report] = s.exec(select(StatusReport)).all()
        assert (report.note, report.unit_id) == ("已完成系统对接", into.id)


async def test_an_extension_confirmed_after_its_unit_was_merged_is_stored_for_the_merged_unit(
    bot: BotHarness,
) -> None:
    await bot.register(2002, "潼南税务局")
    with bot.svc.db.session() as s:
        s.add(Unit(name="国家税务总局潼南税务局"))
    await bot.tick()
    reminder = await bot.api.wait_for(lambda m: m.chat_id == 2002 and bool(m.buttons))
    since = len(bot.api.sent)
    bot.api.click(2002, reminder, "申请延期")
    await bot.api.wait_for(lambda m: m.chat_id == 2002 and "当前完成时限" in m.plain_text)
    bot.api.send_text(2002, "2026-06-30")
    await bot.api.wait_for(lambda m: m.chat_id == 2002 and "理由" in m.plain_text, since=since)
    bot.api.send_text(2002, "需等待市级资金下达")
    card = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "请确认延期申请" in m.plain_text, since=since
    )
    with bot.svc.db.session() as s:  # the coordinator merges the unit meanwhile
        old = repo.get_unit_by_name(s, name="潼南税务局")
        into = repo.get_unit_by_name(s, name="国家税务总局潼南税务局")
        assert old is not None and into is not None
        repo.merge_unit(
            s,
            unit_id=old.id or 0,
            into_unit_id=into.id or 0,
            actor_user_id=COORDINATOR,
            now=bot.svc.now(),
        )
    bot.api.click(2002, card, "确认提交")
    await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "等待协调员审批" in m.plain_text, since=since
    )
    with bot.svc.db.session() as s:
        [request] = s.exec(select(ExtensionRequest)).all()
        assert (request.reason, request.unit_id) == ("需等待市级资金下达", into.id)


def hold_two_plans(bot: BotHarness) -> None:
    """A year after the shipped plan's period: it and a yearly plan of 2025 (loaded now, as
    `taskbot plan load` does) are both held."""
    bot.clock.set(FRIDAY)
    record = PlanRecord(
        title="2025年残疾人工作要点",
        document_number="潼残工委〔2025〕1号",
        issued_on=date(2025, 2, 1),
        period_start=date(2025, 1, 1),
        period_end=date(2025, 12, 31),
        tasks=tuple(
            TaskRecord(
                number=n,
                text=f"要点第{n}项。",
                lead_units=("区民政局",),
                responsible_units=(),
                deadline=date(2025, 6, 30),
            )
            for n in (1, 2, 3)
        ),
    )
    with bot.svc.db.session() as s:
        load_plan(s, record, now=bot.clock.now)
    with bot.svc.db.session() as s:
        checks = repo.check_plans(
            s, now=bot.clock.now, calendar=bot.svc.calendar, zone=bot.svc.settings.schedule.zone
        )
        assert [c.plan.label for c in checks if c.hold is not None] == ["2025年", "十四五"]


def open_hold_plans(bot: BotHarness) -> list[str]:
    with bot.svc.db.session() as s:
        labels = {p.id: p.label for p in repo.read_plans(s)}
        return sorted(labels[h.plan_id or 0] for h in repo.open_holds(s))


async def test_backlog_shows_every_held_plan_and_decides_the_one_named(bot: BotHarness) -> None:
    hold_two_plans(bot)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/backlog")
    await bot.api.wait_idle()
    notices = [m for m in bot.api.sent[since:] if m.chat_id == COORDINATOR]
    assert len(notices) == 2 and all(m.buttons for m in notices)
    texts = sorted(m.plain_text for m in notices)
    assert "简称“2025年”" in texts[0] and "/backlog send 2025年" in texts[0], texts
    assert "简称“十四五”" in texts[1] and "/backlog drop 十四五" in texts[1], texts
    which = await ask(bot, "/backlog send")
    assert "有2个计划的逾期提醒暂停中：“2025年”、“十四五”" in which, which
    assert "/backlog send 2025年" in which
    assert open_hold_plans(bot) == ["2025年", "十四五"]  # nothing decided
    assert "已恢复督办" in await ask(bot, "/backlog drop 2025年")
    assert open_hold_plans(bot) == ["十四五"]
    assert "没有暂停" in await ask(bot, "/backlog send 2025年")
    assert "已恢复督办" in await ask(bot, "/backlog send")  # the one left
    assert open_hold_plans(bot) == []


async def test_new_deadlines_for_one_held_plan_say_which_plan_is_lifted_and_which_still_held(
    bot: BotHarness,
) -> None:
    hold_two_plans(bot)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/deadline 2025年 全部 2027-06-30 衔接")
    preview = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and bool(m.buttons), since=since
    )
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, preview, "确认修改")
    done = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已将3项任务" in m.plain_text, since=since
    )
    assert "“2025年”已没有逾期任务需要您决定，它的逾期提醒暂停已解除" in done.plain_text
    assert "“十四五”仍有逾期任务，逾期提醒继续暂停" in done.plain_text
    assert open_hold_plans(bot) == ["十四五"]


def docx_of_tables(*tables: list[list[str]]) -> bytes:
    """A plan document (`HEAD`) with `tables` one after the other."""
    from docx import Document

    doc = Document()
    for paragraph in HEAD:
        doc.add_paragraph(paragraph)
    for rows in tables:
        table = doc.add_table(rows=len(rows), cols=len(rows[0]))
        for row, values in zip(table.rows, rows, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
        doc.add_paragraph("")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


async def test_an_upload_with_a_second_table_numbered_from_1_is_not_joined_onto_the_first(
    bot: BotHarness,
) -> None:
    other = [ROWS[0], ["1", "另一表第一项：示范。", "区教委", "区残联"]]
    answers = await send(bot, docx_of_tables(ROWS, other), "两张表.docx")
    text = "\n".join(m.plain_text for m in answers)  # type: ignore[attr-defined]
    assert "另一表第一项" in text and "跨行续写" not in text, text
    assert "确认导入" not in str(answers[-1].buttons)  # type: ignore[index]

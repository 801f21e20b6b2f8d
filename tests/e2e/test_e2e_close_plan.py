"""End to end through the stand-in: a coordinator closes the 十四五 plan with `/close_plan`
and carries its unfinished tasks over into 十五五 (issue 17 §2). The preview stores nothing;
取消 and stale or repeated presses store nothing; after the close the plan's reminders stop the
next working day while 十五五's go on, /digest has no section for it, an old reminder's
button answers that the plan is closed, and /task shows the carried task's history."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select

from db import repo
from db.engine import Database
from db.models import Assignment, Plan, StatusReport, Task
from jobs.types import AssignmentRole, HoldDecision, PlanStatus, Status
from standin import BotApiStandIn
from standin.harness import COORDINATOR, MutableClock
from tests.e2e.test_e2e_plans import (
    CONTACT,
    DAY,
    MINZHENG,
    ask,
    clock,
    daily,
    prepare,
    reports,
    task_ids,
    tick,
    two_plans,
)
from tests.plans_data import FIFTEENTH_TITLE, FOURTEENTH_TITLE

__all__ = ["clock"]


def with_past(url: str) -> None:
    """十四五 task 1 done by every lead unit; a 补录 report of 区民政局 on task 5 dated
    2024-06-30."""
    database = Database(url)
    try:
        with database.session() as s:
            old = s.exec(select(Plan.id).where(Plan.short_name == "十四五")).one()
            task1 = s.exec(select(Task).where(Task.plan_id == old, Task.number == 1)).one()
            for unit_id in s.exec(
                select(Assignment.unit_id).where(
                    Assignment.task_id == task1.id, Assignment.role == AssignmentRole.LEAD
                )
            ):
                repo.add_report(
                    s,
                    task_id=task1.id or 0,
                    unit_id=unit_id,
                    contact_id=None,
                    reporter_user_id=COORDINATOR,
                    status=Status.DONE,
                    note="",
                    now=DAY,
                    source="coordinator",
                    entered_by=COORDINATOR,
                )
            task5 = s.exec(select(Task).where(Task.plan_id == old, Task.number == 5)).one()
            unit = repo.find_unit(s, name="区民政局")
            assert unit is not None
            report = repo.add_report(
                s,
                task_id=task5.id or 0,
                unit_id=unit.id or 0,
                contact_id=None,
                reporter_user_id=COORDINATOR,
                status=Status.IN_PROGRESS,
                note="完成入户调查",
                now=DAY,
                source="backfill",
                entered_by=COORDINATOR,
            )
            stored = s.get(StatusReport, report.id)
            assert stored is not None
            stored.occurred_on = date(2024, 6, 30)
            s.add(stored)
    finally:
        database.dispose()


def plan_status(bot: Any, short_name: str) -> PlanStatus:
    with bot.svc.db.session() as s:
        return s.exec(select(Plan.status).where(Plan.short_name == short_name)).one()


def task_count(bot: Any) -> int:
    with bot.svc.db.session() as s:
        return len(s.exec(select(Task)).all())


async def alert(bot: Any, since: int, text: str) -> None:
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: text in str(c.params.get("text")), since=since
    )


async def test_close_preview_cancel_stale_then_close_and_carry(
    standin: BotApiStandIn, database_url: str, clock: MutableClock
) -> None:
    prepare(database_url, decided=HoldDecision.SEND)
    with_past(database_url)
    async with two_plans(standin, database_url, clock) as bot:
        old = task_ids(bot, "十四五")
        await tick(bot)
        [before] = daily(bot)
        assert "【十四五】第2项" in before.plain_text  # both plans reminded

        [preview] = await ask(bot, COORDINATOR, "/close_plan 十四五")
        lines = preview.plain_text.splitlines()
        assert lines[0] == "关闭计划“十四五”"
        assert "共30项任务：已完成1项，推进中1项，遇到困难0项，未开始28项。" in lines
        assert "未完成的任务（29项）：" in lines
        assert "· 第5项 推进中：适时提高困难残疾人生活补贴和重度残疾人护理补贴…" in lines
        assert "…另有19项" in lines
        assert "关闭后不再提醒，记录仍可查看、导出。" in lines
        assert "结转到“十五五”（期限待定）：" in lines
        assert "· 第2项 → “十五五”第31项" in lines and "· 第30项 → “十五五”第59项" in lines
        assert [label for label, _ in preview.buttons] == ["关闭", "关闭并结转到“十五五”", "取消"]
        assert plan_status(bot, "十四五") is PlanStatus.ACTIVE

        # 取消: nothing stored; the cancelled preview's buttons are stale
        since = len(bot.api.sent)
        bot.api.click(COORDINATOR, preview, "取消")
        await bot.api.wait_for(
            lambda m: m.method == "editMessageText" and "已取消，计划未关闭" in m.plain_text,
            since=since,
        )
        calls = len(bot.api.calls)
        bot.api.click(COORDINATOR, preview, "关闭")
        await alert(bot, calls, "这次关闭已失效或已处理")
        assert plan_status(bot, "十四五") is PlanStatus.ACTIVE

        # a contact may not close a plan
        [refused] = await ask(bot, CONTACT, "/close_plan 十四五")
        assert "协调员" in refused.plain_text
        assert plan_status(bot, "十四五") is PlanStatus.ACTIVE

        [preview] = await ask(bot, COORDINATOR, "/close_plan 十四五")
        since = len(bot.api.sent)
        bot.api.click(COORDINATOR, preview, "关闭并结转到“十五五”")
        asked = await bot.api.wait_for(
            lambda m: m.method == "editMessageText" and "完成期限" in m.plain_text, since=since
        )
        assert asked.plain_text == (
            "请回复结转到“十五五”的29项任务的完成期限（例如 2027年6月30日），"
            "或点击下方按钮使用“十五五”的期末 2030年12月31日。"
        )
        assert [label for label, _ in asked.buttons] == ["期限：2030年12月31日", "取消"]
        [bad] = await ask(bot, COORDINATOR, "明年")
        assert bad.plain_text.startswith("无法识别期限“明年”")
        assert plan_status(bot, "十四五") is PlanStatus.ACTIVE
        since = len(bot.api.sent)
        bot.api.send_text(COORDINATOR, "2027年9月30日")
        done = await bot.api.wait_for(
            lambda m: m.chat_id == COORDINATOR and "已关闭" in m.plain_text, since=since
        )
        assert done.plain_text.splitlines() == [
            "✅ 计划“十四五”已关闭：不再提醒，记录仍可用 /task、/export 查看。",
            "已将29项结转到“十五五”（第31-59项），期限2027年9月30日。",
        ]
        assert plan_status(bot, "十四五") is PlanStatus.CLOSED
        assert task_count(bot) == 89
        # the period-end button of the same preview, pressed afterwards: nothing more
        calls = len(bot.api.calls)
        bot.api.click(COORDINATOR, asked, "期限：2030年12月31日")
        await alert(bot, calls, "这次关闭已失效或已处理")
        assert task_count(bot) == 89
        [again] = await ask(bot, COORDINATOR, "/close_plan 十四五")
        assert again.plain_text.startswith("计划“十四五”已经关闭，不能重复关闭。")

        # a week on, 7 days before 十五五's deadline: its reminders go on, 十四五's stop
        clock.set(DAY + timedelta(days=7))
        since = len(bot.api.sent)
        await tick(bot)
        [message] = daily(bot, since)
        assert re.findall(r"^\S+ 第(\d+)项 十五五第", message.plain_text, re.M) == [
            str(n) for n in MINZHENG
        ]
        assert "【" not in message.plain_text and "2025年" not in message.plain_text

        # the old reminder's status button on a 十四五 task: the plan is closed, nothing stored
        stored = reports(bot)
        calls = len(bot.api.calls)
        bot.api.click(CONTACT, before, next(b for b, _ in before.buttons if "【十四五】第2项" in b))
        await alert(bot, calls, "计划“十四五”已关闭，第2项不再接收反馈")
        assert reports(bot) == stored

        [digest] = await ask(bot, COORDINATOR, "/digest")
        assert re.findall(r"^依据：《(.+)》$", digest.plain_text, re.M) == [FIFTEENTH_TITLE]
        assert FOURTEENTH_TITLE not in digest.plain_text

        [shown] = await ask(bot, COORDINATOR, "/task 十四五 5")
        assert "已结转至【十五五】第34项" in shown.plain_text
        assert "（计划“十四五”已关闭，不再提醒）" in shown.plain_text
        [carried] = await ask(bot, COORDINATOR, "/task 十五五 34")
        text = carried.plain_text
        assert "适时提高困难残疾人生活补贴和重度残疾人护理补贴标准。" in text
        assert "完成时限：2027年9月30日" in text
        assert "反馈记录：暂无" in text
        _, past = text.split("反馈记录：暂无", 1)
        assert "结转自【十四五】第5项的反馈记录（共1条，显示最近1条）" in past
        assert "· 2024年6月30日｜区民政局｜推进中｜" in past and "完成入户调查" in past
        with bot.svc.db.session() as s:
            task34 = s.exec(select(Task).where(Task.carried_from_id == old[5])).one()
            assert task34.number == 34
            assert not s.exec(select(StatusReport).where(StatusReport.task_id == task34.id)).all()
            assert s.exec(select(col(Task.id)).where(Task.carried_from_id == old[1])).all() == []

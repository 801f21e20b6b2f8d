"""Break-it trial of closing a plan and evaluating it (issue 17): the coordinator of
December 2026 closes 十四五 and hands in its 总结评估, through the stand-in."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from db.models import Plan, Task
from jobs.types import HoldDecision, PlanStatus
from standin import BotApiStandIn
from standin.harness import COORDINATOR, MutableClock
from tests.conftest import BotHarness
from tests.e2e.test_e2e_backfill import ask as ask_coordinator
from tests.e2e.test_e2e_backfill import backfills
from tests.e2e.test_e2e_plans import CONTACT, ask, clock, prepare, two_plans

__all__ = ["clock"]


def deadlines_of_5(bot: object) -> list[tuple[str, date]]:
    with bot.svc.db.session() as s:  # type: ignore[attr-defined]
        return sorted(
            (p.short_name, t.deadline)
            for t, p in s.exec(
                select(Task, Plan)
                .join(Plan, col(Plan.id) == col(Task.plan_id))
                .where(Task.number == 5)
            )
        )


async def test_deadline_on_a_closed_plans_task_is_refused_and_nobody_told(
    standin: BotApiStandIn, database_url: str, clock: MutableClock
) -> None:
    prepare(database_url, decided=HoldDecision.SEND, closed=True)
    async with two_plans(standin, database_url, clock) as bot:
        before = deadlines_of_5(bot)
        since = len(bot.api.sent)
        [answer] = await ask(bot, COORDINATOR, "/deadline 十四五 5 2027-12-31 协调")
        assert "计划“十四五”已关闭" in answer.plain_text
        assert not [m for m in bot.api.sent[since:] if m.chat_id == CONTACT]
        [answer] = await ask(bot, COORDINATOR, "/deadline 十四五 1-5 2027-12-31 协调")
        assert "计划“十四五”已关闭" in answer.plain_text and not answer.buttons
        assert deadlines_of_5(bot) == before


async def test_deadline_batch_confirmed_after_the_plan_closed_changes_nothing(
    standin: BotApiStandIn, database_url: str, clock: MutableClock
) -> None:
    prepare(database_url, decided=HoldDecision.SEND)
    async with two_plans(standin, database_url, clock) as bot:
        before = deadlines_of_5(bot)
        [preview] = await ask(bot, COORDINATOR, "/deadline 十四五 1-5 2027-12-31 协调")
        assert preview.buttons
        with bot.svc.db.session() as s:
            plan = s.exec(select(Plan).where(Plan.short_name == "十四五")).one()
            plan.status = PlanStatus.CLOSED
            s.add(plan)
        since = len(bot.api.sent)
        bot.api.click(COORDINATOR, preview, preview.buttons[0][0])
        edited = await bot.api.wait_for(
            lambda m: m.method == "editMessageText" and m.chat_id == COORDINATOR, since=since
        )
        assert "计划“十四五”已关闭" in edited.plain_text
        await bot.api.wait_idle(quiet=0.1)
        assert not [m for m in bot.api.sent[since:] if m.chat_id == CONTACT]
        assert deadlines_of_5(bot) == before


async def test_the_same_record_sent_twice_is_stored_once(bot: BotHarness) -> None:
    command = "/backfill 2 区民政局 推进中 2023-06-30 完成摸底"
    [first] = await ask_coordinator(bot, command)
    bot.api.click(COORDINATOR, first, "确认补录")
    await bot.api.wait_idle(quiet=0.2)
    [second] = await ask_coordinator(bot, command)
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, second, "确认补录")
    edited = await bot.api.wait_for(
        lambda m: m.method == "editMessageText" and m.chat_id == COORDINATOR, since=since
    )
    assert "已经存在" in edited.plain_text and "未重复保存" in edited.plain_text
    assert backfills(bot) == [(2, "in_progress", "2023-06-30", "完成摸底", COORDINATOR)]

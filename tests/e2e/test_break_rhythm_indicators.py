"""Trying to break /indicator, /milestone and their neighbours as a new user would. The
bot's clock is 2025-12-17 (the 十四五 plan, 2021-2025)."""

from __future__ import annotations

from sqlmodel import select

from db.models import Milestone
from standin.harness import COORDINATOR
from tests.conftest import BotHarness
from tests.e2e.test_e2e_indicators import ask, values


async def test_superscript_digits_get_the_usage_not_an_error(bot: BotHarness) -> None:
    """ "²".isdigit() is True but int("²") raises: every number typed gets a clear answer."""
    for text in (
        "/indicator ² 2024 1 来源",
        "/indicator 3 ²⁰²⁴ 1 来源",
        "/milestone ² 2025-12-20 内容",
        "/task ²",
        "/backfill ² 区民政局 推进中 2024-06-30 说明",
    ):
        answer = await ask(bot, COORDINATOR, text)
        assert "出错了" not in answer, (text, answer)
        assert "用法" in answer, (text, answer)
    assert values(bot) == []
    with bot.svc.db.session() as s:
        assert s.exec(select(Milestone)).all() == []


async def test_a_milestone_before_the_plans_period_is_refused(bot: BotHarness) -> None:
    """A 年度目标 dated before the plan's period began (2020 for 十四五) is a typo, not a
    target: refused, so the task does not turn 🔴 "已逾期2177天"."""
    answer = await ask(bot, COORDINATOR, "/milestone 1 2020-01-01 过去的目标")
    assert "规划期内（2021年1月1日起）" in answer
    answer = await ask(bot, COORDINATOR, "/milestone 1 2021-01-01 第一年的目标")
    assert "已为第1项任务设置年度目标" in answer
    with bot.svc.db.session() as s:
        assert [m.text for m in s.exec(select(Milestone))] == ["第一年的目标"]

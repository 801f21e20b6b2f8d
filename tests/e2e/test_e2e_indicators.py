"""End to end through the stand-in: /indicators and /indicator (主要指标). The bot's clock
is 2025-12-17: the last full year is 2024."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from db import repo
from db.models import AuditEvent, IndicatorValue, Unit
from standin.harness import COORDINATOR
from tests.conftest import STRANGER, BotHarness


async def ask(bot: BotHarness, user: int, text: str) -> str:
    since = len(bot.api.sent)
    bot.api.send_text(user, text)
    await bot.api.wait_for(lambda m: m.chat_id == user, since=since)
    await bot.api.wait_idle(quiet=0.1)
    return "\n".join(m.plain_text for m in bot.api.sent[since:] if m.chat_id == user)


def set_owner(bot: BotHarness, number: int, unit_name: str) -> None:
    with bot.svc.db.session() as s:
        plan_id = repo.read_plans(s)[0].id
        unit = s.exec(select(Unit).where(Unit.name == unit_name)).one()
        repo.set_owner(
            s, plan_id=plan_id, number=number, unit_id=unit.id, actor_user_id=0, now=bot.svc.now()
        )


def values(bot: BotHarness) -> list[tuple[int, float, str, int]]:
    with bot.svc.db.session() as s:
        return [
            (v.year, v.value, v.source, v.entered_by)
            for v in s.exec(select(IndicatorValue).order_by(IndicatorValue.id))  # type: ignore[arg-type]
        ]


async def test_list_and_record_by_role(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.register(2002, "潼南税务局")
    set_owner(bot, 3, "区民政局")
    listing = await ask(bot, COORDINATOR, "/indicators")
    assert "【十四五】主要指标（11项）" in listing
    assert "6. 残疾人城乡居民基本养老保险参保率（%）目标＞90｜预期性" in listing
    assert "⚪ 缺2024年数据" in listing
    assert "主要指标" in await ask(bot, 2002, "/indicators")
    assert "还不是任何单位的联络员" in await ask(bot, STRANGER, "/indicators")
    assert "没有简称或文号为“十六五”的计划" in await ask(bot, COORDINATOR, "/indicators 十六五")

    # the contact of the owner unit records; another contact and a stranger cannot
    answer = await ask(bot, 2001, "/indicator 3 2024 100 区民政局年度统计")
    assert "已录入：【十四五】第3项 符合条件的残疾人纳入最低生活保障比例 2024年 100%" in answer
    assert "🟢 已达到" in answer
    assert "第3项主要指标由区民政局填报" in await ask(bot, 2002, "/indicator 3 2024 90 税务")
    assert "尚未指定填报单位" in await ask(bot, 2001, "/indicator 4 2024 90 民政")
    assert "还不是任何单位的联络员" in await ask(bot, STRANGER, "/indicator 3 2024 1 x")
    assert values(bot) == [(2024, 100.0, "区民政局年度统计", 2001)]

    # a coordinator records any, past years too (补录), and replaces a year's value
    assert "🔴 未达到" in await ask(bot, COORDINATOR, "/indicator 6 2024 90% 区医保局")
    answer = await ask(bot, COORDINATOR, "/indicator 6 2024 91.5 区医保局（更正）")
    assert "🟢 已达到" in answer and "替换此前录入的 90" in answer
    assert "2022年" in await ask(bot, COORDINATOR, "/indicator 2 2022 300 区残联")
    assert "🟡 尚未达到" in await ask(bot, COORDINATOR, "/indicator 2 2024 300 区残联")

    # bad input gets a clear answer and stores nothing
    before = len(values(bot))
    assert "用法" in await ask(bot, COORDINATOR, "/indicator")
    assert "用法" in await ask(bot, COORDINATOR, "/indicator 三 2024 1 x")
    assert "请写明数据来源" in await ask(bot, COORDINATOR, "/indicator 3 2024 100")
    assert "“很多”不是数值" in await ask(bot, COORDINATOR, "/indicator 3 2024 很多 x")
    assert "规划期2021—2025年内" in await ask(bot, COORDINATOR, "/indicator 3 2026 1 x")
    assert "规划期2021—2025年内" in await ask(bot, COORDINATOR, "/indicator 3 2019 1 x")
    assert "没有找到第12项主要指标" in await ask(bot, COORDINATOR, "/indicator 12 2024 1 x")
    assert len(values(bot)) == before
    with bot.svc.db.session() as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "indicator.value")).all()
    assert len(events) == before
    listing = await ask(bot, 2001, "/indicators 十四五")
    assert "2022年300、2024年300，累计600｜🟡 尚未达到" in listing


async def test_digest_names_indicators_without_last_years_value(bot: BotHarness) -> None:
    digest = await ask(bot, COORDINATOR, "/digest")
    assert "主要指标：第1-11项缺2024年数据" in digest
    for number in (3, 5):
        await ask(bot, COORDINATOR, f"/indicator {number} 2024 100 区民政局")
    bot.clock.advance(timedelta(minutes=2))  # /digest answers once a minute
    digest = await ask(bot, COORDINATOR, "/digest")
    assert "主要指标：第1、2、4、6-11项缺2024年数据" in digest
    for number in (1, 2, 4, 6, 7, 8, 9, 10, 11):
        await ask(bot, COORDINATOR, f"/indicator {number} 2024 100 区统计局")
    bot.clock.advance(timedelta(minutes=2))
    assert "主要指标" not in await ask(bot, COORDINATOR, "/digest")


async def test_a_coordinator_names_the_unit_that_records_an_indicator_in_chat(
    bot: BotHarness,
) -> None:
    await bot.register(2001, "区民政局")
    refused = await ask(bot, 2001, "/indicator 4 填报单位 区民政局")
    assert "只有协调员可以指定" in refused
    assert "尚未指定填报单位" in await ask(bot, 2001, "/indicator 4 2024 90 民政")
    answer = await ask(bot, COORDINATOR, "/indicator 4 填报单位 民政局")
    assert "第4项主要指标" in answer and "填报单位已设为区民政局" in answer
    assert "已录入" in await ask(bot, 2001, "/indicator 4 2024 90 民政统计")
    assert "没有找到" in await ask(bot, COORDINATOR, "/indicator 4 填报单位 火星局")
    assert "没有找到第12项" in await ask(bot, COORDINATOR, "/indicator 12 填报单位 区民政局")
    assert "用法" in await ask(bot, COORDINATOR, "/indicator 4 填报单位")
    assert "已取消指定填报单位" in await ask(bot, COORDINATOR, "/indicator 4 填报单位 无")
    assert "尚未指定填报单位" in await ask(bot, 2001, "/indicator 4 2025 90 民政")
    with bot.svc.db.session() as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "indicator.owner")).all()
    assert [(e.before, e.after) for e in events] == [(None, "区民政局"), ("区民政局", None)]

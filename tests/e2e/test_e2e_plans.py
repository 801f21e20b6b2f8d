"""End to end through the stand-in: two plans that both have tasks 1-30 (the shipped 十四五
plan and a 十五五 plan loaded beside it, `tests.plans_data`) keep their reports, reminders,
buttons and digests apart (issue 16)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from bot.app import build_application
from db import repo
from db.engine import Database
from db.models import Plan, StatusReport, Task
from db.seed import load_plan, read_task_file
from jobs.types import HoldDecision, PlanStatus, Status
from standin import BotApiStandIn
from standin.harness import COORDINATOR, GROUP, MutableClock, running, standin_settings
from tests.conftest import BotHarness, record_history, report_in_progress
from tests.plans_data import FIFTEENTH_TITLE, FOURTEENTH_TITLE, fifteenth_plan

# Wednesday 2027-06-16 09:30 local: 14 days before the 十五五 tasks' deadline (2027-06-30),
# the 十四五 tasks (deadline 2025-12-31) long overdue
DAY = datetime(2027, 6, 16, 1, 30, tzinfo=UTC)
CONTACT = 2001  # 区民政局: leads tasks 2, 5, 8 and 25 of both plans
MINZHENG = [2, 5, 8, 25]


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock(DAY)


def prepare(url: str, *, decided: HoldDecision | None, closed: bool = False) -> None:
    """The shipped plan with a past (and `decided` on its hold), the 十五五 plan beside it;
    with `closed`, the 十四五 plan closed."""
    record_history(url, decided=decided)
    database = Database(url)
    try:
        with database.session() as s:  # the shipped plan first, as the bot's first start does
            if repo.default_plan_id(s) is None:
                load_plan(s, read_task_file(), now=DAY)
        with database.session() as s:
            load_plan(s, fifteenth_plan(), now=DAY)
        if closed:
            with database.session() as s:
                plan = s.exec(select(Plan).where(Plan.short_name == "十四五")).one()
                plan.status = PlanStatus.CLOSED
                s.add(plan)
    finally:
        database.dispose()


@asynccontextmanager
async def two_plans(api: BotApiStandIn, url: str, clock: MutableClock) -> AsyncIterator[BotHarness]:
    """The real bot on the database `prepare` made, its tick run only when asked, with the
    contact of 区民政局 registered."""
    settings = standin_settings(api, url, schedule={"tick_seconds": 3600})
    async with AsyncExitStack() as stack:
        app = build_application(settings, clock=clock)
        await stack.enter_async_context(running(app))
        bot = BotHarness(api, app, clock, settings, stack)
        bot.hold_tick()
        await api.wait_idle()
        await bot.register(CONTACT, "区民政局")
        yield bot


def task_ids(bot: BotHarness, short_name: str) -> dict[int, int]:
    """序号 -> task id of the plan `short_name`."""
    with bot.svc.db.session() as s:
        plan = s.exec(select(Plan).where(Plan.short_name == short_name)).one()
        return {t.number: t.id or 0 for t in s.exec(select(Task).where(Task.plan_id == plan.id))}


def reports(bot: BotHarness) -> list[tuple[int, Any, str]]:
    with bot.svc.db.session() as s:
        rows = s.exec(select(StatusReport).order_by(col(StatusReport.id))).all()
        return [(r.task_id, r.status, r.note) for r in rows]


async def tick(bot: BotHarness) -> None:
    await bot.tick()
    await bot.api.wait_idle(quiet=0.1)


async def ask(bot: BotHarness, chat: int, text: str) -> Any:
    since = len(bot.api.sent)
    bot.api.send_text(chat, text)
    await bot.api.wait_for(lambda m: m.chat_id == chat, since=since)
    await bot.api.wait_idle(quiet=0.1)
    return [m for m in bot.api.sent[since:] if m.chat_id == chat]


def daily(bot: BotHarness, since: int = 0) -> list[Any]:
    """The contact's messages of the day since `since`."""
    return [
        m for m in bot.api.sent[since:] if m.chat_id == CONTACT and "今日督办提醒" in m.plain_text
    ]


def tagged_lines(message: Any) -> list[tuple[str, int]]:
    """(简称, 序号) of each task line of a message of the day, in order."""
    return [
        (plan, int(number))
        for plan, number in re.findall(r"^\S+ 【(.+?)】第(\d+)项 ", message.plain_text, re.M)
    ]


def escalations(bot: BotHarness, since: int = 0) -> list[Any]:
    return [
        m for m in bot.api.sent[since:] if m.chat_id == COORDINATOR and "逾期已超过" in m.plain_text
    ]


async def test_reminders_buttons_and_reports_keep_the_plans_apart(
    standin: BotApiStandIn, database_url: str, clock: MutableClock
) -> None:
    prepare(database_url, decided=HoldDecision.SEND)
    async with two_plans(standin, database_url, clock) as bot:
        old, new = task_ids(bot, "十四五"), task_ids(bot, "十五五")
        assert sorted(old) == sorted(new) == list(range(1, 31))
        await tick(bot)
        [message] = daily(bot)  # one message of the day for both plans' tasks
        assert message.plain_text.startswith("📋 今日督办提醒：区民政局有8项任务需要反馈进展")
        assert tagged_lines(message) == [
            (plan, n) for n in MINZHENG for plan in ("十四五", "十五五")
        ]
        lines = {line.split(" ")[1]: line for line in message.plain_text.splitlines()[2:10]}
        assert lines["【十四五】第5项"].startswith("❗ 【十四五】第5项 适时提高困难残疾人生活补贴")
        assert lines["【十四五】第5项"].endswith("完成时限：2025年12月31日（已逾期532天）")
        assert lines["【十五五】第5项"].startswith("⏰ 【十五五】第5项 十五五第5项：")
        assert lines["【十五五】第5项"].endswith("完成时限：2027年6月30日（还有14天）")
        assert [(label.split(" ")[0], data) for label, data in message.buttons] == [
            (f"【{plan}】第{n}项", f"t2:{ids[n]}")
            for n in MINZHENG
            for plan, ids in (("十四五", old), ("十五五", new))
        ]

        # 十五五's task 5 reported by its button: stored on that task, none on 十四五's
        since = len(bot.api.sent)
        bot.api.click(
            CONTACT, message, next(lb for lb, _ in message.buttons if "【十五五】第5项" in lb)
        )
        choice = await bot.api.wait_for(
            lambda m: m.chat_id == CONTACT and "请选择当前进展" in m.plain_text, since=since
        )
        assert choice.plain_text.startswith("【十五五】第5项：十五五第5项：巩固拓展")
        assert {data for _, data in choice.buttons if data and data.startswith("r")} >= {
            f"r2:{new[5]}:in_progress"
        }
        await report_in_progress(bot, CONTACT, choice, "十五五第5项已部署")
        assert reports(bot) == [(new[5], Status.IN_PROGRESS, "十五五第5项已部署")]

        # /task 5 means the newest active plan and says which; /task 十四五 5 the old one
        [shown] = await ask(bot, CONTACT, "/task 5")
        text = shown.plain_text
        assert text.startswith(
            "【十五五】第5项 🟢\n十五五第5项：巩固拓展残疾人保障成果的第5项工作。"
        )
        assert (
            "（以上按“十五五”。另有：“十四五”；如指其他计划，请写计划简称，例如 /task 十四五 5）"
            in text
        )
        assert "十五五第5项已部署" in text and "反馈记录：暂无" not in text
        [shown] = await ask(bot, CONTACT, "/task 十四五 5")
        text = shown.plain_text
        assert text.startswith(
            "【十四五】第5项 🔴\n适时提高困难残疾人生活补贴和重度残疾人护理补贴标准。"
        )
        assert "（计划：“十四五”）" in text and "反馈记录：暂无" in text
        assert "十五五第5项已部署" not in text
        # /report 十四五 5 offers the old task only
        [offer] = await ask(bot, CONTACT, "/report 十四五 5")
        assert [data for _, data in offer.buttons] == [f"t2:{old[5]}"]
        assert offer.buttons[0][0].startswith("【十四五】第5项 适时提高")
        [offer] = await ask(bot, CONTACT, "/report 5")
        assert [data for _, data in offer.buttons] == [f"t2:{new[5]}"]

        # /record without a plan's name records on the newest plan's task and says so
        [saved] = await ask(bot, COORDINATOR, "/record 8 区民政局 推进中 电话告知已启动")
        assert saved.plain_text.startswith("✅ 已代区民政局记录第8项：推进中")
        assert saved.plain_text.endswith(
            "（以上按“十五五”。另有：“十四五”；如指其他计划，请写计划简称，"
            "例如 /record 十四五 8 区民政局 推进中 ……）"
        )
        assert reports(bot)[1:] == [(new[8], Status.IN_PROGRESS, "电话告知已启动")]


async def test_a_held_plan_holds_its_overdue_reminders_only(
    standin: BotApiStandIn, database_url: str, clock: MutableClock
) -> None:
    prepare(database_url, decided=None)  # 十四五's period ended with every task overdue
    async with two_plans(standin, database_url, clock) as bot:
        new = task_ids(bot, "十五五")
        await tick(bot)
        [message] = daily(bot)
        assert message.plain_text.startswith("📋 今日督办提醒：区民政局有4项任务需要反馈进展")
        assert tagged_lines(message) == [("十五五", n) for n in MINZHENG]
        assert [data for _, data in message.buttons] == [f"t2:{new[n]}" for n in MINZHENG]
        assert "逾期" not in message.plain_text
        assert escalations(bot) == []
        [notice] = [m for m in bot.api.messages_to(COORDINATOR) if "逾期提醒已暂停" in m.plain_text]
        assert "简称“十四五”" in notice.plain_text
        # the next day's tick brings nothing more
        count = len(bot.api.sent)
        await tick(bot)
        assert daily(bot, count) == [] and escalations(bot, count) == []
        # Monday's weekly digest goes out without the held plan's section
        bot.api.group(GROUP, "残工委工作群")
        clock.set(datetime(2027, 6, 21, 1, 30, tzinfo=UTC))
        count = len(bot.api.sent)
        await tick(bot)
        [digest] = [m for m in bot.api.sent[count:] if m.chat_id == GROUP]
        assert re.findall(r"^依据：《(.+)》$", digest.plain_text, re.M) == [FIFTEENTH_TITLE]
        assert "十四五" not in digest.plain_text


async def test_digest_has_one_section_per_active_plan(
    standin: BotApiStandIn, database_url: str, clock: MutableClock
) -> None:
    prepare(database_url, decided=HoldDecision.SEND)
    async with two_plans(standin, database_url, clock) as bot:
        [digest] = await ask(bot, COORDINATOR, "/digest")
        text = digest.plain_text
        sections = re.findall(r"^依据：《(.+)》$", text, re.M)
        assert sections == [FIFTEENTH_TITLE, FOURTEENTH_TITLE]  # the newest first
        assert re.findall(r"（共(\d+)项任务）", text) == ["30", "30"]
        assert re.findall(r"^状态灯：(.+)$", text, re.M) == [
            "🔴0　🟡30　🟢0　⚪0",  # 十五五: due within 14 days, nothing reported
            "🔴30　🟡0　🟢0　⚪0",  # 十四五: every task overdue
        ]
        # 区民政局 has a contact: the other 16 lead units, listed once for both plans
        assert text.count("尚无联络员的牵头单位") == 1
        assert "⚠️ 尚无联络员的牵头单位（16个）" in text
        listed = text.split("尚无联络员的牵头单位（16个）", 1)[1].split("更多见", 1)[0]
        names = re.split(r"[、\n]", listed.strip())
        assert len(names) == len(set(names)) == 16
        assert "区残联" in names and "区民政局" not in names


async def test_a_closed_plan_is_not_followed_up_but_keeps_its_history(
    standin: BotApiStandIn, database_url: str, clock: MutableClock
) -> None:
    prepare(database_url, decided=HoldDecision.SEND)
    async with two_plans(standin, database_url, clock) as bot:
        old, new = task_ids(bot, "十四五"), task_ids(bot, "十五五")
        since = len(bot.api.sent)
        bot.api.send_text(COORDINATOR, "/record 十四五 5 区民政局 已完成 补贴标准已提高")
        saved = await bot.api.wait_for(
            lambda m: m.chat_id == COORDINATOR and "已代" in m.plain_text, since=since
        )
        assert saved.plain_text.endswith("（计划：“十四五”）")
        assert reports(bot) == [(old[5], Status.DONE, "补贴标准已提高")]
        with bot.svc.db.session() as s:
            plan = s.exec(select(Plan).where(Plan.short_name == "十四五")).one()
            plan.status = PlanStatus.CLOSED
            s.add(plan)
        since = len(bot.api.sent)
        await tick(bot)
        [message] = daily(bot, since)
        # one active plan left: its tasks untagged, the closed plan's not reminded
        assert message.plain_text.startswith("📋 今日督办提醒：区民政局有4项任务需要反馈进展")
        assert re.findall(r"^\S+ 第(\d+)项 十五五第", message.plain_text, re.M) == [
            str(n) for n in MINZHENG
        ]
        assert "【" not in message.plain_text and "2025年" not in message.plain_text
        assert [data for _, data in message.buttons] == [f"t2:{new[n]}" for n in MINZHENG]
        assert escalations(bot, since) == []
        # a button of the closed plan's task (an old reminder's) stores nothing
        calls = len(bot.api.calls)
        bot.api.press_button(CONTACT, message.message_id, f"r2:{old[8]}:in_progress")
        await bot.api.wait_for_call(
            "answerCallbackQuery", lambda c: "已关闭" in str(c.params), since=calls
        )
        assert reports(bot) == [(old[5], Status.DONE, "补贴标准已提高")]
        [digest] = await ask(bot, COORDINATOR, "/digest")
        assert re.findall(r"^依据：《(.+)》$", digest.plain_text, re.M) == [FIFTEENTH_TITLE]
        assert "十四五" not in digest.plain_text
        [shown] = await ask(bot, COORDINATOR, "/task 十四五 5")
        text = shown.plain_text
        assert "适时提高困难残疾人生活补贴和重度残疾人护理补贴标准。" in text
        assert "补贴标准已提高" in text and "反馈记录（共1条" in text


async def test_a_reply_naming_a_number_offers_the_right_tasks(
    standin: BotApiStandIn, database_url: str, clock: MutableClock
) -> None:
    prepare(database_url, decided=None)  # the message of the day lists 十五五's tasks only
    async with two_plans(standin, database_url, clock) as bot:
        old, new = task_ids(bot, "十四五"), task_ids(bot, "十五五")
        await tick(bot)
        [message] = daily(bot)
        since = len(bot.api.sent)
        note = "第5项：已完成入户调查"
        bot.api.send_text(CONTACT, note, reply_to_message_id=message.message_id)
        offer = await bot.api.wait_for(
            lambda m: m.chat_id == CONTACT and "这条留言是关于哪一项任务的" in m.plain_text,
            since=since,
        )
        assert "您提到的第5项排在最前" in offer.plain_text
        # the message's own task 5 first, then 十四五's task 5, then the message's others
        assert [data for _, data in offer.buttons] == [
            f"ni:{new[5]}",
            f"ni:{old[5]}",
            *(f"ni:{new[n]}" for n in MINZHENG if n != 5),
            "n:0",
        ]
        assert offer.buttons[0][0].startswith("【十五五】第5项")
        assert offer.buttons[1][0].startswith("【十四五】第5项")
        assert reports(bot) == []
        bot.api.click(CONTACT, offer, offer.buttons[0][0])
        saved = await bot.api.wait_for(
            lambda m: m.chat_id == CONTACT and "已将您的留言记录为" in m.plain_text, since=since
        )
        assert "记录为【十五五】第5项任务（区民政局）" in saved.plain_text
        assert reports(bot) == [(new[5], None, note)]

        # a button of an offer sent before several plans ("n:5") means the first plan's task 5
        since = len(bot.api.sent)
        older = "第5项：补贴已发放"
        bot.api.send_text(CONTACT, older, reply_to_message_id=message.message_id)
        offer = await bot.api.wait_for(
            lambda m: m.chat_id == CONTACT and "这条留言是关于哪一项任务的" in m.plain_text,
            since=since,
        )
        bot.api.press_button(CONTACT, offer.message_id, "n:5")
        saved = await bot.api.wait_for(
            lambda m: m.chat_id == CONTACT and "已将您的留言记录为" in m.plain_text, since=since
        )
        assert "记录为【十四五】第5项任务（区民政局）" in saved.plain_text
        assert reports(bot) == [(new[5], None, note), (old[5], None, older)]


async def test_a_deadline_notice_names_the_plan(
    standin: BotApiStandIn, database_url: str, clock: MutableClock
) -> None:
    prepare(database_url, decided=HoldDecision.SEND)
    async with two_plans(standin, database_url, clock) as bot:
        [answer] = await ask(bot, COORDINATOR, "/deadline 十四五 2 2027-09-30 年度调整")
        assert "2027年9月30日" in answer.plain_text
        await bot.api.wait_idle(quiet=0.1)
        [notice] = [m for m in bot.api.messages_to(CONTACT) if "完成时限调整" in m.plain_text]
        assert "【十四五】第2项：" in notice.plain_text

"""End to end through the stand-in: one reminder message per contact a day (issue 12 §3).

区残联 leads 19 tasks of the shipped plan; on 2025-12-17 (14 days before 2025-12-31) its
contact gets ONE message listing all 19 with their deadlines, each reportable from it, and a
reply to it asks which task the note is for.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from db import repo
from db.models import Delivery, StatusReport, Task
from jobs.types import DeliveryKind, DeliveryOutcome, Status
from standin.harness import COORDINATOR
from tests.conftest import BotHarness, reminded_tasks, reply_to_daily, report_in_progress

CONTACT = 2005  # the contact of 区残联


@pytest.fixture
def bot_settings_overrides(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The shipped plan; parametrized (indirect) with a number N, a plan of N tasks all led
    by 区残联 (the README: 30 to 300 tasks per district)."""
    overrides: dict[str, Any] = {"schedule": {"tick_seconds": 3600}}
    count = getattr(request, "param", None)
    if count is None:
        return overrides
    lines = [
        "[plan]",
        'title = "测试规划"',
        'document_number = "测〔2025〕1号"',
        "issued_on = 2022-04-18",
        "period_end = 2027-12-31",
        "default_deadline = 2025-12-31",
    ]
    for n in range(1, count + 1):
        lines += [
            "[[tasks]]",
            f"number = {n}",
            f'text = "第{n}项重点工作任务的具体内容说明文字较长需要截断显示在今日督办提醒中"',
            'lead_units = ["区残联"]',
            'responsible_units = ["区民政局"]',
        ]
    plan = tmp_path / "plan.toml"
    plan.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {**overrides, "tasks": {"file": str(plan)}}


def canlian_tasks(bot: BotHarness) -> list[int]:
    with bot.svc.db.session() as s:
        unit = repo.get_unit_by_name(s, name="区残联")
        assert unit is not None and unit.id is not None
        return sorted(t.number for t in repo.tasks_led_by(s, unit_id=unit.id))


def stored(bot: BotHarness) -> list[tuple[int, Status | None, str, str]]:
    with bot.svc.db.session() as s:
        rows = s.exec(select(StatusReport).order_by(col(StatusReport.id))).all()
        numbers = {t.id: t.number for t in s.exec(select(Task)).all()}
        return [(numbers[r.task_id], r.status, r.note, r.source) for r in rows]


async def daily_message(bot: BotHarness) -> Any:
    bot.api.user(CONTACT, "王芳")
    await bot.register(CONTACT, "区残联")
    await bot.tick()
    await bot.api.wait_idle()
    [message] = [m for m in bot.api.messages_to(CONTACT) if "完成时限" in m.plain_text]
    return message


async def test_the_19_task_message_lists_every_task_and_each_is_reportable_from_it(
    bot: BotHarness,
) -> None:
    numbers = canlian_tasks(bot)
    assert len(numbers) == 19
    message = await daily_message(bot)
    text = message.plain_text
    assert text.startswith("📋 今日督办提醒：区残联有19项任务需要反馈进展")
    assert reminded_tasks(message) == numbers
    for line in text.splitlines()[2:21]:  # each task: 第N项, text, deadline, days left
        assert line.startswith("⏰ 第") and line.endswith("｜完成时限：2025年12月31日（还有14天）")
    assert "直接回复本消息留言" in text
    assert len(text) < 4096
    labels = [label for label, _ in message.buttons]
    assert [int(label[1:].split("项")[0]) for label in labels] == numbers
    # the ledger: one row for the message, one per task, all with the message's id
    with bot.svc.db.session() as s:
        rows = s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.REMINDER)).all()
    assert len([r for r in rows if r.key.startswith("daily:")]) == 1
    assert len([r for r in rows if r.key.startswith("reminder:")]) == 19
    assert {(r.outcome, r.message_id) for r in rows} == {(DeliveryOutcome.SENT, message.message_id)}

    # every task is reported from its button: status, note, no evidence, confirmation
    for label, number in zip(labels, numbers, strict=True):
        since = len(bot.api.sent)
        bot.api.click(CONTACT, message, label)
        choice = await bot.api.wait_for(
            lambda m: m.chat_id == CONTACT and "请选择当前进展" in m.plain_text, since=since
        )
        assert choice.plain_text.startswith(f"第{number}项：")
        assert [b for b, _ in choice.buttons] == ["推进中", "已完成", "遇到困难", "申请延期"]
        await report_in_progress(bot, CONTACT, choice, f"第{number}项正在推进")
    assert [r[:3] for r in stored(bot)] == [
        (n, Status.IN_PROGRESS, f"第{n}项正在推进") for n in numbers
    ]
    # the same day brings nothing more
    count = len(bot.api.sent)
    await bot.tick()
    await bot.api.wait_idle()
    assert len(bot.api.sent) == count


async def test_a_reply_to_the_message_asks_which_task_the_note_is_for(bot: BotHarness) -> None:
    numbers = canlian_tasks(bot)
    message = await daily_message(bot)
    ask, saved = await reply_to_daily(bot, CONTACT, message, "康复站选址已确定", numbers[4])
    assert ask.plain_text == "这条留言是关于哪一项任务的？请选择："
    offered = [int(label[1:].split("项")[0]) for label, _ in ask.buttons[:-1]]
    assert offered == numbers  # exactly the tasks of that message
    assert ask.buttons[-1][0] == "不用保存"
    assert f"第{numbers[4]}项任务（区残联）" in saved.plain_text
    assert stored(bot) == [(numbers[4], None, "康复站选址已确定", "reply")]
    # a task reported done since is no longer offered
    with bot.svc.db.session() as s:
        task = repo.get_task(s, number=numbers[0])
        unit = repo.get_unit_by_name(s, name="区残联")
        assert task is not None and unit is not None
        repo.add_report(
            s,
            task_id=task.id or 0,
            unit_id=unit.id or 0,
            contact_id=None,
            reporter_user_id=CONTACT,
            status=Status.DONE,
            note="已完成",
            now=bot.clock.now,
        )
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, "再补充一句", reply_to_message_id=message.message_id)
    again = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "哪一项任务" in m.plain_text, since=since
    )
    assert [int(label[1:].split("项")[0]) for label, _ in again.buttons[:-1]] == numbers[1:]


def dailies(bot: BotHarness, chat: int = CONTACT) -> list[Any]:
    return [m for m in bot.api.messages_to(chat) if "完成时限" in m.plain_text]


def ledger(bot: BotHarness) -> list[Delivery]:
    with bot.svc.db.session() as s:
        return list(s.exec(select(Delivery).order_by(col(Delivery.id))).all())


async def tick(bot: BotHarness, *, after: timedelta = timedelta(0)) -> None:
    bot.clock.advance(after)
    await bot.tick()
    await bot.api.wait_idle()


@pytest.mark.parametrize("bot_settings_overrides", [120], indirect=True)
async def test_a_unit_leading_120_tasks_gets_its_message_in_four_parts(bot: BotHarness) -> None:
    bot.api.user(CONTACT, "王芳")
    await bot.register(CONTACT, "区残联")
    await tick(bot)
    assert bot.api.failed_calls("sendMessage") == []
    parts = dailies(bot)
    assert len(parts) == 4
    for index, part in enumerate(parts, start=1):
        text = part.plain_text
        assert text.startswith(
            f"📋 今日督办提醒：区残联有120项任务需要反馈进展（分4条发送，这是第{index}条）"
        )
        assert len(text.encode("utf-16-le")) // 2 <= 4096
        numbers = list(range(30 * index - 29, 30 * index + 1))
        assert reminded_tasks(part) == numbers
        assert [int(label[1:].split("项")[0]) for label, _ in part.buttons] == numbers
        assert "直接回复本消息留言" in text
    # one logical message of the day: one day row (the first part's id), each task's row
    # with the id of the part that carried it
    rows = ledger(bot)
    [day] = [r for r in rows if r.key.startswith("daily:")]
    assert (day.outcome, day.message_id) == (DeliveryOutcome.SENT, parts[0].message_id)
    with bot.svc.db.session() as s:
        number_of = {t.id: t.number for t in s.exec(select(Task)).all()}
    reminders = [r for r in rows if r.key.startswith("reminder:")]
    assert sorted(number_of[r.task_id] for r in reminders) == list(range(1, 121))
    part_of = {p.message_id: i for i, p in enumerate(parts)}
    assert {r.outcome for r in reminders} == {DeliveryOutcome.SENT}
    assert all(part_of[r.message_id] == (number_of[r.task_id] - 1) // 30 for r in reminders)
    # a reply to the third part asks among that part's tasks
    ask, _ = await reply_to_daily(bot, CONTACT, parts[2], "第七十项已推进", 70)
    offered = [int(label[1:].split("项")[0]) for label, _ in ask.buttons[:-1]]
    assert offered == list(range(61, 91))
    # the same day, and after a restart, nothing more
    count = len(bot.api.sent)
    await tick(bot, after=timedelta(hours=1))
    await bot.restart()
    await tick(bot, after=timedelta(hours=1))
    assert len(bot.api.sent) == count


@pytest.mark.parametrize("bot_settings_overrides", [120], indirect=True)
async def test_a_part_refused_tells_the_coordinators_and_its_tasks_come_the_next_day(
    bot: BotHarness,
) -> None:
    bot.api.user(CONTACT, "王芳")
    await bot.register(CONTACT, "区残联")
    bot.api.fail_next(
        "sendMessage",
        error_code=400,
        description="Bad Request: can't parse entities",
        chat_id=CONTACT,
        after=2,
    )
    await tick(bot)
    assert [reminded_tasks(m) for m in dailies(bot)] == [list(range(1, 31)), list(range(31, 61))]
    [told] = [m for m in bot.api.messages_to(COORDINATOR) if "未能向区残联联络员" in m.plain_text]
    assert "第" + "、".join(str(n) for n in range(61, 121)) + "项任务" in told.plain_text
    assert "下一个工作日重新发送" in told.plain_text
    count = len(bot.api.sent)
    await tick(bot, after=timedelta(hours=1))  # the same day: nothing more, nobody told again
    assert len(bot.api.sent) == count
    await tick(bot, after=timedelta(days=1))  # the next working day: the 60 left, in 2 parts
    again = dailies(bot)[2:]
    assert [reminded_tasks(m) for m in again] == [list(range(61, 91)), list(range(91, 121))]
    assert again[0].plain_text.startswith(
        "📋 今日督办提醒：区残联有60项任务需要反馈进展（分2条发送，这是第1条）"
    )


async def test_a_refused_message_of_the_day_is_told_and_comes_again_the_next_working_day(
    bot: BotHarness,
) -> None:
    numbers = canlian_tasks(bot)
    bot.api.user(CONTACT, "王芳")
    await bot.register(CONTACT, "区残联")
    bot.api.fail_next(
        "sendMessage",
        error_code=400,
        description="Bad Request: message is too long",
        chat_id=CONTACT,
    )
    await tick(bot)
    assert dailies(bot) == []
    told = [m for m in bot.api.messages_to(COORDINATOR) if "未能向区残联联络员王芳" in m.plain_text]
    assert len(told) == 1
    assert "Message is too long" in told[0].plain_text
    assert "、".join(str(n) for n in numbers) in told[0].plain_text
    rows = ledger(bot)
    # the day's row is FAILED (no retry the same day); the reminders are not spent
    assert [(r.key.split(":")[0], r.outcome) for r in rows if r.contact_id is not None] == [
        ("daily", DeliveryOutcome.FAILED)
    ]
    count = len(bot.api.sent)
    await tick(bot, after=timedelta(hours=1))
    assert len(bot.api.sent) == count  # no retry storm, nobody told twice
    await bot.restart()
    await tick(bot, after=timedelta(days=1))
    [daily] = dailies(bot)
    assert reminded_tasks(daily) == numbers
    assert len([m for m in bot.api.messages_to(COORDINATOR) if "未能向" in m.plain_text]) == 1


async def test_a_contact_who_blocked_the_bot_and_comes_back_gets_the_message_the_same_day(
    bot: BotHarness,
) -> None:
    numbers = canlian_tasks(bot)
    bot.api.user(CONTACT, "王芳")
    await bot.register(CONTACT, "区残联")
    bot.api.block_chat(CONTACT)
    await tick(bot)
    assert dailies(bot) == []
    assert [r for r in ledger(bot) if r.contact_id is not None] == []  # nothing spent
    bot.api.unblock_chat(CONTACT)
    bot.api.send_text(CONTACT, "/start")
    await bot.api.wait_idle()
    await tick(bot, after=timedelta(hours=1))
    [daily] = dailies(bot)
    assert reminded_tasks(daily) == numbers
    with bot.svc.db.session() as s:
        rows = s.exec(select(Delivery).where(col(Delivery.contact_id).is_not(None))).all()
    assert {(r.outcome, r.message_id) for r in rows} == {(DeliveryOutcome.SENT, daily.message_id)}


@pytest.mark.parametrize("bot_settings_overrides", [120], indirect=True)
async def test_pickers_of_a_unit_with_120_open_tasks_stay_within_telegrams_buttons(
    bot: BotHarness,
) -> None:
    bot.api.user(CONTACT, "王芳")
    await bot.register(CONTACT, "区残联")
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, "/report")
    picker = await bot.api.wait_for(lambda m: m.chat_id == CONTACT, since=since)
    assert "未完成的共120项" in picker.plain_text and "/report 41" in picker.plain_text
    assert [label.split()[0] for label, _ in picker.buttons] == [f"第{n}项" for n in range(1, 41)]
    # a task past the first 40 is reached by its number, and reported as any other
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, "/report 57")
    one = await bot.api.wait_for(lambda m: m.chat_id == CONTACT, since=since)
    assert [label.split()[0] for label, _ in one.buttons] == ["第57项"]
    since = len(bot.api.sent)
    bot.api.click(CONTACT, one, one.buttons[0][0])
    choice = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "请选择当前进展" in m.plain_text, since=since
    )
    await report_in_progress(bot, CONTACT, choice, "第57项已推进")
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, "/report 121")
    refusal = await bot.api.wait_for(lambda m: m.chat_id == CONTACT, since=since)
    assert "第121项不在区残联未完成的任务中" in refusal.plain_text and not refusal.buttons
    # free text: the offer lists 40 tasks (the one named first) and 不用保存
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, "第88项本周已完成验收准备")
    offer = await bot.api.wait_for(lambda m: m.chat_id == CONTACT, since=since)
    labels = [label for label, _ in offer.buttons]
    assert len(labels) == 41 and labels[0].startswith("第88项") and labels[-1] == "不用保存"
    assert "下方列出40项" in offer.plain_text


@pytest.mark.parametrize("bot_settings_overrides", [120], indirect=True)
async def test_report_with_a_range_wider_than_the_picker_still_fits_telegrams_buttons(
    bot: BotHarness,
) -> None:
    """/report 1-120 named 120 open tasks: 120 buttons, which Telegram refuses (100 at
    most). The picker shows the first 40 named and how to reach the others."""
    bot.api.user(CONTACT, "王芳")
    await bot.register(CONTACT, "区残联")
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, "/report 1-120")
    picker = await bot.api.wait_for(lambda m: m.chat_id == CONTACT, since=since)
    assert [label.split()[0] for label, _ in picker.buttons] == [f"第{n}项" for n in range(1, 41)]
    assert "/report 41" in picker.plain_text
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, "/report 71-120")
    rest = await bot.api.wait_for(lambda m: m.chat_id == CONTACT, since=since)
    assert [label.split()[0] for label, _ in rest.buttons] == [f"第{n}项" for n in range(71, 111)]
    assert "/report 111" in rest.plain_text

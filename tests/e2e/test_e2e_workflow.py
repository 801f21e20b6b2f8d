"""End to end through the stand-in: extension requests, reports on behalf, corrections,
and the audit trail of status changes."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from db.models import AuditEvent, ExtensionRequest, StatusReport, Task
from jobs.types import ExtensionStatus, Status
from standin.harness import COORDINATOR
from tests.conftest import BotHarness


async def extension_request(bot: BotHarness, user: int, number: int, date: str) -> None:
    reminder = await bot.api.wait_for(
        lambda m: m.chat_id == user and f"第{number}项" in m.plain_text and bool(m.buttons)
    )
    since = len(bot.api.sent)
    bot.api.click(user, reminder, "申请延期")
    ask = await bot.api.wait_for(lambda m: m.chat_id == user, since=since)
    assert "当前完成时限为2025年12月31日" in ask.plain_text
    assert "（如2026-06-30）" in ask.plain_text  # the example is computed from today
    since = len(bot.api.sent)
    bot.api.send_text(user, "2025-12-01")  # in the past: refused with the reason
    refusal = (await bot.api.wait_for(lambda m: m.chat_id == user, since=since)).plain_text
    assert "2025年12月1日已经过去" in refusal and "不能早于今天（2025年12月17日）" in refusal
    since = len(bot.api.sent)
    bot.api.send_text(user, "2025年12月20日")  # not later than the deadline: refused
    assert "须晚于" in (await bot.api.wait_for(lambda m: m.chat_id == user, since=since)).plain_text
    since = len(bot.api.sent)
    bot.api.send_text(user, date)
    await bot.api.wait_for(lambda m: m.chat_id == user and "理由" in m.plain_text, since=since)
    bot.api.send_text(user, "需等待市级资金下达")
    card = await bot.api.wait_for(
        lambda m: m.chat_id == user and "请确认延期申请" in m.plain_text, since=since
    )
    bot.api.click(user, card, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == user and "等待协调员审批" in m.plain_text)


async def test_extension_approved_moves_the_deadline_and_the_reminders(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    since = len(bot.api.sent)
    await extension_request(bot, 2002, 10, "2026年2月27日")
    request = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "延期申请" in m.plain_text, since=since
    )
    assert "申请延至：2026年2月27日" in request.plain_text
    assert "需等待市级资金下达" in request.plain_text
    assert [label for label, _ in request.buttons] == ["批准", "驳回"]
    # a contact cannot decide; the coordinator approves once, a second press is refused
    bot.api.click(2002, request, "批准")
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "仅限协调员" in str(c.params))
    bot.api.click(COORDINATOR, request, "批准")
    told = await bot.api.wait_for(lambda m: m.chat_id == 2002 and "已批准" in m.plain_text)
    assert "新的完成时限为2026年2月27日" in told.plain_text
    bot.api.click(COORDINATOR, request, "驳回")
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "已处理" in str(c.params))
    with bot.svc.db.session() as s:
        task = s.exec(select(Task).where(Task.number == 10)).one()
        assert task.deadline.isoformat() == "2026-02-27"
        [row] = s.exec(select(ExtensionRequest)).all()
        assert (row.status, row.decided_by) == (ExtensionStatus.APPROVED, COORDINATOR)
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]
        assert "extension.request" in actions and "extension.approved" in actions
        assert "task.deadline" in actions
    # every later reminder follows: 7 days later nothing (the next occasion is 14 days
    # before 2026-02-27), then on 2026-02-13 the 14-days-before reminder
    bot.clock.advance(timedelta(days=7))
    await bot.tick()
    await bot.api.wait_idle()
    reminders = [m for m in bot.api.messages_to(2002) if "完成时限：" in m.plain_text]
    assert len(reminders) == 1
    bot.clock.set(bot.clock.now.replace(year=2026, month=2, day=13))
    await bot.tick()
    await bot.api.wait_idle()
    reminders = [m for m in bot.api.messages_to(2002) if "完成时限：" in m.plain_text]
    assert len(reminders) == 2 and "2026年2月27日（还有14天）" in reminders[1].plain_text


async def test_extension_rejected_keeps_the_deadline(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    since = len(bot.api.sent)
    await extension_request(bot, 2002, 10, "2026-03-31")
    request = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "延期申请" in m.plain_text, since=since
    )
    # 驳回 asks for the reason; the coordinator types it as a reply; the contact gets it
    bot.api.click(COORDINATOR, request, "驳回")
    question = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "驳回第10项延期申请" in m.plain_text
    )
    assert question.message_id == request.message_id  # the card itself asks
    assert [label for label, _ in question.buttons] == ["不写理由，直接驳回", "批准"]
    with bot.svc.db.session() as s:
        assert s.exec(select(ExtensionRequest)).one().status == ExtensionStatus.PENDING
    reason = "年底前必须完成，请加快进度 <尽快>"
    bot.api.send_text(COORDINATOR, reason, reply_to_message_id=question.message_id)
    told = await bot.api.wait_for(lambda m: m.chat_id == 2002 and "未获批准" in m.plain_text)
    assert "仍为2025年12月31日" in told.plain_text
    assert f"驳回理由：{reason}" in told.plain_text
    await bot.api.wait_idle()
    card = bot.api.message(COORDINATOR, request.message_id)
    assert card is not None and "已驳回" in card["text"] and "请直接回复" not in card["text"]
    assert not card.get("reply_markup", {}).get("inline_keyboard")  # no more 批准 / 驳回
    with bot.svc.db.session() as s:
        assert s.exec(select(Task).where(Task.number == 10)).one().deadline.isoformat() == (
            "2025-12-31"
        )
        [row] = s.exec(select(ExtensionRequest)).all()
        assert row.status == ExtensionStatus.REJECTED and row.decision_note == reason


async def test_coordinator_records_a_phone_report_on_behalf_of_a_unit(bot: BotHarness) -> None:
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/record 10 潼南税务局 推进中 电话反馈：政策已宣传到位")
    saved = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert "已代潼南税务局记录第10项：推进中" in saved.plain_text
    with bot.svc.db.session() as s:
        [report] = s.exec(select(StatusReport)).all()
        assert (report.source, report.entered_by, report.contact_id, report.status) == (
            "coordinator",
            COORDINATOR,
            None,
            Status.IN_PROGRESS,
        )
        assert report.note == "电话反馈：政策已宣传到位"
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "report.status")).one()
        assert (event.before, event.after, event.actor_user_id) == (
            "not_started",
            "in_progress",
            COORDINATOR,
        )
    for text, expected in (
        ("/record 10 区民政局 推进中 说明", "不是第10项的牵头单位"),
        ("/record 10 潼南税务局 很好 说明", "无法识别状态"),
        ("/record 10 潼南税务局", "用法"),
        ("/record 99 潼南税务局 推进中 说明", "没有找到第99项"),
    ):
        since = len(bot.api.sent)
        bot.api.send_text(COORDINATOR, text)
        answer = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
        assert expected in answer.plain_text, text
    await bot.register(2002, "潼南税务局")
    since = len(bot.api.sent)
    bot.api.send_text(2002, "/record 10 潼南税务局 已完成 说明")
    assert (
        "仅限协调员"
        in (await bot.api.wait_for(lambda m: m.chat_id == 2002, since=since)).plain_text
    )
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/task 10")
    task = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert "潼南税务局｜推进中｜协调员代录：电话反馈" in task.plain_text
    with bot.svc.db.session() as s:
        assert len(s.exec(select(StatusReport)).all()) == 1


async def report_done(bot: BotHarness, user: int, number: int, note: str) -> object:
    reminder = await bot.api.wait_for(
        lambda m: m.chat_id == user and f"第{number}项" in m.plain_text and bool(m.buttons)
    )
    since = len(bot.api.sent)
    bot.api.click(user, reminder, "已完成")
    await bot.api.wait_for(
        lambda m: m.chat_id == user and "请用一两句话" in m.plain_text, since=since
    )
    bot.api.send_text(user, note)
    ask = await bot.api.wait_for(
        lambda m: m.chat_id == user and "跳过" in str(m.buttons), since=since
    )
    bot.api.click(user, ask, "跳过")
    card = await bot.api.wait_for(
        lambda m: m.chat_id == user and "请确认" in m.plain_text, since=since
    )
    bot.api.click(user, card, "确认提交")
    return await bot.api.wait_for(
        lambda m: m.chat_id == user and "已记录" in m.plain_text, since=since
    )


async def test_a_contact_corrects_the_last_report_within_the_window(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    receipt = await report_done(bot, 2002, 10, "已全部完成")
    assert [label for label, _ in receipt.buttons] == ["修改这条反馈"]
    bot.clock.advance(timedelta(minutes=30))
    since = len(bot.api.sent)
    bot.api.click(2002, receipt, "修改这条反馈")
    choose = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "更正" in m.plain_text, since=since
    )
    bot.api.click(2002, choose, "推进中")
    await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "请用一两句话" in m.plain_text, since=since
    )
    bot.api.send_text(2002, "更正：尚有两家单位未兑现")
    ask = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "跳过" in str(m.buttons), since=since
    )
    bot.api.click(2002, ask, "跳过")
    card = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "请确认" in m.plain_text, since=since
    )
    bot.api.click(2002, card, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == 2002 and "已记录" in m.plain_text, since=since)
    with bot.svc.db.session() as s:
        first, second = s.exec(select(StatusReport).order_by(StatusReport.id)).all()
        assert (first.status, first.note) == (Status.DONE, "已全部完成")  # kept in history
        assert (second.status, second.corrects_id) == (Status.IN_PROGRESS, first.id)
    # the corrected receipt lost its 修改 button; a press that was already on its way is
    # refused (no longer the latest), and so is one after the window
    await bot.api.wait_idle()
    corrected = bot.api.message(2002, receipt.message_id)
    assert corrected is not None and not corrected.get("reply_markup", {}).get("inline_keyboard")
    bot.api.press_button(2002, receipt.message_id, f"c:{first.id}")
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "分钟内" in str(c.params))
    bot.clock.advance(timedelta(minutes=61))
    last_receipt = [
        m for m in bot.api.sent if m.chat_id == 2002 and "已记录" in m.plain_text and m.buttons
    ][-1]
    calls = len(bot.api.calls)
    bot.api.click(2002, last_receipt, "修改这条反馈")
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "分钟内" in str(c.params), since=calls
    )

"""End to end through the stand-in: the status conversation, replies, refusals, the digest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from db.models import Delivery, StatusReport, Task
from jobs.types import DeliveryKind, Status
from standin.harness import COORDINATOR, GROUP
from tests.conftest import GROUP_MEMBER, STRANGER, BotHarness, reply_to_daily, report_in_progress


def reports(bot: BotHarness) -> list[StatusReport]:
    with bot.svc.db.session() as s:
        return list(s.exec(select(StatusReport).order_by(StatusReport.id)).all())


def task_id(bot: BotHarness, number: int) -> int:
    with bot.svc.db.session() as s:
        task = s.exec(select(Task).where(Task.number == number)).one()
        return task.id or 0


async def reminder_for(bot: BotHarness, chat: int, number: int) -> Any:
    return await bot.api.wait_for(
        lambda m: m.chat_id == chat and f"第{number}项" in m.plain_text and bool(m.buttons)
    )


async def test_button_note_skip_confirm_stores_the_report(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.tick()
    reminder = await reminder_for(bot, 2001, 2)
    bot.api.press_button(2001, reminder.message_id, "r:2:in_progress")
    ask = await bot.api.wait_for(lambda m: m.chat_id == 2001 and "请用一两句话" in m.plain_text)
    assert "推进中" in ask.plain_text
    note = "已完成排查 <b>&amp; 正在审核 😀"
    bot.api.send_text(2001, note)
    evidence = await bot.api.wait_for(lambda m: m.chat_id == 2001 and "佐证材料" in m.plain_text)
    bot.api.click(2001, evidence, "跳过")
    confirm = await bot.api.wait_for(lambda m: m.chat_id == 2001 and "请确认" in m.plain_text)
    assert note in confirm.plain_text
    assert reports(bot) == []  # nothing is stored before the confirmation
    bot.api.click(2001, confirm, "确认提交")
    ack = await bot.api.wait_for(lambda m: m.chat_id == 2001 and "已记录" in m.plain_text)
    assert "第2项" in ack.plain_text and "区民政局" in ack.plain_text
    assert "状态：推进中" in ack.plain_text and note in ack.plain_text
    assert "2025年12月17日 9:30" in ack.plain_text
    [stored] = reports(bot)
    assert stored.status == Status.IN_PROGRESS
    assert stored.note == note
    assert stored.task_id == task_id(bot, 2)
    assert stored.reporter_user_id == 2001
    assert stored.evidence_kind is None
    assert stored.created_at == bot.clock.now


async def test_report_command_with_a_document(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    bot.api.send_text(2002, "/report")
    menu = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "请选择要反馈的任务" in m.plain_text
    )
    # 潼南税务局 leads task 10 and supports (协办) task 9
    nine, ten = task_id(bot, 9), task_id(bot, 10)
    assert [data for _, data in menu.buttons] == [f"t2:{nine}", f"t2:{ten}"]
    assert menu.buttons[0][0].startswith("第9项 （协办）")
    bot.api.press_button(2002, menu.message_id, f"t2:{ten}")
    statuses = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "请选择当前进展" in m.plain_text
    )
    bot.api.press_button(2002, statuses.message_id, f"r2:{ten}:done")
    await bot.api.wait_for(lambda m: m.chat_id == 2002 and "请用一两句话" in m.plain_text)
    bot.api.send_text(2002, "税收优惠已全部兑现。")
    await bot.api.wait_for(lambda m: m.chat_id == 2002 and "佐证材料" in m.plain_text)
    bot.api.send_document(2002, b"%PDF-1.4 report", "落实情况.pdf", mime_type="application/pdf")
    confirm = await bot.api.wait_for(lambda m: m.chat_id == 2002 and "请确认" in m.plain_text)
    assert "落实情况.pdf" in confirm.plain_text
    bot.api.click(2002, confirm, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == 2002 and "已记录" in m.plain_text)
    [stored] = reports(bot)
    assert (stored.status, stored.evidence_kind, stored.evidence_file_name) == (
        Status.DONE,
        "document",
        "落实情况.pdf",
    )
    assert stored.evidence_file_id
    # a done task no longer appears in /report; the supported task 9 still does
    since = len(bot.api.sent)
    bot.api.send_text(2002, "/report")
    left = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "请选择要反馈的任务" in m.plain_text, since=since
    )
    assert [data for _, data in left.buttons] == [f"t2:{nine}"]


async def test_photo_evidence_and_wrong_input_at_each_step(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.tick()
    reminder = await reminder_for(bot, 2001, 5)
    bot.api.press_button(2001, reminder.message_id, "r:5:blocked")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "请用一两句话" in m.plain_text)
    bot.api.send_message(
        2001,
        sticker={
            "file_id": "stk",
            "file_unique_id": "u",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
    )
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "请用文字" in m.plain_text)
    bot.api.send_text(2001, "   ")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "不能为空" in m.plain_text)
    bot.api.send_text(2001, "资金缺口" * 600)
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "太长" in m.plain_text)
    bot.api.send_text(2001, "补贴资金尚未到位。")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "佐证材料" in m.plain_text)
    bot.api.send_text(2001, "没有照片")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "请发送照片、文件或语音" in m.plain_text)
    bot.api.send_photo(2001, b"\x89PNG fake image bytes")
    confirm = await bot.api.wait_for(lambda m: m.chat_id == 2001 and "请确认" in m.plain_text)
    assert "1个" in confirm.plain_text and "照片《" in confirm.plain_text
    bot.api.click(2001, confirm, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "已记录" in m.plain_text)
    [stored] = reports(bot)
    assert (stored.status, stored.note, stored.evidence_kind) == (
        Status.BLOCKED,
        "补贴资金尚未到位。",
        "photo",
    )


async def test_cancel_leaves_nothing_and_report_works_after(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.tick()
    reminder = await reminder_for(bot, 2001, 8)
    bot.api.press_button(2001, reminder.message_id, "r:8:in_progress")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "请用一两句话" in m.plain_text)
    bot.api.send_text(2001, "/cancel")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "已取消" in m.plain_text)
    bot.api.send_text(2001, "/cancel")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "没有进行中" in m.plain_text)
    # the confirmation's own 取消 button also stores nothing
    bot.api.press_button(2001, reminder.message_id, "r:8:in_progress")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and m.plain_text.startswith("第8项，状态"))
    bot.api.send_text(2001, "说明")
    ask = await bot.api.wait_for(lambda m: m.chat_id == 2001 and "跳过" in str(m.buttons))
    bot.api.click(2001, ask, "跳过")
    confirm = await bot.api.wait_for(lambda m: m.chat_id == 2001 and "请确认" in m.plain_text)
    bot.api.click(2001, confirm, "取消")
    await bot.api.wait_for(
        lambda m: (
            m.chat_id == 2001
            and m.plain_text.startswith("已取消")
            and m.message_id > confirm.message_id
        )
    )
    assert reports(bot) == []
    # a press on the confirmation after it ended is answered as expired
    bot.api.click(2001, confirm, "确认提交")
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "失效" in str(c.params.get("text"))
    )
    assert reports(bot) == []


@pytest.fixture
def bot_settings_overrides() -> dict[str, Any]:
    return {"schedule": {"tick_seconds": 3600}, "conversation": {"timeout_minutes": 0.01}}


async def test_idle_conversation_times_out(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.tick()
    reminder = await reminder_for(bot, 2001, 2)
    bot.api.press_button(2001, reminder.message_id, "r:2:in_progress")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "请用一两句话" in m.plain_text)
    timeout = await bot.api.wait_for(lambda m: m.chat_id == 2001 and "自动取消" in m.plain_text)
    assert "/report" in timeout.plain_text
    bot.api.send_text(2001, "迟到的说明")
    await bot.api.wait_idle()
    assert reports(bot) == []


async def test_reply_to_a_reminder_is_stored_as_a_note(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.tick()
    reminder = await reminder_for(bot, 2001, 25)
    # 区民政局's message of the day lists four tasks: the bot asks which one, offering
    # exactly those, and nothing is stored before the choice
    ask, ack = await reply_to_daily(bot, 2001, reminder, "本周已有5个镇街建成残疾人之家。", 25)
    assert [data for _, data in ask.buttons] == ["ni:2", "ni:5", "ni:8", "ni:25", "n:0"]
    assert "第25项" in ack.plain_text
    [stored] = reports(bot)
    assert stored.status is None and stored.source == "reply"
    assert stored.note == "本周已有5个镇街建成残疾人之家。"
    assert stored.task_id == task_id(bot, 25)
    # a reply to a message that is not a reminder is not guessed at: the task is asked for
    bot.api.send_text(2001, "这条呢", reply_to_message_id=ack.message_id)
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "要把这段话记为" in m.plain_text)
    assert len(reports(bot)) == 1


async def test_a_reply_to_one_tasks_reminder_naming_another_task_asks_which(
    bot: BotHarness,
) -> None:
    await bot.register(2003, "区医保局")  # leads task 4 alone, 协办 on task 12
    await bot.tick()
    reminder = await reminder_for(bot, 2003, 4)
    note = "第12项：本月已完成医保参保资助名单比对。"
    bot.api.send_text(2003, note, reply_to_message_id=reminder.message_id)
    ask = await bot.api.wait_for(lambda m: m.chat_id == 2003 and "记到哪一项" in m.plain_text)
    assert "第4项的提醒" in ask.plain_text and "第12项" in ask.plain_text
    assert [data for _, data in ask.buttons] == ["ni:12", "ni:4", "n:0"]
    assert reports(bot) == []  # not guessed
    bot.api.press_button(2003, ask.message_id, "ni:12")
    await bot.api.wait_for(lambda m: m.chat_id == 2003 and "记录为第12项" in m.plain_text)
    [stored] = reports(bot)
    assert stored.task_id == task_id(bot, 12) and stored.note == note
    # naming the reminder's own task (with another) is stored on it at once
    both = "第4项已推进，第12项同步推进。"
    bot.api.send_text(2003, both, reply_to_message_id=reminder.message_id)
    await bot.api.wait_idle()
    assert [(r.task_id, r.note) for r in reports(bot)][1:] == [(task_id(bot, 4), both)]


async def test_report_with_numbers_it_cannot_read_says_so_and_lists_every_task(
    bot: BotHarness,
) -> None:
    await bot.register(2001, "区民政局")
    for typed in ("一", "0", "-1"):
        since = len(bot.api.sent)
        bot.api.send_text(2001, f"/report {typed}")
        picker = await bot.api.wait_for(
            lambda m: m.chat_id == 2001 and "请选择" in m.plain_text, since=since
        )
        assert f"“{typed}”不是任务序号" in picker.plain_text
        assert len(picker.buttons) >= 4  # every open task of 区民政局
    since = len(bot.api.sent)
    bot.api.send_text(2001, "/report 2")
    picker = await bot.api.wait_for(
        lambda m: m.chat_id == 2001 and "请选择" in m.plain_text, since=since
    )
    assert "不是任务序号" not in picker.plain_text and len(picker.buttons) == 1


async def test_forged_buttons_are_refused(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    theirs = await reminder_for(bot, 2001, 2)
    # a contact of another unit forges a press for task 2 (led by 区民政局) in their own chat
    mine = await reminder_for(bot, 2002, 10)
    bot.api.press_button(2002, mine.message_id, "r:2:done")
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "不由贵单位牵头" in str(c.params.get("text"))
    )
    # a stranger presses a button on someone else's message
    bot.api.press_button(STRANGER, theirs.message_id, "r:2:done", chat_id=2001)
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: c.params.get("show_alert") in (True, "true")
    )
    # an unknown task number and a status that is not offered
    bot.api.press_button(2002, mine.message_id, "r:99:done")
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "第99项" in str(c.params.get("text"))
    )
    bot.api.press_button(2002, mine.message_id, "r:10:not_started")
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "失效" in str(c.params.get("text"))
    )
    # the same forgeries naming the task by id
    since = len(bot.api.calls)
    bot.api.press_button(2002, mine.message_id, f"r2:{task_id(bot, 2)}:done")
    await bot.api.wait_for_call(
        "answerCallbackQuery",
        lambda c: (
            "第2项" in str(c.params.get("text")) and "不由贵单位牵头" in str(c.params.get("text"))
        ),
        since=since,
    )
    # a stranger cannot /report
    bot.api.send_text(STRANGER, "/report")
    await bot.api.wait_for(
        lambda m: m.chat_id == STRANGER and "还不是任何单位的联络员" in m.plain_text
    )
    await bot.api.wait_idle()
    assert reports(bot) == []


async def test_digest_on_demand_in_the_group(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.tick()
    reminder = await reminder_for(bot, 2001, 2)
    await reply_to_daily(bot, 2001, reminder, "排查完成 <script>", 2)
    # the tick above also posted this week's digest (it was due since Monday 09:00)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
    await bot.api.wait_for(
        lambda m: m.chat_id == GROUP and "尚无联络员的牵头单位" in m.plain_text, since=since
    )
    [digest] = [m for m in bot.api.sent[since:] if m.chat_id == GROUP]  # one message
    text, source = digest.plain_text, digest.text or ""
    assert "督办汇总" in text and len(text.split("\n")) <= 25
    assert "共30项任务" in text
    # 2025-12-17: every task is due within 10 working days (2025-12-31), so yellow unless
    # its unit reported in the cycle: 区民政局's note turns task 2 green
    assert "状态灯：🔴0　🟡29　🟢1　⚪0" in text
    assert "本期新反馈（1条）" in text
    assert "· 第2项 区民政局：留言，排查完成 <script>" in text
    assert "&lt;script&gt;" in source  # escaped in the HTML source
    assert "🟡 黄灯（29项）" in text
    # 区民政局 by name, the 16 without a contact counted there and named below
    assert "本周期未反馈的单位（17个）" in text
    assert "区民政局（3项）、另16个尚无联络员的单位（见下）" in text  # tasks 5, 8, 25
    assert "尚无联络员的牵头单位（16个）" in text
    assert text.endswith("更多见 /unit、/export")
    # members who are not coordinators are refused, in the group and privately
    bot.api.send_text(GROUP_MEMBER, "/digest@canggongwei_bot", chat_id=GROUP)
    refusal = await bot.api.wait_for(lambda m: m.chat_id == GROUP and "仅限协调员" in m.plain_text)
    assert refusal
    bot.api.send_text(COORDINATOR, "/digest")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR and "督办汇总" in m.plain_text)


async def test_weekly_digest_is_posted_once(bot: BotHarness) -> None:
    # Monday 2025-12-22 08:59 local: not yet; 09:00 and later: once
    bot.clock.set(bot.clock.now.replace(day=22, hour=0, minute=59))
    await bot.tick()
    await bot.api.wait_idle()
    assert not [m for m in bot.api.messages_to(GROUP) if "督办汇总" in m.plain_text]
    bot.clock.advance(timedelta(minutes=1))
    await bot.tick()
    bot.clock.advance(timedelta(hours=3))
    await bot.tick()
    await bot.api.wait_idle()
    posts = [m for m in bot.api.messages_to(GROUP) if "督办汇总" in m.plain_text]
    assert len(posts) == 1
    with bot.svc.db.session() as s:
        [row] = s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.DIGEST)).all()
        assert row.key == f"digest:2025-W52:telegram:{GROUP}" and row.destination == str(GROUP)
    # next Monday: the next week's digest
    bot.clock.advance(timedelta(days=7))
    await bot.tick()
    await bot.api.wait_idle()
    assert len([m for m in bot.api.messages_to(GROUP) if "督办汇总" in m.plain_text]) == 2


async def test_skip_after_a_restart_cut_the_report_off_is_not_offered_as_a_note(
    bot: BotHarness,
) -> None:
    """A restart between the note and the evidence step loses the draft; the contact then
    types 跳过 (or /skip) as the last question asked. It was offered to be stored as the
    progress note "跳过" of a task (and /skip was an unknown command): both now say that no
    report is in progress and how to start again, and nothing is stored."""
    await bot.register(2001, "区民政局")
    bot.api.send_text(2001, "/report")
    menu = await bot.api.wait_for(
        lambda m: m.chat_id == 2001 and "请选择要反馈的任务" in m.plain_text
    )
    bot.api.click(2001, menu, menu.buttons[1][0])
    statuses = await bot.api.wait_for(
        lambda m: m.chat_id == 2001 and "请选择当前进展" in m.plain_text
    )
    bot.api.click(2001, statuses, "推进中")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "请用一两句话" in m.plain_text)
    bot.api.send_text(2001, "已完成入户核查。")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "佐证材料" in m.plain_text)
    await bot.restart()
    for typed in ("跳过", "/skip"):
        since = len(bot.api.sent)
        bot.api.send_text(2001, typed)
        answer = await bot.api.wait_for(lambda m: m.chat_id == 2001, since=since)
        await bot.api.wait_idle(quiet=0.1)
        assert "没有进行中的反馈" in answer.plain_text and "/report" in answer.plain_text
        assert not answer.buttons
    assert reports(bot) == []


async def test_a_status_typed_instead_of_pressed_is_pointed_to_the_buttons(
    bot: BotHarness,
) -> None:
    """At the status choice a contact types 推进中 instead of pressing it: the answer was
    "我没有理解您的消息……本次填写可能已因超时或系统重启而中断，请重新发送 /report",
    although nothing was cut off. It now points to the buttons, which still work."""
    await bot.register(2001, "区民政局")
    bot.api.send_text(2001, "/report")
    menu = await bot.api.wait_for(
        lambda m: m.chat_id == 2001 and "请选择要反馈的任务" in m.plain_text
    )
    bot.api.click(2001, menu, menu.buttons[1][0])
    statuses = await bot.api.wait_for(
        lambda m: m.chat_id == 2001 and "请选择当前进展" in m.plain_text
    )
    since = len(bot.api.sent)
    bot.api.send_text(2001, "推进中")
    answer = await bot.api.wait_for(lambda m: m.chat_id == 2001, since=since)
    assert "请点击上方" in answer.plain_text and "中断" not in answer.plain_text
    await report_in_progress(bot, 2001, statuses, "入户核查已完成一半。")
    [stored] = reports(bot)
    assert stored.note == "入户核查已完成一半。"

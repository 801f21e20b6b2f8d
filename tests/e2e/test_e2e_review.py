"""End to end through the stand-in: completion review (办结审核). A lead unit's 已完成 goes to
the coordinators with 销号 / 退回; a return resumes the unit's reminders, an acceptance stops
them; with review off a 已完成 is accepted at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from db.models import AuditEvent, CompletionReview, StatusReport
from jobs.types import ReviewDecision, Status
from standin.harness import COORDINATOR
from tests.conftest import BotHarness, reminded_tasks


def reminders_of_task(bot: BotHarness, chat: int, number: int) -> list[Any]:
    return [m for m in bot.api.messages_to(chat) if number in reminded_tasks(m)]


async def claim_done(bot: BotHarness, chat: int, number: int, note: str) -> Any:
    """Report 已完成 on 第`number`项 from its reminder; return the receipt."""
    reminder = await bot.api.wait_for(
        lambda m: m.chat_id == chat and number in reminded_tasks(m) and bool(m.buttons)
    )
    since = len(bot.api.sent)
    if all(label != "已完成" for label, _ in reminder.buttons):  # a message of several tasks
        bot.api.click(chat, reminder, next(b for b, _ in reminder.buttons if f"第{number}项 " in b))
        reminder = await bot.api.wait_for(
            lambda m: m.chat_id == chat and any(b == "已完成" for b, _ in m.buttons), since=since
        )
        since = len(bot.api.sent)
    bot.api.click(chat, reminder, "已完成")
    await bot.api.wait_for(
        lambda m: m.chat_id == chat and "请用一两句话" in m.plain_text, since=since
    )
    bot.api.send_text(chat, note)
    evidence = await bot.api.wait_for(
        lambda m: m.chat_id == chat and "佐证材料" in m.plain_text, since=since
    )
    bot.api.click(chat, evidence, "跳过")
    confirm = await bot.api.wait_for(
        lambda m: m.chat_id == chat and "请确认" in m.plain_text, since=since
    )
    bot.api.click(chat, confirm, "确认提交")
    return await bot.api.wait_for(
        lambda m: m.chat_id == chat and "已记录" in m.plain_text, since=since
    )


async def claim_card(bot: BotHarness, since: int, number: int) -> Any:
    return await bot.api.wait_for(
        lambda m: (
            m.chat_id == COORDINATOR
            and "请审核" in m.plain_text
            and f"第{number}项" in m.plain_text
        ),
        since=since,
    )


async def test_a_return_resumes_the_units_reminders(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    await bot.api.wait_idle()
    assert len(reminders_of_task(bot, 2002, 10)) == 1
    since = len(bot.api.sent)
    receipt = await claim_done(bot, 2002, 10, "优惠政策已全部落实")
    assert "已提交办结审核" in receipt.plain_text
    card = await claim_card(bot, since, 10)
    assert "潼南税务局" in card.plain_text and "优惠政策已全部落实" in card.plain_text
    assert [label for label, _ in card.buttons] == ["销号", "退回"]
    # a contact cannot decide
    bot.api.click(2002, card, "销号")
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "仅限协调员" in str(c.params))
    # while the claim waits, no reminder goes to the unit (7 days before the deadline)
    bot.clock.advance(timedelta(days=7))
    await bot.tick()
    await bot.api.wait_idle()
    assert len(reminders_of_task(bot, 2002, 10)) == 1
    bot.api.send_text(COORDINATOR, "/task 10")
    view = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "待审核" in m.plain_text, since=since
    )
    assert "潼南税务局" in view.plain_text
    # 退回 asks for the reason on the card; the coordinator replies with it
    bot.api.click(COORDINATOR, card, "退回")
    question = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "退回第10项" in m.plain_text
    )
    assert question.message_id == card.message_id
    reason = "缺少减免税款的统计表 <附件>"
    bot.api.send_text(COORDINATOR, reason, reply_to_message_id=question.message_id)
    told = await bot.api.wait_for(lambda m: m.chat_id == 2002 and "被退回" in m.plain_text)
    assert f"退回理由：{reason}" in told.plain_text
    await bot.api.wait_idle()
    edited = bot.api.message(COORDINATOR, card.message_id)
    assert edited is not None and f"已退回：{reason}" in edited["text"]
    # a late 销号 on the decided card: refused, nothing stored twice
    bot.api.click(COORDINATOR, card, "销号")
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "已处理" in str(c.params))
    with bot.svc.db.session() as s:
        [review] = s.exec(select(CompletionReview)).all()
        assert (review.decision, review.decided_by, review.reason) == (
            ReviewDecision.RETURNED,
            COORDINATOR,
            reason,
        )
        back = s.exec(select(StatusReport).order_by(StatusReport.id.desc())).first()  # type: ignore[union-attr]
        assert back is not None
        assert (back.status, back.source, back.note) == (Status.IN_PROGRESS, "return", reason)
        actions = [e.action for e in s.exec(select(AuditEvent))]
        assert actions.count("review.returned") == 1 and "review.accepted" not in actions
    # the reminders resume: the deadline-day reminder reaches the unit
    bot.clock.advance(timedelta(days=7))
    await bot.tick()
    await bot.api.wait_idle()
    resumed = reminders_of_task(bot, 2002, 10)
    assert len(resumed) == 2 and "今天到期" in resumed[-1].plain_text


async def test_an_acceptance_is_done_and_stops_the_reminders(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    since = len(bot.api.sent)
    await claim_done(bot, 2002, 10, "已办结")
    card = await claim_card(bot, since, 10)
    bot.api.click(COORDINATOR, card, "销号")
    told = await bot.api.wait_for(lambda m: m.chat_id == 2002 and "已审核通过" in m.plain_text)
    assert "第10项已审核通过" in told.plain_text
    bot.api.click(COORDINATOR, card, "退回")  # a double decision: refused
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "已处理" in str(c.params))
    # 已完成 pressed again on the old reminder: answered, no new report, claim or card
    [reminder] = reminders_of_task(bot, 2002, 10)
    calls = len(bot.api.calls)
    bot.api.click(2002, reminder, "已完成")
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "无需再次提交" in str(c.params), since=calls
    )
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/task 10")
    view = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已销号" in m.plain_text, since=since
    )
    assert "🟢" in view.plain_text
    for _ in range(3):  # 7 days before, the deadline, 7 days overdue: nothing
        bot.clock.advance(timedelta(days=7))
        await bot.tick()
    await bot.api.wait_idle()
    assert len(reminders_of_task(bot, 2002, 10)) == 1
    with bot.svc.db.session() as s:
        [review] = s.exec(select(CompletionReview)).all()
        assert review.decision is ReviewDecision.ACCEPTED and review.decided_by == COORDINATOR
        assert [r.status for r in s.exec(select(StatusReport))] == [Status.DONE]


async def test_a_claim_superseded_by_a_newer_report_cannot_be_decided(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    since = len(bot.api.sent)
    await claim_done(bot, 2002, 10, "已办结")
    card = await claim_card(bot, since, 10)
    bot.api.send_text(COORDINATOR, "/record 10 潼南税务局 推进中 电话告知尚有收尾工作")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR and "已代" in m.plain_text)
    bot.api.click(COORDINATOR, card, "销号")
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "已失效" in str(c.params))
    with bot.svc.db.session() as s:
        assert s.exec(select(CompletionReview)).one().decision is None


async def test_review_off_accepts_a_claim_at_once(bot: BotHarness) -> None:
    await bot.restart(follow_up={"completion_review": False}, schedule={"tick_seconds": 3600})
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    since = len(bot.api.sent)
    receipt = await claim_done(bot, 2002, 10, "已办结")
    assert "办结审核" not in receipt.plain_text
    await bot.api.wait_idle()
    assert not [m for m in bot.api.sent[since:] if "请审核" in m.plain_text]
    with bot.svc.db.session() as s:
        review = s.exec(select(CompletionReview)).one()
        assert review.decision is ReviewDecision.ACCEPTED and review.decided_by is None
    bot.api.send_text(COORDINATOR, "/task 10")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已销号" in m.plain_text, since=since
    )


async def test_the_coordinators_own_unit_is_reviewed_by_the_claimant_alone_when_no_other(
    bot: BotHarness,
) -> None:
    await bot.restart(follow_up={"coordinator_unit": "区残联"}, schedule={"tick_seconds": 3600})
    await bot.register(COORDINATOR, "区残联")  # the only coordinator is also 区残联's contact
    await bot.tick()
    reminder = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and bool(reminded_tasks(m))
    )
    number = reminded_tasks(reminder)[0]
    since = len(bot.api.sent)
    await claim_done(bot, COORDINATOR, number, "已办结")
    card = await claim_card(bot, since, number)
    assert "由您本人审核" in card.plain_text
    bot.api.click(COORDINATOR, card, "销号")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR and "已审核通过" in m.plain_text)
    with bot.svc.db.session() as s:
        review = s.exec(select(CompletionReview)).one()
        assert review.self_accepted and review.decided_by == COORDINATOR
        reasons = [e.reason for e in s.exec(select(AuditEvent)) if e.action == "review.accepted"]
        assert reasons == ["self-accepted, no other reviewer"]


async def test_claims_after_the_coordinators_message_of_the_day_wait_and_go_together(
    bot: BotHarness,
) -> None:
    await bot.register(2001, "区民政局")  # leads tasks 2, 5, 8 and 25
    await bot.tick()
    since = len(bot.api.sent)
    await claim_done(bot, 2001, 2, "第2项已办结")
    await claim_card(bot, since, 2)  # the first claim of the day goes at once
    later = len(bot.api.sent)
    await claim_done(bot, 2001, 5, "第5项已办结")
    await claim_done(bot, 2001, 8, "第8项已办结")
    await bot.tick()
    await bot.api.wait_idle()
    # the coordinators had their one unsolicited message today: the others wait
    assert not [m for m in bot.api.sent[later:] if "请审核" in m.plain_text]
    assert not [m for m in bot.api.sent[later:] if "办结审核（" in m.plain_text]
    bot.clock.advance(timedelta(days=1))  # Thursday: the next working day
    await bot.tick()
    batch = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "办结审核（2项" in m.plain_text, since=later
    )
    assert "1. 第5项" in batch.plain_text and "2. 第8项" in batch.plain_text
    assert [label for label, _ in batch.buttons] == [
        "1. 销号 第5项",
        "1. 退回",
        "2. 销号 第8项",
        "2. 退回",
    ]
    await bot.tick()  # nothing is sent twice
    await bot.api.wait_idle()
    assert len([m for m in bot.api.sent[later:] if "办结审核（" in m.plain_text]) == 1
    # 退回 of the second claim asks apart; the first claim's buttons stay on the message
    bot.api.click(COORDINATOR, batch, "2. 退回")
    question = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "退回第8项" in m.plain_text, since=later
    )
    assert question.message_id != batch.message_id
    bot.api.send_text(COORDINATOR, "请补充验收材料", reply_to_message_id=question.message_id)
    told = await bot.api.wait_for(lambda m: m.chat_id == 2001 and "被退回" in m.plain_text)
    assert "第8项" in told.plain_text and "请补充验收材料" in told.plain_text
    await bot.api.wait_idle()
    card = bot.api.message(COORDINATOR, batch.message_id)
    assert card is not None
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["1. 销号 第5项", "1. 退回"]
    bot.api.press_button(COORDINATOR, batch.message_id, labels_data(card, "1. 销号 第5项"))
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "第5项已审核通过" in m.plain_text)
    await bot.api.wait_idle()
    card = bot.api.message(COORDINATOR, batch.message_id)
    assert card is not None and "第5项（区民政局）：已销号" in card["text"]
    assert not card.get("reply_markup", {}).get("inline_keyboard")
    with bot.svc.db.session() as s:
        decisions = sorted(
            (r.decision, r.task_id) for r in s.exec(select(CompletionReview)) if r.decision
        )
        assert [d for d, _ in decisions] == [ReviewDecision.ACCEPTED, ReviewDecision.RETURNED]


def labels_data(card: dict[str, Any], label: str) -> str:
    """The callback data of the button `label` of a stored message."""
    for row in card["reply_markup"]["inline_keyboard"]:
        for button in row:
            if button["text"] == label:
                return str(button["callback_data"])
    raise KeyError(label)


async def test_the_coordinators_own_unit_is_reviewed_by_a_leader_when_one_is_configured(
    bot: BotHarness,
) -> None:
    leader = 4004
    await bot.restart(
        follow_up={"coordinator_unit": "区残联"},
        schedule={"tick_seconds": 3600},
        telegram={"leaders": [leader]},
    )
    bot.api.user(leader, "刘领导")
    bot.api.user(2005, "陈残联")
    await bot.register(2005, "区残联")
    await bot.tick()
    reminder = await bot.api.wait_for(lambda m: m.chat_id == 2005 and bool(reminded_tasks(m)))
    number = reminded_tasks(reminder)[0]
    since = len(bot.api.sent)
    await claim_done(bot, 2005, number, "已办结")
    card = await bot.api.wait_for(
        lambda m: (
            m.chat_id == leader and "请审核" in m.plain_text and f"第{number}项" in m.plain_text
        ),
        since=since,
    )
    await bot.api.wait_idle()
    # the coordinator does not get the card, and a press on it is refused
    assert not [
        m for m in bot.api.sent[since:] if m.chat_id == COORDINATOR and "请审核" in m.plain_text
    ]
    calls = len(bot.api.calls)
    bot.api.click(COORDINATOR, card, "销号")
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "不由您审核" in str(c.params), since=calls
    )
    with bot.svc.db.session() as s:
        assert s.exec(select(CompletionReview)).one().decision is None
    bot.api.click(leader, card, "销号")
    await bot.api.wait_for(lambda m: m.chat_id == leader and "已销号（刘领导" in m.plain_text)
    await bot.api.wait_for(lambda m: m.chat_id == 2005 and "已审核通过" in m.plain_text)
    with bot.svc.db.session() as s:
        review = s.exec(select(CompletionReview)).one()
        assert review.decision is ReviewDecision.ACCEPTED and review.decided_by == leader
        assert not review.self_accepted


async def test_review_lists_the_claims_waiting_for_the_asker_with_their_buttons(
    bot: BotHarness,
) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    since = len(bot.api.sent)
    await claim_done(bot, 2002, 10, "已落实")
    await claim_card(bot, since, 10)
    # asked again later (e.g. the unsolicited card was missed): the same claim, with buttons
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/review")
    listed = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "第10项" in m.plain_text, since=since
    )
    assert [label for label, _ in listed.buttons] == ["销号", "退回"]
    bot.api.click(COORDINATOR, listed, "销号")
    await bot.api.wait_for(lambda m: m.chat_id == 2002 and "已审核通过" in m.plain_text)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/review")
    none = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert "目前没有等待您审核的办结申请" in none.plain_text
    # a contact is refused; nothing is listed to them
    since = len(bot.api.sent)
    bot.api.send_text(2002, "/review")
    refused = await bot.api.wait_for(lambda m: m.chat_id == 2002, since=since)
    assert "仅限协调员" in refused.plain_text


async def test_a_claim_of_a_closed_plan_is_not_decided(bot: BotHarness) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    since = len(bot.api.sent)
    await claim_done(bot, 2002, 10, "已办结")
    card = await claim_card(bot, since, 10)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/close_plan 十四五")
    preview = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and bool(m.buttons), since=since
    )
    bot.api.click(COORDINATOR, preview, "关闭")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR and "已关闭" in m.plain_text)
    for button in ("退回", "销号"):
        calls = len(bot.api.calls)
        bot.api.click(COORDINATOR, card, button)
        await bot.api.wait_for_call(
            "answerCallbackQuery", lambda c: "不再审核" in str(c.params), since=calls
        )
    with bot.svc.db.session() as s:
        assert s.exec(select(CompletionReview)).one().decision is None
        assert [r.status for r in s.exec(select(StatusReport))] == [Status.DONE]

"""End to end through the stand-in: the digest a committee member reads on a phone, and
answers a contact or coordinator understands (issue 14)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

import openpyxl
from sqlmodel import select

from bot.render import DIGEST_LINE_BUDGET
from db.models import StatusReport, Task, Unit
from jobs.types import Status
from standin.harness import COORDINATOR, GROUP
from tests.conftest import STRANGER, BotHarness, reminded_tasks

LIGHTS = re.compile(r"状态灯：🔴(\d+)　🟡(\d+)　🟢(\d+)　⚪(\d+)")


async def ask(bot: BotHarness, user: int, text: str) -> str:
    since = len(bot.api.sent)
    bot.api.send_text(user, text)
    await bot.api.wait_for(lambda m: m.chat_id == user, since=since)
    await bot.api.wait_idle(quiet=0.1)
    return "\n".join(m.plain_text for m in bot.api.sent[since:] if m.chat_id == user)


async def report(bot: BotHarness, user: int, number: int, status: str, note: str) -> Any:
    """Report through a status button on the reminder (or the message of the day) that
    names the task; return the receipt."""
    reminder = await bot.api.wait_for(
        lambda m: m.chat_id == user and number in reminded_tasks(m) and bool(m.buttons)
    )
    since = len(bot.api.sent)
    bot.api.press_button(user, reminder.message_id, f"r:{number}:{status}")
    await bot.api.wait_for(
        lambda m: m.chat_id == user and "请用一两句话" in m.plain_text, since=since
    )
    bot.api.send_text(user, note)
    ask_file = await bot.api.wait_for(
        lambda m: m.chat_id == user and "跳过" in str(m.buttons), since=since
    )
    bot.api.click(user, ask_file, "跳过")
    card = await bot.api.wait_for(
        lambda m: m.chat_id == user and "请确认" in m.plain_text, since=since
    )
    bot.api.click(user, card, "确认提交")
    return await bot.api.wait_for(
        lambda m: m.chat_id == user and "已记录" in m.plain_text, since=since
    )


async def group_digest(bot: BotHarness) -> list[Any]:
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/digest@canggongwei_bot", chat_id=GROUP)
    await bot.api.wait_for(lambda m: m.chat_id == GROUP and "督办汇总" in m.plain_text, since=since)
    await bot.api.wait_idle(quiet=0.1)
    return [m for m in bot.api.sent[since:] if m.chat_id == GROUP]


def lights_of(text: str) -> tuple[int, int, int, int]:
    match = LIGHTS.search(text)
    assert match is not None, text
    red, yellow, green, none = (int(g) for g in match.groups())
    return red, yellow, green, none


def listed_numbers(text: str, header: str) -> set[int]:
    """Task numbers of a red or yellow section: its lines and its "另有" line."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    numbers: set[int] = set()
    for line in lines[start + 1 :]:
        if line.startswith("· 第"):
            numbers.add(int(line.split("第", 1)[1].split("项", 1)[0]))
        elif line.startswith("…另有"):  # numbers and ranges: 第2、5-9项
            for part in line.split("第", 1)[1].rstrip("项").split("、"):
                first, _, last = part.partition("-")
                numbers |= set(range(int(first), int(last or first) + 1))
        else:
            break
    return numbers


async def test_the_real_plans_digest_in_an_ordinary_week_is_one_message_that_adds_up(
    bot: BotHarness,
) -> None:
    await bot.register(2001, "区民政局")
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    await report(bot, 2001, 2, "in_progress", "已完成全区低保对象排查，正在逐户审核。")
    since = len(bot.api.sent)
    await report(bot, 2001, 5, "blocked", "市级补贴资金尚未下达，需区财政先行垫付")
    # the coordinators are told at once, in one message: task, unit and note
    notice = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "遇到困难" in m.plain_text, since=since
    )
    await bot.api.wait_idle(quiet=0.1)
    assert [m for m in bot.api.sent[since:] if m.chat_id == COORDINATOR] == [notice]
    assert "第5项" in notice.plain_text and "区民政局（李明）" in notice.plain_text
    assert "说明：市级补贴资金尚未下达，需区财政先行垫付" in notice.plain_text
    await report(bot, 2002, 10, "done", "即征即退已全部兑现")

    [digest] = await group_digest(bot)  # one message
    text = digest.plain_text
    lines = text.split("\n")
    assert len(lines) <= DIGEST_LINE_BUDGET
    red, yellow, green, none = lights_of(text)
    assert red + yellow + green + none == 30  # every task counted once
    # a 推进中 report in the cycle turns its task green, as the one-line legend says
    assert green == 1
    assert "🟢已完成或本周期有反馈" in text
    assert sum("🔴" in line and "🟡" in line and "⚪" in line for line in lines) == 2
    assert f"🟡 黄灯（{yellow}项）" in text and red == 0 and "🔴 红灯" not in text
    in_yellow = listed_numbers(text, "🟡 黄灯")
    assert len(in_yellow) == yellow and 2 not in in_yellow and {5, 10} <= in_yellow
    # the red and yellow lines show the latest status and the head of the note
    [fifth] = [line for line in lines if line.startswith("· 第5项 ") and "｜" in line]
    assert "区民政局（遇到困难：市级补贴资金尚未下达，需区财政…）｜还有14天" in fifth
    # task 10: 潼南税务局 done, 区财政局 (no contact) not yet: yellow, for 区财政局 only
    assert not [
        line
        for line in lines
        if line.startswith("· 第10项") and "｜" in line and ("潼南税务局" in line)
    ]
    # the changes of the week, each once
    assert "本期新反馈（3条）" in text
    assert "· 第2项 区民政局：未开始→推进中，已完成全区低保对象排查" in text
    # the units that did not report in the cycle: 区民政局 (tasks 8 and 25) by name; the 15
    # without a contact counted and pointed to 尚无联络员, where they are named once
    assert "本周期未反馈的单位（16个）" in text and "区民政局（2项）" in text
    assert "另15个尚无联络员的单位（见下）" in text
    assert "尚无联络员的牵头单位（15个）" in text
    # 遇到困难 comes first among the yellow tasks
    assert lines[
        lines.index(f"<b>🟡 黄灯（{yellow}项）</b>".replace("<b>", "").replace("</b>", "")) + 1
    ].startswith("· 第5项 ")
    assert text.endswith("更多见 /unit、/export")


async def test_a_digest_in_december_2026_with_every_task_overdue_still_fits(
    bot: BotHarness,
) -> None:
    bot.clock.set(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))  # Monday 10:00 in Shanghai
    [digest] = await group_digest(bot)
    text = digest.plain_text
    assert len(text.split("\n")) <= DIGEST_LINE_BUDGET
    assert lights_of(text) == (30, 0, 0, 0)
    # the plan's period ended: its open tasks by their original dates, not 已逾期341天
    assert "规划期已于2025年12月31日结束，尚有30项未完成" in text
    assert "🔴 规划期内未完成（30项）" in text
    assert len(listed_numbers(text, "🔴 规划期内未完成")) == 30
    assert "· 第1项 区乡村振兴局（未反馈）｜原定2025年12月31日" in text
    assert "已逾期" not in text and "未反馈的单位" not in text
    assert text.endswith("更多见 /unit、/export")


async def test_a_correction_appears_once_marked_in_the_digest_the_task_and_the_ledger(
    bot: BotHarness,
) -> None:
    await bot.register(2002, "潼南税务局")
    await bot.tick()
    receipt = await report(bot, 2002, 10, "done", "已全部兑现")
    since = len(bot.api.sent)
    bot.api.click(2002, receipt, "修改这条反馈")
    choose = await bot.api.wait_for(lambda m: m.chat_id == 2002 and "更正" in m.plain_text)
    bot.api.click(2002, choose, "推进中")
    await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "请用一两句话" in m.plain_text, since=since
    )
    bot.api.send_text(2002, "更正：尚有两家单位未兑现")
    ask_file = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "跳过" in str(m.buttons), since=since
    )
    bot.api.click(2002, ask_file, "跳过")
    card = await bot.api.wait_for(
        lambda m: m.chat_id == 2002 and "请确认" in m.plain_text, since=since
    )
    bot.api.click(2002, card, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == 2002 and "已记录" in m.plain_text, since=since)
    await bot.api.wait_idle()
    old = bot.api.message(2002, receipt.message_id)
    assert old is not None and not old.get("reply_markup")  # the corrected receipt: no 修改

    [digest] = await group_digest(bot)
    changes = [line for line in digest.plain_text.split("\n") if line.startswith("· 第10项 潼南")]
    assert changes == ["· 第10项 潼南税务局：（更正）未开始→推进中，更正：尚有两家单位未兑现"]

    view = await ask(bot, COORDINATOR, "/task 10")
    assert "共1条" in view and "已全部兑现" not in view
    assert "推进中（更正）｜张华：更正：尚有两家单位未兑现" in view

    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/export")
    doc = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and m.method == "sendDocument", since=since
    )
    book = openpyxl.load_workbook(io.BytesIO(doc.file_content or b""))
    rows = list(book["反馈记录"].iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[3], r[4]) for r in rows] == [
        (10, "推进中（更正）", "更正：尚有两家单位未兑现")
    ]


async def test_free_text_is_offered_to_be_stored_on_one_of_the_contacts_tasks(
    bot: BotHarness,
) -> None:
    await bot.register(2001, "区民政局")
    note = "  本月走访 23 户<困难>家庭，\n已建档。 "
    since = len(bot.api.sent)
    bot.api.send_text(2001, note)
    offer = await bot.api.wait_for(lambda m: m.chat_id == 2001, since=since)
    assert offer.plain_text.startswith("要把这段话记为区民政局哪一项任务的进展说明？")
    assert "中断" not in offer.plain_text
    labels = [label for label, _ in offer.buttons]
    assert labels[0].startswith("第1项 ") and labels[-1] == "不用保存"
    assert [data for _, data in offer.buttons][:3] == ["ni:1", "ni:2", "ni:5"]  # lead and 协办
    # as in /report, a task 区民政局 only supports is marked 协办 (1), one it leads is not (2)
    assert labels[0].startswith("第1项 （协办）") and not labels[1].startswith("第2项 （协办）")
    with bot.svc.db.session() as s:
        assert s.exec(select(StatusReport)).all() == []  # nothing stored before a choice
    bot.api.press_button(2001, offer.message_id, "ni:2")
    await bot.api.wait_for(
        lambda m: m.chat_id == 2001 and "已将您的留言记录为第2项" in m.plain_text
    )
    await bot.api.wait_idle()
    closed = bot.api.message(2001, offer.message_id)
    assert closed is not None and not closed.get("reply_markup")
    with bot.svc.db.session() as s:
        [stored] = s.exec(select(StatusReport)).all()
        task = s.get(Task, stored.task_id)
        assert task is not None and task.number == 2
        assert (stored.note, stored.status, stored.source) == (note, None, "chat")
    # /task shows the unit as having left a note, not as 未开始 under a green light
    since = len(bot.api.sent)
    bot.api.send_text(2001, "/task 2")
    view = await bot.api.wait_for(lambda m: m.chat_id == 2001, since=since)
    assert re.search(r"区民政局（\S?已留言）", view.plain_text), view.plain_text
    # the same offer cannot store twice; 不用保存 stores nothing
    calls = len(bot.api.calls)
    bot.api.press_button(2001, offer.message_id, "ni:2")
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "失效" in str(c.params), since=calls
    )
    since = len(bot.api.sent)
    bot.api.send_text(2001, "随便说一句")
    second = await bot.api.wait_for(lambda m: m.chat_id == 2001, since=since)
    bot.api.click(2001, second, "不用保存")
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "没有保存" in m.plain_text)
    await bot.api.wait_idle()
    with bot.svc.db.session() as s:
        assert len(s.exec(select(StatusReport)).all()) == 1
    # someone who is not a contact is told what to do; no talk of interruptions
    assert "邀请链接" in await ask(bot, STRANGER, "你好")
    coordinator = await ask(bot, COORDINATOR, "你好")
    assert "/help" in coordinator and "中断" not in coordinator


async def test_unit_names_are_read_with_suggestions_and_statuses_by_synonym(
    bot: BotHarness,
) -> None:
    saved = await ask(bot, COORDINATOR, "/record 10 税务局 完成 电话确认已兑现")
    assert "已代潼南税务局记录第10项：已完成" in saved
    saved = await ask(bot, COORDINATOR, "/record 2 潼南区民政局 进行中 电话反馈")
    assert "已代区民政局记录第2项：推进中" in saved
    with bot.svc.db.session() as s:
        statuses = [r.status for r in s.exec(select(StatusReport).order_by(StatusReport.id))]
    assert statuses == [Status.DONE, Status.IN_PROGRESS]
    wrong = await ask(bot, COORDINATOR, "/record 2 区民证局 推进中 说明")
    assert "没有找到名为“区民证局”的单位" in wrong and "您是不是要找：区民政局" in wrong
    assert "您是不是要找：区人力社保局" in await ask(bot, COORDINATOR, "/unit 人社局")
    assert "您是不是要找：区卫生健康委" in await ask(bot, COORDINATOR, "/invite 卫健委")
    created = await ask(bot, COORDINATOR, "/invite ＂区民政局＂")
    assert "已为区民政局生成一次性邀请" in created


async def test_refusals_and_help_say_what_each_person_can_do(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    # a contact asking another unit's task is told what they can view
    refusal = await ask(bot, 2001, "/task 3")
    assert "第3项不由区民政局牵头" in refusal and "发送 /unit 查看本单位的任务" in refusal
    # /unit without a name shows a contact their own unit
    own = await ask(bot, 2001, "/unit")
    assert own.startswith("区民政局\n联络员：李明") and "牵头任务（4项）" in own
    # /help shows each role its own commands
    contact_help = await ask(bot, 2001, "/help")
    assert "联络员（区民政局）" in contact_help and "/invite" not in contact_help
    coordinator_help = await ask(bot, COORDINATOR, "/help")
    assert "/invite 单位名称" in coordinator_help and "/report" not in coordinator_help
    stranger_help = await ask(bot, STRANGER, "/help")
    assert "如何登记" in stranger_help and "/deadline" not in stranger_help
    # a contact without a link asks the coordinator for one (their user id is of no use to
    # the coordinator); only a coordinator's id goes into the configuration
    assert "还没有邀请链接的，请联系区残联的协调员。" in stranger_help
    assert "协调员请发送 /whoami" in stranger_help and "填入配置" in stranger_help
    # /whoami of someone not registered: send the number to the coordinator
    whoami = await ask(bot, STRANGER, "/whoami")
    assert f"用户编号：{STRANGER}" in whoami and "邀请链接登记" in whoami
    # a coordinator-only command refused says where to look
    assert "发送 /help 查看您可以使用的命令" in await ask(bot, 2001, "/units")


async def test_the_ledgers_audit_sheet_is_chinese_with_people_by_name(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.tick()
    await report(bot, 2001, 2, "in_progress", "排查中")
    assert "已将第10项的完成时限" in await ask(bot, COORDINATOR, "/deadline 10 2026-06-30")
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/export")
    doc = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and m.method == "sendDocument", since=since
    )
    book = openpyxl.load_workbook(io.BytesIO(doc.file_content or b""))
    sheet = book["操作记录"]
    assert [c.value for c in sheet[1]] == [
        "时间",
        "操作人",
        "操作人ID",
        "操作",
        "对象",
        "修改前",
        "修改后",
        "原因",
    ]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    with bot.svc.db.session() as s:
        unit = s.exec(select(Unit).where(Unit.name == "区民政局")).one()
    by_action = {row[3]: row for row in rows}
    invite = by_action["生成邀请码"]
    assert (invite[1], invite[4], invite[6]) == ("协调员", "区民政局", "2025-12-24 09:30")
    assert by_action["联络员登记"][1:5] == ("李明", 2001, "联络员登记", "区民政局")
    assert by_action["状态变更"][1:] == (
        "李明",
        2001,
        "状态变更",
        "第2项 区民政局",
        "未开始",
        "推进中",
        None,
    )
    assert by_action["修改完成时限"][1:] == (
        "协调员",
        COORDINATOR,
        "修改完成时限",
        "第10项",
        "2025-12-31",
        "2026-06-30",
        None,
    )
    text = "\n".join(str(v) for row in rows for v in row if v is not None)
    assert "用户" not in text and "task:" not in text and "unit:" not in text
    assert "in_progress" not in text and "+00:00" not in text
    assert unit.id is not None


async def test_a_task_named_in_free_text_is_offered_first(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    since = len(bot.api.sent)
    bot.api.send_text(2001, "第 5 项本月已完成入户调查")
    offer = await bot.api.wait_for(lambda m: m.chat_id == 2001, since=since)
    assert "您提到的第5项排在最前" in offer.plain_text
    data = [d for _, d in offer.buttons]
    assert data[0] == "ni:5" and "ni:1" in data and data[-1] == "n:0"
    assert len(data) == len(set(data))


async def test_a_double_tap_on_an_offer_stores_the_text_once(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    since = len(bot.api.sent)
    bot.api.send_text(2001, "本月走访困难家庭23户")
    offer = await bot.api.wait_for(lambda m: m.chat_id == 2001, since=since)
    # three presses reach the bot before the offer loses its buttons, one on another task
    bot.api.press_button(2001, offer.message_id, "ni:2")
    bot.api.press_button(2001, offer.message_id, "ni:2")
    bot.api.press_button(2001, offer.message_id, "ni:5")
    await bot.api.wait_idle()
    with bot.svc.db.session() as s:
        [stored] = s.exec(select(StatusReport)).all()
        task = s.get(Task, stored.task_id)
        assert task is not None and task.number == 2
        assert stored.origin is not None and stored.origin.startswith("tg:2001:")
    closed = bot.api.message(2001, offer.message_id)
    assert closed is not None and "第2项" in closed["text"]

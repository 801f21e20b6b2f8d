"""End to end through the stand-in: /deadline over a range, a unit or 全部, with a preview,
确认修改 / 取消, one notice per contact (once, across restarts), and every date form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from db import repo
from db.models import AuditEvent, Delivery, Task
from jobs.types import DeadlineBasis, DeliveryKind
from standin.harness import COORDINATOR
from tests.conftest import BotHarness

CIVIL = 2001  # contact of 区民政局 (leads 2, 8, 25 and one more)
TAX = 2002  # contact of 潼南税务局 (leads 10)


async def ask(bot: BotHarness, user: int, text: str):  # type: ignore[no-untyped-def]
    since = len(bot.api.sent)
    bot.api.send_text(user, text)
    message = await bot.api.wait_for(lambda m: m.chat_id == user, since=since)
    await bot.api.wait_idle(quiet=0.1)
    return message


def deadlines(bot: BotHarness) -> dict[int, str]:
    with bot.svc.db.session() as s:
        return {t.number: t.deadline.isoformat() for t in s.exec(select(Task))}


def notices(bot: BotHarness, user: int) -> list[str]:
    return [m.plain_text for m in bot.api.messages_to(user) if "完成时限调整" in m.plain_text]


async def test_a_range_is_previewed_confirmed_audited_and_each_contact_told_once(
    bot: BotHarness,
) -> None:
    await bot.register(CIVIL, "区民政局")
    await bot.register(TAX, "潼南税务局")
    before = deadlines(bot)
    preview = await ask(bot, COORDINATOR, "/deadline 1-10,12 2026-06-30 按年度工作安排调整")
    text = preview.plain_text
    assert "请确认修改完成时限" in text
    assert "范围：第1-10、12项" in text and "新的完成时限：2026年6月30日" in text
    assert "将修改11项任务" in text and "· 第1-10、12项，现为2025年12月31日" in text
    assert "原因：按年度工作安排调整" in text and "将通知2位联络员" in text
    assert [label for label, _ in preview.buttons] == ["确认修改", "取消"]
    assert deadlines(bot) == before  # nothing stored before the confirmation
    # a contact cannot press the coordinator's button
    bot.api.click(CIVIL, preview, "确认修改")
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "仅限协调员" in str(c.params))
    assert deadlines(bot) == before
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, preview, "确认修改")
    done = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已将11项任务" in m.plain_text, since=since
    )
    assert done.method == "editMessageText"
    assert "已通知2位联络员" in done.plain_text
    await bot.api.wait_idle(quiet=0.1)
    after = deadlines(bot)
    assert {n for n in after if after[n] != before[n]} == {*range(1, 11), 12}
    assert all(after[n] == "2026-06-30" for n in (*range(1, 11), 12))
    [tax] = notices(bot, TAX)
    assert "第10项：2025年12月31日 → 2026年6月30日" in tax
    assert "原因：按年度工作安排调整" in tax
    [civil] = notices(bot, CIVIL)
    # the same change of several tasks is one line
    assert "区民政局牵头任务" in civil and "第2、5、8项：2025年12月31日 → 2026年6月30日" in civil
    assert "第25项" not in civil  # not in the range
    with bot.svc.db.session() as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "task.deadline")).all()
        assert len(events) == 11
        assert {(e.actor_user_id, e.reason) for e in events} == {
            (COORDINATOR, "按年度工作安排调整")
        }
        task = repo.get_task(s, number=12)
        assert task is not None
        assert task.original_deadline.isoformat() == "2025-12-31"
        assert task.deadline_basis is DeadlineBasis.COORDINATOR
        rows = s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.NOTICE)).all()
        assert len(rows) == 2 and all(r.key.startswith("deadline:") for r in rows)
    # a second press, a restart and ticks send nothing again
    bot.api.click(COORDINATOR, preview, "确认修改")
    await bot.api.wait_for_call("answerCallbackQuery", lambda c: "已失效" in str(c.params))
    await bot.restart()
    await bot.tick()
    await bot.api.wait_idle()
    assert len(notices(bot, TAX)) == 1 and len(notices(bot, CIVIL)) == 1


async def test_cancel_stores_nothing(bot: BotHarness) -> None:
    before = deadlines(bot)
    preview = await ask(bot, COORDINATOR, "/deadline 全部 2027-06-30")
    assert "范围：全部任务" in preview.plain_text and "将修改30项任务" in preview.plain_text
    assert "· 第1-30项，现为2025年12月31日" in preview.plain_text
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, preview, "取消")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已取消" in m.plain_text, since=since
    )
    assert deadlines(bot) == before


async def test_a_lead_units_tasks_by_name_with_suggestions(bot: BotHarness) -> None:
    await bot.register(CIVIL, "区民政局")
    suggestion = await ask(bot, COORDINATOR, "/deadline 民政 2026-06-30")
    assert "区民政局" in suggestion.plain_text
    preview = await ask(bot, COORDINATOR, "/deadline 区民政局 6月30日 场地调整")
    assert "范围：区民政局牵头的任务" in preview.plain_text
    assert "将修改4项任务" in preview.plain_text
    assert "新的完成时限：2026年6月30日" in preview.plain_text
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, preview, "确认修改")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR and "已将4项" in m.plain_text)
    await bot.api.wait_for(
        lambda m: m.chat_id == CIVIL and "完成时限调整" in m.plain_text, since=since
    )
    [notice] = notices(bot, CIVIL)
    assert notice.count("→ 2026年6月30日") == 1 and "第2、5、8、25项：" in notice


async def test_a_preview_with_many_different_deadlines_still_fits_one_message(
    bot: BotHarness,
) -> None:
    for number in range(1, 31):  # every task its own deadline: 30 groups
        with bot.svc.db.session() as s:
            task = repo.get_task(s, number=number)
            assert task is not None
            task.deadline = task.deadline.replace(year=2026, month=1 + number % 12, day=1 + number)
    preview = await ask(bot, COORDINATOR, "/deadline 全部 2027-06-30")
    assert "将修改30项任务" in preview.plain_text
    assert "· 另有18组，共18项" in preview.plain_text
    assert preview.plain_text.count("\n") < 25


async def test_refusals_say_why(bot: BotHarness) -> None:
    text = (await ask(bot, COORDINATOR, "/deadline")).plain_text
    assert "1-10,12" in text and "2026-06-30" in text  # the example: half a year after today
    assert "不能早于今天" in (await ask(bot, COORDINATOR, "/deadline 全部 2025-12-01")).plain_text
    assert (
        "没有找到第31-32项"
        in (await ask(bot, COORDINATOR, "/deadline 30-32 2026-06-30")).plain_text
    )
    assert "无法识别日期" in (await ask(bot, COORDINATOR, "/deadline 1-3 27-6-30")).plain_text
    for scope in ("30-1", "0"):
        text = (await ask(bot, COORDINATOR, f"/deadline {scope} 2026-06-30")).plain_text
        assert f"“{scope}”不是有效的任务序号" in text and "牵头单位" not in text
    assert "距今超过10年" in (await ask(bot, COORDINATOR, "/deadline 10 9999-12-31")).plain_text


@pytest.mark.parametrize(
    "typed", ["2026-06-30", "2026/6/30", "2026.6.30", "2026年6月30日", "6月30日"]
)
async def test_every_date_form_is_accepted(bot: BotHarness, typed: str) -> None:
    text = (await ask(bot, COORDINATOR, f"/deadline 10 {typed}")).plain_text
    assert "改为2026年6月30日" in text
    assert deadlines(bot)[10] == "2026-06-30"


@pytest.mark.parametrize(
    "typed", ["2026-06-30", "2026/6/30", "2026.6.30", "2026年6月30日", "6月30日"]
)
async def test_every_date_form_is_accepted_by_the_extension_flow(
    bot: BotHarness, typed: str
) -> None:
    from tests.e2e.test_e2e_workflow import extension_request

    await bot.register(TAX, "潼南税务局")
    await bot.tick()
    since = len(bot.api.sent)
    await extension_request(bot, TAX, 10, typed)
    request = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "延期申请" in m.plain_text, since=since
    )
    assert "申请延至：2026年6月30日" in request.plain_text
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, request, "批准")
    await bot.api.wait_for(lambda m: m.chat_id == TAX and "已批准" in m.plain_text, since=since)
    with bot.svc.db.session() as s:
        task = repo.get_task(s, number=10)
        assert task is not None and task.deadline_basis is DeadlineBasis.EXTENSION
        assert task.original_deadline.isoformat() == "2025-12-31"
        [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "task.deadline")).all()
        assert event.reason == "需等待市级资金下达"


async def test_the_cli_previews_stores_with_yes_and_the_bot_tells_contacts_on_its_tick(
    bot: BotHarness, tmp_path, capsys
) -> None:
    from bot.cli import main

    await bot.register(TAX, "潼南税务局")
    config = tmp_path / "cli" / "config.toml"
    config.parent.mkdir()
    config.write_text(f'[database]\nurl = "{bot.settings.database.url}"\n', encoding="utf-8")
    before = deadlines(bot)
    # a date some years ahead of the real today (the CLI reads the clock; more than ten
    # years ahead would be refused as a slip)
    far = date(datetime.now(UTC).year + 3, 6, 30)
    argv = ["--config", str(config), "deadline", "10-12", far.isoformat(), "--reason", "统一调整"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "将修改3项任务" in out and "第10-12项" in out and "<b>" not in out
    assert "nothing stored" in out
    assert deadlines(bot) == before
    assert main([*argv, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "3 deadlines changed; 1 contact will be told" in out
    assert [deadlines(bot)[n] for n in (10, 11, 12)] == [far.isoformat()] * 3
    assert notices(bot, TAX) == []  # the running bot tells them on its next tick
    bot.clock.set(datetime.now(UTC).replace(hour=1, minute=30) + timedelta(days=1))
    while not bot.svc.calendar.is_working_day(bot.clock.now.date()):
        bot.clock.advance(timedelta(days=1))
    await bot.tick()
    await bot.api.wait_for(lambda m: m.chat_id == TAX and "完成时限调整" in m.plain_text)
    [notice] = notices(bot, TAX)
    assert f"第10项：2025年12月31日 → {far.year}年6月30日" in notice and "原因：统一调整" in notice
    await bot.tick()
    await bot.api.wait_idle()
    assert len(notices(bot, TAX)) == 1
    # a past date and an unknown unit are refused
    assert main(["--config", str(config), "deadline", "10", "2020-01-01"]) == 2
    assert "不能早于今天" in capsys.readouterr().err
    assert main(["--config", str(config), "deadline", "民政", far.isoformat()]) == 1
    assert "区民政局" in capsys.readouterr().err


async def test_new_deadlines_are_told_before_the_reminders_that_count_from_them(
    bot: BotHarness, tmp_path
) -> None:
    # a coordinator moves task 10 on the console; on the next working day the contact reads
    # that the deadline changed, then the reminder that counts from it (not the other way)
    from bot.cli import main

    await bot.register(TAX, "潼南税务局")
    config = tmp_path / "cli" / "config.toml"
    config.parent.mkdir()
    config.write_text(f'[database]\nurl = "{bot.settings.database.url}"\n', encoding="utf-8")
    # 14 days after a working day, some years ahead of the real today (the CLI reads it)
    reminded = date(datetime.now(UTC).year + 3, 6, 1)
    while not bot.svc.calendar.is_working_day(reminded):
        reminded += timedelta(days=1)
    deadline = reminded + timedelta(days=14)
    assert main(["--config", str(config), "deadline", "10", deadline.isoformat(), "--yes"]) == 0
    since = len(bot.api.sent)
    bot.clock.set(datetime.combine(reminded, datetime.min.time(), UTC).replace(hour=1, minute=30))
    await bot.tick()
    await bot.api.wait_idle()
    texts = [m.plain_text for m in bot.api.sent[since:] if m.chat_id == TAX]
    assert len(texts) == 2, texts
    assert "完成时限调整" in texts[0]
    assert "第10项" in texts[1] and "还有14天" in texts[1]


OTHER_COORDINATOR = 1002


@pytest.mark.parametrize(
    "bot_settings_overrides",
    [
        {
            "schedule": {"tick_seconds": 3600},
            "telegram": {"coordinators": [COORDINATOR, OTHER_COORDINATOR]},
        }
    ],
)
async def test_a_preview_made_stale_by_another_coordinator_changes_nothing(
    bot: BotHarness,
) -> None:
    """Two coordinators preview 10-12 (both seeing 2025-12-31); one confirms 2027-09-30.
    The other's older preview, confirmed later, overwrote it silently with 2027-06-30:
    it is refused, saying which tasks changed since, and nothing is stored."""
    bot.api.user(OTHER_COORDINATOR, "刘协调")
    first = await ask(bot, OTHER_COORDINATOR, "/deadline 10-12 2027-06-30")
    second = await ask(bot, COORDINATOR, "/deadline 10-12 2027-09-30")
    assert "现为2025年12月31日" in first.plain_text
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, second, "确认修改")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR and "✅" in m.plain_text, since=since)
    since = len(bot.api.sent)
    bot.api.click(OTHER_COORDINATOR, first, "确认修改")
    await bot.api.wait_idle(quiet=0.2)
    stale = bot.api.message(OTHER_COORDINATOR, first.message_id)
    assert stale is not None
    assert "第10-12项的完成时限已有改动" in stale["text"] and "/deadline" in stale["text"]
    assert {n: deadlines(bot)[n] for n in (10, 11, 12)} == dict.fromkeys((10, 11, 12), "2027-09-30")


async def test_a_reason_too_long_for_the_preview_is_refused_saying_why(bot: BotHarness) -> None:
    """A reason of 4,030 characters (a pasted document): the preview quoting it passed
    Telegram's 4096 and the coordinator got only "处理您的消息时出错了". It is refused
    with its length and the limit; a reason within the limit is previewed as before."""
    reason = "根据区政府常务会议精神调整" * 310  # 4,030 characters
    text = (await ask(bot, COORDINATOR, f"/deadline 1-3 2027-06-30 {reason}")).plain_text
    assert "原因太长了" in text and "1000字以内" in text
    assert deadlines(bot)[1] == "2025-12-31"
    text = (await ask(bot, COORDINATOR, f"/deadline 1 2027-06-30 {reason}")).plain_text
    assert "原因太长了" in text and deadlines(bot)[1] == "2025-12-31"
    preview = await ask(bot, COORDINATOR, f"/deadline 1-3 2027-06-30 {reason[:1000]}")
    assert "请确认修改完成时限" in preview.plain_text


async def test_a_change_no_contact_can_be_told_of_says_so_not_zero_contacts(
    bot: BotHarness,
) -> None:
    preview = await ask(bot, COORDINATOR, "/deadline 1-3 2026-06-30")
    assert "相关牵头单位尚无联络员，确认后不发通知" in preview.plain_text
    assert "0位" not in preview.plain_text
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, preview, "确认修改")
    done = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已将3项任务" in m.plain_text, since=since
    )
    assert "相关牵头单位尚无联络员，未发通知" in done.plain_text
    assert "0位" not in done.plain_text
    assert deadlines(bot)[1] == "2026-06-30"

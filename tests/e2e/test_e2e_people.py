"""People who come and go, through the stand-in: leaders (configured or granted in chat) read
and change nothing; the two escalation tiers fire once each at their working-day
thresholds; a coordinator added in chat works at once and the config's cannot be removed;
a removed contact is told once, gets no more reminders, and their old button is refused
with nothing stored."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import func, select

from db.models import AuditEvent, Contact, Delivery, Invite, StatusReport, Task
from jobs.lights import working_days_until
from jobs.types import DeliveryKind
from standin.harness import COORDINATOR
from tests.conftest import STRANGER, BotHarness
from tests.e2e.test_e2e_views import ask

LEADER = 4004
CONTACT, UNIT, TASK = 2002, "潼南税务局", 10
COORDINATORS_HEAD, LEADERS_HEAD = "请协调员跟进", "督办提醒（分管领导）"
LEADERS_AFTER = 7


@pytest.fixture
def bot_settings_overrides() -> dict[str, Any]:
    return {
        "schedule": {"tick_seconds": 3600},
        "telegram": {"leaders": [LEADER]},
        "follow_up": {"escalate_leaders_after_working_days": LEADERS_AFTER},
    }


def counts(bot: BotHarness) -> tuple[int, ...]:
    """Rows of (StatusReport, Invite, Contact, AuditEvent, Delivery)."""
    with bot.svc.db.session() as s:
        return tuple(
            s.exec(select(func.count()).select_from(table)).one()
            for table in (StatusReport, Invite, Contact, AuditEvent, Delivery)
        )


def deadlines(bot: BotHarness) -> list[date]:
    with bot.svc.db.session() as s:
        return [t.deadline for t in s.exec(select(Task).order_by(Task.id)).all()]  # type: ignore[arg-type]


async def test_a_configured_leader_reads_and_every_write_is_refused(bot: BotHarness) -> None:
    bot.api.user(LEADER, "刘领导")
    await bot.register(CONTACT, UNIT)
    assert "督办汇总" in await ask(bot, LEADER, "/digest")
    assert "牵头单位：潼南税务局" in await ask(bot, LEADER, f"/task {TASK}")
    assert f"{UNIT}\n联络员：张华" in await ask(bot, LEADER, f"/unit {UNIT}")
    assert "分管领导" in await ask(bot, LEADER, "/help")
    before, before_deadlines = counts(bot), deadlines(bot)
    for write in (
        f"/deadline {TASK} 2027-06-30",
        f"/invite {UNIT}",
        f"/record {TASK} {UNIT} 推进中 电话反馈",
        f"/backfill {TASK} {UNIT} 已完成 2023-06-30 说明",
        "/add_leader 5005",
        f"/remove_contact {UNIT} 张华",
        f"/handover {UNIT}",
        "/export",
    ):
        answer = await ask(bot, LEADER, write)
        assert "仅限协调员" in answer, (write, answer)
    assert counts(bot)[:4] == before[:4], "a leader's write stored something"
    assert deadlines(bot) == before_deadlines


def first_day_over(bot: BotHarness, deadline: date, limit: int) -> date:
    """The first day on which `deadline` is overdue by more than `limit` working days."""
    day = deadline
    while working_days_until(deadline, day, bot.svc.calendar, stop_after=limit) <= limit:
        day += timedelta(days=1)
    return day


async def test_the_two_tiers_fire_once_each_at_their_working_day_thresholds(
    bot: BotHarness,
) -> None:
    bot.api.user(LEADER, "刘领导")
    await bot.register(CONTACT, UNIT)
    deadline = date(2025, 12, 31)
    coordinators_day = first_day_over(bot, deadline, 5)
    leaders_day = first_day_over(bot, deadline, LEADERS_AFTER)
    assert coordinators_day < leaders_day
    seen: dict[str, list[tuple[date, int]]] = {"coordinators": [], "leaders": []}
    day = date(2026, 1, 2)
    while day <= leaders_day + timedelta(days=10):
        bot.clock.set(bot.clock.now.replace(year=day.year, month=day.month, day=day.day))
        for _ in range(2):  # a second tick the same day sends nothing more
            since = len(bot.api.sent)
            await bot.tick()
            await bot.api.wait_idle(quiet=0.05)
            for m in bot.api.sent[since:]:
                if COORDINATORS_HEAD in m.plain_text:
                    seen["coordinators"].append((day, m.chat_id))
                if LEADERS_HEAD in m.plain_text:
                    seen["leaders"].append((day, m.chat_id))
        day += timedelta(days=1)
    assert seen["coordinators"] == [(coordinators_day, COORDINATOR)]
    assert seen["leaders"] == [(leaders_day, LEADER)]
    with bot.svc.db.session() as s:
        keys = [
            d.key
            for d in s.exec(select(Delivery).where(Delivery.kind == DeliveryKind.ESCALATION)).all()
        ]
    assert f"leaders:{leaders_day}" in keys and f"coordinators:{coordinators_day}" in keys
    tiers = {k.split(":")[0] for k in keys if ":" in k}
    assert {"escalation", "escalation-leaders"} <= tiers


async def test_a_coordinator_added_in_chat_works_at_once_and_config_ones_stay(
    bot: BotHarness,
) -> None:
    newcomer = 2003
    assert "仅限协调员" in await ask(bot, newcomer, f"/invite {UNIT}")
    assert "设为协调员" in await ask(bot, COORDINATOR, f"/add_coordinator {newcomer} 赵敏")
    assert "一次性邀请" in await ask(bot, newcomer, f"/invite {UNIT}")
    assert f"{COORDINATOR}（配置文件）" in await ask(bot, newcomer, "/roles")
    answer = await ask(bot, newcomer, f"/remove_coordinator {COORDINATOR}")
    assert "配置文件中的协调员，不能在对话中移除" in answer
    assert "仅限协调员" not in await ask(bot, COORDINATOR, "/units")
    assert "取消" in await ask(bot, COORDINATOR, f"/remove_coordinator {newcomer}")
    assert "仅限协调员" in await ask(bot, newcomer, f"/invite {UNIT}")
    assert "不是用户编号" in await ask(bot, COORDINATOR, "/add_leader @someone")
    with bot.svc.db.session() as s:
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
    assert actions.count("role.grant") == 1 and actions.count("role.revoke") == 1


async def test_a_removed_contact_is_told_once_and_their_old_button_stores_nothing(
    bot: BotHarness,
) -> None:
    await bot.register(CONTACT, UNIT)
    await bot.tick()
    reminder = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and f"第{TASK}项" in m.plain_text and bool(m.buttons)
    )
    await bot.api.wait_idle(quiet=0.05)
    listing = await ask(bot, COORDINATOR, f"/contacts {UNIT}")
    assert "1. 张华" in listing
    [menu] = [
        m for m in bot.api.sent if m.chat_id == COORDINATOR and "移除 1. 张华" in str(m.buttons)
    ]
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, menu, "移除 1. 张华")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已移除" in m.plain_text, since=since
    )
    await bot.api.wait_for(lambda m: m.chat_id == CONTACT, since=since)
    await bot.api.wait_idle(quiet=0.05)
    notices = [m for m in bot.api.sent[since:] if m.chat_id == CONTACT]
    assert [m.plain_text for m in notices] == [
        f"您已不再是{UNIT}的联络员，不会再收到督办提醒，也不能再反馈进展。如有疑问请联系协调员。"
    ]
    before = counts(bot)
    calls = len(bot.api.calls)
    bot.api.press_button(CONTACT, reminder.message_id, f"r:{TASK}:done")
    answer = await bot.api.wait_for_call("answerCallbackQuery", since=calls)
    assert f"您已不再是{UNIT}的联络员" in str(answer.params.get("text"))
    assert f"您已不再是{UNIT}的联络员" in await ask(bot, CONTACT, "进展顺利")
    assert f"您已不再是{UNIT}的联络员" in await ask(bot, CONTACT, "/report")
    assert counts(bot) == before, "a removed contact's press stored something"
    assert f"{UNIT}目前没有联络员" in await ask(bot, COORDINATOR, f"/contacts {UNIT}")
    # no more reminders: a week later the unit's occasion comes, nothing goes to them
    since = len(bot.api.sent)
    bot.clock.advance(timedelta(days=7))
    await bot.tick()
    await bot.api.wait_idle(quiet=0.1)
    assert [m for m in bot.api.sent[since:] if m.chat_id == CONTACT] == []
    assert "尚未登记" in await ask(bot, STRANGER, "/whoami")
    # a new invite brings them back
    code = await bot.invite_code(UNIT)
    assert "登记成功" in await ask(bot, CONTACT, f"/start {code}")
    assert "1. 张华" in await ask(bot, COORDINATOR, f"/contacts {UNIT}")
    with bot.svc.db.session() as s:
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
    assert "contact.remove" in actions

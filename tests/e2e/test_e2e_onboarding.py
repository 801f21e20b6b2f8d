"""End to end through the Bot API stand-in: invites, registration, /whoami, /units, refusals."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from db.models import AuditEvent, Contact, Invite
from standin.harness import COORDINATOR, GROUP
from tests.conftest import STRANGER, BotHarness


async def test_start_without_code_explains_how_to_register(bot: BotHarness) -> None:
    bot.api.send_text(STRANGER, "/start")
    answer = await bot.api.wait_for(lambda m: m.chat_id == STRANGER)
    assert "邀请链接" in answer.plain_text
    with bot.svc.db.session() as s:
        assert s.exec(select(Contact)).all() == []


async def test_invite_link_registers_a_contact_once(bot: BotHarness) -> None:
    bot.api.send_text(COORDINATOR, "/invite 区民政局")
    invite = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR and "start=" in m.plain_text)
    assert "https://t.me/canggongwei_bot?start=" in invite.plain_text
    code = invite.plain_text.split("start=", 1)[1].split()[0]
    assert len(code) >= 16

    bot.api.send_text(2001, f"/start {code}")
    welcome = await bot.api.wait_for(lambda m: m.chat_id == 2001)
    assert "登记成功" in welcome.plain_text and "区民政局" in welcome.plain_text
    assert "4项" in welcome.plain_text  # 区民政局 leads tasks 2, 5, 8 and 25
    notice = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已登记为" in m.plain_text
    )
    assert "李明" in notice.plain_text and "区民政局" in notice.plain_text

    # the same code a second time, by someone else: refused, nothing changes
    bot.api.send_text(2002, f"/start {code}")
    refusal = await bot.api.wait_for(lambda m: m.chat_id == 2002)
    assert "已被使用" in refusal.plain_text
    with bot.svc.db.session() as s:
        contacts = s.exec(select(Contact)).all()
        assert [(c.telegram_user_id, c.display_name) for c in contacts] == [(2001, "李明")]
        invite_row = s.exec(select(Invite)).one()
        assert invite_row.used_by == 2001
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "contact.register")).one()


async def test_a_contact_moved_by_another_units_invite_is_told_to_the_coordinators(
    bot: BotHarness,
) -> None:
    await bot.register(2001, "区民政局")
    await bot.register(2003, "区民政局")
    since = len(bot.api.sent)
    await bot.register(2001, "潼南税务局")
    moved = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "改为" in m.plain_text, since=since
    )
    assert "李明已由区民政局的联络员改为潼南税务局的联络员" in moved.plain_text
    assert "没有联络员" not in moved.plain_text  # 区民政局 still has 2003
    since = len(bot.api.sent)
    await bot.register(2003, "潼南税务局")
    moved = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "改为" in m.plain_text, since=since
    )
    assert "区民政局现已没有联络员" in moved.plain_text and "/invite 区民政局" in moved.plain_text


async def test_unknown_and_expired_codes_are_refused(bot: BotHarness) -> None:
    bot.api.send_text(2001, "/start notacode123")
    assert "无效" in (await bot.api.wait_for(lambda m: m.chat_id == 2001)).plain_text
    code = await bot.invite_code("区教委")
    bot.clock.advance(timedelta(days=8))  # invites are valid 7 days by default
    bot.api.send_text(2002, f"/start {code}")
    assert "过期" in (await bot.api.wait_for(lambda m: m.chat_id == 2002)).plain_text
    with bot.svc.db.session() as s:
        assert s.exec(select(Contact)).all() == []


async def test_invite_needs_a_known_unit_and_a_coordinator(bot: BotHarness) -> None:
    bot.api.send_text(COORDINATOR, "/invite")
    assert "用法" in (await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR)).plain_text
    bot.api.send_text(COORDINATOR, "/invite 人社局")
    answer = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "没有找到" in m.plain_text
    )
    assert "您是不是要找：区人力社保局" in answer.plain_text  # did you mean
    bot.api.send_text(STRANGER, "/invite 区民政局")
    assert "仅限协调员" in (await bot.api.wait_for(lambda m: m.chat_id == STRANGER)).plain_text
    bot.api.send_text(COORDINATOR, "/invite 区民政局", chat_id=GROUP)
    assert "私聊" in (await bot.api.wait_for(lambda m: m.chat_id == GROUP)).plain_text
    with bot.svc.db.session() as s:
        assert s.exec(select(Invite)).all() == []


async def test_whoami_tells_each_role(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    bot.api.send_text(2001, "/whoami")
    contact = await bot.api.wait_for(lambda m: m.chat_id == 2001 and "身份" in m.plain_text)
    assert "区民政局联络员" in contact.plain_text and "2001" in contact.plain_text
    bot.api.send_text(COORDINATOR, "/whoami")
    coordinator = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "身份" in m.plain_text
    )
    assert "协调员" in coordinator.plain_text
    bot.api.send_text(STRANGER, "/whoami")
    stranger = await bot.api.wait_for(lambda m: m.chat_id == STRANGER)
    assert "尚未登记" in stranger.plain_text


async def test_units_lists_every_lead_unit_with_its_contacts(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    bot.api.send_text(COORDINATOR, "/units")
    answer = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "牵头单位联络员情况" in m.plain_text
    )
    assert "（1/17个单位已有联络员）" in answer.plain_text
    assert "✅ 区民政局：李明（牵头任务4项）" in answer.plain_text
    assert "⚠️ 区残联：暂无联络员" in answer.plain_text
    bot.api.send_text(2001, "/units")
    assert (
        "仅限协调员"
        in (
            await bot.api.wait_for(lambda m: m.chat_id == 2001 and "协调员" in m.plain_text)
        ).plain_text
    )


async def test_unknown_command_and_stray_text(bot: BotHarness) -> None:
    bot.api.send_text(STRANGER, "/frobnicate")
    assert "无法识别" in (await bot.api.wait_for(lambda m: m.chat_id == STRANGER)).plain_text
    bot.api.send_text(STRANGER, "你好")
    assert (
        "邀请链接"
        in (
            await bot.api.wait_for(lambda m: m.chat_id == STRANGER and "邀请" in m.plain_text)
        ).plain_text
    )
    # a stranger chatting in the group gets deliberate silence
    before = len(bot.api.sent)
    bot.api.send_text(STRANGER, "大家好", chat_id=GROUP)
    bot.api.send_text(STRANGER, "/frobnicate", chat_id=GROUP)
    await bot.api.wait_idle()
    assert len(bot.api.sent) == before

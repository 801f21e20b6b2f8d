"""End to end through the stand-in: a coordinator renames a unit (机构改革) with
/rename_unit and merges one into another with /merge_unit; the unit keeps its contact, its
reminders and its history under the new name, and the old name still finds it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from db import repo
from db.models import AuditEvent, Unit
from standin.harness import COORDINATOR
from tests.conftest import BotHarness, reminded_tasks

OLD, NEW = "潼南税务局", "国家税务总局潼南税务局"


@pytest.fixture
def bot_settings_overrides() -> dict[str, Any]:
    return {"schedule": {"tick_seconds": 3600}}


async def ask(bot: BotHarness, text: str, fragment: str) -> Any:
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, text)
    return await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and fragment in m.plain_text, since=since
    )


async def test_a_renamed_unit_keeps_its_contact_reminders_and_name_history(
    bot: BotHarness,
) -> None:
    await bot.register(2002, OLD)
    preview = await ask(bot, f"/rename_unit {OLD} {NEW}", "单位更名")
    assert f"单位更名：{OLD} → {NEW}" in preview.plain_text
    assert "涉及任务：第9-10项；联络员1位，进展反馈0条，随单位保留。" in preview.plain_text
    with bot.svc.db.session() as s:
        assert repo.get_unit_by_name(s, name=OLD) is not None  # nothing stored yet
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, preview, "确认")
    done = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已将" in m.plain_text, since=since
    )
    assert done.plain_text == f"已将{OLD}更名为{NEW}；“{OLD}”保留为别名，历史记录不变。"
    with bot.svc.db.session() as s:
        unit = repo.find_unit(s, name=OLD)
        assert unit is not None and unit.name == NEW
        [event] = s.exec(select(AuditEvent).where(AuditEvent.action == "unit.rename")).all()
        assert (event.actor_user_id, event.before, event.after) == (COORDINATOR, OLD, NEW)
    # a second press on the same preview changes nothing
    calls = len(bot.api.calls)
    bot.api.click(COORDINATOR, preview, "确认")
    await bot.api.wait_for_call(
        "answerCallbackQuery", lambda c: "已失效" in str(c.params), since=calls
    )
    # the old name still finds the unit, shown by its new name with its contact
    view = await ask(bot, f"/unit {OLD}", NEW)
    assert "联络员：" in view.plain_text
    # the contact still gets its reminders, addressed to the new name
    await bot.tick()
    await bot.api.wait_idle()
    [daily] = [m for m in bot.api.messages_to(2002) if "完成时限" in m.plain_text]
    assert reminded_tasks(daily) == [10]
    digest = await ask(bot, "/digest", "督办")
    assert f"· 第10项 {NEW}（未反馈）；区财政局（未反馈）" in digest.plain_text
    assert (
        f"本周期未反馈的单位（17个）\n{NEW}（1项）、另16个尚无联络员的单位（见下）"
        in digest.plain_text
    )
    assert OLD not in digest.plain_text.replace(NEW, "")


async def test_bad_unit_changes_are_answered_and_change_nothing(bot: BotHarness) -> None:
    usage = await ask(bot, "/rename_unit 区残联", "用法：/rename_unit")
    assert "例如" in usage.plain_text
    unknown = await ask(bot, "/rename_unit 区残疾人联合 新名称", "没有找到")
    assert "您是不是要找：" in unknown.plain_text and "区残联" in unknown.plain_text
    same = await ask(bot, "/rename_unit 区残联 区残联", "未作修改")
    assert same.plain_text == "区残联的名称已是“区残联”，未作修改。"
    taken = await ask(bot, "/rename_unit 区残联 区民政局", "不能再用作")
    assert taken.plain_text == "“区民政局”已是区民政局的名称或别名，不能再用作其他单位的名称。"
    itself = await ask(bot, "/merge_unit 区残联 区残联", "并入自身")
    assert itself.plain_text == "区残联不能并入自身。"
    collective = await ask(bot, "/merge_unit 各镇街 区民政局", "集合单位")
    assert collective.plain_text == "各镇街是集合单位（如各镇街），不能合并。"
    with bot.svc.db.session() as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action.startswith("unit."))).all() == []  # type: ignore[attr-defined]
    # a preview made stale by another change is refused on 确认
    preview = await ask(bot, "/rename_unit 区残联 区残疾人联合会", "单位更名")
    with bot.svc.db.session() as s:
        unit = repo.get_unit_by_name(s, name="区残联")
        assert unit is not None
        repo.rename_unit(
            s, unit_id=unit.id or 0, new_name="区残协", actor_user_id=1, now=bot.svc.now()
        )
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, preview, "确认")
    stale = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "未作修改" in m.plain_text, since=since
    )
    assert "预览之后单位名称已有变动" in stale.plain_text
    with bot.svc.db.session() as s:
        assert repo.get_unit_by_name(s, name="区残协") is not None
        assert repo.get_unit_by_name(s, name="区残疾人联合会") is None


async def test_a_merged_units_contact_is_reminded_as_the_unit_merged_into(
    bot: BotHarness,
) -> None:
    await bot.register(2002, OLD)
    shared = await ask(bot, f"/merge_unit {OLD} 区财政局", "暂不能合并")
    assert shared.plain_text.startswith(f"{OLD}和区财政局同时列在第9-10项任务上，暂不能合并")
    preview = await ask(bot, "/merge_unit 税务局 区统计局", "单位合并")
    assert f"单位合并：{OLD} 并入 区统计局" in preview.plain_text
    assert "涉及任务：第9-10项；联络员1位，进展反馈0条，随单位转入区统计局。" in preview.plain_text
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, preview, "取消")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "已取消" in m.plain_text, since=since
    )
    with bot.svc.db.session() as s:
        assert repo.get_unit_by_name(s, name=OLD) is not None
    preview = await ask(bot, f"/merge_unit {OLD} 区统计局", "单位合并")
    since = len(bot.api.sent)
    bot.api.click(COORDINATOR, preview, "确认")
    await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and f"已将{OLD}并入区统计局" in m.plain_text,
        since=since,
    )
    with bot.svc.db.session() as s:
        assert s.exec(select(Unit).where(Unit.name == OLD)).first() is None
        merged = repo.find_unit(s, name=OLD)
        assert merged is not None and merged.name == "区统计局"
        contacts = repo.contacts_of_unit(s, unit_id=merged.id or 0)
        assert [c.telegram_user_id for c in contacts] == [2002]
    await bot.tick()
    await bot.api.wait_idle()
    [daily] = [m for m in bot.api.messages_to(2002) if "完成时限" in m.plain_text]
    assert reminded_tasks(daily) == [10, 23]

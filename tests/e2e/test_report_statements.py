"""The SQL a status report costs: statements per update of the conversation (button, note,
跳过, 确认提交), counted with a `before_cursor_execute` listener. The throughput benchmark's
bot / ceiling ratio depends on these; a change that adds a statement per update shows here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event

from tests.conftest import BotHarness


async def _statements(bot: BotHarness, step: Callable[[], Awaitable[Any]]) -> list[str]:
    seen: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    engine = bot.svc.db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        await step()
        await bot.api.wait_idle(quiet=0.05)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return seen


async def test_statements_per_update_of_a_report(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    await bot.tick()
    api = bot.api
    reminder = await api.wait_for(lambda m: m.chat_id == 2001 and "第2项" in m.plain_text)

    async def press() -> None:
        api.press_button(2001, reminder.message_id, "r2:2:in_progress")
        await api.wait_for(lambda m: m.chat_id == 2001 and "请用一两句话" in m.plain_text)

    async def note() -> None:
        api.send_text(2001, "已完成排查")
        await api.wait_for(lambda m: m.chat_id == 2001 and "佐证材料" in m.plain_text)

    async def skip() -> None:
        asked = api.sent[-1]
        api.click(2001, asked, "跳过")
        await api.wait_for(lambda m: m.chat_id == 2001 and "请确认" in m.plain_text)

    async def confirm() -> None:
        card = api.sent[-1]
        api.click(2001, card, "确认提交")
        await api.wait_for(lambda m: m.chat_id == 2001 and "已记录" in m.plain_text)

    counts = {
        name: await _statements(bot, step)
        for name, step in (("press", press), ("note", note), ("skip", skip), ("confirm", confirm))
    }
    # every private update first costs one SELECT: the removed-contact gate
    # (`bot.people.removed_gate`, one indexed lookup of the user's removed contact row);
    # the press: contact, unit, task and permission in one SELECT (was 5 in 2 sessions);
    # the note and 跳过 touch no table; 确认提交: the permission, the pair's Progress row,
    # then the report, the Progress row and the audit of the status change (was 7)
    gate = ["SELECT"]
    assert counts == {
        "press": [*gate, "SELECT"],
        "note": gate,
        "skip": gate,
        "confirm": [*gate, "SELECT", "SELECT", "INSERT", "INSERT", "INSERT"],
    }

"""End to end through the stand-in: /invite 全部, the printable invite sheet of
`taskbot invites`, and a coordinator who is also a unit's contact."""

from __future__ import annotations

import asyncio
import os
import re
import zipfile

from docx import Document
from sqlmodel import select

from bot.cli import main
from db import repo
from db.models import Invite
from standin.harness import COORDINATOR
from tests.conftest import BotHarness, reminded_tasks, reply_to_daily

LINK = re.compile(r"https://t\.me/canggongwei_bot\?start=([A-Za-z0-9_-]+)")


async def ask(bot: BotHarness, user: int, text: str) -> list[str]:
    since = len(bot.api.sent)
    bot.api.send_text(user, text)
    await bot.api.wait_for(lambda m: m.chat_id == user, since=since)
    await bot.api.wait_idle(quiet=0.1)
    return [m.plain_text for m in bot.api.sent[since:] if m.chat_id == user]


def lead_units_without_contact(bot: BotHarness) -> list[str]:
    with bot.svc.db.session() as s:
        return [u.name for u in repo.lead_units_without_contact(s)]


async def test_invite_all_lists_one_link_per_unit_without_a_contact(bot: BotHarness) -> None:
    await bot.register(2001, "区民政局")
    pending = lead_units_without_contact(bot)
    assert "区民政局" not in pending and len(pending) > 10
    [text] = await ask(bot, COORDINATOR, "/invite 全部")
    assert f"已为{len(pending)}个尚无联络员的牵头单位" in text
    codes = LINK.findall(text)
    assert len(codes) == len(pending) == len(set(codes))
    for name in pending:
        assert f"\n{name}\n" in text
    assert "\n区民政局\n" not in text
    # each link registers its own unit
    index = text.index(f"\n{pending[0]}\n")
    code = LINK.search(text, index).group(1)  # type: ignore[union-attr]
    [welcome] = await ask(bot, 2002, f"/start {code}")
    assert f"您已成为{pending[0]}的联络员" in welcome
    assert pending[0] not in lead_units_without_contact(bot)
    # not for contacts, and not in a group
    assert "仅限协调员" in (await ask(bot, 2001, "/invite 全部"))[0]


async def test_invite_all_when_every_unit_has_a_contact(bot: BotHarness) -> None:
    from datetime import UTC, datetime

    from db.models import Contact

    with bot.svc.db.session() as s:
        for i, unit in enumerate(repo.lead_units_without_contact(s)):
            s.add(
                Contact(
                    telegram_user_id=4000 + i,
                    chat_id=4000 + i,
                    unit_id=unit.id,
                    display_name=f"联络员{i}",
                    created_at=datetime(2025, 12, 1, tzinfo=UTC),
                )
            )
    [text] = await ask(bot, COORDINATOR, "/invite 全部")
    assert "每个牵头单位都已有联络员" in text


async def test_the_printable_sheet_has_each_units_link_and_qr_code(
    bot: BotHarness, tmp_path, capsys
) -> None:
    await bot.register(2001, "区民政局")
    pending = lead_units_without_contact(bot)
    config = tmp_path / "cli" / "config.toml"
    config.parent.mkdir()
    config.write_text(
        f'[database]\nurl = "{bot.settings.database.url}"\n'
        f'[telegram]\nbase_url = "{bot.settings.telegram.base_url}"\n'
        f'base_file_url = "{bot.settings.telegram.base_file_url}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "邀请.docx"
    argv = ["--config", str(config), "invites", "--out", str(out)]
    # the bot's username is asked of the Bot API (here the stand-in) with the token
    token = bot.settings.telegram.token.get_secret_value()
    os.environ["TELEGRAM_BOT_TOKEN"] = token
    try:  # in a thread: the stand-in answers getMe on this test's event loop
        assert await asyncio.to_thread(main, argv) == 0
    finally:
        del os.environ["TELEGRAM_BOT_TOKEN"]
    assert f"{len(pending)} units without a contact" in capsys.readouterr().out
    document = Document(str(out))
    [table] = document.tables
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0] == ["牵头单位", "二维码", "邀请链接"]
    assert [r[0] for r in rows[1:]] == pending
    codes = [LINK.search(r[2]).group(1) for r in rows[1:]]  # type: ignore[union-attr]
    with bot.svc.db.session() as s:
        stored = {i.code for i in s.exec(select(Invite))}
    assert set(codes) <= stored
    with zipfile.ZipFile(out) as archive:
        images = [n for n in archive.namelist() if n.startswith("word/media/")]
    assert len(images) >= 1  # identical PNGs are stored once; the codes differ, so one each
    assert len(images) == len(pending)
    # a printed code works: the link of the first row registers its unit
    since = len(bot.api.sent)
    bot.api.send_text(2002, f"/start {codes[0]}")
    welcome = await bot.api.wait_for(lambda m: m.chat_id == 2002, since=since)
    assert pending[0] in welcome.plain_text
    # --bot-username spares the question; a wrong file name is refused
    assert main([*argv[:2], "invites", "--out", str(tmp_path / "x.pdf")]) == 2
    second = tmp_path / "second.docx"
    assert main([*argv[:2], "invites", "--out", str(second), "--bot-username", "@other_bot"]) == 0
    assert "t.me/other_bot?start=" in Document(str(second)).tables[0].rows[1].cells[2].text
    # a Bot API that cannot be reached: the answer says how to go on without it
    unreachable = tmp_path / "offline.toml"
    unreachable.write_text(
        f'[database]\nurl = "{bot.settings.database.url}"\n'
        '[telegram]\nbase_url = "http://127.0.0.1:9/bot"\ntimeout_seconds = 2\n',
        encoding="utf-8",
    )
    os.environ["TELEGRAM_BOT_TOKEN"] = token
    try:
        offline = ["--config", str(unreachable), "invites", "--out", str(tmp_path / "o.docx")]
        assert await asyncio.to_thread(main, offline) == 1
    finally:
        del os.environ["TELEGRAM_BOT_TOKEN"]
    assert "--bot-username" in capsys.readouterr().err
    assert not (tmp_path / "o.docx").exists()


async def test_a_coordinator_who_is_also_a_contact_has_both_roles(bot: BotHarness) -> None:
    await bot.register(COORDINATOR, "区残联")
    [whoami] = await ask(bot, COORDINATOR, "/whoami")
    assert "协调员" in whoami and "区残联" in whoami
    # as a contact: the reminders of 区残联's tasks come, and a report is taken
    await bot.tick()
    reminder = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "区残联" in m.plain_text and bool(m.buttons)
    )
    number = int(re.search(r"第 ?(\d+) ?项", reminder.plain_text).group(1))  # type: ignore[union-attr]
    with bot.svc.db.session() as s:
        task = repo.get_task(s, number=number)
        unit = repo.get_unit_by_name(s, name="区残联")
        assert task is not None and unit is not None
        assert repo.is_lead_unit(s, task_id=task.id or 0, unit_id=unit.id or 0)
    # 区残联 leads 19 tasks: one message of the day; a reply asks which task
    assert len(reminded_tasks(reminder)) == 19
    await reply_to_daily(bot, COORDINATOR, reminder, "已完成场地改造", number)
    with bot.svc.db.session() as s:
        reports = repo.reports_of_task(s, task_id=task.id or 0)
        assert [r.note for r in reports] == ["已完成场地改造"]
    # as a coordinator: still every coordinator command
    assert "牵头单位联络员情况" in (await ask(bot, COORDINATOR, "/units"))[0]
    assert "改为" in (await ask(bot, COORDINATOR, f"/deadline {number} 2026-06-30"))[0]

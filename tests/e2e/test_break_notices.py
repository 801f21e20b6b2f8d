"""Break-it tests through the stand-in: /notice, /bulletin and the plan-naming commands with
hostile or huge names (a short Chinese answer, the name clipped), and custom templates that
fail while filling (a clear answer naming the template, not a generic error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import docx
import pytest
from sqlmodel import select

from db.models import Unit
from standin.harness import COORDINATOR
from tests.conftest import BotHarness
from tests.e2e.test_e2e_notices import ask


@pytest.fixture
def bot_settings_overrides(tmp_path: Path) -> dict[str, Any]:
    folder = tmp_path / "templates"
    folder.mkdir()
    return {"schedule": {"tick_seconds": 3600}, "documents": {"templates_dir": str(folder)}}


def rename(bot: BotHarness, old: str, new: str) -> None:
    with bot.svc.db.session() as s:
        unit = s.exec(select(Unit).where(Unit.name == old)).one()
        unit.name = new
        s.add(unit)
        s.commit()


async def test_notice_for_a_unit_with_markup_and_slashes_in_its_name(bot: BotHarness) -> None:
    hostile = ('区民政局<b>&amp;"/..\\</i>' + "长" * 100)[:100]
    rename(bot, "区民政局", hostile)
    answer = await ask(bot, COORDINATOR, "/notice 区民政局")
    assert answer.method == "sendDocument", answer.plain_text
    assert hostile in answer.plain_text  # the caption names it verbatim


def template(folder: Path, body: str) -> None:
    document = docx.Document()
    document.add_paragraph(body)
    document.save(str(folder / "notice.docx"))


@pytest.mark.parametrize(
    "body",
    ["{{ 1 / 0 }}", "{{ unit + 1 }}", "{{ rows[999] }}", "{% for r in rows %}{{ r }}"],
    ids=["zero-division", "type-error", "index", "unclosed-for"],
)
async def test_a_broken_custom_template_gets_a_clear_answer(
    bot: BotHarness, tmp_path: Path, body: str
) -> None:
    template(tmp_path / "templates", body)
    answer = await ask(bot, COORDINATOR, "/notice 区民政局")
    assert answer.method == "sendMessage"
    assert "模板 notice.docx 有误" in answer.plain_text, answer.plain_text


async def test_a_template_path_that_is_a_folder_falls_back_silently(
    bot: BotHarness, tmp_path: Path
) -> None:
    """Observation (low): a folder named notice.docx in templates_dir is ignored without a
    word; the shipped template serves."""
    (tmp_path / "templates" / "notice.docx").mkdir()
    answer = await ask(bot, COORDINATOR, "/notice 区民政局")
    assert answer.method == "sendDocument"


async def test_a_template_that_is_not_a_docx(bot: BotHarness, tmp_path: Path) -> None:
    (tmp_path / "templates" / "notice.docx").write_bytes(b"PK\x03\x04 not really a zip")
    answer = await ask(bot, COORDINATOR, "/notice 区民政局")
    assert "模板 notice.docx 有误" in answer.plain_text, answer.plain_text


@pytest.mark.parametrize(
    "command",
    [
        "/notice",
        "/bulletin",
        "/stats",
        "/digest",
        "/task",
        "/unit",
        "/contacts",
        "/handover",
        "/remove_contact",
        "/close_plan",
        "/evaluate",
        "/export",
        "/rhythm",
        "/indicators",
        "/export_files",
        "/items",
        "/deadline",
        "/record",
        "/invite",
    ],
)
async def test_a_huge_hostile_argument_gets_a_short_chinese_answer(
    bot: BotHarness, command: str
) -> None:
    arg = ("<b>&amp;" + "局" * 4096)[: 4096 - len(command) - 1]  # a full-length message
    answer = await ask(bot, COORDINATOR, f"{command} {arg}")
    print(command, "->", answer.method, answer.plain_text[:120])
    assert answer.method in ("sendMessage", "sendDocument")
    assert "出错了" not in answer.plain_text, answer.plain_text[:200]
    assert len(answer.plain_text) < 1500

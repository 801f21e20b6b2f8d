"""End to end through the stand-in: what a hostile or clumsy user found (round two): evidence
gone from disk in the 材料汇编, a file that cannot be saved, a reply edited before its task
was chosen, and more probes of the newest features."""

from __future__ import annotations

import io
import shutil
import zipfile

import pytest
from sqlmodel import select

from bot.config import evidence_dir
from db.files import EvidenceStore
from db.models import StatusReport
from standin.harness import COORDINATOR, GROUP
from tests.conftest import BotHarness
from tests.e2e.test_e2e_daily import CONTACT as CANLIAN
from tests.e2e.test_e2e_daily import bot_settings_overrides, dailies, tick
from tests.e2e.test_e2e_evidence import (
    CONTACT,
    PDF,
    PDF_NAME,
    evidence_rows,
    report_photo_and_pdf,
    start_report,
)

__all__ = ["bot_settings_overrides"]  # the plan of N tasks led by 区残联 (parametrized)


def reports(bot: BotHarness) -> list[StatusReport]:
    with bot.svc.db.session() as s:
        return list(s.exec(select(StatusReport).order_by(StatusReport.id)).all())


async def test_the_bundle_says_how_many_files_are_missing_on_disk(bot: BotHarness) -> None:
    await report_photo_and_pdf(bot)
    photo, pdf = evidence_rows(bot)
    store = EvidenceStore(evidence_dir(bot.settings))
    assert store.delete(photo.stored_path or "")
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/export_files")
    sent = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and m.document is not None, since=since
    )
    assert "台账和1个佐证材料" in sent.plain_text
    assert "另有1个佐证材料在存储目录中找不到" in sent.plain_text
    zf = zipfile.ZipFile(io.BytesIO(sent.file_content or b""))
    evidence = [n for n in zf.namelist() if not n.endswith(".xlsx")]
    assert len(evidence) == 1 and evidence[0].endswith(PDF_NAME)
    assert zf.read(evidence[0]) == PDF
    # every file gone: the ledger still comes, and the answer says all are missing
    assert store.delete(pdf.stored_path or "")
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/export_files")
    sent = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and m.document is not None, since=since
    )
    assert "台账和0个佐证材料" in sent.plain_text and "另有2个" in sent.plain_text
    names = zipfile.ZipFile(io.BytesIO(sent.file_content or b"")).namelist()
    assert len(names) == 1 and names[0].endswith(".xlsx")


async def test_a_file_that_cannot_be_saved_is_told_as_such(bot: BotHarness) -> None:
    await bot.register(CONTACT, "区民政局")
    await start_report(bot)
    folder = evidence_dir(bot.settings)
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_bytes(b"not a folder")  # root ignores permissions: a file blocks it instead
    since = len(bot.api.sent)
    bot.api.send_document(CONTACT, PDF, PDF_NAME, mime_type="application/pdf")
    told = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and PDF_NAME in m.plain_text, since=since
    )
    assert "无法把它存入" in told.plain_text and "下载失败" not in told.plain_text
    # nothing attached: confirming stores the report without evidence
    folder.unlink()
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, "跳过")
    confirm = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "请确认" in m.plain_text, since=since
    )
    assert "佐证材料：无" in confirm.plain_text
    bot.api.click(CONTACT, confirm, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "已记录" in m.plain_text, since=since)
    assert evidence_rows(bot) == [] and len(reports(bot)) == 1


async def test_a_reply_edited_before_its_task_is_chosen_is_stored_as_edited(
    bot: BotHarness,
) -> None:
    await bot.register(2001, "区民政局")
    await bot.tick()
    daily = await bot.api.wait_for(
        lambda m: m.chat_id == 2001 and "第25项" in m.plain_text and bool(m.buttons)
    )
    note = bot.api.send_text(2001, "已建成5个残疾人之家", reply_to_message_id=daily.message_id)
    ask = await bot.api.wait_for(lambda m: m.chat_id == 2001 and "哪一项任务" in m.plain_text)
    await bot.api.wait_idle(quiet=0.1)
    bot.api.edit_text(2001, note["message_id"], "已建成6个残疾人之家")
    await bot.api.wait_idle(quiet=0.2)
    since = len(bot.api.sent)
    bot.api.click(2001, ask, next(label for label, _ in ask.buttons if "第25项" in label))
    saved = await bot.api.wait_for(
        lambda m: m.chat_id == 2001 and "进展说明" in m.plain_text, since=since
    )
    assert "已建成6个残疾人之家" in saved.plain_text
    assert [r.note for r in reports(bot)] == ["已建成6个残疾人之家"]
    # an edit after it is stored changes nothing (pinned in test_e2e_conventions)
    bot.api.edit_text(2001, note["message_id"], "已建成7个残疾人之家")
    await bot.api.wait_idle(quiet=0.2)
    assert [r.note for r in reports(bot)] == ["已建成6个残疾人之家"]


async def test_free_text_edited_before_its_task_is_chosen_is_stored_as_edited(
    bot: BotHarness,
) -> None:
    await bot.register(2001, "区民政局")
    note = bot.api.send_text(2001, "第25项：已建成5个")
    offer = await bot.api.wait_for(lambda m: m.chat_id == 2001 and bool(m.buttons))
    await bot.api.wait_idle(quiet=0.1)
    bot.api.edit_text(2001, note["message_id"], "第25项：已建成8个")
    await bot.api.wait_idle(quiet=0.2)
    since = len(bot.api.sent)
    bot.api.click(2001, offer, next(label for label, _ in offer.buttons if "第25项" in label))
    await bot.api.wait_for(lambda m: m.chat_id == 2001 and "进展说明" in m.plain_text, since=since)
    assert [r.note for r in reports(bot)] == ["第25项：已建成8个"]


async def test_a_huge_range_of_numbers_is_refused_not_an_error(bot: BotHarness) -> None:
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/deadline 1-999999 2027-06-30")
    answer = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert "没有找到第31-999999项任务" in answer.plain_text
    assert "出错" not in answer.plain_text


@pytest.mark.parametrize("bot_settings_overrides", [70], indirect=True)
async def test_a_reply_naming_a_task_offers_it_first_even_from_another_part(
    bot: BotHarness,
) -> None:
    bot.api.user(CANLIAN, "王芳")
    await bot.register(CANLIAN, "区残联")
    await tick(bot)
    first = dailies(bot, CANLIAN)[0]  # tasks 1-30
    since = len(bot.api.sent)
    bot.api.send_text(CANLIAN, "第50项已推进", reply_to_message_id=first.message_id)
    ask = await bot.api.wait_for(
        lambda m: m.chat_id == CANLIAN and "哪一项任务" in m.plain_text, since=since
    )
    labels = [label for label, _ in ask.buttons]
    assert labels[0].startswith("第50项 ") and "您提到的第50项排在最前" in ask.plain_text
    assert [label.split(" ")[0] for label in labels[1:4]] == ["第1项", "第2项", "第3项"]
    since = len(bot.api.sent)
    bot.api.click(CANLIAN, ask, labels[0])
    await bot.api.wait_for(
        lambda m: m.chat_id == CANLIAN and "已将您的留言记录为第50项" in m.plain_text, since=since
    )
    [report] = reports(bot)
    assert (report.note, report.source) == ("第50项已推进", "reply")
    # a task of the part named: first, and the rest in order
    since = len(bot.api.sent)
    bot.api.send_text(CANLIAN, "第3项也好了", reply_to_message_id=first.message_id)
    ask = await bot.api.wait_for(
        lambda m: m.chat_id == CANLIAN and "哪一项任务" in m.plain_text, since=since
    )
    numbers = [label.split(" ")[0] for label, _ in ask.buttons[:-1]]
    assert numbers[:3] == ["第3项", "第1项", "第2项"] and len(numbers) == 30


async def test_the_same_file_twice_is_kept_once_and_hidden_characters_are_not_shown(
    bot: BotHarness,
) -> None:
    await bot.register(CONTACT, "区民政局")
    await start_report(bot)
    for name in ("a.pdf", "a的副本.pdf"):
        since = len(bot.api.sent)
        bot.api.send_document(CONTACT, PDF, name)
        answer = await bot.api.wait_for(
            lambda m, n=name: m.chat_id == CONTACT and n in m.plain_text, since=since
        )
    assert "与已附上的第1个材料内容相同，没有重复保存" in answer.plain_text
    since = len(bot.api.sent)
    bot.api.send_document(CONTACT, b"MZ not a picture", "\u202egpj.exe")
    confirm = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "请确认" in m.plain_text, since=since
    )
    assert "\u202e" not in confirm.plain_text and "《gpj.exe》" in confirm.plain_text
    bot.api.click(CONTACT, confirm, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "已记录" in m.plain_text, since=since)
    assert [r.file_name for r in evidence_rows(bot)] == ["a.pdf", "gpj.exe"]
    store = EvidenceStore(evidence_dir(bot.settings))
    assert len(store.files()) == 2  # the duplicate's copy is not left behind


async def test_export_files_in_a_group_names_itself(bot: BotHarness) -> None:
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/export_files@canggongwei_bot", chat_id=GROUP)
    answer = await bot.api.wait_for(lambda m: m.chat_id == GROUP, since=since)
    assert "/export_files" in answer.plain_text and answer.document is None

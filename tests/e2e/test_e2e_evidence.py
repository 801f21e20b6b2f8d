"""End to end through the stand-in: evidence files kept with their reports, sent back through
/task to whoever may see the task (and only to them, audited), kept by a correction,
exported as the 材料汇编 zip, carried by backup and restore; the 20 MB answer, retried
downloads, the limit of files per report."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.cli import main as cli_main
from bot.config import evidence_dir
from db.engine import Database
from db.files import EvidenceStore
from db.models import AuditEvent, EvidenceFile, StatusReport, Task
from standin.harness import COORDINATOR
from tests.conftest import BotHarness

CONTACT, OTHER = 2001, 2002  # 区民政局 (leads task 2), 潼南税务局 (not named on task 2)
# a real 1x1 PNG: the stand-in, like Telegram, refuses to send bytes that are no image
PHOTO = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
    b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe"
    b"\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4 the implementation report"
CAPTION = "2025年12月专题会议"
PDF_NAME = "落实情况报告.pdf"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def task_id(bot: BotHarness, number: int) -> int:
    with bot.svc.db.session() as s:
        return s.exec(select(Task).where(Task.number == number)).one().id or 0


def evidence_rows(bot: BotHarness) -> list[EvidenceFile]:
    with bot.svc.db.session() as s:
        return list(s.exec(select(EvidenceFile).order_by(EvidenceFile.id)).all())


def reports(bot: BotHarness) -> list[StatusReport]:
    with bot.svc.db.session() as s:
        return list(s.exec(select(StatusReport).order_by(StatusReport.id)).all())


async def start_report(bot: BotHarness, user: int = CONTACT, number: int = 2) -> None:
    """/report on task `number` as 推进中 with a note, up to the evidence question."""
    tid = task_id(bot, number)
    since = len(bot.api.sent)
    bot.api.send_text(user, "/report")
    menu = await bot.api.wait_for(
        lambda m: m.chat_id == user and "请选择要反馈的任务" in m.plain_text, since=since
    )
    bot.api.press_button(user, menu.message_id, f"t2:{tid}")
    statuses = await bot.api.wait_for(
        lambda m: m.chat_id == user and "请选择当前进展" in m.plain_text, since=since
    )
    bot.api.press_button(user, statuses.message_id, f"r2:{tid}:in_progress")
    await bot.api.wait_for(lambda m: m.chat_id == user and "请用一两句话" in m.plain_text)
    since = len(bot.api.sent)
    bot.api.send_text(user, "已召开专题会议。")
    await bot.api.wait_for(
        lambda m: m.chat_id == user and "如有佐证材料" in m.plain_text, since=since
    )


async def report_photo_and_pdf(bot: BotHarness) -> Any:
    """The contact reports task 2 with a captioned photo and a PDF; returns the receipt."""
    await bot.register(CONTACT, "区民政局")
    await start_report(bot)
    since = len(bot.api.sent)
    bot.api.send_photo(CONTACT, PHOTO, caption=CAPTION)
    first = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "请确认" in m.plain_text, since=since
    )
    assert "1个" in first.plain_text and CAPTION in first.plain_text
    assert "最多9个" in first.plain_text  # what more may be attached is stated
    since = len(bot.api.sent)
    bot.api.send_document(CONTACT, PDF, PDF_NAME, mime_type="application/pdf")
    confirm = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "请确认" in m.plain_text, since=since
    )
    # both files are listed before confirming
    assert "2个" in confirm.plain_text
    assert "1. 照片《" in confirm.plain_text and f"2. 文件《{PDF_NAME}》" in confirm.plain_text
    since = len(bot.api.sent)
    bot.api.click(CONTACT, confirm, "确认提交")
    return await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "已记录" in m.plain_text, since=since
    )


async def test_photo_and_pdf_come_back_through_task_and_are_refused_to_others(
    bot: BotHarness,
) -> None:
    await report_photo_and_pdf(bot)
    [report] = reports(bot)
    photo, pdf = evidence_rows(bot)
    assert (photo.report_id, photo.kind, photo.caption, photo.sha256, photo.size) == (
        report.id,
        "photo",
        CAPTION,
        sha(PHOTO),
        len(PHOTO),
    )
    assert (pdf.kind, pdf.file_name, pdf.mime_type, pdf.sha256) == (
        "document",
        PDF_NAME,
        "application/pdf",
        sha(PDF),
    )
    # kept in the evidence folder with the bytes received
    store = EvidenceStore(evidence_dir(bot.settings))
    assert store.read(photo.stored_path or "") == PHOTO
    assert store.read(pdf.stored_path or "") == PDF
    assert photo.stored_path != pdf.stored_path

    # the coordinator sees them in /task 2 and gets each by its button
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/task 2")
    listing = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and "佐证材料（2个" in m.plain_text, since=since
    )
    assert PDF_NAME in listing.plain_text and CAPTION in listing.plain_text
    assert [data for _, data in listing.buttons] == [f"ev:{photo.id}", f"ev:{pdf.id}"]
    since = len(bot.api.sent)
    bot.api.press_button(COORDINATOR, listing.message_id, f"ev:{photo.id}")
    got_photo = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and m.photo is not None, since=since
    )
    assert got_photo.file_content == PHOTO and CAPTION in got_photo.plain_text
    bot.api.press_button(COORDINATOR, listing.message_id, f"ev:{pdf.id}")
    got_pdf = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and m.document is not None, since=since
    )
    assert got_pdf.file_content == PDF
    assert got_pdf.document is not None and got_pdf.document["file_name"] == PDF_NAME

    # a contact of a unit not named on task 2 is refused, and nothing is sent
    await bot.register(OTHER, "潼南税务局")
    own = bot.api.messages_to(OTHER)[-1]
    since = len(bot.api.sent)
    query = bot.api.press_button(OTHER, own.message_id, f"ev:{pdf.id}")
    await bot.api.wait_idle(quiet=0.2)
    assert "无权" in str(bot.api.answered_callbacks.get(query))
    assert not [m for m in bot.api.sent[since:] if m.chat_id == OTHER]
    # the reporting contact may see the task: gets it too
    since = len(bot.api.sent)
    receipt = bot.api.messages_to(CONTACT)[-1]
    bot.api.press_button(CONTACT, receipt.message_id, f"ev:{pdf.id}")
    await bot.api.wait_for(lambda m: m.chat_id == CONTACT and m.document is not None, since=since)
    await bot.api.wait_idle(quiet=0.1)  # the audit is written once the file went out

    # every send is in the audit trail: who, which file
    with bot.svc.db.session() as s:
        sent = s.exec(select(AuditEvent).where(AuditEvent.action == "evidence.sent")).all()
    assert sorted((e.actor_user_id, e.subject) for e in sent) == sorted(
        [
            (COORDINATOR, f"evidence:{photo.id}"),
            (COORDINATOR, f"evidence:{pdf.id}"),
            (CONTACT, f"evidence:{pdf.id}"),
        ]
    )


async def test_the_bundle_holds_both_in_their_folder_with_their_checksums(
    bot: BotHarness,
) -> None:
    await report_photo_and_pdf(bot)
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/export_files")
    sent = await bot.api.wait_for(
        lambda m: m.chat_id == COORDINATOR and m.document is not None, since=since
    )
    assert sent.file_content is not None
    zf = zipfile.ZipFile(io.BytesIO(sent.file_content))
    assert zf.testzip() is None
    names = zf.namelist()
    assert names[0].endswith(".xlsx")
    evidence = [n for n in names if not n.endswith(".xlsx")]
    assert len(evidence) == 2
    for name in evidence:
        folder, unit, _file = name.split("/")
        assert folder.startswith("第2项 ") and unit == "区民政局"
        info = zf.getinfo(name)
        assert info.flag_bits & 0x800  # UTF-8 names: readable on Windows
    by_sha = {sha(zf.read(n)) for n in evidence}
    assert by_sha == {sha(PHOTO), sha(PDF)}
    assert any(n.endswith(PDF_NAME) for n in evidence)
    # the workbook's report sheet lists the files
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(zf.read(names[0])))
    row = [c.value for c in wb["反馈记录"][2]]
    assert "照片\n文件" in row and any(PDF_NAME in str(v) for v in row)
    # a contact may not export
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, "/export_files")
    await bot.api.wait_for(lambda m: m.chat_id == CONTACT, since=since)
    assert not [m for m in bot.api.sent[since:] if m.document is not None]


async def test_a_correction_keeps_the_evidence_unless_replaced(bot: BotHarness) -> None:
    receipt = await report_photo_and_pdf(bot)
    tid = task_id(bot, 2)
    since = len(bot.api.sent)
    bot.api.click(CONTACT, receipt, "修改这条反馈")
    statuses = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and bool(m.buttons), since=since
    )
    bot.api.press_button(CONTACT, statuses.message_id, f"r2:{tid}:done")
    await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "请用一两句话" in m.plain_text)
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, "已全部完成。")
    ask = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "原反馈的2个佐证材料将保留" in m.plain_text,
        since=since,
    )
    assert "替换原有材料" in [label for label, _ in ask.buttons]
    since = len(bot.api.sent)
    bot.api.click(CONTACT, ask, "跳过")
    confirm = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "请确认" in m.plain_text, since=since
    )
    assert "2个" in confirm.plain_text and PDF_NAME in confirm.plain_text
    since = len(bot.api.sent)
    bot.api.click(CONTACT, confirm, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "已记录" in m.plain_text, since=since)
    first, correction = reports(bot)
    assert correction.corrects_id == first.id
    rows = evidence_rows(bot)
    kept = [r for r in rows if r.report_id == correction.id]
    assert [r.sha256 for r in kept] == [sha(PHOTO), sha(PDF)]
    assert kept[0].caption == CAPTION

    # a second correction that replaces them carries only the new file
    receipt = [m for m in bot.api.messages_to(CONTACT) if "修改这条反馈" in str(m.buttons)][-1]
    since = len(bot.api.sent)
    bot.api.click(CONTACT, receipt, "修改这条反馈")
    statuses = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "重新选择" in m.plain_text and bool(m.buttons),
        since=since,
    )
    bot.api.press_button(CONTACT, statuses.message_id, f"r2:{tid}:done")
    await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "请用一两句话" in m.plain_text, since=since
    )
    since = len(bot.api.sent)
    bot.api.send_text(CONTACT, "已全部完成，附验收单。")
    ask = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "将保留" in m.plain_text, since=since
    )
    since = len(bot.api.sent)
    bot.api.click(CONTACT, ask, "替换原有材料")
    await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "不再附在" in m.plain_text, since=since
    )
    since = len(bot.api.sent)
    bot.api.send_voice(CONTACT, b"OggS voice note")
    confirm = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "请确认" in m.plain_text, since=since
    )
    assert "1个" in confirm.plain_text and "语音《" in confirm.plain_text
    bot.api.click(CONTACT, confirm, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "已记录" in m.plain_text, since=since)
    last = reports(bot)[-1]
    assert [(r.kind, r.sha256) for r in evidence_rows(bot) if r.report_id == last.id] == [
        ("voice", sha(b"OggS voice note"))
    ]


async def test_backup_and_restore_keep_the_evidence(
    bot: BotHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if bot.svc.db.dialect != "sqlite":
        pytest.skip("taskbot backup copies SQLite databases (pg_dump for PostgreSQL)")
    await report_photo_and_pdf(bot)
    source = tmp_path / "config.toml"
    source.write_text(
        f'[database]\nurl = "{bot.settings.database.url}"\n'
        f'[evidence]\ndir = "{evidence_dir(bot.settings)}"\n',
        encoding="utf-8",
    )
    backup = tmp_path / "backups" / "taskbot.sqlite3"
    assert cli_main(["--config", str(source), "backup", str(backup)]) == 0
    assert "2 evidence files" in capsys.readouterr().out

    restored = tmp_path / "restored"
    target = restored / "config.toml"
    restored.mkdir()
    target.write_text('[database]\nurl = "sqlite:///data/taskbot.sqlite3"\n', encoding="utf-8")
    assert cli_main(["--config", str(target), "restore", str(backup)]) == 0
    # a second restore never overwrites the database
    assert cli_main(["--config", str(target), "restore", str(backup)]) == 1
    database = Database(f"sqlite:///{restored / 'data' / 'taskbot.sqlite3'}")
    try:
        with database.session() as s:
            rows = list(s.exec(select(EvidenceFile).order_by(EvidenceFile.id)).all())
    finally:
        database.dispose()
    store = EvidenceStore(restored / "data" / "evidence")  # beside the database by default
    assert [sha(store.read(r.stored_path or "") or b"") for r in rows] == [sha(PHOTO), sha(PDF)]


async def test_a_file_over_20_mb_gets_a_clear_answer_before_any_download(
    bot: BotHarness,
) -> None:
    await bot.register(CONTACT, "区民政局")
    await start_report(bot)
    since, downloads = len(bot.api.sent), len(bot.api.downloads)
    bot.api.send_document(CONTACT, b"\0" * (20 * 1024 * 1024 + 1), "全部照片.zip")
    answer = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "20 MB" in m.plain_text, since=since
    )
    assert "全部照片.zip" in answer.plain_text and "压缩或拆分" in answer.plain_text
    assert len(bot.api.downloads) == downloads
    assert not [c for c in bot.api.calls if c.method == "getFile"]
    assert evidence_rows(bot) == []


async def test_a_failing_download_is_retried_then_the_contact_is_told(bot: BotHarness) -> None:
    await bot.register(CONTACT, "区民政局")
    await start_report(bot)
    attempts = bot.settings.evidence.download_attempts
    # one failure: retried, and the file is kept
    bot.api.fail_next("getFile", error_code=502, description="Bad Gateway")
    since = len(bot.api.sent)
    bot.api.send_document(CONTACT, PDF, PDF_NAME, mime_type="application/pdf")
    await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "请确认" in m.plain_text, since=since)
    assert len([c for c in bot.api.calls if c.method == "getFile"]) == 2
    # every attempt fails: the contact is told, nothing is attached
    bot.api.fail_next("getFile", error_code=502, description="Bad Gateway", count=attempts)
    since = len(bot.api.sent)
    bot.api.send_photo(CONTACT, PHOTO)
    told = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "下载失败" in m.plain_text, since=since
    )
    assert f"已尝试{attempts}次" in told.plain_text
    assert len([c for c in bot.api.calls if c.method == "getFile"]) == 2 + attempts
    # the report goes on with the file that was kept
    confirm = [m for m in bot.api.messages_to(CONTACT) if "请确认" in m.plain_text][-1]
    since = len(bot.api.sent)
    bot.api.click(CONTACT, confirm, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == CONTACT and "已记录" in m.plain_text, since=since)
    assert [r.file_name for r in evidence_rows(bot)] == [PDF_NAME]


@pytest.mark.parametrize(
    "bot_settings_overrides", [{"schedule": {"tick_seconds": 3600}, "evidence": {"max_files": 2}}]
)
async def test_the_number_of_files_per_report_is_limited(bot: BotHarness) -> None:
    await bot.register(CONTACT, "区民政局")
    await start_report(bot)
    for n in range(2):
        since = len(bot.api.sent)
        bot.api.send_document(CONTACT, f"file {n}".encode(), f"材料{n}.pdf")
        await bot.api.wait_for(
            lambda m: m.chat_id == CONTACT and "请确认" in m.plain_text, since=since
        )
    since = len(bot.api.sent)
    bot.api.send_document(CONTACT, b"one too many", "材料2.pdf")
    refused = await bot.api.wait_for(
        lambda m: m.chat_id == CONTACT and "最多保存2个" in m.plain_text, since=since
    )
    assert "材料2.pdf" in refused.plain_text

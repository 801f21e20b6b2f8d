"""Tests of `office.plan_import.find_identity` and `document_text`: the plan's identity
(文号, title, period, issue date) from the head of its document, per format, and the error
kinds of `PlanImportError` that the chat translates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from office.plan_import import (
    PlanIdentity,
    PlanImportError,
    document_text,
    find_identity,
    read_document,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIFTEENTH = PlanIdentity(
    title="重庆市潼南区“十五五”残疾人保障和发展规划（2026—2030年）",
    document_number="潼南府办发〔2026〕5号",
    issued_on=date(2026, 4, 18),
    period_start=date(2026, 1, 1),
    period_end=date(2030, 12, 31),
)
HEAD_PARAGRAPHS = [
    "潼南府办发〔2026〕5号",
    "重庆市潼南区人民政府办公室",
    "关于印发重庆市潼南区“十五五”残疾人保障和发展规划（2026—2030年）的通知",
    "各镇人民政府、街道办事处，区政府各部门，有关单位：",
    "《重庆市潼南区“十五五”残疾人保障和发展规划（2026—2030年）》已经区政府同意，现印发给你们。",
    "重庆市潼南区人民政府办公室",
    "2026年4月18日",
    "重庆市潼南区“十五五”残疾人保障和发展规划（2026—2030年）",
    "到2027年3月1日前完成……",
]


def test_text_of_a_pdf_head_with_its_spaces_and_line_breaks() -> None:
    """The notice's title runs over two lines; a date in the plan's body is not the issue
    date; the PDF's spaces around digits are ignored."""
    text = (FIXTURES / "plan_head.txt").read_text(encoding="utf-8")
    assert find_identity(text) == FIFTEENTH


def test_the_appendix_alone_shows_only_its_number() -> None:
    text = (FIXTURES / "plan_appendix.txt").read_text(encoding="utf-8")
    assert find_identity(text) == PlanIdentity(document_number="潼南府办发〔2022〕23号")


def test_a_title_page_without_a_notice_and_a_yearly_plan() -> None:
    text = "重庆市潼南区2027年残疾人工作要点\n\n一、总体要求\n"
    assert find_identity(text) == PlanIdentity(
        title="重庆市潼南区2027年残疾人工作要点",
        period_start=date(2027, 1, 1),
        period_end=date(2027, 12, 31),
    )
    text = "重庆市潼南区“十五五”残疾人保障和发展规划\n（2026—2030年）\n"
    found = find_identity(text)
    assert found.title == FIFTEENTH.title
    assert (found.period_start, found.period_end) == (FIFTEENTH.period_start, FIFTEENTH.period_end)
    assert found.missing() == ("document_number", "issued_on")


def test_nothing_found_in_unrelated_text() -> None:
    assert find_identity("会议纪要\n2026年13月45日\n") == PlanIdentity()
    assert PlanIdentity().missing() == (
        "title",
        "document_number",
        "issued_on",
        "period_start",
        "period_end",
    )


def test_docx_head(tmp_path: Path) -> None:
    from docx import Document

    doc = Document()
    for paragraph in HEAD_PARAGRAPHS:
        doc.add_paragraph(paragraph)
    table = doc.add_table(rows=2, cols=4)
    for cell, value in zip(
        table.rows[0].cells, ["序号", "工作任务", "牵头单位", "责任单位"], strict=True
    ):
        cell.text = value
    for cell, value in zip(
        table.rows[1].cells, ["1", "健全机制。", "区残联", "区民政局"], strict=True
    ):
        cell.text = value
    path = tmp_path / "规划.docx"
    doc.save(str(path))
    assert find_identity(document_text(path)) == FIFTEENTH


def test_xlsx_title_row(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["重庆市潼南区“十五五”残疾人保障和发展规划（2026—2030年）重点任务分工"])
    sheet.append(["序号", "工作任务", "牵头单位", "责任单位"])
    sheet.append([1, "健全机制。", "区残联", "区民政局"])
    path = tmp_path / "分工.xlsx"
    workbook.save(path)
    found = find_identity(document_text(path))
    assert found.document_number is None and found.issued_on is None
    assert (found.period_start, found.period_end) == (date(2026, 1, 1), date(2030, 12, 31))


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("规划.doc", b"whatever", "save_as_docx"),
        ("规划.wps", b"whatever", "save_as_docx"),
        ("规划.ofd", b"whatever", "save_as_docx"),
        ("规划.zip", b"PK", "unsupported"),
        ("规划.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "encrypted"),
        ("规划.docx", b"not a zip at all", "damaged"),
        ("规划.txt", "没有表格的一段话。".encode(), "no_table"),
    ],
)
def test_error_kinds(tmp_path: Path, name: str, content: bytes, kind: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(PlanImportError) as caught:
        from office.plan_import import parse_rows

        parse_rows(read_document(path), [])
    assert caught.value.kind == kind

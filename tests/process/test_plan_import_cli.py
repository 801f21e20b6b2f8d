"""Tests of `taskbot plan import FILE` (bot/cli.py, office/plan_import.py) through
`bot.cli.main`, on small .docx, .xlsx and .pdf documents made here, and the appendix text."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from openpyxl import Workbook
from pypdf import PdfReader, PdfWriter

from bot.cli import main
from db.seed import read_task_file

APPENDIX = Path(__file__).resolve().parents[1] / "fixtures" / "plan_appendix.txt"

# what the small documents below hold
EXPECTED = [
    {
        "number": 1,
        "text": "健全易返贫致贫人口动态监测预警和帮扶机制。",
        "lead_units": ["区乡村振兴局"],
        "responsible_units": ["区民政局", "区残联"],
        "deadline": None,
    },
    {
        "number": 2,
        "text": "实施《第二期国家手语和盲文规范化行动计划（2021—2025年）》。",
        "lead_units": ["区教委", "区残联"],
        "responsible_units": ["区文化旅游委", "区传媒集团"],
        "deadline": None,
    },
    {
        "number": 3,
        "text": "开展残疾人康复健身体育行动。",
        "lead_units": ["区教委", "区残联"],
        "responsible_units": ["区新设中心"],
        "deadline": None,
    },
]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in an empty folder (no ./config.toml); give the root logger back as it was."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def make_docx(path: Path) -> None:
    """Two tables (the second continues the first on a new page): a title row merged across
    the table above the header, multi-line cells (line breaks and paragraphs), a section row
    merged across, and a lead cell merged down over two rows."""
    document = docx.Document()
    document.add_paragraph("附件")
    table = document.add_table(rows=5, cols=4)
    title = table.cell(0, 0).merge(table.cell(0, 3))
    title.text = "重点任务分工"
    for i, word in enumerate(["序号", "工作任务", "牵头单位", "责任单位"]):
        table.cell(1, i).text = word
    section = table.cell(2, 0).merge(table.cell(2, 3))
    section.text = "一、兜底保障"
    table.cell(3, 0).text = "1"
    table.cell(3, 1).text = "健全易返贫致贫人口动态\n监测预警和帮扶机制。"
    table.cell(3, 2).text = "区乡村振兴局"
    table.cell(3, 3).text = "区民政局"
    table.cell(3, 3).add_paragraph("区残联")
    table.cell(4, 0).text = "2"
    table.cell(4, 1).text = "实施《第二期国家手语和盲文规范化行动计划（2021—2025 年）》。"
    table.cell(4, 3).text = "区文化旅游委\n区传媒集团"
    document.add_page_break()
    second = document.add_table(rows=3, cols=4)
    for i, word in enumerate(["序号", "工作任务", "牵头单位", "责任单位"]):
        second.cell(0, i).text = word  # the header repeated on the new page
    second.cell(1, 0).text = "3"
    second.cell(1, 1).text = "开展残疾人康复健身体育行动。"
    second.cell(1, 3).text = "区新设中心"
    second.cell(2, 1).text = "没有序号的一行。"
    lead = table.cell(4, 2)
    lead.text = "区教委、\n区残联"
    merged = second.cell(1, 2).merge(second.cell(2, 2))
    merged.text = "区教委、区残联"
    document.save(str(path))


def make_xlsx(path: Path) -> None:
    """Columns in another order, a title row merged above the header, a section row merged
    across, a lead cell merged down, a multi-line cell and a number stored as a float."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "说明"
    tasks = workbook.create_sheet("分工")
    tasks.append(["重点任务分工"])
    tasks.merge_cells("A1:D1")
    tasks.append(["牵头单位", "工作任务", "责任单位", "序号"])
    tasks.append(["一、兜底保障"])
    tasks.merge_cells("A3:D3")
    tasks.append(
        ["区乡村振兴局", "健全易返贫致贫人口动态\n监测预警和帮扶机制。", "区民政局\n区残联", 1.0]
    )
    tasks.append(
        [
            "区教委、区残联",
            "实施《第二期国家手语和盲文规范化行动计划（2021—2025 年）》。",
            "区文化旅游委，区传媒集团",
            2,
        ]
    )
    tasks.append([None, "开展残疾人康复健身体育行动。", "区新设中心", "3"])
    tasks.merge_cells("A5:A6")
    tasks.append([None, "没有序号的一行。", None, None])
    workbook.save(path)


def make_pdf(pages: list[list[tuple[int, int, str]]]) -> bytes:
    """A PDF with a text layer: each (x, y, text) drawn with a CID font whose codes are the
    characters' Unicode values and a ToUnicode map saying so (enough for text extraction)."""
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CIDSystemInfo "
        b"<< /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def /CMapName /Adobe-Identity-UCS "
        b"def /CMapType 2 def 1 begincodespacerange <0000> <FFFF> endcodespacerange "
        b"1 beginbfrange <0000> <FFFF> <0000> endbfrange endcmap CMapName currentdict /CMap "
        b"defineresource pop end end"
    )
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H "
        b"/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>",
        4: b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo "
        b"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>",
        5: b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    }
    kids = []
    number = 6
    for page in pages:
        content = b"\n".join(
            b"BT /F1 10 Tf %d %d Td <%s> Tj ET" % (x, y, text.encode("utf-16-be").hex().encode())
            for x, y, text in page
        )
        objects[number] = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
        objects[number + 1] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % number
        )
        kids.append(b"%d 0 R" % (number + 1))
        number += 2
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for key in sorted(objects):
        offsets[key] = len(out)
        out += b"%d 0 obj\n" % key + objects[key] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for key in sorted(objects):
        out += b"%010d 00000 n \n" % offsets[key]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


PDF_PAGES = [
    [
        (250, 760, "重点任务分工"),
        (40, 730, "序号"),
        (100, 730, "工作任务"),
        (330, 730, "牵头单位"),
        (450, 730, "责任单位"),
        (100, 710, "一、兜底保障"),
        (40, 690, "1"),
        (100, 690, "健全易返贫致贫人口动态"),
        (330, 690, "区乡村振兴局"),
        (450, 690, "区民政局、区残"),
        (100, 675, "监测预警和帮扶机制。"),
        (450, 675, "联"),
        (40, 650, "2"),
        (100, 650, "实施《第二期国家手语和盲文规范化行"),
        (100, 635, "动计划（2021—2025 年）》。"),
        (330, 635, "区教委、区残联"),
        (450, 635, "区文化旅游委、区"),
    ],
    [
        (40, 730, "序号"),
        (100, 730, "工作任务"),
        (330, 730, "牵头单位"),
        (450, 730, "责任单位"),
        (450, 710, "传媒集团"),
        (40, 690, "3"),
        (100, 690, "开展残疾人康复健身体育行动。"),
        (330, 690, "区教委、区残联"),
        (450, 690, "区新设中心"),
    ],
]


@pytest.mark.parametrize("suffix", [".docx", ".xlsx", ".pdf"])
def test_import_documents_json(capsys, tmp_path, suffix):
    path = tmp_path / f"分工{suffix}"
    if suffix == ".docx":
        make_docx(path)
    elif suffix == ".xlsx":
        make_xlsx(path)
    else:
        path.write_bytes(make_pdf(PDF_PAGES))
    code, out, err = run(capsys, "plan", "import", str(path), "--json")
    assert code == 0, err
    assert json.loads(out) == EXPECTED
    if suffix != ".pdf":  # the row without a number
        assert "1 row not placed" in err and "没有序号的一行" in err
    assert not list(tmp_path.glob("*.toml"))


def test_import_docx_writes_the_task_file_and_report(capsys, tmp_path):
    path = tmp_path / "分工.docx"
    make_docx(path)
    code, out, err = run(capsys, "plan", "import", str(path))
    assert code == 0, err
    written = tmp_path / "分工.tasks.toml"
    assert f"written to {written.name}" in out or str(written) in out
    assert "3 tasks placed" in out
    assert "section: 一、兜底保障" in out
    assert "new: 区新设中心" in out
    assert "not placed: 没有序号的一行。 | 区教委、区残联 (no number)" in out
    text = written.read_text(encoding="utf-8")
    assert "[plan]" in text and "FILL IN" in text
    filled = (
        text.replace('title = ""', 'title = "规划"')
        .replace('document_number = ""', 'document_number = "某文〔2026〕1号"')
        .replace('"YYYY-MM-DD"', "2030-12-31")
    )
    written.write_text(filled, encoding="utf-8")
    plan = read_task_file(written)
    assert [t.number for t in plan.tasks] == [1, 2, 3]
    assert plan.tasks[1].lead_units == ("区教委", "区残联")

    # run again: the reviewed file is not overwritten without --force
    code, _, err = run(capsys, "plan", "import", str(path))
    assert code == 1 and "--force" in err
    assert written.read_text(encoding="utf-8") == filled
    code, _, _ = run(capsys, "plan", "import", str(path), "--force")
    assert code == 0 and written.read_text(encoding="utf-8") == text


def test_import_appendix_text_reproduces_the_shipped_plan(capsys, tmp_path):
    out_file = tmp_path / "new.toml"
    code, out, err = run(capsys, "plan", "import", str(APPENDIX), "--out", str(out_file))
    assert code == 0, err
    assert "30 tasks placed" in out and "0 new units" in out and "0 rows not placed" in out
    text = out_file.read_text(encoding="utf-8")
    out_file.write_text(
        text.replace('title = ""', 'title = "x"')
        .replace('document_number = ""', 'document_number = "x"')
        .replace('"YYYY-MM-DD"', "2025-12-31"),
        encoding="utf-8",
    )

    def key(plan_path: Path | None) -> list[tuple[object, ...]]:
        return [
            (t.number, t.text, t.lead_units, t.responsible_units, t.responsible_units_note)
            for t in read_task_file(plan_path).tasks
        ]

    assert key(out_file) == key(None)
    code, out, _ = run(capsys, "plan", "import", str(APPENDIX), "--json")
    shipped = [t.as_json() | {"deadline": None} for t in read_task_file().tasks]
    assert code == 0 and json.loads(out) == shipped


def test_unit_names_of_the_configured_database_are_known(capsys, tmp_path):
    """With a config, the names of its database count as known (here: after `init`)."""
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n', encoding="utf-8")
    assert main(["--config", str(config), "init"]) == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "bot.db") as conn:
        conn.execute("INSERT INTO unit (name, is_collective) VALUES ('区新设中心', 0)")
    capsys.readouterr()
    path = tmp_path / "分工.xlsx"
    make_xlsx(path)
    code, out, err = run(capsys, "--config", str(config), "plan", "import", str(path))
    assert code == 0, err
    assert "0 new units" in out


@pytest.mark.parametrize("suffix", [".doc", ".wps", ".ofd", ".DOC"])
def test_old_formats_are_asked_as_docx(capsys, tmp_path, suffix):
    path = tmp_path / f"通知{suffix}"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    code, out, err = run(capsys, "plan", "import", str(path))
    assert code == 1 and out == ""
    assert "save it as .docx" in err
    assert list(tmp_path.iterdir()) == [path]


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PDF_PAGES))))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_bytes_without_table() -> bytes:
    document = docx.Document()
    document.add_paragraph("关于印发某某规划的通知")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def broken_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<not xml")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("plan.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "password-protected"),
        ("plan.docx", b"PK\x03\x04 truncated", "damaged"),
        ("plan.docx", broken_docx(), "damaged"),
        ("plan.docx", docx_bytes_without_table(), "no task-division table"),
        ("plan.xlsx", b"not a workbook", "damaged"),
        ("plan.pdf", encrypted_pdf(), "password-protected"),
        ("plan.pdf", b"%PDF-1.4\ngarbage", "damaged"),
        ("plan.pdf", make_pdf([[(40, 700, "一份通知，没有表格。")]]), "no task-division table"),
        ("plan.pdf", make_pdf([[]]), "no text layer"),
        ("plan.txt", "关于印发的通知\n".encode(), "no task-division table"),
        ("plan.odt", b"", "unsupported"),
    ],
)
def test_refusals_write_nothing(capsys, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    for extra in ([], ["--json"]):
        code, out, err = run(capsys, "plan", "import", str(path), *extra)
        assert code == 1, err
        assert out == ""
        assert message in err and "cannot import" in err
    assert list(tmp_path.iterdir()) == [path]


def test_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "plan", "import", str(tmp_path / "none.docx"))
    assert code == 1 and "no such file" in err


def test_a_renamed_units_former_name_is_reported_as_aliased(capsys, tmp_path):
    """After `taskbot unit rename`, the document's old name is recognised: aliased, not new."""
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n', encoding="utf-8")
    assert main(["--config", str(config), "init"]) == 0
    rename = ["--config", str(config), "unit", "rename", "区残联", "区残疾人联合会", "--yes"]
    assert main(rename) == 0
    capsys.readouterr()
    out_file = tmp_path / "plan.tasks.toml"
    argv = ["--config", str(config), "plan", "import", str(APPENDIX), "--out", str(out_file)]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    lines = out.splitlines()
    assert "1 aliased unit (former names)" in lines
    assert "  aliased: 区残联 → 区残疾人联合会" in lines
    assert "0 new units" in lines
    known = next(line for line in lines if " known units: " in line)
    assert known.startswith("25 known units: 区乡村振兴局、区民政局、区财政局、区人力社保局")
    assert "区残联" not in known

"""Import a task-division table (重点任务分工) from its document: `taskbot plan import`.

The core, `parse_rows`, is pure: it takes the table as rows of cell strings (whatever the
format) and returns the tasks with a verification report. Thin readers turn a document into
rows: `.docx` (every table), `.xlsx` (the sheet holding the header), `.pdf` (its text layer)
and text extracted from a PDF (the shape of tests/fixtures/plan_appendix.txt). `read_document`
picks the reader by suffix. Anything that cannot be read raises `PlanImportError`.

Cleaning follows the transcription rules of db/data/plan.toml: a text cell's line breaks are
joined without spaces and the PDF extraction's spaces around Latin digits are removed; unit
cells split on 、，, and line breaks, in document order; a cell a list of names cannot carry
("……等，各镇街") is kept as `responsible_units_note`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

SECTION = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[）)])")
SECTION_NUMBER = re.compile(r"^[（(]?[一二三四五六七八九十]+[）)]?[、.．]?$")
NUMBER = re.compile(r"^(\d{1,4})[.．、]?$")
UNIT_SEPARATORS = re.compile(r"[、，,；;\n]+")
# the last character of a whole unit name (区残联, 区教委, 区总工会, 团区委, 各镇街, 区传媒集团 ...)
UNIT_ENDINGS = tuple("局委联会团街办院所处部站队司行厅")
GENERIC_UNIT = re.compile(r"^\w{1,14}(?:局|委|联|会|集团|街|办|院|所|处|部|中心|公司)$")
SAVE_AS_DOCX = {
    ".doc": "an old Word document",
    ".wps": "a WPS document",
    ".ofd": "an OFD document",
}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class PlanImportError(ValueError):
    """The document cannot be imported; the message says why and what to do (English).

    `kind` names the reason for a translation (the chat's texts): "save_as_docx",
    "unsupported", "unreadable", "encrypted", "no_text_layer", "damaged", "no_table",
    "no_tasks".
    """

    def __init__(self, message: str, kind: str = "damaged") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ImportedTask:
    """One row of the table: 序号, 工作任务, 牵头单位, 责任单位 and 完成时限 if given."""

    number: int
    text: str
    lead_units: tuple[str, ...]
    responsible_units: tuple[str, ...]
    deadline: date | None = None
    responsible_units_note: str | None = None

    def as_json(self) -> dict[str, object]:
        """Return the JSON shape of `taskbot tasks --json` (deadline null when not given)."""
        return {
            "number": self.number,
            "text": self.text,
            "lead_units": list(self.lead_units),
            "responsible_units": list(self.responsible_units),
            "deadline": self.deadline.isoformat() if self.deadline else None,
        }


@dataclass(frozen=True)
class UnitCheck:
    """A unit name of the document: known, aliased (a former name, or that of a unit merged
    into another: `current` is the unit's name now), or new with the closest known names."""

    name: str
    known: bool
    suggestions: tuple[str, ...] = ()
    current: str | None = None


@dataclass(frozen=True)
class ImportResult:
    """The parsed tasks and what the verification report says about the table."""

    tasks: tuple[ImportedTask, ...]
    rows_read: int
    sections: tuple[str, ...]
    units: tuple[UnitCheck, ...]
    not_placed: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    def report(self) -> list[str]:
        """The verification report, one line each (English, with the document's names)."""
        numbers = [t.number for t in self.tasks]
        lines = [f"{self.rows_read} table rows read: {len(self.tasks)} tasks placed"]
        if numbers:
            lines[0] += f" (numbers {numbers[0]}-{numbers[-1]})"
            missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
            if missing:
                lines.append("numbers missing: " + ", ".join(map(str, missing)))
        lines.append(_count(len(self.sections), "section row") + " skipped")
        lines.extend(f"  section: {s}" for s in self.sections)
        known = [u.name for u in self.units if u.known and u.current is None]
        aliased = [u for u in self.units if u.current is not None]
        new = [u for u in self.units if not u.known]
        lines.append(f"{len(known)} known units: {'、'.join(known) or '-'}")
        if aliased:
            lines.append(_count(len(aliased), "aliased unit") + " (former names)")
            lines.extend(f"  aliased: {u.name} → {u.current}" for u in aliased)
        lines.append(_count(len(new), "new unit"))
        for unit in new:
            hint = "closest known: " + "、".join(unit.suggestions)
            hint = hint if unit.suggestions else "no known name is close"
            lines.append(f"  new: {unit.name} ({hint})")
        lines.extend(f"warning: {w}" for w in self.warnings)
        lines.append(_count(len(self.not_placed), "row") + " not placed")
        lines.extend(f"  not placed: {row}" for row in self.not_placed)
        return lines


# --------------------------------------------------------------------------- the pure core


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def clean_text(cell: str) -> str:
    """A text cell with its line breaks joined and whitespace removed (a space stays only
    between two Latin letters: "5G 网络" loses it, "Wi Fi" keeps it)."""
    return re.sub(r"\s+", _space, cell.strip())


def _space(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    latin = start > 0 and end < len(text) and (text[start - 1] + text[end]).isascii()
    return " " if latin and text[start - 1].isalpha() and text[end].isalpha() else ""


def split_units(cell: str) -> tuple[tuple[str, ...], str | None]:
    """The unit names of a cell in document order, and the cell's wording when the names
    alone cannot carry it (an open list "……等")."""
    names: list[str] = []
    for piece in UNIT_SEPARATORS.split(cell.strip()):
        name = re.sub(r"\s+", "", piece).removesuffix("等")
        if name and name not in names:
            names.append(name)
    wording = re.sub(r"\s+", "", UNIT_SEPARATORS.sub("、", cell.strip())).strip("、")
    note = None if wording == "、".join(names) else re.sub(r"\s+", "", cell)
    return tuple(names), note


def parse_deadline(cell: str) -> date | None:
    """2026-06-30, 2026年6月30日, 2026年6月底 (month end), 2026年底 (year end); else None."""
    text = re.sub(r"\s+", "", cell)
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    m = re.fullmatch(r"(\d{4})年(?:(\d{1,2})月(?:(\d{1,2})日)?)?(?:底|前|末|以前)?", text)
    if not m:
        return None
    year, month, day = int(m[1]), int(m[2] or 12), m[3]
    try:
        if day:
            return date(year, month, int(day))
        return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    except ValueError:
        return None


@dataclass(frozen=True)
class Columns:
    """Where the header row puts each column (an index into the row)."""

    number: int
    text: int
    lead: int
    responsible: int | None
    deadline: int | None


def find_header(row: Sequence[str]) -> Columns | None:
    """The columns of a header row (序号, 工作任务, 牵头单位, [责任单位], [完成时限]), any order."""
    cells = [re.sub(r"\s+", "", c) for c in row]

    def where(*words: str) -> int | None:
        return next((i for i, c in enumerate(cells) if any(w in c for w in words)), None)

    number, text = where("序号"), where("任务", "工作内容", "主要内容")
    lead, responsible = where("牵头"), where("责任单位", "配合单位", "参与单位")
    if number is None or text is None or lead is None:
        return None
    if len({number, text, lead}) < 3:
        return None
    return Columns(number, text, lead, responsible, where("时限", "完成时间"))


def _cell(row: Sequence[str], index: int | None) -> str:
    return row[index] if index is not None and index < len(row) else ""


def _short(row: Sequence[str]) -> str:
    shown = " | ".join(re.sub(r"\s+", "", c) for c in row if c.strip())
    return shown if len(shown) <= 80 else shown[:79] + "…"


def parse_rows(
    rows: Iterable[Sequence[str]],
    known_units: Iterable[str],
    aliases: Mapping[str, str] | None = None,
) -> ImportResult:
    """Parse the table (`aliases`: {former name: current name} of the known units, reported
    as aliased): rows above the first header row (a title) are ignored, repeated header rows
    skipped, section rows (一、…) reported and skipped, numbered rows become
    tasks, and every other non-empty row is reported as not placed (never guessed). A row
    right after one with the same number (a merged 序号 cell, a row continued on the next
    page) continues that task: its cells that differ from the row above are joined on.

    Raises `PlanImportError` when no row is a header of such a table.
    """
    columns: Columns | None = None
    cells: dict[int, list[str]] = {}  # number: text, lead, responsible and deadline cells
    above: list[str] = []  # the cells of the row above when it was a task's
    above_number: int | None = None  # and its number
    sections: list[str] = []
    not_placed: list[str] = []
    warnings: list[str] = []
    rows_read = 0
    for row in rows:
        header = find_header(row)
        if header is not None:
            columns = columns or header
            continue
        if columns is None or not any(c.strip() for c in row):
            continue
        rows_read += 1
        distinct = {clean_text(c) for c in row if c.strip()}
        number_cell = clean_text(_cell(row, columns.number))
        previous, above = above, []
        previous_number, above_number = above_number, None
        if len(distinct) == 1 and SECTION.match(next(iter(distinct))):
            sections.append(next(iter(distinct)))
            continue
        if SECTION_NUMBER.match(number_cell):  # 一 | 兜底保障: a section numbered in 序号
            sections.append(" ".join(dict.fromkeys(clean_text(c) for c in row if c.strip())))
            continue
        m = NUMBER.match(number_cell)
        if m is None:
            reason = "no number" if not number_cell else f"number {number_cell!r} not a number"
            not_placed.append(f"{_short(row)} ({reason})")
            continue
        number = int(m[1])
        here = [
            _cell(row, index)
            for index in (columns.text, columns.lead, columns.responsible, columns.deadline)
        ]
        if number in cells and previous and previous_number == number:
            warnings.append(f"task {number}: continued on the next row, joined")
            for i, (cell, before) in enumerate(zip(here, previous, strict=True)):
                if cell.strip() and cell != before:
                    cells[number][i] += "\n" + cell
        elif number in cells:
            not_placed.append(f"{_short(row)} (number {number} used twice)")
            continue
        else:
            cells[number] = list(here)
        above, above_number = here, number
    if columns is None:
        raise PlanImportError(
            "no task-division table found: no header row with 序号, 工作任务 and 牵头单位",
            "no_table",
        )
    tasks: list[ImportedTask] = []
    for number, (text_cell, lead_cell, responsible_cell, deadline_cell) in sorted(cells.items()):
        text = clean_text(text_cell)
        leads, lead_note = split_units(lead_cell)
        responsible, note = split_units(responsible_cell)
        if not text:
            not_placed.append(f"task {number}: no task text")
            continue
        if not leads:
            warnings.append(f"task {number} has no lead unit")
        if lead_note is not None:
            warnings.append(f"task {number}: lead units written {lead_note!r}")
        deadline_text = clean_text(deadline_cell)
        deadline = parse_deadline(deadline_text) if deadline_text else None
        if deadline_text and deadline is None:
            warnings.append(f"task {number}: deadline {deadline_text!r} is not a date; left out")
        tasks.append(ImportedTask(number, text, leads, responsible, deadline, note))
    if not tasks:
        raise PlanImportError("the table has a header but no numbered task rows", "no_tasks")
    return ImportResult(
        tasks=tuple(tasks),
        rows_read=rows_read,
        sections=tuple(sections),
        units=check_units(tasks, known_units, aliases),
        not_placed=tuple(not_placed),
        warnings=tuple(warnings),
    )


def check_units(
    tasks: Sequence[ImportedTask],
    known_units: Iterable[str],
    aliases: Mapping[str, str] | None = None,
) -> tuple[UnitCheck, ...]:
    """Every unit name of the tasks (in order of first appearance): known, aliased (a key of
    `aliases`, {former name: current name}), or new with the closest known names."""
    aliases = aliases or {}
    known = list(dict.fromkeys(known_units))
    names = dict.fromkeys(n for t in tasks for n in (*t.lead_units, *t.responsible_units))

    def check(name: str) -> UnitCheck:
        if name in aliases and name not in known:
            return UnitCheck(name, True, current=aliases[name])
        if name in known:
            return UnitCheck(name, True)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        return UnitCheck(name, False, tuple(close))

    return tuple(check(name) for name in names)


# --------------------------------------------------------------------------- text of a PDF

HEADER_WORDS = ("序号", "牵头")
PAGE_NUMBER = re.compile(r"^[-—–]+\s*\d+\s*[-—–]+$")


def _unit_like(piece: str, known: frozenset[str]) -> bool:
    """Whether a fragment starts a unit cell: its first name is known or looks like one."""
    if "。" in piece:
        return False
    first = UNIT_SEPARATORS.split(piece)[0].removesuffix("等")
    return first in known or bool(GENERIC_UNIT.match(first))


def _complete(parts: list[str], known: frozenset[str]) -> bool:
    """Whether a unit cell's fragments so far end with a whole name (the next fragment then
    starts the next cell); a cell ending in 、 or in part of a name goes on."""
    cell = "".join(parts)
    if not cell or cell[-1] in "、，,；;":
        return False
    tail = UNIT_SEPARATORS.split(cell)[-1].removesuffix("等")
    return tail in known or tail.endswith(UNIT_ENDINGS) or cell.endswith("等")


class _TextRow:
    """One numbered row of the extracted text, its cells filled line by line."""

    def __init__(self, number: str, known: frozenset[str]) -> None:
        self.number = number
        self.known = known
        self.text: list[str] = []
        self.lead: list[str] = []
        self.responsible: list[str] = []
        self.text_done = False

    def add(self, pieces: list[str]) -> None:
        """Place the fragments of one line (the PDF separates a line's cells by spaces)."""
        if not pieces:
            return
        first = pieces[0]
        unit_like = bool(self.text) and _unit_like(first, self.known)
        if self.lead or self.responsible:  # the text goes on only where it has not ended
            text_goes_on = not self.text_done and not unit_like
        else:  # before the first unit, a line that is no unit is text (even after a 。)
            text_goes_on = not unit_like
        if text_goes_on or "。" in first:
            self.text.append(first)
            self.text_done = first.endswith("。")
            pieces = pieces[1:]
        elif not self.text_done:
            self.text_done = True
        if len(pieces) >= 2:
            if self.responsible and _complete(self.lead, self.known):
                self.responsible.extend(pieces)
            else:
                self.lead.append(pieces[0])
                self.responsible.extend(pieces[1:])
        elif pieces:
            if not _complete(self.lead, self.known):
                self.lead.append(pieces[0])
            else:
                self.responsible.append(pieces[0])

    def cells(self) -> list[str]:
        return [self.number, "".join(self.text), "".join(self.lead), "".join(self.responsible)]


def rows_from_text(text: str, known_units: Iterable[str] = ()) -> list[list[str]]:
    """The table rows of text extracted from a PDF (the layout of its text layer): after
    the header line 序号 工作任务 牵头单位 责任单位, a row starts at a line beginning with the
    next number; its cells come one fragment per line or several on a line separated by
    spaces; repeated page headers and page numbers are skipped; section lines are rows.

    The PDF puts spaces around Latin digits; they are removed first.
    """
    known = frozenset(known_units)
    rows: list[list[str]] = []
    current: _TextRow | None = None
    last = 0
    in_table = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or PAGE_NUMBER.match(line):
            continue
        if all(word in line for word in HEADER_WORDS):
            if not in_table:
                rows.append(line.split())
                in_table = True
            continue
        if not in_table:
            continue
        m = re.match(r"^(\d{1,3})(?:\s+|$)", line)
        if m and (int(m[1]) == last + 1 or (current is None and int(m[1]) > 0)):
            if current is not None:
                rows.append(current.cells())
            last = int(m[1])
            current = _TextRow(m[1], known)
            line = line[m.end() :]
        elif SECTION.match(line) and (current is None or current.text_done):
            if current is not None:
                rows.append(current.cells())
                current = None
            rows.append(["", clean_text(line), "", ""])
            continue
        line = re.sub(r"\s*(\d+)\s*", r"\1", line)
        if current is None:
            rows.append(["", line, "", ""])  # text before the first number: not placed
        else:
            current.add(line.split())
    if current is not None:
        rows.append(current.cells())
    return rows


# --------------------------------------------------------------------------- readers


def rows_from_docx(path: Path) -> list[list[str]]:
    """Every row of every table of a .docx, from the first table with a header on (merged
    cells repeat their text in each column and row they cover)."""
    from docx import Document

    rows: list[list[str]] = []
    for table in Document(str(path)).tables:
        table_rows = [[cell.text for cell in row.cells] for row in table.rows]
        if rows or any(find_header(r) for r in table_rows):
            rows.extend(table_rows)
    return rows


def rows_from_xlsx(path: Path) -> list[list[str]]:
    """The rows of the first sheet with a header row; a merged range repeats its value."""
    from openpyxl import load_workbook

    workbook = load_workbook(path, data_only=True)
    try:
        for sheet in workbook.worksheets:
            grid = [
                ["" if v is None else _cell_str(v) for v in row]
                for row in sheet.iter_rows(values_only=True)
            ]
            for merged in sheet.merged_cells.ranges:
                value = grid[merged.min_row - 1][merged.min_col - 1]
                for r in range(merged.min_row - 1, merged.max_row):
                    for c in range(merged.min_col - 1, merged.max_col):
                        grid[r][c] = value
            if any(find_header(r) for r in grid):
                return grid
    finally:
        workbook.close()
    return []


def _cell_str(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()[:10]
    return str(value)


def text_of_pdf(path: Path) -> str:
    """The text layer of a PDF, page after page."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted and not reader.decrypt(""):
        raise PlanImportError(
            f"{path.name} is password-protected: save an unprotected copy and import that",
            "encrypted",
        )
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    if not text.strip():
        raise PlanImportError(
            f"{path.name} has no text layer (a scan?): import the .docx or .xlsx of the "
            "document instead",
            "no_text_layer",
        )
    return text


def read_document(path: Path, known_units: Iterable[str] = ()) -> list[list[str]]:
    """The table rows of the document at `path`, by its suffix. Raises `PlanImportError`."""
    suffix = path.suffix.lower()
    if suffix in SAVE_AS_DOCX:
        raise PlanImportError(
            f"{path.name} is {SAVE_AS_DOCX[suffix]}, which cannot be read: open it in Word or "
            "WPS and save it as .docx (文件 → 另存为 → Word 文档 .docx), then import that file",
            "save_as_docx",
        )
    readers = {".docx", ".xlsx", ".pdf", ".txt"}
    if suffix not in readers:
        raise PlanImportError(
            f"{path.name}: unsupported file type {suffix or '(none)'}; "
            "import a .docx, .xlsx, .pdf or .txt",
            "unsupported",
        )
    try:
        head = path.open("rb").read(8)
    except OSError as exc:
        raise PlanImportError(f"cannot read {path}: {exc.strerror or exc}", "unreadable") from exc
    if suffix in {".docx", ".xlsx"} and head == OLE_MAGIC:
        raise PlanImportError(
            f"{path.name} is password-protected (encrypted) or an old .doc/.xls renamed: "
            "remove the password or save it again as .docx/.xlsx, then import that file",
            "encrypted",
        )
    try:
        if suffix == ".docx":
            return rows_from_docx(path)
        if suffix == ".xlsx":
            return rows_from_xlsx(path)
        if suffix == ".pdf":
            return rows_from_text(text_of_pdf(path), known_units)
        return rows_from_text(_read_text(path), known_units)
    except PlanImportError:
        raise
    except Exception as exc:  # the libraries' many errors of a damaged file
        raise PlanImportError(
            f"{path.name} cannot be read as {suffix}: it is damaged or not really a "
            f"{suffix} file ({type(exc).__name__}: {exc})"
        ) from exc


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")  # a text file saved on a Chinese Windows


def import_document(
    path: Path, known_units: Iterable[str], aliases: Mapping[str, str] | None = None
) -> ImportResult:
    """Read the document at `path` and parse its table (`aliases`: {former name: current
    name}, reported as aliased). Raises `PlanImportError`."""
    known = list(known_units)
    return parse_rows(read_document(path, [*known, *(aliases or {})]), known, aliases)


# --------------------------------------------------------------------------- the plan's identity

DOCUMENT_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}〔\d{4}〕\d{1,4}号")
ISSUING_LINE = re.compile(r"关于印发(.{2,150}?)的通知")
PLAN_TITLE = re.compile(r"\S*(?:规划|要点|方案|计划)(?:[（(]\d{4}[—–-]+\d{4}年[）)])?$")
PERIOD = re.compile(r"[（(](\d{4})[—–-]+(\d{4})年[）)]")
YEAR = re.compile(r"(\d{4})年")
FULL_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


@dataclass(frozen=True)
class PlanIdentity:
    """What a document says of itself; a field is None when the text does not show it.

    `period_start` is 1 January of the first year, `period_end` 31 December of the last year
    of （2026—2030年）, or of the single year of a title like 2027年工作要点."""

    title: str | None = None
    document_number: str | None = None
    issued_on: date | None = None
    period_start: date | None = None
    period_end: date | None = None

    def missing(self) -> tuple[str, ...]:
        """The names of the fields not found, in the order above."""
        return tuple(
            name
            for name in ("title", "document_number", "issued_on", "period_start", "period_end")
            if getattr(self, name) is None
        )


def _joined(line: str) -> str:
    """A line with the whitespace a PDF extraction puts around digits and between
    characters removed (a Chinese 公文 head has no meaningful spaces)."""
    return re.sub(r"\s+", "", line)


def find_identity(text: str) -> PlanIdentity:
    """The identity of a plan from the text of its document (its head: the notice that
    issues it, or the plan's own title page); fields the text does not show are None.

    - 文号: the first ``潼南府办发〔2026〕5号``-style number;
    - title: the document named in the ``关于印发……的通知`` line (without 《》), else the first
      line that ends like a plan's title (……规划（2026—2030年）, ……要点, ……方案, ……计划), a
      trailing 重点任务分工 left out;
    - period: from （2026—2030年） in the title, else from its single year (2027年……要点);
    - issue date: the last full date (2026年4月18日) before the plan's body starts (the
      title line standing alone after the notice, an 附件 line or the table's header),
      or in the whole text when no body starts.
    """
    lines = [line for line in (_joined(raw) for raw in text.splitlines()) if line]
    flat = "".join(lines)
    number = DOCUMENT_NUMBER.search(flat)
    title: str | None = None
    body = len(flat)
    notice = ISSUING_LINE.search(flat)
    if notice:
        title = notice[1].strip('《》“”"')
        again = flat.find(title, notice.end())
        while again > 0 and flat[again - 1] == "《":
            again = flat.find(title, again + 1)
        if again > 0:
            body = again
    else:
        for index, line in enumerate(lines):
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if PERIOD.fullmatch(following) and not PERIOD.search(line):
                line += following
            line = re.sub(r"(?:的)?(?:重点)?(?:工作)?任务分工表?$", "", line)
            if PLAN_TITLE.fullmatch(line):
                title = line
                break
    for marker in (re.search(r"附件\d*[:：]", flat), re.search(r"序号\S{0,6}任务", flat)):
        if marker is not None and marker.start() < body:
            body = marker.start()
    start = end = None
    if title:
        period = PERIOD.search(title)
        years = [int(y) for y in YEAR.findall(title)]
        if period:
            start, end = date(int(period[1]), 1, 1), date(int(period[2]), 12, 31)
        elif len(years) == 1:
            start, end = date(years[0], 1, 1), date(years[0], 12, 31)
    issued = None
    for m in FULL_DATE.finditer(flat[:body]):
        try:
            issued = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            continue
    return PlanIdentity(
        title=title or None,
        document_number=number[0] if number else None,
        issued_on=issued,
        period_start=start,
        period_end=end,
    )


def document_text(path: Path) -> str:
    """The running text of a document, for `find_identity`: a .docx's paragraphs, an .xlsx's
    first sheet's non-empty cells (one row a line), a PDF's text layer, a text file.
    Raises `PlanImportError` as `read_document` does."""
    read_document(path)  # the same checks and errors first (suffix, encryption, damage)
    suffix = path.suffix.lower()
    try:
        if suffix == ".docx":
            from docx import Document

            return "\n".join(p.text for p in Document(str(path)).paragraphs)
        if suffix == ".xlsx":
            from openpyxl import load_workbook

            workbook = load_workbook(path, read_only=True, data_only=True)
            try:
                rows = workbook.worksheets[0].iter_rows(values_only=True)
                return "\n".join(
                    " ".join(_cell_str(v) for v in row if v is not None) for row in rows
                )
            finally:
                workbook.close()
        if suffix == ".pdf":
            return text_of_pdf(path)
        return _read_text(path)
    except PlanImportError:
        raise
    except Exception as exc:
        raise PlanImportError(
            f"{path.name} cannot be read as {suffix}: {type(exc).__name__}: {exc}"
        ) from exc


# --------------------------------------------------------------------------- the task file


def _toml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def task_file_text(result: ImportResult, source: str, identity: PlanIdentity | None = None) -> str:
    """A task file in the format of db/data/plan.toml: its [plan] filled with what the
    document says of itself (`identity`, `find_identity`), the rest left as marked
    placeholders for the coordinator."""
    found = identity or PlanIdentity()

    def field(key: str, value: str | None, placeholder: str, hint: str) -> str:
        if value is not None:
            return f"{key} = {value}  # from the document: check it"
        return f"{key} = {placeholder}  # FILL IN: {hint}"

    def day(value: date | None) -> str | None:
        return value.isoformat() if value is not None else None

    lines = [
        f"# 重点任务分工 imported from {source} by `taskbot plan import`.",
        "# Review every task against the document (the verification report lists what was",
        "# checked), check the [plan] values read from the document and fill in those marked",
        "# FILL IN before loading this file with `taskbot plan load`.",
        "# Format and transcription rules: see db/data/plan.toml.",
        "",
        "[plan]",
        field(
            "title",
            _toml_str(found.title) if found.title else None,
            '""',
            "the document's title, e.g. 重庆市潼南区……规划（2026—2030年）",
        ),
        field(
            "document_number",
            _toml_str(found.document_number) if found.document_number else None,
            '""',
            "e.g. 潼南府办发〔2026〕1号",
        ),
        '# short_name = "十五五"  # optional: how commands name the plan (/task 十五五 5)',
        field("issued_on", day(found.issued_on), '"YYYY-MM-DD"', "the issue date: 2026-04-18"),
        field(
            "period_start",
            day(found.period_start),
            '"YYYY-MM-DD"',
            "the first day of the plan period: 2026-01-01",
        ),
        field(
            "period_end",
            day(found.period_end),
            '"YYYY-MM-DD"',
            "the last day of the plan period: 2030-12-31",
        ),
        field(
            "default_deadline",
            day(found.period_end),
            '"YYYY-MM-DD"',
            "deadline of tasks without their own",
        ),
    ]
    for task in result.tasks:
        lines += [
            "",
            "[[tasks]]",
            f"number = {task.number}",
            f"text = {_toml_str(task.text)}",
            f"lead_units = [{', '.join(map(_toml_str, task.lead_units))}]",
            f"responsible_units = [{', '.join(map(_toml_str, task.responsible_units))}]",
        ]
        if task.responsible_units_note is not None:
            lines.append(f"responsible_units_note = {_toml_str(task.responsible_units_note)}")
        if task.deadline is not None:
            lines.append(f"deadline = {task.deadline.isoformat()}")
    lines += [
        "",
        "# Main indicators (主要指标, 专栏1), if the plan lists them: one table each, e.g.",
        "# [[indicators]]",
        "# number = 1",
        '# name = "残疾人基本康复服务覆盖率"',
        '# measure = "%"',
        '# target = "85"  # as written: 85 means at least 85; ＞90 more than 90; or a text',
        '# kind = "level"  # level: reached in a year; cumulative: a total over the period',
        '# attribute = "约束性"  # or 预期性',
    ]
    return "\n".join(lines) + "\n"

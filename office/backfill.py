"""Past records (补录) from a spreadsheet in the ledger's own 反馈记录 layout.

A coordinator exports the ledger (`office.ledger`), adds rows to its 反馈记录 sheet (or a
sheet with the same headers), and loads them with `taskbot plan backfill FILE.xlsx`. The
sheet read is the one named 反馈记录, else the first. Its header row is the first of the first
`HEADER_SEARCH_ROWS` rows holding 反馈时间, 序号, 单位 and 状态; columns are found by name
(`office.ledger.REPORT_HEADERS`), in any order; 说明 and 计划 are optional columns.

Each later row is read by `read_rows` (pure) into a `BackfillRow` or a `RowProblem`:
- 反馈时间: a date or date-time cell, or text (2023-06-30, 2023/6/30, 2023年6月30日, spaces
  inside it ignored, also followed by a time); its local date is the record's date;
- 序号: a whole number; 单位: a name as typed (resolved by the caller);
- 状态: a status word (`jobs.names.parse_status`), or 仅说明 for a note-only record;
- 说明, 计划: text (计划 empty: the caller's default plan).
Empty rows are ignored. Rows whose 来源 is filled are records the bot already holds (an
exported ledger's own rows) and are skipped, never stored twice. Whether a row may be
stored (its date against today and the plan, its unit against the task) is the caller's
check (`jobs.backfill.check_backfill`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from jobs.backfill import read_past_date
from jobs.names import parse_status
from jobs.types import Status
from office.ledger import NOTE_ONLY, SHEET_REPORTS

HEADER_SEARCH_ROWS = 10
REQUIRED = ("反馈时间", "序号", "单位", "状态")
OPTIONAL = ("说明", "计划", "来源")


class BackfillFileError(Exception):
    """The file cannot be read as a 反馈记录 sheet (the message says why, in English)."""


@dataclass(frozen=True)
class BackfillRow:
    """One record read from the sheet; `row` is its row number in the sheet (1-based)."""

    row: int
    occurred_on: date
    number: int
    unit: str
    status: Status | None
    note: str
    plan: str = ""


@dataclass(frozen=True)
class RowProblem:
    """A row that cannot be read; `reason` in English, naming the value."""

    row: int
    reason: str


@dataclass
class BackfillSheet:
    """What a sheet holds: records read, rows refused, rows skipped (already stored)."""

    rows: list[BackfillRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\x00", "").strip()


def _date_of(value: object, today: date) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    whole = read_past_date(text, today)  # spaces inside a date: 2023年 6月 30日
    if whole is not None:
        return whole
    first = text.split()[0]
    if "T" in first and first[:4].isdigit():
        first = first.split("T")[0]
    return read_past_date(first, today)


def _number_of(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value > 0 else None
    text = _text(value).lstrip("第").rstrip("项")
    return int(text) if text.isdecimal() and 0 < len(text) <= 6 and int(text) > 0 else None


def find_header(rows: Sequence[Sequence[object]]) -> tuple[int, dict[str, int]] | None:
    """The index of the header row among `rows` (the first `HEADER_SEARCH_ROWS`) and the
    column of each known header, or None when no row holds all of `REQUIRED`."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        for column, cell in enumerate(row):
            name = _text(cell)
            if name in REQUIRED + OPTIONAL and name not in columns:
                columns[name] = column
        if all(name in columns for name in REQUIRED):
            return index, columns
    return None


def read_rows(rows: Iterable[Sequence[object]], today: date) -> BackfillSheet:
    """Read a sheet's rows (cell values, header included) into records and problems.

    `today` is the local date (a text date without a year is never read). Raises
    `BackfillFileError` when no header row is found."""
    table = [tuple(row) for row in rows]
    found = find_header(table)
    if found is None:
        raise BackfillFileError(
            "no header row with 反馈时间, 序号, 单位 and 状态 in the first "
            f"{HEADER_SEARCH_ROWS} rows"
        )
    header, columns = found
    sheet = BackfillSheet()

    def cell(row: Sequence[object], name: str) -> object:
        column = columns.get(name)
        return row[column] if column is not None and column < len(row) else None

    for index, row in enumerate(table[header + 1 :], start=header + 2):
        if not any(_text(value) for value in row):
            continue
        if _text(cell(row, "来源")):
            sheet.skipped.append(index)
            continue
        when, number_cell = cell(row, "反馈时间"), cell(row, "序号")
        unit, status_word = _text(cell(row, "单位")), _text(cell(row, "状态"))
        occurred_on = _date_of(when, today)
        number = _number_of(number_cell)
        problem: str | None = None
        status: Status | None = None
        if occurred_on is None:
            problem = f"反馈时间 {_text(when)!r} is not a date (write 2023-06-30)"
        elif number is None:
            problem = f"序号 {_text(number_cell)!r} is not a task number"
        elif not unit:
            problem = "单位 is empty"
        elif status_word != NOTE_ONLY:
            status = parse_status(status_word)
            if status is None:
                problem = f"状态 {status_word!r} is not 推进中, 已完成, 遇到困难 or {NOTE_ONLY}"
        if problem is not None or occurred_on is None or number is None:
            sheet.problems.append(RowProblem(index, problem or "unreadable row"))
            continue
        sheet.rows.append(
            BackfillRow(
                row=index,
                occurred_on=occurred_on,
                number=number,
                unit=unit,
                status=status,
                note=_text(cell(row, "说明")),
                plan=_text(cell(row, "计划")),
            )
        )
    return sheet


def read_backfill_file(path: Path, today: date) -> BackfillSheet:
    """Read an .xlsx file's 反馈记录 sheet (else its first sheet) with `read_rows`.

    Raises `BackfillFileError` when the file is missing, not an .xlsx workbook, or has no
    header row."""
    from openpyxl import load_workbook

    if not path.is_file():
        raise BackfillFileError(f"{path}: no such file")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise BackfillFileError(f"{path} is not an .xlsx workbook ({exc})") from exc
    try:
        sheet = workbook[SHEET_REPORTS] if SHEET_REPORTS in workbook.sheetnames else workbook.active
        if sheet is None:
            raise BackfillFileError(f"{path} has no sheet")
        return read_rows(sheet.iter_rows(values_only=True), today)
    finally:
        workbook.close()


__all__ = [
    "BackfillFileError",
    "BackfillRow",
    "BackfillSheet",
    "RowProblem",
    "find_header",
    "read_backfill_file",
    "read_rows",
]

"""`taskbot plan backfill FILE.xlsx`: past records (补录) from a sheet in the ledger's 反馈记录
layout, built here with openpyxl. Without --yes it prints the rows to store and those refused
(row number and reason) and stores nothing; with --yes it stores the good rows as "backfill"
reports entered by 0; a second run finds them already stored."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import col, select

from bot.cli import main
from bot.texts import STATUS_LABEL as LABELS
from db.engine import Database
from db.models import StatusReport, Task
from office.backfill import read_backfill_file, read_rows
from office.ledger import write_ledger

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)  # 10:00 local, Sunday 2026-12-06
TOKEN = "123456789:AAEhBOweik6ad9r_Q-SECRETsecret0123"
HEADERS = ["反馈时间", "序号", "单位", "状态", "说明", "佐证类型", "反馈人", "来源", "计划"]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("bot.cli._now", lambda: NOW)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def sheet_rows() -> list[list[object]]:
    """A 反馈记录 sheet as a coordinator fills it: two title rows, the header, rows."""
    return [
        ["潼南区残工委重点任务台账", None],
        [None],
        HEADERS,
        [
            datetime(2023, 6, 30, 0, 0),
            5,
            "区民政局",
            "已完成",
            "补贴标准已提高",
            None,
            None,
            None,
            "十四五",
        ],  # row 4
        ["2022年3月1日", "2", "区民政局", "推进中", "低保核查启动", None, None, None, None],  # 5
        [date(2027, 1, 1), 5, "区民政局", "推进中", "未来", None, None, None, None],  # 6: future
        ["2020-05-01", 5, "区民政局", "推进中", "太早", None, None, None, None],  # 7: before
        ["2023-01-01", 5, "区教委", "推进中", "不在任务上", None, None, None, None],  # 8
        ["2023-01-01", "abc", "区民政局", "推进中", "x", None, None, None, None],  # 9
        ["2023-01-01", 5, "区民政局", "完成了吗", "x", None, None, None, None],  # 10
        [
            datetime(2025, 12, 17, 9, 30),
            5,
            "区民政局",
            "推进中",
            "bot",
            None,
            "张三",
            "对话填报",
            "十四五",
        ],  # 11
        ["2023-01-01", 5, "火星局", "推进中", "x", None, None, None, None],  # 12
        ["2023-01-01", 5, "区民政局", "推进中", "x", None, None, None, "十六五"],  # 13
        [None, None, None],  # 14: empty, ignored
        ["6月30日", 5, "区民政局", "推进中", "无年份", None, None, None, None],  # 15
        ["2023-01-01 10:00", 5, "区民政局", "仅说明", "", None, None, None, None],  # 16: note only
    ]


def write_sheet(path: Path) -> Path:
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    first.title = "台账"
    sheet = workbook.create_sheet("反馈记录")
    for row in sheet_rows():
        sheet.append(row)
    workbook.save(path)
    return path


def test_read_rows_reads_records_and_names_each_problem() -> None:
    read = read_rows(sheet_rows(), date(2026, 12, 6))
    assert [
        (r.row, r.occurred_on, r.number, r.unit, r.status and r.status.value, r.plan)
        for r in read.rows
    ] == [
        (4, date(2023, 6, 30), 5, "区民政局", "done", "十四五"),
        (5, date(2022, 3, 1), 2, "区民政局", "in_progress", ""),
        (6, date(2027, 1, 1), 5, "区民政局", "in_progress", ""),
        (7, date(2020, 5, 1), 5, "区民政局", "in_progress", ""),
        (8, date(2023, 1, 1), 5, "区教委", "in_progress", ""),
        (12, date(2023, 1, 1), 5, "火星局", "in_progress", ""),
        (13, date(2023, 1, 1), 5, "区民政局", "in_progress", "十六五"),
        (16, date(2023, 1, 1), 5, "区民政局", None, ""),
    ]
    assert [(p.row, p.reason) for p in read.problems] == [
        (9, "序号 'abc' is not a task number"),
        (10, "状态 '完成了吗' is not 推进中, 已完成, 遇到困难 or 仅说明"),
        (15, "反馈时间 '6月30日' is not a date (write 2023-06-30)"),
    ]
    assert read.skipped == [11]


def test_a_sheet_without_the_headers_is_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "other.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["日期", "任务", "单位"])
    workbook.save(path)
    config = tmp_path / "config.toml"
    config.write_text(f'[telegram]\ntoken = "{TOKEN}"\ncoordinators = [1]\n', encoding="utf-8")
    code = main(["--config", str(config), "plan", "backfill", str(path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "no header row with 反馈时间, 序号, 单位 and 状态" in err


def test_backfill_previews_then_stores_with_yes_once(
    tmp_path: Path, capsys, database_url: str
) -> None:
    path = write_sheet(tmp_path / "台账.xlsx")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\ntoken = "{TOKEN}"\ncoordinators = [1]\n[database]\nurl = "{database_url}"\n',
        encoding="utf-8",
    )
    argv = ["--config", str(config), "plan", "backfill", str(path)]
    code = main(argv)
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "3 rows to store:"
    assert lines[1].startswith("  row 4: 2023-06-30 十四五 task 5 区民政局 done 补贴标准已提高")
    assert lines[2].startswith("  row 5: 2022-03-01 十四五 task 2 区民政局 in_progress")
    assert lines[3] == "  row 16: 2023-01-01 十四五 task 5 区民政局 note "
    refused = out.split("refused:\n")[1].split("\n1 row skipped")[0].splitlines()
    assert refused == [
        "  row 6: 日期2027年1月1日在今天之后，补录只能记入已经发生的进展。",
        "  row 7: 日期2020年5月1日早于《重庆市潼南区“十四五”残疾人保障和发展规划"
        "（2021—2025年）》的规划期"
        "（2021年1月1日至2025年12月31日）。",
        "  row 8: 区教委不是第5项的牵头单位或责任单位，不能为其补录。",
        "  row 9: 序号 'abc' is not a task number",
        "  row 10: 状态 '完成了吗' is not 推进中, 已完成, 遇到困难 or 仅说明",
        "  row 12: 单位 '火星局' is not a known unit",
        "  row 13: 计划 '十六五' is not a plan",
        "  row 15: 反馈时间 '6月30日' is not a date (write 2023-06-30)",
    ]
    assert "1 row skipped: already in the bot (来源 filled): 11" in out
    assert lines[-1] == "nothing stored: run again with --yes to store the rows to store"
    database = Database(database_url)
    try:
        with database.session() as s:
            assert s.exec(select(StatusReport)).all() == []
        code = main([*argv, "--yes"])
        out = capsys.readouterr().out
        assert code == 0 and out.splitlines()[-1] == "3 past records stored (补录)"
        with database.session() as s:
            rows = s.exec(
                select(StatusReport, Task.number).join(Task).order_by(col(StatusReport.id))
            ).all()
            assert [
                (n, r.status and r.status.value, r.occurred_on, r.source, r.entered_by, r.note)
                for r, n in rows
            ] == [
                (5, "done", date(2023, 6, 30), "backfill", 0, "补贴标准已提高"),
                (2, "in_progress", date(2022, 3, 1), "backfill", 0, "低保核查启动"),
                (5, None, date(2023, 1, 1), "backfill", 0, ""),
            ]
        code = main([*argv, "--yes"])
        out = capsys.readouterr().out
        assert code == 0
        assert "3 rows skipped: the same past record is already stored: 4, 5, 16" in out
        assert out.splitlines()[-1] == "0 past records stored (补录)"
        # the exported ledger lists them by their date, marked 补录; read back, they are
        # the bot's own rows and are skipped
        exported = tmp_path / "export.xlsx"
        with database.session() as s:
            write_ledger(s, exported, zone=ZoneInfo("Asia/Shanghai"), now=NOW, status_labels=LABELS)
        sheet = load_workbook(exported)["反馈记录"]
        rows = list(sheet.iter_rows(min_row=2, values_only=True))
        assert [(r[0], r[1], r[2], r[3], r[10]) for r in rows] == [
            (datetime(2023, 6, 30), 5, "区民政局", "已完成", "补录"),
            (datetime(2022, 3, 1), 2, "区民政局", "推进中", "补录"),
            (datetime(2023, 1, 1), 5, "区民政局", "仅说明", "补录"),
        ]
        read = read_backfill_file(exported, date(2026, 12, 6))
        assert (read.rows, read.problems, read.skipped) == ([], [], [2, 3, 4])
    finally:
        database.dispose()


@pytest.mark.parametrize(
    "typed", ["2023 - 06 - 30", "2023年 6月 30日", "2023 / 6 / 30", "2023-06-30 10:00"]
)
def test_a_text_date_with_spaces_is_read_as_the_chat_reads_it(typed: str) -> None:
    rows = [HEADERS, [typed, 5, "区民政局", "已完成", "", None, None, None, "十四五"]]
    read = read_rows(rows, date(2026, 12, 6))
    assert read.problems == []
    assert [r.occurred_on for r in read.rows] == [date(2023, 6, 30)]

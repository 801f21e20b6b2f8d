"""Tests of the ledger workbook (office/ledger.py): build it from a real database, open it again
with openpyxl and check the cells.

They run on a temporary SQLite file, or on the database of TEST_DATABASE_URL when it is set
(see tests/db_fixtures.py). Expected counts come from db/data/plan.toml read independently.
"""

from __future__ import annotations

import dataclasses
import io
import tomllib
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func
from sqlmodel import select

from db import repo
from db.engine import Database
from db.models import AuditEvent, StatusReport
from db.seed import DEFAULT_TASK_FILE
from jobs.hold import HoldFinding
from jobs.types import DeliveryKind, DeliveryOutcome, HoldDecision, Status
from office.ledger import build_ledger, ledger_filename, write_ledger
from tests import db_fixtures

fresh_db = db_fixtures.fresh_db
loaded_db = db_fixtures.loaded_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
# the same labels as bot/texts.py's STATUS_LABEL (db must not import bot)
LABELS = {
    Status.NOT_STARTED: "未开始",
    Status.IN_PROGRESS: "推进中",
    Status.DONE: "已完成",
    Status.BLOCKED: "遇到困难",
}
INJECTION = "=cmd|' /C calc'!A0"

LEDGER_HEADERS = [
    "序号",
    "工作任务",
    "牵头单位",
    "责任单位",
    "完成时限",
    "原定期限",
    "时限调整",
    "状态灯",
    "最新状态",
    "最新说明",
    "反馈人",
    "反馈时间",
    "已发提醒",
    "计划",
    "结转",
]
REPORT_HEADERS = [
    "反馈时间",
    "序号",
    "单位",
    "状态",
    "说明",
    "佐证类型",
    "佐证文件名",
    "佐证大小",
    "反馈人",
    "反馈人ID",
    "来源",
    "计划",
]
AUDIT_HEADERS = ["时间", "操作人", "操作人ID", "操作", "对象", "修改前", "修改后", "原因"]


def plan_pairs() -> list[tuple[int, str]]:
    """(task number, lead unit) pairs of the shipped task file, read with tomllib only."""
    data = tomllib.loads(Path(DEFAULT_TASK_FILE).read_text(encoding="utf-8"))
    return [(t["number"], unit) for t in data["tasks"] for unit in t["lead_units"]]


def register(database: Database, unit_name: str, user_id: int, name: str) -> tuple[int, int]:
    """Invite and register a contact; return (unit id, contact id)."""
    with database.session() as s:
        unit = repo.get_unit_by_name(s, name=unit_name)
        assert unit is not None and unit.id is not None
        invite = repo.create_invite(
            s, unit_id=unit.id, created_by=1001, now=NOW, valid_for=timedelta(days=7)
        )
        code = invite.code
    with database.session() as s:
        result = repo.redeem_invite(
            s,
            code=code,
            telegram_user_id=user_id,
            chat_id=user_id,
            display_name=name,
            username=None,
            now=NOW,
        )
        assert isinstance(result, repo.Redemption)
        assert result.contact.id is not None and result.unit.id is not None
        return result.unit.id, result.contact.id


def task_id(database: Database, number: int) -> int:
    with database.session() as s:
        task = repo.get_task(s, number=number)
        assert task is not None and task.id is not None
        return task.id


@pytest.fixture
def busy_db(loaded_db: Database) -> Database:
    """The shipped plan with two contacts, six reports, three reminders and audit events.

    Task 4 is led by 区人力社保局 and 区医保局; 李明 is the contact of 区人力社保局, 张华 of
    区医保局.
    """
    hr_unit, li = register(loaded_db, "区人力社保局", 2001, "李明")
    med_unit, zhang = register(loaded_db, "区医保局", 2002, "张华")
    t4 = task_id(loaded_db, 4)
    t9 = task_id(loaded_db, 9)  # 区人力社保局 leads it too
    with loaded_db.session() as s:
        for minutes, unit, contact, user, status, note, extra in [
            (0, hr_unit, li, 2001, Status.IN_PROGRESS, "已召开专题会议", {}),
            (
                30,
                hr_unit,
                li,
                2001,
                Status.BLOCKED,
                "资金未到位\n等待区财政局批复",
                {"evidence_kind": "document", "evidence_file_name": "请示.pdf"},
            ),
            (45, hr_unit, li, 2001, None, INJECTION, {"source": "reply"}),
            (60, med_unit, zhang, 2002, Status.DONE, "已完成\x07全部", {"evidence_kind": "photo"}),
            (90, med_unit, zhang, 2002, Status.IN_PROGRESS, "#N/A", {}),
        ]:
            repo.add_report(
                s,
                task_id=t4,
                unit_id=unit,
                contact_id=contact,
                reporter_user_id=user,
                status=status,
                note=note,
                now=NOW + timedelta(minutes=minutes),
                **extra,
            )
        repo.add_report(
            s,
            task_id=t9,
            unit_id=hr_unit,
            contact_id=None,
            reporter_user_id=3003,
            status=Status.DONE,
            note="+1 完成",
            now=NOW + timedelta(days=1),
        )
        for i, outcome in enumerate(
            (DeliveryOutcome.SENT, DeliveryOutcome.SENT, DeliveryOutcome.FAILED)
        ):
            claimed = repo.claim_delivery(
                s,
                key=f"reminder:{t4}:{hr_unit}:{li}:before:2025-12-{17 + i}",
                kind=DeliveryKind.REMINDER,
                destination="2001",
                task_id=t4,
                unit_id=hr_unit,
                contact_id=li,
                now=NOW,
            )
            assert claimed is not None and claimed.id is not None
            repo.settle_delivery(s, delivery_id=claimed.id, outcome=outcome, now=NOW)
        repo.record_audit(
            s,
            actor_user_id=0,
            action="task.deadline",
            subject="task:4",
            before="2025-12-31",
            after={"deadline": "2026-06-30"},
            now=NOW + timedelta(hours=2),
        )
        repo.record_audit(
            s,
            actor_user_id=1001,
            action="note.edit",
            subject="task:4",
            before=None,
            after="@SUM(A1:A2)",
            now=NOW + timedelta(hours=3),
        )
    return loaded_db


def export(database: Database, **kwargs) -> openpyxl.Workbook:
    buffer = io.BytesIO()
    with database.session() as s:
        write_ledger(s, buffer, zone=SHANGHAI, now=NOW, status_labels=LABELS, **kwargs)
    buffer.seek(0)
    return openpyxl.load_workbook(buffer)


def rows_of(ws) -> list[tuple]:
    return list(ws.iter_rows(min_row=2, values_only=True))


# ---------------------------------------------------------------- sheet 1: the ledger


def test_sheets_and_headers(busy_db):
    wb = export(busy_db)
    assert wb.sheetnames == ["台账", "反馈记录", "操作记录", "主要指标", "统计", "协调事项", "说明"]
    assert [c.value for c in wb["台账"][1]] == LEDGER_HEADERS
    assert [c.value for c in wb["反馈记录"][1]] == REPORT_HEADERS
    assert [c.value for c in wb["操作记录"][1]] == AUDIT_HEADERS
    for name in ("台账", "反馈记录", "操作记录"):
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        assert all(c.font.bold for c in ws[1])
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
    assert wb["台账"]["L1"].comment is not None
    assert "Asia/Shanghai" in wb["台账"]["L1"].comment.text


def test_one_row_per_task_and_lead_unit_in_document_order(busy_db):
    pairs = plan_pairs()
    assert len({n for n, _ in pairs}) == 30
    assert len(pairs) == 46
    ws = export(busy_db)["台账"]
    assert ws.max_row == 1 + len(pairs)
    assert [(row[0], row[2]) for row in rows_of(ws)] == pairs


def test_a_ledger_row(busy_db):
    ws = export(busy_db)["台账"]
    rows = {(row[0], row[2]): row for row in rows_of(ws)}
    hr = rows[(4, "区人力社保局")]
    assert hr[1] == "帮助残疾人按规定参加城乡居民养老保险和城乡医疗保险。"
    assert hr[3] == "区财政局、区残联"
    assert hr[4] == datetime(2025, 12, 31, 0, 0)
    assert (hr[5], hr[6]) == (datetime(2025, 12, 31, 0, 0), None)  # 原定期限, 时限调整
    assert hr[7] is None  # no light function given
    # the newest report is the note-only reply; the newest status is 遇到困难
    assert hr[8] == "遇到困难"
    assert hr[9] == INJECTION
    assert hr[10] == "李明"
    assert hr[11] == datetime(2026, 3, 16, 9, 45)  # 01:45 UTC, shown in Shanghai, naive
    assert hr[12] == 2  # two SENT, one FAILED
    med = rows[(4, "区医保局")]
    assert (med[8], med[9], med[10], med[11], med[12]) == (
        "推进中",
        "#N/A",
        "张华",
        datetime(2026, 3, 16, 10, 30),
        0,
    )
    untouched = rows[(1, "区乡村振兴局")]
    assert (untouched[8], untouched[9], untouched[10], untouched[11], untouched[12]) == (
        "未开始",
        None,
        None,
        None,
        0,
    )
    # the reporter of a report without a contact row is not named by a made-up label
    assert rows[(9, "区人力社保局")][8:11] == ("已完成", "+1 完成", "未登记人员")
    # task 30 keeps the cell's wording of its responsible units
    assert rows[(30, "区发展改革委")][3] == "区残联、区民政局、区人力社保局等，各镇街"
    assert rows[(17, "区残联")][3] is None  # an empty 责任单位 cell


def test_date_cells_are_real_dates(busy_db):
    ws = export(busy_db)["台账"]
    deadline = ws["E2"]
    assert deadline.is_date
    assert deadline.value.date() == date(2025, 12, 31)
    assert deadline.number_format == "yyyy-mm-dd"
    reported = next(c for c in ws["L"][1:] if c.value is not None)
    assert reported.is_date
    assert reported.number_format == "yyyy-mm-dd hh:mm"
    assert reported.value.tzinfo is None
    assert ws["A2"].data_type == "n" and ws["M2"].data_type == "n"


def test_light_function_fills_the_light_column(busy_db):
    seen = []

    def light(task, unit):
        seen.append((task.number, unit.name))
        return "🔴" if task.number == 4 else "🟢"

    ws = export(busy_db, light_of=light)["台账"]
    rows = {(row[0], row[2]): row for row in rows_of(ws)}
    assert rows[(4, "区医保局")][7] == "🔴"
    assert rows[(1, "区乡村振兴局")][7] == "🟢"
    assert seen == plan_pairs()


def test_column_widths_fit_and_long_text_wraps(busy_db):
    ws = export(busy_db)["台账"]
    widths = {c: ws.column_dimensions[c].width for c in "ABCDEFGHIJKLM"}
    assert all(6 <= w <= 60 for w in widths.values())
    assert widths["B"] == 60  # the task texts are long: capped
    assert ws["B2"].alignment.wrap_text
    assert widths["A"] < 10  # 序号
    # 牵头单位 fits the longest unit name: 区住房城乡建委 is 7 CJK characters
    assert 14 <= widths["C"] <= 20
    assert widths["E"] >= len("2025-12-31")
    assert not ws["C2"].alignment.wrap_text


# ---------------------------------------------------------------- sheet 2: the reports


def test_every_report_is_listed_oldest_first(busy_db):
    ws = export(busy_db)["反馈记录"]
    with busy_db.session() as s:
        total = s.exec(select(func.count()).select_from(StatusReport)).one()
    rows = rows_of(ws)
    assert len(rows) == total == 6
    assert rows[0] == (
        datetime(2026, 3, 16, 9, 0),
        4,
        "区人力社保局",
        "推进中",
        "已召开专题会议",
        None,
        None,
        None,
        "李明",
        2001,
        "对话填报",
        "十四五",
    )
    assert rows[1][3:7] == ("遇到困难", "资金未到位\n等待区财政局批复", "文件", "请示.pdf")
    assert rows[2][3] == "仅说明" and rows[2][10] == "回复提醒"
    assert rows[3][4] == "已完成全部"  # the control character is dropped
    assert rows[3][5] == "照片"
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert rows[5][0] == datetime(2026, 3, 17, 9, 0)
    assert ws["A2"].is_date and ws["J2"].number_format == "0"


def test_formula_like_text_is_stored_as_text(busy_db):
    buffer = io.BytesIO()
    with busy_db.session() as s:
        write_ledger(s, buffer, zone=SHANGHAI, now=NOW, status_labels=LABELS)
    wb = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    reports = wb["反馈记录"]
    injected = reports["E4"]
    assert injected.value == INJECTION
    assert injected.data_type == "s"
    assert injected.quotePrefix is True
    na = reports["E6"]
    assert (na.value, na.data_type) == ("#N/A", "s")
    plus = reports["E7"]
    assert (plus.value, plus.data_type, plus.quotePrefix) == ("+1 完成", "s", True)
    ordinary = reports["E2"]
    assert ordinary.quotePrefix is False
    [at_sign] = [
        cell for row in wb["操作记录"].iter_rows() for cell in row if cell.value == "@SUM(A1:A2)"
    ]
    assert (at_sign.value, at_sign.data_type, at_sign.quotePrefix) == ("@SUM(A1:A2)", "s", True)
    # and no cell of any sheet is a formula in the file itself
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)


# ---------------------------------------------------------------- sheet 3: the audit trail


def test_audit_trail(busy_db):
    ws = export(busy_db)["操作记录"]
    with busy_db.session() as s:
        total = s.exec(select(func.count()).select_from(AuditEvent)).one()
    rows = rows_of(ws)
    assert len(rows) == total
    by_action = {}
    for row in rows:
        by_action.setdefault(row[3], []).append(row)
    # two registrations, the two recorded above, and one status change per status report;
    # all in Chinese: actions by label, subjects as 第N项 and unit names, statuses by label
    assert len(by_action["联络员登记"]) == 2
    assert by_action["联络员登记"][0] == (
        datetime(2026, 3, 16, 9, 0),
        "李明",
        2001,
        "联络员登记",
        "区人力社保局",
        None,
        "区人力社保局",
        None,
    )
    assert by_action["修改完成时限"] == [
        (
            datetime(2026, 3, 16, 11, 0),
            "系统",
            0,
            "修改完成时限",
            "第4项",
            "2025-12-31",
            '{"deadline": "2026-06-30"}',
            None,
        )
    ]
    # someone acting who is no contact can only be a coordinator; an unknown action as stored
    assert by_action["note.edit"][0][1:5] == ("协调员", 1001, "note.edit", "第4项")
    changes = by_action["状态变更"]
    assert changes and all(row[4].startswith("第") and "项 区" in row[4] for row in changes)
    assert {row[6] for row in changes} <= {"推进中", "已完成", "遇到困难"}
    assert ws["C2"].number_format == "0"


# ---------------------------------------------------------------- files, names, edge cases


def test_file_and_buffer_give_the_same_workbook(busy_db, tmp_path):
    path = tmp_path / "台账.xlsx"
    with busy_db.session() as s:
        summary = write_ledger(s, path, zone=SHANGHAI, now=NOW, status_labels=LABELS)
    # 2 registrations, 2 recorded events, 5 status changes of the 6 reports (one is a note)
    assert (summary.ledger_rows, summary.reports, summary.audit_events) == (46, 6, 9)
    from_file = openpyxl.load_workbook(path)
    from_buffer = export(busy_db)
    for name in from_buffer.sheetnames:
        assert rows_of(from_file[name]) == rows_of(from_buffer[name]), name
    about = {row[0]: row[1] for row in rows_of(from_file["说明"])}
    assert about["导出时间"] == datetime(2026, 3, 16, 9, 0)
    assert about["台账行数（任务×牵头单位）"] == 46
    assert about["文号"] == "潼南府办发〔2022〕23号"
    assert "Asia/Shanghai" in about["时区"]


def test_build_ledger_returns_the_workbook(busy_db):
    with busy_db.session() as s:
        workbook, summary = build_ledger(s, zone=SHANGHAI, now=NOW, status_labels=LABELS)
    assert summary.ledger_rows == workbook["台账"].max_row - 1


def test_other_zone(busy_db):
    with busy_db.session() as s:
        workbook, _ = build_ledger(s, zone=ZoneInfo("UTC"), now=NOW, status_labels=LABELS)
    assert workbook["反馈记录"]["A2"].value == datetime(2026, 3, 16, 1, 0)


def test_empty_database(fresh_db):
    wb = export(fresh_db)
    assert [c.value for c in wb["台账"][1]] == LEDGER_HEADERS
    assert wb["台账"].max_row == 1
    assert wb["台账"].freeze_panes == "A2"


def test_naive_now_is_refused(loaded_db):
    with loaded_db.session() as s, pytest.raises(ValueError):
        write_ledger(
            s, io.BytesIO(), zone=SHANGHAI, now=datetime(2026, 3, 16), status_labels=LABELS
        )


def test_ledger_filename():
    assert ledger_filename(NOW, SHANGHAI) == "残工委重点任务台账-20260316.xlsx"
    # 17:00 UTC is already the next day in Shanghai
    late = datetime(2026, 3, 16, 17, 0, tzinfo=UTC)
    assert ledger_filename(late, SHANGHAI) == "残工委重点任务台账-20260317.xlsx"


def test_the_ledger_shows_the_original_deadline_beside_the_one_in_force(busy_db):
    """A coordinator's change and an approved extension keep 原定期限, say which it was, and
    the audit trail has who and why."""
    from db.repo import create_extension, decide_extension, get_task, set_deadline

    with busy_db.session() as s:
        t4 = get_task(s, number=4)
        set_deadline(
            s, task=t4, new=date(2027, 3, 31), actor_user_id=1001, reason="年度计划调整", now=NOW
        )
        t9 = get_task(s, number=9)
        request = create_extension(
            s,
            task=t9,
            unit_id=1,
            contact_id=None,
            requested_by=2001,
            requested_deadline=date(2027, 6, 30),
            reason="场地尚未落实",
            now=NOW,
        )
        decide_extension(s, request_id=request.id, approve=True, decided_by=1001, now=NOW)
    wb = export(busy_db)
    rows = {(row[0], row[2]): row for row in rows_of(wb["台账"])}
    assert rows[(4, "区人力社保局")][4:7] == (
        datetime(2027, 3, 31),
        datetime(2025, 12, 31),
        "协调员调整",
    )
    assert rows[(9, "区人力社保局")][4:7] == (
        datetime(2027, 6, 30),
        datetime(2025, 12, 31),
        "批准延期",
    )
    changes = [r for r in rows_of(wb["操作记录"]) if r[3] == "修改完成时限" and r[2] == 1001]
    assert [(r[4], r[5], r[6], r[7]) for r in changes] == [
        ("第4项", "2025-12-31", "2027-03-31", "年度计划调整"),
        ("第9项", "2025-12-31", "2027-06-30", "场地尚未落实"),
    ]


def test_a_held_follow_up_and_its_decisions_read_in_chinese(busy_db):
    # the 操作记录 sheet is read by the coordinators: no "decide_hold", "hold:1" or "send"
    held = HoldFinding(
        today=date(2026, 3, 16),
        period_end=date(2025, 12, 31),
        open_pairs=3,
        late_pairs=3,
        overdue_pairs=3,
    )
    with busy_db.session() as s:
        first, _ = repo.store_finding(s, finding=held, now=NOW)
        assert first is not None and first.id is not None
        repo.decide_hold(s, hold_id=first.id, decision=HoldDecision.DROP, user_id=1001, now=NOW)
    with busy_db.session() as s:
        other, _ = repo.store_finding(
            s, finding=dataclasses.replace(held, period_end=date(2026, 1, 31)), now=NOW
        )
        assert other is not None and other.id is not None
        repo.decide_hold(s, hold_id=other.id, decision=HoldDecision.SEND, user_id=0, now=NOW)
    rows = [r for r in rows_of(export(busy_db)["操作记录"]) if r[3] == "处理逾期提醒暂停"]
    assert [r[1:7] for r in rows] == [
        ("协调员", 1001, "处理逾期提醒暂停", f"逾期提醒暂停（编号{first.id}）", None, "不再发送"),
        (
            "系统",
            0,
            "处理逾期提醒暂停",
            f"逾期提醒暂停（编号{other.id}）",
            None,
            "自动解除（已无需暂停的逾期任务）",
        ),
    ]

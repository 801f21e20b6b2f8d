"""Tests of the pure core of `taskbot plan import` (office/plan_import.py): table rows in,
tasks and a verification report out; and the reading of text extracted from a PDF."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from db.seed import read_task_file
from office.plan_import import (
    PlanImportError,
    clean_text,
    parse_deadline,
    parse_rows,
    rows_from_text,
    split_units,
    task_file_text,
)

APPENDIX = Path(__file__).resolve().parents[1] / "fixtures" / "plan_appendix.txt"
HEADER = ["序号", "工作任务", "牵头单位", "责任单位"]
KNOWN = ["区残联", "区民政局", "区财政局", "区教委", "各镇街"]


def shipped(task_number: int | None = None) -> list[tuple[object, ...]]:
    return [
        (t.number, t.text, t.lead_units, t.responsible_units, t.responsible_units_note)
        for t in read_task_file().tasks
        if task_number is None or t.number == task_number
    ]


def imported(text: str, known: list[str]) -> list[tuple[object, ...]]:
    result = parse_rows(rows_from_text(text, known), known)
    return [
        (t.number, t.text, t.lead_units, t.responsible_units, t.responsible_units_note)
        for t in result.tasks
    ]


@pytest.mark.parametrize("with_known_names", [True, False])
def test_appendix_text_gives_the_shipped_30_tasks(with_known_names: bool) -> None:
    known = read_task_file().unit_names() if with_known_names else []
    got = imported(APPENDIX.read_text(encoding="utf-8"), known)
    assert [row[0] for row in got] == list(range(1, 31))
    for mine, theirs in zip(got, shipped(), strict=True):
        assert mine == theirs


def test_appendix_interleaved_rows_and_task_30() -> None:
    """Rows 9 and 26 have cells on the same lines across a page break; task 30 an open list."""
    got = {row[0]: row for row in imported(APPENDIX.read_text(encoding="utf-8"), [])}
    assert got[9][2:4] == (
        ("区人力社保局", "区国资委", "区残联"),
        ("区财政局", "潼南税务局", "各镇街"),
    )
    assert got[26][2:4] == (("区司法局", "区公安局", "区残联"), ("各镇街",))
    assert got[30][3] == ("区残联", "区民政局", "区人力社保局", "各镇街")
    assert got[30][4] == "区残联、区民政局、区人力社保局等，各镇街"
    assert "至少有1人就业" in str(got[11][1])


def test_appendix_report_all_known() -> None:
    known = read_task_file().unit_names()
    result = parse_rows(rows_from_text(APPENDIX.read_text(encoding="utf-8"), known), known)
    assert result.rows_read == 30
    assert result.not_placed == () and result.sections == ()
    assert all(u.known for u in result.units)
    assert {u.name for u in result.units} == set(known)


def test_text_with_sections_and_page_numbers() -> None:
    text = "\n".join(
        [
            "附件",
            "重点任务分工",
            "序号 工作任务 牵头单位 责任单位",
            "一、兜住民生底线",
            "1 做好低保",
            "工作。 区民政局 区财政局、区残",
            "联",
            "— 12 —",
            "二、促进就业",
            "2",
            "开展培训。",
            "组织",
            "招聘会。",
            "区残联",
            "区人力社保局、各",
            "镇街",
        ]
    )
    result = parse_rows(rows_from_text(text, KNOWN), KNOWN)
    assert [t.as_json() for t in result.tasks] == [
        {
            "number": 1,
            "text": "做好低保工作。",
            "lead_units": ["区民政局"],
            "responsible_units": ["区财政局", "区残联"],
            "deadline": None,
        },
        {
            "number": 2,
            "text": "开展培训。组织招聘会。",
            "lead_units": ["区残联"],
            "responsible_units": ["区人力社保局", "各镇街"],
            "deadline": None,
        },
    ]
    assert result.sections == ("一、兜住民生底线", "二、促进就业")
    assert [(u.name, u.known) for u in result.units] == [
        ("区民政局", True),
        ("区财政局", True),
        ("区残联", True),
        ("区人力社保局", False),
        ("各镇街", True),
    ]


def test_rows_with_columns_in_another_order_and_a_title_row() -> None:
    rows = [
        ["重点任务分工", "重点任务分工", "重点任务分工", "重点任务分工", ""],
        ["牵头单位", "序号", "责任单位", "完成时限", "工作任务"],
        ["区教委", "1", "区残联\n区财政局", "2026年6月底", "推进融合\n教育。"],
        ["二、文化", "二、文化", "二、文化", "二、文化", "二、文化"],
        ["区残联、区教委", "2.", "", "2027-03-31", "开展文化进家庭 活动。"],
        ["区残联", "", "", "", "续上一行的文字。"],
        ["", "三", "", "", "兜底保障"],
        ["区残联", "3a", "", "", "编号不是数字。"],
        ["区残联", "1", "", "", "重复的序号。"],
    ]
    result = parse_rows(rows, KNOWN)
    assert [t.as_json() for t in result.tasks] == [
        {
            "number": 1,
            "text": "推进融合教育。",
            "lead_units": ["区教委"],
            "responsible_units": ["区残联", "区财政局"],
            "deadline": "2026-06-30",
        },
        {
            "number": 2,
            "text": "开展文化进家庭活动。",
            "lead_units": ["区残联", "区教委"],
            "responsible_units": [],
            "deadline": "2027-03-31",
        },
    ]
    assert result.sections == ("二、文化", "三 兜底保障")
    assert result.rows_read == 7
    assert len(result.not_placed) == 3
    assert "续上一行的文字" in result.not_placed[0] and "no number" in result.not_placed[0]
    assert "'3a'" in result.not_placed[1]
    assert "used twice" in result.not_placed[2]
    report = "\n".join(result.report())
    assert "3 rows not placed" in report and "section: 二、文化" in report


def test_new_units_get_the_closest_known_names() -> None:
    rows = [HEADER, ["1", "做好工作。", "区残联会", "区民政"]]
    result = parse_rows(rows, KNOWN)
    by_name = {u.name: u for u in result.units}
    assert not by_name["区残联会"].known and by_name["区残联会"].suggestions[0] == "区残联"
    assert by_name["区民政"].suggestions[0] == "区民政局"
    assert "new: 区民政 (closest known: 区民政局" in "\n".join(result.report())


def test_no_table_is_an_error() -> None:
    with pytest.raises(PlanImportError, match="no task-division table"):
        parse_rows([["标题"], ["1", "正文"]], KNOWN)
    with pytest.raises(PlanImportError, match="no numbered task rows"):
        parse_rows([HEADER, ["一、总则", "", "", ""]], KNOWN)
    with pytest.raises(PlanImportError):
        parse_rows(rows_from_text("一份通知\n没有表格。\n", KNOWN), KNOWN)


def test_cleaning_rules() -> None:
    assert clean_text("实施（2021—2025 年）\n行动 计划") == "实施（2021—2025年）行动计划"
    assert clean_text("推广 Wi Fi 网络") == "推广Wi Fi网络"
    assert split_units("区残联、区民政局，区财政局,\n各镇街") == (
        ("区残联", "区民政局", "区财政局", "各镇街"),
        None,
    )
    assert split_units("区残联\n区民政局等") == (("区残联", "区民政局"), "区残联区民政局等")
    assert split_units("") == ((), None)
    assert parse_deadline("2026年底") == date(2026, 12, 31)
    assert parse_deadline("2026年2月底") == date(2026, 2, 28)
    assert parse_deadline("2026年6月30日前") == date(2026, 6, 30)
    assert parse_deadline("长期坚持") is None


def test_task_file_reads_back_once_filled_in(tmp_path: Path) -> None:
    known = read_task_file().unit_names()
    result = parse_rows(rows_from_text(APPENDIX.read_text(encoding="utf-8"), known), known)
    text = task_file_text(result, "plan_appendix.txt")
    path = tmp_path / "plan.tasks.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Exception, match="title must be a non-empty string"):
        read_task_file(path)
    filled = (
        text.replace('title = ""', 'title = "规划"')
        .replace('document_number = ""', 'document_number = "潼南府办发〔2022〕23号"')
        .replace('"YYYY-MM-DD"', "2025-12-31")
    )
    path.write_text(filled, encoding="utf-8")
    plan = read_task_file(path)
    assert [
        (t.number, t.text, t.lead_units, t.responsible_units, t.responsible_units_note)
        for t in plan.tasks
    ] == shipped()


def test_a_row_continued_under_the_same_number_is_joined() -> None:
    """A merged 序号 cell over two rows (or a row continued on the next page): the second
    row's cells that differ from the first are joined on; a merged lead cell is not doubled."""
    rows = [
        HEADER,
        ["4", "推进无障碍\n环境建设，", "区残联", "区民政局、"],
        ["4", "开展无障碍改造。", "区残联", "区财政局"],
        ["5", "做好宣传。", "区残联", ""],
    ]
    result = parse_rows(rows, KNOWN)
    assert [t.as_json() for t in result.tasks] == [
        {
            "number": 4,
            "text": "推进无障碍环境建设，开展无障碍改造。",
            "lead_units": ["区残联"],
            "responsible_units": ["区民政局", "区财政局"],
            "deadline": None,
        },
        {
            "number": 5,
            "text": "做好宣传。",
            "lead_units": ["区残联"],
            "responsible_units": [],
            "deadline": None,
        },
    ]
    assert result.warnings == ("task 4: continued on the next row, joined",)
    assert result.not_placed == ()


def test_a_number_seen_before_but_not_on_the_row_above_is_not_joined_to_that_task() -> None:
    """A second table (or rows further down) numbered from 1 again: its rows are not placed,
    never joined onto the earlier tasks with those numbers."""
    rows = [
        HEADER,
        ["1", "推进融合教育。", "区教委", ""],
        ["2", "做好宣传。", "区残联", ""],
        HEADER,
        ["1", "另一张表的第一项。", "区民政局", ""],
    ]
    result = parse_rows(rows, KNOWN)
    assert [(t.number, t.text) for t in result.tasks] == [(1, "推进融合教育。"), (2, "做好宣传。")]
    assert len(result.not_placed) == 1 and "number 1 used twice" in result.not_placed[0]
    assert result.warnings == ()


def test_a_former_name_is_reported_as_aliased_not_new() -> None:
    rows = [HEADER, ["1", "推进融合教育。", "区教委", "区残联、区卫健委"]]
    known = ["区残疾人联合会", "区教委"]
    result = parse_rows(rows, known, {"区残联": "区残疾人联合会"})
    assert [(u.name, u.known, u.current) for u in result.units] == [
        ("区教委", True, None),
        ("区残联", True, "区残疾人联合会"),
        ("区卫健委", False, None),
    ]
    report = result.report()
    assert "1 known units: 区教委" in report
    assert report[report.index("1 aliased unit (former names)") + 1] == (
        "  aliased: 区残联 → 区残疾人联合会"
    )
    assert "1 new unit" in report


def test_task_file_takes_the_plan_identity_the_document_gives(tmp_path: Path) -> None:
    from office.plan_import import PlanIdentity

    known = read_task_file().unit_names()
    result = parse_rows(rows_from_text(APPENDIX.read_text(encoding="utf-8"), known), known)
    identity = PlanIdentity(
        title="重庆市潼南区“十五五”残疾人保障和发展规划（2026—2030年）",
        document_number="潼南府办发〔2026〕8号",
        issued_on=date(2026, 11, 20),
        period_start=date(2026, 1, 1),
        period_end=date(2030, 12, 31),
    )
    path = tmp_path / "plan.tasks.toml"
    path.write_text(task_file_text(result, "plan.docx", identity), encoding="utf-8")
    plan = read_task_file(path)  # loadable as written: nothing left to fill in
    assert (plan.title, plan.document_number, plan.issued_on, plan.start(), plan.period_end) == (
        identity.title,
        "潼南府办发〔2026〕8号",
        date(2026, 11, 20),
        date(2026, 1, 1),
        date(2030, 12, 31),
    )
    assert plan.name() == "十五五" and len(plan.tasks) == 30
    assert plan.tasks[0].deadline == date(2030, 12, 31)

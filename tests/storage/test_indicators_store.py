"""Main indicators in the task file and the database: reading, loading, values, owners."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from db import repo
from db.models import AuditEvent, Indicator, IndicatorValue, Unit
from db.seed import TaskFileError, load_plan, read_task_file
from jobs.indicators import Target
from jobs.types import IndicatorAttribute, IndicatorKind, Status
from tests import db_fixtures

fresh_db = db_fixtures.fresh_db
loaded_db = db_fixtures.loaded_db

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
TODAY = date(2026, 12, 7)

SHIPPED = [
    (1, "残疾人家庭人均收入年均增长", "%", "与全区地区生产总值增长基本同步", "expected"),
    (2, "城乡残疾人职业技能及实用技术培训人数", "人", "750", "expected"),
    (3, "符合条件的残疾人纳入最低生活保障比例", "%", "100", "binding"),
    (4, "困难残疾人生活补贴覆盖率", "%", "100", "binding"),
    (5, "重度残疾人护理补贴覆盖率", "%", "100", "binding"),
    (6, "残疾人城乡居民基本养老保险参保率", "%", "＞90", "expected"),
    (7, "残疾人城乡居民基本医疗保险参保率", "%", "＞95", "expected"),
    (8, "残疾儿童少年义务教育入学率", "%", "97", "expected"),
    (9, "残疾人基本康复服务覆盖率", "%", "85", "binding"),
    (10, "残疾人辅助器具适配率", "%", "85", "binding"),
    (11, "困难重度残疾人家庭无障碍改造覆盖率", "%", "100", "binding"),
]

MINIMAL = """\
[plan]
title = "测试规划"
document_number = "测试〔2026〕1号"
issued_on = 2026-01-05
period_end = 2026-12-31

[[tasks]]
number = 1
text = "任务甲"
lead_units = ["区残联"]

[[indicators]]
number = 1
name = "覆盖率"
measure = "%"
target = "＞90"
kind = "level"
attribute = "约束性"

[[indicators]]
number = 2
name = "培训人数"
measure = "人"
target = "750"
kind = "cumulative"
attribute = "预期性"
"""


def test_shipped_indicators_read_exactly():
    plan = read_task_file()
    got = [(i.number, i.name, i.measure, i.target, i.attribute.value) for i in plan.indicators]
    assert got == SHIPPED
    kinds = {i.number: i.kind for i in plan.indicators}
    assert kinds[2] is IndicatorKind.CUMULATIVE
    assert all(kinds[n] is IndicatorKind.LEVEL for n in kinds if n != 2)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_indicators_read(tmp_path):
    plan = read_task_file(write(tmp_path, MINIMAL))
    assert [(i.number, i.kind, i.attribute) for i in plan.indicators] == [
        (1, IndicatorKind.LEVEL, IndicatorAttribute.BINDING),
        (2, IndicatorKind.CUMULATIVE, IndicatorAttribute.EXPECTED),
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('name = "覆盖率"', 'nmae = "覆盖率"', "unknown key 'nmae'; did you mean 'name'?"),
        ("number = 2\nname", "number = 1\nname", "number 1 used twice"),
        ('kind = "level"', 'kind = "yearly"', "kind must be level or cumulative"),
        ('attribute = "约束性"', 'attribute = "强制性"', "attribute must be 约束性 or 预期性"),
        ('target = "＞90"', 'target = ""', "target must be a non-empty string"),
        ('name = "覆盖率"', 'name = ""', "name must be a non-empty string"),
        ("number = 2\nname", "number = 0\nname", "number must be a positive integer"),
    ],
)
def test_malformed_indicators(tmp_path, old, new, message):
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(TaskFileError) as info:
        read_task_file(path)
    assert message in str(info.value)


def test_shipped_plan_loads_the_11_indicators(loaded_db):
    with loaded_db.session() as s:
        plan_id = repo.read_plans(s)[0].id
        views = repo.plan_indicators(s, plan_id=plan_id)
    assert [(v.number, v.name, v.measure, v.target_text, v.attribute.value) for v in views] == (
        SHIPPED
    )
    assert views[0].target == Target(None, None)
    assert views[5].target == Target(">", 90.0)
    assert views[2].target == Target(">=", 100.0)
    assert all(v.owner_unit_id is None and v.values == () for v in views)


def plan_id_of(database) -> int:
    with database.session() as s:
        return repo.read_plans(s)[0].id


def test_values_owner_and_reload(loaded_db, tmp_path):
    plan_id = plan_id_of(loaded_db)
    with loaded_db.session() as s:
        unit = s.exec(select(Unit).where(Unit.name == "区民政局")).one()
        repo.set_owner(s, plan_id=plan_id, number=3, unit_id=unit.id, actor_user_id=7, now=NOW)
        for value, source in ((99.0, "民政统计"), (100.0, "民政统计（更正）")):
            repo.record_value(
                s,
                plan_id=plan_id,
                number=3,
                year=2025,
                value=value,
                source=source,
                entered_by=7,
                today=TODAY,
                now=NOW,
            )
    # reloading the (edited) file keeps values and owner, and updates the text
    text = Path("db/data/plan.toml").read_text(encoding="utf-8")
    edited = text.replace('name = "符合条件的残疾人纳入最低生活保障比例"', 'name = "低保比例"')
    with loaded_db.session() as s:
        summary = load_plan(s, read_task_file(write(tmp_path, edited)), now=NOW)
        assert summary.indicators_changed == 1
        again = load_plan(s, read_task_file(write(tmp_path, edited)), now=NOW)
        assert again.indicators_changed == 0
    with loaded_db.session() as s:
        view = repo.plan_indicators(s, plan_id=plan_id)[2]
        assert (view.name, view.owner_unit_name) == ("低保比例", "区民政局")
        assert [(v.year, v.value, v.source) for v in view.values] == [
            (2025, 100.0, "民政统计（更正）")
        ]
        assert len(s.exec(select(IndicatorValue)).all()) == 2  # the superseded one stays
        actions = [
            e.action for e in s.exec(select(AuditEvent)) if e.subject == "indicator:十四五:3"
        ]
        assert actions == ["indicator.owner", "indicator.value", "indicator.value"]
        assert s.exec(select(Indicator)).all().__len__() == 11


@pytest.mark.parametrize(
    ("number", "year", "value", "source", "reason"),
    [
        (12, 2025, 1.0, "x", "unknown_indicator"),
        (3, 2020, 1.0, "x", "year_outside_period"),
        (3, 2026, 1.0, "x", "year_outside_period"),
        (3, 2025, float("nan"), "x", "not_a_number"),
        (3, 2025, float("inf"), "x", "not_a_number"),
        (3, 2025, 1.0, "  ", "no_source"),
    ],
)
def test_refused_values(loaded_db, number, year, value, source, reason):
    plan_id = plan_id_of(loaded_db)
    with loaded_db.session() as s:
        with pytest.raises(repo.IndicatorRefused) as info:
            repo.record_value(
                s,
                plan_id=plan_id,
                number=number,
                year=year,
                value=value,
                source=source,
                entered_by=0,
                today=TODAY,
                now=NOW,
            )
        assert info.value.reason == reason
        assert s.exec(select(IndicatorValue)).all() == []


def test_future_year_refused(loaded_db):
    plan_id = plan_id_of(loaded_db)
    with loaded_db.session() as s:
        with pytest.raises(repo.IndicatorRefused) as info:
            repo.record_value(
                s,
                plan_id=plan_id,
                number=3,
                year=2025,
                value=1.0,
                source="x",
                entered_by=0,
                today=date(2024, 5, 1),
                now=NOW,
            )
        assert info.value.reason == "future_year"


def test_ledger_sheet_of_indicators(loaded_db):
    import io
    from zoneinfo import ZoneInfo

    import openpyxl

    from office.ledger import write_ledger

    plan_id = plan_id_of(loaded_db)
    with loaded_db.session() as s:
        unit = s.exec(select(Unit).where(Unit.name == "区残联")).one()
        repo.set_owner(s, plan_id=plan_id, number=2, unit_id=unit.id, actor_user_id=0, now=NOW)
        for year, value in ((2021, 100.0), (2025, 200.0)):
            repo.record_value(
                s,
                plan_id=plan_id,
                number=2,
                year=year,
                value=value,
                source=f"{year}年培训台账",
                entered_by=0,
                today=TODAY,
                now=NOW,
            )
        repo.record_value(
            s,
            plan_id=plan_id,
            number=6,
            year=2025,
            value=92.5,
            source="区医保局",
            entered_by=0,
            today=TODAY,
            now=NOW,
        )
    buffer = io.BytesIO()
    with loaded_db.session() as s:
        labels = {status: status.value for status in Status}
        write_ledger(s, buffer, zone=ZoneInfo("Asia/Shanghai"), now=NOW, status_labels=labels)
    buffer.seek(0)
    wb = openpyxl.load_workbook(buffer)
    ws = wb["主要指标"]
    assert [c.value for c in ws[1]] == [
        "计划",
        "序号",
        "指标",
        "目标值",
        "属性",
        "类型",
        "填报单位",
        "2021年",
        "2022年",
        "2023年",
        "2024年",
        "2025年",
        "数据来源",
        "完成情况",
    ]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 11
    assert rows[1] == (
        "十四五",
        2,
        "城乡残疾人职业技能及实用技术培训人数（人）",
        "750",
        "预期性",
        "期间累计",
        "区残联",
        100,
        None,
        None,
        None,
        200,
        "2021年：2021年培训台账\n2025年：2025年培训台账",
        "未达到",  # 300 < 750, the period has ended
    )
    assert rows[5][2:7] == (
        "残疾人城乡居民基本养老保险参保率（%）",
        "＞90",
        "预期性",
        "年度水平",
        None,
    )
    assert rows[5][11] == 92.5 and rows[5][13] == "已达到"
    assert rows[0][13] == "缺2025年数据"
    audit = list(wb["操作记录"].iter_rows(min_row=2, values_only=True))
    assert any(r[3] == "录入指标数据" and r[4] == "主要指标第2项" for r in audit)


def test_evaluation_table_of_indicators(loaded_db):
    import io
    from zoneinfo import ZoneInfo

    import docx

    from bot.texts import STATUS_LABEL
    from jobs.evaluation import evaluate
    from office.evaluation import write_evaluation
    from office.indicators import indicator_rows

    plan_id = plan_id_of(loaded_db)
    with loaded_db.session() as s:
        for number, year, value in ((3, 2025, 100.0), (6, 2025, 89.0), (1, 2025, 6.5)):
            repo.record_value(
                s,
                plan_id=plan_id,
                number=number,
                year=year,
                value=value,
                source="统计",
                entered_by=0,
                today=TODAY,
                now=NOW,
            )
        repo.record_value(
            s,
            plan_id=plan_id,
            number=2,
            year=2022,
            value=800.0,
            source="培训台账",
            entered_by=0,
            today=TODAY,
            now=NOW,
        )
    as_of = date(2026, 12, 6)
    with loaded_db.session() as s:
        plan, tasks, reports = repo.evaluation_input(
            s, plan_id=plan_id, zone=ZoneInfo("Asia/Shanghai")
        )
        rows = indicator_rows(s, plan, as_of)
    buffer = io.BytesIO()
    write_evaluation(
        evaluate(plan, tasks, reports, as_of=as_of),
        buffer,
        status_labels=STATUS_LABEL,
        indicators=rows,
    )
    buffer.seek(0)
    doc = docx.Document(buffer)
    texts = [p.text for p in doc.paragraphs]
    section = texts[texts.index("三、主要指标完成情况") + 1]
    assert section == (
        "规划确定主要指标11项（约束性6项、预期性5项）。截至2025年底，"
        "已达到2项，未达到1项，缺少数据7项，需研判1项。"
    )
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "序号")
    assert [c.text for c in table.rows[0].cells] == [
        "序号",
        "指标",
        "目标值",
        "属性",
        "2021年",
        "2022年",
        "2023年",
        "2024年",
        "2025年",
        "完成情况",
    ]
    cells = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert len(cells) == 11
    assert cells[0] == [
        "1",
        "残疾人家庭人均收入年均增长（%）",
        "与全区地区生产总值增长基本同步",
        "预期性",
        "",
        "",
        "",
        "",
        "6.5",
        "需研判（2025年6.5）",
    ]
    assert cells[1][5] == "800" and cells[1][9] == "已达到"  # 800 ≥ 750 over the period
    assert cells[2][8:] == ["100", "已达到"]
    assert cells[5][8:] == ["89", "未达到"]  # ＞90
    assert cells[10][9] == "缺2025年数据"
    assert any(t.startswith("【请协调员填写：对未达到") for t in texts)

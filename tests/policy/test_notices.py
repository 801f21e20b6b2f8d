"""The 督办通知单 and 督查通报 (`office.notices`): the context built from the state and the
digest, the .docx filled from the shipped templates and reopened with python-docx, and a
broken custom template."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.table import Table

from jobs.calendar import WeekdayCalendar
from jobs.digest import build_digest
from jobs.evaluation import Rate
from jobs.lights import LightPolicy
from jobs.plans import PlanStatus, PlanView
from jobs.state import FollowUpState, ReportView, TaskView, UnitView
from jobs.types import Status
from office.notices import (
    BULLETIN,
    NOTICE,
    BulletinPlan,
    TemplateError,
    bulletin_context,
    notice_context,
    render,
)

ZONE = ZoneInfo("Asia/Shanghai")
POLICY = LightPolicy(zone=ZONE, yellow_working_days=10, cycle_day=25)
TODAY = date(2026, 12, 7)  # the cycle started on 2026-11-25
IN_CYCLE = datetime(2026, 12, 1, 2, tzinfo=UTC)
LABELS = {
    Status.NOT_STARTED: "未开始",
    Status.IN_PROGRESS: "推进中",
    Status.BLOCKED: "遇到困难",
    Status.DONE: "已完成",
}


def plan(pid: int, label: str, title: str, years: tuple[int, int], **kw: PlanStatus) -> PlanView:
    first, last = years
    return PlanView(
        pid, title, "", label, date(first, 3, 1), date(first, 1, 1), date(last, 12, 31), **kw
    )


OLD = plan(1, "十四五", "“十四五”残疾人事业发展规划", (2021, 2025))
NEW = plan(2, "十五五", "“十五五”残疾人事业发展规划", (2026, 2030))
CLOSED = plan(3, "2024要点", "2024年工作要点", (2024, 2024), status=PlanStatus.CLOSED)
RED, YELLOW, GREEN, WHITE = "FFC7CE", "FFEB9C", "C6EFCE", "FFFFFF"


def report(rid: int, task: int, status: Status | None, note: str) -> ReportView:
    return ReportView(rid, task, 7, status, note, IN_CYCLE)


def state(plans: tuple[PlanView, ...] = (OLD, NEW, CLOSED)) -> FollowUpState:
    tasks = (
        TaskView(1, 1, "开展残疾人就业帮扶", date(2025, 12, 31), (7,), plan_id=1),  # ended plan
        TaskView(2, 2, "已办结的任务", date(2026, 6, 30), (7,), plan_id=1),
        TaskView(3, 1, "建设康复服务中心", date(2026, 12, 1), (7, 8), plan_id=2),  # overdue
        TaskView(4, 2, "推进无障碍改造", date(2026, 12, 15), (7,), plan_id=2),  # soon, blocked
        TaskView(5, 3, "完善托养服务", date(2027, 12, 31), (7,), plan_id=2),  # reported: green
        TaskView(6, 4, "开展助残日活动", date(2027, 12, 31), (7,), plan_id=2),  # none
        TaskView(7, 5, "别的单位的任务", date(2026, 1, 31), (8,), plan_id=2),
        TaskView(8, 1, "已关闭规划的任务", date(2024, 12, 31), (7,), plan_id=3),
    )
    reports = {
        (2, 7): report(1, 2, Status.DONE, "已办结"),
        (3, 7): report(2, 3, Status.IN_PROGRESS, "主体工程完工"),
        (4, 7): report(3, 4, Status.BLOCKED, "资金未到位"),
        (5, 7): report(4, 5, Status.IN_PROGRESS, "已选址"),
    }
    return FollowUpState(
        tasks=tasks,
        units={7: UnitView(7, "区民政局"), 8: UnitView(8, "区卫生健康委")},
        contacts=(),
        latest_status=dict(reports),
        latest_report=dict(reports),
        plans={p.id: p for p in plans},
    )


def notice(
    unit: int = 7, of: FollowUpState | None = None, number: str = "督办〔2026〕1号"
) -> dict[str, Any]:
    """The notice of `unit` on `of` (default: `state()`) at TODAY."""
    return notice_context(
        of or state(),
        unit,
        today=TODAY,
        zone=ZONE,
        lights=POLICY,
        calendar=WeekdayCalendar(),
        status_labels=LABELS,
        number=number,
    )


def fills(table: Table) -> list[str | None]:
    """The fill of each data row's first cell (None: no shading)."""
    out = []
    for row in table.rows[1:]:
        shd = row.cells[0]._tc.find(f"{qn('w:tcPr')}/{qn('w:shd')}")
        out.append(None if shd is None else shd.get(qn("w:fill")))
    return out


def test_the_notice_lists_open_tasks_of_active_plans_worst_light_first() -> None:
    context = notice()
    rows = context["rows"]
    assert [r["number"] for r in rows] == [
        "十四五第1项",
        "十五五第1项",
        "十五五第2项",
        "十五五第4项",
        "十五五第3项",
    ]
    assert [r["color"] for r in rows] == [RED, RED, YELLOW, WHITE, GREEN]
    assert context["open_count"] == 5
    assert context["overdue_count"] == 2
    assert context["ended_count"] == 1
    # the ended plan's task says so instead of "逾期341天"
    assert rows[0]["when"] == "规划期满未办结"
    assert rows[1]["when"] == "逾期6天"
    assert rows[2]["report"] == "遇到困难：资金未到位"
    assert rows[3]["report_date"] == "未反馈" and rows[3]["report"] == ""
    assert context["reply_by"] == "2026年12月14日"  # five working days after Monday 12-07
    assert context["plans"] == "“十四五”规划、“十五五”规划"


def test_the_notice_docx_has_the_rows_their_colours_and_the_request(tmp_path: Path) -> None:
    target = tmp_path / "notice.docx"
    render(NOTICE, notice(), target, None)
    doc = Document(str(target))
    table = doc.tables[0]
    assert [c.text for c in table.rows[0].cells] == [
        "序号",
        "任务编号",
        "重点任务",
        "完成时限",
        "进度提示",
        "最近反馈",
    ]
    assert len(table.rows) == 6
    assert [c.text for c in table.rows[2].cells] == [
        "2",
        "十五五第1项",
        "建设康复服务中心",
        "2026年12月1日",
        "逾期6天",
        "2026年12月1日 推进中：主体工程完工",
    ]
    assert fills(table) == [RED, RED, YELLOW, WHITE, GREEN]
    # every cell of a row carries the row's colour
    assert {
        c._tc.find(f"{qn('w:tcPr')}/{qn('w:shd')}").get(qn("w:fill")) for c in table.rows[3].cells
    } == {YELLOW}
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "区民政局：" in text
    assert "督办〔2026〕1号" in text
    assert "请于2026年12月14日前" in text
    assert "其中1项所属规划实施期已结束" in text
    assert "{{" not in text and "{%" not in text


def test_another_units_notice_has_its_own_tasks_longest_overdue_first() -> None:
    context = notice(8)
    assert [r["number"] for r in context["rows"]] == ["十五五第5项", "十五五第1项"]
    assert context["ended_count"] == 0


def test_one_active_plan_numbers_tasks_without_the_plan() -> None:
    full = state((NEW,))
    context = notice(7, replace(full, tasks=tuple(t for t in full.tasks if t.plan_id == NEW.id)))
    assert [r["number"] for r in context["rows"]] == ["第1项", "第2项", "第4项", "第3项"]
    assert context["plans"] == "“十五五”规划"


def bulletin() -> dict[str, Any]:
    s = state()
    now = datetime(2026, 12, 7, 2, tzinfo=UTC)
    parts = []
    for plan, rate in ((NEW, Rate(0, 5)), (OLD, Rate(1, 2))):
        digest = build_digest(
            now,
            s.for_plan(plan.id),
            zone=ZONE,
            since=datetime(2026, 11, 30, tzinfo=UTC),
            lights=POLICY,
            calendar=WeekdayCalendar(),
        )
        parts.append(BulletinPlan(plan=plan, digest=digest, completion=rate))
    return bulletin_context(parts, today=TODAY, since=date(2026, 11, 30))


def test_the_bulletin_docx_has_each_plan_its_lights_and_lists(tmp_path: Path) -> None:
    context = bulletin()
    new = context["plans"][0]
    assert (new["red_count"], new["yellow_count"], new["green_count"], new["none_count"]) == (
        2,
        1,
        1,
        1,
    )
    assert [r["number"] for r in new["red"]] == ["第5项", "第1项"]
    assert new["statistics"] is None
    target = tmp_path / "bulletin.docx"
    render(BULLETIN, context, target, None)
    doc = Document(str(target))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "一、“十五五”规划" in text and "二、“十四五”规划" in text
    assert "办结率0.0%" in text and "办结率50.0%" in text
    assert "该规划实施期已于2025年12月31日结束" in text
    assert "统计数据" not in text
    assert "{{" not in text and "{%" not in text
    red = doc.tables[0]
    assert [c.text for c in red.rows[1].cells] == [
        "第5项",
        "别的单位的任务",
        "区卫生健康委",
        "2026年1月31日",
        "逾期310天",
    ]
    assert fills(red) == [RED, RED]
    yellow = doc.tables[1]
    assert [c.text for c in yellow.rows[1].cells][:3] == ["第2项", "推进无障碍改造", "区民政局"]
    assert yellow.rows[1].cells[4].text == "遇到困难"
    assert fills(yellow) == [YELLOW]


def test_statistics_show_when_given(tmp_path: Path) -> None:
    context = bulletin()
    context["plans"][0]["statistics"] = "本期新增反馈12条"
    target = tmp_path / "bulletin.docx"
    render(BULLETIN, context, target, None)
    text = "\n".join(p.text for p in Document(str(target)).paragraphs)
    assert "（四）统计数据" in text and "本期新增反馈12条" in text


def test_a_custom_template_replaces_the_shipped_one(tmp_path: Path) -> None:
    custom = Document()
    custom.add_paragraph("{{ unit }}请注意：{{ open_count }}项")
    custom.save(str(tmp_path / NOTICE))
    target = tmp_path / "out.docx"
    render(NOTICE, notice(), target, tmp_path)
    assert Document(str(target)).paragraphs[0].text == "区民政局请注意：5项"


@pytest.mark.parametrize(
    ("text", "says"),
    [("{{ no_such_key }}", "no_such_key"), ("{% for x in rows %}", "endfor"), (None, "not a Word")],
)
def test_a_broken_custom_template_gives_a_clear_error(
    tmp_path: Path, text: str | None, says: str
) -> None:
    if text is None:
        (tmp_path / NOTICE).write_text("not a document", encoding="utf-8")
    else:
        broken = Document()
        broken.add_paragraph(text)
        broken.save(str(tmp_path / NOTICE))
    with pytest.raises(TemplateError) as caught:
        render(NOTICE, notice(), tmp_path / "out.docx", tmp_path)
    assert caught.value.template.endswith(NOTICE)
    assert says in caught.value.detail


def test_markup_characters_are_written_as_typed(tmp_path: Path) -> None:
    context = notice()
    context["rows"][0]["task"] = "推进<无障碍>改造 & 验收"
    target = tmp_path / "notice.docx"
    render(NOTICE, context, target, None)
    assert Document(str(target)).tables[0].rows[1].cells[2].text == "推进<无障碍>改造 & 验收"

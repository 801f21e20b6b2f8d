"""The evaluation read from the database (`repo.evaluation_input`) and written as a .docx
(`office.evaluation`): the fixed data set of tests/evaluation_data.py, stored beside the
shipped plan, gives the figures written by hand in tests/policy/test_evaluation.py."""

from __future__ import annotations

import io
from datetime import date
from zoneinfo import ZoneInfo

import docx
from docx.oxml.ns import qn

from bot.texts import STATUS_LABEL
from db import repo
from db.engine import Database
from jobs.evaluation import ChangeBasis, Evaluation, evaluate
from jobs.types import PlanStatus, Status
from office.evaluation import evaluation_filename, write_evaluation
from tests import db_fixtures
from tests.evaluation_data import DD, store_sample

fresh_db = db_fixtures.fresh_db
loaded_db = db_fixtures.loaded_db

ZONE = ZoneInfo("Asia/Shanghai")


def evaluation(database: Database, as_of: date = date(2026, 12, 6)) -> Evaluation:
    plan_id = store_sample(database)
    with database.session() as s:
        plan, tasks, reports = repo.evaluation_input(s, plan_id=plan_id, zone=ZONE)
    return evaluate(plan, tasks, reports, as_of=as_of)


def test_figures_of_the_closed_plan_from_the_database(loaded_db: Database) -> None:
    ev = evaluation(loaded_db)
    assert ev.plan.status is PlanStatus.CLOSED and not ev.interim
    assert [t.task.number for t in ev.tasks] == [1, 2, 3, 4, 5, 6]
    assert ev.by_status == {Status.DONE: 4, None: 1, Status.BLOCKED: 1}
    assert (ev.completion.done, ev.completion.total, ev.completion.percent) == (4, 6, "66.7%")
    assert (ev.on_time_original.done, ev.on_time_original.percent) == (1, "16.7%")
    assert (ev.on_time_adjusted.done, ev.on_time_adjusted.percent) == (2, "33.3%")
    assert ev.never_reported == (DD,)
    assert (ev.reports, ev.backfilled_reports) == (10, 9)
    done = {t.task.number: t.done_on for t in ev.tasks}
    assert done == {
        1: date(2024, 3, 15),
        2: date(2023, 10, 8),
        3: date(2025, 3, 1),
        4: None,
        5: None,
        6: date(2022, 11, 30),
    }


def test_deadline_changes_and_their_basis(loaded_db: Database) -> None:
    ev = evaluation(loaded_db)
    changes = {
        t.task.number: [(c.on, c.before, c.after, c.basis) for c in t.changes] for t in ev.tasks
    }
    assert changes == {
        1: [(date(2024, 5, 10), date(2023, 12, 31), date(2025, 6, 30), ChangeBasis.BULK)],
        2: [(date(2023, 5, 20), date(2023, 6, 30), date(2023, 12, 31), ChangeBasis.EXTENSION)],
        # the shipped plan's task 3 moved to the same date later: not this task's history
        3: [(date(2024, 5, 10), date(2024, 6, 30), date(2025, 6, 30), ChangeBasis.BULK)],
        4: [(date(2025, 11, 1), date(2025, 12, 31), date(2026, 6, 30), ChangeBasis.COORDINATOR)],
        5: [],
        6: [],
    }
    adjusted = {t.task.number: t.adjusted_deadline for t in ev.tasks}
    assert adjusted[3] == date(2024, 6, 30) and adjusted[4] == date(2026, 6, 30)


def test_timeline_lists_past_records_with_their_real_dates(loaded_db: Database) -> None:
    ev = evaluation(loaded_db)
    one = ev.tasks[0]
    assert [(r.on, r.status, r.backfill) for r in one.timeline] == [
        (date(2022, 6, 30), Status.IN_PROGRESS, True),
        (date(2024, 3, 15), Status.DONE, True),
    ]
    assert one.evidence == ("验收报告.pdf",)
    six = ev.tasks[5]
    assert [(r.on, r.backfill) for r in six.timeline] == [
        (date(2022, 11, 30), True),
        (date(2023, 1, 10), False),  # a live report, dated by when it was made (Shanghai)
    ]


def test_interim_evaluation_from_the_database(loaded_db: Database) -> None:
    ev = evaluation(loaded_db, as_of=date(2023, 12, 31))
    assert ev.interim
    assert (ev.completion.done, ev.completion.percent) == (2, "33.3%")
    assert ev.on_time_adjusted.percent == "33.3%"


def document(ev: Evaluation) -> docx.document.Document:
    buffer = io.BytesIO()
    write_evaluation(ev, buffer, status_labels=STATUS_LABEL)
    buffer.seek(0)
    return docx.Document(buffer)


def all_text(doc: docx.document.Document) -> str:
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_the_docx_draft(loaded_db: Database) -> None:
    ev = evaluation(loaded_db)
    doc = document(ev)
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "评估样例总结评估报告（初稿）"
    assert "评估〔2021〕1号" in texts[1] and "评估样例规划（2021—2025年）" in texts[1]
    headings = [
        "一、总体完成情况",
        "二、分项完成情况",
        "三、主要指标完成情况",
        "四、存在的问题",
        "五、下一步打算",
    ]
    positions = [texts.index(h) for h in headings]
    assert positions == sorted(positions)
    body = all_text(doc)
    for figure in ("66.7%（4/6）", "16.7%（1/6）", "33.3%（2/6）", "办结率66.7%"):
        assert figure in body
    assert "从未反馈进展的牵头单位：区卫健委。" in body
    assert "2022年6月30日" in body and "补录" in body and "批准延期" in body
    assert "验收报告.pdf" in body
    assert sum("【请协调员填写：" in t for t in texts) == 3
    title_run = doc.paragraphs[0].runs[0]
    assert title_run.font.size.pt == 22
    assert title_run._element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    # Word's navigation lists the headings: 一、 in Heading 1, each task's （一） in Heading 2,
    # numbered once (by its 序号 in the plan)
    assert {doc.paragraphs[texts.index(h)].style.name for h in headings} == {"Heading 1"}
    tasks = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert len(tasks) == len(ev.tasks) and tasks[0].startswith("（一）第1项　")
    assert "任务1：" not in body
    # a task's own status row is not repeated for its one lead unit; several get a row each
    unit_rows = [c.text for t in doc.tables for row in t.rows for c in row.cells[:1]]
    several = sum(len(o.units) for o in ev.tasks if len(o.units) > 1)
    assert sum(text.startswith("牵头单位：") for text in unit_rows) == several
    heading_run = doc.paragraphs[texts.index(headings[0])].runs[0]
    assert heading_run._element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert heading_run.font.size.pt == 16
    body_run = doc.paragraphs[texts.index(headings[0]) + 1].runs[0]
    assert body_run._element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert body_run.font.size.pt == 16
    # table cells take 仿宋_GB2312 小四 from their paragraph style, the header row bold
    cell = doc.tables[0].rows[1].cells[0].paragraphs[0]
    assert cell.style.name == "EvaluationCell" and cell.style.font.size.pt == 12
    assert cell.style.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    head = doc.tables[0].rows[0].cells[0].paragraphs[0]
    assert head.style.name == "EvaluationCellHeader" and head.style.font.bold
    assert evaluation_filename(ev) == "评估样例总结评估（初稿）20261206.docx"


def test_an_interim_draft_says_so(loaded_db: Database) -> None:
    doc = document(evaluation(loaded_db, as_of=date(2023, 12, 31)))
    assert doc.paragraphs[0].text == "评估样例中期评估报告（初稿）"
    assert "中期评估" in doc.paragraphs[2].text and "2023年12月31日" in doc.paragraphs[2].text


def test_a_corrected_report_is_replaced_by_its_correction(loaded_db: Database) -> None:
    from sqlmodel import select

    from db.models import StatusReport

    plan_id = store_sample(loaded_db)
    with loaded_db.session() as s:
        blocked = s.exec(select(StatusReport).where(StatusReport.note == "场地未落实")).one()
        correction = repo.add_report(
            s,
            task_id=blocked.task_id,
            unit_id=blocked.unit_id,
            contact_id=None,
            reporter_user_id=300,
            status=Status.IN_PROGRESS,
            note="场地已落实",
            now=blocked.created_at,
            source="backfill",
            corrects_id=blocked.id,
        )
        s.execute(
            StatusReport.__table__.update()  # type: ignore[attr-defined]
            .where(StatusReport.__table__.c.id == correction.id)  # type: ignore[attr-defined]
            .values(occurred_on=date(2025, 4, 1))
        )
    with loaded_db.session() as s:
        plan, tasks, reports = repo.evaluation_input(s, plan_id=plan_id, zone=ZONE)
    five = evaluate(plan, tasks, reports, as_of=date(2026, 12, 6)).tasks[4]
    assert five.status is Status.IN_PROGRESS  # 区民政局 done, 区人社局 in progress
    assert [(r.note, r.correction) for r in five.timeline] == [
        ("场地已落实", True),
        ("", False),
        ("仍在协调", False),
    ]
    assert "（更正）" in all_text(document(evaluate(plan, tasks, reports, as_of=date(2026, 12, 6))))


def test_a_carried_over_task_names_its_new_task(loaded_db: Database) -> None:
    from sqlmodel import select

    from db.models import Task

    plan_id = store_sample(loaded_db)
    with loaded_db.session() as s:
        old = s.exec(select(Task).where(Task.plan_id == plan_id, Task.number == 5)).one()
        other = s.exec(select(Task).where(Task.plan_id != plan_id)).first()
        assert other is not None
        s.add(
            Task(
                plan_id=other.plan_id,
                number=31,
                text=old.text,
                deadline=date(2027, 6, 30),
                original_deadline=date(2027, 6, 30),
                carried_from_id=old.id,
            )
        )
    with loaded_db.session() as s:
        plan, tasks, reports = repo.evaluation_input(s, plan_id=plan_id, zone=ZONE)
    ev = evaluate(plan, tasks, reports, as_of=date(2026, 12, 6))
    assert [t.task.carried_to for t in ev.tasks] == [(), (), (), (), ("十四五第31项",), ()]
    body = all_text(document(ev))
    assert "已结转至十四五第31项" in body
    assert "已结转至新规划继续推进的任务1项：第5项。" in body

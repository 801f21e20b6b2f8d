"""Two plans with the same task numbers in one database (issue 16): loading the 十五五 plan
beside the shipped 十四五 plan adds its own 30 tasks and touches none of the first plan's;
loading it again changes nothing; an edited text changes only that plan's task; reports,
the follow-up state and `repo.get_task` keep the plans apart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from sqlmodel import col, select

from db import repo
from db.engine import Database
from db.models import Assignment, Plan, StatusReport, Task
from db.seed import load_plan
from jobs.types import PlanStatus
from tests import db_fixtures
from tests.plans_data import (
    FIFTEENTH_DEADLINE,
    FIFTEENTH_NUMBER,
    FOURTEENTH_NUMBER,
    fifteenth_plan,
    fifteenth_text,
)

fresh_db = db_fixtures.fresh_db
loaded_db = db_fixtures.loaded_db

LATER = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def tasks_of(database: Database, number: str) -> dict[int, tuple[int, str, date, tuple]]:
    """The tasks of the plan with 文号 `number`: 序号 -> (id, text, deadline, assignments)."""
    with database.session() as s:
        plan = s.exec(select(Plan).where(Plan.document_number == number)).one()
        tasks = s.exec(select(Task).where(Task.plan_id == plan.id)).all()
        found = {}
        for task in tasks:
            rows = s.exec(
                select(Assignment.unit_id, Assignment.role, Assignment.position).where(
                    Assignment.task_id == task.id
                )
            ).all()
            assert task.id is not None
            found[task.number] = (task.id, task.text, task.deadline, tuple(sorted(rows)))
        return found


def load_fifteenth(database: Database, record=None) -> object:
    with database.session() as s:
        return load_plan(s, record or fifteenth_plan(), now=LATER)


def test_a_second_plan_adds_its_30_tasks_and_changes_none_of_the_first(
    loaded_db: Database,
) -> None:
    before = tasks_of(loaded_db, FOURTEENTH_NUMBER)
    assert sorted(before) == list(range(1, 31))
    summary = load_fifteenth(loaded_db)
    assert (summary.tasks_added, summary.tasks_updated, summary.units_added) == (30, 0, 0)
    assert summary.plan_added and summary.plan_name == "十五五"
    assert tasks_of(loaded_db, FOURTEENTH_NUMBER) == before
    new = tasks_of(loaded_db, FIFTEENTH_NUMBER)
    assert sorted(new) == list(range(1, 31))
    assert not {v[0] for v in new.values()} & {v[0] for v in before.values()}
    assert new[5][1:3] == ("十五五第5项：巩固拓展残疾人保障成果的第5项工作。", FIFTEENTH_DEADLINE)
    # the same units, assigned to the new plan's own tasks
    assert all(new[n][3] == before[n][3] for n in range(1, 31))
    with loaded_db.session() as s:
        plans = {p.short_name: p for p in s.exec(select(Plan))}
        assert set(plans) == {"十四五", "十五五"}
        fifteenth = plans["十五五"]
        assert (fifteenth.period_start, fifteenth.period_end) == (
            date(2026, 1, 1),
            date(2030, 12, 31),
        )
        assert fifteenth.status is PlanStatus.ACTIVE
        assert s.exec(select(Task)).all().__len__() == 60


def test_loading_it_again_changes_nothing(loaded_db: Database) -> None:
    load_fifteenth(loaded_db)
    first = tasks_of(loaded_db, FOURTEENTH_NUMBER)
    second = tasks_of(loaded_db, FIFTEENTH_NUMBER)
    again = load_fifteenth(loaded_db)
    assert not again.changed
    assert (again.tasks_added, again.tasks_updated, again.units_added) == (0, 0, 0)
    assert not again.plan_added
    assert tasks_of(loaded_db, FOURTEENTH_NUMBER) == first
    assert tasks_of(loaded_db, FIFTEENTH_NUMBER) == second


def test_an_edited_text_updates_only_that_plans_task(loaded_db: Database) -> None:
    load_fifteenth(loaded_db)
    first = tasks_of(loaded_db, FOURTEENTH_NUMBER)
    second = tasks_of(loaded_db, FIFTEENTH_NUMBER)
    record = fifteenth_plan()
    edited = "十五五第5项：修改后的任务表述。"
    tasks = tuple(replace(t, text=edited) if t.number == 5 else t for t in record.tasks)
    summary = load_fifteenth(loaded_db, replace(record, tasks=tasks))
    assert (summary.tasks_added, summary.tasks_updated, summary.plan_added) == (0, 1, False)
    assert tasks_of(loaded_db, FOURTEENTH_NUMBER) == first
    after = tasks_of(loaded_db, FIFTEENTH_NUMBER)
    assert after[5] == (second[5][0], edited, second[5][2], second[5][3])
    assert {n: v for n, v in after.items() if n != 5} == {n: v for n, v in second.items() if n != 5}
    assert after[4][1] == fifteenth_text(4)


def test_reports_and_state_stay_with_their_plan(loaded_db: Database) -> None:
    load_fifteenth(loaded_db)
    first = tasks_of(loaded_db, FOURTEENTH_NUMBER)
    second = tasks_of(loaded_db, FIFTEENTH_NUMBER)
    with loaded_db.session() as s:
        unit = repo.get_unit_by_name(s, name="区民政局")
        assert unit is not None and unit.id is not None
        repo.add_report(
            s,
            task_id=second[5][0],
            unit_id=unit.id,
            contact_id=None,
            reporter_user_id=2001,
            status=None,
            note="十五五的留言",
            now=LATER,
        )
    with loaded_db.session() as s:
        rows = s.exec(select(StatusReport).order_by(col(StatusReport.id))).all()
        assert [(r.task_id, r.note) for r in rows] == [(second[5][0], "十五五的留言")]
        state = repo.load_state(s)
        plans = {p.short_name: p for p in state.plans.values()}
        old = state.for_plan(plans["十四五"].id)
        new = state.for_plan(plans["十五五"].id)
        assert sorted(t.number for t in old.tasks) == list(range(1, 31))
        assert sorted(t.number for t in new.tasks) == list(range(1, 31))
        assert {t.id for t in old.tasks} == {v[0] for v in first.values()}
        assert {t.id for t in new.tasks} == {v[0] for v in second.values()}
        # reports are keyed by task id: the first plan's tasks have none
        old_ids = {t.id for t in old.tasks}
        assert [k for k in state.latest_report if k[0] in old_ids] == []
        assert list(state.latest_report) == [(second[5][0], unit.id)]
        # a number alone means the newest active plan; the first plan's id names its own
        default = repo.get_task(s, number=5)
        assert default is not None and default.id == second[5][0]
        own = repo.get_task(s, number=5, plan_id=plans["十四五"].id)
        assert own is not None and own.id == first[5][0]

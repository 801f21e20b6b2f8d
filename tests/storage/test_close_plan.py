"""Closing a plan and carrying its unfinished tasks over (issue 17 §2, `db.repo.plans`): the
close is stored once and audited, decides the plan's open hold, and carried tasks are
numbered after the target plan's highest number, keep their units and are carried once."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlmodel import col, select

from bot.texts import STATUS_LABEL
from db import repo
from db.engine import Database
from db.models import Assignment, AuditEvent, Plan, Task
from db.seed import load_plan
from jobs.hold import HoldFinding
from jobs.types import AssignmentRole, HoldDecision, PlanStatus, Status
from office.ledger import write_ledger
from tests import db_fixtures
from tests.plans_data import fifteenth_plan

fresh_db = db_fixtures.fresh_db
loaded_db = db_fixtures.loaded_db

LATER = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
CLOSE = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
COORDINATOR = 1001
NEW_DEADLINE = date(2027, 3, 31)


@pytest.fixture
def two_plans(loaded_db: Database) -> tuple[Database, int, int]:
    """The shipped 十四五 plan with tasks 1-28 done by every lead unit, and 十五五 beside it."""
    with loaded_db.session() as s:
        load_plan(s, fifteenth_plan(), now=LATER)
        plans = {p.short_name: p.id or 0 for p in s.exec(select(Plan))}
        old = plans["十四五"]
        for task in s.exec(select(Task).where(Task.plan_id == old, Task.number <= 28)):
            for unit_id in s.exec(
                select(Assignment.unit_id).where(
                    Assignment.task_id == task.id, Assignment.role == AssignmentRole.LEAD
                )
            ):
                repo.add_report(
                    s,
                    task_id=task.id or 0,
                    unit_id=unit_id,
                    contact_id=None,
                    reporter_user_id=COORDINATOR,
                    status=Status.DONE,
                    note="已完成",
                    now=LATER,
                    source="coordinator",
                )
        # task 29: one lead unit in progress, so not finished
        task29 = s.exec(select(Task).where(Task.plan_id == old, Task.number == 29)).one()
        lead = s.exec(
            select(Assignment.unit_id).where(
                Assignment.task_id == task29.id, Assignment.role == AssignmentRole.LEAD
            )
        ).first()
        assert lead is not None
        repo.add_report(
            s,
            task_id=task29.id or 0,
            unit_id=lead,
            contact_id=None,
            reporter_user_id=COORDINATOR,
            status=Status.IN_PROGRESS,
            note="推进中",
            now=LATER,
            source="coordinator",
        )
    return loaded_db, plans["十四五"], plans["十五五"]


def test_closing_stores_who_and_when_once(two_plans: tuple[Database, int, int]) -> None:
    database, old, _ = two_plans
    with database.session() as s:
        plan = repo.close_plan(s, plan_id=old, actor_user_id=COORDINATOR, now=CLOSE)
        assert plan.status is PlanStatus.CLOSED
    with database.session() as s:
        plan = s.get(Plan, old)
        assert plan is not None
        assert (plan.status, plan.closed_at, plan.closed_by) == (
            PlanStatus.CLOSED,
            CLOSE,
            COORDINATOR,
        )
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "plan.close")).all()
        assert [(e.subject, e.before, e.after, e.actor_user_id) for e in events] == [
            (f"plan:{old}", "active", "closed", COORDINATOR)
        ]
    with database.session() as s, pytest.raises(repo.PlanChangeRefused) as refused:
        repo.close_plan(s, plan_id=old, actor_user_id=COORDINATOR, now=CLOSE)
    assert refused.value.reason == "already closed"
    assert "已经关闭" in refused.value.message
    with database.session() as s:
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "plan.close")).all()) == 1
        repo.reopen_plan(s, plan_id=old, actor_user_id=0, now=CLOSE)
    with database.session() as s:
        plan = s.get(Plan, old)
        assert plan is not None
        assert (plan.status, plan.closed_at, plan.closed_by) == (PlanStatus.ACTIVE, None, None)
        with pytest.raises(repo.PlanChangeRefused):
            repo.reopen_plan(s, plan_id=old, actor_user_id=0, now=CLOSE)


def test_closing_decides_the_plans_open_hold(two_plans: tuple[Database, int, int]) -> None:
    database, old, new = two_plans
    finding = HoldFinding(
        today=date(2026, 12, 4),
        period_end=date(2025, 12, 31),
        open_pairs=3,
        late_pairs=3,
        overdue_pairs=3,
    )
    with database.session() as s:
        held, _ = repo.store_finding(s, finding=finding, now=LATER, plan_id=old)
        other, _ = repo.store_finding(s, finding=finding, now=LATER, plan_id=new)
        assert held is not None and other is not None
        held_id, other_id = held.id, other.id
    with database.session() as s:
        repo.close_plan(s, plan_id=old, actor_user_id=COORDINATOR, now=CLOSE)
    with database.session() as s:
        assert repo.open_hold(s, plan_id=old) is None
        decided = repo.get_hold(s, hold_id=held_id or 0)
        assert decided is not None
        assert (decided.decision, decided.decided_by) == (HoldDecision.SEND, COORDINATOR)
        kept = repo.get_hold(s, hold_id=other_id or 0)
        assert kept is not None and kept.decision is None  # the other plan's stays open


def test_carry_over_numbers_after_the_target_and_keeps_units(
    two_plans: tuple[Database, int, int],
) -> None:
    database, old, new = two_plans
    with database.session() as s:
        preview = repo.carry_plan(s, from_plan_id=old, into_plan_id=new, task_ids=None)
        assert [(i.from_number, i.new_number) for i in preview] == [(29, 31), (30, 32)]
        created = repo.carry_over(
            s,
            from_plan_id=old,
            into_plan_id=new,
            task_ids=None,
            deadline=NEW_DEADLINE,
            actor_user_id=COORDINATOR,
            now=CLOSE,
        )
        assert [t.number for t in created] == [31, 32]
    with database.session() as s:
        old29 = s.exec(select(Task).where(Task.plan_id == old, Task.number == 29)).one()
        new31 = s.exec(select(Task).where(Task.plan_id == new, Task.number == 31)).one()
        assert new31.carried_from_id == old29.id
        assert new31.text == old29.text
        assert (new31.deadline, new31.original_deadline) == (NEW_DEADLINE, NEW_DEADLINE)

        def units(task: Task) -> list[tuple[int, AssignmentRole, int]]:
            return [
                (a.unit_id, a.role, a.position)
                for a in s.exec(
                    select(Assignment)
                    .where(Assignment.task_id == task.id)
                    .order_by(col(Assignment.role), col(Assignment.position))
                )
            ]

        assert units(new31) == units(old29) and units(new31)
        assert [t.number for t in repo.carried_into(s, task_id=old29.id or 0)] == [31]
        events = s.exec(
            select(AuditEvent).where(AuditEvent.action == "task.carry").order_by(col(AuditEvent.id))
        ).all()
        assert [(e.subject, e.before, e.after) for e in events] == [
            (f"task:{new}:31", f"task:{old}:29", "2027-03-31"),
            (f"task:{new}:32", f"task:{old}:30", "2027-03-31"),
        ]
    with database.session() as s:  # carried once: a second run carries nothing
        again = repo.carry_over(
            s,
            from_plan_id=old,
            into_plan_id=new,
            task_ids=None,
            deadline=NEW_DEADLINE,
            actor_user_id=COORDINATOR,
            now=CLOSE,
        )
        assert again == []
        assert s.exec(select(Task).where(Task.plan_id == new)).all().__len__() == 32


def test_carry_over_of_chosen_tasks_and_refusals(two_plans: tuple[Database, int, int]) -> None:
    database, old, new = two_plans
    with database.session() as s:
        task30 = s.exec(select(Task).where(Task.plan_id == old, Task.number == 30)).one()
        task5 = s.exec(select(Task).where(Task.plan_id == old, Task.number == 5)).one()
        created = repo.carry_over(
            s,
            from_plan_id=old,
            into_plan_id=new,
            task_ids=[task30.id or 0, task5.id or 0],  # 5 is done: not carried
            deadline=NEW_DEADLINE,
            actor_user_id=COORDINATOR,
            now=CLOSE,
        )
        assert [(t.number, t.carried_from_id) for t in created] == [(31, task30.id)]
        with pytest.raises(repo.PlanChangeRefused) as refused:
            repo.carry_plan(s, from_plan_id=old, into_plan_id=old, task_ids=None)
        assert refused.value.reason == "same plan"
        later = repo.carry_plan(s, from_plan_id=old, into_plan_id=new, task_ids=None)
        assert [(i.from_number, i.new_number) for i in later] == [(29, 32)]


def test_the_ledger_links_carried_tasks_in_its_last_column(
    two_plans: tuple[Database, int, int],
) -> None:
    database, old, new = two_plans
    with database.session() as s:
        repo.carry_over(
            s,
            from_plan_id=old,
            into_plan_id=new,
            task_ids=None,
            deadline=NEW_DEADLINE,
            actor_user_id=COORDINATOR,
            now=CLOSE,
        )
        repo.close_plan(s, plan_id=old, actor_user_id=COORDINATOR, now=CLOSE)
    buffer = io.BytesIO()
    with database.session() as s:
        write_ledger(
            s, buffer, zone=ZoneInfo("Asia/Shanghai"), now=CLOSE, status_labels=STATUS_LABEL
        )
    buffer.seek(0)
    sheet = openpyxl.load_workbook(buffer)["台账"]
    assert sheet.cell(1, sheet.max_column).value == "结转"
    links = {
        (row[-2], row[0], row[-1])
        for row in sheet.iter_rows(min_row=2, values_only=True)
        if row[-1]
    }
    assert links == {
        ("十四五", 29, "已结转至【十五五】第31项"),
        ("十四五", 30, "已结转至【十五五】第32项"),
        ("十五五", 31, "结转自【十四五】第29项"),
        ("十五五", 32, "结转自【十四五】第30项"),
    }

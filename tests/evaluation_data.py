"""The evaluation's fixed data set (tests/policy/test_evaluation.py's table) stored in a
database as a closed plan 评估样例 beside whatever is loaded, through the repo's own writes:
past records (补录) 2022-2025 with their real dates, an approved extension, a bulk move
(/deadline of tasks 1 and 3 at once), a coordinator's change of task 4, evidence files.

The expected figures are written by hand in the tests, never computed from this module.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from db import repo
from db.engine import Database
from db.models import Assignment, EvidenceFile, Plan, StatusReport, Task, Unit
from jobs.types import AssignmentRole, PlanStatus, Status

SHORT_NAME = "评估样例"
DOCUMENT_NUMBER = "评估〔2021〕1号"
TITLE = "评估样例规划（2021—2025年）"
COORDINATOR = 100
ENTERED = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # when the past records were entered
A, B, C, DD, E = "区残联", "区民政局", "区教育局", "区卫健委", "区人社局"

TASKS = [
    (1, "无障碍环境建设", date(2023, 12, 31), (A,), ()),
    (2, "残疾人就业帮扶", date(2023, 6, 30), (B,), (A,)),
    (3, "康复服务全覆盖", date(2024, 6, 30), (A, C), ()),
    (4, "残疾预防", date(2025, 12, 31), (DD,), ()),
    (5, "托养服务", date(2025, 6, 30), (B, E), ()),
    (6, "特殊教育", date(2022, 12, 31), (C,), ()),
]

# (task, unit, status, note, date, backfill, evidence)
REPORTS = [
    (1, A, Status.IN_PROGRESS, "启动改造", date(2022, 6, 30), True, ()),
    (1, A, Status.DONE, "验收", date(2024, 3, 15), True, ("验收报告.pdf",)),
    (2, B, Status.DONE, "", date(2023, 10, 8), True, ()),
    (3, A, Status.DONE, "", date(2024, 9, 1), True, ()),
    (3, C, Status.DONE, "", date(2025, 3, 1), True, ("照片1.jpg", "照片2.jpg")),
    (5, B, Status.DONE, "", date(2025, 5, 1), True, ()),
    (5, E, Status.BLOCKED, "场地未落实", date(2025, 4, 1), True, ()),
    (5, E, None, "仍在协调", date(2025, 8, 1), True, ()),
    (6, C, Status.DONE, "", date(2022, 11, 30), True, ()),
    (6, C, Status.DONE, "再次确认", date(2023, 1, 10), False, ()),
]


def at(day: date) -> datetime:
    """10:00 in Shanghai on `day`, as UTC."""
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


def _unit(s: Session, name: str) -> int:
    unit = s.exec(select(Unit).where(Unit.name == name)).first()
    if unit is None:
        unit = Unit(name=name)
        s.add(unit)
        s.flush()
    assert unit.id is not None
    return unit.id


def store_sample(database: Database) -> int:
    """Store the plan 评估样例 with its tasks, history and reports; returns its id. When the
    shipped plan is loaded, its task 3 also moves to 2025-06-30, later than this plan's
    task 3 did (same 序号 and date, other plan: its audit event must not be taken for
    this plan's)."""
    with database.session() as s:
        plan = Plan(
            title=TITLE,
            document_number=DOCUMENT_NUMBER,
            short_name=SHORT_NAME,
            issued_on=date(2021, 6, 1),
            period_start=date(2021, 1, 1),
            period_end=date(2025, 12, 31),
        )
        s.add(plan)
        s.flush()
        assert plan.id is not None
        plan_id = plan.id
        tasks: dict[int, Task] = {}
        units: dict[str, int] = {}
        for number, text, deadline, leads, others in TASKS:
            task = Task(
                plan_id=plan_id,
                number=number,
                text=text,
                deadline=deadline,
                original_deadline=deadline,
            )
            s.add(task)
            s.flush()
            tasks[number] = task
            for role, names in ((AssignmentRole.LEAD, leads), (AssignmentRole.RESPONSIBLE, others)):
                for position, name in enumerate(names):
                    units[name] = _unit(s, name)
                    s.add(
                        Assignment(
                            task_id=task.id or 0,
                            unit_id=units[name],
                            role=role,
                            position=position,
                        )
                    )
        s.flush()
        request = repo.create_extension(
            s,
            task=tasks[2],
            unit_id=units[B],
            contact_id=None,
            requested_by=200,
            requested_deadline=date(2023, 12, 31),
            reason="资金未到位",
            now=at(date(2023, 5, 18)),
        )
        repo.decide_extension(
            s,
            request_id=request.id or 0,
            approve=True,
            decided_by=COORDINATOR,
            now=at(date(2023, 5, 20)),
        )
        repo.apply_deadline_batch(
            s,
            numbers=[1, 3],
            new=date(2025, 6, 30),
            actor_user_id=COORDINATOR,
            reason="统一调整",
            now=at(date(2024, 5, 10)),
            plan_id=plan_id,
        )
        repo.set_deadline(
            s,
            task=tasks[4],
            new=date(2026, 6, 30),
            actor_user_id=COORDINATOR,
            reason="调研延后",
            now=at(date(2025, 11, 1)),
        )
        shipped = s.exec(select(Task).where(Task.number == 3, Task.plan_id != plan_id)).first()
        if shipped is not None:
            repo.set_deadline(
                s,
                task=shipped,
                new=date(2025, 6, 30),
                actor_user_id=COORDINATOR,
                reason="其他规划",
                now=at(date(2024, 7, 1)),
            )
        for number, name, status, note, day, backfill, files in REPORTS:
            report = repo.add_report(
                s,
                task_id=tasks[number].id or 0,
                unit_id=units[name],
                contact_id=None,
                reporter_user_id=COORDINATOR if backfill else 300,
                status=status,
                note=note,
                now=ENTERED if backfill else at(day),
                source="backfill" if backfill else "conversation",
                entered_by=COORDINATOR if backfill else None,
            )
            if backfill:
                s.execute(
                    update(StatusReport)
                    .where(col(StatusReport.id) == report.id)
                    .values(occurred_on=day)
                )
            for position, file_name in enumerate(files):
                s.add(
                    EvidenceFile(
                        report_id=report.id or 0,
                        task_id=tasks[number].id or 0,
                        unit_id=units[name],
                        position=position,
                        kind="document",
                        file_name=file_name,
                        sha256="0" * 64,
                        created_at=ENTERED,
                    )
                )
        plan.status = PlanStatus.CLOSED
        plan.closed_at = ENTERED
        plan.closed_by = COORDINATOR
        s.add(plan)
        s.flush()
    return plan_id

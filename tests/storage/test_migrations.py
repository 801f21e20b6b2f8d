"""The Alembic migrations build exactly the schema the SQLModel tables describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel, select

import db.models  # noqa: F401  (registers the tables)
from db.engine import Database


def test_migrations_match_the_models(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade_with_alembic()  # every migration, from an empty database
    database.upgrade()  # a second upgrade is a no-op
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    database.dispose()
    assert diff == []


def test_a_database_made_by_the_first_schema_is_upgraded_without_losing_data(
    database_url: str,
) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from db import repo
    from db.engine import MIGRATIONS_DIR
    from db.models import Delivery, StatusReport
    from jobs.types import DeliveryKind, DeliveryOutcome, Status

    database = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = database.engine
    command.upgrade(config, "0001")  # the schema of the first release
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plan (id, title, document_number, issued_on, period_end) "
                "VALUES (1, '规划', '潼南府办发〔2022〕23号', '2022-04-18', '2025-12-31')"
            )
        )
        conn.execute(
            text("INSERT INTO unit (id, name, is_collective) VALUES (1, '区民政局', false)")
        )
        conn.execute(
            text(
                "INSERT INTO task (id, number, text, deadline, deadline_by_coordinator, "
                "responsible_units_note) VALUES (1, 2, '任务二。', '2025-12-31', true, NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO assignment (id, task_id, unit_id, role, position) "
                "VALUES (1, 1, 1, 'LEAD', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO contact (id, telegram_user_id, chat_id, unit_id, display_name, "
                "username, created_at, unreachable_reason) "
                "VALUES (1, 5000000001, 5000000001, 1, '李明', NULL, '2025-12-01 01:00:00', NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO statusreport (id, task_id, unit_id, contact_id, reporter_user_id, "
                "status, note, evidence_kind, evidence_file_id, evidence_file_name, source, "
                "created_at) VALUES (1, 1, 1, 1, 5000000001, 'IN_PROGRESS', '进展良好', "
                "NULL, NULL, NULL, 'conversation', '2025-12-02 02:30:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO reminder (id, key, task_id, unit_id, contact_id, kind, occasion_on, "
                "deadline, chat_id, message_id, outcome, error, created_at, sent_at) VALUES "
                "(1, '2:1:1:before:2025-12-17', 1, 1, 1, 'BEFORE', '2025-12-17', '2025-12-31', "
                "5000000001, 42, 'SENT', NULL, '2025-12-17 01:30:00', '2025-12-17 01:30:01')"
            )
        )
    database.upgrade()  # as `taskbot init` / `run` do
    with database.session() as s:
        [report] = s.exec(select(StatusReport)).all()
        assert (report.status, report.note, report.corrects_id, report.entered_by) == (
            Status.IN_PROGRESS,
            "进展良好",
            None,
            None,
        )
        assert report.created_at.isoformat() == "2025-12-02T02:30:00+00:00"
        [reminder] = s.exec(select(Delivery)).all()  # the reminder, keyed by ids now
        assert (reminder.outcome, reminder.message_id, reminder.attempts) == (
            DeliveryOutcome.SENT,
            42,
            1,
        )
        assert reminder.key == "reminder:1:1:1:before:2025-12-17"
        assert (reminder.kind, reminder.destination) == (DeliveryKind.REMINDER, "5000000001")
        assert (reminder.task_id, reminder.unit_id, reminder.contact_id) == (1, 1, 1)
        contact = repo.get_contact(s, telegram_user_id=5000000001)
        assert contact is not None and contact.unreachable_at is None
        task = repo.get_task(s, number=2)
        assert task is not None and task.deadline_by_coordinator
    database.dispose()


def test_head_revision_is_the_newest_migration_and_a_database_at_it_is_left_alone(
    database_url: str, monkeypatch
) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from db import engine

    config = Config()
    config.set_main_option("script_location", str(engine.MIGRATIONS_DIR))
    assert engine.HEAD_REVISION == ScriptDirectory.from_config(config).get_current_head()
    database = Database(database_url)
    try:
        assert database.schema_revision() is None  # empty database
        database.upgrade()
        assert database.schema_revision() == engine.HEAD_REVISION

        def no_alembic(*args: object, **kwargs: object) -> None:
            raise AssertionError("Alembic ran on a database at the head revision")

        import alembic.command

        monkeypatch.setattr(alembic.command, "upgrade", no_alembic)
        database.upgrade()
    finally:
        database.dispose()


def test_an_empty_database_is_built_at_head_as_the_migrations_build_it(database_url: str) -> None:
    from alembic.migration import MigrationContext as Context

    from db import engine

    database = Database(database_url)
    try:
        database.upgrade()  # the quick path: tables of the models, head stamped
        with database.engine.connect() as conn:
            assert Context.configure(conn).get_current_revision() == engine.HEAD_REVISION
            assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
        database.upgrade_with_alembic()  # Alembic agrees it is at head: nothing to do
        database.upgrade()
        with database.engine.connect() as conn:
            assert Context.configure(conn).get_current_revision() == engine.HEAD_REVISION
    finally:
        database.dispose()


def test_postgresql_sessions_run_without_jit(database_url: str) -> None:
    """The bot's PostgreSQL connections switch JIT compilation off (`db.engine`): before
    statistics exist it compiled the digest's period query for 1.5 s."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    database = Database(database_url)
    try:
        with database.session() as s:
            assert s.connection().execute(text("SHOW jit")).scalar() == "off"
    finally:
        database.dispose()


def test_migration_0005_fills_each_pairs_progress_from_its_reports(database_url: str) -> None:
    """Migration 0005 gives every (task, unit) that reported its newest report and its newest
    report with a status, as the history says; a later report moves them on."""
    from datetime import UTC, datetime

    from alembic import command
    from alembic.config import Config

    from db import repo
    from db.engine import MIGRATIONS_DIR
    from jobs.types import Status

    database = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = database.engine
    command.upgrade(config, "0004")
    reports = [  # id, task, unit, status, note, created_at
        (1, 1, 1, "'IN_PROGRESS'", "推进", "2025-12-02 02:30:00"),
        (2, 1, 1, "'BLOCKED'", "遇阻", "2025-12-03 02:30:00"),
        (3, 1, 1, "NULL", "补充说明", "2025-12-04 02:30:00"),
        (4, 1, 2, "NULL", "只有说明", "2025-12-04 03:30:00"),
        (5, 2, 1, "'DONE'", "完成", "2025-12-05 03:30:00"),
    ]
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO plan (id, title, document_number, issued_on, period_end) "
                "VALUES (1, '规划', '文号', '2022-04-18', '2025-12-31')"
            )
        )
        for unit_id, name in ((1, "区民政局"), (2, "区财政局")):
            conn.execute(
                text(
                    "INSERT INTO unit (id, name, is_collective) "
                    f"VALUES ({unit_id}, '{name}', false)"
                )
            )
        for task_id in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO task (id, number, text, deadline, deadline_by_coordinator) "
                    f"VALUES ({task_id}, {task_id}, '任务', '2026-12-31', false)"
                )
            )
        for report_id, task_id, unit_id, status, note, at in reports:
            conn.execute(
                text(
                    "INSERT INTO statusreport (id, task_id, unit_id, reporter_user_id, status, "
                    f"note, source, created_at) VALUES ({report_id}, {task_id}, {unit_id}, 7, "
                    f"{status}, '{note}', 'conversation', '{at}')"
                )
            )
        if conn.dialect.name == "postgresql":  # ids given by hand: move the sequence past them
            conn.execute(text("SELECT setval('statusreport_id_seq', 10)"))
    database.upgrade()
    try:
        with database.session() as s:
            state = repo.load_state(s)
        assert {k: v.id for k, v in state.latest_report.items()} == {
            (1, 1): 3,
            (1, 2): 4,
            (2, 1): 5,
        }
        assert {k: v.id for k, v in state.latest_status.items()} == {(1, 1): 2, (2, 1): 5}
        assert state.unit_status(1, 1) is Status.BLOCKED
        assert state.unit_status(1, 2) is Status.NOT_STARTED
        with database.session() as s:
            repo.add_report(
                s,
                task_id=1,
                unit_id=2,
                contact_id=None,
                reporter_user_id=7,
                status=Status.IN_PROGRESS,
                note="开始",
                now=datetime(2025, 12, 6, tzinfo=UTC),
            )
        with database.session() as s:
            state = repo.load_state(s)
        assert state.unit_status(1, 2) is Status.IN_PROGRESS
        assert state.latest_report[(1, 2)].note == "开始"
    finally:
        database.dispose()


def test_migration_0007_keeps_the_original_deadline_and_marks_approved_extensions(
    database_url: str,
) -> None:
    """Existing tasks get 原定期限 (the deadline before the first change a person made, else
    the current one) and the basis of the deadline in force; audit events get a reason."""
    from datetime import date

    from alembic import command
    from alembic.config import Config

    from db import repo
    from db.engine import MIGRATIONS_DIR
    from db.models import AuditEvent
    from jobs.types import DeadlineBasis

    database = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = database.engine
    command.upgrade(config, "0006")
    with database.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO unit (id, name, is_collective) VALUES (1, '区民政局', false)")
        )
        for task_id, deadline, by in (
            (1, "2025-12-31", "false"),
            (2, "2027-03-31", "true"),
            (3, "2027-06-30", "true"),
        ):
            conn.execute(
                text(
                    "INSERT INTO task (id, number, text, deadline, deadline_by_coordinator) "
                    f"VALUES ({task_id}, {task_id}, '任务', '{deadline}', {by})"
                )
            )
        audits = (  # actor, subject, before, after, at
            (0, "task:2", "2025-06-30", "2025-12-31", "2026-01-01 00:00:00"),
            (1001, "task:2", "2025-12-31", "2026-12-31", "2026-02-01 00:00:00"),
            (1001, "task:2", "2026-12-31", "2027-03-31", "2026-03-01 00:00:00"),
            (1001, "task:3", "2025-12-31", "2027-06-30", "2026-03-01 00:00:00"),
        )
        for actor, subject, before, after, at in audits:
            conn.execute(
                text(
                    "INSERT INTO auditevent (actor_user_id, action, subject, before, after, at) "
                    f"VALUES ({actor}, 'task.deadline', '{subject}', '{before}', '{after}', '{at}')"
                )
            )
        conn.execute(
            text(
                "INSERT INTO extensionrequest (task_id, unit_id, requested_by, current_deadline, "
                "requested_deadline, reason, status, created_at) VALUES (3, 1, 2001, "
                "'2025-12-31', '2027-06-30', '场地未落实', 'APPROVED', '2026-02-20 00:00:00')"
            )
        )
    database.upgrade()
    with database.session() as s:
        got = {
            n: (t.original_deadline, t.deadline, t.deadline_basis)
            for n in (1, 2, 3)
            if (t := repo.get_task(s, number=n)) is not None
        }
        assert got == {
            1: (date(2025, 12, 31), date(2025, 12, 31), DeadlineBasis.PLAN),
            2: (date(2025, 12, 31), date(2027, 3, 31), DeadlineBasis.COORDINATOR),
            3: (date(2025, 12, 31), date(2027, 6, 30), DeadlineBasis.EXTENSION),
        }
        assert {e.reason for e in s.exec(select(AuditEvent))} == {None}
    database.dispose()


def _upgraded_to(database: Database, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from db.engine import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = database.engine
    command.upgrade(config, revision)


SCHEMA_0013_ROWS = (
    "INSERT INTO plan (id, title, document_number, issued_on, period_end) VALUES (1, "
    "'重庆市潼南区“十四五”残疾人保障和发展规划（2021—2025年）', '潼南府办发〔2022〕23号', "
    "'2022-04-18', '2025-12-31')",
    "INSERT INTO unit (id, name, is_collective) VALUES (1, '区民政局', false)",
    "INSERT INTO unit (id, name, is_collective) VALUES (2, '区残联', false)",
    "INSERT INTO task (id, number, text, deadline, original_deadline, deadline_basis, "
    "deadline_by_coordinator) VALUES (1, 1, '任务一。', '2025-12-31', '2025-12-31', 'PLAN', "
    "false)",
    "INSERT INTO task (id, number, text, deadline, original_deadline, deadline_basis, "
    "deadline_by_coordinator) VALUES (2, 2, '任务二。', '2026-06-30', '2025-12-31', "
    "'EXTENSION', true)",
    "INSERT INTO assignment (id, task_id, unit_id, role, position) VALUES (1, 1, 1, 'LEAD', 0)",
    "INSERT INTO assignment (id, task_id, unit_id, role, position) VALUES (2, 2, 2, 'LEAD', 0)",
    "INSERT INTO contact (id, telegram_user_id, chat_id, unit_id, display_name, created_at) "
    "VALUES (1, 5000000001, 5000000001, 1, '李明', '2025-12-01 01:00:00')",
    "INSERT INTO statusreport (id, task_id, unit_id, contact_id, reporter_user_id, status, "
    "note, source, created_at) VALUES (1, 1, 1, 1, 5000000001, 'IN_PROGRESS', '进展良好', "
    "'conversation', '2025-12-02 02:30:00')",
    "INSERT INTO statusreport (id, task_id, unit_id, contact_id, reporter_user_id, status, "
    "note, source, corrects_id, created_at) VALUES (2, 1, 1, 1, 5000000001, 'BLOCKED', "
    "'资金未到位', 'conversation', 1, '2025-12-03 02:30:00')",
    "INSERT INTO progress (id, task_id, unit_id, status, status_report_id, last_report_id) "
    "VALUES (1, 1, 1, 'BLOCKED', 2, 2)",
    "INSERT INTO extensionrequest (id, task_id, unit_id, contact_id, requested_by, "
    "current_deadline, requested_deadline, reason, status, decided_by, decided_at, created_at) "
    "VALUES (1, 2, 2, NULL, 5000000002, '2025-12-31', '2026-06-30', '场地未落实', 'APPROVED', "
    "9001, '2025-12-20 01:00:00', '2025-12-19 01:00:00')",
    "INSERT INTO delivery (id, key, kind, channel, destination, task_id, unit_id, contact_id, "
    "outcome, attempts, message_id, body, parts_sent, created_at, sent_at) VALUES (1, "
    "'reminder:1:1:1:before:2025-12-17', 'REMINDER', 'telegram', '5000000001', 1, 1, 1, "
    "'SENT', 1, 42, '[]', 0, '2025-12-17 01:30:00', '2025-12-17 01:30:01')",
    "INSERT INTO auditevent (id, actor_user_id, action, subject, before, after, at) VALUES "
    "(1, 9001, 'task.deadline', 'task:2', '2025-12-31', '2026-06-30', '2025-12-20 01:00:00')",
    "INSERT INTO followuphold (id, found_at, found_on, period_end, open_pairs, late_pairs, "
    "overdue_pairs, overdue_working_days) VALUES (1, '2026-01-05 01:00:00', '2026-01-05', "
    "'2025-12-31', 2, 1, 1, 10)",
)


def test_migration_0014_moves_every_task_and_hold_into_the_existing_plan(
    database_url: str,
) -> None:
    """A database made by the schema before several plans (reports, a correction, an approved
    extension, progress, ledger, audit and a hold in it) keeps everything, in its plan, which
    gets its 简称 and period start from its title; a task file with its 文号 then updates that
    plan instead of adding one."""
    from datetime import UTC, date, datetime

    from db import repo
    from db.models import (
        AuditEvent,
        Delivery,
        ExtensionRequest,
        FollowUpHold,
        Plan,
        Progress,
        StatusReport,
        Task,
    )
    from db.seed import PlanRecord, TaskRecord, load_plan, read_task_file
    from jobs.types import ExtensionStatus, PlanStatus, Status

    database = Database(database_url)
    _upgraded_to(database, "0013")
    with database.engine.begin() as conn:
        for row in SCHEMA_0013_ROWS:
            conn.execute(text(row))
    database.upgrade()
    with database.session() as s:
        [plan] = s.exec(select(Plan)).all()
        assert (plan.id, plan.short_name, plan.period_start, plan.status) == (
            1,
            "十四五",
            date(2021, 1, 1),
            PlanStatus.ACTIVE,
        )
        tasks = {t.number: (t.plan_id, t.text, t.deadline) for t in s.exec(select(Task))}
        assert tasks == {
            1: (1, "任务一。", date(2025, 12, 31)),
            2: (1, "任务二。", date(2026, 6, 30)),
        }
        reports = {
            r.id: (r.task_id, r.status, r.note, r.corrects_id) for r in s.exec(select(StatusReport))
        }
        assert reports == {
            1: (1, Status.IN_PROGRESS, "进展良好", None),
            2: (1, Status.BLOCKED, "资金未到位", 1),
        }
        [progress] = s.exec(select(Progress)).all()
        assert (progress.status, progress.last_report_id) == (Status.BLOCKED, 2)
        [request] = s.exec(select(ExtensionRequest)).all()
        assert (request.task_id, request.status) == (2, ExtensionStatus.APPROVED)
        [delivery] = s.exec(select(Delivery)).all()
        assert (delivery.key, delivery.message_id) == ("reminder:1:1:1:before:2025-12-17", 42)
        [event] = s.exec(select(AuditEvent)).all()
        assert (event.subject, event.after) == ("task:2", "2026-06-30")
        [hold] = s.exec(select(FollowUpHold)).all()
        assert hold.plan_id == 1
        state = repo.load_state(s)
        assert {t.plan_id for t in state.tasks} == {1}
        assert state.unit_status(1, 1) is Status.BLOCKED
    shipped = read_task_file()
    record = PlanRecord(
        title=shipped.title,
        document_number=shipped.document_number,
        issued_on=shipped.issued_on,
        period_end=shipped.period_end,
        tasks=(
            TaskRecord(1, "任务一。", ("区民政局",), (), date(2025, 12, 31)),
            TaskRecord(2, "任务二。", ("区残联",), (), date(2025, 12, 31)),
        ),
    )
    with database.session() as s:
        summary = load_plan(s, record, now=datetime(2026, 12, 5, tzinfo=UTC))
        assert (summary.plan_id, summary.plan_added, summary.changed) == (1, False, False)
        assert len(s.exec(select(Plan)).all()) == 1
        assert repo.get_task(s, number=1, plan_id=1) is not None
        assert len(s.exec(select(StatusReport)).all()) == 2
    database.dispose()


def test_migration_0014_gives_tasks_without_a_plan_row_a_plan(database_url: str) -> None:
    """Tasks stored without a plan row end up in a plan named 原有计划, whose period ends at
    the latest deadline."""
    from datetime import date

    from db.models import Plan, Task

    database = Database(database_url)
    _upgraded_to(database, "0013")
    with database.engine.begin() as conn:
        for row in SCHEMA_0013_ROWS[1:5]:  # units and tasks, no plan
            conn.execute(text(row))
    database.upgrade()
    with database.session() as s:
        [plan] = s.exec(select(Plan)).all()
        assert (plan.title, plan.period_start, plan.period_end) == (
            "原有计划",
            date(2026, 1, 1),
            date(2026, 6, 30),
        )
        assert {t.plan_id for t in s.exec(select(Task))} == {plan.id}
    database.dispose()


def test_migration_0018_keeps_contacts_active_and_adds_role_grants(database_url: str) -> None:
    """A 0016 database with a contact keeps it, not removed; role grants can be stored,
    revoked and read after the upgrade, and a removed contact is no longer the user's
    contact while its row (and so its reporter name) stays."""
    from datetime import UTC, datetime

    from db import repo
    from db.models import Contact
    from jobs.types import Role

    database = Database(database_url)
    _upgraded_to(database, "0016")
    with database.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO unit (id, name, is_collective) VALUES (1, '区民政局', false)")
        )
        conn.execute(
            text(
                "INSERT INTO contact (id, telegram_user_id, chat_id, unit_id, display_name, "
                "username, created_at, unreachable_reason) "
                "VALUES (1, 5000000001, 5000000001, 1, '李明', NULL, '2025-12-01 01:00:00', NULL)"
            )
        )
    database.upgrade()
    now = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
    with database.session() as s:
        [contact] = s.exec(select(Contact)).all()
        assert (contact.display_name, contact.removed_at, contact.removed_by) == (
            "李明",
            None,
            None,
        )
        assert repo.get_contact(s, telegram_user_id=5000000001) is not None
        assert repo.grant_role(
            s, telegram_user_id=7, role=Role.LEADER, display_name="刘", granted_by=1, now=now
        )
        assert not repo.grant_role(
            s, telegram_user_id=7, role=Role.LEADER, display_name="刘", granted_by=1, now=now
        )
        assert repo.holders(s, role=Role.LEADER) == [7]
        assert repo.holders(s, role=Role.COORDINATOR) == []
        assert repo.remove_contact(s, contact_id=1, removed_by=1, now=now) is not None
        assert repo.remove_contact(s, contact_id=1, removed_by=1, now=now) is None
    with database.session() as s:
        assert repo.get_contact(s, telegram_user_id=5000000001) is None
        assert repo.removed_contact_unit(s, telegram_user_id=5000000001) == "区民政局"
        assert repo.contacts_of_unit(s, unit_id=1) == []
        assert s.get(Contact, 1) is not None
        assert repo.revoke_role(s, telegram_user_id=7, role=Role.LEADER, revoked_by=1, now=now)
        assert repo.holders(s, role=Role.LEADER) == []
    database.dispose()

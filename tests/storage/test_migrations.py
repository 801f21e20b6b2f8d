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

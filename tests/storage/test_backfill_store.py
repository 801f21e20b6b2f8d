"""Past records (补录) in storage: `repo.add_backfill` stores a "backfill" report with its real
date and who entered it, audited; the pair's `Progress` moves to it only when its date is on
or after that of the pair's newest report, so an old record entered today never hides a
newer live report; the digest's period leaves it out; open tasks follow `Progress`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from db import repo
from db.engine import Database
from db.models import AuditEvent, Progress, StatusReport
from jobs.types import Status
from tests import db_fixtures

fresh_db = db_fixtures.fresh_db
loaded_db = db_fixtures.loaded_db

ZONE = ZoneInfo("Asia/Shanghai")
TODAY_NOON = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # 12:00 local, 2026-12-06
COORDINATOR = 9001


def ids(database: Database, number: int = 5, unit: str = "区民政局") -> tuple[int, int]:
    with database.session() as s:
        task = repo.get_task(s, number=number)
        found, _ = repo.resolve_unit(s, text=unit)
        assert task is not None and found is not None
        return task.id or 0, found.id or 0


def live(database: Database, task: int, unit: int, status: Status, at: datetime) -> int:
    with database.session() as s:
        report = repo.add_report(
            s,
            task_id=task,
            unit_id=unit,
            contact_id=None,
            reporter_user_id=4242,
            status=status,
            note="现场反馈",
            now=at,
        )
        return report.id or 0


def backfill(
    database: Database, task: int, unit: int, status: Status | None, on: date, note: str = "补"
) -> int:
    with database.session() as s:
        report = repo.add_backfill(
            s,
            task_id=task,
            unit_id=unit,
            status=status,
            note=note,
            occurred_on=on,
            entered_by=COORDINATOR,
            now=TODAY_NOON,
            zone=ZONE,
        )
        return report.id or 0


def progress(database: Database, task: int, unit: int) -> tuple[int, Status | None, int | None]:
    with database.session() as s:
        row = s.exec(
            select(Progress).where(Progress.task_id == task, Progress.unit_id == unit)
        ).one()
        return row.last_report_id, row.status, row.status_report_id


def test_a_backfill_is_stored_as_given_and_audited(loaded_db: Database) -> None:
    task, unit = ids(loaded_db)
    stored = backfill(loaded_db, task, unit, Status.DONE, date(2023, 6, 30), "补贴标准已提高")
    with loaded_db.session() as s:
        report = s.get(StatusReport, stored)
        assert report is not None
        assert (report.source, report.occurred_on, report.entered_by) == (
            "backfill",
            date(2023, 6, 30),
            COORDINATOR,
        )
        assert (report.reporter_user_id, report.contact_id) == (COORDINATOR, None)
        assert report.created_at == TODAY_NOON
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "report.backfill")).all()
        assert [(e.actor_user_id, e.subject, e.after) for e in events] == [
            (COORDINATOR, f"task_id:{task}:unit_id:{unit}", "2023-06-30 done")
        ]
    # the first report of the pair: Progress is made for it
    assert progress(loaded_db, task, unit) == (stored, Status.DONE, stored)


def test_an_older_backfill_never_hides_last_weeks_live_report(loaded_db: Database) -> None:
    task, unit = ids(loaded_db)
    week_ago = live(
        loaded_db, task, unit, Status.IN_PROGRESS, datetime(2026, 11, 30, 2, tzinfo=UTC)
    )
    backfill(loaded_db, task, unit, Status.DONE, date(2023, 6, 30))
    assert progress(loaded_db, task, unit) == (week_ago, Status.IN_PROGRESS, week_ago)
    with loaded_db.session() as s:
        state = repo.load_state(s)
        assert state.unit_status(task, unit) is Status.IN_PROGRESS
        assert 5 in [t.number for t in repo.open_tasks_of_unit(s, unit_id=unit)]


def test_a_newer_backfill_moves_progress_and_a_same_day_one_wins_by_id(
    loaded_db: Database,
) -> None:
    task, unit = ids(loaded_db)
    # 2025-06-30 23:30 local is 15:30 UTC: its local date is the 30th
    first = live(
        loaded_db, task, unit, Status.IN_PROGRESS, datetime(2025, 6, 30, 15, 30, tzinfo=UTC)
    )
    same_day = backfill(loaded_db, task, unit, Status.BLOCKED, date(2025, 6, 30))
    assert first < same_day
    assert progress(loaded_db, task, unit) == (same_day, Status.BLOCKED, same_day)
    older = backfill(loaded_db, task, unit, Status.DONE, date(2024, 1, 2))
    assert progress(loaded_db, task, unit) == (same_day, Status.BLOCKED, same_day)
    newer = backfill(loaded_db, task, unit, Status.DONE, date(2025, 11, 20))
    assert older < newer
    assert progress(loaded_db, task, unit) == (newer, Status.DONE, newer)
    with loaded_db.session() as s:
        assert 5 not in [t.number for t in repo.open_tasks_of_unit(s, unit_id=unit)]


def test_a_note_only_backfill_moves_the_last_report_but_not_the_status(
    loaded_db: Database,
) -> None:
    task, unit = ids(loaded_db)
    done = backfill(loaded_db, task, unit, Status.DONE, date(2024, 5, 1))
    note = backfill(loaded_db, task, unit, None, date(2024, 6, 1), "验收材料已归档")
    assert progress(loaded_db, task, unit) == (note, Status.DONE, done)


def test_the_digest_period_leaves_backfills_out(loaded_db: Database) -> None:
    task, unit = ids(loaded_db)
    since = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # Monday 2026-12-01 00:00 local
    before = live(loaded_db, task, unit, Status.IN_PROGRESS, datetime(2026, 11, 2, 2, tzinfo=UTC))
    backfill(loaded_db, task, unit, Status.DONE, date(2025, 12, 20))  # entered 2026-12-06
    this_week = live(loaded_db, task, unit, Status.BLOCKED, datetime(2026, 12, 7, 2, tzinfo=UTC))
    with loaded_db.session() as s:
        period = repo.load_period(s, since=since)
        assert [r.id for r in period.recent] == [this_week]
        assert period.status_before == {(task, unit): Status.IN_PROGRESS}
        assert before < this_week


def test_backfill_exists_finds_the_same_record_only(loaded_db: Database) -> None:
    task, unit = ids(loaded_db)
    backfill(loaded_db, task, unit, Status.DONE, date(2024, 5, 1), "完成")
    with loaded_db.session() as s:

        def exists(on: date, status: Status | None, note: str) -> bool:
            return repo.backfill_exists(
                s, task_id=task, unit_id=unit, occurred_on=on, status=status, note=note
            )

        assert exists(date(2024, 5, 1), Status.DONE, "完成")
        assert not exists(date(2024, 5, 2), Status.DONE, "完成")
        assert not exists(date(2024, 5, 1), Status.IN_PROGRESS, "完成")
        assert not exists(date(2024, 5, 1), None, "完成")
        assert not exists(date(2024, 5, 1), Status.DONE, "完成了")
        rows = s.exec(select(StatusReport.id).order_by(col(StatusReport.id))).all()
        assert len(rows) == 1

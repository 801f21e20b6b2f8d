"""Coordination items (协调事项) in the database: one open item per (task, unit), assigning,
notes, closing once, the views, and migration 0019 on a database at 0016 with data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from db import repo
from db.engine import Database
from db.models import AuditEvent, CoordinationItem, StatusReport
from db.seed import load_plan, read_task_file
from jobs.coordination import AssignRefusal
from jobs.types import Status
from tests import db_fixtures

fresh_db = db_fixtures.fresh_db
loaded_db = db_fixtures.loaded_db

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
ZONE = ZoneInfo("Asia/Shanghai")


def unit_id(s, name: str) -> int:
    unit = repo.find_unit(s, name=name)
    assert unit is not None and unit.id is not None
    return unit.id


def task_id(s, number: int) -> int:
    task = repo.get_task(s, number=number)
    assert task is not None and task.id is not None
    return task.id


def raise_on_5(s, note: str, *, now: datetime = NOW) -> tuple[CoordinationItem, bool]:
    return repo.coordination.raise_item(
        s,
        task_id=task_id(s, 5),
        unit_id=unit_id(s, "区民政局"),
        report_id=None,
        note=note,
        label="再次反馈",
        actor_user_id=2001,
        now=now,
    )


def test_one_open_item_per_task_and_unit_and_a_new_one_after_closing(loaded_db: Database) -> None:
    with loaded_db.session() as s:
        first, new = raise_on_5(s, "缺资金")
        again, new_again = raise_on_5(s, "仍缺资金")
        assert (new, new_again, first.id) == (True, False, again.id)
        assert again.need == "缺资金\n再次反馈：仍缺资金"
        closed = repo.coordination.close_item(
            s, item_id=first.id or 0, note="已拨付", actor_user_id=1001, now=NOW
        )
        assert closed is not None and (closed.status, closed.closing_note) == ("closed", "已拨付")
        assert (
            repo.coordination.close_item(
                s, item_id=first.id or 0, note="再关", actor_user_id=1001, now=NOW
            )
            is None
        )
        later, new_later = raise_on_5(s, "又遇到困难")
        assert new_later and later.id != first.id and later.need == "又遇到困难"
    with loaded_db.session() as s:
        closes = s.exec(select(AuditEvent).where(AuditEvent.action == "coordination.close")).all()
        assert [e.reason for e in closes] == ["已拨付"]


def test_assigning_refuses_the_raising_unit_the_same_unit_and_a_closed_item(
    loaded_db: Database,
) -> None:
    with loaded_db.session() as s:
        item, _ = raise_on_5(s, "需税务数据")
        item_id = item.id or 0
        raising, tax = unit_id(s, "区民政局"), unit_id(s, "潼南税务局")
        assign = repo.coordination.assign_item
        assert assign(s, item_id=item_id, unit_id=raising, actor_user_id=1, now=NOW) is (
            AssignRefusal.RAISING_UNIT
        )
        done = assign(s, item_id=item_id, unit_id=tax, actor_user_id=1001, now=NOW)
        assert isinstance(done, CoordinationItem) and done.assigned_unit_id == tax
        assert assign(s, item_id=item_id, unit_id=tax, actor_user_id=1, now=NOW) is (
            AssignRefusal.SAME_UNIT
        )
        assert assign(s, item_id=999, unit_id=tax, actor_user_id=1, now=NOW) is None
        # notes: the raising and the assigned unit only; a raising unit's note answers 要求补充
        assert repo.coordination.request_detail(s, item_id=item_id, actor_user_id=1, now=NOW)
        other = unit_id(s, "区教委")
        add = repo.coordination.add_note
        assert (
            add(s, item_id=item_id, unit_id=other, note="x", label="l", actor_user_id=3, now=NOW)
            is None
        )
        noted = add(
            s, item_id=item_id, unit_id=raising, note="补充", label="补", actor_user_id=2, now=NOW
        )
        assert noted is not None and noted.detail_requested_at is None
        assert noted.need.endswith("补：补充")
        repo.coordination.close_item(s, item_id=item_id, note="好", actor_user_id=1, now=NOW)
        assert assign(s, item_id=item_id, unit_id=other, actor_user_id=1, now=NOW) is (
            AssignRefusal.CLOSED
        )
        assert (
            repo.coordination.request_detail(s, item_id=item_id, actor_user_id=1, now=NOW) is None
        )


def test_views_name_the_task_and_units_in_local_dates(loaded_db: Database) -> None:
    with loaded_db.session() as s:
        item, _ = raise_on_5(s, "需协调", now=datetime(2026, 12, 6, 17, 0, tzinfo=UTC))
        repo.coordination.assign_item(
            s, item_id=item.id or 0, unit_id=unit_id(s, "潼南税务局"), actor_user_id=1, now=NOW
        )
    with loaded_db.session() as s:
        [view] = repo.coordination.item_views(s, zone=ZONE)
        assert (view.plan, view.task_number, view.raised_by, view.assigned_to) == (
            "十四五",
            5,
            "区民政局",
            "潼南税务局",
        )
        assert view.opened_on == date(2026, 12, 7)  # 01:00 on the 7th in Shanghai
        assert view.is_open
        repo.coordination.close_item(s, item_id=view.id, note="完", actor_user_id=1, now=NOW)
    with loaded_db.session() as s:
        assert repo.coordination.item_views(s, zone=ZONE) == []
        [closed] = repo.coordination.item_views(s, zone=ZONE, open_only=False, task_id=view.task_id)
        assert (closed.closed_on, closed.closing_note) == (date(2026, 12, 7), "完")
        names = [u.name for u in repo.coordination.units_of_task(s, task_id=view.task_id)]
        assert names[0] == "区民政局" and len(names) == len(set(names))


def test_migration_0019_adds_items_to_a_0016_database_with_data(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from db.engine import HEAD_REVISION, MIGRATIONS_DIR

    database = Database(db_fixtures.url_under_test(tmp_path))
    if database.dialect != "sqlite":
        db_fixtures.reset_database(database)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = database.engine
    try:
        command.upgrade(config, "0016")
        with database.session() as s:
            load_plan(s, read_task_file(), now=NOW - timedelta(days=30))
            report = repo.add_report(
                s,
                task_id=task_id(s, 5),
                unit_id=unit_id(s, "区民政局"),
                contact_id=None,
                reporter_user_id=1001,
                status=Status.BLOCKED,
                note="资金未到位",
                now=NOW - timedelta(days=1),
                source="coordinator",
                entered_by=1001,
            )
            report_id = report.id
        database.upgrade()
        assert database.schema_revision() == HEAD_REVISION == "0019"
        with database.session() as s:
            [kept] = s.exec(select(StatusReport)).all()
            assert (kept.id, kept.status, kept.note) == (report_id, Status.BLOCKED, "资金未到位")
            item, new = repo.coordination.raise_item(
                s,
                task_id=kept.task_id,
                unit_id=kept.unit_id,
                report_id=kept.id,
                note=kept.note,
                label="再次反馈",
                actor_user_id=1001,
                now=NOW,
            )
            assert new and item.created_at == NOW
        with database.session() as s:
            [stored] = s.exec(select(CoordinationItem)).all()
            assert (stored.report_id, stored.status, stored.need) == (
                report_id,
                "open",
                "资金未到位",
            )
    finally:
        database.dispose()


def test_the_ledger_has_a_sheet_of_items_and_their_audit_in_chinese(loaded_db: Database) -> None:
    import io

    import openpyxl

    from bot.texts import STATUS_LABEL
    from office.ledger import COORDINATION_HEADERS, write_ledger

    with loaded_db.session() as s:
        first, _ = raise_on_5(s, "=需税务数据", now=NOW - timedelta(days=3))
        repo.coordination.assign_item(
            s, item_id=first.id or 0, unit_id=unit_id(s, "潼南税务局"), actor_user_id=1001, now=NOW
        )
        second, _ = repo.coordination.raise_item(
            s,
            task_id=task_id(s, 2),
            unit_id=unit_id(s, "区民政局"),
            report_id=None,
            note="缺人手",
            label="再次反馈",
            actor_user_id=2001,
            now=NOW,
        )
        repo.coordination.close_item(
            s, item_id=second.id or 0, note="已增派", actor_user_id=1001, now=NOW
        )
    buffer = io.BytesIO()
    with loaded_db.session() as s:
        write_ledger(s, buffer, zone=ZONE, now=NOW, status_labels=STATUS_LABEL)
    buffer.seek(0)
    wb = openpyxl.load_workbook(buffer)
    ws = wb["协调事项"]
    assert tuple(c.value for c in ws[1]) == COORDINATION_HEADERS
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[:6] for r in rows] == [
        (1, "十四五", 5, "区民政局", "=需税务数据", "潼南税务局"),
        (2, "十四五", 2, "区民政局", "缺人手", None),
    ]
    assert ws["E2"].quotePrefix  # a need starting with = stays text
    assert (rows[0][7], rows[0][9], rows[0][10]) == ("未办结", 3, None)
    assert (rows[1][7], rows[1][9], rows[1][11]) == ("已关闭", None, "已增派")
    assert rows[0][6] == datetime(2026, 12, 7, 10, 0)  # local time, naive
    audit = [r for r in wb["操作记录"].iter_rows(min_row=2, values_only=True)]
    labels = {(r[3], r[4]) for r in audit}
    assert ("指派协调事项", "协调事项（编号1）") in labels
    assert ("关闭协调事项", "协调事项（编号2）") in labels


def test_merging_a_unit_moves_its_items_raised_and_assigned(loaded_db: Database) -> None:
    with loaded_db.session() as s:
        item, _ = raise_on_5(s, "需协调")
        repo.coordination.assign_item(
            s, item_id=item.id or 0, unit_id=unit_id(s, "区乡村振兴局"), actor_user_id=1, now=NOW
        )
        merged, into = unit_id(s, "区乡村振兴局"), unit_id(s, "区教委")
        repo.merge_unit(s, unit_id=merged, into_unit_id=into, actor_user_id=7, now=NOW)
    with loaded_db.session() as s:
        [moved] = s.exec(select(CoordinationItem)).all()
        assert moved.assigned_unit_id == into
        [view] = repo.coordination.item_views(s, zone=ZONE)
        assert view.assigned_to == "区教委"

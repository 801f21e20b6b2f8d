"""Tests of the task file (db/seed.py), the engine (db/engine.py) and the queries (db/repo/).

They run on a temporary SQLite file, or on the database of TEST_DATABASE_URL when it is set
(see tests/db_fixtures.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy.exc import StatementError
from sqlmodel import Session, select

from db import repo
from db.engine import Database
from db.models import (
    Assignment,
    AuditEvent,
    Contact,
    Delivery,
    Invite,
    Plan,
    StatusReport,
    Task,
    Unit,
    UTCDateTime,
)
from db.seed import DEFAULT_TASK_FILE, TaskFileError, load_plan, read_task_file
from jobs.types import AssignmentRole, DeliveryKind, DeliveryOutcome, Status
from tests import db_fixtures

# the shared database fixtures (an empty upgraded database; the same with the plan loaded)
fresh_db = db_fixtures.fresh_db
loaded_db = db_fixtures.loaded_db

NOW = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai

LEAD_UNITS_IN_ORDER = [
    "区乡村振兴局",
    "区民政局",
    "区残联",
    "区人力社保局",
    "区医保局",
    "区住房城乡建委",
    "区公安局",
    "区卫生健康委",
    "区应急管理局",
    "区国资委",
    "潼南税务局",
    "区财政局",
    "区教委",
    "区文化旅游委",
    "区统计局",
    "区司法局",
    "区发展改革委",
]
RESPONSIBLE_ONLY = [
    "各镇街",
    "区传媒集团",
    "潼南市场监管局",
    "区大数据发展局",
    "区交通局",
    "有关镇街",
    "区总工会",
    "团区委",
    "区妇联",
]


def count(session, model) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def row_counts(database: Database) -> dict[str, int]:
    with database.session() as s:
        return {
            m.__name__: count(s, m)
            for m in (Plan, Unit, Task, Assignment, AuditEvent, StatusReport)
        }


# ---------------------------------------------------------------- loading the shipped plan


def test_first_load_summary(fresh_db):
    with fresh_db.session() as s:
        summary = load_plan(s, read_task_file(), now=NOW)
    assert (summary.tasks_added, summary.tasks_updated, summary.units_added) == (30, 0, 26)
    assert summary.changed is True


def test_shipped_plan_loads_30_tasks_17_lead_units(loaded_db):
    with loaded_db.session() as s:
        assert count(s, Task) == 30
        assert count(s, Plan) == 1
        assert count(s, Unit) == 26
        assert count(s, Assignment) == 99
        assert [t.number for t in s.exec(select(Task).order_by(Task.number))] == list(range(1, 31))
        assert [u.name for u in repo.lead_units(s)] == LEAD_UNITS_IN_ORDER
        plan = repo.get_plan(s)
        assert plan is not None
        assert plan.document_number == "潼南府办发〔2022〕23号"
        assert plan.issued_on == date(2022, 4, 18)
        task3 = repo.get_task(s, number=3)
        assert task3 is not None
        assert task3.text == "继续实施“阳光家园计划”项目。"
        assert task3.deadline == date(2025, 12, 31)
        assert task3.deadline_by_coordinator is False
        collective = {u.name for u in s.exec(select(Unit).where(Unit.is_collective))}
        assert collective == {"各镇街", "有关镇街"}


@pytest.mark.parametrize(
    ("number", "leads", "responsibles"),
    [
        (4, ["区人力社保局", "区医保局"], ["区财政局", "区残联"]),
        (5, ["区民政局"], ["区财政局", "区残联", "各镇街"]),
        (8, ["区公安局", "区卫生健康委", "区民政局", "区应急管理局"], ["区残联", "各镇街"]),
        (26, ["区司法局", "区公安局", "区残联"], ["各镇街"]),
        (3, ["区残联"], []),
        (30, ["区发展改革委"], ["区残联", "区民政局", "区人力社保局", "各镇街"]),
    ],
)
def test_assignments_in_document_order(loaded_db, number, leads, responsibles):
    with loaded_db.session() as s:
        task = repo.get_task(s, number=number)
        assert task is not None and task.id is not None
        assert repo.unit_names_of_task(s, task_id=task.id, role=AssignmentRole.LEAD) == leads
        assert (
            repo.unit_names_of_task(s, task_id=task.id, role=AssignmentRole.RESPONSIBLE)
            == responsibles
        )


def test_tasks_led_by_and_state(loaded_db):
    with loaded_db.session() as s:
        unit = repo.get_unit_by_name(s, name="区教委")
        assert unit is not None and unit.id is not None
        assert [t.number for t in repo.tasks_led_by(s, unit_id=unit.id)] == [14, 15, 16]
        state = repo.load_state(s)
    assert len(state.tasks) == 30
    t8 = state.tasks[7]
    assert t8.number == 8
    assert [state.units[u].name for u in t8.lead_unit_ids] == [
        "区公安局",
        "区卫生健康委",
        "区民政局",
        "区应急管理局",
    ]
    assert state.plan_title == "重庆市潼南区“十四五”残疾人保障和发展规划（2021—2025年）"


def test_loading_twice_changes_nothing(loaded_db):
    before = row_counts(loaded_db)
    with loaded_db.session() as s:
        summary = load_plan(s, read_task_file(), now=NOW)
    assert summary.changed is False
    assert (summary.tasks_added, summary.tasks_updated, summary.units_added) == (0, 0, 0)
    assert row_counts(loaded_db) == before


# ---------------------------------------------------------------- loading an edited copy


def edited_copy(tmp_path: Path) -> Path:
    text = DEFAULT_TASK_FILE.read_text(encoding="utf-8")

    def once(old: str, new: str) -> None:
        nonlocal text
        assert text.count(old) == 1, old
        text = text.replace(old, new)

    # task 3: a new text
    once('text = "继续实施“阳光家园计划”项目。"', 'text = "继续实施“阳光家园计划”项目（修订）。"')
    # task 6: its own deadline
    once(
        'text = "为大小便失禁重度残疾人提供护理类辅助器具适配服务。"',
        'text = "为大小便失禁重度残疾人提供护理类辅助器具适配服务。"\ndeadline = 2026-06-30',
    )
    # task 4: lead units swapped
    once('lead_units = ["区人力社保局", "区医保局"]', 'lead_units = ["区医保局", "区人力社保局"]')
    # task 7: a new responsible unit
    once(
        'lead_units = ["区住房城乡建委"]\nresponsible_units = ["区残联"]',
        'lead_units = ["区住房城乡建委"]\nresponsible_units = ["区残联", "区新设局"]',
    )
    path = tmp_path / "edited.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _add_report(database: Database, number: int, unit_name: str, status, note: str) -> int:
    with database.session() as s:
        task = repo.get_task(s, number=number)
        unit = repo.get_unit_by_name(s, name=unit_name)
        assert task is not None and unit is not None and task.id and unit.id
        report = repo.add_report(
            s,
            task_id=task.id,
            unit_id=unit.id,
            contact_id=None,
            reporter_user_id=2001,
            status=status,
            note=note,
            now=NOW,
        )
        assert report.id is not None
        return report.id


def test_a_text_edit_of_the_same_length_is_read_at_once(loaded_db, tmp_path):
    with loaded_db.session() as s:
        task = repo.get_task(s, number=3)
        assert task is not None
        old_text = task.text
    new_text = old_text[:-2] + "项目" if not old_text.endswith("项目") else old_text[:-2] + "工程"
    assert len(new_text) == len(old_text) and new_text != old_text
    text = DEFAULT_TASK_FILE.read_text(encoding="utf-8").replace(old_text, new_text, 1)
    plan = read_task_file(write_tasks(tmp_path, text))
    with loaded_db.session() as s:
        load_plan(s, plan, now=NOW)
    with loaded_db.session() as s:
        assert repo.load_state(s).tasks[2].text == new_text


def test_edited_copy_updates_in_place_and_keeps_reports(loaded_db, tmp_path):
    r3 = _add_report(loaded_db, 3, "区残联", Status.IN_PROGRESS, "已启动")
    r6 = _add_report(loaded_db, 6, "区残联", Status.BLOCKED, "缺少器具")
    before = row_counts(loaded_db)

    plan = read_task_file(edited_copy(tmp_path))
    with loaded_db.session() as s:
        summary = load_plan(s, plan, now=NOW)
    assert (summary.tasks_added, summary.tasks_updated, summary.units_added) == (0, 4, 1)
    assert summary.changed is True

    after = row_counts(loaded_db)
    assert after["Task"] == 30
    assert after["Unit"] == 27
    assert after["Assignment"] == 100
    assert after["StatusReport"] == before["StatusReport"] == 2
    # task 6's deadline, task 3's text, task 4's and task 7's units
    assert after["AuditEvent"] == before["AuditEvent"] + 4
    with loaded_db.session() as s:
        events = s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()[-4:]
    assert {(e.action, e.subject) for e in events} == {
        ("task.deadline", "task:十四五:6"),
        ("task.text", "task:十四五:3"),
        ("task.units", "task:十四五:4"),
        ("task.units", "task:十四五:7"),
    }
    units = {e.subject: (e.before, e.after) for e in events if e.action == "task.units"}
    assert units["task:十四五:4"] == (
        "牵头：区人力社保局、区医保局；责任：区财政局、区残联",
        "牵头：区医保局、区人力社保局；责任：区财政局、区残联",
    )
    assert units["task:十四五:7"][1] == "牵头：区住房城乡建委；责任：区残联、区新设局"

    with loaded_db.session() as s:
        t3 = repo.get_task(s, number=3)
        t6 = repo.get_task(s, number=6)
        t4 = repo.get_task(s, number=4)
        t7 = repo.get_task(s, number=7)
        t5 = repo.get_task(s, number=5)
        assert t3 and t6 and t4 and t7 and t5
        assert t3.text == "继续实施“阳光家园计划”项目（修订）。"
        assert t3.deadline == date(2025, 12, 31)
        assert t6.deadline == date(2026, 6, 30)
        assert t5.deadline == date(2025, 12, 31)
        assert repo.unit_names_of_task(s, task_id=t4.id, role=AssignmentRole.LEAD) == [
            "区医保局",
            "区人力社保局",
        ]
        assert repo.unit_names_of_task(s, task_id=t7.id, role=AssignmentRole.RESPONSIBLE) == [
            "区残联",
            "区新设局",
        ]
        reports = {r.id: r for r in s.exec(select(StatusReport))}
        assert set(reports) == {r3, r6}
        assert (reports[r3].task_id, reports[r3].status, reports[r3].note) == (
            t3.id,
            Status.IN_PROGRESS,
            "已启动",
        )
        assert (reports[r6].task_id, reports[r6].status, reports[r6].note) == (
            t6.id,
            Status.BLOCKED,
            "缺少器具",
        )
        [audit] = s.exec(select(AuditEvent).where(AuditEvent.action == "task.deadline")).all()
        assert (audit.subject, audit.before, audit.after, audit.actor_user_id) == (
            "task:十四五:6",
            "2025-12-31",
            "2026-06-30",
            0,
        )
        assert audit.at == NOW

    # loading the same edited copy again changes nothing
    with loaded_db.session() as s:
        assert load_plan(s, plan, now=NOW).changed is False
    assert row_counts(loaded_db) == after


def test_coordinator_deadline_survives_reload(loaded_db, tmp_path):
    with loaded_db.session() as s:
        task = repo.get_task(s, number=6)
        assert task is not None
        task.deadline = date(2026, 9, 30)
        task.deadline_by_coordinator = True
        s.add(task)
    for plan in (read_task_file(edited_copy(tmp_path)), read_task_file()):
        with loaded_db.session() as s:
            load_plan(s, plan, now=NOW)
        with loaded_db.session() as s:
            task = repo.get_task(s, number=6)
            assert task is not None
            assert task.deadline == date(2026, 9, 30)
            assert task.deadline_by_coordinator is True
    with loaded_db.session() as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "task.deadline")).all() == []


# ---------------------------------------------------------------- malformed task files

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

[[tasks]]
number = 2
text = "任务乙"
lead_units = ["区民政局", "区残联"]
responsible_units = ["各镇街"]
deadline = 2026-06-30
"""


def write_tasks(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tasks.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_task_file_reads(tmp_path):
    plan = read_task_file(write_tasks(tmp_path, MINIMAL))
    assert plan.title == "测试规划"
    assert [t.number for t in plan.tasks] == [1, 2]
    assert plan.tasks[0].deadline == date(2026, 12, 31)  # period_end is the default deadline
    assert plan.tasks[1].deadline == date(2026, 6, 30)
    assert plan.tasks[1].lead_units == ("区民政局", "区残联")
    assert plan.unit_names() == ["区残联", "区民政局", "各镇街"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: "[[tasks]]" + t.split("[[tasks]]", 1)[1], "missing [plan]"),
        (lambda t: t.replace("number = 2", "number = 1"), "number 1 used twice"),
        (
            lambda t: t.replace('lead_units = ["区残联"]', "lead_units = []"),
            "at least one lead unit",
        ),
        (
            lambda t: t.replace("deadline = 2026-06-30", 'deadline = "2026-13-40"'),
            "expected a date",
        ),
        (
            lambda t: t.replace("issued_on = 2026-01-05", 'issued_on = "yesterday"'),
            "expected a date",
        ),
        (
            lambda t: t.replace("deadline = 2026-06-30", "deadline = 2026-06-30T10:00:00"),
            "date-time",
        ),
        (lambda t: t + "\nthis is = = not toml\n", "not valid TOML"),
        (
            lambda t: t.replace('lead_units = ["区残联"]', 'lead_units = ["区残联", "区残联"]'),
            "named twice",
        ),
        (lambda t: t.replace('text = "任务甲"', 'text = ""'), "text must be a non-empty"),
        (lambda t: t.split("[[tasks]]", 1)[0], "no [[tasks]]"),
        (
            lambda t: t.replace("deadline = 2026-06-30", "dedline = 2026-06-30"),
            "task 2: unknown key 'dedline'; did you mean 'deadline'?",
        ),
        (
            lambda t: t.replace("issued_on = 2026-01-05", "issued_on = 2026-01-05\nperiod = 1"),
            "[plan]: unknown key 'period'",
        ),
        (lambda t: "owner = 1\n" + t, "unknown key 'owner'"),
        (
            lambda t: t.replace(
                "issued_on = 2026-01-05", 'issued_on = 2026-01-05\nshort_name = "5"'
            ),
            "short_name cannot be a task number",
        ),
        (
            lambda t: t.replace(
                "issued_on = 2026-01-05", 'issued_on = 2026-01-05\nshort_name = "1-3"'
            ),
            "short_name cannot be a task number",
        ),
        (
            lambda t: t.replace(
                "issued_on = 2026-01-05", 'issued_on = 2026-01-05\nshort_name = "全部"'
            ),
            "short_name cannot be a task number",
        ),
    ],
    ids=[
        "missing-plan",
        "duplicate-number",
        "empty-lead-units",
        "bad-deadline",
        "bad-issued-on",
        "datetime-deadline",
        "not-toml",
        "unit-twice",
        "empty-text",
        "no-tasks",
        "misspelt-task-key",
        "unknown-plan-key",
        "unknown-top-key",
        "numeric-short-name",
        "range-short-name",
        "all-short-name",
    ],
)
def test_malformed_task_file(tmp_path, edit, message):
    text = edit(MINIMAL)
    assert text != MINIMAL
    path = write_tasks(tmp_path, text)
    with pytest.raises(TaskFileError) as info:
        read_task_file(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_bad_date_message_says_which_task(tmp_path):
    path = write_tasks(tmp_path, MINIMAL.replace("deadline = 2026-06-30", 'deadline = "soon"'))
    with pytest.raises(TaskFileError, match=r"task 2: deadline: expected a date like 2025-12-31"):
        read_task_file(path)


def test_missing_task_file(tmp_path):
    with pytest.raises(TaskFileError, match="file not found"):
        read_task_file(tmp_path / "absent.toml")


def test_task_file_error_is_a_value_error():
    assert issubclass(TaskFileError, ValueError)


# ---------------------------------------------------------------- UTCDateTime


@pytest.mark.parametrize(
    "given",
    [
        datetime(2026, 3, 16, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8))),
        datetime(2026, 3, 15, 21, 30, 15, 123456, tzinfo=ZoneInfo("America/New_York")),
    ],
)
def test_utc_datetime_round_trips_exactly(fresh_db, given):
    expected = datetime(2026, 3, 16, 1, 30, 15, 123456, tzinfo=UTC)
    assert given == expected  # the two inputs denote the same instant
    with fresh_db.session() as s:
        event = repo.record_audit(
            s, actor_user_id=1, action="t", subject="s", before=None, after=None, now=given
        )
        event_id = event.id
    with fresh_db.session() as s:
        row = s.get(AuditEvent, event_id)
        assert row is not None
        back = row.at
    assert back == expected
    assert back.utcoffset() == timedelta(0)
    assert (back.year, back.month, back.day, back.hour, back.minute, back.second) == (
        2026,
        3,
        16,
        1,
        30,
        15,
    )
    assert back.microsecond == 123456
    # comparisons in SQL use the instant, not the wall-clock digits
    with fresh_db.session() as s:
        found = s.exec(select(AuditEvent.id).where(AuditEvent.at >= expected)).all()
        later = s.exec(
            select(AuditEvent.id).where(AuditEvent.at > expected + timedelta(microseconds=1))
        ).all()
    assert found == [event_id]
    assert later == []


def test_utc_datetime_rejects_naive(fresh_db):
    with pytest.raises(ValueError):
        UTCDateTime().process_bind_param(datetime(2026, 3, 16, 9, 30), fresh_db.engine.dialect)
    with pytest.raises((ValueError, StatementError)) as info:
        with fresh_db.session() as s:
            repo.record_audit(
                s,
                actor_user_id=1,
                action="t",
                subject="s",
                before=None,
                after=None,
                now=datetime(2026, 3, 16, 9, 30),
            )
    error = info.value
    original = error if isinstance(error, ValueError) else error.orig
    assert isinstance(original, ValueError)
    assert "naive" in str(original)
    with fresh_db.session() as s:
        assert count(s, AuditEvent) == 0


# ---------------------------------------------------------------- invites


def _unit_id(database: Database, name: str) -> int:
    with database.session() as s:
        unit = repo.get_unit_by_name(s, name=name)
        assert unit is not None and unit.id is not None
        return unit.id


def _invite(database: Database, unit_name: str, *, created_at=NOW, days: float = 7) -> str:
    unit_id = _unit_id(database, unit_name)
    with database.session() as s:
        invite = repo.create_invite(
            s, unit_id=unit_id, created_by=1001, now=created_at, valid_for=timedelta(days=days)
        )
        return invite.code


def _redeem(database: Database, code: str, user: int, now: datetime = NOW):
    with database.session() as s:
        return repo.redeem_invite(
            s,
            code=code,
            telegram_user_id=user,
            chat_id=user,
            display_name=f"用户{user}",
            username=f"u{user}",
            now=now,
        )


def _snapshot(database: Database) -> tuple:
    with database.session() as s:
        contacts = sorted((c.telegram_user_id, c.unit_id) for c in s.exec(select(Contact)))
        invites = sorted((i.code, i.used_by, i.used_at) for i in s.exec(select(Invite)))
        return contacts, invites, count(s, AuditEvent)


def test_invite_code_shape(loaded_db):
    code = _invite(loaded_db, "区民政局")
    assert len(code) == 16
    assert all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in code)
    assert code != _invite(loaded_db, "区民政局")


def test_redeem_unknown_code_changes_nothing(loaded_db):
    _invite(loaded_db, "区民政局")
    before = _snapshot(loaded_db)
    assert _redeem(loaded_db, "no-such-code", 2001) is repo.InviteProblem.UNKNOWN
    assert _snapshot(loaded_db) == before


def test_redeem_valid_code_creates_contact_and_uses_invite(loaded_db):
    code = _invite(loaded_db, "区民政局")
    result = _redeem(loaded_db, code, 2001, NOW + timedelta(hours=1))
    assert isinstance(result, repo.Redemption)
    assert result.unit.name == "区民政局"
    assert result.previous_unit is None
    assert result.contact.telegram_user_id == 2001
    unit_id = _unit_id(loaded_db, "区民政局")
    with loaded_db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=2001)
        assert contact is not None
        assert (contact.unit_id, contact.chat_id, contact.display_name, contact.username) == (
            unit_id,
            2001,
            "用户2001",
            "u2001",
        )
        assert contact.created_at == NOW + timedelta(hours=1)
        assert contact.unreachable_reason is None
        invite = s.exec(select(Invite).where(Invite.code == code)).one()
        assert invite.used_by == 2001
        assert invite.used_at == NOW + timedelta(hours=1)
        [audit] = s.exec(select(AuditEvent).where(AuditEvent.action == "contact.register")).all()
        assert (audit.actor_user_id, audit.subject, audit.before, audit.after) == (
            2001,
            "unit:区民政局",
            None,
            "区民政局",
        )


def test_redeem_used_code_changes_nothing(loaded_db):
    code = _invite(loaded_db, "区民政局")
    assert isinstance(_redeem(loaded_db, code, 2001), repo.Redemption)
    before = _snapshot(loaded_db)
    assert _redeem(loaded_db, code, 2002) is repo.InviteProblem.USED
    assert _redeem(loaded_db, code, 2001) is repo.InviteProblem.USED
    assert _snapshot(loaded_db) == before
    with loaded_db.session() as s:
        assert repo.get_contact(s, telegram_user_id=2002) is None


def test_redeem_expired_code_changes_nothing(loaded_db):
    code = _invite(loaded_db, "区民政局", created_at=NOW - timedelta(days=7), days=7)
    before = _snapshot(loaded_db)
    # expires exactly at NOW: expired from that instant on
    assert _redeem(loaded_db, code, 2001, NOW) is repo.InviteProblem.EXPIRED
    assert _redeem(loaded_db, code, 2001, NOW + timedelta(days=1)) is repo.InviteProblem.EXPIRED
    assert _snapshot(loaded_db) == before
    # one microsecond earlier it was still valid
    result = _redeem(loaded_db, code, 2001, NOW - timedelta(microseconds=1))
    assert isinstance(result, repo.Redemption)


def test_redeem_for_another_unit_moves_the_contact(loaded_db):
    first = _invite(loaded_db, "区民政局")
    second = _invite(loaded_db, "区残联")
    assert isinstance(_redeem(loaded_db, first, 2001), repo.Redemption)
    moved = _redeem(loaded_db, second, 2001, NOW + timedelta(minutes=5))
    assert isinstance(moved, repo.Redemption)
    assert moved.previous_unit is not None and moved.previous_unit.name == "区民政局"
    assert moved.unit.name == "区残联"
    with loaded_db.session() as s:
        contacts = s.exec(select(Contact)).all()
        assert [(c.telegram_user_id, c.unit_id) for c in contacts] == [
            (2001, _unit_id(loaded_db, "区残联"))
        ]


# ---------------------------------------------------------------- reminder and digest ledger


def _contact_and_task(database: Database) -> tuple[int, int, int]:
    code = _invite(database, "区残联")
    result = _redeem(database, code, 2001)
    assert isinstance(result, repo.Redemption)
    with database.session() as s:
        task = repo.get_task(s, number=3)
        assert task is not None and task.id is not None
        contact = repo.get_contact(s, telegram_user_id=2001)
        assert contact is not None and contact.id is not None
        return task.id, contact.unit_id, contact.id


def _claim(session, key: str, task_id: int, unit_id: int, contact_id: int):
    return repo.claim_delivery(
        session,
        key=key,
        kind=DeliveryKind.REMINDER,
        destination="2001",
        task_id=task_id,
        unit_id=unit_id,
        contact_id=contact_id,
        now=NOW,
    )


def test_claim_delivery_duplicate_key_returns_none(loaded_db):
    task_id, unit_id, contact_id = _contact_and_task(loaded_db)
    key = f"reminder:{task_id}:{unit_id}:{contact_id}:before:2025-12-17"
    with loaded_db.session() as s:
        first = _claim(s, key, task_id, unit_id, contact_id)
        assert first is not None and first.id is not None
        assert first.outcome is DeliveryOutcome.PENDING
        assert _claim(s, key, task_id, unit_id, contact_id) is None
        # the session is still usable after the refused duplicate
        other = _claim(s, key + "-x", task_id, unit_id, contact_id)
        assert other is not None
    # and across sessions (a restart)
    with loaded_db.session() as s:
        assert _claim(s, key, task_id, unit_id, contact_id) is None
    with loaded_db.session() as s:
        assert count(s, Delivery) == 2
        assert repo.settled_keys(s, keys=[key, "nope"]) == {key}


@pytest.mark.parametrize(
    ("json_array", "per_statement"),
    [(True, repo.ledger.KEYS_PER_STATEMENT), (False, repo.ledger.KEYS_PER_STATEMENT), (False, 2)],
)
def test_settled_keys_over_many_keys_and_retry_rows(
    loaded_db, monkeypatch, json_array, per_statement
):
    # SQLite: the keys as one JSON array, or IN lists (older SQLite), several of them
    monkeypatch.setattr(repo.ledger, "SQLITE_JSON", json_array and repo.ledger.SQLITE_JSON)
    monkeypatch.setattr(repo.ledger, "KEYS_PER_STATEMENT", per_statement)
    task_id, unit_id, contact_id = _contact_and_task(loaded_db)
    with loaded_db.session() as s:
        for key in ("sent", "failed", "retry"):
            claimed = _claim(s, key, task_id, unit_id, contact_id)
            assert claimed is not None and claimed.id is not None
            outcome = DeliveryOutcome[key.upper()]
            repo.settle_delivery(s, delivery_id=claimed.id, outcome=outcome, now=NOW)
        _claim(s, "pending", task_id, unit_id, contact_id)
        _claim(s, 'a"b', task_id, unit_id, contact_id)  # found through the quoting too
    odd = ['a"b', "c\\d", "单位:1", "e'f", "sent "]  # quoting in the JSON array or SQL
    asked = [f"absent-{i}" for i in range(7)] + odd + ["sent", "failed", "retry", "pending"]
    with loaded_db.session() as s:
        everything = repo.settled_keys(s, keys=asked)
        # the RETRY row is due again once its next attempt has come
        later = repo.settled_keys(s, keys=asked, now=NOW + timedelta(days=1))
        before_retry = repo.settled_keys(s, keys=asked, now=NOW)
        assert repo.settled_keys(s, keys=[]) == set()
        # the tick's question, the complement: what is still to send
        to_send_later = repo.unsettled_keys(s, keys=asked, now=NOW + timedelta(days=1))
        to_send_now = repo.unsettled_keys(s, keys=asked, now=NOW)
        assert repo.unsettled_keys(s, keys=[], now=NOW) == set()
    assert everything == {"sent", "failed", "retry", "pending", 'a"b'}
    assert later == {"sent", "failed", "pending", 'a"b'}
    assert before_retry == everything
    assert to_send_later == set(asked) - later
    assert to_send_now == set(asked) - everything


def test_mark_pending_uncertain(loaded_db):
    task_id, unit_id, contact_id = _contact_and_task(loaded_db)
    with loaded_db.session() as s:
        a = _claim(s, "a", task_id, unit_id, contact_id)
        b = _claim(s, "b", task_id, unit_id, contact_id)
        c = _claim(s, "c", task_id, unit_id, contact_id)
        assert a and b and c and c.id
        repo.settle_delivery(
            s, delivery_id=c.id, outcome=DeliveryOutcome.SENT, now=NOW, message_id=77
        )

        def digest(period: str) -> Delivery | None:
            return repo.claim_delivery(
                s,
                key=f"digest:{period}:telegram:-100",
                kind=DeliveryKind.DIGEST,
                destination="-100",
                now=NOW,
                parts=["第一部分"],
            )

        p1, p2 = digest("2026-W11"), digest("2026-W12")
        assert p1 and p2 and p2.id
        assert digest("2026-W12") is None
        assert repo.delivery_parts(p2) == ["第一部分"]
        repo.settle_delivery(s, delivery_id=p2.id, outcome=DeliveryOutcome.SENT, now=NOW)
    with loaded_db.session() as s:
        assert repo.mark_pending_uncertain(s) == 3
    with loaded_db.session() as s:
        reminders = select(Delivery).where(Delivery.kind == DeliveryKind.REMINDER)
        outcomes = {r.key: (r.outcome, r.error) for r in s.exec(reminders)}
        assert outcomes == {
            "a": (DeliveryOutcome.UNCERTAIN, "process stopped during the send"),
            "b": (DeliveryOutcome.UNCERTAIN, "process stopped during the send"),
            "c": (DeliveryOutcome.SENT, None),
        }
        digests = select(Delivery).where(Delivery.kind == DeliveryKind.DIGEST)
        posts = {p.key.split(":")[1]: p.outcome for p in s.exec(digests)}
        assert posts == {"2026-W11": DeliveryOutcome.UNCERTAIN, "2026-W12": DeliveryOutcome.SENT}
        sent = s.exec(select(Delivery).where(Delivery.key == "c")).one()
        assert sent.message_id == 77 and sent.sent_at == NOW
    with loaded_db.session() as s:
        assert repo.mark_pending_uncertain(s) == 0


def _pair_report(
    session: Session, pair: tuple[int, int], status: Status | None, note: str, at: datetime
) -> None:
    """Store a report of (task id, unit id) `pair` at `at`, entered by nobody in particular."""
    task_id, unit_id = pair
    repo.add_report(
        session,
        task_id=task_id,
        unit_id=unit_id,
        contact_id=None,
        reporter_user_id=0,
        status=status,
        note=note,
        now=at,
    )


def test_load_period_gives_each_pairs_status_before_its_start(loaded_db):
    """`status_before` (the digest's "status at the start of the period") is the status of
    the newest report with a status created before `since`: note-only reports and reports at
    or after `since` do not count; pairs without reports in the period are left out."""
    since = NOW + timedelta(days=10)
    with loaded_db.session() as s:
        tasks = repo.tasks_by_number(s)[:4]
        pairs = [(t.id, repo.lead_units(s)[0].id) for t in tasks]
        story = [
            # (pair, days after NOW, status or None for a note-only report)
            (0, 1, Status.IN_PROGRESS),
            (0, 2, Status.BLOCKED),
            (0, 3, None),  # a note after the last status: the status stays BLOCKED
            (0, 11, Status.DONE),  # after since
            (1, 10, Status.DONE),  # exactly at since: not before it
            (2, 4, None),  # only a note before since
            (3, 5, Status.DONE),
            (3, 9, Status.IN_PROGRESS),  # reopened: the newest counts
        ]
        for index, days, status in story:
            _pair_report(s, pairs[index], status, f"第{days}天", NOW + timedelta(days=days))
    with loaded_db.session() as s:
        period = repo.load_period(s, since=since)
        state = repo.load_state(s)
    # pair 1 has only a report at since (nothing before: absent); pairs 2 and 3 have no
    # report in the period (their status before it is their latest, in the state)
    assert period.status_before == {pairs[0]: Status.BLOCKED}
    assert state.status_before == {} and state.recent_reports == ()
    assert state.latest_status[pairs[0]].status is Status.DONE
    assert state.latest_status[pairs[3]].status is Status.IN_PROGRESS
    assert [r.note for r in period.recent] == ["第10天", "第11天"]
    assert state.with_period(period).recent_reports == period.recent


def test_load_period_gives_a_busy_pair_its_status_before_once(loaded_db):
    """A pair with many reports in the period (note-only replies and new statuses) gets the
    status of its newest report with a status before the period, looked up at its first
    report of the period; a pair that starts in the period has none."""
    since = NOW + timedelta(days=10)
    with loaded_db.session() as s:
        tasks = repo.tasks_by_number(s)[:2]
        unit = repo.lead_units(s)[0]
        busy, fresh = (tasks[0].id, unit.id), (tasks[1].id, unit.id)
        story = [(busy, -3, Status.BLOCKED), (busy, -2, None)]
        story += [(busy, i, None if i % 3 else Status.IN_PROGRESS) for i in range(40)]
        story += [(fresh, 1, Status.DONE), (fresh, 2, None)]
        for pair, minutes, status in story:
            _pair_report(s, pair, status, f"{minutes}", since + timedelta(minutes=minutes))
    with loaded_db.session() as s:
        period = repo.load_period(s, since=since)
    assert period.status_before == {busy: Status.BLOCKED}
    assert [r.note for r in period.recent if (r.task_id, r.unit_id) == busy] == [
        str(i) for i in range(40)
    ]
    assert len(period.recent) == 42

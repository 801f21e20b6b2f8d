"""Renamed and merged units (机构改革) keep their history: `repo.rename_unit`,
`repo.merge_unit`, `repo.find_unit`, and the task file loaded after a rename."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from db import repo
from db.engine import Database
from db.models import Assignment, AuditEvent, Progress, StatusReport, Unit, UnitAlias
from db.seed import load_plan, read_task_file
from jobs.types import AssignmentRole, Status
from tests import db_fixtures

fresh_db = db_fixtures.fresh_db
loaded_db = db_fixtures.loaded_db

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def _unit(s: Session, name: str) -> Unit:
    unit = repo.get_unit_by_name(s, name=name)
    assert unit is not None and unit.id is not None
    return unit


def _report(database: Database, number: int, unit_name: str, status: Status | None) -> int:
    with database.session() as s:
        task = repo.get_task(s, number=number)
        assert task is not None and task.id is not None
        report = repo.add_report(
            s,
            task_id=task.id,
            unit_id=_unit(s, unit_name).id or 0,
            contact_id=None,
            reporter_user_id=2001,
            status=status,
            note=f"{unit_name}的进展",
            now=NOW,
        )
        assert report.id is not None
        return report.id


def _contact(database: Database, unit_name: str, user_id: int) -> None:
    with database.session() as s:
        invite = repo.create_invite(
            s, unit_id=_unit(s, unit_name).id or 0, created_by=1, now=NOW, valid_for=timedelta(7)
        )
        result = repo.redeem_invite(
            s,
            code=invite.code,
            telegram_user_id=user_id,
            chat_id=user_id,
            display_name="联络员",
            username=None,
            now=NOW,
        )
        assert not isinstance(result, repo.InviteProblem)


def _rename(database: Database, old: str, new: str) -> None:
    with database.session() as s:
        repo.rename_unit(s, unit_id=_unit(s, old).id or 0, new_name=new, actor_user_id=7, now=NOW)


def test_a_renamed_unit_keeps_its_history(loaded_db):
    report_id = _report(loaded_db, 3, "区残联", Status.IN_PROGRESS)
    _contact(loaded_db, "区残联", 5001)
    with loaded_db.session() as s:
        old_id = _unit(s, "区残联").id
        units_before = len(s.exec(select(Unit)).all())
    _rename(loaded_db, "区残联", "区残疾人联合会")
    with loaded_db.session() as s:
        assert repo.get_unit_by_name(s, name="区残联") is None
        unit = _unit(s, "区残疾人联合会")
        assert unit.id == old_id
        assert len(s.exec(select(Unit)).all()) == units_before
        assert repo.aliases_of(s, unit_id=old_id or 0) == ["区残联"]
        found = repo.find_unit(s, name=" 区残联 ")
        assert found is not None and found.id == old_id
        assert repo.resolve_unit(s, text="区残联")[0] == unit
        assert [c.telegram_user_id for c in repo.contacts_of_unit(s, unit_id=old_id or 0)] == [5001]
        report = s.get(StatusReport, report_id)
        assert report is not None and report.unit_id == old_id
        assert [t.number for t in repo.tasks_led_by(s, unit_id=old_id or 0)][:2] == [3, 6]
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "unit.rename")).one()
        assert (event.before, event.after, event.actor_user_id) == ("区残联", "区残疾人联合会", 7)


def test_the_task_file_with_the_old_name_attaches_to_the_renamed_unit(loaded_db):
    _rename(loaded_db, "区残联", "区残疾人联合会")
    plan = read_task_file()
    first = plan.tasks[0]
    assert "区残联" in first.responsible_units
    with loaded_db.session() as s:
        summary = load_plan(s, plan, now=NOW)
        assert summary.units_added == 0
        assert repo.get_unit_by_name(s, name="区残联") is None
        task = repo.get_task(s, number=3)
        assert task is not None
        assert repo.unit_names_of_task(s, task_id=task.id or 0, role=AssignmentRole.LEAD) == [
            "区残疾人联合会"
        ]
    edited = dataclasses.replace(
        plan, tasks=(dataclasses.replace(first, responsible_units=("区残联", "区民政局")),)
    )
    with loaded_db.session() as s:
        assert load_plan(s, edited, now=NOW).units_added == 0


def test_renaming_back_to_a_former_name_swaps_name_and_alias(loaded_db):
    _rename(loaded_db, "区残联", "区残疾人联合会")
    _rename(loaded_db, "区残疾人联合会", "区残联")
    with loaded_db.session() as s:
        unit = _unit(s, "区残联")
        assert repo.aliases_of(s, unit_id=unit.id or 0) == ["区残疾人联合会"]
        assert len(s.exec(select(UnitAlias)).all()) == 1


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("区" * 101, "too_long"),
        ("区残联", "same"),
        ("区民政局", "taken"),
    ],
)
def test_bad_new_names_are_refused_and_change_nothing(loaded_db, new, reason):
    with loaded_db.session() as s:
        with pytest.raises(repo.UnitChangeRefused) as refused:
            repo.rename_unit(
                s, unit_id=_unit(s, "区残联").id or 0, new_name=new, actor_user_id=7, now=NOW
            )
        assert refused.value.reason == reason
        assert isinstance(refused.value, ValueError)
    with loaded_db.session() as s:
        assert s.exec(select(UnitAlias)).all() == []
        assert repo.get_unit_by_name(s, name="区残联") is not None


def test_another_units_former_name_is_taken(loaded_db):
    _rename(loaded_db, "区民政局", "区民政和社会事务局")
    with loaded_db.session() as s:
        with pytest.raises(repo.UnitChangeRefused, match="区民政和社会事务局"):
            repo.rename_unit(
                s, unit_id=_unit(s, "区残联").id or 0, new_name="区民政局", actor_user_id=7, now=NOW
            )


def test_a_merged_unit_moves_its_history_into_the_other(loaded_db):
    # task 1: 区乡村振兴局 leads; 区教委 is not named on it but has a report kept on it
    older = _report(loaded_db, 1, "区教委", Status.IN_PROGRESS)
    newer = _report(loaded_db, 1, "区乡村振兴局", None)
    _report(loaded_db, 14, "区教委", Status.DONE)
    _contact(loaded_db, "区乡村振兴局", 5002)
    _rename(loaded_db, "区乡村振兴局", "区乡村振兴服务中心")
    with loaded_db.session() as s:
        a, b = _unit(s, "区乡村振兴服务中心"), _unit(s, "区教委")
        repo.merge_unit(s, unit_id=a.id or 0, into_unit_id=b.id or 0, actor_user_id=7, now=NOW)
    with loaded_db.session() as s:
        b = _unit(s, "区教委")
        assert repo.get_unit_by_name(s, name="区乡村振兴服务中心") is None
        assert repo.aliases_of(s, unit_id=b.id or 0) == ["区乡村振兴局", "区乡村振兴服务中心"]
        assert repo.find_unit(s, name="区乡村振兴局") == b
        task = repo.get_task(s, number=1)
        assert task is not None
        rows = s.exec(select(Assignment).where(Assignment.task_id == task.id)).all()
        assert [(r.unit_id, r.role) for r in rows if r.role == AssignmentRole.LEAD] == [
            (b.id, AssignmentRole.LEAD)
        ]
        assert [t.number for t in repo.tasks_led_by(s, unit_id=b.id or 0)][:2] == [1, 14]
        assert [c.telegram_user_id for c in repo.contacts_of_unit(s, unit_id=b.id or 0)] == [5002]
        progress = s.exec(select(Progress).where(Progress.task_id == task.id)).all()
        assert [(p.unit_id, p.last_report_id, p.status_report_id, p.status) for p in progress] == [
            (b.id, newer, older, Status.IN_PROGRESS)
        ]
        moved = s.get(StatusReport, newer)
        assert moved is not None and moved.unit_id == b.id
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "unit.merge")).one()
        assert "区乡村振兴服务中心" in (event.before or "") and "区教委" in (event.after or "")
    # the task file still naming 区乡村振兴局 on task 1 loads onto 区教委
    with loaded_db.session() as s:
        assert load_plan(s, read_task_file(), now=NOW).units_added == 0


def test_units_named_on_one_task_are_not_merged(loaded_db):
    # 潼南税务局 leads 10 with 区财政局 and is responsible on 9 with it
    with loaded_db.session() as s:
        a, b = _unit(s, "潼南税务局"), _unit(s, "区财政局")
        with pytest.raises(repo.UnitChangeRefused, match="tasks 9, 10") as refused:
            repo.merge_unit(s, unit_id=a.id or 0, into_unit_id=b.id or 0, actor_user_id=7, now=NOW)
        assert (refused.value.reason, refused.value.tasks) == ("shared", (9, 10))


def test_a_collective_unit_is_not_merged(loaded_db):
    with loaded_db.session() as s:
        a, b = _unit(s, "各镇街"), _unit(s, "区民政局")
        for unit_id, into in ((a.id, b.id), (b.id, a.id)):
            with pytest.raises(repo.UnitChangeRefused) as refused:
                repo.merge_unit(
                    s, unit_id=unit_id or 0, into_unit_id=into or 0, actor_user_id=7, now=NOW
                )
            assert refused.value.reason == "collective"
        with pytest.raises(repo.UnitChangeRefused) as refused:
            repo.merge_unit(s, unit_id=b.id or 0, into_unit_id=b.id or 0, actor_user_id=7, now=NOW)
        assert refused.value.reason == "same_unit"


def test_member_towns_are_found_by_a_former_name(loaded_db):
    members = {"各镇街": ["梓潼街道", "桂林街道"]}
    with loaded_db.session() as s:
        assert repo.ensure_member_units(s, members=members) == 2
    _rename(loaded_db, "梓潼街道", "梓潼街道办事处")
    _rename(loaded_db, "各镇街", "各镇（街道）")
    with loaded_db.session() as s:
        assert repo.ensure_member_units(s, members=members) == 0
        assert repo.get_unit_by_name(s, name="梓潼街道") is None
        town = _unit(s, "梓潼街道办事处")
        assert town.parent_id == _unit(s, "各镇（街道）").id


def test_a_task_naming_a_unit_by_both_names_gets_it_once(loaded_db):
    """A task file naming a renamed unit by its new and its former name (as a lead and as a
    responsible unit) loads with the unit once, as a lead unit."""
    _rename(loaded_db, "区残联", "区残疾人联合会")
    plan = read_task_file()
    first = plan.tasks[0]  # task 1: 区乡村振兴局 leads; 区民政局、区残联 responsible
    edited = dataclasses.replace(
        plan,
        tasks=(
            dataclasses.replace(
                first,
                lead_units=("区残疾人联合会", "区乡村振兴局"),
                responsible_units=("区民政局", "区残联"),
            ),
        ),
    )
    with loaded_db.session() as s:
        load_plan(s, edited, now=NOW)
    with loaded_db.session() as s:
        task = repo.get_task(s, number=1)
        assert task is not None
        assert repo.unit_names_of_task(s, task_id=task.id or 0, role=AssignmentRole.LEAD) == [
            "区残疾人联合会",
            "区乡村振兴局",
        ]
        assert repo.unit_names_of_task(
            s, task_id=task.id or 0, role=AssignmentRole.RESPONSIBLE
        ) == ["区民政局"]

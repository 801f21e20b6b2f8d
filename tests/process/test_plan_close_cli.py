"""`taskbot plan close NAME [--carry-into NAME2 --deadline DATE] [--yes]` and `taskbot plan
reopen NAME [--yes]` (issue 17 §2): a preview that stores nothing, then the close and the
carry-over with --yes; a second close is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from db import repo
from db.engine import Database
from db.models import Assignment, Plan, Task
from db.seed import load_plan
from jobs.types import AssignmentRole, PlanStatus, Status
from tests.plans_data import fifteenth_plan
from tests.process.test_cli import isolated, run, write_config

__all__ = ["isolated"]

TOKEN = "123456:TEST-TOKEN-not-real"
LOADED = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def two_plans(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Database]:
    """A config whose database holds 十四五 (tasks 1-28 done) and 十五五."""
    path = write_config(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\ncoordinators = [1]\n')
    code, _, err = run(capsys, "--config", str(path), "tasks", "--json")
    assert code == 0, err
    database = Database(f"sqlite:///{tmp_path / 'data' / 'taskbot.sqlite3'}")
    with database.session() as s:
        load_plan(s, fifteenth_plan(), now=LOADED)
        old = s.exec(select(Plan.id).where(Plan.short_name == "十四五")).one()
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
                    reporter_user_id=1,
                    status=Status.DONE,
                    note="已完成",
                    now=LOADED,
                    source="coordinator",
                )
    return path, database


def test_plan_close_previews_then_closes_and_carries_with_yes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, database = two_plans(tmp_path, capsys)
    base = ("--config", str(path), "plan")
    code, out, err = run(
        capsys, *base, "close", "十四五", "--carry-into", "十五五", "--deadline", "2027-06-30"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "关闭计划“十四五”"
    assert "共30项任务：已完成28项，推进中0项，遇到困难0项，未开始2项。" in lines
    assert "未完成的任务（2项）：" in lines
    assert "关闭后不再提醒，记录仍可查看、导出。" in lines
    assert "结转到“十五五”（期限2027年6月30日）：" in lines
    assert "· 第29项 → “十五五”第31项" in lines
    assert "· 第30项 → “十五五”第32项" in lines
    assert lines[-1] == "nothing stored: run again with --yes to apply"
    with database.session() as s:
        assert s.exec(select(Plan.status).where(Plan.short_name == "十四五")).one() == "active"
        assert len(s.exec(select(Task)).all()) == 60
    code, out, err = run(
        capsys,
        *base,
        "close",
        "十四五",
        "--carry-into",
        "十五五",
        "--deadline",
        "2027-06-30",
        "--yes",
    )
    assert code == 0, err
    assert out.splitlines()[-2:] == [
        "✅ 计划“十四五”已关闭：不再提醒，记录仍可用 /task、/export 查看。",
        "已将2项结转到“十五五”（第31-32项），期限2027年6月30日。",
    ]
    with database.session() as s:
        plan = s.exec(select(Plan).where(Plan.short_name == "十四五")).one()
        assert (plan.status, plan.closed_by) == (PlanStatus.CLOSED, 0)
        new = s.exec(select(Plan.id).where(Plan.short_name == "十五五")).one()
        carried = s.exec(select(Task).where(Task.plan_id == new, Task.number > 30)).all()
        assert sorted((t.number, t.deadline) for t in carried) == [
            (31, date(2027, 6, 30)),
            (32, date(2027, 6, 30)),
        ]
    code, _, err = run(capsys, *base, "close", "十四五", "--yes")
    assert code == 1
    assert "计划“十四五”已经关闭，不能重复关闭。" in err
    code, out, err = run(capsys, *base, "reopen", "十四五")
    assert code == 0 and out.splitlines()[-1] == "nothing stored: run again with --yes to apply"
    code, out, err = run(capsys, *base, "reopen", "十四五", "--yes")
    assert code == 0 and out.splitlines()[-1] == "plan 十四五 reopened"
    database.dispose()


def test_plan_close_refuses_bad_arguments(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, database = two_plans(tmp_path, capsys)
    database.dispose()
    base = ("--config", str(path), "plan", "close")
    code, _, err = run(capsys, *base, "十四五", "--carry-into", "十五五")
    assert code == 2 and "--carry-into and --deadline go together" in err
    code, _, err = run(capsys, *base, "十三五")
    assert code == 1 and "没有简称为“十三五”的计划。现有计划：十五五、十四五" in err
    code, _, err = run(
        capsys, *base, "十四五", "--carry-into", "十四五", "--deadline", "2027-06-30"
    )
    assert code == 1 and "no other plan named '十四五'" in err


def test_plan_close_refuses_a_carried_deadline_in_the_past(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, database = two_plans(tmp_path, capsys)
    monkeypatch.setattr("bot.cli._now", lambda: datetime(2026, 12, 6, 2, 0, tzinfo=UTC))
    base = ("--config", str(path), "plan", "close", "十四五", "--carry-into", "十五五")
    code, _, err = run(capsys, *base, "--deadline", "2025-12-31", "--yes")
    assert code == 2 and "--deadline 2025-12-31 is in the past (today is 2026-12-06)" in err
    with database.session() as s:
        assert s.exec(select(Plan.status).where(Plan.short_name == "十四五")).one() == "active"
        assert len(s.exec(select(Task)).all()) == 60
    code, _, err = run(capsys, *base, "--deadline", "2026-12-06")
    assert code == 0, err
    database.dispose()

"""`taskbot plan rhythm NAME RHYTHM [--day D]` and `taskbot milestone NUMBER [DATE TEXT]`
(issue 18 §1, §2): stored and audited; bad input refused, nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from db import repo
from db.engine import Database
from db.models import AuditEvent
from jobs.types import Rhythm
from tests.process.test_cli import isolated, run, write_config

__all__ = ["isolated"]

TOKEN = "123456:TEST-TOKEN-not-real"


def setup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Database]:
    path = write_config(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\ncoordinators = [1]\n')
    code, _, err = run(capsys, "--config", str(path), "tasks", "--json")
    assert code == 0, err
    return path, Database(f"sqlite:///{tmp_path / 'data' / 'taskbot.sqlite3'}")


def test_plan_rhythm_sets_and_resets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path, database = setup(tmp_path, capsys)
    base = ("--config", str(path), "plan", "rhythm")
    code, out, err = run(capsys, *base, "十四五", "quarterly", "--day", "25")
    assert code == 0, err
    assert "plan 十四五: quarterly from day 25" in out
    with database.session() as s:
        [plan] = repo.read_plans(s)
        assert (plan.rhythm, plan.rhythm_day) == (Rhythm.QUARTERLY, 25)
    code, _, err = run(capsys, *base, "十四五", "weekly")
    assert code == 2 and "unknown rhythm" in err
    code, _, err = run(capsys, *base, "十四五", "monthly", "--day", "30")
    assert code == 2 and "1 to 28" in err
    code, _, err = run(capsys, *base, "十六五", "monthly")
    assert code == 1 and "no plan named" in err
    code, out, _ = run(capsys, *base, "十四五", "default")
    assert code == 0 and "(the configured cycle)" in out
    with database.session() as s:
        [plan] = repo.read_plans(s)
        assert (plan.rhythm, plan.rhythm_day) == (None, None)
        trail = s.exec(select(AuditEvent).where(AuditEvent.action == "plan.rhythm")).all()
        assert [(a.before, a.after) for a in trail] == [("", "quarterly:25"), ("quarterly:25", "")]
    database.dispose()


def test_milestone_adds_and_lists(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path, database = setup(tmp_path, capsys)
    base = ("--config", str(path), "milestone")
    code, out, err = run(capsys, *base, "10", "2025-06-30", "上半年完成减免政策宣传")
    assert code == 0, err
    assert "task 10: 2025-06-30 上半年完成减免政策宣传 (open)" in out
    code, _, err = run(capsys, *base, "10", "2026-06-30", "太晚")
    assert code == 1 and "before the task's deadline" in err
    code, _, err = run(capsys, *base, "10", "不是日期", "内容")
    assert code == 2
    code, _, err = run(capsys, *base, "99", "2025-06-30", "内容")
    assert code == 1 and "no task 99" in err
    code, out, _ = run(capsys, *base, "10")
    assert code == 0 and out.strip() == "task 10: 2025-06-30 上半年完成减免政策宣传 (open)"
    database.dispose()

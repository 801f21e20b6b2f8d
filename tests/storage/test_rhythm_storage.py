"""A plan's reporting rhythm stored: from the task file's [plan] table (validated), and set
by a coordinator (`repo.set_plan_rhythm`, audited)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from db import repo
from db.models import AuditEvent
from db.seed import DEFAULT_TASK_FILE, TaskFileError, load_plan, read_task_file
from jobs.types import Rhythm
from tests import db_fixtures

fresh_db = db_fixtures.fresh_db
loaded_db = db_fixtures.loaded_db
NOW = datetime(2026, 12, 7, 1, tzinfo=UTC)


def with_plan_lines(tmp_path: Path, lines: str) -> Path:
    text = DEFAULT_TASK_FILE.read_text(encoding="utf-8")
    anchor = "default_deadline = 2025-12-31\n"
    assert text.count(anchor) == 1
    path = tmp_path / "plan.toml"
    path.write_text(text.replace(anchor, anchor + lines), encoding="utf-8")
    return path


def test_the_shipped_file_names_no_rhythm() -> None:
    record = read_task_file()
    assert (record.rhythm, record.rhythm_day) == (None, None)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ('rhythm = "quarterly"\nrhythm_day = 25\n', (Rhythm.QUARTERLY, 25)),
        ('rhythm = "半年"\n', (Rhythm.HALF_YEARLY, None)),
        ('rhythm = "monthly"\nrhythm_day = 1\n', (Rhythm.MONTHLY, 1)),
    ],
)
def test_the_task_file_gives_a_rhythm(
    tmp_path: Path, lines: str, expected: tuple[Rhythm, int | None]
) -> None:
    record = read_task_file(with_plan_lines(tmp_path, lines))
    assert (record.rhythm, record.rhythm_day) == expected


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        ('rhythm = "weekly"\n', "[plan].rhythm: unknown rhythm"),
        ("rhythm = 4\n", "[plan].rhythm must be"),
        ('rhythm = "quarterly"\nrhythm_day = 31\n', "[plan].rhythm_day"),
        ('rhythm = "quarterly"\nrhythm_day = "25"\n', "[plan].rhythm_day"),
        ("rhythm_day = 25\n", "rhythm_day needs a rhythm"),
    ],
)
def test_a_bad_rhythm_in_the_task_file_is_refused(
    tmp_path: Path, lines: str, fragment: str
) -> None:
    with pytest.raises(TaskFileError) as raised:
        read_task_file(with_plan_lines(tmp_path, lines))
    assert fragment in str(raised.value)


def test_loading_stores_the_rhythm_and_a_coordinator_changes_it(loaded_db, tmp_path) -> None:
    with loaded_db.session() as s:
        [plan] = repo.read_plans(s)
        assert plan.rhythm is None
        load_plan(
            s,
            read_task_file(with_plan_lines(tmp_path, 'rhythm = "quarterly"\nrhythm_day = 25\n')),
            now=NOW,
        )
    with loaded_db.session() as s:
        [plan] = repo.read_plans(s)
        assert (plan.rhythm, plan.rhythm_day) == (Rhythm.QUARTERLY, 25)
        repo.set_plan_rhythm(
            s, plan_id=plan.id, rhythm=Rhythm.HALF_YEARLY, day=1, actor_user_id=7, now=NOW
        )
    with loaded_db.session() as s:
        [plan] = repo.read_plans(s)
        assert (plan.rhythm, plan.rhythm_day) == (Rhythm.HALF_YEARLY, 1)
        # a reload of the shipped file (no rhythm) keeps the rhythm the plan has
        load_plan(s, read_task_file(), now=NOW)
    with loaded_db.session() as s:
        [plan] = repo.read_plans(s)
        assert (plan.rhythm, plan.rhythm_day) == (Rhythm.HALF_YEARLY, 1)
        repo.set_plan_rhythm(s, plan_id=plan.id, rhythm=None, day=9, actor_user_id=7, now=NOW)
        with pytest.raises(ValueError):
            repo.set_plan_rhythm(
                s, plan_id=plan.id, rhythm=Rhythm.MONTHLY, day=29, actor_user_id=7, now=NOW
            )
    with loaded_db.session() as s:
        [plan] = repo.read_plans(s)
        assert (plan.rhythm, plan.rhythm_day) == (None, None)
        trail = s.exec(
            select(AuditEvent).where(AuditEvent.action == "plan.rhythm").order_by(AuditEvent.id)
        ).all()
        assert [(a.actor_user_id, a.before, a.after) for a in trail] == [
            (0, "", "quarterly:25"),
            (7, "quarterly:25", "half_yearly:1"),
            (7, "half_yearly:1", ""),
        ]


# ---------------------------------------------------------------- yearly milestones

TASK_10 = (
    'lead_units = ["潼南税务局", "区财政局"]\n'
    'responsible_units = ["区民政局", "区人力社保局", "区残联"]\n'
)


def with_task_10_lines(tmp_path: Path, lines: str) -> Path:
    text = DEFAULT_TASK_FILE.read_text(encoding="utf-8")
    assert text.count(TASK_10) == 1
    path = tmp_path / "milestones.toml"
    path.write_text(text.replace(TASK_10, TASK_10 + lines), encoding="utf-8")
    return path


MILESTONES = (
    "[[tasks.milestones]]\n"
    'due_on = 2025-06-30\ntext = "上半年完成减免政策宣传"\n'
    "[[tasks.milestones]]\n"
    'due_on = 2024-12-31\ntext = "年度减免税清单核对"\n'
)


def test_milestones_in_the_task_file_are_loaded_once(loaded_db, tmp_path) -> None:
    path = with_task_10_lines(tmp_path, MILESTONES)
    record = read_task_file(path)
    [ten] = [t for t in record.tasks if t.number == 10]
    assert [(d.isoformat(), text) for d, text in ten.milestones] == [
        ("2024-12-31", "年度减免税清单核对"),
        ("2025-06-30", "上半年完成减免政策宣传"),
    ]
    for _ in range(2):  # a reload adds nothing twice
        with loaded_db.session() as s:
            load_plan(s, record, now=NOW)
    with loaded_db.session() as s:
        task = repo.tasks_by_numbers(s, numbers=[10])[0]
        stored = repo.milestones_of_task(s, task_id=task.id or 0)
        assert [(m.due_on.isoformat(), m.text, m.closed_on) for m in stored] == [
            ("2024-12-31", "年度减免税清单核对", None),
            ("2025-06-30", "上半年完成减免政策宣传", None),
        ]
        state = repo.load_state(s)
        [view] = [t for t in state.tasks if t.id == task.id]
        assert [m.text for m in view.milestones] == [m.text for m in stored]


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        ('[[tasks.milestones]]\ntext = "无日期"\n', "due_on"),
        ("[[tasks.milestones]]\ndue_on = 2025-06-30\n", "text must be a non-empty string"),
        ('[[tasks.milestones]]\ndue_on = 2025-06-30\ntext = "x"\nowner = "y"\n', "owner"),
        ("milestones = 3\n", "expected [[tasks.milestones]]"),
        (
            '[[tasks.milestones]]\ndue_on = 2025-06-30\ntext = "同一"\n'
            '[[tasks.milestones]]\ndue_on = 2025-06-30\ntext = "同一"\n',
            "the same milestone twice",
        ),
        (
            '[[tasks.milestones]]\ndue_on = 2026-06-30\ntext = "晚于时限"\n',
            "due_on 2026-06-30 is after the task's deadline 2025-12-31",
        ),
        (
            '[[tasks.milestones]]\ndue_on = 2020-06-30\ntext = "早于规划期"\n',
            "due_on 2020-06-30 is before the plan's period (2021-01-01)",
        ),
    ],
)
def test_a_bad_milestone_in_the_task_file_is_refused(
    tmp_path: Path, lines: str, fragment: str
) -> None:
    with pytest.raises(TaskFileError) as raised:
        read_task_file(with_task_10_lines(tmp_path, lines))
    assert fragment in str(raised.value)

"""`taskbot stats` (bot/cli.py) through `bot.cli.main` on the fixed data set of
tests/stats_data.py (figures worked out by hand in tests/storage/test_stats_store.py; here
with the official calendar: 2025-05-01 is a holiday, so the nudge of Mon 2025-04-28 is
answered after 2 working days, and the average is (23+4+2)/3 = 9.67)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from db.engine import Database
from tests.stats_data import store_stats_sample


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in an empty folder (no ./config.toml); give the root logger back as it was."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture
def config(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> Path:
    """A config of a database holding the shipped plan and the plan 评估样例."""
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    assert main(["init", "--config", str(path)]) == 0
    database = Database(database_url)
    try:
        store_stats_sample(database)
    finally:
        database.dispose()
    capsys.readouterr()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_of_one_plan(capsys, config):
    code, out, err = run(
        capsys,
        "stats",
        "--config",
        str(config),
        "--plan",
        "评估样例",
        "--json",
        "--as-of",
        "2026-12-06",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["as_of"] == "2026-12-06"
    [plan] = data["plans"]
    assert plan["plan"] == "评估样例"
    assert set(plan["overall"]) == {"pairs", "tasks"}
    pairs, tasks = plan["overall"]["pairs"], plan["overall"]["tasks"]
    assert (pairs["total"], pairs["accepted"], pairs["done_rate"]) == (8, 6, 0.75)
    assert (pairs["on_time_rate"], pairs["on_time_original_rate"]) == (0.375, 0.25)
    assert pairs["avg_working_days_reminder_to_report"] == 9.67
    assert (tasks["done_rate"], tasks["on_time_rate"], tasks["overdue_done"]) == (0.6667, 0.3333, 2)
    assert "reports_per_cycle" not in tasks
    keys = {
        "unit",
        "total",
        "accepted",
        "done_rate",
        "on_time",
        "on_time_rate",
        "on_time_original",
        "on_time_original_rate",
        "overdue_done",
        "open_overdue",
        "returns",
        "reports",
        "reporting_cycles",
        "reports_per_cycle",
        "reminders",
        "avg_working_days_reminder_to_report",
        "reminders_before_report",
    }
    assert [set(u) for u in plan["units"]] == [keys] * 5
    assert [u["unit"] for u in plan["units"]][:2] == ["区人社局", "区卫健委"]


def test_text_of_every_plan(capsys, config):
    code, out, err = run(capsys, "stats", "--config", str(config), "--as-of", "2026-12-06")
    assert code == 0, err
    assert "评估样例 as of 2026-12-06" in out
    assert "tasks: 4/6 accepted (66.7%), on time 2 (33.3%; original deadline 16.7%)" in out
    assert "区残联: 2/2 accepted (100.0%), on time 0 (0.0%" in out
    assert out.count(" as of 2026-12-06") == 2  # the shipped plan too


def test_bad_arguments(capsys, config):
    code, _, err = run(capsys, "stats", "--config", str(config), "--plan", "没有")
    assert code == 1 and "no plan named" in err
    code, _, err = run(capsys, "stats", "--config", str(config), "--as-of", "2999-01-01")
    assert code == 2 and "in the future" in err

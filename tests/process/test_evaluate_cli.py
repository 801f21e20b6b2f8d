"""`taskbot plan evaluate FILE.docx` (bot/cli.py) through `bot.cli.main`: the draft of the
fixed data set (tests/evaluation_data.py) is written, with the figures written by hand;
bad arguments get a clear answer and no file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest

from bot.cli import main
from db.engine import Database
from tests.evaluation_data import store_sample


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
        store_sample(database)
    finally:
        database.dispose()
    capsys.readouterr()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_evaluate_writes_the_draft(capsys, tmp_path, config):
    target = tmp_path / "评估.docx"
    code, out, err = run(
        capsys,
        *("plan", "evaluate", "--config", str(config), "--plan", "评估样例"),
        *("--as-of", "2026-12-06", str(target)),
    )
    assert code == 0, err
    assert out.startswith("evaluation (总结评估) of 评估样例 as of 2026-12-06 written to ")
    assert "6 tasks, 4 done (66.7%), on time 16.7% (original deadlines) / 33.3% (adjusted)" in out
    assert "10 reports (9 补录)" in out
    doc = docx.Document(str(target))
    assert doc.paragraphs[0].text == "评估样例总结评估报告（初稿）"
    cells = {c.text for t in doc.tables for row in t.rows for c in row.cells}
    assert {"66.7%（4/6）", "16.7%（1/6）", "33.3%（2/6）"} <= cells


def test_evaluate_mid_period_writes_an_interim_draft(capsys, tmp_path, config):
    target = tmp_path / "mid.docx"
    code, out, _ = run(
        capsys,
        *("plan", "evaluate", "--config", str(config), "--plan", "评估样例"),
        *("--as-of", "2023-12-31", str(target)),
    )
    assert code == 0
    assert out.startswith("interim evaluation (中期评估) of 评估样例 as of 2023-12-31")
    assert "2 done (33.3%)" in out
    assert docx.Document(str(target)).paragraphs[0].text == "评估样例中期评估报告（初稿）"


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (("--plan", "评估样例", "out.xlsx"), 2, "name the file *.docx"),
        (("--plan", "没有", "out.docx"), 1, "no plan named '没有'"),
        (("--plan", "评估样例", "--as-of", "2099-01-01", "out.docx"), 2, "in the future"),
        (("--plan", "评估样例", "--as-of", "2020-12-31", "out.docx"), 2, "before the plan's"),
    ],
)
def test_bad_arguments_write_nothing(capsys, tmp_path, config, argv, code, message):
    got, _, err = run(capsys, "plan", "evaluate", "--config", str(config), *argv)
    assert got == code
    assert message in err
    assert not (tmp_path / "out.docx").exists() and not (tmp_path / "out.xlsx").exists()

"""`taskbot notice UNIT FILE.docx` and `taskbot bulletin FILE.docx` (bot/cli.py) through
`bot.cli.main` on the shipped plan: the documents are written and reopened; bad arguments
and a broken template get a clear answer, exit code and no file."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

from bot.cli import main
from tests.process.test_evaluate_cli import isolated, run  # noqa: F401 (the fixture, autouse)


@pytest.fixture
def config(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> Path:
    """A config of a database holding the shipped plan (十四五), templates in ./templates."""
    (tmp_path / "templates").mkdir()
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{database_url}"\n[documents]\ntemplates_dir = "templates"\n',
        encoding="utf-8",
    )
    assert main(["init", "--config", str(path)]) == 0
    capsys.readouterr()
    return path


def test_notice_writes_the_units_sheet(capsys, tmp_path, config):
    target = tmp_path / "通知单.docx"
    code, out, err = run(
        capsys,
        "notice",
        "--config",
        str(config),
        "--number",
        "督办〔2026〕3号",
        "民政局",
        str(target),
    )
    assert code == 0, err
    assert out.startswith(f"督办通知单 of 区民政局 written to {target}: 4 open tasks")
    doc = docx.Document(str(target))
    assert [row.cells[1].text for row in doc.tables[0].rows[1:]] == [
        "第2项",
        "第5项",
        "第8项",
        "第25项",
    ]
    assert "督办〔2026〕3号" in [p.text for p in doc.paragraphs]


def test_bulletin_writes_the_summary(capsys, tmp_path, config):
    target = tmp_path / "通报.docx"
    code, out, err = run(
        capsys, "bulletin", "--config", str(config), "--plan", "十四五", str(target)
    )
    assert code == 0, err
    assert out.startswith("督查通报 (“十四五”规划; ")
    text = "\n".join(p.text for p in docx.Document(str(target)).paragraphs)
    assert "共有重点任务30项" in text


@pytest.mark.parametrize(
    ("argv", "says", "exit_code"),
    [
        (("notice", "没有这个局", "x.docx"), "no unit named '没有这个局'", 1),
        (("notice", "民政局", "x.xlsx"), "name the file *.docx", 2),
        (("bulletin", "--plan", "十九五", "x.docx"), "no plan named '十九五'", 1),
    ],
)
def test_bad_arguments(capsys, tmp_path, config, argv, says, exit_code):
    code, _, err = run(capsys, argv[0], "--config", str(config), *argv[1:])
    assert code == exit_code
    assert says in err
    assert not (tmp_path / argv[-1]).exists()


def test_a_broken_template_is_named(capsys, tmp_path, config):
    (tmp_path / "templates" / "bulletin.docx").write_bytes(b"not a zip")
    code, _, err = run(capsys, "bulletin", "--config", str(config), str(tmp_path / "b.docx"))
    assert code == 1
    assert "template problem:" in err and "bulletin.docx" in err and "not a Word" in err
    assert not (tmp_path / "b.docx").exists()


def test_a_missing_templates_folder_is_a_config_problem(capsys, tmp_path, database_url):
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{database_url}"\n[documents]\ntemplates_dir = "nowhere"\n',
        encoding="utf-8",
    )
    code, _, err = run(capsys, "bulletin", "--config", str(path), str(tmp_path / "b.docx"))
    assert code == 1
    assert "documents.templates_dir" in err and "is not a folder" in err

"""Tests of the `taskbot` command line (bot/cli.py).

Most run `bot.cli.main([...])` in this process and read its output with capsys; the cases that
depend on a real process (a closed stdout pipe, `taskbot run` against a Bot API that cannot be
reached or refuses the token) run the venv's `taskbot` script. Nothing talks to Telegram.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.cli import main, parser
from standin import BotApiStandIn
from tests.conftest import T0

TASKBOT = Path(sys.executable).with_name("taskbot")
TOKEN = "123456789:AAEhBOweik6ad9r_Q-SECRETsecret0123"
SECRET = TOKEN.split(":", 1)[1]
JSON_KEYS = {"number", "text", "lead_units", "responsible_units", "deadline"}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in an empty folder (no ./config.toml), without the secrets of the environment,
    and give the root logger back as it was (`main` installs its own handler)."""
    monkeypatch.chdir(tmp_path)
    # within the shipped plan's period: its check finds nothing held (tests of it move on)
    monkeypatch.setattr("bot.cli._now", lambda: T0)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def write_config(folder: Path, text: str, name: str = "config.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a `taskbot` subprocess: no secrets, no proxies (the Bot API under
    test is local), plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TELEGRAM_BOT_TOKEN", "DATABASE_URL"} and "proxy" not in k.lower()
    }
    env.update(extra)
    return env


# ---------------------------------------------------------------- help and options


def subcommands() -> list[str]:
    actions = parser()._actions
    return list(next(a for a in actions if isinstance(a, argparse._SubParsersAction)).choices)


def test_help_summary_lists_every_subcommand(capsys):
    names = subcommands()
    assert {"run", "init", "tasks", "digest", "backup", "check-config", "demo"} <= set(names)
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    summary = " ".join(out.split("\n\n")[1].split())  # the paragraph after the usage
    assert summary.endswith(", ".join(names) + ".")


# The product's modules: every module of bot/, db/ (without the Alembic scripts, which run on
# import) and jobs/.
_PRODUCT_MODULES = (
    "import importlib, pkgutil, sys\n"
    "import bot, db, jobs\n"
    "for package in (bot, db, jobs):\n"
    "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
    "        if not info.name.startswith('db.migrations'):\n"
    "            importlib.import_module(info.name)\n"
)
_LOADED_STANDIN = (
    "print(sorted(m for m in sys.modules if m == 'standin' or m.startswith('standin.')))\n"
)


def _loaded_standin_modules(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code + _LOADED_STANDIN],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_demo_stand_in_is_not_loaded_by_the_bot():
    """`standin` ships for `taskbot demo` only: importing bot.cli, bot.app or any other module
    of bot/, db/, jobs/ leaves it unloaded; `cmd_demo` imports it when the demo runs."""
    assert _loaded_standin_modules("import sys, bot.cli, bot.app\n") == "[]"
    assert _loaded_standin_modules(_PRODUCT_MODULES) == "[]"
    loaded = _loaded_standin_modules("import sys, bot.cli\nfrom standin.demo import run_demo\n")
    assert "'standin.demo'" in loaded and "'standin.server'" in loaded


@pytest.mark.parametrize(
    "name", ["run", "init", "tasks", "digest", "backup", "check-config", "demo"]
)
def test_each_subcommand_help_has_a_description(capsys, name):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    paragraphs = capsys.readouterr().out.split("\n\n")
    assert paragraphs[0].startswith(f"usage: taskbot {name}")
    description = " ".join(paragraphs[1].split())
    assert not description.startswith(("positional arguments", "options")), description
    assert len(description) > 60
    assert "--config FILE" in "\n\n".join(paragraphs)  # the common options, after the command


def test_config_and_log_level_after_the_subcommand(capsys, tmp_path):
    path = write_config(tmp_path / "conf", f'[telegram]\ntoken = "{TOKEN}"\ncoordinators = [1]\n')
    code, out, _ = run(capsys, "check-config", "--config", str(path), "--log-level", "debug")
    assert code == 0
    assert out.splitlines()[0] == f"reading {path}"
    # given on both sides, the one after the subcommand wins
    code, out, _ = run(
        capsys, "--config", str(tmp_path / "absent.toml"), "check-config", "--config", str(path)
    )
    assert code == 0 and out.splitlines()[0] == f"reading {path}"
    # before the subcommand still works, and is not reset by the subcommand's defaults
    code, out, _ = run(capsys, "--config", str(path), "--log-level", "ERROR", "check-config")
    assert code == 0 and out.splitlines()[0] == f"reading {path}"
    args = parser().parse_args(["--log-level", "error", "tasks"])
    assert args.log_level == "ERROR" and args.config is None


def test_unknown_log_level_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["check-config", "--log-level", "LOUD"])
    assert exit_info.value.code == 2


# ---------------------------------------------------------------- check-config


def test_check_config_without_a_file_names_the_defaults(capsys, tmp_path):
    code, out, _ = run(capsys, "check-config")
    lines = out.splitlines()
    assert lines[0] == "no config file; built-in defaults"
    assert lines[1] == f"database: sqlite:///{tmp_path / 'data' / 'taskbot.sqlite3'}"
    assert "1 problem:" in lines
    assert any(line.startswith("  - telegram.token: missing") for line in lines)
    assert code == 1


def test_check_config_reads_config_toml_of_the_current_folder(capsys, tmp_path):
    write_config(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\n')
    code, out, _ = run(capsys, "check-config")
    assert out.splitlines()[0] == "reading config.toml"
    assert code == 0


def headings(out: str) -> list[str]:
    return [line for line in out.splitlines() if re.fullmatch(r"\d+ (problem|warning)s?:", line)]


def test_warnings_alone_exit_zero(capsys, tmp_path):
    path = write_config(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\n')
    code, out, _ = run(capsys, "--config", str(path), "check-config")
    assert code == 0
    assert "2 warnings:" in out
    assert "  - telegram.coordinators: none; nobody can /invite until you add your id; " in out
    assert "send /whoami to the bot to learn it" in out
    assert "  - telegram.digest_chat_id: not set; no weekly digest will be posted" in out
    assert out.splitlines()[-1] == "configuration OK, with 2 warnings"
    assert headings(out) == ["2 warnings:"]


def test_no_warnings_no_problems(capsys, tmp_path):
    path = write_config(
        tmp_path,
        f'[telegram]\ntoken = "{TOKEN}"\ncoordinators = [1]\ndigest_chat_id = -1001234567890\n',
    )
    code, out, _ = run(capsys, "--config", str(path), "check-config")
    assert code == 0
    assert out.splitlines()[-1] == "configuration OK"
    assert headings(out) == []


def test_a_problem_exits_one_and_warnings_are_still_listed(capsys, tmp_path):
    path = write_config(tmp_path, "[telegram]\ndigest_chat_id = 12345\n")  # a user id
    code, out, _ = run(capsys, "--config", str(path), "check-config")
    assert code == 1
    # token missing, chat id positive; no coordinators
    assert headings(out) == ["2 problems:", "1 warning:"]
    assert "configuration OK" not in out


BROKEN_CONFIGS = {
    "time zone and unknown collective unit": (
        '[schedule]\ntimezone = "Beijing"\n[collective_units]\n"各乡镇" = ["梓潼街道"]\n',
        ["schedule.timezone", "telegram.token", "collective_units"],
    ),
    "quoted chat id, unsupported database, missing task file": (
        '[telegram]\ndigest_chat_id = "@mygroup"\n'
        '[database]\nurl = "mysql://bot:s3cret@db.example/bot"\n'
        '[tasks]\nfile = "no-such-tasks.toml"\n',
        ["telegram.digest_chat_id", "database.url", "telegram.token", "tasks.file"],
    ),
    "misspelt key, bad URL, quiet hour before reminder hour": (
        f'[telegram]\ntoken = "{TOKEN}"\ntokn = "x"\n[database]\nurl = "x"\n'
        "[schedule]\nreminder_hour = 22\nquiet_after_hour = 8\n",
        ["telegram.tokn", "database.url", "schedule"],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN_CONFIGS))
def test_check_config_lists_every_problem_at_once(capsys, tmp_path, case):
    text, keys = BROKEN_CONFIGS[case]
    path = write_config(tmp_path, text)
    code, out, _ = run(capsys, "check-config", "--config", str(path))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"reading {path}"
    assert f"{len(keys)} problems:" in lines
    start = lines.index(f"{len(keys)} problems:") + 1
    listed = [line.removeprefix("  - ") for line in lines[start : start + len(keys)]]
    assert sorted(line.split(":", 1)[0] for line in listed) == sorted(keys)
    assert "Value error" not in out
    assert "s3cret" not in out and SECRET not in out


def test_check_config_messages_are_helpful(capsys, tmp_path):
    path = write_config(
        tmp_path,
        '[telegram]\ndigest_chat_id = "-100123"\n[schedule]\ntimezone = "Beijing"\n'
        '[database]\nurl = "postgresql+psycopg2://u@h/db"\n',
    )
    _, out, _ = run(capsys, "check-config", "--config", str(path))
    assert (
        "telegram.digest_chat_id: must be a number without quotes, e.g. -1001234567890; "
        "send /whoami@<bot> in the group to learn it"
    ) in out
    assert "schedule.timezone: unknown time zone 'Beijing'" in out and "Asia/Shanghai" in out
    assert "database.url: PostgreSQL driver 'psycopg2' is not supported" in out
    assert "3 problems:" in out or "4 problems:" in out  # plus the missing token
    assert "problem(s)" not in out


def test_check_config_of_a_missing_or_broken_file(capsys, tmp_path):
    code, out, _ = run(capsys, "--config", str(tmp_path / "absent.toml"), "check-config")
    assert code == 1
    assert "1 problem:" in out and "absent.toml: file not found" in out
    path = write_config(tmp_path, "[telegram\n")
    code, out, _ = run(capsys, "--config", str(path), "check-config")
    assert code == 1 and "not valid TOML" in out


def test_other_commands_report_config_problems_in_one_list(capsys, tmp_path):
    path = write_config(
        tmp_path, '[schedule]\ntimezone = "Beijing"\n[collective_units]\n"各乡镇" = []\n'
    )
    code, out, err = run(capsys, "--config", str(path), "tasks")
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == f"reading {path}"
    assert lines[1] == "2 problems in the configuration:"
    assert lines[2].startswith("  - schedule.timezone:")
    assert lines[3].startswith("  - collective_units:")


# ---------------------------------------------------------------- database commands


def db_config(folder: Path, database_url: str) -> Path:
    return write_config(folder, f'[database]\nurl = "{database_url}"\n')


def test_tasks_json(capsys, tmp_path, database_url):
    path = db_config(tmp_path, database_url)
    code, out, _ = run(capsys, "--config", str(path), "tasks", "--json")
    assert code == 0
    tasks = json.loads(out)
    assert len(tasks) == 30
    assert [t["number"] for t in tasks] == list(range(1, 31))
    for task in tasks:
        assert set(task) == JSON_KEYS
        assert isinstance(task["text"], str) and task["text"]
        assert task["lead_units"] and all(isinstance(u, str) for u in task["lead_units"])
        assert isinstance(task["responsible_units"], list)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", task["deadline"])


def test_tasks_table(capsys, tmp_path, database_url):
    code, out, _ = run(capsys, "--config", str(db_config(tmp_path, database_url)), "tasks")
    assert code == 0
    assert out.startswith("  1. ")
    assert out.count("牵头单位: ") == 30 and out.count("完成时限: ") == 30


def test_init_twice(capsys, tmp_path, database_url):
    path = db_config(tmp_path, database_url)
    first = run(capsys, "init", "--config", str(path))
    second = run(capsys, "init", "--config", str(path))
    for code, out, _ in (first, second):
        assert code == 0
        assert re.fullmatch(r"database ready at \S+; 30 tasks, \d+ lead units\n", out), out
    assert first[1] == second[1]


def test_digest_prints_without_sending(capsys, tmp_path, database_url):
    code, out, _ = run(capsys, "--config", str(db_config(tmp_path, database_url)), "digest")
    assert code == 0
    assert out.strip() and "<b>" not in out


def test_backup_of_a_sqlite_database(capsys, tmp_path):
    path = write_config(tmp_path, "")  # the default SQLite file, next to the config
    assert run(capsys, "--config", str(path), "init")[0] == 0
    target = tmp_path / "backups" / "copy.sqlite3"
    code, out, _ = run(capsys, "--config", str(path), "backup", str(target))
    assert code == 0 and f"written to {target}" in out
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*) FROM task").fetchone() == (30,)
    # an existing file is never overwritten
    before = target.read_bytes()
    code, out, err = run(capsys, "--config", str(path), "backup", str(target))
    assert code == 1 and out == ""
    assert "exists" in err and "Traceback" not in err
    assert target.read_bytes() == before


def test_backup_refuses_a_missing_database_and_does_not_create_it(capsys, tmp_path):
    path = write_config(tmp_path, "")
    code, _, err = run(capsys, "--config", str(path), "backup", str(tmp_path / "copy.sqlite3"))
    assert code == 1
    assert "no database at" in err
    assert not (tmp_path / "data").exists() and not (tmp_path / "copy.sqlite3").exists()


def test_backup_refuses_postgresql(capsys, tmp_path):
    path = write_config(tmp_path, '[database]\nurl = "postgresql://u@127.0.0.1:1/none"\n')
    code, _, err = run(capsys, "--config", str(path), "backup", str(tmp_path / "copy"))
    assert code == 1 and "pg_dump" in err


def test_relative_sqlite_path_counts_from_the_config_folder(capsys, tmp_path, monkeypatch):
    conf = tmp_path / "srv" / "bot"
    path = write_config(conf, "")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, _ = run(capsys, "--config", "../srv/bot/config.toml", "init")
    assert code == 0
    expected = conf / "data" / "taskbot.sqlite3"
    assert f"database ready at sqlite:///{expected};" in out
    assert expected.exists()
    assert not (elsewhere / "data").exists()
    code, out, _ = run(capsys, "check-config", "--config", str(path))
    assert f"database: sqlite:///{expected}" in out


def test_relative_sqlite_path_without_a_config_counts_from_the_current_folder(
    capsys, tmp_path, monkeypatch
):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    code, out, _ = run(capsys, "init")
    assert code == 0
    assert f"sqlite:///{here / 'data' / 'taskbot.sqlite3'};" in out
    assert (here / "data" / "taskbot.sqlite3").exists()
    # DATABASE_URL from the environment also counts from the current folder
    monkeypatch.setenv("DATABASE_URL", "sqlite:///env/bot.sqlite3")
    path = write_config(tmp_path / "conf", "")
    assert run(capsys, "--config", str(path), "init")[0] == 0
    assert (here / "env" / "bot.sqlite3").exists()
    assert not (tmp_path / "conf" / "env").exists()


# ---------------------------------------------------------------- real processes


def test_closed_stdout_pipe_is_not_a_traceback(tmp_path):
    env = subprocess_env(DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    assert subprocess.run([TASKBOT, "init"], cwd=tmp_path, env=env, check=False).returncode == 0
    # the reader is gone before the first write: every write fails (EPIPE)
    proc = subprocess.Popen(
        [TASKBOT, "tasks"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""
    # and the shell pipeline of the README
    shell = subprocess.run(
        f"'{TASKBOT}' digest --print | head -1; '{TASKBOT}' tasks | head -1",
        shell=True,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shell.stderr == ""
    assert len(shell.stdout.splitlines()) == 2
    assert shell.stdout.splitlines()[1].startswith("  1. ")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_config(folder: Path, base: str) -> Path:
    return write_config(
        folder,
        f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{base}/bot"\n'
        f'base_file_url = "{base}/file/bot"\ntimeout_seconds = 5\n',
    )


def test_run_with_an_unreachable_bot_api_says_so_in_one_line(tmp_path):
    base = f"http://127.0.0.1:{closed_port()}"
    path = run_config(tmp_path, base)
    done = subprocess.run(
        [TASKBOT, "--config", str(path), "run"],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stderr and "123456789:" not in done.stderr
    # the configuration warnings are logged, and the bot tries to start anyway
    assert "telegram.coordinators: none" in done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith(f"cannot start: cannot reach the Bot API at {base}/bot: ")
    assert len(done.stderr.splitlines()) <= 4


@contextmanager
def standin_in_a_thread() -> Iterator[BotApiStandIn]:
    """The Bot API stand-in serving from its own event loop in a background thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    api = BotApiStandIn()
    try:
        asyncio.run_coroutine_threadsafe(api.start(), loop).result(10)
        yield api
    finally:
        asyncio.run_coroutine_threadsafe(api.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_run_with_a_refused_token_says_so_in_one_line(tmp_path, level):
    with standin_in_a_thread() as api:
        assert api.token != TOKEN  # the stand-in answers 401 to any other token
        path = run_config(tmp_path, api.url)
        done = subprocess.run(
            [TASKBOT, "--log-level", level, "--config", str(path), "run"],
            cwd=tmp_path,
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    # at DEBUG python-telegram-bot's traceback of InvalidToken is kept, its token redacted
    assert ("Traceback" in done.stderr) == (level == "DEBUG")
    assert SECRET not in done.stderr and TOKEN not in done.stderr
    assert ("The token `<token>` was rejected" in done.stderr) == (level == "DEBUG")
    last = done.stderr.splitlines()[-1]
    assert last.startswith(
        f"cannot start: the bot token was refused by the Bot API at {api.url}/bot (InvalidToken)"
    )


PROXY_PASSWORD = "PROXY-PASSWORD"


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        (
            "ftp://x",
            "telegram.proxy: unsupported proxy scheme ftp://; use http://, https://, socks5:// "
            "or socks5h://, e.g. socks5://127.0.0.1:1080 or http://127.0.0.1:7890",
        ),
        (
            f"socks5://bob:{PROXY_PASSWORD}@127.0.0.1",
            "telegram.proxy: the proxy URL has no port; write it out, e.g. "
            "socks5://127.0.0.1:1080 or http://127.0.0.1:7890",
        ),
    ],
)
def test_check_config_refuses_a_bad_proxy_without_showing_it(capsys, tmp_path, proxy, message):
    path = write_config(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\nproxy = "{proxy}"\n')
    code, out, err = run(capsys, "check-config", "--config", str(path))
    assert code == 1
    assert f"  - {message}" in out.splitlines()
    assert "1 problem:" in out
    assert PROXY_PASSWORD not in out + err and "Value error" not in out


@pytest.mark.parametrize("scheme", ["http", "socks5", "socks5h"])
def test_check_config_names_a_good_proxy_without_its_password(capsys, tmp_path, scheme):
    proxy = f"{scheme}://bob:{PROXY_PASSWORD}@127.0.0.1:1080"
    path = write_config(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\nproxy = "{proxy}"\n')
    code, out, err = run(capsys, "check-config", "--config", str(path))
    assert code == 0, out
    assert f"Bot API proxy: {scheme}://bob:***@127.0.0.1:1080" in out.splitlines()
    assert PROXY_PASSWORD not in out + err


def test_run_through_an_unreachable_proxy_never_logs_its_password(tmp_path):
    proxy = f"http://alice:{PROXY_PASSWORD}@127.0.0.1:{closed_port()}"
    path = write_config(
        tmp_path,
        f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "http://bot-api.invalid/bot"\n'
        f'timeout_seconds = 5\nproxy = "{proxy}"\n',
    )
    done = subprocess.run(
        [TASKBOT, "--log-level", "DEBUG", "--config", str(path), "run"],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Bot API proxy: http://alice:***@127.0.0.1:" in done.stderr
    assert "Traceback" in done.stderr  # at DEBUG the framework's traceback is logged
    assert PROXY_PASSWORD not in done.stderr + done.stdout and SECRET not in done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith(
        "cannot start: cannot reach the Bot API at http://bot-api.invalid/bot through the "
        "proxy http://alice:***@127.0.0.1:"
    )


def test_run_refuses_a_config_with_problems_before_contacting_anything(capsys, tmp_path):
    path = write_config(tmp_path, '[telegram]\nbase_url = "http://127.0.0.1:9/bot"\n')
    code, out, err = run(capsys, "--config", str(path), "run")
    assert code == 1 and out == ""
    assert err.splitlines()[0] == f"reading {path}"
    assert "cannot start: 1 problem in the configuration" in err
    assert "telegram.token: missing" in err


def _missing_postgres_database() -> str:
    """A URL on the test PostgreSQL server naming a database that does not exist."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        pytest.skip("TEST_DATABASE_URL not set: no PostgreSQL server to ask")
    from sqlalchemy.engine import make_url

    from db.engine import normalise_url

    missing = make_url(normalise_url(url)).set(database="taskbot_no_such_database")
    return missing.render_as_string(hide_password=False)


def test_check_config_says_when_postgres_refuses_the_connection(capsys, tmp_path):
    url = f"postgresql://postgres:pw-SECRET@127.0.0.1:{closed_port()}/taskbot"
    path = write_config(tmp_path, f'[database]\nurl = "{url}"\n')
    code, out, _ = run(capsys, "--config", str(path), "check-config")
    assert code == 1
    lines = [line for line in out.splitlines() if "database.url: cannot connect" in line]
    assert len(lines) == 1 and "OperationalError" in lines[0]
    assert "pw-SECRET" not in out


def test_check_config_and_init_name_a_missing_database_in_one_line(capsys, tmp_path):
    url = _missing_postgres_database()
    path = write_config(tmp_path, f'[database]\nurl = "{url}"\n')
    code, out, _ = run(capsys, "--config", str(path), "check-config")
    assert code == 1
    assert 'database "taskbot_no_such_database" does not exist' in out
    assert "CREATE DATABASE" in out
    code, out, err = run(capsys, "--config", str(path), "init")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("database problem: OperationalError:")
    assert "sqlalche.me" not in err and "CREATE DATABASE" in err


def test_logged_tracebacks_hide_the_token_and_proxy_passwords(capsys):
    from bot.cli import setup_logging

    setup_logging("INFO", TOKEN)
    proxy = "http://alice:PROXY-PASSWORD@127.0.0.1:3128"
    try:
        try:
            raise ConnectionError(f"407 from proxy url='{proxy}'")
        except ConnectionError as cause:
            raise RuntimeError(f"request to https://api.example/bot{TOKEN}/sendMessage") from cause
    except RuntimeError:
        logging.getLogger("bot.app").exception("error while handling an update via %s", proxy)
    err = capsys.readouterr().err
    assert "Traceback" in err and "ConnectionError" in err
    assert "PROXY-PASSWORD" not in err and SECRET not in err
    assert "alice:***@127.0.0.1:3128" in err and "bot<token>/sendMessage" in err


@pytest.mark.parametrize("command", [["tasks"], ["digest", "--print"], ["schedule"]])
def test_a_read_only_command_says_when_it_made_a_new_database(capsys, tmp_path, command):
    """Run outside the bot's folder without --config, a command would read a database it
    just made (the task file's tasks, no reports): it says so, once."""
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'taskbot.sqlite3'}"
    path = db_config(tmp_path, url)
    code, _, err = run(capsys, "--config", str(path), *command)
    assert code == 0
    assert "did not exist" in err and "--config" in err
    code, _, err = run(capsys, "--config", str(path), *command)
    assert code == 0
    assert "did not exist" not in err


def test_check_config_does_not_create_the_sqlite_file(capsys, tmp_path, monkeypatch):
    """check-config only reads: on a fresh folder it leaves no database behind (an empty
    file there hid the note of the read-only commands that they made a new database)."""
    from datetime import UTC, datetime

    monkeypatch.setattr("bot.cli._now", lambda: datetime(2026, 12, 4, 1, 30, tzinfo=UTC))
    path = write_config(tmp_path / "bot", f'[telegram]\ntoken = "{TOKEN}"\ncoordinators = [1]\n')
    code, out, _ = run(capsys, "--config", str(path), "check-config")
    assert code == 0 and "follow-up held" in out  # judged from the task file
    assert not (tmp_path / "bot" / "data" / "taskbot.sqlite3").exists()
    code, _, err = run(capsys, "--config", str(path), "tasks")
    assert code == 0 and "did not exist" in err


def test_check_config_states_the_token_format_it_expects(capsys, tmp_path):
    path = write_config(tmp_path, '[telegram]\ntoken = "bot12345:short"\n')
    code, out, _ = run(capsys, "check-config", "--config", str(path))
    assert code == 1
    [line] = [line for line in out.splitlines() if "telegram.token" in line]
    assert "numeric id, a colon and a secret of at least 20 letters, digits, _ or -" in line
    assert "@BotFather" in line and "123456789:AAE" in line
    assert "short" not in line  # the refused token itself is never echoed


# ---------------------------------------------------------------- the plan check


def test_check_config_and_run_say_the_follow_up_is_held_the_same_way(
    capsys, tmp_path, database_url, monkeypatch
):
    """On 2026-12-04 the shipped plan's period has ended: check-config (before the first
    start: from the task file) and the start of `taskbot run` (`prepare_database`, which
    stores the hold) print the same finding; after a decision both say the follow-up runs."""
    from datetime import UTC, datetime

    from bot.app import prepare_database
    from bot.config import load_settings
    from jobs.types import HoldDecision

    friday = datetime(2026, 12, 4, 1, 30, tzinfo=UTC)
    monkeypatch.setattr("bot.cli._now", lambda: friday)
    path = write_config(
        tmp_path,
        f'[telegram]\ntoken = "{TOKEN}"\ncoordinators = [1]\ndigest_chat_id = -1001234567890\n'
        f'[database]\nurl = "{database_url}"\n',
    )
    code, out, _ = run(capsys, "--config", str(path), "check-config")
    assert code == 0
    expected = (
        "follow-up held: the plan's period ended on 2025-12-31; 46 of 46 open (task, lead "
        "unit) pairs are overdue by more than 10 working days. "
        "Overdue reminders, escalations and the weekly digest wait until a coordinator "
        "decides: new deadlines (/deadline in chat, or taskbot deadline RANGE DATE --yes) "
        "lift the hold once nothing is late enough to hold it; or, in chat, /backlog send "
        "(the held reminders go out once) or /backlog drop (they never go out)"
    )
    assert f"  - {expected}" in out.splitlines()
    assert out.splitlines()[-1] == "configuration OK, with 1 warning"

    settings = load_settings(path)
    database = prepare_database(settings, clock=lambda: friday)  # as `taskbot run` starts
    assert f"WARNING bot.app: {expected}" in capsys.readouterr().err
    _, out, _ = run(capsys, "--config", str(path), "check-config")
    assert f"  - {expected}" in out.splitlines()  # now read from the database

    from db import repo

    with database.session() as s:
        hold = repo.open_hold(s)
        assert hold is not None and hold.id is not None
        repo.decide_hold(s, hold_id=hold.id, decision=HoldDecision.SEND, user_id=1, now=friday)
    database.dispose()
    _, out, _ = run(capsys, "--config", str(path), "check-config")
    assert "a coordinator decided on 2026-12-04 (send), so the follow-up runs" in out
    assert expected not in out


def test_schedule_before_the_first_start_leaves_out_what_the_start_will_hold(
    capsys, tmp_path, monkeypatch
):
    """After check-config warned that the follow-up will be held, `taskbot schedule` (before
    any `taskbot run`) says so and lists no overdue reminder; `taskbot deadline --yes` that
    leaves nothing overdue lifts the hold and says so, and the schedule lists the reminders."""
    from datetime import UTC, datetime

    friday = datetime(2026, 12, 4, 1, 30, tzinfo=UTC)
    monkeypatch.setattr("bot.cli._now", lambda: friday)
    path = write_config(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\ncoordinators = [1]\n')
    code, out, _ = run(capsys, "--config", str(path), "check-config")
    assert code == 0 and "follow-up held" in out
    window = ("--from", "2026-12-07", "--to", "2026-12-31")
    code, out, _ = run(capsys, "--config", str(path), "schedule", *window)
    assert code == 0
    assert out.splitlines()[0].startswith("督办暂停中")
    assert "不发送" not in out  # no overdue reminder of the ended plan is listed
    argv = ["--config", str(path), "deadline", "全部", "2027-06-30", "--reason", "衔接"]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "nothing stored" in out and "lifted" not in out
    code, out, _ = run(capsys, *argv, "--yes")
    assert code == 0
    assert out.splitlines()[-1] == (
        "the held follow-up is lifted: no open task is overdue enough to hold it"
    )
    code, out, _ = run(capsys, "--config", str(path), "deadline", "2,10", "2026-12-21", "--yes")
    assert code == 0 and "held" not in out  # nothing was held any more
    code, out, _ = run(capsys, "--config", str(path), "schedule", *window)
    assert code == 0 and "督办暂停中" not in out
    assert "2026-12-07 周一  09:00  不发送" in out and "· 区民政局：第2项" in out


def test_export_with_files_and_prune_evidence(capsys, tmp_path, monkeypatch):
    from datetime import UTC, datetime

    from sqlmodel import select

    from db import repo
    from db.engine import Database
    from db.files import EvidenceStore
    from db.models import Task, Unit

    path = write_config(tmp_path, "")
    assert run(capsys, "--config", str(path), "init")[0] == 0
    store = EvidenceStore(tmp_path / "data" / "evidence")  # beside the database
    kept = store.put(b"%PDF minutes", "会议纪要.pdf")
    database = Database(f"sqlite:///{tmp_path / 'data' / 'taskbot.sqlite3'}")
    try:
        with database.session() as s:
            task = s.exec(select(Task).where(Task.number == 3)).one()
            unit = s.exec(select(Unit).where(Unit.name == "区残联")).first()
            assert unit is not None
            now = datetime(2025, 3, 1, tzinfo=UTC)
            report = repo.add_report(
                s,
                task_id=task.id or 0,
                unit_id=unit.id or 0,
                contact_id=None,
                reporter_user_id=1,
                status=None,
                note="",
                now=now,
            )
            repo.add_evidence(
                s,
                report_id=report.id or 0,
                task_id=task.id or 0,
                unit_id=unit.id or 0,
                files=[
                    repo.NewEvidence(
                        "document",
                        "会议纪要.pdf",
                        None,
                        None,
                        kept.size,
                        kept.sha256,
                        kept.relative_path,
                        None,
                        None,
                    )
                ],
                now=now,
            )
    finally:
        database.dispose()
    code, out, err = run(
        capsys, "--config", str(path), "export", "--with-files", str(tmp_path / "材料.zip")
    )
    assert code == 0, err
    assert "1 evidence file" in out
    with zipfile.ZipFile(tmp_path / "材料.zip") as zf:
        names = zf.namelist()
    assert any(
        n.startswith("第3项 ") and n.endswith("/区残联/" + n.rsplit("/", 1)[1]) for n in names
    )
    assert run(capsys, "--config", str(path), "export", "--with-files", "x.xlsx")[0] == 2
    # retention 0 (the default): kept for ever
    code, out, _ = run(capsys, "--config", str(path), "prune-evidence", "--yes")
    assert code == 0 and "kept for ever" in out and store.read(kept.relative_path)
    path.write_text("[evidence]\nretention_days = 30\n", encoding="utf-8")
    code, out, _ = run(capsys, "--config", str(path), "prune-evidence", "--yes")
    assert code == 0 and "not ended" in out and store.read(kept.relative_path)  # T0: 2025
    monkeypatch.setattr("bot.cli._now", lambda: datetime(2026, 3, 1, tzinfo=UTC))
    code, out, _ = run(capsys, "--config", str(path), "prune-evidence")
    assert code == 0 and "would be deleted" in out and store.read(kept.relative_path)
    code, out, _ = run(capsys, "--config", str(path), "prune-evidence", "--yes")
    assert code == 0 and "1 evidence file" in out and store.read(kept.relative_path) is None


def test_unit_rename_and_merge_preview_then_store_with_yes(capsys, tmp_path):
    path = write_config(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\ncoordinators = [1]\n')
    base = ("--config", str(path), "unit")
    code, out, _ = run(capsys, *base, "rename", "潼南税务局", "国家税务总局潼南税务局")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "单位更名：潼南税务局 → 国家税务总局潼南税务局"
    assert "涉及任务：第9-10项；联络员0位，进展反馈0条，随单位保留。" in lines
    assert lines[-1] == "nothing stored: run again with --yes to apply"
    code, out, _ = run(capsys, *base, "rename", "潼南税务局", "国家税务总局潼南税务局", "--yes")
    assert code == 0
    assert out.splitlines()[-1] == (
        "已将潼南税务局更名为国家税务总局潼南税务局；“潼南税务局”保留为别名，历史记录不变。"
    )
    # the old name is taken now, and still names the unit
    code, out, _ = run(capsys, "--config", str(path), "deadline", "潼南税务局", "2027-06-30")
    assert code == 0 and "国家税务总局潼南税务局牵头的任务" in out
    code, _, err = run(capsys, *base, "rename", "区残联", "潼南税务局")
    assert code == 1
    assert (
        err.splitlines()[-1]
        == "“潼南税务局”已是国家税务总局潼南税务局的名称或别名，不能再用作其他单位的名称。"
    )
    code, _, err = run(capsys, *base, "merge", "区统计局", "区统计")
    assert code == 1 and "区统计局不能并入自身" in err
    code, _, err = run(capsys, *base, "merge", "潼南税务局", "区财政局", "--yes")
    assert code == 1 and "同时列在第9-10项任务上，暂不能合并" in err
    code, out, _ = run(capsys, *base, "merge", "潼南税务局", "区统计局", "--yes")
    assert code == 0
    assert "单位合并：国家税务总局潼南税务局 并入 区统计局" in out
    assert "“国家税务总局潼南税务局”及其别名潼南税务局将成为区统计局的别名" in out
    code, out, err = run(capsys, "--config", str(path), "tasks", "--json")
    assert code == 0, err
    tenth = next(t for t in json.loads(out) if t["number"] == 10)
    assert tenth["lead_units"] == ["区统计局", "区财政局"]
    code, _, err = run(capsys, *base, "rename", "区残疾人联合", "区残联2")
    assert code == 1 and "没有找到名为“区残疾人联合”的单位。" in err and "区残联" in err


def test_schedule_lists_the_leaders_tier_when_leaders_are_named(capsys, tmp_path, monkeypatch):
    """With `telegram.leaders` and deadlines in the past, `taskbot schedule` lists the
    leaders' escalation message once, after the coordinators' one, and not without leaders."""
    from datetime import UTC, datetime

    monday = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)
    monkeypatch.setattr("bot.cli._now", lambda: monday)
    config = f'[telegram]\ntoken = "{TOKEN}"\ncoordinators = [1]\n'
    path = write_config(tmp_path, config + "leaders = [2]\n")
    argv = ["--config", str(path), "deadline", "全部", "2026-12-08", "--reason", "测试", "--yes"]
    assert run(capsys, *argv)[0] == 0
    window = ("--from", "2026-12-09", "--to", "2027-01-15")
    code, out, _ = run(capsys, "--config", str(path), "schedule", *window)
    assert code == 0
    escalations = [line for line in out.splitlines() if "升级督办" in line and "项逾期" in line]
    assert [line.split("升级督办")[1].split()[0] for line in escalations] == ["协调员", "分管领导"]
    write_config(tmp_path, config)
    code, out, _ = run(capsys, "--config", str(path), "schedule", *window)
    assert code == 0 and "分管领导" not in out and "协调员" in out

"""Tests of the configuration (bot/config.py): loading, validation, secrets, check_settings."""

from __future__ import annotations

import shutil
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import config as config_module
from bot.config import (
    DEFAULT_DATABASE_URL,
    ConfigError,
    Settings,
    check_settings,
    config_warnings,
    load_settings,
    review_config,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "config.example.toml"
SHIPPED_PLAN = REPO_ROOT / "db" / "data" / "plan.toml"

TOKEN = "123456789:AAEhBOweik6ad9r_Q-SECRETsecret0123"
OTHER_TOKEN = "987654321:ZZZxyzABCDEFGHIJKLMNOPQRSTUV-0000"


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ=environ or {})
    return info.value.problems


# ---------------------------------------------------------------- loading


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings(None, environ={})
    assert s.token == ""
    assert DEFAULT_DATABASE_URL == "sqlite:///data/taskbot.sqlite3"
    # without a config file the default SQLite path is relative to the current directory
    assert s.database.url == f"sqlite:///{tmp_path / 'data' / 'taskbot.sqlite3'}"
    assert s.telegram.base_url == "https://api.telegram.org/bot"
    assert s.telegram.digest_chat_id is None
    assert s.telegram.coordinators == []
    assert s.tasks.file == "" and s.tasks.path() is None
    assert s.schedule.timezone == "Asia/Shanghai"
    assert s.schedule.zone == ZoneInfo("Asia/Shanghai")
    assert s.schedule.reminder_hour == 9
    assert s.schedule.quiet_after_hour == 21
    assert s.schedule.before_days == [14, 7, 3, 1]
    assert s.schedule.on_the_day is True
    assert s.schedule.overdue_every_days == 7
    assert s.schedule.digest_weekday == 1
    assert s.schedule.digest_time == time(9, 0)
    assert s.schedule.due_soon_days == 14
    assert s.invites.valid_for.days == 7
    assert s.collective_units == {}


def test_environment_overrides_the_file(tmp_path):
    path = write(
        tmp_path,
        f'[telegram]\ntoken = "{TOKEN}"\n[database]\nurl = "sqlite:///file.sqlite3"\n',
    )
    from_file = load_settings(path, environ={})
    assert from_file.token == TOKEN
    assert from_file.database.url == f"sqlite:///{tmp_path / 'file.sqlite3'}"
    env = {"TELEGRAM_BOT_TOKEN": OTHER_TOKEN, "DATABASE_URL": "postgresql://u@h/db"}
    s = load_settings(path, environ=env)
    assert s.token == OTHER_TOKEN
    assert s.database.url == "postgresql://u@h/db"


def test_environment_applies_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings(None, environ={"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": "sqlite:///e"})
    assert s.token == TOKEN
    assert s.database.url == f"sqlite:///{tmp_path / 'e'}"


def test_empty_environment_values_do_not_override(tmp_path):
    path = write(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\n')
    s = load_settings(path, environ={"TELEGRAM_BOT_TOKEN": "", "DATABASE_URL": ""})
    assert s.token == TOKEN
    assert s.database.url == f"sqlite:///{tmp_path / 'data' / 'taskbot.sqlite3'}"


def test_before_days_are_sorted_and_deduplicated(tmp_path):
    path = write(tmp_path, "[schedule]\nbefore_days = [1, 7, 3, 7]\n")
    assert load_settings(path, environ={}).schedule.before_days == [7, 3, 1]


# ---------------------------------------------------------------- ConfigError


def test_missing_file(tmp_path):
    problems = problems_of(tmp_path / "absent.toml")
    assert len(problems) == 1
    assert "absent.toml" in problems[0] and "not found" in problems[0]


def test_toml_syntax_error(tmp_path):
    path = write(tmp_path, "[telegram\ntoken = \n")
    problems = problems_of(path)
    assert len(problems) == 1
    assert "not valid TOML" in problems[0]
    assert str(path) in problems[0]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[telegram]\ntokn = "x"\n', "telegram.tokn"),
        ("[schedul]\nreminder_hour = 9\n", "schedul"),
        ("[schedule]\nreminder_hours = 9\n", "schedule.reminder_hours"),
        ("debug = true\n", "debug"),
    ],
)
def test_unknown_key_is_an_error(tmp_path, text, key):
    problems = problems_of(write(tmp_path, text))
    assert len(problems) == 1
    assert problems[0].startswith(f"{key}:")
    assert "unknown key" in problems[0]


def test_bad_time_zone(tmp_path):
    problems = problems_of(write(tmp_path, '[schedule]\ntimezone = "Mars/Olympus_Mons"\n'))
    assert len(problems) == 1
    assert problems[0].startswith("schedule.timezone:")
    assert "Mars/Olympus_Mons" in problems[0]


@pytest.mark.parametrize("value", ['"-1001234567890"', "0", "-100.5", "true"])
def test_malformed_chat_id(tmp_path, value):
    problems = problems_of(write(tmp_path, f"[telegram]\ndigest_chat_id = {value}\n"))
    assert len(problems) == 1
    assert problems[0].startswith("telegram.digest_chat_id:")


@pytest.mark.parametrize("value", ['["123456"]', "[1.5]", "[0]", "[-5]", "[true]"])
def test_non_integer_or_non_positive_coordinator(tmp_path, value):
    problems = problems_of(write(tmp_path, f"[telegram]\ncoordinators = {value}\n"))
    assert len(problems) == 1
    assert problems[0].startswith("telegram.coordinators.0:")


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('proxy = "ftp://x"', "telegram.proxy: unsupported proxy scheme ftp://"),
        ('proxy = "http://127.0.0.1"', "telegram.proxy: the proxy URL has no port"),
        ('proxy = "socks5://:1080"', "telegram.proxy: the proxy URL has no host"),
        ('proxy = "127.0.0.1:7890"', "telegram.proxy: the proxy URL needs a scheme"),
        ('proxy = "http://h:99999"', "telegram.proxy: not a proxy URL"),
        ("proxy = 1", "telegram.proxy:"),
        ("messages_per_second = 0.5", "telegram.messages_per_second:"),
        ("messages_per_second = 1.5", "telegram.messages_per_second:"),
        ("messages_per_second = 5000", "telegram.messages_per_second:"),
    ],
)
def test_bad_proxy_and_overall_limit(tmp_path, line, key):
    problems = problems_of(write(tmp_path, f"[telegram]\n{line}\n"))
    assert len(problems) == 1
    assert problems[0].startswith(key)


@pytest.mark.parametrize(
    "proxy",
    [
        "socks5://bob:pw@127.0.0.1:1080",
        "socks5h://proxy.example:1080",
        "http://127.0.0.1:7890",
        "https://alice:s3cret@proxy.example:443",
    ],
)
def test_proxy_and_overall_limit_are_read(tmp_path, proxy):
    path = write(tmp_path, f'[telegram]\nproxy = "{proxy}"\nmessages_per_second = 100\n')
    settings = load_settings(path, environ={})
    assert settings.telegram.proxy.get_secret_value() == proxy
    assert "pw@" not in repr(settings) and "s3cret" not in repr(settings)
    assert settings.telegram.messages_per_second == 100
    assert load_settings(None, environ={}).telegram.proxy.get_secret_value() == ""


def test_a_bad_proxy_is_refused_without_showing_its_password(tmp_path):
    path = write(tmp_path, '[telegram]\nproxy = "ftp://alice:PROXY-PASSWORD@127.0.0.1"\n')
    problems = problems_of(path)
    assert len(problems) == 1 and problems[0].startswith("telegram.proxy:")
    assert "PROXY-PASSWORD" not in problems[0]


@pytest.mark.parametrize("value", ['"aiohttp"', '"httpx"', '"curl"', "1"])
def test_the_removed_http_client_key_says_it_is_no_longer_used(tmp_path, value):
    problems = problems_of(write(tmp_path, f"[telegram]\nhttp_client = {value}\n"))
    assert problems == [
        "telegram.http_client: no longer used (the bot always uses python-telegram-bot's own "
        "HTTP client); delete this line; a proxy goes in telegram.proxy"
    ]


def test_several_problems_are_all_listed(tmp_path):
    text = (
        "[telegram]\n"
        'digest_chat_id = "group"\n'
        'coordinators = [42, "x"]\n'
        'base_url = "ftp://nowhere"\n'
        "[schedule]\n"
        'timezone = "Nowhere/City"\n'
        "reminder_hour = 25\n"
        "[conversation]\n"
        "timeout = 30\n"
    )
    problems = problems_of(write(tmp_path, text))
    keys = sorted(p.split(":", 1)[0] for p in problems)
    assert keys == sorted(
        [
            "telegram.digest_chat_id",
            "telegram.coordinators.1",
            "telegram.base_url",
            "schedule.timezone",
            "schedule.reminder_hour",
            "conversation.timeout",
        ]
    )
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    assert str(info.value) == "\n".join(info.value.problems)


# ---------------------------------------------------------------- check_settings


def complete_config(tmp_path: Path) -> Path:
    plan = tmp_path / "tasks.toml"
    shutil.copyfile(SHIPPED_PLAN, plan)
    return write(
        tmp_path,
        f"""
[telegram]
token = "{TOKEN}"
base_url = "http://127.0.0.1:8081/bot"
base_file_url = "http://127.0.0.1:8081/file/bot"
digest_chat_id = -1001234567890
coordinators = [123456789, 987654321]

[database]
url = "sqlite:///{tmp_path / "bot.sqlite3"}"

[tasks]
file = "{plan}"

[schedule]
timezone = "Asia/Shanghai"
reminder_hour = 8
quiet_after_hour = 20
before_days = [10, 5, 1]
on_the_day = false
overdue_every_days = 3
tick_seconds = 30
digest_weekday = 5
digest_time = 17:30:00
due_soon_days = 10

[conversation]
timeout_minutes = 15

[invites]
valid_days = 3

[collective_units]
"各镇街" = ["梓潼街道", "桂林街道"]
"有关镇街" = ["桂林街道"]
""",
    )


def test_valid_complete_config_has_no_problems(tmp_path):
    s = load_settings(complete_config(tmp_path), environ={})
    assert check_settings(s) == []
    assert s.token == TOKEN
    assert s.telegram.digest_chat_id == -1001234567890
    assert s.telegram.coordinators == [123456789, 987654321]
    assert s.schedule.before_days == [10, 5, 1]
    assert s.schedule.digest_time == time(17, 30)
    assert s.conversation.timeout_minutes == 15
    assert s.invites.valid_for.days == 3
    assert s.tasks.path() == tmp_path / "tasks.toml"
    assert s.collective_units["各镇街"] == ["梓潼街道", "桂林街道"]


def _check(tmp_path: Path, extra_toml: str = "", **kw: object) -> list[str]:
    base = f"[telegram]\ncoordinators = [1]\n{extra_toml}"
    return check_settings(load_settings(write(tmp_path, base), environ={}), **kw)  # type: ignore[arg-type]


def test_check_missing_token(tmp_path):
    problems = _check(tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith("telegram.token:")
    assert "missing" in problems[0]
    assert _check(tmp_path, need_token=False) == []


@pytest.mark.parametrize("bad", ["not-a-token", "12:short", "abc:AAAAAAAAAAAAAAAAAAAAAAAA"])
def test_check_malformed_token(tmp_path, bad):
    s = load_settings(
        write(tmp_path, "[telegram]\ncoordinators = [1]\n"), environ={"TELEGRAM_BOT_TOKEN": bad}
    )
    for need in (True, False):
        problems = check_settings(s, need_token=need)
        assert len(problems) == 1
        assert problems[0].startswith("telegram.token:")
        assert bad not in problems[0]


def test_check_positive_digest_chat_id(tmp_path):
    problems = _check(tmp_path, "digest_chat_id = 123456\n", need_token=False)
    assert len(problems) == 1
    assert problems[0].startswith("telegram.digest_chat_id:")


def test_no_coordinator_is_a_warning_not_a_problem(tmp_path):
    # a fresh deployment must start: coordinators learn their id with /whoami to the bot
    s = load_settings(None, environ={"TELEGRAM_BOT_TOKEN": TOKEN})
    assert check_settings(s) == []
    warnings = config_warnings(s)
    assert [w.split(":", 1)[0] for w in warnings] == [
        "telegram.coordinators",
        "telegram.digest_chat_id",
    ]
    assert "nobody can /invite until you add your id" in warnings[0]
    assert "/whoami" in warnings[0]
    assert "no weekly digest will be posted" in warnings[1]


def test_no_warnings_when_coordinators_and_group_are_set(tmp_path):
    assert config_warnings(load_settings(complete_config(tmp_path), environ={})) == []


def test_check_unknown_collective_unit(tmp_path):
    problems = _check(
        tmp_path,
        '[collective_units]\n"各乡镇" = ["梓潼街道"]\n"各镇街" = ["桂林街道"]\n',
        need_token=False,
    )
    assert len(problems) == 1
    assert problems[0].startswith("collective_units:")
    assert "各乡镇" in problems[0]


def test_check_non_collective_unit_as_collective(tmp_path):
    problems = _check(tmp_path, '[collective_units]\n"区民政局" = ["梓潼街道"]\n', need_token=False)
    assert len(problems) == 1
    assert problems[0].startswith("collective_units")
    assert "区民政局" in problems[0]


def test_check_blank_collective_member(tmp_path):
    problems = _check(
        tmp_path, '[collective_units]\n"各镇街" = ["梓潼街道", " "]\n', need_token=False
    )
    assert len(problems) == 1
    assert problems[0].startswith("collective_units.各镇街:")


def test_check_missing_task_file(tmp_path):
    missing = tmp_path / "nope.toml"
    problems = _check(tmp_path, f'[tasks]\nfile = "{missing}"\n', need_token=False)
    assert len(problems) == 1
    assert problems[0].startswith("tasks.file:")
    assert "nope.toml" in problems[0]


def test_check_lists_every_problem_at_once(tmp_path):
    text = f'[telegram]\ndigest_chat_id = 5\n[tasks]\nfile = "{tmp_path / "nope.toml"}"\n'
    s = load_settings(write(tmp_path, text), environ={})
    keys = [p.split(":", 1)[0] for p in check_settings(s)]
    assert sorted(keys) == sorted(["telegram.token", "telegram.digest_chat_id", "tasks.file"])


# ---------------------------------------------------------------- secrecy


def test_token_never_shown(tmp_path):
    s = load_settings(complete_config(tmp_path), environ={})
    assert s.token == TOKEN
    secret_part = TOKEN.split(":", 1)[1]
    for shown in (str(s), repr(s), str(s.telegram), repr(s.telegram), str(s.model_dump())):
        assert secret_part not in shown
    # a malformed token is not echoed either
    bad = "secret-value-that-is-not-a-token"
    s2 = load_settings(None, environ={"TELEGRAM_BOT_TOKEN": bad})
    problems = check_settings(s2)
    assert problems
    assert all(bad not in p for p in problems)
    assert bad not in repr(s2) and bad not in str(s2)


def test_token_not_echoed_in_config_errors(tmp_path):
    # the token sits next to an invalid key; the error text must not carry it
    path = write(
        tmp_path, f'[telegram]\ntoken = "{TOKEN}"\ndigest_chat_id = "x"\ntokn = "{TOKEN}"\n'
    )
    problems = problems_of(path)
    assert len(problems) == 2
    assert all(TOKEN.split(":", 1)[1] not in p for p in problems)


# ---------------------------------------------------------------- the example file


needs_example = pytest.mark.skipif(
    not EXAMPLE.exists(), reason="config.example.toml not written yet"
)


@needs_example
def test_example_config_loads_and_passes_once_coordinators_are_filled_in():
    s = load_settings(EXAMPLE, environ={})
    assert isinstance(s, Settings)
    assert s.schedule.zone == ZoneInfo("Asia/Shanghai")
    assert s.token == ""
    filled = s.model_copy(
        update={"telegram": s.telegram.model_copy(update={"coordinators": [123456789]})}
    )
    assert check_settings(filled, need_token=False) == []


@needs_example
def test_example_config_as_shipped_only_lacks_what_a_deployment_must_fill_in():
    # the example deliberately names no coordinator (a copied config must not work with
    # someone else's user id) and no group; neither blocks the first start, which is where
    # the coordinator learns their id (/whoami); check-config warns about both
    s = load_settings(EXAMPLE, environ={})
    assert check_settings(s, need_token=False) == []
    warnings = config_warnings(s)
    assert [w.split(":", 1)[0] for w in warnings] == [
        "telegram.coordinators",
        "telegram.digest_chat_id",
    ]
    review = review_config(EXAMPLE, environ={"TELEGRAM_BOT_TOKEN": TOKEN})
    assert review.problems == [] and review.warnings == warnings


def test_quiet_hour_must_follow_the_reminder_hour(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[schedule]\nreminder_hour = 21\nquiet_after_hour = 9\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert any(p.startswith("schedule:") and "quiet_after_hour" in p for p in err.value.problems)


# ---------------------------------------------------------------- clearer messages


def test_time_zone_message_is_plain_and_suggests_a_zone(tmp_path):
    problems = problems_of(write(tmp_path, '[schedule]\ntimezone = "Beijing"\n'))
    assert len(problems) == 1
    assert "Value error" not in problems[0]
    assert problems[0].startswith("schedule.timezone: unknown time zone 'Beijing'")
    assert '"Asia/Shanghai"' in problems[0]


def test_no_pydantic_prefix_on_any_value_error(tmp_path):
    problems = problems_of(
        write(tmp_path, "[schedule]\nreminder_hour = 21\nquiet_after_hour = 9\n")
    )
    assert problems and all("Value error" not in p for p in problems)


@pytest.mark.parametrize("value", ['"-100123"', '"@mygroup"'])
def test_quoted_chat_id_says_how_to_write_it(tmp_path, value):
    problems = problems_of(write(tmp_path, f"[telegram]\ndigest_chat_id = {value}\n"))
    assert problems == [
        "telegram.digest_chat_id: must be a number without quotes, e.g. -1001234567890; "
        "send /whoami@<bot> in the group to learn it"
    ]


def test_quoted_coordinator_says_how_to_write_it(tmp_path):
    problems = problems_of(write(tmp_path, '[telegram]\ncoordinators = ["123456789"]\n'))
    assert len(problems) == 1
    assert problems[0].startswith("telegram.coordinators.0: must be a number without quotes")
    assert "/whoami" in problems[0]


def test_misspelt_key_gets_a_suggestion(tmp_path):
    problems = problems_of(write(tmp_path, "[schedule]\nreminder_hours = 9\n[schedul]\n"))
    assert sorted(problems) == [
        "schedul: unknown key; did you mean 'schedule'?",
        "schedule.reminder_hours: unknown key; did you mean 'reminder_hour'?",
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("x", "not a database URL"),
        ("mysql://user:s3cret@db.example/bot", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://user:s3cret@db.example/bot", "driver 'psycopg2' is not supported"),
        ("sqlite+aiosqlite:///bot.sqlite3", "driver 'aiosqlite' is not supported"),
    ],
)
def test_unusable_database_url(tmp_path, url, expected):
    problems = problems_of(write(tmp_path, f'[database]\nurl = "{url}"\n'))
    assert len(problems) == 1
    assert problems[0].startswith("database.url: ")
    assert expected in problems[0]
    assert "s3cret" not in problems[0]


def test_unusable_database_url_from_the_environment(tmp_path):
    problems = problems_of(write(tmp_path, ""), environ={"DATABASE_URL": "oracle://u:p@h/db"})
    assert len(problems) == 1 and problems[0].startswith("database.url: unsupported database")


def test_postgresql_without_psycopg(tmp_path, monkeypatch):
    monkeypatch.setattr(config_module, "_module_installed", lambda name: name != "psycopg")
    problems = problems_of(write(tmp_path, '[database]\nurl = "postgresql://u@h/db"\n'))
    assert len(problems) == 1
    assert "psycopg 3, which is not installed" in problems[0]
    assert "[postgres]" in problems[0]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@h/db",
        "postgres://u@h/db",
        "postgresql+psycopg://u:p@h:5432/db",
        "sqlite:///:memory:",
        "sqlite://",
    ],
)
def test_supported_database_urls(tmp_path, url):
    s = load_settings(write(tmp_path, f'[database]\nurl = "{url}"\n'), environ={})
    assert s.database.url == url


# ---------------------------------------------------------------- relative paths


def test_relative_sqlite_path_is_relative_to_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "srv bot"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    default = load_settings(write(folder, ""), environ={})
    assert default.database.url == f"sqlite:///{folder / 'data' / 'taskbot.sqlite3'}"
    explicit = load_settings(
        write(folder, '[database]\nurl = "sqlite:///../db/bot.sqlite3?timeout=5"\n'), environ={}
    )
    assert explicit.database.url == f"sqlite:///{tmp_path / 'db' / 'bot.sqlite3'}?timeout=5"


def test_relative_config_path_counts_from_its_own_folder(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    write(tmp_path / "conf", "")
    monkeypatch.chdir(tmp_path)
    s = load_settings(Path("conf/config.toml"), environ={})
    assert s.database.url == f"sqlite:///{tmp_path / 'conf' / 'data' / 'taskbot.sqlite3'}"


def test_absolute_and_home_sqlite_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    absolute = load_settings(
        write(tmp_path, '[database]\nurl = "sqlite:////var/bot.db"\n'), environ={}
    )
    assert absolute.database.url == "sqlite:////var/bot.db"
    home = load_settings(write(tmp_path, '[database]\nurl = "sqlite:///~/bot.db"\n'), environ={})
    assert home.database.url == f"sqlite:///{tmp_path / 'home' / 'bot.db'}"


def test_database_url_from_the_environment_is_relative_to_the_current_directory(
    tmp_path, monkeypatch
):
    folder = tmp_path / "conf"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    s = load_settings(write(folder, ""), environ={"DATABASE_URL": "sqlite:///env.sqlite3"})
    assert s.database.url == f"sqlite:///{tmp_path / 'env.sqlite3'}"


def test_relative_task_file_is_relative_to_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "conf"
    folder.mkdir()
    shutil.copyfile(SHIPPED_PLAN, folder / "tasks.toml")
    monkeypatch.chdir(tmp_path)
    s = load_settings(write(folder, '[tasks]\nfile = "tasks.toml"\n'), environ={})
    assert s.tasks.path() == folder / "tasks.toml"
    assert check_settings(s, need_token=False) == []


# ---------------------------------------------------------------- every problem at once


BROKEN_TZ_AND_UNIT = (
    '[schedule]\ntimezone = "Mars/Olympus_Mons"\n[collective_units]\n"各乡镇" = []\n'
)


def test_semantic_checks_still_run_when_validation_fails(tmp_path):
    problems = problems_of(write(tmp_path, BROKEN_TZ_AND_UNIT))
    assert [p.split(":", 1)[0] for p in problems] == ["schedule.timezone", "collective_units"]
    assert "各乡镇" in problems[1]


def test_missing_task_file_is_reported_next_to_an_invalid_key(tmp_path):
    text = f'[tasks]\nfile = "{tmp_path / "nope.toml"}"\n[telegram]\ndigest_chat_id = "-100"\n'
    problems = problems_of(write(tmp_path, text))
    assert sorted(p.split(":", 1)[0] for p in problems) == [
        "tasks.file",
        "telegram.digest_chat_id",
    ]


def test_invalid_task_file_key_skips_the_unit_name_checks(tmp_path):
    problems = problems_of(
        write(tmp_path, '[tasks]\nfile = 5\n[collective_units]\n"各乡镇" = []\n')
    )
    assert [p.split(":", 1)[0] for p in problems] == ["tasks.file"]


def test_review_lists_problems_and_warnings_of_an_invalid_config(tmp_path):
    review = review_config(write(tmp_path, BROKEN_TZ_AND_UNIT), environ={})
    assert review.settings is None
    assert [p.split(":", 1)[0] for p in review.problems] == [
        "schedule.timezone",
        "telegram.token",
        "collective_units",
    ]
    assert [w.split(":", 1)[0] for w in review.warnings] == [
        "telegram.coordinators",
        "telegram.digest_chat_id",
    ]


def test_review_does_not_warn_about_keys_it_reported(tmp_path):
    review = review_config(
        write(tmp_path, '[telegram]\ncoordinators = ["1"]\ndigest_chat_id = "@g"\n'),
        environ={"TELEGRAM_BOT_TOKEN": TOKEN},
    )
    assert sorted(p.split(":", 1)[0] for p in review.problems) == [
        "telegram.coordinators.0",
        "telegram.digest_chat_id",
    ]
    assert review.warnings == []


def test_review_of_a_valid_config(tmp_path):
    review = review_config(complete_config(tmp_path), environ={})
    assert review.settings is not None
    assert review.problems == [] and review.warnings == []
    missing = review_config(tmp_path / "absent.toml", environ={})
    assert missing.settings is None and len(missing.problems) == 1


@pytest.mark.parametrize("value", ['"42"', "0", "-3", "4.2", "true"])
def test_malformed_digest_thread_id(tmp_path, value):
    problems = problems_of(write(tmp_path, f"[telegram]\ndigest_thread_id = {value}\n"))
    assert len(problems) == 1
    assert problems[0].startswith("telegram.digest_thread_id:")


def test_digest_thread_id_is_a_topic_number(tmp_path):
    settings = load_settings(write(tmp_path, "[telegram]\ndigest_thread_id = 42\n"))
    assert settings.telegram.digest_thread_id == 42
    assert "telegram.digest_thread_id: set without digest_chat_id; ignored" in config_warnings(
        settings
    )


# ---------------------------------------------------------------- [documents]


def test_templates_dir_is_relative_to_the_config_folder_and_must_exist(tmp_path, monkeypatch):
    folder = tmp_path / "conf"
    (folder / "templates").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert load_settings(None, environ={}).documents.folder() is None
    s = load_settings(write(folder, '[documents]\ntemplates_dir = "templates"\n'), environ={})
    assert s.documents.folder() == folder / "templates"
    problems = problems_of(write(folder, '[documents]\ntemplates_dir = "nowhere"\n'))
    assert len(problems) == 1 and problems[0].startswith("documents.templates_dir:")
    assert "is not a folder" in problems[0]


# ---------------------------------------------------------------- completion review


def test_completion_review_is_on_by_default_and_the_coordinator_unit_is_checked(tmp_path):
    s = load_settings(None, environ={})
    assert s.follow_up.completion_review is True and s.follow_up.coordinator_unit == ""
    known = _check(tmp_path, '[follow_up]\ncoordinator_unit = "区残联"\n', need_token=False)
    assert known == []
    unknown = _check(tmp_path, '[follow_up]\ncoordinator_unit = "区残协"\n', need_token=False)
    assert unknown == [
        "follow_up.coordinator_unit: unknown unit name '区残协' (not in the task file)"
    ]
    off = load_settings(write(tmp_path, "[follow_up]\ncompletion_review = false\n"), environ={})
    assert off.follow_up.completion_review is False

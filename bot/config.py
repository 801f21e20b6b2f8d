"""Configuration: a TOML file validated by pydantic, with secrets from the environment.

Every key is documented in `config.example.toml`. `TELEGRAM_BOT_TOKEN` overrides
`telegram.token` and `DATABASE_URL` overrides `database.url`; `DINGTALK_WEBHOOK`,
`DINGTALK_SECRET` and `WECOM_WEBHOOK` override the group robots' keys (`WEBHOOK_ENV`).
Unknown keys are errors (a typo must not silently fall back to a default); a key that this
version no longer reads (`REMOVED_KEYS`) is an error that says so, and the bot does not
start until it is deleted.

- `load_settings` reads and validates. A relative SQLite path (and a relative task file) in
  the config file is resolved against the config file's folder; without a config file, and
  for `DATABASE_URL`, against the current directory.
- `check_settings` lists what blocks `taskbot run` (token, task file, unit names, chat id);
  `config_warnings` what does not (no coordinator yet, no committee group).
- `review_config` does all of that for `taskbot check-config` and `taskbot run`: when a key is
  invalid, the other checks still run on the rest, so every problem is listed at once.
"""

from __future__ import annotations

import copy
import difflib
import importlib.util
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from db.engine import normalise_url
from db.seed import COLLECTIVE_UNITS, TaskFileError, read_task_file

TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
DEFAULT_DATABASE_URL = "sqlite:///data/taskbot.sqlite3"
SQLITE_EXAMPLE = "sqlite:///data/taskbot.sqlite3"
POSTGRES_EXAMPLE = "postgresql+psycopg://user:password@host:5432/dbname"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
PROXY_EXAMPLES = "e.g. socks5://127.0.0.1:1080 or http://127.0.0.1:7890"


def proxy_url_problem(url: str) -> str | None:
    """Why `url` cannot be the Bot API proxy (`telegram.proxy`), or None if it can ("" is no
    proxy). It needs a scheme of `PROXY_SCHEMES`, a host and a port; a `user:password@` is
    allowed. The URL itself is never echoed: it may hold a password."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"not a proxy URL (the port must be a number from 1 to 65535); {PROXY_EXAMPLES}"
    schemes = "http://, https://, socks5:// or socks5h://"
    if "://" not in url:
        return f"the proxy URL needs a scheme ({schemes}), {PROXY_EXAMPLES}"
    scheme = parts.scheme.lower()
    if scheme not in PROXY_SCHEMES:
        shown = f" {scheme}://" if scheme.isalnum() else ""
        return f"unsupported proxy scheme{shown}; use {schemes}, {PROXY_EXAMPLES}"
    if not parts.hostname:
        return f"the proxy URL has no host; {PROXY_EXAMPLES}"
    if port is None or port == 0:
        return f"the proxy URL has no port; write it out, {PROXY_EXAMPLES}"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"a proxy URL is only scheme://[user:password@]host:port; {PROXY_EXAMPLES}"
    return None


# keys that a config file of an older version may still hold: what to write instead
REMOVED_KEYS: dict[tuple[str, ...], str] = {
    ("telegram", "http_client"): (
        "no longer used (the bot always uses python-telegram-bot's own HTTP client); delete "
        "this line; a proxy goes in telegram.proxy"
    ),
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ChatId = Annotated[int, Field(strict=True)]


class TelegramSettings(_Section):
    """[telegram]: the bot token, API address, proxy, committee group and coordinators."""

    token: SecretStr = SecretStr("")
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    digest_chat_id: ChatId | None = None
    # the forum topic of the digest group that gets the weekly digest; None: the general topic
    digest_thread_id: Annotated[int, Field(strict=True, gt=0)] | None = None
    coordinators: list[Annotated[int, Field(strict=True, gt=0)]] = []
    # leaders (分管领导): read-only users and the second escalation tier
    leaders: list[Annotated[int, Field(strict=True, gt=0)]] = []
    chat_messages_per_second: float = Field(default=1.0, gt=0, le=100)
    group_messages_per_minute: float = Field(default=20.0, gt=1, le=6000)
    messages_per_second: float = Field(default=30.0, ge=2, le=1000)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    proxy: SecretStr = SecretStr("")

    @field_validator("digest_chat_id")
    @classmethod
    def _chat_id(cls, value: int | None) -> int | None:
        if value is not None and value == 0:
            raise ValueError("chat id 0 is not a Telegram chat")
        return value

    @field_validator("base_url", "base_file_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: SecretStr) -> SecretStr:
        problem = proxy_url_problem(value.get_secret_value())
        if problem:
            raise ValueError(problem)
        return value


def _module_installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def database_url_problem(url: str) -> str | None:
    """Return why `url` cannot hold the bot's database, or None if it can.

    Supported: SQLite (the standard library driver) and PostgreSQL through psycopg 3 (bare
    `postgresql://` means psycopg 3). The URL itself is never echoed: it may hold a password.
    """
    try:
        parsed = make_url(normalise_url(url))
    except (ArgumentError, ValueError):
        return f"not a database URL; use e.g. {SQLITE_EXAMPLE} or {POSTGRES_EXAMPLE}"
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "sqlite":
        if driver != "pysqlite":
            return f"SQLite driver {driver!r} is not supported; use e.g. {SQLITE_EXAMPLE}"
        return None
    if backend == "postgresql":
        if driver != "psycopg":
            return (
                f"PostgreSQL driver {driver!r} is not supported; use psycopg 3, e.g. "
                f"{POSTGRES_EXAMPLE}"
            )
        if not _module_installed("psycopg"):
            return (
                "PostgreSQL needs psycopg 3, which is not installed: "
                "pip install 'canggongwei-taskbot[postgres]' "
                "(in a clone: pip install '.[postgres]')"
            )
        return None
    return (
        f"unsupported database {backend!r}; use SQLite (e.g. {SQLITE_EXAMPLE}) or PostgreSQL "
        f"(e.g. {POSTGRES_EXAMPLE})"
    )


def resolve_sqlite_url(url: str, folder: Path) -> str:
    """Return `url` with a relative SQLite file path made absolute against `folder`.

    Other URLs, in-memory SQLite and unparsable strings are returned unchanged (the latter
    are reported by validation).
    """
    path = sqlite_file(url)
    if path is None:
        return url
    parsed = make_url(url)
    if not path.is_absolute():
        path = Path(os.path.normpath(folder / path))
    elif str(path) == parsed.database:
        return url
    return parsed.set(database=str(path)).render_as_string(hide_password=False)


class DatabaseSettings(_Section):
    """[database]: a SQLite or PostgreSQL (psycopg 3) URL; SQLite file by default."""

    url: str = DEFAULT_DATABASE_URL

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        problem = database_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class TasksSettings(_Section):
    """[tasks]: the task file; empty means the shipped plan (db/data/plan.toml)."""

    file: str = ""

    def path(self) -> Path | None:
        """Return the configured task file path, or None for the shipped one."""
        return Path(self.file).expanduser() if self.file else None


class ScheduleSettings(_Section):
    """[schedule]: zone, reminder offsets and hour, overdue repeat, digest day and time."""

    timezone: str = "Asia/Shanghai"
    reminder_hour: int = Field(default=9, ge=0, le=23)
    quiet_after_hour: int = Field(default=21, ge=1, le=24)
    before_days: list[Annotated[int, Field(gt=0, le=366)]] = [14, 7, 3, 1]
    on_the_day: bool = True
    overdue_every_days: int = Field(default=7, ge=1, le=366)
    tick_seconds: float = Field(default=60, gt=0, le=3600)
    digest_weekday: int = Field(default=1, ge=1, le=7)
    digest_time: time = time(9, 0)
    due_soon_days: int = Field(default=14, ge=0, le=366)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f'unknown time zone {value!r}; use an IANA name such as "Asia/Shanghai"'
            ) from exc
        return value

    @field_validator("before_days")
    @classmethod
    def _offsets(cls, value: list[int]) -> list[int]:
        return sorted(set(value), reverse=True)

    @model_validator(mode="after")
    def _hours(self) -> ScheduleSettings:
        if self.quiet_after_hour <= self.reminder_hour:
            raise ValueError(
                f"quiet_after_hour ({self.quiet_after_hour}) must be later than reminder_hour "
                f"({self.reminder_hour}), or no reminder could ever go out"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The configured zone as a `ZoneInfo`."""
        return ZoneInfo(self.timezone)


class ConversationSettings(_Section):
    """[conversation]: idle minutes after which a status conversation ends."""

    timeout_minutes: float = Field(default=30, gt=0, le=24 * 60)


class InviteSettings(_Section):
    """[invites]: how long an invite code stays valid."""

    valid_days: float = Field(default=7, gt=0, le=365)

    @property
    def valid_for(self) -> timedelta:
        """The validity as a timedelta."""
        return timedelta(days=self.valid_days)


class FollowUpSettings(_Section):
    """[follow_up]: traffic lights, the reporting cycle and escalation (督办) thresholds."""

    yellow_working_days: int = Field(default=10, ge=0, le=250)
    cycle_day: int = Field(default=25, ge=1, le=28)
    escalate_after_working_days: int = Field(default=5, ge=0, le=250)
    # the leaders' tier of escalation; 0 turns it off
    escalate_leaders_after_working_days: int = Field(default=15, ge=0, le=250)
    correction_minutes: float = Field(default=60, ge=0, le=7 * 24 * 60)
    remind_responsible_units: bool = False
    nudge_after_days: int = Field(default=7, ge=0, le=27)
    digest_lines: int = Field(default=25, ge=12, le=2000)
    # the weekly digest's picture of the lights per lead unit (bot/chart.py); false: text only
    digest_chart: bool = True
    # completion review (办结审核): a lead unit's 已完成 waits for 销号 / 退回
    completion_review: bool = True
    coordinator_unit: str = Field(default="", max_length=100)
    coordination_reminder_working_days: int = Field(default=3, ge=0, le=250)


class EvidenceSettings(_Section):
    """[evidence]: where evidence files (佐证材料) are kept, how many a report may carry and
    how long they are kept once the plan's period has ended (0: for ever).

    `dir` empty means a folder `evidence` beside the SQLite database file, or beside the
    config file (the working folder without one) when the database is PostgreSQL; a relative
    `dir` is relative to the config file's folder (see `evidence_dir`)."""

    dir: str = ""
    max_files: int = Field(default=10, ge=1, le=50)
    retention_days: int = Field(default=0, ge=0, le=36500)
    download_attempts: int = Field(default=3, ge=1, le=10)
    retry_seconds: float = Field(default=2.0, ge=0, le=60)
    # the 材料汇编 zip is split into parts of at most this many bytes (Telegram's 50 MB)
    zip_part_bytes: int = Field(default=50 * 1024 * 1024, ge=64 * 1024, le=50 * 1024 * 1024)


class CalendarSettings(_Section):
    """[calendar]: local overrides of the official calendar (the `holidays` package)."""

    extra_holidays: list[date] = []
    extra_workdays: list[date] = []

    @model_validator(mode="after")
    def _disjoint(self) -> CalendarSettings:
        both = sorted(set(self.extra_holidays) & set(self.extra_workdays))
        if both:
            raise ValueError(
                "in both extra_holidays and extra_workdays: "
                + ", ".join(d.isoformat() for d in both)
            )
        return self


class DocumentsSettings(_Section):
    """[documents]: the 督办通知单 and 督查通报 templates (`office.notices`). `templates_dir`
    empty: the shipped templates; else a folder whose notice.docx and bulletin.docx, each one
    found, replace the shipped one (a relative path counts from the config file's folder)."""

    templates_dir: str = ""

    @field_validator("templates_dir")
    @classmethod
    def _folder(cls, value: str) -> str:
        if value and not Path(value).expanduser().is_dir():
            raise ValueError(
                f"{value!r} is not a folder (it should hold notice.docx and/or bulletin.docx)"
            )
        return value

    def folder(self) -> Path | None:
        """The configured templates folder, or None for the shipped templates."""
        return Path(self.templates_dir).expanduser() if self.templates_dir else None


def webhook_url_problem(url: str, host_hint: str) -> str | None:
    """Why `url` cannot be a group robot's webhook, or None if it can ("" is no webhook). It
    must be an http(s) URL with a host and a query (the robot's token); `host_hint` names
    the platform's address for the message. The URL is a secret: never quoted back."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not a webhook URL; copy the robot's whole address, e.g. {host_hint}"
    if not parts.query:
        return f"the webhook URL has no token (its part after '?'), e.g. {host_hint}"
    return None


def _valid_webhook(value: SecretStr, host_hint: str) -> SecretStr:
    problem = webhook_url_problem(value.get_secret_value(), host_hint)
    if problem:
        raise ValueError(problem)
    return value


class DingTalkSettings(_Section):
    """[dingtalk]: the committee's DingTalk group robot (custom robot webhook, optionally
    signed with its secret "SEC..."). Both secrets; "" is none."""

    webhook: SecretStr = SecretStr("")
    secret: SecretStr = SecretStr("")

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: SecretStr) -> SecretStr:
        return _valid_webhook(value, "https://oapi.dingtalk.com/robot/send?access_token=...")


class WeComSettings(_Section):
    """[wecom]: the committee's WeCom (企业微信) group robot webhook (a secret; "" is none)."""

    webhook: SecretStr = SecretStr("")

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: SecretStr) -> SecretStr:
        return _valid_webhook(value, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...")


class Settings(_Section):
    """The whole configuration. Build it with `load_settings`, not at import time."""

    telegram: TelegramSettings = TelegramSettings()
    database: DatabaseSettings = DatabaseSettings()
    tasks: TasksSettings = TasksSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    conversation: ConversationSettings = ConversationSettings()
    invites: InviteSettings = InviteSettings()
    calendar: CalendarSettings = CalendarSettings()
    follow_up: FollowUpSettings = FollowUpSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    documents: DocumentsSettings = DocumentsSettings()
    collective_units: dict[str, list[str]] = {}
    dingtalk: DingTalkSettings = DingTalkSettings()
    wecom: WeComSettings = WeComSettings()

    @property
    def token(self) -> str:
        """The bot token (a secret: never log it)."""
        return self.telegram.token.get_secret_value()


# hints for a number written as a string (a frequent slip: ids copied with quotes)
_NUMBER_HINTS = {
    ("telegram", "digest_chat_id"): (
        ", e.g. -1001234567890; send /whoami@<bot> in the group to learn it"
    ),
    ("telegram", "digest_thread_id"): (", e.g. 42; send /whoami@<bot> in the topic to learn it"),
    ("telegram", "coordinators"): (
        ", e.g. coordinators = [123456789]; each coordinator sends /whoami to the bot to learn it"
    ),
}


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at the table `loc` (top level or a section), for spelling hints."""
    if not loc:
        return list(Settings.model_fields)
    if len(loc) == 1 and loc[0] in Settings.model_fields:
        section = Settings.model_fields[str(loc[0])].annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            return list(section.model_fields)
    return []


def _format_error(error: Any) -> str:
    loc = tuple(error["loc"])
    location = ".".join(str(part) for part in loc) or "(top level)"
    message = str(error["msg"]).removeprefix("Value error, ")
    removed = REMOVED_KEYS.get(tuple(str(part) for part in loc))
    if error["type"] == "extra_forbidden" and removed:
        message = removed
    elif error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling against config.example.toml)"
        close = difflib.get_close_matches(str(loc[-1]), _known_keys(loc[:-1]), n=1)
        if close:
            message = f"unknown key; did you mean {close[0]!r}?"
    elif error["type"] in {"int_type", "int_parsing"} and isinstance(error.get("input"), str):
        message = "must be a number without quotes" + _NUMBER_HINTS.get(loc[:2], "")
    return f"{location}: {message}"


WEBHOOK_ENV = (
    ("DINGTALK_WEBHOOK", "dingtalk", "webhook"),
    ("DINGTALK_SECRET", "dingtalk", "secret"),
    ("WECOM_WEBHOOK", "wecom", "webhook"),
)
"""Environment variables that override the group robots' keys, like TELEGRAM_BOT_TOKEN."""


def _read_raw(path: Path | None, env: Mapping[str, str]) -> dict[str, Any]:
    """Read the TOML file (None: nothing), apply the environment, make relative paths absolute.

    Raises `ConfigError` for a missing file or a TOML syntax error.
    """
    raw: dict[str, Any] = {}
    folder = Path.cwd()
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError([f"{path}: file not found"]) from exc
        except IsADirectoryError as exc:
            raise ConfigError([f"{path}: is a folder, not a config file"]) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc
        except OSError as exc:
            raise ConfigError([f"{path}: cannot be read: {exc.strerror or exc}"]) from exc
        folder = Path(path).absolute().parent
        tasks = raw.get("tasks")
        if isinstance(tasks, dict) and isinstance(tasks.get("file"), str) and tasks["file"]:
            tasks["file"] = str(folder / Path(tasks["file"]).expanduser())
        documents = raw.get("documents")
        if isinstance(documents, dict) and isinstance(documents.get("templates_dir"), str):
            if documents["templates_dir"]:
                documents["templates_dir"] = str(
                    folder / Path(documents["templates_dir"]).expanduser()
                )
    if env.get("TELEGRAM_BOT_TOKEN"):
        raw.setdefault("telegram", {})
        if isinstance(raw["telegram"], dict):
            raw["telegram"]["token"] = env["TELEGRAM_BOT_TOKEN"]
    for variable, section, key in WEBHOOK_ENV:
        if env.get(variable):
            raw.setdefault(section, {})
            if isinstance(raw[section], dict):
                raw[section][key] = env[variable]
    evidence = raw.get("evidence")
    if isinstance(evidence, dict) and isinstance(evidence.get("dir"), str) and evidence["dir"]:
        evidence["dir"] = str(folder / Path(evidence["dir"]).expanduser())
    database = raw.setdefault("database", {})
    if isinstance(database, dict):
        if env.get("DATABASE_URL"):
            database["url"] = resolve_sqlite_url(env["DATABASE_URL"], Path.cwd())
        elif isinstance(database.get("url", DEFAULT_DATABASE_URL), str):
            database["url"] = resolve_sqlite_url(database.get("url", DEFAULT_DATABASE_URL), folder)
    if isinstance(database, dict) and isinstance(database.get("url"), str):
        if sqlite_file(database["url"]) is None:  # PostgreSQL or in memory: beside the config
            evidence = raw.setdefault("evidence", {})
            if isinstance(evidence, dict) and not evidence.get("dir"):
                evidence["dir"] = str(folder / "evidence")
    return raw


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite file URL, None for any other URL (or in-memory SQLite)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database).expanduser()


def evidence_dir(settings: Settings) -> Path:
    """The folder evidence files are kept in: `[evidence] dir` if set, else `evidence`
    beside the SQLite database file, else `evidence` in the working folder."""
    if settings.evidence.dir:
        return Path(settings.evidence.dir).expanduser()
    sqlite = sqlite_file(settings.database.url)
    if sqlite is not None:
        return sqlite.absolute().parent / "evidence"
    return Path.cwd() / "evidence"


def _valid_remainder(raw: dict[str, Any], errors: list[Any]) -> tuple[Settings | None, set[str]]:
    """Drop every invalid key (down to `section.key`) from a copy of `raw`; validate the rest.

    Returns the settings of what is left (None if that still fails) and the dotted names of
    the dropped keys, so that checks about them can be left out (they are already reported).
    """
    remainder = copy.deepcopy(raw)
    dropped: set[str] = set()
    for _ in range(5):
        for error in errors:
            loc = [str(part) for part in error["loc"][:2]]
            if not loc:
                return None, dropped
            dropped.add(".".join(loc))
            section = remainder.get(loc[0])
            if len(loc) == 2 and isinstance(section, dict):
                section.pop(loc[1], None)
            else:
                remainder.pop(loc[0], None)
        try:
            return Settings.model_validate(remainder), dropped
        except ValidationError as exc:
            errors = exc.errors()
    return None, dropped


def _is_about(message: str, keys: set[str]) -> bool:
    key = message.split(":", 1)[0]
    return any(key == k or key.startswith(k + ".") for k in keys)


def _review_invalid(
    raw: dict[str, Any], exc: ValidationError, *, need_token: bool
) -> tuple[list[str], list[str]]:
    """Problems and warnings of a config that fails validation: the validation errors plus
    the checks of `check_settings`/`config_warnings` on every key that is valid."""
    errors = exc.errors()
    problems = [_format_error(e) for e in errors]
    remainder, dropped = _valid_remainder(raw, errors)
    if remainder is None:
        return problems, []
    if dropped & {"tasks", "tasks.file"}:
        dropped.add("collective_units")  # unit names cannot be checked without the task file
    problems += [
        p for p in check_settings(remainder, need_token=need_token) if not _is_about(p, dropped)
    ]
    warnings = [w for w in config_warnings(remainder) if not _is_about(w, dropped)]
    return problems, warnings


def load_settings(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the TOML file at `path` (None: defaults only), apply the environment, validate.

    Raises `ConfigError` listing every problem (file missing, TOML syntax, each invalid key,
    and the checks of `check_settings` on the valid keys, except the token's presence).
    """
    env = os.environ if environ is None else environ
    raw = _read_raw(path, env)
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems, _ = _review_invalid(raw, exc, need_token=False)
        raise ConfigError(problems) from None


@dataclass(frozen=True)
class ConfigReview:
    """What `review_config` found: the settings (None when invalid), blocking problems and
    non-blocking warnings, one line each, every line starting with the key concerned."""

    settings: Settings | None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def review_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    need_token: bool = True,
) -> ConfigReview:
    """Load the configuration like `load_settings` and list every problem and warning.

    Never raises for a bad configuration: even when some keys are invalid, the checks of
    `check_settings` and `config_warnings` run on the others.
    """
    env = os.environ if environ is None else environ
    try:
        raw = _read_raw(path, env)
    except ConfigError as exc:
        return ConfigReview(None, exc.problems, [])
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems, warnings = _review_invalid(raw, exc, need_token=need_token)
        return ConfigReview(None, problems, warnings)
    return ConfigReview(
        settings, check_settings(settings, need_token=need_token), config_warnings(settings)
    )


def check_settings(settings: Settings, *, need_token: bool = True) -> list[str]:
    """Return every problem that stops `taskbot run` from working with `settings` (empty: ok).

    Checks the token's presence and shape (without printing it), that the digest chat is a
    group, the task file, and that each `collective_units` key is a collective unit of the
    task file. Missing coordinators are only a warning (`config_warnings`).
    """
    problems: list[str] = []
    token = settings.token
    if need_token and not token:
        problems.append(
            "telegram.token: missing (set TELEGRAM_BOT_TOKEN or telegram.token; get one "
            "from @BotFather)"
        )
    elif token and not TOKEN_PATTERN.match(token):
        problems.append(
            "telegram.token: does not look like a bot token; expected the bot's numeric id, a "
            "colon and a secret of at least 20 letters, digits, _ or -, as @BotFather gives it "
            "(e.g. 123456789:AAE...; no spaces, quotes or 'bot' prefix)"
        )
    if settings.telegram.digest_chat_id is not None and settings.telegram.digest_chat_id > 0:
        problems.append(
            "telegram.digest_chat_id: a group id is negative (e.g. -1001234567890); "
            f"{settings.telegram.digest_chat_id} is a user id"
        )
    try:
        plan = read_task_file(settings.tasks.path())
    except TaskFileError as exc:
        problems.append(f"tasks.file: {exc}")
    else:
        known = set(plan.unit_names())
        for name, members in settings.collective_units.items():
            if name not in known:
                problems.append(
                    f"collective_units: unknown unit name {name!r} (not in the task file)"
                )
            elif name not in COLLECTIVE_UNITS:
                problems.append(
                    f"collective_units: {name!r} is a single unit, not a collective one "
                    f"({'、'.join(sorted(COLLECTIVE_UNITS))})"
                )
            blank = [m for m in members if not m.strip()]
            if blank:
                problems.append(f"collective_units.{name}: empty member name")
        own = settings.follow_up.coordinator_unit
        if own and own not in known:
            problems.append(
                f"follow_up.coordinator_unit: unknown unit name {own!r} (not in the task file)"
            )
    return problems


def config_warnings(settings: Settings) -> list[str]:
    """Return what works but is probably not meant so (the bot starts anyway).

    A fresh deployment has no coordinator yet: the coordinator learns their id by sending
    /whoami to the running bot, so that cannot block `taskbot run`.
    """
    warnings: list[str] = []
    if not settings.telegram.coordinators:
        warnings.append(
            "telegram.coordinators: none; nobody can /invite until you add your id; "
            "send /whoami to the bot to learn it"
        )
    if settings.telegram.digest_chat_id is None and settings.telegram.digest_thread_id:
        warnings.append("telegram.digest_thread_id: set without digest_chat_id; ignored")
    if settings.telegram.digest_chat_id is None:
        warnings.append("telegram.digest_chat_id: not set; no weekly digest will be posted")
    return warnings

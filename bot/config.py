"""Configuration: a TOML file validated by pydantic, with secrets from the environment.

Every key is documented in `config.example.toml`. `TELEGRAM_BOT_TOKEN` overrides
`telegram.token` and `DATABASE_URL` overrides `database.url`. Unknown keys are errors (a typo
must not silently fall back to a default). `check_settings` adds the checks that need the task
file (unit names) and lists every problem at once.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any
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

from db.seed import COLLECTIVE_UNITS, TaskFileError, read_task_file

TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
DEFAULT_DATABASE_URL = "sqlite:///data/taskbot.sqlite3"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ChatId = Annotated[int, Field(strict=True)]


class TelegramSettings(_Section):
    """[telegram]: the bot token, API address, the committee group and the coordinators."""

    token: SecretStr = SecretStr("")
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    digest_chat_id: ChatId | None = None
    coordinators: list[Annotated[int, Field(strict=True, gt=0)]] = []
    chat_messages_per_second: float = Field(default=1.0, gt=0, le=100)

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


class DatabaseSettings(_Section):
    """[database]: any SQLAlchemy URL; SQLite file by default."""

    url: str = DEFAULT_DATABASE_URL


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
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
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


class Settings(_Section):
    """The whole configuration. Build it with `load_settings`, not at import time."""

    telegram: TelegramSettings = TelegramSettings()
    database: DatabaseSettings = DatabaseSettings()
    tasks: TasksSettings = TasksSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    conversation: ConversationSettings = ConversationSettings()
    invites: InviteSettings = InviteSettings()
    collective_units: dict[str, list[str]] = {}

    @property
    def token(self) -> str:
        """The bot token (a secret: never log it)."""
        return self.telegram.token.get_secret_value()


def _format_error(error: Any) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling against config.example.toml)"
    return f"{location}: {message}"


def load_settings(path: Path | None = None, *, environ: dict[str, str] | None = None) -> Settings:
    """Read the TOML file at `path` (None: defaults only), apply the environment, validate.

    Raises `ConfigError` listing every problem (file missing, TOML syntax, each invalid key).
    """
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError([f"{path}: file not found"]) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc
    if env.get("TELEGRAM_BOT_TOKEN"):
        raw.setdefault("telegram", {})
        if isinstance(raw["telegram"], dict):
            raw["telegram"]["token"] = env["TELEGRAM_BOT_TOKEN"]
    if env.get("DATABASE_URL"):
        raw.setdefault("database", {})
        if isinstance(raw["database"], dict):
            raw["database"]["url"] = env["DATABASE_URL"]
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError([_format_error(e) for e in exc.errors()]) from None


def check_settings(settings: Settings, *, need_token: bool = True) -> list[str]:
    """Return every problem that stops `taskbot run` from working with `settings` (empty: ok).

    Checks the token's presence and shape (without printing it), the task file, that each
    `collective_units` key is a collective unit of the task file, and the coordinators.
    """
    problems: list[str] = []
    token = settings.token
    if need_token and not token:
        problems.append(
            "telegram.token: missing (set TELEGRAM_BOT_TOKEN or telegram.token; get one "
            "from @BotFather)"
        )
    elif token and not TOKEN_PATTERN.match(token):
        problems.append("telegram.token: does not look like a bot token (<digits>:<secret>)")
    if not settings.telegram.coordinators:
        problems.append("telegram.coordinators: no coordinator user id; nobody could /invite")
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
    return problems

"""The instance lock against the running bot: a second start on the same SQLite database is
refused whatever path leads to the file (a symbolic link, a relative path, a `..` detour,
another config file naming it relative to its own folder)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from bot.app import build_application, prepare_database
from bot.config import load_settings
from db.lock import AlreadyRunning
from standin import BotApiStandIn
from standin.harness import MutableClock, running, standin_settings
from tests.conftest import T0

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="the lock file is SQLite's"
)


@pytest.fixture
async def first(standin: BotApiStandIn, tmp_path: Path) -> AsyncIterator[Path]:
    """The bot running on tmp_path/data/bot.sqlite3 (holding the lock); yields that path."""
    (tmp_path / "data").mkdir()
    database = tmp_path / "data" / "bot.sqlite3"
    settings = standin_settings(standin, f"sqlite:///{database}")
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(
            running(build_application(settings, clock=MutableClock(T0)))
        )
        yield database


def second_start(standin: BotApiStandIn, url: str) -> None:
    database = prepare_database(standin_settings(standin, url), lock=True)
    database.dispose()


async def test_the_same_path_is_refused(standin: BotApiStandIn, first: Path) -> None:
    with pytest.raises(AlreadyRunning, match="another taskbot instance"):
        second_start(standin, f"sqlite:///{first}")


async def test_a_symbolic_link_to_the_database_is_refused(
    standin: BotApiStandIn, first: Path, tmp_path: Path
) -> None:
    link = tmp_path / "link.sqlite3"
    link.symlink_to(first)
    with pytest.raises(AlreadyRunning):
        second_start(standin, f"sqlite:///{link}")
    folder_link = tmp_path / "elsewhere"
    folder_link.symlink_to(first.parent, target_is_directory=True)
    with pytest.raises(AlreadyRunning):
        second_start(standin, f"sqlite:///{folder_link / first.name}")


async def test_relative_paths_and_detours_are_refused(
    standin: BotApiStandIn, first: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AlreadyRunning):
        second_start(standin, "sqlite:///data/bot.sqlite3")
    with pytest.raises(AlreadyRunning):
        second_start(standin, f"sqlite:///{tmp_path}/data/../data/./bot.sqlite3")


async def test_another_config_file_is_refused(
    standin: BotApiStandIn, first: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    other = tmp_path / "etc" / "taskbot"
    other.mkdir(parents=True)
    (tmp_path / "etc" / "db").symlink_to(first.parent, target_is_directory=True)
    config = other / "config.toml"
    config.write_text('[database]\nurl = "sqlite:///../db/bot.sqlite3"\n', encoding="utf-8")
    url = load_settings(config).database.url
    with pytest.raises(AlreadyRunning):
        second_start(standin, url)


async def test_another_database_starts(standin: BotApiStandIn, first: Path, tmp_path: Path) -> None:
    second_start(standin, f"sqlite:///{tmp_path / 'other.sqlite3'}")

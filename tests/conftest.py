"""Shared fixtures: the database under test (SQLite, or PostgreSQL via TEST_DATABASE_URL),
the Bot API stand-in, a movable clock, and the real bot running against the stand-in."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.app import TICK_JOB, build_application
from bot.delivery import follow_up
from db.engine import normalise_url
from standin import BotApiStandIn
from standin.harness import COORDINATOR, GROUP, MutableClock, running, standin_settings

# Wednesday 2025-12-17 09:30 in Asia/Shanghai: 14 days before the plan's default deadline
T0 = datetime(2025, 12, 17, 1, 30, tzinfo=UTC)
STRANGER = 9999
GROUP_MEMBER = 3003
# a harness whose tick interval is at least this holds the JobQueue tick (see hold_tick)
HELD_TICK_SECONDS = 3600


_RUN_DATABASE: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    """On PostgreSQL, run the whole session in a database of its own, made from the one named
    by TEST_DATABASE_URL (e.g. .../test) and dropped at the end: concurrent test runs on one
    server then cannot reset each other's tables or hold each other's instance lock."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url or os.environ.get("TASKBOT_TEST_RUN_DATABASE"):
        return
    base = make_url(normalise_url(url))
    name = f"{base.database}_run_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    run_url = base.set(database=name).render_as_string(hide_password=False)
    _RUN_DATABASE.update(base=base.render_as_string(hide_password=False), name=name)
    os.environ["TEST_DATABASE_URL"] = run_url
    os.environ["TASKBOT_TEST_RUN_DATABASE"] = name


def pytest_unconfigure(config: pytest.Config) -> None:
    """Drop the session's own PostgreSQL database."""
    if not _RUN_DATABASE:
        return
    admin = create_engine(_RUN_DATABASE["base"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{_RUN_DATABASE["name"]}" WITH (FORCE)'))
    admin.dispose()
    os.environ.pop("TASKBOT_TEST_RUN_DATABASE", None)


def reset_postgres(url: str) -> None:
    """Drop every table and type of the public schema of a test PostgreSQL database."""
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: PostgreSQL when TEST_DATABASE_URL is set, else SQLite."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url:
        reset_postgres(url)
        yield normalise_url(url)
    else:
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def clock() -> MutableClock:
    """A clock standing at T0 until a test moves it."""
    return MutableClock(T0)


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    """A running Bot API stand-in knowing the coordinator, three users, a stranger, a group."""
    api = BotApiStandIn(bot_username="canggongwei_bot")
    await api.start()
    api.user(COORDINATOR, "王协调")
    for uid, name in ((2001, "李明"), (2002, "张华"), (2003, "赵敏"), (STRANGER, "路人")):
        api.user(uid, name)
    api.user(GROUP_MEMBER, "委员甲")
    api.group(GROUP, "残工委工作群")
    for uid in (COORDINATOR, 2001, GROUP_MEMBER, STRANGER):
        api.add_member(GROUP, uid)
    try:
        yield api
    finally:
        await api.stop()


def database_url_in(folder: Path) -> str:
    """A fresh database for a module-scoped bot: the run's PostgreSQL database (reset) when
    TEST_DATABASE_URL is set, else a SQLite file in `folder`."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url:
        reset_postgres(url)
        return normalise_url(url)
    return f"sqlite:///{folder / 'test.sqlite3'}"


@asynccontextmanager
async def started_bot(
    url: str, users: Sequence[tuple[int, str]], group_members: Sequence[int]
) -> AsyncIterator[BotHarness]:
    """A stand-in knowing `users` and the committee group, and the real bot running on it
    (the clock at T0, the tick only when asked); both stopped on exit."""
    api = BotApiStandIn(bot_username="canggongwei_bot")
    await api.start()
    for uid, name in users:
        api.user(uid, name)
    api.group(GROUP, "残工委工作群")
    for uid in group_members:
        api.add_member(GROUP, uid)
    clock = MutableClock(T0)
    settings = standin_settings(api, url, schedule={"tick_seconds": 3600})
    try:
        async with AsyncExitStack() as stack:
            app = build_application(settings, clock=clock)
            await stack.enter_async_context(running(app))
            harness = BotHarness(api, app, clock, settings, stack)
            harness.hold_tick()
            await api.wait_idle()
            yield harness
    finally:
        await api.stop()


class BotHarness:
    """The running bot plus conversational helpers that act as the users would."""

    def __init__(
        self, api: BotApiStandIn, app: Any, clock: MutableClock, settings: Any, stack: Any
    ) -> None:
        self.api = api
        self.app = app
        self.clock = clock
        self.settings = settings
        self._stack = stack

    def hold_tick(self) -> None:
        """Pause the JobQueue's tick when its interval is an hour or more (the harness
        default), so the tick runs only when a test asks: the app's first tick comes one
        second after start and would otherwise race the test's own ticks."""
        if self.settings.schedule.tick_seconds < HELD_TICK_SECONDS:
            return
        assert self.app.job_queue is not None
        for job in self.app.job_queue.get_jobs_by_name(TICK_JOB):
            job.enabled = False

    async def restart(self, *, hold_tick: bool = True, **overrides: Any) -> None:
        """Stop the application and start a new one on the same database and stand-in;
        `hold_tick=False` lets the new one's JobQueue tick as in production."""
        await self._stack.aclose()
        settings = self.settings
        if overrides:
            settings = standin_settings(self.api, settings.database.url, **overrides)
        self.settings = settings
        self.app = build_application(settings, clock=self.clock)
        await self._stack.enter_async_context(running(self.app))
        if hold_tick:
            self.hold_tick()

    @property
    def svc(self) -> Any:
        return self.app.bot_data.services

    async def invite_code(self, unit: str) -> str:
        """Have the coordinator /invite `unit`; return the code from the link."""
        since = len(self.api.sent)
        self.api.send_text(COORDINATOR, f"/invite {unit}")
        message = await self.api.wait_for(
            lambda m: (
                m.chat_id == COORDINATOR and "start=" in m.plain_text and unit in m.plain_text
            ),
            since=since,
        )
        return message.plain_text.split("start=", 1)[1].split()[0]

    async def register(self, user_id: int, unit: str) -> None:
        """Invite `unit` and have `user_id` redeem the code."""
        code = await self.invite_code(unit)
        since = len(self.api.sent)
        self.api.send_text(user_id, f"/start {code}")
        await self.api.wait_for(
            lambda m: m.chat_id == user_id and "登记成功" in m.plain_text, since=since
        )
        await self.api.wait_idle(quiet=0.05)

    async def tick(self) -> None:
        """Run one follow-up tick now, as the JobQueue does."""
        await follow_up(self.app.bot, self.svc)


@pytest.fixture
def bot_settings_overrides() -> dict[str, Any]:
    """Per-test config overrides (sections merged into the stand-in settings)."""
    return {"schedule": {"tick_seconds": 3600}}


@pytest.fixture
async def bot(
    standin: BotApiStandIn,
    database_url: str,
    clock: MutableClock,
    bot_settings_overrides: dict[str, Any],
) -> AsyncIterator[BotHarness]:
    """The real Application running against the stand-in; the tick runs only when asked."""
    settings = standin_settings(standin, database_url, **bot_settings_overrides)
    app = build_application(settings, clock=clock)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(running(app))
        harness = BotHarness(standin, app, clock, settings, stack)
        harness.hold_tick()
        await standin.wait_idle()
        yield harness

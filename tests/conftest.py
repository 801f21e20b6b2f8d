"""Shared fixtures: the database under test (SQLite, or PostgreSQL via TEST_DATABASE_URL),
the Bot API stand-in, a movable clock, and the real bot running against the stand-in."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.app import TICK_JOB, build_application
from bot.delivery import follow_up
from db import repo
from db.engine import Database, normalise_url
from jobs.hold import HoldFinding
from jobs.types import HoldDecision
from standin import BotApiStandIn
from standin.harness import COORDINATOR, GROUP, MutableClock, running, standin_settings

# Wednesday 2025-12-17 09:30 in Asia/Shanghai: 14 days before the plan's default deadline
T0 = datetime(2025, 12, 17, 1, 30, tzinfo=UTC)
# the first start the harness records before the bot starts (`record_history`): the bot has
# followed the plan since Monday 2025-12-01, so the digest of T0's week is due at T0
FIRST_START = datetime(2025, 12, 1, 1, 0, tzinfo=UTC)
STRANGER = 9999
GROUP_MEMBER = 3003
# a harness whose tick interval is at least this holds the JobQueue tick (see hold_tick)
HELD_TICK_SECONDS = 3600


SHIPPED_PERIOD_END = date(2025, 12, 31)  # db/data/plan.toml: the 14th plan, 2021-2025

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


_SLOW_KINDS = frozenset({"e2e", "process"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e/ and tests/process/ `slow` (the real application
    against the stand-in, or real processes), so `pytest -m "not slow"` runs the pure policy
    and storage tests alone."""
    for item in items:
        if _SLOW_KINDS.intersection(item.path.parts[-3:-1]):
            item.add_marker(pytest.mark.slow)


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


def record_history(
    url: str,
    *,
    first_start: datetime | None = FIRST_START,
    decided: HoldDecision | None = None,
    period_end: date | None = None,
) -> None:
    """Give the database at `url` a past, as a bot that has run on it has: the first start
    (`repo.record_first_start`, when given) and, with `decided`, a coordinator's decision
    on the held follow-up of the plan period `period_end` (the shipped plan's by default),
    so that a (re)start after the plan's period follows up without waiting for one. Makes
    the schema if needed, and with `decided` loads the shipped plan if no plan is loaded (a
    hold belongs to a plan); leaves a recorded first start as it is."""
    from db.seed import load_plan, read_task_file

    database = Database(url)
    try:
        database.upgrade()
        with database.session() as s:
            if decided is not None and repo.default_plan_id(s) is None:
                load_plan(s, read_task_file(), now=first_start or T0)
        with database.session() as s:
            if first_start is not None:
                repo.record_first_start(s, now=first_start)
            if decided is not None:
                hold, _ = repo.store_finding(
                    s,
                    finding=HoldFinding(
                        today=date(2026, 1, 1),
                        period_end=period_end or SHIPPED_PERIOD_END,
                        open_pairs=1,
                        late_pairs=1,
                        overdue_pairs=1,
                    ),
                    now=first_start or T0,
                )
                if hold is not None and hold.id is not None:
                    repo.decide_hold(
                        s, hold_id=hold.id, decision=decided, user_id=COORDINATOR, now=T0
                    )
    finally:
        database.dispose()


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
    record_history(url)
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


@asynccontextmanager
async def first_start(
    api: BotApiStandIn, url: str, clock: MutableClock, contacts: dict[int, str]
) -> AsyncIterator[BotHarness]:
    """The bot started for the first time on a fresh database (no history: the shipped plan
    is checked and held as on a real first start), its tick run only when asked, with
    `contacts` (user id: unit) registered."""
    settings = standin_settings(api, url, schedule={"tick_seconds": 3600})
    async with AsyncExitStack() as stack:
        app = build_application(settings, clock=clock)
        await stack.enter_async_context(running(app))
        harness = BotHarness(api, app, clock, settings, stack)
        harness.hold_tick()
        await api.wait_idle()
        for user_id, unit in contacts.items():
            await harness.register(user_id, unit)
        yield harness


FIRST_DAY_CONTACTS = {2001: "区民政局", 2002: "潼南税务局", 2003: "区残联"}


@pytest.fixture
async def first_day(
    standin: BotApiStandIn, database_url: str, clock: MutableClock
) -> AsyncIterator[BotHarness]:
    """`first_start` on the `clock` fixture's instant (a module sets its own) with contacts of
    three units, one of them 区残联 (`FIRST_DAY_CONTACTS`)."""
    async with first_start(standin, database_url, clock, FIRST_DAY_CONTACTS) as harness:
        yield harness


async def report_in_progress(bot: BotHarness, chat: int, message: Any, note: str) -> None:
    """Report 推进中 with `note` and no evidence from the status buttons of `message`."""
    since = len(bot.api.sent)
    bot.api.click(chat, message, "推进中")
    await bot.api.wait_for(
        lambda m: m.chat_id == chat and "请用一两句话" in m.plain_text, since=since
    )
    bot.api.send_text(chat, note)
    evidence = await bot.api.wait_for(
        lambda m: m.chat_id == chat and "佐证材料" in m.plain_text, since=since
    )
    bot.api.click(chat, evidence, "跳过")
    confirm = await bot.api.wait_for(
        lambda m: m.chat_id == chat and "请确认" in m.plain_text, since=since
    )
    bot.api.click(chat, confirm, "确认提交")
    await bot.api.wait_for(lambda m: m.chat_id == chat and "已记录" in m.plain_text, since=since)
    await bot.api.wait_idle(quiet=0.05)


def reminded_tasks(message: Any) -> list[int]:
    """The task numbers a reminder message carries: the task of a plain reminder, or each
    task line (icon, 第N项, text) of a contact's message of the day (今日督办提醒); none for
    any other message."""
    text = message.plain_text
    if "今日督办提醒" in text:
        return [int(n) for n in re.findall(r"^\S+ 第(\d+)项 ", text, re.MULTILINE)]
    found = re.search(r"第(\d+)项：", text)
    return [int(found.group(1))] if found and "完成时限" in text else []


async def reply_to_daily(
    bot: BotHarness, chat: int, message: Any, text: str, number: int
) -> tuple[Any, Any]:
    """Reply `text` to a contact's message of the day; when asked which task the note is
    for, choose 第`number`项. Returns the question and the receipt it turns into."""
    since = len(bot.api.sent)
    bot.api.send_text(chat, text, reply_to_message_id=message.message_id)
    ask = await bot.api.wait_for(
        lambda m: m.chat_id == chat and "这条留言是关于哪一项任务的" in m.plain_text, since=since
    )
    label = next(label for label, _ in ask.buttons if label.startswith(f"第{number}项 "))
    bot.api.click(chat, ask, label)
    saved = await bot.api.wait_for(
        lambda m: m.chat_id == chat and f"已将您的留言记录为第{number}项" in m.plain_text,
        since=since,
    )
    return ask, saved


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

    def decide_backlog(self, decision: HoldDecision = HoldDecision.SEND) -> None:
        """Record a coordinator's decision on the held follow-up of the shipped plan (the
        open hold, or one decided in advance): a (re)start after the plan's period then
        follows up at once, as after a real decision."""
        record_history(self.settings.database.url, first_start=None, decided=decision)

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
    record_history(database_url)
    app = build_application(settings, clock=clock)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(running(app))
        harness = BotHarness(standin, app, clock, settings, stack)
        harness.hold_tick()
        await standin.wait_idle()
        yield harness

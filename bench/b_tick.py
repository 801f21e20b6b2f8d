"""3. The minute tick, reading the database afresh: the real `bot.delivery.follow_up`.

Databases built by `bench.data.build_tick_db`: open tasks (the 30 real ones first) with 3
lead units each, 2 contacts per unit, one 推进中 report per task and lead unit, deadlines from
a year ago to half a year ahead, and a ledger of 50 rows per task (500,000 at 10,000 tasks);
the clock stands at a working day past the reporting cycle's nudge day, 10:00 in
Asia/Shanghai, with coordinators and a committee group configured, so every step of the tick
reads what it needs.

- whole tick: `follow_up` (reminders, the weekly digest check, escalations, nudges, calendar
  warnings) every minute of the working day; the ledger holds every current reminder and
  the day's escalations and nudges are recorded (one untimed tick does that first), so each
  timed tick reads the state and decides that nothing is due, which is the common case.
  Measured at the real scale (30 and 300 tasks) and at the province headroom (10,000
  tasks, a ledger of 500,000 rows, SQLite and PostgreSQL). Each timed call also records the
  event loop's longest stall: a coroutine sleeping 1 ms in a loop notes the largest gap, how
  long an update arriving meanwhile would have waited.
- finding reminders due (headroom only, no goal): the ledger holds every current reminder
  except those whose send day is today; the bot stub answers the first send as "Bot API
  unreachable", so `send_reminders` does all its finding (state, candidates, ledger lookup),
  claims one reminder and stops, as in an outage.
- SQL statements per tick, counted with a `before_cursor_execute` listener: the same at 30
  and at 300 tasks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any, cast

import httpx
from sqlalchemy import delete, insert, select
from sqlmodel import col
from telegram import Bot
from telegram.error import NetworkError

from bench import data
from bench.common import Context, Goal, Row, SqlCounter, stopwatch
from bench.data import DeliveryOutcome
from bench.harness import MutableClock
from bench.profiling import profile_call
from bot.app import make_calendar, make_services
from bot.config import Settings
from bot.context import Services
from bot.delivery import follow_up, send_reminders
from db.engine import Database
from db.models import Delivery

# Thursday 2026-12-03 10:00 in Asia/Shanghai: a working day, after the nudge day of the
# reporting cycle that started on 2026-11-25, not a digest day
NOW = data.local(date(2026, 12, 3), 10, 0)
LEDGER_PER_TASK = 50
COORDINATOR = 1001
GROUP = -100_123


def as_bot(fake: UnreachableBot | CountingBot) -> Bot:
    """One of the fakes below where the bot's code takes a `telegram.Bot`: the tick calls
    only `send_message` on it."""
    return cast(Bot, fake)


class UnreachableBot:
    """A Bot whose every send fails as if the Bot API could not be reached (not sent)."""

    def __init__(self) -> None:
        self.sends = 0

    async def send_message(self, *args: Any, **kwargs: Any) -> Any:
        self.sends += 1
        raise NetworkError("bench: Bot API unreachable") from httpx.ConnectError("bench")


class CountingBot:
    """A Bot that accepts every send and counts them; with `strict` a reminder (a message
    with status buttons) is an error (a 'nothing due' tick must not send one)."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.sends = 0

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Any:
        if self.strict and kwargs.get("reply_markup") is not None:
            raise AssertionError("a 'nothing due' tick tried to send a reminder")
        self.sends += 1
        return SimpleNamespace(message_id=self.sends)

    async def send_photo(self, chat_id: int, photo: Any, **kwargs: Any) -> Any:
        self.sends += 1
        return SimpleNamespace(message_id=self.sends)


def _services(url: str, clock: MutableClock) -> Services:
    settings = Settings.model_validate(
        {
            "database": {"url": url},
            "telegram": {"coordinators": [COORDINATOR], "digest_chat_id": GROUP},
            # the digest's picture is a child process of its own, timed by b_digest (2c)
            "follow_up": {"digest_chart": False},
        }
    )
    return make_services(settings, Database(url), clock=clock, calendar=make_calendar(settings))


def stall_note(stalls: list[float]) -> str:
    """The median of the event loop's longest stalls (seconds) of several timed calls."""
    ordered = sorted(stalls)
    return f"event loop stalled at most {1000 * ordered[len(ordered) // 2]:.0f} ms (median)"


class Ticker:
    """Runs coroutines of one services object on one event loop, timing them, counting SQL
    and the event loop's longest stall during each timed call."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.loop = asyncio.new_event_loop()
        self.counter = SqlCounter(svc.db.engine)
        self.stalls: list[float] = []  # the event loop's longest stall, per timed call
        self.seconds = 0.0  # of the last timed call

    def time(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[float, int]:
        gaps: list[float] = [0.0]

        async def probe() -> None:  # what an update arriving meanwhile would wait for
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                gaps.append(now - last - 0.001)
                last = now

        async def timed() -> None:
            watcher = asyncio.create_task(probe())
            await asyncio.sleep(0)
            try:
                with self.counter.measure(), stopwatch() as elapsed:
                    await make()
                    self.seconds = elapsed()
            finally:
                watcher.cancel()

        self.loop.run_until_complete(timed())
        self.stalls.append(max(gaps))
        return self.seconds, self.counter.count

    def close(self) -> None:
        self.counter.close()
        self.svc.db.dispose()
        self.loop.close()


@dataclass
class Measured:
    """Seconds of the timed whole ticks, SQL statements of one, the longest stalls, and the
    finding-due ticks (headroom only)."""

    tasks: int
    ledger: int
    whole: list[float]
    whole_sql: int
    stalls: list[float]
    due: int = 0
    due_values: list[float] | None = None
    due_sql: int = 0
    due_stalls: list[float] | None = None


def _measure(
    ctx: Context,
    url: str,
    label: str,
    *,
    tasks: int,
    units: int,
    ledger: int,
    runs: int,
    find_due: bool,
) -> Measured:
    settings = Settings.model_validate({"database": {"url": url}})
    calendar = make_calendar(settings)
    probe = make_services(
        settings, Database("sqlite://"), clock=MutableClock(NOW), calendar=calendar
    )
    built = data.build_tick_db(
        url,
        tasks=tasks,
        units=units,
        ledger=ledger,
        now=NOW,
        policy=probe.policy,
        calendar=calendar,
        all_sent=not find_due,
    )
    ctx.log(
        f"tick ({label}): {built.tasks} tasks, {built.contacts} contacts, ledger {built.ledger}"
        f" rows, {built.current} current reminders of which {built.due} due now"
    )
    quiet = logging.getLogger("bot.delivery")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # every finding run logs one "retry" reminder
    clock = MutableClock(NOW)
    ticker = Ticker(_services(url, clock))
    svc = ticker.svc
    profile = ctx.extra.get("profile")
    result = Measured(built.tasks, built.ledger, [], 0, [])
    try:
        if find_due:
            if built.due < runs + 2:
                raise ValueError(f"only {built.due} reminders due: too few for {runs} runs")
            bot = UnreachableBot()
            ticker.time(lambda: send_reminders(as_bot(bot), svc))
            values: list[float] = []
            for _ in range(runs):
                seconds, result.due_sql = ticker.time(lambda: send_reminders(as_bot(bot), svc))
                values.append(seconds)
            result.due, result.due_values = built.due, values
            result.due_stalls = ticker.stalls[-runs:]
            if profile:
                profile_call(
                    ctx,
                    f"tick-due-{label}",
                    lambda: ticker.loop.run_until_complete(send_reminders(as_bot(bot), svc)),
                )
            _complete_ledger(svc, built.due_rows)
        # the day's escalations and nudges: recorded (and sent) by the first tick
        ticker.time(lambda: follow_up(as_bot(CountingBot()), svc))
        quiet_bot = CountingBot(strict=True)
        for _ in range(runs):
            clock.advance(timedelta(minutes=1))
            seconds, result.whole_sql = ticker.time(lambda: follow_up(as_bot(quiet_bot), svc))
            result.whole.append(seconds)
        result.stalls = ticker.stalls[-runs:]
        if quiet_bot.sends:
            raise AssertionError(f"a quiet tick sent {quiet_bot.sends} messages")
        if profile:
            clock.advance(timedelta(minutes=1))
            profile_call(
                ctx,
                f"tick-whole-{label}",
                lambda: ticker.loop.run_until_complete(follow_up(as_bot(quiet_bot), svc)),
            )
    finally:
        quiet.setLevel(level)
        ticker.close()
    return result


def _complete_ledger(svc: Services, due_rows: list[dict[str, Any]]) -> None:
    """Record every reminder that was due as sent (replacing the runs' RETRY rows)."""
    with svc.db.engine.begin() as conn:
        conn.execute(delete(Delivery).where(col(Delivery.outcome) == DeliveryOutcome.RETRY))
        present = {r[0] for r in conn.execute(select(col(Delivery.key)))}
        missing = [r for r in due_rows if r["key"] not in present]
        if missing:
            conn.execute(insert(Delivery), missing)


def _headroom_rows(ctx: Context, url: str, backend: str) -> list[Row]:
    size = ctx.size
    runs = ctx.runs(size.tick_runs)
    m = _measure(
        ctx,
        url,
        f"headroom-{backend}",
        tasks=size.tick_tasks,
        units=size.tick_units,
        ledger=size.tick_ledger,
        runs=runs,
        find_due=True,
    )
    scope = f"{m.tasks:,} tasks, ledger {m.ledger:,} rows"
    assert m.due_values is not None and m.due_stalls is not None
    return [
        Row(
            f"3 whole tick (follow_up), {scope}, {backend}",
            m.whole,
            "s",
            Goal("<", 1.0, "< 1 s"),
            digits=3,
            note=f"{m.whole_sql} SQL statements per tick",
        ),
        Row(
            f"3 event loop's longest stall during that tick, {backend}",
            [1000 * v for v in m.stalls],
            "ms",
            Goal("<=", 50, "<= 50 ms"),
            digits=0,
        ),
        Row(
            f"3 tick finding {m.due:,} reminders due (send_reminders), {scope}, {backend}",
            m.due_values,
            "s",
            digits=3,
            note=f"{m.due_sql} SQL statements; {stall_note(m.due_stalls)}",
        ),
    ]


def run(ctx: Context) -> list[Row]:
    size = ctx.size
    runs = ctx.runs(size.tick_runs)
    rows: list[Row] = []
    # the real scale: 30 tasks (the plan) and `scale_tasks` (300 at full size), SQLite
    counts: list[tuple[int, int]] = []
    for tasks, goal_ms in ((30, 10), (size.scale_tasks, 50)):
        url = f"sqlite:///{ctx.workdir / f'tick-{tasks}.sqlite3'}"
        m = _measure(
            ctx,
            url,
            f"{tasks}-SQLite",
            tasks=tasks,
            units=max(30, tasks // 3),
            ledger=LEDGER_PER_TASK * tasks,
            runs=max(runs, 10),
            find_due=False,
        )
        counts.append((tasks, m.whole_sql))
        rows.append(
            Row(
                f"3 whole tick (follow_up), {tasks} tasks, SQLite",
                [1000 * v for v in m.whole],
                "ms",
                Goal("<", goal_ms, f"< {goal_ms} ms"),
                digits=1,
                note=f"ledger {m.ledger:,} rows; {m.whole_sql} SQL statements; "
                f"{stall_note(m.stalls)}",
            )
        )
    (small, small_sql), (large, large_sql) = counts
    rows.append(
        Row(
            f"3 SQL statements per tick at {small} and at {large} tasks (difference)",
            [float(large_sql - small_sql)],
            "",
            Goal("==", 0, "0 (constant)", size_dependent=False),
            digits=0,
            note=f"{small_sql} statements at {small} tasks, {large_sql} at {large}",
        )
    )
    rows.append(Row(f"3 SQL statements per tick ({small} tasks)", [float(small_sql)], "", digits=0))
    # the province headroom
    rows += _headroom_rows(ctx, f"sqlite:///{ctx.workdir / 'tick.sqlite3'}", "SQLite")
    if ctx.pg_admin_url and not ctx.pg_problem:
        with data.pg_database(ctx.pg_admin_url) as pg_url:
            rows += _headroom_rows(ctx, pg_url, "PostgreSQL")
    else:
        rows.append(Row("3 tick, PostgreSQL", [], "", skipped=ctx.pg_problem or "no --pg-url"))
    return rows

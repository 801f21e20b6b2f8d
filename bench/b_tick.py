"""3. The reminder tick: the real `bot.delivery.send_reminders` on a large database.

10,000 open tasks with 3 lead units each, 2 contacts per unit, one 推进中 report per task and
lead unit, a ledger of 500,000 rows, deadlines from a year ago to half a year ahead; the clock
stands at a working day, 10:00 in Asia/Shanghai.

- finds reminders due: the ledger holds every current reminder except those whose send day
  is today. The bot stub answers the first send as "Bot API unreachable", so `send_reminders`
  does all the finding (state, candidates, ledger lookup), claims and settles one reminder and
  stops, as it does in an outage; each run finds the same reminders minus the ones claimed.
  Measured in a running bot (the tick has run before) and as the first tick after a start:
  after the start-up warm-up (`bot.delivery.warm_up`, which `post_init` starts: it reads
  the state, the day's candidates and the settled ledger keys in a worker thread), as the
  bot does it; the warm-up itself and a tick with nothing remembered (no warm-up) are shown
  too. Each timed call also records the event loop's longest stall (how long an update
  would have waited).
- finds nothing due: every current reminder is in the ledger and the tick runs every minute
  of the working day (the case that matters); also after a new report (the state changed),
  as the first tick after a start, and the whole minute tick `follow_up` (reminders, weekly
  digest, escalations, calendar warnings) for comparison.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import delete, insert, select
from telegram.error import NetworkError

from bench import data
from bench.common import Context, Goal, Row, SqlCounter, stopwatch
from bench.profiling import profile_call
from bot.app import make_calendar, make_services
from bot.config import Settings
from bot.context import Services
from bot.delivery import follow_up, prepare_next_sending_day, send_reminders, warm_up
from db import repo
from db.engine import Database
from db.models import Reminder
from jobs.types import DeliveryOutcome, Status
from standin.harness import MutableClock

NOW = data.local(date(2026, 12, 1), 10, 0)  # Tuesday 2026-12-01 10:00 in Asia/Shanghai


class UnreachableBot:
    """A Bot whose every send fails as if the Bot API could not be reached (not sent)."""

    def __init__(self) -> None:
        self.sends = 0

    async def send_message(self, *args: Any, **kwargs: Any) -> Any:
        self.sends += 1
        raise NetworkError("bench: Bot API unreachable") from httpx.ConnectError("bench")


class NoReminderBot:
    """A Bot that must not be asked to send a reminder (a message with status buttons);
    with `strict=False` (the whole minute tick) it accepts everything and counts."""

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self.sends = 0

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Any:
        if self.strict and kwargs.get("reply_markup") is not None:
            raise AssertionError("a 'nothing due' tick tried to send a reminder")
        self.sends += 1
        return SimpleNamespace(message_id=self.sends)


def _services(url: str, clock: MutableClock) -> Services:
    settings = Settings.model_validate({"database": {"url": url}})
    return make_services(settings, Database(url), clock=clock, calendar=make_calendar(settings))


def stall_note(stalls: list[float]) -> str:
    """The median of the event loop's longest stalls (seconds) of several timed calls."""
    ordered = sorted(stalls)
    return f"event loop stalled at most {1000 * ordered[len(ordered) // 2]:.0f} ms (median)"


class Ticker:
    """Runs coroutines of one services object on one event loop, timing them, counting SQL
    and the time full garbage collections (generation 2) took during the timed call."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.loop = asyncio.new_event_loop()
        self.counter = SqlCounter(svc.db.engine)
        self.full_gc: list[float] = []  # seconds of full collections, per timed call
        self.stalls: list[float] = []  # the event loop's longest stall, per timed call
        self.seconds = 0.0  # of the last timed call
        self._gc_start = 0.0
        self._gc_seconds = 0.0

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self._gc_seconds += time.perf_counter() - self._gc_start

    def time(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[float, int]:
        self._gc_seconds = 0.0
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

        gc.callbacks.append(self._on_gc)
        try:
            self.loop.run_until_complete(timed())
        finally:
            gc.callbacks.remove(self._on_gc)
        self.full_gc.append(self._gc_seconds)
        self.stalls.append(max(gaps))
        return self.seconds, self.counter.count

    def stall_note(self, last: int) -> str:
        """The median over the last `last` timed calls of the event loop's longest stall."""
        return stall_note(self.stalls[-last:])

    def gc_note(self, last: int) -> str:
        """How many of the last `last` timed calls had a full collection, and its time."""
        pauses = [p for p in self.full_gc[-last:] if p > 0]
        if not pauses:
            return "no full garbage collection during the runs"
        ms = sorted(1000 * p for p in pauses)
        return (
            f"a full garbage collection fell into {len(pauses)} of {last} runs "
            f"({ms[0]:.0f}-{ms[-1]:.0f} ms of the time)"
        )

    def close(self) -> None:
        self.counter.close()
        self.svc.db.dispose()
        self.loop.close()


def _tick_rows(ctx: Context, url: str, backend: str) -> list[Row]:
    size = ctx.size
    runs = ctx.runs(size.tick_runs)
    settings = Settings.model_validate({"database": {"url": url}})
    calendar = make_calendar(settings)
    probe = make_services(
        settings, Database("sqlite://"), clock=MutableClock(NOW), calendar=calendar
    )
    built = data.build_tick_db(
        url,
        tasks=size.tick_tasks,
        units=size.tick_units,
        ledger=size.tick_ledger,
        now=NOW,
        policy=probe.policy,
        calendar=calendar,
    )
    ctx.log(
        f"tick ({backend}): {built.tasks} tasks, {built.contacts} contacts, ledger {built.ledger}"
        f" rows, {built.current} current reminders of which {built.due} due now"
    )
    if built.due < 2 * runs + 3:
        raise ValueError(f"only {built.due} reminders due: too few for {runs} runs")
    quiet = logging.getLogger("bot.delivery")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # every run logs one "retry" reminder: not wanted here
    clock = MutableClock(NOW)
    running = Ticker(_services(url, clock))
    svc = running.svc
    rows: list[Row] = []
    profile = ctx.extra.get("profile")
    scope = f"{size.tick_tasks:,} tasks, ledger {built.ledger:,} rows"
    try:
        # --- finds reminders due, first tick after a start: the app's post_init starts the
        # warm-up, and the tick waits for it; shown: the warm-up, the tick after it, and a
        # tick with nothing remembered (no warm-up: what the first tick did before)
        bot = UnreachableBot()
        cold_due, warming, warm_stalls, cold_stalls, after_warm = [], [], [], [], []
        for _ in range(runs):
            fresh = Ticker(_services(url, clock))
            seconds, warm_sql = fresh.time(lambda f=fresh: warm_up(f.svc))  # type: ignore[misc]
            warming.append(seconds)
            warm_stalls.append(fresh.stalls[-1])
            seconds, after_warm_sql = fresh.time(lambda f=fresh: send_reminders(bot, f.svc))  # type: ignore[misc]
            after_warm.append(seconds)
            fresh.close()
            fresh = Ticker(_services(url, clock))
            seconds, cold_due_sql = fresh.time(lambda f=fresh: send_reminders(bot, f.svc))  # type: ignore[misc]
            cold_due.append(seconds)
            cold_stalls.append(fresh.stalls[-1])
            fresh.close()
        # --- finds reminders due, running bot: the first tick of the day in sending hours.
        # The evening before, a tick found nothing due; overnight nothing changed, and a
        # tick in quiet hours prepared the morning's candidates (`follow_up` does that on
        # every tick outside sending hours). Each run replays the night and the morning: the
        # remembered day's candidates and "nothing left" mark are dropped, as a new day
        # does (the state and the keys known settled stay). Also shown: the same morning
        # without the night's preparation (as after a report stored at night).
        evening = NOW - timedelta(hours=14)  # Monday 20:00 local
        night = NOW - timedelta(hours=12)  # Monday 22:00 local: quiet hours
        clock.set(evening)
        running.loop.run_until_complete(send_reminders(bot, svc))  # type: ignore[arg-type]
        due_values: list[float] = []
        for _ in range(runs):
            _new_day(svc)
            clock.set(night)
            running.loop.run_until_complete(prepare_next_sending_day(svc))
            clock.set(NOW)
            seconds, due_sql = running.time(lambda: send_reminders(bot, svc))  # type: ignore[arg-type]
            due_values.append(seconds)
        unprepared: list[float] = []
        for _ in range(runs):
            _new_day(svc)
            seconds, unprepared_sql = running.time(lambda: send_reminders(bot, svc))  # type: ignore[arg-type]
            unprepared.append(seconds)
        if bot.sends < 3 * runs:
            raise AssertionError(f"expected {3 * runs} attempted sends, got {bot.sends}")
        if profile:
            _new_day(svc)
            profile_call(
                ctx,
                f"tick-due-{backend}",
                lambda: running.loop.run_until_complete(send_reminders(bot, svc)),  # type: ignore[arg-type]
            )
        rows.append(
            Row(
                f"3 tick finding {built.due:,} due, first tick of the day, {backend}",
                [v * 1000 for v in due_values],
                "ms",
                Goal("<", 250, "< 250 ms"),
                digits=0,
                note=f"{scope}; prepared overnight; {due_sql} SQL statements per tick",
            )
        )
        rows.append(
            Row(
                f"3 tick finding {built.due:,} due, first tick of the day, not prepared "
                f"overnight, {backend}",
                [v * 1000 for v in unprepared],
                "ms",
                digits=0,
                note=f"{unprepared_sql} SQL statements per tick; {running.gc_note(runs)}",
            )
        )
        rows.append(
            Row(
                f"3 tick finding {built.due:,} due, first tick after a start, {backend}",
                [v * 1000 for v in after_warm],
                "ms",
                Goal("<", 250, "< 250 ms"),
                digits=0,
                note=f"after the start-up warm-up; {after_warm_sql} SQL statements",
            )
        )
        rows.append(
            Row(
                f"3 start-up warm-up (worker thread), {backend}",
                [v * 1000 for v in warming],
                "ms",
                digits=0,
                note=f"{warm_sql} SQL statements; {stall_note(warm_stalls)}",
            )
        )
        rows.append(
            Row(
                f"3 tick finding {built.due:,} due with nothing remembered (no warm-up), {backend}",
                [v * 1000 for v in cold_due],
                "ms",
                digits=0,
                note=f"{cold_due_sql} SQL statements; {stall_note(cold_stalls)}",
            )
        )

        # --- finds nothing due: the ledger gets every reminder that was due
        _complete_ledger(svc, built.due_rows)
        quiet_bot = NoReminderBot()
        cold: list[float] = []
        for _ in range(runs):
            fresh = Ticker(_services(url, clock))
            fresh.time(lambda f=fresh: warm_up(f.svc))  # type: ignore[misc]
            seconds, cold_sql = fresh.time(lambda f=fresh: send_reminders(quiet_bot, f.svc))  # type: ignore[misc]
            cold.append(seconds)
            fresh.close()
        running.time(lambda: send_reminders(quiet_bot, svc))  # type: ignore[arg-type]
        steady: list[float] = []
        steady_sql = 0
        for _ in range(max(runs, 10)):
            clock.advance(timedelta(minutes=1))
            seconds, count = running.time(lambda: send_reminders(quiet_bot, svc))  # type: ignore[arg-type]
            steady.append(seconds)
            steady_sql = max(steady_sql, count)
        if profile:
            clock.advance(timedelta(minutes=1))
            profile_call(
                ctx,
                f"tick-nothing-{backend}",
                lambda: running.loop.run_until_complete(send_reminders(quiet_bot, svc)),  # type: ignore[arg-type]
            )
        changed: list[float] = []
        for i in range(runs):
            clock.advance(timedelta(minutes=1))
            _add_report(svc, i)
            seconds, changed_sql = running.time(lambda: send_reminders(quiet_bot, svc))  # type: ignore[arg-type]
            changed.append(seconds)
        changed_stall = running.stall_note(runs)
        any_bot = NoReminderBot(strict=False)
        running.time(lambda: follow_up(any_bot, svc))  # type: ignore[arg-type]  # once-a-day work
        # the escalations just recorded changed the state: the next tick reads it once more
        running.time(lambda: follow_up(any_bot, svc))  # type: ignore[arg-type]
        whole: list[float] = []
        for _ in range(runs):
            clock.advance(timedelta(minutes=1))
            seconds, whole_sql = running.time(lambda: follow_up(any_bot, svc))  # type: ignore[arg-type]
            whole.append(seconds)
        rows.append(
            Row(
                f"3 tick finding nothing due, every minute, {backend}",
                [v * 1000 for v in steady],
                "ms",
                Goal("<", 20, "< 20 ms"),
                digits=1,
                note=f"{steady_sql} SQL statement(s) per tick",
            )
        )
        rows.append(
            Row(
                f"3 tick finding nothing due after a new report, {backend}",
                [v * 1000 for v in changed],
                "ms",
                digits=0,
                note=f"{changed_sql} SQL statements; the state is read in a worker thread: "
                f"{changed_stall}",
            )
        )
        rows.append(
            Row(
                f"3 tick finding nothing due, first tick after a start, {backend}",
                [v * 1000 for v in cold],
                "ms",
                digits=0,
                note=f"after the start-up warm-up; {cold_sql} SQL statements",
            )
        )
        rows.append(
            Row(
                f"3 whole minute tick (follow_up) finding nothing, {backend}",
                [v * 1000 for v in whole],
                "ms",
                digits=0,
                note=f"{whole_sql} SQL statements; {running.gc_note(runs)}",
            )
        )
    finally:
        quiet.setLevel(level)
        running.close()
    return rows


def _new_day(svc: Services) -> None:
    """Forget what a tick remembers about the current day only (its candidates and its
    "nothing left" mark), as the first tick of a new day finds it; keep the state and the
    ledger keys known to be settled."""
    memo = svc.reminder_memo
    memo.idle_on = None
    memo.candidates = None


def _add_report(svc: Services, i: int) -> None:
    """A contact replies with a note (a note-only report): the state changes."""
    with svc.db.session() as s:
        state_task = s.exec(select(Reminder.task_id, Reminder.unit_id).limit(1)).one()
        repo.add_report(
            s,
            task_id=state_task[0],
            unit_id=state_task[1],
            contact_id=None,
            reporter_user_id=0,
            status=Status.IN_PROGRESS if i % 2 else None,
            note=f"基准测试进展说明 {i}",
            now=svc.now(),
        )


def _complete_ledger(svc: Services, due_rows: list[dict[str, Any]]) -> None:
    """Record every reminder that was due as sent (replacing the runs' RETRY rows)."""
    with svc.db.engine.begin() as conn:
        conn.execute(delete(Reminder).where(Reminder.outcome == DeliveryOutcome.RETRY))
        present = {r[0] for r in conn.execute(select(Reminder.key))}
        missing = [r for r in due_rows if r["key"] not in present]
        if missing:
            conn.execute(insert(Reminder), missing)


def run(ctx: Context) -> list[Row]:
    rows = _tick_rows(ctx, f"sqlite:///{ctx.workdir / 'tick.sqlite3'}", "SQLite")
    if ctx.pg_admin_url and not ctx.pg_problem:
        with data.pg_database(ctx.pg_admin_url) as pg_url:
            rows.extend(_tick_rows(ctx, pg_url, "PostgreSQL"))
    else:
        rows.append(Row("3 tick, PostgreSQL", [], "", skipped=ctx.pg_problem or "no --pg-url"))
    return rows

"""2. Digest: build and render the digest as the bot does, and count the SQL statements one
digest issues.

The bot (/digest and the weekly digest, `bot.delivery.current_digest`) builds it from the
follow-up state the minute tick remembers (`current_state`: one fingerprint statement when
nothing changed) plus the period's reports (`repo.load_period`), in a worker thread; that is
the figure with the goal. Read afresh, with nothing remembered (`build_current_digest`
without a state, as `taskbot digest` on the command line does, `repo.load_state` too), is
shown beside it without a goal.

(a) the 30 real tasks, their lead units and 22 towns, one report per unit per week for a year;
(b) 3,000 tasks, 300 units, 200,000 reports, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass
from datetime import date

from bench import data
from bench.common import Context, Goal, Row, SqlCounter, timed_runs
from bench.profiling import profile_call
from bot.app import make_calendar, make_services
from bot.config import Settings
from bot.context import Services
from bot.delivery import build_current_digest, current_digest
from db.engine import Database
from standin.harness import MutableClock

NOW = data.local(date(2026, 11, 30), 9, 5)  # a Monday, 09:05 in Asia/Shanghai


@dataclass
class Measured:
    """Seconds per digest and SQL statements of one, as the bot builds it and read afresh."""

    bot: list[float]
    fresh: list[float]
    bot_sql: int
    fresh_sql: int
    parts: int


async def _bot_runs(svc: Services, runs: int) -> list[float]:
    """Seconds of `runs` digests as the bot builds them, after one that fills the memo."""
    await current_digest(svc)
    values: list[float] = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        await current_digest(svc)
        values.append(time.perf_counter() - start)
    return values


def _measure(ctx: Context, url: str, runs: int, label: str) -> Measured:
    settings = Settings.model_validate({"database": {"url": url}})
    database = Database(url)
    svc = make_services(
        settings, database, clock=MutableClock(NOW), calendar=make_calendar(settings)
    )
    counter = SqlCounter(database.engine)
    try:
        with counter.measure():
            parts = build_current_digest(svc)
        fresh_sql = counter.count
        fresh = timed_runs(lambda: build_current_digest(svc), runs)
        bot = asyncio.run(_bot_runs(svc, runs))
        with counter.measure():
            assert asyncio.run(current_digest(svc)) == parts, "the two paths disagree"
        bot_sql = counter.count
        if ctx.extra.get("profile"):
            profile_call(ctx, f"digest-{label}", lambda: asyncio.run(current_digest(svc)))
            profile_call(ctx, f"digest-{label}-fresh", lambda: build_current_digest(svc))
        return Measured(bot, fresh, bot_sql, fresh_sql, len(parts))
    finally:
        counter.close()
        database.dispose()
        gc.unfreeze()  # the bot path froze its state (`keep_out_of_collections`)


def _rows(figure: str, m: Measured, scale: float, unit: str, goal: Goal, digits: int) -> list[Row]:
    return [
        Row(
            figure,
            [v * scale for v in m.bot],
            unit,
            goal,
            digits=digits,
            note=f"{m.parts} message part(s), {m.bot_sql} SQL statements",
        ),
        Row(
            f"  read afresh (nothing remembered), {figure.split(', ')[-1]}",
            [v * scale for v in m.fresh],
            unit,
            digits=digits,
            note=f"{m.fresh_sql} SQL statements",
        ),
    ]


def run(ctx: Context) -> list[Row]:
    size = ctx.size
    runs = ctx.runs(size.digest_runs)
    rows: list[Row] = []
    ms, s = (1000.0, "ms"), (1.0, "s")
    goal_a, goal_b = Goal("<", 20, "< 20 ms"), Goal("<", 1.0, "< 1 s")

    real_url = f"sqlite:///{ctx.workdir / 'digest-real.sqlite3'}"
    info = data.build_real_digest_db(real_url, now=NOW)
    ctx.log(f"digest (a): {info}")
    real = _measure(ctx, real_url, max(runs, 15), "real-sqlite")
    rows += _rows("2a digest, 30 real tasks + 22 towns, SQLite", real, *ms, goal_a, 1)
    rows[-2].note += f"; {info['reports']} reports"

    synthetic_url = f"sqlite:///{ctx.workdir / 'digest-big.sqlite3'}"
    big_info = data.build_synthetic_digest_db(
        synthetic_url,
        tasks=size.digest_tasks,
        units=size.digest_units,
        reports=size.digest_reports,
        now=NOW,
    )
    ctx.log(f"digest (b): {big_info}")
    big = _measure(ctx, synthetic_url, runs, "big-sqlite")
    label = (
        f"{big_info['tasks']:,} tasks, {big_info['units']} units, {big_info['reports']:,} reports"
    )
    rows += _rows(f"2b digest, {label}, SQLite", big, *s, goal_b, 3)

    pg: tuple[Measured, Measured] | None = None
    if ctx.pg_admin_url and not ctx.pg_problem:
        with data.pg_database(ctx.pg_admin_url) as pg_url:
            data.build_real_digest_db(pg_url, now=NOW)
            pg_real = _measure(ctx, pg_url, max(runs, 15), "real-pg")
        rows += _rows("2a digest, 30 real tasks + 22 towns, PostgreSQL", pg_real, *ms, goal_a, 1)
        with data.pg_database(ctx.pg_admin_url) as pg_url:
            data.build_synthetic_digest_db(
                pg_url,
                tasks=size.digest_tasks,
                units=size.digest_units,
                reports=size.digest_reports,
                now=NOW,
            )
            pg_big = _measure(ctx, pg_url, runs, "big-pg")
        rows += _rows(f"2b digest, {label}, PostgreSQL", pg_big, *s, goal_b, 3)
        pg = (pg_real, pg_big)
    else:
        for figure in (
            "2a digest, 30 real tasks + 22 towns, PostgreSQL",
            f"2b digest, {label}, PostgreSQL",
        ):
            rows.append(Row(figure, [], "", skipped=ctx.pg_problem or "no --pg-url"))

    pairs = [("SQLite", real, big)] + ([("PostgreSQL", *pg)] if pg else [])
    growth = max(max(b.bot_sql - a.bot_sql, b.fresh_sql - a.fresh_sql) for _, a, b in pairs)
    counts = "; ".join(
        f"{name} {a.bot_sql} and {b.bot_sql} (afresh {a.fresh_sql} and {b.fresh_sql})"
        for name, a, b in pairs
    )
    rows.append(
        Row(
            f"2 growth of the SQL statements per digest from 30 to {size.digest_tasks:,} tasks",
            [float(growth)],
            "",
            Goal("==", 0, "0 (no growth)", size_dependent=False),
            digits=0,
            note=f"SQL statements of one digest at 30 and at {size.digest_tasks:,} tasks: {counts}",
        )
    )
    rows.append(Row("2 SQL statements per digest (30 tasks)", [float(real.bot_sql)], "", digits=0))
    return rows

"""2. Digest: build and render the digest as /digest and the weekly post do, reading the
database afresh, and count the SQL statements one digest issues.

`bot.reads.current_digest(svc)`: the state (`repo.load_state`) and the period's reports
(`repo.load_period`) read afresh, the digest built and its HTML parts rendered, in a worker
thread; on a Monday 09:05, after one untimed digest.

- the real scale: (a) the 30 tasks of the plan, their lead units and 22 towns, one contact per
  unit, one report per unit per week for a year; (a') `scale_tasks` tasks (300 at full size:
  the 30 real ones first), a tenth as many units, 1-3 lead units per task, 67 reports per task
  at random over the year; both on SQLite. The SQL statements of one digest are counted with a
  `before_cursor_execute` listener at both sizes: they must be equal.
- the chart: (c) the weekly digest's picture on (a), drawn by a child process as the bot
  does it (`bot.reads.build_digest_chart`), timed, and this process's VmRSS growth over the
  runs: what the bot's memory pays for a digest with a chart.
- the headroom: (b) 3,000 tasks, 300 units, 1-3 lead units per task, 200,000 reports at random
  over the year, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from dataclasses import dataclass
from datetime import date

from bench import data
from bench.common import Context, Goal, Row, SqlCounter, rss_kib
from bench.harness import MutableClock
from bench.profiling import profile_call
from bot.app import make_calendar, make_services
from bot.config import Settings
from bot.context import Services
from bot.reads import build_current_digest, build_digest_chart, current_digest
from db.engine import Database

NOW = data.local(date(2026, 11, 30), 9, 5)  # a Monday, 09:05 in Asia/Shanghai
REPORTS_PER_TASK = 67  # 200,000 reports for 3,000 tasks


@dataclass
class Measured:
    """Seconds per digest, SQL statements of one, message parts."""

    values: list[float]
    sql: int
    parts: int


async def _runs(svc: Services, runs: int) -> list[float]:
    """Seconds of `runs` digests as the bot builds them (`current_digest`), after one."""
    await current_digest(svc)
    values: list[float] = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        await current_digest(svc)
        values.append(time.perf_counter() - start)
    return values


def _services(url: str) -> tuple[Services, Database]:
    """The bot's services on the database at `url`, at `NOW` (dispose the database after)."""
    settings = Settings.model_validate({"database": {"url": url}})
    database = Database(url)
    svc = make_services(
        settings, database, clock=MutableClock(NOW), calendar=make_calendar(settings)
    )
    return svc, database


def _charts(url: str, runs: int) -> tuple[list[float], float, int]:
    """Seconds of `runs` charts as the weekly digest draws them (`build_digest_chart`: the
    lights read afresh, drawn by a child process), after one; the growth of this process's
    VmRSS (MB) over those runs; the PNG's bytes."""
    svc, database = _services(url)
    try:
        png = build_digest_chart(svc)
        if png is None:
            raise AssertionError("no chart drawn: is the CJK font (noto-cjk-sans-otc) installed?")
        gc.collect()
        before = rss_kib(os.getpid())
        values: list[float] = []
        for _ in range(runs):
            start = time.perf_counter()
            build_digest_chart(svc)
            values.append(time.perf_counter() - start)
        gc.collect()
        return values, (rss_kib(os.getpid()) - before) / 1024, len(png)
    finally:
        database.dispose()


def _measure(ctx: Context, url: str, runs: int, label: str) -> Measured:
    svc, database = _services(url)
    counter = SqlCounter(database.engine)
    try:
        with counter.measure():
            parts = build_current_digest(svc)
        sql = counter.count
        values = asyncio.run(_runs(svc, runs))
        if ctx.extra.get("profile"):
            profile_call(ctx, f"digest-{label}", lambda: build_current_digest(svc))
        return Measured(values, sql, len(parts))
    finally:
        counter.close()
        database.dispose()


def _row(figure: str, m: Measured, scale: float, unit: str, goal: Goal, digits: int) -> Row:
    return Row(
        figure,
        [v * scale for v in m.values],
        unit,
        goal,
        digits=digits,
        note=f"{m.parts} message part(s), {m.sql} SQL statements",
    )


def run(ctx: Context) -> list[Row]:
    size = ctx.size
    runs = ctx.runs(size.digest_runs)
    rows: list[Row] = []
    ms, s = (1000.0, "ms"), (1.0, "s")

    # (a) the real scale: the plan's 30 tasks, and `scale_tasks`
    real_url = f"sqlite:///{ctx.workdir / 'digest-real.sqlite3'}"
    info = data.build_real_digest_db(real_url, now=NOW)
    ctx.log(f"digest (a): {info}")
    real = _measure(ctx, real_url, max(runs, 15), "real-sqlite")
    rows.append(
        _row("2a digest, 30 real tasks + 22 towns, SQLite", real, *ms, Goal("<", 20, "< 20 ms"), 1)
    )
    rows[-1].note += f"; {info['reports']:,} reports"
    chart_seconds, chart_growth, chart_bytes = _charts(real_url, max(runs, 3))
    rows.append(
        Row(
            "2c digest chart (lights per lead unit; drawn by a child process), 30 real tasks",
            chart_seconds,
            "s",
            Goal("<", 5.0, "< 5 s"),
            digits=2,
            note=f"PNG of {chart_bytes:,} bytes",
        )
    )
    rows.append(
        Row(
            f"2c growth of the bot's resident memory after {len(chart_seconds)} charts",
            [chart_growth],
            "MB",
            Goal("<", 5.0, "< 5 MB", size_dependent=False),
            digits=1,
            note="matplotlib stays in the child process (bot/chart.py)",
        )
    )
    scale_url = f"sqlite:///{ctx.workdir / 'digest-scale.sqlite3'}"
    scale_info = data.build_synthetic_digest_db(
        scale_url,
        tasks=size.scale_tasks,
        units=max(30, size.scale_tasks // 10),
        reports=REPORTS_PER_TASK * size.scale_tasks,
        now=NOW,
    )
    ctx.log(f"digest (a'): {scale_info}")
    scale = _measure(ctx, scale_url, max(runs, 15), "scale-sqlite")
    rows.append(
        _row(
            f"2a digest, {scale_info['tasks']} tasks, {scale_info['units']} units, "
            f"{scale_info['reports']:,} reports, SQLite",
            scale,
            *ms,
            Goal("<", 50, "< 50 ms"),
            1,
        )
    )
    rows.append(
        Row(
            f"2 SQL statements per digest at 30 and at {scale_info['tasks']} tasks (difference)",
            [float(scale.sql - real.sql)],
            "",
            Goal("==", 0, "0 (constant)", size_dependent=False),
            digits=0,
            note=f"{real.sql} statements at 30 tasks, {scale.sql} at {scale_info['tasks']}",
        )
    )
    rows.append(Row("2 SQL statements per digest (30 tasks)", [float(real.sql)], "", digits=0))

    # (b) the headroom
    def big(url: str, backend: str) -> None:
        big_info = data.build_synthetic_digest_db(
            url,
            tasks=size.digest_tasks,
            units=size.digest_units,
            reports=size.digest_reports,
            now=NOW,
        )
        ctx.log(f"digest (b, {backend}): {big_info}")
        m = _measure(ctx, url, runs, f"big-{backend}")
        label = (
            f"{big_info['tasks']:,} tasks, {big_info['units']} units, "
            f"{big_info['reports']:,} reports"
        )
        rows.append(_row(f"2b digest, {label}, {backend}", m, *s, Goal("<", 1.0, "< 1 s"), 3))

    big(f"sqlite:///{ctx.workdir / 'digest-big.sqlite3'}", "SQLite")
    if ctx.pg_admin_url and not ctx.pg_problem:
        with data.pg_database(ctx.pg_admin_url) as pg_url:
            big(pg_url, "PostgreSQL")
    else:
        rows.append(Row("2b digest, PostgreSQL", [], "", skipped=ctx.pg_problem or "no --pg-url"))
    return rows

"""2. Digest: build and render the digest as the bot does (`bot.delivery.build_current_digest`:
`repo.load_state` + `jobs.digest.build_digest` + `bot.render.render_digest`), and count the SQL
statements one digest issues.

(a) the 30 real tasks, their lead units and 22 towns, one report per unit per week for a year;
(b) 3,000 tasks, 300 units, 200,000 reports, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import date

from bench import data
from bench.common import Context, Goal, Row, SqlCounter, timed_runs
from bench.profiling import profile_call
from bot.app import make_calendar, make_services
from bot.config import Settings
from bot.delivery import build_current_digest
from bot.demo import MutableClock
from db.engine import Database

NOW = data.local(date(2026, 11, 30), 9, 5)  # a Monday, 09:05 in Asia/Shanghai


def _measure(ctx: Context, url: str, runs: int, label: str) -> tuple[list[float], int, int]:
    """Seconds of `runs` digests, the SQL statements of one, and its number of parts."""
    settings = Settings.model_validate({"database": {"url": url}})
    database = Database(url)
    svc = make_services(
        settings, database, clock=MutableClock(NOW), calendar=make_calendar(settings)
    )
    counter = SqlCounter(database.engine)
    try:
        with counter.measure():
            parts = build_current_digest(svc)
        statements = counter.count
        values = timed_runs(lambda: build_current_digest(svc), runs)
        if ctx.extra.get("profile"):
            profile_call(ctx, f"digest-{label}", lambda: build_current_digest(svc))
        return values, statements, len(parts)
    finally:
        counter.close()
        database.dispose()


def run(ctx: Context) -> list[Row]:
    size = ctx.size
    runs = ctx.runs(size.digest_runs)
    rows: list[Row] = []

    real_url = f"sqlite:///{ctx.workdir / 'digest-real.sqlite3'}"
    info = data.build_real_digest_db(real_url, now=NOW)
    ctx.log(f"digest (a): {info}")
    real, real_sql, real_parts = _measure(ctx, real_url, max(runs, 15), "real-sqlite")
    rows.append(
        Row(
            "2a digest, 30 real tasks + 22 towns, SQLite",
            [v * 1000 for v in real],
            "ms",
            Goal("<", 20, "< 20 ms"),
            digits=1,
            note=f"{info['reports']} reports, {real_parts} message part(s)",
        )
    )

    synthetic_url = f"sqlite:///{ctx.workdir / 'digest-big.sqlite3'}"
    big_info = data.build_synthetic_digest_db(
        synthetic_url,
        tasks=size.digest_tasks,
        units=size.digest_units,
        reports=size.digest_reports,
        now=NOW,
    )
    ctx.log(f"digest (b): {big_info}")
    big, big_sql, big_parts = _measure(ctx, synthetic_url, runs, "big-sqlite")
    label = (
        f"{big_info['tasks']:,} tasks, {big_info['units']} units, {big_info['reports']:,} reports"
    )
    rows.append(
        Row(
            f"2b digest, {label}, SQLite",
            big,
            "s",
            Goal("<", 1.0, "< 1 s"),
            digits=3,
            note=f"{big_parts} message parts",
        )
    )

    pg_sql: int | None = None
    pg_real_sql: int | None = None
    if ctx.pg_admin_url and not ctx.pg_problem:
        with data.pg_database(ctx.pg_admin_url) as pg_url:
            data.build_real_digest_db(pg_url, now=NOW)
            pg_real, pg_real_sql, _ = _measure(ctx, pg_url, max(runs, 15), "real-pg")
        rows.append(
            Row(
                "2a digest, 30 real tasks + 22 towns, PostgreSQL",
                [v * 1000 for v in pg_real],
                "ms",
                Goal("<", 20, "< 20 ms"),
                digits=1,
            )
        )
        with data.pg_database(ctx.pg_admin_url) as pg_url:
            data.build_synthetic_digest_db(
                pg_url,
                tasks=size.digest_tasks,
                units=size.digest_units,
                reports=size.digest_reports,
                now=NOW,
            )
            pg_big, pg_sql, _ = _measure(ctx, pg_url, runs, "big-pg")
        rows.append(
            Row(f"2b digest, {label}, PostgreSQL", pg_big, "s", Goal("<", 1.0, "< 1 s"), digits=3)
        )
    else:
        for figure in (
            "2a digest, 30 real tasks + 22 towns, PostgreSQL",
            f"2b digest, {label}, PostgreSQL",
        ):
            rows.append(Row(figure, [], "", skipped=ctx.pg_problem or "no --pg-url"))

    rows.append(
        Row(
            f"2 growth of the SQL statements per digest from 30 to {size.digest_tasks:,} tasks",
            [float(big_sql - real_sql)],
            "",
            Goal("==", 0, "0 (no growth)", size_dependent=False),
            digits=0,
            note=f"SQL statements of one digest at 30 and at {size.digest_tasks:,} tasks: "
            + f"SQLite {real_sql} and {big_sql}"
            + (f", PostgreSQL {pg_real_sql} and {pg_sql}" if pg_sql is not None else ""),
        )
    )
    rows.append(Row("2 SQL statements per digest (30 tasks)", [float(real_sql)], "", digits=0))
    return rows

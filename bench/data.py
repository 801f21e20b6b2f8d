"""Benchmark databases, built with SQLAlchemy core bulk inserts (executemany), never row by row.

Each builder starts from the real schema (Alembic `Database.upgrade`) and the shipped plan (the
30 tasks of the appendix, `db.seed.load_plan`), then adds synthetic rows. Random choices use a
fixed seed, so two runs build the same database.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import Table, insert, inspect, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Mapped
from sqlmodel import SQLModel, col

from db.engine import Database, normalise_url
from db.models import Assignment, Contact, Delivery, Plan, StatusReport, Task, Unit
from db.seed import load_plan, read_task_file
from jobs.calendar import WorkingCalendar, next_working_day
from jobs.policy import Occasion, ReminderPolicy, current_occasion, reminder_key
from jobs.types import (
    AssignmentRole,
    DeadlineBasis,
    DeliveryKind,
    DeliveryOutcome,
    ReminderKind,
    Status,
)

ZONE = ZoneInfo("Asia/Shanghai")
BATCH = 20_000

# 22 of the towns and sub-districts (镇街) of 潼南区, as in config.example.toml
TOWNS = (
    "梓潼街道 桂林街道 大佛街道 上和镇 龙形镇 古溪镇 宝龙镇 玉溪镇 米心镇 群力镇 双江镇 "
    "花岩镇 柏梓镇 崇龛镇 塘坝镇 新胜镇 太安镇 小渡镇 卧佛镇 五桂镇 田家镇 别口镇"
).split()

NOTES = (
    "已召开专题会议研究部署，正在逐户摸排核实，预计本月底前完成阶段性工作。",
    "已完成全区摸底排查，相关资金已拨付到位，正在组织验收。",
    "经费尚未落实，已向区财政局报送请示，待批复后推进。",
    "已联合各镇街开展督导检查，发现问题已当场交办整改。",
    "本周完成台账更新，新增受益残疾人情况已录入系统。",
    "项目已进入实施阶段，施工进度约百分之六十。",
)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware UTC instant for a local (Asia/Shanghai) date and time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def primary_key(column: int | None) -> Mapped[int]:
    """A SQLModel class's primary key column (typed `int | None` on the class, for rows not yet
    stored) as the column of a SELECT, where it is never NULL."""
    return cast("Mapped[int]", col(column))


def table_of(model: type[SQLModel]) -> Table:
    """The table a SQLModel table class maps (its `__table__`, which SQLModel leaves untyped)."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


def bulk_insert(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """executemany in batches; returns the number of rows."""
    batch: list[dict[str, Any]] = []
    count = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(insert(table), batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)
        count += len(batch)
    return count


# each (task, unit)'s newest report and newest report with a status, as `repo.add_report`
# keeps them in `progress` (the statement of migration 0005, which fills it for old databases)
FILL_PROGRESS = """
INSERT INTO progress (task_id, unit_id, status, status_report_id, last_report_id)
SELECT heads.task_id, heads.unit_id, withstatus.status, heads.newest_status, heads.newest
FROM (
    SELECT task_id, unit_id, MAX(id) AS newest,
           MAX(CASE WHEN status IS NOT NULL THEN id END) AS newest_status
    FROM statusreport GROUP BY task_id, unit_id
) AS heads
LEFT JOIN statusreport AS withstatus ON withstatus.id = heads.newest_status
"""


def fill_progress(conn: Connection) -> None:
    """Write the `progress` rows of bulk-inserted reports (the database has none before)."""
    conn.execute(text("DELETE FROM progress"))
    conn.execute(text(FILL_PROGRESS))


def fresh_database(url: str, *, loaded_at: datetime) -> Database:
    """An empty database at the newest schema with the shipped plan loaded."""
    database = Database(url)
    database.upgrade()
    with database.session() as s:
        load_plan(s, read_task_file(), now=loaded_at)
    return database


@dataclass
class Skeleton:
    """Ids of what a builder inserted: units, tasks with their lead units, contacts per unit."""

    unit_ids: list[int]
    tasks: list[tuple[int, int, date, tuple[int, ...]]]  # id, number, deadline, lead unit ids
    contacts: dict[int, list[tuple[int, int]]]  # unit id -> [(contact id, chat id)]


def _close_loaded(database: Database) -> None:
    """Close a database the benchmark just bulk-loaded; on PostgreSQL first gather the
    planner's statistics (`ANALYZE`), as autovacuum does shortly after such a load: without
    them its estimates are guesses (a third of the rows for any range condition)."""
    try:
        if database.engine.dialect.name == "postgresql":
            with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
    finally:
        database.dispose()


def _read_skeleton(conn: Connection) -> Skeleton:
    unit_ids = [r[0] for r in conn.execute(select(primary_key(Unit.id)).order_by(col(Unit.id)))]
    leads: dict[int, list[int]] = {}
    for task_id, unit_id in conn.execute(
        select(col(Assignment.task_id), col(Assignment.unit_id))
        .where(col(Assignment.role) == AssignmentRole.LEAD)
        .order_by(col(Assignment.task_id), col(Assignment.position))
    ):
        leads.setdefault(task_id, []).append(unit_id)
    tasks = [
        (tid, number, deadline, tuple(leads.get(tid, ())))
        for tid, number, deadline in conn.execute(
            select(primary_key(Task.id), col(Task.number), col(Task.deadline)).order_by(
                col(Task.number)
            )
        )
    ]
    contacts: dict[int, list[tuple[int, int]]] = {}
    for cid, unit_id, chat_id in conn.execute(
        select(primary_key(Contact.id), col(Contact.unit_id), col(Contact.chat_id)).order_by(
            col(Contact.id)
        )
    ):
        contacts.setdefault(unit_id, []).append((cid, chat_id))
    return Skeleton(unit_ids, tasks, contacts)


def add_units(conn: Connection, names: Sequence[str]) -> None:
    bulk_insert(conn, table_of(Unit), ({"name": n, "is_collective": False} for n in names))


def add_tasks(
    conn: Connection,
    rng: random.Random,
    *,
    first_number: int,
    count: int,
    unit_ids: Sequence[int],
    leads_per_task: tuple[int, int],
    deadlines: Sequence[date],
) -> None:
    """Insert `count` synthetic tasks numbered from `first_number`, with lead and responsible
    units drawn from `unit_ids` and a deadline drawn from `deadlines`, in the first plan."""
    plan_id = conn.execute(select(primary_key(Plan.id)).order_by(primary_key(Plan.id))).scalar()
    bulk_insert(
        conn,
        table_of(Task),
        (
            {
                "plan_id": plan_id,
                "number": first_number + i,
                "text": f"第{first_number + i}项重点任务：" + rng.choice(NOTES)[:30],
                "deadline": (deadline := rng.choice(deadlines)),
                "original_deadline": deadline,
                "deadline_basis": DeadlineBasis.PLAN,
                "deadline_by_coordinator": False,
            }
            for i in range(count)
        ),
    )
    ids = [
        r[0]
        for r in conn.execute(
            select(primary_key(Task.id))
            .where(col(Task.number) >= first_number)
            .order_by(col(Task.number))
        )
    ]

    def assignments() -> Iterable[dict[str, Any]]:
        for task_id in ids:
            n_leads = rng.randint(*leads_per_task)
            chosen = rng.sample(unit_ids, n_leads + rng.randint(0, 2))
            for position, unit_id in enumerate(chosen[:n_leads]):
                yield {
                    "task_id": task_id,
                    "unit_id": unit_id,
                    "role": AssignmentRole.LEAD,
                    "position": position,
                }
            for position, unit_id in enumerate(chosen[n_leads:]):
                yield {
                    "task_id": task_id,
                    "unit_id": unit_id,
                    "role": AssignmentRole.RESPONSIBLE,
                    "position": position,
                }

    bulk_insert(conn, table_of(Assignment), assignments())


def add_contacts(
    conn: Connection, unit_ids: Sequence[int], per_unit: int, *, first_user: int, at: datetime
) -> None:
    def rows() -> Iterable[dict[str, Any]]:
        user = first_user
        for unit_id in unit_ids:
            for k in range(per_unit):
                yield {
                    "telegram_user_id": user,
                    "chat_id": user,
                    "unit_id": unit_id,
                    "display_name": f"联络员{unit_id}-{k + 1}",
                    "created_at": at,
                }
                user += 1

    bulk_insert(conn, table_of(Contact), rows())


def report_row(
    task_id: int,
    unit_id: int,
    contact: tuple[int, int] | None,
    status: Status | None,
    at: datetime,
    note: str,
) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "unit_id": unit_id,
        "contact_id": contact[0] if contact else None,
        "reporter_user_id": contact[1] if contact else 0,
        "status": status,
        "note": note,
        "evidence_kind": None,
        "evidence_file_id": None,
        "evidence_file_name": None,
        "source": "conversation",
        "created_at": at,
    }


# ---------------------------------------------------------------- 2. digest


def build_real_digest_db(url: str, *, now: datetime) -> dict[str, int]:
    """The 30 real tasks and their lead units, plus 22 towns, one contact per unit, and one
    report per unit per week for the year before `now` (a lead unit rotates over the tasks it
    leads; a town reports on a task whose responsible units include 各镇街)."""
    rng = random.Random(2)
    database = fresh_database(url, loaded_at=now - timedelta(days=400))
    try:
        with database.engine.begin() as conn:
            add_units(conn, TOWNS)
            skeleton = _read_skeleton(conn)
            lead_ids = sorted({u for _, _, _, leads in skeleton.tasks for u in leads})
            town_ids = [
                r[0]
                for r in conn.execute(select(primary_key(Unit.id)).where(col(Unit.name).in_(TOWNS)))
            ]
            add_contacts(
                conn, lead_ids + town_ids, 1, first_user=700_000, at=now - timedelta(days=380)
            )
            skeleton = _read_skeleton(conn)
            collective = conn.execute(
                select(primary_key(Unit.id)).where(col(Unit.name) == "各镇街")
            ).scalar_one()
            town_tasks = sorted(
                r[0]
                for r in conn.execute(
                    select(col(Assignment.task_id)).where(col(Assignment.unit_id) == collective)
                )
            )
            led: dict[int, list[int]] = {}
            for task_id, _, _, leads in skeleton.tasks:
                for u in leads:
                    led.setdefault(u, []).append(task_id)
            rows: list[dict[str, Any]] = []
            for week in range(52):
                day = (now - timedelta(days=7 * (52 - week))).astimezone(ZONE).date()
                for unit_id in lead_ids:
                    tasks = led[unit_id]
                    status = _status_in_week(rng, week)
                    rows.append(
                        report_row(
                            tasks[week % len(tasks)],
                            unit_id,
                            skeleton.contacts[unit_id][0],
                            status,
                            local(day + timedelta(days=rng.randint(0, 4)), rng.randint(9, 17)),
                            rng.choice(NOTES),
                        )
                    )
                for unit_id in town_ids:
                    rows.append(
                        report_row(
                            town_tasks[(week + unit_id) % len(town_tasks)],
                            unit_id,
                            skeleton.contacts[unit_id][0],
                            _status_in_week(rng, week),
                            local(day + timedelta(days=rng.randint(0, 4)), rng.randint(9, 17)),
                            rng.choice(NOTES),
                        )
                    )
            reports = bulk_insert(conn, table_of(StatusReport), rows)
            fill_progress(conn)
        return {
            "tasks": len(skeleton.tasks),
            "units": len(skeleton.unit_ids),
            "reports": reports,
        }
    finally:
        _close_loaded(database)


def _status_in_week(rng: random.Random, week: int) -> Status | None:
    roll = rng.random()
    if roll < 0.1:
        return None  # a note-only reply
    if roll < 0.2:
        return Status.BLOCKED
    if week > 40 and roll > 0.7:
        return Status.DONE
    return Status.IN_PROGRESS


def build_synthetic_digest_db(
    url: str, *, tasks: int, units: int, reports: int, now: datetime
) -> dict[str, int]:
    """`tasks` tasks (the 30 real ones first) with 1-3 lead units among `units` units, one
    contact per unit, and `reports` reports on random (task, lead unit) pairs over the year
    before `now`."""
    rng = random.Random(3)
    database = fresh_database(url, loaded_at=now - timedelta(days=400))
    try:
        with database.engine.begin() as conn:
            existing = conn.execute(select(primary_key(Unit.id))).all()
            add_units(conn, [f"合成单位{i:04d}" for i in range(units - len(existing))])
            unit_ids = [
                r[0] for r in conn.execute(select(primary_key(Unit.id)).order_by(col(Unit.id)))
            ]
            today = now.astimezone(ZONE).date()
            deadlines = [today + timedelta(days=d) for d in range(-200, 400)]
            add_tasks(
                conn,
                rng,
                first_number=31,
                count=tasks - 30,
                unit_ids=unit_ids,
                leads_per_task=(1, 3),
                deadlines=deadlines,
            )
            add_contacts(conn, unit_ids, 1, first_user=800_000, at=now - timedelta(days=380))
            skeleton = _read_skeleton(conn)
            pairs = [(tid, u) for tid, _, _, leads in skeleton.tasks for u in leads]
            start = now - timedelta(days=365)

            def rows() -> Iterable[dict[str, Any]]:
                for _ in range(reports):
                    task_id, unit_id = rng.choice(pairs)
                    at = start + timedelta(seconds=rng.uniform(0, 365 * 86400))
                    yield report_row(
                        task_id,
                        unit_id,
                        skeleton.contacts[unit_id][0],
                        _status_in_week(rng, int((at - start).days / 7)),
                        at,
                        rng.choice(NOTES),
                    )

            inserted = bulk_insert(conn, table_of(StatusReport), rows())
            fill_progress(conn)
        return {"tasks": len(skeleton.tasks), "units": len(unit_ids), "reports": inserted}
    finally:
        _close_loaded(database)


# ---------------------------------------------------------------- 3. tick


@dataclass
class TickData:
    """What the tick benchmark needs to know about its database."""

    tasks: int
    contacts: int
    ledger: int
    current: int  # reminders current at `now` (each is either in the ledger or due)
    due: int  # of those, not in the ledger: what the "due" tick finds
    due_rows: list[dict[str, Any]]  # their ledger rows as if sent, to complete the ledger


def _occasions(
    deadline: date, today: date, policy: ReminderPolicy, calendar: WorkingCalendar
) -> list[Occasion]:
    """Every occasion of a deadline whose nominal day is on or before `today`, newest first."""
    found: list[Occasion] = []
    for d in policy.before_days:
        found.append(Occasion(ReminderKind.BEFORE, deadline - timedelta(days=d), deadline, d))
    if policy.on_the_day:
        found.append(Occasion(ReminderKind.DUE, deadline, deadline, 0))
    k = 1
    while deadline + timedelta(days=k * policy.overdue_every_days) <= today:
        on = deadline + timedelta(days=k * policy.overdue_every_days)
        found.append(Occasion(ReminderKind.OVERDUE, on, on, k * policy.overdue_every_days))
        k += 1
    past = [o for o in found if o.nominal_on <= today]
    return sorted(past, key=lambda o: o.nominal_on, reverse=True)


def build_tick_db(
    url: str,
    *,
    tasks: int,
    units: int,
    ledger: int,
    now: datetime,
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
    all_sent: bool = False,
) -> TickData:
    """`tasks` open tasks (the 30 real ones first), 3 lead units each among `units` units, 2
    contacts per unit, one 推进中 report per (task, lead unit), deadlines from a year before
    `now` to half a year after it, and a ledger of exactly `ledger` rows: every reminder
    current at `now` (all of them with `all_sent`, else all but those whose send day is today),
    then older occasions, newest first.
    """
    rng = random.Random(4)
    today = now.astimezone(ZONE).date()
    database = fresh_database(url, loaded_at=now - timedelta(days=500))
    try:
        with database.engine.begin() as conn:
            existing = conn.execute(select(primary_key(Unit.id))).all()
            add_units(conn, [f"合成单位{i:04d}" for i in range(units - len(existing))])
            unit_ids = [
                r[0] for r in conn.execute(select(primary_key(Unit.id)).order_by(col(Unit.id)))
            ]
            deadlines = [today + timedelta(days=d) for d in range(-365, 181)]
            add_tasks(
                conn,
                rng,
                first_number=31,
                count=tasks - 30,
                unit_ids=unit_ids,
                leads_per_task=(3, 3),
                deadlines=deadlines,
            )
            add_contacts(conn, unit_ids, 2, first_user=900_000, at=now - timedelta(days=480))
            skeleton = _read_skeleton(conn)
            bulk_insert(
                conn,
                table_of(StatusReport),
                (
                    report_row(
                        tid,
                        u,
                        skeleton.contacts[u][0],
                        Status.IN_PROGRESS,
                        now - timedelta(days=rng.randint(1, 60)),
                        rng.choice(NOTES),
                    )
                    for tid, _, _, leads in skeleton.tasks
                    for u in leads
                ),
            )
            fill_progress(conn)
            triples = [
                (task_id, number, deadline, unit_id, contact_id, chat_id)
                for task_id, number, deadline, leads in skeleton.tasks
                for unit_id in leads
                for contact_id, chat_id in skeleton.contacts[unit_id]
            ]
            cache: dict[date, tuple[Occasion | None, list[Occasion]]] = {}
            for _, _, deadline, _, _, _ in triples:
                if deadline not in cache:
                    cache[deadline] = (
                        current_occasion(deadline, today, policy, calendar),
                        _occasions(deadline, today, policy, calendar),
                    )

            def row(index: int, o: Occasion) -> dict[str, Any]:
                task_id, _, _, unit_id, contact_id, chat_id = triples[index]
                sent = local(next_working_day(calendar, o.nominal_on), 9, 1)
                return {
                    "key": reminder_key(task_id, unit_id, contact_id, o),
                    "kind": DeliveryKind.REMINDER,
                    "channel": "telegram",
                    "destination": str(chat_id),
                    "task_id": task_id,
                    "unit_id": unit_id,
                    "contact_id": contact_id,
                    "message_id": rng.randint(1, 10**6),
                    "outcome": DeliveryOutcome.SENT,
                    "error": None,
                    "attempts": 1,
                    "next_attempt_at": None,
                    "body": "[]",
                    "parts_sent": 0,
                    "created_at": sent,
                    "sent_at": sent,
                }

            chosen: list[dict[str, Any]] = []
            due_rows: list[dict[str, Any]] = []
            current = 0
            for index, (_, _, deadline, _, _, _) in enumerate(triples):
                occasion = cache[deadline][0]
                if occasion is None:
                    continue
                current += 1
                if all_sent or occasion.send_on < today:
                    chosen.append(row(index, occasion))
                else:
                    due_rows.append(row(index, occasion))
            # the ledger reaches `ledger` rows once the due reminders are recorded too
            ledger -= len(due_rows)
            if len(chosen) > ledger:
                raise ValueError(f"{len(chosen)} current reminders do not fit a ledger of {ledger}")
            # older occasions, newest first, at most `per_triple` per reminder recipient
            per_triple = 2 + (ledger - len(chosen)) // max(1, len(triples))
            history: list[tuple[int, int, Occasion]] = []
            for index, (_, _, deadline, _, _, _) in enumerate(triples):
                occasion, past = cache[deadline]
                older = [o for o in past if occasion is None or o.nominal_on < occasion.nominal_on]
                history.extend((-o.nominal_on.toordinal(), index, o) for o in older[:per_triple])
            history.sort(key=lambda item: (item[0], item[1]))
            chosen.extend(row(index, o) for _, index, o in history[: ledger - len(chosen)])
            # not enough real history (small sizes): older occasions of a retired plan
            real = len(chosen)
            for i in range(ledger - real):
                chosen.append({**chosen[i % real], "key": f"retired:{i}:{chosen[i % real]['key']}"})
            inserted = bulk_insert(conn, table_of(Delivery), chosen)
        contacts = sum(len(v) for v in skeleton.contacts.values())
        return TickData(
            len(skeleton.tasks),
            contacts,
            inserted + len(due_rows),
            current,
            len(due_rows),
            due_rows,
        )
    finally:
        _close_loaded(database)


# ---------------------------------------------------------------- PostgreSQL


def pg_problem(admin_url: str) -> str:
    """Why the PostgreSQL server of `admin_url` cannot be used ("" when it can)."""
    try:
        with psycopg.connect(_dsn(admin_url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any reason: report it and skip the PostgreSQL figures
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    return ""


def _dsn(url: str) -> str:
    parsed = make_url(normalise_url(url))
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def pg_database(admin_url: str, name: str | None = None) -> Any:
    """Create database `name` (default `bench_taskbot_<pid>`, so that concurrent runs on one
    server, e.g. CI and a full run, never drop each other's) on the server of `admin_url`
    (dropping a leftover first), yield its SQLAlchemy URL, drop it at the end."""
    name = name or f"bench_taskbot_{os.getpid()}"
    if name in ("test", "postgres", "template0", "template1"):
        raise ValueError(f"refusing to use database {name!r} for benchmarks")
    with psycopg.connect(_dsn(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield normalise_url(
            make_url(normalise_url(admin_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(_dsn(admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

"""The statistics read from the database (`repo.stats_input`, `jobs.stats.plan_stats`) on the
fixed data set of tests/stats_data.py, against figures worked out by hand:

| pair      | original   | in force   | claim (accepted)  | result                      |
|-----------|------------|------------|-------------------|-----------------------------|
| 1 区残联  | 2023-12-31 | 2023-12-31 (bulk move ignored) | 2024-03-15 | 超期办结       |
| 2 区民政局| 2023-06-30 | 2023-12-31 (extension) | 2023-10-08 | on time, late vs original |
| 3 区残联  | 2024-06-30 | 2024-06-30 | 2024-11-20 (after a return) | 超期办结, 1 return |
| 3 区教育局| 2024-06-30 | 2024-06-30 | 2025-03-01        | 超期办结                    |
| 4 区卫健委| 2025-12-31 | 2026-06-30 (coordinator) | -   | open, overdue               |
| 5 区民政局| 2025-06-30 | 2025-06-30 | 2025-05-01        | on time                     |
| 5 区人社局| 2025-06-30 | 2025-06-30 | - (blocked)       | open, overdue               |
| 6 区教育局| 2022-12-31 | 2022-12-31 | 2022-11-30        | on time                     |

Pairs: 8, accepted 6 (0.75), on time 3 (0.375), on time by the original 2 (0.25), 超期办结 3,
open overdue 2. Tasks: 6, done 1 2 3 6 (0.6667), on time 2 and 6 (0.3333), by the original
6 (0.1667), 超期办结 1 and 3, open overdue 4 and 5.
Reports in 2021-2025: 2+1+3+1+0+1+2+2 = 12 over 8 pairs x 10 half-year cycles: 0.15.
Reminder days: 区人社局 task 5 on 2025-07-01 (two contacts, one day) -> report 2025-08-01:
23 working days (Mon-Fri); 2025-07-28 -> 4; nudge to 区民政局 2025-04-28 -> task 5 report
2025-05-01: 3, and on task 2 (last report 2023) unanswered; 区卫健委 2025-12-01 unanswered;
the FAILED reminder is not counted. 5 reminders, 3 answered, (23+4+3)/3 = 10.0 days.
Reminders before a report: 0 on every report but 区人社局's of 2025-08-01 (2) and
区民政局's of 2025-05-01 (1): 3/12 = 0.25.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from db import repo
from db.engine import Database
from jobs.calendar import WeekdayCalendar
from jobs.stats import PlanStats, plan_stats, stats_json
from tests import db_fixtures
from tests.stats_data import store_stats_sample

fresh_db = db_fixtures.fresh_db
loaded_db = db_fixtures.loaded_db

ZONE = ZoneInfo("Asia/Shanghai")


def stats(database: Database, as_of: date = date(2026, 12, 6)) -> PlanStats:
    plan_id = store_stats_sample(database)
    with database.session() as s:
        plan, rule, tasks = repo.stats_input(
            s, plan_id=plan_id, zone=ZONE, default_day=25, as_of=as_of
        )
    period = (plan.period_start, plan.period_end)
    return plan_stats(tasks, as_of=as_of, period=period, rule=rule, calendar=WeekdayCalendar())


def test_pair_figures(loaded_db: Database) -> None:
    got = stats(loaded_db).pairs.figures()
    assert got == {
        "total": 8,
        "accepted": 6,
        "done_rate": 0.75,
        "on_time": 3,
        "on_time_rate": 0.375,
        "on_time_original": 2,
        "on_time_original_rate": 0.25,
        "overdue_done": 3,
        "open_overdue": 2,
        "returns": 1,
        "reports": 12,
        "reporting_cycles": 80,
        "reports_per_cycle": 0.15,
        "reminders": 5,
        "avg_working_days_reminder_to_report": 10.0,
        "reminders_before_report": 0.25,
    }


def test_task_figures(loaded_db: Database) -> None:
    got = stats(loaded_db).tasks.figures(pairs=False)
    assert got == {
        "total": 6,
        "accepted": 4,
        "done_rate": 0.6667,
        "on_time": 2,
        "on_time_rate": 0.3333,
        "on_time_original": 1,
        "on_time_original_rate": 0.1667,
        "overdue_done": 2,
        "open_overdue": 2,
        "returns": 1,
    }


def test_unit_figures_and_order(loaded_db: Database) -> None:
    result = stats_json("评估样例", stats(loaded_db))
    units = {u["unit"]: u for u in result["units"]}  # type: ignore[attr-defined]
    assert [u["unit"] for u in result["units"]] == [  # type: ignore[attr-defined]
        "区人社局",
        "区卫健委",
        "区教育局",
        "区残联",
        "区民政局",
    ]
    a = units["区残联"]
    assert (a["total"], a["accepted"], a["on_time"], a["overdue_done"], a["returns"]) == (
        2,
        2,
        0,
        2,
        1,
    )
    assert (a["reports"], a["reporting_cycles"], a["reports_per_cycle"]) == (5, 20, 0.25)
    b = units["区民政局"]
    assert (b["on_time"], b["on_time_original"], b["reminders"]) == (2, 1, 2)
    assert (b["avg_working_days_reminder_to_report"], b["reminders_before_report"]) == (3.0, 0.5)
    e = units["区人社局"]
    assert (e["done_rate"], e["open_overdue"], e["reminders"]) == (0.0, 1, 2)
    assert (e["avg_working_days_reminder_to_report"], e["reminders_before_report"]) == (13.5, 1.0)
    assert result["overdue_done"] == [
        {"task": 1, "unit": "区残联"},
        {"task": 3, "unit": "区残联"},
        {"task": 3, "unit": "区教育局"},
    ]
    dd = units["区卫健委"]
    assert (dd["reports_per_cycle"], dd["reminders"]) == (0.0, 1)
    assert dd["avg_working_days_reminder_to_report"] is None
    assert dd["reminders_before_report"] is None


def test_completions_read_the_return(loaded_db: Database) -> None:
    plan_id = store_stats_sample(loaded_db)
    with loaded_db.session() as s:
        done = repo.completions(s, plan_id=plan_id, zone=ZONE)
        from sqlmodel import select

        from db.models import Task, Unit

        task3 = s.exec(select(Task).where(Task.plan_id == plan_id, Task.number == 3)).one()
        unit = s.exec(select(Unit).where(Unit.name == "区残联")).one()
        pair = done[(task3.id or 0, unit.id or 0)]
    assert (pair.claimed_on, pair.accepted_on, pair.returns) == (
        date(2024, 11, 20),
        date(2024, 11, 20),
        1,
    )


def test_an_earlier_date_counts_less(loaded_db: Database) -> None:
    got = stats(loaded_db, as_of=date(2023, 12, 31))
    # by then: tasks 2 (2023-10-08) and 6 accepted; task 1 open and overdue (2023-12-31 is
    # not after it), task 6's deadline passed on time
    assert (got.tasks.total, got.tasks.accepted, got.tasks.on_time) == (6, 2, 2)
    assert got.tasks.open_overdue == 0
    assert got.pairs.reminders == 0
    # 2021-01-01..2023-12-31: 6 half-year cycles
    assert got.pairs.pair_cycles == 8 * 6


def test_the_ledger_stats_sheet(loaded_db: Database) -> None:
    import io
    from datetime import UTC, datetime

    import openpyxl

    from bot.texts import STATUS_LABEL
    from office.ledger import write_ledger

    store_stats_sample(loaded_db)
    buffer = io.BytesIO()
    with loaded_db.session() as s:
        write_ledger(
            s,
            buffer,
            zone=ZONE,
            now=datetime(2026, 12, 6, 2, 0, tzinfo=UTC),
            status_labels=STATUS_LABEL,
            calendar=WeekdayCalendar(),
        )
    buffer.seek(0)
    ws = openpyxl.load_workbook(buffer)["统计"]
    rows = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == "评估样例"]
    by_scope = {r[1]: r for r in rows}
    assert by_scope["全部任务"][2:12] == (6, 4, 0.6667, 2, 0.3333, 1, 0.1667, 2, 2, 1)
    assert by_scope["全部任务"][12:] == (None,) * 6
    assert by_scope["任务×牵头单位"][2:] == (
        *(8, 6, 0.75, 3, 0.375, 2, 0.25, 3, 2, 1),
        *(12, 80, 0.15, 5, 10.0, 0.25),
    )
    assert [r[1] for r in rows[2:7]] == ["区人社局", "区卫健委", "区教育局", "区残联", "区民政局"]
    assert by_scope["区卫健委"][16] is None  # no reminder answered: an empty cell
    assert [r[1] for r in rows[7:]] == [
        "超期办结：第1项　区残联",
        "超期办结：第3项　区残联",
        "超期办结：第3项　区教育局",
    ]
    header = [c.value for c in ws[1]]
    rate = ws.cell(row=2, column=header.index("办结率") + 1)
    assert rate.number_format == "0.0%"

"""The 督查通报's parts read from the database (`office.notices.read_bulletin`): the active
plans by default, a named plan (closed too) alone, the 办结率 as the evaluation counts it, and
the period from the last weekly digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from db.engine import Database
from jobs.calendar import WeekdayCalendar
from jobs.lights import Light, LightPolicy
from office.notices import BulletinPlan, bulletin_context, read_bulletin
from tests import db_fixtures
from tests.evaluation_data import store_sample

fresh_db = db_fixtures.fresh_db
loaded_db = db_fixtures.loaded_db

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 2, tzinfo=UTC)


def parts(database: Database, plan_id: int | None = None) -> tuple[list[BulletinPlan], datetime]:
    with database.session() as s:
        return read_bulletin(
            s,
            now=NOW,
            zone=ZONE,
            lights=LightPolicy(zone=ZONE),
            calendar=WeekdayCalendar(),
            due_soon_days=14,
            plan_id=plan_id,
        )


def test_the_active_plans_by_default_and_a_closed_one_when_named(loaded_db: Database) -> None:
    sample = store_sample(loaded_db)  # a closed plan: 6 tasks, 4 done
    found, since = parts(loaded_db)
    assert since == NOW - timedelta(days=7)  # no weekly digest sent yet
    assert [p.plan.label for p in found] == ["十四五"]
    (active,) = found
    assert active.digest.task_count == 30
    assert active.digest.light_counts[Light.RED] == 30  # the period ended on 2025-12-31
    assert (active.completion.done, active.completion.total) == (0, 30)
    (closed,), _ = parts(loaded_db, sample)
    assert closed.plan.label == "评估样例"
    assert closed.completion.percent == "66.7%"
    context = bulletin_context([closed, active], today=NOW.date(), since=since.date())
    assert [p["name"] for p in context["plans"]] == ["评估样例", "“十四五”规划"]
    assert [p["completion"] for p in context["plans"]] == ["66.7%", "0.0%"]
    assert context["period"] == "2026年11月30日至2026年12月7日"
    assert context["plans"][1]["ended"] is True
    assert context["plans"][1]["red"][0]["when"] == "规划期满未办结"

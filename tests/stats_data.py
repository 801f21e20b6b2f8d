"""The statistics' fixed data set: the evaluation's (tests/evaluation_data.py: claims before
and after the deadline, an approved extension, a bulk move, a coordinator's change) plus a
return (退回) on task 3, a half-yearly rhythm (day 1) and reminders in the send ledger.

Added to 评估样例 by `store_stats_sample`:
- 区残联 on task 3: 已完成 2024-09-01, 推进中 2024-10-01 (the return), 已完成 2024-11-20.
- reminders SENT to 区人社局 on task 5 on 2025-07-01 (to two contacts: one day) and
  2025-07-28; to 区卫健委 on task 4 on 2025-12-01; a reminder to 区残联 on task 1 that
  FAILED (not counted); a nudge to 区民政局's contact on 2025-04-28 (counts for its lead
  tasks 2 and 5).

The expected figures are written by hand in tests/storage/test_stats_store.py.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlmodel import col, select

from db import repo
from db.engine import Database
from db.models import Contact, Delivery, Plan, StatusReport, Task, Unit
from jobs.types import DeliveryKind, DeliveryOutcome, Rhythm, Status
from tests.evaluation_data import COORDINATOR, ENTERED, at, store_sample

RETURN = [
    (Status.IN_PROGRESS, "退回：缺验收材料", date(2024, 10, 1)),
    (Status.DONE, "补充材料后完成", date(2024, 11, 20)),
]


def store_stats_sample(database: Database) -> int:
    """Store 评估样例 (`store_sample`) and the additions above; returns the plan's id."""
    plan_id = store_sample(database)
    with database.session() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        plan.rhythm, plan.rhythm_day = Rhythm.HALF_YEARLY, 1
        s.add(plan)
        units = {u.name: u.id or 0 for u in s.exec(select(Unit))}
        tasks = {t.number: t.id or 0 for t in s.exec(select(Task).where(Task.plan_id == plan_id))}
        for status, note, day in RETURN:
            report = repo.add_report(
                s,
                task_id=tasks[3],
                unit_id=units["区残联"],
                contact_id=None,
                reporter_user_id=COORDINATOR,
                status=status,
                note=note,
                now=ENTERED,
                source="backfill",
                entered_by=COORDINATOR,
            )
            s.execute(
                update(StatusReport)
                .where(col(StatusReport.id) == report.id)
                .values(occurred_on=day)
            )
        contacts: dict[str, int] = {}
        for user, name in (
            (501, "区人社局"),
            (502, "区人社局"),
            (503, "区卫健委"),
            (504, "区民政局"),
            (505, "区残联"),
        ):
            contact = Contact(
                telegram_user_id=user, chat_id=user, unit_id=units[name], created_at=ENTERED
            )
            s.add(contact)
            s.flush()
            contacts[f"{name}{user}"] = contact.id or 0
        sends = [
            (DeliveryKind.REMINDER, 5, "区人社局", 501, date(2025, 7, 1), DeliveryOutcome.SENT),
            (DeliveryKind.REMINDER, 5, "区人社局", 502, date(2025, 7, 1), DeliveryOutcome.SENT),
            (DeliveryKind.REMINDER, 5, "区人社局", 501, date(2025, 7, 28), DeliveryOutcome.SENT),
            (DeliveryKind.REMINDER, 4, "区卫健委", 503, date(2025, 12, 1), DeliveryOutcome.SENT),
            (DeliveryKind.REMINDER, 1, "区残联", 505, date(2023, 6, 1), DeliveryOutcome.FAILED),
            (DeliveryKind.NUDGE, None, "区民政局", 504, date(2025, 4, 28), DeliveryOutcome.SENT),
        ]
        for index, (kind, number, name, user, day, outcome) in enumerate(sends):
            s.add(
                Delivery(
                    key=f"stats-sample:{index}",
                    kind=kind,
                    destination=str(user),
                    task_id=tasks[number] if number is not None else None,
                    unit_id=units[name] if number is not None else None,
                    contact_id=contacts[f"{name}{user}"],
                    outcome=outcome,
                    created_at=at(day),
                    sent_at=at(day) if outcome is DeliveryOutcome.SENT else None,
                )
            )
    return plan_id

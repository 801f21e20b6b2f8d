"""Storage of a held follow-up (`db.repo.hold`, migration 0009): the hold and its decision,
dropped sends in the send ledger, the first start; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from db import repo
from db.engine import Database
from db.models import AuditEvent, Delivery
from jobs.hold import HoldFinding
from jobs.types import DeliveryKind, DeliveryOutcome, HoldDecision

NOW = datetime(2026, 12, 4, 1, 30, tzinfo=UTC)
PERIOD_END = date(2025, 12, 31)


def finding(*, late: int = 3, period_end: date = PERIOD_END) -> HoldFinding:
    return HoldFinding(
        today=date(2026, 12, 4),
        period_end=period_end,
        open_pairs=3,
        late_pairs=late,
        overdue_pairs=late,
    )


def test_a_hold_is_opened_once_and_its_decision_stands(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    try:
        with database.session() as s:
            hold, new = repo.store_finding(s, finding=finding(), now=NOW)
            assert new and hold is not None and hold.id is not None
            hold_id = hold.id
        with database.session() as s:  # a restart: the same hold, not a new one
            again, new = repo.store_finding(s, finding=finding(), now=NOW + timedelta(hours=1))
            assert not new and again is not None and again.id == hold_id
            decided = repo.decide_hold(
                s, hold_id=hold_id, decision=HoldDecision.DROP, user_id=1001, now=NOW
            )
            assert decided is not None
            assert (
                repo.decide_hold(
                    s, hold_id=hold_id, decision=HoldDecision.SEND, user_id=1002, now=NOW
                )
                is None
            )  # the first decision stands
        with database.session() as s:
            assert repo.open_hold(s) is None
            # a restart after the decision: the same plan period is not held again
            assert repo.store_finding(s, finding=finding(), now=NOW) == (None, False)
            # a new plan (another period) is checked afresh
            other, new = repo.store_finding(
                s, finding=finding(period_end=date(2026, 6, 30)), now=NOW
            )
            assert new and other is not None
            event = s.exec(select(AuditEvent).where(AuditEvent.action == "decide_hold")).one()
            assert (event.actor_user_id, event.after) == (1001, "drop")
            stored = repo.get_hold(s, hold_id=hold_id)
            assert stored is not None and stored.decision is HoldDecision.DROP
    finally:
        database.dispose()


def test_a_finding_that_no_longer_holds_lifts_the_hold(database_url: str) -> None:
    """New deadlines in a reloaded task file: nothing is late, the bot lifts the hold."""
    database = Database(database_url)
    database.upgrade()
    try:
        with database.session() as s:
            hold, _ = repo.store_finding(s, finding=finding(), now=NOW)
            assert hold is not None
            assert repo.store_finding(s, finding=finding(late=0), now=NOW) == (None, False)
            assert repo.open_hold(s) is None
            lifted = repo.latest_decided_hold(s)
            assert lifted is not None
            assert (lifted.decision, lifted.decided_by) == (HoldDecision.SEND, 0)
    finally:
        database.dispose()


def test_dropped_sends_are_settled_and_never_claimed_again(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    try:
        sends = [
            repo.DroppedSend(
                key="digest:2026-W50:telegram:-100", kind=DeliveryKind.DIGEST, destination="-100"
            ),
            repo.DroppedSend(
                key="escalation:1:1:2025-12-31",
                kind=DeliveryKind.ESCALATION,
                destination="coordinators",
            ),
        ]
        with database.session() as s:
            repo.claim_delivery(
                s, key=sends[1].key, kind=sends[1].kind, destination="coordinators", now=NOW
            )  # already claimed: left as it is
            assert repo.drop_sends(s, sends=sends, now=NOW) == 1
        with database.session() as s:
            rows = {r.key: r.outcome for r in s.exec(select(Delivery)).all()}
            assert rows == {
                sends[0].key: DeliveryOutcome.DROPPED,
                sends[1].key: DeliveryOutcome.PENDING,
            }
            assert repo.settled_keys(s, keys=[sends[0].key], now=NOW) == {sends[0].key}
            assert (
                repo.claim_delivery(
                    s, key=sends[0].key, kind=DeliveryKind.DIGEST, destination="-100", now=NOW
                )
                is None
            )
    finally:
        database.dispose()


def test_the_first_start_is_recorded_once(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    try:
        with database.session() as s:
            assert repo.first_start(s) is None
            assert repo.record_first_start(s, now=NOW) == NOW
        with database.session() as s:
            assert repo.record_first_start(s, now=NOW + timedelta(days=3)) == NOW
            assert repo.first_start(s) == NOW
    finally:
        database.dispose()


def test_migration_0009_lets_a_ledger_row_be_dropped(database_url: str) -> None:
    """From a database at 0006 (PostgreSQL's outcome type without DROPPED), upgraded."""
    from alembic import command
    from alembic.config import Config

    from db.engine import MIGRATIONS_DIR

    database = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = database.engine
    try:
        command.upgrade(config, "0006")
        database.upgrade()
        with database.session() as s:
            sends = [repo.DroppedSend(key="notice:x", kind=DeliveryKind.NOTICE, destination="c")]
            assert repo.drop_sends(s, sends=sends, now=NOW) == 1
            repo.record_first_start(s, now=NOW)
        with database.session() as s:
            row = s.exec(select(Delivery)).one()
            assert row.outcome is DeliveryOutcome.DROPPED
            assert repo.first_start(s) == NOW
        command.downgrade(config, "0006")
        with database.engine.connect() as conn:
            from sqlalchemy import text

            assert conn.execute(text("SELECT outcome FROM delivery")).scalar() == "FAILED"
    finally:
        database.dispose()

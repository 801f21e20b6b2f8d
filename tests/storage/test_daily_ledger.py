"""Tests of the send ledger's rows of a message of the day (`jobs.daily`): the rows that
share a message id, and a claim released after Telegram refused the message. They run on a
temporary SQLite file, or on TEST_DATABASE_URL when it is set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db import repo
from db.engine import Database
from jobs.types import DeliveryKind, DeliveryOutcome

NOW = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)
DAY_KEY = "daily:1:2026-12-07"
ITEMS = ["reminder:11:2:1:overdue:2026-12-02", "reminder:12:2:1:overdue:2026-12-02"]


def claim(database: Database, key: str, message_id: int | None, outcome: DeliveryOutcome) -> int:
    with database.session() as s:
        row = repo.claim_delivery(s, key=key, kind=DeliveryKind.REMINDER, destination="7", now=NOW)
        assert row is not None and row.id is not None
        repo.settle_delivery(s, delivery_id=row.id, outcome=outcome, now=NOW, message_id=message_id)
        return row.id


def test_the_rows_of_a_message_are_found_by_its_id(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    try:
        ids = [claim(database, key, 42, DeliveryOutcome.SENT) for key in [DAY_KEY, *ITEMS]]
        claim(database, "daily:1:2026-12-08", 43, DeliveryOutcome.SENT)
        with database.session() as s:
            rows = repo.deliveries_for_message(s, destination="7", message_id=42)
            assert [r.id for r in rows] == ids
            assert [r.key for r in rows] == [DAY_KEY, *ITEMS]
            assert repo.deliveries_for_message(s, destination="8", message_id=42) == []
    finally:
        database.dispose()


def test_a_released_claim_can_be_claimed_again(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    try:
        day = claim(database, DAY_KEY, None, DeliveryOutcome.FAILED)
        item = claim(database, ITEMS[0], None, DeliveryOutcome.FAILED)
        with database.session() as s:
            assert repo.settled_keys(s, keys=[DAY_KEY, ITEMS[0]], now=NOW) == {DAY_KEY, ITEMS[0]}
            repo.release_delivery(s, delivery_id=day)
            repo.release_delivery(s, delivery_id=day)  # twice: nothing left to release
        with database.session() as s:
            assert repo.settled_keys(s, keys=[DAY_KEY, ITEMS[0]], now=NOW) == {ITEMS[0]}
            again = repo.claim_delivery(
                s,
                key=DAY_KEY,
                kind=DeliveryKind.REMINDER,
                destination="7",
                now=NOW + timedelta(hours=1),
            )
            assert again is not None and again.id != day
            assert (
                repo.claim_delivery(
                    s, key=ITEMS[0], kind=DeliveryKind.REMINDER, destination="7", now=NOW
                )
                is None
            )  # a refused reminder stays refused
            assert item
    finally:
        database.dispose()

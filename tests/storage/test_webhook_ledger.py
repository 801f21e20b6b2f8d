"""The send ledger's handling of the digest's copies to other channels (DingTalk, WeCom):
their retries back off and are resumed per channel, and they do not start a digest period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db import repo
from db.repo.ledger import retry_backoff
from jobs.types import DeliveryKind, DeliveryOutcome
from tests import db_fixtures

fresh_db = db_fixtures.fresh_db
NOW = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)


def _claim(s, key: str, channel: str, destination: str):  # type: ignore[no-untyped-def]
    row = repo.claim_delivery(
        s,
        key=key,
        kind=DeliveryKind.DIGEST,
        destination=destination,
        channel=channel,
        now=NOW,
        parts=["一", "二"],
    )
    assert row is not None and row.id is not None
    return row.id


def test_webhook_digest_retries_back_off_and_resume_per_channel(fresh_db) -> None:
    with fresh_db.session() as s:
        telegram = _claim(s, "digest:2026-W12:telegram:-100", "telegram", "-100")
        dingtalk = _claim(s, "digest:2026-W12:dingtalk:abcdef012345", "dingtalk", "abcdef012345")
        for delivery_id in (telegram, dingtalk):
            repo.settle_delivery(s, delivery_id=delivery_id, outcome=DeliveryOutcome.RETRY, now=NOW)
    later = NOW + timedelta(seconds=61)
    with fresh_db.session() as s:
        # the Telegram digest resumes a minute on and never takes the DingTalk row
        row = repo.claim_retry(s, kind=DeliveryKind.DIGEST, now=later, channel="telegram")
        assert row is not None and row.id == telegram
        assert repo.claim_retry(s, kind=DeliveryKind.DIGEST, now=later, channel="telegram") is None
        row = repo.claim_retry(s, kind=DeliveryKind.DIGEST, now=later, channel="dingtalk")
        assert row is not None and row.id == dingtalk and row.attempts == 2
        repo.settle_delivery(s, delivery_id=dingtalk, outcome=DeliveryOutcome.RETRY, now=later)
    with fresh_db.session() as s:
        # its second failure waits retry_backoff(2), a minute; later ones up to 30 minutes
        soon = later + timedelta(seconds=59)
        assert repo.claim_retry(s, kind=DeliveryKind.DIGEST, now=soon, channel="dingtalk") is None
        row = repo.claim_retry(
            s, kind=DeliveryKind.DIGEST, now=later + retry_backoff(2), channel="dingtalk"
        )
        assert row is not None and row.id == dingtalk and row.attempts == 3
        third = later + retry_backoff(2)
        repo.settle_delivery(s, delivery_id=dingtalk, outcome=DeliveryOutcome.RETRY, now=third)
    with fresh_db.session() as s:
        # not a minute later, as a Telegram digest would be: two minutes
        minute = third + timedelta(seconds=61)
        assert repo.claim_retry(s, kind=DeliveryKind.DIGEST, now=minute, channel="dingtalk") is None
        row = repo.claim_retry(
            s, kind=DeliveryKind.DIGEST, now=third + timedelta(minutes=2), channel="dingtalk"
        )
        assert row is not None and row.id == dingtalk
        assert retry_backoff(2) == timedelta(minutes=1)
        assert retry_backoff(7) == timedelta(minutes=30)


def test_only_the_telegram_digest_starts_a_period(fresh_db) -> None:
    with fresh_db.session() as s:
        telegram = _claim(s, "digest:2026-W12:telegram:-100", "telegram", "-100")
        wecom = _claim(s, "digest:2026-W12:wecom:abcdef012345", "wecom", "abcdef012345")
        repo.settle_delivery(s, delivery_id=telegram, outcome=DeliveryOutcome.SENT, now=NOW)
        repo.settle_delivery(
            s, delivery_id=wecom, outcome=DeliveryOutcome.SENT, now=NOW + timedelta(minutes=1)
        )
    with fresh_db.session() as s:
        assert repo.last_digest_at(s) == NOW

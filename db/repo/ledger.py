"""The send ledger: one row per message the bot sends on its own, claimed before sending and
settled after, under a unique key (at-most-once delivery across restarts).

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, bindparam, func, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from db.models import (
    Delivery,
)
from jobs.types import (
    DeliveryKind,
    DeliveryOutcome,
)

KEYS_PER_STATEMENT = 900  # SQLite without JSON functions: bound parameters per IN list
SQLITE_JSON = sqlite3.sqlite_version_info >= (3, 38, 0)  # json_each built in from 3.38


def _listed_keys(connection: Any, wanted: list[str]) -> Any:
    """`wanted` as a table of one column `value`, from one JSON array parameter (PostgreSQL
    `jsonb_array_elements_text`, SQLite 3.38+ `json_each`); None for older SQLite."""
    if connection.dialect.name == "postgresql":
        keys = bindparam("keys", wanted, type_=JSONB)
        return func.jsonb_array_elements_text(keys).table_valued("value")
    if SQLITE_JSON:
        keys = bindparam("keys", json.dumps(wanted, ensure_ascii=False))
        return func.json_each(keys).table_valued("value")
    return None


def _settled_row(now: datetime) -> ColumnElement[bool]:
    """The condition on a ledger row for its key to count as settled at `now`: every row but
    a RETRY row whose next attempt has come."""
    return (col(Delivery.outcome) != DeliveryOutcome.RETRY) | (col(Delivery.next_attempt_at) > now)


def settled_keys(session: Session, *, keys: Iterable[str], now: datetime | None = None) -> set[str]:
    """Return which of `keys` are settled in the send ledger: every row except a RETRY row
    whose `next_attempt_at` has passed at `now` (those may be claimed again). `now=None`
    counts every row, RETRY included.

    One statement with the keys as one JSON array parameter (`_listed_keys`), one index
    lookup per key; older SQLite: IN lists of `KEYS_PER_STATEMENT` keys.
    """
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    connection = session.connection()
    listed = _listed_keys(connection, wanted)
    if listed is not None:
        chunks = [col(Delivery.key).in_(select(listed.c.value))]
    else:
        size = KEYS_PER_STATEMENT
        chunks = [
            col(Delivery.key).in_(wanted[start : start + size])
            for start in range(0, len(wanted), size)
        ]
    found: set[str] = set()
    for condition in chunks:
        stmt = select(Delivery.key).where(condition)
        if now is not None:
            stmt = stmt.where(_settled_row(now))
        found.update(connection.execute(stmt).scalars())
    return found


def unsettled_keys(session: Session, *, keys: Iterable[str], now: datetime) -> set[str]:
    """Return which of `keys` are not settled in the send ledger at `now` (the complement of
    `settled_keys`: no row, or a RETRY row whose `next_attempt_at` has passed).

    The tick's question: of some 40,000 current reminders at the province's scale, which are
    still to send; usually none, so the answer is small. One statement with the keys as one
    JSON array parameter (`_listed_keys`), each looked up in the ledger's unique index;
    older SQLite: `settled_keys` subtracted.
    """
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    connection = session.connection()
    listed = _listed_keys(connection, wanted)
    if listed is None:
        return set(wanted) - settled_keys(session, keys=wanted, now=now)
    settled = (
        select(Delivery.key).where(col(Delivery.key) == listed.c.value, _settled_row(now)).exists()
    )
    stmt = select(listed.c.value).select_from(listed).where(~settled)
    return set(connection.execute(stmt).scalars())


def claim_delivery(
    session: Session,
    *,
    key: str,
    kind: DeliveryKind,
    destination: str,
    now: datetime,
    channel: str = "telegram",
    task_id: int | None = None,
    unit_id: int | None = None,
    contact_id: int | None = None,
    parts: Sequence[str] = (),
) -> Delivery | None:
    """Claim `key` for sending: insert a PENDING ledger row (holding the rendered `parts` of a
    multi-part post), or take over a RETRY row whose `next_attempt_at` has passed (its
    destination updated). Return None when the key is settled or claimed elsewhere.

    Commit before sending: the unique key and the conditional update are what make a send
    at-most-once across ticks, restarts and concurrent instances.
    """
    row = Delivery(
        key=key,
        kind=kind,
        channel=channel,
        destination=destination,
        task_id=task_id,
        unit_id=unit_id,
        contact_id=contact_id,
        body=json.dumps(list(parts), ensure_ascii=False),
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        pass
    else:
        return row
    retried = session.execute(
        update(Delivery)
        .where(
            col(Delivery.key) == key,
            col(Delivery.outcome) == DeliveryOutcome.RETRY,
            col(Delivery.next_attempt_at) <= now,
        )
        .values(
            outcome=DeliveryOutcome.PENDING,
            attempts=Delivery.attempts + 1,
            destination=destination,
            contact_id=contact_id,
        )
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", retried).rowcount != 1:
        return None
    claimed = session.exec(select(Delivery).where(Delivery.key == key)).one()
    session.refresh(claimed)
    return claimed


RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(minutes=30)
DIGEST_RETRY_AFTER = timedelta(minutes=1)


def retry_backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 30 s doubling per attempt, at most 30 minutes."""
    factor: int = 2 ** max(attempts - 1, 0)
    return min(RETRY_BASE * factor, RETRY_CAP)


def settle_delivery(
    session: Session,
    *,
    delivery_id: int,
    outcome: DeliveryOutcome,
    now: datetime,
    message_id: int | None = None,
    error: str | None = None,
) -> None:
    """Record what became of a claimed send: SENT (with its message id), FAILED, UNCERTAIN,
    or RETRY (then `next_attempt_at` is set: a minute later for a Telegram digest, which
    resumes at its next part, `retry_backoff` otherwise, also for the digest's copies to
    other channels, whose robots may be misconfigured for days). Raises `LookupError` for an
    unknown id."""
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise LookupError(f"delivery {delivery_id} not in the ledger")
    row.outcome = outcome
    row.error = error
    if message_id is not None:
        row.message_id = message_id
    if outcome == DeliveryOutcome.SENT:
        row.sent_at = now
    if outcome == DeliveryOutcome.RETRY:
        telegram_digest = row.kind == DeliveryKind.DIGEST and row.channel == "telegram"
        wait = DIGEST_RETRY_AFTER if telegram_digest else retry_backoff(row.attempts)
        row.next_attempt_at = now + wait
    session.flush()


def release_delivery(session: Session, *, delivery_id: int) -> None:
    """Remove a claim whose send certainly did not reach anyone (FAILED: refused by
    Telegram), so that its key can be claimed again: a contact's message of the day, or the
    nudge it carried, when the contact had blocked the bot (`jobs.daily`)."""
    row = session.get(Delivery, delivery_id)
    if row is not None:
        session.delete(row)
        session.flush()


def delivery_part_sent(
    session: Session, *, delivery_id: int, parts_sent: int, message_id: int | None = None
) -> None:
    """Record that the first `parts_sent` parts of a multi-part post were delivered; the
    row's `message_id` is that of its first part."""
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise LookupError(f"delivery {delivery_id} not in the ledger")
    row.parts_sent = parts_sent
    if message_id is not None and row.message_id is None:
        row.message_id = message_id
    session.flush()


def recent_delivery(
    session: Session, *, kind: DeliveryKind, destination: str, since: datetime
) -> Delivery | None:
    """The newest row of `kind` to `destination` claimed at or after `since` that went out or
    may have (PENDING, SENT, UNCERTAIN), or None: a send refused or not delivered does not
    count."""
    stmt = (
        select(Delivery)
        .where(
            Delivery.kind == kind,
            Delivery.destination == destination,
            col(Delivery.created_at) >= since,
            col(Delivery.outcome).in_(
                [DeliveryOutcome.PENDING, DeliveryOutcome.SENT, DeliveryOutcome.UNCERTAIN]
            ),
        )
        .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def delivery_parts(row: Delivery) -> list[str]:
    """The rendered parts stored with a multi-part post."""
    parts = json.loads(row.body or "[]")
    return [str(p) for p in parts] if isinstance(parts, list) else []


def claim_retry(
    session: Session,
    *,
    kind: DeliveryKind,
    now: datetime,
    key_prefix: str | None = None,
    channel: str | None = None,
) -> Delivery | None:
    """Take over the oldest RETRY row of `kind` (and with a key starting with `key_prefix`,
    and of `channel`, when given) whose `next_attempt_at` has passed (a digest stopped by an
    outage resumes from its stored parts; a queued notice goes out)."""
    conditions: list[ColumnElement[bool]] = [
        col(Delivery.kind) == kind,
        col(Delivery.outcome) == DeliveryOutcome.RETRY,
        col(Delivery.next_attempt_at) <= now,
    ]
    if channel is not None:
        conditions.append(col(Delivery.channel) == channel)
    if key_prefix is not None:
        conditions.append(col(Delivery.key).startswith(key_prefix, autoescape=True))
    candidates = session.exec(
        select(Delivery.id).where(*conditions).order_by(col(Delivery.id))
    ).all()
    for delivery_id in candidates:
        taken = session.execute(
            update(Delivery)
            .where(
                col(Delivery.id) == delivery_id,
                col(Delivery.outcome) == DeliveryOutcome.RETRY,
            )
            .values(outcome=DeliveryOutcome.PENDING, attempts=Delivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if cast("CursorResult[Any]", taken).rowcount == 1:
            row = session.get(Delivery, delivery_id)
            if row is not None:
                session.refresh(row)
            return row
    return None


def key_claimed(session: Session, *, key: str) -> bool:
    """Tell whether the send ledger holds `key` in any state."""
    return session.exec(select(Delivery.id).where(Delivery.key == key)).first() is not None


def mark_pending_uncertain(session: Session) -> int:
    """Turn ledger rows left PENDING by a crash into UNCERTAIN; return how many.

    Run at start-up, before the first tick: those sends may or may not have reached Telegram,
    and at-most-once delivery means they are not retried.
    """
    rows = session.exec(select(Delivery).where(Delivery.outcome == DeliveryOutcome.PENDING)).all()
    for row in rows:
        row.outcome = DeliveryOutcome.UNCERTAIN
        row.error = row.error or "process stopped during the send"
    session.flush()
    return len(rows)


def deliveries_for_message(
    session: Session, *, destination: str, message_id: int, channel: str = "telegram"
) -> list[Delivery]:
    """Every ledger row settled with `message_id` at `destination`, in id order: a contact's
    message of the day has its own row and one per item it carried (`jobs.daily`)."""
    stmt = (
        select(Delivery)
        .where(
            Delivery.channel == channel,
            Delivery.destination == destination,
            Delivery.message_id == message_id,
        )
        .order_by(col(Delivery.id))
    )
    return list(session.exec(stmt).all())


def sent_reminder_counts(session: Session) -> dict[tuple[int, int], int]:
    """Return {(task id, unit id): number of reminders SENT} for pairs with at least one."""
    stmt = (
        select(Delivery.task_id, Delivery.unit_id, func.count())
        .where(Delivery.kind == DeliveryKind.REMINDER, Delivery.outcome == DeliveryOutcome.SENT)
        .group_by(col(Delivery.task_id), col(Delivery.unit_id))
    )
    return {
        (task_id, unit_id): int(n)
        for task_id, unit_id, n in session.exec(stmt).all()
        if task_id is not None and unit_id is not None
    }


def last_digest_at(session: Session) -> datetime | None:
    """Return when the last weekly digest was sent to Telegram (aware UTC), or None. The
    copies posted to other channels (DingTalk, WeCom) carry the same period and do not
    start a new one."""
    stmt = (
        select(Delivery.sent_at)
        .where(
            Delivery.kind == DeliveryKind.DIGEST,
            Delivery.outcome == DeliveryOutcome.SENT,
            Delivery.channel == "telegram",
        )
        .order_by(col(Delivery.sent_at).desc())
        .limit(1)
    )
    return session.exec(stmt).first()

"""The audit trail: who changed what, when.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session

from db.models import (
    AuditEvent,
)


def record_audit(
    session: Session,
    *,
    actor_user_id: int,
    action: str,
    subject: str,
    before: object | None,
    after: object | None,
    now: datetime,
    reason: str | None = None,
) -> AuditEvent:
    """Append an audit event; non-string before/after values are stored as JSON. `reason`
    is why (as typed by the person, or stated by the bot), None when none was given."""

    def text(value: object | None) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, default=str)

    event = AuditEvent(
        actor_user_id=actor_user_id,
        action=action,
        subject=subject,
        before=text(before),
        after=text(after),
        reason=reason,
        at=now,
    )
    session.add(event)
    session.flush()
    return event

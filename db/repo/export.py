"""Read-only queries of the 台账 export (the Excel ledger).

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from db.models import (
    AuditEvent,
    Contact,
    StatusReport,
    Task,
)


def tasks_by_number(session: Session) -> list[Task]:
    """Return every task, by plan and 序号."""
    return list(session.exec(select(Task).order_by(col(Task.plan_id), col(Task.number))).all())


def contacts_by_id(session: Session) -> dict[int, Contact]:
    """Return every contact (reachable or not) keyed by its id."""
    return {c.id or 0: c for c in session.exec(select(Contact).order_by(col(Contact.id)))}


def reports_oldest_first(session: Session) -> list[StatusReport]:
    """Return every status report of every task, oldest first (ties by id)."""
    stmt = select(StatusReport).order_by(col(StatusReport.created_at), col(StatusReport.id))
    return list(session.exec(stmt).all())


def audit_trail(session: Session) -> list[AuditEvent]:
    """Return every audit event, oldest first (ties by id)."""
    stmt = select(AuditEvent).order_by(col(AuditEvent.at), col(AuditEvent.id))
    return list(session.exec(stmt).all())

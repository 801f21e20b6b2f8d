"""Roles granted in chat: coordinators and leaders added by a coordinator (`RoleGrant`).

The config's coordinators (`telegram.coordinators`) and leaders (`telegram.leaders`) are not
stored here; the bot's access check (`bot.access`) joins both. Functions take the `Session`
first and keyword-only data; they flush but never commit. Instants are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from db.models import RoleGrant
from db.repo.audit import record_audit
from jobs.types import Role


@dataclass(frozen=True)
class Grant:
    """An active role grant: the user, the role, the name given, who granted it and when."""

    telegram_user_id: int
    role: Role
    display_name: str
    granted_by: int
    granted_at: datetime


def _active(session: Session, *, telegram_user_id: int, role: Role) -> RoleGrant | None:
    return session.exec(
        select(RoleGrant).where(
            RoleGrant.telegram_user_id == telegram_user_id,
            RoleGrant.role == role.value,
            col(RoleGrant.revoked_at).is_(None),
        )
    ).first()


def has_role(session: Session, *, telegram_user_id: int, role: Role) -> bool:
    """Tell whether the user holds `role` by an active grant."""
    return _active(session, telegram_user_id=telegram_user_id, role=role) is not None


def holders(session: Session, *, role: Role) -> list[int]:
    """The Telegram user ids holding `role` by an active grant, in order of granting."""
    return list(
        session.exec(
            select(RoleGrant.telegram_user_id)
            .where(RoleGrant.role == role.value, col(RoleGrant.revoked_at).is_(None))
            .order_by(col(RoleGrant.id))
        ).all()
    )


def active_grants(session: Session) -> list[Grant]:
    """Every active grant, coordinators first, each role in order of granting."""
    rows = session.exec(
        select(RoleGrant)
        .where(col(RoleGrant.revoked_at).is_(None))
        .order_by(col(RoleGrant.role), col(RoleGrant.id))
    ).all()
    return [
        Grant(r.telegram_user_id, Role(r.role), r.display_name, r.granted_by, r.granted_at)
        for r in rows
    ]


def grant_role(
    session: Session,
    *,
    telegram_user_id: int,
    role: Role,
    display_name: str,
    granted_by: int,
    now: datetime,
) -> bool:
    """Grant `role` to the user, audited as "role.grant"; False (nothing changes) when the
    user already holds it by a grant."""
    if _active(session, telegram_user_id=telegram_user_id, role=role) is not None:
        return False
    session.add(
        RoleGrant(
            telegram_user_id=telegram_user_id,
            role=role.value,
            display_name=display_name,
            granted_by=granted_by,
            granted_at=now,
        )
    )
    session.flush()
    record_audit(
        session,
        actor_user_id=granted_by,
        action="role.grant",
        subject=f"user:{telegram_user_id}",
        before=None,
        after={"role": role.value, "name": display_name},
        now=now,
    )
    return True


def revoke_role(
    session: Session, *, telegram_user_id: int, role: Role, revoked_by: int, now: datetime
) -> bool:
    """Revoke the user's grant of `role`, audited as "role.revoke"; False (nothing changes)
    when the user holds no such grant."""
    grant = _active(session, telegram_user_id=telegram_user_id, role=role)
    if grant is None:
        return False
    grant.revoked_at = now
    grant.revoked_by = revoked_by
    session.flush()
    record_audit(
        session,
        actor_user_id=revoked_by,
        action="role.revoke",
        subject=f"user:{telegram_user_id}",
        before={"role": role.value, "name": grant.display_name},
        after=None,
        now=now,
    )
    return True

"""A held follow-up (`jobs.hold`) and its decision; the bot's first start.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from db.models import FollowUpHold, Setting
from db.repo.audit import record_audit
from db.repo.ledger import claim_delivery, settle_delivery
from db.repo.state import load_state, read_plans
from db.repo.units import default_plan_id
from jobs.calendar import WorkingCalendar
from jobs.hold import HoldFinding, assess_state
from jobs.plans import PlanView, plans_named
from jobs.state import FollowUpState
from jobs.types import DeliveryKind, DeliveryOutcome, HoldDecision

FIRST_START = "first_start"

log = logging.getLogger(__name__)


def first_start(session: Session) -> datetime | None:
    """The instant (aware UTC) the bot first started on this database, None before that."""
    row = session.get(Setting, FIRST_START)
    return datetime.fromisoformat(row.value).astimezone(UTC) if row is not None else None


def record_first_start(session: Session, *, now: datetime) -> datetime:
    """Record `now` as the first start unless one is recorded; return the recorded one.
    Raises `ValueError` if `now` is naive."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    recorded = first_start(session)
    if recorded is not None:
        return recorded
    session.add(Setting(key=FIRST_START, value=now.astimezone(UTC).isoformat()))
    session.flush()
    return now.astimezone(UTC)


def open_hold(session: Session, *, plan_id: int | None = None) -> FollowUpHold | None:
    """The undecided hold of plan `plan_id` (None: of any plan), the newest if several."""
    stmt = select(FollowUpHold).where(col(FollowUpHold.decision).is_(None))
    if plan_id is not None:
        stmt = stmt.where(FollowUpHold.plan_id == plan_id)
    return session.exec(stmt.order_by(col(FollowUpHold.id).desc())).first()


def plan_of_hold(session: Session, *, hold: FollowUpHold) -> PlanView | None:
    """The plan of `hold` when more than one plan is active (messages then name it), else
    None."""
    plans = read_plans(session)
    if not plans_named(plans):
        return None
    return next((p for p in plans if p.id == hold.plan_id), None)


def open_holds(session: Session) -> list[FollowUpHold]:
    """Every undecided hold, one per plan at most, oldest first."""
    return list(
        session.exec(
            select(FollowUpHold)
            .where(col(FollowUpHold.decision).is_(None))
            .order_by(col(FollowUpHold.id))
        ).all()
    )


def get_hold(session: Session, *, hold_id: int) -> FollowUpHold | None:
    """The hold with this id, or None."""
    return session.get(FollowUpHold, hold_id)


def latest_decided_hold(session: Session, *, plan_id: int | None = None) -> FollowUpHold | None:
    """The newest decided hold of plan `plan_id` (None: of any plan), or None."""
    stmt = select(FollowUpHold).where(col(FollowUpHold.decision).is_not(None))
    if plan_id is not None:
        stmt = stmt.where(FollowUpHold.plan_id == plan_id)
    return session.exec(stmt.order_by(col(FollowUpHold.id).desc())).first()


def store_finding(
    session: Session, *, finding: HoldFinding, now: datetime, plan_id: int | None = None
) -> tuple[FollowUpHold | None, bool]:
    """Store what the check of plan `plan_id` found; return its undecided hold (or None) and
    whether it is new. (`plan_id` None: the plan a command means when it names none.)

    A held finding opens a hold unless one is open, or one for the same plan period was
    decided (a decision stands across restarts and reloads of the same plan). A finding
    that is not held decides an open hold as SEND by the bot itself (actor 0): what it
    held is no longer a backlog.
    """
    plan_id = default_plan_id(session) if plan_id is None else plan_id
    current = open_hold(session, plan_id=plan_id)
    if not finding.held:
        if current is not None:
            decide_hold(
                session, hold_id=current.id or 0, decision=HoldDecision.SEND, user_id=0, now=now
            )
        return None, False
    if current is not None:
        return current, False
    decided = session.exec(
        select(FollowUpHold).where(
            col(FollowUpHold.decision).is_not(None),
            FollowUpHold.plan_id == plan_id,
            FollowUpHold.period_end == finding.period_end,
        )
    ).first()
    if decided is not None:
        return None, False
    row = FollowUpHold(
        plan_id=plan_id,
        found_at=now,
        found_on=finding.today,
        period_end=finding.period_end,
        open_pairs=finding.open_pairs,
        late_pairs=finding.late_pairs,
        overdue_pairs=finding.overdue_pairs,
        overdue_working_days=finding.overdue_working_days,
    )
    session.add(row)
    session.flush()
    return row, True


@dataclass(frozen=True)
class PlanCheck:
    """What `check_plans` found for one active plan: the finding (None when nothing was
    checked), the plan's undecided hold after the check, and the one before it."""

    plan: PlanView
    finding: HoldFinding | None
    hold: FollowUpHold | None
    before: FollowUpHold | None


def check_plans(
    session: Session,
    *,
    now: datetime,
    calendar: WorkingCalendar,
    zone: ZoneInfo,
    state: FollowUpState | None = None,
    lift_only: bool = False,
) -> list[PlanCheck]:
    """Check every active plan at `now` (its local date in `zone`) on its part of `state`
    (read afresh when None) and store each finding (`store_finding`): a held finding opens
    the plan's hold, one that is no longer held lifts it. With `lift_only` (a check while
    the bot runs, after deadlines or reports changed) a plan without an open hold is not
    checked, and no hold is opened: holds are opened when the bot starts or loads a plan.

    Returns one `PlanCheck` per active plan, the newest plan first (empty before a plan is
    loaded).
    """
    today = now.astimezone(zone).date()
    current: FollowUpState | None = state
    checks: list[PlanCheck] = []
    for plan in read_plans(session):
        if not plan.active:
            continue
        before = open_hold(session, plan_id=plan.id)
        if lift_only and before is None:
            checks.append(PlanCheck(plan, None, None, None))
            continue
        current = load_state(session) if current is None else current
        finding = assess_state(today, plan.period_end, current.for_plan(plan.id), calendar)
        if lift_only and finding.held:
            checks.append(PlanCheck(plan, finding, before, before))
            continue
        hold, new = store_finding(session, finding=finding, now=now, plan_id=plan.id)
        if new:
            log.info(
                "follow-up of plan %s held from now on (hold %s)",
                plan.id,
                hold.id if hold else None,
            )
        elif before is not None and hold is None:
            log.info("held follow-up %s lifted: no open pair is late enough to hold it", before.id)
        checks.append(PlanCheck(plan, finding, hold, before))
    return checks


def decide_hold(
    session: Session, *, hold_id: int, decision: HoldDecision, user_id: int, now: datetime
) -> FollowUpHold | None:
    """Record a decision on an undecided hold (audited); None when the hold is unknown or
    already decided (the first decision stands)."""
    row = session.get(FollowUpHold, hold_id)
    if row is None or row.decision is not None:
        return None
    row.decision = decision
    row.decided_by = user_id
    row.decided_at = now
    record_audit(
        session,
        actor_user_id=user_id,
        action="decide_hold",
        subject=f"hold:{hold_id}",
        before=None,
        after=decision.value,
        now=now,
    )
    session.flush()
    return row


def drop_sends(session: Session, *, sends: list[DroppedSend], now: datetime) -> int:
    """Settle each send not yet in the send ledger as DROPPED, so that it is never sent;
    return how many were dropped (keys already there are left as they are)."""
    dropped = 0
    for send in sends:
        row = claim_delivery(
            session,
            key=send.key,
            kind=send.kind,
            destination=send.destination,
            task_id=send.task_id,
            unit_id=send.unit_id,
            contact_id=send.contact_id,
            now=now,
        )
        if row is None or row.id is None:
            continue
        settle_delivery(session, delivery_id=row.id, outcome=DeliveryOutcome.DROPPED, now=now)
        dropped += 1
    return dropped


@dataclass(frozen=True)
class DroppedSend:
    """A send a held follow-up had due, to be recorded as dropped under its ledger key."""

    key: str
    kind: DeliveryKind
    destination: str
    task_id: int | None = None
    unit_id: int | None = None
    contact_id: int | None = None

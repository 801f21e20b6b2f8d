"""Closing a plan and carrying its unfinished tasks over (结转) into another plan.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes; dates
are local dates in the configured zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from db.models import Assignment, Plan, Task
from db.repo.audit import record_audit
from db.repo.hold import decide_hold, open_hold
from db.repo.state import load_state
from jobs.rhythm import check_day, rhythm_text
from jobs.types import DeadlineBasis, HoldDecision, PlanStatus, Rhythm, Status


class PlanChangeRefused(Exception):
    """A close, reopen or carry-over that cannot be done; `message` says why (Chinese, for
    the person who asked), `reason` is a short English key for logs and tests."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class OpenTask:
    """A task of a plan with its aggregate status (`FollowUpState.task_status`)."""

    id: int
    number: int
    text: str
    status: Status


@dataclass(frozen=True)
class CarryItem:
    """One task to carry over: the old task and the number it gets in the target plan."""

    from_task_id: int
    from_number: int
    new_number: int
    text: str


def _plan(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PlanChangeRefused("unknown plan", f"没有编号为 {plan_id} 的规划。")
    return plan


def _label(plan: Plan) -> str:
    return plan.short_name or plan.title


def tasks_by_status(session: Session, *, plan_id: int) -> list[OpenTask]:
    """Every task of plan `plan_id` with its aggregate status (DONE when every lead unit
    reported 已完成), by number."""
    state = load_state(session).for_plan(plan_id)
    return [OpenTask(t.id, t.number, t.text, state.task_status(t)) for t in state.tasks]


def unfinished_tasks(session: Session, *, plan_id: int) -> list[OpenTask]:
    """The tasks of plan `plan_id` not DONE (not every lead unit reported 已完成), by number."""
    return [t for t in tasks_by_status(session, plan_id=plan_id) if t.status is not Status.DONE]


def close_plan(session: Session, *, plan_id: int, actor_user_id: int, now: datetime) -> Plan:
    """Close plan `plan_id`: status CLOSED, `closed_at` = `now`, `closed_by` = the actor
    (Telegram id, 0: the console), audited ("plan.close"). An undecided hold of the plan is
    decided SEND by the actor (audited), so that nothing waits on a plan no longer followed
    up. Raises `PlanChangeRefused` for an unknown or already closed plan; `ValueError` for a
    naive `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    plan = _plan(session, plan_id)
    if plan.status is PlanStatus.CLOSED:
        raise PlanChangeRefused("already closed", f"规划“{_label(plan)}”已经关闭，不能重复关闭。")
    plan.status = PlanStatus.CLOSED
    plan.closed_at = now
    plan.closed_by = actor_user_id
    session.add(plan)
    record_audit(
        session,
        actor_user_id=actor_user_id,
        action="plan.close",
        subject=f"plan:{plan_id}",
        before=PlanStatus.ACTIVE.value,
        after=PlanStatus.CLOSED.value,
        now=now,
    )
    hold = open_hold(session, plan_id=plan_id)
    if hold is not None and hold.id is not None:
        decide_hold(
            session, hold_id=hold.id, decision=HoldDecision.SEND, user_id=actor_user_id, now=now
        )
    session.flush()
    return plan


def set_plan_rhythm(
    session: Session,
    *,
    plan_id: int,
    rhythm: Rhythm | None,
    day: int | None,
    actor_user_id: int,
    now: datetime,
) -> Plan:
    """Set plan `plan_id`'s reporting rhythm (`jobs.rhythm`; None: back to the configured
    monthly cycle, `day` then ignored) on `day` (1-28; None: the configured cycle day),
    audited ("plan.rhythm", before and after as `jobs.rhythm.rhythm_text`). Raises
    `PlanChangeRefused` for an unknown plan, `ValueError` for a day outside 1-28 or a naive
    `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if rhythm is None:
        day = None
    elif day is not None:
        check_day(day)
    plan = _plan(session, plan_id)
    before = rhythm_text(plan.rhythm, plan.rhythm_day)
    plan.rhythm = rhythm
    plan.rhythm_day = day
    session.add(plan)
    record_audit(
        session,
        actor_user_id=actor_user_id,
        action="plan.rhythm",
        subject=f"plan:{plan_id}",
        before=before,
        after=rhythm_text(rhythm, day),
        now=now,
    )
    session.flush()
    return plan


def reopen_plan(session: Session, *, plan_id: int, actor_user_id: int, now: datetime) -> Plan:
    """Reopen closed plan `plan_id` (status ACTIVE, `closed_at`/`closed_by` cleared),
    audited ("plan.reopen"). Raises `PlanChangeRefused` for an unknown or active plan."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    plan = _plan(session, plan_id)
    if plan.status is not PlanStatus.CLOSED:
        raise PlanChangeRefused("not closed", f"规划“{_label(plan)}”未关闭，无需重新启用。")
    plan.status = PlanStatus.ACTIVE
    plan.closed_at = None
    plan.closed_by = None
    session.add(plan)
    record_audit(
        session,
        actor_user_id=actor_user_id,
        action="plan.reopen",
        subject=f"plan:{plan_id}",
        before=PlanStatus.CLOSED.value,
        after=PlanStatus.ACTIVE.value,
        now=now,
    )
    session.flush()
    return plan


def carry_plan(
    session: Session, *, from_plan_id: int, into_plan_id: int, task_ids: Sequence[int] | None
) -> list[CarryItem]:
    """What `carry_over` would do, storing nothing: the unfinished tasks of `from_plan_id`
    (only those in `task_ids` unless None) not yet carried into `into_plan_id`, each with the
    number it gets there (after the target's highest number, in the old numbers' order).
    Raises `PlanChangeRefused` when a plan is unknown or both are the same plan."""
    source = _plan(session, from_plan_id)
    target = _plan(session, into_plan_id)
    if source.id == target.id:
        raise PlanChangeRefused("same plan", "不能结转到同一个规划。")
    carried = set(
        session.exec(
            select(Task.carried_from_id).where(
                Task.plan_id == into_plan_id, col(Task.carried_from_id).is_not(None)
            )
        ).all()
    )
    wanted = None if task_ids is None else set(task_ids)
    highest = session.exec(select(func.max(Task.number)).where(Task.plan_id == into_plan_id)).one()
    number = int(highest or 0)
    items: list[CarryItem] = []
    for task in unfinished_tasks(session, plan_id=from_plan_id):
        if task.id in carried or (wanted is not None and task.id not in wanted):
            continue
        number += 1
        items.append(CarryItem(task.id, task.number, number, task.text))
    return items


def carry_over(
    session: Session,
    *,
    from_plan_id: int,
    into_plan_id: int,
    task_ids: Sequence[int] | None,
    deadline: date,
    actor_user_id: int,
    now: datetime,
) -> list[Task]:
    """Carry the unfinished tasks of plan `from_plan_id` (those of `task_ids` only, unless
    None) over into plan `into_plan_id` (`carry_plan`): each becomes a new task there,
    numbered after the target's highest number, with the same text and assignments (roles,
    positions), `deadline` as deadline and original deadline, and `carried_from_id` set to
    the old task; each is audited ("task.carry", subject "task:<plan id>:<new number>"). A
    task already carried into that plan is left out. Returns the new tasks, by number."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    items = carry_plan(
        session, from_plan_id=from_plan_id, into_plan_id=into_plan_id, task_ids=task_ids
    )
    created: list[Task] = []
    for item in items:
        old = session.get(Task, item.from_task_id)
        if old is None:
            continue
        task = Task(
            plan_id=into_plan_id,
            number=item.new_number,
            text=old.text,
            deadline=deadline,
            original_deadline=deadline,
            deadline_basis=DeadlineBasis.PLAN,
            responsible_units_note=old.responsible_units_note,
            carried_from_id=old.id,
        )
        session.add(task)
        session.flush()
        for assignment in session.exec(
            select(Assignment)
            .where(Assignment.task_id == old.id)
            .order_by(col(Assignment.position), col(Assignment.id))
        ).all():
            session.add(
                Assignment(
                    task_id=task.id or 0,
                    unit_id=assignment.unit_id,
                    role=assignment.role,
                    position=assignment.position,
                )
            )
        record_audit(
            session,
            actor_user_id=actor_user_id,
            action="task.carry",
            subject=f"task:{into_plan_id}:{item.new_number}",
            before=f"task:{from_plan_id}:{item.from_number}",
            after=deadline.isoformat(),
            now=now,
        )
        created.append(task)
    session.flush()
    return created


def carried_into(session: Session, *, task_id: int) -> list[Task]:
    """The tasks that carry task `task_id` over (结转), oldest first."""
    return list(
        session.exec(
            select(Task).where(Task.carried_from_id == task_id).order_by(col(Task.id))
        ).all()
    )


def closed_plan_label(session: Session, *, plan_id: int) -> str | None:
    """The 简称 (else the title) of plan `plan_id` when it is closed, else None (an active or
    unknown plan)."""
    plan = session.get(Plan, plan_id)
    if plan is None or plan.status is not PlanStatus.CLOSED:
        return None
    return plan.short_name or plan.title

"""Units, tasks and their assignments: lookups the handlers and the task file use.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from db.models import (
    Assignment,
    Plan,
    Task,
    Unit,
)
from jobs.names import match_unit
from jobs.plans import choose_plan
from jobs.types import (
    AssignmentRole,
)


def get_unit_by_name(session: Session, *, name: str) -> Unit | None:
    """Return the unit with exactly this document name, or None."""
    return session.exec(select(Unit).where(Unit.name == name)).first()


def find_units(session: Session, *, fragment: str, limit: int = 5) -> list[Unit]:
    """Return up to `limit` units whose name contains `fragment` (for "did you mean")."""
    fragment = fragment.strip()
    if not fragment:
        return []
    rows = session.exec(select(Unit).order_by(col(Unit.id))).all()
    return [u for u in rows if fragment in u.name or u.name in fragment][:limit]


def resolve_unit(session: Session, *, text: str) -> tuple[Unit | None, list[str]]:
    """Read a unit name as a person typed it (`jobs.names.match_unit`: spaces, full-width
    characters, the 潼南区 prefix, 民政局 for 区民政局, a part naming one unit): the unit, or
    None and up to five names it may have meant (possibly none)."""
    if "\x00" in text:
        return None, []
    units = session.exec(select(Unit).order_by(col(Unit.id))).all()
    found = match_unit(text, [u.name for u in units])
    if found.name is None:
        return None, list(found.suggestions)
    return next(u for u in units if u.name == found.name), []


def lead_units(session: Session) -> list[Unit]:
    """Return every unit that leads at least one task, in order of first appearance."""
    stmt = (
        select(Unit, func.min(Assignment.task_id))
        .join(Assignment, col(Assignment.unit_id) == col(Unit.id))
        .where(Assignment.role == AssignmentRole.LEAD)
        .group_by(col(Unit.id))
        .order_by(func.min(Assignment.task_id), col(Unit.id))
    )
    return [unit for unit, _ in session.exec(stmt).all()]


def get_task(session: Session, *, number: int, plan_id: int | None = None) -> Task | None:
    """Return the task with this 序号 in plan `plan_id` (None: the plan a command means when
    it names none, `default_plan_id`), or None."""
    plan_id = default_plan_id(session) if plan_id is None else plan_id
    return session.exec(select(Task).where(Task.plan_id == plan_id, Task.number == number)).first()


def get_task_by_id(session: Session, *, task_id: int) -> Task | None:
    """Return the task with this database id (`Task.id`), or None."""
    return session.get(Task, task_id)


def is_lead_unit(session: Session, *, task_id: int, unit_id: int) -> bool:
    """Tell whether `unit_id` is a lead unit (牵头单位) of `task_id`."""
    stmt = select(Assignment.id).where(
        Assignment.task_id == task_id,
        Assignment.unit_id == unit_id,
        Assignment.role == AssignmentRole.LEAD,
    )
    return session.exec(stmt).first() is not None


def may_report(session: Session, *, task_id: int, unit_id: int) -> bool:
    """Whether a unit may report on a task: it leads it, is a responsible unit (协办), or is a
    member town of a collective unit (各镇街) named on it."""
    unit = session.get(Unit, unit_id)
    ids = [unit_id] + ([unit.parent_id] if unit is not None and unit.parent_id else [])
    stmt = select(Assignment.id).where(
        Assignment.task_id == task_id, col(Assignment.unit_id).in_(ids)
    )
    return session.exec(stmt).first() is not None


def tasks_of_unit(session: Session, *, unit_id: int) -> list[Task]:
    """The tasks a unit may report on (see `may_report`), by number."""
    unit = session.get(Unit, unit_id)
    ids = [unit_id] + ([unit.parent_id] if unit is not None and unit.parent_id else [])
    stmt = (
        select(Task)
        .join(Assignment, col(Assignment.task_id) == col(Task.id))
        .where(col(Assignment.unit_id).in_(ids))
        .order_by(col(Task.plan_id), col(Task.number))
        .distinct()
    )
    return list(session.exec(stmt).all())


def ensure_member_units(session: Session, *, members: dict[str, list[str]]) -> int:
    """Create the member towns of collective units (config `collective_units`) as units with
    `parent_id`, and re-parent existing ones; return how many were created. Unknown
    collective names are skipped (check-config reports them)."""
    created = 0
    for collective_name, names in members.items():
        collective = get_unit_by_name(session, name=collective_name)
        if collective is None or not collective.is_collective:
            continue
        for name in names:
            name = name.strip()
            if not name:
                continue
            unit = get_unit_by_name(session, name=name)
            if unit is None:
                session.add(Unit(name=name, parent_id=collective.id))
                created += 1
            elif unit.parent_id is None and not unit.is_collective:
                unit.parent_id = collective.id
    session.flush()
    return created


def tasks_led_by(session: Session, *, unit_id: int) -> list[Task]:
    """Return the tasks `unit_id` leads, by number."""
    stmt = (
        select(Task)
        .join(Assignment, col(Assignment.task_id) == col(Task.id))
        .where(Assignment.unit_id == unit_id, Assignment.role == AssignmentRole.LEAD)
        .order_by(col(Task.plan_id), col(Task.number))
    )
    return list(session.exec(stmt).all())


def unit_names_of_task(session: Session, *, task_id: int, role: AssignmentRole) -> list[str]:
    """Return the names of a task's units with `role`, in document order."""
    stmt = (
        select(Unit.name)
        .join(Assignment, col(Assignment.unit_id) == col(Unit.id))
        .where(Assignment.task_id == task_id, Assignment.role == role)
        .order_by(col(Assignment.position))
    )
    return list(session.exec(stmt).all())


def get_plan(session: Session, *, plan_id: int | None = None) -> Plan | None:
    """Return plan `plan_id` (None: `default_plan_id`'s), or None before a task file was
    loaded or for an unknown id."""
    plan_id = default_plan_id(session) if plan_id is None else plan_id
    return session.get(Plan, plan_id) if plan_id is not None else None


def first_plan_id(session: Session) -> int | None:
    """The plan loaded first (the one a button naming a task by number alone meant, before
    several plans), None before a task file was loaded."""
    return session.exec(select(Plan.id).order_by(col(Plan.id))).first()


def default_plan_id(session: Session) -> int | None:
    """The plan a command means when it names none: the newest active plan, else the newest
    plan (`jobs.plans.choose_plan`); None before a task file was loaded."""
    from db.repo.state import read_plans

    chosen = choose_plan(read_plans(session), ()).plan
    return chosen.id if chosen is not None else None

"""Units, tasks and their assignments: lookups the handlers and the task file use.

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from db.models import (
    Assignment,
    CompletionReview,
    Contact,
    CoordinationItem,
    Delivery,
    EvidenceFile,
    ExtensionRequest,
    Invite,
    Plan,
    Progress,
    StatusReport,
    Task,
    Unit,
    UnitAlias,
)
from db.repo.audit import record_audit
from jobs.names import match_unit
from jobs.plans import choose_plan
from jobs.types import (
    AssignmentRole,
)


def get_unit_by_name(session: Session, *, name: str) -> Unit | None:
    """Return the unit with exactly this document name, or None."""
    return session.exec(select(Unit).where(Unit.name == name)).first()


def find_unit(session: Session, *, name: str) -> Unit | None:
    """Return the unit whose name or one of whose aliases (`UnitAlias`: former names, units
    merged into it) is exactly `name` after stripping surrounding whitespace, else None."""
    name = name.strip()
    if not name or "\x00" in name:
        return None
    unit = get_unit_by_name(session, name=name)
    if unit is not None:
        return unit
    alias = session.exec(select(UnitAlias).where(UnitAlias.name == name)).first()
    return session.get(Unit, alias.unit_id) if alias is not None else None


def aliases_of(session: Session, *, unit_id: int) -> list[str]:
    """The aliases of a unit (its former names and those of units merged into it), oldest
    first."""
    stmt = select(UnitAlias.name).where(UnitAlias.unit_id == unit_id).order_by(col(UnitAlias.id))
    return list(session.exec(stmt).all())


def alias_names(session: Session) -> dict[str, str]:
    """Every alias with the current name of its unit: {alias: current name}."""
    stmt = select(UnitAlias.name, Unit.name).join(Unit, col(Unit.id) == col(UnitAlias.unit_id))
    return {alias: current for alias, current in session.exec(stmt).all()}


def find_units(session: Session, *, fragment: str, limit: int = 5) -> list[Unit]:
    """Return up to `limit` units whose name contains `fragment` (for "did you mean")."""
    fragment = fragment.strip()
    if not fragment:
        return []
    rows = session.exec(select(Unit).order_by(col(Unit.id))).all()
    return [u for u in rows if fragment in u.name or u.name in fragment][:limit]


def resolve_unit(session: Session, *, text: str) -> tuple[Unit | None, list[str]]:
    """Read a unit name as a person typed it (`jobs.names.match_unit`: spaces, full-width
    characters, the 潼南区 prefix, 民政局 for 区民政局, a part naming one unit), first as a
    name or alias exactly, then against current names, then against aliases (former names,
    units merged into another): the unit, or None and up to five current names it may have
    meant (possibly none)."""
    if "\x00" in text:
        return None, []
    exact = find_unit(session, name=text)
    if exact is not None:
        return exact, []
    units = session.exec(select(Unit).order_by(col(Unit.id))).all()
    found = match_unit(text, [u.name for u in units])
    if found.name is not None:
        return next(u for u in units if u.name == found.name), []
    by_alias = {
        a.name: a.unit_id for a in session.exec(select(UnitAlias).order_by(col(UnitAlias.id)))
    }
    if by_alias:
        former = match_unit(text, list(by_alias))
        if former.name is not None:
            return session.get(Unit, by_alias[former.name]), []
    return None, list(found.suggestions)


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
    `parent_id`, and re-parent existing ones; return how many were created. Names are
    matched by name or alias (a renamed town is not created again under its old name).
    Unknown collective names are skipped (check-config reports them)."""
    created = 0
    for collective_name, names in members.items():
        collective = find_unit(session, name=collective_name)
        if collective is None or not collective.is_collective:
            continue
        for name in names:
            name = name.strip()
            if not name:
                continue
            unit = find_unit(session, name=name)
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


UNIT_NAME_LIMIT = 100
"""Longest unit name (characters), the width of `Unit.name` and `UnitAlias.name`."""


class UnitChangeRefused(ValueError):
    """A rename or merge of units that cannot be done; the message (English) says why.
    `reason` is one of "no_unit", "empty", "too_long", "same", "taken", "same_unit",
    "collective", "members", "shared" (then `tasks` holds the task numbers) for callers
    that answer in their own words."""

    def __init__(self, reason: str, message: str, *, tasks: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.tasks = tasks


@dataclass(frozen=True)
class UnitFootprint:
    """What hangs on a unit, as a rename or merge preview shows it: the numbers of the tasks
    naming it (sorted, each once), how many contacts, status reports and aliases it has."""

    task_numbers: tuple[int, ...]
    contacts: int
    reports: int
    aliases: tuple[str, ...]


def unit_footprint(session: Session, *, unit_id: int) -> UnitFootprint:
    """Count what hangs on `unit_id` (`UnitFootprint`)."""
    numbers = session.exec(
        select(Task.number)
        .join(Assignment, col(Assignment.task_id) == col(Task.id))
        .where(Assignment.unit_id == unit_id)
        .distinct()
    ).all()
    contacts = session.exec(
        select(func.count()).select_from(Contact).where(Contact.unit_id == unit_id)
    ).one()
    reports = session.exec(
        select(func.count()).select_from(StatusReport).where(StatusReport.unit_id == unit_id)
    ).one()
    return UnitFootprint(
        task_numbers=tuple(sorted(set(numbers))),
        contacts=int(contacts),
        reports=int(reports),
        aliases=tuple(aliases_of(session, unit_id=unit_id)),
    )


def shared_task_numbers(session: Session, *, unit_id: int, other_unit_id: int) -> list[int]:
    """The numbers of the tasks naming both units (sorted, each once)."""
    mine = select(Assignment.task_id).where(Assignment.unit_id == unit_id)
    stmt = (
        select(Task.number)
        .join(Assignment, col(Assignment.task_id) == col(Task.id))
        .where(Assignment.unit_id == other_unit_id, col(Assignment.task_id).in_(mine))
        .distinct()
    )
    return sorted(set(session.exec(stmt).all()))


def _unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise UnitChangeRefused("no_unit", f"there is no unit with id {unit_id}")
    return unit


def check_new_unit_name(session: Session, *, unit_id: int, name: str) -> str:
    """The name `unit_id` may be renamed to, stripped; raises `UnitChangeRefused` for an
    empty name, one over `UNIT_NAME_LIMIT` characters, the unit's own current name, or a
    name (or alias) of another unit. A former name of the same unit is allowed."""
    unit = _unit(session, unit_id)
    new = name.strip()
    if not new or "\x00" in new:
        raise UnitChangeRefused("empty", "the new name is empty")
    if len(new) > UNIT_NAME_LIMIT:
        raise UnitChangeRefused(
            "too_long", f"the new name has {len(new)} characters; at most {UNIT_NAME_LIMIT}"
        )
    if new == unit.name:
        raise UnitChangeRefused("same", f"the unit is already named {new}")
    holder = find_unit(session, name=new)
    if holder is not None and holder.id != unit.id:
        raise UnitChangeRefused("taken", f"{new} is already a name of the unit {holder.name}")
    return new


def rename_unit(
    session: Session, *, unit_id: int, new_name: str, actor_user_id: int, now: datetime
) -> Unit:
    """Give a unit a new name (机构改革); its current name becomes an alias (`UnitAlias`), so
    every history (tasks, contacts, reports) stays with it and the old name still finds it.
    Renaming back to a former name drops that alias. Audited ("unit.rename", before/after
    the names). Raises `UnitChangeRefused` (see `check_new_unit_name`, or an unknown id)."""
    unit = _unit(session, unit_id)
    new = check_new_unit_name(session, unit_id=unit_id, name=new_name)
    old = unit.name
    former = session.exec(select(UnitAlias).where(UnitAlias.name == new)).first()
    if former is not None:
        session.delete(former)
        session.flush()
    unit.name = new
    session.add(unit)
    session.flush()
    session.add(UnitAlias(name=old, unit_id=unit_id, created_at=now))
    record_audit(
        session,
        actor_user_id=actor_user_id,
        action="unit.rename",
        subject=f"unit:{unit_id}",
        before=old,
        after=new,
        now=now,
    )
    session.flush()
    return unit


def check_merge(session: Session, *, unit_id: int, into_unit_id: int) -> tuple[Unit, Unit]:
    """The two units of a merge of `unit_id` into `into_unit_id`; raises `UnitChangeRefused`
    for an unknown id, the same unit twice, a collective unit (各镇街) on either side, a unit
    that has member towns, or units named on the same task ("shared", the task numbers in
    `UnitChangeRefused.tasks`): the task file names both there, and loading it again would
    name the merged unit twice on one task."""
    unit, into = _unit(session, unit_id), _unit(session, into_unit_id)
    if unit.id == into.id:
        raise UnitChangeRefused("same_unit", f"{unit.name} cannot be merged into itself")
    for side in (unit, into):
        if side.is_collective:
            raise UnitChangeRefused(
                "collective", f"{side.name} is a collective unit (各镇街); it cannot be merged"
            )
    members = session.exec(select(Unit.name).where(Unit.parent_id == unit_id)).all()
    if members:
        raise UnitChangeRefused(
            "members", f"{unit.name} has member units ({'、'.join(members)}); it cannot be merged"
        )
    shared = shared_task_numbers(session, unit_id=unit_id, other_unit_id=into_unit_id)
    if shared:
        numbers = ", ".join(map(str, shared))
        raise UnitChangeRefused(
            "shared",
            f"{unit.name} and {into.name} are both named on tasks {numbers}; edit the task "
            "file first so that each of these tasks names one of them",
            tasks=tuple(shared),
        )
    return unit, into


def merge_unit(
    session: Session, *, unit_id: int, into_unit_id: int, actor_user_id: int, now: datetime
) -> Unit:
    """Merge unit A (`unit_id`) into unit B (`into_unit_id`) and return B.

    A's name and aliases become B's aliases; A's assignments, contacts, invites, status
    reports, progress rows, evidence files, extension requests, completion reviews,
    deliveries and coordination items (raised or assigned) move to B;
    A's row is deleted. Units named on the same task are refused (`check_merge`). Where both
    have a progress row on a task (reports kept from an earlier assignment), B keeps one: the
    newest report of both (by report id) and the newest with a status. Audited
    ("unit.merge"). Raises `UnitChangeRefused` (see `check_merge`).
    """
    unit, into = check_merge(session, unit_id=unit_id, into_unit_id=into_unit_id)
    old_name, aliases = unit.name, aliases_of(session, unit_id=unit_id)
    into_progress = {
        p.task_id: p for p in session.exec(select(Progress).where(Progress.unit_id == into_unit_id))
    }
    for pair in session.exec(select(Progress).where(Progress.unit_id == unit_id)).all():
        kept_row = into_progress.get(pair.task_id)
        if kept_row is None:
            pair.unit_id = into_unit_id
            session.add(pair)
            continue
        if pair.last_report_id > kept_row.last_report_id:
            kept_row.last_report_id = pair.last_report_id
        if pair.status_report_id is not None and (
            kept_row.status_report_id is None or pair.status_report_id > kept_row.status_report_id
        ):
            kept_row.status_report_id, kept_row.status = pair.status_report_id, pair.status
        session.delete(pair)
        session.flush()
        session.add(kept_row)
    session.flush()
    for model in (
        Assignment,
        Contact,
        Invite,
        StatusReport,
        EvidenceFile,
        ExtensionRequest,
        Delivery,
        UnitAlias,
        CompletionReview,
    ):
        table = model.__table__  # type: ignore[union-attr]
        session.execute(
            update(table).where(table.c.unit_id == unit_id).values(unit_id=into_unit_id)
        )
    items = CoordinationItem.__table__  # type: ignore[attr-defined]
    for column in ("raised_by_unit_id", "assigned_unit_id"):  # coordination items (协调事项)
        session.execute(
            update(items).where(items.c[column] == unit_id).values({column: into_unit_id})
        )
    session.expire_all()
    session.delete(_unit(session, unit_id))
    session.flush()
    session.add(UnitAlias(name=old_name, unit_id=into_unit_id, created_at=now))
    record_audit(
        session,
        actor_user_id=actor_user_id,
        action="unit.merge",
        subject=f"unit:{into_unit_id}",
        before={"unit": old_name, "aliases": aliases},
        after={"into": into.name},
        now=now,
    )
    session.flush()
    return _unit(session, into_unit_id)

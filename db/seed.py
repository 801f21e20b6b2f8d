"""The task file: read it, validate it, and load it into the database idempotently.

The shipped file `db/data/plan.toml` holds the 30 tasks of the appendix 重点任务分工 of
潼南府办发〔2022〕23号. A deployment may point `tasks.file` in the config at an edited copy;
`taskbot plan load FILE` loads another plan beside it. A plan is identified by its 文号
(`document_number`): loading a file updates the plan with the same 文号, or adds a new plan.
Loading twice changes nothing; loading an edited file updates texts, units and deadlines in
place and never deletes reports. A deadline a coordinator changed is left alone. Unit names
are matched by name or by alias (`UnitAlias`), so a renamed unit keeps its tasks.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, col, delete, select

from db.models import Assignment, Indicator, Plan, Task, Unit, UnitAlias
from db.repo import record_audit
from db.repo.milestones import MILESTONE_TEXT_LIMIT, add_milestone
from jobs.indicators import parse_target
from jobs.plans import default_short_name, period_in_title
from jobs.rhythm import check_day, parse_rhythm, rhythm_text
from jobs.types import AssignmentRole, IndicatorAttribute, IndicatorKind, Rhythm

DEFAULT_TASK_FILE = Path(__file__).resolve().parent / "data" / "plan.toml"
COLLECTIVE_UNITS = frozenset({"各镇街", "有关镇街"})


class TaskFileError(ValueError):
    """The task file is missing, not TOML, or not shaped as documented; the message says where."""


@dataclass(frozen=True)
class TaskRecord:
    """One task of the file: 序号, text, unit names in document order, deadline (local date)."""

    number: int
    text: str
    lead_units: tuple[str, ...]
    responsible_units: tuple[str, ...]
    deadline: date
    responsible_units_note: str | None = None
    # yearly milestones (年度目标): (due date, text), by due date
    milestones: tuple[tuple[date, str], ...] = ()

    def as_json(self) -> dict[str, object]:
        """Return the JSON shape of `taskbot tasks --json`."""
        return {
            "number": self.number,
            "text": self.text,
            "lead_units": list(self.lead_units),
            "responsible_units": list(self.responsible_units),
            "deadline": self.deadline.isoformat(),
        }


@dataclass(frozen=True)
class IndicatorRecord:
    """One main indicator of the file (主要指标): 序号, name without its measure, measure
    (%, 人), target as the document writes it, kind and attribute."""

    number: int
    name: str
    measure: str
    target: str
    kind: IndicatorKind
    attribute: IndicatorAttribute


@dataclass(frozen=True)
class PlanRecord:
    """The plan's identity and its tasks, as read from the task file."""

    title: str
    document_number: str
    issued_on: date
    period_end: date
    tasks: tuple[TaskRecord, ...]
    short_name: str = ""  # 简称; empty: `jobs.plans.default_short_name`
    period_start: date | None = None  # None: as the title says, else 1 January of issued_on
    indicators: tuple[IndicatorRecord, ...] = ()
    # 报送频次 (`jobs.rhythm`); None: the file names none (a new plan follows the configured
    # monthly cycle, a reloaded one keeps the rhythm it has)
    rhythm: Rhythm | None = None
    rhythm_day: int | None = None

    def start(self) -> date:
        """The first day of the plan's period: `period_start`, else 1 January of the first
        year the title names, else of the issue year (never after `period_end`)."""
        if self.period_start is not None:
            return self.period_start
        years = period_in_title(self.title)
        first = years[0] if years else self.issued_on.year
        return min(date(first, 1, 1), self.period_end)

    def name(self) -> str:
        """The plan's 简称: `short_name`, else `jobs.plans.default_short_name`."""
        return self.short_name or default_short_name(self.title, self.start(), self.period_end)

    def unit_names(self) -> list[str]:
        """Return every unit name, lead units first, in order of first appearance."""
        names: dict[str, None] = {}
        for task in self.tasks:
            names.update(dict.fromkeys(task.lead_units))
        for task in self.tasks:
            names.update(dict.fromkeys(task.responsible_units))
        return list(names)


def _date(value: object, where: str) -> date:
    if isinstance(value, datetime):
        raise TaskFileError(f"{where}: expected a date like 2025-12-31, got a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise TaskFileError(f"{where}: expected a date like 2025-12-31, got {value!r}")


def _names(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TaskFileError(f"{where}: expected a list of unit names")
    names = tuple(v.strip() for v in value)
    if len(set(names)) != len(names):
        raise TaskFileError(f"{where}: a unit is named twice")
    return names


# a 简称 commands would read as the tasks they name (5, 1-3, 全部)
_NOT_A_PLAN_NAME = re.compile(r"全部|[0-9０-９][0-9０-９,，、\-—–~～]*")

TOP_KEYS = ("plan", "tasks", "indicators")
PLAN_KEYS = (
    "title",
    "document_number",
    "short_name",
    "issued_on",
    "period_start",
    "period_end",
    "default_deadline",
    "rhythm",
    "rhythm_day",
)
TASK_KEYS = (
    "number",
    "text",
    "lead_units",
    "responsible_units",
    "responsible_units_note",
    "deadline",
    "milestones",
)
INDICATOR_KEYS = ("number", "name", "measure", "target", "kind", "attribute")
ATTRIBUTE_WORDS = {
    "约束性": IndicatorAttribute.BINDING,
    "预期性": IndicatorAttribute.EXPECTED,
    "binding": IndicatorAttribute.BINDING,
    "expected": IndicatorAttribute.EXPECTED,
}
KIND_WORDS = {
    "level": IndicatorKind.LEVEL,
    "cumulative": IndicatorKind.CUMULATIVE,
    "年度": IndicatorKind.LEVEL,
    "累计": IndicatorKind.CUMULATIVE,
}


def _known_keys(table: dict[str, object], known: tuple[str, ...], where: str) -> None:
    """Raise `TaskFileError` for a key of `table` not in `known` (a misspelt `deadline` would
    otherwise be ignored and the default deadline kept), naming the closest known key."""
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
            raise TaskFileError(f"{where}: unknown key {key!r}{hint}")


def read_task_file(path: Path | None = None) -> PlanRecord:
    """Parse and validate a task file (default: the shipped plan). Raises `TaskFileError`."""
    path = path or DEFAULT_TASK_FILE
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TaskFileError(f"{path}: file not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TaskFileError(f"{path}: not valid TOML: {exc}") from exc
    _known_keys(raw, TOP_KEYS, f"{path}")
    plan = raw.get("plan")
    if not isinstance(plan, dict):
        raise TaskFileError(f"{path}: missing [plan] table")
    _known_keys(plan, PLAN_KEYS, f"{path}: [plan]")
    for key in ("title", "document_number"):
        if not isinstance(plan.get(key), str) or not plan[key].strip():
            raise TaskFileError(f"{path}: [plan].{key} must be a non-empty string")
    issued_on = _date(plan.get("issued_on"), f"{path}: [plan].issued_on")
    period_end = _date(plan.get("period_end"), f"{path}: [plan].period_end")
    period_start = (
        _date(plan["period_start"], f"{path}: [plan].period_start")
        if "period_start" in plan
        else None
    )
    if period_start is not None and period_start > period_end:
        raise TaskFileError(f"{path}: [plan].period_start is after period_end")
    short_name = plan.get("short_name", "")
    if not isinstance(short_name, str) or len(short_name.strip()) > 30 or " " in short_name.strip():
        raise TaskFileError(f"{path}: [plan].short_name must be one word of at most 30 characters")
    if _NOT_A_PLAN_NAME.fullmatch(short_name.strip()):
        raise TaskFileError(
            f"{path}: [plan].short_name cannot be a task number, a range of numbers or 全部 "
            "(a command would read it as such): give the plan a name such as 十五五 or 2027年"
        )
    default_deadline = _date(
        plan.get("default_deadline", period_end), f"{path}: [plan].default_deadline"
    )
    rhythm, rhythm_day = _rhythm(plan, f"{path}: [plan]")
    tasks_raw = raw.get("tasks")
    if not isinstance(tasks_raw, list) or not tasks_raw:
        raise TaskFileError(f"{path}: no [[tasks]] entries")
    tasks: list[TaskRecord] = []
    seen: set[int] = set()
    for index, item in enumerate(tasks_raw, start=1):
        where = f"{path}: task #{index}"
        if not isinstance(item, dict):
            raise TaskFileError(f"{where}: not a table")
        number = item.get("number")
        valid_number = isinstance(number, int) and not isinstance(number, bool) and number > 0
        _known_keys(item, TASK_KEYS, f"{path}: task {number}" if valid_number else where)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise TaskFileError(f"{where}: number must be a positive integer")
        if number in seen:
            raise TaskFileError(f"{where}: number {number} used twice")
        seen.add(number)
        where = f"{path}: task {number}"
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TaskFileError(f"{where}: text must be a non-empty string")
        leads = _names(item.get("lead_units"), f"{where}: lead_units")
        if not leads:
            raise TaskFileError(f"{where}: a task needs at least one lead unit")
        responsible = _names(item.get("responsible_units", []), f"{where}: responsible_units")
        note = item.get("responsible_units_note")
        if note is not None and not isinstance(note, str):
            raise TaskFileError(f"{where}: responsible_units_note must be a string")
        deadline = _date(item.get("deadline", default_deadline), f"{where}: deadline")
        milestones = _milestones(item.get("milestones", []), f"{where}: milestones")
        late = [due_on for due_on, _ in milestones if due_on > deadline]
        if late:
            raise TaskFileError(
                f"{where}: milestones: due_on {late[0]} is after the task's deadline {deadline}"
            )
        tasks.append(
            TaskRecord(
                number=number,
                text=text.strip(),
                lead_units=leads,
                responsible_units=responsible,
                deadline=deadline,
                responsible_units_note=note,
                milestones=milestones,
            )
        )
    record = PlanRecord(
        indicators=_read_indicators(raw.get("indicators", []), path),
        title=plan["title"].strip(),
        document_number=plan["document_number"].strip(),
        issued_on=issued_on,
        period_end=period_end,
        tasks=tuple(sorted(tasks, key=lambda t: t.number)),
        short_name=short_name.strip(),
        period_start=period_start,
        rhythm=rhythm,
        rhythm_day=rhythm_day,
    )
    start = record.start()
    for task in record.tasks:
        early = [due_on for due_on, _ in task.milestones if due_on < start]
        if early:
            raise TaskFileError(
                f"{path}: task {task.number}: milestones: due_on {early[0]} is before the "
                f"plan's period ({start})"
            )
    return record


def _read_indicators(items: object, path: Path) -> tuple[IndicatorRecord, ...]:
    """The file's `[[indicators]]`, sorted by number; raises `TaskFileError` for unknown
    keys, a number used twice, an empty name or target, a bad kind or attribute."""
    if not isinstance(items, list):
        raise TaskFileError(f"{path}: indicators must be [[indicators]] tables")
    records: list[IndicatorRecord] = []
    seen: set[int] = set()
    for index, item in enumerate(items, start=1):
        where = f"{path}: indicator #{index}"
        if not isinstance(item, dict):
            raise TaskFileError(f"{where}: not a table")
        number = item.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            _known_keys(item, INDICATOR_KEYS, where)
            raise TaskFileError(f"{where}: number must be a positive integer")
        where = f"{path}: indicator {number}"
        _known_keys(item, INDICATOR_KEYS, where)
        if number in seen:
            raise TaskFileError(f"{path}: indicator #{index}: number {number} used twice")
        seen.add(number)
        texts: dict[str, str] = {}
        for key in ("name", "target"):
            value = item.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and key == "target":
                value = str(value)
            if not isinstance(value, str) or not value.strip():
                raise TaskFileError(f"{where}: {key} must be a non-empty string")
            texts[key] = value.strip()
        measure = item.get("measure", "")
        if not isinstance(measure, str) or len(measure.strip()) > 20:
            raise TaskFileError(f"{where}: measure must be a string of at most 20 characters")
        kind = KIND_WORDS.get(str(item.get("kind", "level")).strip())
        if kind is None:
            raise TaskFileError(f"{where}: kind must be level or cumulative, got {item['kind']!r}")
        attribute = ATTRIBUTE_WORDS.get(str(item.get("attribute", "")).strip())
        if attribute is None:
            raise TaskFileError(
                f"{where}: attribute must be 约束性 or 预期性, got {item.get('attribute')!r}"
            )
        records.append(
            IndicatorRecord(
                number=number,
                name=texts["name"],
                measure=measure.strip(),
                target=texts["target"],
                kind=kind,
                attribute=attribute,
            )
        )
    return tuple(sorted(records, key=lambda r: r.number))


def _load_indicators(session: Session, plan_id: int, records: Sequence[IndicatorRecord]) -> int:
    """Upsert the plan's indicators by number; values and the owner unit are kept, and
    indicators missing from the file are kept. Returns how many were added or changed."""
    rows = {
        i.number: i for i in session.exec(select(Indicator).where(Indicator.plan_id == plan_id))
    }
    changed = 0
    for record in records:
        target = parse_target(record.target)
        wanted = (
            record.name,
            record.measure,
            record.target,
            target.comparison,
            target.value,
            record.kind,
            record.attribute,
        )
        row = rows.get(record.number)
        if row is None:
            row = Indicator(plan_id=plan_id, number=record.number, name=record.name, target_text="")
            session.add(row)
        elif (
            row.name,
            row.measure,
            row.target_text,
            row.comparison,
            row.target_value,
            row.kind,
            row.attribute,
        ) == wanted:
            continue
        (
            row.name,
            row.measure,
            row.target_text,
            row.comparison,
            row.target_value,
            row.kind,
            row.attribute,
        ) = wanted
        changed += 1
    session.flush()
    return changed


def _milestones(value: object, where: str) -> tuple[tuple[date, str], ...]:
    """A task's `[[tasks.milestones]]`: each a table with `due_on` (a date) and `text` (a
    non-empty string of at most `repo.MILESTONE_TEXT_LIMIT` characters). Raises
    `TaskFileError`."""
    if not isinstance(value, list):
        raise TaskFileError(f"{where}: expected [[tasks.milestones]] tables")
    found: list[tuple[date, str]] = []
    for index, item in enumerate(value, start=1):
        here = f"{where} #{index}"
        if not isinstance(item, dict):
            raise TaskFileError(f"{here}: not a table")
        _known_keys(item, ("due_on", "text"), here)
        due_on = _date(item.get("due_on"), f"{here}: due_on")
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TaskFileError(f"{here}: text must be a non-empty string")
        text = " ".join(text.split())
        if len(text) > MILESTONE_TEXT_LIMIT:
            raise TaskFileError(f"{here}: text is longer than {MILESTONE_TEXT_LIMIT} characters")
        if (due_on, text) in found:
            raise TaskFileError(f"{here}: the same milestone twice")
        found.append((due_on, text))
    return tuple(sorted(found))


def _rhythm(plan: dict[str, object], where: str) -> tuple[Rhythm | None, int | None]:
    """The [plan] table's `rhythm` (monthly, quarterly, half_yearly or their Chinese names)
    and `rhythm_day` (1-28, only with a rhythm). Raises `TaskFileError`."""
    name = plan.get("rhythm")
    day = plan.get("rhythm_day")
    if name is None:
        if day is not None:
            raise TaskFileError(f"{where}.rhythm_day needs a rhythm (monthly, quarterly ...)")
        return None, None
    if not isinstance(name, str):
        raise TaskFileError(f"{where}.rhythm must be monthly, quarterly or half_yearly")
    try:
        rhythm = parse_rhythm(name)
    except ValueError as exc:
        raise TaskFileError(f"{where}.rhythm: {exc}") from exc
    if day is None:
        return rhythm, None
    try:
        return rhythm, check_day(day)  # type: ignore[arg-type]
    except ValueError as exc:
        raise TaskFileError(f"{where}.rhythm_day: {exc}") from exc


@dataclass(frozen=True)
class LoadSummary:
    """What a load changed: counts of tasks added, tasks updated and units added; the plan's
    id and 简称, and whether the load added the plan."""

    tasks_added: int
    tasks_updated: int
    units_added: int
    plan_id: int = 0
    plan_name: str = ""
    plan_added: bool = False
    indicators_changed: int = 0

    @property
    def changed(self) -> bool:
        """True when the load wrote anything."""
        return bool(
            self.plan_added
            or self.tasks_added
            or self.tasks_updated
            or self.units_added
            or self.indicators_changed
        )


def _describe_units(
    assignments: Sequence[tuple[int | None, AssignmentRole, int]], names: dict[int | None, str]
) -> str:
    """The units of a task for an audit event, in document order: 牵头：A、B；责任：C."""
    parts = []
    for role, label in ((AssignmentRole.LEAD, "牵头"), (AssignmentRole.RESPONSIBLE, "责任")):
        listed = sorted((position, unit_id) for unit_id, r, position in assignments if r == role)
        parts.append(label + "：" + "、".join(names.get(u, f"#{u}") for _, u in listed))
    return "；".join(parts)


def _wanted_assignments(
    record: TaskRecord, units: dict[str, Unit]
) -> list[tuple[int | None, AssignmentRole, int]]:
    """A task's assignments as the file names its units: (unit id, role, position), each
    unit once: a unit named twice (by its name and a former name, or two units merged into
    one) keeps its first place, a lead role before a responsible one."""
    wanted: list[tuple[int | None, AssignmentRole, int]] = []
    seen: set[int | None] = set()
    for role, names in (
        (AssignmentRole.LEAD, record.lead_units),
        (AssignmentRole.RESPONSIBLE, record.responsible_units),
    ):
        position = 0
        for name in names:
            unit_id = units[name].id
            if unit_id in seen:
                continue
            seen.add(unit_id)
            wanted.append((unit_id, role, position))
            position += 1
    return wanted


def load_plan(
    session: Session, plan: PlanRecord, *, now: datetime, actor_user_id: int = 0
) -> LoadSummary:
    """Upsert the plan with the record's 文号, its units, tasks and assignments; return what
    changed. Changes are audited as made by `actor_user_id` (0: the system).

    Tasks missing from the file are kept (their reports too). Deadline changes are audited.
    A 简称 derived from the title that another plan has gives way to the 文号; raises
    `TaskFileError` when another plan already has the record's explicit `short_name`.
    """
    row = session.exec(select(Plan).where(Plan.document_number == plan.document_number)).first()
    plan_name = plan.name()
    clash = session.exec(
        select(Plan).where(
            Plan.short_name == plan_name, Plan.document_number != plan.document_number
        )
    ).first()
    if clash is not None and not plan.short_name:  # a derived name another plan has
        plan_name = plan.document_number
    elif clash is not None:
        raise TaskFileError(
            f"short name {plan_name!r} is already the plan {clash.document_number}'s; "
            "give this plan another short_name in its [plan] table"
        )
    plan_added = row is None
    if row is None:
        row = Plan(
            title=plan.title,
            document_number=plan.document_number,
            short_name=plan_name,
            issued_on=plan.issued_on,
            period_start=plan.start(),
            period_end=plan.period_end,
            rhythm=plan.rhythm,
            rhythm_day=plan.rhythm_day,
        )
        session.add(row)
    else:
        if row.title != plan.title:
            # audited: the trail shows the change (the digest shows the title)
            record_audit(
                session,
                actor_user_id=actor_user_id,
                action="plan.title",
                subject=f"plan:{plan_name}",
                before=row.title,
                after=plan.title,
                now=now,
            )
        row.title = plan.title
        row.short_name = plan_name
        row.issued_on = plan.issued_on
        row.period_start = plan.start()
        row.period_end = plan.period_end
        if plan.rhythm is not None and (plan.rhythm, plan.rhythm_day) != (
            row.rhythm,
            row.rhythm_day,
        ):
            record_audit(
                session,
                actor_user_id=actor_user_id,
                action="plan.rhythm",
                subject=f"plan:{plan_name}",
                before=rhythm_text(row.rhythm, row.rhythm_day),
                after=rhythm_text(plan.rhythm, plan.rhythm_day),
                now=now,
            )
            row.rhythm = plan.rhythm
            row.rhythm_day = plan.rhythm_day
    session.flush()
    assert row.id is not None
    plan_id = row.id
    units = {u.name: u for u in session.exec(select(Unit))}
    by_id = {u.id: u for u in units.values()}
    for alias in session.exec(select(UnitAlias)):
        units.setdefault(alias.name, by_id[alias.unit_id])
    units_added = 0
    for name in plan.unit_names():
        if name not in units:
            units[name] = Unit(name=name, is_collective=name in COLLECTIVE_UNITS)
            session.add(units[name])
            units_added += 1
    session.flush()
    tasks = {t.number: t for t in session.exec(select(Task).where(Task.plan_id == plan_id))}
    updated = 0
    changed: dict[int, bool] = {}  # task number: whether this load changes it
    fresh: list[Task] = []
    for record in plan.tasks:
        task = tasks.get(record.number)
        if task is None:
            task = Task(
                plan_id=plan_id,
                number=record.number,
                text=record.text,
                deadline=record.deadline,
                original_deadline=record.deadline,
                responsible_units_note=record.responsible_units_note,
            )
            session.add(task)
            fresh.append(task)
            changed[record.number] = True
            continue
        changed[record.number] = (task.text, task.responsible_units_note) != (
            record.text,
            record.responsible_units_note,
        )
        if task.text != record.text:
            # audited like a deadline change: the trail shows the change
            record_audit(
                session,
                actor_user_id=actor_user_id,
                action="task.text",
                subject=f"task:{plan_name}:{record.number}",
                before=task.text,
                after=record.text,
                now=now,
            )
        task.text = record.text
        task.responsible_units_note = record.responsible_units_note
        if not task.deadline_by_coordinator and task.deadline != record.deadline:
            record_audit(
                session,
                actor_user_id=actor_user_id,
                action="task.deadline",
                subject=f"task:{plan_name}:{record.number}",
                before=task.deadline.isoformat(),
                after=record.deadline.isoformat(),
                now=now,
            )
            task.deadline = record.deadline
            task.original_deadline = record.deadline
            changed[record.number] = True
    session.flush()  # the new tasks get their ids
    added_numbers = {task.number for task in fresh}
    for task in fresh:
        tasks[task.number] = task
    for record in plan.tasks:
        for due_on, text in record.milestones:
            milestone_task = tasks[record.number]
            assert milestone_task.id is not None
            add_milestone(
                session,
                task_id=milestone_task.id,
                due_on=due_on,
                text=text,
                actor_user_id=actor_user_id,
                now=now,
            )
    names = {unit.id: unit.name for unit in units.values()}
    # the plan's assignments in one read, compared per task with the file's
    current: dict[int, list[tuple[int, AssignmentRole, int]]] = {}
    for task_id, assigned_unit_id, role, position in session.exec(
        select(
            col(Assignment.task_id),
            col(Assignment.unit_id),
            col(Assignment.role),
            col(Assignment.position),
        )
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .where(Task.plan_id == plan_id)
    ):
        current.setdefault(task_id, []).append((assigned_unit_id, role, position))
    for record in plan.tasks:
        task = tasks[record.number]
        assert task.id is not None
        wanted = _wanted_assignments(record, units)
        if sorted(current.get(task.id, [])) != sorted(wanted):
            if task.id in current:
                # audited: the trail shows it, and the running bot's fingerprint sees it
                # (SQLite reuses the deleted rows' ids, so a swap of lead and responsible
                # units kept the assignments' count, largest id and unit sum)
                record_audit(
                    session,
                    actor_user_id=actor_user_id,
                    action="task.units",
                    subject=f"task:{plan_name}:{record.number}",
                    before=_describe_units(current[task.id], names),
                    after=_describe_units(wanted, names),
                    now=now,
                )
                session.execute(delete(Assignment).where(col(Assignment.task_id) == task.id))
            for unit_id, role, position in wanted:
                assert unit_id is not None
                session.add(
                    Assignment(task_id=task.id, unit_id=unit_id, role=role, position=position)
                )
            changed[record.number] = True
        if changed[record.number] and record.number not in added_numbers:
            updated += 1
    session.flush()
    indicators_changed = _load_indicators(session, plan_id, plan.indicators)
    return LoadSummary(
        indicators_changed=indicators_changed,
        tasks_added=len(fresh),
        tasks_updated=updated,
        units_added=units_added,
        plan_id=plan_id,
        plan_name=plan_name,
        plan_added=plan_added,
    )

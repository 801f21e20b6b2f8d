"""The 总结评估 (or, before the plan's period ends, the 中期评估) of a plan: pure figures.

Input: the plan (`PlanView`), its tasks (`TaskRecord`: original deadline, deadline in force
and its changes, lead and responsible units) and the reports on them (`ReportRecord`, each
with its effective local date: `occurred_on` for a past record (补录), else the day it was
made in the configured zone), and `as_of`, a local date. Reports dated after `as_of` are left
out. Output: `Evaluation`.

Rules (the document states them too):
- A lead unit's final status is the status of its newest report carrying one, newest by
  (effective date, report id). A task is 已完成 when every lead unit's final status is DONE;
  otherwise 遇到困难 when a lead unit's is BLOCKED, 推进中 when one is IN_PROGRESS or DONE,
  未开始 when one is NOT_STARTED, and 未反馈 (`None`) when no lead unit reported a status.
- Completion review (办结审核): a 已完成 counts once accepted (销号); a unit's final 已完成
  still waiting for review counts as 推进中 and is shown 待审核 (`UnitOutcome.claimed_on`); a
  returned one is followed by the 推进中 the return stored. The completion date stays the
  date of the report (the work was done then), not of the acceptance.
- The completion date of a done task: for each lead unit, the date of the DONE report that
  began its final run of DONE reports (a later DONE report only confirms it); the latest of
  these over the lead units.
- 办结率 = done tasks / all tasks; 按时办结率 = tasks done by their deadline / all tasks, once
  against the original deadline (原定期限) and once against the adjusted deadline: the
  original moved by the task's own changes (approved extensions and a coordinator's change
  of that task), the last such change winning; a bulk move (批量调整: one coordinator change
  of many tasks at once) is not counted, so a task only bulk-moved is judged by its original.
- Units that never reported: lead units of the plan's tasks with no report on any of them.

The completion, deadline-in-force and timeliness rules are `jobs.stats`'s (`unit_completion`,
`task_completion`, `deadline_in_force`), shared with the follow-up statistics.

Imports nothing of the project but `jobs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from jobs.plans import PlanView
from jobs.stats import ChangeBasis as ChangeBasis
from jobs.stats import (
    Completion,
    deadline_in_force,
    finished_by,
    task_completion,
    unit_completion,
)
from jobs.stats import DeadlineMove as DeadlineMove
from jobs.types import Status


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A task as the evaluation needs it; `lead_units` and `responsible_units` are unit names
    in document order; `changes` oldest first; `carried_to` names the tasks of later plans
    that carry it over (结转)."""

    number: int
    text: str
    original_deadline: date
    deadline: date
    lead_units: tuple[str, ...]
    responsible_units: tuple[str, ...] = ()
    changes: tuple[DeadlineMove, ...] = ()
    carried_to: tuple[str, ...] = ()  # 结转: the tasks carrying it over, e.g. "十五五第3项"


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """One report: on task `task` (its 序号) by `unit`, `status` None for a note only, `on`
    its effective local date, `backfill` True for a past record (补录), `evidence` the file
    names, `correction` True when it corrects an earlier report (the earlier one is not
    given)."""

    id: int
    task: int
    unit: str
    status: Status | None
    note: str
    on: date
    backfill: bool = False
    evidence: tuple[str, ...] = ()
    correction: bool = False
    awaiting_review: bool = False  # a 已完成 whose completion review has not accepted it


@dataclass(frozen=True, slots=True)
class Rate:
    """A rate as an exact fraction of two counts, with its percent for display."""

    done: int
    total: int

    @property
    def fraction(self) -> Fraction:
        """done / total (0 when there is nothing to count)."""
        return Fraction(self.done, self.total) if self.total else Fraction(0)

    @property
    def percent(self) -> str:
        """The rate in percent to one decimal, half up: "66.7%"; "—" when total is 0."""
        if not self.total:
            return "—"
        tenths = (Fraction(1000) * self.done / self.total + Fraction(1, 2)).__floor__()
        return f"{tenths // 10}.{tenths % 10}%"


@dataclass(frozen=True, slots=True)
class UnitOutcome:
    """A lead unit's final status on a task (None: no status reported) and, when DONE,
    the date it completed."""

    unit: str
    status: Status | None
    done_on: date | None
    claimed_on: date | None = None  # a 已完成 waiting for review (待审核): its date


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """One task's evaluation: its final status (None: 未反馈), completion date, adjusted
    deadline, whether it was done by the original / adjusted deadline, each lead unit's
    outcome, its reports oldest first, its evidence file names and its deadline changes made by
    the evaluation's date."""

    task: TaskRecord
    status: Status | None
    done_on: date | None
    adjusted_deadline: date
    on_time_original: bool
    on_time_adjusted: bool
    units: tuple[UnitOutcome, ...]
    timeline: tuple[ReportRecord, ...]
    evidence: tuple[str, ...]
    changes: tuple[DeadlineMove, ...] = ()

    @property
    def done(self) -> bool:
        return self.status is Status.DONE


@dataclass(frozen=True)
class Evaluation:
    """The evaluation of `plan` as of `as_of`: `interim` (中期评估) when `as_of` is before
    the plan's last day; tasks by 序号; `by_status` counts tasks per final status (None:
    未反馈); the three rates; the lead units that never reported, by name order of first
    appearance."""

    plan: PlanView
    as_of: date
    interim: bool
    tasks: tuple[TaskOutcome, ...]
    by_status: dict[Status | None, int]
    completion: Rate
    on_time_original: Rate
    on_time_adjusted: Rate
    never_reported: tuple[str, ...]
    backfilled_reports: int = 0
    reports: int = 0
    period_end_shown: date = field(default=date.min)


def adjusted_deadline(task: TaskRecord, as_of: date = date.max) -> date:
    """The original deadline moved by the task's own changes made by `as_of` (extensions and
    coordinator changes, the last one winning); bulk moves and task-file changes are not
    counted."""
    return deadline_in_force(task.original_deadline, task.changes, as_of)


def _unit_outcome(unit: str, reports: Sequence[ReportRecord]) -> UnitOutcome:
    mine = [r for r in reports if r.unit == unit]
    status, done = unit_completion([(r.on, r.id, r.status) for r in mine])
    last = max((r for r in mine if r.status is not None), key=lambda r: (r.on, r.id), default=None)
    if status is Status.DONE and last is not None and last.awaiting_review:  # claimed, not 办结
        return UnitOutcome(unit=unit, status=Status.IN_PROGRESS, done_on=None, claimed_on=last.on)
    return UnitOutcome(unit=unit, status=status, done_on=done.claimed_on)


def _task_status(units: Sequence[UnitOutcome]) -> Status | None:
    statuses = [u.status for u in units]
    if statuses and all(s is Status.DONE for s in statuses):
        return Status.DONE
    if Status.BLOCKED in statuses:
        return Status.BLOCKED
    if Status.IN_PROGRESS in statuses or Status.DONE in statuses:
        return Status.IN_PROGRESS
    if Status.NOT_STARTED in statuses:
        return Status.NOT_STARTED
    return None


def evaluate(
    plan: PlanView,
    tasks: Sequence[TaskRecord],
    reports: Sequence[ReportRecord],
    *,
    as_of: date,
) -> Evaluation:
    """Evaluate `plan` as of `as_of` (see the module docstring for the rules)."""
    counted = [r for r in reports if r.on <= as_of]
    by_task: dict[int, list[ReportRecord]] = {}
    for report in counted:
        by_task.setdefault(report.task, []).append(report)
    outcomes: list[TaskOutcome] = []
    for task in sorted(tasks, key=lambda t: t.number):
        mine = sorted(by_task.get(task.number, []), key=lambda r: (r.on, r.id))
        units = tuple(_unit_outcome(unit, mine) for unit in task.lead_units)
        status = _task_status(units)
        done_on = task_completion(
            [Completion(u.done_on, u.done_on) for u in units] if status is Status.DONE else []
        )
        adjusted = adjusted_deadline(task, as_of)
        evidence = tuple(name for r in mine for name in r.evidence)
        outcomes.append(
            TaskOutcome(
                task=task,
                status=status,
                done_on=done_on,
                adjusted_deadline=adjusted,
                on_time_original=finished_by(done_on, task.original_deadline),
                on_time_adjusted=finished_by(done_on, adjusted),
                units=units,
                timeline=tuple(mine),
                evidence=evidence,
                changes=tuple(c for c in task.changes if c.on <= as_of),
            )
        )
    total = len(outcomes)
    by_status: dict[Status | None, int] = {}
    for outcome in outcomes:
        by_status[outcome.status] = by_status.get(outcome.status, 0) + 1
    reported = {r.unit for r in counted}
    never: list[str] = []
    for task in sorted(tasks, key=lambda t: t.number):
        for unit in task.lead_units:
            if unit not in reported and unit not in never:
                never.append(unit)
    return Evaluation(
        plan=plan,
        as_of=as_of,
        interim=as_of < plan.period_end,
        tasks=tuple(outcomes),
        by_status=by_status,
        completion=Rate(sum(o.done for o in outcomes), total),
        on_time_original=Rate(sum(o.on_time_original for o in outcomes), total),
        on_time_adjusted=Rate(sum(o.on_time_adjusted for o in outcomes), total),
        never_reported=tuple(never),
        backfilled_reports=sum(r.backfill for r in counted),
        reports=len(counted),
        period_end_shown=min(as_of, plan.period_end),
    )

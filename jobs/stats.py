"""Follow-up statistics (统计): 办结率, 按时办结率, 超期办结, reporting and reminder figures. Pure.

Shared with the 总结评估 (`jobs.evaluation`): the deadline in force for judging timeliness
(`deadline_in_force`), a lead unit's completion read from its status history
(`unit_completion`) and a task's completion from its lead units' (`task_completion`).

Counted over (task, lead unit) pairs (`PairInput`) and over tasks (`TaskInput`), per lead
unit, per plan and overall (`plan_stats`). All dates are local dates of the configured zone.

Definitions (as of `as_of`; nothing dated after it counts):
- accepted (销号): the pair's completion has an `accepted_on`; a task is accepted when every
  lead unit is, its completion date the claim (`claimed_on`) of the last acceptance.
- on_time: accepted and claimed on or before the deadline in force (the original deadline
  moved by approved extensions and single-task coordinator changes; a bulk move is not
  counted); on_time_original: claimed on or before the original deadline (原定期限).
- overdue_done (超期办结): accepted but claimed after the deadline in force.
- open_overdue: not accepted and `as_of` after the deadline in force.
- reports_per_cycle: the pair's reports dated in the plan's period up to `as_of`, divided by
  the reporting cycles (`jobs.rhythm` periods of the plan's rule) overlapping that window;
  summed over pairs before dividing, so 1.0 means one report per pair per cycle.
- avg_working_days_reminder_to_report: for each reminder day of a pair (several reminders to
  the unit's contacts on one day count once), the working days after it up to and including
  the day of the unit's next report on that task (0 when it reported the same day); reminders
  not followed by a report are not averaged.
- reminders_before_report: per report, the reminder days since the unit's previous report on
  that task (after it, up to and including the report's day), averaged over reports.
- Rates are fractions rounded to 4 places, averages rounded to 2 places; null when there is
  nothing to count (no pair, no answered reminder, no report, no cycle).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from itertools import pairwise

from jobs.calendar import WorkingCalendar
from jobs.rhythm import Rule, next_period, period_of
from jobs.types import Status


class ChangeBasis(enum.StrEnum):
    """Why a task's deadline moved."""

    EXTENSION = "extension"  # a lead unit's extension request, approved (批准延期)
    COORDINATOR = "coordinator"  # a coordinator moved this task's deadline (协调员调整)
    BULK = "bulk"  # a coordinator moved many tasks' deadlines at once (批量调整)
    PLAN = "plan"  # the task file changed (its original deadline moved with it)


@dataclass(frozen=True, slots=True)
class DeadlineMove:
    """One change of a task's deadline, on local date `on`, from `before` to `after`."""

    on: date
    before: date
    after: date
    basis: ChangeBasis
    reason: str | None = None


def deadline_in_force(
    original: date, changes: Iterable[DeadlineMove], as_of: date = date.max
) -> date:
    """The deadline timeliness is judged by: `original` moved by the changes made by `as_of`
    (oldest first) that are approved extensions or a coordinator's change of the task, the
    last one winning; bulk moves and task-file changes are not counted."""
    adjusted = original
    for change in changes:
        if change.on <= as_of and change.basis in (ChangeBasis.EXTENSION, ChangeBasis.COORDINATOR):
            adjusted = change.after
    return adjusted


@dataclass(frozen=True, slots=True)
class Completion:
    """A (task, lead unit) pair's completion: the day the unit claimed it done (None: not
    claimed, or the claim was returned), the day a coordinator accepted it (销号; None: not
    accepted) and how many claims were returned (退回)."""

    claimed_on: date | None
    accepted_on: date | None
    returns: int = 0


NOT_DONE = Completion(None, None, 0)


def unit_completion(
    history: Sequence[tuple[date, int, Status | None]],
) -> tuple[Status | None, Completion]:
    """Read a lead unit's status history on one task, `(effective date, report id, status)`
    in any order (status None: a note, ignored), as completion: its final status (None when
    it never gave one) and its `Completion`. The claim is the report that began the final run
    of 已完成 reports (a later 已完成 only confirms it), accepted the same day; a status other
    than 已完成 after an 已完成 is a return."""
    carrying = sorted((h for h in history if h[2] is not None), key=lambda h: (h[0], h[1]))
    if not carrying:
        return None, NOT_DONE
    returns = sum(
        1
        for before, after in pairwise(carrying)
        if before[2] is Status.DONE and after[2] is not Status.DONE
    )
    final = carrying[-1][2]
    if final is not Status.DONE:
        return final, Completion(None, None, returns)
    start = len(carrying) - 1
    while start > 0 and carrying[start - 1][2] is Status.DONE:
        start -= 1
    claimed = carrying[start][0]
    return final, Completion(claimed, claimed, returns)


def task_completion(completions: Sequence[Completion]) -> date | None:
    """A task's completion date from its lead units' completions: the claim of the last
    acceptance (latest `accepted_on`, then latest claim) when every one is accepted; None
    when one is not, or there is no lead unit."""
    if not completions or any(c.accepted_on is None or c.claimed_on is None for c in completions):
        return None
    last = max(completions, key=lambda c: (c.accepted_on or date.min, c.claimed_on or date.min))
    return last.claimed_on


def finished_by(done_on: date | None, deadline: date) -> bool:
    """True when `done_on` is a date on or before `deadline` (False for None)."""
    return done_on is not None and done_on <= deadline


@dataclass(frozen=True, slots=True)
class PairInput:
    """One (task, lead unit) pair: task `task` (序号) with its original deadline and the
    deadline in force (`deadline_in_force`), lead unit `unit`, its `completion`, the effective
    dates of its reports on the task and the local dates of the reminders sent to it about
    the task (both in any order, repeats allowed)."""

    task: int
    unit: str
    original_deadline: date
    deadline: date
    completion: Completion
    reports: tuple[date, ...] = ()
    reminders: tuple[date, ...] = ()


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


@dataclass(slots=True)
class Counts:
    """Additive counts behind the figures of a group of pairs or tasks (see `figures`)."""

    total: int = 0
    accepted: int = 0
    on_time: int = 0
    on_time_original: int = 0
    overdue_done: int = 0
    open_overdue: int = 0
    returns: int = 0
    reports: int = 0
    pair_cycles: int = 0
    reminders: int = 0
    answered_reminders: int = 0
    reminder_working_days: int = 0
    reminders_before_reports: int = 0

    def add(self, other: Counts) -> None:
        """Add `other`'s counts to these."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def figures(self, *, pairs: bool = True) -> dict[str, int | float | None]:
        """The figures under their stable JSON keys: total, accepted, done_rate, on_time,
        on_time_rate, on_time_original, on_time_original_rate, overdue_done, open_overdue,
        returns; for pairs also reports, reporting_cycles (pair-cycles), reports_per_cycle,
        reminders, avg_working_days_reminder_to_report, reminders_before_report."""
        out: dict[str, int | float | None] = {
            "total": self.total,
            "accepted": self.accepted,
            "done_rate": _rate(self.accepted, self.total),
            "on_time": self.on_time,
            "on_time_rate": _rate(self.on_time, self.total),
            "on_time_original": self.on_time_original,
            "on_time_original_rate": _rate(self.on_time_original, self.total),
            "overdue_done": self.overdue_done,
            "open_overdue": self.open_overdue,
            "returns": self.returns,
        }
        if pairs:
            out |= {
                "reports": self.reports,
                "reporting_cycles": self.pair_cycles,
                "reports_per_cycle": _mean(self.reports, self.pair_cycles),
                "reminders": self.reminders,
                "avg_working_days_reminder_to_report": _mean(
                    self.reminder_working_days, self.answered_reminders
                ),
                "reminders_before_report": _mean(self.reminders_before_reports, self.reports),
            }
        return out


def cycles_between(rule: Rule, start: date, end: date) -> int:
    """The number of periods of `rule` overlapping `start`..`end` (both included); 0 when
    `end` is before `start`."""
    if end < start:
        return 0
    period, count = period_of(start, rule), 0
    while period.start <= end:
        count += 1
        period = next_period(period, rule)
    return count


def working_days_after(calendar: WorkingCalendar, start: date, end: date) -> int:
    """The working days after `start` up to and including `end` (0 when `end` <= `start`)."""
    days, day = 0, start + timedelta(days=1)
    while day <= end:
        days += calendar.is_working_day(day)
        day += timedelta(days=1)
    return days


def _timeliness(
    counts: Counts, done_on: date | None, original: date, deadline: date, as_of: date
) -> None:
    if done_on is not None:
        counts.accepted += 1
        counts.on_time += done_on <= deadline
        counts.on_time_original += done_on <= original
        counts.overdue_done += done_on > deadline
    elif as_of > deadline:
        counts.open_overdue += 1


def pair_counts(
    pair: PairInput,
    *,
    as_of: date,
    window: tuple[date, date],
    cycles: int,
    calendar: WorkingCalendar,
) -> Counts:
    """The counts of one pair as of `as_of`: reports in `window` (the plan's period cut at
    `as_of`) over `cycles` reporting cycles; reminders and reports after `as_of` ignored."""
    c = Counts(total=1, pair_cycles=cycles)
    done = pair.completion
    accepted = done.accepted_on is not None and done.accepted_on <= as_of
    _timeliness(
        c,
        done.claimed_on if accepted else None,
        pair.original_deadline,
        pair.deadline,
        as_of,
    )
    c.returns = done.returns
    reports = sorted({d for d in pair.reports if d <= as_of})
    counted = [d for d in pair.reports if window[0] <= d <= window[1]]
    c.reports = len(counted)
    reminders = sorted({d for d in pair.reminders if d <= as_of})
    c.reminders = len(reminders)
    for day in reminders:
        following = next((d for d in reports if d >= day), None)
        if following is not None:
            c.answered_reminders += 1
            c.reminder_working_days += working_days_after(calendar, day, following)
    previous = date.min
    for day in sorted(counted):
        c.reminders_before_reports += sum(1 for r in reminders if previous < r <= day)
        previous = day
    return c


@dataclass(frozen=True, slots=True)
class TaskInput:
    """A task (序号 `number`) with its original deadline, deadline in force and the pairs of
    its lead units (none for a task without a lead unit)."""

    number: int
    original_deadline: date
    deadline: date
    pairs: tuple[PairInput, ...]


@dataclass(frozen=True)
class PlanStats:
    """A plan's statistics as of `as_of`: counts over pairs and over tasks, per lead unit
    (over its pairs) in order of first appearance, and the pairs finished late (超期办结) as
    (序号, unit name) by 序号."""

    as_of: date
    pairs: Counts
    tasks: Counts
    units: dict[str, Counts] = field(default_factory=dict)
    late: tuple[tuple[int, str], ...] = ()

    def unit_order(self) -> list[str]:
        """Unit names by done rate ascending (no pair last), then name."""
        return sorted(
            self.units,
            key=lambda u: (
                self.units[u].accepted / self.units[u].total if self.units[u].total else 2.0,
                u,
            ),
        )


def plan_stats(
    tasks: Sequence[TaskInput],
    *,
    as_of: date,
    period: tuple[date, date],
    rule: Rule,
    calendar: WorkingCalendar,
) -> PlanStats:
    """The statistics of a plan whose period is `period` (first, last day) and reporting rule
    `rule`, over `tasks`, as of `as_of` (see the module docstring)."""
    window = (period[0], min(period[1], as_of))
    cycles = cycles_between(rule, *window)
    pairs, per_task = Counts(), Counts()
    units: dict[str, Counts] = {}
    late: list[tuple[int, str]] = []
    for task in sorted(tasks, key=lambda t: t.number):
        for pair in task.pairs:
            counts = pair_counts(pair, as_of=as_of, window=window, cycles=cycles, calendar=calendar)
            if counts.overdue_done:
                late.append((pair.task, pair.unit))
            pairs.add(counts)
            units.setdefault(pair.unit, Counts()).add(counts)
        accepted = [
            p.completion
            for p in task.pairs
            if p.completion.accepted_on is not None and p.completion.accepted_on <= as_of
        ]
        done_on = task_completion(accepted) if len(accepted) == len(task.pairs) else None
        one = Counts(total=1, returns=sum(p.completion.returns for p in task.pairs))
        _timeliness(one, done_on, task.original_deadline, task.deadline, as_of)
        per_task.add(one)
    return PlanStats(as_of=as_of, pairs=pairs, tasks=per_task, units=units, late=tuple(late))


def stats_json(label: str, stats: PlanStats) -> dict[str, object]:
    """One plan's statistics as JSON-ready data: {"plan", "as_of", "overall": {"pairs":
    figures, "tasks": figures}, "units": [{"unit": name, **figures}, ...], "overdue_done":
    [{"task": 序号, "unit": name}, ...]} with units by done rate ascending (`Counts.figures`
    names the keys)."""
    return {
        "plan": label,
        "as_of": stats.as_of.isoformat(),
        "overall": {
            "pairs": stats.pairs.figures(),
            "tasks": stats.tasks.figures(pairs=False),
        },
        "units": [{"unit": u, **stats.units[u].figures()} for u in stats.unit_order()],
        "overdue_done": [{"task": number, "unit": unit} for number, unit in stats.late],
    }


__all__ = [
    "ChangeBasis",
    "Completion",
    "Counts",
    "DeadlineMove",
    "PairInput",
    "PlanStats",
    "TaskInput",
    "cycles_between",
    "deadline_in_force",
    "finished_by",
    "plan_stats",
    "stats_json",
    "task_completion",
    "unit_completion",
    "working_days_after",
]

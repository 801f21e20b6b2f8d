"""The pure statistics rules (`jobs.stats`) on small cases worked out by hand."""

from __future__ import annotations

from datetime import date

from jobs.calendar import WeekdayCalendar
from jobs.rhythm import Rule
from jobs.stats import (
    ChangeBasis,
    Completion,
    Counts,
    DeadlineMove,
    PairInput,
    TaskInput,
    cycles_between,
    deadline_in_force,
    plan_stats,
    task_completion,
    unit_completion,
    working_days_after,
)
from jobs.types import Rhythm, Status

D = date
S = Status


def test_a_return_then_a_new_claim() -> None:
    status, done = unit_completion(
        [
            (D(2024, 9, 1), 1, S.DONE),
            (D(2024, 9, 5), 2, None),  # a note changes nothing
            (D(2024, 10, 1), 3, S.IN_PROGRESS),
            (D(2024, 11, 20), 4, S.DONE),
            (D(2024, 12, 1), 5, S.DONE),  # confirms the claim of 2024-11-20
        ]
    )
    assert status is S.DONE
    assert done == Completion(D(2024, 11, 20), D(2024, 11, 20), 1)


def test_a_returned_claim_is_open() -> None:
    status, done = unit_completion([(D(2024, 10, 1), 3, S.BLOCKED), (D(2024, 9, 1), 1, S.DONE)])
    assert (status, done) == (S.BLOCKED, Completion(None, None, 1))
    assert unit_completion([(D(2024, 1, 1), 1, None)]) == (None, Completion(None, None, 0))


def test_a_task_is_done_at_its_last_acceptance() -> None:
    a = Completion(D(2024, 3, 1), D(2024, 3, 20))
    b = Completion(D(2024, 3, 10), D(2024, 3, 12))
    assert task_completion([a, b]) == D(2024, 3, 1)  # accepted last, claimed first
    assert task_completion([a, Completion(None, None)]) is None
    assert task_completion([]) is None


def test_deadline_in_force_ignores_bulk_moves() -> None:
    moves = [
        DeadlineMove(D(2024, 1, 5), D(2024, 6, 30), D(2024, 9, 30), ChangeBasis.EXTENSION),
        DeadlineMove(D(2024, 8, 1), D(2024, 9, 30), D(2025, 3, 1), ChangeBasis.BULK),
    ]
    assert deadline_in_force(D(2024, 6, 30), moves) == D(2024, 9, 30)
    assert deadline_in_force(D(2024, 6, 30), moves, D(2024, 1, 4)) == D(2024, 6, 30)


def test_cycles_and_working_days() -> None:
    quarterly = Rule(Rhythm.QUARTERLY, 25)
    # periods starting 2024-10-25, 2025-01-25, 2025-04-25
    assert cycles_between(quarterly, D(2025, 1, 1), D(2025, 4, 25)) == 3
    assert cycles_between(quarterly, D(2025, 1, 1), D(2024, 12, 31)) == 0
    calendar = WeekdayCalendar(holidays=[D(2025, 10, 1)], workdays=[D(2025, 9, 28)])
    # Fri 2025-09-26 -> Thu 10-02: Sun 9-28 (workday), Mon 29, Tue 30, Thu 2; Wed 1 a holiday
    assert working_days_after(calendar, D(2025, 9, 26), D(2025, 10, 2)) == 4
    assert working_days_after(calendar, D(2025, 9, 26), D(2025, 9, 26)) == 0


def test_nothing_to_count_gives_null() -> None:
    figures = Counts().figures()
    assert figures["done_rate"] is None and figures["reports_per_cycle"] is None
    assert figures["avg_working_days_reminder_to_report"] is None


def test_a_plan_with_one_late_and_one_early_unit() -> None:
    late = PairInput(
        1, "甲", D(2025, 6, 30), D(2025, 6, 30), Completion(D(2025, 7, 2), D(2025, 7, 2))
    )
    early = PairInput(
        1,
        "乙",
        D(2025, 6, 30),
        D(2025, 6, 30),
        Completion(D(2025, 5, 1), D(2025, 5, 1)),
        reports=(D(2025, 3, 3), D(2025, 5, 1)),
        reminders=(D(2025, 2, 28), D(2025, 3, 3), D(2025, 4, 29), D(2025, 7, 1)),
    )
    got = plan_stats(
        [TaskInput(1, D(2025, 6, 30), D(2025, 6, 30), (late, early))],
        as_of=D(2025, 12, 31),
        period=(D(2025, 1, 1), D(2025, 12, 31)),
        rule=Rule(Rhythm.HALF_YEARLY, 1),
        calendar=WeekdayCalendar(),
    )
    assert (got.tasks.accepted, got.tasks.on_time, got.tasks.overdue_done) == (1, 0, 1)
    assert (got.pairs.on_time, got.pairs.overdue_done) == (1, 1)
    one = got.units["乙"].figures()
    # Fri 2-28 -> Mon 3-3: 1; Mon 3-3 -> same day: 0; Tue 4-29 -> Thu 5-1: 2; 7-1 unanswered
    assert one["avg_working_days_reminder_to_report"] == 1.0
    # report 3-3: reminders 2-28 and 3-3; report 5-1: 4-29
    assert one["reminders_before_report"] == 1.5
    assert one["reports_per_cycle"] == 1.0
    assert got.unit_order() == ["乙", "甲"]  # both done: by name (code point order)

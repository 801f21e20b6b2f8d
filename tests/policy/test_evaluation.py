"""The 总结评估 figures (`jobs.evaluation`) on a small data set written by hand.

Every expected figure below is worked out by hand from the data set, never recomputed:

| 序号 | lead units      | original   | changes                        | done on    |
|------|-----------------|------------|--------------------------------|------------|
| 1    | 区残联          | 2023-12-31 | -                              | 2024-03-15 late     |
| 2    | 区民政局        | 2023-06-30 | extension -> 2023-12-31        | 2023-10-08 adj only |
| 3    | 区残联 区教育局 | 2024-06-30 | bulk move -> 2025-06-30        | 2025-03-01 late     |
| 4    | 区卫健委        | 2025-12-31 | -                              | never reported      |
| 5    | 区民政局 区人社局 | 2025-06-30 | -                            | blocked             |
| 6    | 区教育局        | 2022-12-31 | -                              | 2022-11-30 on time  |

Done 1, 2, 3, 6: 4/6 = 66.7%; on time by the original deadline 6: 1/6 = 16.7%; by the
adjusted deadline 2 and 6: 2/6 = 33.3%.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from jobs.evaluation import (
    ChangeBasis,
    DeadlineMove,
    ReportRecord,
    TaskRecord,
    adjusted_deadline,
    evaluate,
)
from jobs.plans import PlanView
from jobs.types import PlanStatus, Status

D = date
A, B, C, DD, E = "区残联", "区民政局", "区教育局", "区卫健委", "区人社局"

PLAN = PlanView(
    id=1,
    title="嘉定区残疾人事业发展“十四五”规划（2021—2025年）",
    document_number="嘉残工委〔2021〕1号",
    short_name="十四五",
    issued_on=D(2021, 6, 1),
    period_start=D(2021, 1, 1),
    period_end=D(2025, 12, 31),
    status=PlanStatus.CLOSED,
)

TASKS = [
    TaskRecord(1, "无障碍环境建设", D(2023, 12, 31), D(2023, 12, 31), (A,)),
    TaskRecord(
        2,
        "残疾人就业帮扶",
        D(2023, 6, 30),
        D(2023, 12, 31),
        (B,),
        (A,),
        (
            DeadlineMove(
                D(2023, 5, 20), D(2023, 6, 30), D(2023, 12, 31), ChangeBasis.EXTENSION, "资金"
            ),
        ),
    ),
    TaskRecord(
        3,
        "康复服务全覆盖",
        D(2024, 6, 30),
        D(2025, 6, 30),
        (A, C),
        (),
        (DeadlineMove(D(2024, 5, 10), D(2024, 6, 30), D(2025, 6, 30), ChangeBasis.BULK),),
    ),
    TaskRecord(4, "残疾预防", D(2025, 12, 31), D(2025, 12, 31), (DD,)),
    TaskRecord(5, "托养服务", D(2025, 6, 30), D(2025, 6, 30), (B, E)),
    TaskRecord(6, "特殊教育", D(2022, 12, 31), D(2022, 12, 31), (C,)),
]

S = Status
REPORTS = [
    ReportRecord(1, 1, A, S.IN_PROGRESS, "启动改造", D(2022, 6, 30), backfill=True),
    ReportRecord(2, 1, A, S.DONE, "验收", D(2024, 3, 15), True, ("验收报告.pdf",)),
    ReportRecord(3, 2, B, S.DONE, "", D(2023, 10, 8), backfill=True),
    ReportRecord(4, 3, A, S.DONE, "", D(2024, 9, 1), backfill=True),
    ReportRecord(5, 3, C, S.DONE, "", D(2025, 3, 1), True, ("照片1.jpg", "照片2.jpg")),
    ReportRecord(6, 5, B, S.DONE, "", D(2025, 5, 1), backfill=True),
    ReportRecord(7, 5, E, S.BLOCKED, "场地未落实", D(2025, 4, 1), backfill=True),
    ReportRecord(8, 5, E, None, "仍在协调", D(2025, 8, 1), backfill=True),
    ReportRecord(9, 6, C, S.DONE, "", D(2022, 11, 30), backfill=True),
    # a later DONE only confirms: the task was completed on 2022-11-30
    ReportRecord(10, 6, C, S.DONE, "再次确认", D(2023, 1, 10)),
]


def test_counts_and_rates_of_the_closed_plan() -> None:
    ev = evaluate(PLAN, TASKS, REPORTS, as_of=D(2026, 12, 6))
    assert not ev.interim
    assert ev.by_status == {S.DONE: 4, None: 1, S.BLOCKED: 1}
    assert (ev.completion.done, ev.completion.total) == (4, 6)
    assert ev.completion.fraction == Fraction(2, 3)
    assert ev.completion.percent == "66.7%"
    assert (ev.on_time_original.done, ev.on_time_original.percent) == (1, "16.7%")
    assert (ev.on_time_adjusted.done, ev.on_time_adjusted.percent) == (2, "33.3%")
    assert ev.never_reported == (DD,)
    assert (ev.reports, ev.backfilled_reports) == (10, 9)


def test_each_task_outcome() -> None:
    ev = evaluate(PLAN, TASKS, REPORTS, as_of=D(2026, 12, 6))
    got = {
        o.task.number: (
            o.status,
            o.done_on,
            o.adjusted_deadline,
            o.on_time_original,
            o.on_time_adjusted,
        )
        for o in ev.tasks
    }
    assert got == {
        1: (S.DONE, D(2024, 3, 15), D(2023, 12, 31), False, False),
        2: (S.DONE, D(2023, 10, 8), D(2023, 12, 31), False, True),
        3: (S.DONE, D(2025, 3, 1), D(2024, 6, 30), False, False),
        4: (None, None, D(2025, 12, 31), False, False),
        5: (S.BLOCKED, None, D(2025, 6, 30), False, False),
        6: (S.DONE, D(2022, 11, 30), D(2022, 12, 31), True, True),
    }
    five = ev.tasks[4]
    assert [(u.unit, u.status) for u in five.units] == [(B, S.DONE), (E, S.BLOCKED)]
    assert [r.on for r in five.timeline] == [D(2025, 4, 1), D(2025, 5, 1), D(2025, 8, 1)]
    assert ev.tasks[2].evidence == ("照片1.jpg", "照片2.jpg")
    assert ev.tasks[0].timeline[0].backfill


def test_interim_evaluation_counts_the_period_so_far() -> None:
    ev = evaluate(PLAN, TASKS, REPORTS, as_of=D(2023, 12, 31))
    assert ev.interim
    assert ev.by_status == {S.IN_PROGRESS: 1, S.DONE: 2, None: 3}
    assert (ev.completion.done, ev.completion.percent) == (2, "33.3%")
    assert (ev.on_time_original.done, ev.on_time_original.percent) == (1, "16.7%")
    assert (ev.on_time_adjusted.done, ev.on_time_adjusted.percent) == (2, "33.3%")
    assert ev.never_reported == (DD, E)
    assert ev.tasks[2].changes == ()  # the bulk move of 2024 is after the date


def test_adjusted_deadline_counts_the_tasks_own_changes_only() -> None:
    base = TaskRecord(9, "x", D(2024, 6, 30), D(2025, 3, 1), ("u",))
    coordinator = DeadlineMove(
        D(2024, 1, 5), D(2024, 6, 30), D(2024, 9, 30), ChangeBasis.COORDINATOR
    )
    bulk = DeadlineMove(D(2024, 8, 1), D(2024, 9, 30), D(2025, 3, 1), ChangeBasis.BULK)
    task = TaskRecord(9, "x", D(2024, 6, 30), D(2025, 3, 1), ("u",), (), (coordinator, bulk))
    assert adjusted_deadline(base) == D(2024, 6, 30)
    assert adjusted_deadline(task) == D(2024, 9, 30)
    assert adjusted_deadline(task, D(2023, 12, 31)) == D(2024, 6, 30)


def test_rates_of_an_empty_plan_and_rounding() -> None:
    ev = evaluate(PLAN, [], [], as_of=D(2026, 1, 1))
    assert ev.completion.percent == "—"
    assert ev.completion.fraction == 0
    from jobs.evaluation import Rate

    assert Rate(1, 8).percent == "12.5%"
    assert Rate(1, 3).percent == "33.3%"
    assert Rate(6, 6).percent == "100.0%"
    assert Rate(0, 5).percent == "0.0%"

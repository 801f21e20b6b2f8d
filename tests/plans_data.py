"""A second plan beside the shipped one, for the tests of several plans: 十五五, with tasks
numbered 1-30 like the shipped 十四五 plan, the same lead and responsible units per number,
its own texts, and deadlines in 2027."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from db.seed import PlanRecord, read_task_file

FIFTEENTH_NUMBER = "潼南府办发〔2026〕5号"
FIFTEENTH_TITLE = "重庆市潼南区“十五五”残疾人保障和发展规划（2026—2030年）"
FIFTEENTH_DEADLINE = date(2027, 6, 30)
FOURTEENTH_NUMBER = "潼南府办发〔2022〕23号"
FOURTEENTH_TITLE = "重庆市潼南区“十四五”残疾人保障和发展规划（2021—2025年）"


def fifteenth_text(number: int) -> str:
    """The text of the 十五五 plan's task `number`."""
    return f"十五五第{number}项：巩固拓展残疾人保障成果的第{number}项工作。"


def fifteenth_plan() -> PlanRecord:
    """The 十五五 plan: 30 tasks numbered 1-30, each with the shipped task's units."""
    shipped = read_task_file()
    tasks = tuple(
        replace(task, text=fifteenth_text(task.number), deadline=FIFTEENTH_DEADLINE)
        for task in shipped.tasks
    )
    return PlanRecord(
        title=FIFTEENTH_TITLE,
        document_number=FIFTEENTH_NUMBER,
        issued_on=date(2026, 4, 18),
        period_end=date(2030, 12, 31),
        tasks=tasks,
        short_name="十五五",
        period_start=date(2026, 1, 1),
    )

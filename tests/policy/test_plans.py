"""Which plan a command means, and how plans are named (`jobs.plans`)."""

from __future__ import annotations

from datetime import date

import pytest

from jobs.plans import PlanView, choose_plan, default_short_name, newest_first, period_in_title
from jobs.types import PlanStatus

OLD = PlanView(
    1,
    "重庆市潼南区“十四五”残疾人保障和发展规划（2021—2025年）",
    "潼南府办发〔2022〕23号",
    "十四五",
    date(2022, 4, 18),
    date(2021, 1, 1),
    date(2025, 12, 31),
)
NEW = PlanView(
    2,
    "重庆市潼南区“十五五”残疾人保障和发展规划（2026—2030年）",
    "潼南府办发〔2026〕8号",
    "十五五",
    date(2026, 11, 20),
    date(2026, 1, 1),
    date(2030, 12, 31),
)
YEARLY = PlanView(
    3,
    "2027年残疾人工作要点",
    "潼残工委〔2027〕1号",
    "2027年",
    date(2027, 2, 1),
    date(2027, 1, 1),
    date(2027, 12, 31),
)


@pytest.mark.parametrize(
    ("title", "years"),
    [
        ("重庆市潼南区“十四五”残疾人保障和发展规划（2021—2025年）", (2021, 2025)),
        ("规划（2026-2030年）", (2026, 2030)),
        ("2027年残疾人工作要点", (2027, 2027)),
        ("残疾人工作要点", None),
        ("规划（2030—2026年）", None),
    ],
)
def test_the_period_is_read_from_the_title(title: str, years: tuple[int, int] | None) -> None:
    assert period_in_title(title) == years


def test_a_short_name_is_the_five_year_plan_or_the_years() -> None:
    assert default_short_name(OLD.title, OLD.period_start, OLD.period_end) == "十四五"
    assert default_short_name("工作要点", date(2027, 1, 1), date(2027, 12, 31)) == "2027年"
    assert default_short_name("规划", date(2026, 1, 1), date(2030, 12, 31)) == "2026—2030年"


def test_the_newest_plan_starts_latest() -> None:
    assert [p.id for p in newest_first([OLD, YEARLY, NEW])] == [3, 2, 1]


def test_a_command_without_a_plan_means_the_newest_active_one_and_names_the_others() -> None:
    choice = choose_plan([OLD, NEW], ["5"])
    assert (choice.plan, choice.words, choice.named, choice.others) == (NEW, ("5",), False, (OLD,))


def test_a_plan_is_named_by_its_short_name_or_document_number_anywhere_in_the_words() -> None:
    assert choose_plan([OLD, NEW], ["5", "十四五"]).plan == OLD
    choice = choose_plan([OLD, NEW], ["潼南府办发〔2022〕23号", "1-3"])
    assert (choice.plan, choice.words, choice.named) == (OLD, ("1-3",), True)
    assert choose_plan([OLD, NEW], ["十六五", "5"]).words == ("十六五", "5")


def test_a_closed_plan_is_chosen_only_by_name() -> None:
    new_closed = PlanView(
        NEW.id,
        NEW.title,
        NEW.document_number,
        NEW.short_name,
        NEW.issued_on,
        NEW.period_start,
        NEW.period_end,
        PlanStatus.CLOSED,
    )
    assert choose_plan([OLD, new_closed], []).plan == OLD
    assert choose_plan([OLD, new_closed], []).others == ()
    assert choose_plan([OLD, new_closed], ["十五五"]).plan == new_closed


def test_without_plans_nothing_is_chosen() -> None:
    choice = choose_plan([], ["5"])
    assert (choice.plan, choice.words, choice.others) == (None, ("5",), ())


@pytest.mark.parametrize(
    "typed",
    [
        "【十四五】",
        "“十四五”",
        "潼南府办发[2022]23号",
        "潼南府办发（2022）23号",
        "《十四五》",
        "潼南府办发 〔2022〕 23号",
    ],
)
def test_a_plan_name_is_recognised_as_copied_from_a_tag_or_typed_with_other_brackets(
    typed: str,
) -> None:
    choice = choose_plan([OLD, NEW], [typed, "5"])
    assert (choice.plan, choice.words, choice.named) == (OLD, ("5",), True)

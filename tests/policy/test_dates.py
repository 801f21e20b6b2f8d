"""Policy tests of the one date parser (`jobs.dates`) at fixed dates."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from jobs.dates import (
    MAX_YEARS_AHEAD,
    DateProblem,
    DateRefusal,
    example_date,
    parse_date,
    parse_new_deadline,
)
from jobs.scope import describe_numbers, looks_like_numbers, parse_task_numbers

TODAY = date(2026, 12, 5)


@pytest.mark.parametrize(
    "text",
    [
        "2027-06-30",
        "2027/6/30",
        "2027.6.30",
        "2027年6月30日",
        "2027年6月30号",
        "2027年06月30日",
        " 2027-6-30 ",
        "２０２７／６／３０",
        "2027 年 6 月 30 日",
        "6月30日",
        "6月30号",
        "6月30",
    ],
)
def test_every_form_reads_the_same_day(text: str) -> None:
    assert parse_date(text, TODAY) == date(2027, 6, 30)


def test_month_day_is_the_next_such_day_on_or_after_today() -> None:
    assert parse_date("12月5日", TODAY) == date(2026, 12, 5)
    assert parse_date("12月31日", TODAY) == date(2026, 12, 31)
    assert parse_date("12月4日", TODAY) == date(2027, 12, 4)
    assert parse_date("1月1日", TODAY) == date(2027, 1, 1)
    assert parse_date("2月29日", TODAY) == date(2028, 2, 29)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "27-6-30",
        "30/6/2027",
        "2027-02-30",
        "2027-13-01",
        "13月1日",
        "2月30日",
        "明天",
        "2027-6",
    ],
)
def test_unreadable_or_impossible_dates_are_refused(text: str) -> None:
    assert parse_date(text, TODAY) is None


def test_a_new_deadline_in_the_past_is_refused_with_the_date_read() -> None:
    assert parse_new_deadline("2026-12-04", TODAY) == DateRefusal(
        DateProblem.PAST, date(2026, 12, 4)
    )
    assert parse_new_deadline("2026-12-05", TODAY) == date(2026, 12, 5)
    assert parse_new_deadline("abc", TODAY) == DateRefusal(DateProblem.UNREADABLE)


def test_a_deadline_more_than_ten_years_ahead_is_refused_as_a_slip() -> None:
    limit = date(TODAY.year + MAX_YEARS_AHEAD, TODAY.month, TODAY.day)
    assert parse_new_deadline(limit.isoformat(), TODAY) == limit
    assert parse_new_deadline((limit + timedelta(days=1)).isoformat(), TODAY) == DateRefusal(
        DateProblem.TOO_FAR, limit + timedelta(days=1)
    )
    assert parse_new_deadline("9999-12-31", TODAY) == DateRefusal(
        DateProblem.TOO_FAR, date(9999, 12, 31)
    )
    # on 29 February the limit is 28 February ten years on, not an error
    leap = date(2028, 2, 29)
    assert parse_new_deadline("2038-02-28", leap) == date(2038, 2, 28)
    assert parse_new_deadline("2038-03-01", leap) == DateRefusal(
        DateProblem.TOO_FAR, date(2038, 3, 1)
    )


def test_an_extension_must_be_later_than_the_current_deadline() -> None:
    current = date(2027, 3, 31)
    assert parse_new_deadline("2027-03-31", TODAY, after=current) == DateRefusal(
        DateProblem.NOT_LATER, current
    )
    assert parse_new_deadline("4月1日", TODAY, after=current) == date(2027, 4, 1)
    # a month and day alone is the next such day after the current deadline
    later = date(2027, 6, 30)
    assert parse_new_deadline("12月31日", TODAY, after=later) == date(2027, 12, 31)
    assert parse_new_deadline("6月30日", TODAY, after=later) == date(2028, 6, 30)
    assert parse_new_deadline("2027年6月30日", TODAY, after=later) == DateRefusal(
        DateProblem.NOT_LATER, later
    )
    # an overdue task's extension date must still be in the future
    assert parse_new_deadline("2026-01-01", TODAY, after=date(2025, 12, 31)) == DateRefusal(
        DateProblem.PAST, date(2026, 1, 1)
    )


@pytest.mark.parametrize(
    ("today", "example"),
    [
        (date(2026, 12, 5), date(2027, 6, 30)),
        (date(2027, 7, 1), date(2028, 1, 31)),
        (date(2027, 8, 31), date(2028, 2, 29)),
        (date(2026, 6, 30), date(2026, 12, 31)),
    ],
)
def test_example_date_is_a_month_end_half_a_year_ahead(today: date, example: date) -> None:
    assert example_date(today) == example
    assert parse_new_deadline(example.isoformat(), today) == example


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("1-10,12", [*range(1, 11), 12]),
        ("1－3，5、7", [1, 2, 3, 5, 7]),
        ("第3项", [3]),
        ("3~5", [3, 4, 5]),
        ("5,5,4", [4, 5]),
        ("12", [12]),
    ],
)
def test_task_number_lists_and_ranges(text: str, numbers: list[int]) -> None:
    assert parse_task_numbers(text) == numbers


@pytest.mark.parametrize("text", ["", "全部", "5-3", "0", "1,,x", "区民政局", "1-"])
def test_not_a_task_number_list(text: str) -> None:
    assert parse_task_numbers(text) is None


@pytest.mark.parametrize("text", ["5-3", "0", "30-1", "1-", "第0项", "1，，2-"])
def test_bad_number_lists_are_told_apart_from_unit_names(text: str) -> None:
    assert parse_task_numbers(text) is None and looks_like_numbers(text)


@pytest.mark.parametrize("text", ["全部", "区民政局", "", "第一项", "12345区"])
def test_names_do_not_look_like_numbers(text: str) -> None:
    assert not looks_like_numbers(text)


def test_a_message_full_of_huge_ranges_is_read_at_once() -> None:
    """One chat message (4096 characters) of the range 1-999999 repeated some 450 times:
    read once, not expanded 450 times (that took half a minute, stalling the whole bot)."""
    text = ",".join(["1-999999"] * 455)
    started = time.perf_counter()
    numbers = parse_task_numbers(text)
    assert time.perf_counter() - started < 3
    assert numbers is not None and len(numbers) == 999_999 and numbers[-1] == 999_999


def test_overlapping_ranges_give_each_number_once() -> None:
    assert parse_task_numbers("5-8,1-6,7,20-21,21") == [1, 2, 3, 4, 5, 6, 7, 8, 20, 21]


def test_numbers_are_described_compactly() -> None:
    assert describe_numbers([1, 2, 3, 5, 7, 8]) == "1-3、5、7-8"
    assert describe_numbers([4]) == "4"

"""The main indicators' target parsing and lights (jobs/indicators.py), expectations by hand."""

from __future__ import annotations

from datetime import date

import pytest

from jobs.indicators import (
    IndicatorLight,
    Target,
    assessed_year,
    format_number,
    indicator_light,
    parse_target,
)
from jobs.types import IndicatorKind

START, END = date(2021, 1, 1), date(2025, 12, 31)


@pytest.mark.parametrize(
    ("text", "comparison", "value"),
    [
        ("＞90", ">", 90.0),
        (">90", ">", 90.0),
        (">=90", ">=", 90.0),
        ("≥90", ">=", 90.0),
        ("≤5", "<=", 5.0),
        ("＜5", "<", 5.0),
        ("100", ">=", 100.0),
        ("97%", ">=", 97.0),
        ("９７％", ">=", 97.0),
        ("750", ">=", 750.0),
        ("85.5", ">=", 85.5),
        ("=100", "=", 100.0),
        ("不低于90", ">=", 90.0),
        ("超过 95", ">", 95.0),
        (" ＞ 95 ", ">", 95.0),
        ("与全区地区生产总值增长基本同步", None, None),
        ("", None, None),
        ("90以上左右", None, None),
        (">", None, None),
    ],
)
def test_parse_target(text, comparison, value):
    assert parse_target(text) == Target(comparison, value)


def test_a_text_target_needs_judgement():
    assert parse_target("与全区地区生产总值增长基本同步").is_text
    assert not parse_target("100").is_text


@pytest.mark.parametrize(
    ("today", "year"),
    [
        (date(2026, 12, 6), 2025),  # after the period: its last year
        (date(2030, 1, 1), 2025),
        (date(2024, 3, 1), 2023),
        (date(2022, 1, 1), 2021),
        (date(2021, 6, 1), None),  # the period's first year: no full year yet
        (date(2020, 6, 1), None),
    ],
)
def test_assessed_year(today, year):
    assert assessed_year(today, START, END) == year


def level(target: str, values: dict[int, float], today: date):
    return indicator_light(
        target=parse_target(target),
        kind=IndicatorKind.LEVEL,
        values=values,
        today=today,
        period_start=START,
        period_end=END,
    )


def cumulative(target: str, values: dict[int, float], today: date):
    return indicator_light(
        target=parse_target(target),
        kind=IndicatorKind.CUMULATIVE,
        values=values,
        today=today,
        period_start=START,
        period_end=END,
    )


def test_level_light_of_the_last_full_year():
    today = date(2026, 12, 6)
    # ＞90: 90 is not more than 90; 90.1 is
    assert level("＞90", {2025: 90}, today).light is IndicatorLight.NOT_MET
    assert level("＞90", {2025: 90.1}, today).light is IndicatorLight.MET
    # 100 means at least 100
    assert level("100", {2025: 100}, today).light is IndicatorLight.MET
    assert level("100", {2025: 99.9}, today).light is IndicatorLight.NOT_MET
    # an earlier year met does not count for the last full year
    result = level("97", {2023: 98, 2024: 99}, today)
    assert (result.light, result.year, result.value) == (IndicatorLight.NO_VALUE, 2025, None)
    # in 2024, the last full year is 2023
    result = level("97", {2023: 96, 2025: 99}, date(2024, 5, 1))
    assert (result.light, result.year, result.value) == (IndicatorLight.NOT_MET, 2023, 96)
    assert level("97", {}, date(2021, 5, 1)).light is IndicatorLight.NO_VALUE


def test_text_target_needs_judgement_once_it_has_a_value():
    text = "与全区地区生产总值增长基本同步"
    assert level(text, {2025: 6.1}, date(2026, 12, 6)).light is IndicatorLight.JUDGEMENT
    assert level(text, {2024: 6.1}, date(2026, 12, 6)).light is IndicatorLight.NO_VALUE


def test_cumulative_light_sums_the_period():
    today = date(2026, 12, 6)
    # 150 + 160 + 140 + 150 + 150 = 750: met
    five = {2021: 150, 2022: 160, 2023: 140, 2024: 150, 2025: 150}
    result = cumulative("750", five, today)
    assert (result.light, result.value, result.final) == (IndicatorLight.MET, 750, True)
    # 749 after the period ended: missed, finally
    short = five | {2025: 149}
    result = cumulative("750", short, today)
    assert (result.light, result.value, result.final) == (IndicatorLight.NOT_MET, 749, True)
    # a year outside the period does not count
    result = cumulative("750", short | {2020: 100}, today)
    assert (result.light, result.value) == (IndicatorLight.NOT_MET, 749)


def test_cumulative_before_the_period_ends():
    # 2024-03-01: judged on 2023; 300 + 200 + 100 = 600 < 750: not reached so far
    values = {2021: 300, 2022: 200, 2023: 100}
    result = cumulative("750", values, date(2024, 3, 1))
    assert (result.light, result.year, result.value, result.final) == (
        IndicatorLight.NOT_MET,
        2023,
        600,
        False,
    )
    # reached early (this year's value counts towards the total): met
    result = cumulative("750", values | {2024: 200}, date(2024, 3, 1))
    assert (result.light, result.value, result.final) == (IndicatorLight.MET, 800, True)
    # 2023 missing and not reached: no value for the last full year
    result = cumulative("750", {2021: 300, 2022: 200}, date(2024, 3, 1))
    assert (result.light, result.value) == (IndicatorLight.NO_VALUE, 500)
    # nothing at all
    result = cumulative("750", {}, date(2024, 3, 1))
    assert (result.light, result.value) == (IndicatorLight.NO_VALUE, None)


def test_format_number():
    assert [format_number(v) for v in (750.0, 97.5, 0.0, 100)] == ["750", "97.5", "0", "100"]


def test_format_number_of_a_huge_value_is_short():
    """/indicator 3 2024 1e308 is a finite float: its receipt must not be 309 digits."""
    assert format_number(1e308) == "1e+308"
    assert format_number(123456789012.0) == "123456789012"

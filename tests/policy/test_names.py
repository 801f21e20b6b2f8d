"""Reading unit names and status words as people type them (`jobs.names`)."""

from __future__ import annotations

import pytest

from jobs.names import match_unit, normalize_name, parse_status
from jobs.types import Status

NAMES = ["区民政局", "潼南税务局", "区残联", "区人力社保局", "区医保局", "区卫生健康委", "各镇街"]


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("区民政局", "区民政局"),
        (" 区民政局 ", "区民政局"),
        ("民政局", "区民政局"),  # without the leading 区
        ("残联", "区残联"),
        ("潼南区民政局", "区民政局"),  # with the district prefix
        ("重庆市潼南区民政局", "区民政局"),
        ("“区民政局”", "区民政局"),  # pasted with quotes
        ("税务局", "潼南税务局"),  # part of exactly one name
        ("区 民 政 局", "区民政局"),
    ],
)
def test_a_name_as_typed_finds_its_unit(typed: str, name: str) -> None:
    assert match_unit(typed, NAMES).name == name


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("区民证局", "区民政局"),  # a typo
        ("人社局", "区人力社保局"),  # a common short form
        ("卫健委", "区卫生健康委"),
        ("局", None),  # too little to guess from
        ("", None),
    ],
)
def test_an_unknown_name_gets_suggestions(typed: str, suggested: str | None) -> None:
    found = match_unit(typed, NAMES)
    assert found.name is None
    if suggested is None:
        assert found.suggestions == ()
    else:
        assert found.suggestions[0] == suggested and len(found.suggestions) <= 5


def test_a_part_of_several_names_is_not_guessed() -> None:
    found = match_unit("局", ["区民政局", "区医保局"])
    assert found.name is None
    assert match_unit("区", NAMES).name is None


def test_normalize_name_folds_full_width_and_prefixes() -> None:
    assert normalize_name("ＡＢＣ局") == "ABC局"
    assert normalize_name("潼南区") == "潼南区"  # a prefix alone stays


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("推进中", Status.IN_PROGRESS),
        ("进行中", Status.IN_PROGRESS),
        ("已完成", Status.DONE),
        ("完成", Status.DONE),
        ("办结", Status.DONE),
        ("遇到困难", Status.BLOCKED),
        ("困难", Status.BLOCKED),
        (" 完成 ", Status.DONE),
        ("DONE", Status.DONE),
        ("未开始", None),  # not a status one reports
        ("很好", None),
    ],
)
def test_status_words(word: str, status: Status | None) -> None:
    assert parse_status(word) is status

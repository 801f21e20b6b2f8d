"""Task numbers typed by people: a list and ranges of 序号, as in ``1-10,12``.

Separators between items: ``,`` ``，`` ``、`` (full-width forms read like ASCII ones); a range
is ``a-b`` (also ``a~b``, ``a～b``, ``a—b``, ``a至b``, ``a到b``) with a <= b; an item may be
written ``第3项``. Pure; the caller checks that the numbers exist.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NUMBER = 999_999
_ITEM = re.compile(r"第?(\d{1,6})项?(?:(?:-|~|—|至|到)第?(\d{1,6})项?)?")
_SEPARATORS = re.compile(r"[,、;；]")
_NUMBERISH = re.compile(r"[\d,、;；\-~—至到第项]*\d[\d,、;；\-~—至到第项]*")


def parse_task_numbers(text: str) -> list[int] | None:
    """Read ``1-10,12`` as [1, 2, ..., 10, 12] (sorted, without repeats); None when any
    item is not a number or a range a-b with a <= b, or the text is empty."""
    cleaned = "".join(unicodedata.normalize("NFKC", text).split())
    if not cleaned:
        return None
    spans: list[tuple[int, int]] = []
    for item in _SEPARATORS.split(cleaned):
        if not item:
            continue
        match = _ITEM.fullmatch(item)
        if match is None:
            return None
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if last < first or first < 1:
            return None
        spans.append((first, last))
    # merged before expanding: a message repeating 1-999999 hundreds of times is expanded
    # once (expanding each would hold the event loop for tens of seconds)
    numbers: list[int] = []
    done = 0  # every number up to here is in `numbers`
    for first, last in sorted(spans):
        if last > done:
            numbers.extend(range(max(first, done + 1), last + 1))
            done = last
    return numbers or None


def looks_like_numbers(text: str) -> bool:
    """Whether `text` is made only of digits and the signs of a list of 序号 (so a refusal
    of `parse_task_numbers` is about the numbers, not an unknown unit name)."""
    cleaned = "".join(unicodedata.normalize("NFKC", text).split())
    return _NUMBERISH.fullmatch(cleaned) is not None


def describe_numbers(numbers: list[int]) -> str:
    """Write sorted numbers back compactly: [1, 2, 3, 5] gives ``1-3、5``."""
    runs: list[str] = []
    start = prev = None
    for n in numbers:
        if start is not None and prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            runs.append(f"{start}-{prev}" if prev != start else str(start))
        start = prev = n
    if start is not None:
        runs.append(f"{start}-{prev}" if prev != start else str(start))
    return "、".join(runs)


__all__ = ["describe_numbers", "looks_like_numbers", "parse_task_numbers"]

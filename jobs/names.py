"""Reading what people type: unit names (with suggestions) and status words. Pure functions.

A unit name as typed is compared with the document names after `normalize_name`: Unicode
NFKC (full-width letters and digits become ASCII), whitespace and the quotes people paste
around names removed, and the district prefixes 重庆市 / 潼南区 dropped. It then matches a
unit when it equals the unit's name, or the name without its leading 区 (民政局 for 区民政局,
残联 for 区残联), or when it is contained in exactly one unit's name (税务局 for 潼南税务局).
Anything else is no match, with up to `limit` suggestions: names containing the text or
contained in it, then the closest names by `difflib` similarity.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from jobs.types import Status

_PREFIXES = ("重庆市", "潼南区")
_STRIP = " \t\r\n\u3000\"'“”‘’「」《》【】"

STATUS_WORDS: dict[str, Status] = {
    "推进中": Status.IN_PROGRESS,
    "进行中": Status.IN_PROGRESS,
    "正在推进": Status.IN_PROGRESS,
    "正在进行": Status.IN_PROGRESS,
    "推进": Status.IN_PROGRESS,
    "in_progress": Status.IN_PROGRESS,
    "已完成": Status.DONE,
    "完成": Status.DONE,
    "完成了": Status.DONE,
    "已办结": Status.DONE,
    "办结": Status.DONE,
    "done": Status.DONE,
    "遇到困难": Status.BLOCKED,
    "有困难": Status.BLOCKED,
    "困难": Status.BLOCKED,
    "受阻": Status.BLOCKED,
    "blocked": Status.BLOCKED,
}
"""Words a coordinator may type for a status (完成 means 已完成, 进行中 means 推进中)."""


def parse_status(word: str) -> Status | None:
    """The status a typed word means (`STATUS_WORDS`, after NFKC, trimmed, lower case), or
    None for a word that names no reportable status."""
    key = unicodedata.normalize("NFKC", word).strip(_STRIP).lower()
    return STATUS_WORDS.get(key)


def normalize_name(text: str) -> str:
    """A unit name as compared: NFKC, no whitespace or quotes, no 重庆市 / 潼南区 prefix."""
    flat = "".join(unicodedata.normalize("NFKC", text).split()).strip(_STRIP)
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if flat.startswith(prefix) and len(flat) > len(prefix):
                flat, changed = flat[len(prefix) :], True
    return flat


@dataclass(frozen=True)
class NameMatch:
    """The outcome of reading a unit name: the matched document name, or suggestions."""

    name: str | None
    suggestions: tuple[str, ...] = ()


def match_unit(text: str, names: Sequence[str], *, limit: int = 5) -> NameMatch:
    """Match `text` against the document `names` (rules in the module doc)."""
    wanted = normalize_name(text)
    if not wanted:
        return NameMatch(None)
    keys = {name: normalize_name(name) for name in names}
    for name, key in keys.items():
        if wanted in (key, key.removeprefix("区")) or wanted == name:
            return NameMatch(name)
    containing = [name for name, key in keys.items() if len(wanted) >= 2 and wanted in key]
    if len(containing) == 1:
        return NameMatch(containing[0])
    suggestions = list(containing)
    suggestions += [n for n, key in keys.items() if key and key in wanted and n not in suggestions]
    by_key = {key: name for name, key in keys.items()}
    for key in difflib.get_close_matches(wanted, list(by_key), n=limit, cutoff=0.5):
        if by_key[key] not in suggestions:
            suggestions.append(by_key[key])
    return NameMatch(None, tuple(suggestions[:limit]))

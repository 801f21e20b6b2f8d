"""Checks of db/data/plan.toml, the 30 key task assignments (重点任务分工).

The data file is compared with the text extracted from the plan's PDF
(the appendix kept verbatim in ``tests/fixtures/plan_appendix.txt``): every character of the
appendix table must be found in the data exactly once, and every cell must sit where the
document puts it.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAN_PATH = REPO_ROOT / "db" / "data" / "plan.toml"
SEED_DIR = Path(__file__).resolve().parents[1] / "fixtures"

APPENDIX_START = "附件：重点任务分工"
TITLE_LINES = {"附件", "重点任务分工"}
HEADER_CELLS = ["序号", "工作任务", "牵头单位", "责任单位"]
ROW_NUMBER = re.compile(r"^\s*(\d{1,2})(?:\s+|$)")
WHITESPACE = re.compile(r"\s+")

# Tasks whose cells the PDF extraction interleaves on the same lines (text, lead and
# responsible fragments alternate), so their text is not one contiguous run in the seed.
INTERLEAVED = {9, 26}

EXPECTED_LEAD_UNITS = {
    "区乡村振兴局",
    "区民政局",
    "区残联",
    "区人力社保局",
    "区医保局",
    "区住房城乡建委",
    "区公安局",
    "区卫生健康委",
    "区应急管理局",
    "区国资委",
    "潼南税务局",
    "区财政局",
    "区教委",
    "区文化旅游委",
    "区统计局",
    "区司法局",
    "区发展改革委",
}

EXPECTED_RESPONSIBLE_UNITS = {
    "区民政局",
    "区残联",
    "区财政局",
    "各镇街",
    "有关镇街",
    "潼南税务局",
    "区人力社保局",
    "区医保局",
    "区卫生健康委",
    "区文化旅游委",
    "区传媒集团",
    "潼南市场监管局",
    "区发展改革委",
    "区公安局",
    "区大数据发展局",
    "区交通局",
    "区应急管理局",
    "区总工会",
    "团区委",
    "区妇联",
}

COLLECTIVE_UNITS = {"各镇街", "有关镇街"}
UNIT_NAME = re.compile(r"^(?:(?:区|潼南)\w+(?:局|委|联|会|集团)|各镇街|有关镇街|团区委)$")

TASK_KEYS_REQUIRED = {"number", "text", "lead_units", "responsible_units"}
TASK_KEYS_OPTIONAL = {"responsible_units_note", "deadline"}


# --------------------------------------------------------------------------- helpers


@cache
def load_plan() -> dict:
    with PLAN_PATH.open("rb") as fh:
        return tomllib.load(fh)


def tasks() -> list[dict]:
    return load_plan()["tasks"]


def task(number: int) -> dict:
    (found,) = [t for t in tasks() if t["number"] == number]
    return found


def squeeze(s: str) -> str:
    return WHITESPACE.sub("", s)


def cell(names: list[str], note: str | None = None) -> str:
    """A unit cell as the document writes it: the note if any, else names joined by 、."""
    return note if note is not None else "、".join(names)


def lead_cell(t: dict) -> str:
    return cell(t["lead_units"])


def responsible_cell(t: dict) -> str:
    return cell(t["responsible_units"], t.get("responsible_units_note"))


def is_subsequence(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return all(ch in it for ch in needle)


def is_interleaving(whole: str, parts: tuple[str, str, str]) -> bool:
    """True when `whole` is a shuffle of the three parts, each kept in its own order."""
    a, b, c = parts
    if len(whole) != len(a) + len(b) + len(c):
        return False
    # reachable (i, j): i chars of a and j chars of b used; chars of c used = pos - i - j
    reachable = {(0, 0)}
    for pos, ch in enumerate(whole):
        nxt = set()
        for i, j in reachable:
            k = pos - i - j
            if i < len(a) and a[i] == ch:
                nxt.add((i + 1, j))
            if j < len(b) and b[j] == ch:
                nxt.add((i, j + 1))
            if k < len(c) and c[k] == ch:
                nxt.add((i, j))
        if not nxt:
            return False
        reachable = nxt
    return (len(a), len(b)) in reachable


def find_seed() -> Path | None:
    if not SEED_DIR.is_dir():
        return None
    for path in sorted(SEED_DIR.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        if "潼南府办发" in text and APPENDIX_START in text:
            return path
    return None


@cache
def parse_seed_appendix() -> tuple[str, dict[int, str]]:
    """The appendix table of the seed, whitespace removed.

    Returns all table characters (row numbers, page headers and title lines removed) and,
    per task number, the characters between its row number and the next one.
    Row numbers are recognised at line starts only, and only when they are the next
    number in sequence, so digits inside task texts ("至少有 1 人", "2021—2025") stay.
    """
    path = find_seed()
    if path is None:
        pytest.skip(f"fixture folder {SEED_DIR} holds no plan appendix text")
    lines = path.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == APPENDIX_START]
    assert len(starts) == 1, "the seed should have exactly one appendix heading line"

    regions: dict[int, list[str]] = {0: []}
    current = 0
    for line in lines[starts[0] + 1 :]:
        stripped = line.strip()
        if stripped.split() == HEADER_CELLS or stripped in TITLE_LINES:
            continue
        m = ROW_NUMBER.match(line)
        if m and int(m.group(1)) == current + 1:
            current += 1
            regions[current] = []
            line = line[m.end() :]
        regions[current].append(squeeze(line))

    assert current == 30, f"found row numbers 1..{current} in the seed appendix"
    assert "".join(regions.pop(0)) == "", "unexpected text before row 1 of the table"
    joined = {n: "".join(parts) for n, parts in regions.items()}
    return "".join(joined[n] for n in range(1, 31)), joined


def seed_text_column(number: int) -> str:
    """For a non-interleaved row: its 工作任务 cell, i.e. the row up to its last 。.

    Unit cells never contain 。, and every task text ends with one, so this is derived
    from the seed alone, independent of how the data file splits the cells.
    """
    region = parse_seed_appendix()[1][number]
    return region[: region.rindex("。") + 1]


# --------------------------------------------------------------------------- shape


def test_plan_header() -> None:
    plan = load_plan()["plan"]
    assert plan == {
        "title": "重庆市潼南区“十四五”残疾人保障和发展规划（2021—2025年）",
        "document_number": "潼南府办发〔2022〕23号",
        "short_name": "十四五",
        "issued_on": dt.date(2022, 4, 18),
        "period_start": dt.date(2021, 1, 1),
        "period_end": dt.date(2025, 12, 31),
        "default_deadline": dt.date(2025, 12, 31),
    }
    assert set(load_plan()) == {"plan", "tasks", "indicators"}


def test_thirty_tasks_numbered_in_order() -> None:
    assert [t["number"] for t in tasks()] == list(range(1, 31))


def test_task_keys_and_types() -> None:
    for t in tasks():
        keys = set(t)
        assert TASK_KEYS_REQUIRED <= keys, t["number"]
        assert keys <= TASK_KEYS_REQUIRED | TASK_KEYS_OPTIONAL, (t["number"], keys)
        assert isinstance(t["number"], int)
        assert isinstance(t["text"], str)
        assert isinstance(t["lead_units"], list)
        assert isinstance(t["responsible_units"], list)
        if "deadline" in t:
            assert type(t["deadline"]) is dt.date, (t["number"], "deadline must be a TOML date")


def test_texts_are_clean_sentences() -> None:
    for t in tasks():
        text = t["text"]
        assert text, t["number"]
        assert text.endswith("。"), t["number"]
        assert "\n" not in text and "\r" not in text, t["number"]
        assert squeeze(text) == text, (t["number"], "whitespace left in text")
        # half-width punctuation would mean the document's own punctuation was altered
        assert not re.search(r"[,;:()\"]", text), t["number"]


def test_every_task_has_a_lead_unit() -> None:
    for t in tasks():
        assert t["lead_units"], t["number"]


def test_unit_names_are_whole_names() -> None:
    for t in tasks():
        for role in ("lead_units", "responsible_units"):
            names = t[role]
            assert len(names) == len(set(names)), (t["number"], role, "duplicate name")
            for name in names:
                assert isinstance(name, str), (t["number"], role)
                assert UNIT_NAME.match(name), (t["number"], role, name)
        overlap = set(t["lead_units"]) & set(t["responsible_units"])
        assert not overlap, (t["number"], overlap)


def test_lead_units_are_plausible() -> None:
    for t in tasks():
        for name in t["lead_units"]:
            assert name.startswith(("区", "潼南")) or name in COLLECTIVE_UNITS, (t["number"], name)


def test_lead_unit_set() -> None:
    leads = {name for t in tasks() for name in t["lead_units"]}
    assert leads == EXPECTED_LEAD_UNITS
    assert len(leads) == 17


def test_responsible_unit_set() -> None:
    responsibles = {name for t in tasks() for name in t["responsible_units"]}
    assert responsibles == EXPECTED_RESPONSIBLE_UNITS


def test_empty_responsible_cells() -> None:
    empty = [t["number"] for t in tasks() if not t["responsible_units"]]
    assert empty == [3, 6, 17, 18, 21, 22]


def test_notes_only_where_names_cannot_say_it() -> None:
    with_note = [t for t in tasks() if "responsible_units_note" in t]
    assert [t["number"] for t in with_note] == [30]
    for t in with_note:
        note = t["responsible_units_note"]
        assert note != "、".join(t["responsible_units"])
        # the note names the same units in the same order ("等" closes an open list)
        names = [part.removesuffix("等") for part in re.split("[、，]", note)]
        assert names == t["responsible_units"]


def test_spot_check_task_9() -> None:
    assert task(9) == {
        "number": 9,
        "text": (
            "完善残疾人按比例就业制度，落实党政机关、事业单位、国有企业带头安置残疾人"
            "就业办法，合理认定按比例安排残疾人就业形式。对超比例安排残疾人就业的用人"
            "单位给予奖励。"
        ),
        "lead_units": ["区人力社保局", "区国资委", "区残联"],
        "responsible_units": ["区财政局", "潼南税务局", "各镇街"],
    }


def test_spot_check_task_26() -> None:
    assert task(26) == {
        "number": 26,
        "text": (
            "推动残疾人保障法等法律法规有效实施。开展残疾人尊法学法守法用法专项行动。"
            "建立健全残疾人权益维护应急处置机制。"
        ),
        "lead_units": ["区司法局", "区公安局", "区残联"],
        "responsible_units": ["各镇街"],
    }


def test_spot_check_task_30() -> None:
    t = task(30)
    assert t["text"] == "相关单位将扶残助残重点项目纳入民生实事工程。"
    assert t["lead_units"] == ["区发展改革委"]
    assert t["responsible_units"] == ["区残联", "区民政局", "区人力社保局", "各镇街"]
    assert t["responsible_units_note"] == "区残联、区民政局、区人力社保局等，各镇街"


def test_digits_written_without_pdf_spaces() -> None:
    assert "至少有1人就业。" in task(11)["text"]
    assert "（2021—2025年）" in task(16)["text"]


# --------------------------------------------------------------------------- seed


def test_seed_character_accounting() -> None:
    """Appendix characters == characters of all texts and unit cells, as multisets."""
    appendix, _ = parse_seed_appendix()
    data = "".join(t["text"] + lead_cell(t) + responsible_cell(t) for t in tasks())
    seed_counts, data_counts = Counter(appendix), Counter(squeeze(data))
    assert seed_counts - data_counts == Counter(), "in the seed but missing from the data"
    assert data_counts - seed_counts == Counter(), "in the data but not in the seed"


def test_rows_hold_exactly_their_cells() -> None:
    """Each seed row (between two row numbers) holds that task's text and cells, no more."""
    _, regions = parse_seed_appendix()
    for t in tasks():
        n = t["number"]
        parts = (t["text"], lead_cell(t), responsible_cell(t))
        if n in INTERLEAVED:
            assert regions[n] != "".join(parts), f"task {n} is not interleaved after all"
            assert is_interleaving(regions[n], parts), n
        else:
            assert regions[n] == "".join(parts), n


def test_texts_match_seed_text_column() -> None:
    """No unit name glued into a text and nothing cut: compare with the seed's own column."""
    all_units = {name for t in tasks() for name in t["lead_units"] + t["responsible_units"]}
    for t in tasks():
        if t["number"] in INTERLEAVED:
            continue
        seed_text = seed_text_column(t["number"])
        for name in all_units:
            assert t["text"].count(name) == seed_text.count(name), (t["number"], name)
        assert t["text"] == seed_text, t["number"]


def test_texts_are_in_order_in_the_seed() -> None:
    appendix, regions = parse_seed_appendix()
    for t in tasks():
        text = t["text"]
        assert is_subsequence(text, appendix), t["number"]
        assert is_subsequence(text, regions[t["number"]]), t["number"]
        if t["number"] not in INTERLEAVED:
            assert text in appendix, t["number"]
    # and the texts follow one another in document order
    assert is_subsequence("".join(t["text"] for t in tasks()), appendix)


def test_interleaved_cells_in_seed_order() -> None:
    _, regions = parse_seed_appendix()
    for n in sorted(INTERLEAVED):
        t = task(n)
        region = regions[n]
        for part in (t["text"], lead_cell(t), responsible_cell(t)):
            assert is_subsequence(part, region), (n, part)
        assert region.startswith(t["text"][:4]), n

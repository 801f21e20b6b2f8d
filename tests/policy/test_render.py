"""Tests of HTML rendering (bot/render.py) and the digest as data (jobs/digest.py).

Lengths are checked the way Telegram counts them: UTF-16 code units (an emoji outside the
Basic Multilingual Plane counts 2). The helpers below compute that independently of the code
under test.
"""

from __future__ import annotations

import itertools
import random
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from bot.render import digest_lines, esc, render_digest, split_lines
from jobs.digest import TaskLine, UnitRow, build_digest
from jobs.state import ContactView, FollowUpState, ReportView, TaskView, UnitView
from jobs.types import Status

SHANGHAI = ZoneInfo("Asia/Shanghai")
LIMIT = 4096
MARKER = re.compile(r"^（续(\d+)/(\d+)）\n")


def utf16_len(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


class TagBalance(HTMLParser):
    """Records whether every opened tag is closed, in order, within one text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack}")
        else:
            self.stack.pop()


def assert_balanced(part: str) -> None:
    parser = TagBalance()
    parser.feed(part)
    parser.close()
    assert parser.errors == []
    assert parser.stack == [], f"unclosed tags {parser.stack}"


# ---------------------------------------------------------------- esc


def test_esc_escapes_html_specials():
    assert esc("<>&\"'") == "&lt;&gt;&amp;&quot;&#x27;"
    assert esc('<a href="x">R&D</a>') == "&lt;a href=&quot;x&quot;&gt;R&amp;D&lt;/a&gt;"


def test_esc_leaves_plain_text_and_converts_values():
    assert esc("区残联 推进中") == "区残联 推进中"
    assert esc(42) == "42"
    assert esc("") == ""


# ---------------------------------------------------------------- split_lines


def test_split_lines_counts_emoji_as_two():
    lines = ["😀😀😀", "😀😀"]  # 6 + 1 + 4 = 11 UTF-16 units together (6 code points)
    assert split_lines(lines, limit=10) == ["😀😀😀", "😀😀"]
    assert split_lines(lines, limit=11) == ["😀😀😀\n😀😀"]


def test_split_lines_exact_boundary():
    assert split_lines(["aaaa", "bbbbb"], limit=10) == ["aaaa\nbbbbb"]
    assert split_lines(["aaaa", "bbbbb"], limit=9) == ["aaaa", "bbbbb"]
    assert split_lines(["abc"], limit=3) == ["abc"]


def test_split_lines_single_overlong_line_raises():
    with pytest.raises(ValueError):
        split_lines(["😀😀😀"], limit=5)  # 3 code points but 6 UTF-16 units
    with pytest.raises(ValueError):
        split_lines(["ok", "x" * 11], limit=10)
    assert split_lines(["😀😀😀"], limit=6) == ["😀😀😀"]


def test_split_lines_empty_input():
    assert split_lines([], limit=100) == []


def _random_lines(rng: random.Random, count: int, *, blanks: bool) -> list[str]:
    alphabet = ["a", "Z", "9", " ", "&amp;", "<b>粗</b>", "残", "联", "。", "😀", "🟠", "✅", "𠀀"]
    lines = []
    for _ in range(count):
        n = rng.randint(0 if blanks else 1, 120)
        line = "".join(rng.choice(alphabet) for _ in range(n))
        lines.append(line if blanks or line.strip() else "x")
    return lines


@pytest.mark.parametrize("limit", [4096, 1000, 300])
def test_split_lines_keeps_every_line_in_order_within_the_limit(limit):
    rng = random.Random(limit)
    lines = _random_lines(rng, 600, blanks=False)
    parts = split_lines(lines, limit=limit)
    assert len(parts) > 1
    assert all(utf16_len(p) <= limit for p in parts)
    # joining back gives the original text: no line was split, dropped or reordered
    assert "\n".join(parts) == "\n".join(lines)
    assert [line for p in parts for line in p.split("\n")] == lines
    # each part is packed: the next part's first line would not have fitted
    for part, following in itertools.pairwise(parts):
        first = following.split("\n")[0]
        assert utf16_len(part) + 1 + utf16_len(first) > limit


def test_split_lines_with_blank_lines_never_sends_an_empty_part():
    rng = random.Random(7)
    lines = _random_lines(rng, 400, blanks=True)
    parts = split_lines(lines, limit=500)
    assert all(p.strip() for p in parts)
    assert all(utf16_len(p) <= 500 for p in parts)
    kept = [line for p in parts for line in p.split("\n") if line.strip()]
    assert kept == [line for line in lines if line.strip()]


# ---------------------------------------------------------------- build_digest

NOW = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
SINCE = datetime(2026, 3, 8, 17, 0, tzinfo=UTC)  # Monday 9 March 01:00 in Shanghai


def _report(rid, task_id, unit_id, status, note, created_at) -> ReportView:
    return ReportView(
        id=rid, task_id=task_id, unit_id=unit_id, status=status, note=note, created_at=created_at
    )


R1 = _report(1, 101, 1, Status.IN_PROGRESS, "进展顺利", datetime(2026, 3, 10, 2, tzinfo=UTC))
R2A = _report(2, 102, 1, Status.DONE, "已完成验收", datetime(2026, 3, 11, 2, tzinfo=UTC))
R2B = _report(3, 102, 1, None, "补充材料已上传", datetime(2026, 3, 12, 2, tzinfo=UTC))
R4 = _report(4, 104, 2, Status.DONE, "", datetime(2026, 2, 1, 2, tzinfo=UTC))
R5 = _report(5, 105, 2, Status.BLOCKED, "资金未到位", datetime(2026, 3, 13, 6, 30, tzinfo=UTC))
R6 = _report(6, 106, 4, None, "各镇街正在汇总", datetime(2026, 3, 14, 2, tzinfo=UTC))


def small_state(**overrides) -> FollowUpState:
    fields = dict(
        tasks=(
            TaskView(101, 1, "任务一", date(2026, 3, 10), (1,), (5,)),  # overdue 6 days
            TaskView(102, 2, "任务二", date(2026, 3, 30), (1, 2)),  # in 14 days
            TaskView(103, 3, "任务三", date(2026, 3, 31), (3,)),  # in 15 days
            TaskView(104, 4, "任务四", date(2026, 3, 1), (2,)),  # past but done
            TaskView(105, 5, "任务五", date(2026, 3, 16), (2,)),  # today
            TaskView(106, 6, "任务六", date(2026, 3, 12), (4, 3)),  # overdue 4 days
        ),
        units={
            1: UnitView(1, "区民政局"),
            2: UnitView(2, "区残联"),
            3: UnitView(3, "区教委"),
            4: UnitView(4, "各镇街", is_collective=True),
            5: UnitView(5, "区财政局"),
        },
        contacts=(
            ContactView(11, 1, 7011, 7011, "李明"),
            ContactView(21, 2, 7021, 7021, "张华", unreachable_reason="bot blocked"),
            ContactView(51, 5, 7051, 7051, "赵敏"),
        ),
        latest_status={(101, 1): R1, (102, 1): R2A, (104, 2): R4, (105, 2): R5},
        latest_report={(101, 1): R1, (102, 1): R2B, (104, 2): R4, (105, 2): R5, (106, 4): R6},
        recent_reports=(R1, R2A, R2B, R5, R6),
        plan_title="十四五残疾人保障和发展规划",
    )
    fields.update(overrides)
    return FollowUpState(**fields)  # type: ignore[arg-type]


def test_build_digest_counts_and_period():
    d = build_digest(NOW, small_state(), zone=SHANGHAI, since=SINCE)
    assert d.counts == {
        Status.DONE: 1,  # task 4
        Status.IN_PROGRESS: 2,  # tasks 1 and 2 (one lead unit done, the other not)
        Status.BLOCKED: 1,  # task 5
        Status.NOT_STARTED: 2,  # tasks 3 and 6 (a note-only report carries no status)
    }
    assert d.task_count == 6
    assert d.period_start == date(2026, 3, 9)  # local date of SINCE, not its UTC date
    assert d.period_end == date(2026, 3, 16)
    assert d.generated_at == NOW
    assert d.plan_title == "十四五残疾人保障和发展规划"
    assert [r.id for r in d.new_reports] == [1, 2, 3, 5, 6]


def test_digest_period_runs_between_instants_so_consecutive_digests_do_not_overlap():
    first = build_digest(NOW, small_state(), zone=SHANGHAI, since=SINCE)
    second = build_digest(NOW + timedelta(days=7), small_state(), zone=SHANGHAI, since=NOW)
    [line1] = [x for x in render_digest(first, SHANGHAI)[0].splitlines() if "统计期间" in x]
    [line2] = [x for x in render_digest(second, SHANGHAI)[0].splitlines() if "统计期间" in x]
    assert line1.startswith("统计期间：2026年3月9日 1:00至2026年3月16日 9:00")
    assert line2.startswith("统计期间：2026年3月16日 9:00至2026年3月23日 9:00")


def test_build_digest_lists():
    d = build_digest(NOW, small_state(), zone=SHANGHAI, since=SINCE)
    assert d.overdue == (
        TaskLine(1, "任务一", date(2026, 3, 10), ("区民政局",), -6),
        TaskLine(6, "任务六", date(2026, 3, 12), ("各镇街", "区教委"), -4),
    )
    # within 14 days, today included; task 3 (15 days) is not due soon
    assert d.due_soon == (
        TaskLine(5, "任务五", date(2026, 3, 16), ("区残联",), 0),
        TaskLine(2, "任务二", date(2026, 3, 30), ("区民政局", "区残联"), 14),
    )
    # only task 3 has no report from any lead unit (task 6 has a note-only one)
    assert d.no_report == (TaskLine(3, "任务三", date(2026, 3, 31), ("区教委",), 15),)


def test_build_digest_rows_and_units_without_contact():
    d = build_digest(NOW, small_state(), zone=SHANGHAI, since=SINCE)
    assert d.rows == (
        UnitRow(1, "区民政局", Status.IN_PROGRESS, "进展顺利", R1.created_at, True),
        # status from the latest status report, note from the latest report of any kind
        UnitRow(2, "区民政局", Status.DONE, "补充材料已上传", R2B.created_at, True),
        UnitRow(2, "区残联", Status.NOT_STARTED, "", None, True),
        UnitRow(3, "区教委", Status.NOT_STARTED, "", None, False),
        UnitRow(4, "区残联", Status.DONE, "", R4.created_at, True),
        UnitRow(5, "区残联", Status.BLOCKED, "资金未到位", R5.created_at, True),
        UnitRow(6, "各镇街", Status.NOT_STARTED, "各镇街正在汇总", R6.created_at, False),
        UnitRow(6, "区教委", Status.NOT_STARTED, "", None, False),
    )
    # lead units only (区财政局 is a responsible unit), in order of first appearance
    assert d.units_without_contact == ("区教委", "各镇街")


def test_build_digest_done_task_is_neither_overdue_nor_due_soon():
    tasks = (TaskView(104, 4, "任务四", date(2026, 3, 20), (2,)),)
    d = build_digest(NOW, small_state(tasks=tasks), zone=SHANGHAI, since=SINCE)
    assert d.overdue == ()
    assert d.due_soon == ()
    assert d.counts[Status.DONE] == 1


def test_build_digest_custom_due_soon_window():
    d = build_digest(NOW, small_state(), zone=SHANGHAI, since=SINCE, due_soon_days=0)
    assert [t.number for t in d.due_soon] == [5]


def test_build_digest_uses_local_date():
    # 2026-03-15 16:30 UTC is already Monday 00:30 on 16 March in Shanghai
    d = build_digest(
        datetime(2026, 3, 15, 16, 30, tzinfo=UTC), small_state(), zone=SHANGHAI, since=SINCE
    )
    assert d.period_end == date(2026, 3, 16)
    assert [t.days_left for t in d.overdue] == [-6, -4]


# ---------------------------------------------------------------- render_digest


def test_render_digest_small_is_one_part_with_hand_checked_lines():
    d = build_digest(NOW, small_state(), zone=SHANGHAI, since=SINCE)
    parts = render_digest(d, SHANGHAI)
    assert len(parts) == 1
    text = parts[0]
    assert not MARKER.match(text)
    assert "2026年3月9日" in text and "2026年3月16日" in text
    assert "已完成 1，推进中 2，遇到困难 1，未开始 2" in text
    lines = text.split("\n")
    [row5] = [line for line in lines if "第5项｜" in line]
    assert "区残联" in row5 and "遇到困难" in row5 and "资金未到位" in row5
    assert "2026年3月13日 14:30" in row5  # 06:30 UTC shown in Shanghai time
    [overdue1] = [line for line in lines if "第1项 " in line]
    assert "2026年3月10日" in overdue1 and "已逾期6天" in overdue1
    [soon5] = [line for line in lines if "第5项 " in line]
    assert "今天到期" in soon5
    [soon2] = [line for line in lines if "第2项 " in line]
    assert "还有14天" in soon2
    [no_contact] = [line for line in lines if "区教委、各镇街" in line]
    assert no_contact
    assert_balanced(text)


def test_render_digest_escapes_notes_and_names():
    units = dict(small_state().units)
    units[2] = UnitView(2, "A&B<局>")
    latest_report = dict(small_state().latest_report)
    latest_report[(105, 2)] = _report(
        5, 105, 2, Status.BLOCKED, "<b>加粗</b> & 其他", datetime(2026, 3, 13, 6, 30, tzinfo=UTC)
    )
    tasks = (
        *small_state().tasks[:4],
        TaskView(105, 5, "<script>任务五</script>", date(2026, 3, 16), (2,)),
        small_state().tasks[5],
    )
    state = small_state(
        units=units, latest_report=latest_report, tasks=tasks, plan_title="规划<i>&"
    )
    d = build_digest(NOW, state, zone=SHANGHAI, since=SINCE)
    [text] = render_digest(d, SHANGHAI)
    assert "&lt;b&gt;加粗&lt;/b&gt; &amp; 其他" in text
    assert "A&amp;B&lt;局&gt;" in text
    assert "&lt;script&gt;任务五&lt;/script&gt;" in text
    assert "规划&lt;i&gt;&amp;" in text
    assert "<b>加粗" not in text
    assert "A&B" not in text
    assert "<script>" not in text
    assert "<i>" not in text
    assert_balanced(text)


def big_state(n_tasks: int = 300) -> FollowUpState:
    units = {
        1: UnitView(1, "区残联"),
        2: UnitView(2, "区民政局"),
        3: UnitView(3, "区人力社保局&<税务>"),
        4: UnitView(4, "各镇街", is_collective=True),
        5: UnitView(5, "区教委"),
    }
    tasks = []
    latest: dict[tuple[int, int], ReportView] = {}
    statuses = [Status.IN_PROGRESS, Status.DONE, Status.BLOCKED, None]
    for n in range(1, n_tasks + 1):
        unit = (n % 5) + 1
        tasks.append(
            TaskView(
                id=1000 + n,
                number=n,
                text=f"第{n}项：" + "推进残疾人<康复>&就业服务，" * 12 + "😀" * 10,
                deadline=date(2026, 3, 1) if n % 3 == 0 else date(2026, 3, 20),
                lead_unit_ids=(unit,),
            )
        )
        if n % 7 != 0:
            latest[(1000 + n, unit)] = _report(
                n,
                1000 + n,
                unit,
                statuses[n % 4],
                "<b>说明</b>&" + "🎉进展情况良好但仍需加强协调" * 20,
                datetime(2026, 3, 10, 2, tzinfo=UTC),
            )
    latest_status = {k: v for k, v in latest.items() if v.status is not None}
    return FollowUpState(
        tasks=tuple(tasks),
        units=units,
        contacts=(ContactView(11, 1, 7011, 7011, "李明"),),
        latest_status=latest_status,
        latest_report=latest,
        recent_reports=tuple(latest.values()),
        plan_title="十四五规划",
    )


def test_render_digest_300_tasks_splits_into_valid_parts():
    state = big_state()
    d = build_digest(NOW, state, zone=SHANGHAI, since=SINCE)
    assert len(d.rows) == 300
    parts = render_digest(d, SHANGHAI)
    n = len(parts)
    assert n >= 3
    assert not MARKER.match(parts[0])
    for i, part in enumerate(parts):
        assert utf16_len(part) <= LIMIT, (i, utf16_len(part))
        if i > 0:
            m = MARKER.match(part)
            assert m is not None, part[:30]
            assert (int(m.group(1)), int(m.group(2))) == (i + 1, n)
        assert_balanced(part)
        assert "<b>说明</b>" not in part
    # every (task, lead unit) row appears exactly once over all parts
    whole = "\n".join(parts)
    for number in range(1, 301):
        assert whole.count(f" 第{number}项｜") == 1, number
    # and the content is the digest's lines, in order, markers aside
    body = [line for part in parts for line in MARKER.sub("", part).split("\n") if line.strip()]
    assert body == [line for line in digest_lines(d, SHANGHAI) if line.strip()]


def test_render_digest_respects_a_smaller_limit():
    d = build_digest(NOW, big_state(40), zone=SHANGHAI, since=SINCE)
    parts = render_digest(d, SHANGHAI, limit=700)
    assert len(parts) > 5
    for i, part in enumerate(parts):
        assert utf16_len(part) <= 700
        assert (MARKER.match(part) is not None) == (i > 0)
        assert_balanced(part)


def test_render_digest_notes_are_clipped():
    d = build_digest(NOW, big_state(10), zone=SHANGHAI, since=SINCE)
    text = "\n".join(render_digest(d, SHANGHAI))
    # the note's first 79 characters, escaped, then an ellipsis; never the whole note
    expected = esc(("<b>说明</b>&" + "🎉进展情况良好但仍需加强协调" * 20)[:79]) + "…"
    assert expected in text
    assert "🎉进展情况良好但仍需加强协调" * 6 not in text


def test_render_digest_many_units_without_contact_still_renders():
    units = {i: UnitView(i, f"潼南区第{i}号牵头单位工作领导小组办公室") for i in range(1, 301)}
    tasks = tuple(TaskView(i, i, f"任务{i}", date(2026, 6, 30), (i,)) for i in range(1, 301))
    state = FollowUpState(tasks=tasks, units=units, contacts=())
    d = build_digest(NOW, state, zone=SHANGHAI, since=SINCE)
    assert len(d.units_without_contact) == 300
    parts = render_digest(d, SHANGHAI)
    assert all(utf16_len(p) <= LIMIT for p in parts)
    whole = "\n".join(parts)
    assert all(f"潼南区第{i}号牵头单位" in whole for i in range(1, 301))


def test_member_rollup_counts_towns_that_reported_in_the_cycle_leads_first() -> None:
    """Each collective unit of a task with member towns: the towns (by name) whose latest
    report on the task is in the current reporting cycle (from the 25th: 2026-02-25 for
    16 March), out of all its towns; a task's lead collectives come before its responsible
    ones."""
    from jobs.digest import member_rollup
    from jobs.lights import LightPolicy

    units = {
        1: UnitView(1, "区民政局"),
        4: UnitView(4, "各镇街", is_collective=True),
        7: UnitView(7, "有关镇街", is_collective=True),
        11: UnitView(11, "梓潼街道", parent_id=4),
        12: UnitView(12, "桂林街道", parent_id=4),
        13: UnitView(13, "大佛街道", parent_id=4),
        21: UnitView(21, "上和镇", parent_id=7),
        8: UnitView(8, "空集体", is_collective=True),  # no member towns: not listed
    }
    tasks = (
        TaskView(201, 1, "任务一", date(2026, 4, 1), (1,), (4, 8)),
        TaskView(202, 2, "任务二", date(2026, 4, 1), (7,), (4,)),
    )
    in_cycle = datetime(2026, 3, 2, 2, tzinfo=UTC)
    before_cycle = datetime(2026, 2, 20, 2, tzinfo=UTC)
    latest = {
        (201, 11): _report(1, 201, 11, None, "已摸底", in_cycle),
        (201, 12): _report(2, 201, 12, Status.IN_PROGRESS, "", before_cycle),
        (202, 12): _report(3, 202, 12, Status.DONE, "", in_cycle),
        (202, 13): _report(4, 202, 13, Status.DONE, "", in_cycle),
        (202, 21): _report(5, 202, 21, Status.IN_PROGRESS, "", before_cycle),
    }
    state = small_state(units=units, tasks=tasks, latest_report=latest, latest_status={})
    policy = LightPolicy(zone=SHANGHAI, cycle_day=25)
    assert member_rollup(state, date(2026, 3, 16), policy) == (
        (1, "各镇街", ("梓潼街道",), 3),
        (2, "有关镇街", (), 1),
        (2, "各镇街", ("桂林街道", "大佛街道"), 3),
    )


def test_a_long_list_of_task_numbers_in_a_digest_line_is_cut_with_deng() -> None:
    from bot.render import NUMBERS_CHARS, _numbers

    assert _numbers([1, 2, 5]) == "1、2、5"
    assert _numbers([9, 2, 3, 4, 5, 7]) == "2-5、7、9"
    assert _numbers(list(range(1, 10_000))) == "1-9999"
    many = _numbers(list(range(1, 10_000, 2)))
    assert len(many) <= NUMBERS_CHARS + 1 and many.endswith("等")
    assert many.startswith("1、3、5、")


def test_digest_cites_the_plan_with_book_title_marks():
    # 公文 convention: a document's title is cited between 《》, as /help does
    d = build_digest(NOW, small_state(), zone=SHANGHAI, since=SINCE)
    [text] = render_digest(d, SHANGHAI)
    assert "依据：《十四五残疾人保障和发展规划》" in text.splitlines()

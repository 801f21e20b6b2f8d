"""The digest's picture: the lights per lead unit (jobs.chart) and its drawing (bot.chart):
Chinese labels without a missing glyph, a PNG sized for a phone, no picture without the font."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot import chart
from jobs.calendar import WeekdayCalendar
from jobs.chart import UnitBar, lights_by_unit
from jobs.lights import Light, LightPolicy
from jobs.plans import PlanStatus, PlanView
from jobs.state import FollowUpState, ReportView, TaskView, UnitView
from jobs.types import Status

POLICY = LightPolicy(zone=ZoneInfo("Asia/Shanghai"), yellow_working_days=10, cycle_day=25)
TODAY = date(2026, 3, 16)  # the cycle started on 2026-02-25
IN_CYCLE = datetime(2026, 3, 2, 2, tzinfo=UTC)
SOON = date(2026, 3, 20)
LATER = date(2026, 9, 30)
PAST = date(2026, 3, 1)
# long, rare and ordinary unit names, as a district's units are written
NAMES = ("潼南区人力资源和社会保障局", "区民政局", "桂林街道", "区残联", "崇龛镇", "区住房城乡建委")


def plan(plan_id: int, status: PlanStatus = PlanStatus.ACTIVE) -> PlanView:
    return PlanView(
        plan_id, f"计划{plan_id}", "", "", date(2021, 1, 1), date(2021, 1, 1), LATER, status
    )


def state() -> FollowUpState:
    units = {i: UnitView(i, name) for i, name in enumerate(NAMES, start=1)}
    tasks = (
        TaskView(1, 1, "一", PAST, (1, 2), plan_id=1),  # red for both
        TaskView(2, 2, "二", SOON, (2,), plan_id=1),  # yellow (silent, near)
        TaskView(3, 3, "三", LATER, (2, 3), plan_id=1),  # none for 2; 3 reported: green
        TaskView(4, 4, "四", LATER, (3,), plan_id=1),  # 3 blocked: yellow
        TaskView(5, 5, "五", PAST, (4,), plan_id=2),  # a held plan's task
        TaskView(6, 6, "六", PAST, (5,), plan_id=3),  # a closed plan's task
    )
    reports = {
        (3, 3): ReportView(1, 3, 3, Status.IN_PROGRESS, "推进", IN_CYCLE),
        (4, 3): ReportView(2, 4, 3, Status.BLOCKED, "资金未到位", IN_CYCLE),
    }
    return FollowUpState(
        tasks=tasks,
        units=units,
        contacts=(),
        latest_status=dict(reports),
        latest_report=dict(reports),
        plans={1: plan(1), 2: plan(2), 3: plan(3, PlanStatus.CLOSED)},
    )


def test_each_lead_unit_gets_its_lights_worst_first() -> None:
    bars = lights_by_unit(state(), TODAY, POLICY, WeekdayCalendar(), leave_out=[2])
    assert [bar.unit_name for bar in bars] == ["区民政局", "潼南区人力资源和社会保障局", "桂林街道"]
    by_name = {bar.unit_name: bar.counts for bar in bars}
    assert by_name["区民政局"] == {Light.RED: 1, Light.YELLOW: 1, Light.NONE: 1, Light.GREEN: 0}
    assert by_name["潼南区人力资源和社会保障局"][Light.RED] == 1
    assert by_name["桂林街道"] == {Light.RED: 0, Light.YELLOW: 1, Light.NONE: 0, Light.GREEN: 1}
    assert sum(bar.total for bar in bars) == 6  # pairs of (task, lead unit) of plan 1


def test_a_held_plan_is_left_out_only_when_asked_and_a_closed_one_always() -> None:
    names = {bar.unit_name for bar in lights_by_unit(state(), TODAY, POLICY, WeekdayCalendar())}
    assert "区残联" in names  # plan 2's unit
    assert "崇龛镇" not in names  # plan 3 is closed
    assert lights_by_unit(FollowUpState((), {}, ()), TODAY, POLICY, WeekdayCalendar()) == ()


@pytest.fixture
def fresh_font() -> Iterator[None]:
    chart.reset_font()
    yield
    chart.reset_font()


def bars(count: int) -> list[UnitBar]:
    return [
        UnitBar(
            f"{NAMES[i % len(NAMES)]}{i}",
            {Light.RED: i % 3, Light.YELLOW: i % 4, Light.NONE: i % 2, Light.GREEN: 5},
        )
        for i in range(count)
    ]


def glyph_complaints(draw: object) -> list[str]:
    """Call `draw()` and return what matplotlib said about glyphs it could not find, as a
    warning or a log record."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Collect(level=logging.DEBUG)
    logger = logging.getLogger("matplotlib")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            draw()  # type: ignore[operator]
    finally:
        logger.removeHandler(handler)
    said = records + [str(w.message) for w in caught]
    return [line for line in said if "glyph" in line.lower() or "missing from" in line.lower()]


def test_the_chinese_labels_draw_without_a_missing_glyph(fresh_font: None) -> None:
    font = chart.font_path()
    assert font is not None  # the project's install brings it (pyproject: noto-cjk-sans-otc)
    pngs: list[bytes] = []
    assert glyph_complaints(lambda: pngs.append(chart.draw_png(bars(40), TODAY, font))) == []
    [png] = pngs
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    assert 1000 <= width <= 1200  # about a phone screen's width at 3x
    assert 1.5 < height / width < 3  # 40 units: tall, within Telegram's 20:1 ratio
    with Image.open(io.BytesIO(chart.draw_png(bars(5), TODAY, font))) as small:
        assert small.size[1] < height / 2


def test_the_bot_draws_in_a_child_process(fresh_font: None) -> None:
    png = chart.digest_chart_png(bars(12), TODAY)
    assert png is not None and png.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(png)) as image:
        assert image.size[0] > 1000


def test_the_glyph_check_sees_a_font_without_chinese() -> None:
    """The check above can fail: Chinese text in matplotlib's default font is reported."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def draw() -> None:
        fig = Figure()
        FigureCanvasAgg(fig)
        fig.suptitle("各牵头单位任务灯况", family="DejaVu Sans")
        fig.savefig(io.BytesIO(), format="png")

    assert glyph_complaints(draw)


def test_many_units_draw_the_worst_fifty(fresh_font: None) -> None:
    font = chart.font_path()
    assert font is not None
    png = chart.draw_png(bars(300), TODAY, font)
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    assert width + height <= 10000 and height / width < 20  # Telegram's limits of a photo


def test_without_the_font_there_is_no_picture_and_one_log_line(
    fresh_font: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(chart, "FONT_MODULE", "no_such_font_package")
    with caplog.at_level(logging.WARNING, logger="bot.chart"):
        assert chart.digest_chart_png(bars(3), TODAY) is None
        assert chart.digest_chart_png(bars(3), TODAY) is None
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.chart"]
    assert "no CJK font" in line and "no_such_font_package" in line
    assert chart.digest_chart_png([], TODAY) is None

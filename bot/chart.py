"""The weekly digest's picture: the traffic lights per lead unit as horizontal stacked bars
(🔴 red, 🟡 yellow, ⚪ no report, 🟢 green), drawn with matplotlib into a PNG.

The data comes from `jobs.chart.lights_by_unit`; this module only draws. Drawing uses the
object-oriented API (`matplotlib.figure.Figure` on the Agg canvas), never pyplot.

`digest_chart_png` draws in a short-lived child process (`python -m bot.chart`: the bars as
JSON on its standard input, the PNG on its standard output), so the bot itself never loads
matplotlib: importing it and drawing one chart costs some 60 MB of resident memory, which
the allocator does not give back, and the bot's budget is 120 MB (docs/benchmarks.md).

The Chinese labels need a CJK font: the project installs the pip package `noto-cjk-sans-otc`
(Noto Sans CJK, SIL Open Font License 1.1; an OpenType collection whose "Noto Sans CJK SC"
face is used). Without it, `digest_chart_png` returns None and logs why, once per process.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from bot import render, texts
from jobs.chart import UnitBar
from jobs.lights import SEVERITY, Light

log = logging.getLogger(__name__)

FONT_MODULE = "noto_cjk_sans_otc"  # the pip package that ships the font (FONT_PATH)
FONT_FAMILY = "Noto Sans CJK SC"
MAX_BARS = 50  # more units than this: the worst 50 are drawn (a phone cannot show more)
DRAW_TIMEOUT = 120.0  # seconds the child process may take (about 2 s on an idle machine)
COLOURS = {
    Light.RED: "#d93025",
    Light.YELLOW: "#f2a900",
    Light.NONE: "#bdbdbd",
    Light.GREEN: "#2e9e48",
}

_font_lock = threading.Lock()
_font: list[Path | None] = []  # [] until looked up once; then [the font file or None]


def font_path() -> Path | None:
    """The CJK font file the chart is drawn with; None (logged once per process, with the
    reason) when its package is not installed or the file is missing. Thread-safe; looked
    up once per process (`reset_font` forgets it, for tests). Does not load matplotlib."""
    with _font_lock:
        if not _font:
            _font.append(_find_font())
        return _font[0]


def reset_font() -> None:
    """Forget the font looked up by `font_path`, so the next call looks again (tests)."""
    with _font_lock:
        _font.clear()


def _find_font() -> Path | None:
    try:
        path = Path(str(importlib.import_module(FONT_MODULE).FONT_PATH))
    except (ImportError, AttributeError) as exc:
        log.warning(
            "digest chart disabled: no CJK font (the package %s is not installed: %s); "
            "the digest goes out without its picture",
            FONT_MODULE,
            exc,
        )
        return None
    if not path.is_file():
        log.warning(
            "digest chart disabled: no CJK font (the file %s is missing); "
            "the digest goes out without its picture",
            path,
        )
        return None
    return path


def digest_chart_png(bars: Sequence[UnitBar], today: date) -> bytes | None:
    """A PNG (bytes) of the lights per lead unit at local date `today`, worst first as
    `bars` come (`jobs.chart.lights_by_unit`; at most `MAX_BARS` drawn), titled in Chinese
    with the date (`draw_png`). None when there is no bar, no CJK font (`font_path`, logged
    once) or the drawing failed (logged).

    Drawn in a child process (module doc), which takes a second or two: blocking, call it
    in a worker thread."""
    if not bars:
        return None
    font = font_path()
    if font is None:
        return None
    request = {
        "today": today.isoformat(),
        "font": str(font),
        "bars": [
            {"unit": bar.unit_name, "counts": {k.value: v for k, v in bar.counts.items()}}
            for bar in bars
        ],
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.chart"],
            input=json.dumps(request, ensure_ascii=False).encode(),
            capture_output=True,
            timeout=DRAW_TIMEOUT,
            env={**os.environ, "MPLBACKEND": "Agg"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("digest chart not drawn: %s", exc)
        return None
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
        error = done.stderr.decode(errors="replace").strip().splitlines()
        log.warning(
            "digest chart not drawn: the drawing process ended with %d: %s",
            done.returncode,
            error[-1] if error else "no message",
        )
        return None
    return done.stdout


def draw_png(bars: Sequence[UnitBar], today: date, font_file: Path) -> bytes:
    """Draw the chart (as `digest_chart_png` describes it) in this process with the CJK font
    file `font_file` (its `FONT_FAMILY` face) and return the PNG. Loads matplotlib.

    About 1,100 pixels wide and 300 + 45 per unit high: readable on a phone at full width.
    Raises ValueError when `font_file` has no `FONT_FAMILY` face."""
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    font = font_manager.FontProperties(family=FONT_FAMILY)
    try:
        font_manager.fontManager.findfont(font, fallback_to_default=False)
    except ValueError:
        font_manager.fontManager.addfont(font_file)
        font_manager.fontManager.findfont(font, fallback_to_default=False)  # ValueError if none

    shown = list(bars[:MAX_BARS])
    fig = Figure(figsize=(7.4, 2.0 + 0.3 * len(shown)), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rows = range(len(shown))
    left = [0] * len(shown)
    for light in SEVERITY:
        widths = [bar.counts.get(light, 0) for bar in shown]
        ax.barh(
            rows,
            widths,
            left=left,
            height=0.7,
            color=COLOURS[light],
            label=texts.CHART_LEGEND[light.value],
        )
        for row, (start, width) in enumerate(zip(left, widths, strict=True)):
            if width:
                ax.text(
                    start + width / 2,
                    row,
                    str(width),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if light is not Light.NONE else "black",
                )
        left = [start + width for start, width in zip(left, widths, strict=True)]
    ax.set_yticks(list(rows), [bar.unit_name for bar in shown], fontproperties=font, fontsize=9)
    ax.set_ylim(len(shown) - 0.5, -0.5)  # the worst on top, no empty band
    ax.set_xlabel(texts.CHART_AXIS, fontproperties=font, fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="x", linewidth=0.4, alpha=0.5)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        texts.CHART_SUBTITLE.format(units=len(bars))
        + (texts.CHART_MORE.format(shown=len(shown)) if len(shown) < len(bars) else ""),
        fontproperties=font,
        fontsize=8,
        color="#555555",
    )
    fig.suptitle(
        texts.CHART_TITLE.format(date=render.fmt_date(today)),
        fontproperties=font,
        fontsize=13,
    )
    legend = font.copy()
    legend.set_size(8)
    fig.legend(loc="outside lower center", ncols=len(SEVERITY), prop=legend, frameon=False)
    out = io.BytesIO()
    try:
        fig.savefig(out, format="png")
    finally:
        fig.clear()
    return out.getvalue()


def _main() -> int:
    """The child process of `digest_chart_png`: the request as JSON on standard input, the
    PNG on standard output."""
    request = json.load(sys.stdin)
    bars = [
        UnitBar(
            str(item["unit"]),
            {light: int(item["counts"].get(light.value, 0)) for light in SEVERITY},
        )
        for item in request["bars"]
    ]
    png = draw_png(bars, date.fromisoformat(request["today"]), Path(request["font"]))
    sys.stdout.buffer.write(png)
    return 0


if __name__ == "__main__":
    sys.exit(_main())

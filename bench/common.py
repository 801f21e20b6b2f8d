"""Shared pieces of the benchmark suite: sizes, result rows, timing, SQL counting, the table.

Every benchmark module has `run(ctx) -> list[Row]`. A `Row` holds the values of several runs;
the table shows their median, the goal, whether the median meets it, and how far the runs
spread (max - min, relative to the median), so the noise of a shared machine is visible.
"""

from __future__ import annotations

import gc
import os
import platform
import socket
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Size:
    """The knobs of one suite size. `tiny` keeps every code path alive in seconds (CI)."""

    name: str
    # 2 and 3 at the real scale: 30 tasks (the plan) and this many
    scale_tasks: int
    # 1. throughput
    reports: int
    users: int
    throughput_runs: int
    # 2. digest
    digest_tasks: int
    digest_units: int
    digest_reports: int
    digest_runs: int
    # 3. tick
    tick_tasks: int
    tick_units: int
    tick_ledger: int
    tick_runs: int
    # 4. fan-out
    fanout: int
    fanout_runs: int
    fanout_contacts_acting: int  # contacts who press a button or write during the fan-out
    # 5. start-up and memory
    startup_runs: int
    memory_updates: int
    memory_users: int
    memory_runs: int


SIZES = {
    "full": Size(
        name="full",
        scale_tasks=300,
        reports=1000,
        users=50,
        throughput_runs=3,
        digest_tasks=3000,
        digest_units=300,
        digest_reports=200_000,
        digest_runs=7,
        tick_tasks=10_000,
        tick_units=300,
        tick_ledger=500_000,
        tick_runs=7,
        fanout=1000,
        fanout_runs=3,
        fanout_contacts_acting=10,
        startup_runs=5,
        memory_updates=10_000,
        memory_users=1000,
        memory_runs=3,
    ),
    "tiny": Size(
        name="tiny",
        scale_tasks=60,
        reports=20,
        users=5,
        throughput_runs=1,
        digest_tasks=60,
        digest_units=30,
        digest_reports=2000,
        digest_runs=3,
        tick_tasks=100,
        tick_units=30,
        tick_ledger=5000,
        tick_runs=3,
        fanout=60,
        fanout_runs=1,
        fanout_contacts_acting=3,
        startup_runs=1,
        memory_updates=300,
        memory_users=30,
        memory_runs=1,
    ),
}


@dataclass(frozen=True)
class Goal:
    """A goal on the median: `op` is "<" (lower is better), ">=" or "==" ."""

    op: str
    target: float
    text: str
    size_dependent: bool = True  # timing goals hold at full size only

    def met(self, value: float) -> bool:
        if self.op == "<":
            return value < self.target
        if self.op == "<=":
            return value <= self.target
        if self.op == ">=":
            return value >= self.target
        if self.op == "==":
            return value == self.target
        raise ValueError(self.op)


@dataclass
class Row:
    """One line of the table: a figure measured `len(values)` times."""

    figure: str
    values: list[float]
    unit: str
    goal: Goal | None = None
    digits: int = 1
    note: str = ""
    skipped: str = ""  # reason when the figure could not be measured here (e.g. no PostgreSQL)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> float | None:
        """(max - min) / median of the runs, None for a single run."""
        if len(self.values) < 2 or self.median == 0:
            return None
        return (max(self.values) - min(self.values)) / abs(self.median)

    def as_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "values": self.values,
            "median": None if self.skipped else self.median,
            "unit": self.unit,
            "goal": self.goal.text if self.goal else None,
            "meets": None if self.skipped or not self.goal else self.goal.met(self.median),
            "note": self.note,
            "skipped": self.skipped,
        }


@dataclass
class Context:
    """What every benchmark gets: the size, a scratch folder and the PostgreSQL admin URL."""

    size: Size
    workdir: Path
    pg_admin_url: str | None
    pg_problem: str = ""
    verbose: bool = False
    repeat: int | None = None  # overrides the per-benchmark number of runs
    extra: dict[str, Any] = field(default_factory=dict)

    def runs(self, default: int) -> int:
        return self.repeat if self.repeat else default

    def log(self, message: str) -> None:
        print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fmt(value: float, digits: int) -> str:
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def render_table(rows: list[Row], size: Size) -> str:
    """The table: figure, median value, goal, meets (yes/no), runs and spread."""
    header = ("figure", "value (median)", "goal", "meets", "runs", "spread")
    lines: list[tuple[str, ...]] = []
    for row in rows:
        if row.skipped:
            lines.append((row.figure, "skipped", row.goal.text if row.goal else "", "-", "0", ""))
            continue
        value = f"{fmt(row.median, row.digits)} {row.unit}".strip()
        goal = row.goal.text if row.goal else ""
        if row.goal is None:
            meets = ""
        else:
            met = "yes" if row.goal.met(row.median) else "NO"
            # at tiny size timing goals are shown, not enforced: the verdict is in parentheses
            meets = f"({met.lower()})" if size.name != "full" and row.goal.size_dependent else met
        spread = "" if row.spread is None else f"{100 * row.spread:.0f}%"
        lines.append((row.figure, value, goal, meets, str(len(row.values)), spread))
    widths = [
        max([_display_width(h)] + [_display_width(line[i]) for line in lines])
        for i, h in enumerate(header)
    ]

    def out(cells: tuple[str, ...]) -> str:
        padded = (c + " " * (w - _display_width(c)) for c, w in zip(cells, widths, strict=True))
        return " | ".join(padded).rstrip()

    text = [out(header), "-+-".join("-" * w for w in widths)]
    text.extend(out(line) for line in lines)
    return "\n".join(text)


def render_markdown(rows: list[Row], size: Size) -> str:
    """The same table as Markdown, for docs/benchmarks.md."""
    text = [
        "| figure | value (median) | goal | meets | runs | spread |",
        "| --- | ---: | --- | --- | ---: | ---: |",
    ]
    for row in rows:
        if row.skipped:
            text.append(f"| {row.figure} | skipped: {row.skipped} | | | 0 | |")
            continue
        goal = row.goal.text if row.goal else ""
        meets = "" if row.goal is None else ("yes" if row.goal.met(row.median) else "**no**")
        if row.goal is not None and size.name != "full" and row.goal.size_dependent:
            meets = f"({meets})"
        spread = "" if row.spread is None else f"{100 * row.spread:.0f}%"
        value = f"{fmt(row.median, row.digits)} {row.unit}".strip()
        text.append(f"| {row.figure} | {value} | {goal} | {meets} | {len(row.values)} | {spread} |")
    return "\n".join(text)


def _display_width(text: str) -> int:
    """Terminal columns of `text` (CJK characters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# ---------------------------------------------------------------- measuring


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """`with stopwatch() as elapsed: ...; elapsed()` gives seconds (perf_counter)."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


class SqlCounter:
    """Counts the SQL statements an engine executes, with a `before_cursor_execute` listener.

    An executemany counts as one statement (one round of the driver).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0
        self.statements: list[str] = []
        self.keep = False
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.count += 1
        if self.keep:
            self.statements.append(statement)

    @contextmanager
    def measure(self, keep: bool = False) -> Iterator[SqlCounter]:
        self.count = 0
        self.statements = []
        self.keep = keep
        yield self

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on)


def timed_runs(fn: Callable[[], Any], runs: int, *, warmup: int = 1) -> list[float]:
    """Seconds of `runs` calls of `fn` after `warmup` untimed calls. The garbage collector
    runs as in production; a collection before each call starts each from the same state."""
    for _ in range(warmup):
        fn()
    values: list[float] = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        values.append(time.perf_counter() - start)
    return values


def rss_kib(pid: int) -> int:
    """Resident memory (VmRSS, KiB) of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> dict[str, str]:
    """Where and when the suite ran."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "host": socket.gethostname(),
        "cpu": f"{model} ({os.cpu_count()} logical CPUs)",
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    try:
        import telegram

        info["python-telegram-bot"] = telegram.__version__
    except ImportError:  # pragma: no cover
        pass
    info["cpu reference"] = cpu_reference()
    return info


def cpu_reference() -> str:
    """How fast this machine runs plain Python: the best of 7 runs of `sum(range(10**6))`, in
    ms (about 10 ms on a current 3 GHz core). Timings of two runs of the suite on different
    machines compare only through it."""
    import timeit

    best = min(timeit.repeat("sum(range(10**6))", number=1, repeat=7))
    return f"sum(range(10**6)) in {best * 1000:.1f} ms"

"""Run the benchmark suite and print the table.

    python -m bench                      # full size (minutes), every benchmark
    python -m bench --size tiny          # CI: seconds, every figure at a small size
    python -m bench --only digest,tick   # some benchmarks (names below)
    python bench/run.py ...              # the same

Benchmarks: throughput (1), digest (2), tick (3), fanout (4), startup (5). Each figure is the
median of several runs; the table shows the goal and whether the median meets it (at tiny size
timing goals are shown in parentheses, not enforced). The exit status is 0 even when goals are
missed (this is a measurement), 1 when a benchmark crashed, 2 for bad arguments.
PostgreSQL figures use a database `bench_taskbot_<pid>` created on the server of `--pg-url`
(never the shared `test` database) and dropped at the end; without a server they are skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SIZES, Context, Row, loadavg, machine, render_markdown, render_table
from bot.app import tune_garbage_collection

BENCHMARKS = ("throughput", "digest", "tick", "fanout", "startup")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=sorted(SIZES), default="full")
    p.add_argument(
        "--only",
        default="",
        help="comma-separated benchmarks to run: " + ", ".join(BENCHMARKS),
    )
    p.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", DEFAULT_PG),
        help="a PostgreSQL server to create the benchmark database on (default %(default)s; "
        "env BENCH_PG_URL); 'none' skips PostgreSQL",
    )
    p.add_argument("--repeat", type=int, default=0, help="runs per figure (default: per size)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KNOB=N",
        help="override one knob of the size, e.g. --set users=10 (see bench/common.py)",
    )
    p.add_argument(
        "--experiment",
        action="append",
        default=[],
        choices=["per-chat", "sniffio"],
        metavar="NAME",
        help="throughput variants that are not the bot as shipped: per-chat (concurrent "
        "updates of different chats), sniffio (httpcore finds the sniffio module)",
    )
    p.add_argument("--profile", action="store_true", help="cProfile the measured calls")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    p.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    # the in-process figures (digest, tick) run the bot's code as the bot process does: with
    # the garbage collector's thresholds its start-up sets (`build_application`)
    tune_garbage_collection()
    if not args.verbose:
        # the bot logs every reminder at INFO; the suite only wants its table
        logging.getLogger().setLevel(logging.WARNING)
    size = SIZES[args.size]
    if args.set:
        knobs: dict[str, Any] = {}
        for item in args.set:
            key, _, value = item.partition("=")
            if key not in size.__dataclass_fields__ or key == "name" or not value.isdigit():
                print(f"--set {item}: expected KNOB=N with a knob of bench/common.py Size")
                return 2
            knobs[key] = int(value)
        size = dataclasses.replace(size, **knobs)
    workdir = Path(tempfile.mkdtemp(prefix="taskbot-bench-"))
    pg_url = None if args.pg_url.lower() == "none" else args.pg_url
    ctx = Context(size=size, workdir=workdir, pg_admin_url=pg_url, verbose=args.verbose)
    ctx.repeat = args.repeat or None
    ctx.extra["profile"] = args.profile
    ctx.extra["experiments"] = set(args.experiment)
    if pg_url:
        from bench.data import pg_problem

        ctx.pg_problem = pg_problem(pg_url)
        if ctx.pg_problem:
            ctx.log(f"PostgreSQL figures skipped: {ctx.pg_problem}")
    info = machine()
    info["size"] = size.name
    info["load average before"] = loadavg()
    started = time.monotonic()
    rows: list[Row] = []
    crashed: list[str] = []
    for name in names:
        ctx.log(f"benchmark {name} ({size.name})")
        t0 = time.monotonic()
        try:
            module = __import__(f"bench.b_{name}", fromlist=["run"])
            rows.extend(module.run(ctx))
        except Exception:
            crashed.append(name)
            traceback.print_exc()
            print(f"benchmark {name} crashed", file=sys.stderr)
        ctx.log(f"benchmark {name} took {time.monotonic() - t0:.0f} s")
    info["load average after"] = loadavg()
    info["duration"] = f"{time.monotonic() - started:.0f} s"
    if args.keep:
        ctx.log(f"scratch folder kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(
        f"taskbot benchmarks, size {size.name}: {info['date']}, {info['cpu']}, {info['memory']}, "
        f"CPU reference {info['cpu reference']}"
    )
    print(render_table(rows, size))
    for row in rows:
        if row.note:
            print(f"  {row.figure}: {row.note}")
    if size.name != "full":
        print("(timing goals hold at full size; at this size their verdict is in parentheses)")
    if crashed:
        print(f"CRASHED: {', '.join(crashed)}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": info, "rows": [r.as_dict() for r in rows], "crashed": crashed},
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
    if args.markdown:
        args.markdown.write_text(render_markdown(rows, size) + "\n", encoding="utf-8")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())

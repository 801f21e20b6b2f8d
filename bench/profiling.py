"""`--profile`: cProfile a measured call and keep its top functions for the report."""

from __future__ import annotations

import cProfile
import io
import pstats
from collections.abc import Callable
from typing import Any

from bench.common import Context


def top_functions(stats: pstats.Stats, limit: int = 25, sort: str = "cumulative") -> str:
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats(sort).print_stats(limit)
    return out.getvalue()


def profile_call(ctx: Context, name: str, fn: Callable[[], Any], limit: int = 30) -> Any:
    """Run `fn` once under cProfile; write <workdir>/<name>.pstats and log its top functions."""
    profiler = cProfile.Profile()
    result = profiler.runcall(fn)
    path = ctx.workdir / f"{name}.pstats"
    profiler.dump_stats(str(path))
    report = top_functions(pstats.Stats(str(path)), limit)
    ctx.extra.setdefault("profiles", {})[name] = report
    ctx.log(f"profile {name} ({path}):\n{report}")
    return result

"""5. Start-up and memory of `taskbot --config FILE run`, a separate process, against a stand-in
running in this process.

- start-up: from launching the process to the stand-in receiving its first getUpdates, on a
  database that exists (a restart) and on an empty one (first start: schema + 30 tasks);
- resident memory (VmRSS from /proc/<pid>/status) one second after the first getUpdates, and
  again half a second after the coordinator's /digest was answered (the digest read afresh
  and built in a worker thread);
- growth after handling 10,000 updates: /whoami from 1,000 users (10 each, each user waiting
  for the answer before the next), VmRSS read again once all are answered. This process runs
  `taskbot run` with `messages_per_second = 1000` in its config, which lifts the bot's own
  overall limit of 30 messages per second (10,000 answers would otherwise take six minutes);
  everything else is `taskbot run` as deployed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from bench.common import Context, Goal, Row, rss_kib
from bench.harness import (
    COORDINATOR,
    TOKEN,
    BotApiStandIn,
    Inbox,
    astop,
    botproc,
    clean_env,
    spawn,
    wait_call,
    write_config,
)

FIRST_USER = 900_000


def _taskbot() -> str:
    script = Path(sys.executable).with_name("taskbot")
    if not script.exists():
        raise FileNotFoundError(f"{script}: install the project (pip install -e .) first")
    return str(script)


async def _start(
    standin: BotApiStandIn, args: list[str], log: Path
) -> tuple[float, subprocess.Popen[bytes]]:
    """Launch `args`; return seconds to the first getUpdates and the process."""
    since = len(standin.calls)
    start = time.monotonic()
    process = spawn(args, log)
    try:
        first = await wait_call(standin, "getUpdates", since, timeout=60)
    except TimeoutError:
        await astop(process)
        raise AssertionError(f"no getUpdates within 60 s; see {log}") from None
    return first - start, process


async def _measure(ctx: Context) -> list[Row]:
    size = ctx.size
    runs = ctx.runs(size.startup_runs)
    standin = BotApiStandIn(TOKEN, bot_username="canggongwei_bot")
    await standin.start()
    standin.user(COORDINATOR, "王协调")
    log = ctx.workdir / "startup.log"
    first_starts: list[float] = []
    restarts: list[float] = []
    rss: list[float] = []
    rss_digest: list[float] = []
    inbox = Inbox(standin)
    inbox.start()
    try:
        for i in range(runs):
            db = ctx.workdir / f"startup-{i}.sqlite3"
            config = write_config(
                ctx.workdir / f"startup-{i}.toml", standin, f"sqlite:///{db}", schedule={}
            )
            for fresh in (True, False):
                seconds, process = await _start(
                    standin, [_taskbot(), "--config", str(config), "run"], log
                )
                await asyncio.sleep(1.0)
                if not fresh:
                    rss.append(rss_kib(process.pid) / 1024)
                    inbox.drain()
                    standin.send_text(COORDINATOR, "/digest")
                    await inbox.next(COORDINATOR, timeout=30)
                    await asyncio.sleep(0.5)
                    rss_digest.append(rss_kib(process.pid) / 1024)
                code = await astop(process)
                if code:
                    raise AssertionError(f"taskbot run ended with {code}; see {log}")
                (first_starts if fresh else restarts).append(seconds)
            ctx.log(
                f"start-up run {i + 1}: first {first_starts[-1]:.2f} s, "
                f"restart {restarts[-1]:.2f} s, {rss[-1]:.0f} MB"
            )
        await inbox.stop()
        growth = await _growth(ctx, standin, log)
    finally:
        await inbox.stop()
        await standin.stop()
    rows = [
        Row(
            "5 start-up, taskbot run to first getUpdates (restart)",
            restarts,
            "s",
            Goal("<", 2.0, "< 2 s"),
            digits=2,
        ),
        Row(
            "5 start-up, first start (empty database: schema + 30 tasks)",
            first_starts,
            "s",
            Goal("<", 2.0, "< 2 s"),
            digits=2,
        ),
        Row("5 resident memory after start", rss, "MB", Goal("<", 120, "< 120 MB"), digits=1),
        Row(
            "5 resident memory after building a digest (/digest)",
            rss_digest,
            "MB",
            Goal("<", 120, "< 120 MB"),
            digits=1,
        ),
    ]
    return rows + growth


async def _growth_run(
    ctx: Context, standin: BotApiStandIn, log: Path, index: int, users: list[int]
) -> tuple[int, int, int, int, float]:
    """One bot process: RSS (KiB) after start, after a fifth of the updates and after all of
    them, the number of updates, and updates per second."""
    per_user = ctx.size.memory_updates // len(users)
    db = ctx.workdir / f"memory-{index}.sqlite3"
    fast = {"chat_messages_per_second": 100.0, "messages_per_second": 1000.0}
    config = write_config(
        ctx.workdir / f"memory-{index}.toml", standin, f"sqlite:///{db}", telegram=fast
    )
    # an existing database, as after the first start (`taskbot init`: schema and tasks)
    done = await asyncio.to_thread(
        subprocess.run,
        [_taskbot(), "--config", str(config), "init"],
        capture_output=True,
        env=clean_env(),
    )
    if done.returncode:
        raise AssertionError(f"taskbot init failed: {done.stderr.decode()[-500:]}")
    _, process = await _start(
        standin,
        botproc("cli", "--", "--config", str(config), "run"),
        log,
    )
    inbox = Inbox(standin)
    inbox.start()
    pid = process.pid
    try:
        await asyncio.sleep(1.0)
        inbox.drain()
        before = rss_kib(pid)
        marks: list[tuple[int, int]] = []

        async def user(uid: int, count: int) -> None:
            for _ in range(count):
                standin.send_text(uid, "/whoami")
                answer = await inbox.next(uid)
                if str(uid) not in answer.plain_text:
                    raise AssertionError(f"unexpected /whoami answer: {answer.plain_text!r}")

        started = time.monotonic()
        done_per_user = 0
        first_part = max(1, per_user // 5)
        for count in (first_part, per_user - first_part):
            await asyncio.gather(*(user(uid, count) for uid in users))
            done_per_user += count
            await asyncio.sleep(1.0)
            marks.append((done_per_user * len(users), rss_kib(pid)))
        elapsed = time.monotonic() - started
    finally:
        await inbox.stop()
        code = await astop(process)
    if code:
        raise AssertionError(f"the bot ended with {code}; see {log}")
    (early, at_early), (total, after) = marks
    ctx.log(
        f"memory run {index + 1}: {before / 1024:.1f} MB after start, {at_early / 1024:.1f} MB "
        f"after {early} updates, {after / 1024:.1f} MB after {total} "
        f"({total / elapsed:.0f} updates/s)"
    )
    return before, at_early, after, total, total / elapsed


async def _growth(ctx: Context, standin: BotApiStandIn, log: Path) -> list[Row]:
    users = [FIRST_USER + i for i in range(ctx.size.memory_users)]
    for i, uid in enumerate(users):
        standin.user(uid, f"用户{i}")
    results = [
        await _growth_run(ctx, standin, log, i, users)
        for i in range(ctx.runs(ctx.size.memory_runs))
    ]
    total = results[0][3]
    early = total // 5
    return [
        Row(
            f"5 memory growth after {total:,} updates ({len(users):,} users)",
            [(after - before) / 1024 for before, _, after, _, _ in results],
            "MB",
            Goal("<", 10, "< 10 MB"),
            digits=1,
            note="RSS after start / after the updates (MB): "
            + ", ".join(f"{b / 1024:.1f} / {a / 1024:.1f}" for b, _, a, _, _ in results),
        ),
        Row(
            f"5 memory growth from {early:,} to {total:,} updates",
            [(after - mid) / 1024 for _, mid, after, _, _ in results],
            "MB",
            digits=1,
        ),
    ]


def run(ctx: Context) -> list[Row]:
    return asyncio.run(_measure(ctx))

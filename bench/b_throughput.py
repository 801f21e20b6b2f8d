"""1. Update throughput: complete status reports through the Bot API stand-in over HTTP.

A report is 4 updates: the 推进中 button on a reminder, the note, the 跳过 (skip evidence)
button and the 确认提交 (confirm) button; each waits for the bot's answer to the previous one,
reading the draft's nonce from the buttons of the bot's message. Users (each its own private
chat) act concurrently, so the bot always has work queued. Updates per second are counted
from the first injected update to the last answer.

The ceiling is a minimal python-telegram-bot Application in the same setting (its own process,
long polling the same kind of stand-in, on the HTTP transports and defaults the bot's own
`build_application` builds, so the same client) that makes the Bot API calls the bot makes at
each step of a report, with the bot's texts and keyboards (`bench.botproc.run_minimal`); its
users act as the bot's do (the status button, the note, 跳过 on the request for evidence,
确认提交 on the card).
Bot and ceiling rounds alternate, so drift on a shared machine affects both alike; the ratio
is taken per pair of rounds.

The bot runs as `python -m bench.botproc bot`: the real `build_application` with the clock at
2025-12-17 09:30 (the 14-days-before reminders go out at start), per-chat and group limits
raised in its config (as many reports go to one chat) and its overall limit of 30 messages per
second lifted (`messages_per_second = 1000`; Telegram's limit for the whole bot, measured
separately below as "as configured"). The stand-in and the scripted users run in this process,
the bot in its own, as in production, where Telegram is another machine.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlmodel import col

from bench import data
from bench.common import Context, Goal, Row, cpu_seconds
from bench.harness import (
    COORDINATOR,
    TOKEN,
    BotApiStandIn,
    Inbox,
    SentMessage,
    astop,
    botproc,
    spawn,
    write_config,
)
from db.engine import Database
from db.models import Assignment, Contact, StatusReport
from jobs.types import AssignmentRole

T0 = datetime(2025, 12, 17, 1, 30, tzinfo=UTC)  # Wednesday 09:30 local, 14 days before
FIRST_USER = 600_000
NOTE = "已完成全区低保对象排查，低保边缘家庭重度残疾人申请正在逐户审核。"


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _spread(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _prepare_database(url: str, users: list[int]) -> dict[int, int]:
    """Schema, the 30 tasks, one contact per user (lead units round-robin); returns how many
    reminders each user gets at T0 (one per task its unit leads)."""
    database = data.fresh_database(url, loaded_at=T0 - timedelta(days=30))
    try:
        with database.engine.begin() as conn:
            led: dict[int, int] = {}
            for unit_id, n in conn.execute(
                select(col(Assignment.unit_id), func.count())
                .where(col(Assignment.role) == AssignmentRole.LEAD)
                .group_by(col(Assignment.unit_id))
                .order_by(col(Assignment.unit_id))
            ):
                led[unit_id] = n
            units = list(led)
            rows = []
            expected: dict[int, int] = {}
            for i, uid in enumerate(users):
                unit_id = units[i % len(units)]
                expected[uid] = led[unit_id]
                rows.append(
                    {
                        "telegram_user_id": uid,
                        "chat_id": uid,
                        "unit_id": unit_id,
                        "display_name": f"联络员{i}",
                        "created_at": T0 - timedelta(days=20),
                    }
                )
            conn.execute(insert(data.table_of(Contact)), rows)
        return expected
    finally:
        database.dispose()


def _reports(url: str) -> int:
    database = Database(url)
    try:
        with database.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(StatusReport)).scalar_one())
    finally:
        database.dispose()


class BotDriver:
    """Users reporting through the real bot."""

    def __init__(self, standin: BotApiStandIn, users: list[int]) -> None:
        self.standin = standin
        self.users = users
        self.inbox = Inbox(standin)
        self.reminders: dict[int, tuple[SentMessage, str]] = {}

    async def wait_reminders(self, expected: dict[int, int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            # one message of the day per contact: a single reminder with its status buttons
            # (r2:<task>:<status>), or several tasks with a button each (t2:<task>)
            got: dict[int, list[SentMessage]] = {}
            for m in self.standin.sent:
                if any((d or "").startswith(("r2:", "t2:")) for _, d in m.buttons):
                    got.setdefault(m.chat_id, []).append(m)
            if all(len(got.get(u, ())) >= min(1, expected[u]) for u in self.users):
                break
            if time.monotonic() > deadline:
                missing = sum(1 for u in self.users if u not in got)
                raise AssertionError(self.standin.dump(f"{missing} messages of the day missing"))
            await asyncio.sleep(0.05)
        for uid in self.users:
            first = got[uid][0]
            data_ = next(d for _, d in first.buttons if d and d.startswith(("r2:", "t2:")))
            task_id = data_.split(":")[1]
            # the 推进中 press of the first task, as its status button would send it
            self.reminders[uid] = (first, f"r2:{task_id}:in_progress")
        await self.standin.wait_idle(quiet=0.3, timeout=60)
        self.inbox.start()

    async def user(self, uid: int, reports: int) -> float:
        reminder, in_progress = self.reminders[uid]
        s, inbox = self.standin, self.inbox
        last = 0.0
        for _ in range(reports):
            s.press_button(uid, reminder.message_id, in_progress)
            await inbox.next(uid)  # asks for the note
            s.send_text(uid, NOTE)
            ask = await inbox.next(uid)  # asks for evidence: 跳过 skip:<nonce>
            skip = [d for _, d in ask.buttons if d and d.startswith("skip:")]
            if not skip:
                raise AssertionError(f"no skip button: {ask.plain_text!r} {ask.buttons}")
            s.press_button(uid, ask.message_id, skip[0])
            card = await inbox.next(uid)  # the confirmation: 确认提交 ok:<nonce>
            ok = [d for _, d in card.buttons if d and d.startswith("ok:")]
            if not ok:
                raise AssertionError(f"no confirm button: {card.plain_text!r} {card.buttons}")
            s.press_button(uid, card.message_id, ok[0])
            receipt = await inbox.next(uid)  # the card edited into the receipt
            last = receipt.time
        return last


class CeilingDriver:
    """Users sending the same update pattern to the minimal application."""

    def __init__(self, standin: BotApiStandIn, users: list[int]) -> None:
        self.standin = standin
        self.users = users
        self.inbox = Inbox(standin)
        self.anchor: dict[int, SentMessage] = {}

    async def prepare(self) -> None:
        self.inbox.start()
        for uid in self.users:
            self.standin.send_text(uid, "/start")
        for uid in self.users:
            self.anchor[uid] = await self.inbox.next(uid)

    async def user(self, uid: int, reports: int) -> float:
        s, inbox = self.standin, self.inbox
        last = 0.0
        anchor = self.anchor[uid]
        for _ in range(reports):
            s.press_button(uid, anchor.message_id, "r2:1:in_progress")
            await inbox.next(uid)  # asks for the note
            s.send_text(uid, NOTE)
            ask = await inbox.next(uid)  # asks for evidence, with 跳过
            s.press_button(uid, ask.message_id, "skip:0")
            card = await inbox.next(uid)  # the confirmation card
            s.press_button(uid, card.message_id, "ok:0")
            last = (await inbox.next(uid)).time  # the card edited into the receipt
        return last


async def _round(driver: BotDriver | CeilingDriver, per_user: list[int]) -> float:
    """Updates per second of one round of every user's reports."""
    driver.inbox.drain()
    start = time.monotonic()
    ends = await asyncio.gather(
        *(driver.user(uid, n) for uid, n in zip(driver.users, per_user, strict=True) if n)
    )
    return 4 * sum(per_user) / (max(ends) - start)


async def _measure(ctx: Context) -> list[Row]:
    size = ctx.size
    runs = ctx.runs(size.throughput_runs)
    users = [FIRST_USER + i for i in range(size.users)]
    per_user = _spread(size.reports, size.users)
    warmup = [max(1, n // 10) for n in per_user]
    tg_bot = BotApiStandIn(TOKEN, bot_username="canggongwei_bot")
    tg_min = BotApiStandIn(TOKEN, bot_username="minimal_bot")
    for tg in (tg_bot, tg_min):
        await tg.start()
        tg.user(COORDINATOR, "王协调")
        for i, uid in enumerate(users):
            tg.user(uid, f"联络员{i}")
    url = f"sqlite:///{ctx.workdir / 'throughput.sqlite3'}"
    expected = _prepare_database(url, users)
    experiments = ctx.extra.get("experiments", set())
    fast = {
        "chat_messages_per_second": 100.0,
        "group_messages_per_minute": 6000.0,
        "messages_per_second": 1000.0,
    }
    config = write_config(ctx.workdir / "throughput.toml", tg_bot, url, telegram=fast)
    log = ctx.workdir / "throughput-bot.log"
    profile = (
        ["--profile", str(ctx.workdir / "throughput-bot.pstats")]
        if ctx.extra.get("profile")
        else []
    )
    extra = ["--per-chat", "64"] if "per-chat" in experiments else []
    both = ["--sniffio"] if "sniffio" in experiments else []
    tag = f" [experiment: {', '.join(sorted(experiments))}]" if experiments else ""
    bot = spawn(
        botproc(
            *profile,
            *both,
            "bot",
            "--config",
            str(config),
            "--clock",
            T0.isoformat(),
            *extra,
        ),
        log,
    )
    minimal_profile = [p.replace("throughput-bot", "throughput-minimal") for p in profile]
    minimal_config = write_config(ctx.workdir / "throughput-minimal.toml", tg_min, url)
    minimal = spawn(
        botproc(*minimal_profile, *both, "minimal", "--config", str(minimal_config)), log
    )
    rows: list[Row] = []
    bot_driver = BotDriver(tg_bot, users)
    ceiling_driver = CeilingDriver(tg_min, users)
    try:
        await bot_driver.wait_reminders(expected, timeout=120)
        await ceiling_driver.prepare()
        before = _reports(url)
        await _round(bot_driver, warmup)
        await _round(ceiling_driver, warmup)
        bot_values: list[float] = []
        ceiling_values: list[float] = []
        ratios: list[float] = []
        bot_cpu: list[float] = []
        bench_cpu: list[float] = []
        methods: Counter[str] = Counter()
        ceiling_cpu: list[float] = []
        for i in range(runs):
            cpu0, t0 = cpu_seconds(minimal.pid), time.monotonic()
            ceiling = await _round(ceiling_driver, per_user)
            ceiling_cpu.append((cpu_seconds(minimal.pid) - cpu0) / (time.monotonic() - t0))
            cpu0, self0, t0 = cpu_seconds(bot.pid), _self_cpu(), time.monotonic()
            calls0 = len(tg_bot.calls)
            value = await _round(bot_driver, per_user)
            elapsed = time.monotonic() - t0
            methods.update(c.method for c in tg_bot.calls[calls0:])
            bot_cpu.append((cpu_seconds(bot.pid) - cpu0) / elapsed)
            bench_cpu.append((_self_cpu() - self0) / elapsed)
            bot_values.append(value)
            ceiling_values.append(ceiling)
            ratios.append(value / ceiling)
            ctx.log(f"throughput round {i + 1}: bot {value:.0f}/s, ceiling {ceiling:.0f}/s")
        stored = _reports(url) - before
        wanted = sum(warmup) + runs * sum(per_user)
        if stored != wanted:
            raise AssertionError(f"{stored} reports stored, {wanted} expected")
        n = sum(per_user)
        per_update = ", ".join(f"{m} {k / (4 * n * runs):.2f}" for m, k in methods.most_common())
        ctx.log(f"Bot API calls per update: {per_update}")
        rows.append(
            Row(
                f"1 throughput, bot ({n:,} reports = {4 * n:,} updates, {size.users} users){tag}",
                bot_values,
                "updates/s",
                digits=0,
                note=f"CPU busy during the rounds: bot process {statistics.median(bot_cpu):.0%}, "
                f"stand-in + users process {statistics.median(bench_cpu):.0%} of one core; "
                f"Bot API calls per update: {per_update}",
            )
        )
        rows.append(
            Row(
                f"1 throughput, ceiling (minimal PTB app){tag}",
                ceiling_values,
                "updates/s",
                digits=0,
                note=f"CPU busy: minimal app {statistics.median(ceiling_cpu):.0%} of one core",
            )
        )
        rows.append(
            Row(
                f"1 throughput, bot / ceiling{tag}", ratios, "", Goal(">=", 0.8, ">= 0.8"), digits=3
            )
        )
    finally:
        await bot_driver.inbox.stop()
        await ceiling_driver.inbox.stop()
        codes = (await astop(bot), await astop(minimal))
        await tg_bot.stop()
        await tg_min.stop()
    if any(codes):
        raise AssertionError(f"bot processes ended with {codes}; see {log}")
    if ctx.extra.get("profile"):
        _log_profile(ctx, ctx.workdir / "throughput-bot.pstats")
    if not experiments:
        rows.extend(await _as_configured(ctx))
    return rows


async def _as_configured(ctx: Context) -> list[Row]:
    """The bot with its overall limit of 30 messages per second in force (one round)."""
    size = ctx.size
    users = [FIRST_USER + i for i in range(size.users)]
    reports = min(size.reports, 150)
    per_user = _spread(reports, size.users)
    tg = BotApiStandIn(TOKEN, bot_username="canggongwei_bot")
    await tg.start()
    tg.user(COORDINATOR, "王协调")
    for i, uid in enumerate(users):
        tg.user(uid, f"联络员{i}")
    url = f"sqlite:///{ctx.workdir / 'throughput-limited.sqlite3'}"
    expected = _prepare_database(url, users)
    fast = {"chat_messages_per_second": 100.0, "group_messages_per_minute": 6000.0}
    config = write_config(ctx.workdir / "throughput-limited.toml", tg, url, telegram=fast)
    log = ctx.workdir / "throughput-limited.log"
    bot = spawn(botproc("bot", "--config", str(config), "--clock", T0.isoformat()), log)
    driver = BotDriver(tg, users)
    try:
        await driver.wait_reminders(expected, timeout=120)
        value = await _round(driver, per_user)
    finally:
        await driver.inbox.stop()
        code = await astop(bot)
        await tg.stop()
    if code:
        raise AssertionError(f"bot process ended with {code}; see {log}")
    return [
        Row(
            f"1 throughput, bot as configured (30 msg/s overall limit; {reports} reports)",
            [value],
            "updates/s",
            digits=0,
        )
    ]


def _log_profile(ctx: Context, path: Path) -> None:
    import pstats

    from bench.profiling import top_functions

    report = top_functions(pstats.Stats(str(path)), 40, "tottime")
    ctx.extra.setdefault("profiles", {})["throughput-bot"] = report
    ctx.log(f"profile of the bot process ({path}), by own time:\n{report}")


def run(ctx: Context) -> list[Row]:
    return asyncio.run(_measure(ctx))

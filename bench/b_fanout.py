"""4. Fan-out against Telegram's limit: one reminder to each of N different chats.

The real bot (`build_application` + `running`, as the end-to-end tests run it) with its real
rate limits (1 message per second per chat, 20 per minute per group, 30 per second overall)
against the stand-in enforcing Telegram's flood limits (30 messages per second overall, 429
beyond). N contacts of 潼南税务局, which leads one task (第 10 项), each in its own private chat,
are added while the bot runs; one tick (`follow_up`) then sends the N reminders. The physical
floor is N / 30 seconds; the goal is at most 1.1 times that, with no 429 answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bench.common import Context, Goal, Row
from bench.harness import TOKEN
from bot.app import build_application
from bot.delivery import follow_up
from db.models import Contact, Reminder, Unit
from jobs.types import DeliveryOutcome
from standin import BotApiStandIn
from standin.harness import MutableClock, running, standin_settings

T0 = datetime(2025, 12, 17, 1, 30, tzinfo=UTC)  # Wednesday 09:30 local, 14 days before
FIRST_USER = 800_000
TELEGRAM_PER_SECOND = 30


async def _one_run(ctx: Context, n: int, index: int) -> tuple[float, int, int]:
    """Seconds of the tick, 429 answers, reminders sent."""
    standin = BotApiStandIn(TOKEN, bot_username="canggongwei_bot", enforce_flood_limits=True)
    await standin.start()
    users = [FIRST_USER + i for i in range(n)]
    for i, uid in enumerate(users):
        standin.user(uid, f"联络员{i}")
    url = f"sqlite:///{ctx.workdir / f'fanout-{index}.sqlite3'}"
    settings = standin_settings(
        standin,
        url,
        telegram={
            "chat_messages_per_second": 1.0,
            "group_messages_per_minute": 20.0,
            "digest_chat_id": None,
        },
        schedule={"tick_seconds": 3600},
    )
    app = build_application(settings, clock=MutableClock(T0))
    if not ctx.verbose:  # build_application sets these to INFO (start and stop messages)
        for name in ("telegram.ext.Application", "telegram.Bot", "telegram.ext.ExtBot"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        async with running(app):
            await standin.wait_idle(quiet=0.2)  # the tick at start: no contacts yet
            svc = app.bot_data.services
            with svc.db.engine.begin() as conn:
                unit_id = conn.execute(
                    select(Unit.id).where(Unit.name == "潼南税务局")
                ).scalar_one()
                conn.execute(
                    Contact.__table__.insert(),
                    [
                        {
                            "telegram_user_id": uid,
                            "chat_id": uid,
                            "unit_id": unit_id,
                            "display_name": f"联络员{i}",
                            "created_at": T0 - timedelta(days=1),
                        }
                        for i, uid in enumerate(users)
                    ],
                )
            calls_before = len(standin.calls)
            start = time.monotonic()
            await follow_up(app.bot, svc)
            seconds = time.monotonic() - start
            with svc.db.engine.connect() as conn:
                outcomes = [r[0] for r in conn.execute(select(Reminder.outcome))]
            sends = [c for c in standin.calls[calls_before:] if c.method == "sendMessage" and c.ok]
            if len(sends) != n or outcomes.count(DeliveryOutcome.SENT) != n:
                raise AssertionError(
                    f"{len(sends)} sends, {outcomes.count(DeliveryOutcome.SENT)} SENT rows, "
                    f"{n} expected"
                )
    finally:
        await standin.stop()
    return seconds, standin.flood_429_count, n


def run(ctx: Context) -> list[Row]:
    n = ctx.size.fanout
    floor = n / TELEGRAM_PER_SECOND
    seconds: list[float] = []
    refusals: list[float] = []
    for i in range(ctx.runs(ctx.size.fanout_runs)):
        s, n429, _ = asyncio.run(_one_run(ctx, n, i))
        ctx.log(f"fan-out run {i + 1}: {n} reminders in {s:.1f} s, {n429} answers 429")
        seconds.append(s)
        refusals.append(float(n429))
    return [
        Row(
            f"4 fan-out, {n:,} reminders to {n:,} chats (floor {floor:.1f} s)",
            seconds,
            "s",
            Goal("<=", 1.1 * floor, f"<= {1.1 * floor:.1f} s (1.1 x floor)"),
            digits=1,
            note=f"{n / min(seconds):.1f} reminders/s at best; the bot's own limit is 29/s",
        ),
        Row(
            "4 fan-out, time / floor",
            [s / floor for s in seconds],
            "",
            Goal("<=", 1.1, "<= 1.1"),
            digits=3,
        ),
        Row(
            "4 fan-out, 429 answers",
            refusals,
            "",
            Goal("==", 0, "0", size_dependent=False),
            digits=0,
        ),
    ]

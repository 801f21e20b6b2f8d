"""4. Fan-out against Telegram's limit: one reminder to each of N different chats, while some
of those contacts answer theirs.

The real bot (`build_application` + `running`, as the end-to-end tests run it) with its real
rate limits (1 message per second per chat, 20 per minute per group, 30 per second overall)
against the stand-in enforcing Telegram's flood limits (30 messages per second overall, 429
beyond). N contacts of 潼南税务局, which leads one task (第10项), each in its own private chat,
are added while the bot runs; one tick (`follow_up`) then sends the N reminders. Meanwhile
`fanout_contacts_acting` of them, spread over the sending order, act as people do: a second
after their reminder arrives they press its 推进中 button, and a second after the bot's
answer (the request for a note) they send the note; the time from each press or text to the
bot's next message in that chat is its answer time. The bot's answers count against the same
overall limit as the reminders. The physical floor is N / 30 seconds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlmodel import col

from bench import data
from bench.common import Context, Goal, Row
from bench.data import DeliveryOutcome
from bench.harness import TOKEN, BotApiStandIn, Inbox, MutableClock, running, standin_settings
from bot.app import build_application
from bot.delivery import follow_up
from db.models import Contact, Delivery, Unit

T0 = datetime(2025, 12, 17, 1, 30, tzinfo=UTC)  # Wednesday 09:30 local, 14 days before
FIRST_USER = 800_000
TELEGRAM_PER_SECOND = 30
THINK = 1.0  # seconds a contact takes before pressing or writing
NOTE = "已完成本月走访，正在整理台账。"


async def _contact(standin: BotApiStandIn, inbox: Inbox, uid: int) -> list[float]:
    """Wait for the reminder, press 推进中, then write the note; the two answer times."""
    reminder = await inbox.next(uid, timeout=120)
    data = next((d for _, d in reminder.buttons if d and d.endswith(":in_progress")), None)
    if data is None:
        raise AssertionError(f"no 推进中 button on {reminder.plain_text!r}")
    await asyncio.sleep(THINK)
    pressed = time.monotonic()
    standin.press_button(uid, reminder.message_id, data)
    ask = await inbox.next(uid, timeout=60)
    answers = [ask.time - pressed]
    await asyncio.sleep(THINK)
    written = time.monotonic()
    standin.send_text(uid, NOTE)
    answer = await inbox.next(uid, timeout=60)
    answers.append(answer.time - written)
    return answers


async def _one_run(ctx: Context, n: int, index: int) -> tuple[float, int, list[float]]:
    """Seconds of the tick, 429 answers, the contacts' answer times (seconds)."""
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
                    select(col(Unit.id)).where(col(Unit.name) == "潼南税务局")
                ).scalar_one()
                conn.execute(
                    insert(data.table_of(Contact)),
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
            sent_before = len(standin.sent)
            inbox = Inbox(standin)
            inbox.start()
            acting = ctx.size.fanout_contacts_acting
            step = max(1, int(0.85 * n) // max(1, acting))
            contacts = [
                asyncio.ensure_future(_contact(standin, inbox, users[i * step]))
                for i in range(acting)
            ]
            start = time.monotonic()
            await follow_up(app.bot, svc)
            seconds = time.monotonic() - start
            try:
                answers = [a for pair in await asyncio.gather(*contacts) for a in pair]
            finally:
                await inbox.stop()
            with svc.db.engine.connect() as conn:
                outcomes = [
                    r[0]
                    for r in conn.execute(
                        # one row per task reminder; the message of the day has its own
                        select(col(Delivery.outcome)).where(~col(Delivery.key).startswith("daily:"))
                    )
                ]
            reminders = [
                m
                for m in standin.sent[sent_before:]
                if any((d or "").startswith("r2:") for _, d in m.buttons)
            ]
            if len(reminders) != n or outcomes.count(DeliveryOutcome.SENT) != n:
                raise AssertionError(
                    f"{len(reminders)} reminders sent, "
                    f"{outcomes.count(DeliveryOutcome.SENT)} SENT rows, "
                    f"{n} expected"
                )
    finally:
        await standin.stop()
    return seconds, standin.flood_429_count, answers


def percentile(values: list[float], q: float) -> float:
    """The `q`-quantile (0..1) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def run(ctx: Context) -> list[Row]:
    n = ctx.size.fanout
    floor = n / TELEGRAM_PER_SECOND
    seconds: list[float] = []
    refusals: list[float] = []
    p99: list[float] = []
    answers: list[float] = []
    for i in range(ctx.runs(ctx.size.fanout_runs)):
        s, n429, times = asyncio.run(_one_run(ctx, n, i))
        ctx.log(
            f"fan-out run {i + 1}: {n} reminders in {s:.1f} s, {n429} answers 429, contacts "
            f"answered in {1000 * min(times):.0f}-{1000 * max(times):.0f} ms"
        )
        seconds.append(s)
        refusals.append(float(n429))
        p99.append(percentile(times, 0.99))
        answers.extend(times)
    acting = ctx.size.fanout_contacts_acting
    return [
        Row(
            f"4 fan-out, {n:,} reminders to {n:,} chats (floor {floor:.1f} s)",
            seconds,
            "s",
            Goal("<=", 1.07 * floor, f"<= {1.07 * floor:.1f} s (1.07 x floor)"),
            digits=1,
            note=f"{n / min(seconds):.1f} reminders/s at best; the bot's own limit is 29/s, "
            f"which the {2 * acting} answers to contacts share",
        ),
        Row(
            "4 fan-out, time / floor",
            [s / floor for s in seconds],
            "",
            Goal("<=", 1.07, "<= 1.07"),
            digits=3,
        ),
        Row(
            f"4 fan-out, answer to a contact's button press or text, 99th percentile "
            f"({acting} contacts, 2 each)",
            [1000 * v for v in p99],
            "ms",
            Goal("<", 1000, "< 1 s"),
            digits=0,
            note=f"median {1000 * statistics.median(answers):.0f} ms, "
            f"max {1000 * max(answers):.0f} ms over {len(answers)} answers of all runs",
        ),
        Row(
            "4 fan-out, 429 answers",
            refusals,
            "",
            Goal("==", 0, "0", size_dependent=False),
            digits=0,
        ),
    ]

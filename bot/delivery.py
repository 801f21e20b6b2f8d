"""The imperative shell around the policy: the repeating tick, reminder fan-out, digests.

Delivery guarantee: at most once. Before each Bot API call the send is claimed in a ledger
(unique key, row committed as PENDING); after the call the row is settled as SENT (with the
message id), FAILED (Telegram refused: nothing was delivered) or UNCERTAIN (the call timed out
or the connection broke, so Telegram may have delivered it). A row still PENDING at start-up
means the process died mid-send; it becomes UNCERTAIN. Neither UNCERTAIN nor SENT rows are ever
sent again, so a crash can cost a reminder but never duplicates one.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot import render, texts
from bot.context import BotContext, Services
from bot.keyboards import status_keyboard
from db import repo
from db.models import DeliveryOutcome
from jobs.digest import build_digest
from jobs.policy import DueReminder, digest_period_due, reminder_candidates

log = logging.getLogger(__name__)


def reminder_text(due: DueReminder, unit_name: str) -> str:
    """Render a reminder: kind, task number and text, unit, deadline and days left/overdue."""
    return texts.REMINDER.format(
        title=texts.REMINDER_TITLE[due.occasion.kind],
        number=due.task.number,
        text=render.esc(due.task.text),
        unit=render.esc(unit_name),
        deadline=render.fmt_date(due.task.deadline),
        when=render.when_text(due.days_left),
    )


async def send_reminders(bot: Bot, svc: Services) -> int:
    """Send every reminder due now that is not in the ledger; return how many were sent."""
    now = svc.now()
    with svc.db.session() as s:
        state = repo.load_state(s)
    candidates = reminder_candidates(now, state, svc.policy, svc.calendar)
    if not candidates:
        return 0
    with svc.db.session() as s:
        already = repo.sent_reminder_keys(s, keys=[c.key for c in candidates])
    sent = 0
    for due in candidates:
        if due.key in already:
            continue
        with svc.db.session() as s:
            claimed = repo.claim_reminder(
                s,
                key=due.key,
                task_id=due.task.id,
                unit_id=due.unit_id,
                contact_id=due.contact.id,
                kind=due.occasion.kind,
                occasion_on=due.occasion.nominal_on,
                deadline=due.task.deadline,
                chat_id=due.contact.chat_id,
                now=now,
            )
            claimed_id = claimed.id if claimed else None
        if claimed_id is None:
            continue  # another tick or instance claimed it first
        unit_name = state.units[due.unit_id].name
        outcome, message_id, error = await _send(
            bot,
            due.contact.chat_id,
            reminder_text(due, unit_name),
            reply_markup=status_keyboard(due.task.number),
        )
        with svc.db.session() as s:
            repo.settle_reminder(
                s,
                reminder_id=claimed_id,
                outcome=outcome,
                now=svc.now(),
                message_id=message_id,
                error=error,
            )
            if outcome == DeliveryOutcome.FAILED and error and _unreachable(error):
                contact = s.get(repo.Contact, due.contact.id)
                if contact is not None:
                    contact.unreachable_reason = error
        log.info(
            "reminder %s: key=%s task=%s unit=%s contact=%s message=%s",
            outcome.value,
            due.key,
            due.task.number,
            due.unit_id,
            due.contact.id,
            message_id,
        )
        if outcome == DeliveryOutcome.SENT:
            sent += 1
    return sent


def _unreachable(error: str) -> bool:
    lowered = error.lower()
    return "forbidden" in lowered or "chat not found" in lowered or "blocked" in lowered


async def _send(
    bot: Bot, chat_id: int, text: str, **kwargs: object
) -> tuple[DeliveryOutcome, int | None, str | None]:
    """Send one message; classify the result as SENT, FAILED or UNCERTAIN (never raises)."""
    try:
        message = await bot.send_message(chat_id, text, **kwargs)  # type: ignore[arg-type]
    except (BadRequest, Forbidden) as exc:  # Telegram refused: certainly not delivered
        return DeliveryOutcome.FAILED, None, f"{type(exc).__name__}: {exc.message}"
    except NetworkError as exc:  # timed out or connection broke: maybe delivered
        return DeliveryOutcome.UNCERTAIN, None, f"{type(exc).__name__}: {exc.message}"
    except TelegramError as exc:
        return DeliveryOutcome.FAILED, None, f"{type(exc).__name__}: {exc.message}"
    return DeliveryOutcome.SENT, message.message_id, None


def build_current_digest(svc: Services) -> list[str]:
    """Build and render the digest at the clock's now, covering reports since the last one.

    The period starts at the last weekly digest sent (or 7 days ago when none was sent).
    Returns the HTML message parts.
    """
    now = svc.now()
    with svc.db.session() as s:
        last = repo.last_digest_at(s)
        since = last if last is not None and last < now else now - timedelta(days=7)
        state = repo.load_state(s, since=since)
    digest = build_digest(
        now,
        state,
        zone=svc.policy.zone,
        since=since,
        due_soon_days=svc.settings.schedule.due_soon_days,
    )
    return render.render_digest(digest, svc.policy.zone)


async def send_digest(bot: Bot, chat_id: int, parts: list[str]) -> DeliveryOutcome:
    """Send digest parts in order; stop at the first failure and return the outcome."""
    for part in parts:
        outcome, _, error = await _send(bot, chat_id, part)
        if outcome != DeliveryOutcome.SENT:
            log.warning("digest part %s to chat %s: %s", outcome.value, chat_id, error)
            return outcome
    return DeliveryOutcome.SENT


async def post_weekly_digest(bot: Bot, svc: Services) -> bool:
    """Post this week's digest to the committee group if due and not yet posted; True if sent."""
    chat_id = svc.settings.telegram.digest_chat_id
    if chat_id is None:
        return False
    now = svc.now()
    period = digest_period_due(now, svc.digest_schedule)
    if period is None:
        return False
    with svc.db.session() as s:
        if repo.digest_claimed(s, period=period, chat_id=chat_id):
            return False
    parts = build_current_digest(svc)
    with svc.db.session() as s:
        post = repo.claim_digest(s, period=period, chat_id=chat_id, now=now)
        post_id = post.id if post else None
    if post_id is None:
        return False
    outcome = await send_digest(bot, chat_id, parts)
    with svc.db.session() as s:
        repo.settle_digest(s, post_id=post_id, outcome=outcome, now=svc.now())
    log.info(
        "weekly digest %s: period=%s chat=%s parts=%d", outcome.value, period, chat_id, len(parts)
    )
    return outcome == DeliveryOutcome.SENT


async def follow_up(bot: Bot, svc: Services) -> None:
    """Send due reminders, then the weekly digest if due; skip if a run is still going."""
    if svc.tick_lock.locked():
        return  # the previous tick is still sending
    async with svc.tick_lock:
        await send_reminders(bot, svc)
        await post_weekly_digest(bot, svc)


async def tick(context: BotContext) -> None:
    """The repeating JobQueue callback: one follow-up run."""
    await follow_up(context.bot, context.svc)

"""The imperative shell around the policy: the repeating tick, reminder fan-out, digests.

Delivery guarantee: at most once. Before each Bot API call the send is claimed in a ledger
(unique key, row committed as PENDING); after the call the row is settled:
- SENT (with the message id);
- FAILED: Telegram refused it for good (403 blocked, 400 chat not found, other 400s);
- RETRY: it certainly did not reach Telegram (connection refused, 5xx, 429 after the rate
  limiter's own retries): claimed again after a backoff (30 s doubling, at most 30 min);
- UNCERTAIN: the request went out but no answer came (timeout, broken connection), so
  Telegram may have delivered it.
A row still PENDING at start-up means the process died mid-send; it becomes UNCERTAIN. SENT and
UNCERTAIN rows are never sent again, so a crash can cost a reminder but never duplicates one;
uncertain sends are counted in the digest for the coordinator to check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from telegram import Bot, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot import render, texts
from bot.context import BotContext, Services
from bot.keyboards import status_keyboard
from bot.ratelimit import BULK
from bot.transport import NOT_SENT_CAUSES
from db import repo
from db.models import Delivery
from jobs.digest import build_digest
from jobs.escalation import EscalationCase, Nudge, escalation_cases, nudges_due
from jobs.lights import cycle_start, unit_light
from jobs.policy import (
    DueReminder,
    reminder_candidates,
    sending_allowed,
)
from jobs.schedule import digest_due
from jobs.state import FollowUpState, TaskView, UnitView
from jobs.types import DeliveryKind, DeliveryOutcome

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class SendResult:
    """What one Bot API send came to; `migrated_to` is set when the chat became a supergroup."""

    outcome: DeliveryOutcome
    message: Message | None = None
    error: str | None = None
    migrated_to: int | None = None
    api_unreachable: bool = False

    @property
    def message_id(self) -> int | None:
        """The id of the sent message, if any."""
        return self.message.message_id if self.message is not None else None


def _describe(exc: Exception) -> str:
    message = str(getattr(exc, "message", exc))
    name = type(exc).__name__
    return message if message.lower().startswith(name.lower()) else f"{name}: {message}"


async def send(bot: Bot, chat_id: int, text: str, **kwargs: object) -> SendResult:
    """Send one message and classify the result (never raises for Telegram or network errors).

    SENT; FAILED when Telegram refused it (400, 403); RETRY when it certainly was not
    delivered (429 after the rate limiter's retries; the request never left this machine,
    `bot.transport.NOT_SENT_CAUSES`, then also `api_unreachable`; an HTTP error status such
    as 5xx, whether its body is JSON or a proxy's HTML page; 401, a token refused, also
    `api_unreachable`); UNCERTAIN when it may have been delivered (a timeout or a connection
    lost after the request went out, an unreadable 2xx answer). A chat that Telegram
    migrated to a supergroup is retried once at the new id.
    """
    try:
        message = await bot.send_message(chat_id, text, **kwargs)  # type: ignore[arg-type]
    except ChatMigrated as exc:
        retry = await send(bot, exc.new_chat_id, text, **kwargs)
        return SendResult(retry.outcome, retry.message, retry.error, migrated_to=exc.new_chat_id)
    except (BadRequest, Forbidden) as exc:  # refused: certainly not delivered, not worth retrying
        return SendResult(DeliveryOutcome.FAILED, error=_describe(exc))
    except RetryAfter as exc:  # flood limit even after the rate limiter's retries
        return SendResult(DeliveryOutcome.RETRY, error=_describe(exc))
    except TimedOut as exc:
        if isinstance(exc.__cause__, NOT_SENT_CAUSES):
            return SendResult(DeliveryOutcome.RETRY, error=_describe(exc), api_unreachable=True)
        return SendResult(DeliveryOutcome.UNCERTAIN, error=_describe(exc))
    except NetworkError as exc:
        if isinstance(exc.__cause__, NOT_SENT_CAUSES):
            return SendResult(DeliveryOutcome.RETRY, error=_describe(exc), api_unreachable=True)
        # An HTTP error status (5xx) is raised without a cause, or from the TelegramError of
        # its body when that is not JSON (a proxy's or nginx's HTML error page)
        if exc.__cause__ is None or isinstance(exc.__cause__, TelegramError):
            return SendResult(DeliveryOutcome.RETRY, error=_describe(exc))
        return SendResult(DeliveryOutcome.UNCERTAIN, error=_describe(exc))
    except InvalidToken as exc:  # 401 (or 404): the token was revoked; nothing goes out
        return SendResult(DeliveryOutcome.RETRY, error=_describe(exc), api_unreachable=True)
    except TelegramError as exc:  # e.g. a 2xx answer that is not JSON: it may have gone out
        return SendResult(DeliveryOutcome.UNCERTAIN, error=_describe(exc))
    return SendResult(DeliveryOutcome.SENT, message=message)


def unreachable_error(error: str | None) -> bool:
    """Tell whether a FAILED send means the contact cannot be reached at all.

    Bot API: 403 "bot was blocked by the user" / "user is deactivated" / "bot can't initiate
    conversation with a user", and 400 "chat not found".
    """
    lowered = (error or "").lower()
    return lowered.startswith("forbidden") or "chat not found" in lowered


def reminder_text(due: DueReminder, units: dict[int, UnitView]) -> str:
    """Render a reminder: kind, task number and text, the lead units (the addressee's own in
    bold; a responsible unit or member town is named as 协办), deadline and days left."""
    leads = "、".join(
        f"<b>{render.esc(units[u].name)}</b>" if u == due.unit_id else render.esc(units[u].name)
        for u in due.task.lead_unit_ids
        if u in units
    )
    if due.unit_id not in due.task.lead_unit_ids and due.unit_id in units:
        leads += texts.REMINDER_SUPPORTING.format(unit=render.esc(units[due.unit_id].name))
    return texts.REMINDER.format(
        title=texts.REMINDER_TITLE[due.occasion.kind],
        number=due.task.number,
        text=render.esc(due.task.text),
        unit=leads,
        deadline=render.fmt_date(due.task.deadline),
        when=render.when_text(due.days_left),
    )


async def in_worker(svc: Services, read: Callable[..., T], *args: Any) -> T:
    """Run a blocking database read `read(*args)` in a worker thread and return its result,
    so that the event loop goes on handling updates meanwhile. The read opens its own
    session. Runs it inline for an in-memory SQLite database, which other threads cannot
    see."""
    if not svc.db.shared_across_threads:
        return read(*args)
    return await asyncio.to_thread(read, *args)


def _read_state(svc: Services) -> FollowUpState:
    with svc.db.session() as s:
        return repo.load_state(s)


async def read_state(svc: Services) -> FollowUpState:
    """The follow-up state as `repo.load_state` reads it now, read in a worker thread."""
    return await in_worker(svc, _read_state, svc)


def _due_reminders(
    svc: Services, now: datetime, state: FollowUpState | None = None
) -> tuple[FollowUpState, list[DueReminder]]:
    """The state now (`state` if given), and the reminders due at `now` that the ledger does
    not hold settled (every row but a RETRY row whose next attempt has come)."""
    with svc.db.session() as s:
        state = state if state is not None else repo.load_state(s)
        candidates = reminder_candidates(now, state, svc.policy, svc.calendar)
        settled = repo.settled_keys(s, keys=[c.key for c in candidates], now=now)
    return state, [c for c in candidates if c.key not in settled]


async def send_reminders(bot: Bot, svc: Services, state: FollowUpState | None = None) -> int:
    """Send every reminder due now that the ledger does not hold; return how many were sent.

    Reads the state (unless `state`, read afresh by the caller, is given) and the ledger
    afresh (one worker-thread read), outside sending hours nothing. Stops early (the rest is
    retried on a later tick) when the Bot API cannot be reached.
    """
    now = svc.now()
    if not sending_allowed(now, svc.policy, svc.calendar):
        return 0  # reminder_candidates would find none
    read, due_now = await in_worker(svc, _due_reminders, svc, now, state)
    state = read
    sent = 0
    unreachable: set[int] = set()  # contacts Telegram refused during this run
    for due in due_now:
        if due.contact.id in unreachable:
            continue
        with svc.db.session() as s:
            claimed = repo.claim_delivery(
                s,
                key=due.key,
                kind=DeliveryKind.REMINDER,
                destination=str(due.contact.chat_id),
                task_id=due.task.id,
                unit_id=due.unit_id,
                contact_id=due.contact.id,
                now=now,
            )
            claimed_id = claimed.id if claimed else None
        if claimed_id is None:
            continue  # another tick or instance claimed it first
        unit_name = state.units[due.unit_id].name
        result = await send(
            bot,
            due.contact.chat_id,
            reminder_text(due, state.units),
            reply_markup=status_keyboard(due.task.number),
            rate_limit_args=BULK,
        )
        newly_unreachable = None
        with svc.db.session() as s:
            repo.settle_delivery(
                s,
                delivery_id=claimed_id,
                outcome=result.outcome,
                now=svc.now(),
                message_id=result.message_id,
                error=result.error,
            )
            if result.outcome == DeliveryOutcome.FAILED and unreachable_error(result.error):
                unreachable.add(due.contact.id)
                newly_unreachable = repo.mark_unreachable(
                    s, contact_id=due.contact.id, reason=result.error or "", now=svc.now()
                )
        level = logging.INFO if result.outcome == DeliveryOutcome.SENT else logging.WARNING
        log.log(
            level,
            "reminder %s: key=%s task=%s unit=%s contact=%s message=%s error=%s",
            result.outcome.value,
            due.key,
            due.task.number,
            due.unit_id,
            due.contact.id,
            result.message_id,
            result.error,
        )
        if newly_unreachable is not None:
            await tell_coordinators(
                bot,
                svc,
                texts.CONTACT_UNREACHABLE.format(
                    name=render.esc(due.contact.display_name),
                    unit=render.esc(unit_name),
                    reason=render.esc(result.error or ""),
                ),
            )
        if result.outcome == DeliveryOutcome.SENT:
            sent += 1
        if result.api_unreachable:
            log.warning("Bot API unreachable; the remaining reminders wait for a later tick")
            break
    return sent


def combined_outcome(outcomes: list[DeliveryOutcome]) -> DeliveryOutcome:
    """One ledger outcome for a message sent to several recipients: SENT if any of them
    got it (or there was nobody to send to); RETRY if each certainly did not (so a retry
    duplicates nothing); UNCERTAIN if any may have; FAILED otherwise."""
    if not outcomes or DeliveryOutcome.SENT in outcomes:
        return DeliveryOutcome.SENT
    if all(o == DeliveryOutcome.RETRY for o in outcomes):
        return DeliveryOutcome.RETRY
    if DeliveryOutcome.UNCERTAIN in outcomes:
        return DeliveryOutcome.UNCERTAIN
    return DeliveryOutcome.FAILED


async def tell_coordinators(bot: Bot, svc: Services, text: str) -> DeliveryOutcome:
    """Send a notice to every coordinator; failures are logged, never raised. Returns the
    `combined_outcome` of the sends (SENT when there is no coordinator)."""
    outcomes: list[DeliveryOutcome] = []
    for coordinator in svc.settings.telegram.coordinators:
        result = await send(bot, coordinator, text)
        outcomes.append(result.outcome)
        if result.outcome != DeliveryOutcome.SENT:
            log.warning(
                "notice to coordinator %s %s: %s", coordinator, result.outcome.value, result.error
            )
    return combined_outcome(outcomes)


def ledger_light_of(svc: Services, session: Any) -> Callable[[TaskView, UnitView], str]:
    """A `light_of` for the ledger: the traffic light of (task, lead unit) today, in Chinese."""
    state = repo.load_state(session)
    today = svc.now().astimezone(svc.policy.zone).date()

    def light_of(task: TaskView, unit: UnitView) -> str:
        light = unit_light(task, unit.id, state, today, svc.lights, svc.calendar)
        return texts.LIGHT_LABEL[light.value]

    return light_of


def build_current_digest(svc: Services) -> list[str]:
    """Build and render the digest at the clock's now, covering reports since the last one,
    from the database as it is now. Returns the HTML message parts.

    The period starts at the last weekly digest sent (or 7 days ago when none was sent).
    Blocking: the bot runs it in a worker thread (`current_digest`).
    """
    now = svc.now()
    with svc.db.session() as s:
        last = repo.last_digest_at(s)
        since = last if last is not None and last < now else now - timedelta(days=7)
        state = repo.load_state(s).with_period(repo.load_period(s, since=since))
    digest = build_digest(
        now,
        state,
        zone=svc.policy.zone,
        since=since,
        due_soon_days=svc.settings.schedule.due_soon_days,
        lights=svc.lights,
        calendar=svc.calendar,
        status_before=state.status_before,
    )
    return render.render_digest(digest, svc.policy.zone)


async def current_digest(svc: Services) -> list[str]:
    """`build_current_digest` in a worker thread: for /digest and the weekly digest."""
    return await in_worker(svc, build_current_digest, svc)


async def send_digest(
    bot: Bot,
    svc: Services,
    chat_id: int,
    parts: list[str],
    *,
    delivery_id: int | None = None,
    start: int = 0,
) -> tuple[DeliveryOutcome, int, str | None]:
    """Send digest parts `start`.. in order to `chat_id` (following recorded group migrations).

    Returns the outcome (SENT, or that of the first part not delivered, where it stops), how
    many parts are delivered in all, and the error. With `delivery_id`, each delivered part is
    recorded in the ledger at once, so an interrupted digest resumes at the right part. A
    migration to a supergroup met on the way is recorded, so later sends go to the new id.
    """
    with svc.db.session() as s:
        target = repo.current_chat_id(s, chat_id=chat_id)
    for index in range(start, len(parts)):
        result = await send(bot, target, parts[index])
        if result.migrated_to is not None:
            with svc.db.session() as s:
                repo.record_chat_migration(
                    s, old_chat_id=target, new_chat_id=result.migrated_to, now=svc.now()
                )
            log.warning("chat %s migrated to %s; recorded", target, result.migrated_to)
            target = result.migrated_to
        if result.outcome != DeliveryOutcome.SENT:
            log.warning(
                "digest part %d/%d %s to chat %s: %s",
                index + 1,
                len(parts),
                result.outcome.value,
                target,
                result.error,
            )
            return result.outcome, index, result.error
        if delivery_id is not None:
            with svc.db.session() as s:
                repo.delivery_part_sent(
                    s,
                    delivery_id=delivery_id,
                    parts_sent=index + 1,
                    message_id=result.message_id,
                )
    return DeliveryOutcome.SENT, len(parts), None


def digest_key(period: str, chat_id: int) -> str:
    """The send ledger key of a weekly digest: "digest:<ISO week>:telegram:<chat id>"."""
    return f"digest:{period}:telegram:{chat_id}"


async def _post_claimed_digest(bot: Bot, svc: Services, post: Delivery) -> DeliveryOutcome:
    parts = repo.delivery_parts(post)
    outcome, sent, error = await send_digest(
        bot, svc, int(post.destination), parts, delivery_id=post.id, start=post.parts_sent
    )
    with svc.db.session() as s:
        repo.settle_delivery(
            s, delivery_id=post.id or 0, outcome=outcome, now=svc.now(), error=error
        )
    log.info("weekly digest %s: key=%s parts=%d/%d", outcome.value, post.key, sent, len(parts))
    return outcome


async def post_weekly_digest(bot: Bot, svc: Services) -> bool:
    """Post this week's digest to the committee group if due and not yet posted; True if sent.

    Claimed per ISO week and chat in the send ledger with its rendered parts, so it is
    posted at most once per week, even across restarts. A digest stopped by an outage
    (RETRY: the Bot API was not reached) resumes at the first undelivered part a minute
    later; an uncertain or refused part ends it (the coordinators can still type /digest).
    """
    with svc.db.session() as s:
        resumed = repo.claim_retry(s, kind=DeliveryKind.DIGEST, now=svc.now())
    if resumed is not None:
        await _post_claimed_digest(bot, svc, resumed)
    chat_id = svc.settings.telegram.digest_chat_id
    if chat_id is None:
        return False
    now = svc.now()
    period = digest_due(now, svc.digest_schedule, svc.calendar)
    if period is None:
        return False
    key = digest_key(period, chat_id)
    with svc.db.session() as s:
        if repo.key_claimed(s, key=key):
            return False
    parts = await current_digest(svc)
    with svc.db.session() as s:
        post = repo.claim_delivery(
            s,
            key=key,
            kind=DeliveryKind.DIGEST,
            destination=str(chat_id),
            now=now,
            parts=parts,
        )
    if post is None:
        return False
    return await _post_claimed_digest(bot, svc, post) == DeliveryOutcome.SENT


def _escalation_cases(
    svc: Services, today: date, state: FollowUpState | None = None
) -> tuple[FollowUpState, list[EscalationCase]]:
    with svc.db.session() as s:
        state = state if state is not None else repo.load_state(s)
        cases = escalation_cases(
            today,
            state,
            svc.calendar,
            after_working_days=svc.settings.follow_up.escalate_after_working_days,
            escalated=frozenset(),
        )
        settled = repo.settled_keys(s, keys=[c.key for c in cases], now=svc.now())
    return state, [c for c in cases if c.key not in settled]


def escalation_line(case: EscalationCase, state: FollowUpState, zone: ZoneInfo) -> str:
    """One escalated (task, lead unit) as a line for the coordinators: task, unit, days
    overdue, the unit's contacts and its last report."""
    contacts = "、".join(c.display_name for c in state.contacts_of(case.unit_id))
    last = state.latest_report.get((case.task.id, case.unit_id))
    last_text = (
        f"{render.fmt_instant(last.created_at, zone)} "
        f"{render.status_label(last.status) if last.status else texts.DIGEST_CHANGE_NOTE}"
        f"{'：' + render.clip(last.note, 60) if last.note else ''}"
        if last
        else texts.ESCALATION_NO_REPORT
    )
    return texts.ESCALATION_LINE.format(
        number=case.task.number,
        text=render.esc(render.clip(case.task.text, 30)),
        unit=render.esc(state.units[case.unit_id].name),
        overdue=case.overdue_days,
        contacts=render.esc(contacts) or texts.UNITS_NONE,
        last=render.esc(last_text),
    )


async def escalate_overdue(bot: Bot, svc: Services, state: FollowUpState | None = None) -> int:
    """Tell the coordinators about lead units overdue beyond the threshold and not done
    (`jobs.escalation.escalation_cases`), once per task, lead unit and deadline.

    One private message lists every new case (split if long), with the unit's contacts and
    last report. Claimed in the send ledger before sending, so it is never repeated; only
    during sending hours on working days, and not at all while no coordinator is configured
    (`telegram.coordinators`): the cases wait for one. Returns the number of cases notified.
    """
    now = svc.now()
    if not sending_allowed(now, svc.policy, svc.calendar):
        return 0
    if not svc.settings.telegram.coordinators:
        return 0  # nobody to tell: recording the cases would spend them
    today = now.astimezone(svc.policy.zone).date()
    read, cases = await in_worker(svc, _escalation_cases, svc, today, state)
    state = read
    if not cases:
        return 0
    limit = svc.settings.follow_up.escalate_after_working_days
    claimed: list[tuple[int, EscalationCase]] = []
    with svc.db.session() as s:
        for case in cases:
            row = repo.claim_delivery(
                s,
                key=case.key,
                kind=DeliveryKind.ESCALATION,
                destination="coordinators",
                task_id=case.task.id,
                unit_id=case.unit_id,
                now=now,
            )
            if row is not None and row.id is not None:
                claimed.append((row.id, case))
    if not claimed:
        return 0
    cases = [case for _, case in claimed]
    header = texts.ESCALATION_HEADER.format(days=limit, count=len(cases))
    lines = [escalation_line(case, state, svc.policy.zone) for case in cases]
    outcomes = [
        await tell_coordinators(bot, svc, part) for part in render.split_lines([header, *lines])
    ]
    outcome = combined_outcome(outcomes)
    with svc.db.session() as s:
        for delivery_id, _ in claimed:
            repo.settle_delivery(s, delivery_id=delivery_id, outcome=outcome, now=svc.now())
    log.info(
        "escalated %d overdue task/unit pairs to the coordinators: %s", len(cases), outcome.value
    )
    return len(cases)


def _nudges(
    svc: Services, now: datetime, state: FollowUpState | None = None
) -> tuple[FollowUpState, list[Nudge]]:
    with svc.db.session() as s:
        state = state if state is not None else repo.load_state(s)
        nudges = nudges_due(
            now,
            state,
            svc.lights,
            nudge_after_days=svc.settings.follow_up.nudge_after_days,
            nudged=frozenset(),
        )
        settled = repo.settled_keys(s, keys=[n.key for n in nudges], now=now)
    return state, [n for n in nudges if n.key not in settled]


async def nudge_silent_units(bot: Bot, svc: Services, state: FollowUpState | None = None) -> int:
    """Nudge, once per reporting cycle, the contacts of lead units silent in it
    (`jobs.escalation.nudges_due`): one message per contact, listing those tasks.

    Claimed in the send ledger before sending; only during sending hours on working days,
    so a nudge day on a holiday moves to the next working day. Returns how many contacts
    were nudged.
    """
    now = svc.now()
    if svc.settings.follow_up.nudge_after_days <= 0:
        return 0
    if not sending_allowed(now, svc.policy, svc.calendar):
        return 0
    today = now.astimezone(svc.policy.zone).date()
    start = cycle_start(today, svc.lights.cycle_day)
    if today < start + timedelta(days=svc.settings.follow_up.nudge_after_days):
        return 0  # not yet the cycle's nudge day: nothing to read
    read, nudges = await in_worker(svc, _nudges, svc, now, state)
    state = read
    if not nudges:
        return 0
    claimed: list[tuple[int, Nudge]] = []
    with svc.db.session() as s:
        for nudge in nudges:
            row = repo.claim_delivery(
                s,
                key=nudge.key,
                kind=DeliveryKind.NUDGE,
                destination=str(nudge.contact.chat_id),
                contact_id=nudge.contact.id,
                now=now,
            )
            if row is not None and row.id is not None:
                claimed.append((row.id, nudge))
    for delivery_id, nudge in claimed:
        text = texts.NUDGE.format(
            unit=render.esc(state.units[nudge.contact.unit_id].name),
            start=render.fmt_date(nudge.cycle_start),
            numbers="、".join(str(n) for n in nudge.task_numbers),
        )
        result = await send(bot, nudge.contact.chat_id, text, rate_limit_args=BULK)
        with svc.db.session() as s:
            repo.settle_delivery(
                s,
                delivery_id=delivery_id,
                outcome=result.outcome,
                now=svc.now(),
                message_id=result.message_id,
                error=result.error,
            )
        log.info(
            "nudge %s: contact=%s tasks=%s",
            result.outcome.value,
            nudge.contact.id,
            list(nudge.task_numbers),
        )
    return len(claimed)


async def warn_unknown_calendar_years(bot: Bot, svc: Services) -> None:
    """Tell the coordinators once per year (claimed in the send ledger) that the holiday
    data lacks a year; probing 30 days ahead makes the warning come a month early."""
    today = svc.now().astimezone(svc.policy.zone).date()
    svc.calendar.is_working_day(today + timedelta(days=30))
    while svc.unknown_calendar_years:
        year = svc.unknown_calendar_years.pop(0)
        with svc.db.session() as s:
            row = repo.claim_delivery(
                s,
                key=f"notice:calendar:{year}",
                kind=DeliveryKind.NOTICE,
                destination="coordinators",
                now=svc.now(),
            )
            claimed_id = row.id if row is not None else None
        if claimed_id is None:
            continue
        outcome = await tell_coordinators(bot, svc, texts.CALENDAR_UNKNOWN_YEAR.format(year=year))
        with svc.db.session() as s:
            repo.settle_delivery(s, delivery_id=claimed_id, outcome=outcome, now=svc.now())


async def follow_up(bot: Bot, svc: Services) -> None:
    """Send due reminders, then the weekly digest if due, then escalations, reporting-cycle
    nudges and calendar warnings; skip if a run is still going. Each step reads what it
    needs from the database afresh; in sending hours the tick reads the state once (in a
    worker thread) for the reminders, the escalations and the nudges, and reads it again
    for the latter two only when reminders went out meanwhile (which takes time: at 29
    messages per second, 1,000 reminders take half a minute)."""
    if svc.tick_lock.locked():
        return  # the previous tick is still sending
    async with svc.tick_lock:
        state = None
        if sending_allowed(svc.now(), svc.policy, svc.calendar):
            state = await read_state(svc)
        if await send_reminders(bot, svc, state):
            state = None
        await post_weekly_digest(bot, svc)
        await escalate_overdue(bot, svc, state)
        await nudge_silent_units(bot, svc, state)
        await warn_unknown_calendar_years(bot, svc)


async def tick(context: BotContext) -> None:
    """The repeating JobQueue callback: one follow-up run."""
    await follow_up(context.bot, context.svc)

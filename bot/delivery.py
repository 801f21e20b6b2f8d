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
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

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
from bot.transport import NOT_SENT_CAUSES
from db import repo
from db.models import DigestPost
from jobs.digest import build_digest
from jobs.lights import cycle_start, reported_in_cycle, unit_light, working_days_until
from jobs.policy import (
    DueReminder,
    next_sending_instant,
    reminder_candidates,
    sending_allowed,
)
from jobs.schedule import digest_due
from jobs.state import FollowUpState, TaskView, UnitView
from jobs.types import DeliveryOutcome, Status

log = logging.getLogger(__name__)

T = TypeVar("T")
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)  # no RETRY row's next attempt is this late
WARM_UP_WAIT = 10.0  # seconds `warm_up` waits for the application to poll, at most
WARM_UP_POLL = 0.01  # seconds between its looks


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


async def current_state(svc: Services) -> FollowUpState:
    """The follow-up state exactly as `repo.load_state(session)` (no `since`, so
    `recent_reports` is empty) reads it now, remembered in `svc.reminder_memo`.

    Reads the fingerprint `repo.state_version` (one SQL statement: counts, largest ids and
    sums over what `load_state` reads, and the largest audit event id, which every deadline
    change, registration, unreachable mark, escalation and nudge adds) and reads the state
    again only when the fingerprint differs from the remembered one. That read runs in a
    worker thread (`off_the_loop`): with thousands of tasks it takes a second, during which
    the event loop goes on handling updates. A reload forgets the day's reminder candidates
    and the idle markers of `send_reminders`, `escalate_overdue` and `nudge_silent_units`,
    which hold only at the fingerprint they were set at. Within one `follow_up` tick, a
    fingerprint read by an earlier step is reused without a statement while the tick has
    neither written nor sent anything since (`_tick_acts`) and the state was not read again
    (other handlers ran meanwhile). Waits for the start-up warm-up (`warm_up`) if it is
    still running.
    """
    memo = svc.reminder_memo
    warming = memo.warming
    if warming is not None and warming is not asyncio.current_task() and not warming.done():
        await asyncio.shield(warming)  # warm_up never raises
        memo.tick_version = None  # handlers ran meanwhile: read the fingerprint anew
    return await _fresh_state(svc)


async def _fresh_state(svc: Services) -> FollowUpState:
    memo = svc.reminder_memo
    # only the tick's own task may reuse the fingerprint it read: a handler running while
    # the tick waits (for a worker thread or a send) must see the reports stored meanwhile
    in_tick = memo.tick_task is not None and asyncio.current_task() is memo.tick_task
    async with memo.reading:
        version = memo.tick_version if in_tick else None
        if version is None:
            with svc.db.session() as s:
                version = repo.state_version(s)
        if memo.state is None or memo.version != version:
            # the old state is dropped (reference counting frees it, frozen or not), one
            # collection clears the cyclic garbage among what is not frozen, and the new
            # state, read after it, is frozen with whatever lives now (it may be newer than
            # `version`: then the next fingerprint differs and it is read once more)
            memo.state = memo.candidates = None
            memo.version = None
            gc.collect()
            state = await off_the_loop(svc, _read_state, svc)
            memo.version, memo.state = version, state
            keep_out_of_collections()
            memo.idle_on = None
            memo.escalation_idle = None
            memo.nudge_idle = None
            # handlers ran during the read and may have stored reports: the tick's next
            # step reads the fingerprint again
            version = None
        if in_tick:
            memo.tick_version = version  # for the tick's next step
        assert memo.state is not None
        return memo.state


def _read_state(svc: Services) -> FollowUpState:
    with svc.db.session() as s:
        return repo.load_state(s)


async def off_the_loop(svc: Services, read: Callable[..., T], *args: Any) -> T:
    """Run a blocking database read `read(*args)` in a worker thread and return its result,
    so that the event loop goes on handling updates meanwhile (a read of a large state holds
    the interpreter's lock only part of the time); those may store reports, so a running
    tick's next step reads the fingerprint again (`_tick_acts`). The read opens its own
    session. Runs it inline for an in-memory SQLite database, which other threads cannot
    see."""
    if not svc.db.shared_across_threads:
        return read(*args)
    result = await asyncio.to_thread(read, *args)
    _tick_acts(svc)  # handlers ran meanwhile: a later step of a tick reads the fingerprint
    return result


async def warm_up(svc: Services, started: Callable[[], bool] | None = None) -> None:
    """Read, once after a start, what the first tick would otherwise read with nothing
    remembered: the state, and the reminder candidates of the current sending day (today in
    sending hours, else the next one, see `prepare_next_sending_day`) with which of them the
    ledger holds for good. Reads in a worker thread (`off_the_loop`), so updates are handled
    meanwhile; with 10,000 tasks this takes a second or two, after which the first tick is as
    quick as any later one. Started by `post_init` (`start_warm_up`); never raises: on a
    failure (logged) the first tick reads everything itself.

    With `started`, first waits until it returns True (the application polls), at most
    `WARM_UP_WAIT` seconds, and reads nothing if the bot is stopping meanwhile
    (`finish_warm_up`): a read in a worker thread during start-up competes with the event
    loop for the interpreter's lock and delayed the first getUpdates by 0.15-0.2 s."""
    memo = svc.reminder_memo
    if started is not None:
        waited = 0.0
        while not started() and waited < WARM_UP_WAIT and not memo.stopping:
            await asyncio.sleep(WARM_UP_POLL)
            waited += WARM_UP_POLL
        if memo.stopping:
            return
    try:
        await _ready_for_next_sending(svc, svc.now())
    except Exception:
        log.exception("warm-up after start failed; the first tick reads everything itself")


async def prepare_next_sending_day(svc: Services) -> bool:
    """Outside sending hours, have the reminder candidates of the next sending day (see
    `jobs.policy.next_sending_instant`) and the ledger keys among them settled for good
    ready in the memo, computed in a worker thread, so that the first tick of that morning
    only asks the ledger about the day's new occasions. Reads the state fingerprint (one
    statement) and recomputes only when the state changed or the day moved on; True if it
    computed. Called by `follow_up` on every tick outside sending hours."""
    now = svc.now()
    if sending_allowed(now, svc.policy, svc.calendar):
        return False
    return await _ready_for_next_sending(svc, now)


async def _ready_for_next_sending(svc: Services, now: datetime) -> bool:
    """`_ready_candidates` for the next sending instant at or after `now` (`now` itself in
    sending hours); False without reading anything when no working day comes within a
    year."""
    try:
        at = next_sending_instant(now, svc.policy, svc.calendar)
    except ValueError:  # no working day within a year: nothing to prepare
        return False
    return await _ready_candidates(svc, at)


async def _ready_candidates(svc: Services, at: datetime) -> bool:
    """Make `memo.candidates` those of the local date of `at` (an instant in sending hours)
    and `memo.settled` the ledger keys among them settled for good, unless the memo holds
    them already for the current state; True if computed now."""
    memo = svc.reminder_memo
    state = await current_state(svc)
    day = at.astimezone(svc.policy.zone).date()
    if memo.candidates is not None and memo.candidates[0] == day:
        return False
    gc.collect()  # what is not frozen (the state is)
    candidates, settled = await off_the_loop(svc, _settled_candidates, svc, state, at)
    if memo.state is not state or (memo.candidates is not None and memo.candidates[0] == day):
        return False  # the state was read again, or a tick computed them, meanwhile
    memo.candidates = (day, candidates)
    memo.settled = settled
    keep_out_of_collections()
    return True


def _settled_candidates(
    svc: Services, state: FollowUpState, now: datetime
) -> tuple[list[DueReminder], set[str]]:
    """The reminder candidates at `now` and the keys of those settled for good in the ledger."""
    candidates = reminder_candidates(now, state, svc.policy, svc.calendar)
    with svc.db.session() as s:
        settled = repo.sent_reminder_keys(s, keys=[c.key for c in candidates], now=FOREVER)
    return candidates, settled


def start_warm_up(svc: Services, started: Callable[[], bool] | None = None) -> None:
    """Start `warm_up` as a task of the running event loop (from `post_init`, with
    `started` telling when the application polls)."""
    svc.reminder_memo.warming = asyncio.get_running_loop().create_task(
        warm_up(svc, started), name="taskbot warm-up"
    )


async def finish_warm_up(svc: Services) -> None:
    """Wait for a warm-up still running (from `post_shutdown`, before the database closes:
    its worker thread cannot be cancelled); one still waiting for the start reads nothing."""
    svc.reminder_memo.stopping = True
    warming = svc.reminder_memo.warming
    if warming is not None:
        await asyncio.shield(warming)


def keep_out_of_collections() -> None:
    """Move every object alive now out of the cyclic garbage collector's reach (`gc.freeze`).

    Called after the tick reads the state or the day's candidates, which live until the next
    read (tens of thousands of objects with thousands of tasks): otherwise every full
    collection walks them all, 150 ms at 10,000 tasks, and a tick that allocates much (the
    first of a day) pays for one. The libraries' own objects (about 140,000 once the bot
    runs) are frozen with them, so a collection before a read walks only what came since.
    Each caller runs a collection before the read, and this one of the young generations
    before freezing; cyclic garbage made during a read in a worker thread that has already
    reached the oldest generation (SQL statement objects, some 60 per read) is frozen with
    the rest, as is what was frozen alive and later died in a reference cycle: both wait
    for `collect_frozen_garbage` (once a day). Reference counting frees acyclic garbage, as
    the views are, even while frozen.
    """
    gc.collect(1)
    gc.freeze()


def collect_frozen_garbage(svc: Services) -> bool:
    """Once per local day (configured zone), at the first tick outside sending hours, give
    everything frozen by `keep_out_of_collections` back to the collector, run one full
    collection and freeze what survives; True if it ran. The full collection walks every
    object of the process (100-200 ms with the libraries and a large state), which the
    minute tick otherwise avoids; it frees objects that were alive when frozen and have
    since died in reference cycles."""
    now = svc.now()
    if sending_allowed(now, svc.policy, svc.calendar):
        return False
    today = now.astimezone(svc.policy.zone).date()
    memo = svc.reminder_memo
    if memo.collected_on == today:
        return False
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    memo.collected_on = today
    return True


def _tick_acts(svc: Services) -> None:
    """Mark that the running tick is about to write or send, or has waited for a worker
    thread (both let other handlers run and store reports): a later step of the tick must
    read the fingerprint again."""
    svc.reminder_memo.tick_version = None


def _idle_key(svc: Services, today: date) -> tuple[tuple[Any, ...], date]:
    """(fingerprint of the remembered state, local date): the key of an idle marker."""
    version = svc.reminder_memo.version
    assert version is not None, "current_state reads the fingerprint first"
    return version, today


async def send_reminders(bot: Bot, svc: Services) -> int:
    """Send every reminder due now that the ledger does not hold; return how many were sent.

    Stops early (the rest is retried on a later tick) when the Bot API cannot be reached.

    The tick runs every minute and most ticks have nothing to send, so between ticks `svc`
    remembers the state and its fingerprint (see `current_state`), the day's candidates, and
    the ledger keys known to be settled for good (any outcome but RETRY: such a key is never
    due again). A tick at the same fingerprint and local date (configured zone) as a tick
    that left nothing unsettled returns after the one fingerprint statement; otherwise the
    state is read again only if its fingerprint changed, the candidates are computed again
    only then or on a new day, and the ledger is asked only about keys not known to be
    settled. Outside sending hours it reads nothing (`follow_up` then prepares the next
    sending day's candidates, `prepare_next_sending_day`).
    """
    now = svc.now()
    if not sending_allowed(now, svc.policy, svc.calendar):
        return 0  # reminder_candidates would find none
    today = now.astimezone(svc.policy.zone).date()
    memo = svc.reminder_memo
    state = await current_state(svc)
    if memo.idle_on == today:
        return 0  # nothing changed since a tick today that left nothing to send
    if memo.candidates is None or memo.candidates[0] != today:
        memo.candidates = None
        gc.collect()  # what is not frozen (the state is)
        memo.candidates = (today, reminder_candidates(now, state, svc.policy, svc.calendar))
        keep_out_of_collections()
    candidates: list[DueReminder] = memo.candidates[1]
    current = {c.key for c in candidates}
    # keys settled for good stay so whatever the state; keep only those of current occasions
    final: set[str] = memo.settled & current
    memo.settled = final
    unknown = [key for key in current if key not in final]
    waiting: set[str] = set()  # RETRY rows whose next attempt has not come yet
    if unknown:
        with svc.db.session() as s:
            if final:  # a running bot: most unknown keys are new occasions, not in the ledger
                settled_now = repo.sent_reminder_keys(s, keys=unknown, now=now)
                if settled_now:
                    final |= repo.sent_reminder_keys(s, keys=settled_now, now=FOREVER)
                waiting = settled_now - final
            else:  # the first tick: most keys are settled for good
                final |= repo.sent_reminder_keys(s, keys=unknown, now=FOREVER)
                rest = [key for key in unknown if key not in final]
                if rest:
                    waiting = repo.sent_reminder_keys(s, keys=rest, now=now)
    idle = not waiting  # True while every candidate is settled for good
    sent = 0
    unreachable: set[int] = set()  # contacts Telegram refused during this run
    for due in candidates:
        if due.key in final or due.key in waiting:
            continue
        if due.contact.id in unreachable:
            idle = False
            continue
        _tick_acts(svc)
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
            idle = False
            continue  # another tick or instance claimed it first
        unit_name = state.units[due.unit_id].name
        result = await send(
            bot,
            due.contact.chat_id,
            reminder_text(due, state.units),
            reply_markup=status_keyboard(due.task.number),
        )
        newly_unreachable = None
        with svc.db.session() as s:
            repo.settle_reminder(
                s,
                reminder_id=claimed_id,
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
        if result.outcome == DeliveryOutcome.RETRY:
            idle = False
        else:
            final.add(due.key)
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
            idle = False
            log.warning("Bot API unreachable; the remaining reminders wait for a later tick")
            break
    if idle:
        memo.idle_on = today
    return sent


async def tell_coordinators(bot: Bot, svc: Services, text: str) -> None:
    """Send a notice to every coordinator; failures are logged, never raised."""
    for coordinator in svc.settings.telegram.coordinators:
        result = await send(bot, coordinator, text)
        if result.outcome != DeliveryOutcome.SENT:
            log.warning(
                "notice to coordinator %s %s: %s", coordinator, result.outcome.value, result.error
            )


def ledger_light_of(svc: Services, session: Any) -> Callable[[TaskView, UnitView], str]:
    """A `light_of` for the ledger: the traffic light of (task, lead unit) today, in Chinese."""
    state = repo.load_state(session)
    today = svc.now().astimezone(svc.policy.zone).date()

    def light_of(task: TaskView, unit: UnitView) -> str:
        light = unit_light(task, unit.id, state, today, svc.lights, svc.calendar)
        return texts.LIGHT_LABEL[light.value]

    return light_of


def build_current_digest(svc: Services, state: FollowUpState | None = None) -> list[str]:
    """Build and render the digest at the clock's now, covering reports since the last one.

    The period starts at the last weekly digest sent (or 7 days ago when none was sent).
    `state` is the follow-up state to build it from (the bot passes the one it remembers,
    `current_digest`); None reads it (`repo.load_state`). Either way the period's reports
    are read (`repo.load_period`). Returns the HTML message parts. Blocking (with thousands
    of tasks and no state given, most of a second): the bot runs it with `off_the_loop`.
    """
    now = svc.now()
    with svc.db.session() as s:
        last = repo.last_digest_at(s)
        since = last if last is not None and last < now else now - timedelta(days=7)
        if state is None:
            state = repo.load_state(s)
        period = repo.load_period(s, since=since)
    state = state.with_period(period)
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
    """The digest as `build_current_digest` renders it, from the state the bot remembers
    (`current_state`: one fingerprint statement when nothing changed) plus the period's
    reports, built in a worker thread (`off_the_loop`). For /digest and the weekly digest.

    A report stored between the fingerprint read and the period read shows among the
    period's changes but not yet in the status tables; the next digest has both.
    """
    state = await current_state(svc)
    return await off_the_loop(svc, build_current_digest, svc, state)


async def send_digest(
    bot: Bot,
    svc: Services,
    chat_id: int,
    parts: list[str],
    *,
    post_id: int | None = None,
    start: int = 0,
) -> tuple[DeliveryOutcome, int, str | None]:
    """Send digest parts `start`.. in order to `chat_id` (following recorded group migrations).

    Returns the outcome (SENT, or that of the first part not delivered, where it stops), how
    many parts are delivered in all, and the error. With `post_id`, each delivered part is
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
        if post_id is not None:
            with svc.db.session() as s:
                repo.digest_part_sent(s, post_id=post_id, parts_sent=index + 1)
    return DeliveryOutcome.SENT, len(parts), None


async def _post_claimed_digest(bot: Bot, svc: Services, post: DigestPost) -> DeliveryOutcome:
    _tick_acts(svc)
    parts = repo.digest_parts(post)
    outcome, sent, error = await send_digest(
        bot, svc, post.chat_id, parts, post_id=post.id, start=post.parts_sent
    )
    with svc.db.session() as s:
        repo.settle_digest(s, post_id=post.id or 0, outcome=outcome, now=svc.now(), error=error)
    log.info(
        "weekly digest %s: period=%s chat=%s parts=%d/%d",
        outcome.value,
        post.period,
        post.chat_id,
        sent,
        len(parts),
    )
    return outcome


async def post_weekly_digest(bot: Bot, svc: Services) -> bool:
    """Post this week's digest to the committee group if due and not yet posted; True if sent.

    Claimed per ISO week in the ledger with its rendered parts, so it is posted at most once
    per week, even across restarts. A digest stopped by an outage (RETRY: the Bot API was not
    reached) resumes at the first undelivered part a minute later; an uncertain or refused
    part ends it (the coordinators can still type /digest).
    """
    with svc.db.session() as s:
        resumed = repo.claim_digest_retry(s, now=svc.now())
    if resumed is not None:
        await _post_claimed_digest(bot, svc, resumed)
    chat_id = svc.settings.telegram.digest_chat_id
    if chat_id is None:
        return False
    now = svc.now()
    period = digest_due(now, svc.digest_schedule, svc.calendar)
    if period is None:
        return False
    with svc.db.session() as s:
        if repo.digest_claimed(s, period=period, chat_id=chat_id):
            return False
    parts = await current_digest(svc)
    with svc.db.session() as s:
        post = repo.claim_digest(s, period=period, chat_id=chat_id, now=now, parts=parts)
    if post is None:
        return False
    return await _post_claimed_digest(bot, svc, post) == DeliveryOutcome.SENT


async def escalate_overdue(bot: Bot, svc: Services) -> int:
    """Tell the coordinators, once per task, lead unit and deadline, about lead units overdue
    by more than `follow_up.escalate_after_working_days` working days and not done.

    One private message lists every new case (split if long), with the unit's contacts and
    last report. Recorded in the audit trail before sending, so it is never repeated; only
    during sending hours on working days, and not at all while no coordinator is configured
    (`telegram.coordinators`): the cases wait for one. Returns the number of cases notified.

    The state comes from `current_state`. The cases depend only on that state, the local
    date (configured zone), the calendar and settings (fixed for the process) and the
    escalations already recorded (audit events, so in the fingerprint; recording one changes
    it): a run at the fingerprint and local date at which a run found no new case returns 0
    after the fingerprint statement, without reading the audit trail.
    """
    now = svc.now()
    if not sending_allowed(now, svc.policy, svc.calendar):
        return 0
    if not svc.settings.telegram.coordinators:
        return 0  # nobody to tell: recording the cases would spend them (newcomer trial)
    limit = svc.settings.follow_up.escalate_after_working_days
    today = now.astimezone(svc.policy.zone).date()
    memo = svc.reminder_memo
    state = await current_state(svc)
    idle_key = _idle_key(svc, today)
    if memo.escalation_idle == idle_key:
        return 0  # no new case at this state today
    with svc.db.session() as s:
        done = repo.audit_subjects(s, action="task.escalated")
    overdue_days: dict[date, int] = {}
    cases: list[tuple[str, str]] = []
    for task in state.tasks:
        if task.deadline >= today:
            continue
        if task.deadline not in overdue_days:
            # working days after the deadline up to today (counting stops past the limit)
            overdue_days[task.deadline] = working_days_until(
                task.deadline, today, svc.calendar, stop_after=limit
            )
        if overdue_days[task.deadline] <= limit:
            continue
        for unit_id in task.lead_unit_ids:
            subject = f"task:{task.number}:unit:{unit_id}:deadline:{task.deadline}"
            if subject in done or state.unit_status(task.id, unit_id) is Status.DONE:
                continue
            contacts = "、".join(c.display_name for c in state.contacts_of(unit_id))
            last = state.latest_report.get((task.id, unit_id))
            last_text = (
                f"{render.fmt_instant(last.created_at, svc.policy.zone)} "
                f"{render.status_label(last.status) if last.status else texts.DIGEST_CHANGE_NOTE}"
                f"{'：' + render.clip(last.note, 60) if last.note else ''}"
                if last
                else texts.ESCALATION_NO_REPORT
            )
            line = texts.ESCALATION_LINE.format(
                number=task.number,
                text=render.esc(render.clip(task.text, 30)),
                unit=render.esc(state.units[unit_id].name),
                overdue=(today - task.deadline).days,
                contacts=render.esc(contacts) or texts.UNITS_NONE,
                last=render.esc(last_text),
            )
            cases.append((subject, line))
    if not cases:
        memo.escalation_idle = idle_key
        return 0
    _tick_acts(svc)
    with svc.db.session() as s:
        for subject, _ in cases:
            repo.record_audit(
                s,
                actor_user_id=0,
                action="task.escalated",
                subject=subject,
                before=None,
                after=f"overdue > {limit} working days",
                now=now,
            )
    header = texts.ESCALATION_HEADER.format(days=limit, count=len(cases))
    for part in render.split_lines([header, *(line for _, line in cases)]):
        await tell_coordinators(bot, svc, part)
    log.info("escalated %d overdue task/unit pairs to the coordinators", len(cases))
    return len(cases)


async def nudge_silent_units(bot: Bot, svc: Services) -> int:
    """`follow_up.nudge_after_days` days into a reporting cycle, nudge once the contacts of lead
    units that have not reported on some open task in the cycle (one message per contact,
    listing those tasks). Recorded in the audit trail before sending; only during sending
    hours on working days; a nudge day on a holiday moves to the next working day. Returns
    how many contacts were nudged.

    The state comes from `current_state`. Who is nudged depends only on that state (open
    tasks, latest reports, contacts with their units, unreachable marks and registration
    instants), the local date (configured zone; it fixes the cycle and its nudge day), the
    calendar and settings (fixed for the process) and the nudges already recorded (audit
    events, so in the fingerprint): a run at the fingerprint and local date at which a run
    found nobody to nudge returns 0 after the fingerprint statement, without reading the
    audit trail."""
    days = svc.settings.follow_up.nudge_after_days
    now = svc.now()
    if days <= 0 or not sending_allowed(now, svc.policy, svc.calendar):
        return 0
    today = now.astimezone(svc.policy.zone).date()
    start = cycle_start(today, svc.lights.cycle_day)
    if today < start + timedelta(days=days):
        return 0
    memo = svc.reminder_memo
    state = await current_state(svc)
    idle_key = _idle_key(svc, today)
    if memo.nudge_idle == idle_key:
        return 0  # nobody to nudge at this state today
    with svc.db.session() as s:
        done_subjects = repo.audit_subjects(s, action="contact.nudged")
    silent: dict[int, list[int]] = {}
    for task in state.tasks:
        for unit_id in task.lead_unit_ids:
            if state.unit_status(task.id, unit_id) is Status.DONE:
                continue
            if reported_in_cycle(task, unit_id, state, today, svc.lights):
                continue
            silent.setdefault(unit_id, []).append(task.number)
    nudge_day = datetime.combine(start + timedelta(days=days), time(0), svc.policy.zone)
    todo = [
        (contact, silent[contact.unit_id])
        for contact in state.contacts
        if contact.unit_id in silent
        and contact.unreachable_reason is None
        # a contact who registered after the nudge day was never asked in this cycle
        and (contact.registered_at is None or contact.registered_at < nudge_day)
        and f"contact:{contact.id}:cycle:{start}" not in done_subjects
    ]
    if not todo:
        memo.nudge_idle = idle_key
        return 0
    _tick_acts(svc)
    with svc.db.session() as s:
        for contact, numbers in todo:
            repo.record_audit(
                s,
                actor_user_id=0,
                action="contact.nudged",
                subject=f"contact:{contact.id}:cycle:{start}",
                before=None,
                after=",".join(str(n) for n in numbers),
                now=now,
            )
    for contact, numbers in todo:
        text = texts.NUDGE.format(
            unit=render.esc(state.units[contact.unit_id].name),
            start=render.fmt_date(start),
            numbers="、".join(str(n) for n in numbers),
        )
        result = await send(bot, contact.chat_id, text)
        log.info("nudge %s: contact=%s tasks=%s", result.outcome.value, contact.id, numbers)
    return len(todo)


async def warn_unknown_calendar_years(bot: Bot, svc: Services) -> None:
    """Tell the coordinators once per year (remembered in the audit trail) that the holiday
    data lacks a year; probing 30 days ahead makes the warning come a month early."""
    today = svc.now().astimezone(svc.policy.zone).date()
    svc.calendar.is_working_day(today + timedelta(days=30))
    while svc.unknown_calendar_years:
        year = svc.unknown_calendar_years.pop(0)
        subject = f"year:{year}"
        with svc.db.session() as s:
            if repo.audit_recorded(s, action="calendar.unknown_year", subject=subject):
                continue
            repo.record_audit(
                s,
                actor_user_id=0,
                action="calendar.unknown_year",
                subject=subject,
                before=None,
                after="monday-friday fallback",
                now=svc.now(),
            )
        await tell_coordinators(bot, svc, texts.CALENDAR_UNKNOWN_YEAR.format(year=year))


async def follow_up(bot: Bot, svc: Services) -> None:
    """Send due reminders, then the weekly digest if due, then escalations, reporting-cycle
    nudges and calendar warnings; outside sending hours, prepare the next sending day's
    reminder candidates (`prepare_next_sending_day`) and once a day a full garbage
    collection (`collect_frozen_garbage`); skip if a run is still going.

    The steps share one fingerprint read (see `current_state`) until one of them writes or
    sends, so a tick with nothing to do reads it once.
    """
    if svc.tick_lock.locked():
        return  # the previous tick is still sending
    async with svc.tick_lock:
        memo = svc.reminder_memo
        memo.tick_task, memo.tick_version = asyncio.current_task(), None
        try:
            await send_reminders(bot, svc)
            await post_weekly_digest(bot, svc)
            await escalate_overdue(bot, svc)
            await nudge_silent_units(bot, svc)
            await warn_unknown_calendar_years(bot, svc)
            await prepare_next_sending_day(svc)
            collect_frozen_garbage(svc)
        finally:
            memo.tick_task, memo.tick_version = None, None


async def tick(context: BotContext) -> None:
    """The repeating JobQueue callback: one follow-up run."""
    await follow_up(context.bot, context.svc)

"""The imperative shell around the policy: the repeating tick claims, sends and settles what
the pure decisions of `jobs/` find due (each contact's message of the day with its reminders
and nudge, the weekly digest, the coordinators' escalations, calendar notices), at most one
unsolicited message per person a day (`jobs.daily`). What is due is read with `unsettled`;
the texts come from `bot/render.py` and the fresh reads from `bot/reads.py`.

Delivery guarantee: at most once. Before each Bot API call the send is claimed in a ledger
(unique key, row committed as PENDING); after the call the row is settled:
- SENT (with the message id);
- FAILED: Telegram refused it for good (403 blocked, 400 chat not found, other 400s); the
  reminders of a refused message of the day are released instead (`_send_daily`);
- RETRY: it certainly did not reach Telegram (connection refused, 5xx, 429 after the rate
  limiter's own retries): claimed again after a backoff (30 s doubling, at most 30 min);
- UNCERTAIN: the request went out but no answer came (timeout, broken connection), so
  Telegram may have delivered it.
A row still PENDING at start-up means the process died mid-send; it becomes UNCERTAIN. SENT and
UNCERTAIN rows are never sent again, so a crash can cost a reminder but never duplicates one;
uncertain sends are counted in the digest for the coordinator to check.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from sqlmodel import Session
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
from bot.access import coordinator_ids, leader_ids
from bot.chart import font_path
from bot.context import BotContext, Services
from bot.keyboards import (
    claims_keyboard,
    daily_keyboard,
    hold_keyboard,
    item_marker,
    status_keyboard,
)
from bot.ratelimit import BULK
from bot.reads import current_digest, current_digest_chart, in_worker, read_state
from bot.transport import NOT_SENT_CAUSES
from db import repo
from db.models import Contact, Delivery
from db.repo.reviews import ClaimCard
from jobs.coordination import days_open, reminder_due
from jobs.daily import (
    DailyMessage,
    coordinators_key,
    daily_key,
    daily_messages,
    escalation_day,
    leaders_key,
    split_daily,
)
from jobs.escalation import (
    Nudge,
    escalation_cases,
    escalation_key,
    leaders_escalation_key,
    nudges_due,
)
from jobs.hold import held_reminder
from jobs.policy import DueReminder, reminder_candidates, sending_allowed
from jobs.review import Reviewers, reviewers_for
from jobs.schedule import digest_before_first_start, digest_due
from jobs.state import FollowUpState, TaskView
from jobs.types import DeliveryKind, DeliveryOutcome, Role

log = logging.getLogger(__name__)


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
    return await _classified(
        lambda target: bot.send_message(target, text, **kwargs),  # type: ignore[arg-type]
        chat_id,
    )


async def send_photo(
    bot: Bot, chat_id: int, photo: bytes, caption: str, **kwargs: object
) -> SendResult:
    """Send one picture (`photo`: the bytes of a PNG or JPEG) with its `caption` (HTML), the
    result classified as `send` does (never raises for Telegram or network errors)."""
    return await _classified(
        lambda target: bot.send_photo(
            target,
            photo,
            caption=caption,
            **kwargs,  # type: ignore[arg-type]
        ),
        chat_id,
    )


async def _classified(call: Callable[[int], Awaitable[Message]], chat_id: int) -> SendResult:
    try:
        message = await call(chat_id)
    except ChatMigrated as exc:
        retry = await _classified(call, exc.new_chat_id)
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


class Keyed(Protocol):
    """Something to send that the send ledger knows by a unique key."""

    @property
    def key(self) -> str: ...


K = TypeVar("K", bound=Keyed)


def _read_unsettled(
    svc: Services,
    now: datetime,
    state: FollowUpState | None,
    decide: Callable[[FollowUpState], Sequence[K]],
) -> tuple[FollowUpState, list[K]]:
    with svc.db.session() as s:
        state = (state if state is not None else repo.load_state(s)).followed_up()
        found = decide(state)
        to_send = repo.unsettled_keys(s, keys=[f.key for f in found], now=now)
    return state, [f for f in found if f.key in to_send]


async def unsettled(
    svc: Services,
    now: datetime,
    state: FollowUpState | None,
    decide: Callable[[FollowUpState], Sequence[K]],
) -> tuple[FollowUpState, list[K]]:
    """What is due at `now` and not yet settled in the send ledger, with the state it was
    decided on.

    Reads the follow-up state (unless `state`, read afresh by the caller in this tick, is
    given), asks the pure decision `decide` (from `jobs/`) what is due in it, and leaves out
    the items whose ledger key is settled (`repo.unsettled_keys`: every row but a RETRY row
    whose next attempt has come). One session, in a worker thread (`bot.reads.in_worker`).
    """
    return await in_worker(svc, _read_unsettled, svc, now, state, decide)


async def send_reminders(
    bot: Bot,
    svc: Services,
    state: FollowUpState | None = None,
    *,
    held: frozenset[int] = frozenset(),
) -> int:
    """Send each contact's message of the day (`jobs.daily.daily_messages`): every reminder
    due now that the ledger does not hold, and the reporting-cycle nudge when due
    (`jobs.escalation.nudges_due`), as ONE message per contact and working day; return how
    many messages were sent.

    A message carrying one reminder only is the plain reminder with its status buttons;
    otherwise it lists every task with its deadline and days left or overdue and has a button
    per task (`t2:<id>`, which opens the status choice), and a reply to it asks which task the
    note is for. Its ledger row ("daily:<contact>:<date>") and the rows of the items it
    carries are claimed in one transaction before the send and settled together after it (same
    outcome and message id): a contact whose message of the day is already claimed gets
    nothing more that day (the rest waits for the next working day), and an item sent before
    is never sent again. More than `jobs.daily.DAILY_TASKS_PER_PART` tasks go out in parts;
    a refused message keeps its reminders for the next chance (`_send_daily`).

    Reads the state (unless `state`, read afresh by the caller, is given) and the ledger
    afresh (one worker-thread read), outside sending hours nothing; no overdue reminder on a
    task of a plan in `held` (plan ids whose follow-up is held, `jobs.hold`). Stops early
    (the rest is retried on a later tick) when the Bot API cannot be reached, and when the
    application is stopping (`Services.stop_requested`): the send in flight is settled, the
    rest is left unclaimed, so it is neither lost nor uncertain and goes out after the
    restart.
    """
    now = svc.now()
    if not sending_allowed(now, svc.policy, svc.calendar):
        return 0  # reminder_candidates would find none
    today = now.astimezone(svc.policy.zone).date()
    nudge_after = svc.settings.follow_up.nudge_after_days

    def decide(st: FollowUpState) -> list[DueReminder | Nudge]:
        found: list[DueReminder | Nudge] = [
            c
            for c in reminder_candidates(now, st, svc.policy, svc.calendar)
            if not (c.task.plan_id in held and held_reminder(c.occasion.kind))
        ]
        if nudge_after > 0:
            found.extend(nudges_due(now, st, svc.lights, nudge_after_days=nudge_after))
        return found

    state, found = await unsettled(svc, now, state, decide)
    messages = daily_messages(
        today,
        [f for f in found if isinstance(f, DueReminder)],
        [f for f in found if isinstance(f, Nudge)],
    )
    sent = 0
    for position, message in enumerate(messages):
        if svc.stop_requested():
            log.info(
                "stopping: %d daily messages left unclaimed; they go out after the restart",
                len(messages) - position,
            )
            break
        result = await _send_daily(bot, svc, state, message, now)
        if result is None:
            continue
        if result.outcome == DeliveryOutcome.SENT:
            sent += 1
        if result.api_unreachable:
            log.warning("Bot API unreachable; the remaining reminders wait for a later tick")
            break
    return sent


def _claim_daily(
    svc: Services, message: DailyMessage, now: datetime
) -> tuple[list[int], list[int], DailyMessage] | None:
    """Claim a daily message and its items in one transaction; return the ids of the rows
    claimed for the reminders, those of the message's own row and its nudge's, and the
    message reduced to the items claimed; or None (nothing claimed: the contact's message of
    the day is taken, or every item was claimed elsewhere)."""
    contact = message.contact
    destination = str(contact.chat_id)
    with svc.db.session() as s:
        day_row = repo.claim_delivery(
            s,
            key=message.key,
            kind=DeliveryKind.REMINDER if message.reminders else DeliveryKind.NUDGE,
            destination=destination,
            contact_id=contact.id,
            now=now,
        )
        if day_row is None or day_row.id is None:
            return None  # this contact's message of the day is out: the rest waits
        ids: list[int] = []
        own = [day_row.id]
        reminders: list[DueReminder] = []
        for due in message.reminders:
            row = repo.claim_delivery(
                s,
                key=due.key,
                kind=DeliveryKind.REMINDER,
                destination=destination,
                task_id=due.task.id,
                unit_id=due.unit_id,
                contact_id=contact.id,
                now=now,
            )
            if row is not None and row.id is not None:
                ids.append(row.id)
                reminders.append(due)
        nudge = None
        if message.nudge is not None:
            row = repo.claim_delivery(
                s,
                key=message.nudge.key,
                kind=DeliveryKind.NUDGE,
                destination=destination,
                contact_id=contact.id,
                now=now,
            )
            if row is not None and row.id is not None:
                own.append(row.id)
                nudge = message.nudge
        if not reminders and nudge is None:
            s.rollback()  # another tick or instance claimed every item: claim nothing
            return None
    return ids, own, replace(message, reminders=tuple(reminders), nudge=nudge)


def _daily_content(part: DailyMessage, state: FollowUpState) -> tuple[str, object]:
    """The text and keyboard of one part of a message of the day."""
    single = part.single
    if single is not None:
        text = render.reminder_text(
            single, state.units, render.plan_tags(list(state.plans.values()))
        )
        if part.nudge is not None:
            text += render.nudge_line(
                part.nudge, state.units, render.plan_tags(list(state.plans.values()))
            )
        milestone = single.milestone
        return text, status_keyboard(
            single.task.id,
            milestone=(milestone.id, milestone.text)
            if milestone is not None and single.unit_id in single.task.lead_unit_ids
            else None,
        )
    if not part.reminders and part.nudge is not None:
        return render.nudge_text(part.nudge, state), None
    plans = list(state.plans.values())
    return render.daily_text(part, state.units, render.plan_tags(plans)), daily_keyboard(
        part, render.plan_tags(plans, html_text=False)
    )


def _settle_items(
    svc: Services, item_ids: Sequence[int], result: SendResult, *, left: Sequence[int] = ()
) -> None:
    """Settle the item rows of one part with its result, releasing them when it was refused
    (FAILED: nobody got it, so the next chance sends them), and release the rows `left` of
    the parts not tried."""
    with svc.db.session() as s:
        for delivery_id in left:
            repo.release_delivery(s, delivery_id=delivery_id)
        for delivery_id in item_ids:
            if result.outcome == DeliveryOutcome.FAILED:
                repo.release_delivery(s, delivery_id=delivery_id)
            else:
                repo.settle_delivery(
                    s,
                    delivery_id=delivery_id,
                    outcome=result.outcome,
                    now=svc.now(),
                    message_id=result.message_id,
                    error=result.error,
                )


async def _send_daily(
    bot: Bot, svc: Services, state: FollowUpState, message: DailyMessage, now: datetime
) -> SendResult | None:
    """Claim, send and settle one contact's message of the day (None: nothing claimed).

    A long one goes out in parts (`jobs.daily.split_daily`), in order, each part's item rows
    settled with its own message id as soon as it is sent; the day's row takes the first
    part's. The first part not sent ends it: its items take its outcome, the items of the
    parts after it are released (never sent: the next working day brings them). A refused
    part (FAILED) releases its items too: for a contact who blocked the bot also the day's
    row (a contact who comes back the same day still gets them); for any other refusal the
    day's row is FAILED (no retry today), the items come again the next working day, and the
    coordinators are told. Returns the first part's result, `api_unreachable` when the last
    part tried found the Bot API unreachable."""
    claimed = _claim_daily(svc, message, now)
    if claimed is None:
        return None
    ids, own, message = claimed
    day_id, nudge_id = own[0], (own[1] if len(own) > 1 else None)
    row_of = {due.key: delivery_id for due, delivery_id in zip(message.reminders, ids, strict=True)}
    contact = message.contact
    parts = split_daily(message)
    item_ids = [
        [row_of[due.key] for due in part.reminders]
        + ([nudge_id] if part.nudge is not None and nudge_id is not None else [])
        for part in parts
    ]
    first: SendResult | None = None
    result: SendResult | None = None
    for index, part in enumerate(parts):
        text, markup = _daily_content(part, state)
        result = await send(bot, contact.chat_id, text, reply_markup=markup, rate_limit_args=BULK)
        first = first or result
        sent = result.outcome == DeliveryOutcome.SENT
        left = [] if sent else [i for later in item_ids[index + 1 :] for i in later]
        _settle_items(svc, item_ids[index], result, left=left)
        _log_daily(part, result)
        if not sent:
            break
    assert first is not None and result is not None  # split_daily gives at least one part
    refused = result.outcome == DeliveryOutcome.FAILED
    unreachable = refused and unreachable_error(result.error)
    newly_unreachable = None
    with svc.db.session() as s:
        if first.outcome == DeliveryOutcome.SENT or not unreachable:
            repo.settle_delivery(
                s,
                delivery_id=day_id,
                outcome=first.outcome,
                now=svc.now(),
                message_id=first.message_id,
                error=first.error,
            )
        else:  # nobody got it: the day's message stays to be sent when the contact is back
            repo.release_delivery(s, delivery_id=day_id)
        if unreachable:
            newly_unreachable = repo.mark_unreachable(
                s, contact_id=contact.id, reason=result.error or "", now=svc.now()
            )
    unit = render.esc(state.units[contact.unit_id].name)
    if newly_unreachable is not None:
        await tell_coordinators(
            bot,
            svc,
            texts.CONTACT_UNREACHABLE.format(
                name=render.esc(contact.display_name),
                unit=unit,
                reason=render.esc(result.error or ""),
            ),
        )
    elif refused and not unreachable:
        unsent = [p for p in parts if p.part >= index + 1]
        numbers = sorted({due.task.number for p in unsent for due in p.reminders})
        await tell_coordinators(
            bot,
            svc,
            texts.DAILY_REFUSED.format(
                name=render.esc(contact.display_name),
                unit=unit,
                reason=render.esc(result.error or ""),
                numbers="、".join(str(n) for n in numbers),
            ),
        )
    return replace(first, api_unreachable=result.api_unreachable)


def _log_daily(part: DailyMessage, result: SendResult) -> None:
    level = logging.INFO if result.outcome == DeliveryOutcome.SENT else logging.WARNING
    log.log(
        level,
        "daily message %s: key=%s part=%d/%d tasks=%s nudge=%s contact=%s message=%s error=%s",
        result.outcome.value,
        part.key,
        part.part,
        part.parts,
        [r.task.number for r in part.reminders],
        part.nudge is not None,
        part.contact.id,
        result.message_id,
        result.error,
    )


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


async def tell_coordinators(
    bot: Bot, svc: Services, text: str, **kwargs: object
) -> DeliveryOutcome:
    """Send a notice to every coordinator (`kwargs` go to `send`, e.g. `reply_markup`);
    failures are logged, never raised. Returns the `combined_outcome` of the sends (SENT
    when there is no coordinator)."""
    return await _tell_each(bot, coordinator_ids(svc), text, "coordinators", **kwargs)


async def _tell_each(
    bot: Bot, recipients: Sequence[int], text: str, who: str, **kwargs: object
) -> DeliveryOutcome:
    """Send `text` to each of `recipients` (user ids; `who` names them in the log); failures
    are logged, never raised. Returns the `combined_outcome` (SENT when there is nobody)."""
    outcomes: list[DeliveryOutcome] = []
    for recipient in recipients:
        result = await send(bot, recipient, text, **kwargs)
        outcomes.append(result.outcome)
        if result.outcome != DeliveryOutcome.SENT:
            log.warning(
                "notice to %s %s %s: %s", who, recipient, result.outcome.value, result.error
            )
    return combined_outcome(outcomes)


async def send_digest(
    bot: Bot,
    svc: Services,
    chat_id: int,
    parts: list[str],
    *,
    delivery_id: int | None = None,
    start: int = 0,
    thread_id: int | None = None,
    resumable: bool = False,
) -> tuple[DeliveryOutcome, int, str | None]:
    """Send digest parts `start`.. in order to `chat_id` (following recorded group migrations),
    each into the forum topic `thread_id` when given (None: the chat, or a forum's general
    topic).

    Returns the outcome (SENT, or that of the first part not delivered, where it stops), how
    many parts are delivered in all, and the error. With `delivery_id`, each delivered part is
    recorded in the ledger at once, so an interrupted digest resumes at the right part. A
    migration to a supergroup met on the way is recorded, so later sends go to the new id.
    Holds the chat's lock (`Services.chat_lock`) from the first part to the last: another
    digest to the same chat waits, and the two never interleave. A `resumable` one (the
    weekly digest, recorded under `delivery_id`) stops between parts when the application
    is stopping (RETRY: it resumes at the next part after the restart); a /digest goes out
    whole.
    """
    async with svc.chat_lock(chat_id):
        return await _send_parts(bot, svc, chat_id, parts, delivery_id, start, thread_id, resumable)


async def _send_parts(
    bot: Bot,
    svc: Services,
    chat_id: int,
    parts: list[str],
    delivery_id: int | None,
    start: int,
    thread_id: int | None,
    resumable: bool,
) -> tuple[DeliveryOutcome, int, str | None]:
    with svc.db.session() as s:
        target = repo.current_chat_id(s, chat_id=chat_id)
    topic: dict[str, object] = {"message_thread_id": thread_id} if thread_id else {}
    for index in range(start, len(parts)):
        if resumable and delivery_id is not None and index > start and svc.stop_requested():
            log.info(
                "stopping: digest part %d/%d and later resume after the restart",
                index + 1,
                len(parts),
            )
            return DeliveryOutcome.RETRY, index, "stopped before this part"
        result = await _send_part(bot, svc, target, parts[index], topic)
        if result is None:
            log.info("digest part %d/%d: no chart to draw; skipped", index + 1, len(parts))
        elif result.migrated_to is not None:
            with svc.db.session() as s:
                repo.record_chat_migration(
                    s, old_chat_id=target, new_chat_id=result.migrated_to, now=svc.now()
                )
            log.warning("chat %s migrated to %s; recorded", target, result.migrated_to)
            target = result.migrated_to
        if result is not None and result.outcome != DeliveryOutcome.SENT:
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
                    message_id=result.message_id if result is not None else None,
                )
    return DeliveryOutcome.SENT, len(parts), None


CHART_PART = "<chart>"  # a digest part standing for the picture; rendered parts never start so


def chart_part(leave_out: frozenset[int] = frozenset()) -> str:
    """The digest part that stands for the picture (`bot.chart`), drawn when it is sent
    without the active plans in `leave_out`: "<chart>" followed by their ids ("<chart>3,5")."""
    return CHART_PART + ",".join(str(plan_id) for plan_id in sorted(leave_out))


async def _send_part(
    bot: Bot, svc: Services, target: int, part: str, topic: dict[str, object]
) -> SendResult | None:
    """Send one digest part: its HTML text, or for a `chart_part` the picture drawn now (a
    worker thread); None when there is no picture to send (no lead unit, or no CJK font)."""
    if not part.startswith(CHART_PART):
        return await send(bot, target, part, **topic)
    ids = part.removeprefix(CHART_PART)
    leave_out = frozenset(int(plan_id) for plan_id in ids.split(",") if plan_id.isdigit())
    png = await current_digest_chart(svc, leave_out)
    if png is None:
        return None
    caption = texts.CHART_CAPTION.format(date=render.fmt_date(svc.today()))
    return await send_photo(bot, target, png, caption, **topic)


def digest_key(period: str, chat_id: int) -> str:
    """The send ledger key of a weekly digest: "digest:<ISO week>:telegram:<chat id>"."""
    return f"digest:{period}:telegram:{chat_id}"


async def _post_claimed_digest(bot: Bot, svc: Services, post: Delivery) -> DeliveryOutcome:
    parts = repo.delivery_parts(post)
    outcome, sent, error = await send_digest(
        bot,
        svc,
        int(post.destination),
        parts,
        delivery_id=post.id,
        start=post.parts_sent,
        thread_id=svc.settings.telegram.digest_thread_id,
        resumable=True,
    )
    with svc.db.session() as s:
        repo.settle_delivery(
            s, delivery_id=post.id or 0, outcome=outcome, now=svc.now(), error=error
        )
    log.info("weekly digest %s: key=%s parts=%d/%d", outcome.value, post.key, sent, len(parts))
    if outcome in (DeliveryOutcome.FAILED, DeliveryOutcome.UNCERTAIN):
        # not retried (a RETRY resumes by itself): without this nobody would know the
        # committee group missed the week's digest (e.g. the bot was removed from it)
        await tell_coordinators(
            bot,
            svc,
            texts.WEEKLY_DIGEST_FAILED.format(
                sent=sent, total=len(parts), reason=render.esc(error or outcome.value)
            ),
        )
    return outcome


async def post_weekly_digest(bot: Bot, svc: Services, held: frozenset[int] = frozenset()) -> bool:
    """Post this week's digest to the committee group if due and not yet posted; True if sent.
    The plans in `held` (their follow-up is held, `jobs.hold`) get no section; while every
    active plan is held the digest waits.

    In a forum supergroup it goes to the topic `telegram.digest_thread_id`, or to the
    general topic when that is not set.

    The last part is the picture of the lights per lead unit (`chart_part`, drawn when it
    is sent, `bot.chart`), left out when the CJK font is not installed (logged once).

    Claimed per ISO week and chat in the send ledger with its rendered parts, so it is
    posted at most once per week, even across restarts. The digest of a week that fell due
    before the bot's first start (`repo.first_start`) is never posted. A digest stopped by an outage
    (RETRY: the Bot API was not reached) resumes at the first undelivered part a minute
    later; an uncertain or refused part ends it and the coordinators are told (they can
    type /digest once the group is fixed).
    """
    with svc.db.session() as s:
        resumed = repo.claim_retry(s, kind=DeliveryKind.DIGEST, now=svc.now(), channel="telegram")
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
        first_start = repo.first_start(s)
    if digest_before_first_start(period, first_start, svc.digest_schedule, svc.calendar):
        return False  # a week before the bot existed: never caught up
    parts = await current_digest(svc, leave_out=held)
    if not parts:
        return False  # every active plan is held: the digest waits for a decision
    if svc.settings.follow_up.digest_chart and font_path() is not None:  # else text alone
        parts = [*parts, chart_part(held)]
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


@dataclass(frozen=True)
class _Tier:
    """One tier of escalation: who is told (`destination` in the ledger, `recipients` their
    Telegram ids), after how many working days overdue, the case and day ledger keys, and
    the message's header."""

    destination: str
    recipients: list[int]
    after_working_days: int
    case_key: Callable[[TaskView, int], str]
    day_key: Callable[[date], str]
    header: str


async def escalate_overdue(
    bot: Bot,
    svc: Services,
    state: FollowUpState | None = None,
    *,
    held: frozenset[int] = frozenset(),
) -> int:
    """Tell the coordinators, and in a second tier the leaders, about lead units overdue
    beyond each tier's threshold and not done (`jobs.escalation.escalation_cases`), once per
    tier, task, lead unit and deadline, in at most one message a day per tier
    (`jobs.daily.escalation_day`: grouped by unit, the units without a contact on one line).

    The coordinators' tier: `follow_up.escalate_after_working_days`, day key
    "coordinators:<date>", to the coordinators (`bot.access.coordinator_ids`). The leaders'
    tier: `follow_up.escalate_leaders_after_working_days` (0 = off), day key
    "leaders:<date>", to the leaders (`bot.access.leader_ids`). Each tier's day row and the
    rows of its cases are claimed in one transaction before sending and settled together,
    so nothing is repeated; cases found after the day's message wait for the next working
    day. Only during sending hours on working days, and a tier not at all while it has
    nobody to tell: its cases wait. Tasks of the plans in `held` (plan ids whose follow-up
    is held, `jobs.hold`) are left out. Returns the number of cases notified (both tiers).
    """
    now = svc.now()
    if not sending_allowed(now, svc.policy, svc.calendar):
        return 0
    follow_up = svc.settings.follow_up
    tiers = [
        _Tier(
            "coordinators",
            coordinator_ids(svc),
            follow_up.escalate_after_working_days,
            escalation_key,
            coordinators_key,
            texts.ESCALATION_HEADER,
        )
    ]
    if follow_up.escalate_leaders_after_working_days > 0:
        tiers.append(
            _Tier(
                "leaders",
                leader_ids(svc),
                follow_up.escalate_leaders_after_working_days,
                leaders_escalation_key,
                leaders_key,
                texts.ESCALATION_LEADERS_HEADER,
            )
        )
    count = 0
    for tier in tiers:
        if tier.recipients:  # nobody to tell: recording the cases would spend them
            count += await _escalate_tier(bot, svc, state, held, now, tier)
    return count


async def _escalate_tier(
    bot: Bot,
    svc: Services,
    state: FollowUpState | None,
    held: frozenset[int],
    now: datetime,
    tier: _Tier,
) -> int:
    today = now.astimezone(svc.policy.zone).date()
    state, cases = await unsettled(
        svc,
        now,
        state,
        lambda st: [
            case
            for case in escalation_cases(
                today,
                st,
                svc.calendar,
                after_working_days=tier.after_working_days,
                key=tier.case_key,
            )
            if case.task.plan_id not in held
        ],
    )
    day = escalation_day(today, cases, state, key=tier.day_key)
    if day is None:
        return 0
    claimed: list[int] = []
    with svc.db.session() as s:
        day_row = repo.claim_delivery(
            s, key=day.key, kind=DeliveryKind.ESCALATION, destination=tier.destination, now=now
        )
        if day_row is None or day_row.id is None:
            return 0  # the tier had its message today: the cases wait
        taken: set[str] = set()
        for case in day.cases:
            row = repo.claim_delivery(
                s,
                key=case.key,
                kind=DeliveryKind.ESCALATION,
                destination=tier.destination,
                task_id=case.task.id,
                unit_id=case.unit_id,
                now=now,
            )
            if row is not None and row.id is not None:
                claimed.append(row.id)
                taken.add(case.key)
        if not claimed:
            s.rollback()
            return 0
        claimed.append(day_row.id)
    day = escalation_day(today, [c for c in day.cases if c.key in taken], state, key=tier.day_key)
    if day is None:
        return 0
    lines = render.escalation_lines(
        day, state, svc.policy.zone, tier.after_working_days, tier.header
    )
    outcomes = [
        await _tell_each(bot, tier.recipients, part, tier.destination)
        for part in render.split_lines(lines)
    ]
    outcome = combined_outcome(outcomes)
    with svc.db.session() as s:
        for delivery_id in claimed:
            repo.settle_delivery(s, delivery_id=delivery_id, outcome=outcome, now=svc.now())
    log.info(
        "escalated %d overdue task/unit pairs to the %s: %s",
        len(day.cases),
        tier.destination,
        outcome.value,
    )
    return len(day.cases)


CLAIMS_PER_MESSAGE = 20  # claims in one reviewers' message: two buttons each, 40 in all


def claim_key(review_id: int) -> str:
    """The send ledger key of a completion claim sent to its reviewers: "claim:<id>"."""
    return f"claim:{review_id}"


def claim_reviewers(
    svc: Services, session: Session, *, claimed_by: int, unit_name: str | None
) -> Reviewers:
    """The reviewers of a claim by `claimed_by` for the unit `unit_name` (`jobs.review`): the
    coordinators and leaders of the config and those granted in chat, read in `session`;
    the unit is the coordinators' own when it is `follow_up.coordinator_unit`."""
    return _reviewers_with(svc, _role_holders(svc, session), claimed_by, unit_name)


def _role_holders(svc: Services, session: Session) -> tuple[list[int], list[int]]:
    """The coordinators and the leaders, of the config and granted in chat."""
    telegram = svc.settings.telegram
    return (
        [*telegram.coordinators, *repo.holders(session, role=Role.COORDINATOR)],
        [*telegram.leaders, *repo.holders(session, role=Role.LEADER)],
    )


def _reviewers_with(
    svc: Services, holders: tuple[list[int], list[int]], claimed_by: int, unit_name: str | None
) -> Reviewers:
    own = svc.settings.follow_up.coordinator_unit
    coordinators, leaders = holders
    return reviewers_for(claimed_by, coordinators, leaders, own_unit=bool(own) and unit_name == own)


def waiting_cards(svc: Services, session: Session) -> list[tuple[ClaimCard, Reviewers]]:
    """Every claim waiting for review and in force, oldest first, with its reviewers (the
    roles read once for all of them)."""
    waiting = repo.waiting_claims(session)
    if not waiting:
        return []
    holders = _role_holders(svc, session)
    return [
        (card, _reviewers_with(svc, holders, card.claimed_by, card.unit_name))
        for card in repo.claim_cards(session, review_ids=[v.id for v in waiting])
    ]


async def send_claims(bot: Bot, svc: Services) -> int:
    """Send the completion claims waiting for review (办结审核, `jobs.review`) to their
    reviewers, with 销号 / 退回 for each, as the coordinators' one unsolicited message of the
    day ("coordinators:<date>", which escalations and calendar warnings also take): every
    claim not yet sent goes in that one message (in parts of `CLAIMS_PER_MESSAGE`), each
    reviewer getting the claims they review. When the day's message was taken, the claims
    wait for the next working day's. Claimed in the send ledger ("claim:<review id>") with
    the day's row in one transaction before sending, settled together after; in sending
    hours on working days only. Returns the number of claims sent."""
    now = svc.now()
    if not sending_allowed(now, svc.policy, svc.calendar):
        return 0
    today = now.astimezone(svc.policy.zone).date()
    with svc.db.session() as s:
        pairs = waiting_cards(svc, s)
        if not pairs:
            return 0
        cards = [card for card, _ in pairs]
        reviewers = {card.review_id: who for card, who in pairs}
        if not any(r.user_ids for r in reviewers.values()):
            s.rollback()
            return 0  # nobody may review yet (no coordinator): the claims wait
        day_row = repo.claim_delivery(
            s,
            key=coordinators_key(today),
            kind=DeliveryKind.NOTICE,
            destination="coordinators",
            now=now,
        )
        if day_row is None or day_row.id is None:
            return 0  # the coordinators had their message today: the claims wait
        claimed = [day_row.id]
        taken: list[ClaimCard] = []
        for card in cards:
            if not reviewers[card.review_id].user_ids:
                continue  # nobody may review it (no coordinator): it waits for one
            row = repo.claim_delivery(
                s,
                key=claim_key(card.review_id),
                kind=DeliveryKind.NOTICE,
                destination="coordinators",
                task_id=card.task_id,
                unit_id=card.unit_id,
                now=now,
            )
            if row is not None and row.id is not None:
                claimed.append(row.id)
                taken.append(card)
        if not taken:
            s.rollback()
            return 0
        tags = render.plan_tags(repo.read_plans(s))
    by_reviewer: dict[int, list[ClaimCard]] = {}
    for card in taken:
        for user_id in reviewers[card.review_id].user_ids:
            by_reviewer.setdefault(user_id, []).append(card)
    outcomes: list[DeliveryOutcome] = []
    for user_id, mine in by_reviewer.items():
        for start in range(0, len(mine), CLAIMS_PER_MESSAGE):
            part = mine[start : start + CLAIMS_PER_MESSAGE]
            alone = any(reviewers[c.review_id].self_review for c in part)
            text = render.claims_text(part, tags, svc.policy.zone, self_review=alone)
            markup = claims_keyboard([(c.review_id, c.number) for c in part])
            result = await send(bot, user_id, text, reply_markup=markup)
            outcomes.append(result.outcome)
            if result.outcome != DeliveryOutcome.SENT:
                log.warning("claims to reviewer %s %s: %s", user_id, result.outcome, result.error)
    outcome = combined_outcome(outcomes)
    with svc.db.session() as s:
        for delivery_id in claimed:
            repo.settle_delivery(s, delivery_id=delivery_id, outcome=outcome, now=svc.now())
    log.info("sent %d completion claims to their reviewers: %s", len(taken), outcome.value)
    return len(taken)


async def warn_unknown_calendar_years(bot: Bot, svc: Services) -> None:
    """Tell the coordinators once per year (claimed in the send ledger) that the holiday
    data lacks a year; probing 30 days ahead makes the warning come a month early. Waits
    while no coordinator is configured (a restart with one probes again), and for the next
    day when the coordinators had their message of the day ("coordinators:<date>", which
    the warning also takes). Like any message of the day, it goes out only on a working day
    in sending hours."""
    if not coordinator_ids(svc):
        return
    if not sending_allowed(svc.now(), svc.policy, svc.calendar):
        return
    today = svc.now().astimezone(svc.policy.zone).date()
    svc.calendar.is_working_day(today + timedelta(days=30))
    while svc.unknown_calendar_years:
        year = svc.unknown_calendar_years.pop(0)
        with svc.db.session() as s:
            if repo.key_claimed(s, key=coordinators_key(today)):
                svc.unknown_calendar_years.insert(0, year)
                return  # the coordinators had their message today: tomorrow
            row = repo.claim_delivery(
                s,
                key=f"notice:calendar:{year}",
                kind=DeliveryKind.NOTICE,
                destination="coordinators",
                now=svc.now(),
            )
            day_row = (
                repo.claim_delivery(
                    s,
                    key=coordinators_key(today),
                    kind=DeliveryKind.NOTICE,
                    destination="coordinators",
                    now=svc.now(),
                )
                if row is not None
                else None
            )
            claimed = [r.id for r in (row, day_row) if r is not None and r.id is not None]
        if not claimed:
            continue
        outcome = await tell_coordinators(bot, svc, texts.CALENDAR_UNKNOWN_YEAR.format(year=year))
        with svc.db.session() as s:
            for claimed_id in claimed:
                repo.settle_delivery(s, delivery_id=claimed_id, outcome=outcome, now=svc.now())


DEADLINE_NOTICE_PREFIX = "deadline:"


async def send_queued_notices(bot: Bot, svc: Services, *, at_once: bool = False) -> int:
    """Send the notices queued in the send ledger (`repo.queue_notice`, keys starting with
    "deadline:": a contact told of new deadlines), each once; in sending hours on working
    days unless `at_once` (a coordinator's confirmation in chat, which they need at once).
    A send that certainly failed is retried with the ledger's backoff. Returns how many
    were sent."""
    if not at_once and not sending_allowed(svc.now(), svc.policy, svc.calendar):
        return 0
    sent = 0
    while True:
        with svc.db.session() as s:
            row = repo.claim_retry(
                s, kind=DeliveryKind.NOTICE, now=svc.now(), key_prefix=DEADLINE_NOTICE_PREFIX
            )
            claimed = (row.id or 0, row.destination, row.body, row.contact_id) if row else None
        if claimed is None:
            return sent
        delivery_id, destination, body, contact_id = claimed
        parts = json.loads(body or "[]")
        result = await send(bot, int(destination), parts[0] if parts else "", rate_limit_args=BULK)
        with svc.db.session() as s:
            repo.settle_delivery(
                s,
                delivery_id=delivery_id,
                outcome=result.outcome,
                now=svc.now(),
                message_id=result.message_id,
                error=result.error,
            )
        log.info("notice %s: delivery=%s contact=%s", result.outcome.value, delivery_id, contact_id)
        if result.outcome == DeliveryOutcome.SENT:
            sent += 1
        if result.api_unreachable:
            return sent


def _open_holds(svc: Services, state: FollowUpState | None) -> dict[int, int | None]:
    """The open holds, hold id to plan id; with `state` (just read), the plans are checked on
    it first, so a hold whose cause is gone (new deadlines, reports) is lifted."""
    with svc.db.session() as s:
        if state is not None:
            repo.check_plans(
                s,
                now=svc.now(),
                calendar=svc.calendar,
                zone=svc.settings.schedule.zone,
                state=state,
                lift_only=True,
            )
        return {hold.id or 0: hold.plan_id for hold in repo.open_holds(s)}


async def tell_hold(bot: Bot, svc: Services, hold_id: int) -> bool:
    """Tell the coordinators once (ledger key "notice:hold:<id>") that the follow-up is held
    (`jobs.hold`): what the check found and what they can do, with the 发送积压提醒 / 不再发送
    buttons. Sent at once, at any hour (it answers a start or a reload); waits while no
    coordinator is configured. Returns True when it was sent now."""
    if not coordinator_ids(svc):
        return False
    key = f"notice:hold:{hold_id}"
    with svc.db.session() as s:
        if repo.key_claimed(s, key=key):
            return False
        hold = repo.get_hold(s, hold_id=hold_id)
        if hold is None:
            return False
        text = render.hold_notice_of(hold, repo.plan_of_hold(s, hold=hold))
        row = repo.claim_delivery(
            s,
            key=key,
            kind=DeliveryKind.NOTICE,
            destination="coordinators",
            now=svc.now(),
        )
        claimed_id = row.id if row is not None else None
    if claimed_id is None:
        return False
    outcome = await tell_coordinators(bot, svc, text, reply_markup=hold_keyboard(hold_id))
    with svc.db.session() as s:
        repo.settle_delivery(s, delivery_id=claimed_id, outcome=outcome, now=svc.now())
    log.info("held follow-up %d told to the coordinators: %s", hold_id, outcome.value)
    return outcome == DeliveryOutcome.SENT


async def follow_up(bot: Bot, svc: Services) -> None:
    """Send the queued notices (new deadlines), then each contact's message of the day (due
    reminders and the reporting-cycle nudge), then the weekly digest if due, then the
    coordinators' escalations, completion claims (`send_claims`) and calendar warnings;
    skip if a run is still going. Only the
    tasks of active plans are followed up (`FollowUpState.followed_up`). While a plan's
    follow-up is held (`jobs.hold`, `repo.open_holds`), the coordinators are told once, no
    overdue reminder or escalation about its tasks goes out, and the weekly digest leaves it
    out (and waits while every active plan is held); in
    sending hours the plans are checked again on the state read, which lifts a hold whose
    cause is gone (new deadlines, reports).
    Each step reads what it needs from the database afresh; in sending hours the tick reads
    the state once (in a worker thread) for the messages of the day and the escalations, and
    reads it again for the latter only when messages went out meanwhile (which takes time: at
    29 messages per second, 1,000 take half a minute). A tick that comes while the previous
    one still runs is skipped; a run of skips is logged once when it starts and once, with
    their number, when the long tick ends."""
    if svc.tick_lock.locked():
        svc.ticks_skipped += 1
        if svc.ticks_skipped == 1:
            log.info(
                "follow-up tick skipped: the previous one still runs "
                "(the next skips are counted, not logged, until it ends)"
            )
        return
    try:
        async with svc.tick_lock:
            await _follow_up(bot, svc)
    finally:
        if svc.ticks_skipped:
            log.info("follow-up tick ended; %d ticks skipped meanwhile", svc.ticks_skipped)
            svc.ticks_skipped = 0


async def _follow_up(bot: Bot, svc: Services) -> None:
    state = None
    if sending_allowed(svc.now(), svc.policy, svc.calendar):
        state = (await read_state(svc)).followed_up()
    holds = await in_worker(svc, _open_holds, svc, state)
    held = frozenset(plan_id or 0 for plan_id in holds.values())
    for hold_id in holds:
        await tell_hold(bot, svc, hold_id)
    # new deadlines first: a contact reads that they changed before the day's reminders
    # that already count from them
    await send_queued_notices(bot, svc)
    if svc.stop_requested():
        return
    if await send_reminders(bot, svc, state, held=held):
        state = None
    from bot.webhooks import post_weekly_webhook_digests  # it builds on this module

    steps = (
        lambda: remind_coordination_items(bot, svc),
        lambda: post_weekly_digest(bot, svc, held),
        lambda: post_weekly_webhook_digests(
            svc, held, bot=bot, chart=lambda: current_digest_chart(svc, held)
        ),
        lambda: escalate_overdue(bot, svc, state, held=held),
        lambda: send_claims(bot, svc),
        lambda: warn_unknown_calendar_years(bot, svc),
    )
    for step in steps:
        if svc.stop_requested():
            return  # stopping: the next start's first tick does the rest
        await step()


async def tick(context: BotContext) -> None:
    """The repeating JobQueue callback: one follow-up run."""
    await follow_up(context.bot, context.svc)


async def remind_coordination_items(bot: Bot, svc: Services) -> int:
    """Remind the contacts of each unit assigned an open coordination item (协调事项) every
    `follow_up.coordination_reminder_working_days` working days after the item was assigned
    or last reminded (`jobs.coordination.reminder_due`; 0: never), as their message of the
    day: a contact whose message of the day ("daily:<contact>:<date>") is already claimed
    (task reminders go first in the tick) gets the items the next working day. Several items
    go out as one message each, under the one ledger row of the day. Only in sending hours
    on working days; returns how many contacts were reminded. An item counts as reminded
    (`CoordinationItem.reminded_on`) once one contact got it."""
    every = svc.settings.follow_up.coordination_reminder_working_days
    now = svc.now()
    if every < 1 or not sending_allowed(now, svc.policy, svc.calendar):
        return 0
    zone = svc.policy.zone
    today = now.astimezone(zone).date()
    by_contact: dict[int, tuple[Contact, list[int]]] = {}
    with svc.db.session() as s:
        views = {v.id: v for v in repo.coordination.item_views(s, zone=zone)}
        for item in repo.coordination.assigned_open_items(s):
            assigned = item.assigned_at.astimezone(zone).date() if item.assigned_at else today
            since = item.reminded_on or assigned
            if item.id not in views or item.assigned_unit_id is None:
                continue
            if not reminder_due(since=since, today=today, every=every, calendar=svc.calendar):
                continue
            for contact in repo.contacts_of_unit(s, unit_id=item.assigned_unit_id):
                if contact.id is not None and contact.unreachable_at is None:
                    by_contact.setdefault(contact.id, (contact, []))[1].append(item.id)
    reminded: set[int] = set()
    contacts_reminded = 0
    for contact, item_ids in by_contact.values():
        if svc.stop_requested():
            break
        with svc.db.session() as s:
            row = repo.claim_delivery(
                s,
                key=daily_key(contact.id or 0, today),
                kind=DeliveryKind.REMINDER,
                destination=str(contact.chat_id),
                contact_id=contact.id,
                now=now,
            )
            row_id = row.id if row is not None else None
        if row_id is None:
            continue  # the contact had a message today: the items wait for the next day
        first: SendResult | None = None
        for item_id in item_ids:
            view = views[item_id]
            text = render.item_text(
                texts.COORD_REMINDER, view, days=days_open(view.opened_on, today)
            )
            result = await send(
                bot,
                contact.chat_id,
                text,
                reply_markup=item_marker("r", item_id),
                rate_limit_args=BULK,
            )
            first = first or result
            if result.outcome != DeliveryOutcome.SENT:
                break
            reminded.add(item_id)
        assert first is not None  # every contact has at least one item
        with svc.db.session() as s:
            repo.settle_delivery(
                s,
                delivery_id=row_id,
                outcome=first.outcome,
                now=svc.now(),
                message_id=first.message_id,
                error=first.error,
            )
        log.info(
            "coordination reminder %s: contact=%s items=%s",
            first.outcome.value,
            contact.id,
            item_ids,
        )
        contacts_reminded += first.outcome == DeliveryOutcome.SENT
    if reminded:
        with svc.db.session() as s:
            repo.coordination.mark_reminded(s, item_ids=sorted(reminded), on=today)
    return contacts_reminded

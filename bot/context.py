"""Typed context for handlers: `context.svc` instead of string keys in `bot_data`.

`Services` holds the resources built in `post_init` (database, policy, calendar, clock);
`UserData` holds a contact's draft status report while the conversation runs.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import Application, CallbackContext, ExtBot
from telegram.request import BaseRequest

from bot.config import Settings
from db.engine import Database
from db.repo.evidence import NewEvidence
from jobs.calendar import WorkingCalendar
from jobs.lights import LightPolicy
from jobs.policy import DigestSchedule, ReminderPolicy
from jobs.types import Status

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Return the current instant, aware UTC."""
    return datetime.now(UTC)


@dataclass
class Services:
    """Everything handlers and jobs need, created in `post_init`, closed in `post_shutdown`."""

    settings: Settings
    db: Database
    clock: Clock
    calendar: WorkingCalendar
    policy: ReminderPolicy
    digest_schedule: DigestSchedule
    lights: LightPolicy
    tick_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    ticks_skipped: int = 0  # ticks skipped while the current one runs (for one log line)
    invite_guard: InviteGuard = field(default_factory=lambda: InviteGuard())
    # years the calendar library had no data for, filled by the calendar, drained by the tick
    unknown_calendar_years: list[int] = field(default_factory=list)
    # True once the application is stopping (SIGTERM): fan-outs claim nothing more
    stop_requested: Callable[[], bool] = lambda: False
    # one lock per chat id, held while the parts of one multi-part message go out
    chat_locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    # one rate limiter per group robot webhook (`bot.webhooks`), by its fingerprint
    webhook_limiters: dict[str, AsyncLimiter] = field(default_factory=dict)

    def now(self) -> datetime:
        """Return the current instant from the injected clock (aware UTC)."""
        return self.clock()

    def today(self) -> date:
        """Return today's date in the configured zone (`policy.zone`)."""
        return self.now().astimezone(self.policy.zone).date()

    def chat_lock(self, chat_id: int) -> asyncio.Lock:
        """The lock of `chat_id`: whoever sends a multi-part message there (the weekly digest,
        a /digest) holds it from the first part to the last, so that two such messages never
        interleave their parts. A lock orders sends of this process; it holds no state of the
        follow-up."""
        lock = self.chat_locks.get(chat_id)
        if lock is None:
            lock = self.chat_locks[chat_id] = asyncio.Lock()
        return lock


class InviteGuard:
    """Slows down guessing of invite codes: after `limit` wrong codes from one user within
    `window`, that user's attempts are refused until the oldest failure leaves the window.

    Kept in memory: a restart forgives, which is acceptable since codes carry 96 random bits.
    """

    def __init__(self, *, limit: int = 5, window: timedelta = timedelta(hours=1)) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[int, deque[datetime]] = {}

    def _recent(self, user_id: int, now: datetime) -> deque[datetime]:
        failures = self._failures.setdefault(user_id, deque())
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        return failures

    def blocked(self, user_id: int, now: datetime) -> bool:
        """Tell whether `user_id` has used up its wrong guesses for now."""
        return len(self._recent(user_id, now)) >= self.limit

    def failed(self, user_id: int, now: datetime) -> int:
        """Record a wrong code; return how many wrong codes are in the window."""
        failures = self._recent(user_id, now)
        failures.append(now)
        return len(failures)


class BotData:
    """`context.bot_data`: holds the `Services` once `post_init` has built them, and the
    Bot API transports (`bot.transport`) from `build_application` on, so that they can be
    closed when the application could not start (python-telegram-bot closes them only after
    a successful start)."""

    def __init__(self) -> None:
        self.services: Services | None = None
        self.transports: tuple[BaseRequest, ...] = ()


@dataclass
class Draft:
    """A status report being composed in the conversation (task and unit by id)."""

    task_id: int
    task_number: int
    task_text: str
    unit_id: int
    unit_name: str
    contact_id: int
    nonce: str = ""  # carried by this draft's buttons: "ok:<nonce>" etc.
    status: Status | None = None
    note: str = ""
    note_message_id: int | None = None
    # evidence files received and kept (`bot.evidence.keep`), in the order sent
    files: list[NewEvidence] = field(default_factory=list)
    # a correction's evidence carried over from the corrected report (until replaced)
    kept: list[NewEvidence] = field(default_factory=list)
    confirming: bool = False
    corrects_id: int | None = None  # the report this one corrects
    corrects_receipt_id: int | None = None  # message id of the receipt of that report
    deadline: date | None = None  # the task's deadline when an extension was asked for
    requested_deadline: date | None = None  # an extension request's new date
    # the task's plan as messages name it (HTML 【简称】) when several plans are active, else ""
    task_plan: str = ""
    # the yearly milestone the report closes (完成年度目标), its id and text
    milestone_id: int | None = None
    milestone_text: str = ""


@dataclass(frozen=True)
class DeadlineBatch:
    """A coordinator's bulk deadline change awaiting 确认修改 (`bot.deadline_view`): the nonce
    its buttons carry, each task previewed as (number, deadline the preview showed: a change
    made since, e.g. by another coordinator, makes the preview stale), the new deadline (a
    date in the configured zone), the reason typed (None if none) and the plan whose tasks
    these are (None: the default plan, `repo.default_plan_id`)."""

    nonce: str
    seen: tuple[tuple[int, date], ...]
    new: date
    reason: str | None
    plan_id: int | None = None

    @property
    def numbers(self) -> list[int]:
        """The task numbers previewed, in preview order."""
        return [number for number, _ in self.seen]


@dataclass(frozen=True)
class UnitChangeDraft:
    """A coordinator's rename or merge of units awaiting 确认 (`bot.unit_change`): the nonce
    its buttons carry, the kind ("rename" or "merge"), the unit's id and the name the preview
    showed, and the new name (rename) or the id and name of the unit merged into (merge). A
    name that changed since the preview makes it stale."""

    nonce: str
    kind: str
    unit_id: int
    unit_name: str
    target: str
    target_id: int | None = None


@dataclass(frozen=True)
class BackfillDraft:
    """A coordinator's past record (补录) awaiting 确认补录 (`bot.backfill_view`): the nonce
    its buttons carry, the task (id, 序号, plan id), the unit, the status, the note, the
    local date it happened and the evidence files kept with it (already in the evidence
    folder; dropped when the preview is cancelled)."""

    nonce: str
    task_id: int
    number: int
    plan_id: int
    unit_id: int
    unit_name: str
    status: Status
    note: str
    occurred_on: date
    files: tuple[NewEvidence, ...] = ()


@dataclass(frozen=True)
class PlanCloseDraft:
    """A coordinator's close of a plan awaiting a button (`bot.plan_close`): the nonce its
    buttons carry, the plan, the plan its unfinished tasks would be carried into (None: no
    other active plan) and the ids of the tasks the preview would carry; `asking_deadline`
    once 关闭并结转 was pressed, with the target plan's period end offered as the deadline."""

    nonce: str
    plan_id: int
    into_plan_id: int | None
    carry_ids: tuple[int, ...]
    asking_deadline: bool = False
    period_end: date | None = None


class UserData:
    """`context.user_data`: the user's current draft, if a conversation is running, a
    coordinator's deadline change awaiting confirmation (lost on restart: its buttons then
    say so), and the latest text of the user's messages edited before a note was stored from
    them (message id: text; `bot.replies.remember_edit`, lost on restart)."""

    def __init__(self) -> None:
        self.draft: Draft | None = None
        self.deadline_batch: DeadlineBatch | None = None
        self.unit_change: UnitChangeDraft | None = None
        self.backfill: BackfillDraft | None = None
        self.plan_close: PlanCloseDraft | None = None
        self.edited_notes: dict[int, str] = {}


class BotContext(CallbackContext[ExtBot[None], UserData, dict[Any, Any], BotData]):
    """The context type of every handler and job of this bot."""

    @property
    def svc(self) -> Services:
        """The bot's services; raises `RuntimeError` before `post_init` has run."""
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services used before post_init built them")
        return services

    @property
    def draft_store(self) -> UserData:
        """The user's data; raises `RuntimeError` for updates without a user."""
        if self.user_data is None:
            raise RuntimeError("no user data for this update")
        return self.user_data


BotApplication = Application[ExtBot[None], BotContext, UserData, dict[Any, Any], BotData, Any]

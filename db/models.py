"""SQLModel tables of the follow-up bot.

Names follow the glossary in DESIGN.md: a `Task` (重点任务, its 序号 is `Task.number`) is assigned
to units (`Unit`, 单位) through `Assignment` rows whose role is lead (牵头单位) or responsible
(责任单位). A `Contact` (联络员) is a Telegram user bound to one unit. `StatusReport` (进展反馈) is
what a contact says about a task; `Progress` where each unit stands on each task;
`Delivery` the send ledger of everything the bot sends on its own (reminders, 督办/催办, weekly
digests, escalations, nudges); `AuditEvent` the trail of changes.

All instants are timezone-aware UTC (`UTCDateTime`); deadlines and due dates are plain dates in
the configured zone (default Asia/Shanghai). This module never imports `telegram`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Field, SQLModel

from jobs.types import (
    AssignmentRole,
    DeadlineBasis,
    DeliveryKind,
    DeliveryOutcome,
    ExtensionStatus,
    HoldDecision,
    IndicatorAttribute,
    IndicatorKind,
    PlanStatus,
    ReviewDecision,
    Rhythm,
    Status,
)


class UTCDateTime(TypeDecorator[datetime]):
    """A DateTime column that only accepts aware datetimes and always returns aware UTC ones.

    SQLite has no time zone support and returns naive values; PostgreSQL `timestamptz` returns
    aware values in the session zone. Both come back as UTC-aware here, so instants round-trip
    exactly on either database. Binding a naive datetime raises `ValueError`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given; instants must be timezone-aware")
        value = value.astimezone(UTC)
        if getattr(dialect, "name", "") == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_column(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    """Return a fresh `UTCDateTime` column definition for a SQLModel field."""
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Plan(SQLModel, table=True):
    """A plan document (规划, 年度工作要点) whose task-division table the tasks come from.

    `document_number` (文号) identifies it: loading a task file updates the plan with the same
    文号, or adds a new one. `short_name` (简称, e.g. 十四五) is how people name it in commands
    and how messages tell plans apart; `period_start`..`period_end` its period (local dates,
    both included); `status` "active" or "closed" (`PlanStatus`): a closed plan's reports stay
    readable, but it is no longer followed up.
    """

    id: int | None = Field(default=None, primary_key=True)
    title: str
    document_number: str = Field(unique=True, index=True, max_length=100)
    short_name: str = Field(default="", max_length=30)
    issued_on: date
    period_start: date
    period_end: date
    status: PlanStatus = PlanStatus.ACTIVE
    closed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    closed_by: int | None = Field(default=None, sa_type=BigInteger)  # Telegram id, 0: console
    # 报送频次: how often lead units report, by the day of the month `rhythm_day` (1-28);
    # None: the configured monthly cycle (`follow_up.cycle_day`)
    rhythm: Rhythm | None = None
    rhythm_day: int | None = None


class UnitAlias(SQLModel, table=True):
    """Another name of a unit (机构改革: its former name, or a unit merged into it), recognised
    wherever a unit is named (task files, imports, the console) and kept in its history."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=100)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    created_at: datetime = Field(sa_column=utc_column())


class Unit(SQLModel, table=True):
    """A unit (单位) named in the appendix, e.g. 区残联; `is_collective` marks 各镇街 / 有关镇街.

    A member town or sub-district of a collective unit (config `collective_units`) is a unit
    of its own with `parent_id` pointing at the collective one.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=100)
    is_collective: bool = False
    parent_id: int | None = Field(default=None, foreign_key="unit.id")


class Task(SQLModel, table=True):
    """A key task (重点任务) of plan `plan_id`. `number` is its 序号 in the plan's table (1..30 in
    the shipped plan), unique within the plan: two plans may both have a task 5.

    `deadline` is the deadline in force, a date in the configured zone; `original_deadline`
    (原定期限) the one the task file gave it, kept when the deadline moves. `deadline_basis`
    says where the deadline in force comes from (`DeadlineBasis`: the plan, a coordinator's
    change, an approved extension). `deadline_by_coordinator` is set when a coordinator
    changed it (directly or by approving an extension); reloading the task file then leaves
    the deadline alone. Every change is in the audit trail with who and why.
    """

    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_task_plan_number"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    number: int
    text: str
    deadline: date
    original_deadline: date
    deadline_basis: DeadlineBasis = DeadlineBasis.PLAN
    deadline_by_coordinator: bool = False
    responsible_units_note: str | None = None  # the cell's wording where names lose meaning
    # 结转: the unfinished task of an earlier plan this one carries over (its reports stay there)
    carried_from_id: int | None = Field(default=None, foreign_key="task.id", index=True)


class Assignment(SQLModel, table=True):
    """A unit named on a task, as lead or responsible unit; `position` keeps document order."""

    __table_args__ = (UniqueConstraint("task_id", "unit_id", "role", name="uq_assignment"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: AssignmentRole
    position: int = 0


class Contact(SQLModel, table=True):
    """A Telegram user bound to one unit (联络员). A user is a contact of at most one unit.

    `chat_id` is the private chat the bot writes to (equal to the user id for private chats).
    `unreachable_reason` is set when Telegram refused delivery (blocked bot, chat not found).
    `removed_at`/`removed_by` (Telegram user id of the coordinator) mark a contact a
    coordinator removed: the row stays so that reports keep their reporter's name, but the
    bot no longer writes to it or takes anything from it; a new invite reactivates it.
    """

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_type=BigInteger, unique=True, index=True)
    chat_id: int = Field(sa_type=BigInteger)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    display_name: str = ""
    username: str | None = None
    created_at: datetime = Field(sa_column=utc_column())
    unreachable_reason: str | None = None
    unreachable_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    removed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    removed_by: int | None = Field(default=None, sa_type=BigInteger)


class Invite(SQLModel, table=True):
    """A one-time invite code that binds whoever redeems it to `unit_id` as a contact."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=64)
    unit_id: int = Field(foreign_key="unit.id")
    created_by: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    used_by: int | None = Field(default=None, sa_type=BigInteger)
    used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class StatusReport(SQLModel, table=True):
    """A status report (进展反馈) on one task by one unit.

    `status` is None for a note-only report (a plain text reply to a reminder). Evidence is a
    Telegram file reference (`evidence_kind` is "photo" or "document"). `reporter_user_id` is the
    Telegram user who sent it; `contact_id` the contact row at that time. A report entered by a
    coordinator for a unit that answered by phone has `source` "coordinator" and `entered_by`
    set. A correction has `corrects_id` pointing at the report it replaces; the earlier one
    stays in the history. A past record a coordinator entered (补录) has `source` "backfill",
    `entered_by` set and `occurred_on` the local date it happened.
    """

    # one unit's history on one task, newest first without sorting: the digest's "status
    # before the period" looks up the newest older report of each pair of the period's
    # reports (`repo.load_period`), one index step each (migration 0004)
    __table_args__ = (Index("ix_statusreport_pair", "task_id", "unit_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    reporter_user_id: int = Field(sa_type=BigInteger)
    status: Status | None = None
    note: str = ""
    evidence_kind: str | None = None
    evidence_file_id: str | None = None
    evidence_file_name: str | None = None
    source: str = "conversation"  # conversation | reply | coordinator
    entered_by: int | None = Field(default=None, sa_type=BigInteger)  # coordinator, on behalf
    corrects_id: int | None = Field(default=None, foreign_key="statusreport.id")
    # the chat message whose text this report stores ("tg:<chat>:<message>"): a note is
    # stored once from one message, however often its buttons are pressed or it is delivered
    origin: str | None = Field(default=None, max_length=64, unique=True, index=True)
    created_at: datetime = Field(sa_column=utc_column(index=True))
    # a past record (补录, source "backfill"): the local date it happened, which may lie long
    # before `created_at` (when it was entered); None for a report made at `created_at`
    occurred_on: date | None = None


class EvidenceFile(SQLModel, table=True):
    """One evidence file (佐证材料) of a status report, kept by the bot.

    `kind` is "photo", "document" or "voice"; `stored_path` the file's path relative to the
    evidence folder (`db.files.EvidenceStore`), None when it could not be kept; `sha256` the
    hex digest of its bytes; `telegram_file_id` / `telegram_file_unique_id` Telegram's
    reference, valid while Telegram keeps the file. A correction that keeps the earlier
    evidence gets rows of its own pointing at the same stored file. `deleted_at` is set when
    the retention setting removed the stored file (the row stays, for the ledger).
    """

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="statusreport.id", index=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    position: int = 0
    kind: str = Field(max_length=20)
    file_name: str = Field(max_length=255)
    caption: str | None = None
    mime_type: str | None = Field(default=None, max_length=255)
    size: int = Field(default=0, sa_type=BigInteger)
    sha256: str = Field(max_length=64)
    stored_path: str | None = Field(default=None, max_length=500)
    telegram_file_id: str | None = Field(default=None, max_length=255)
    telegram_file_unique_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(sa_column=utc_column())
    deleted_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class Progress(SQLModel, table=True):
    """Where one unit stands on one task: its newest report, and its newest one with a status.

    One row per (task, unit) that has reported at all, written by `repo.add_report` in the
    transaction that stores the report, so reading the current state of every task is one
    indexed query without an aggregate over the report history. `status` is that of
    `status_report_id` (None while the unit sent only notes); "newest" is by report id, as
    reports are only ever added. Migration 0005 fills it for databases made before it.
    """

    __table_args__ = (UniqueConstraint("task_id", "unit_id", name="uq_progress_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    status: Status | None = None
    status_report_id: int | None = Field(default=None, foreign_key="statusreport.id")
    last_report_id: int = Field(foreign_key="statusreport.id")


class Delivery(SQLModel, table=True):
    """The send ledger: one row per message (or multi-part post) the bot sends on its own.

    `key` is unique and names what is sent by database ids, e.g.
    "reminder:<task id>:<unit id>:<contact id>:<occasion kind>:<occasion date>",
    "digest:<ISO week>:<channel>:<destination>", "escalation:<task id>:<unit id>:<deadline>",
    "nudge:<contact id>:<cycle start>", and per message of the day (`jobs.daily`)
    "daily:<contact id>:<date>" and "coordinators:<date>", claimed in one transaction with
    the rows of the items the message carries; a row is claimed (inserted PENDING and committed)
    before the send and settled after it, so a second tick, a restart or a second process
    can never send it again (`DeliveryOutcome`). `channel` is "telegram" today; `destination`
    is the channel's address (a Telegram chat id as text). `task_id`, `unit_id`, `contact_id`
    say what a reminder or escalation is about, so a reply to it reaches the right task.
    A multi-part post keeps its rendered `body` (JSON list of parts) and `parts_sent`, so an
    interrupted one resumes at the next part; `message_id` is the last message delivered.
    """

    __table_args__ = (
        Index("ix_delivery_message", "channel", "destination", "message_id"),
        Index("ix_delivery_pair", "task_id", "unit_id"),
        # the tick's `repo.claim_retry` looks for the few RETRY rows among all the others
        Index("ix_delivery_due", "outcome", "kind", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True, max_length=200)
    kind: DeliveryKind
    channel: str = Field(default="telegram", max_length=20)
    destination: str = Field(max_length=200)
    task_id: int | None = Field(default=None, foreign_key="task.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    outcome: DeliveryOutcome = DeliveryOutcome.PENDING
    error: str | None = None
    attempts: int = 1
    next_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    body: str = "[]"  # the rendered parts (JSON list of strings) of a multi-part post
    parts_sent: int = 0
    created_at: datetime = Field(sa_column=utc_column())
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class ExtensionRequest(SQLModel, table=True):
    """A lead unit's request (申请延期) to move a deadline, and the coordinator's decision."""

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    requested_by: int = Field(sa_type=BigInteger)
    current_deadline: date
    requested_deadline: date
    reason: str
    status: ExtensionStatus = ExtensionStatus.PENDING
    decided_by: int | None = Field(default=None, sa_type=BigInteger)
    decided_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(sa_column=utc_column())
    decision_note: str | None = None  # the reason a coordinator typed when rejecting


class CompletionReview(SQLModel, table=True):
    """The review (办结审核) of a lead unit's completion claim: its 已完成 report
    `claim_report_id` on (`task_id`, `unit_id`), and the decision on it.

    `decision` is None while the claim waits (待审核), then accepted (销号) or returned (退回,
    with `reason`); `decided_by` the Telegram user id of the reviewer (None when nobody
    reviewed: review is off, or the claim predates review and was accepted at migration,
    `at_migration`); `decided_at` aware UTC; `self_accepted` when the claimant accepted
    their own claim for want of another reviewer. One row per claim report.
    """

    # the state read looks up a pair's reviews by its claim report (`repo.load_state`)
    __table_args__ = (Index("ix_completionreview_pair", "task_id", "unit_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id")
    unit_id: int = Field(foreign_key="unit.id")
    claim_report_id: int = Field(foreign_key="statusreport.id", unique=True)
    claimed_by: int = Field(sa_type=BigInteger)
    claimed_at: datetime = Field(sa_column=utc_column())
    decision: ReviewDecision | None = None
    reason: str | None = None
    decided_by: int | None = Field(default=None, sa_type=BigInteger)
    decided_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    self_accepted: bool = False
    at_migration: bool = False


class ChatMigration(SQLModel, table=True):
    """A group that Telegram upgraded to a supergroup: messages for `old_chat_id` go to the new.

    Recorded when a send answers ChatMigrated (`migrate_to_chat_id`), so the configured
    `digest_chat_id` keeps working without a config change.
    """

    id: int | None = Field(default=None, primary_key=True)
    old_chat_id: int = Field(sa_type=BigInteger, unique=True)
    new_chat_id: int = Field(sa_type=BigInteger)
    at: datetime = Field(sa_column=utc_column())


class AuditEvent(SQLModel, table=True):
    """Who (Telegram user id, or 0 for the system) changed what, when, with before and after,
    and why (`reason`, as the person typed it or as the bot states it; None when not given)."""

    id: int | None = Field(default=None, primary_key=True)
    actor_user_id: int = Field(sa_type=BigInteger)
    action: str = Field(max_length=50)
    subject: str = Field(max_length=200)
    before: str | None = None
    after: str | None = None
    reason: str | None = None
    at: datetime = Field(sa_column=utc_column(index=True))


class RoleGrant(SQLModel, table=True):
    """A role granted in chat by a coordinator to a Telegram user: `role` is "coordinator"
    or "leader" (`jobs.types.Role`). Active while `revoked_at` is None; revoking keeps the
    row (who granted and revoked it, when). The config's coordinators are not stored here.
    """

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_type=BigInteger, index=True)
    role: str = Field(max_length=20)
    display_name: str = ""
    granted_by: int = Field(sa_type=BigInteger)
    granted_at: datetime = Field(sa_column=utc_column())
    revoked_by: int | None = Field(default=None, sa_type=BigInteger)
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class Setting(SQLModel, table=True):
    """A value the bot keeps about itself under a name, e.g. "first_start": the instant
    (ISO 8601, UTC) the bot first started on this database."""

    key: str = Field(primary_key=True, max_length=50)
    value: str = Field(max_length=200)


class FollowUpHold(SQLModel, table=True):
    """A held follow-up (`jobs.hold`): what the check of the plan found, and the decision.

    `period_end` is the plan's last day when found; `open_pairs`, `late_pairs` and
    `overdue_pairs` count the open (task, lead unit) pairs, those past their deadline and
    those overdue beyond `overdue_working_days` working days. Undecided while `decision` is
    None; `decided_by` is the coordinator's Telegram user id (0 for the bot itself, when a
    reloaded plan no longer needs the hold).
    """

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int | None = Field(default=None, foreign_key="plan.id", index=True)
    found_at: datetime = Field(sa_column=utc_column())
    found_on: date
    period_end: date
    open_pairs: int
    late_pairs: int
    overdue_pairs: int
    overdue_working_days: int
    decision: HoldDecision | None = None
    decided_by: int | None = Field(default=None, sa_type=BigInteger)
    decided_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class Milestone(SQLModel, table=True):
    """A task's yearly milestone (年度目标): what is due by `due_on` (a local date). Closed by
    the report that says so (`closed_by_report_id`), on that report's date (`closed_on`)."""

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    due_on: date
    text: str
    closed_by_report_id: int | None = Field(default=None, foreign_key="statusreport.id")
    closed_on: date | None = None


class Indicator(SQLModel, table=True):
    """A plan's main indicator (主要指标, 专栏1): its 序号, name, measure (%, 人), target as the
    document writes it (`target_text`: ＞90, 100, 与全区地区生产总值增长基本同步) and, for a
    number, the comparison (">", ">=", "<", "<=", "=") and value; None for a text target
    that needs judgement. `kind` says whether the target is a level reached in a year or a
    total over the period; `attribute` 约束性 or 预期性; `owner_unit_id` the unit that reports
    it (set by a coordinator)."""

    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_indicator_plan_number"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    number: int
    name: str
    measure: str = Field(default="", max_length=20)
    target_text: str
    comparison: str | None = Field(default=None, max_length=2)
    target_value: float | None = None
    kind: IndicatorKind = IndicatorKind.LEVEL
    attribute: IndicatorAttribute = IndicatorAttribute.EXPECTED
    owner_unit_id: int | None = Field(default=None, foreign_key="unit.id")


class IndicatorValue(SQLModel, table=True):
    """A value of an indicator for a year, with its source (数据来源); a later value for the
    same year supersedes an earlier one (the newest by id counts), which stays in the
    history. `entered_by` is the Telegram id of who recorded it (0: the console)."""

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    year: int
    value: float
    source: str = ""
    entered_by: int = Field(default=0, sa_type=BigInteger)
    entered_at: datetime = Field(sa_column=utc_column())


class CoordinationItem(SQLModel, table=True):
    """A coordination item (协调事项): what unit `raised_by_unit_id` needs to move task
    `task_id` on, opened by its 遇到困难 report `report_id` (`need`: that report's note, with
    later 遇到困难 notes, the raising unit's details and the assigned unit's notes appended,
    one labelled line each). At most one open item
    per (task, raising unit). A coordinator may assign it to another unit
    (`assigned_unit_id`, `assigned_at`, `assigned_by`: Telegram id), ask the raising unit for
    more detail (`detail_requested_at`) and close it with a note (`closed_at`, `closed_by`,
    `closing_note`). `status` is "open" or "closed"; `due_on` an optional local date;
    `reminded_on` the local date the assigned unit's contacts were last reminded."""

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    raised_by_unit_id: int = Field(foreign_key="unit.id")
    report_id: int | None = Field(default=None, foreign_key="statusreport.id")
    need: str
    status: str = Field(default="open", max_length=10, index=True)
    assigned_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    assigned_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    assigned_by: int | None = Field(default=None, sa_type=BigInteger)
    due_on: date | None = None
    detail_requested_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    closed_by: int | None = Field(default=None, sa_type=BigInteger)
    closing_note: str | None = None
    created_at: datetime = Field(sa_column=utc_column())
    reminded_on: date | None = None

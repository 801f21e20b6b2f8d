"""The follow-up domain's vocabulary: the enums shared by the policy, the storage and the bot.

Plain `enum.StrEnum`s whose values are the strings stored in the database columns (`db.models`)
and in ledger keys; this module imports nothing of the project and nothing of SQL or Telegram.
"""

from __future__ import annotations

import enum


class AssignmentRole(enum.StrEnum):
    """How a unit is named on a task in the appendix 重点任务分工."""

    LEAD = "lead"  # 牵头单位
    RESPONSIBLE = "responsible"  # 责任单位


class Status(enum.StrEnum):
    """The status a lead unit reports for a task (DESIGN.md, "Status values")."""

    NOT_STARTED = "not_started"  # 未开始
    IN_PROGRESS = "in_progress"  # 推进中
    DONE = "done"  # 已完成
    BLOCKED = "blocked"  # 遇到困难


class ReviewDecision(enum.StrEnum):
    """A coordinator's (or leader's) decision on a lead unit's completion claim (办结审核)."""

    ACCEPTED = "accepted"  # 销号
    RETURNED = "returned"  # 退回


class ReminderKind(enum.StrEnum):
    """Which occasion a reminder belongs to."""

    BEFORE = "before"  # N days before the deadline
    DUE = "due"  # on the deadline day
    OVERDUE = "overdue"  # every N days after the deadline


class DeliveryOutcome(enum.StrEnum):
    """What is known about a send recorded in a ledger.

    `PENDING` is written (and committed) before the Bot API call; a row still pending after a
    crash means the process died mid-send, so delivery is unknown: it becomes `UNCERTAIN` and is
    never resent automatically (at-most-once delivery). `RETRY` marks a send that certainly did
    not reach Telegram (connection refused, 5xx, 429 after retries); it is claimed again once
    `next_attempt_at` has passed. `DROPPED` is never sent: what a held follow-up had due when a
    coordinator chose to drop it (`jobs.hold`).
    """

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    RETRY = "retry"  # certainly not delivered (API unreachable, 5xx): retried after backoff
    DROPPED = "dropped"  # never sent: a coordinator dropped the held backlog (`jobs.hold`)


class ExtensionStatus(enum.StrEnum):
    """Where an extension request (申请延期) stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class DeadlineBasis(enum.StrEnum):
    """Where a task's deadline in force comes from."""

    PLAN = "plan"  # the task file (the plan's appendix, or the copy the coordinator edited)
    COORDINATOR = "coordinator"  # a coordinator set it (/deadline, taskbot deadline)
    EXTENSION = "extension"  # a coordinator approved a lead unit's extension request (申请延期)


class DeliveryKind(enum.StrEnum):
    """What the bot sends on its own, as recorded in the send ledger (`Delivery`)."""

    REMINDER = "reminder"  # 督办提醒 of one task to one contact
    DIGEST = "digest"  # the weekly digest to the committee group
    ESCALATION = "escalation"  # a long-overdue lead unit named to the coordinators
    NUDGE = "nudge"  # a contact silent in a reporting cycle
    NOTICE = "notice"  # a one-time notice to the coordinators (e.g. calendar data missing)
    ON_DEMAND = "on_demand"  # a digest a coordinator asked for with /digest, in that chat


class HoldDecision(enum.StrEnum):
    """A coordinator's decision on a held follow-up (`jobs.hold`)."""

    SEND = "send"  # what was held goes out, once each
    DROP = "drop"  # what was held is settled as dropped and never goes out


class PlanStatus(enum.StrEnum):
    """Whether a plan is followed up (ACTIVE) or closed: its reports stay readable, and no
    reminder, escalation or digest section is about it."""

    ACTIVE = "active"
    CLOSED = "closed"


class Rhythm(enum.StrEnum):
    """How often a plan's lead units report (报送频次), on the plan's rhythm day."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"


class IndicatorKind(enum.StrEnum):
    """What an indicator's target is measured on: a level reached in a year (e.g. a
    coverage rate), or a total accumulated over the plan's period (e.g. people trained)."""

    LEVEL = "level"
    CUMULATIVE = "cumulative"


class IndicatorAttribute(enum.StrEnum):
    """An indicator's 指标属性: 约束性 (binding) or 预期性 (expected)."""

    BINDING = "binding"  # 约束性
    EXPECTED = "expected"  # 预期性


class Role(enum.StrEnum):
    """A role granted in chat (`RoleGrant.role`): a coordinator (协调员) or a leader (分管领导),
    who reads what coordinators read and changes nothing."""

    COORDINATOR = "coordinator"
    LEADER = "leader"

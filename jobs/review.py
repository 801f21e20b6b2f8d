"""The review of a lead unit's completion claim (办结审核): its 已完成 is a claim that a
reviewer accepts (销号) or returns (退回, with a reason; the unit is back to 推进中).

Pure: who reviews a claim, and a pair's review state as the follow-up state reads it
(`jobs.state.FollowUpState.review_state`). Instants are aware UTC.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from jobs.types import ReviewDecision


class ReviewState(enum.StrEnum):
    """Where a (task, lead unit) stands in the review of completion."""

    OPEN = "open"  # no claim in force: not reported 已完成 (or returned and re-reported)
    CLAIMED = "claimed"  # 待审核: reported 已完成, waiting for a reviewer
    ACCEPTED = "accepted"  # 已销号: done
    RETURNED = "returned"  # 已退回: a reviewer returned the claim; the unit is 推进中 again


@dataclass(frozen=True, slots=True)
class ReviewView:
    """The review of one claim: the 已完成 report `claim_report_id` of (task, unit); `decision`
    None while it waits; `decided_at` aware UTC; `decided_by` a Telegram user id (None when
    nobody reviewed: review off, or accepted at migration)."""

    id: int
    task_id: int
    unit_id: int
    claim_report_id: int
    claimed_at: datetime
    decision: ReviewDecision | None = None
    reason: str | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None
    self_accepted: bool = False
    at_migration: bool = False


@dataclass(frozen=True, slots=True)
class Reviewers:
    """Who may decide a claim (Telegram user ids) and whether that is the claimant alone
    (`self_review`: no other reviewer; the audit says so)."""

    user_ids: tuple[int, ...]
    self_review: bool = False


def reviewers_for(
    claimant_user_id: int,
    coordinators: Iterable[int],
    leaders: Iterable[int],
    *,
    own_unit: bool,
) -> Reviewers:
    """The reviewers of a claim by `claimant_user_id`.

    A claim of any unit but the coordinators' own (`own_unit` False) goes to the
    coordinators. A claim of their own unit (区残联) goes to the leaders when any are
    configured, else to the coordinators. Nobody reviews their own claim while someone else
    can: the claimant is left out, and reviews alone (`self_review`, audited) only when they
    are the one coordinator there is. Empty when nobody may review.
    """
    coordinator_ids = tuple(dict.fromkeys(coordinators))
    leader_ids = tuple(dict.fromkeys(leaders))
    if own_unit and leader_ids:
        others = tuple(u for u in leader_ids if u != claimant_user_id)
        if others:
            return Reviewers(others)
    others = tuple(c for c in coordinator_ids if c != claimant_user_id)
    if others:
        return Reviewers(others)
    if claimant_user_id in coordinator_ids:
        return Reviewers((claimant_user_id,), self_review=True)
    return Reviewers(())

"""Completion review (办结审核): a lead unit's 已完成 as a claim, accepted (销号) or returned
(退回) by a reviewer (`jobs.review`).

Functions take the `Session` first and keyword-only data; they flush but never commit: the
caller owns the transaction (`Database.session()`). Instants are aware UTC datetimes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from db.models import CompletionReview, Contact, Progress, StatusReport, Task, Unit
from db.repo.audit import record_audit
from db.repo.reports import add_report
from jobs.review import ReviewView
from jobs.types import ReviewDecision, Status

RETURN_SOURCE = "return"  # `StatusReport.source` of the 推进中 a return stores
# the audit reasons of acceptances nobody else decided (migration 0017 writes the first)
AT_MIGRATION = "accepted at migration (reported before completion review)"
SELF_ACCEPTED = "self-accepted, no other reviewer"
REVIEW_OFF = "completion review is off"
BY_COORDINATOR = "entered by a coordinator"


def _subject(task_id: int, unit_id: int) -> str:
    return f"task_id:{task_id}:unit_id:{unit_id}"


def open_claim(
    session: Session,
    *,
    report: StatusReport,
    now: datetime,
    review: bool,
    accepted_by: int | None = None,
) -> CompletionReview:
    """Record the 已完成 `report` (stored, with an id) as a completion claim.

    With `review` it waits for a reviewer (待审核); without, it is accepted at once by
    `accepted_by` (None: nobody, review is off), audited "review.accepted".
    """
    assert report.id is not None and report.status is Status.DONE
    row = CompletionReview(
        task_id=report.task_id,
        unit_id=report.unit_id,
        claim_report_id=report.id,
        claimed_by=report.reporter_user_id,
        claimed_at=report.created_at,
    )
    if not review:
        row.decision = ReviewDecision.ACCEPTED
        row.decided_by = accepted_by
        row.decided_at = now
    session.add(row)
    session.flush()
    if not review:
        record_audit(
            session,
            actor_user_id=accepted_by or 0,
            action="review.accepted",
            subject=_subject(report.task_id, report.unit_id),
            before=None,
            after=ReviewDecision.ACCEPTED.value,
            reason=BY_COORDINATOR if accepted_by else REVIEW_OFF,
            now=now,
        )
    return row


class Outcome(enum.StrEnum):
    """What became of a decision on a claim (`decide_claim`)."""

    DECIDED = "decided"
    ALREADY_DECIDED = "already_decided"  # by this or another reviewer, earlier
    SUPERSEDED = "superseded"  # the unit reported again since: the claim is not in force
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Decided:
    """The outcome of `decide_claim` and the review row as it stands after it (None when
    unknown)."""

    outcome: Outcome
    review: CompletionReview | None


def get_review(session: Session, *, review_id: int) -> CompletionReview | None:
    """The review row `review_id`, or None."""
    return session.get(CompletionReview, review_id)


def claim_in_force(session: Session, *, review: CompletionReview) -> bool:
    """True when the review's claim is still its pair's status in force (no newer status)."""
    progress = session.exec(
        select(Progress).where(
            Progress.task_id == review.task_id, Progress.unit_id == review.unit_id
        )
    ).first()
    return progress is not None and progress.status_report_id == review.claim_report_id


def decide_claim(
    session: Session,
    *,
    review_id: int,
    accept: bool,
    decided_by: int,
    now: datetime,
    reason: str | None = None,
    self_accepted: bool = False,
) -> Decided:
    """Accept (销号) or return (退回, with `reason`) a waiting claim, once.

    The conditional update makes the first decision the only one. A claim whose pair
    reported a newer status is SUPERSEDED and left undecided. A return also stores a
    推进中 report (source "return", the reason as its note, entered by the reviewer), so the
    unit's status in force is 推进中 and reminders resume. Audited either way.
    """
    review = session.get(CompletionReview, review_id)
    if review is None:
        return Decided(Outcome.UNKNOWN, None)
    if review.decision is not None:
        return Decided(Outcome.ALREADY_DECIDED, review)
    if not claim_in_force(session, review=review):
        return Decided(Outcome.SUPERSEDED, review)
    decision = ReviewDecision.ACCEPTED if accept else ReviewDecision.RETURNED
    done = session.execute(
        update(CompletionReview)
        .where(col(CompletionReview.id) == review_id, col(CompletionReview.decision).is_(None))
        .values(
            decision=decision,
            decided_by=decided_by,
            decided_at=now,
            reason=reason,
            self_accepted=self_accepted and accept,
        )
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", done).rowcount != 1:
        session.refresh(review)
        return Decided(Outcome.ALREADY_DECIDED, review)
    session.refresh(review)
    record_audit(
        session,
        actor_user_id=decided_by,
        action=f"review.{decision.value}",
        subject=_subject(review.task_id, review.unit_id),
        before="claimed",
        after=decision.value,
        reason=(reason if not accept else (SELF_ACCEPTED if self_accepted else None)),
        now=now,
    )
    if not accept:
        add_report(
            session,
            task_id=review.task_id,
            unit_id=review.unit_id,
            contact_id=None,
            reporter_user_id=decided_by,
            status=Status.IN_PROGRESS,
            note=reason or "",
            now=now,
            source=RETURN_SOURCE,
            entered_by=decided_by,
        )
    return Decided(Outcome.DECIDED, review)


def _view(row: CompletionReview) -> ReviewView:
    return ReviewView(
        id=row.id or 0,
        task_id=row.task_id,
        unit_id=row.unit_id,
        claim_report_id=row.claim_report_id,
        claimed_at=row.claimed_at,
        decision=row.decision,
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        self_accepted=row.self_accepted,
        at_migration=row.at_migration,
    )


def latest_reviews(session: Session) -> dict[tuple[int, int], ReviewView]:
    """The review of each (task id, unit id)'s newest claim, one statement (index
    `ix_completionreview_pair`); a pair that never claimed is absent.

    This is the read for statistics too: per pair, `claimed_at` (the claim's instant),
    `decision` (None while waiting) and `decided_at`, all aware UTC.
    """
    found: dict[tuple[int, int], ReviewView] = {}
    for row in session.exec(select(CompletionReview).order_by(col(CompletionReview.id))):
        found[(row.task_id, row.unit_id)] = _view(row)
    return found


def waiting_claims(session: Session) -> list[ReviewView]:
    """Every claim still waiting for a reviewer and in force, oldest first."""
    rows = session.exec(
        select(CompletionReview)
        .join(
            Progress,
            (col(Progress.task_id) == col(CompletionReview.task_id))
            & (col(Progress.unit_id) == col(CompletionReview.unit_id))
            & (col(Progress.status_report_id) == col(CompletionReview.claim_report_id)),
        )
        .where(col(CompletionReview.decision).is_(None))
        .order_by(col(CompletionReview.id))
    )
    return [_view(row) for row in rows]


@dataclass(frozen=True, slots=True)
class ClaimCard:
    """What a reviewer reads of a waiting claim: its review id, task (id, 序号, plan id,
    text), unit (id, name), the claimant (Telegram user id, contact name or ""), the claim's
    note and instant (aware UTC)."""

    review_id: int
    task_id: int
    number: int
    plan_id: int
    text: str
    unit_id: int
    unit_name: str
    claimed_by: int
    claimant_name: str
    note: str
    claimed_at: datetime


def claim_cards(session: Session, *, review_ids: list[int]) -> list[ClaimCard]:
    """The cards of the claims `review_ids` (unknown ids left out), in task order."""
    if not review_ids:
        return []
    rows = session.exec(
        select(CompletionReview, Task, Unit, StatusReport)
        .join(Task, col(Task.id) == col(CompletionReview.task_id))
        .join(Unit, col(Unit.id) == col(CompletionReview.unit_id))
        .join(StatusReport, col(StatusReport.id) == col(CompletionReview.claim_report_id))
        .where(col(CompletionReview.id).in_(review_ids))
        .order_by(col(Task.plan_id), col(Task.number), col(CompletionReview.id))
    ).all()
    names = {
        c.telegram_user_id: c.display_name
        for c in session.exec(
            select(Contact).where(
                col(Contact.telegram_user_id).in_([r[0].claimed_by for r in rows])
            )
        )
    }
    return [
        ClaimCard(
            review_id=review.id or 0,
            task_id=task.id or 0,
            number=task.number,
            plan_id=task.plan_id,
            text=task.text,
            unit_id=unit.id or 0,
            unit_name=unit.name,
            claimed_by=review.claimed_by,
            claimant_name=names.get(review.claimed_by, ""),
            note=report.note,
            claimed_at=review.claimed_at,
        )
        for review, task, unit, report in rows
    ]

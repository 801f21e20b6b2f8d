"""Completion review (办结审核) in storage: migration 0017 marks every 已完成 stored before it
as accepted (audited); a claim is decided once; a return stores a 推进中; a superseded claim
cannot be decided."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from db import repo
from db.engine import Database
from db.models import Assignment, AuditEvent, CompletionReview, StatusReport
from db.seed import load_plan, read_task_file
from jobs.review import ReviewState
from jobs.types import AssignmentRole, ReviewDecision, Status
from tests.storage.test_migrations import _upgraded_to

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
COORDINATOR = 1001


def _report(s: Session, task_id: int, unit_id: int, status: Status, at: datetime) -> StatusReport:
    return repo.add_report(
        s,
        task_id=task_id,
        unit_id=unit_id,
        contact_id=None,
        reporter_user_id=7,
        status=status,
        note="说明",
        now=at,
    )


def _pairs(s: Session) -> list[tuple[int, int]]:
    """Two (task id, lead unit id) pairs of the shipped plan, on different tasks."""
    leads = s.exec(
        select(Assignment).where(Assignment.role == AssignmentRole.LEAD).order_by(Assignment.id)
    ).all()
    first = leads[0]
    second = next(a for a in leads if a.task_id != first.task_id)
    return [(first.task_id, first.unit_id), (second.task_id, second.unit_id)]


def _claimed(database: Database) -> tuple[int, int, int]:
    """Upgrade `database`, load the shipped plan and store a waiting claim of the first
    pair (`_pairs`); return (task id, unit id, review id)."""
    database.upgrade()
    with database.session() as s:
        load_plan(s, read_task_file(), now=NOW)
    with database.session() as s:
        [(task_id, unit_id), _] = _pairs(s)
        claim = _report(s, task_id, unit_id, Status.DONE, NOW)
        return task_id, unit_id, repo.open_claim(s, report=claim, now=NOW, review=True).id or 0


def test_migration_0017_accepts_the_done_reports_stored_before_it(database_url: str) -> None:
    database = Database(database_url)
    _upgraded_to(database, "0016")
    try:
        with database.session() as s:
            load_plan(s, read_task_file(), now=NOW)
        with database.session() as s:
            (done_task, done_unit), (open_task, open_unit) = _pairs(s)
            _report(s, done_task, done_unit, Status.IN_PROGRESS, NOW - timedelta(days=9))
            _report(s, done_task, done_unit, Status.DONE, NOW - timedelta(days=5))
            _report(s, open_task, open_unit, Status.DONE, NOW - timedelta(days=4))
            _report(s, open_task, open_unit, Status.IN_PROGRESS, NOW - timedelta(days=3))
        database.upgrade()
        with database.session() as s:
            [row] = s.exec(select(CompletionReview)).all()
            assert (row.task_id, row.unit_id, row.decision, row.at_migration) == (
                done_task,
                done_unit,
                ReviewDecision.ACCEPTED,
                True,
            )
            assert row.decided_at == NOW - timedelta(days=5) and row.decided_by is None
            events = s.exec(select(AuditEvent).where(AuditEvent.action == "review.accepted"))
            [event] = events.all()
            assert event.subject == f"task_id:{done_task}:unit_id:{done_unit}"
            assert event.reason is not None and "accepted at migration" in event.reason
            state = repo.load_state(s)
            assert state.review_state(done_task, done_unit) is ReviewState.ACCEPTED
            assert state.review_state(open_task, open_unit) is ReviewState.OPEN
            assert repo.latest_reviews(s)[(done_task, done_unit)].decided_at == row.decided_at
    finally:
        database.dispose()


def test_a_claim_is_decided_once_and_a_return_stores_in_progress(database_url: str) -> None:
    database = Database(database_url)
    try:
        task_id, unit_id, review_id = _claimed(database)
        with database.session() as s:
            assert repo.load_state(s).review_state(task_id, unit_id) is ReviewState.CLAIMED
            assert [v.id for v in repo.waiting_claims(s)] == [review_id]
            later = NOW + timedelta(hours=1)
            decided = repo.decide_claim(
                s, review_id=review_id, accept=False, decided_by=COORDINATOR, now=later,
                reason="缺材料",
            )  # fmt: skip
            assert decided.outcome is repo.Outcome.DECIDED
        with database.session() as s:
            again = repo.decide_claim(
                s, review_id=review_id, accept=True, decided_by=COORDINATOR, now=NOW
            )
            assert again.outcome is repo.Outcome.ALREADY_DECIDED
            state = repo.load_state(s)
            assert state.review_state(task_id, unit_id) is ReviewState.RETURNED
            assert state.unit_status(task_id, unit_id) is Status.IN_PROGRESS
            back = state.latest_status[(task_id, unit_id)]
            assert back.note == "缺材料"
            stored = s.get(StatusReport, back.id)
            assert stored is not None and (stored.source, stored.entered_by) == (
                "return",
                COORDINATOR,
            )
            assert repo.waiting_claims(s) == []
            assert (
                repo.decide_claim(
                    s, review_id=999, accept=True, decided_by=COORDINATOR, now=NOW
                ).outcome
                is repo.Outcome.UNKNOWN
            )
    finally:
        database.dispose()


def test_a_superseded_claim_is_not_decided_and_review_off_accepts_at_once(
    database_url: str,
) -> None:
    database = Database(database_url)
    database.upgrade()
    try:
        with database.session() as s:
            load_plan(s, read_task_file(), now=NOW)
        with database.session() as s:
            [(task_id, unit_id), (other_task, other_unit)] = _pairs(s)
            claim = _report(s, task_id, unit_id, Status.DONE, NOW)
            review_id = repo.open_claim(s, report=claim, now=NOW, review=True).id or 0
            _report(s, task_id, unit_id, Status.BLOCKED, NOW + timedelta(minutes=5))
            outcome = repo.decide_claim(
                s, review_id=review_id, accept=True, decided_by=COORDINATOR, now=NOW
            ).outcome
            assert outcome is repo.Outcome.SUPERSEDED
            assert s.get(CompletionReview, review_id).decision is None  # type: ignore[union-attr]
            off = _report(s, other_task, other_unit, Status.DONE, NOW)
            row = repo.open_claim(s, report=off, now=NOW, review=False)
            assert (row.decision, row.decided_by) == (ReviewDecision.ACCEPTED, None)
        with database.session() as s:
            state = repo.load_state(s)
            assert state.unit_done(other_task, other_unit)
            assert not state.unit_claimed(task_id, unit_id)
    finally:
        database.dispose()


def test_a_merged_units_claims_move_with_it(database_url: str) -> None:
    from db.models import Unit

    database = Database(database_url)
    try:
        task_id, unit_id, review_id = _claimed(database)
        with database.session() as s:
            units = s.exec(select(Unit).where(Unit.is_collective == False)).all()  # noqa: E712
            shared = {
                a.unit_id
                for a in s.exec(select(Assignment))
                if a.task_id
                in {x.task_id for x in s.exec(select(Assignment)) if x.unit_id == unit_id}
            }
            into = next(
                u.id
                for u in units
                if u.id not in shared
                and not s.exec(select(Unit).where(Unit.parent_id == u.id)).first()
            )
        with database.session() as s:
            repo.merge_unit(s, unit_id=unit_id, into_unit_id=into or 0, actor_user_id=1, now=NOW)
        with database.session() as s:
            moved = s.get(CompletionReview, review_id)
            assert moved is not None and moved.unit_id == into
            assert repo.load_state(s).review_state(task_id, into or 0) is ReviewState.CLAIMED
    finally:
        database.dispose()


def test_statistics_count_a_claim_accepted_only_once_a_reviewer_accepts_it(
    database_url: str,
) -> None:
    """`repo.completions` (the statistics' read): a waiting claim is claimed, not accepted;
    accepted on the local day of the 销号; a return counts one and leaves the pair open."""
    database = Database(database_url)
    zone = ZoneInfo("Asia/Shanghai")
    try:
        task_id, unit_id, review_id = _claimed(database)
        with database.session() as s:
            plan_id = repo.read_plans(s)[0].id
            waiting = repo.completions(s, plan_id=plan_id, zone=zone)[(task_id, unit_id)]
            assert (waiting.claimed_on, waiting.accepted_on) == (NOW.date(), None)
            two_days = NOW + timedelta(days=2)
            repo.decide_claim(
                s, review_id=review_id, accept=True, decided_by=COORDINATOR, now=two_days
            )
        with database.session() as s:
            accepted = repo.completions(s, plan_id=plan_id, zone=zone)[(task_id, unit_id)]
            assert (accepted.claimed_on, accepted.accepted_on) == (NOW.date(), two_days.date())
            # the second pair: claimed, then returned
            [_, (task_2, unit_2)] = _pairs(s)
            claim = _report(s, task_2, unit_2, Status.DONE, NOW)
            second = repo.open_claim(s, report=claim, now=NOW, review=True).id or 0
            repo.decide_claim(
                s, review_id=second, accept=False, decided_by=COORDINATOR, now=two_days,
                reason="缺材料",
            )  # fmt: skip
        with database.session() as s:
            returned = repo.completions(s, plan_id=plan_id, zone=zone)[(task_2, unit_2)]
            assert (returned.claimed_on, returned.accepted_on, returned.returns) == (None, None, 1)
    finally:
        database.dispose()

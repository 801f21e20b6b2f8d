"""Completion review (办结审核) in the pure domain: who reviews a claim, and a (task, unit)'s
review state as lights, digest and reminders read it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from jobs.review import ReviewState, ReviewView, reviewers_for
from jobs.state import FollowUpState, ReportView, TaskView, UnitView
from jobs.types import ReviewDecision, Status

T = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
TASK = TaskView(1, 1, "任务", date(2026, 12, 31), lead_unit_ids=(10, 20))


def report(rid: int, unit: int, status: Status, at: datetime = T) -> ReportView:
    return ReportView(rid, 1, unit, status, "", at)


def review(
    unit: int, claim: int, decision: ReviewDecision | None, at: datetime | None = None
) -> ReviewView:
    return ReviewView(
        id=claim, task_id=1, unit_id=unit, claim_report_id=claim, claimed_at=T,
        decision=decision, reason="缺材料" if decision is ReviewDecision.RETURNED else None,
        decided_at=at,
    )  # fmt: skip


def state(reports: list[ReportView], reviews: list[ReviewView]) -> FollowUpState:
    return FollowUpState(
        tasks=(TASK,),
        units={10: UnitView(10, "区民政局"), 20: UnitView(20, "区财政局")},
        contacts=(),
        latest_status={(1, r.unit_id): r for r in reports},
        latest_report={(1, r.unit_id): r for r in reports},
        reviews={(1, v.unit_id): v for v in reviews},
    )


def test_a_waiting_claim_is_claimed_but_not_done() -> None:
    s = state([report(5, 10, Status.DONE)], [review(10, 5, None)])
    assert s.review_state(1, 10) is ReviewState.CLAIMED
    assert s.unit_claimed(1, 10) and not s.unit_done(1, 10)


def test_a_done_without_review_counts_as_accepted() -> None:
    s = state([report(5, 10, Status.DONE)], [])
    assert s.review_state(1, 10) is ReviewState.ACCEPTED and s.unit_done(1, 10)


def test_the_task_is_done_only_when_every_lead_units_claim_is_accepted() -> None:
    both = [report(5, 10, Status.DONE), report(6, 20, Status.DONE)]
    waiting = state(both, [review(10, 5, ReviewDecision.ACCEPTED, T), review(20, 6, None)])
    assert waiting.task_status(TASK) is Status.IN_PROGRESS
    accepted = state(
        both,
        [review(10, 5, ReviewDecision.ACCEPTED, T), review(20, 6, ReviewDecision.ACCEPTED, T)],
    )
    assert accepted.task_status(TASK) is Status.DONE


def test_a_return_is_shown_until_the_unit_reports_again() -> None:
    # the return stored a 推进中 at the decision's instant
    returned = state(
        [report(7, 10, Status.IN_PROGRESS, LATER)], [review(10, 5, ReviewDecision.RETURNED, LATER)]
    )
    assert returned.review_state(1, 10) is ReviewState.RETURNED
    assert not returned.unit_claimed(1, 10) and not returned.unit_done(1, 10)
    later = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    moved_on = state(
        [report(8, 10, Status.BLOCKED, later)], [review(10, 5, ReviewDecision.RETURNED, LATER)]
    )
    assert moved_on.review_state(1, 10) is ReviewState.OPEN


def test_a_newer_claim_than_the_reviewed_one_counts_as_accepted_only_without_its_own_row() -> None:
    s = state([report(9, 10, Status.DONE)], [review(10, 9, None)])
    assert s.review_state(1, 10) is ReviewState.CLAIMED
    s = state([report(9, 10, Status.DONE)], [review(10, 5, ReviewDecision.RETURNED, T)])
    assert s.review_state(1, 10) is ReviewState.ACCEPTED


def test_reviewers_of_another_units_claim_are_the_coordinators() -> None:
    assert reviewers_for(7, [1, 2], [], own_unit=False).user_ids == (1, 2)
    # a coordinator who is also another unit's contact does not review their own claim
    assert reviewers_for(1, [1, 2], [9], own_unit=False).user_ids == (2,)
    alone = reviewers_for(1, [1], [], own_unit=False)
    assert alone.user_ids == (1,) and alone.self_review


def test_reviewers_of_the_coordinators_own_unit() -> None:
    assert reviewers_for(1, [1, 2], [9], own_unit=True).user_ids == (9,)  # a leader
    assert reviewers_for(1, [1, 2], [], own_unit=True).user_ids == (2,)  # another coordinator
    alone = reviewers_for(1, [1], [], own_unit=True)
    assert alone.user_ids == (1,) and alone.self_review  # the claimant, audited so
    nobody = reviewers_for(7, [], [], own_unit=True)
    assert nobody.user_ids == () and not nobody.self_review
    contact = reviewers_for(7, [1], [], own_unit=True)  # a contact, not a coordinator
    assert contact.user_ids == (1,) and not contact.self_review


def test_the_digest_lists_waiting_claims_and_does_not_count_them_done() -> None:
    from zoneinfo import ZoneInfo

    from bot.render import claimed_line
    from jobs.digest import build_digest

    s = state(
        [report(5, 10, Status.DONE), report(6, 20, Status.DONE)],
        [review(10, 5, None), review(20, 6, ReviewDecision.ACCEPTED, T)],
    )
    digest = build_digest(LATER, s, zone=ZoneInfo("Asia/Shanghai"), since=T)
    assert digest.claimed == ((1, "区民政局"),)
    assert digest.counts[Status.DONE] == 0 and digest.counts[Status.IN_PROGRESS] == 1
    assert claimed_line(digest.claimed) == (
        "📝 待审核 1 项：第1项（区民政局）（审核人发送 /review 销号或退回）"
    )
    many = claimed_line([(n, "区民政局") for n in range(1, 11)])
    assert many.count("第") == 8 and "等（" in many and "待审核 10 项" in many


def test_the_evaluation_counts_a_claim_waiting_for_review_as_not_done() -> None:
    from jobs.evaluation import ReportRecord as Rec
    from jobs.evaluation import TaskRecord, evaluate
    from tests.policy.test_evaluation import PLAN

    task = TaskRecord(1, "任务", date(2023, 12, 31), date(2023, 12, 31), ("区民政局",))
    claimed = Rec(1, 1, "区民政局", Status.DONE, "", date(2023, 6, 1), awaiting_review=True)
    ev = evaluate(PLAN, [task], [claimed], as_of=date(2026, 1, 10))
    [outcome] = ev.tasks
    assert outcome.status is Status.IN_PROGRESS and ev.completion.done == 0
    assert outcome.units[0].claimed_on == date(2023, 6, 1)
    accepted = Rec(1, 1, "区民政局", Status.DONE, "", date(2023, 6, 1))
    ev = evaluate(PLAN, [task], [accepted], as_of=date(2026, 1, 10))
    assert ev.tasks[0].done and ev.completion.done == 1 and ev.tasks[0].units[0].claimed_on is None

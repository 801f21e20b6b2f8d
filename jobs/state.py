"""Plain, immutable snapshots of the follow-up state, read from the database in one go.

The reminder policy and the digest builder in `jobs/` take a `FollowUpState` and never touch the
database or Telegram, so they can be tested at fixed instants with hand-made states.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from jobs.plans import PlanView, newest_first, plans_named
from jobs.review import ReviewState, ReviewView
from jobs.types import ReviewDecision, Status


@dataclass(frozen=True, slots=True)
class UnitView:
    """A unit: `id`, document `name`, whether it is a collective (各镇街 / 有关镇街), and for a
    member town or sub-district, the id of its collective unit (`parent_id`)."""

    id: int
    name: str
    is_collective: bool = False
    parent_id: int | None = None


@dataclass(frozen=True, slots=True)
class ContactView:
    """A contact (联络员) of `unit_id`, written to in private chat `chat_id`."""

    id: int
    unit_id: int
    telegram_user_id: int
    chat_id: int
    display_name: str
    unreachable_reason: str | None = None
    registered_at: datetime | None = None  # aware UTC


@dataclass(frozen=True, slots=True)
class MilestoneView:
    """A task's yearly milestone (年度目标): due by local date `due_on`; `closed_on` the local
    date of the report that closed it, None while open."""

    id: int
    due_on: date
    text: str
    closed_on: date | None = None

    @property
    def open(self) -> bool:
        """True until a report closed it."""
        return self.closed_on is None


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task of plan `plan_id` with its deadline (a date in the configured zone) and unit ids
    in document order; `number` is its 序号 within the plan; `milestones` its yearly
    milestones by due date."""

    id: int
    number: int
    text: str
    deadline: date
    lead_unit_ids: tuple[int, ...]
    responsible_unit_ids: tuple[int, ...] = ()
    plan_id: int = 0
    milestones: tuple[MilestoneView, ...] = ()

    def next_milestone(self) -> MilestoneView | None:
        """The earliest open milestone due before the deadline (an overdue one included), or
        None: the one reminders and lights follow besides the deadline."""
        for milestone in self.milestones:
            if milestone.open and milestone.due_on < self.deadline:
                return milestone
        return None

    def target(self) -> date:
        """The nearer of the next open milestone's due date and the deadline."""
        milestone = self.next_milestone()
        return milestone.due_on if milestone is not None else self.deadline


@dataclass(frozen=True, slots=True)
class ReportView:
    """A stored status report; `status` is None for a note-only report; `created_at` is UTC;
    `corrects_id` is the id of the report this one corrects (修改这条反馈), if any;
    `occurred_on` the local date a past record (补录) happened, None for a live report."""

    id: int
    task_id: int
    unit_id: int
    status: Status | None
    note: str
    created_at: datetime
    reporter_name: str = ""
    evidence_kind: str | None = None
    corrects_id: int | None = None
    occurred_on: date | None = None


@dataclass(frozen=True)
class PeriodReports:
    """The reports of a digest's period, which starts at an instant `since` (aware UTC).

    `recent` are the reports created at or after `since`, oldest first; `status_before` maps
    each (task id, unit id) among them to the status of its newest report with a status
    created before `since` (a pair with none is absent: it had not started). For a pair
    without reports in the period that status is its latest, so the digest needs no more.
    """

    recent: tuple[ReportView, ...] = ()
    status_before: dict[tuple[int, int], Status] = field(default_factory=dict)


@dataclass(frozen=True)
class FollowUpState:
    """Everything the policy and the digest need, as of one read.

    `latest_status` maps (task id, unit id) to the newest report carrying a status;
    `latest_report` to the newest report of any kind (a note-only reply included).
    `recent_reports` and `status_before` are a digest period's (`PeriodReports`), empty as
    `repo.load_state` reads the state; `with_period` fills them. `plans` maps plan id to
    plan; `plan_title` is the title of the plan a digest is about (`for_plan`).
    `reviews` maps (task id, unit id) to the review of its newest completion claim
    (`jobs.review`); a 已完成 without a review row counts as accepted.
    """

    tasks: tuple[TaskView, ...]
    units: dict[int, UnitView]
    contacts: tuple[ContactView, ...]
    latest_status: dict[tuple[int, int], ReportView] = field(default_factory=dict)
    latest_report: dict[tuple[int, int], ReportView] = field(default_factory=dict)
    recent_reports: tuple[ReportView, ...] = ()
    plan_title: str = ""
    status_before: dict[tuple[int, int], Status] = field(default_factory=dict)
    plans: dict[int, PlanView] = field(default_factory=dict)
    reviews: dict[tuple[int, int], ReviewView] = field(default_factory=dict)

    def with_period(self, period: PeriodReports) -> FollowUpState:
        """This state with a digest period's reports (`repo.load_period`); shares the rest."""
        return replace(self, recent_reports=period.recent, status_before=period.status_before)

    def for_plan(self, plan_id: int) -> FollowUpState:
        """This state with only the tasks (and period reports) of one plan, titled with it."""
        tasks = tuple(t for t in self.tasks if t.plan_id == plan_id)
        ids = {t.id for t in tasks}
        plan = self.plans.get(plan_id)
        return replace(
            self,
            tasks=tasks,
            recent_reports=tuple(r for r in self.recent_reports if r.task_id in ids),
            plan_title=plan.title if plan is not None else self.plan_title,
        )

    def followed_up(self) -> FollowUpState:
        """This state with only the tasks of active plans (a closed plan is not followed up;
        a task of a plan this state does not know is kept)."""
        closed = {p.id for p in self.plans.values() if not p.active}
        if not closed:
            return self
        return replace(self, tasks=tuple(t for t in self.tasks if t.plan_id not in closed))

    def active_plans(self) -> list[PlanView]:
        """The active plans, the newest first (`jobs.plans.newest_first`)."""
        return newest_first(p for p in self.plans.values() if p.active)

    def plan_label(self, task: TaskView) -> str:
        """The 简称 of the task's plan when more than one plan is active (messages then name
        the plan with the number), else the empty string."""
        if not plans_named(self.plans.values()):
            return ""
        plan = self.plans.get(task.plan_id)
        return plan.label if plan is not None else ""

    def members_of(self, unit_id: int) -> list[UnitView]:
        """The member towns of a collective unit (empty for other units)."""
        return [u for u in self.units.values() if u.parent_id == unit_id]

    def contacts_of(self, unit_id: int) -> list[ContactView]:
        """Return the contacts of one unit, in registration order."""
        return [c for c in self.contacts if c.unit_id == unit_id]

    def unit_status(self, task_id: int, unit_id: int) -> Status:
        """Return the latest reported status of a (task, unit), NOT_STARTED if none yet."""
        report = self.latest_status.get((task_id, unit_id))
        return report.status if report is not None and report.status else Status.NOT_STARTED

    def review_state(self, task_id: int, unit_id: int) -> ReviewState:
        """Where (task, unit) stands in the review of completion (`jobs.review`): its 已完成
        in force is CLAIMED while its review waits and ACCEPTED once accepted (or when it has
        no review: stored with review off or before review); RETURNED when the newest review
        returned a claim and no status was reported since (the return's own 推进中 aside);
        OPEN otherwise."""
        review = self.reviews.get((task_id, unit_id))
        report = self.latest_status.get((task_id, unit_id))
        if report is not None and report.status is Status.DONE:
            if review is None or review.claim_report_id != report.id:
                return ReviewState.ACCEPTED
            if review.decision is None:
                return ReviewState.CLAIMED
            if review.decision is ReviewDecision.ACCEPTED:
                return ReviewState.ACCEPTED
        if (
            review is not None
            and review.decision is ReviewDecision.RETURNED
            and review.decided_at is not None
            and (report is None or report.created_at <= review.decided_at)
        ):
            return ReviewState.RETURNED
        return ReviewState.OPEN

    def unit_claimed(self, task_id: int, unit_id: int) -> bool:
        """True when the unit's status in force is 已完成, accepted or waiting for review:
        the unit has nothing more to report (reminders, escalations and nudges stop)."""
        return self.unit_status(task_id, unit_id) is Status.DONE

    def unit_done(self, task_id: int, unit_id: int) -> bool:
        """True when the unit's 已完成 is accepted (销号): done for lights, digest and
        evaluation."""
        return self.review_state(task_id, unit_id) is ReviewState.ACCEPTED

    def task_status(self, task: TaskView) -> Status:
        """Aggregate the lead units' statuses of a task.

        DONE when every lead unit's 已完成 is accepted (`unit_done`); BLOCKED when any
        reports difficulties; IN_PROGRESS when any reported progress or done (a claim
        waiting for review included); NOT_STARTED otherwise.
        """
        statuses = [self.unit_status(task.id, u) for u in task.lead_unit_ids]
        if statuses and all(self.unit_done(task.id, u) for u in task.lead_unit_ids):
            return Status.DONE
        if any(s is Status.BLOCKED for s in statuses):
            return Status.BLOCKED
        if any(s in (Status.IN_PROGRESS, Status.DONE) for s in statuses):
            return Status.IN_PROGRESS
        return Status.NOT_STARTED

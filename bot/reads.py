"""Fresh reads of the follow-up state for the shell, run off the event loop.

Every view (/task, /unit, /digest, the weekly digest, the ledger export's lights) and the
tick read the database anew through these; nothing read is kept after the call. A read
opens its own session and runs in a worker thread (`in_worker`), so the event loop goes on
handling updates meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, TypeVar

from bot import render, texts
from bot.chart import digest_chart_png
from bot.context import Services
from db import repo
from jobs.chart import UnitBar, lights_by_unit
from jobs.digest import build_digest
from jobs.indicators import IndicatorLight, indicator_light
from jobs.lights import unit_light
from jobs.plans import PlanView
from jobs.state import FollowUpState, TaskView, UnitView

T = TypeVar("T")


async def in_worker(svc: Services, read: Callable[..., T], *args: Any) -> T:
    """Run a blocking database read `read(*args)` in a worker thread and return its result,
    so that the event loop goes on handling updates meanwhile. The read opens its own
    session. Runs it inline for an in-memory SQLite database, which other threads cannot
    see."""
    if not svc.db.shared_across_threads:
        return read(*args)
    return await asyncio.to_thread(read, *args)


def _read_state(svc: Services) -> FollowUpState:
    with svc.db.session() as s:
        return repo.load_state(s)


async def read_state(svc: Services) -> FollowUpState:
    """The follow-up state as `repo.load_state` reads it now, read in a worker thread."""
    return await in_worker(svc, _read_state, svc)


def ledger_light_of(svc: Services, session: Any) -> Callable[[TaskView, UnitView], str]:
    """A `light_of` for the ledger: the traffic light of (task, lead unit) today, in Chinese."""
    state = repo.load_state(session)
    today = svc.now().astimezone(svc.policy.zone).date()

    def light_of(task: TaskView, unit: UnitView) -> str:
        light = unit_light(task, unit.id, state, today, svc.lights, svc.calendar)
        return texts.LIGHT_LABEL[light.value]

    return light_of


def build_current_digest(
    svc: Services, plan_id: int | None = None, leave_out: frozenset[int] = frozenset()
) -> list[str]:
    """Build and render the digest at the clock's now, covering reports since the last one,
    from the database as it is now: one section per active plan, the newest first (one
    plan: the digest as before); with `plan_id`, that plan's alone (closed or not); the
    active plans in `leave_out` (those whose follow-up is held) get no section. Returns the
    HTML message parts, none when every active plan is left out.

    The period starts at the last weekly digest sent (or 7 days ago when none was sent).
    While a plan's follow-up is held, a line in its section says the days overdue count from
    the original deadlines; an active plan whose period has ended reads as awaiting its
    evaluation and closing (its open tasks by their original dates, no 未反馈 list).
    Blocking: the bot runs it in a worker thread (`current_digest`).
    """
    now = svc.now()
    with svc.db.session() as s:
        last = repo.last_digest_at(s)
        since = last if last is not None and last < now else now - timedelta(days=7)
        state = repo.load_state(s).with_period(repo.load_period(s, since=since))
        holds = {hold.plan_id: hold for hold in repo.open_holds(s)}
        indicators = {
            plan.id: repo.plan_indicators(s, plan_id=plan.id) for plan in state.plans.values()
        }
        items = repo.coordination.item_views(s, zone=svc.policy.zone)
    active = state.active_plans()
    plans = [plan for plan in active if plan.id not in leave_out]
    if active and not plans and plan_id is None:
        return []
    sections: list[tuple[int | None, FollowUpState]] = (
        [(plan_id, state.for_plan(plan_id))]
        if plan_id is not None
        else [(plan.id, state.for_plan(plan.id)) for plan in plans]
        if len(plans) > 1 or len(plans) < len(active)
        else [(None, state)]
    )
    digests = []
    only = plan_id is not None
    for section_plan, section in sections:
        hold = (
            holds.get(section_plan)
            if section_plan is not None
            else next(iter(holds.values()), None)
        )
        digest = build_digest(
            now,
            section if only else section.followed_up(),
            zone=svc.policy.zone,
            since=since,
            due_soon_days=svc.settings.schedule.due_soon_days,
            lights=svc.lights,
            calendar=svc.calendar,
            status_before=state.status_before,
        )
        held_end = hold.period_end if hold is not None and hold.found_on > hold.period_end else None
        indicator_plan = (
            section_plan if section_plan is not None else (plans[0].id if len(plans) == 1 else None)
        )
        plan = state.plans.get(indicator_plan) if indicator_plan is not None else None
        today = now.astimezone(svc.policy.zone).date()
        if plan is not None and plan.active and plan.period_end < today:
            digest = replace(digest, period_ended_on=plan.period_end)
        if indicator_plan is not None and indicator_plan in state.plans:
            year, missing = missing_indicators(
                state.plans[indicator_plan],
                indicators.get(indicator_plan, []),
                now.astimezone(svc.policy.zone).date(),
            )
            digest = replace(digest, indicators_missing=missing, indicators_year=year)
        digests.append((digest, held_end))
    if plan_id is not None:
        in_plan = {task.id for task in state.tasks if task.plan_id == plan_id}
        items = [item for item in items if item.task_id in in_plan]
    return render.render_plan_digests(
        digests,
        svc.policy.zone,
        budget=svc.settings.follow_up.digest_lines,
        extra=render.coordination_lines(
            items,
            now.astimezone(svc.policy.zone).date(),
            budget=svc.settings.follow_up.digest_lines,
        ),
    )


def missing_indicators(
    plan: PlanView, views: Sequence[repo.IndicatorView], today: date
) -> tuple[int | None, tuple[int, ...]]:
    """The last full year of `plan` at local date `today` and the numbers of its indicators
    without a value for it (`IndicatorLight.NO_VALUE`); (None, ()) before a full year."""
    missing = []
    year = None
    for view in views:
        assessment = indicator_light(
            target=view.target,
            kind=view.kind,
            values=view.by_year(),
            today=today,
            period_start=plan.period_start,
            period_end=plan.period_end,
        )
        year = assessment.year
        if assessment.light is IndicatorLight.NO_VALUE and assessment.year is not None:
            missing.append(view.number)
    return year, tuple(missing)


async def current_digest(
    svc: Services, plan_id: int | None = None, leave_out: frozenset[int] = frozenset()
) -> list[str]:
    """`build_current_digest` in a worker thread: for /digest and the weekly digest."""
    return await in_worker(svc, build_current_digest, svc, plan_id, leave_out)


def _digest_bars(svc: Services, leave_out: frozenset[int]) -> tuple[tuple[UnitBar, ...], date]:
    today = svc.now().astimezone(svc.policy.zone).date()
    with svc.db.session() as s:
        state = repo.load_state(s)
    return lights_by_unit(state, today, svc.lights, svc.calendar, leave_out=leave_out), today


def build_digest_chart(svc: Services, leave_out: frozenset[int] = frozenset()) -> bytes | None:
    """The digest's picture (`bot.chart.digest_chart_png`) from the database as it is now:
    the lights per lead unit on the tasks of the active plans not in `leave_out`, at the
    clock's local date. None when no lead unit has a task or no CJK font is installed.
    Blocking (a read, then a child process draws for a second or two)."""
    return digest_chart_png(*_digest_bars(svc, leave_out))


async def current_digest_chart(
    svc: Services, leave_out: frozenset[int] = frozenset()
) -> bytes | None:
    """`build_digest_chart` off the event loop: the read as `in_worker` runs it, the drawing
    always in a worker thread (it does not touch the database)."""
    bars, today = await in_worker(svc, _digest_bars, svc, leave_out)
    return await asyncio.to_thread(digest_chart_png, bars, today)


def ledger_review_of(svc: Services) -> Callable[[FollowUpState, int, int], str | None]:
    """A `review_of` for the ledger: the completion review's label (`render.review_label`)
    with dates in the configured zone."""
    zone = svc.policy.zone
    return lambda state, task_id, unit_id: render.review_label(state, task_id, unit_id, zone)

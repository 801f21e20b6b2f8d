"""A held follow-up (`jobs.hold`) in the shell: the check of the plan when the bot starts and
when the task file is loaded, the console line of `taskbot check-config` and `taskbot run`,
`/backlog` and the 发送积压提醒 / 不再发送 buttons, and dropping a backlog.

The hold itself lives in the database (`db.models.FollowUpHold`); the tick reads it afresh
(`bot.delivery.follow_up`) and tells the coordinators once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import Update
from telegram.error import TelegramError

from bot import render, texts
from bot.access import coordinator_only
from bot.context import BotContext, Services
from bot.delivery import digest_key, in_worker
from bot.handlers import reply
from bot.keyboards import hold_keyboard
from bot.plan_choice import read_choice
from db import repo
from db.models import FollowUpHold
from db.seed import PlanRecord
from jobs.calendar import WorkingCalendar
from jobs.escalation import escalation_cases
from jobs.hold import HoldFinding, assess, assess_state, held_reminder
from jobs.policy import reminder_candidates
from jobs.schedule import digest_before_first_start, digest_due
from jobs.types import DeliveryKind, HoldDecision

log = logging.getLogger(__name__)


def recheck_plan(svc: Services) -> str | None:
    """Check the plans again now (`repo.check_plans`), after deadlines changed: the line to
    add to the coordinator's answer when a hold was open (lifted now, or still held; with
    several active plans, a line naming each plan that was held), else None. Blocking: run
    it with `in_worker`."""
    with svc.db.session() as s:
        checks = repo.check_plans(
            s,
            now=svc.now(),
            calendar=svc.calendar,
            zone=svc.settings.schedule.zone,
            lift_only=True,
        )
    if not any(c.before is not None for c in checks):
        return None
    if len(checks) > 1:  # several active plans: a line per plan that was held
        return "\n".join(
            (texts.HOLD_STILL_PLAN if c.hold is not None else texts.HOLD_LIFTED_PLAN).format(
                plan=render.esc(c.plan.label)
            )
            for c in checks
            if c.before is not None
        )
    return texts.HOLD_STILL if any(c.hold is not None for c in checks) else texts.HOLD_LIFTED


def finding_text(finding: HoldFinding) -> str:
    """What the check found, in English, for the console."""
    parts = []
    if finding.period_ended:
        parts.append(f"the plan's period ended on {finding.period_end.isoformat()}")
    late = (
        f" ({finding.late_pairs} past their deadline)"
        if finding.late_pairs > finding.overdue_pairs
        else ""
    )
    parts.append(
        f"{finding.overdue_pairs} of {finding.open_pairs} open (task, lead unit) pairs are "
        f"overdue by more than {finding.overdue_working_days} working days{late}"
    )
    return "; ".join(parts)


def console_line(
    finding: HoldFinding | None, decided: FollowUpHold | None, plan_name: str | None = None
) -> str | None:
    """The console's line about the plan check: what is held and what to do, or the
    decision that lets it run; None when nothing is held. With `plan_name` (several plans
    are active) the commands it suggests name that plan."""
    if finding is None or not finding.held:
        return None
    if decided is not None and decided.decision is not None:
        when = decided.decided_at.date().isoformat() if decided.decided_at else "?"
        return (
            f"plan check: {finding_text(finding)}; a coordinator decided on {when} "
            f"({decided.decision.value}), so the follow-up runs"
        )
    chat, console = (
        (f"/deadline {plan_name} RANGE DATE", f"taskbot deadline --plan {plan_name} RANGE DATE")
        if plan_name
        else ("/deadline", "taskbot deadline RANGE DATE")
    )
    what = (
        "this plan's overdue reminders and escalations wait"
        if plan_name
        else ("Overdue reminders, escalations and the weekly digest wait")
    )
    return (
        f"follow-up held: {finding_text(finding)}. {what} until a coordinator decides: new "
        f"deadlines ({chat} in chat, or {console} --yes) lift the hold once nothing is late "
        "enough to hold it; or, in chat, /backlog send (the held reminders go out once) or "
        "/backlog drop (they never go out)"
        + (f"; or close the plan: /close_plan {plan_name}" if plan_name else "")
    )


def decided_for(
    session: Session, finding: HoldFinding | None, plan_id: int | None = None
) -> FollowUpHold | None:
    """The newest decided hold of plan `plan_id` (None: of any plan) for the finding's plan
    period, if any."""
    decided = repo.latest_decided_hold(session, plan_id=plan_id)
    if finding is None or decided is None or decided.period_end != finding.period_end:
        return None
    return decided


def preview_from_database(
    session: Session, *, now: datetime, calendar: WorkingCalendar, zone: ZoneInfo
) -> str | None:
    """The console lines of the plan check at `now`, one per active plan that is held, from
    the database's plans and reports, without storing anything (`taskbot check-config`);
    None when no plan is held or before a plan is loaded."""
    today = now.astimezone(zone).date()
    state = repo.load_state(session)
    plans = [p for p in repo.read_plans(session) if p.active]
    lines = []
    for plan in plans:
        finding = assess_state(today, plan.period_end, state.for_plan(plan.id), calendar)
        name = plan.short_name or plan.document_number if len(plans) > 1 else None
        if repo.open_hold(session, plan_id=plan.id) is not None:
            line = console_line(finding, None, name)
        else:
            line = console_line(finding, decided_for(session, finding, plan.id), name)
        if line is not None:
            lines.append(f"{plan.label}: {line}" if len(plans) > 1 else line)
    return "\n".join(lines) or None


def held_at_start(
    session: Session, *, now: datetime, calendar: WorkingCalendar, zone: ZoneInfo
) -> bool:
    """Whether the follow-up is held at `now`, or will be as soon as the bot starts: a hold
    is open, or the check of the loaded plan finds one that no decision for the plan's period
    stands against (what `repo.check_plan` opens at the start). Stores nothing (`taskbot
    schedule` before the first `taskbot run`)."""
    if repo.open_hold(session) is not None:
        return True
    today = now.astimezone(zone).date()
    state = repo.load_state(session)
    for plan in repo.read_plans(session):
        if not plan.active:
            continue
        finding = assess_state(today, plan.period_end, state.for_plan(plan.id), calendar)
        if finding.held and decided_for(session, finding, plan.id) is None:
            return True
    return False


def preview_from_task_file(
    plan: PlanRecord, *, now: datetime, calendar: WorkingCalendar, zone: ZoneInfo
) -> str | None:
    """The console line of the plan check at `now` for a task file not loaded yet: every
    (task, lead unit) pair is open."""
    deadlines = [task.deadline for task in plan.tasks for _ in task.lead_units]
    finding = assess(now.astimezone(zone).date(), plan.period_end, deadlines, calendar)
    return console_line(finding, None)


@dataclass(frozen=True)
class Decided:
    """What a decision came to: `hold` decided now, or `earlier` (already decided, or
    None when there is no such hold); `dropped` counts the sends settled as dropped."""

    hold: FollowUpHold | None
    earlier: FollowUpHold | None
    dropped: int = 0


def held_sends(
    svc: Services, session: Session, now: datetime, plan_id: int | None = None
) -> list[repo.DroppedSend]:
    """What the held follow-up of plan `plan_id` (None: of every plan) has due at `now`
    (local date, any hour): the overdue reminders, the escalations and this week's digest
    (unless it fell due before the first start)."""
    state = repo.load_state(session).followed_up()
    if plan_id is not None:
        state = state.for_plan(plan_id)
    today = now.astimezone(svc.policy.zone).date()
    sends = [
        repo.DroppedSend(
            key=due.key,
            kind=DeliveryKind.REMINDER,
            destination=str(due.contact.chat_id),
            task_id=due.task.id,
            unit_id=due.unit_id,
            contact_id=due.contact.id,
        )
        for due in reminder_candidates(now, state, svc.policy, svc.calendar, any_hour=True)
        if held_reminder(due.occasion.kind)
    ]
    sends.extend(
        repo.DroppedSend(
            key=case.key,
            kind=DeliveryKind.ESCALATION,
            destination="coordinators",
            task_id=case.task.id,
            unit_id=case.unit_id,
        )
        for case in escalation_cases(
            today,
            state,
            svc.calendar,
            after_working_days=svc.settings.follow_up.escalate_after_working_days,
        )
    )
    chat_id = svc.settings.telegram.digest_chat_id
    period = digest_due(now, svc.digest_schedule, svc.calendar)
    if (
        chat_id is not None
        and period is not None
        and not digest_before_first_start(
            period, repo.first_start(session), svc.digest_schedule, svc.calendar
        )
    ):
        sends.append(
            repo.DroppedSend(
                key=digest_key(period, chat_id), kind=DeliveryKind.DIGEST, destination=str(chat_id)
            )
        )
    return sends


def decide(svc: Services, hold_id: int | None, decision: HoldDecision, user_id: int) -> Decided:
    """Record `decision` on hold `hold_id` (the open one when None) in one transaction; on
    DROP, settle what it has due now as dropped. Blocking: run it with `in_worker`."""
    now = svc.now()
    with svc.db.session() as s:
        hold = repo.open_hold(s) if hold_id is None else repo.get_hold(s, hold_id=hold_id)
        if hold is None or hold.id is None:
            return Decided(None, None)
        decided = repo.decide_hold(s, hold_id=hold.id, decision=decision, user_id=user_id, now=now)
        if decided is None:
            return Decided(None, hold)
        dropped = 0
        if decision is HoldDecision.DROP:
            dropped = repo.drop_sends(s, sends=held_sends(svc, s, now, hold.plan_id), now=now)
    log.info(
        "held follow-up %s decided by %s: %s (%d sends dropped)",
        hold.id,
        user_id,
        decision.value,
        dropped,
    )
    return Decided(decided, None, dropped)


def _answer(result: Decided, decision: HoldDecision) -> str:
    if result.hold is None:
        if result.earlier is None or result.earlier.decision is None:
            return texts.HOLD_NONE
        label = texts.HOLD_DECISION_LABEL[result.earlier.decision.value]
        return texts.HOLD_ALREADY.format(decision=label)
    if decision is HoldDecision.DROP:
        return texts.HOLD_DECIDED_DROP.format(count=result.dropped)
    return texts.HOLD_DECIDED_SEND


def _open_hold_notices(svc: Services) -> list[tuple[int, str]]:
    """Each open hold's id and notice, oldest first."""
    with svc.db.session() as s:
        return [
            (hold.id, render.hold_notice_of(hold, repo.plan_of_hold(s, hold=hold)))
            for hold in repo.open_holds(s)
            if hold.id is not None
        ]


def _hold_to_decide(svc: Services, words: list[str]) -> int | str | None:
    """The id of the open hold `/backlog send|drop [简称]` decides: the named plan's, else
    the only open one; the answer's text when several plans are held and none is named (or
    the named plan has none); None when nothing is held (then `decide` answers)."""
    with svc.db.session() as s:
        choice = read_choice(s, words)
        if choice.named and choice.plan is not None:
            hold = repo.open_hold(s, plan_id=choice.plan.id)
            if hold is None:
                return texts.HOLD_NONE_OF_PLAN.format(plan=render.esc(choice.plan.label))
            return hold.id
        holds = repo.open_holds(s)
        if len(holds) < 2:
            return None
        labels = {p.id: p.label for p in repo.read_plans(s)}
    names = [labels.get(h.plan_id or 0, "") for h in holds]
    return texts.HOLD_WHICH.format(
        count=len(holds),
        plans="、".join(f"“{render.esc(n)}”" for n in names),
        example=render.esc(f"/backlog {words[0]} {names[0]}"),
    )


@coordinator_only
async def backlog_command(update: Update, context: BotContext) -> None:
    """/backlog: the held follow-up with its buttons (or that nothing is held);
    /backlog send and /backlog drop decide it."""
    user = update.effective_user
    svc = context.svc
    if user is None:
        return
    args = [a.strip().lower() for a in context.args or []]
    if not args:
        await in_worker(svc, recheck_plan, svc)
        found = await in_worker(svc, _open_hold_notices, svc)
        if not found:
            await reply(update, texts.HOLD_NONE)
        for hold_id, text in found:
            await reply(update, text, reply_markup=hold_keyboard(hold_id))
        return
    actions = [a for a in args if a in ("send", "drop")]
    if len(actions) != 1 or len(args) > 2:
        await reply(update, texts.HOLD_USAGE)
        return
    words = actions + [a.strip() for a in context.args or [] if a.strip().lower() not in actions]
    target = await in_worker(svc, _hold_to_decide, svc, words)
    if isinstance(target, str):
        await reply(update, target)
        return
    decision = HoldDecision(actions[0])
    result = await in_worker(svc, decide, svc, target, decision, user.id)
    await reply(update, _answer(result, decision))


@coordinator_only
async def hold_button(update: Update, context: BotContext) -> None:
    """The 发送积压提醒 / 不再发送 buttons of a hold notice ("hold:<send|drop>:<id>")."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None or query.data is None:
        return
    _, action, number = query.data.split(":")
    decision = HoldDecision(action)
    result = await in_worker(context.svc, decide, context.svc, int(number), decision, user.id)
    try:
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError as exc:
        log.info("hold button answer failed: %s", exc)
    await reply(update, _answer(result, decision))

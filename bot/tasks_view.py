"""Coordinator and contact views of tasks and units: /task, /unit; /record.

Who may see what: coordinators and leaders see every task and unit; a contact sees the tasks
its unit is named on (lead or responsible) and its own unit. Everyone else is refused
politely.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar
from telegram import Update

from bot import coordination_view, keyboards, render, texts
from bot.access import coordinator_only, is_reader
from bot.context import BotContext, Services
from bot.evidence import evidence_keyboard, file_line
from bot.flow_common import note_problem
from bot.handlers import reply
from bot.plan_choice import choice_line, read_choice
from bot.reads import read_state
from bot.review_view import record_claim
from db import repo
from db.models import Contact, EvidenceFile, StatusReport, Task, Unit
from jobs.backfill import effective_on
from jobs.lights import Light, task_light, unit_light
from jobs.names import parse_status
from jobs.plans import PlanView, choose_plan, newest_first
from jobs.state import FollowUpState, TaskView
from jobs.types import Status

log = logging.getLogger(__name__)
HISTORY_SHOWN = 10


def _light_icon(light: Light) -> str:
    return texts.LIGHT_ICON[light.value]


def _task_view(state: FollowUpState, number: int, plan: PlanView | None) -> TaskView | None:
    return next(
        (t for t in state.tasks if t.number == number and (plan is None or t.plan_id == plan.id)),
        None,
    )


def _parse_number(args: list[str]) -> int | None:
    if not args:
        return None
    text = args[0].strip().lstrip("第").rstrip("项")
    return int(text) if text.isdecimal() and len(text) <= 6 else None


async def task_command(update: Update, context: BotContext) -> None:
    """Show one task: units with lights and statuses, deadline, and its report history."""
    user = update.effective_user
    svc = context.svc
    if user is None:
        return
    state = await read_state(svc)
    choice = choose_plan(list(state.plans.values()), list(context.args or []))
    number = _parse_number(list(choice.words))
    if number is None and not choice.named and len(choice.words) == 2:  # /task 十六五 5
        name, rest = choice.words
        if _parse_number([rest]) is not None and state.plans:
            plans = newest_first(state.plans.values())
            await reply(
                update,
                texts.PLAN_UNKNOWN.format(
                    name=render.esc(render.clip(name, 30)),
                    plans="、".join(f"“{render.esc(p.label)}”" for p in plans),
                    example=render.esc(f"/task {plans[0].label} {rest}"),
                ),
            )
            return
    if number is None:
        await reply(update, texts.TASK_USAGE)
        return
    which = choice_line(choice, "task", str(number))
    with svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user.id)
        task = _task_view(state, number, choice.plan)
        history = list(repo.reports_of_task(s, task_id=task.id)) if task else []
        files_of = repo.evidence_of_reports(s, report_ids=[r.id or 0 for r in history])
        contacts = {c.id: c.display_name for c in s.exec(_all_contacts())}
        task_row = s.get(Task, task.id) if task else None
        carried = _carried(s, task_row)
        items = (
            repo.coordination.item_views(s, zone=svc.policy.zone, open_only=False, task_id=task.id)
            if task
            else []
        )
    coordinator = await is_reader(svc, user.id)  # coordinators and leaders see all
    if not coordinator and contact is None:
        await reply(update, texts.NOT_CONTACT)
        return
    if task is None or task_row is None:
        await reply(
            update, "\n".join(filter(None, [texts.UNKNOWN_TASK.format(number=number), which]))
        )
        return
    named = set(task.lead_unit_ids) | set(task.responsible_unit_ids)
    if not coordinator and (contact is None or contact.unit_id not in named):
        own = state.units.get(contact.unit_id) if contact else None
        await reply(
            update,
            texts.TASK_NOT_YOURS.format(number=number, unit=render.esc(own.name if own else "")),
        )
        return
    today = svc.today()
    lights = {
        u: unit_light(task, u, state, today, svc.lights, svc.calendar) for u in task.lead_unit_ids
    }
    leads = "、".join(
        texts.TASK_LEAD_UNIT.format(
            unit=render.esc(state.units[u].name),
            light=_light_icon(lights[u]),
            status=render.pair_status_label(state, task.id, u, zone=svc.policy.zone),
        )
        for u in task.lead_unit_ids
    )
    lines = [
        texts.TASK_HEADER.format(
            plan=render.plan_tags(list(state.plans.values())).get(task.plan_id, ""),
            number=task.number,
            light=_light_icon(task_light(list(lights.values()))),
            text=render.esc(task.text),
        ),
        texts.TASK_LEADS.format(units=leads),
    ]
    if which:
        lines.insert(1, which)
    supporters = [
        (unit_id, report)
        for (task_id, unit_id), report in state.latest_report.items()
        if task_id == task.id and unit_id not in task.lead_unit_ids
    ]
    if supporters:
        lines.append(
            texts.TASK_SUPPORTERS.format(
                units="、".join(
                    texts.TASK_LEAD_UNIT.format(
                        unit=render.esc(state.units[u].name),
                        light="",
                        status=render.status_label(r.status)
                        if r.status
                        else texts.DIGEST_CHANGE_NOTE,
                    )
                    for u, r in sorted(supporters, key=lambda item: item[1].id)
                )
            )
        )
    responsible = task_row.responsible_units_note or "、".join(
        state.units[u].name for u in task.responsible_unit_ids
    )
    if responsible:
        lines.append(texts.TASK_RESPONSIBLE.format(units=render.esc(responsible)))
    lines.append(
        texts.TASK_DEADLINE.format(
            deadline=render.fmt_date(task.deadline),
            when=render.when_text((task.deadline - today).days),
        )
    )
    for milestone in task.milestones:
        lines.append(
            texts.TASK_MILESTONE_CLOSED.format(
                due=render.fmt_date(milestone.due_on),
                text=render.esc(milestone.text),
                closed=render.fmt_date(milestone.closed_on),
            )
            if milestone.closed_on is not None
            else texts.TASK_MILESTONE_OPEN.format(
                due=render.fmt_date(milestone.due_on),
                text=render.esc(milestone.text),
                when=render.when_text((milestone.due_on - today).days),
            )
        )
    lines += render.task_coordination_lines(items, today)
    lines.extend(_carried_to_lines(state, task, carried))
    lines.append("")
    corrected = {r.corrects_id for r in history if r.corrects_id is not None}
    history = [r for r in history if r.id not in corrected]  # shown once, as its correction
    zone = svc.policy.zone
    history.sort(key=lambda r: (effective_on(r.occurred_on, r.created_at, zone), r.id or 0))
    if history:
        shown = history[-HISTORY_SHOWN:][::-1]
        lines.append(texts.TASK_HISTORY.format(count=len(history), shown=len(shown)))
        for report in shown:
            note = render.clip(report.note, 200)
            lines.append(
                texts.TASK_HISTORY_LINE.format(
                    at=_when(report, zone),
                    unit=render.esc(state.units[report.unit_id].name),
                    status=(
                        render.status_label(report.status)
                        if report.status
                        else texts.DIGEST_CHANGE_NOTE
                    )
                    + (texts.DIGEST_CORRECTED if report.corrects_id is not None else ""),
                    who=render.esc(
                        contacts.get(report.contact_id or 0, "")
                        or (
                            texts.ENTERED_BY_BACKFILL
                            if report.source == repo.BACKFILL_SOURCE
                            else texts.ENTERED_BY_COORDINATOR
                            if report.entered_by
                            else ""
                        )
                    ),
                    note=texts.DIGEST_ROW_NOTE.format(note=render.esc(note)) if note else "",
                )
            )
    else:
        lines.append(texts.TASK_HISTORY_NONE)
    lines.extend(_carried_from_lines(state, carried, contacts, svc))
    for part in render.split_lines(lines):
        await reply(update, part)
    await _send_evidence_list(update, svc, task.number, history, files_of, state)


def _when(report: StatusReport, zone: ZoneInfo) -> str:
    """When a report happened as shown: its instant, or a past record's date marked 补录."""
    if report.occurred_on is not None:
        return render.fmt_date(report.occurred_on) + texts.BACKFILL_MARK
    return render.fmt_instant(report.created_at, zone)


@dataclass(frozen=True)
class Carried:
    """A task's 结转 links: the task it carries over with that task's reports (oldest first),
    and the tasks that carry it over into other plans."""

    origin: Task | None
    origin_reports: list[StatusReport]
    into: list[Task]


def _carried(session: Session, task: Task | None) -> Carried:
    if task is None or task.id is None:
        return Carried(None, [], [])
    origin = (
        repo.get_task_by_id(session, task_id=task.carried_from_id)
        if task.carried_from_id is not None
        else None
    )
    reports = list(repo.reports_of_task(session, task_id=origin.id)) if origin and origin.id else []
    return Carried(origin, reports, repo.carried_into(session, task_id=task.id))


def _plan_label(state: FollowUpState, plan_id: int) -> str:
    plan = state.plans.get(plan_id)
    return plan.label if plan is not None else ""


def _carried_to_lines(state: FollowUpState, task: TaskView, carried: Carried) -> list[str]:
    """Under the deadline: the plan closed, and where the task was carried over to."""
    lines = []
    plan = state.plans.get(task.plan_id)
    if plan is not None and not plan.active:
        lines.append(texts.TASK_PLAN_CLOSED.format(plan=render.esc(plan.label)))
    lines.extend(
        texts.TASK_CARRIED_TO.format(
            plan=render.esc(_plan_label(state, t.plan_id)), number=t.number
        )
        for t in carried.into
    )
    return lines


def _carried_from_lines(
    state: FollowUpState, carried: Carried, contacts: dict[int | None, str], svc: Services
) -> list[str]:
    """Below the task's own history: the reports of the task it carries over, newest first
    by their real date (`occurred_on` when set, else when stored, in the configured zone)."""
    origin = carried.origin
    if origin is None:
        return []
    label = render.esc(_plan_label(state, origin.plan_id))
    corrected = {r.corrects_id for r in carried.origin_reports if r.corrects_id is not None}
    reports = [r for r in carried.origin_reports if r.id not in corrected]
    if not reports:
        return ["", texts.TASK_CARRIED_FROM_NONE.format(plan=label, number=origin.number)]
    zone = svc.policy.zone

    def day(report: StatusReport) -> date:
        return report.occurred_on or report.created_at.astimezone(zone).date()

    ordered = sorted(reports, key=lambda r: (day(r), r.id or 0))
    shown = ordered[-HISTORY_SHOWN:][::-1]
    lines = [
        "",
        texts.TASK_CARRIED_FROM.format(
            plan=label, number=origin.number, count=len(reports), shown=len(shown)
        ),
    ]
    for report in shown:
        note = render.clip(report.note, 200)
        at = (
            render.fmt_date(report.occurred_on)
            if report.occurred_on is not None
            else render.fmt_instant(report.created_at, zone)
        )
        unit = state.units.get(report.unit_id)
        lines.append(
            texts.TASK_HISTORY_LINE.format(
                at=at,
                unit=render.esc(unit.name if unit else ""),
                status=render.status_label(report.status)
                if report.status
                else texts.DIGEST_CHANGE_NOTE,
                who=render.esc(
                    contacts.get(report.contact_id or 0, "")
                    or (texts.ENTERED_BY_COORDINATOR if report.entered_by else "")
                ),
                note=texts.DIGEST_ROW_NOTE.format(note=render.esc(note)) if note else "",
            )
        )
    return lines


EVIDENCE_BUTTONS = 40  # newest files offered as buttons (Telegram allows 100 buttons)


async def _send_evidence_list(
    update: Update,
    svc: Services,
    number: int,
    history: list[StatusReport],
    files_of: dict[int, list[EvidenceFile]],
    state: FollowUpState,
) -> None:
    """List the evidence of the task's reports (newest first), each with a 📎 button that
    sends the file (`bot.evidence.send_evidence`); nothing when there is none."""
    lines: list[str] = []
    files: list[EvidenceFile] = []
    for report in history[::-1]:
        for f in files_of.get(report.id or 0, []):
            if len(files) == EVIDENCE_BUTTONS:
                break
            files.append(f)
            unit = state.units.get(report.unit_id)
            lines.append(
                texts.EVIDENCE_LIST_LINE.format(
                    n=len(files),
                    at=_when(report, svc.policy.zone),
                    unit=render.esc(unit.name if unit else ""),
                    file=file_line(f.kind, f.file_name, f.size, f.caption),
                )
            )
    if not files:
        return
    text = texts.EVIDENCE_LIST.format(number=number, count=len(files), lines="\n".join(lines))
    parts = render.split_lines(text.split("\n"))
    for n, part in enumerate(parts, start=1):
        markup = evidence_keyboard(files) if n == len(parts) else None
        await reply(update, part, reply_markup=markup)


def _all_contacts() -> SelectOfScalar[Contact]:
    from sqlmodel import select

    return select(Contact)


async def unit_command(update: Update, context: BotContext) -> None:
    """Show one unit: its contacts and the tasks it leads, with light, status and deadline."""
    user = update.effective_user
    svc = context.svc
    if user is None:
        return
    name = " ".join(context.args or []).strip()
    state = await read_state(svc)
    with svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user.id)
        own = s.get(Unit, contact.unit_id) if contact else None
        if not name and own is not None:
            name = own.name
        unit, suggestions = repo.resolve_unit(s, text=name) if name else (None, [])
        members = repo.contacts_of_unit(s, unit_id=unit.id or 0) if unit else []
    coordinator = await is_reader(svc, user.id)  # coordinators and leaders see all
    if not coordinator and contact is None:
        await reply(update, texts.NOT_CONTACT)
        return
    if not name:
        await reply(update, texts.UNIT_USAGE)
        return
    if unit is None:
        await reply(update, render.unknown_unit(name, suggestions, texts.UNIT_USAGE))
        return
    if not coordinator and (own is None or own.id != unit.id):
        await reply(update, texts.UNIT_NOT_YOURS.format(unit=render.esc(own.name if own else "")))
        return
    today = svc.today()
    led = [t for t in state.followed_up().tasks if unit.id in t.lead_unit_ids]
    tags = render.plan_tags(list(state.plans.values()))
    names = "、".join(render.esc(c.display_name) for c in members) or texts.UNITS_NONE
    lines = [texts.UNIT_HEADER.format(unit=render.esc(unit.name), contacts=names)]
    if not led:
        lines.append(texts.UNIT_NOT_LEAD.format(unit=render.esc(unit.name)))
    else:
        lines.append(texts.UNIT_LEADS.format(count=len(led)))
        for task in led:
            light = unit_light(task, unit.id or 0, state, today, svc.lights, svc.calendar)
            status = state.unit_status(task.id, unit.id or 0)
            lines.append(
                texts.UNIT_TASK_LINE.format(
                    light=_light_icon(light),
                    plan=tags.get(task.plan_id, ""),
                    number=task.number,
                    text=render.esc(render.clip(task.text, 30)),
                    status=render.pair_status_label(
                        state, task.id, unit.id or 0, zone=svc.policy.zone
                    ),
                    when=texts.STATUS_LABEL[Status.DONE]
                    if status is Status.DONE
                    else render.when_text((task.deadline - today).days),
                )
            )
    for part in render.split_lines(lines):
        await reply(update, part)


@coordinator_only
async def record_command(update: Update, context: BotContext) -> None:
    """Record a report on behalf of a unit that answered by phone (coordinator).

    Usage: /record <序号> <单位> <状态> <说明>; stored with source "coordinator" and the
    coordinator as `entered_by`, and shown as 协调员代录.
    """
    user = update.effective_user
    svc = context.svc
    if user is None:
        return
    text = update.effective_message.text if update.effective_message else ""
    parts = (text or "").split(maxsplit=4)
    with svc.db.session() as s:
        choice = read_choice(s, parts[1:2])
    if choice.named:  # /record 十四五 5 单位 状态 说明
        parts = (text or "").split(maxsplit=5)
        del parts[1]
    number = _parse_number(parts[1:2])
    if len(parts) < 5 or number is None:
        await reply(update, texts.RECORD_USAGE)
        return
    unit_name, status_word, note = parts[2], parts[3], parts[4]
    status = parse_status(status_word)
    if status is None:
        await reply(
            update, texts.RECORD_BAD_STATUS.format(text=render.esc(render.clip(status_word, 20)))
        )
        return
    problem = note_problem(note)
    if problem is not None:
        await reply(update, problem)
        return
    now = svc.now()
    which = choice_line(choice, "record", f"{number} {unit_name} {status_word} ……")
    item_id: int | None = None
    opened = ""
    with svc.db.session() as s:
        task = repo.get_task(
            s, number=number, plan_id=choice.plan.id if choice.plan is not None else None
        )
        unit, suggestions = repo.resolve_unit(s, text=unit_name)
        lead = (
            task is not None
            and unit is not None
            and repo.is_lead_unit(s, task_id=task.id or 0, unit_id=unit.id or 0)
        )
        if lead and task is not None and unit is not None:
            stored = repo.add_report(
                s,
                task_id=task.id or 0,
                unit_id=unit.id or 0,
                contact_id=None,
                reporter_user_id=user.id,
                status=status,
                note=note,
                now=now,
                source="coordinator",
                entered_by=user.id,
            )
            record_claim(svc, s, stored, entered_by=user.id)
            stored_id = stored.id
            if status is Status.BLOCKED:  # opens a coordination item
                item_id, opened = coordination_view.raise_from_report(
                    s,
                    zone=svc.policy.zone,
                    task_id=task.id or 0,
                    unit_id=unit.id or 0,
                    report_id=stored_id,
                    note=note,
                    actor_user_id=user.id,
                    now=now,
                )
    if task is None:
        await reply(
            update, "\n".join(filter(None, [texts.UNKNOWN_TASK.format(number=number), which]))
        )
        return
    if unit is None:
        await reply(update, render.unknown_unit(unit_name, suggestions, texts.RECORD_USAGE))
        return
    if not lead:
        await reply(
            update,
            "\n".join(
                filter(
                    None,
                    [
                        texts.RECORD_NOT_LEAD.format(unit=render.esc(unit.name), number=number),
                        which,
                    ],
                )
            ),
        )
        return
    log.info(
        "report stored: id=%s task=%s unit=%s entered_by=%s status=%s source=coordinator "
        "note_chars=%d",
        stored_id,
        number,
        unit.id,
        user.id,
        status,
        len(note),
    )
    saved = texts.RECORD_SAVED.format(
        unit=render.esc(unit.name),
        number=number,
        status=texts.STATUS_LABEL[status],
        note=render.esc(note),
        at=render.fmt_instant(now, svc.policy.zone),
    )
    if item_id is not None:
        await reply(
            update,
            "\n".join(filter(None, [saved, opened, which])),
            reply_markup=keyboards.item_keyboard(item_id),
        )
        return
    await reply(update, "\n".join(filter(None, [saved, which])))


__all__ = ["record_command", "task_command", "unit_command"]

"""The 督办通知单 (one unit's open tasks, 三色) and the 督查通报 (a periodic summary per plan)
as .docx, filled from Word templates with docxtpl.

The templates are the documents an office edits (`office/templates/notice.docx`,
`bulletin.docx`, written once by `scripts/make_document_templates.py`); config `[documents]
templates_dir` names a folder whose notice.docx / bulletin.docx, each one found, replace the
shipped one. The context each template is given is built here, from the follow-up state
(`notice_context`) and the digest's data (`bulletin_context`), as plain dicts of strings,
numbers and lists (every key listed in the README). Dates are local dates of the configured
zone, written 2026年12月6日.

Rendering uses strict undefined variables: a template naming a key the context lacks, a
Jinja syntax error or a file that is not a Word document raises `TemplateError`, which names
the template and says what is wrong.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from db import repo
from jobs.calendar import WorkingCalendar
from jobs.digest import Digest, LightLine, build_digest
from jobs.evaluation import Rate, evaluate
from jobs.lights import SEVERITY, Light, LightPolicy, unit_light
from jobs.plans import PlanView, plans_named
from jobs.state import FollowUpState, ReportView
from jobs.types import Status
from office.evaluation import cn_date, numeral

SHIPPED = Path(__file__).resolve().parent / "templates"
NOTICE = "notice.docx"
BULLETIN = "bulletin.docx"
ISSUER = "区残工委办公室"
REPLY_WORKING_DAYS = 5  # 请于…前反馈: this many working days after the notice's date

# cell shading (hex RGB, w:shd fill) of a row by light; ⚪ 未反馈 rows are left white
LIGHT_FILL = {
    Light.RED: "FFC7CE",
    Light.YELLOW: "FFEB9C",
    Light.GREEN: "C6EFCE",
    Light.NONE: "FFFFFF",
}


class TemplateError(Exception):
    """A template could not be filled: `template` its file name, `detail` what is wrong (in
    English, for the log and the CLI; the chat says it in Chinese)."""

    def __init__(self, template: str, detail: str) -> None:
        super().__init__(f"{template}: {detail}")
        self.template = template
        self.detail = detail


def template_path(name: str, folder: Path | None) -> Path:
    """The template `name` (NOTICE or BULLETIN): `folder`/name when that file exists, else
    the shipped one."""
    if folder is not None and (folder / name).is_file():
        return folder / name
    return SHIPPED / name


def render(
    name: str, context: Mapping[str, Any], target: Path | IO[bytes], folder: Path | None
) -> None:
    """Fill the template `name` (see `template_path`) with `context` and write it to `target`
    (a path or a binary file). Raises `TemplateError` for a broken template, OSError when
    the path cannot be written."""
    from docxtpl import DocxTemplate  # type: ignore[import-untyped]
    from jinja2 import Environment, StrictUndefined
    from jinja2 import TemplateError as JinjaError
    from lxml.etree import XMLSyntaxError  # type: ignore[import-untyped]

    path = template_path(name, folder)
    try:
        document = DocxTemplate(path)
        document.render(dict(context), Environment(undefined=StrictUndefined, autoescape=True))
    except JinjaError as exc:
        raise TemplateError(str(path), f"placeholder error: {exc.message or exc}") from exc
    except XMLSyntaxError as exc:
        raise TemplateError(str(path), f"a {{%tr/{{%p tag out of place: {exc}") from exc
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise TemplateError(str(path), f"not a Word .docx document ({exc})") from exc
    except FileNotFoundError as exc:
        raise TemplateError(str(path), "file not found") from exc
    except (ArithmeticError, TypeError, AttributeError, LookupError) as exc:
        # an expression that fails while filling, e.g. {{ 1 / 0 }} or {{ unit + 1 }}
        raise TemplateError(str(path), f"an expression failed while filling: {exc}") from exc
    document.save(target)


def document_number(kind: str, today: date, serial: str = "") -> str:
    """A 文号-like line for the documents: 督办〔2026〕1206号, or with `serial` as given."""
    return f"{kind}〔{today.year}〕{serial or f'{today:%m%d}'}号"


def plan_phrase(plan: PlanView) -> str:
    """How a document names a plan: “十四五”规划 for a five-year plan's 简称, else its label."""
    label = plan.label
    if len(label) == 3 and label.startswith("十") and label.endswith("五"):
        return f"“{label}”规划"
    return label


def _when(target: date, today: date, ended: PlanView | None) -> str:
    """进度提示: 剩余N天 / 今日到期 / 逾期N天; 规划期满未办结 for a task of a plan whose period
    ended before `today` that was due within it (hundreds of days overdue says nothing new)."""
    if ended is not None and target <= ended.period_end:
        return "规划期满未办结"
    days = (target - today).days
    if days > 0:
        return f"剩余{days}天"
    if days == 0:
        return "今日到期"
    return f"逾期{-days}天"


def _report_date(report: ReportView, zone: ZoneInfo) -> date:
    return report.occurred_on or report.created_at.astimezone(zone).date()


def _report_text(report: ReportView | None, status_labels: Mapping[Status, str]) -> str:
    if report is None:
        return ""
    status = status_labels[report.status] if report.status else ""
    return "：".join(part for part in (status, report.note.strip()) if part)


def reply_by(
    today: date, calendar: WorkingCalendar, working_days: int = REPLY_WORKING_DAYS
) -> date:
    """The day `working_days` working days after `today` (the notice's 请于…前反馈)."""
    day, left = today, working_days
    while left:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            left -= 1
    return day


def notice_context(
    state: FollowUpState,
    unit_id: int,
    *,
    today: date,
    zone: ZoneInfo,
    lights: LightPolicy,
    calendar: WorkingCalendar,
    status_labels: Mapping[Status, str],
    number: str = "",
    plan_id: int | None = None,
) -> dict[str, Any]:
    """The 督办通知单 of unit `unit_id` at local date `today`: its open tasks (the unit has not
    reported them 已完成) of active plans (with `plan_id`: of that plan only), worst light
    first (red, yellow, none, green), then by the date the light follows and 序号. Each row:
    `seq`, `number` (第N项, with the plan's 简称 when more than one plan is active), `task`,
    `deadline`, `when`, `light` (a `Light` value), `color` (hex fill), `report_date`,
    `report` (status：note of the unit's latest report, empty when none), `last` (both, or
    未反馈). Raises KeyError
    for a unit the state does not know."""
    unit = state.units[unit_id]
    followed = state.followed_up()
    several = plans_named(state.plans.values())
    rows: list[tuple[int, date, int, dict[str, Any]]] = []
    plans: dict[int, PlanView] = {}
    for task in followed.tasks:
        if unit_id not in task.lead_unit_ids or plan_id not in (None, task.plan_id):
            continue
        if state.unit_status(task.id, unit_id) is Status.DONE:
            continue
        plan = state.plans.get(task.plan_id)
        if plan is not None:
            plans[plan.id] = plan
        ended = plan if plan is not None and plan.period_end < today else None
        light = unit_light(task, unit_id, state, today, lights, calendar)
        latest = state.latest_report.get((task.id, unit_id))
        target = task.target()
        tag = f"{plan.label}" if several and plan is not None else ""
        rows.append(
            (
                SEVERITY.index(light),
                target,
                task.number,
                {
                    "number": f"{tag}第{task.number}项",
                    "plan": plan.label if plan is not None else "",
                    "task": task.text,
                    "deadline": cn_date(target),
                    "when": _when(target, today, ended),
                    "light": light.value,
                    "color": LIGHT_FILL[light],
                    "report_date": cn_date(_report_date(latest, zone)) if latest else "未反馈",
                    "report": _report_text(latest, status_labels),
                    "last": " ".join(
                        (cn_date(_report_date(latest, zone)), _report_text(latest, status_labels))
                    )
                    if latest
                    else "未反馈",
                    "ended": ended is not None,
                },
            )
        )
    rows.sort(key=lambda r: r[:3])
    table = [{"seq": n, **row} for n, (_, _, _, row) in enumerate(rows, start=1)]
    return {
        "unit": unit.name,
        "date": cn_date(today),
        "number": number,
        "issuer": ISSUER,
        "plans": "、".join(plan_phrase(p) for p in plans.values()) or "",
        "open_count": len(table),
        "overdue_count": sum(1 for row in table if row["light"] == Light.RED.value),
        "ended_count": sum(1 for row in table if row["ended"]),
        "reply_by": cn_date(reply_by(today, calendar)),
        "rows": table,
    }


@dataclass(frozen=True)
class BulletinPlan:
    """One plan's part of the 督查通报: the plan, its digest (built with lights) and its
    办结率 (`jobs.evaluation`), and `statistics`: the plan's statistics when they exist
    (None until `jobs.stats` provides them; the template shows 统计数据 only when set)."""

    plan: PlanView
    digest: Digest
    completion: Rate
    statistics: Any = None


def _light_rows(
    lines: Sequence[LightLine], light: Light, today: date, plan: PlanView
) -> list[dict[str, Any]]:
    ended = plan if plan.period_end < today else None
    return [
        {
            "number": f"第{line.number}项",
            "task": line.text,
            "units": "、".join(line.units),
            "deadline": cn_date(line.deadline),
            "when": "遇到困难"
            if line.blocked and light is Light.YELLOW
            else _when(line.deadline, today, ended),
            "color": LIGHT_FILL[light],
        }
        for line in lines
    ]


def bulletin_context(
    parts: Sequence[BulletinPlan], *, today: date, since: date, number: str = ""
) -> dict[str, Any]:
    """The 督查通报 at local date `today` covering the period from `since`: one entry of
    `plans` per part (see the README for the keys), in the order given."""
    plans = []
    for index, part in enumerate(parts, start=1):
        digest, plan = part.digest, part.plan
        plans.append(
            {
                "numeral": numeral(index),
                "name": plan_phrase(plan),
                "title": plan.title,
                "ended": plan.period_end < today,
                "period_end": cn_date(plan.period_end),
                "task_count": digest.task_count,
                "done_count": part.completion.done,
                "completion": part.completion.percent,
                "red_count": digest.light_counts.get(Light.RED, 0),
                "yellow_count": digest.light_counts.get(Light.YELLOW, 0),
                "green_count": digest.light_counts.get(Light.GREEN, 0),
                "none_count": digest.light_counts.get(Light.NONE, 0),
                "red": _light_rows(digest.red, Light.RED, today, plan),
                "yellow": _light_rows(digest.yellow, Light.YELLOW, today, plan),
                "silent": [
                    {"unit": unit, "tasks": "、".join(f"第{n}项" for n in numbers)}
                    for unit, numbers in digest.silent
                ],
                "without_contact": "、".join(digest.units_without_contact),
                "statistics": part.statistics,
            }
        )
    return {
        "date": cn_date(today),
        "period": f"{cn_date(since)}至{cn_date(today)}",
        "number": number,
        "issuer": ISSUER,
        "plans": plans,
    }


def read_bulletin(
    session: Session,
    *,
    now: datetime,
    zone: ZoneInfo,
    lights: LightPolicy,
    calendar: WorkingCalendar,
    due_soon_days: int,
    plan_id: int | None = None,
) -> tuple[list[BulletinPlan], datetime]:
    """The parts of the 督查通报 at `now` (aware): every active plan, the newest first, or the
    plan `plan_id` alone (closed or not); and the instant its period starts (the last weekly
    digest sent, or 7 days before `now`), as the digest's (`bot.reads.build_current_digest`)."""
    last = repo.last_digest_at(session)
    since = last if last is not None and last < now else now - timedelta(days=7)
    state = repo.load_state(session).with_period(repo.load_period(session, since=since))
    today = now.astimezone(zone).date()
    plans = [state.plans[plan_id]] if plan_id is not None else state.active_plans()
    parts = []
    for plan in plans:
        digest = build_digest(
            now,
            state.for_plan(plan.id),
            zone=zone,
            since=since,
            due_soon_days=due_soon_days,
            lights=lights,
            calendar=calendar,
            status_before=state.status_before,
        )
        evaluation = evaluate(
            *repo.evaluation_input(session, plan_id=plan.id, zone=zone), as_of=today
        )
        parts.append(BulletinPlan(plan=plan, digest=digest, completion=evaluation.completion))
    return parts, since


def notice_filename(unit: str, today: date) -> str:
    """督办通知单-区民政局-20261206.docx."""
    return f"督办通知单-{unit}-{today:%Y%m%d}.docx"


def bulletin_filename(today: date, plan: PlanView | None = None) -> str:
    """督查通报-20261206.docx, 督查通报-十四五-20261206.docx for one named plan."""
    middle = f"-{plan.label}" if plan is not None else ""
    return f"督查通报{middle}-{today:%Y%m%d}.docx"


__all__ = [
    "BULLETIN",
    "NOTICE",
    "BulletinPlan",
    "TemplateError",
    "bulletin_context",
    "bulletin_filename",
    "notice_context",
    "notice_filename",
    "read_bulletin",
    "render",
    "template_path",
]

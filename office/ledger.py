"""The ledger (台账) as an Excel workbook, built from the database with openpyxl.

`write_ledger(session, target, zone=..., now=..., status_labels=...)` writes six sheets:

1. 台账: one row per task and lead unit (序号, 工作任务, 牵头单位, 责任单位, 完成时限 (the
   deadline in force), 原定期限 (the original one), 时限调整 (协调员调整 or 批准延期 when the
   deadline moved), 状态灯, 最新状态, 最新说明, 反馈人, 反馈时间, 已发提醒, 计划 (the
   task's plan by its 简称), 结转 (结转自【十四五】第5项 on a task carried over from an
   earlier plan, 已结转至【十五五】第31项 on the task it carries over)), by plan and 序号.
   "Latest" is the unit's newest report as in the digest: the status of the newest report
   carrying one (未开始 when none), the note, reporter and time of the newest report of any
   kind (a plain reply included).
2. 反馈记录: every status report, oldest first, with its task's plan last; a corrected
   report is left out and its correction's status marked （更正）.
3. 操作记录: the audit trail, oldest first, in Chinese: who by name (a contact's name, 系统
   for the bot itself, 协调员 for anyone else, who can only be a coordinator) with the
   Telegram id beside it, the action's label, the subject as 第N项 / a unit's name / a
   contact by name, statuses by their labels, instants in local time without offset, and
   the reason given for each change (原因).
4. 主要指标: each plan's main indicators (计划, 序号, 指标, 目标值, 属性, 类型, 填报单位, a
   column per year of the plans' periods, 数据来源, 完成情况 as of the export's local date).
5. 统计: per plan (`jobs.stats`, as of the export's local date) a row over tasks, one over
   (task, lead unit) pairs and one per lead unit by done rate ascending (办结率, 按时办结率
   against the deadline in force and the original deadline, 超期办结, 逾期未办结, 退回,
   reports per reporting cycle, reminders, working days from a reminder to the next
   report), then one row per pair finished late (超期办结). Rates are number cells in
   percent format, empty when there is nothing to count. Working days follow `calendar`
   (default: Monday to Friday), cycles the plan's rhythm or the monthly `cycle_day`.
6. 协调事项: every coordination item, oldest first (编号, 计划, 序号, 提出单位, 需协调事项,
   承办单位, 指派时间, 状态 未办结 / 已关闭, 提出时间, 已开天数 for an open item, 关闭时间,
   关闭说明).
7. 说明: the plans, export time, time zone and row counts.

Dates are real date cells and instants real date-time cells. Excel has no time zones, so
instants are converted to `zone` (the configured zone, default Asia/Shanghai) and written
as naive local date-times; the 说明 sheet and a comment on each time header say so.
Every text cell is stored as a string, never a formula: text starting with =, +, -, @ (or a
tab / carriage return) also gets Excel's quote prefix, so a note such as
``=cmd|' /C calc'!A0`` stays inert (formula injection) even when a user edits the cell.
Characters XML forbids (control characters) are dropped.

The status labels are passed in (`status_labels`, the bot passes `bot.texts.STATUS_LABEL`)
because `office` never imports `bot` or `telegram`; `light_of(task, unit)`, when given, fills
状态灯; `review_of(state, task id, unit id)`, when given, shows the completion review in
最新状态 (办结 is an accepted claim: 已销号).
This module only reads the database, through `db.repo`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from db import repo
from db.files import size_text
from db.models import AuditEvent, StatusReport
from db.repo.reviews import AT_MIGRATION, BY_COORDINATOR, REVIEW_OFF, SELF_ACCEPTED
from jobs.calendar import WeekdayCalendar, WorkingCalendar
from jobs.coordination import days_open
from jobs.plans import PlanView
from jobs.state import FollowUpState, TaskView, UnitView
from jobs.stats import PlanStats
from jobs.types import DeadlineBasis, Status
from office.indicators import indicator_rows, period_years

LEDGER_TITLE = "残工委重点任务台账"
SHEET_LEDGER = "台账"
SHEET_REPORTS = "反馈记录"
SHEET_AUDIT = "操作记录"
SHEET_ABOUT = "说明"
SHEET_INDICATORS = "主要指标"
SHEET_STATS = "统计"
STATS_HEADERS = (
    "计划",
    "范围",
    "总数",
    "已办结",
    "办结率",
    "按时办结",
    "按时办结率",
    "按原定期限按时办结",
    "按时办结率（原定期限）",
    "超期办结",
    "逾期未办结",
    "退回次数",
    "反馈次数",
    "报送周期（项次）",
    "每周期反馈次数",
    "提醒次数",
    "提醒到反馈平均工作日",
    "每次反馈前提醒次数",
)
STATS_RATE_COLUMNS = ("办结率", "按时办结率", "按时办结率（原定期限）")
STATS_TASKS = "全部任务"
STATS_PAIRS = "任务×牵头单位"
STATS_LATE = "超期办结：第{number}项"
PERCENT_FORMAT = "0.0%"
INDICATOR_HEADERS = ("计划", "序号", "指标", "目标值", "属性", "类型", "填报单位")
INDICATOR_TAIL = ("数据来源", "完成情况")

LEDGER_HEADERS = (
    "序号",
    "工作任务",
    "牵头单位",
    "责任单位",
    "完成时限",
    "原定期限",
    "时限调整",
    "状态灯",
    "最新状态",
    "最新说明",
    "反馈人",
    "反馈时间",
    "已发提醒",
    "计划",
    "结转",
)
REPORT_HEADERS = (
    "反馈时间",
    "序号",
    "单位",
    "状态",
    "说明",
    "佐证类型",
    "佐证文件名",
    "佐证大小",
    "反馈人",
    "反馈人ID",
    "来源",
    "计划",
)
AUDIT_HEADERS = ("时间", "操作人", "操作人ID", "操作", "对象", "修改前", "修改后", "原因")

NOTE_ONLY = "仅说明"  # a report without a status (a plain reply to a reminder)
SYSTEM_ACTOR = "系统"
CORRECTED = "（更正）"
COORDINATOR_ACTOR = "协调员"  # someone acting who is not a contact: only coordinators can
UNKNOWN_PERSON = "未登记人员"
PLAN_SUBJECT = "规划"
TASK_SUBJECT = "第{number}项"
EXTENSION_SUBJECT = "{task}延期申请（编号{id}）"
CONTACT_SUBJECT = "联络员{name}（{unit}）"
HOLD_SUBJECT = "逾期提醒暂停（编号{id}）"
COORDINATION_SUBJECT = "协调事项（编号{id}）"
# a decision on a held follow-up (`decide_hold`): the coordinator's choice, or the bot's own
# (actor 0) when new deadlines or reports left nothing late enough to hold
HOLD_DECISION_LABEL = {"send": "发送积压提醒", "drop": "不再发送"}
HOLD_LIFTED = "自动解除（已无需暂停的逾期任务）"
EVIDENCE_LABEL = {"photo": "照片", "document": "文件", "voice": "语音"}
BASIS_LABEL = {
    DeadlineBasis.PLAN: "",
    DeadlineBasis.COORDINATOR: "协调员调整",
    DeadlineBasis.EXTENSION: "批准延期",
}
SOURCE_LABEL = {
    "conversation": "对话填报",
    "reply": "回复提醒",
    "chat": "私聊留言",
    "coordinator": "协调员代录",
    "backfill": "补录",
}
ACTION_LABEL = {
    "contact.register": "联络员登记",
    "contact.unreachable": "联络员无法送达",
    "contact.reachable": "联络员恢复送达",
    "decide_hold": "处理逾期提醒暂停",
    "plan.title": "修改规划名称",
    "task.units": "修改任务单位",
    "invite.create": "生成邀请码",
    "task.deadline": "修改完成时限",
    "task.text": "修改任务内容",
    "contact.nudged": "周期未反馈催报",
    "report.status": "状态变更",
    "extension.request": "申请延期",
    "extension.approved": "批准延期",
    "extension.rejected": "驳回延期",
    "task.escalated": "逾期督办提醒",
    "calendar.unknown_year": "节假日数据缺失",
    "evidence.sent": "发送佐证材料",
    "evidence.deleted": "删除到期佐证材料",
    "indicator.value": "录入指标数据",
    "indicator.owner": "指定指标填报单位",
    "review.accepted": "办结审核：销号",
    "review.returned": "办结审核：退回",
}
# completion review (办结审核) in the audit: its before/after values and the bot's reasons
REVIEW_VALUE_LABEL = {"claimed": "待审核", "accepted": "已销号", "returned": "已退回"}
REVIEW_REASON_LABEL = {
    AT_MIGRATION: "启用办结审核前已报告完成，视为已销号",
    SELF_ACCEPTED: "本单位无其他审核人，由报告人本人审核",
    REVIEW_OFF: "未启用办结审核，报告完成即销号",
    BY_COORDINATOR: "协调员代录，即时销号",
}
INDICATOR_SUBJECT = "主要指标第{number}项"

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
ID_FORMAT = "0"
MAX_CELL_CHARS = 32767  # Excel's limit on the characters of one cell
MIN_WIDTH = 6
MAX_WIDTH = 60  # column width cap (in "0" character widths); longer text wraps
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
TOP = Alignment(vertical="top")
TOP_WRAP = Alignment(vertical="top", wrap_text=True)

LightOf = Callable[[TaskView, UnitView], str]
# the completion review's label of (state, task id, unit id) for 最新状态 (待审核, 已销号（date）,
# 已退回（reason）), None to show the status label
ReviewOf = Callable[[FollowUpState, int, int], str | None]
Target = str | Path | IO[bytes]


@dataclass(frozen=True)
class LedgerSummary:
    """How many data rows each sheet got (headers not counted)."""

    ledger_rows: int
    reports: int
    audit_events: int


def ledger_filename(now: datetime, zone: ZoneInfo) -> str:
    """Return the file name for an export at `now` (aware): 残工委重点任务台账-20261008.xlsx."""
    return f"{LEDGER_TITLE}-{now.astimezone(zone):%Y%m%d}.xlsx"


def local_naive(instant: datetime, zone: ZoneInfo) -> datetime:
    """Return an aware instant as naive wall-clock time in `zone`, to the second (for Excel)."""
    return instant.astimezone(zone).replace(tzinfo=None, microsecond=0)


def display_width(text: str) -> int:
    """Width of the widest line of `text` in Excel column units: CJK characters count two."""
    return max(
        (
            sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
            for line in text.split("\n")
        ),
        default=0,
    )


class _Sheet:
    """A worksheet filled row by row, remembering each column's widest content."""

    def __init__(self, ws: Worksheet, headers: tuple[str, ...]) -> None:
        self.ws = ws
        self.headers = headers
        self.widths = [display_width(h) for h in headers]
        self.rows = 0
        for column, header in enumerate(headers, start=1):
            cell = ws.cell(row=1, column=column, value=header)
            cell.font = HEADER_FONT
            cell.fill = HEADER_FILL
            cell.alignment = HEADER_ALIGNMENT

    def comment(self, header: str, text: str) -> None:
        """Attach a comment to the header cell `header`."""
        column = self.headers.index(header) + 1
        self.ws.cell(row=1, column=column).comment = Comment(text, "taskbot")

    def append(self, values: tuple[Any, ...]) -> None:
        """Write one data row; strings stay strings, dates and date-times get date formats."""
        self.rows += 1
        row = self.rows + 1
        for column, value in enumerate(values, start=1):
            cell = self.ws.cell(row=row, column=column)
            assert isinstance(cell, Cell)  # the sheet has no merged cells
            self._put(cell, value)
            width = self._width_of(value)
            if width > self.widths[column - 1]:
                self.widths[column - 1] = width

    @staticmethod
    def _put(cell: Cell, value: Any) -> None:
        if value == "" or value is None:
            return  # an empty cell, not an empty string
        if isinstance(value, str):
            text = ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_CHARS]
            cell.value = text
            cell.data_type = "s"  # never a formula ("=...") nor an error code ("#N/A")
            if text.startswith(FORMULA_TRIGGERS):
                cell.quotePrefix = True
            cell.alignment = TOP
            return
        cell.value = value
        if isinstance(value, datetime):
            cell.number_format = DATETIME_FORMAT
        elif isinstance(value, date):
            cell.number_format = DATE_FORMAT
        cell.alignment = TOP

    @staticmethod
    def _width_of(value: Any) -> int:
        if value is None:
            return 0
        if isinstance(value, datetime):
            return len("2026-01-01 00:00")
        if isinstance(value, date):
            return len("2026-01-01")
        return display_width(str(value))

    def finish(self, *, id_columns: tuple[str, ...] = ()) -> None:
        """Fit column widths (capped; longer cells wrap), freeze and filter the header row."""
        ws = self.ws
        for column, width in enumerate(self.widths, start=1):
            letter = get_column_letter(column)
            fitted = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
            ws.column_dimensions[letter].width = fitted
            if width + 2 > MAX_WIDTH:
                for (cell,) in ws.iter_rows(min_row=2, min_col=column, max_col=column):
                    cell.alignment = TOP_WRAP
        for header in id_columns:
            column = self.headers.index(header) + 1
            for (cell,) in ws.iter_rows(min_row=2, min_col=column, max_col=column):
                cell.number_format = ID_FORMAT
        last = get_column_letter(len(self.headers))
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{last}{self.rows + 1}"
        ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"


def build_ledger(
    session: Session,
    *,
    zone: ZoneInfo,
    now: datetime,
    status_labels: Mapping[Status, str],
    light_of: LightOf | None = None,
    calendar: WorkingCalendar | None = None,
    cycle_day: int = 25,
    review_of: ReviewOf | None = None,
) -> tuple[Workbook, LedgerSummary]:
    """Build the ledger workbook from the database in one session (see the module docstring).

    `now` (aware) is the export time shown on the 说明 sheet; its local date is the 统计
    sheet's date, `calendar` (None: Monday to Friday) and `cycle_day` (config
    `follow_up.cycle_day`) its working days and default cycle. Raises `ValueError` if `now`
    is naive.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    state = repo.load_state(session)
    tasks = {t.id: t for t in repo.tasks_by_number(session)}
    contacts = repo.contacts_by_id(session)
    reports = repo.reports_oldest_first(session)
    report_by_id: dict[int, StatusReport] = {r.id or 0: r for r in reports}
    sent = repo.sent_reminder_counts(session)
    events = repo.audit_trail(session)
    task_numbers = {t.id: t.number for t in state.tasks}
    plan_names = {p.id: p.label for p in state.plans.values()}
    plan_of_task = {t.id: plan_names.get(t.plan_id, "") for t in state.tasks}
    contact_names = {c.telegram_user_id: c.display_name for c in contacts.values()}

    def carry_text(task_id: int) -> str:
        row = tasks.get(task_id)
        links = []
        origin = tasks.get(row.carried_from_id) if row and row.carried_from_id else None
        if origin is not None:
            links.append(f"结转自【{plan_names.get(origin.plan_id, '')}】第{origin.number}项")
        links.extend(
            f"已结转至【{plan_names.get(t.plan_id, '')}】第{t.number}项"
            for t in tasks.values()
            if t.carried_from_id == task_id
        )
        return "；".join(links)

    def unit_name(unit_id: int) -> str:
        unit = state.units.get(unit_id)
        return unit.name if unit else str(unit_id)

    def reporter(report: StatusReport) -> str:
        contact = contacts.get(report.contact_id) if report.contact_id else None
        if contact is not None and contact.display_name:
            return contact.display_name
        if report.entered_by is not None:
            return contact_names.get(report.entered_by) or COORDINATOR_ACTOR
        return contact_names.get(report.reporter_user_id) or UNKNOWN_PERSON

    def status_text(status: Status | None) -> str:
        return NOTE_ONLY if status is None else status_labels[status]

    workbook = Workbook()
    first = workbook.active
    assert isinstance(first, Worksheet)  # a new workbook's one sheet
    ledger = _Sheet(first, LEDGER_HEADERS)
    ledger.ws.title = SHEET_LEDGER
    ledger.comment("反馈时间", f"{zone.key} 本地时间（Excel 不保存时区）")
    ledger.comment("已发提醒", "已成功发出的督办提醒条数（发给该单位全部联络员的合计）")
    carried = {t.carried_from_id for t in tasks.values() if t.carried_from_id is not None}
    carries = {
        t.id: carry_text(t.id)
        for t in state.tasks
        if t.id in carried or (tasks.get(t.id) and tasks[t.id].carried_from_id is not None)
    }
    for task in state.tasks:
        row = tasks.get(task.id)
        responsible = (row.responsible_units_note if row else None) or "、".join(
            unit_name(u) for u in task.responsible_unit_ids
        )
        for unit_id in task.lead_unit_ids:
            latest_view = state.latest_report.get((task.id, unit_id))
            latest = report_by_id.get(latest_view.id) if latest_view else None
            unit = state.units.get(unit_id, UnitView(unit_id, unit_name(unit_id)))
            ledger.append(
                (
                    task.number,
                    task.text,
                    unit.name,
                    responsible,
                    task.deadline,
                    row.original_deadline if row else task.deadline,
                    BASIS_LABEL[DeadlineBasis(row.deadline_basis)] if row else "",
                    light_of(task, unit) if light_of else "",
                    (review_of(state, task.id, unit_id) if review_of else None)
                    or (
                        NOTE_ONLY
                        if latest and state.unit_status(task.id, unit_id) is Status.NOT_STARTED
                        else status_labels[state.unit_status(task.id, unit_id)]
                    ),
                    latest.note if latest else "",
                    reporter(latest) if latest else "",
                    local_naive(latest.created_at, zone) if latest else None,
                    sent.get((task.id, unit_id), 0),
                    plan_of_task[task.id],
                    carries.get(task.id, ""),
                )
            )
    ledger.finish()

    sheet = _Sheet(workbook.create_sheet(SHEET_REPORTS), REPORT_HEADERS)
    sheet.comment("反馈时间", f"{zone.key} 本地时间（Excel 不保存时区）")
    corrected = {r.corrects_id for r in reports if r.corrects_id is not None}
    files_of = repo.evidence_of_reports(session, report_ids=[r.id or 0 for r in reports])

    def evidence_cells(report: StatusReport) -> tuple[str, str, str]:
        """Type, name and size of each of the report's files, one line per file."""
        files = files_of.get(report.id or 0, [])
        if not files:  # a report stored before evidence files were kept
            kind = report.evidence_kind or ""
            return EVIDENCE_LABEL.get(kind, kind), report.evidence_file_name or "", ""
        return (
            "\n".join(EVIDENCE_LABEL.get(f.kind, f.kind) for f in files),
            "\n".join(f.file_name for f in files),
            "\n".join(size_text(f.size) for f in files),
        )

    for report in reports:
        if report.id in corrected:
            continue  # shown once, as its correction (更正)
        sheet.append(
            (
                local_naive(report.created_at, zone)
                if report.occurred_on is None
                else datetime.combine(report.occurred_on, time(0)),
                task_numbers.get(report.task_id, report.task_id),
                unit_name(report.unit_id),
                status_text(report.status) + (CORRECTED if report.corrects_id else ""),
                report.note,
                *evidence_cells(report),
                reporter(report),
                report.reporter_user_id,
                SOURCE_LABEL.get(report.source, report.source),
                plan_of_task.get(report.task_id, ""),
            )
        )
    sheet.finish(id_columns=("反馈人ID",))

    audit = _Sheet(workbook.create_sheet(SHEET_AUDIT), AUDIT_HEADERS)
    audit.comment("时间", f"{zone.key} 本地时间（Excel 不保存时区）")
    audit.comment("操作人ID", "Telegram 用户 ID；0 表示系统自动操作")
    numbers_by_id = {t.id: t.number for t in state.tasks}
    plan_by_id = {t.id: t.plan_id for t in state.tasks}

    def task_subject(number: object, plan_id: object) -> str:
        """第N项, with its plan's 【简称】 before it when several plans are loaded."""
        label = plan_names.get(int(str(plan_id))) if str(plan_id).isdigit() else None
        text = TASK_SUBJECT.format(number=number)
        return f"【{label}】{text}" if label and len(plan_names) > 1 else text

    def plan_tag(name: str | None) -> str:
        """【简称】 before a task when the workbook holds several plans."""
        return f"【{name}】" if name and len(state.plans) > 1 else ""

    def subject_text(subject: str) -> str:
        """A subject as people say it: 第N项, a unit's name, a contact by name and unit."""
        parts = subject.split(":")
        if subject == "plan":
            return PLAN_SUBJECT
        if parts[0] == "plan" and len(parts) == 2:
            return f"{PLAN_SUBJECT}（{parts[1]}）"
        task = repo.parse_task_subject(subject)
        if task is not None:
            return plan_tag(task[0]) + TASK_SUBJECT.format(number=task[1])
        if parts[0] == "unit" and len(parts) >= 2:
            return subject.split(":", 1)[1]
        if parts[0] == "indicator" and len(parts) == 3:
            return plan_tag(parts[1]) + INDICATOR_SUBJECT.format(number=parts[2])
        if parts[0] == "hold" and len(parts) == 2:
            return HOLD_SUBJECT.format(id=parts[1])
        if parts[0] == "coordination" and len(parts) == 2:
            return COORDINATION_SUBJECT.format(id=parts[1])
        if parts[0] == "extension" and len(parts) in (4, 5):
            task = repo.parse_task_subject(":".join(parts[2:]))
            if task is not None:
                label = plan_tag(task[0]) + TASK_SUBJECT.format(number=task[1])
                return EXTENSION_SUBJECT.format(task=label, id=parts[1])
        if parts[0] == "task_id" and len(parts) == 4 and parts[1].isdigit() and parts[3].isdigit():
            number = numbers_by_id.get(int(parts[1]), parts[1])
            plan_id = plan_by_id.get(int(parts[1]), "")
            return f"{task_subject(number, plan_id)} {unit_name(int(parts[3]))}"
        if parts[0] == "contact" and len(parts) == 2 and parts[1].isdigit():
            contact = contacts.get(int(parts[1]))
            if contact is not None:
                return CONTACT_SUBJECT.format(
                    name=contact.display_name, unit=unit_name(contact.unit_id)
                )
        return subject

    def value_text(value: str | None) -> str:
        """A before/after value in Chinese: statuses by label, instants in local time."""
        if not value:
            return ""
        if value in REVIEW_VALUE_LABEL:
            return REVIEW_VALUE_LABEL[value]
        try:
            return status_labels[Status(value)]
        except ValueError:
            pass
        if "T" in value:
            try:
                instant = datetime.fromisoformat(value)
            except ValueError:
                return value
            if instant.tzinfo is not None:
                return local_naive(instant, zone).strftime("%Y-%m-%d %H:%M")
        return value

    def after_text(event: AuditEvent) -> str:
        """The value after the event; a hold's decision by label."""
        if event.action == "decide_hold" and event.after in HOLD_DECISION_LABEL:
            if event.actor_user_id == 0:
                return HOLD_LIFTED
            return HOLD_DECISION_LABEL[event.after]
        return value_text(event.after)

    for event in events:
        if event.actor_user_id == 0:
            actor = SYSTEM_ACTOR
        else:
            actor = contact_names.get(event.actor_user_id) or COORDINATOR_ACTOR
        audit.append(
            (
                local_naive(event.at, zone),
                actor,
                event.actor_user_id,
                ACTION_LABEL.get(event.action, event.action),
                subject_text(event.subject),
                value_text(event.before),
                after_text(event),
                REVIEW_REASON_LABEL.get(event.reason or "", event.reason or ""),
            )
        )
    audit.finish(id_columns=("操作人ID",))

    summary = LedgerSummary(ledger_rows=ledger.rows, reports=sheet.rows, audit_events=audit.rows)
    plans = repo.read_plans(session)
    _indicator_sheet(workbook, session, plans, now.astimezone(zone).date())
    _stats_sheet(
        workbook,
        [
            repo.plan_statistics(
                session,
                plan_id=p.id,
                zone=zone,
                default_day=cycle_day,
                as_of=now.astimezone(zone).date(),
                calendar=calendar or WeekdayCalendar(),
            )
            for p in plans
        ],
    )
    _coordination_sheet(workbook, session, zone, now)
    about = _Sheet(workbook.create_sheet(SHEET_ABOUT), ("项目", "内容"))
    plan_rows = [
        (
            f"规划（{p.label}）" if len(plans) > 1 else "规划",
            f"{p.title}（{p.document_number}）" if len(plans) > 1 else p.title,
        )
        for p in plans
    ]
    if len(plans) == 1:
        plan_rows.append(("文号", plans[0].document_number))
    for item, value in (
        *plan_rows,
        ("导出时间", local_naive(now, zone)),
        ("时区", f"{zone.key}：表中日期时间均为该时区的本地时间（Excel 不保存时区）"),
        ("任务数", len(state.tasks)),
        ("台账行数（任务×牵头单位）", summary.ledger_rows),
        ("反馈记录数", summary.reports),
        ("操作记录数", summary.audit_events),
    ):
        about.append((item, value))
    about.finish()

    workbook.properties.title = LEDGER_TITLE
    workbook.properties.creator = "taskbot"
    workbook.properties.created = now.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    return workbook, summary


def _indicator_sheet(
    workbook: Workbook, session: Session, plans: list[PlanView], today: date
) -> int:
    """Add the 主要指标 sheet (see the module docstring); return its row count."""
    years = sorted({year for plan in plans for year in period_years(plan)})
    sheet = _Sheet(
        workbook.create_sheet(SHEET_INDICATORS),
        (*INDICATOR_HEADERS, *(f"{year}年" for year in years), *INDICATOR_TAIL),
    )
    sheet.comment("完成情况", f"截至{today.year}年{today.month}月{today.day}日，按上一完整年度判断")
    for plan in plans:
        for row in indicator_rows(session, plan, today):
            sheet.append(
                (
                    row.plan,
                    row.number,
                    row.name_with_measure,
                    row.target,
                    row.attribute,
                    row.kind,
                    row.owner,
                    *(row.values.get(year) for year in years),
                    "\n".join(f"{year}年：{source}" for year, source in row.sources.items()),
                    row.status,
                )
            )
    sheet.finish()
    return sheet.rows


def _stats_sheet(workbook: Workbook, plans: list[tuple[PlanView, PlanStats]]) -> int:
    """Add the 统计 sheet (see the module docstring); return its row count."""
    sheet = _Sheet(workbook.create_sheet(SHEET_STATS), STATS_HEADERS)
    if plans:
        sheet.comment(
            "范围",
            f"截至{plans[0][1].as_of.year}年{plans[0][1].as_of.month}月"
            f"{plans[0][1].as_of.day}日；超期办结：完成晚于调整后期限（批量调整不计）",
        )
    for plan, stats in plans:
        groups = [(STATS_TASKS, stats.tasks), (STATS_PAIRS, stats.pairs)]
        groups += [(unit, stats.units[unit]) for unit in stats.unit_order()]
        for name, counts in groups:
            f = counts.figures()
            sheet.append(
                (
                    plan.label,
                    name,
                    f["total"],
                    f["accepted"],
                    f["done_rate"],
                    f["on_time"],
                    f["on_time_rate"],
                    f["on_time_original"],
                    f["on_time_original_rate"],
                    f["overdue_done"],
                    f["open_overdue"],
                    f["returns"],
                    *(
                        ()
                        if name == STATS_TASKS
                        else (
                            f["reports"],
                            f["reporting_cycles"],
                            f["reports_per_cycle"],
                            f["reminders"],
                            f["avg_working_days_reminder_to_report"],
                            f["reminders_before_report"],
                        )
                    ),
                )
            )
        for number, unit in stats.late:
            sheet.append((plan.label, f"{STATS_LATE.format(number=number)}　{unit}"))
    for header in STATS_RATE_COLUMNS:
        column = STATS_HEADERS.index(header) + 1
        for (cell,) in sheet.ws.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = PERCENT_FORMAT
    sheet.finish()
    return sheet.rows


SHEET_COORDINATION = "协调事项"
COORDINATION_HEADERS = (
    "编号",
    "计划",
    "序号",
    "提出单位",
    "需协调事项",
    "承办单位",
    "指派时间",
    "状态",
    "提出时间",
    "已开天数",
    "关闭时间",
    "关闭说明",
)
COORDINATION_STATE = {"open": "未办结", "closed": "已关闭"}
ACTION_LABEL.update(
    {
        "coordination.open": "登记协调事项",
        "coordination.add": "协调事项补充反馈",
        "coordination.assign": "指派协调事项",
        "coordination.ask_detail": "要求补充说明",
        "coordination.note": "协调事项回复",
        "coordination.close": "关闭协调事项",
    }
)


def _coordination_sheet(workbook: Workbook, session: Session, zone: ZoneInfo, now: datetime) -> int:
    """Add the 协调事项 sheet (see the module docstring); return its row count."""
    sheet = _Sheet(workbook.create_sheet(SHEET_COORDINATION), COORDINATION_HEADERS)
    today = now.astimezone(zone).date()
    views = {v.id: v for v in repo.coordination.item_views(session, zone=zone, open_only=False)}
    for item in repo.coordination.all_items(session):
        view = views.get(item.id or 0)
        if view is None:
            continue
        sheet.append(
            (
                item.id,
                view.plan,
                view.task_number,
                view.raised_by,
                view.need,
                view.assigned_to or "",
                local_naive(item.assigned_at, zone) if item.assigned_at else None,
                COORDINATION_STATE.get(item.status, item.status),
                local_naive(item.created_at, zone),
                days_open(view.opened_on, today) if view.is_open else None,
                local_naive(item.closed_at, zone) if item.closed_at else None,
                item.closing_note or "",
            )
        )
    sheet.finish()
    return sheet.rows


def write_ledger(
    session: Session,
    target: Target,
    *,
    zone: ZoneInfo,
    now: datetime,
    status_labels: Mapping[Status, str],
    light_of: LightOf | None = None,
    calendar: WorkingCalendar | None = None,
    cycle_day: int = 25,
    review_of: ReviewOf | None = None,
) -> LedgerSummary:
    """Build the ledger (see `build_ledger`) and save it to a path or a binary file object.

    A file object is left open at its end; call `seek(0)` before reading it.
    """
    workbook, summary = build_ledger(
        session,
        zone=zone,
        now=now,
        status_labels=status_labels,
        light_of=light_of,
        calendar=calendar,
        cycle_day=cycle_day,
        review_of=review_of,
    )
    workbook.save(target)
    return summary

"""Render a schedule preview (`jobs.schedule.preview_messages`) for the command line
(`taskbot schedule`): the messages as they will be sent, per person per day with their tasks,
the coordinators' escalations and the digest.

`render_schedule` returns either a plain-text table with Chinese headers, aligned in terminal
cells (CJK characters take two), or a JSON array with English keys. The labels live here, not
in `bot/texts.py`: that module holds the HTML texts sent in chat, this output is plain text
printed to a terminal.
"""

from __future__ import annotations

import json as jsonlib
import unicodedata
from collections import Counter
from collections.abc import Iterable

from jobs.schedule import PlannedMessage, PlannedSend

KIND_LABEL: dict[str, str] = {
    "before": "提前提醒",
    "due": "到期提醒",
    "overdue": "逾期催办",
    "digest": "周报",
}
WEEKDAY_LABEL = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
DIGEST_TARGET = "残工委群"


MESSAGE_LABEL: dict[str, str] = {
    "reminders": "提醒",
    "undelivered": "不发送",
    "escalation": "升级督办",
    "digest": "周报",
}
COORDINATORS = "协调员"
LEADERS = "分管领导"
NO_CONTACT = "暂无可送达的联络员"


def planned_send_json(send: PlannedSend) -> dict[str, object]:
    """The JSON object of one reminder carried by a message (English keys).

    Dates are ISO strings; fields that do not apply are None; `plan` is the 简称 of the
    task's plan when several plans are active, else null."""
    return {
        "kind": send.kind,
        "task": send.task,
        "plan": send.plan or None,
        "unit": send.unit,
        "nominal_date": send.nominal.isoformat(),
        "deadline": send.deadline.isoformat() if send.deadline else None,
        "offset_days": send.offset_days,
    }


def planned_message_json(message: PlannedMessage) -> dict[str, object]:
    """The JSON object of one message in `render_schedule(..., json=True)` (English keys):
    date, time ("HH:MM", local), kind (reminders, undelivered, escalation, digest), to (the
    contact's name), unit, contact (id), reminders (`planned_send_json` each), escalated
    ([task, unit] pairs), without_contact (unit names) and period (the digest's ISO week)."""
    return {
        "date": message.date.isoformat(),
        "time": message.time.strftime("%H:%M"),
        "kind": message.kind,
        "to": message.to,
        "unit": message.unit,
        "contact": message.contact,
        "reminders": [planned_send_json(p) for p in message.sends],
        "escalated": [list(pair) for pair in message.escalated],
        "without_contact": list(message.without_contact),
        "period": message.period,
    }


def _width(text: str) -> int:
    """Terminal columns of `text`: wide and full-width characters (CJK) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def _reminder_line(send: PlannedSend) -> str:
    assert send.deadline is not None and send.offset_days is not None
    tag = f"【{send.plan}】" if send.plan else ""
    parts = [
        f"{tag}第{send.task}项",
        KIND_LABEL[send.kind],
        f"完成时限 {send.deadline.isoformat()}",
    ]
    if send.kind == "before":
        parts.append(f"提前{send.offset_days}天")
    elif send.kind == "overdue":
        parts.append(f"逾期{send.offset_days}天")
    if send.moved:
        parts.append(f"原定 {send.nominal.isoformat()} 非工作日，顺延")
    return "，".join(parts)


def _head(message: PlannedMessage) -> tuple[str, str]:
    """The recipient and the summary of a message."""
    if message.kind == "reminders":
        return f"{message.to}（{message.unit}）", f"{len(message.sends)}项任务"
    if message.kind == "undelivered":
        return NO_CONTACT, f"{len(message.sends)}项提醒不会发出"
    if message.kind == "escalation":
        who = LEADERS if message.to == "leaders" else COORDINATORS
        return who, f"{len(message.escalated)}项逾期"
    return DIGEST_TARGET, f"{message.period} 周报"


def _by_unit(pairs: Iterable[tuple[int, str]]) -> dict[str, list[str]]:
    """Task numbers by unit name, in order of appearance."""
    found: dict[str, list[str]] = {}
    for number, unit in pairs:
        found.setdefault(unit, []).append(str(number))
    return found


def _details(message: PlannedMessage) -> list[str]:
    if message.kind == "reminders":
        return [_reminder_line(p) for p in message.sends]
    if message.kind == "undelivered":  # one line per unit: 区民政局：第2、5项
        return [
            f"{unit}：第{'、'.join(n)}项"
            for unit, n in _by_unit((p.task or 0, p.unit or "") for p in message.sends).items()
        ]
    if message.kind == "escalation":
        lines = [
            f"{unit}：第{'、'.join(numbers)}项"
            for unit, numbers in _by_unit(message.escalated).items()
            if unit not in message.without_contact
        ]
        if message.without_contact:
            lines.append("未登记联络员：" + "、".join(message.without_contact))
        return lines
    return []


HELD_LINE = (
    "督办暂停中：逾期催办、升级督办和周报要等协调员在聊天中决定（/backlog）后才发送，下表未列出。"
)


def render_schedule(planned: list[PlannedMessage], json: bool = False, held: bool = False) -> str:
    """Render a preview of messages (`jobs.schedule.preview_messages`) as plain text, one
    line per message (date, time, kind, recipient, summary) with its tasks indented below,
    or as a JSON array (`planned_message_json`). With `held`, the text starts with a line
    saying what the held follow-up leaves out (the JSON has no such line)."""
    if json:
        return jsonlib.dumps(
            [planned_message_json(p) for p in planned], ensure_ascii=False, indent=2
        )
    head = [HELD_LINE] if held else []
    if not planned:
        return "\n".join([*head, "该时间段内没有要发送的提醒或周报。"])
    header = ("日期", "时间", "类型", "收件人", "内容")
    rows = [
        (
            f"{p.date.isoformat()} {WEEKDAY_LABEL[p.date.weekday()]}",
            p.time.strftime("%H:%M"),
            MESSAGE_LABEL[p.kind],
            *_head(p),
        )
        for p in planned
    ]
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = list(head)
    for row, message in zip([header, *rows], [None, *planned], strict=True):
        cells = [_pad(cell, widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
        if message is not None:
            lines.extend(f"    · {detail}" for detail in _details(message))
    count = Counter(p.kind for p in planned)
    undelivered = sum(len(p.sends) for p in planned if p.kind == "undelivered")
    lines.append("")
    lines.append(
        f"共 {len(planned) - count['undelivered']} 条消息：提醒 {count['reminders']} 条，"
        f"升级督办 {count['escalation']} 条，周报 {count['digest']} 次；"
        f"另有 {undelivered} 项提醒的单位暂无联络员，不会发出。"
    )
    return "\n".join(lines)

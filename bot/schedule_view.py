"""Render a schedule preview (`jobs.schedule.preview`) for the command line (`taskbot schedule`).

`render_schedule` returns either a plain-text table with Chinese headers, aligned in terminal
cells (CJK characters take two), or a JSON array with English keys. The labels live here, not
in `bot/texts.py`: that module holds the HTML texts sent in chat, this output is plain text
printed to a terminal.
"""

from __future__ import annotations

import json as jsonlib
import unicodedata

from jobs.schedule import PlannedSend

KIND_LABEL: dict[str, str] = {
    "before": "提前提醒",
    "due": "到期提醒",
    "overdue": "逾期催办",
    "digest": "周报",
}
WEEKDAY_LABEL = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
DIGEST_TARGET = "残工委群"


def planned_send_json(send: PlannedSend) -> dict[str, object]:
    """The JSON object of one send in `render_schedule(..., json=True)` (English keys).

    Dates are ISO strings, the time is "HH:MM" (local); fields that do not apply are None.
    """
    return {
        "date": send.date.isoformat(),
        "time": send.time.strftime("%H:%M"),
        "kind": send.kind,
        "task": send.task,
        "unit": send.unit,
        "contacts": send.contacts,
        "nominal_date": send.nominal.isoformat(),
        "deadline": send.deadline.isoformat() if send.deadline else None,
        "offset_days": send.offset_days,
        "period": send.period,
    }


def _width(text: str) -> int:
    """Terminal columns of `text`: wide and full-width characters (CJK) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - _width(text), 0)


def _remark(send: PlannedSend) -> str:
    parts: list[str] = []
    if send.kind == "digest":
        parts.append(f"{send.period} 周报")
    else:
        assert send.deadline is not None and send.offset_days is not None
        parts.append(f"完成时限 {send.deadline.isoformat()}")
        if send.kind == "before":
            parts.append(f"提前{send.offset_days}天")
        elif send.kind == "overdue":
            parts.append(f"逾期{send.offset_days}天")
    if send.moved:
        parts.append(f"原定 {send.nominal.isoformat()} 非工作日，顺延")
    if send.contacts == 0:
        parts.append("该单位暂无可送达的联络员，不会发出")
    return "，".join(parts)


def render_schedule(planned: list[PlannedSend], json: bool = False) -> str:
    """Render a preview as a plain-text table with Chinese headers, or as a JSON array.

    JSON objects have the keys date, time, kind, task, unit, contacts (plus nominal_date,
    deadline, offset_days and period); digests have task, unit and contacts null.
    """
    if json:
        return jsonlib.dumps([planned_send_json(p) for p in planned], ensure_ascii=False, indent=2)
    if not planned:
        return "该时间段内没有要发送的提醒或周报。"
    header = ("日期", "时间", "类型", "任务", "单位", "联络员", "说明")
    rows = [
        (
            f"{p.date.isoformat()} {WEEKDAY_LABEL[p.date.weekday()]}",
            p.time.strftime("%H:%M"),
            KIND_LABEL[p.kind],
            "" if p.task is None else str(p.task),
            DIGEST_TARGET if p.kind == "digest" else (p.unit or ""),
            "" if p.contacts is None else str(p.contacts),
            _remark(p),
        )
        for p in planned
    ]
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [_pad(cell, widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    reminders = [p for p in planned if p.kind != "digest"]
    unreachable = sum(1 for p in reminders if p.contacts == 0)
    messages = sum(p.contacts or 0 for p in reminders)
    digests = len(planned) - len(reminders)
    lines.append("")
    lines.append(
        f"共 {len(reminders)} 项提醒（{messages} 条消息；其中 {unreachable} 项单位暂无联络员），"
        f"周报 {digests} 次。"
    )
    return "\n".join(lines)

"""Turn domain data into Telegram HTML messages (texts from `bot/texts.py`).

Every dynamic piece (task texts, unit names, notes, user names) goes through `esc`. Long
messages are split on line boundaries by `split_lines` into parts that each stay within
Telegram's limit of 4096 characters per message (Bot API, sendMessage `text`) and are valid
HTML on their own: a line never opens a tag it does not close.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot import texts
from jobs.digest import Digest, TaskLine
from jobs.types import Status

TELEGRAM_TEXT_LIMIT = 4096  # Bot API: 1-4096 characters after entity parsing
DIGEST_TEXT_CHARS = 40  # task text shown in digest lists, in characters
DIGEST_NOTE_CHARS = 80  # note shown in the digest, in characters
UNIT_NAME_CHARS = 60  # unit names in digest lines, in characters


def esc(value: object) -> str:
    """Escape any value for Telegram HTML (&, <, > and quotes)."""
    return html.escape(str(value), quote=True)


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """Collapse whitespace runs to one space and cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def fmt_date(day: date) -> str:
    """Format a date the Chinese way: 2025年12月31日."""
    return f"{day.year}年{day.month}月{day.day}日"


def fmt_instant(instant: datetime, zone: ZoneInfo) -> str:
    """Format an aware instant in `zone` as 2025-12-17 09:30."""
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def when_text(days_left: int) -> str:
    """Say how far a deadline is: 还有 N 天 / 今天到期 / 已逾期 N 天."""
    if days_left > 0:
        return texts.DAYS_LEFT.format(days=days_left)
    if days_left == 0:
        return texts.DUE_TODAY
    return texts.DAYS_OVERDUE.format(days=-days_left)


def status_label(status: Status | None) -> str:
    """Chinese label of a status (未开始 for None)."""
    return texts.STATUS_LABEL[status or Status.NOT_STARTED]


def split_lines(lines: Sequence[str], *, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Pack HTML lines into messages joined by newlines, each at most `limit` UTF-16 units.

    Each line must be valid HTML by itself. A line longer than `limit` raises `ValueError`
    (callers clip dynamic text so this cannot happen).
    """
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        length = telegram_length(line)
        if length > limit:
            raise ValueError(f"a single line of {length} characters exceeds {limit}")
        extra = length + (1 if current else 0)
        if current and size + extra > limit:
            parts.append("\n".join(current))
            current, size = [], 0
            extra = length
        current.append(line)
        size += extra
    if current:
        parts.append("\n".join(current))
    return [p for p in parts if p.strip()]


def _task_line(line: TaskLine, template: str) -> str:
    return template.format(
        number=line.number,
        text=esc(clip(line.text, DIGEST_TEXT_CHARS)),
        units=esc(clip("、".join(line.lead_units), 3 * UNIT_NAME_CHARS)),
        deadline=fmt_date(line.deadline),
        when=when_text(line.days_left),
    )


def digest_lines(digest: Digest, zone: ZoneInfo) -> list[str]:
    """Return the digest as HTML lines (each valid alone), in reading order."""
    lines = [texts.DIGEST_TITLE]
    if digest.plan_title:
        lines.append(texts.DIGEST_PLAN.format(plan=esc(digest.plan_title)))
    lines.append(
        texts.DIGEST_PERIOD.format(
            start=fmt_date(digest.period_start),
            end=fmt_date(digest.period_end),
            total=digest.task_count,
        )
    )
    counts = "，".join(
        f"{texts.STATUS_LABEL[s]} {digest.counts.get(s, 0)}"
        for s in (Status.DONE, Status.IN_PROGRESS, Status.BLOCKED, Status.NOT_STARTED)
    )
    lines.append(texts.DIGEST_COUNTS.format(counts=counts))
    lines.append(texts.DIGEST_NEW_REPORTS.format(count=len(digest.new_reports)))
    sections: list[tuple[str, Iterable[TaskLine], str]] = [
        (
            texts.DIGEST_OVERDUE.format(count=len(digest.overdue)),
            digest.overdue,
            texts.DIGEST_TASK_LINE,
        ),
        (
            texts.DIGEST_DUE_SOON.format(days=14, count=len(digest.due_soon)),
            digest.due_soon,
            texts.DIGEST_TASK_LINE,
        ),
        (
            texts.DIGEST_NO_REPORT.format(count=len(digest.no_report)),
            digest.no_report,
            texts.DIGEST_NO_REPORT_LINE,
        ),
    ]
    for header, items, template in sections:
        lines.append("")
        lines.append(header)
        rendered = [_task_line(item, template) for item in items]
        lines.extend(rendered or [texts.DIGEST_NONE])
    lines.append("")
    lines.append(texts.DIGEST_ROWS)
    for row in digest.rows:
        note = clip(row.note, DIGEST_NOTE_CHARS) if row.note else ""
        lines.append(
            texts.DIGEST_ROW.format(
                icon=texts.STATUS_ICON[row.status],
                number=row.task_number,
                unit=esc(clip(row.unit_name, UNIT_NAME_CHARS)),
                status=texts.STATUS_LABEL[row.status],
                note=texts.DIGEST_ROW_NOTE.format(note=esc(note)) if note else "",
                at=texts.DIGEST_ROW_AT.format(at=fmt_instant(row.reported_at, zone))
                if row.reported_at
                else "",
            )
        )
    lines.append("")
    lines.append(texts.DIGEST_NO_CONTACT.format(count=len(digest.units_without_contact)))
    names = [esc(clip(name, UNIT_NAME_CHARS)) for name in digest.units_without_contact]
    lines.extend(wrap_list(names) or [texts.DIGEST_NONE])
    if digest.units_unreachable:
        lines.append(texts.DIGEST_UNREACHABLE.format(count=len(digest.units_unreachable)))
        lines.extend(wrap_list([esc(clip(n, UNIT_NAME_CHARS)) for n in digest.units_unreachable]))
    return lines


def wrap_list(items: Sequence[str], *, width: int = 1000, sep: str = "、") -> list[str]:
    """Join `items` with `sep` into lines of at most about `width` characters each."""
    lines: list[str] = []
    current = ""
    for item in items:
        candidate = f"{current}{sep}{item}" if current else item
        if current and len(candidate) > width:
            lines.append(current)
            candidate = item
        current = candidate
    if current:
        lines.append(current)
    return lines


DIGEST_LIST_CAP = 20  # items per digest list; the rest are counted and left to /export


def _capped(items: list[str]) -> list[str]:
    if len(items) <= DIGEST_LIST_CAP:
        return items or [texts.DIGEST_NONE]
    rest = len(items) - DIGEST_LIST_CAP
    return [*items[:DIGEST_LIST_CAP], texts.DIGEST_MORE.format(count=rest)]


def short_digest_lines(digest: Digest, zone: ZoneInfo) -> list[str]:
    """The weekly digest as committee members read it: lights, what changed, what needs
    attention; the full per-task list is left to /task, /unit and the ledger (/export)."""
    lines = [texts.DIGEST_TITLE]
    if digest.plan_title:
        lines.append(texts.DIGEST_PLAN.format(plan=esc(digest.plan_title)))
    lines.append(
        texts.DIGEST_PERIOD.format(
            start=fmt_date(digest.period_start),
            end=fmt_date(digest.period_end),
            total=digest.task_count,
        )
    )
    lines.append(
        texts.DIGEST_LIGHTS.format(**{light.value: n for light, n in digest.light_counts.items()})
    )
    lines.append(texts.DIGEST_LEGEND)
    counts = "，".join(
        f"{texts.STATUS_LABEL[s]} {digest.counts.get(s, 0)}"
        for s in (Status.DONE, Status.IN_PROGRESS, Status.BLOCKED, Status.NOT_STARTED)
    )
    lines.append(texts.DIGEST_COUNTS.format(counts=counts))
    lines += ["", texts.DIGEST_CHANGES.format(count=len(digest.changes))]
    changes = []
    for change in digest.changes:
        note = clip(change.note, DIGEST_NOTE_CHARS)
        what = (
            texts.DIGEST_CHANGE_STATUS.format(
                before=texts.STATUS_LABEL[change.before], after=texts.STATUS_LABEL[change.after]
            )
            if change.after is not None
            else texts.DIGEST_CHANGE_NOTE
        )
        changes.append(
            texts.DIGEST_CHANGE.format(
                number=change.task_number,
                unit=esc(clip(change.unit_name, UNIT_NAME_CHARS)),
                what=what,
                note=texts.DIGEST_ROW_NOTE.format(note=esc(note)) if note else "",
            )
        )
    lines += _capped(changes)
    if digest.newly_overdue:
        lines += ["", texts.DIGEST_NEWLY_OVERDUE.format(count=len(digest.newly_overdue))]
        lines += _capped([_task_line(t, texts.DIGEST_TASK_LINE) for t in digest.newly_overdue])
    for header, items in (
        (texts.DIGEST_RED.format(count=len(digest.red)), digest.red),
        (texts.DIGEST_YELLOW.format(count=len(digest.yellow)), digest.yellow),
    ):
        lines += ["", header]
        lines += _capped(
            [
                texts.DIGEST_LIGHT_LINE.format(
                    number=item.number,
                    text=esc(clip(item.text, DIGEST_TEXT_CHARS)),
                    units=esc(clip("、".join(item.units), 3 * UNIT_NAME_CHARS)),
                    when=texts.STATUS_LABEL[Status.BLOCKED]
                    if item.blocked and item.days_left >= 0
                    else when_text(item.days_left),
                )
                for item in items
            ]
        )
    lines += ["", texts.DIGEST_SILENT.format(count=len(digest.silent))]
    lines += _capped(
        [
            texts.DIGEST_SILENT_LINE.format(
                unit=esc(clip(unit, UNIT_NAME_CHARS)),
                numbers="、".join(str(n) for n in numbers[:30])
                + ("等" if len(numbers) > 30 else ""),
            )
            for unit, numbers in digest.silent
        ]
    )
    if digest.member_rollup:
        lines += ["", texts.DIGEST_MEMBERS]
        lines += _capped(
            [
                texts.DIGEST_MEMBERS_LINE.format(
                    number=number, unit=esc(unit), done=done, total=total
                )
                for number, unit, done, total in digest.member_rollup
            ]
        )
    lines.append("")
    lines.append(texts.DIGEST_NO_CONTACT.format(count=len(digest.units_without_contact)))
    names = [esc(clip(name, UNIT_NAME_CHARS)) for name in digest.units_without_contact]
    lines.extend(wrap_list(names) or [texts.DIGEST_NONE])
    if digest.units_unreachable:
        lines.append(texts.DIGEST_UNREACHABLE.format(count=len(digest.units_unreachable)))
        lines.extend(wrap_list([esc(clip(n, UNIT_NAME_CHARS)) for n in digest.units_unreachable]))
    lines += ["", texts.DIGEST_FOOTER]
    return lines


def render_digest(digest: Digest, zone: ZoneInfo, *, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Render a digest into one or more HTML messages, each within `limit` and valid alone.

    A digest built with traffic lights gets the short form (`short_digest_lines`); one built
    without them lists every task and lead unit (`digest_lines`). Parts after the first start
    with a "（续 i/n）" marker line.
    """
    lines = short_digest_lines(digest, zone) if digest.light_counts else digest_lines(digest, zone)
    marker_room = telegram_length(texts.DIGEST_CONTINUED.format(part=999, parts=999)) + 1
    parts = split_lines(lines, limit=limit - marker_room)
    if len(parts) == 1:
        return parts
    return [
        part
        if i == 0
        else texts.DIGEST_CONTINUED.format(part=i + 1, parts=len(parts)) + "\n" + part
        for i, part in enumerate(parts)
    ]

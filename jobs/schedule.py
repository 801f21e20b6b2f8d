"""What the bot will send, and when: the weekly digest's due rule and a dry-run preview.

`digest_due(now, schedule, calendar)` is the working-day aware rule of the weekly digest: the
digest of ISO week W is nominally due on W's configured weekday at the configured time; when
that day is not a working day it goes out on the next working day at the same time (a Monday
digest on a holiday Monday goes out on the next working day, e.g. Thursday 2026-10-08 after
the National Day holiday). It keeps the key of its nominal week ("2026-W41"), so the ledger
still holds one digest per nominal week. It stays due, on working days, until the end of the
ISO week of its send day, so a digest missed while the bot was down goes out late, once; when
two weeks' digests fall due on the same day (the 2026 Spring Festival holiday covers two
Mondays) only the newer one goes out. On a non-working day nothing is due.

`preview(start, end, ...)` lists every reminder and digest the bot would send between two
local dates if it ran the whole time with the given state, using the same pure functions as
the tick (`jobs.policy.current_occasion`, `digest_due`'s send-day rule), so the preview and
the real sends cannot disagree. `render_schedule` prints it as a Chinese table or as JSON.

Nothing here reads the clock, the database or Telegram.
"""

from __future__ import annotations

import datetime as dt
import json as jsonlib
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from jobs.calendar import MAX_SEARCH_DAYS, WorkingCalendar, next_working_day
from jobs.policy import DigestSchedule, Occasion, ReminderPolicy, current_occasion
from jobs.state import FollowUpState
from jobs.types import ReminderKind, Status

# a nominal digest day moves at most MAX_SEARCH_DAYS days: look back that many weeks at most
MAX_WEEKS_BACK = MAX_SEARCH_DAYS // 7 + 2

SendKind = Literal["before", "due", "overdue", "digest"]

KIND_LABEL: dict[str, str] = {
    "before": "提前提醒",
    "due": "到期提醒",
    "overdue": "逾期催办",
    "digest": "周报",
}
_REMINDER_KIND: dict[ReminderKind, SendKind] = {
    ReminderKind.BEFORE: "before",
    ReminderKind.DUE: "due",
    ReminderKind.OVERDUE: "overdue",
}
WEEKDAY_LABEL = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
DIGEST_TARGET = "残工委群"


def _week_key(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def digest_nominal_day(monday: dt.date, schedule: DigestSchedule) -> dt.date:
    """Return the configured weekday (ISO, 1 = Monday) of the week starting on `monday`."""
    return monday + dt.timedelta(days=schedule.weekday - 1)


def digest_send_day(nominal: dt.date, calendar: WorkingCalendar) -> dt.date:
    """Return the day a digest nominally due on `nominal` goes out: the next working day."""
    return next_working_day(calendar, nominal)


def digest_due(now: dt.datetime, schedule: DigestSchedule, calendar: WorkingCalendar) -> str | None:
    """Return the ISO week key ("2026-W41") of the weekly digest due at `now`, or None.

    The key is that of the digest's nominal week. Due from its send day (the nominal day, or
    the next working day after it) at `schedule.at`, on working days, until the end of the ISO
    week of the send day; of two digests sent on the same day the newer week wins. Unlike
    `jobs.policy.digest_period_due`, nothing is due on a non-working day.
    Raises `ValueError` if `now` is naive.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(schedule.zone)
    today = local.date()
    if not calendar.is_working_day(today):
        return None
    this_monday = _monday(today)
    for back in range(MAX_WEEKS_BACK):
        nominal = digest_nominal_day(this_monday - dt.timedelta(weeks=back), schedule)
        send_on = digest_send_day(nominal, calendar)
        if send_on < this_monday:
            return None  # older weeks went out even earlier: nothing is due this week
        if (send_on, schedule.at) <= (today, local.time()):
            return _week_key(nominal)
    return None


@dataclass(frozen=True)
class PlannedSend:
    """One message the bot would send: a reminder to a lead unit's contacts, or the digest.

    `date`/`time` are local (the configured zone); `nominal` is the occasion's own day (or the
    digest's configured weekday) before a move to the next working day. For reminders, `task`,
    `unit`, `deadline` and `offset_days` are set and `contacts` counts the unit's reachable
    contacts (each gets one message; 0 means nobody would receive it: no contact registered or
    all unreachable). For the digest, `period` is the ISO week key and the others are None.
    """

    date: dt.date
    time: dt.time
    kind: SendKind
    nominal: dt.date
    task: int | None = None
    unit: str | None = None
    contacts: int | None = None
    deadline: dt.date | None = None
    offset_days: int | None = None
    period: str | None = None

    @property
    def moved(self) -> bool:
        """True when the nominal day was not a working day and the send moved later."""
        return self.nominal != self.date

    def as_json(self) -> dict[str, object]:
        """The JSON object of `render_schedule(..., json=True)` (English keys)."""
        return {
            "date": self.date.isoformat(),
            "time": self.time.strftime("%H:%M"),
            "kind": self.kind,
            "task": self.task,
            "unit": self.unit,
            "contacts": self.contacts,
            "nominal_date": self.nominal.isoformat(),
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "offset_days": self.offset_days,
            "period": self.period,
        }


def _reminder_sends(
    start: dt.date,
    end: dt.date,
    state: FollowUpState,
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
) -> list[tuple[tuple[object, ...], PlannedSend]]:
    reachable = Counter(c.unit_id for c in state.contacts if c.unreachable_reason is None)
    at = dt.time(policy.reminder_hour, 0)
    found: list[tuple[tuple[object, ...], PlannedSend]] = []
    day = start
    while day <= end:
        if calendar.is_working_day(day):
            occasions: dict[dt.date, Occasion | None] = {}
            for task in state.tasks:
                if task.deadline not in occasions:
                    occasions[task.deadline] = current_occasion(
                        task.deadline, day, policy, calendar
                    )
                occasion = occasions[task.deadline]
                # the tick sends the current occasion on its send day (later days find its key
                # in the ledger), so each occasion appears once, on its send day
                if occasion is None or occasion.send_on != day:
                    continue
                for position, unit_id in enumerate(task.lead_unit_ids):
                    if state.unit_status(task.id, unit_id) is Status.DONE:
                        continue
                    unit = state.units.get(unit_id)
                    send = PlannedSend(
                        date=day,
                        time=at,
                        kind=_REMINDER_KIND[occasion.kind],
                        nominal=occasion.nominal_on,
                        task=task.number,
                        unit=unit.name if unit else str(unit_id),
                        contacts=reachable.get(unit_id, 0),
                        deadline=task.deadline,
                        offset_days=occasion.offset_days,
                    )
                    found.append(((day, at, 0, task.number, position), send))
        day += dt.timedelta(days=1)
    return found


def planned_digests(
    start: dt.date, end: dt.date, schedule: DigestSchedule, calendar: WorkingCalendar
) -> list[PlannedSend]:
    """Return the weekly digests whose send day lies in [start, end], oldest first.

    A digest is listed on the day `digest_due` first returns its key at `schedule.at`.
    """
    found: list[PlannedSend] = []
    seen_days: set[dt.date] = set()
    monday = _monday(end)
    for _ in range((end - start).days // 7 + MAX_WEEKS_BACK):
        nominal = digest_nominal_day(monday, schedule)
        monday -= dt.timedelta(weeks=1)
        if nominal > end:
            continue
        send_on = digest_send_day(nominal, calendar)
        if send_on < start:
            break  # send days only get earlier from here on
        if send_on > end or send_on in seen_days:
            continue  # later than the range, or superseded by a newer week's digest
        seen_days.add(send_on)
        found.append(
            PlannedSend(
                date=send_on,
                time=schedule.at,
                kind="digest",
                nominal=nominal,
                period=_week_key(nominal),
            )
        )
    found.reverse()
    return found


def preview(
    start: dt.date,
    end: dt.date,
    state: FollowUpState,
    policy: ReminderPolicy,
    digest: DigestSchedule | None,
    calendar: WorkingCalendar,
) -> list[PlannedSend]:
    """List every reminder and weekly digest the bot would send from `start` to `end`.

    Both dates are local and inclusive. Reminders: one entry per occasion's send day, per
    task and lead unit that has not reported done, as of `state` (future reports are unknown)
    and assuming the bot runs throughout (an occasion missed while it is down goes out later).
    `digest` None (no committee group configured) lists no digests. Sorted by date, time,
    reminders before the digest (the tick sends them first), task number, unit order.
    Raises `ValueError` when `end` is before `start`.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    keyed = _reminder_sends(start, end, state, policy, calendar)
    if digest is not None:
        keyed.extend(
            ((send.date, send.time, 1, 0, 0), send)
            for send in planned_digests(start, end, digest, calendar)
        )
    keyed.sort(key=lambda pair: pair[0])
    return [send for _, send in keyed]


# ---------------------------------------------------------------- rendering


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
        return jsonlib.dumps([p.as_json() for p in planned], ensure_ascii=False, indent=2)
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

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
the real sends cannot disagree. `preview_messages` groups it as the messages go out: one per
contact and day with its tasks (`jobs.daily`), the coordinators' escalation message of each
day, and the digest. `bot.schedule_view.render_schedule` prints those for the command line.

Nothing here reads the clock, the database or Telegram.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

from jobs.calendar import MAX_SEARCH_DAYS, WorkingCalendar, next_working_day
from jobs.escalation import escalation_cases, escalation_key, leaders_escalation_key
from jobs.policy import DigestSchedule, Occasion, ReminderPolicy, current_occasion
from jobs.state import ContactView, FollowUpState, TaskView
from jobs.types import ReminderKind

# a nominal digest day moves at most MAX_SEARCH_DAYS days: look back that many weeks at most
MAX_WEEKS_BACK = MAX_SEARCH_DAYS // 7 + 2

SendKind = Literal["before", "due", "overdue", "digest"]

_REMINDER_KIND: dict[ReminderKind, SendKind] = {
    ReminderKind.BEFORE: "before",
    ReminderKind.DUE: "due",
    ReminderKind.OVERDUE: "overdue",
}


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
    week of the send day; of two digests sent on the same day the newer week wins. Nothing is
    due on a non-working day.
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


def digest_due_at(period: str, schedule: DigestSchedule, calendar: WorkingCalendar) -> dt.datetime:
    """Return the instant (aware, in `schedule.zone`) the digest of the nominal ISO week
    `period` ("2026-W41") fell due: its send day (`digest_send_day`) at `schedule.at`.
    Raises `ValueError` for a malformed key."""
    year, _, week = period.partition("-W")
    monday = dt.date.fromisocalendar(int(year), int(week), 1)
    send_on = digest_send_day(digest_nominal_day(monday, schedule), calendar)
    return dt.datetime.combine(send_on, schedule.at, schedule.zone)


def digest_before_first_start(
    period: str,
    first_start: dt.datetime | None,
    schedule: DigestSchedule,
    calendar: WorkingCalendar,
) -> bool:
    """Tell whether the digest of `period` fell due before the bot's first start (aware):
    a week before the bot existed, whose digest is never caught up. False when the first
    start is unknown."""
    return first_start is not None and digest_due_at(period, schedule, calendar) < first_start


@dataclass(frozen=True)
class PlannedSend:
    """One message the bot would send: a reminder to a lead unit's contacts, or the digest.

    `date`/`time` are local (the configured zone); `nominal` is the occasion's own day (or the
    digest's configured weekday) before a move to the next working day. For reminders, `task`,
    `unit`, `deadline` and `offset_days` are set (`plan`: the 简称 of the task's plan when
    several plans are active, else "") and `contacts` counts the unit's reachable
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
    plan: str = ""  # the task's plan's 简称 when several plans are active

    @property
    def moved(self) -> bool:
        """True when the nominal day was not a working day and the send moved later."""
        return self.nominal != self.date


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
                    if state.unit_claimed(task.id, unit_id):
                        continue
                    unit = state.units.get(unit_id)
                    send = PlannedSend(
                        date=day,
                        time=at,
                        kind=_REMINDER_KIND[occasion.kind],
                        nominal=occasion.nominal_on,
                        task=task.number,
                        plan=state.plan_label(task),
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


MessageKind = Literal["reminders", "undelivered", "escalation", "digest"]


@dataclass(frozen=True)
class PlannedMessage:
    """One message the bot would send on its own, as it goes out (`preview_messages`).

    - "reminders": a contact's message of the day (`contact`, its name `to`, `unit`), with the
      reminders it carries in `sends` (one per task; a single one goes out as a plain reminder);
    - "undelivered": the reminders of the day of units without a reachable contact (`sends`),
      which nobody receives;
    - "escalation": the coordinators' message of the day (`to` None), or the leaders' (`to`
      "leaders"), `escalated` holding (task number, unit name) of each case, the units
      without a contact in `without_contact`;
    - "digest": the weekly digest of `period` to the committee group.
    """

    date: dt.date
    time: dt.time
    kind: MessageKind
    to: str | None = None
    unit: str | None = None
    contact: int | None = None
    sends: tuple[PlannedSend, ...] = ()
    escalated: tuple[tuple[int, str], ...] = ()
    without_contact: tuple[str, ...] = ()
    period: str | None = None


def _escalation_messages(
    start: dt.date,
    end: dt.date,
    state: FollowUpState,
    calendar: WorkingCalendar,
    at: dt.time,
    after_working_days: int,
    escalated: Collection[str],
    key: Callable[[TaskView, int], str] = escalation_key,
    to: str | None = None,
) -> list[PlannedMessage]:
    reachable = {c.unit_id for c in state.contacts if c.unreachable_reason is None}
    sent = set(escalated)
    found: list[PlannedMessage] = []
    day = start
    while day <= end:
        if calendar.is_working_day(day):
            cases = [
                c
                for c in escalation_cases(
                    day, state, calendar, after_working_days=after_working_days, key=key
                )
                if c.key not in sent
            ]
            sent.update(c.key for c in cases)
            if cases:
                names = {c.unit_id: state.units[c.unit_id].name for c in cases}
                found.append(
                    PlannedMessage(
                        date=day,
                        time=at,
                        kind="escalation",
                        to=to,
                        escalated=tuple((c.task.number, names[c.unit_id]) for c in cases),
                        without_contact=tuple(
                            dict.fromkeys(
                                names[c.unit_id] for c in cases if c.unit_id not in reachable
                            )
                        ),
                    )
                )
        day += dt.timedelta(days=1)
    return found


def preview_messages(
    start: dt.date,
    end: dt.date,
    state: FollowUpState,
    policy: ReminderPolicy,
    digest: DigestSchedule | None,
    calendar: WorkingCalendar,
    *,
    escalate_after_working_days: int | None = None,
    escalated: Collection[str] = (),
    held: bool = False,
    escalate_leaders_after_working_days: int | None = None,
) -> list[PlannedMessage]:
    """List the messages the bot would send on its own from `start` to `end` (local,
    inclusive), as they go out: per day, one message per reachable contact with every task
    it is reminded of (`jobs.daily`), one "undelivered" entry with the reminders of units
    without a reachable contact, the coordinators' one escalation message of the day
    (`escalate_after_working_days` None: no coordinators, no escalations; cases whose ledger
    key is in `escalated` went out before), the leaders' one
    (`escalate_leaders_after_working_days` None: no leaders or the tier is off), and the
    weekly digest. Same assumptions as
    `preview`. Sorted by date, then contacts' messages (by unit and contact order), the
    undelivered reminders, the escalation, the digest. Raises `ValueError` when `end` is
    before `start`. With `held` (the follow-up is held, `jobs.hold`) the overdue reminders,
    the escalations and the digests are left out: they wait for a coordinator's decision."""
    planned = preview(start, end, state, policy, digest, calendar)
    if held:
        planned = [p for p in planned if p.kind not in ("overdue", "digest")]
        escalate_after_working_days = escalate_leaders_after_working_days = None
    by_unit: dict[int, list[ContactView]] = {}
    for c in state.contacts:
        if c.unreachable_reason is None:
            by_unit.setdefault(c.unit_id, []).append(c)
    unit_ids = {u.name: u.id for u in state.units.values()}
    keyed: list[tuple[tuple[object, ...], PlannedMessage]] = []
    per_contact: dict[tuple[dt.date, int], list[PlannedSend]] = {}
    nobody: dict[dt.date, list[PlannedSend]] = {}
    for send in planned:
        if send.kind == "digest":
            keyed.append(
                (
                    (send.date, 3, 0),
                    PlannedMessage(send.date, send.time, "digest", period=send.period),
                )
            )
            continue
        contacts = by_unit.get(unit_ids.get(send.unit or "", -1), [])
        if not contacts:
            nobody.setdefault(send.date, []).append(send)
        for c in contacts:
            per_contact.setdefault((send.date, c.id), []).append(send)
    contacts_by_id = {c.id: c for c in state.contacts}
    at = dt.time(policy.reminder_hour, 0)
    for (day, contact_id), sends in per_contact.items():
        c = contacts_by_id[contact_id]
        unit = state.units.get(c.unit_id)
        keyed.append(
            (
                (day, 0, c.unit_id, contact_id),
                PlannedMessage(
                    day,
                    at,
                    "reminders",
                    to=c.display_name,
                    unit=unit.name if unit else None,
                    contact=contact_id,
                    sends=tuple(sorted(sends, key=lambda p: p.task or 0)),
                ),
            )
        )
    for day, sends in nobody.items():
        keyed.append(((day, 1, 0), PlannedMessage(day, at, "undelivered", sends=tuple(sends))))
    if escalate_after_working_days is not None:
        keyed.extend(
            ((m.date, 2, 0), m)
            for m in _escalation_messages(
                start, end, state, calendar, at, escalate_after_working_days, escalated
            )
        )
    if escalate_leaders_after_working_days is not None:
        keyed.extend(
            ((m.date, 2, 1), m)
            for m in _escalation_messages(
                start,
                end,
                state,
                calendar,
                at,
                escalate_leaders_after_working_days,
                escalated,
                leaders_escalation_key,
                "leaders",
            )
        )
    keyed.sort(key=lambda pair: pair[0])
    return [m for _, m in keyed]

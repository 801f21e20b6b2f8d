"""One unsolicited message per person per working day: pure grouping of what is due.

The tick finds what is due at an instant (`jobs.policy.reminder_candidates`,
`jobs.escalation.nudges_due`, `jobs.escalation.escalation_cases`) and this module groups it
into the messages that go out:

- `daily_messages`: per contact, every reminder due and the reporting-cycle nudge, if any,
  in ONE message (`DailyMessage`), known in the send ledger by `daily_key` (the contact and
  the local day). A contact whose daily message of the day is already claimed gets nothing
  more that day: what became due after it waits for the next working day (the per-task keys
  are not settled, so the next day's tick finds them again, unless a newer occasion
  superseded them). A message of more than `DAILY_TASKS_PER_PART` tasks goes out in parts
  (`split_daily`), one logical message of the day: the parts share the day's ledger row.
- `escalation_day`: the coordinators' escalations of the day as ONE message
  (`EscalationDay`, key `coordinators_key`), grouped by lead unit; the units without a
  contact are one line.

Each item keeps its own ledger key (reminder, nudge, escalation); the shell claims the
message's key and the items' keys in one transaction and settles them together, so a restart
never sends twice and an item already sent on its own is never resent.

Nothing here reads the clock, the database or Telegram: the local day is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from jobs.escalation import EscalationCase, Nudge
from jobs.policy import DueReminder
from jobs.state import ContactView, FollowUpState


def daily_key(contact_id: int, day: date) -> str:
    """The send ledger key of a contact's message of a day: "daily:<contact id>:<date>"."""
    return f"daily:{contact_id}:{day.isoformat()}"


def coordinators_key(day: date) -> str:
    """The send ledger key of the coordinators' one unsolicited message of a day (the day's
    escalations, or a calendar warning): "coordinators:<date>"."""
    return f"coordinators:{day.isoformat()}"


def leaders_key(day: date) -> str:
    """The send ledger key of the leaders' one unsolicited message of a day (the leaders'
    tier of escalations): "leaders:<date>"."""
    return f"leaders:{day.isoformat()}"


@dataclass(frozen=True)
class DailyMessage:
    """What one contact gets on `day`: the reminders due (in task order) and the nudge of the
    reporting cycle, if due. `key` is `daily_key`.

    A message sent in parts (`split_daily`) is part `part` of `parts`; `total` is then the
    number of reminders of the whole message (None: this message is whole)."""

    key: str
    day: date
    contact: ContactView
    reminders: tuple[DueReminder, ...]
    nudge: Nudge | None = None
    part: int = 1
    parts: int = 1
    total: int | None = None

    @property
    def reminder_count(self) -> int:
        """How many reminders the whole message of the day carries (all its parts)."""
        return self.total if self.total is not None else len(self.reminders)

    @property
    def item_keys(self) -> list[str]:
        """The ledger keys of the items the message carries (reminders, then the nudge)."""
        keys = [r.key for r in self.reminders]
        if self.nudge is not None:
            keys.append(self.nudge.key)
        return keys

    @property
    def single(self) -> DueReminder | None:
        """The reminder when it is the only one the message carries (sent as a plain
        reminder, with the nudge's line below it when there is one); never for a part of a
        message sent in parts."""
        if self.parts == 1 and len(self.reminders) == 1:
            return self.reminders[0]
        return None


DAILY_TASKS_PER_PART = 30  # task lines and buttons in one part of a message of the day


def split_daily(
    message: DailyMessage, *, per_part: int = DAILY_TASKS_PER_PART
) -> list[DailyMessage]:
    """Split a message of the day into parts of at most `per_part` tasks each (a task
    reminded for two units counts once and is never split across parts), in task order; the
    nudge goes with the last part. A message with at most `per_part` tasks is one part, the
    message itself. Raises `ValueError` if `per_part` < 1."""
    if per_part < 1:
        raise ValueError("per_part must be at least 1")
    chunks: list[list[DueReminder]] = []
    tasks_in_chunk = 0
    last_task: int | None = None
    for due in message.reminders:
        if due.task.id != last_task:
            if not chunks or tasks_in_chunk == per_part:
                chunks.append([])
                tasks_in_chunk = 0
            tasks_in_chunk += 1
            last_task = due.task.id
        chunks[-1].append(due)
    if len(chunks) <= 1:
        return [message]
    return [
        replace(
            message,
            reminders=tuple(chunk),
            nudge=message.nudge if index == len(chunks) else None,
            part=index,
            parts=len(chunks),
            total=len(message.reminders),
        )
        for index, chunk in enumerate(chunks, start=1)
    ]


def daily_messages(
    day: date,
    reminders: Iterable[DueReminder],
    nudges: Iterable[Nudge] = (),
    *,
    messaged: Collection[int] = (),
) -> list[DailyMessage]:
    """Group what is due on local day `day` into one message per contact, leaving out the
    contacts in `messaged` (their message of the day is already claimed: the rest waits).

    Reminders keep their order within a message by task number, then by the order given;
    messages come in the order of the contacts' first item. Empty messages never occur."""
    by_contact: dict[int, list[DueReminder]] = {}
    contacts: dict[int, ContactView] = {}
    for reminder in reminders:
        if reminder.contact.id in messaged:
            continue
        contacts.setdefault(reminder.contact.id, reminder.contact)
        by_contact.setdefault(reminder.contact.id, []).append(reminder)
    nudge_of: dict[int, Nudge] = {}
    for nudge in nudges:
        if nudge.contact.id in messaged:
            continue
        contacts.setdefault(nudge.contact.id, nudge.contact)
        nudge_of.setdefault(nudge.contact.id, nudge)
    return [
        DailyMessage(
            key=daily_key(contact_id, day),
            day=day,
            contact=contact,
            reminders=tuple(sorted(by_contact.get(contact_id, ()), key=lambda r: r.task.number)),
            nudge=nudge_of.get(contact_id),
        )
        for contact_id, contact in contacts.items()
    ]


@dataclass(frozen=True)
class UnitCases:
    """The escalated cases of one lead unit, in task order."""

    unit_id: int
    cases: tuple[EscalationCase, ...]


@dataclass(frozen=True)
class EscalationDay:
    """The coordinators' escalation message of `day`: the units with a contact, each with its
    cases, and the units without one (named together on one line). `key` is
    `coordinators_key`."""

    key: str
    day: date
    units: tuple[UnitCases, ...]
    without_contact: tuple[UnitCases, ...]

    @property
    def cases(self) -> list[EscalationCase]:
        """Every case the message carries."""
        return [c for group in (*self.units, *self.without_contact) for c in group.cases]


def escalation_day(
    day: date,
    cases: Sequence[EscalationCase],
    state: FollowUpState,
    *,
    key: Callable[[date], str] = coordinators_key,
) -> EscalationDay | None:
    """Group the escalation cases of local day `day` by lead unit (units in the order of their
    first task), splitting off the units without a reachable contact; None when there is
    nothing to escalate. The message's key is `key(day)` (`coordinators_key`, or
    `leaders_key` for the leaders' tier)."""
    if not cases:
        return None
    grouped: dict[int, list[EscalationCase]] = {}
    for case in sorted(cases, key=lambda c: c.task.number):
        grouped.setdefault(case.unit_id, []).append(case)
    reachable = {c.unit_id for c in state.contacts if c.unreachable_reason is None}
    with_contact = tuple(
        UnitCases(unit_id, tuple(found))
        for unit_id, found in grouped.items()
        if unit_id in reachable
    )
    without = tuple(
        UnitCases(unit_id, tuple(found))
        for unit_id, found in grouped.items()
        if unit_id not in reachable
    )
    return EscalationDay(key(day), day, with_contact, without)

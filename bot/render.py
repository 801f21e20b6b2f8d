"""Turn domain data into Telegram HTML messages (texts from `bot/texts.py`).

Every dynamic piece (task texts, unit names, notes, user names) goes through `esc`. Long
messages are split on line boundaries by `split_lines` into parts that each stay within
Telegram's limit of 4096 characters per message (Bot API, sendMessage `text`) and are valid
HTML on their own: a line never opens a tag it does not close.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot import texts
from db.repo.reviews import ClaimCard
from jobs.coordination import ItemView, days_open
from jobs.daily import DailyMessage, EscalationDay, UnitCases
from jobs.dates import MAX_YEARS_AHEAD, DateProblem, DateRefusal, example_date
from jobs.digest import Change, Digest, LightLine, TaskLine, UnitWord
from jobs.escalation import EscalationCase, Nudge
from jobs.plans import PlanView, plans_named
from jobs.policy import DueReminder
from jobs.review import ReviewState
from jobs.state import FollowUpState, UnitView
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


def date_forms(today: date) -> str:
    """The date forms `jobs.dates` reads, each shown with an example computed from `today`
    (`jobs.dates.example_date`), never a hard-coded date."""
    day = example_date(today)
    return texts.DATE_FORMS.format(
        iso=day.isoformat(),
        slash=f"{day.year}/{day.month}/{day.day}",
        dotted=f"{day.year}.{day.month}.{day.day}",
        chinese=fmt_date(day),
        month_day=f"{day.month}月{day.day}日",
    )


def date_refusal(refusal: DateRefusal, typed: str, today: date, *, current: date | None) -> str:
    """Say why a typed date was refused as a new deadline, and what to type instead:
    unreadable (with the accepted forms), in the past, too far ahead, or not later than
    `current`."""
    if refusal.problem is DateProblem.PAST and refusal.read_as is not None:
        return texts.DATE_PAST.format(read=fmt_date(refusal.read_as), today=fmt_date(today))
    if refusal.problem is DateProblem.TOO_FAR and refusal.read_as is not None:
        return texts.DATE_TOO_FAR.format(read=fmt_date(refusal.read_as), years=MAX_YEARS_AHEAD)
    if refusal.problem is DateProblem.NOT_LATER and current is not None:
        return texts.EXT_NOT_LATER.format(deadline=fmt_date(current))
    return texts.DATE_UNREADABLE.format(text=esc(clip(typed, 30)), forms=date_forms(today))


def fmt_instant(instant: datetime, zone: ZoneInfo) -> str:
    """Format an aware instant in `zone` the Chinese way, as dates are: 2025年12月17日 9:30."""
    local = instant.astimezone(zone)
    return f"{fmt_date(local.date())} {local.hour}:{local.minute:02d}"


def period_of(digest: Digest, zone: ZoneInfo) -> dict[str, str]:
    """The digest's period as `start` and `end` texts: local dates and times to the minute
    (2026年11月30日 9:05), so that one digest's period ends where the next one's starts and no
    day is counted twice; dates alone for a digest built without its start instant."""
    since = digest.period_since
    if since is None:
        return {"start": fmt_date(digest.period_start), "end": fmt_date(digest.period_end)}
    return {"start": fmt_instant(since, zone), "end": fmt_instant(digest.generated_at, zone)}


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


def pair_status_label(
    state: FollowUpState, task_id: int, unit_id: int, *, zone: ZoneInfo | None = None
) -> str:
    """Chinese label of a (task, unit)'s current status; a unit that only left notes (no
    status yet) is 已留言, not 未开始, since its light may be green for them. With `zone` (the
    configured one) the completion review shows (`review_label`)."""
    if zone is not None:
        review = review_label(state, task_id, unit_id, zone)
        if review is not None:
            return review
    status = state.unit_status(task_id, unit_id)
    if status is Status.NOT_STARTED and (task_id, unit_id) in state.latest_report:
        return texts.STATUS_NOTE_ONLY
    return texts.STATUS_LABEL[status]


def review_label(state: FollowUpState, task_id: int, unit_id: int, zone: ZoneInfo) -> str | None:
    """The completion review's label of a (task, unit) (`jobs.review`): 待审核, 已销号（date）,
    已退回（reason）; None when it has none to show (no claim, or a 已完成 without review)."""
    match state.review_state(task_id, unit_id):
        case ReviewState.CLAIMED:
            return texts.REVIEW_CLAIMED
        case ReviewState.RETURNED:
            reason = state.reviews[(task_id, unit_id)].reason
            if not reason:
                return texts.REVIEW_RETURNED_NO_REASON
            return texts.REVIEW_RETURNED.format(reason=esc(clip(reason, 30)))
        case ReviewState.ACCEPTED:
            review = state.reviews.get((task_id, unit_id))
            if review is None or review.decided_at is None:
                return None
            return texts.REVIEW_ACCEPTED.format(
                on=fmt_date(review.decided_at.astimezone(zone).date())
            )
    return None


def claims_text(
    cards: Sequence[ClaimCard], tags: Mapping[int, str], zone: ZoneInfo, *, self_review: bool
) -> str:
    """The reviewers' message of completion claims (办结审核): one claim as a card, several
    numbered (1. 2. …, as their buttons are); `self_review` adds that the reviewer reviews
    their own unit's claim for want of another reviewer."""

    def fields(card: ClaimCard) -> dict[str, object]:
        return {
            "plan": tags.get(card.plan_id, ""),
            "number": card.number,
            "text": esc(clip(card.text, 60)),
            "unit": esc(card.unit_name),
            "name": esc(card.claimant_name or str(card.claimed_by)),
            "at": fmt_instant(card.claimed_at, zone),
            "note": esc(card.note) or texts.REVIEW_NO_NOTE,
        }

    if len(cards) == 1:
        text = texts.REVIEW_TO_REVIEWER.format(**fields(cards[0]))
    else:
        text = "\n\n".join(
            [texts.REVIEW_BATCH_HEAD.format(count=len(cards))]
            + [
                texts.REVIEW_BATCH_ITEM.format(index=index, **fields(card))
                for index, card in enumerate(cards, 1)
            ]
        )
    return text + (texts.REVIEW_SELF_NOTE if self_review else "")


CLAIMED_SHOWN = 8  # claims named on the digest's 待审核 line; the rest are counted


def claimed_line(claimed: Sequence[tuple[int, str]]) -> str:
    """The digest's line of claims waiting for review: their count and the first ones
    (第3项（区民政局）、…等)."""
    items = "、".join(
        f"第{number}项（{esc(clip(unit, UNIT_NAME_CHARS))}）"
        for number, unit in claimed[:CLAIMED_SHOWN]
    )
    if len(claimed) > CLAIMED_SHOWN:
        items += "等"
    return texts.DIGEST_REVIEW_WAITING.format(count=len(claimed), items=items)


def unknown_unit(typed: str, suggestions: Sequence[str], usage: str) -> str:
    """Say that no unit has the typed name, and which names it may mean; with no suggestion,
    how the command is used (`usage`)."""
    text = texts.INVITE_NO_UNIT.format(name=esc(clip(typed, 50)))
    if suggestions:
        return text + "\n" + texts.INVITE_DID_YOU_MEAN.format(names=esc("、".join(suggestions)))
    return text + "\n" + usage


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
    lines.append(texts.DIGEST_PERIOD.format(**period_of(digest, zone), total=digest.task_count))
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
                at=texts.DIGEST_ROW_AT.format(
                    at=texts.BACKFILL_ON.format(date=fmt_date(row.occurred_on))
                    if row.occurred_on is not None
                    else fmt_instant(row.reported_at, zone)
                )
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


DIGEST_LINE_BUDGET = 25  # lines of the short digest, title and footer included
DIGEST_CHANGES_SHOWN = 6  # changes listed at most; an ordinary week has no more than five
DIGEST_WORD_NOTE_CHARS = 16  # head of a note on a red or yellow line, in characters
DIGEST_LINE_UNITS = 2  # units named on one red or yellow line; the rest are counted


@dataclass
class _Section:
    """A part of the short digest: a header line, its item lines (most important first), and
    `rest(n)`, the one line that stands for the last `n` items when they do not fit."""

    header: str
    items: list[str]
    rest: Callable[[int], str]
    most: int = 1000  # lines at most under the header, the rest line included


def _fit(sections: list[_Section], budget: int) -> tuple[list[str], bool]:
    """Lay out `sections` within `budget` lines; return the lines and whether any item was
    left out. Each section gets its header and up to two lines; the lines left over go to
    the sections in their order; the items that do not fit are counted on a `rest` line."""
    shown = [section for section in sections if section.items]
    room = [min(len(section.items), 2) for section in shown]
    spare = budget - len(shown) - sum(room)
    for i, section in enumerate(shown):
        extra = max(0, min(spare, len(section.items) - room[i], section.most - room[i]))
        room[i] += extra
        spare -= extra
    lines: list[str] = []
    cut = False
    for section, body in zip(shown, room, strict=True):
        lines.append(section.header)
        if len(section.items) <= body:
            lines += section.items
        else:
            kept = max(body - 1, 0)
            lines += section.items[:kept]
            lines.append(section.rest(len(section.items) - kept))
            cut = True
    return lines, cut


NUMBERS_CHARS = 120  # task numbers listed in one digest line at most, then 等


def _numbers(numbers: Sequence[int]) -> str:
    """Task numbers in order, runs of three or more written as ranges (1、2、5-9), cut after
    `NUMBERS_CHARS` characters with 等 (at the province's scale thousands of numbers would
    make one line too long to send)."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    text = "、".join(
        f"{run[0]}-{run[-1]}" if len(run) >= 3 else "、".join(map(str, run)) for run in runs
    )
    if len(text) <= NUMBERS_CHARS:
        return text
    return text[: text.rfind("、", 0, NUMBERS_CHARS)] + "等"


def _word_text(word: UnitWord) -> str:
    note = clip(word.note, DIGEST_WORD_NOTE_CHARS) if word.note else ""
    return texts.DIGEST_WORD.format(
        unit=esc(clip(word.unit_name, UNIT_NAME_CHARS)),
        status=texts.STATUS_LABEL[word.status] if word.reported else texts.STATUS_NEVER_REPORTED,
        note=texts.DIGEST_WORD_NOTE.format(note=esc(note)) if note else "",
    )


def _light_item(line: LightLine, *, ended: bool = False) -> str:
    """One red or yellow task; in a plan whose period has ended, by its original date
    (原定…) rather than by days overdue, which only grow."""
    words = "；".join(_word_text(w) for w in line.words[:DIGEST_LINE_UNITS])
    if len(line.words) > DIGEST_LINE_UNITS:
        words += texts.DIGEST_MORE_UNITS.format(count=len(line.words) - DIGEST_LINE_UNITS)
    when = (
        texts.DIGEST_DUE_WAS.format(deadline=fmt_date(line.deadline))
        if ended
        else when_text(line.days_left)
    )
    return texts.DIGEST_LIGHT_LINE.format(number=line.number, words=words, when=when)


def _change_item(change: Change) -> str:
    note = clip(change.note, DIGEST_NOTE_CHARS // 2)
    what = (
        texts.DIGEST_CHANGE_STATUS.format(
            before=texts.STATUS_LABEL[change.before], after=texts.STATUS_LABEL[change.after]
        )
        if change.after is not None
        else texts.DIGEST_CHANGE_NOTE
    )
    return texts.DIGEST_CHANGE.format(
        number=change.task_number,
        unit=esc(clip(change.unit_name, UNIT_NAME_CHARS)),
        corrected=texts.DIGEST_CORRECTED if change.corrected else "",
        what=what,
        note=texts.DIGEST_CHANGE_NOTE_HEAD.format(note=esc(note)) if note else "",
    )


def _town_items(digest: Digest) -> list[str]:
    """One line per (task, collective) some member town reported on, naming them; one line
    for all the collectives' tasks no town reported on."""
    items: list[str] = []
    silent: dict[str, list[int]] = {}
    for number, unit, towns, total in digest.member_rollup:
        if towns:
            names = "、".join(esc(t) for t in towns[:5])
            if len(towns) > 5:
                names += texts.DIGEST_TOWNS_MORE.format(count=len(towns))
            items.append(
                texts.DIGEST_TOWNS_LINE.format(
                    number=number, unit=esc(unit), towns=names, done=len(towns), total=total
                )
            )
        else:
            silent.setdefault(unit, []).append(number)
    for unit, numbers in silent.items():
        items.append(texts.DIGEST_TOWNS_NONE.format(numbers=_numbers(numbers), unit=esc(unit)))
    return items


def short_digest_lines(
    digest: Digest,
    zone: ZoneInfo,
    *,
    budget: int = DIGEST_LINE_BUDGET,
    held_period_end: date | None = None,
) -> list[str]:
    """The weekly digest as committee members read it on a phone, within `budget` lines:
    the lights and their legend, what changed, the red and yellow tasks with each unit's
    latest status and the head of its note, the units that have not reported in the cycle,
    the towns of collective units, units without a contact; under the legend, the plan's
    main indicators without a value for the last full year (主要指标：第3、5项缺2025年数据),
    when there are any. What does not fit is counted
    and left to /task, /unit and the ledger (/export), which the last line names. With
    `held_period_end` (the follow-up is held, `jobs.hold`) a line under the legend says that
    the days overdue count from the plan's original deadlines and that a decision is awaited."""
    lights = {light.value: n for light, n in digest.light_counts.items()}
    head = [texts.DIGEST_TITLE]
    if digest.plan_title:
        head.append(texts.DIGEST_PLAN.format(plan=esc(digest.plan_title)))
    head += [
        texts.DIGEST_PERIOD.format(**period_of(digest, zone), total=digest.task_count),
        texts.DIGEST_LIGHTS.format(**lights),
        texts.DIGEST_LEGEND,
    ]
    ended_on = digest.period_ended_on
    ended = ended_on is not None
    rhythm_text = ""
    if ended_on is not None:
        open_tasks = digest.task_count - digest.counts.get(Status.DONE, 0)
        head.append(
            texts.DIGEST_ENDED.format(period_end=fmt_date(ended_on), open=open_tasks)
            + (texts.DIGEST_ENDED_HELD if held_period_end is not None else "")
        )
    elif digest.rhythm_state is not None and digest.rhythm_state.total:
        rhythm = digest.rhythm_state
        rhythm_text = texts.DIGEST_RHYTHM.format(
            period=texts.RHYTHM_PERIOD[rhythm.rhythm.value],
            start=fmt_date(rhythm.start),
            reported=rhythm.reported,
            total=rhythm.total,
        )
        if not digest.silent:  # else the 未反馈 section's header says it
            head.append("📅 " + rhythm_text)
    if held_period_end is not None and not ended:
        head.append(texts.DIGEST_HELD.format(period_end=fmt_date(held_period_end)))
    if digest.indicators_missing:
        head.append(
            texts.DIGEST_INDICATORS_MISSING.format(
                numbers=_numbers(list(digest.indicators_missing)), year=digest.indicators_year
            )
        )
    if digest.claimed:
        head.append(claimed_line(digest.claimed))
    red_numbers = [line.number for line in digest.red]
    yellow_numbers = [line.number for line in digest.yellow]
    silent_items = [
        texts.DIGEST_SILENT_UNIT.format(unit=esc(clip(unit, UNIT_NAME_CHARS)), count=len(numbers))
        for unit, numbers in digest.silent
    ]
    if digest.silent_without_contact:
        silent_items.append(
            texts.DIGEST_SILENT_NO_CONTACT.format(count=digest.silent_without_contact)
        )
    silent_count = len(digest.silent) + digest.silent_without_contact
    sections = [
        _Section(
            texts.DIGEST_CHANGES.format(count=len(digest.changes)),
            [_change_item(c) for c in digest.changes],
            lambda n: texts.DIGEST_MORE_CHANGES.format(count=n),
            most=DIGEST_CHANGES_SHOWN + 1,
        ),
        _Section(
            (texts.DIGEST_RED_ENDED if ended else texts.DIGEST_RED).format(count=len(digest.red)),
            [_light_item(line, ended=ended) for line in digest.red],
            lambda n: texts.DIGEST_MORE_TASKS.format(
                count=n, numbers=_numbers(red_numbers[len(red_numbers) - n :])
            ),
        ),
        _Section(
            texts.DIGEST_YELLOW.format(count=len(digest.yellow)),
            [_light_item(line) for line in digest.yellow],
            lambda n: texts.DIGEST_MORE_TASKS.format(
                count=n, numbers=_numbers(yellow_numbers[len(yellow_numbers) - n :])
            ),
        ),
        _Section(
            texts.DIGEST_SILENT_RHYTHM.format(rhythm=rhythm_text, count=silent_count)
            if rhythm_text
            else texts.DIGEST_SILENT.format(count=silent_count),
            [] if ended else wrap_list(silent_items, width=60),
            lambda n: texts.DIGEST_MORE_UNIT_LINES.format(count=silent_count),
        ),
        _Section(
            texts.DIGEST_MEMBERS,
            _town_items(digest),
            lambda n: texts.DIGEST_MORE_TOWN_LINES.format(count=n),
        ),
        _Section(
            texts.DIGEST_NO_CONTACT.format(count=len(digest.units_without_contact)),
            wrap_list(
                [esc(clip(n, UNIT_NAME_CHARS)) for n in digest.units_without_contact], width=60
            ),
            lambda n: texts.DIGEST_MORE_UNIT_LINES.format(count=len(digest.units_without_contact)),
        ),
        _Section(
            texts.DIGEST_UNREACHABLE.format(count=len(digest.units_unreachable)),
            wrap_list([esc(clip(n, UNIT_NAME_CHARS)) for n in digest.units_unreachable], width=60),
            lambda n: texts.DIGEST_MORE_UNIT_LINES.format(count=len(digest.units_unreachable)),
        ),
    ]
    if not digest.changes:
        sections[0] = _Section(texts.DIGEST_NO_CHANGES, [], lambda n: "")
        head.append(texts.DIGEST_NO_CHANGES)
    body, cut = _fit(sections, budget - len(head) - 1)
    return [*head, *body, texts.DIGEST_CUT if cut else texts.DIGEST_FOOTER]


def render_digest(
    digest: Digest,
    zone: ZoneInfo,
    *,
    limit: int = TELEGRAM_TEXT_LIMIT,
    budget: int = DIGEST_LINE_BUDGET,
    held_period_end: date | None = None,
) -> list[str]:
    """Render a digest into one or more HTML messages, each within `limit` and valid alone.

    A digest built with traffic lights gets the short form (`short_digest_lines`, within
    `budget` lines, config `follow_up.digest_lines`; `held_period_end` as there); one built
    without them lists every task and lead unit (`digest_lines`). Parts after the first start
    with a "（续 i/n）" marker line.
    """
    return render_plan_digests([(digest, held_period_end)], zone, limit=limit, budget=budget)


PLAN_DIGEST_LINES = 12  # lines a plan's section of the digest gets at least


def render_plan_digests(
    digests: Sequence[tuple[Digest, date | None]],
    zone: ZoneInfo,
    *,
    limit: int = TELEGRAM_TEXT_LIMIT,
    budget: int = DIGEST_LINE_BUDGET,
    extra: Sequence[str] = (),
) -> list[str]:
    """Render the digests of the active plans (each with its `held_period_end`, as in
    `render_digest`), the newest plan first, as one post: one title and legend, then one
    section per plan headed 依据：《title》, within `budget` lines shared among the plans (at
    least `PLAN_DIGEST_LINES` each), the `extra` lines (HTML, e.g. the coordination items'
    section), the footer once at the end. One digest is rendered exactly as
    `render_digest` renders it. Parts after the first start with a "（续 i/n）" marker line.
    """
    if extra:  # the extra lines and the blank line before them come out of the budget
        budget = max(budget - len(extra) - 1, 1)
    share = budget if len(digests) == 1 else max(budget // len(digests), PLAN_DIGEST_LINES)
    lines: list[str] = []
    last = len(digests) - 1
    for i, (digest, held_period_end) in enumerate(digests):
        if i < last:  # units are shared by the plans: named once, in the last section
            digest = replace(digest, units_without_contact=(), units_unreachable=())
        section = (
            short_digest_lines(digest, zone, budget=share, held_period_end=held_period_end)
            if digest.light_counts
            else digest_lines(digest, zone)
        )
        if i > 0:
            section = [""] + [
                line for line in section if line not in (texts.DIGEST_TITLE, texts.DIGEST_LEGEND)
            ]
        if i < last and section and section[-1] in (texts.DIGEST_FOOTER, texts.DIGEST_CUT):
            section = section[:-1]
        lines += section
    if extra:
        at = (
            len(lines) - 1
            if lines and lines[-1] in (texts.DIGEST_FOOTER, texts.DIGEST_CUT)
            else len(lines)
        )
        lines[at:at] = ["", *extra]
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


def plan_tags(plans: Sequence[PlanView], *, html_text: bool = True) -> dict[int, str]:
    """Plan id to the 【简称】 put before a task's number in messages (HTML-escaped) or
    buttons (`html_text` False): empty with fewer than two active plans, when no task needs
    its plan named."""
    if not plans_named(plans):
        return {}
    return {p.id: texts.PLAN_TAG.format(plan=esc(p.label) if html_text else p.label) for p in plans}


def reminder_text(
    due: DueReminder, units: dict[int, UnitView], tags: Mapping[int, str] | None = None
) -> str:
    """Render a reminder: kind, task number and text, the lead units (the addressee's own in
    bold; a responsible unit or member town is named as 协办), deadline and days left.
    `tags` maps plan id to the HTML 【简称】 put before the number (`bot.plan_choice`)."""
    leads = "、".join(
        f"<b>{esc(units[u].name)}</b>" if u == due.unit_id else esc(units[u].name)
        for u in due.task.lead_unit_ids
        if u in units
    )
    if due.unit_id not in due.task.lead_unit_ids and due.unit_id in units:
        leads += texts.REMINDER_SUPPORTING.format(unit=esc(units[due.unit_id].name))
    milestone = ""
    deadline_left = due.days_left
    if due.milestone is not None:
        milestone = texts.REMINDER_MILESTONE.format(
            text=esc(due.milestone.text),
            due=fmt_date(due.milestone.due_on),
            when=when_text(due.days_left),
        )
        deadline_left = due.days_left + (due.task.deadline - due.milestone.due_on).days
    return texts.REMINDER.format(
        title=texts.REMINDER_TITLE[due.occasion.kind],
        plan=(tags or {}).get(due.task.plan_id, ""),
        number=due.task.number,
        text=esc(due.task.text),
        unit=leads,
        milestone=milestone,
        deadline=fmt_date(due.task.deadline),
        when=when_text(deadline_left),
    )


def _last_report(case: EscalationCase, state: FollowUpState, zone: ZoneInfo) -> str:
    last = state.latest_report.get((case.task.id, case.unit_id))
    if last is None:
        return texts.ESCALATION_NO_REPORT
    return (
        f"{fmt_instant(last.created_at, zone)} "
        f"{status_label(last.status) if last.status else texts.DIGEST_CHANGE_NOTE}"
        f"{'：' + clip(last.note, 60) if last.note else ''}"
    )


def _numbers_text(group: UnitCases) -> str:
    return texts.TASK_NUMBERS.format(numbers="、".join(str(c.task.number) for c in group.cases))


def escalation_lines(
    day: EscalationDay,
    state: FollowUpState,
    zone: ZoneInfo,
    after_working_days: int,
    header: str = texts.ESCALATION_HEADER,
) -> list[str]:
    """The coordinators' (or, with the leaders' `header`, the leaders') escalation message
    of a day as lines: a header, then per lead unit with a contact its name and contacts and
    one line per task (days overdue, last report), then the units without a contact on one
    line (未登记联络员：A（第1、2项）、B（第3项）)."""
    tags = plan_tags(list(state.plans.values()))
    lines = [header.format(days=after_working_days, count=len(day.cases))]
    for group in day.units:
        contacts = "、".join(c.display_name for c in state.contacts_of(group.unit_id))
        lines.append(
            texts.ESCALATION_UNIT.format(
                unit=esc(state.units[group.unit_id].name),
                contacts=esc(contacts) or texts.UNITS_NONE,
            )
        )
        lines.extend(
            texts.ESCALATION_LINE.format(
                plan=tags.get(case.task.plan_id, ""),
                number=case.task.number,
                text=esc(clip(case.task.text, 30)),
                overdue=case.overdue_days,
                last=esc(_last_report(case, state, zone)),
            )
            for case in group.cases
        )
    if day.without_contact:
        units = "、".join(
            f"{esc(state.units[g.unit_id].name)}（{_numbers_text(g)}）" for g in day.without_contact
        )
        lines.append(texts.ESCALATION_NO_CONTACT.format(units=units))
    return lines


DAILY_TASK_CHARS = 24  # task text in a contact's message of the day, in characters


def daily_text(
    message: DailyMessage, units: dict[int, UnitView], tags: Mapping[int, str] | None = None
) -> str:
    """Render a contact's message of the day: each task with its kind, number, text,
    deadline and days left or overdue, the reporting-cycle nudge if any, and how to answer.
    A part of a message sent in parts (`jobs.daily.split_daily`) says which part it is of
    how many. At most `jobs.daily.DAILY_TASKS_PER_PART` tasks fit within Telegram's limit.
    `tags` maps plan id to the HTML 【简称】 put before each number (`bot.plan_choice`)."""
    unit = units.get(message.contact.unit_id)
    name = esc(unit.name if unit else "")
    lines = [
        texts.DAILY_HEADER.format(unit=name, count=message.reminder_count)
        if message.parts == 1
        else texts.DAILY_HEADER_PART.format(
            unit=name, count=message.reminder_count, part=message.part, parts=message.parts
        )
    ]
    for due in message.reminders:
        supporting = due.unit_id not in due.task.lead_unit_ids and due.unit_id in units
        if due.milestone is not None:
            lines.append(
                texts.DAILY_MILESTONE_LINE.format(
                    icon=texts.REMINDER_ICON[due.occasion.kind],
                    plan=(tags or {}).get(due.task.plan_id, ""),
                    number=due.task.number,
                    text=esc(clip(due.task.text, DAILY_TASK_CHARS)),
                    supporting=texts.DAILY_SUPPORTING if supporting else "",
                    goal=esc(clip(due.milestone.text, DAILY_TASK_CHARS)),
                    due=fmt_date(due.milestone.due_on),
                    when=when_text(due.days_left),
                )
            )
            continue
        lines.append(
            texts.DAILY_LINE.format(
                icon=texts.REMINDER_ICON[due.occasion.kind],
                plan=(tags or {}).get(due.task.plan_id, ""),
                number=due.task.number,
                text=esc(clip(due.task.text, DAILY_TASK_CHARS)),
                deadline=fmt_date(due.task.deadline),
                when=when_text(due.days_left),
                supporting=texts.DAILY_SUPPORTING if supporting else "",
            )
        )
    if message.nudge is not None:
        lines.append(nudge_line(message.nudge, units, tags))
    lines.append(texts.DAILY_FOOTER)
    return "\n".join(lines)


def nudge_tasks(nudge: Nudge, tags: Mapping[int, str] | None = None) -> str:
    """The tasks of a nudge as messages name them: 第1、2项, or with `tags` (HTML 【简称】 by
    plan id, several plans active) one group per plan: 【十四五】第2、5项、【十五五】第1项."""
    if not tags or len(nudge.plan_ids) != len(nudge.task_numbers):
        return texts.NUDGE_TASKS.format(numbers="、".join(str(n) for n in nudge.task_numbers))
    by_plan: dict[int, list[int]] = {}
    for number, plan_id in zip(nudge.task_numbers, nudge.plan_ids, strict=True):
        by_plan.setdefault(plan_id, []).append(number)
    return "、".join(
        tags.get(plan_id, "") + texts.NUDGE_TASKS.format(numbers="、".join(map(str, numbers)))
        for plan_id, numbers in by_plan.items()
    )


def nudge_line(
    nudge: Nudge, units: dict[int, UnitView], tags: Mapping[int, str] | None = None
) -> str:
    """The reporting-cycle nudge as a paragraph of a contact's message of the day."""
    unit = units.get(nudge.contact.unit_id)
    return texts.DAILY_NUDGE.format(
        unit=esc(unit.name if unit else ""),
        start=fmt_date(nudge.cycle_start),
        tasks=nudge_tasks(nudge, tags),
    )


def nudge_text(nudge: Nudge, state: FollowUpState) -> str:
    """Render a reporting-cycle nudge to one contact: its unit, the cycle's first day and the
    tasks it has not reported on (by plan when several are active)."""
    return texts.NUDGE.format(
        unit=esc(state.units[nudge.contact.unit_id].name),
        start=fmt_date(nudge.cycle_start),
        tasks=nudge_tasks(nudge, plan_tags(list(state.plans.values()))),
    )


def hold_notice_of(hold: HoldFigures, plan: PlanView | None = None) -> str:
    """`hold_notice` for a stored hold (`db.models.FollowUpHold`); with `plan` (given when
    several plans are active), a first line names the plan held and how commands name it,
    and /backlog send|drop are written with its 简称."""
    head = (
        texts.HOLD_NOTICE_PLAN.format(title=esc(plan.title), name=esc(plan.label)) + "\n"
        if plan is not None
        else ""
    )
    body = hold_notice(
        found_on=hold.found_on,
        period_end=hold.period_end,
        open_pairs=hold.open_pairs,
        late_pairs=hold.late_pairs,
        overdue_pairs=hold.overdue_pairs,
        overdue_working_days=hold.overdue_working_days,
    )
    if plan is not None:  # /backlog send names the plan when several are held
        for action in ("send", "drop"):
            body = body.replace(f"/backlog {action}", f"/backlog {action} {esc(plan.label)}")
    return head + body


class HoldFigures(Protocol):
    """What a hold's notice needs: its finding's figures (`db.models.FollowUpHold` has them)."""

    found_on: date
    period_end: date
    open_pairs: int
    late_pairs: int
    overdue_pairs: int
    overdue_working_days: int


def hold_notice(
    *,
    found_on: date,
    period_end: date,
    open_pairs: int,
    late_pairs: int,
    overdue_pairs: int,
    overdue_working_days: int,
) -> str:
    """The coordinators' notice of a held follow-up (`jobs.hold`): what the check found on
    `found_on` and what they can do."""
    findings = []
    if found_on > period_end:
        findings.append(texts.HOLD_PERIOD_ENDED.format(period_end=fmt_date(period_end)))
    findings.append(
        texts.HOLD_OVERDUE.format(
            open=open_pairs,
            overdue=overdue_pairs,
            days=overdue_working_days,
            late=texts.HOLD_LATE.format(late=late_pairs) if late_pairs > overdue_pairs else "",
        )
    )
    return texts.HOLD_NOTICE.format(findings="".join(findings))


COORDINATION_DIGEST_ITEMS = 10  # open coordination items the digest names; the rest counted


def coordination_lines(
    views: Sequence[ItemView], today: date, *, budget: int = DIGEST_LINE_BUDGET
) -> list[str]:
    """The digest's section of open coordination items (`jobs.coordination.ItemView`, oldest
    first) at local date `today`: a header with their count and a line each (task, raising
    unit, assigned unit, days open), at most `COORDINATION_DIGEST_ITEMS` and at most what
    leaves `PLAN_DIGEST_LINES` of the digest's `budget` lines to the plans (at least one);
    the rest counted on a last line. None without items."""
    if not views:
        return []
    shown = max(min(COORDINATION_DIGEST_ITEMS, budget - PLAN_DIGEST_LINES - 3), 1)
    lines = [texts.DIGEST_COORD_HEADER.format(count=len(views))]
    for view in views[:shown]:
        lines.append(
            texts.DIGEST_COORD_LINE.format(
                plan=esc(view.plan),
                number=view.task_number,
                raised=esc(view.raised_by),
                assigned=esc(view.assigned_to or texts.COORD_UNASSIGNED),
                days=days_open(view.opened_on, today),
            )
        )
    if len(views) > shown:
        lines.append(texts.DIGEST_COORD_MORE.format(count=len(views) - shown))
    return lines


def task_coordination_lines(views: Sequence[ItemView], today: date) -> list[str]:
    """The coordination items of one task for `/task` (open and closed, oldest first; each
    need clipped to 60 characters) at local date `today`; none without items."""
    if not views:
        return []
    lines = [texts.TASK_COORD_HEADER]
    for view in views:
        state = (
            texts.COORD_STATE_OPEN.format(days=days_open(view.opened_on, today))
            if view.closed_on is None
            else texts.COORD_STATE_CLOSED_ON.format(date=fmt_date(view.closed_on))
        )
        lines.append(
            texts.TASK_COORD_LINE.format(
                id=view.id,
                raised=esc(view.raised_by),
                assigned=esc(view.assigned_to or texts.COORD_UNASSIGNED),
                state=state,
                need=esc(clip(view.need.replace("\n", " "), 60)),
            )
        )
    return lines


def item_text(template: str, view: ItemView, **extra: object) -> str:
    """`template` (texts.COORD_*) filled with coordination item `view`: {id}, {plan},
    {number}, {text} (the task's, clipped to 60 characters), {raised}, {need}, HTML-escaped,
    and the `extra` fields as given."""
    return template.format(
        id=view.id,
        plan=esc(view.plan),
        number=view.task_number,
        text=esc(clip(view.task_text, 60)),
        raised=esc(view.raised_by),
        need=esc(view.need),
        **extra,
    )

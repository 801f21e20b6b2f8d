"""Inline keyboards and their callback data (at most 64 bytes, Bot API limit).

Callback data formats:
- "r2:<task id>:<status>"     report this status on this task (reminders, status choice)
- "t2:<task id>"              choose this task in /report
- "x2:<task id>"              request an extension (申请延期) of this task
- "r:<task number>:<status>", "t:<task number>", "x:<task number>": the same, naming the task
                              by its 序号; sent before task buttons carried database ids and
                              still accepted, so buttons on old messages keep working
- "xa:<id>" / "xr:<id>"       a coordinator approves / rejects extension request <id>; 驳回
                              asks for a reason, typed as a reply to that question
- "xn:<id>"                   reject request <id> without giving a reason
- "c:<report id>"             correct one's own report <id> (within the correction window)
- "hold:send:<id>" / "hold:drop:<id>"  a coordinator decides held follow-up <id> (jobs.hold)
- "ni:<task id>"              store the text this offer replies to as a note on the task
                              ("n:0": do not store it; "n:<task number>" on offers sent
                              before several plans: that number in the first plan loaded)
- "skip:<nonce>"              no (more) evidence, for the draft with this nonce
- "rep:<nonce>"               a correction drops the earlier report's evidence (replace it)
- "ev:<evidence id>"          send me this evidence file (bot/evidence.py, access checked)
- "ok:<nonce>" / "no:<nonce>" confirm / cancel that draft (a press on an older draft's
                              confirmation is refused instead of saving the current one)
- "va:<id>" / "vr:<id>"       a reviewer accepts (销号) / returns (退回) completion claim
                              <id> (a `CompletionReview` row); 退回 asks for the reason,
                              typed as a reply to that question
Everything parsed from callback data is checked again against the presser's rights.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import texts
from bot.render import clip
from jobs.daily import DailyMessage
from jobs.types import Status

STATUS_PATTERN = r"^r2?:\d{1,9}:[a-z_]{1,20}$"
EXTENSION_PATTERN = r"^x2?:\d{1,9}$"
DECISION_PATTERN = r"^x[arn]:\d{1,9}$"
CORRECTION_PATTERN = r"^c:\d{1,9}$"
TASK_PATTERN = r"^t2?:\d{1,9}$"
MILESTONE_PATTERN = r"^m2:\d{1,9}:\d{1,9}$"  # 完成年度目标: m2:<task id>:<milestone id>
MILESTONE_BUTTON_CHARS = 16  # characters of a milestone's text on its button
REVIEW_PATTERN = r"^v[ar]:\d{1,9}$"
HOLD_PATTERN = r"^hold:(send|drop):\d{1,9}$"
NOTE_PATTERN = r"^(?:n:\d{1,6}|ni:\d{1,9})$"
SKIP = "skip"
REPLACE = "rep"
CONFIRM = "ok"
CANCEL = "no"
_TASK_DATA_RE = re.compile(r"^([rtx])(2?):(\d{1,9})(?::([a-z_]{1,20}))?$")


@dataclass(frozen=True)
class TaskRef:
    """A task named by a button: by database id (`Task.id`) or, on buttons sent before the
    ids, by 序号 (`Task.number`). Exactly one of the two is set."""

    task_id: int | None = None
    number: int | None = None


@dataclass(frozen=True)
class TaskButton:
    """A parsed task button: `action` is "r" (report `status`), "t" (choose the task in
    /report) or "x" (request an extension); `status` is set for "r" only."""

    action: str
    task: TaskRef
    status: Status | None = None


def parse_milestone_data(data: str) -> tuple[int, int] | None:
    """(task id, milestone id) of a 完成年度目标 button's data, or None."""
    if not re.fullmatch(MILESTONE_PATTERN, data):
        return None
    _, task_id, milestone_id = data.split(":")
    return int(task_id), int(milestone_id)


def parse_task_data(data: str) -> TaskButton | None:
    """Parse the callback data of a task button, new ("r2:<id>:<status>", "t2:<id>",
    "x2:<id>") or old ("r:<number>:<status>", "t:<number>", "x:<number>").

    Returns None when malformed, when a status is missing or extra, or when the status is
    not reportable.
    """
    match = _TASK_DATA_RE.match(data)
    if not match:
        return None
    action, new, value, status_text = match.groups()
    ref = TaskRef(task_id=int(value)) if new else TaskRef(number=int(value))
    if action != "r":
        return None if status_text is not None else TaskButton(action, ref)
    try:
        status = Status(status_text or "")
    except ValueError:
        return None
    if status not in texts.REPORTABLE:
        return None
    return TaskButton(action, ref, status)


def status_keyboard(
    task_id: int, *, extension: bool = True, milestone: tuple[int, str] | None = None
) -> InlineKeyboardMarkup:
    """Buttons 推进中 / 已完成 / 遇到困难 for the task with database id `task_id`; with
    `milestone` (id, text: the task's next open yearly milestone) a button 完成年度目标：<text>
    (m2:<task id>:<milestone id>) below them; then 申请延期."""
    rows = [
        [
            InlineKeyboardButton(texts.STATUS_LABEL[s], callback_data=f"r2:{task_id}:{s.value}")
            for s in texts.REPORTABLE
        ]
    ]
    if milestone is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    texts.BUTTON_MILESTONE.format(text=clip(milestone[1], MILESTONE_BUTTON_CHARS)),
                    callback_data=f"m2:{task_id}:{milestone[0]}",
                )
            ]
        )
    if extension:
        rows.append([InlineKeyboardButton(texts.BUTTON_EXTENSION, callback_data=f"x2:{task_id}")])
    return InlineKeyboardMarkup(rows)


def decision_keyboard(request_id: int) -> InlineKeyboardMarkup:
    """批准 / 驳回 buttons of an extension request, for the coordinators."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.BUTTON_APPROVE, callback_data=f"xa:{request_id}"),
                InlineKeyboardButton(texts.BUTTON_REJECT, callback_data=f"xr:{request_id}"),
            ]
        ]
    )


def hold_keyboard(hold_id: int) -> InlineKeyboardMarkup:
    """发送积压提醒 / 不再发送 buttons of a held follow-up's notice, for the coordinators."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.BUTTON_HOLD_SEND, callback_data=f"hold:send:{hold_id}"),
                InlineKeyboardButton(texts.BUTTON_HOLD_DROP, callback_data=f"hold:drop:{hold_id}"),
            ]
        ]
    )


def reason_keyboard(request_id: int) -> InlineKeyboardMarkup:
    """Under the question for a rejection's reason: reject without one (xn:<id>), or approve
    after all (xa:<id>)."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(texts.BUTTON_REJECT_NO_REASON, callback_data=f"xn:{request_id}")],
            [InlineKeyboardButton(texts.BUTTON_APPROVE, callback_data=f"xa:{request_id}")],
        ]
    )


def reason_request_of(markup: InlineKeyboardMarkup | None) -> int | None:
    """The extension request id of a question for a rejection's reason, from its button."""
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            data = str(button.callback_data or "")
            if re.fullmatch(r"xn:\d{1,9}", data):
                return int(data[3:])
    return None


def correction_keyboard(report_id: int) -> InlineKeyboardMarkup:
    """The 修改 button under a receipt (valid within `follow_up.correction_minutes`)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.BUTTON_CORRECT, callback_data=f"c:{report_id}")]]
    )


MAX_TASK_BUTTONS = 40  # task buttons on one picker (Telegram refuses more than 100 buttons)


def task_keyboard(
    tasks: Iterable[tuple[int, int, str]], tags: Mapping[int, str] | None = None
) -> InlineKeyboardMarkup:
    """One button per (task id, number, text) task, labelled `texts.TASK_BUTTON` (第N项, text)
    after the task's plan tag in `tags` (task id to 【简称】, plain text), if any."""
    tags = tags or {}
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.TASK_BUTTON.format(
                        plan=tags.get(task_id, ""), number=n, text=clip(text, 18)
                    ),
                    callback_data=f"t2:{task_id}",
                )
            ]
            for task_id, n, text in tasks
        ]
    )


def daily_keyboard(
    message: DailyMessage, plan_tags: Mapping[int, str] | None = None
) -> InlineKeyboardMarkup:
    """One task button (t2:<task id>, opening the status choice and 申请延期) per task of a
    contact's message of the day, in its order; a task reminded for two units is one button.
    `plan_tags` maps plan id to the 【简称】 put before the number (plain text), if any."""
    seen: dict[int, tuple[int, int, str]] = {}
    tags: dict[int, str] = {}
    for due in message.reminders:
        seen.setdefault(due.task.id, (due.task.id, due.task.number, due.task.text))
        tags[due.task.id] = (plan_tags or {}).get(due.task.plan_id, "")
    return task_keyboard(seen.values(), tags)


def note_keyboard(
    tasks: Iterable[tuple[int, int, str]], tags: Mapping[int, str] | None = None
) -> InlineKeyboardMarkup:
    """One button per (task id, number, text) task to store a text on ("ni:<task id>"), after
    the task's plan tag in `tags` (task id to 【简称】, plain text), and 不用保存 last."""
    tags = tags or {}
    rows = [
        [
            InlineKeyboardButton(
                texts.TASK_BUTTON.format(plan=tags.get(task_id, ""), number=n, text=clip(text, 18)),
                callback_data=f"ni:{task_id}",
            )
        ]
        for task_id, n, text in tasks
    ]
    rows.append([InlineKeyboardButton(texts.BUTTON_DONT_STORE, callback_data="n:0")])
    return InlineKeyboardMarkup(rows)


def skip_keyboard(nonce: str, *, replace: bool = False) -> InlineKeyboardMarkup:
    """The 跳过 button of the evidence step of draft `nonce`; with `replace`, also the
    替换原有材料 button of a correction that carries the earlier evidence."""
    rows = [[InlineKeyboardButton(texts.BUTTON_SKIP, callback_data=f"{SKIP}:{nonce}")]]
    if replace:
        rows.append(
            [
                InlineKeyboardButton(
                    texts.BUTTON_REPLACE_EVIDENCE, callback_data=f"{REPLACE}:{nonce}"
                )
            ]
        )
    return InlineKeyboardMarkup(rows)


def confirm_keyboard(nonce: str) -> InlineKeyboardMarkup:
    """The 确认提交 / 取消 buttons of the confirmation step of draft `nonce`."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.BUTTON_CONFIRM, callback_data=f"{CONFIRM}:{nonce}"),
                InlineKeyboardButton(texts.BUTTON_CANCEL, callback_data=f"{CANCEL}:{nonce}"),
            ]
        ]
    )


def draft_pattern(action: str) -> str:
    """Callback data pattern of a draft button: "<action>:<nonce>"."""
    return rf"^{action}:[0-9a-f]{{8}}$"


def nonce_of(data: str | None) -> str:
    """The draft nonce carried by a draft button's callback data ("" if none)."""
    return (data or "").partition(":")[2]


def review_keyboard(review_id: int) -> InlineKeyboardMarkup:
    """销号 / 退回 buttons of a completion claim, for its reviewers."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.BUTTON_REVIEW_ACCEPT, callback_data=f"va:{review_id}"),
                InlineKeyboardButton(texts.BUTTON_REVIEW_RETURN, callback_data=f"vr:{review_id}"),
            ]
        ]
    )


# --- coordination items (协调事项, bot/coordination_view.py) ---
# "ci:a:<id>" 指派单位, "ci:d:<id>" 要求补充, "ci:c:<id>" 关闭事项 (coordinators);
# "ci:s:<id>" show the item's card (/items); "ci:u:<id>:<unit id>" assign to that unit;
# "ci:x:<id>" / "ci:y:<id>" cancel the question for a unit / a closing note (a reply to the
# question is matched by this button); "ci:r:<id>" on a unit's item message (a reply to it
# is that unit's note; pressing it says how to reply)


def item_keyboard(item_id: int) -> InlineKeyboardMarkup:
    """The card's buttons: 指派单位, 要求补充, 关闭事项."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.BUTTON_COORD_ASSIGN, callback_data=f"ci:a:{item_id}"),
                InlineKeyboardButton(texts.BUTTON_COORD_DETAIL, callback_data=f"ci:d:{item_id}"),
                InlineKeyboardButton(texts.BUTTON_COORD_CLOSE, callback_data=f"ci:c:{item_id}"),
            ]
        ]
    )


def return_reason_keyboard(review_id: int) -> InlineKeyboardMarkup:
    """Under the question for a return's reason: accept after all (va:<id>)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.BUTTON_REVIEW_ACCEPT, callback_data=f"va:{review_id}")]]
    )


def return_request_of(markup: InlineKeyboardMarkup | None) -> int | None:
    """The review id of a question for a return's reason (its only button is va:<id>)."""
    rows = markup.inline_keyboard if markup else ()
    if len(rows) != 1 or len(rows[0]) != 1:
        return None
    data = str(rows[0][0].callback_data or "")
    return int(data[3:]) if re.fullmatch(r"va:\d{1,9}", data) else None


def claims_keyboard(numbers: Sequence[tuple[int, int]]) -> InlineKeyboardMarkup:
    """销号 / 退回 of each claim of a reviewers' message, given as (review id, task 序号) in
    the message's order: one claim's two buttons, or one numbered row per claim."""
    if len(numbers) == 1:
        return review_keyboard(numbers[0][0])
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.BUTTON_REVIEW_ACCEPT_ITEM.format(index=index, number=number),
                    callback_data=f"va:{review_id}",
                ),
                InlineKeyboardButton(
                    texts.BUTTON_REVIEW_RETURN_ITEM.format(index=index),
                    callback_data=f"vr:{review_id}",
                ),
            ]
            for index, (review_id, number) in enumerate(numbers, 1)
        ]
    )


def without_claim(markup: InlineKeyboardMarkup | None, review_id: int) -> InlineKeyboardMarkup:
    """`markup` without the buttons of claim `review_id` (the rest of a reviewers' message)."""
    mine = {f"va:{review_id}", f"vr:{review_id}"}
    rows = [
        list(row)
        for row in (markup.inline_keyboard if markup else ())
        if not any(str(button.callback_data) in mine for button in row)
    ]
    return InlineKeyboardMarkup(rows)


def claim_ids(markup: InlineKeyboardMarkup | None) -> set[int]:
    """The claims whose buttons `markup` carries."""
    found: set[int] = set()
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            data = str(button.callback_data or "")
            if re.fullmatch(r"v[ar]:\d{1,9}", data):
                found.add(int(data[3:]))
    return found


def item_marker(kind: str, item_id: int) -> InlineKeyboardMarkup:
    """The one button that tells what a reply to a message is: "r" a unit's note on the item
    (如何回复), "x" / "y" the answer to a coordinator's question (取消)."""
    label = texts.BUTTON_COORD_REPLY if kind == "r" else texts.BUTTON_COORD_CANCEL
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"ci:{kind}:{item_id}")]]
    )

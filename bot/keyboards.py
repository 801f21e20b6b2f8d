"""Inline keyboards and their callback data (at most 64 bytes, Bot API limit).

Callback data formats:
- "r:<task number>:<status>"  report this status on this task (reminders, status choice)
- "t:<task number>"           choose this task in /report
- "x:<task number>"           request an extension (申请延期) of this task
- "xa:<id>" / "xr:<id>"       a coordinator approves / rejects extension request <id>
- "c:<report id>"             correct one's own report <id> (within the correction window)
- "skip:<nonce>"              no evidence, for the draft with this nonce
- "ok:<nonce>" / "no:<nonce>" confirm / cancel that draft (a press on an older draft's
                              confirmation is refused instead of saving the current one)
Everything parsed from callback data is checked again against the presser's rights.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import texts
from bot.render import clip
from jobs.types import Status

STATUS_PATTERN = r"^r:\d{1,6}:[a-z_]{1,20}$"
EXTENSION_PATTERN = r"^x:\d{1,6}$"
DECISION_PATTERN = r"^x[ar]:\d{1,9}$"
CORRECTION_PATTERN = r"^c:\d{1,9}$"
TASK_PATTERN = r"^t:\d{1,6}$"
SKIP = "skip"
CONFIRM = "ok"
CANCEL = "no"
_STATUS_RE = re.compile(r"^r:(\d{1,6}):([a-z_]{1,20})$")


def status_keyboard(task_number: int, *, extension: bool = True) -> InlineKeyboardMarkup:
    """Buttons 推进中 / 已完成 / 遇到困难 for one task, and 申请延期 below them."""
    rows = [
        [
            InlineKeyboardButton(texts.STATUS_LABEL[s], callback_data=f"r:{task_number}:{s.value}")
            for s in texts.REPORTABLE
        ]
    ]
    if extension:
        rows.append(
            [InlineKeyboardButton(texts.BUTTON_EXTENSION, callback_data=f"x:{task_number}")]
        )
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


def correction_keyboard(report_id: int) -> InlineKeyboardMarkup:
    """The 修改 button under a receipt (valid within `follow_up.correction_minutes`)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.BUTTON_CORRECT, callback_data=f"c:{report_id}")]]
    )


def parse_status_data(data: str) -> tuple[int, Status] | None:
    """Parse "r:<number>:<status>"; None when malformed or not a reportable status."""
    match = _STATUS_RE.match(data)
    if not match:
        return None
    try:
        status = Status(match.group(2))
    except ValueError:
        return None
    if status not in texts.REPORTABLE:
        return None
    return int(match.group(1)), status


def task_keyboard(tasks: Iterable[tuple[int, str]]) -> InlineKeyboardMarkup:
    """One button per (number, text) task, labelled "第 N 项 <short text>"."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(f"第 {n} 项 {clip(text, 18)}", callback_data=f"t:{n}")]
            for n, text in tasks
        ]
    )


def skip_keyboard(nonce: str) -> InlineKeyboardMarkup:
    """The 跳过 button of the evidence step of draft `nonce`."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.BUTTON_SKIP, callback_data=f"{SKIP}:{nonce}")]]
    )


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

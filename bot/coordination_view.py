"""Coordination items (协调事项) in chat: the coordinators' card and buttons, `/items`, the
units' replies.

    遇到困难 report ──> item opened (or the note added to the open one of that task and unit)
    the coordinators' 遇到困难 notice carries the item's card buttons:
      指派单位 (ci:a:ID) ──> a question: reply with a unit's name, or press one of the task's
          units (ci:u:ID:UNIT); 取消 (ci:x:ID) ──> the assigned unit's contacts get the need
      要求补充 (ci:d:ID) ──> the raising unit's contacts are asked; their reply is added
      关闭事项 (ci:c:ID) ──> a question: reply with the closing note; 取消 (ci:y:ID)
    a unit's message (ci:r:ID, a marker; pressing it says how to reply): a reply from a
      contact of the raising or the assigned unit is added to the item, the coordinators told
    /items (coordinators): the open items, a button each (ci:s:ID) showing its card

Nothing is kept in memory: a reply is matched to its item and action by the buttons of the
message it replies to (as the extension's 驳回 reason, `bot.extension_flow`).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from bot import keyboards, render, texts
from bot.access import coordinator_only, is_coordinator
from bot.context import BotContext
from bot.delivery import send, tell_coordinators
from bot.flow_common import answer, note_problem
from bot.handlers import reply
from db import repo
from db.models import CoordinationItem, Unit
from jobs.coordination import AssignRefusal, ItemView, days_open

log = logging.getLogger(__name__)

COORDINATOR_PATTERN = r"^ci:(?:[adcsxy]:\d{1,9}|u:\d{1,9}:\d{1,9})$"
REPLY_PATTERN = r"^ci:r:\d{1,9}$"
_MARKER_RE = re.compile(r"^ci:([xyr]):(\d{1,9})$")
UNIT_BUTTONS = 8  # the task's units offered as buttons under the 指派 question


def raise_from_report(
    session: Session,
    *,
    zone: ZoneInfo,
    task_id: int,
    unit_id: int,
    report_id: int | None,
    note: str,
    actor_user_id: int,
    now: datetime,
) -> tuple[int | None, str]:
    """Open the coordination item of a 遇到困难 report (`report_id`, its `note`) of `unit_id`
    on `task_id`, or add the note to that pair's open one (labelled with the local date in
    `zone`), in the caller's transaction. Returns the item's id and the line that says which
    (`texts.COORD_OPENED` or `texts.COORD_ADDED`)."""
    item, new = repo.coordination.raise_item(
        session,
        task_id=task_id,
        unit_id=unit_id,
        report_id=report_id,
        note=note,
        label=texts.COORD_LABEL_MORE.format(date=render.fmt_date(now.astimezone(zone).date())),
        actor_user_id=actor_user_id,
        now=now,
    )
    return item.id, (texts.COORD_OPENED if new else texts.COORD_ADDED).format(id=item.id)


def marker_of(markup: InlineKeyboardMarkup | None) -> tuple[str, int] | None:
    """What a reply to a message with these buttons is: ("x", id) a unit name for item id,
    ("y", id) its closing note, ("r", id) a unit's note; None for any other message."""
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            found = _MARKER_RE.match(str(button.callback_data or ""))
            if found:
                return found.group(1), int(found.group(2))
    return None


def card_text(view: ItemView, today_days: int) -> str:
    """The card of an item (HTML), `today_days` the days it has been open."""
    state = (
        texts.COORD_STATE_OPEN.format(days=today_days) if view.is_open else texts.COORD_STATE_CLOSED
    )
    return render.item_text(
        texts.COORD_CARD,
        view,
        state=state,
        assigned=render.esc(view.assigned_to or texts.COORD_UNASSIGNED),
    )


def _view(context: BotContext, item_id: int) -> ItemView | None:
    with context.svc.db.session() as s:
        views = repo.coordination.item_views(
            s, zone=context.svc.policy.zone, open_only=False, item_id=item_id
        )
    return views[0] if views else None


async def _tell_unit(
    context: BotContext, unit_id: int, text: str, *, reply_to_item: int | None = None
) -> int:
    """Send `text` to every contact of `unit_id`, with the reply marker of item
    `reply_to_item` when given (a reply is then that unit's note on it): how many got it."""
    with context.svc.db.session() as s:
        chats = [c.chat_id for c in repo.contacts_of_unit(s, unit_id=unit_id)]
    markup = keyboards.item_marker("r", reply_to_item) if reply_to_item is not None else None
    sent = 0
    for chat in chats:
        result = await send(context.bot, chat, text, reply_markup=markup)
        if result.message is not None:
            sent += 1
        else:
            log.warning("coordination message to chat %s not sent: %s", chat, result.error)
    return sent


async def _say(update: Update, text: str, *, alert: bool = False) -> None:
    """Answer a button press (an alert when `alert`), or reply to a message."""
    if update.callback_query is not None:
        if alert:
            await answer(update, text, alert=True)
            return
        await answer(update)
        message = update.callback_query.message
        if isinstance(message, Message):
            await message.reply_text(text)
        return
    await reply(update, text)


@coordinator_only
async def items_command(update: Update, context: BotContext) -> None:
    """/items: the open coordination items, a button each (coordinators)."""
    with context.svc.db.session() as s:
        views = repo.coordination.item_views(s, zone=context.svc.policy.zone)
    if not views:
        await reply(update, texts.ITEMS_NONE)
        return
    rows = [
        [
            InlineKeyboardButton(
                render.clip(
                    texts.ITEM_BUTTON.format(id=v.id, number=v.task_number, raised=v.raised_by),
                    30,
                ),
                callback_data=f"ci:s:{v.id}",
            )
        ]
        for v in views[:50]
    ]
    await reply(
        update,
        texts.ITEMS_HEADER.format(count=len(views)),
        reply_markup=InlineKeyboardMarkup(rows),
    )


@coordinator_only
async def coordinator_button(update: Update, context: BotContext) -> None:
    """The coordinators' item buttons (`COORDINATOR_PATTERN`)."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    parts = query.data.split(":")
    action, item_id = parts[1], int(parts[2])
    view = _view(context, item_id)
    if view is None:
        await answer(update, texts.COORD_NOT_FOUND, alert=True)
        return
    if action == "s":
        await answer(update)
        await _send_card(update, context, view)
        return
    if action in "xy":
        await _close_question(query.message, texts.COORD_QUESTION_CANCELLED.format(id=item_id))
        await answer(update)
        return
    if not view.is_open:
        await answer(update, texts.COORD_IS_CLOSED.format(id=item_id), alert=True)
        return
    if action == "a":
        await answer(update)
        await _ask_unit(update, context, view)
    elif action == "u":
        await assign(update, context, item_id, int(parts[3]))
    elif action == "d":
        await ask_detail(update, context, item_id)
    elif action == "c":
        await answer(update)
        await _send(
            update, texts.COORD_ASK_CLOSE.format(id=item_id), keyboards.item_marker("y", item_id)
        )


async def _send(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    chat = update.effective_chat
    if chat is not None:
        await chat.send_message(text, reply_markup=markup)


async def _send_card(update: Update, context: BotContext, view: ItemView) -> None:
    days = days_open(view.opened_on, context.svc.today())
    markup = keyboards.item_keyboard(view.id) if view.is_open else None
    await _send(update, card_text(view, days), markup)


async def _ask_unit(update: Update, context: BotContext, view: ItemView) -> None:
    """Ask which unit takes item `view` on: by name in a reply, or one of the task's units."""
    with context.svc.db.session() as s:
        item = s.get(CoordinationItem, view.id)
        skip = {item.raised_by_unit_id, item.assigned_unit_id} if item else set()
        units = [
            u for u in repo.coordination.units_of_task(s, task_id=view.task_id) if u.id not in skip
        ][:UNIT_BUTTONS]
    rows = [[InlineKeyboardButton(u.name, callback_data=f"ci:u:{view.id}:{u.id}")] for u in units]
    rows.append([InlineKeyboardButton(texts.BUTTON_COORD_CANCEL, callback_data=f"ci:x:{view.id}")])
    question = texts.COORD_ASK_UNIT.format(
        id=view.id, number=view.task_number, raised=render.esc(view.raised_by)
    )
    await _send(update, question, InlineKeyboardMarkup(rows))


async def _close_question(message: object, text: str) -> None:
    """Replace a question's text and drop its buttons (it is answered)."""
    if isinstance(message, Message):
        try:
            await message.edit_text(text, reply_markup=None)
        except TelegramError as exc:
            log.info("coordination question not updated: %s", exc)


async def assign(update: Update, context: BotContext, item_id: int, unit_id: int) -> None:
    """Assign item `item_id` to `unit_id` and send the need to the unit's contacts."""
    user = update.effective_user
    assert user is not None
    svc = context.svc
    with svc.db.session() as s:
        result = repo.coordination.assign_item(
            s, item_id=item_id, unit_id=unit_id, actor_user_id=user.id, now=svc.now()
        )
        unit = s.get(Unit, unit_id)
        unit_name = unit.name if unit is not None else "?"
    if result is None:
        await _say(update, texts.COORD_NOT_FOUND, alert=True)
        return
    if isinstance(result, AssignRefusal):
        refusal = {
            AssignRefusal.CLOSED: texts.COORD_IS_CLOSED,
            AssignRefusal.RAISING_UNIT: texts.COORD_RAISING_UNIT,
            AssignRefusal.SAME_UNIT: texts.COORD_SAME_UNIT,
        }[result]
        await _say(update, refusal.format(id=item_id, unit=render.esc(unit_name)), alert=True)
        return
    log.info("coordination item %s assigned to unit %s by %s", item_id, unit_id, user.id)
    view = _view(context, item_id)
    sent = (
        await _tell_unit(
            context, unit_id, render.item_text(texts.COORD_TO_UNIT, view), reply_to_item=item_id
        )
        if view
        else 0
    )
    done = (
        texts.COORD_ASSIGNED.format(id=item_id, unit=render.esc(unit_name), count=sent)
        if sent
        else texts.COORD_ASSIGNED_NO_CONTACT.format(id=item_id, unit=render.esc(unit_name))
    )
    query = update.callback_query
    if query is not None:
        await answer(update)
        await _close_question(query.message, done)
    else:
        message = update.effective_message
        await _close_question(message.reply_to_message if message else None, done)
        await reply(update, done)


async def ask_detail(update: Update, context: BotContext, item_id: int) -> None:
    """要求补充: ask the raising unit's contacts for more detail on item `item_id`."""
    user = update.effective_user
    assert user is not None
    svc = context.svc
    with svc.db.session() as s:
        pending = s.get(CoordinationItem, item_id)
        if pending is not None and pending.detail_requested_at is not None:
            asked = True  # asked already and not answered yet (a double press): not again
            item = None
        else:
            asked = False
            item = repo.coordination.request_detail(
                s, item_id=item_id, actor_user_id=user.id, now=svc.now()
            )
        unit_id = item.raised_by_unit_id if item else 0
    if asked:
        await _say(update, texts.COORD_DETAIL_PENDING.format(id=item_id), alert=True)
        return
    view = _view(context, item_id)
    if item is None or view is None:
        await _say(update, texts.COORD_IS_CLOSED.format(id=item_id), alert=True)
        return
    sent = await _tell_unit(
        context, unit_id, render.item_text(texts.COORD_DETAIL_TO_UNIT, view), reply_to_item=item_id
    )
    unit = render.esc(view.raised_by)
    await _say(
        update,
        texts.COORD_DETAIL_SENT.format(unit=unit, id=item_id, count=sent)
        if sent
        else texts.COORD_DETAIL_NO_CONTACT.format(unit=unit),
    )


async def reply_hint(update: Update, context: BotContext) -> None:
    """A press on a unit message's marker button: say how to answer (a reply)."""
    await answer(update, texts.COORD_REPLY_HINT, alert=True)


async def take_reply(update: Update, context: BotContext, kind: str, item_id: int) -> None:
    """A text reply to an item message: a unit's name ("x"), a closing note ("y"), both
    from coordinators, or a contact's note ("r")."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    text = message.text or ""
    if kind in "xy" and not await is_coordinator(context.svc, user.id):
        await reply(update, texts.NOT_COORDINATOR)
        return
    problem = note_problem(text)
    if problem is not None:
        await reply(update, problem)
        return
    if kind == "x":
        with context.svc.db.session() as s:
            unit, suggestions = repo.resolve_unit(s, text=text)
        if unit is None or unit.id is None:
            hint = (
                texts.COORD_UNKNOWN_UNIT_HINT.format(names="、".join(suggestions))
                if suggestions
                else ""
            )
            await reply(
                update,
                texts.COORD_UNKNOWN_UNIT.format(text=render.esc(render.clip(text, 30)), hint=hint),
            )
            return
        await assign(update, context, item_id, unit.id)
    elif kind == "y":
        await close(update, context, item_id, text)
    else:
        await take_unit_note(update, context, item_id, text)


async def close(update: Update, context: BotContext, item_id: int, note: str) -> None:
    """Close item `item_id` with `note` once; tell the raising and assigned units."""
    user = update.effective_user
    assert user is not None
    svc = context.svc
    with svc.db.session() as s:
        item = repo.coordination.close_item(
            s, item_id=item_id, note=note, actor_user_id=user.id, now=svc.now()
        )
        units = [item.raised_by_unit_id, item.assigned_unit_id] if item else []
    if item is None:
        await reply(update, texts.COORD_IS_CLOSED.format(id=item_id))
        return
    log.info("coordination item %s closed by %s", item_id, user.id)
    view = _view(context, item_id)
    done = texts.COORD_CLOSED.format(id=item_id, note=render.esc(note))
    message = update.effective_message
    await _close_question(message.reply_to_message if message else None, done)
    await reply(update, done)
    if view is not None:
        told = render.item_text(texts.COORD_CLOSED_TO_UNIT, view, note=render.esc(note))
        for unit_id in units:
            if unit_id is not None:
                await _tell_unit(context, unit_id, told)


async def take_unit_note(update: Update, context: BotContext, item_id: int, note: str) -> None:
    """A contact's reply to an item message: added to the item when the contact's unit
    raised it or is assigned it; the coordinators are told."""
    user = update.effective_user
    assert user is not None
    svc = context.svc
    today = render.fmt_date(svc.today())
    with svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user.id)
        item = s.get(CoordinationItem, item_id)
        unit = s.get(Unit, contact.unit_id) if contact else None
        stored = None
        if contact is not None and item is not None and unit is not None:
            raising = contact.unit_id == item.raised_by_unit_id
            label = (texts.COORD_LABEL_DETAIL if raising else texts.COORD_LABEL_PROGRESS).format(
                date=today, unit=unit.name
            )
            stored = repo.coordination.add_note(
                s,
                item_id=item_id,
                unit_id=contact.unit_id,
                note=note,
                label=label,
                actor_user_id=user.id,
                now=svc.now(),
            )
        closed = item is not None and item.status != "open"
    if stored is None:
        template = texts.COORD_IS_CLOSED if closed else texts.COORD_NOT_YOUR_ITEM
        await reply(update, template.format(id=item_id))
        return
    view = _view(context, item_id)
    await reply(update, texts.COORD_NOTE_SAVED.format(id=item_id))
    if view is not None and unit is not None:
        await tell_coordinators(
            context.bot,
            svc,
            texts.COORD_NOTE_TO_COORDINATORS.format(
                id=item_id,
                plan=render.esc(view.plan),
                number=view.task_number,
                unit=render.esc(unit.name),
                note=render.esc(note),
            ),
            reply_markup=keyboards.item_keyboard(item_id),
        )

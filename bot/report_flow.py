"""The status report conversation, one function per state (private chats only).

    /report ──> PICK_TASK ──(t2:ID)──> PICK_STATUS ──(r2:ID:status)──> NOTE
    task button of a message of the day (t2:ID) ──> PICK_STATUS
    reminder button (r2:ID:status) ───────────────────────────────────> NOTE
    NOTE ──(text)──> EVIDENCE ──(photo / document / voice / 跳过)──> CONFIRM ──(确认提交)──> saved
    CONFIRM ──(another photo / document / voice, up to evidence.max_files)──> CONFIRM

Each file is downloaded into the evidence folder when it arrives (`bot/evidence.py`) and the
confirmation lists every file attached. A correction carries the corrected report's evidence
(`Draft.kept`) unless the contact presses 替换原有材料.

Task buttons name the task by database id; those of older messages (t:N, r:N:status, by
序号) are still accepted (`keyboards.parse_task_data`). /cancel leaves at any step; after
`conversation.timeout_minutes` idle the conversation ends and says so. Each draft carries a
random nonce in its 跳过 / 确认提交 / 取消 buttons, so a press on an older draft's buttons can
never store the current one. `build_conversation` makes the one `ConversationHandler`, which
also runs the extension request (`bot/extension_flow.py`) and the correction of a report
(`bot/replies.py`, which also stores a plain text reply to a reminder, outside the
conversation).
"""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta

from sqlmodel import Session
from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import coordination_view, evidence, keyboards, render, texts
from bot.context import BotContext, Draft
from bot.delivery import send_claims, tell_coordinators
from bot.extension_flow import (
    ask_extension,
    submit_extension,
    take_extension_date,
    take_extension_reason,
)
from bot.flow_common import (
    CONFIRM,
    EVIDENCE,
    EXT_CONFIRM,
    EXT_DATE,
    EXT_REASON,
    NOTE,
    NOTE_LIMIT,
    PICK_STATUS,
    PICK_TASK,
    SKIP_WORDS,
    answer,
    contact_and_unit,
    draft_of,
    note_problem,
    start_draft,
)
from bot.handlers import NEW_MESSAGE, addressed_to_me, command, is_private, reply
from bot.plan_choice import choice_line, read_choice, read_tags
from bot.replies import correct_report
from bot.review_view import record_claim
from db import repo
from db.files import size_text
from db.models import Task, Unit
from jobs.scope import describe_numbers, parse_task_numbers
from jobs.types import Status

log = logging.getLogger(__name__)


async def report(update: Update, context: BotContext) -> int:
    """List the contact's open tasks as buttons (`/report 序号` those named only); at most
    `keyboards.MAX_TASK_BUTTONS`, the rest reached by number (Telegram takes 100 buttons),
    whether all open tasks are listed or those of a typed range."""
    user = update.effective_user
    if user is None or not is_private(update):
        await reply(update, texts.PRIVATE_ONLY)
        return ConversationHandler.END
    found = contact_and_unit(context, user.id)
    if found is None:
        await reply(update, texts.NOT_CONTACT)
        return ConversationHandler.END
    _contact, unit = found
    with context.svc.db.session() as s:
        open_tasks = repo.open_tasks_of_unit(s, unit_id=unit.id or 0)
        led = {t.id for t in repo.tasks_led_by(s, unit_id=unit.id or 0)}
        choice = read_choice(s, list(context.args or []))
        plan_tags = read_tags(s, html_text=False)
    # tasks the unit supports (责任单位 / member town) are marked 协办 on their button
    tasks = [
        (t.id or 0, t.number, ("" if t.id in led else texts.TASK_SUPPORTING) + t.text)
        for t in open_tasks
    ]
    tags = {t.id or 0: plan_tags.get(t.plan_id, "") for t in open_tasks}
    plan_of = {t.id or 0: t.plan_id for t in open_tasks}
    context.draft_store.draft = None
    unit_name = render.esc(unit.name)
    typed = " ".join(choice.words)
    asked = parse_task_numbers(typed.replace(" ", ",")) if typed else None
    if choice.named and choice.plan is not None and not choice.plan.active:
        await reply(update, texts.REPORT_PLAN_CLOSED.format(plan=render.esc(choice.plan.label)))
        return ConversationHandler.END
    if asked is None and choice.named and choice.plan is not None:  # /report 十四五
        tasks = [t for t in tasks if plan_of[t[0]] == choice.plan.id]
    supporting = sum(1 for t in tasks if t[0] not in led)
    if not tasks:
        await reply(update, texts.REPORT_NO_TASKS.format(unit=unit_name))
        return ConversationHandler.END
    text = texts.REPORT_CHOOSE_TASK.format(
        unit=unit_name,
        count=len(tasks),
        supporting=texts.REPORT_SUPPORTING.format(count=supporting) if supporting else "",
    )
    if typed and asked is None:
        text = texts.REPORT_NUMBERS_UNREAD.format(typed=render.esc(render.clip(typed, 20))) + (
            "\n" + text
        )
    if asked is not None:
        chosen = choice.plan.id if choice.plan is not None else None
        named = [t for t in tasks if t[1] in asked and plan_of[t[0]] == chosen]
        which = choice_line(choice, "report", typed)
        if which:
            text += "\n" + which
        if not named:
            await reply(
                update,
                texts.REPORT_NOT_OPEN.format(numbers=describe_numbers(asked), unit=unit_name)
                + ("\n" + which if which else ""),
            )
            return ConversationHandler.END
        tasks = named
    if len(tasks) > keyboards.MAX_TASK_BUTTONS:  # also a wide range typed, as /report 1-120
        text += "\n" + texts.REPORT_MORE_TASKS.format(
            shown=keyboards.MAX_TASK_BUTTONS, example=tasks[keyboards.MAX_TASK_BUTTONS][1]
        )
        tasks = tasks[: keyboards.MAX_TASK_BUTTONS]
    await reply(update, text, reply_markup=keyboards.task_keyboard(tasks, tags))
    return PICK_TASK


async def pick_task(update: Update, context: BotContext) -> int | None:
    """Show the status buttons for the chosen task (and 申请延期 if the unit leads it)."""
    query = update.callback_query
    assert query is not None
    parsed = keyboards.parse_task_data(query.data or "")
    if parsed is None or parsed.action != "t":
        await answer(update, texts.BUTTON_EXPIRED, alert=True)
        return None
    draft = await start_draft(update, context, parsed.task)
    if draft is None:
        return None  # stay where we are
    context.draft_store.draft = draft
    await answer(update)
    with context.svc.db.session() as s:  # 申请延期 is offered to lead units only
        lead = repo.is_lead_unit(s, task_id=draft.task_id, unit_id=draft.unit_id)
        milestone = next_milestone(s, draft.task_id) if lead else None
    if isinstance(query.message, Message):
        await query.message.reply_text(
            texts.REPORT_CHOOSE_STATUS.format(
                plan=draft.task_plan, number=draft.task_number, text=render.esc(draft.task_text)
            ),
            reply_markup=keyboards.status_keyboard(
                draft.task_id, extension=lead, milestone=milestone
            ),
        )
    return PICK_STATUS


def next_milestone(session: Session, task_id: int) -> tuple[int, str] | None:
    """(id, text) of the task's next open yearly milestone (`TaskView.next_milestone`'s
    rule: the earliest open one due before the deadline), or None."""
    task = session.get(Task, task_id)
    if task is None:
        return None
    for milestone in repo.milestones_of_task(session, task_id=task_id):
        if milestone.closed_on is None and milestone.due_on < task.deadline:
            return (milestone.id or 0, milestone.text)
    return None


async def pick_milestone(update: Update, context: BotContext) -> int | None:
    """完成年度目标 (m2:<task id>:<milestone id>): a 推进中 report that closes the task's
    milestone when stored (the task itself is done only by 已完成); ask for a note."""
    query = update.callback_query
    assert query is not None
    parsed = keyboards.parse_milestone_data(query.data or "")
    if parsed is None:
        await answer(update, texts.BUTTON_EXPIRED, alert=True)
        return None
    task_id, milestone_id = parsed
    draft = await start_draft(update, context, keyboards.TaskRef(task_id=task_id))
    if draft is None:
        return None
    with context.svc.db.session() as s:
        current = next_milestone(s, task_id)
    if current is None or current[0] != milestone_id:
        await answer(update, texts.MILESTONE_GONE, alert=True)
        return None
    draft.status = Status.IN_PROGRESS
    draft.milestone_id, draft.milestone_text = current
    context.draft_store.draft = draft
    await answer(update)
    text = texts.ASK_NOTE.format(
        number=draft.task_number,
        status=texts.STATUS_LABEL[Status.IN_PROGRESS]
        + texts.MILESTONE_CLOSED_NOTE.format(text=render.esc(draft.milestone_text)),
        limit=NOTE_LIMIT,
    )
    if isinstance(query.message, Message):
        await query.message.reply_text(text)
    return NOTE


async def pick_status(update: Update, context: BotContext) -> int | None:
    """Take the status from a button (reminder or status choice) and ask for a note."""
    query = update.callback_query
    assert query is not None
    parsed = keyboards.parse_task_data(query.data or "")
    if parsed is None or parsed.status is None:
        await answer(update, texts.BUTTON_EXPIRED, alert=True)
        return None
    status = parsed.status
    draft = await start_draft(update, context, parsed.task)
    if draft is None:
        return None  # a refused press keeps the report in progress, if any
    previous = draft_of(context)
    correcting = (
        previous is not None
        and previous.corrects_id is not None
        and previous.status is None
        and previous.task_id == draft.task_id
    )
    if status is Status.DONE and not correcting:  # claimed already (待审核 or 销号): not again
        with context.svc.db.session() as s:
            before = repo.status_in_force(s, task_id=draft.task_id, unit_id=draft.unit_id)
        if before is Status.DONE:
            await answer(update, texts.ALREADY_DONE.format(number=draft.task_number), alert=True)
            return None
    draft.status = status
    if correcting and previous is not None:
        draft.corrects_id = previous.corrects_id  # the status choice of a correction
        draft.corrects_receipt_id = previous.corrects_receipt_id
        draft.kept = previous.kept
        previous = None
    context.draft_store.draft = draft
    await answer(update)
    text = texts.ASK_NOTE.format(
        number=draft.task_number, status=texts.STATUS_LABEL[status], limit=NOTE_LIMIT
    )
    if previous is not None and previous.status is not None and previous.nonce != draft.nonce:
        text = texts.DRAFT_REPLACED.format(number=previous.task_number) + "\n" + text
    if isinstance(query.message, Message):
        await query.message.reply_text(text)
    return NOTE


async def take_note(update: Update, context: BotContext) -> int:
    """Store the note in the draft and ask for evidence."""
    message = update.effective_message
    draft = draft_of(context)
    if message is None or draft is None:
        await reply(update, texts.BUTTON_EXPIRED)
        return ConversationHandler.END
    note = message.text or ""
    problem = note_problem(note)
    if problem is not None:
        await reply(update, problem)
        return NOTE
    draft.note = note
    draft.note_message_id = message.message_id
    limit = context.svc.settings.evidence.max_files
    await reply(
        update,
        _ask_evidence_text(draft, limit),
        reply_markup=keyboards.skip_keyboard(draft.nonce, replace=bool(draft.kept)),
    )
    return EVIDENCE


async def note_not_text(update: Update, context: BotContext) -> int:
    """Ask again for a text note when something else was sent."""
    await reply(update, texts.NOTE_NOT_TEXT)
    return NOTE


async def edited_note(update: Update, context: BotContext) -> int | None:
    """Take a correction of the note message while the draft is not yet stored."""
    message = update.edited_message
    draft = draft_of(context)
    if message is None or draft is None or message.message_id != draft.note_message_id:
        return None
    note = message.text or ""
    problem = note_problem(note)
    if problem is not None:
        await reply(update, problem)
        return None
    draft.note = note
    await reply(update, texts.NOTE_UPDATED.format(note=render.esc(note)))
    if draft.confirming:
        return await _ask_confirmation(update, draft)
    return None


def _all_files(draft: Draft) -> list[repo.NewEvidence]:
    return [*draft.kept, *draft.files]


def _evidence_text(draft: Draft) -> str:
    files = _all_files(draft)
    if not files:
        return texts.EVIDENCE_NONE
    lines = "\n".join(
        f"{n}. " + evidence.file_line(f.kind, f.file_name, f.size, f.caption)
        for n, f in enumerate(files, start=1)
    )
    return texts.EVIDENCE_COUNT.format(count=len(files), lines=lines)


def _summary(template: str, draft: Draft, **extra: str) -> str:
    return template.format(
        plan=draft.task_plan,
        number=draft.task_number,
        text=render.esc(render.clip(draft.task_text, 60)),
        unit=render.esc(draft.unit_name),
        status=render.status_label(draft.status)
        + (
            texts.MILESTONE_CLOSED_NOTE.format(text=render.esc(draft.milestone_text))
            if draft.milestone_id is not None
            else ""
        ),
        note=render.esc(draft.note),
        evidence=_evidence_text(draft),
        **extra,
    )


async def _ask_confirmation(update: Update, draft: Draft, *, more: int = 0) -> int:
    draft.confirming = True
    message = update.effective_message
    if message is not None:
        text = _summary(texts.CONFIRM, draft)
        if more > 0:
            text += "\n\n" + texts.EVIDENCE_MORE.format(limit=more)
        await message.reply_text(text, reply_markup=keyboards.confirm_keyboard(draft.nonce))
    return CONFIRM


def _ask_evidence_text(draft: Draft, limit: int) -> str:
    if draft.kept:
        return texts.ASK_EVIDENCE_KEPT.format(count=len(draft.kept), limit=limit)
    return texts.ASK_EVIDENCE.format(limit=limit)


async def take_evidence(update: Update, context: BotContext) -> int | None:
    """Download the photo, document or voice message into the evidence folder, add it to
    the draft (up to `evidence.max_files`) and show what is attached before confirming.

    A file over Telegram's download limit, one past the limit, or one whose download keeps
    failing is not attached, and the contact is told why; the conversation stays where it
    was."""
    message = update.effective_message
    draft = draft_of(context)
    if message is None or draft is None:
        return ConversationHandler.END
    incoming = evidence.incoming_of(message)
    if incoming is None:
        return await evidence_not_file(update, context)
    settings = context.svc.settings.evidence
    limit = settings.max_files
    name = render.esc(incoming.file_name)
    if len(_all_files(draft)) >= limit:
        await reply(update, texts.EVIDENCE_LIMIT.format(limit=limit, name=name))
        return None
    try:
        kept = await evidence.keep(context.bot, context.svc, incoming)
    except evidence.TooBig:
        size = size_text(incoming.size or 0)
        await reply(update, texts.EVIDENCE_TOO_BIG.format(name=name, size=size))
        return None
    except evidence.DownloadFailed:
        await reply(
            update,
            texts.EVIDENCE_DOWNLOAD_FAILED.format(name=name, attempts=settings.download_attempts),
        )
        return None
    except OSError as exc:  # downloaded, but the evidence folder cannot be written
        log.error("evidence not kept: %s", exc)
        await reply(update, texts.EVIDENCE_SAVE_FAILED.format(name=name))
        return None
    if draft_of(context) is not draft:  # the draft ended while downloading
        return None
    same = [n for n, f in enumerate(_all_files(draft), start=1) if f.sha256 == kept.sha256]
    if same:  # the same file sent twice: kept once
        if kept.stored_path is not None:
            evidence.store_of(context.svc).delete(kept.stored_path)
        await reply(update, texts.EVIDENCE_DUPLICATE.format(name=name, n=same[0]))
        return None
    draft.files.append(kept)
    return await _ask_confirmation(update, draft, more=limit - len(_all_files(draft)))


async def skip_evidence(update: Update, context: BotContext) -> int | None:
    """Go on without (more) evidence (the 跳过 button, /skip, or typing 跳过); a correction
    keeps the earlier report's evidence unless 替换原有材料 was pressed."""
    draft = draft_of(context)
    if update.callback_query is not None:
        if draft is None or keyboards.nonce_of(update.callback_query.data) != draft.nonce:
            await answer(update, texts.BUTTON_EXPIRED, alert=True)
            return None
        await answer(update)
    if draft is None:
        await reply(update, texts.BUTTON_EXPIRED)
        return ConversationHandler.END
    return await _ask_confirmation(update, draft)


async def replace_evidence(update: Update, context: BotContext) -> int | None:
    """Drop the earlier report's evidence from a correction (替换原有材料)."""
    draft = draft_of(context)
    if (
        draft is None
        or keyboards.nonce_of(update.callback_query.data if update.callback_query else "")
        != draft.nonce
    ):
        await answer(update, texts.BUTTON_EXPIRED, alert=True)
        return None
    await answer(update)
    draft.kept = []
    await reply(update, texts.EVIDENCE_REPLACED, reply_markup=keyboards.skip_keyboard(draft.nonce))
    return EVIDENCE


async def evidence_text(update: Update, context: BotContext) -> int | None:
    """Treat 跳过 typed as text like the button; ask again for anything else."""
    message = update.effective_message
    if message is not None and (message.text or "").strip().lower() in SKIP_WORDS:
        return await skip_evidence(update, context)
    return await evidence_not_file(update, context)


async def evidence_not_file(update: Update, context: BotContext) -> int:
    """Ask again for a photo, a document, a voice message or 跳过."""
    draft = draft_of(context)
    markup = keyboards.skip_keyboard(draft.nonce, replace=bool(draft.kept)) if draft else None
    await reply(update, texts.EVIDENCE_NOT_FILE, reply_markup=markup)
    return EVIDENCE


async def status_text(update: Update, context: BotContext) -> None:
    """Point to the status buttons when something is typed or sent at the status choice."""
    await reply(update, texts.STATUS_USE_BUTTONS)


async def confirm_text(update: Update, context: BotContext) -> None:
    """Remind the user to press a button on the confirmation."""
    await reply(update, texts.CONFIRM_USE_BUTTONS)


async def confirm(update: Update, context: BotContext) -> int | None:
    """Store the report and acknowledge it with what was stored."""
    query = update.callback_query
    user = update.effective_user
    draft = draft_of(context)
    if query is None or user is None:
        return None
    if draft is None or keyboards.nonce_of(query.data) != draft.nonce:
        await answer(update, texts.BUTTON_EXPIRED, alert=True)
        return None  # an older confirmation: the current draft stays as it is
    svc = context.svc
    now = svc.now()
    stored_id = None
    claim_id = None
    item_id: int | None = None
    opened = ""
    files = _all_files(draft)
    with svc.db.session() as s:
        reporter = repo.reporter_on_task(s, telegram_user_id=user.id, task_id=draft.task_id)
        if reporter is not None and reporter.unit_id != draft.unit_id:
            if s.get(Unit, draft.unit_id) is None:  # merged into the contact's unit meanwhile
                draft.unit_id, draft.unit_name = reporter.unit_id, reporter.unit_name
        allowed = reporter is not None and reporter.unit_id == draft.unit_id and reporter.allowed
        closed = reporter.closed_plan if reporter is not None else None
        if reporter is not None and allowed and closed is None:
            stored = repo.add_report(
                s,
                task_id=draft.task_id,
                unit_id=draft.unit_id,
                contact_id=reporter.contact_id,
                reporter_user_id=user.id,
                status=draft.status,
                note=draft.note,
                now=now,
                evidence_kind=files[0].kind if files else None,
                evidence_file_id=files[0].telegram_file_id if files else None,
                evidence_file_name=files[0].file_name if files else None,
                corrects_id=draft.corrects_id,
            )
            stored_id = stored.id
            claim_id = record_claim(svc, s, stored)
            if draft.milestone_id is not None and stored.id is not None:
                repo.close_milestone(
                    s,
                    milestone_id=draft.milestone_id,
                    task_id=draft.task_id,
                    report_id=stored.id,
                    on=now.astimezone(svc.policy.zone).date(),
                    actor_user_id=user.id,
                    now=now,
                )
            if draft.status is Status.BLOCKED:  # opens a coordination item
                item_id, opened = coordination_view.raise_from_report(
                    s,
                    zone=svc.policy.zone,
                    task_id=draft.task_id,
                    unit_id=draft.unit_id,
                    report_id=stored.id,
                    note=draft.note,
                    actor_user_id=user.id,
                    now=now,
                )
            if files and stored.id is not None:
                repo.add_evidence(
                    s,
                    report_id=stored.id,
                    task_id=draft.task_id,
                    unit_id=draft.unit_id,
                    files=files,
                    now=now,
                )
    context.draft_store.draft = None
    if allowed and closed is not None:
        text = texts.PLAN_CLOSED_TASK.format(plan=closed, number=draft.task_number)
        await answer(update, text, alert=True)
        return ConversationHandler.END
    if not allowed:
        await answer(update, texts.NOT_YOUR_TASK.format(number=draft.task_number), alert=True)
        return ConversationHandler.END
    log.info(
        "report stored: id=%s task=%s unit=%s user=%s status=%s evidence_files=%d note_chars=%d",
        stored_id,
        draft.task_number,
        draft.unit_id,
        user.id,
        draft.status,
        len(files),
        len(draft.note),
    )
    # stored and committed: from here on, a Telegram failure must not look like a lost report
    await answer(update)
    saved = _summary(texts.SAVED, draft, at=render.fmt_instant(now, svc.policy.zone))
    if claim_id is not None:
        saved += texts.REVIEW_SUBMITTED
    markup = (
        keyboards.correction_keyboard(stored_id or 0)
        if svc.settings.follow_up.correction_minutes > 0
        else None
    )
    try:
        if isinstance(query.message, Message):
            # the confirmation card becomes the receipt
            await query.message.edit_text(saved, reply_markup=markup)
        else:
            await context.bot.send_message(user.id, saved, reply_markup=markup)
    except TelegramError as exc:
        log.warning("report %s stored but the receipt edit failed: %s", stored_id, exc)
        try:
            await context.bot.send_message(user.id, saved)
        except TelegramError as again:
            log.warning("report %s stored; receipt not delivered: %s", stored_id, again)
    if draft.corrects_receipt_id is not None:  # the corrected receipt: no 修改 any more
        try:
            await context.bot.edit_message_reply_markup(
                chat_id=user.id, message_id=draft.corrects_receipt_id, reply_markup=None
            )
        except TelegramError as exc:
            log.info("corrected receipt %s kept its button: %s", draft.corrects_receipt_id, exc)
    if claim_id is not None:  # to the reviewers now, if the coordinators' day allows
        await send_claims(context.bot, svc)
    if draft.status is Status.BLOCKED:
        notice = texts.BLOCKED_NOTICE.format(
            plan=draft.task_plan,
            number=draft.task_number,
            text=render.esc(render.clip(draft.task_text, 60)),
            unit=render.esc(draft.unit_name),
            name=render.esc(user.full_name or str(user.id)),
            note=render.esc(draft.note),
        )
        if item_id is not None:  # the item's buttons (bot.coordination_view)
            await tell_coordinators(
                context.bot,
                svc,
                notice + "\n" + opened,
                reply_markup=keyboards.item_keyboard(item_id),
            )
        else:
            await tell_coordinators(context.bot, svc, notice)
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int | None:
    """Leave the conversation without storing anything."""
    draft = draft_of(context)
    if update.callback_query is not None:
        if draft is None or keyboards.nonce_of(update.callback_query.data) != draft.nonce:
            await answer(update, texts.BUTTON_EXPIRED, alert=True)
            return None
        await answer(update)
    if context.user_data is not None:
        context.user_data.draft = None
    await reply(update, texts.CANCELLED)
    return ConversationHandler.END


async def cancel_outside(update: Update, context: BotContext) -> None:
    """Answer /cancel when no conversation runs (in private chats, and in groups when
    written /cancel@bot; a bare one in a group may be another bot's)."""
    if addressed_to_me(update, context.bot.username):
        await reply(update, texts.NOTHING_TO_CANCEL)


async def skip_outside(update: Update, context: BotContext) -> None:
    """Answer /skip when no report runs (a conversation cut off by a restart or the idle
    timeout): say so rather than call it an unknown command. In groups only /skip@bot."""
    if addressed_to_me(update, context.bot.username):
        await reply(update, texts.NO_REPORT_IN_PROGRESS)


async def timed_out(update: Update, context: BotContext) -> None:
    """Tell the user the idle conversation ended and nothing was stored."""
    if context.user_data is not None:
        context.user_data.draft = None
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat.id, texts.TIMED_OUT)


async def stale_button(update: Update, context: BotContext) -> None:
    """Answer a press on a conversation button when no conversation runs."""
    await answer(update, texts.BUTTON_EXPIRED)


def build_conversation(timeout: timedelta) -> ConversationHandler:
    """Return the status report `ConversationHandler` with the given idle timeout."""
    with warnings.catch_warnings():
        # per_message=False is deliberate: one conversation per user and private chat, entered
        # from buttons on any reminder; PTB warns that callback queries are then not tracked
        # per message, which is what we want (the draft nonce guards against old buttons).
        warnings.filterwarnings("ignore", message=".*per_message=False", category=PTBUserWarning)
        return _conversation(timeout)


def _conversation(timeout: timedelta) -> ConversationHandler:
    private = filters.ChatType.PRIVATE
    new = private & NEW_MESSAGE
    edited = private & filters.UpdateType.EDITED_MESSAGE & filters.TEXT
    files = new & (filters.PHOTO | filters.Document.ALL | filters.VOICE)
    return ConversationHandler(
        entry_points=[
            command("report", report),
            CallbackQueryHandler(pick_status, pattern=keyboards.STATUS_PATTERN),
            CallbackQueryHandler(pick_milestone, pattern=keyboards.MILESTONE_PATTERN),
            # the task buttons of a contact's message of the day (jobs.daily)
            CallbackQueryHandler(pick_task, pattern=keyboards.TASK_PATTERN),
            CallbackQueryHandler(ask_extension, pattern=keyboards.EXTENSION_PATTERN),
            CallbackQueryHandler(correct_report, pattern=keyboards.CORRECTION_PATTERN),
        ],
        states={
            PICK_TASK: [CallbackQueryHandler(pick_task, pattern=keyboards.TASK_PATTERN)],
            PICK_STATUS: [
                CallbackQueryHandler(pick_task, pattern=keyboards.TASK_PATTERN),
                CallbackQueryHandler(pick_milestone, pattern=keyboards.MILESTONE_PATTERN),
                # a reply to a reminder is stored as a note as at any time (bot.replies)
                MessageHandler(new & ~filters.COMMAND & ~filters.REPLY, status_text),
            ],
            NOTE: [
                MessageHandler(new & filters.TEXT & ~filters.COMMAND, take_note),
                MessageHandler(new & ~filters.COMMAND, note_not_text),
            ],
            EVIDENCE: [
                MessageHandler(files, take_evidence),
                CallbackQueryHandler(skip_evidence, pattern=keyboards.draft_pattern("skip")),
                CallbackQueryHandler(replace_evidence, pattern=keyboards.draft_pattern("rep")),
                command("skip", skip_evidence),
                MessageHandler(edited, edited_note),
                MessageHandler(new & filters.TEXT & ~filters.COMMAND, evidence_text),
                MessageHandler(new & ~filters.COMMAND, evidence_not_file),
            ],
            CONFIRM: [
                CallbackQueryHandler(confirm, pattern=keyboards.draft_pattern("ok")),
                CallbackQueryHandler(cancel, pattern=keyboards.draft_pattern("no")),
                MessageHandler(edited, edited_note),
                MessageHandler(files, take_evidence),
                MessageHandler(new & ~filters.COMMAND, confirm_text),
            ],
            EXT_DATE: [
                MessageHandler(new & filters.TEXT & ~filters.COMMAND, take_extension_date),
                MessageHandler(new & ~filters.COMMAND, note_not_text),
            ],
            EXT_REASON: [
                MessageHandler(new & filters.TEXT & ~filters.COMMAND, take_extension_reason),
                MessageHandler(new & ~filters.COMMAND, note_not_text),
            ],
            EXT_CONFIRM: [
                CallbackQueryHandler(submit_extension, pattern=keyboards.draft_pattern("ok")),
                CallbackQueryHandler(cancel, pattern=keyboards.draft_pattern("no")),
                MessageHandler(new & ~filters.COMMAND, confirm_text),
            ],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
        },
        fallbacks=[command("cancel", cancel)],
        allow_reentry=True,
        conversation_timeout=timeout,
        name="status_report",
    )

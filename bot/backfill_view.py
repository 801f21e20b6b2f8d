"""Past records (补录) in chat: `/backfill [简称] 序号 单位 状态 日期 说明` (coordinators).

The command is checked (`jobs.backfill.check_backfill`, the note rules of
`bot.flow_common.note_problem`), then shown as a preview with 确认补录 / 取消 buttons
("bf:ok:<nonce>", "bf:no:<nonce>"); the pending record is kept in the coordinator's user data
(`BackfillDraft`), so a press on an older, cancelled or already confirmed preview stores
nothing. A photo or document sent with the command as its caption is kept as the record's
evidence. A stored record has source "backfill" (`repo.add_backfill`): no alert, reminder or
notice is sent for it.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import evidence, render, texts
from bot.access import coordinator_only
from bot.context import BackfillDraft, BotContext, Services
from bot.flow_common import answer, note_problem
from bot.handlers import edit_preview, reply
from bot.plan_choice import choice_line, read_choice
from db import repo
from db.files import size_text
from db.models import Plan
from jobs.backfill import BackfillRefusal, PlanPeriod, check_backfill, read_past_date
from jobs.names import parse_status

log = logging.getLogger(__name__)

CONFIRM_PATTERN = r"^bf:(ok|no):[0-9a-f]{8}$"
CAPTION_PATTERN = r"^/backfill(@\w+)?(\s|$)"  # a file sent with the command as its caption


def refusal_text(
    refusal: BackfillRefusal,
    *,
    occurred_on: date,
    plan_title: str,
    period: PlanPeriod,
    unit: str,
    number: int,
) -> str:
    """The Chinese reason a past record is refused (escaped HTML)."""
    return texts.BACKFILL_REFUSED[refusal.value].format(
        date=render.fmt_date(occurred_on),
        plan=render.esc(plan_title),
        start=render.fmt_date(period.start),
        end=render.fmt_date(period.end),
        unit=render.esc(unit),
        number=number,
    )


def _keyboard(nonce: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.BUTTON_BACKFILL_CONFIRM, callback_data=f"bf:ok:{nonce}"),
                InlineKeyboardButton(texts.BUTTON_CANCEL, callback_data=f"bf:no:{nonce}"),
            ]
        ]
    )


def _parse_number(word: str) -> int | None:
    text = word.strip().lstrip("第").rstrip("项")
    return int(text) if text.isdecimal() and len(text) <= 6 else None


@coordinator_only
async def backfill_command(update: Update, context: BotContext) -> None:
    """`/backfill [简称] 序号 单位 状态 日期 说明` (coordinators), as text or as the caption of
    a photo or document: check it, keep the file, and show a preview to confirm."""
    user = update.effective_user
    message = update.effective_message
    svc = context.svc
    if user is None or message is None:
        return
    text = message.text or message.caption or ""
    parts = text.split(maxsplit=5)
    with svc.db.session() as s:
        choice = read_choice(s, parts[1:2])
    if choice.named:
        parts = text.split(maxsplit=6)
        del parts[1]
    number = _parse_number(parts[1]) if len(parts) > 1 else None
    if len(parts) < 6 or number is None:
        await reply(update, texts.BACKFILL_USAGE)
        return
    unit_name, status_word, date_text, note = parts[2], parts[3], parts[4], parts[5]
    status = parse_status(status_word)
    if status is None:
        await reply(
            update, texts.RECORD_BAD_STATUS.format(text=render.esc(render.clip(status_word, 20)))
        )
        return
    today = svc.today()
    occurred_on = read_past_date(date_text, today)
    if occurred_on is None:
        await reply(
            update, texts.BACKFILL_BAD_DATE.format(text=render.esc(render.clip(date_text, 20)))
        )
        return
    problem = note_problem(note)
    if problem is not None:
        await reply(update, problem)
        return
    which = choice_line(choice, "backfill", f"{number} {unit_name} {status_word} {date_text} ……")
    with svc.db.session() as s:
        task = repo.get_task(
            s, number=number, plan_id=choice.plan.id if choice.plan is not None else None
        )
        unit, suggestions = repo.resolve_unit(s, text=unit_name)
        plan = s.get(Plan, task.plan_id) if task is not None else None
        named = (
            task is not None
            and unit is not None
            and repo.may_report(s, task_id=task.id or 0, unit_id=unit.id or 0)
        )
        task_id, task_text = (task.id or 0, task.text) if task is not None else (0, "")
        unit_id, unit_full = (unit.id or 0, unit.name) if unit is not None else (0, "")
        plan_id = (plan.id or 0) if plan is not None else 0
        plan_title = plan.title if plan is not None else ""
        plan_tag = (plan.short_name or plan.title) if plan is not None else ""
        period = PlanPeriod(plan.period_start, plan.period_end) if plan is not None else None
    if task is None or period is None:
        await reply(
            update, "\n".join(filter(None, [texts.UNKNOWN_TASK.format(number=number), which]))
        )
        return
    if unit is None:
        await reply(update, render.unknown_unit(unit_name, suggestions, texts.BACKFILL_USAGE))
        return
    refusal = check_backfill(occurred_on=occurred_on, today=today, period=period, named=named)
    if refusal is not None:
        reason = refusal_text(
            refusal,
            occurred_on=occurred_on,
            plan_title=plan_title,
            period=period,
            unit=unit_full,
            number=number,
        )
        await reply(update, "\n".join(filter(None, [reason, which])))
        return
    files: list[repo.NewEvidence] = []
    incoming = evidence.incoming_of(message)
    if incoming is not None:
        name = render.esc(incoming.file_name)
        settings = svc.settings.evidence
        try:
            files.append(await evidence.keep(context.bot, svc, incoming))
        except evidence.TooBig:
            size = size_text(incoming.size or 0)
            await reply(update, texts.EVIDENCE_TOO_BIG.format(name=name, size=size))
            return
        except evidence.DownloadFailed:
            await reply(
                update,
                texts.EVIDENCE_DOWNLOAD_FAILED.format(
                    name=name, attempts=settings.download_attempts
                ),
            )
            return
        except OSError as exc:
            log.error("evidence not kept: %s", exc)
            await reply(update, texts.EVIDENCE_SAVE_FAILED.format(name=name))
            return
    _drop_files(svc, context.draft_store.backfill)
    nonce = secrets.token_hex(4)
    context.draft_store.backfill = BackfillDraft(
        nonce=nonce,
        task_id=task_id,
        number=number,
        plan_id=plan_id,
        unit_id=unit_id,
        unit_name=unit_full,
        status=status,
        note=note,
        occurred_on=occurred_on,
        files=tuple(files),
    )
    preview = texts.BACKFILL_PREVIEW.format(
        plan=render.esc(f"《{plan_tag}》"),
        number=number,
        text=render.esc(render.clip(task_text, 60)),
        unit=render.esc(unit_full),
        status=texts.STATUS_LABEL[status],
        date=render.fmt_date(occurred_on),
        note=render.esc(note),
        files=texts.BACKFILL_PREVIEW_FILES.format(
            files="、".join(evidence.file_line(f.kind, f.file_name, f.size, None) for f in files)
        )
        if files
        else "",
    )
    await reply(update, "\n".join(filter(None, [preview, which])), reply_markup=_keyboard(nonce))


def _drop_files(svc: Services, draft: BackfillDraft | None) -> None:
    """Remove the kept files of a preview that will never be stored."""
    if draft is None:
        return
    for kept in draft.files:
        if kept.stored_path is not None:
            evidence.store_of(svc).delete(kept.stored_path)


@coordinator_only
async def confirm_backfill(update: Update, context: BotContext) -> None:
    """确认补录 / 取消 under a preview: store the record (its date re-checked against today and
    the plan's period) with its files, or drop it. A press on an older or lost preview, or a
    second press, stores nothing; nor does the same record (task, unit, date, status, note)
    already stored (`repo.backfill_exists`, as the console's sheet load checks)."""
    query = update.callback_query
    user = update.effective_user
    svc = context.svc
    if query is None or user is None or query.data is None:
        return
    _, action, nonce = query.data.split(":")
    draft = context.draft_store.backfill
    if draft is None or draft.nonce != nonce:
        await answer(update, texts.BACKFILL_EXPIRED, alert=True)
        return
    context.draft_store.backfill = None
    await answer(update)
    if action == "no":
        _drop_files(svc, draft)
        await edit_preview(query.message, texts.BACKFILL_CANCELLED)
        return
    today = svc.today()
    now = svc.now()
    refusal: BackfillRefusal | None = None
    stored_id: int | None = None
    duplicate = False
    period: PlanPeriod | None = None
    plan_title = ""
    with svc.db.session() as s:
        plan = s.get(Plan, draft.plan_id)
        task = repo.get_task_by_id(s, task_id=draft.task_id)
        if plan is not None and task is not None:
            period = PlanPeriod(plan.period_start, plan.period_end)
            plan_title = plan.title
            refusal = check_backfill(
                occurred_on=draft.occurred_on,
                today=today,
                period=period,
                named=repo.may_report(s, task_id=draft.task_id, unit_id=draft.unit_id),
            )
            duplicate = refusal is None and repo.backfill_exists(
                s,
                task_id=draft.task_id,
                unit_id=draft.unit_id,
                occurred_on=draft.occurred_on,
                status=draft.status,
                note=draft.note,
            )
            if refusal is None and not duplicate:
                report = repo.add_backfill(
                    s,
                    task_id=draft.task_id,
                    unit_id=draft.unit_id,
                    status=draft.status,
                    note=draft.note,
                    occurred_on=draft.occurred_on,
                    entered_by=user.id,
                    now=now,
                    zone=svc.policy.zone,
                )
                stored_id = report.id
                if draft.files:
                    repo.add_evidence(
                        s,
                        report_id=report.id or 0,
                        task_id=draft.task_id,
                        unit_id=draft.unit_id,
                        files=draft.files,
                        now=now,
                    )
    if period is None:
        _drop_files(svc, draft)
        await edit_preview(query.message, texts.BACKFILL_PLAN_GONE)
        return
    if duplicate:
        _drop_files(svc, draft)
        await edit_preview(
            query.message,
            texts.BACKFILL_DUPLICATE.format(
                unit=render.esc(draft.unit_name),
                number=draft.number,
                date=render.fmt_date(draft.occurred_on),
            ),
        )
        return
    if refusal is not None:
        _drop_files(svc, draft)
        await edit_preview(
            query.message,
            refusal_text(
                refusal,
                occurred_on=draft.occurred_on,
                plan_title=plan_title,
                period=period,
                unit=draft.unit_name,
                number=draft.number,
            ),
        )
        return
    log.info(
        "backfill stored: id=%s task=%s unit=%s entered_by=%s status=%s on=%s files=%d",
        stored_id,
        draft.number,
        draft.unit_id,
        user.id,
        draft.status,
        draft.occurred_on,
        len(draft.files),
    )
    await edit_preview(
        query.message,
        texts.BACKFILL_SAVED.format(
            unit=render.esc(draft.unit_name),
            number=draft.number,
            status=texts.STATUS_LABEL[draft.status],
            date=render.fmt_date(draft.occurred_on),
            files=texts.BACKFILL_SAVED_FILES.format(count=len(draft.files)) if draft.files else "",
            note=render.esc(draft.note),
        ),
    )


__all__ = [
    "CAPTION_PATTERN",
    "CONFIRM_PATTERN",
    "backfill_command",
    "confirm_backfill",
    "refusal_text",
]

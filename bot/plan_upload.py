"""A new plan loaded from its document in chat: /plan, the document, 确认导入 / 取消.

A coordinator, in a private chat and outside any report conversation, sends the plan's
document (.docx, .xlsx, .pdf with a text layer, .txt; at most `DOWNLOAD_LIMIT`). The bot
keeps it in the uploads folder (`uploads_root`: ``evidence.plan-uploads`` beside the
evidence folder) under ``<user id>/<key>/``, where the key is Telegram's ``file_unique_id`` made
safe; it parses it in a worker thread (`office.plan_import`) and answers with the
verification report in Chinese and the buttons ``pl:ok:<key>`` / ``pl:no:<key>``.
Identity fields the document does not show (标题, 文号, 印发日期, 起止年份) are asked for as one
message to copy and fill; the typed values are kept beside the document (``upload.json``),
so a pending upload survives a restart and nothing of it is kept in the process.

A press of 确认导入 first renames the upload's folder (``<key>`` to ``<key>.loading``, an
atomic claim: a second press, or one after the load, finds nothing and is told the upload
expired), then parses the kept file again and loads it with `db.seed.load_plan` in one
transaction, audited as ``plan.upload`` with the coordinator's Telegram id. A failure
before the commit puts the folder back. 取消 removes the folder.

Everybody else's document, and a coordinator's inside a report conversation, goes where it
went before (`handlers.private_fallback`; a report conversation takes its evidence first).
A coordinator who is also a unit's contact gets the plan import for a document sent
outside a report conversation (inside one, it is evidence); nothing changes before
确认导入.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlmodel import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from bot import render, texts
from bot.access import coordinator_only, is_coordinator
from bot.backlog import recheck_plan
from bot.config import evidence_dir
from bot.context import BotContext, Services
from bot.evidence import DOWNLOAD_LIMIT, DownloadFailed, TooBig, download, incoming_of
from bot.flow_common import answer
from bot.handlers import is_private, private_fallback, reply
from bot.reads import in_worker
from db import repo
from db.files import write_atomically
from db.models import Plan, Unit
from db.seed import LoadSummary, PlanRecord, TaskRecord, load_plan
from jobs.scope import describe_numbers
from office.plan_import import (
    DOCUMENT_NUMBER,
    FULL_DATE,
    SAVE_AS_DOCX,
    ImportResult,
    PlanIdentity,
    PlanImportError,
    document_text,
    find_identity,
    import_document,
)

log = logging.getLogger(__name__)

SUPPORTED = (".docx", ".xlsx", ".pdf", ".txt")
CONFIRM_PATTERN = r"^pl:(ok|no):[A-Za-z0-9_-]{1,40}$"
IDENTITY_PATTERN = r"(?m)^\s*(?:标题|文号|印发日期|起止年份)\s*[:：]"
META = "upload.json"
LOADING = ".loading"
LIST_CAP = 10  # lines shown of each list of the report (the rest counted)
TITLE_LIMIT = 200


def uploads_root(svc: Services) -> Path:
    """The folder of pending uploads, beside the evidence folder and named after it
    (``evidence`` gives ``evidence.plan-uploads``): outside it, so that neither
    prune-evidence nor the evidence archive of a backup sees a pending upload."""
    folder = evidence_dir(svc.settings)
    return folder.with_name(folder.name + ".plan-uploads")


def upload_key(file_unique_id: str) -> str:
    """A folder name and callback key from Telegram's ``file_unique_id`` (at most 40 of
    ``[A-Za-z0-9_-]``; Telegram's ids are made of those)."""
    key = re.sub(r"[^A-Za-z0-9_-]", "", file_unique_id)[:40]
    return key or "upload"


@dataclass(frozen=True)
class Preview:
    """A parsed upload: its file name, the table, and the identity (document and typed)."""

    key: str
    name: str
    result: ImportResult
    identity: PlanIdentity
    loaded_as: str | None = None  # the 简称 of the loaded plan with this 文号 (an update)

    @property
    def missing(self) -> tuple[str, ...]:
        """The identity fields still unknown, as keys of `texts.PLAN_FIELD`."""
        fields = self.identity.missing()
        keys: list[str] = [f for f in ("title", "document_number", "issued_on") if f in fields]
        if "period_start" in fields or "period_end" in fields:
            keys.append("period")
        return tuple(keys)

    @property
    def without_lead(self) -> list[int]:
        """Numbers of the tasks without a lead unit (they cannot be followed up)."""
        return [t.number for t in self.result.tasks if not t.lead_units]

    @property
    def blocked(self) -> bool:
        """Whether the table has rows that are not tasks or tasks without a lead unit: such
        a document is not loaded until it is corrected."""
        return bool(self.result.not_placed or self.without_lead)


# --------------------------------------------------------------------------- blocking work


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _known_units(svc: Services) -> tuple[list[str], dict[str, str]]:
    """The units' current names and their aliases ({former name: current name})."""
    with svc.db.session() as s:
        return list(s.exec(select(Unit.name)).all()), repo.alias_names(s)


def _typed(meta: dict[str, object]) -> dict[str, object]:
    typed = meta.get("typed")
    return typed if isinstance(typed, dict) else {}


def _merge(found: PlanIdentity, typed: dict[str, object]) -> PlanIdentity:
    def day(key: str) -> date | None:
        value = typed.get(key)
        return date.fromisoformat(value) if isinstance(value, str) else None

    title, number = typed.get("title"), typed.get("document_number")
    return PlanIdentity(
        title=title if isinstance(title, str) else found.title,
        document_number=number if isinstance(number, str) else found.document_number,
        issued_on=day("issued_on") or found.issued_on,
        period_start=day("period_start") or found.period_start,
        period_end=day("period_end") or found.period_end,
    )


def _document(folder: Path) -> tuple[Path, dict[str, object]]:
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    suffix = str(meta.get("suffix", ".txt"))
    return folder / f"document{suffix}", meta


def read_upload(svc: Services, folder: Path) -> Preview:
    """Parse the upload kept in `folder`. Raises `PlanImportError` (and `OSError` when the
    folder is gone). Blocking: run it with `in_worker`."""
    path, meta = _document(folder)
    result = import_document(path, *_known_units(svc))
    found = find_identity(document_text(path))
    key = folder.name.removesuffix(LOADING)
    identity = _merge(found, _typed(meta))
    loaded_as = None
    if identity.document_number is not None:
        with svc.db.session() as s:
            plan = s.exec(
                select(Plan).where(Plan.document_number == identity.document_number)
            ).first()
            if plan is not None:
                loaded_as = plan.short_name or plan.document_number
    return Preview(key, str(meta.get("name", path.name)), result, identity, loaded_as)


def stage_upload(svc: Services, folder: Path, name: str, data: bytes) -> Preview:
    """Keep a downloaded document in `folder` and parse it; on `PlanImportError` the folder
    is removed and the error raised. The coordinator's other pending uploads (beside
    `folder`; one being loaded excepted) are removed first: the latest upload is the one
    typed identity fields go to, and an older report's 确认导入 answers that it expired.
    Blocking: run it with `in_worker`."""
    if folder.parent.is_dir():
        for earlier in folder.parent.iterdir():
            if earlier.is_dir() and not earlier.name.endswith(LOADING):
                _remove(earlier)
    suffix = Path(name).suffix.lower()
    write_atomically(folder / f"document{suffix}", data)
    meta = {"name": name, "suffix": suffix, "typed": {}}
    write_atomically(folder / META, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    try:
        return read_upload(svc, folder)
    except PlanImportError:
        _remove(folder)
        raise


def type_identity(svc: Services, folder: Path, typed: dict[str, object]) -> Preview:
    """Store the typed identity fields beside the upload (over earlier typed ones) and parse
    it again. Blocking: run it with `in_worker`."""
    _, meta = _document(folder)
    meta["typed"] = {**_typed(meta), **typed}
    write_atomically(folder / META, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
    return read_upload(svc, folder)


def plan_record(preview: Preview) -> PlanRecord:
    """The `PlanRecord` of a complete preview; a task without its own deadline gets the
    last day of the plan's period. Raises `ValueError` when identity fields are missing."""
    identity = preview.identity
    if (
        identity.title is None
        or identity.document_number is None
        or identity.issued_on is None
        or identity.period_end is None
    ):
        raise ValueError(f"identity incomplete: {preview.missing}")
    return PlanRecord(
        title=identity.title,
        document_number=identity.document_number,
        issued_on=identity.issued_on,
        period_start=identity.period_start,
        period_end=identity.period_end,
        tasks=tuple(
            TaskRecord(
                number=t.number,
                text=t.text,
                lead_units=t.lead_units,
                responsible_units=t.responsible_units,
                deadline=t.deadline or identity.period_end,
                responsible_units_note=t.responsible_units_note,
            )
            for t in preview.result.tasks
        ),
    )


@dataclass(frozen=True)
class Loaded:
    """What a confirmed load did, or why it did not (`preview` missing fields or blocked)."""

    preview: Preview
    summary: LoadSummary | None


def load_upload(svc: Services, folder: Path, actor_user_id: int) -> Loaded:
    """Parse the claimed upload in `folder` and, when complete and not blocked, load it in
    one transaction with an audit event ``plan.upload`` by `actor_user_id`. Raises
    `PlanImportError`. Blocking: run it with `in_worker`."""
    preview = read_upload(svc, folder)
    if preview.missing or preview.blocked:
        return Loaded(preview, None)
    record = plan_record(preview)
    now = svc.now()
    with svc.db.session() as s:
        summary = load_plan(s, record, now=now, actor_user_id=actor_user_id)
        repo.record_audit(
            s,
            actor_user_id=actor_user_id,
            action="plan.upload",
            subject=f"plan:{record.document_number}",
            before=None,
            after={
                "file": preview.name,
                "title": record.title,
                "tasks": len(record.tasks),
                "tasks_added": summary.tasks_added,
                "tasks_updated": summary.tasks_updated,
                "units_added": summary.units_added,
            },
            now=now,
        )
    return Loaded(preview, summary)


# --------------------------------------------------------------------------- the answers


def error_text(name: str, error: PlanImportError) -> str:
    """The Chinese answer to a document that cannot be imported."""
    reason = texts.PLAN_ERROR_REASON.get(error.kind, texts.PLAN_ERROR_REASON["damaged"])
    return texts.PLAN_ERROR.format(name=render.esc(name), reason=reason)


def row_problem(line: str) -> str:
    """A warning or not-placed line of `ImportResult` in Chinese (as given when unknown)."""
    for pattern, template in texts.PLAN_ROW_PROBLEMS:
        m = re.match(pattern, line)
        if m:
            return template.format(*m.groups())
    return line


def _capped(lines: list[str]) -> list[str]:
    shown = lines[:LIST_CAP]
    if len(lines) > LIST_CAP:
        shown.append(texts.PLAN_MORE.format(more=len(lines) - LIST_CAP))
    return shown


def _field_values(identity: PlanIdentity) -> dict[str, str | None]:
    period = None
    if identity.period_start is not None and identity.period_end is not None:
        start, end = identity.period_start.year, identity.period_end.year
        period = str(start) if start == end else f"{start}—{end}"
    return {
        "title": identity.title,
        "document_number": identity.document_number,
        "issued_on": render.fmt_date(identity.issued_on) if identity.issued_on else None,
        "period": period,
    }


def summary_lines(preview: Preview) -> list[str]:
    """The verification report in Chinese, one HTML line each (lists capped)."""
    result = preview.result
    lines = [texts.PLAN_SUMMARY_HEAD.format(name=render.esc(preview.name))]
    for key, value in _field_values(preview.identity).items():
        shown = render.esc(value) if value else texts.PLAN_FIELD_MISSING
        lines.append(texts.PLAN_FIELD_LINE.format(label=texts.PLAN_FIELD[key], value=shown))
    if preview.loaded_as is not None:
        lines.append(texts.PLAN_UPDATES.format(plan=render.esc(preview.loaded_as)))
    numbers = [t.number for t in result.tasks]
    lines.append(texts.PLAN_TASKS.format(count=len(numbers), first=numbers[0], last=numbers[-1]))
    gaps = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
    if gaps:
        lines.append(texts.PLAN_NUMBERS_MISSING.format(numbers=describe_numbers(gaps)))
    lines.append(texts.PLAN_SECTIONS.format(count=len(result.sections)))
    lines += _capped(
        [texts.PLAN_SECTION_LINE.format(text=render.esc(s[:60])) for s in result.sections]
    )
    new = [u for u in result.units if not u.known]
    aliased = [u for u in result.units if u.known and u.current is not None]
    lines.append(texts.PLAN_UNITS_KNOWN.format(count=len(result.units) - len(new)))
    lines += _capped(
        [
            texts.PLAN_UNIT_ALIASED_LINE.format(
                name=render.esc(u.name), current=render.esc(u.current or "")
            )
            for u in aliased
        ]
    )
    if new:
        lines.append(texts.PLAN_UNITS_NEW.format(count=len(new)))
        lines += _capped(
            [
                texts.PLAN_UNIT_NEW_LINE.format(
                    name=render.esc(u.name), close=render.esc("、".join(u.suggestions))
                )
                if u.suggestions
                else texts.PLAN_UNIT_NEW_LINE_NONE.format(name=render.esc(u.name))
                for u in new
            ]
        )
    if result.not_placed:
        lines.append(texts.PLAN_NOT_PLACED.format(count=len(result.not_placed)))
        lines += _capped(
            [
                texts.PLAN_NOT_PLACED_LINE.format(row=render.esc(row_problem(r)[:120]))
                for r in result.not_placed
            ]
        )
    if preview.without_lead:
        lines.append(texts.PLAN_NO_LEAD.format(numbers=describe_numbers(preview.without_lead)))
    if result.warnings:
        lines.append(texts.PLAN_WARNINGS.format(count=len(result.warnings)))
        lines += _capped(
            [
                texts.PLAN_WARNING_LINE.format(text=render.esc(row_problem(w)[:120]))
                for w in result.warnings
            ]
        )
    if preview.blocked:
        lines.append(texts.PLAN_CANNOT_CONFIRM)
    elif not preview.missing:
        lines.append(texts.PLAN_CONFIRM_HINT)
    return lines


def keyboard(key: str, *, confirm: bool) -> InlineKeyboardMarkup:
    """确认导入 (when `confirm`) and 取消 for the upload `key`."""
    buttons = [InlineKeyboardButton(texts.BUTTON_CANCEL, callback_data=f"pl:no:{key}")]
    if confirm:
        buttons.insert(
            0, InlineKeyboardButton(texts.BUTTON_PLAN_CONFIRM, callback_data=f"pl:ok:{key}")
        )
    return InlineKeyboardMarkup([buttons])


def template_text(preview: Preview) -> str:
    """The identity message to copy and fill: found values filled in, the others blank."""
    values = _field_values(preview.identity)
    return render.esc(
        texts.PLAN_IDENTITY_TEMPLATE.format(**{k: v or "" for k, v in values.items()})
    )


async def show(update: Update, context: BotContext, preview: Preview) -> None:
    """Answer with the report; then the buttons, or the identity template to fill."""
    parts = render.split_lines(summary_lines(preview))
    missing = preview.missing
    if preview.blocked:  # nothing to confirm: the upload is dropped
        user_id = update.effective_user.id if update.effective_user else 0
        await in_worker(
            context.svc, _remove, uploads_root(context.svc) / str(user_id) / preview.key
        )
        for part in parts:
            await reply(update, part)
        return
    if missing:
        for part in parts:
            await reply(update, part)
        labels = "、".join(texts.PLAN_FIELD[m] for m in missing)
        await reply(update, texts.PLAN_ASK_IDENTITY.format(missing=labels))
        await reply(
            update, template_text(preview), reply_markup=keyboard(preview.key, confirm=False)
        )
        return
    for part in parts[:-1]:
        await reply(update, part)
    await reply(update, parts[-1], reply_markup=keyboard(preview.key, confirm=True))


# --------------------------------------------------------------------------- the handlers


@coordinator_only
async def plan_command(update: Update, context: BotContext) -> None:
    """/plan (coordinator): explain what to send (in a group: ask for a private chat)."""
    if not is_private(update):
        await reply(update, texts.PRIVATE_ONLY)
        return
    await reply(update, texts.PLAN_HOW)


async def _for_plan(update: Update, context: BotContext) -> bool:
    """Whether a private message is the coordinator's plan business (no report open)."""
    user = update.effective_user
    if user is None or not is_private(update):
        return False
    if context.user_data is not None and context.user_data.draft is not None:
        return False
    return await is_coordinator(context.svc, user.id)


async def plan_document(update: Update, context: BotContext) -> None:
    """A document in a private chat: a coordinator's (outside a report) is read as a plan;
    anyone else's is answered as before (`handlers.private_fallback`)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not await _for_plan(update, context):
        await private_fallback(update, context)
        return
    incoming = incoming_of(message)
    if incoming is None or incoming.kind != "document":
        await private_fallback(update, context)
        return
    svc = context.svc
    name = incoming.file_name
    suffix = Path(name).suffix.lower()
    if suffix in SAVE_AS_DOCX:
        await reply(update, texts.PLAN_SAVE_AS_DOCX.format(suffix=render.esc(suffix)))
        return
    if suffix not in SUPPORTED:
        await reply(update, texts.PLAN_UNSUPPORTED.format(suffix=render.esc(suffix or "无扩展名")))
        return
    if incoming.size is not None and incoming.size > DOWNLOAD_LIMIT:
        await reply(update, texts.PLAN_TOO_BIG)
        return
    try:
        data = await download(context.bot, svc, incoming)
    except TooBig:
        await reply(update, texts.PLAN_TOO_BIG)
        return
    except DownloadFailed:
        await reply(update, texts.PLAN_DOWNLOAD_FAILED)
        return
    key = upload_key(incoming.file_unique_id)
    folder = uploads_root(svc) / str(user.id) / key
    try:
        preview = await in_worker(svc, stage_upload, svc, folder, name, data)
    except PlanImportError as exc:
        log.info("plan upload refused: user=%s kind=%s: %s", user.id, exc.kind, exc)
        await reply(update, error_text(name, exc))
        return
    log.info(
        "plan upload read: user=%s key=%s tasks=%d missing=%s blocked=%s",
        user.id,
        key,
        len(preview.result.tasks),
        ",".join(preview.missing) or "-",
        preview.blocked,
    )
    await show(update, context, replace(preview, name=name))


def latest_upload(root: Path) -> Path | None:
    """The most recently staged upload folder under a coordinator's `root`, or None."""
    if not root.is_dir():
        return None
    staged = [
        p
        for p in root.iterdir()
        if p.is_dir() and not p.name.endswith(LOADING) and (p / META).is_file()
    ]
    return max(staged, key=lambda p: (p / META).stat().st_mtime_ns, default=None)


def parse_identity(text: str) -> dict[str, object] | tuple[str, str]:
    """The identity fields of a filled-in template (标题：… 文号：… 印发日期：… 起止年份：…):
    a dict of the non-empty ones (dates as ISO strings, the period as its first and last
    day), or (field, problem) for the first one that is wrong."""
    labels = {label: key for key, label in texts.PLAN_FIELD.items()}
    found: dict[str, object] = {}
    for raw in text.splitlines():
        label, sep, value = raw.partition("：") if "：" in raw else raw.partition(":")
        key = labels.get(label.strip())
        value = value.strip()
        if not sep or key is None or not value or value == texts.PLAN_FIELD_MISSING:
            continue
        if key == "title":
            if len(value) > TITLE_LIMIT:
                return key, texts.PLAN_IDENTITY_PROBLEM[key]
            found["title"] = value
        elif key == "document_number":
            value = re.sub(r"\s+", "", value).replace("[", "〔").replace("]", "〕")
            if not DOCUMENT_NUMBER.fullmatch(value):
                return key, texts.PLAN_IDENTITY_PROBLEM[key]
            found["document_number"] = value
        elif key == "issued_on":
            day = _typed_date(re.sub(r"\s+", "", value))
            if day is None:
                return key, texts.PLAN_IDENTITY_PROBLEM[key]
            found["issued_on"] = day.isoformat()
        else:
            m = re.fullmatch(r"(\d{4})年?(?:\s*[—–\-~～至到]+\s*(\d{4})年?)?", value)
            first, last = (int(m[1]), int(m[2] or m[1])) if m else (0, 0)
            if m is None or not 2000 <= first <= last <= 2100:
                return key, texts.PLAN_IDENTITY_PROBLEM[key]
            found["period_start"] = date(first, 1, 1).isoformat()
            found["period_end"] = date(last, 12, 31).isoformat()
    return found


def _typed_date(value: str) -> date | None:
    m = FULL_DATE.fullmatch(value)
    try:
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
        return date.fromisoformat(value)
    except ValueError:
        return None


async def plan_identity(update: Update, context: BotContext) -> None:
    """A coordinator's filled-in identity template: validated, kept beside their latest
    upload, and the report shown again. Anyone else's text (or a coordinator's without a
    pending upload) is answered as before."""
    from bot.replies import reply_to_reminder  # bot.replies imports bot.handlers

    message, user = update.effective_message, update.effective_user
    svc = context.svc
    folder = None
    if message is not None and user is not None and await _for_plan(update, context):
        folder = await in_worker(svc, latest_upload, uploads_root(svc) / str(user.id))
    if message is None or user is None or folder is None:
        if message is not None and message.reply_to_message is not None:
            await reply_to_reminder(update, context)
        else:
            await private_fallback(update, context)
        return
    typed = parse_identity(message.text or "")
    if isinstance(typed, tuple):
        key, problem = typed
        await reply(
            update, texts.PLAN_IDENTITY_BAD.format(label=texts.PLAN_FIELD[key], problem=problem)
        )
        return
    try:
        preview = await in_worker(svc, type_identity, svc, folder, typed)
    except (PlanImportError, OSError):
        await reply(update, texts.PLAN_EXPIRED)
        return
    await show(update, context, preview)


async def _unbutton(message: object) -> None:
    if isinstance(message, Message):
        try:
            await message.edit_reply_markup(reply_markup=None)
        except TelegramError as exc:
            log.info("plan upload buttons not removed: %s", exc)


@coordinator_only
async def confirm_plan(update: Update, context: BotContext) -> None:
    """确认导入 / 取消 under a report: load the upload once (the folder renamed first) or
    remove it. A press whose upload is gone (loaded, cancelled, never kept) is told so."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.data is None:
        return
    _, action, key = query.data.split(":")
    svc = context.svc
    folder = uploads_root(svc) / str(user.id) / key
    claimed = folder.with_name(key + LOADING)
    try:
        await in_worker(svc, os.rename, folder, claimed)
    except OSError:
        await answer(update, texts.PLAN_EXPIRED, alert=True)
        await _unbutton(query.message)
        return
    await answer(update)
    if action == "no":
        await in_worker(svc, _remove, claimed)
        await _unbutton(query.message)
        await reply(update, texts.PLAN_CANCELLED)
        return
    try:
        loaded = await in_worker(svc, load_upload, svc, claimed, user.id)
    except PlanImportError as exc:
        await in_worker(svc, _remove, claimed)
        reason = texts.PLAN_ERROR_REASON.get(exc.kind, texts.PLAN_ERROR_REASON["damaged"])
        await reply(update, texts.PLAN_LOAD_FAILED.format(reason=reason))
        return
    except BaseException:
        await in_worker(svc, os.rename, claimed, folder)
        raise
    if loaded.summary is None:  # identity still missing: kept for the template
        await in_worker(svc, os.rename, claimed, folder)
        missing = "、".join(texts.PLAN_FIELD[m] for m in loaded.preview.missing)
        await reply(update, texts.PLAN_STILL_MISSING.format(missing=missing or "-"))
        return
    await in_worker(svc, _remove, claimed)
    await _unbutton(query.message)
    identity, summary = loaded.preview.identity, loaded.summary
    log.info(
        "plan loaded from upload: user=%s number=%s added=%d updated=%d units=%d",
        user.id,
        identity.document_number,
        summary.tasks_added,
        summary.tasks_updated,
        summary.units_added,
    )
    fields = {
        "title": render.esc(identity.title or ""),
        "document_number": render.esc(identity.document_number or ""),
    }
    text = (
        (
            texts.PLAN_LOADED.format(
                added=summary.tasks_added,
                updated=summary.tasks_updated,
                units=summary.units_added,
                **fields,
            )
            if summary.changed
            else texts.PLAN_LOADED_NOTHING.format(**fields)
        )
        + "\n"
        + texts.PLAN_LOADED_NAME.format(name=render.esc(summary.plan_name))
    )
    hold_line = await in_worker(svc, recheck_plan, svc)
    await reply(update, text + ("\n" + hold_line if hold_line else ""))


__all__ = [
    "CONFIRM_PATTERN",
    "IDENTITY_PATTERN",
    "confirm_plan",
    "parse_identity",
    "plan_command",
    "plan_document",
    "plan_identity",
    "summary_lines",
    "uploads_root",
]

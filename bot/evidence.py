"""Evidence files (佐证材料): kept when received, sent back to whoever may see the task.

`incoming_of` reads what a message carries (photo, document, voice); `keep` downloads it
through the Bot API (`getFile` and the file URL, retried) into the evidence folder
(`db.files.EvidenceStore`) and returns what to store with the report. A file bigger than
Telegram's download limit (20 MB) is refused before any download, from the size the message
states. `send_evidence` answers the 📎 buttons of `/task` ("ev:<evidence id>"): coordinators
and contacts of the task's units get the file (its stored copy, else Telegram's file id);
anyone else is refused and nothing is sent. Every send is in the audit trail.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError

from bot import render, texts
from bot.access import is_reader
from bot.config import evidence_dir
from bot.context import BotContext, Services
from bot.flow_common import answer
from db import repo
from db.engine import Database
from db.files import EvidenceStore, size_text
from db.models import EvidenceFile

log = logging.getLogger(__name__)

DOWNLOAD_LIMIT = 20 * 1024 * 1024  # Telegram's getFile limit for bots
EVIDENCE_PATTERN = r"^ev:\d{1,12}$"
MIME_OF_KIND = {"photo": "image/jpeg", "voice": "audio/ogg"}


class TooBig(Exception):
    """The file is over Telegram's download limit; nothing was downloaded."""


class DownloadFailed(Exception):
    """Every download attempt failed."""


@dataclass(frozen=True)
class Incoming:
    """A file a message carries, as Telegram describes it."""

    kind: str  # photo | document | voice
    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str | None
    size: int | None  # as stated by Telegram, None if not stated
    caption: str | None


# control and bidirectional-control characters: U+202E makes "‮gpj.exe" display as "exe.jpg"
_HIDDEN = re.compile("[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown_name(name: str) -> str:
    """A received file's name as kept and shown: without control or bidirectional-control
    characters (which could make a name display as another), trimmed, at most 255
    characters; "未命名文件" when nothing is left."""
    return _HIDDEN.sub("", name).strip()[:255] or "未命名文件"


def incoming_of(message: Message) -> Incoming | None:
    """The photo (its largest size), document or voice message of `message`, or None."""
    caption = (message.caption or "").replace("\x00", "") or None
    if message.photo:
        p = message.photo[-1]
        name = f"照片-{p.file_unique_id}.jpg"
        return Incoming(
            "photo", p.file_id, p.file_unique_id, name, "image/jpeg", p.file_size, caption
        )
    if message.document is not None:
        d = message.document
        name = shown_name(d.file_name or "")
        return Incoming(
            "document", d.file_id, d.file_unique_id, name, d.mime_type, d.file_size, caption
        )
    if message.voice is not None:
        v = message.voice
        name = f"语音-{v.file_unique_id}.ogg"
        mime = v.mime_type or "audio/ogg"
        return Incoming("voice", v.file_id, v.file_unique_id, name, mime, v.file_size, caption)
    return None


def store_of(svc: Services) -> EvidenceStore:
    """The evidence folder of the bot's settings."""
    return EvidenceStore(evidence_dir(svc.settings))


async def download(bot: Bot, svc: Services, incoming: Incoming) -> bytes:
    """The bytes of `incoming`, downloaded from Telegram.

    Raises `TooBig` (before downloading) for a file over `DOWNLOAD_LIMIT`, and
    `DownloadFailed` when `evidence.download_attempts` attempts failed, `retry_seconds`
    apart (doubling)."""
    if incoming.size is not None and incoming.size > DOWNLOAD_LIMIT:
        raise TooBig(incoming.file_name)
    settings = svc.settings.evidence
    delay = settings.retry_seconds
    data: bytes | None = None
    for attempt in range(1, settings.download_attempts + 1):
        try:
            file = await bot.get_file(incoming.file_id)
            if file.file_size is not None and file.file_size > DOWNLOAD_LIMIT:
                raise TooBig(incoming.file_name)
            data = bytes(await file.download_as_bytearray())
            break
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise TooBig(incoming.file_name) from exc
            log.warning("evidence download %d failed: %s", attempt, exc)
        except TelegramError as exc:
            log.warning("evidence download %d failed: %s", attempt, exc)
        if attempt < settings.download_attempts:
            await asyncio.sleep(delay)
            delay *= 2
    if data is None:
        raise DownloadFailed(incoming.file_name)
    return data


async def keep(bot: Bot, svc: Services, incoming: Incoming) -> repo.NewEvidence:
    """Download `incoming` and keep it in the evidence folder; return what to store.

    Raises `TooBig` (before downloading) for a file over `DOWNLOAD_LIMIT`, and
    `DownloadFailed` when `evidence.download_attempts` attempts failed, `retry_seconds`
    apart (doubling)."""
    data = await download(bot, svc, incoming)
    stored = await asyncio.to_thread(store_of(svc).put, data, incoming.file_name)
    return repo.NewEvidence(
        kind=incoming.kind,
        file_name=incoming.file_name,
        caption=incoming.caption,
        mime_type=(incoming.mime_type or MIME_OF_KIND.get(incoming.kind) or "")[:255] or None,
        size=stored.size,
        sha256=stored.sha256,
        stored_path=stored.relative_path,
        telegram_file_id=incoming.file_id,
        telegram_file_unique_id=incoming.file_unique_id,
    )


def file_line(kind: str, name: str, size: int, caption: str | None) -> str:
    """One evidence file as listed in chat (escaped HTML)."""
    line = texts.EVIDENCE_LINE.format(
        kind=texts.EVIDENCE_KIND.get(kind, kind),
        name=render.esc(render.clip(name, 40)),
        size=size_text(size),
    )
    if caption:
        line += texts.EVIDENCE_CAPTION.format(caption=render.esc(render.clip(caption, 40)))
    return line


def evidence_keyboard(files: list[EvidenceFile]) -> InlineKeyboardMarkup:
    """One 📎 button per file, "ev:<id>"."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.BUTTON_EVIDENCE.format(n=n, name=render.clip(f.file_name, 40)),
                    callback_data=f"ev:{f.id}",
                )
            ]
            for n, f in enumerate(files, start=1)
        ]
    )


async def may_see_task(svc: Services, user_id: int, task_id: int) -> bool:
    """Coordinators, leaders, and contacts of a unit that may report on the task, may see
    it."""
    if await is_reader(svc, user_id):
        return True
    with svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=user_id)
        return contact is not None and repo.may_report(s, task_id=task_id, unit_id=contact.unit_id)


async def send_evidence(update: Update, context: BotContext) -> None:
    """Send evidence file "ev:<id>" to the presser if they may see its task; audit it."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    svc = context.svc
    evidence_id = int((query.data or "ev:0").split(":")[1])
    with svc.db.session() as s:
        evidence = repo.get_evidence(s, evidence_id=evidence_id)
    if evidence is None or not await may_see_task(svc, user.id, evidence.task_id):
        log.info("evidence %s refused to user %s", evidence_id, user.id)
        await answer(update, texts.EVIDENCE_REFUSED, alert=True)
        return
    data = None
    if evidence.stored_path is not None and evidence.deleted_at is None:
        data = await asyncio.to_thread(store_of(svc).read, evidence.stored_path)
    # the stored copy first, then Telegram's file id (valid while Telegram keeps the file);
    # a photo Telegram cannot process as a photo goes as a document
    attempts: list[tuple[str, bytes | str]] = []
    if data is not None:
        attempts.append((evidence.kind, data))
    if evidence.telegram_file_id is not None:
        attempts.append((evidence.kind, evidence.telegram_file_id))
    if data is not None and evidence.kind == "photo":
        attempts.append(("document", data))
    if not attempts:
        await answer(update, texts.EVIDENCE_GONE, alert=True)
        return
    await answer(update)
    caption = texts.EVIDENCE_SENT_CAPTION.format(name=render.esc(evidence.file_name))
    if evidence.caption:
        caption += "\n" + render.esc(render.clip(evidence.caption, 800))
    for kind, source in attempts:
        try:
            if kind == "photo":
                await context.bot.send_photo(user.id, source, caption=caption)
            else:
                await context.bot.send_document(
                    user.id, source, filename=evidence.file_name, caption=caption
                )
        except TelegramError as exc:
            log.warning("evidence %s not sent to %s as %s: %s", evidence_id, user.id, kind, exc)
            continue
        with svc.db.session() as s:
            via = "telegram file id" if isinstance(source, str) else "stored copy"
            repo.record_sent(s, evidence=evidence, user_id=user.id, via=via, now=svc.now())
        return
    await context.bot.send_message(user.id, texts.EVIDENCE_GONE)


@dataclass(frozen=True)
class FilesExport:
    """What `write_files_export` wrote: the zip parts in order, how many evidence files they
    hold, and how many kept files were missing from the evidence folder (left out)."""

    paths: list[Path]
    files: int
    missing: int = 0


def write_files_export(svc: Services, target: Path, *, part_limit: int) -> FilesExport:
    """Write the 材料汇编 (`office.bundle`): the ledger workbook and every kept evidence
    file, into `target` or its parts. Synchronous (openpyxl, file IO): run it in a thread
    from the event loop. Raises `OSError` when a file cannot be written."""
    from bot.reads import ledger_light_of, ledger_review_of
    from office.bundle import BundleEntry, bundle_entries, write_bundle
    from office.ledger import ledger_filename, write_ledger

    now, zone = svc.now(), svc.policy.zone
    buffer = io.BytesIO()
    with svc.db.session() as s:
        write_ledger(
            s,
            buffer,
            zone=zone,
            now=now,
            status_labels=texts.STATUS_LABEL,
            light_of=ledger_light_of(svc, s),
            calendar=svc.calendar,
            cycle_day=svc.settings.follow_up.cycle_day,
            review_of=ledger_review_of(svc),
        )
        entries = bundle_entries(s, zone=zone)
    missing: list[BundleEntry] = []
    paths = write_bundle(
        target,
        workbook_name=ledger_filename(now, zone),
        workbook=buffer.getvalue(),
        entries=entries,
        store=store_of(svc),
        part_limit=part_limit,
        missing=missing,
    )
    return FilesExport(paths=paths, files=len(entries) - len(missing), missing=len(missing))


@dataclass(frozen=True)
class PruneResult:
    """What `prune_evidence` did: whether the plan's period is still open (then nothing),
    and how many evidence files were (or, in a dry run, would be) deleted."""

    period_open: bool
    files: int


def prune_evidence(
    database: Database,
    store: EvidenceStore,
    *,
    now: datetime,
    zone: ZoneInfo,
    retention_days: int,
    dry_run: bool,
) -> PruneResult:
    """Delete the stored copies of evidence files created more than `retention_days` days
    before `now`, once the plan's period has ended (its `period_end` before today in
    `zone`); each deletion is audited ("evidence.deleted", with the reason) and the row
    stays, marked deleted, for the ledger. A stored file shared with a correction's row is
    removed only when no row keeps it any more. `dry_run` only counts."""
    today = now.astimezone(zone).date()
    with database.session() as s:
        plan = repo.get_plan(s)
        if plan is None or plan.period_end >= today:
            return PruneResult(period_open=True, files=0)
        expired = repo.expired_evidence(s, created_before=now - timedelta(days=retention_days))
        if dry_run:
            return PruneResult(period_open=False, files=len(expired))
        reason = texts.EVIDENCE_RETENTION_REASON.format(
            days=retention_days, end=render.fmt_date(plan.period_end)
        )
        removable = [
            row.stored_path
            for row in expired
            if repo.mark_deleted(s, evidence=row, reason=reason, now=now) and row.stored_path
        ]
    for path in removable:  # after the commit: a failed commit leaves every file in place
        store.delete(path)
    return PruneResult(period_open=False, files=len(expired))

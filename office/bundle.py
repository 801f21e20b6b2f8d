"""The 材料汇编: a zip of the ledger workbook and every evidence file, by task and unit.

`bundle_entries(session, store)` lists each kept evidence file under
`第N项 <task short name>/<unit>/<date>-<report id>-<n>-<file name>`; `write_bundle` writes the
workbook at the top and those files into `target`, split into parts `<stem>-1.zip`,
`<stem>-2.zip`, ... when one zip would exceed `part_limit` bytes (Telegram's 50 MB upload
limit for bots by default); every part is a complete zip of its own, the workbook in the
first. Names are UTF-8 (zipfile sets the UTF-8 flag for non-ASCII names), so Chinese folder
and file names read correctly on Windows. Evidence files are stored without compression
(photos and PDFs are compressed already), the workbook deflated. No Telegram here.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session

from db import repo
from db.files import EvidenceStore, safe_name
from db.models import Task, Unit

UPLOAD_LIMIT = 50 * 1024 * 1024  # Telegram's upload limit for bots
SHORT_NAME = 16  # characters of a task's text in its folder name
# bytes a member costs beyond its data: local header, central directory record, names (the
# name twice, plus the UTF-8 extra margin)
_ENTRY_OVERHEAD = 30 + 46 + 64


@dataclass(frozen=True)
class BundleEntry:
    """One file in the bundle: its name in the zip and where its bytes are kept."""

    arcname: str
    stored_path: str
    sha256: str
    size: int


def task_folder(number: int, text: str) -> str:
    """`第N项 <the task's first characters>`, safe as a folder name."""
    short = text.strip().split("，")[0].split("。")[0][:SHORT_NAME]
    return safe_name(f"第{number}项 {short}".strip(), fallback=f"第{number}项")


def bundle_entries(session: Session, *, zone: ZoneInfo) -> list[BundleEntry]:
    """Every evidence file whose stored copy is kept (not deleted), by task, unit, report;
    with several plans, under a folder per plan named by its 简称."""
    tasks = {t.id: t for t in repo.tasks_by_number(session)}
    plans = {p.id: p.label for p in repo.read_plans(session)}
    units: dict[int | None, Unit] = {}
    entries: list[BundleEntry] = []
    for f in repo.all_evidence(session):
        if f.stored_path is None or f.deleted_at is not None:
            continue
        task: Task | None = tasks.get(f.task_id)
        if f.unit_id not in units:
            unit = session.get(Unit, f.unit_id)
            if unit is not None:
                units[f.unit_id] = unit
        unit_name = units[f.unit_id].name if f.unit_id in units else str(f.unit_id)
        folder = task_folder(task.number, task.text) if task else f"任务{f.task_id}"
        if len(plans) > 1 and task is not None:
            folder = f"{safe_name(plans.get(task.plan_id, ''), fallback='计划')}/{folder}"
        day = f.created_at.astimezone(zone).strftime("%Y%m%d")
        name = safe_name(f"{day}-{f.report_id}-{f.position}-{f.file_name}")
        entries.append(
            BundleEntry(
                arcname=f"{folder}/{safe_name(unit_name)}/{name}",
                stored_path=f.stored_path,
                sha256=f.sha256,
                size=f.size,
            )
        )
    return entries


def _cost(arcname: str, size: int) -> int:
    return size + _ENTRY_OVERHEAD + 2 * len(arcname.encode("utf-8"))


def plan_parts(
    workbook: tuple[str, int], entries: Sequence[BundleEntry], *, part_limit: int
) -> list[list[BundleEntry]]:
    """Group `entries` into parts of at most `part_limit` bytes each, in order; the first
    part also holds the workbook (name and size). A file too big for any part alone gets a
    part of its own (the only way to ship it)."""
    parts: list[list[BundleEntry]] = [[]]
    used = 22 + _cost(*workbook)  # 22: the end of central directory record
    for entry in entries:
        cost = _cost(entry.arcname, entry.size)
        if used + cost > part_limit and (parts[-1] or len(parts) == 1):
            parts.append([])
            used = 22
        parts[-1].append(entry)
        used += cost
    return parts


def part_paths(target: Path, count: int) -> list[Path]:
    """The file of each part: `target` itself for one part, else `<stem>-<n><suffix>`."""
    if count == 1:
        return [target]
    return [target.with_name(f"{target.stem}-{n}{target.suffix}") for n in range(1, count + 1)]


def write_bundle(
    target: Path,
    *,
    workbook_name: str,
    workbook: bytes,
    entries: Sequence[BundleEntry],
    store: EvidenceStore,
    part_limit: int = UPLOAD_LIMIT,
    missing: list[BundleEntry] | None = None,
) -> list[Path]:
    """Write the bundle to `target` (split into parts when needed); return the files
    written, in order. A stored file that has gone missing is left out (`missing` in the
    zip's comment says how many) and appended to the `missing` list when one is given.
    Raises `OSError` when a part cannot be written."""
    parts = plan_parts((workbook_name, len(workbook)), entries, part_limit=part_limit)
    paths = part_paths(target, len(parts))
    for n, (path, members) in enumerate(zip(paths, parts, strict=True), start=1):
        absent = 0
        with zipfile.ZipFile(path, "w") as zf:
            if n == 1:
                zf.writestr(workbook_name, workbook, compress_type=zipfile.ZIP_DEFLATED)
            for entry in members:
                data = store.read(entry.stored_path)
                if data is None:
                    absent += 1
                    if missing is not None:
                        missing.append(entry)
                    continue
                zf.writestr(entry.arcname, data, compress_type=zipfile.ZIP_STORED)
            comment = f"part {n}/{len(parts)}" + (f"; missing {absent}" if absent else "")
            zf.comment = comment.encode("ascii")
    return paths

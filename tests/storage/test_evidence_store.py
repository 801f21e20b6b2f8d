"""The evidence folder, the evidence rows, the 材料汇编 zip (split parts), the backup archive
and retention (prune after the plan's period)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.config import Settings, evidence_dir, load_settings
from bot.evidence import prune_evidence
from db import repo
from db.engine import Database
from db.files import EvidenceStore, archive, restore_archive, safe_name
from db.models import AuditEvent, EvidenceFile, Task, Unit
from office.bundle import BundleEntry, bundle_entries, part_paths, plan_parts, write_bundle
from tests.db_fixtures import fresh_db, loaded_db  # noqa: F401  (fixtures)

ZONE = ZoneInfo("Asia/Shanghai")
T = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)


def new(store: EvidenceStore, data: bytes, name: str, kind: str = "document") -> repo.NewEvidence:
    kept = store.put(data, name)
    return repo.NewEvidence(
        kind=kind,
        file_name=name,
        caption=None,
        mime_type=None,
        size=kept.size,
        sha256=kept.sha256,
        stored_path=kept.relative_path,
        telegram_file_id=f"id-{name}",
        telegram_file_unique_id=f"u-{name}",
    )


def add_report_with(database: Database, files: list[repo.NewEvidence], *, now: datetime) -> int:
    with database.session() as s:
        task = s.exec(select(Task).where(Task.number == 2)).one()
        unit = s.exec(select(Unit).where(Unit.name == "区民政局")).one()
        report = repo.add_report(
            s,
            task_id=task.id or 0,
            unit_id=unit.id or 0,
            contact_id=None,
            reporter_user_id=2001,
            status=None,
            note="n",
            now=now,
        )
        repo.add_evidence(
            s,
            report_id=report.id or 0,
            task_id=task.id or 0,
            unit_id=unit.id or 0,
            files=files,
            now=now,
        )
        return report.id or 0


# ---------------------------------------------------------------- the folder


def test_names_never_collide_and_are_safe(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    a = store.put(b"same", "会议/纪要?.pdf")
    b = store.put(b"same", "会议/纪要?.pdf")
    assert a.relative_path != b.relative_path and a.sha256 == b.sha256
    assert a.relative_path.startswith(a.sha256[:2] + "/")
    assert a.relative_path.endswith("纪要_.pdf")
    assert store.read(a.relative_path) == b"same"
    assert store.files() == sorted([a.relative_path, b.relative_path])
    assert not list((tmp_path / "evidence").rglob(".part-*"))  # written atomically
    assert store.read("../outside") is None
    assert safe_name("..") == "file" and safe_name("a" * 300 + ".pdf").endswith("a.pdf")
    assert len(safe_name("a" * 300 + ".pdf")) == 180
    # limited in bytes: 100 Chinese characters or 80 emoji still make a writable name
    for long in ("残" * 100 + ".pdf", "😀" * 80):
        name = safe_name(long)
        assert len(name.encode()) <= 180 and (tmp_path / name).write_bytes(b"x") == 1
    assert safe_name("残" * 100 + ".pdf").endswith("残.pdf")
    # bidirectional controls cannot disguise a suffix
    assert safe_name("\u202egpj.exe") == "_gpj.exe"


def test_the_folder_is_beside_the_database_or_the_config(tmp_path: Path) -> None:
    sqlite = Settings.model_validate({"database": {"url": f"sqlite:///{tmp_path}/d/t.sqlite3"}})
    assert evidence_dir(sqlite) == tmp_path / "d" / "evidence"
    config = tmp_path / "conf" / "config.toml"
    config.parent.mkdir()
    config.write_text('[database]\nurl = "postgresql+psycopg://u@h/db"\n', encoding="utf-8")
    assert evidence_dir(load_settings(config, environ={})) == tmp_path / "conf" / "evidence"
    config.write_text('[evidence]\ndir = "files"\n', encoding="utf-8")
    assert evidence_dir(load_settings(config, environ={})) == tmp_path / "conf" / "files"


def test_a_backup_archive_puts_every_file_back(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "a")
    kept = [store.put(b"one", "一.pdf"), store.put(b"two", "二.jpg")]
    target = tmp_path / "b.sqlite3.evidence.zip"
    assert archive(store, target) == 2
    with pytest.raises(FileExistsError):
        archive(store, target)
    other = EvidenceStore(tmp_path / "restored")
    assert restore_archive(other, target) == 2
    assert restore_archive(other, target) == 0  # present files are left alone
    assert [other.read(k.relative_path) for k in kept] == [b"one", b"two"]


# ---------------------------------------------------------------- the bundle


def entry(n: int, size: int) -> BundleEntry:
    return BundleEntry(arcname=f"第1项 任务/区残联/{n}.bin", stored_path="x", sha256="", size=size)


def test_parts_stay_under_the_limit_and_keep_the_order() -> None:
    entries = [entry(n, 400) for n in range(10)]
    parts = plan_parts(("台账.xlsx", 300), entries, part_limit=1500)
    assert [e for part in parts for e in part] == entries
    assert len(parts) > 1 and all(part for part in parts)
    # a file bigger than a part gets one of its own
    parts = plan_parts(("台账.xlsx", 300), [entry(1, 5000), entry(2, 10)], part_limit=1500)
    assert [[e.size for e in p] for p in parts] == [[], [5000], [10]]  # the workbook alone first
    assert part_paths(Path("x/材料.zip"), 2) == [Path("x/材料-1.zip"), Path("x/材料-2.zip")]


def test_a_split_bundle_is_valid_zips_with_every_file(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    datas = [bytes([n]) * 3000 for n in range(6)]
    entries = []
    for n, data in enumerate(datas):
        kept = store.put(data, f"照片{n}.jpg")
        entries.append(
            BundleEntry(
                arcname=f"第2项 残疾人家庭/区民政局/照片{n}.jpg",
                stored_path=kept.relative_path,
                sha256=kept.sha256,
                size=kept.size,
            )
        )
    paths = write_bundle(
        tmp_path / "材料汇编.zip",
        workbook_name="台账.xlsx",
        workbook=b"workbook",
        entries=entries,
        store=store,
        part_limit=8000,
    )
    assert len(paths) >= 3
    found: dict[str, str] = {}
    for n, path in enumerate(paths):
        assert path.stat().st_size <= 8000
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None
            names = zf.namelist()
            assert ("台账.xlsx" in names) == (n == 0)
            for name in names:
                assert zf.getinfo(name).flag_bits & 0x800 or name.isascii()
                found[name] = hashlib.sha256(zf.read(name)).hexdigest()
    assert {e.arcname: e.sha256 for e in entries}.items() <= found.items()


def test_bundle_entries_are_by_task_and_unit(loaded_db: Database, tmp_path: Path) -> None:  # noqa: F811
    store = EvidenceStore(tmp_path / "evidence")
    report = add_report_with(loaded_db, [new(store, b"pdf", "落实 情况.pdf")], now=T)
    with loaded_db.session() as s:
        [e] = bundle_entries(s, zone=ZONE)
    folder, unit, name = e.arcname.split("/")
    assert folder.startswith("第2项 将符合条件的残疾人家庭") and unit == "区民政局"
    assert name == f"20260316-{report}-1-落实 情况.pdf"


# ---------------------------------------------------------------- retention


def test_retention_deletes_old_files_only_after_the_period_and_audits(
    loaded_db: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    old = new(store, b"old", "旧.pdf")
    add_report_with(loaded_db, [old], now=T)
    add_report_with(loaded_db, [old], now=T + timedelta(days=30))  # a correction keeps it
    add_report_with(loaded_db, [new(store, b"new", "新.pdf")], now=T + timedelta(days=100))
    in_period = datetime(2025, 6, 1, tzinfo=UTC)  # the shipped plan ends 2025-12-31
    result = prune_evidence(
        loaded_db, store, now=in_period, zone=ZONE, retention_days=1, dry_run=False
    )
    assert result.period_open and store.read(old.stored_path or "") == b"old"

    now = T + timedelta(days=20)
    dry = prune_evidence(loaded_db, store, now=now, zone=ZONE, retention_days=10, dry_run=True)
    assert (dry.period_open, dry.files) == (False, 1)
    # the first row expires, but the correction's row still keeps the same file
    prune_evidence(loaded_db, store, now=now, zone=ZONE, retention_days=10, dry_run=False)
    assert store.read(old.stored_path or "") == b"old"
    later = T + timedelta(days=50)
    done = prune_evidence(loaded_db, store, now=later, zone=ZONE, retention_days=10, dry_run=False)
    assert done.files == 1 and store.read(old.stored_path or "") is None
    with loaded_db.session() as s:
        rows = s.exec(select(EvidenceFile).order_by(EvidenceFile.id)).all()
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "evidence.deleted")).all()
    assert [r.deleted_at is not None for r in rows] == [True, True, False]
    assert len(events) == 2 and all("保存期限10天" in (e.reason or "") for e in events)
    assert store.read(rows[2].stored_path or "") == b"new"


def test_report_rows_read_back_in_order(loaded_db: Database, tmp_path: Path) -> None:  # noqa: F811
    store = EvidenceStore(tmp_path / "evidence")
    files = [new(store, b"a", "a.pdf"), new(store, b"b", "b.jpg", kind="photo")]
    report = add_report_with(loaded_db, files, now=T)
    with loaded_db.session() as s:
        found = repo.evidence_of_reports(s, report_ids=[report, 999])
    assert list(found) == [report]
    assert [(r.position, r.file_name, r.kind) for r in found[report]] == [
        (1, "a.pdf", "document"),
        (2, "b.jpg", "photo"),
    ]
    assert io.BytesIO(store.read(found[report][0].stored_path or "") or b"").read() == b"a"

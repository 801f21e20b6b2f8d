"""Evidence files (佐证材料) of status reports: their rows, sends and retention.

The bytes live in the evidence folder (`db.files.EvidenceStore`); these functions only keep
the rows. Functions take the `Session` first and keyword-only data; they flush but never
commit: the caller owns the transaction. Instants are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from db.models import EvidenceFile
from db.repo.audit import record_audit

EVIDENCE_SENT = "evidence.sent"
EVIDENCE_DELETED = "evidence.deleted"


@dataclass(frozen=True)
class NewEvidence:
    """An evidence file received and kept, not yet stored with a report."""

    kind: str  # photo | document | voice
    file_name: str
    caption: str | None
    mime_type: str | None
    size: int
    sha256: str
    stored_path: str | None
    telegram_file_id: str | None
    telegram_file_unique_id: str | None


def as_new(row: EvidenceFile) -> NewEvidence:
    """The row's file as a `NewEvidence`, to carry it to another report (a correction)."""
    return NewEvidence(
        kind=row.kind,
        file_name=row.file_name,
        caption=row.caption,
        mime_type=row.mime_type,
        size=row.size,
        sha256=row.sha256,
        stored_path=row.stored_path,
        telegram_file_id=row.telegram_file_id,
        telegram_file_unique_id=row.telegram_file_unique_id,
    )


def add_evidence(
    session: Session,
    *,
    report_id: int,
    task_id: int,
    unit_id: int,
    files: Sequence[NewEvidence],
    now: datetime,
) -> list[EvidenceFile]:
    """Store `files` as the evidence of report `report_id`, in the given order."""
    rows = [
        EvidenceFile(
            report_id=report_id,
            task_id=task_id,
            unit_id=unit_id,
            position=n,
            kind=f.kind,
            file_name=f.file_name,
            caption=f.caption,
            mime_type=f.mime_type,
            size=f.size,
            sha256=f.sha256,
            stored_path=f.stored_path,
            telegram_file_id=f.telegram_file_id,
            telegram_file_unique_id=f.telegram_file_unique_id,
            created_at=now,
        )
        for n, f in enumerate(files, start=1)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def evidence_of_reports(
    session: Session, *, report_ids: Iterable[int]
) -> dict[int, list[EvidenceFile]]:
    """Each report's evidence files in order, by report id (reports without any left out)."""
    ids = sorted(set(report_ids))
    found: dict[int, list[EvidenceFile]] = {}
    for start in range(0, len(ids), 500):
        rows = session.exec(
            select(EvidenceFile)
            .where(col(EvidenceFile.report_id).in_(ids[start : start + 500]))
            .order_by(col(EvidenceFile.report_id), col(EvidenceFile.position))
        ).all()
        for row in rows:
            found.setdefault(row.report_id, []).append(row)
    return found


def all_evidence(session: Session) -> list[EvidenceFile]:
    """Every evidence file, by task, unit, report and position."""
    return list(
        session.exec(
            select(EvidenceFile).order_by(
                col(EvidenceFile.task_id),
                col(EvidenceFile.unit_id),
                col(EvidenceFile.report_id),
                col(EvidenceFile.position),
            )
        ).all()
    )


def get_evidence(session: Session, *, evidence_id: int) -> EvidenceFile | None:
    """The evidence file with this id, or None."""
    return session.get(EvidenceFile, evidence_id)


def record_sent(
    session: Session, *, evidence: EvidenceFile, user_id: int, via: str, now: datetime
) -> None:
    """Audit that evidence file `evidence` was sent to `user_id` (`via`: "stored copy" or
    "telegram file id")."""
    record_audit(
        session,
        actor_user_id=user_id,
        action=EVIDENCE_SENT,
        subject=f"evidence:{evidence.id}",
        before=None,
        after={
            "report": evidence.report_id,
            "task_id": evidence.task_id,
            "unit_id": evidence.unit_id,
            "file": evidence.file_name,
            "sha256": evidence.sha256,
            "via": via,
        },
        now=now,
    )


def expired_evidence(session: Session, *, created_before: datetime) -> list[EvidenceFile]:
    """Evidence files created before `created_before` whose stored copy is not yet deleted."""
    return list(
        session.exec(
            select(EvidenceFile)
            .where(
                col(EvidenceFile.created_at) < created_before,
                col(EvidenceFile.deleted_at).is_(None),
                col(EvidenceFile.stored_path).is_not(None),
            )
            .order_by(col(EvidenceFile.id))
        ).all()
    )


def mark_deleted(session: Session, *, evidence: EvidenceFile, reason: str, now: datetime) -> bool:
    """Mark `evidence`'s stored copy deleted and audit it (actor 0, the bot). Return True
    when no other row still keeps the same stored file, i.e. the file may be removed."""
    path = evidence.stored_path
    evidence.deleted_at = now
    session.add(evidence)
    record_audit(
        session,
        actor_user_id=0,
        action=EVIDENCE_DELETED,
        subject=f"evidence:{evidence.id}",
        before={"file": evidence.file_name, "stored_path": path, "sha256": evidence.sha256},
        after=None,
        reason=reason,
        now=now,
    )
    session.flush()
    others = session.exec(
        select(EvidenceFile.id).where(
            EvidenceFile.stored_path == path,
            col(EvidenceFile.deleted_at).is_(None),
            EvidenceFile.id != evidence.id,
        )
    ).first()
    return others is None

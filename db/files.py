"""The evidence folder: where the bytes of evidence files (佐证材料) are kept.

The database keeps each file's metadata (`db.models.EvidenceFile`) and its path relative to
the folder; the folder keeps the bytes. Names never collide: each stored file gets
`<first two hex digits of its SHA-256>/<SHA-256 prefix>-<random token>-<safe name>`, and it is
written atomically (a temporary file in the same folder, flushed, then renamed), so a crash
never leaves a half-written file under a stored name. No Telegram here.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

# characters Windows refuses in names, control characters, path separators, and the
# bidirectional controls (U+202E makes "gpj.exe" preceded by it display as "exe.jpg")
_UNSAFE = re.compile('[\x00-\x1f\x7f<>:"/\\\\|?*\u200e\u200f\u202a-\u202e\u2066-\u2069]')
NAME_BYTES = 180  # UTF-8 bytes kept of a file name (the suffix kept): 255 with a stored prefix


def _cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, on a character boundary."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def safe_name(name: str, *, fallback: str = "file") -> str:
    """Return `name` usable as one file name on Linux and Windows: NFC, without path parts,
    reserved, control or bidirectional-control characters or trailing dots and spaces, at
    most `NAME_BYTES` bytes in UTF-8 (the suffix kept). An empty result gives `fallback`."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip().rstrip(". ")
    if name in ("", ".", ".."):
        name = fallback
    if len(name.encode("utf-8")) > NAME_BYTES:
        stem, dot, suffix = name.rpartition(".")
        if dot and 0 < len(suffix.encode("utf-8")) <= 10:
            name = _cut(stem, NAME_BYTES - len(suffix.encode("utf-8")) - 1) + "." + suffix
        else:
            name = _cut(name, NAME_BYTES)
    return name


def size_text(size: int) -> str:
    """A file size for people: 812 B, 35.2 KB, 4.1 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def write_atomically(target: Path, data: bytes) -> None:
    """Write `data` to `target` so that `target` is either absent or complete: a temporary
    file in the same folder is written, flushed to disk and renamed over `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class StoredFile:
    """A file kept in the evidence folder: its path relative to the folder, size, SHA-256."""

    relative_path: str
    size: int
    sha256: str


class EvidenceStore:
    """The evidence folder at `root` (created on the first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes, name: str) -> StoredFile:
        """Keep `data` under a new collision-free name derived from `name`; return where."""
        digest = hashlib.sha256(data).hexdigest()
        relative = f"{digest[:2]}/{digest[:16]}-{secrets.token_hex(4)}-{safe_name(name)}"
        write_atomically(self.root / relative, data)
        return StoredFile(relative_path=relative, size=len(data), sha256=digest)

    def path(self, relative_path: str) -> Path:
        """The absolute path of a stored file; raises `ValueError` for a path that would
        leave the folder."""
        path = (self.root / relative_path).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"{relative_path!r} is outside the evidence folder")
        return path

    def read(self, relative_path: str) -> bytes | None:
        """The bytes of a stored file, None when it is missing."""
        try:
            return self.path(relative_path).read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def delete(self, relative_path: str) -> bool:
        """Remove a stored file; True if there was one."""
        try:
            self.path(relative_path).unlink()
        except (FileNotFoundError, ValueError):
            return False
        return True

    def files(self) -> list[str]:
        """Every stored file's relative path (POSIX separators), sorted; temporary files of
        unfinished writes are left out."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and not p.name.startswith(".part-")
        )


def archive_path(backup: Path) -> Path:
    """The evidence archive written beside the database backup `backup`."""
    return backup.with_name(backup.name + ".evidence.zip")


def archive(store: EvidenceStore, target: Path) -> int:
    """Write every stored file into the zip `target` under its relative path (no
    compression; written to a temporary name and renamed); return how many. Raises
    `FileExistsError` if `target` exists."""
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file name")
    names = store.files()
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".part-{target.name}")
    try:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_STORED) as zf:
            for name in names:
                zf.write(store.root / name, arcname=name)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return len(names)


def restore_archive(store: EvidenceStore, source: Path) -> int:
    """Put the files of the evidence archive `source` back into the folder; a file already
    there is left as it is. Return how many files were written. Raises `ValueError` for a
    member that would leave the folder."""
    written = 0
    with zipfile.ZipFile(source) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            path = store.path(info.filename)  # refuses ../ and absolute names
            if path.exists():
                continue
            write_atomically(path, zf.read(info))
            written += 1
    return written

"""One running bot per database: an exclusive instance lock.

Two instances on one database would both poll Telegram (which answers one of them 409) and
both run the tick; the ledger already keeps them from sending anything twice, but the second
instance is refused at start with a clear message instead. PostgreSQL: a session-level
advisory lock held on a dedicated connection. SQLite: an exclusive `flock` on a file next to
the database file. The lock is released when the process ends, even by SIGKILL.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from db.engine import sqlite_in_memory

ADVISORY_KEY = 0x7A5B_0C31  # arbitrary, constant: "the taskbot instance"


class AlreadyRunning(RuntimeError):
    """Another instance holds the lock of this database."""


class InstanceLock:
    """An exclusive lock on a database; `acquire()` raises `AlreadyRunning` if taken."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Any = None
        self._file: IO[str] | None = None

    def _sqlite_path(self) -> Path | None:
        """The lock file next to the database file, named after its real path (symbolic
        links, `..` and relative paths resolved, `os.path.realpath`), so that every path
        that leads to one file takes one lock, whichever config file or working directory
        named it; None for an in-memory database, which no other process can open. A
        `file:` URI names its file after the prefix, up to its query."""
        url = make_url(str(self.engine.url))
        if sqlite_in_memory(url):
            return None
        database = (url.database or "").removeprefix("file:").split("?", 1)[0]
        real = Path(os.path.realpath(Path(database).expanduser()))
        return real.with_name(real.name + ".lock")

    def acquire(self) -> None:
        """Take the lock or raise `AlreadyRunning` naming the database (without password)."""
        where = self.engine.url.render_as_string(hide_password=True)
        if self.engine.dialect.name == "postgresql":
            connection = self.engine.connect()
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar()
            connection.commit()
            if not got:
                connection.close()
                raise AlreadyRunning(f"another taskbot instance is running on {where}")
            self._connection = connection
            return
        path = self._sqlite_path()
        if path is None:
            return
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise AlreadyRunning(f"another taskbot instance is running on {where}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Give the lock back (also happens when the process ends)."""
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
                self._connection.commit()
            finally:
                self._connection.close()
                self._connection = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

"""Engine, sessions and schema upgrades.

`Database` is created by the caller (the bot's `post_init`, a CLI command, a test), never at
import time. SQLite connections run in WAL mode with a busy timeout so that a status save and a
reminder fan-out never fail with "database is locked"; any SQLAlchemy URL works (PostgreSQL via
`postgresql+psycopg://...`). The schema is managed by Alembic (`db/migrations`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import SingletonThreadPool
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 15_000
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _postgresql_session(dbapi_connection: Any, _record: Any) -> None:
    # No JIT compilation: the bot's statements are short, and on a table whose statistics
    # are not yet gathered (after a bulk load, before autovacuum's ANALYZE) PostgreSQL's
    # cost estimates put the digest's period query past `jit_above_cost`; compiling it took
    # 1.5 s for a query that runs in 60 ms. A server without the setting (before 11) is
    # left as it is.
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()
    except Exception:  # any refusal leaves the server's default
        dbapi_connection.rollback()
        log.info("PostgreSQL did not take 'SET jit = off'; its default stays")


HEAD_REVISION = "0019"  # the newest migration in db/migrations/versions (a test checks it)


def normalise_url(url: str) -> str:
    """Return `url` with a driver that is installed: bare `postgresql://` becomes psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def build_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for `url`; SQLite files get their parent folder created and WAL mode;
    PostgreSQL sessions run without JIT compilation (`_postgresql_session`).

    Raises `sqlalchemy.exc.ArgumentError` for a malformed URL.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        # an in-memory database lives as long as its connection: one per thread, kept open
        # (SQLAlchemy chose this pool by itself for these URLs; from 2.1 it must be asked for)
        pool = {"poolclass": SingletonThreadPool} if sqlite_in_memory(parsed) else {}
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, echo=echo, pool_pre_ping=True)
    if parsed.get_backend_name() == "postgresql":
        event.listen(engine, "connect", _postgresql_session)
    return engine


def sqlite_in_memory(url: URL) -> bool:
    """Whether a SQLite `url` names an in-memory database: `sqlite://`, `:memory:`, or a
    `file:` URI with `mode=memory` or the name `:memory:`."""
    database = url.database or ""
    return (
        database in ("", ":memory:")
        or database.startswith("file::memory:")
        or url.query.get("mode") == "memory"
    )


def describe_error(exc: BaseException) -> str:
    """One line for a database error: the driver's own first line (without SQLAlchemy's
    statement dump and "Background on this error" link), and a hint for a database that
    does not exist. Drivers do not repeat passwords in their messages."""
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    text = " ".join(lines[:2])[:300] if lines else type(cause).__name__
    text = f"{type(cause).__name__}: {text}"
    if "does not exist" in text and "database" in text:
        text += " (create it first, e.g. createdb NAME, or CREATE DATABASE NAME in psql)"
    return text


def connection_problem(url: str, *, timeout_seconds: int = 5) -> str | None:
    """Why a PostgreSQL `url` cannot be connected to now (one line, see `describe_error`),
    or None if `SELECT 1` works within `timeout_seconds`; None for SQLite, whose file
    `init` and `run` create. Never raises for an unreachable or refusing server."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        return None
    engine = create_engine(url, connect_args={"connect_timeout": timeout_seconds})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        return describe_error(exc)
    finally:
        engine.dispose()
    return None


class Database:
    """An engine plus a session factory. Close it with `dispose()`.

    Sessions do not expire objects on commit, so rows read in a session stay usable after it
    closes (handlers read, close the session, then await Telegram).
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.engine = build_engine(self.url, echo=echo)
        self.lock: Any = None  # an InstanceLock while this process runs the bot

    @property
    def dialect(self) -> str:
        """The backend name: "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    @property
    def shared_across_threads(self) -> bool:
        """Whether a session opened in another thread sees the same database: False for an
        in-memory SQLite database (`sqlite://`, `:memory:`, a `file:` URI with `mode=memory`
        or `:memory:`), of which each new connection is a new, empty copy (SQLAlchemy gives
        each thread its own connection, `SingletonThreadPool`)."""
        return self.dialect != "sqlite" or not sqlite_in_memory(self.engine.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Open a session; commit when the block ends without error, roll back otherwise.

        The caller owns the transaction: every write in one block commits together. Never
        `await` a network call inside the block.
        """
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest Alembic revision, in place.

        A database already at `HEAD_REVISION` is left alone without loading Alembic (a
        fifth of a second of a restart's start-up on a slow machine). An empty database gets
        the tables of the models and the head revision stamped in one transaction, as
        Alembic's cookbook builds "an up to date database from scratch" (0.03 s instead of
        running every migration, 0.7 s); `tests/storage/test_migrations.py` checks that the
        migrations build the same schema.
        """
        revision = self.schema_revision()
        if revision == HEAD_REVISION:
            return
        if revision is None and self._empty():
            self._create_at_head()
            return
        self.upgrade_with_alembic()

    def upgrade_with_alembic(self) -> None:
        """Run the Alembic migrations up to the head revision."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["engine"] = self.engine
        command.upgrade(config, "head")

    def _empty(self) -> bool:
        from sqlalchemy import inspect

        with self.engine.connect() as connection:
            return not inspect(connection).get_table_names()

    def _create_at_head(self) -> None:
        from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table
        from sqlmodel import SQLModel

        import db.models  # noqa: F401  (registers the tables)

        # the version table exactly as Alembic makes it
        version = Table(
            "alembic_version",
            MetaData(),
            Column("version_num", String(32), nullable=False),
            PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
        )
        with self.engine.begin() as connection:
            SQLModel.metadata.create_all(connection)
            version.create(connection)
            connection.execute(version.insert().values(version_num=HEAD_REVISION))

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at, or None (no schema yet, or not one)."""
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        try:
            with self.engine.connect() as connection:
                rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        except DBAPIError:  # no such table
            return None
        return str(rows[0][0]) if len(rows) == 1 else None

    def backup(self, target: Path) -> None:
        """Write a consistent copy of a SQLite database to `target`, even while the bot runs.

        Uses SQLite's online backup API (pages copied under a read transaction, so the copy
        is a snapshot). Raises `ValueError` for other databases (use `pg_dump` there) and
        `FileExistsError` if `target` exists.
        """
        if self.dialect != "sqlite":
            raise ValueError(
                f"backup copies SQLite files; for {self.dialect} use its own tool (pg_dump)"
            )
        target = Path(target)
        if target.exists():
            raise FileExistsError(f"{target} exists; choose a new file name")
        target.parent.mkdir(parents=True, exist_ok=True)
        raw = self.engine.raw_connection()
        try:
            source = raw.driver_connection
            assert source is not None  # an open pool connection has its driver's
            destination = sqlite3.connect(str(target))
            try:
                source.backup(destination)
            finally:
                destination.close()
        finally:
            raw.close()

    def dispose(self) -> None:
        """Release the instance lock, if held, and close every pooled connection."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self.engine.dispose()

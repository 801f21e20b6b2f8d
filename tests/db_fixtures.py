"""Database fixtures for the persistence tests (import them into a test module).

`fresh_db` is an empty, upgraded database: a SQLite file under `tmp_path`, or the database of
`TEST_DATABASE_URL` (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) with every table,
the Alembic version table and the enum types dropped first. `loaded_db` also has the shipped
plan loaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from db.engine import Database
from db.seed import load_plan, read_task_file

ENUM_TYPES = ("status", "reminderkind", "deliveryoutcome", "assignmentrole")
LOAD_TIME = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def url_under_test(tmp_path: Path) -> str:
    """TEST_DATABASE_URL if set, else a SQLite file in `tmp_path`."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path}/t.sqlite3"


def reset_database(database: Database) -> None:
    """Drop every table of the model, the Alembic version table and (PostgreSQL) enum types."""
    SQLModel.metadata.drop_all(database.engine)
    with database.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if database.dialect == "postgresql":
            for name in ENUM_TYPES:
                conn.execute(text(f"DROP TYPE IF EXISTS {name} CASCADE"))


@pytest.fixture
def fresh_db(tmp_path: Path) -> Iterator[Database]:
    """An empty database at the newest schema revision."""
    database = Database(url_under_test(tmp_path))
    if database.dialect != "sqlite":
        reset_database(database)
    database.upgrade()
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def loaded_db(fresh_db: Database) -> Database:
    """`fresh_db` with the shipped plan (db/data/plan.toml) loaded."""
    with fresh_db.session() as session:
        load_plan(session, read_task_file(), now=LOAD_TIME)
    return fresh_db

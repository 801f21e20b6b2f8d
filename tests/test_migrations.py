"""The Alembic migrations build exactly the schema the SQLModel tables describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables)
from db.engine import Database


def test_migrations_match_the_models(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    database.upgrade()  # a second upgrade is a no-op
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    database.dispose()
    assert diff == []

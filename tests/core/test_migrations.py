"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from gbsmart.config import Settings
from gbsmart.core import migrate
from gbsmart.core.db import Base


def test_upgrade_then_alembic_check(tmp_path, db_url):
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    migrate.upgrade(settings)
    migrate.check(settings)  # raises if models and migrations disagree
    engine = create_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_upgrade_is_repeatable(tmp_path, db_url):
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    migrate.upgrade(settings)
    migrate.upgrade(settings)
    migrate.check(settings)

"""Alembic environment for gbsmart: the URL comes from the Config gbsmart builds, or from Settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from gbsmart.core.db import make_engine
from gbsmart.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from gbsmart.config import get_settings

    return get_settings().resolved_database_url()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # batch mode rebuilds a table (copy, drop, rename): with foreign keys enforced, dropping the old table
            # would delete every row that references it ON DELETE CASCADE, or fail. The pragma is ignored inside a
            # transaction, so it is set before the migrations' transaction begins.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            # what the rebuilt tables hold must still point at rows that exist
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.commit()
            if broken:
                raise RuntimeError(f"the migration left rows pointing at rows that do not exist: {broken[:10]}")
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()

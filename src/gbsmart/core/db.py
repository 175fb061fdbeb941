"""Database kit: the declarative Base (with a naming convention Alembic can diff), engines and sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from gbsmart.core.errors import AppError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def enum_condition(column: str, values: type[StrEnum] | Iterable[str]) -> str:
    """The SQL condition ``column IN ('a', 'b', ...)`` over an enumeration's values (or the values given)."""
    allowed = [m.value for m in values] if isinstance(values, type) else list(values)
    if not allowed:
        raise ValueError(f"no values to allow in {column}")
    return f"{column} IN (" + ", ".join("'" + v.replace("'", "''") + "'" for v in allowed) + ")"


def code_condition(column: str, codes: Iterable[int]) -> str:
    """The SQL condition that ``column`` holds one of the small-integer ``codes``.

    ``column BETWEEN 1 AND 9`` when the codes run without a gap (an enumeration's always do), else
    ``column IN (1, 3, ...)``. The range is for the bulk loads: SQLite builds a small table for an ``IN`` list of
    more than two values on every execution of a statement, which more than doubled the time to insert a million
    devices row by row; two comparisons cost nothing measurable.
    """
    allowed = sorted({int(c) for c in codes})
    if not allowed:
        raise ValueError(f"no codes to allow in {column}")
    if allowed == list(range(allowed[0], allowed[-1] + 1)):
        return f"{column} BETWEEN {allowed[0]} AND {allowed[-1]}"
    return f"{column} IN (" + ", ".join(str(c) for c in allowed) + ")"


def code_check(column: str, codes: Iterable[int]) -> CheckConstraint:
    """A CHECK that the small-integer ``column`` holds one of ``codes``, named ``ck_<table>_<column>``.

    For an enumeration stored by code (the SMI's Device Types, SMI Statuses ...: ``smi.enums.codes``); NULL passes,
    as with ``enum_check``, and a migration writes the same condition with ``code_condition`` over the codes as
    they were then.
    """
    return CheckConstraint(code_condition(column, codes), name=column)


def enum_check(column: str, enum: type[StrEnum]) -> CheckConstraint:
    """A CHECK that ``column`` holds one of ``enum``'s values, named ``ck_<table>_<column>`` by the convention.

    NULL passes (whether the column may be empty is its own ``nullable``). A migration writes the same condition
    with ``enum_condition`` over the values as they were then; ``tests/core/test_enum_checks.py`` fails when the
    models' enumerations and the migrated database stop agreeing, so a new value needs a new migration.
    """
    return CheckConstraint(enum_condition(column, enum), name=column)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime on every database: stored as UTC, read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode, foreign keys, a busy timeout and savepoints inside transactions.

    The busy timeout (30 s) makes a writer wait for another's commit instead of failing with "database is locked".
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "savepoint")
        def _begin_before_savepoint(conn: Connection, _name: str) -> None:
            # pysqlite opens a transaction only before INSERT/UPDATE/DELETE; a SAVEPOINT outside one would start
            # the transaction itself and its RELEASE would commit everything so far, so begin one first
            dbapi_conn = conn.connection.dbapi_connection
            assert dbapi_conn is not None  # a checked-out connection always holds its DBAPI connection
            if not dbapi_conn.in_transaction:
                dbapi_conn.execute("BEGIN")

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def is_unique_violation(exc: IntegrityError) -> bool:
    """Whether the database refused a row because a unique constraint already holds its key (both databases)."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23505":  # PostgreSQL unique_violation
        return True
    return getattr(orig, "sqlite_errorname", "") in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")


def insert_or_conflict(session: Session, obj: object, conflict: AppError | Callable[[], AppError]) -> None:
    """Insert ``obj`` in a savepoint; if a unique constraint refuses it, raise ``conflict`` (or ``conflict()``).

    A "one per X" rule checks first, then inserts; two requests at once both pass the check and the database's
    unique constraint refuses the second. This turns that refusal into the same error the check gives (a 409),
    and leaves the session usable so ``conflict`` may read the row that won.
    """
    try:
        with session.begin_nested():
            session.add(obj)
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise (conflict if isinstance(conflict, AppError) else conflict()) from None


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The boundary's transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

"""Enumeration columns are checked by the database (decision 0018): the models declare the CHECK constraints, the
migration e9ccc615ac55 adds them to a database that already holds data, and the two agree, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import CheckConstraint, create_engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from gbsmart.config import Settings
from gbsmart.core import migrate
from gbsmart.core.clock import FixedClock
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import Base, enum_check, enum_condition, make_engine, make_sessionmaker
from gbsmart.cpl.enums import EntryStatus
from gbsmart.demo.loader import load_demo

PREVIOUS_HEAD = "0fcf4e2e272c"


def model_checks() -> dict[tuple[str, str], CheckConstraint]:
    """(table, column) -> the CHECK the models declare, for every enumeration column."""
    found = {}
    for table in Base.metadata.sorted_tables:
        for c in table.constraints:
            if isinstance(c, CheckConstraint):
                found[(table.name, str(c.sqltext).split(" IN ")[0])] = c
    return found


def reflected_checks(engine) -> set[tuple[str, str | None, str]]:
    inspector = inspect(engine)
    return {(t, c["name"], c["sqltext"])
            for t in inspector.get_table_names() for c in inspector.get_check_constraints(t)}


def row_counts(engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t.name: c.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def test_the_condition_lists_the_values_in_order_and_quotes_them():
    assert enum_condition("status", EntryStatus) == "status IN ('Active', 'Cancelled', 'Expired', 'Withdrawn')"
    assert enum_condition("x", ["it's"]) == "x IN ('it''s')"
    with pytest.raises(ValueError):
        enum_condition("x", [])
    assert enum_check("status", EntryStatus).name == "status"  # the naming convention makes it ck_<table>_status


def test_every_enumeration_column_is_checked_but_the_free_text_device_type():
    checks = model_checks()
    assert ("cpl_submissions", "physical_device_type") not in checks  # free text by design: refusals explain it
    for expected in [("cpl_entries", "status"), ("smi_device_models", "status"), ("proposals", "state"),
                     ("organisations", "kind"), ("person_roles", "role"), ("papers", "classification"),
                     ("meetings", "status"), ("change_board_votes", "vote"), ("cpl_submissions", "status")]:
        assert expected in checks
    assert len(checks) == 39


def _load_demo(engine, tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=str(engine.url),
                        secret_key="test-secret-key-not-for-production")
    session = make_sessionmaker(engine)()
    try:
        ctx = Ctx(session=session, actor=Actor.system("test"), settings=settings,
                  clock=FixedClock(datetime(2020, 1, 28, 10, 0, tzinfo=UTC)))
        load_demo(ctx)
        session.commit()
    finally:
        session.close()
    with engine.begin() as c:  # one more Device Model, as an extract leaves it (an id clear of the demo's own)
        c.execute(text("INSERT INTO smi_device_models (id, manufacturer, model, hardware_version, firmware_version, "
                       "physical_device_type, status) VALUES (9001, 'M', 'X', '1', '1', 'ESME', 'Active')"))


def test_the_migration_keeps_the_data_checks_it_and_goes_back(tmp_path, db_url):
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    migrate.upgrade(settings, PREVIOUS_HEAD)
    engine = make_engine(db_url)
    try:
        _load_demo(engine, tmp_path)
        before = row_counts(engine)
        assert before["cpl_entries"] and before["cpl_entry_events"] and before["proposal_events"]

        migrate.upgrade(settings)
        # nothing lost, not even the rows that reference a rebuilt table ON DELETE CASCADE (cpl_entry_events ...)
        assert row_counts(engine) == before
        migrate.check(settings)

        # every checked column of a table that holds rows refuses a value its enumeration does not know
        tried = []
        for (table, column) in sorted(model_checks()):
            if not before[table]:
                continue
            with pytest.raises(IntegrityError), engine.begin() as c:
                c.execute(text(f"UPDATE {table} SET {column} = 'bad'"))  # noqa: S608 (names from the models)
            tried.append((table, column))
        assert {("cpl_entries", "status"), ("proposals", "state"), ("organisations", "kind"),
                ("papers", "classification"), ("smi_device_models", "status")} <= set(tried), tried
        with pytest.raises(IntegrityError), engine.begin() as c:
            c.execute(text("INSERT INTO smi_device_models (id, manufacturer, model, hardware_version, "
                           "firmware_version, physical_device_type, status) "
                           "VALUES (9002, 'M', 'Y', '1', '1', 'ESME', 'Listed')"))
        assert row_counts(engine) == before

        command.downgrade(migrate.alembic_config(db_url), PREVIOUS_HEAD)
        assert row_counts(engine) == before
        assert not {t for t, _, _ in reflected_checks(engine)}
        with engine.begin() as c:  # no longer checked
            c.execute(text("UPDATE smi_device_models SET status = 'Listed'"))
            c.execute(text("UPDATE smi_device_models SET status = 'Active'"))
        migrate.upgrade(settings)
        assert row_counts(engine) == before
    finally:
        engine.dispose()


def test_the_models_and_the_migrated_schema_have_the_same_checks(tmp_path, db_url):
    """alembic check does not compare CHECK constraints: compare what each way builds, as the database reads it."""
    migrate.upgrade(Settings(data_dir=tmp_path, database_url=db_url))
    engine = create_engine(db_url)
    try:
        migrated = reflected_checks(engine)
        Base.metadata.drop_all(engine)
        with engine.begin() as c:
            c.execute(text("DROP TABLE alembic_version"))
        Base.metadata.create_all(engine)
        declared = reflected_checks(engine)
    finally:
        engine.dispose()
    assert len(migrated) == len(model_checks())
    assert migrated == declared

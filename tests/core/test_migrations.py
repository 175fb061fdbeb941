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


def test_suspended_devices_move_to_the_suspension_table_and_back(tmp_path, db_url):
    """a7d3c1e9b2f4 keeps every Suspended device Suspended, with the status it had before, both ways."""
    from alembic import command
    from sqlalchemy import text

    settings = Settings(data_dir=tmp_path, database_url=db_url)
    migrate.upgrade(settings, "8c373928e578")
    engine = create_engine(db_url)
    try:
        with engine.begin() as c:
            c.execute(text("INSERT INTO smi_devices (device_id, device_type, device_model_id, smi_status, status_date, "
                           "status_before_suspension, csp_region) VALUES "
                           "(1, 1, 5, 7, '2026-01-02', 4, 1), (2, 1, 5, 4, '2025-03-04', NULL, 1), "
                           "(3, 1, 5, 7, '2026-01-03', 3, 2)"))
        migrate.upgrade(settings)
        with engine.connect() as c:
            devices = c.execute(text("SELECT device_id, lifecycle_status, lifecycle_date FROM smi_devices "
                                     "ORDER BY device_id")).all()
            suspensions = c.execute(text("SELECT device_id, since, until FROM smi_suspensions "
                                         "ORDER BY device_id")).all()
        assert [(d, s) for d, s, _ in devices] == [(1, 4), (2, 4), (3, 3)]
        assert [(d, str(since), until) for d, since, until in suspensions] == [
            (1, "2026-01-02", None), (3, "2026-01-03", None)]
        command.downgrade(migrate.alembic_config(db_url), "8c373928e578")
        with engine.connect() as c:
            back = c.execute(text("SELECT device_id, smi_status, status_before_suspension FROM smi_devices "
                                  "ORDER BY device_id")).all()
        assert [tuple(r) for r in back] == [(1, 7, 4), (2, 4, None), (3, 7, 3)]
    finally:
        engine.dispose()


def test_the_alerts_already_recorded_are_counted_into_the_volume_roll_up(tmp_path, db_url):
    """f1a8c3d5e7b2 counts the alerts there before it per minute, code, region and outcome, as the intake would."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, select
    from sqlalchemy.orm import Session

    from gbsmart.alerts.rollup import count_volumes
    from gbsmart.models.alerts import Alert, AlertVolumeMinute

    settings = Settings(data_dir=tmp_path, database_url=db_url)
    migrate.upgrade(settings, "d4b7e2a9c013")
    start = datetime(2026, 12, 4, 11, 58, 30, 250000, tzinfo=UTC)
    rows = [{"device_id": f"00-DB-12-34-56-78-90-{i % 7:02X}", "code": ("8F3E", "8F12")[i % 2],
             "occurred_at": start, "received_at": start + timedelta(seconds=7 * i), "source": "simulator",
             "csp_region": ("North", None, "South")[i % 3], "outcome": ("routed", "throttled")[i % 5 == 0],
             "recipients": 1, "detail": ""} for i in range(60)]
    engine = create_engine(db_url)
    try:
        with engine.begin() as c:
            c.execute(insert(Alert.__table__), rows)  # type: ignore[arg-type]
        migrate.upgrade(settings)
        with Session(engine) as session:
            got = {(v.minute, v.code, v.csp_region, v.outcome): v.alerts for v in session.scalars(
                select(AlertVolumeMinute))}
        assert got == dict(count_volumes(rows)) and sum(got.values()) == 60 and len({k[0] for k in got}) == 8
    finally:
        engine.dispose()

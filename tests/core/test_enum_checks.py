"""Enumeration columns are checked by the database (decision 0018): the models declare the CHECK constraints, the
migration e9ccc615ac55 adds them to a database that already holds data, and the two agree, on SQLite and PostgreSQL.
The SMI's small-integer code columns (Device Type, SMI Status ...) are checked against their enumeration's codes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import CheckConstraint, Integer, create_engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from gbsmart.config import Settings
from gbsmart.core import migrate
from gbsmart.core.clock import FixedClock
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import Base, code_check, code_condition, enum_check, enum_condition, make_engine, make_sessionmaker
from gbsmart.cpl.enums import EntryStatus
from gbsmart.demo.loader import load_demo
from gbsmart.smi.enums import CspRegion, DeviceEvent, DeviceType, Fuel, SmiStatus, codes

PREVIOUS_HEAD = "0fcf4e2e272c"
#: the SMI's tables whose enumerations are stored as small-integer codes
CODE_TABLES = ("smi_devices", "smi_status_history", "smi_device_events")


def model_checks() -> dict[tuple[str, str], CheckConstraint]:
    """(table, column) -> the CHECK the models declare, for every enumeration column."""
    found = {}
    for table in Base.metadata.sorted_tables:
        for c in table.constraints:
            if isinstance(c, CheckConstraint):
                found[(table.name, str(c.sqltext).split(" ")[0])] = c
    return found


def reflected_checks(engine) -> set[tuple[str, str | None, str]]:
    inspector = inspect(engine)
    return {(t, c["name"], c["sqltext"])
            for t in inspector.get_table_names() for c in inspector.get_check_constraints(t)}


def row_counts(engine) -> dict[str, int]:
    with engine.connect() as c:
        present = set(inspect(c).get_table_names())
        return {t.name: c.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
                if t.name in present}


def test_the_condition_lists_the_values_in_order_and_quotes_them():
    assert enum_condition("status", EntryStatus) == "status IN ('Active', 'Cancelled', 'Expired', 'Withdrawn')"
    assert enum_condition("x", ["it's"]) == "x IN ('it''s')"
    with pytest.raises(ValueError):
        enum_condition("x", [])
    assert enum_check("status", EntryStatus).name == "status"  # the naming convention makes it ck_<table>_status


def test_a_code_condition_is_a_range_when_the_codes_have_no_gap():
    assert code_condition("device_type", codes(DeviceType).values()) == "device_type BETWEEN 1 AND 8"
    assert code_condition("x", [3, 1, 2, 2]) == "x BETWEEN 1 AND 3"
    assert code_condition("x", [1, 3]) == "x IN (1, 3)"
    with pytest.raises(ValueError):
        code_condition("x", [])
    assert code_check("csp_region", [1, 2, 3]).name == "csp_region"


def test_the_smi_code_columns_allow_exactly_their_enumerations_codes():
    checks = {key: str(c.sqltext) for key, c in model_checks().items() if key[0].startswith("smi_")}
    assert checks == {
        ("smi_devices", "device_type"): f"device_type BETWEEN 1 AND {len(DeviceType)}",
        ("smi_devices", "lifecycle_status"): f"lifecycle_status BETWEEN 1 AND {len(SmiStatus)}",
        ("smi_devices", "csp_region"): f"csp_region BETWEEN 1 AND {len(CspRegion)}",
        ("smi_status_history", "from_status"): f"from_status BETWEEN 1 AND {len(SmiStatus)}",
        ("smi_status_history", "to_status"): f"to_status BETWEEN 1 AND {len(SmiStatus)}",
        ("smi_device_events", "event"): f"event BETWEEN 1 AND {len(DeviceEvent)}",
        ("smi_registrations", "fuel"): enum_condition("fuel", Fuel),
        ("smi_device_models", "status"): enum_condition("status", EntryStatus),
    }


def test_every_enumeration_column_is_checked_but_the_free_text_device_type():
    checks = model_checks()
    assert ("cpl_submissions", "physical_device_type") not in checks  # free text by design: refusals explain it
    for expected in [("cpl_entries", "status"), ("smi_device_models", "status"), ("proposals", "state"),
                     ("organisations", "kind"), ("person_roles", "role"), ("papers", "classification"),
                     ("meetings", "status"), ("change_board_votes", "vote"), ("cpl_submissions", "status"),
                     ("smi_devices", "device_type"), ("smi_registrations", "fuel")]:
        assert expected in checks
    assert ("smi_device_models", "physical_device_type") not in checks  # named as the extract names them
    # 46, the journal's state and TRT class, the Pre-Commands' state, ADT's breach, status and alert kind; the
    # alerts' outcome, northbound kind, outage state and scope, broadcast severity; the incidents' status, assignee
    # kind, category (1 to 9) and event kind; a returned hub's triage
    assert len(checks) == 72
    for expected in [("incidents", "status"), ("incidents", "assignee_kind"), ("incident_events", "kind")]:
        assert expected in checks


#: columns that migrations after PREVIOUS_HEAD add to tables it already has (issue 15's second factor): the demo is
#: loaded through today's models, so they are there while it loads and dropped again before the upgrade adds them
LATER_COLUMNS = {"people": ("totp_secret VARCHAR(200)", "totp_enabled_at TIMESTAMP WITH TIME ZONE",
                            "totp_last_step INTEGER")}


def _load_demo(engine, tmp_path) -> None:
    with engine.begin() as c:
        for table, columns in LATER_COLUMNS.items():
            for column in columns:
                c.execute(text(f"ALTER TABLE {table} ADD COLUMN {column}"))
    _load_demo_rows(engine, tmp_path)
    with engine.begin() as c:
        for table, columns in LATER_COLUMNS.items():
            for column in columns:
                c.execute(text(f"ALTER TABLE {table} DROP COLUMN {column.split()[0]}"))


def _load_demo_rows(engine, tmp_path) -> None:
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
    with engine.begin() as c:  # one SMI Device Model, as an extract leaves it, and one device with its rows
        model_id = c.scalar(text("SELECT COALESCE(MAX(id), 0) + 1 FROM smi_device_models"))
        c.execute(text("INSERT INTO smi_device_models (id, manufacturer, model, hardware_version, firmware_version, "
                       "physical_device_type, status) VALUES (:id, 'M', 'X', '1', '1', 'ESME', 'Active')"),
                  {"id": model_id})
        c.execute(text("INSERT INTO smi_devices (device_id, device_type, device_model_id, lifecycle_status, "
                       "lifecycle_date, mpxn, csp_region) VALUES (-5, 1, :id, 4, '2020-01-28', 1234567890123, 3)"),
                  {"id": model_id})
        c.execute(text("INSERT INTO smi_status_history (device_id, from_status, to_status, at, reason) "
                       "VALUES (-5, 3, 4, '2020-01-28 10:00:00', 'test')"))
        c.execute(text("INSERT INTO smi_registrations (mpxn, fuel, supplier_org_id, network_operator_org_id, "
                       "valid_from) VALUES (1234567890123, 'E', 1, 2, '2020-01-01')"))
        c.execute(text("INSERT INTO smi_device_events (event, device_id, user_org_id, at) "
                       "VALUES (2, -5, 1, '2020-01-28 10:00:00')"))


# tables made by migrations after PREVIOUS_HEAD
#: tables the migrations after PREVIOUS_HEAD add (the gateway's journal, delivery, Pre-Commands, ADT, alerts)
LATER_TABLES = {"gateway_messages", "gateway_endpoints", "gateway_responses", "gateway_pre_commands",
                "adt_thresholds", "adt_dcc_thresholds", "adt_warnings", "gateway_quarantine",
                "dcc_alerts", "responsible_officer_certificates",
                "alerts", "alert_throttle_summaries", "northbound_messages", "power_outages",
                "alert_deadline_breaches", "service_broadcasts", "alert_volume_minutes",
                "incidents", "incident_events", "performance_exceptions", "major_incident_reports",
                "major_incident_comments", "ch_exceptions", "ch_returns", "ssi_availability_spans",
                "assessed_users", "assessment_portfolios", "security_assessments", "assessment_findings",
                "assessment_actions", "assessment_decisions", "directors_letters", "feature_switches"}


def _bad_value(table: str, column: str) -> str:
    """A value no enumeration knows, as SQL: code 0 for a small-integer column, else a word that fits the column."""
    kind = Base.metadata.tables[table].c[column].type
    return "0" if isinstance(kind, Integer) else "'bad'" if (getattr(kind, "length", None) or 3) >= 3 else "'X'"


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
        after = row_counts(engine)
        assert {t: after[t] for t in before} == before and set(after) - set(before) == LATER_TABLES
        migrate.check(settings)

        # every checked column of a table that holds rows refuses a value its enumeration does not know
        tried = []
        for (table, column) in sorted(model_checks()):
            if not before.get(table):
                continue
            with pytest.raises(IntegrityError), engine.begin() as c:
                c.execute(text(f"UPDATE {table} SET {column} = {_bad_value(table, column)}"))  # noqa: S608
            tried.append((table, column))
        assert {("cpl_entries", "status"), ("proposals", "state"), ("organisations", "kind"),
                ("papers", "classification"), ("smi_device_models", "status")} <= set(tried), tried
        # every SMI code column, at both ends of its range
        smi = sorted(key for key in model_checks() if key[0] in CODE_TABLES)
        assert {key for key in smi if key in tried} == set(smi) and len(smi) == 6
        for table, column in smi:
            last = {"device_type": len(DeviceType), "csp_region": len(CspRegion), "event": len(DeviceEvent)}.get(
                column, len(SmiStatus))
            mine = f"UPDATE {table} SET {column} = :v WHERE device_id = -5"  # noqa: S608 (names from the models)
            with pytest.raises(IntegrityError), engine.begin() as c:
                c.execute(text(mine), {"v": last + 1})
            with engine.begin() as c:  # the last code is allowed (and the row is put back as it was)
                old = c.scalar(text(f"SELECT {column} FROM {table} WHERE device_id = -5"))  # noqa: S608
                c.execute(text(mine), {"v": last})
                c.execute(text(mine), {"v": old})
        with pytest.raises(IntegrityError), engine.begin() as c:
            c.execute(text("INSERT INTO smi_devices (device_id, device_type, lifecycle_status, lifecycle_date, "
                           "csp_region) VALUES (-6, 9, 1, '2020-01-28', 1)"))
        with pytest.raises(IntegrityError), engine.begin() as c:
            c.execute(text("INSERT INTO smi_device_models (id, manufacturer, model, hardware_version, "
                           "firmware_version, physical_device_type, status) "
                           "VALUES (9002, 'M', 'Y', '1', '1', 'ESME', 'Listed')"))
        after = row_counts(engine)
        assert {t: after[t] for t in before} == before and set(after) - set(before) == LATER_TABLES

        command.downgrade(migrate.alembic_config(db_url), PREVIOUS_HEAD)
        assert row_counts(engine) == before
        assert not {t for t, _, _ in reflected_checks(engine)}
        with engine.begin() as c:  # no longer checked
            c.execute(text("UPDATE smi_device_models SET status = 'Listed'"))
            c.execute(text("UPDATE smi_device_models SET status = 'Active'"))
            c.execute(text("INSERT INTO smi_devices (device_id, device_type, lifecycle_status, lifecycle_date, "
                           "csp_region) VALUES (-6, 99, 0, '2020-01-28', 4)"))
            c.execute(text("INSERT INTO smi_status_history (device_id, from_status, to_status, at, reason) "
                           "VALUES (-6, 0, 10, '2020-01-28 10:00:00', 'test')"))
            c.execute(text("INSERT INTO smi_device_events (event, device_id, user_org_id, at) "
                           "VALUES (3, -6, 1, '2020-01-28 10:00:00')"))
            c.execute(text("INSERT INTO smi_registrations (mpxn, fuel, supplier_org_id, network_operator_org_id, "
                           "valid_from, valid_to) VALUES (1234567890123, 'X', 1, 2, '2019-01-01', '2019-12-31')"))
            for table in CODE_TABLES:
                c.execute(text(f"DELETE FROM {table} WHERE device_id = -6"))  # noqa: S608 (names from the tests)
            c.execute(text("DELETE FROM smi_registrations WHERE fuel = 'X'"))
        migrate.upgrade(settings)
        after = row_counts(engine)
        assert {t: after[t] for t in before} == before and set(after) - set(before) == LATER_TABLES
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

"""`gbsmart alerts outages` and `gbsmart alerts breaches`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from gbsmart.alerts.enums import OutageState
from gbsmart.cli import app
from gbsmart.core.db import make_sessionmaker
from gbsmart.models.alerts import AlertDeadlineBreach, PowerOutage

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ED = "90-B3-D5-1F-30-01-00-00"


def test_the_cli_lists_outages_and_breaches(engine, settings, monkeypatch):
    monkeypatch.setenv("GBSMART_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("GBSMART_DATA_DIR", str(settings.data_dir))
    from gbsmart.config import get_settings
    get_settings.cache_clear()
    due = T0 + timedelta(seconds=240)
    with make_sessionmaker(engine).begin() as s:
        s.add_all([
            PowerOutage(comms_hub_id="00-DB-12-34-56-78-00-01", mpxn="1900000000001", distributor=ED,
                        state=OutageState.REPORTED.value, scope="wide_area", window_start=T0, lost_at=T0,
                        ad1_due_at=due, ad1_message_id="AD1-x", ad1_delivered_at=due + timedelta(seconds=5)),
            PowerOutage(comms_hub_id="00-DB-12-34-56-78-00-02", mpxn="1900000000002", distributor=ED,
                        state=OutageState.RESTORED_EARLY.value, scope="isolated", window_start=T0, lost_at=T0,
                        ad1_due_at=due),
            AlertDeadlineBreach(message_id="AD1-x", what="AD1 Power Outage Event", subject="00-DB-12-34-56-78-00-01",
                                user_id=ED, due_at=due, delivered_at=due + timedelta(seconds=5),
                                cause="queued behind other messages [capacity]", recorded_at=due)])
    from gbsmart.core import cli_support
    monkeypatch.setattr(cli_support.console, "width", 250)  # the shared console may have been made 80 wide already
    runner = CliRunner()
    try:
        r = runner.invoke(app, ["alerts", "outages"], catch_exceptions=False, env={"COLUMNS": "250"})
        assert r.exit_code == 0, r.output
        assert "00-DB-12-34-56-78-00-01" in r.output and "late" in r.output and "Wide" not in r.output
        assert "wide_area" in r.output and "Restored inside the wait" in r.output
        r = runner.invoke(app, ["alerts", "outages", "--state", "restored_early"], env={"COLUMNS": "250"})
        assert "00-DB-12-34-56-78-00-02" in r.output and "00-DB-12-34-56-78-00-01" not in r.output
        r = runner.invoke(app, ["alerts", "outages", "--state", "gone"])
        assert r.exit_code == 1 and "is not a state" in r.output
        r = runner.invoke(app, ["alerts", "breaches"], catch_exceptions=False, env={"COLUMNS": "250"})
        assert r.exit_code == 0 and "queued behind other messages [capacity]" in r.output
    finally:
        get_settings.cache_clear()

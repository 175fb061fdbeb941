"""The alert intake on a real database seeded with the DCC Boxed devices and registrations (gateway.demo).

The Northbound and the outage tracker are the recording test doubles ``RecordingNorthbound`` and
``RecordingOutageTracker`` (named as such), which keep what the intake hands them, so each routing rule is seen
alone; tests/alerts/test_api.py runs the intake inside the real gateway with the real ones.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

import gbsmart.models.alerts  # noqa: F401  (registers the tables)
import gbsmart.models.gateway  # noqa: F401
import gbsmart.models.smi  # noqa: F401
from gbsmart.alerts import messages
from gbsmart.alerts.enums import OutboundKind
from gbsmart.alerts.intake import AlertIntake, DeviceAlert
from gbsmart.core.clock import FixedClock
from gbsmart.core.db import make_sessionmaker
from gbsmart.gateway.authorise import AuthorisationIndex
from gbsmart.gateway.demo import BOXED_MPAN, BOXED_NETWORK_OPERATOR, BOXED_SUPPLIER, load_gateway_demo
from gbsmart.gateway.xml import duis_schema
from gbsmart.models.alerts import Alert, AlertThrottleSummary
from gbsmart.models.smi import SmiDevice
from gbsmart.smi.rules import eui64_to_int
from tests.gateway.aio import run_async

ESME, CHF, GSME = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A2", "00-DB-12-34-56-78-90-A3"
UNKNOWN = "00-DB-99-99-99-99-99-99"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class RecordingNorthbound:
    """Test double of alerts.northbound.Northbound: records every put."""

    def __init__(self) -> None:
        self.items: list = []

    async def put(self, items) -> None:
        self.items.extend(items)


class RecordingOutageTracker:
    """Test double of alerts.outage.OutageTracker: records the power notices handed to it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, datetime]] = []

    async def power_lost_many(self, notices) -> None:
        self.calls.extend(("lost", hub, at) for hub, at in notices)

    async def power_restored_many(self, notices) -> None:
        self.calls.extend(("restored", hub, at) for hub, at in notices)


@pytest.fixture
def seeded(engine, ctx):
    load_gateway_demo(ctx)
    ctx.session.execute(update(SmiDevice).where(SmiDevice.device_id == eui64_to_int(ESME))
                        .values(chf_device_id=eui64_to_int(CHF)))  # the ESME hangs off the Communications Hub
    ctx.session.commit()
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        index = AuthorisationIndex.load(session)
    return sessions, index


def _intake(seeded, settings, clock, northbound=None, outage=None) -> AlertIntake:
    sessions, index = seeded
    return AlertIntake(sessions, settings, clock, northbound=northbound or RecordingNorthbound(),
                       index=lambda: index, outage=outage, tick_seconds=0)


def _rows(seeded) -> list[Alert]:
    with seeded[0]() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


async def _ingest(intake: AlertIntake, *alerts: DeviceAlert, source: str = "test"):
    await intake.start()
    try:
        return await intake.ingest(list(alerts), source=source)
    finally:
        await intake.close()


def test_an_alert_goes_to_the_devices_supplier_and_is_recorded(seeded, settings):
    northbound = RecordingNorthbound()
    intake = _intake(seeded, settings, FixedClock(NOW), northbound)
    result = run_async(_ingest(intake, DeviceAlert(ESME, "8F3E", NOW - timedelta(seconds=2), b"\x01\x02")))
    assert (result.accepted, result.routed, result.messages) == (1, 1, 1)
    (item,) = northbound.items
    assert item.user_id == BOXED_SUPPLIER and item.kind is OutboundKind.DEVICE_ALERT and item.priority == "alert"
    assert item.code == "8F3E" and item.alert_id == result.alert_ids[0]
    assert item.payload == {"device_id": ESME, "code": "8F3E", "at": (NOW - timedelta(seconds=2)).isoformat(),
                            "gbcs_payload_b64": "AQI="}
    (row,) = _rows(seeded)
    assert (row.id, row.outcome, row.recipients, row.source, row.received_at) == (
        item.alert_id, "routed", 1, "test", NOW)
    assert row.csp_region in ("North", "Central", "South")
    duis_schema().validate(messages.device_alert_from(item.payload, item.user_id, item.message_id))


def test_supply_outage_restored_goes_to_the_network_operator(seeded, settings):
    northbound = RecordingNorthbound()
    run_async(_ingest(_intake(seeded, settings, FixedClock(NOW), northbound), DeviceAlert(ESME, "8F35", NOW)))
    assert [(i.user_id, i.priority) for i in northbound.items] == [(BOXED_NETWORK_OPERATOR, "power_outage")]


def test_an_unknown_device_is_recorded_and_nothing_is_sent(seeded, settings):
    northbound = RecordingNorthbound()
    result = run_async(_ingest(_intake(seeded, settings, FixedClock(NOW), northbound), DeviceAlert(UNKNOWN, "8F3E",
                                                                                                   NOW)))
    assert result.unknown_device == 1 and northbound.items == []
    (row,) = _rows(seeded)
    assert row.outcome == "unknown_device" and "not in the Smart Metering Inventory" in row.detail


def test_routing_uses_the_registration_on_the_day_the_device_raised_it(seeded, settings):
    northbound = RecordingNorthbound()
    before = datetime(2019, 6, 1, tzinfo=UTC)  # the demo registers its MPxNs from 2020-01-01
    result = run_async(_ingest(_intake(seeded, settings, FixedClock(NOW), northbound), DeviceAlert(ESME, "8F3E",
                                                                                                   before)))
    assert result.no_recipient == 1 and northbound.items == []
    assert _rows(seeded)[0].outcome == "no_recipient"


def test_a_gas_meters_alert_goes_to_the_gas_supplier_role(seeded, settings):
    northbound = RecordingNorthbound()
    run_async(_ingest(_intake(seeded, settings, FixedClock(NOW), northbound), DeviceAlert(GSME, "8F3E", NOW),
                      DeviceAlert(GSME, "8F35", NOW)))
    # the exclusion-list 8F35 is handed on first (the priority lane), the throttleable 8F3E after it
    assert [i.user_id for i in northbound.items] == [BOXED_NETWORK_OPERATOR, BOXED_SUPPLIER]


def test_a_hub_alert_goes_to_its_meters_supplier(seeded, settings):
    northbound = RecordingNorthbound()
    run_async(_ingest(_intake(seeded, settings, FixedClock(NOW), northbound), DeviceAlert(CHF, "8F12", NOW)))
    assert [i.user_id for i in northbound.items] == [BOXED_SUPPLIER]


def test_power_notices_go_to_the_outage_tracker_not_the_users(seeded, settings):
    northbound, outage = RecordingNorthbound(), RecordingOutageTracker()
    intake = _intake(seeded, settings, FixedClock(NOW), northbound, outage)
    result = run_async(_ingest(intake, DeviceAlert(CHF, "CHPL", NOW - timedelta(seconds=1)),
                               DeviceAlert(CHF, "CHPR", NOW)))
    assert result.to_outage_tracker == 2 and northbound.items == []
    assert outage.calls == [("lost", CHF, NOW - timedelta(seconds=1)), ("restored", CHF, NOW)]
    assert [r.code for r in _rows(seeded)] == ["CHPL", "CHPR"]
    assert intake.premises(CHF) == (str(BOXED_MPAN), BOXED_NETWORK_OPERATOR)
    assert intake.premises(UNKNOWN) == (None, None)


def test_repeats_are_throttled_and_summarised_when_the_window_closes(seeded, settings):
    clock = FixedClock(NOW)
    northbound = RecordingNorthbound()
    intake = _intake(seeded, settings, clock, northbound)

    async def run():
        await intake.start()
        try:
            first = await intake.ingest([DeviceAlert(ESME, "8F3E", NOW)] * 5, source="test")
            outage = await intake.ingest([DeviceAlert(ESME, "8F35", NOW)] * 10, source="test")  # never throttled
            assert await intake.tick() == 0
            clock.advance(seconds=intake.catalogue.throttle.window_seconds)
            assert await intake.tick() == 1
            return first, outage
        finally:
            await intake.close()

    first, outage = run_async(run())
    assert (first.routed, first.throttled) == (3, 2)
    assert (outage.routed, outage.throttled) == (10, 0)
    rows = _rows(seeded)
    throttled = [r for r in rows if r.outcome == "throttled"]
    assert len(throttled) == 2 and len({r.throttle_sequence_id for r in throttled}) == 1
    with seeded[0]() as session:
        (summary,) = session.scalars(select(AlertThrottleSummary))
    assert (summary.sequence_id, summary.device_id, summary.code, summary.count) == (
        throttled[0].throttle_sequence_id, ESME, "8F3E", 2)
    assert summary.emitted_at == NOW + timedelta(seconds=intake.catalogue.throttle.window_seconds)
    last = northbound.items[-1]
    assert last.payload["throttled_sequence_id"] == summary.sequence_id and last.payload["throttled_count"] == 2
    assert last.user_id == BOXED_SUPPLIER
    duis_schema().validate(messages.device_alert_from(last.payload, last.user_id, last.message_id))


def test_a_restart_summarises_what_was_throttled_and_reuses_no_id(seeded, settings):
    clock = FixedClock(NOW)
    first = _intake(seeded, settings, clock)
    result = run_async(_ingest(first, *[DeviceAlert(ESME, "8F3E", NOW)] * 6))  # closed before its window ended
    assert result.throttled == 3
    northbound = RecordingNorthbound()
    second = _intake(seeded, settings, clock, northbound)
    again = run_async(_ingest(second, DeviceAlert(GSME, "8F3E", NOW)))
    summary = [i for i in northbound.items if "throttled_count" in i.payload]
    assert [i.payload["throttled_count"] for i in summary] == [3]
    assert min(again.alert_ids) > max(result.alert_ids)
    assert len({i.message_id for i in northbound.items}) == len(northbound.items)
    third = RecordingNorthbound()
    run_async(_ingest(_intake(seeded, settings, clock, third)))  # once written, never summarised again
    assert third.items == []


def test_many_concurrent_batches_share_the_writer_and_lose_nothing(seeded, settings):
    import asyncio

    northbound = RecordingNorthbound()
    intake = _intake(seeded, settings, FixedClock(NOW), northbound)

    async def run():
        await intake.start()
        try:
            return await asyncio.gather(*(intake.ingest([DeviceAlert(ESME, "8F35", NOW)] * 50, source="test")
                                          for _ in range(20)))
        finally:
            await intake.close()

    results = run_async(run())
    ids = [i for r in results for i in r.alert_ids]
    assert len(ids) == len(set(ids)) == 1000
    assert len(_rows(seeded)) == 1000 and len(northbound.items) == 1000


# ---------------------------------------------------------------- the catalogue and the simulator as a source


def test_the_packaged_catalogue_has_the_issues_codes(settings):
    from gbsmart.alerts.catalogue import load_catalogue

    catalogue = load_catalogue(settings)
    assert catalogue.get("8F3E").recipients == ("supplier",) and not catalogue.get("8F3E").never_throttle
    assert catalogue.get("8F35").recipients == ("network_operator",) and catalogue.get("8F35").never_throttle
    assert catalogue.get("CHPL").to_outage_tracker and catalogue.get("CHPR").to_outage_tracker
    assert catalogue.get("1234") is catalogue.default
    assert catalogue.throttle.max_alerts == 3 and catalogue.throttle.window_seconds == 3600


@pytest.mark.parametrize(("text", "says"), [
    ('[default]\nname="x"\nrecipients=["everyone"]\npriority="alert"', "default.recipients"),
    ('[default]\nname="x"\nrecipients=["supplier"]\npriority="alert"\n[codes.ZZ]\nname="y"\n'
     'recipients=["supplier"]\npriority="alert"', "codes.ZZ"),
    ('[throttle]\nmax_alerts=0\n[default]\nname="x"\nrecipients=["supplier"]\npriority="alert"', "max_alerts"),
    ('[codes.8F3E]\nname="x"\nrecipients=["supplier"]\npriority="alert"', "[default] is missing"),
    ('[default]\nname="x"\nrecipients=["supplier"]\npriority="alert"\n[codes.CHPL]\nname="y"\n'
     'recipients=["supplier"]\npriority="alert"', 'handler = "outage"'),
    ("[default\n", "not valid TOML"),
])
def test_a_bad_catalogue_is_refused_naming_file_and_field(tmp_path, settings, text, says):
    from gbsmart.alerts.catalogue import CatalogueError, load_catalogue

    path = tmp_path / "catalogue.toml"
    path.write_text(text)
    with pytest.raises(CatalogueError, match=re.escape(says)) as caught:
        load_catalogue(settings.model_copy(update={"alerts_catalogue_file": path}))
    assert str(path) in str(caught.value)


def test_a_catalogue_naming_an_unknown_priority_class_is_refused(settings):
    from gbsmart.alerts.catalogue import CatalogueError, load_catalogue

    with pytest.raises(CatalogueError, match="not a priority class"):
        load_catalogue(settings, classes={"alert", "security"})


def test_the_spurious_generator_raises_its_rates_from_the_regions_devices(seeded, settings):
    from gbsmart.alerts.spurious import PACKAGED_SPURIOUS, Rate, SpuriousAlerts, load_rates
    from gbsmart.smi.enums import CspRegion

    assert {(r.code, r.region.value) for r in load_rates(PACKAGED_SPURIOUS)} == {
        ("8F3E", "Central"), ("8F3E", "South"), ("8F12", "North")}
    northbound = RecordingNorthbound()
    intake = _intake(seeded, settings, FixedClock(NOW), northbound)
    rates = [Rate("8F3E", CspRegion.CENTRAL, 2.5), Rate("8F12", CspRegion.NORTH, 1.0)]  # the demo is all Central
    spurious = SpuriousAlerts(rates, intake, FixedClock(NOW), seed=1)

    async def run():
        await intake.start()
        try:
            spurious.load_pools()
            counts = []
            for _ in range(4):
                batch = spurious.batch(1.0)
                counts.append(len(batch))
                await intake.ingest(batch, source="simulator")
            return counts
        finally:
            await intake.close()

    counts = run_async(run())
    assert counts == [2, 3, 2, 3]  # 2.5 a second on average, the fraction carried
    rows = _rows(seeded)
    assert len(rows) == 10 and {r.code for r in rows} == {"8F3E"} and {r.source for r in rows} == {"simulator"}
    assert {r.csp_region for r in rows} == {"Central"} and {r.outcome for r in rows} <= {"routed", "throttled",
                                                                                          "no_recipient"}


def test_a_bad_spurious_file_is_refused(tmp_path):
    from gbsmart.alerts.spurious import load_rates

    path = tmp_path / "rates.toml"
    path.write_text('[[rates]]\ncode = "8F3E"\nregion = "Midlands"\nper_second = 1\n')
    with pytest.raises(ValueError, match=r"rates\[0\].region"):
        load_rates(path)


def test_a_kill_9_loses_no_alert_whose_ingest_returned(seeded, settings, db_url):
    """A real process ingesting under load, stopped with SIGKILL: every batch it acknowledged is in the table,
    and a new intake on the same database carries on above the highest id written."""
    import os
    import signal
    import subprocess
    import sys
    import time

    if not db_url.startswith("sqlite:///"):
        pytest.skip("the worker process needs a database file")
    worker = subprocess.Popen([sys.executable, "-m", "tests.alerts.intake_worker", db_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": "src"})
    acked: list[tuple[int, int]] = []
    try:
        assert worker.stdout is not None
        deadline = time.monotonic() + 60
        for line in worker.stdout:
            if line.startswith("acked"):
                _, first, last = line.split()
                acked.append((int(first), int(last)))
            if len(acked) >= 40 or time.monotonic() > deadline:
                break
        os.kill(worker.pid, signal.SIGKILL)
        for line in worker.stdout:  # whatever it printed before the kill landed
            if line.startswith("acked"):
                _, first, last = line.split()
                acked.append((int(first), int(last)))
    finally:
        worker.kill()
        worker.wait(30)
    assert worker.returncode == -signal.SIGKILL and len(acked) >= 40, worker.stderr.read() if worker.stderr else ""
    written = {r.id for r in _rows(seeded)}
    missing = [(a, b) for a, b in acked if not set(range(a, b + 1)) <= written]
    assert missing == []
    northbound = RecordingNorthbound()
    again = run_async(_ingest(_intake(seeded, settings, FixedClock(NOW), northbound),
                              DeviceAlert(ESME, "8F35", NOW)))
    assert again.alert_ids[0] > max(written)



def test_priority_alerts_are_written_and_handed_on_ahead_of_queued_storm_alerts(seeded, settings):
    northbound, tracker = RecordingNorthbound(), RecordingOutageTracker()
    intake = _intake(seeded, settings, FixedClock(NOW), northbound, tracker)

    async def go():
        await intake.start()
        try:  # two storm batches queued first, then an exclusion-list alert and a hub's power loss
            return await asyncio.gather(intake.ingest([DeviceAlert(ESME, "8F3E", NOW)], source="storm"),
                                        intake.ingest([DeviceAlert(GSME, "8F3E", NOW)], source="storm"),
                                        intake.ingest([DeviceAlert(ESME, "8F35", NOW), DeviceAlert(CHF, "CHPL", NOW)],
                                                      source="csp"))
        finally:
            await intake.close()

    first, second, urgent = run_async(go())
    assert [i.code for i in northbound.items] == ["8F35", "8F3E", "8F3E"]  # not behind the storm queued before it
    assert tracker.calls == [("lost", CHF, NOW)] and urgent.to_outage_tracker == 1 and urgent.messages == 1
    rows = {r.id: r for r in _rows(seeded)}  # every alert recorded once, ids in the order the batches came
    assert [rows[i].code for i in first.alert_ids + second.alert_ids + urgent.alert_ids] == [
        "8F3E", "8F3E", "8F35", "CHPL"]


def test_back_pressure_refuses_ordinary_alerts_while_full_but_never_priority_ones(seeded, settings):
    settings = settings.model_copy(update={"alerts_intake_max_pending": 2})
    intake = _intake(seeded, settings, FixedClock(NOW))
    storm = [DeviceAlert(ESME, "8F3E", NOW), DeviceAlert(GSME, "8F3E", NOW)]

    async def go():
        await intake.start()
        try:
            assert intake.admits(storm)
            task = asyncio.ensure_future(intake.ingest(storm, source="storm"))
            await asyncio.sleep(0)  # inside the call, waiting for its rows to be written
            during = (intake.pending, intake.admits(storm[:1]), intake.admits([DeviceAlert(CHF, "CHPL", NOW)]),
                      intake.admits([DeviceAlert(ESME, "8F35", NOW)]), intake.admits([*storm[:1],
                                                                                      DeviceAlert(CHF, "CHPL", NOW)]))
            await task
            return during, intake.pending, intake.admits(storm)
        finally:
            await intake.close()

    during, after, admits_after = run_async(go())
    assert during == (2, False, True, True, False)
    assert (after, admits_after) == (0, True)


def test_the_volume_roll_up_counts_every_alert_written_in_the_same_transaction(seeded, settings):
    """The dashboard's per-minute volumes (alerts.rollup) agree with the alerts table, outcome by outcome."""
    from sqlalchemy import func, select

    from gbsmart.models.alerts import Alert, AlertVolumeMinute

    northbound = RecordingNorthbound()
    clock = FixedClock(NOW)
    batch = [DeviceAlert(ESME, "8F3E", NOW)] * 5 + [DeviceAlert(UNKNOWN, "8F12", NOW)] * 2
    run_async(_ingest(_intake(seeded, settings, clock, northbound), *batch))
    sessions, _ = seeded
    with sessions() as session:
        table = {(c, o): int(n) for c, o, n in session.execute(
            select(Alert.code, Alert.outcome, func.count()).group_by(Alert.code, Alert.outcome))}
        rolled = {(c, o): int(n) for c, o, n in session.execute(
            select(AlertVolumeMinute.code, AlertVolumeMinute.outcome, func.sum(AlertVolumeMinute.alerts))
            .group_by(AlertVolumeMinute.code, AlertVolumeMinute.outcome))}
        minutes = set(session.scalars(select(AlertVolumeMinute.minute)))
    assert rolled == table and sum(rolled.values()) == 7
    assert {"throttled", "unknown_device"} <= {o for _, o in rolled}
    assert minutes == {NOW.replace(second=0, microsecond=0)}

"""The power outage rule and its deadlines (issue 11 point 2): time moved on an injectable clock, never slept."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gbsmart.alerts.enums import OutageScope, OutageState, OutboundKind
from gbsmart.alerts.outage import OutageRuleError, OutageTracker, ad1_message_id, load_rule, restoration_message_id
from gbsmart.core.clock import FixedClock, utc
from gbsmart.core.db import make_sessionmaker
from gbsmart.models.alerts import AlertDeadlineBreach, PowerOutage
from gbsmart.models.delivery import GatewayEndpoint
from tests.alerts.northbound_double import RecordingNorthbound
from tests.gateway.aio import run_async

T0 = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)  # on a window boundary
ED = "90-B3-D5-1F-30-01-00-00"


def hub(n: int) -> str:
    return f"00-DB-12-34-56-78-{n >> 8:02X}-{n & 0xFF:02X}"


def mpan(n: int) -> str:
    return f"{1900000000000 + n}"


def premises(comms_hub_id: str) -> tuple[str | None, str | None]:
    n = int(comms_hub_id[-5:].replace("-", ""), 16)
    if n >= 0xF000:
        return None, None                  # not in the SMI
    if n >= 0xE000:
        return mpan(n), None               # no Electricity Distributor registered
    return mpan(n), ED


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


def outages(sessions) -> dict[str, PowerOutage]:
    with sessions() as s:
        return {r.comms_hub_id: r for r in s.scalars(select(PowerOutage))}


def breaches(sessions) -> list[AlertDeadlineBreach]:
    with sessions() as s:
        return list(s.scalars(select(AlertDeadlineBreach).order_by(AlertDeadlineBreach.id)))


def scenario(sessions, settings, body, *, clock: FixedClock | None = None, table: bool = True):
    """Run ``body(tracker, northbound, clock)`` with a started tracker (no background loop) and close it."""
    clock = clock or FixedClock(T0)

    async def main():
        northbound = RecordingNorthbound(sessions if table else None)
        tracker = OutageTracker(sessions, settings, clock, northbound=northbound, premises=premises)
        northbound.on_delivered = tracker.on_delivered
        await tracker.start(background=False)
        try:
            return await body(tracker, northbound, clock)
        finally:
            await tracker.close()
    return run_async(main())


def test_a_loss_restored_inside_the_wait_sends_nothing(sessions, settings):
    async def body(tracker, nb, clock):
        await tracker.power_lost(hub(1), T0)
        clock.advance(seconds=179)
        await tracker.power_restored(hub(1), clock.now())
        clock.advance(seconds=600)
        assert await tracker.run_due() == 0
        return nb.items
    assert scenario(sessions, settings, body) == []
    row = outages(sessions)[hub(1)]
    assert row.state == OutageState.RESTORED_EARLY.value
    assert utc(row.restored_at) == T0 + timedelta(seconds=179)
    assert row.ad1_message_id is None and breaches(sessions) == []


def test_a_loss_not_restored_becomes_an_ad1_to_the_distributor_at_the_end_of_the_wait(sessions, settings):
    async def body(tracker, nb, clock):
        await tracker.power_lost(hub(2), T0 + timedelta(seconds=5))
        clock.set(T0 + timedelta(seconds=184))
        assert await tracker.run_due() == 0 and nb.items == []
        clock.set(T0 + timedelta(seconds=185))
        assert await tracker.run_due() == 1
        await tracker.flush()
        return nb.items
    (item,) = scenario(sessions, settings, body)
    lost = T0 + timedelta(seconds=5)
    assert item.message_id == ad1_message_id(hub(2), lost)
    assert (item.user_id, item.kind, item.code, item.priority) == (ED, OutboundKind.DCC_ALERT, "AD1", "power_outage")
    assert item.deadline_at == lost + timedelta(seconds=240)
    assert item.payload["power_outage"] == {"comms_hub_id": hub(2), "start": "2026-12-04T12:00:05Z",
                                            "mpxn": mpan(2)}
    row = outages(sessions)[hub(2)]
    assert (row.state, row.scope, row.mpxn, row.distributor) == ("reported", "isolated", mpan(2), ED)
    assert utc(row.ad1_due_at) == lost + timedelta(seconds=240) and row.ad1_message_id == item.message_id


def test_a_restoration_after_the_report_goes_to_the_distributor_within_its_deadline(sessions, settings):
    async def body(tracker, nb, clock):
        await tracker.power_lost(hub(3), T0)
        clock.advance(seconds=200)
        await tracker.run_due()
        clock.advance(seconds=100)
        await tracker.power_restored(hub(3), clock.now())
        return nb.items
    ad1, restoration = scenario(sessions, settings, body)
    restored = T0 + timedelta(seconds=300)
    assert restoration.message_id == restoration_message_id(hub(3), T0)
    assert (restoration.kind, restoration.code, restoration.user_id) == (OutboundKind.DEVICE_ALERT, "8F36", ED)
    assert restoration.payload == {"device_id": hub(3), "code": "8F36", "at": "2026-12-04T12:05:00Z"}
    assert restoration.deadline_at == restored + timedelta(seconds=60)
    row = outages(sessions)[hub(3)]
    assert row.state == OutageState.RESTORED.value and utc(row.restoration_due_at) == restored + timedelta(seconds=60)


def test_a_restoration_after_the_wait_but_before_the_ad1_went_sends_the_ad1_first(sessions, settings):
    async def body(tracker, nb, clock):
        await tracker.power_lost(hub(4), T0)
        clock.advance(seconds=181)  # run_due has not run yet
        await tracker.power_restored(hub(4), clock.now())
        return [i.code for i in nb.items]
    assert scenario(sessions, settings, body) == ["AD1", "8F36"]
    assert outages(sessions)[hub(4)].state == "restored"


def test_a_failing_put_leaves_the_outages_due_for_the_next_run(sessions, settings):
    async def body(tracker, nb, clock):
        await tracker.power_lost(hub(40), T0)
        clock.advance(seconds=180)
        real_put = nb.put

        async def refuse(items):
            raise ValueError("unknown priority class 'power_outage'")
        nb.put = refuse
        with pytest.raises(ValueError, match="unknown priority"):
            await tracker.run_due()
        assert tracker.pending()["lost"] == 1
        nb.put = real_put
        assert await tracker.run_due() == 1
        return nb.items
    assert len(scenario(sessions, settings, body)) == 1
    assert outages(sessions)[hub(40)].state == "reported"


def test_repeated_and_unmatched_notices_change_nothing(sessions, settings):
    async def body(tracker, nb, clock):
        await tracker.power_restored(hub(5), T0)           # no loss open
        await tracker.power_lost(hub(5), T0)
        await tracker.power_lost(hub(5), T0 + timedelta(seconds=30))  # the same loss told again
        clock.advance(seconds=400)
        await tracker.run_due()
        return nb.items
    assert len(scenario(sessions, settings, body)) == 1
    assert len(outages(sessions)) == 1


@pytest.mark.parametrize(("hubs", "scope"), [(50, OutageScope.ISOLATED), (51, OutageScope.WIDE_AREA)])
def test_losses_are_counted_in_windows_isolated_up_to_50_hubs(sessions, settings, hubs, scope):
    async def body(tracker, nb, clock):
        await tracker.power_lost_many([(hub(n), T0 + timedelta(seconds=n)) for n in range(hubs)])
        await tracker.power_lost(hub(999), T0 + timedelta(seconds=180))  # the next window: alone
        clock.advance(seconds=400)
        assert await tracker.run_due() == hubs + 1
        await tracker.flush()
    scenario(sessions, settings, body, table=False)
    rows = outages(sessions)
    assert {r.scope for h, r in rows.items() if h != hub(999)} == {scope.value}
    assert rows[hub(999)].scope == OutageScope.ISOLATED.value
    assert utc(rows[hub(999)].window_start) == T0 + timedelta(seconds=180)


def test_a_delivery_in_time_is_recorded_and_is_no_breach(sessions, settings):
    async def body(tracker, nb, clock):
        await tracker.power_lost(hub(6), T0)
        clock.advance(seconds=180)
        await tracker.run_due()
        clock.advance(seconds=2)
        nb.deliver(ad1_message_id(hub(6), T0), clock.now())
        clock.advance(seconds=600)
        await tracker.run_due()
        await tracker.flush()
    scenario(sessions, settings, body)
    assert utc(outages(sessions)[hub(6)].ad1_delivered_at) == T0 + timedelta(seconds=182)
    assert breaches(sessions) == []


def test_a_delivery_the_callback_missed_is_found_by_the_deadline_check(sessions, settings):
    async def body(tracker, nb, clock):
        await tracker.power_lost(hub(7), T0)
        clock.advance(seconds=180)
        await tracker.run_due()
        nb.deliver(ad1_message_id(hub(7), T0), T0 + timedelta(seconds=190), callback=False)
        clock.advance(seconds=61)
        await tracker.run_due()
        await tracker.flush()
    scenario(sessions, settings, body)
    assert utc(outages(sessions)[hub(7)].ad1_delivered_at) == T0 + timedelta(seconds=190)
    assert breaches(sessions) == []


def test_a_late_delivery_the_callback_missed_is_a_breach_with_its_delivery_time(sessions, settings):
    async def body(tracker, nb, clock):
        await tracker.power_lost(hub(12), T0)
        clock.advance(seconds=180)
        await tracker.run_due()
        nb.deliver(ad1_message_id(hub(12), T0), T0 + timedelta(seconds=250), callback=False)
        clock.advance(seconds=120)
        await tracker.run_due()
        await tracker.flush()
    scenario(sessions, settings, body)
    (breach,) = breaches(sessions)
    assert utc(breach.delivered_at) == T0 + timedelta(seconds=250)
    assert f"no endpoint registered for User {ED}" in breach.cause
    assert utc(outages(sessions)[hub(12)].ad1_delivered_at) == T0 + timedelta(seconds=250)


def test_no_delivery_by_the_deadline_is_a_breach_saying_no_endpoint_then_completed_when_delivered(sessions,
                                                                                                   settings):
    async def body(tracker, nb, clock):
        await tracker.power_lost(hub(8), T0)
        clock.advance(seconds=180)
        await tracker.run_due()
        clock.advance(seconds=59)
        await tracker.run_due()
        await tracker.flush()
        assert breaches(sessions) == []
        clock.advance(seconds=2)
        await tracker.run_due()
        await tracker.flush()
        (breach,) = breaches(sessions)
        assert breach.delivered_at is None and breach.what == "AD1 Power Outage Event"
        assert f"no endpoint registered for User {ED}" in breach.cause
        nb.deliver(ad1_message_id(hub(8), T0), T0 + timedelta(seconds=300))
        await tracker.flush()
    scenario(sessions, settings, body)
    (breach,) = breaches(sessions)
    assert utc(breach.delivered_at) == T0 + timedelta(seconds=300)
    assert (breach.subject, breach.user_id, utc(breach.due_at)) == (hub(8), ED, T0 + timedelta(seconds=240))
    assert utc(outages(sessions)[hub(8)].ad1_delivered_at) == T0 + timedelta(seconds=300)


def test_a_late_delivery_to_a_failing_endpoint_is_a_breach_naming_the_errors(sessions, settings):
    with sessions.begin() as s:
        s.add(GatewayEndpoint(user_id=ED, url="http://127.0.0.1:9/dno", updated_at=T0))

    async def body(tracker, nb, clock):
        await tracker.power_lost(hub(9), T0)
        clock.advance(seconds=180)
        await tracker.run_due()
        message_id = ad1_message_id(hub(9), T0)
        nb.fail(message_id, "HTTP 503 from the endpoint", attempts=4)
        clock.advance(seconds=100)
        nb.deliver(message_id, clock.now())  # late: the callback records the breach with its cause
        await tracker.flush()
        for _ in range(20):   # the cause is read from the database in a thread
            if breaches(sessions):
                break
            await tracker.flush()
            await asyncio.sleep(0.05)
    scenario(sessions, settings, body)
    (breach,) = breaches(sessions)
    assert "http://127.0.0.1:9/dno was down or answering errors" in breach.cause
    assert "HTTP 503" in breach.cause and "5 attempt(s)" in breach.cause  # 4 failed, the 5th took it
    assert utc(breach.delivered_at) == T0 + timedelta(seconds=280)


def test_no_distributor_or_no_mpan_is_a_breach_with_that_cause_and_nothing_is_sent(sessions, settings):
    async def body(tracker, nb, clock):
        await tracker.power_lost(hub(0xE001), T0)
        await tracker.power_lost(hub(0xF001), T0)
        clock.advance(seconds=180)
        await tracker.run_due()
        await tracker.flush()
        return nb.items
    assert scenario(sessions, settings, body) == []
    causes = sorted(b.cause for b in breaches(sessions))
    assert causes[0].startswith(f"no Electricity Distributor registered for MPAN {mpan(0xE001)}")
    assert causes[1].startswith(f"no MPAN is known for Communications Hub {hub(0xF001)}")


def test_after_a_restart_pending_outages_resume_and_meet_their_deadline(sessions, settings):
    clock = FixedClock(T0)

    async def before(tracker, nb, clock):
        await tracker.power_lost_many([(hub(n), T0) for n in range(10, 20)])
        clock.advance(seconds=60)
        await tracker.power_restored(hub(10), clock.now())
    scenario(sessions, settings, before, clock=clock)

    async def after(tracker, nb, clock):
        assert tracker.pending() == {"lost": 9, "awaiting_delivery": 0}
        clock.set(T0 + timedelta(seconds=180))
        assert await tracker.run_due() == 9
        return nb.items
    items = scenario(sessions, settings, after, clock=clock)
    assert sorted(i.payload["device_id"] for i in items) == [hub(n) for n in range(11, 20)]
    assert all(i.deadline_at == T0 + timedelta(seconds=240) for i in items)


_CHILD = textwrap.dedent("""
    import asyncio, sys, time
    from datetime import UTC, datetime
    from gbsmart.alerts.outage import OutageTracker
    from gbsmart.config import Settings
    from gbsmart.core.clock import FixedClock
    from gbsmart.core.db import make_engine, make_sessionmaker

    async def main():
        settings = Settings(database_url=sys.argv[1], data_dir=sys.argv[2], secret_key="x" * 32)
        class Nowhere:
            async def put(self, items): raise SystemExit("must not be called")
        t0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
        tracker = OutageTracker(make_sessionmaker(make_engine(sys.argv[1])), settings, FixedClock(t0),
                                northbound=Nowhere(), premises=lambda h: ("1900000000001", "90-B3-D5-1F-30-01-00-00"))
        await tracker.start(background=False)
        await tracker.power_lost_many([(f"00-DB-12-34-56-78-00-{n:02X}", t0) for n in range(200)])
        print("durable", flush=True)
        time.sleep(60)
    asyncio.run(main())
""")


def test_a_kill_9_after_power_lost_returned_loses_no_outage(sessions, settings, db_url, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, db_url, str(tmp_path / "var")], stdout=subprocess.PIPE,
                             env=env, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "durable"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL

    async def after(tracker, nb, clock):
        clock.advance(seconds=180)
        assert await tracker.run_due() == 200
        return nb.items
    items = scenario(sessions, settings, after)
    assert len({i.message_id for i in items}) == 200


def test_the_rule_is_configurable_and_a_bad_file_names_the_field(settings, tmp_path):
    rule = load_rule(settings)
    assert (rule.wait, rule.deadline, rule.window, rule.isolated_max_hubs) == (
        timedelta(minutes=3), timedelta(seconds=60), timedelta(minutes=3), 50)
    path = tmp_path / "outage.toml"
    path.write_text("[power_outage]\nwait_seconds = 60\nisolated_max_hubs = 5\n")
    rule = load_rule(settings.model_copy(update={"alerts_outage_file": path}))
    assert rule.wait == timedelta(seconds=60) and rule.isolated_max_hubs == 5 and rule.deadline.seconds == 60
    path.write_text("[power_outage]\nwait_second = 60\n")
    with pytest.raises(OutageRuleError, match=r"unknown field\(s\) wait_second"):
        load_rule(settings.model_copy(update={"alerts_outage_file": path}))
    path.write_text("[power_outage]\nwait_seconds = -1\n")
    with pytest.raises(OutageRuleError, match="wait_seconds must be a number of seconds above 0"):
        load_rule(settings.model_copy(update={"alerts_outage_file": path}))
    with pytest.raises(OutageRuleError, match="does not exist"):
        load_rule(settings.model_copy(update={"alerts_outage_file": tmp_path / "missing.toml"}))


def test_a_shorter_configured_wait_reports_sooner(sessions, settings, tmp_path):
    path = tmp_path / "outage.toml"
    path.write_text("[power_outage]\nwait_seconds = 30\ndeadline_seconds = 10\n")
    settings = settings.model_copy(update={"alerts_outage_file": path})

    async def body(tracker, nb, clock):
        await tracker.power_lost(hub(30), T0)
        clock.advance(seconds=30)
        await tracker.run_due()
        return nb.items
    (item,) = scenario(sessions, settings, body)
    assert item.deadline_at == T0 + timedelta(seconds=40)

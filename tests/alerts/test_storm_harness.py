"""The alert storm benchmark's own parts (benchmarks/_storm_*.py): the Users' endpoint servers record what they
receive, go down and come back; the analysis computes its figures from a received log alone.

The endpoints are real HTTP servers on loopback, posted to with httpx (what the northbound uses); the bodies are
schema-valid DUIS alert messages signed with a real P-256 key.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _storm_analysis import Outage, duplicates, outage_figures, return_figures, storm_figures  # noqa: E402
from _storm_duis import DCC, DEVICE, GARBAGE, sample_device_alert, sample_power_outage  # noqa: E402
from _storm_endpoints import ERROR, REFUSE, RESET, Endpoint, Fleet, FleetProcess, Received, blast  # noqa: E402

from gbsmart.gateway.fastsig import sign  # noqa: E402

SUPPLIER, ED = "90-B3-D5-1F-31-00-00-01", "90-B3-D5-1F-32-00-00-01"
HUB = "BC-33-AC-00-00-00-00-10"
T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def dcc_key():
    from gateway import make_user  # benchmarks/gateway.py: a P-256 key and a certificate naming the User ID

    return make_user("90-B3-D5-1F-30-01-00-00", 0xA5)


def _post(client: httpx.AsyncClient, url: str, message_id: str, body: bytes):
    return client.post(url, content=body, headers={"content-type": "application/xml",
                                                   "x-duis-response-id": message_id})


def test_an_endpoint_records_each_post_with_its_time_id_and_what_the_duis_says(dcc_key):
    key, cert = dcc_key
    alert = sign(sample_device_alert(SUPPLIER, "BC-33-AC-00-00-00-00-11", "8F3E", T0, 7), key, cert)
    summary = sign(sample_device_alert(SUPPLIER, "BC-33-AC-00-00-00-00-11", "8F12", T0, 8, throttled_count=41),
                   key, cert)
    ad1 = sign(sample_power_outage(ED, HUB, T0, "1012345678901", T0 + timedelta(minutes=3), 9), key, cert)

    async def run() -> tuple[list[Received], list[int]]:
        fleet = Fleet([SUPPLIER, ED], sample_every=1)
        urls = await fleet.start()
        async with httpx.AsyncClient() as client:
            answers = [await _post(client, urls[SUPPLIER], "m1", alert),
                       await _post(client, urls[SUPPLIER], "m2", summary),
                       await _post(client, urls[ED], "m3", ad1), await _post(client, urls[ED], "m4", b"<not-duis")]
        records = fleet.records()
        await fleet.close()
        return records, [a.status_code for a in answers]

    before = datetime.now(UTC).timestamp()
    records, statuses = asyncio.run(run())
    assert statuses == [200, 200, 200, 200]
    by_id = {r.message_id: r for r in records}
    assert set(by_id) == {"m1", "m2", "m3", "m4"}
    assert all(before <= r.at <= datetime.now(UTC).timestamp() for r in records)
    assert (by_id["m1"].user_id, by_id["m1"].kind, by_id["m1"].code, by_id["m1"].valid) == (SUPPLIER, DEVICE, "8F3E",
                                                                                           True)
    assert (by_id["m2"].code, by_id["m2"].throttled_count) == ("8F12", 41)
    outage = by_id["m3"]
    assert (outage.user_id, outage.kind, outage.code, outage.hub, outage.valid) == (ED, DCC, "AD1", HUB, True)
    assert outage.mpxn == "1012345678901"
    assert outage.start == T0.timestamp() and outage.response_at == (T0 + timedelta(minutes=3)).timestamp()
    assert by_id["m4"].kind == GARBAGE and by_id["m4"].valid is False


@pytest.mark.parametrize("mode", [REFUSE, RESET, ERROR])
def test_an_endpoint_goes_down_and_comes_back_on_the_same_url(mode):
    async def run() -> tuple[list[str], list[Received], dict]:
        endpoint = Endpoint(ED)
        await endpoint.start()
        outcomes = []
        async with httpx.AsyncClient() as client:
            async def attempt(message_id: str) -> None:
                try:
                    answer = await _post(client, endpoint.url, message_id, b"<x/>")
                    outcomes.append(str(answer.status_code))
                except httpx.TransportError as exc:
                    outcomes.append(type(exc).__name__)

            await attempt("before")
            await endpoint.go_down(mode)
            await attempt("while-down")
            await endpoint.come_up()
            await attempt("after")
        records = endpoint.records()
        stats = endpoint.stats()
        await endpoint.close()
        return outcomes, records, stats

    outcomes, records, stats = asyncio.run(run())
    assert outcomes[0] == "200" and outcomes[2] == "200"
    if mode == ERROR:
        assert outcomes[1] == "503" and stats["errors_answered"] == 1
    else:
        assert outcomes[1] in ("ConnectError", "RemoteProtocolError", "ReadError"), outcomes
    assert [r.message_id for r in records] == ["before", "after"]  # nothing taken while down
    assert [mode_ for _, mode_ in stats["transitions"]] == [mode, "up"]


def test_the_endpoints_in_a_child_process_go_down_come_back_and_hand_over_their_records(dcc_key):
    key, cert = dcc_key
    body = sign(sample_device_alert(SUPPLIER, "BC-33-AC-00-00-00-00-11", "8F3E", T0, 1), key, cert)
    fleet = FleetProcess([SUPPLIER, ED])
    urls = fleet.start()
    try:
        posts, seconds = asyncio.run(blast(urls[SUPPLIER], body, 0.5, connections=4))
        assert posts > 100 and seconds > 0  # a bare rate: a slow machine still takes hundreds a second
        fleet.go_down(ED, REFUSE)
        with pytest.raises(httpx.ConnectError):
            httpx.post(urls[ED], content=body, headers={"x-duis-response-id": "down"})
        fleet.come_up(ED)
        assert httpx.post(urls[ED], content=body, headers={"x-duis-response-id": "up"}).status_code == 200
        records, stats = fleet.records()
    finally:
        fleet.stop()
    assert sum(1 for r in records if r.user_id == SUPPLIER) == posts
    assert [r.message_id for r in records if r.user_id == ED] == ["up"]
    assert {s["user_id"]: s["posts"] for s in stats} == {SUPPLIER: posts, ED: 1}


def _ad1(at: float, hub: str, *, user: str = ED, message_id: str = "", start: float | None = None,
         mpxn: str = "1010000000001") -> Received:
    return Received(user, at, message_id or f"ad1-{hub}", DCC, "AD1", hub, start, mpxn=mpxn)


def test_the_analysis_computes_the_outage_figures_from_a_received_log_with_a_late_a_lost_and_a_duplicate_ad1():
    lost_at, wait = 1_000.0, 180.0
    mark = lost_at + wait
    hubs = [f"BC-33-AC-00-00-00-01-{k:02X}" for k in range(6)]
    outages = [Outage(h, ED, lost_at, "1010000000001") for h in hubs]
    received = [
        _ad1(mark + 1.0, hubs[0], start=lost_at),
        _ad1(mark + 2.0, hubs[1], start=lost_at),
        _ad1(mark + 2.5, hubs[1], start=lost_at),              # the same message again: a duplicate
        _ad1(mark + 3.0, hubs[2], start=lost_at + 0.2, mpxn="1010000000999"),  # another premises' MPAN
        _ad1(mark + 75.0, hubs[3], start=lost_at),             # late: 75 s after the 3-minute mark
        _ad1(mark + 4.0, hubs[4], user=SUPPLIER, start=lost_at),  # to a User not entitled to it
        # hubs[5]: never received (lost)
        Received(SUPPLIER, mark + 1.5, "storm-1", DEVICE, "8F3E"),
        _ad1(mark + 5.0, "BC-33-AC-00-00-00-09-99", start=lost_at),  # a hub the driver never took off power
    ]
    figures = outage_figures(outages, received, wait_s=wait, deadline_s=60)
    assert figures["ad1_expected"] == 6
    assert figures["ad1_delivered"] == 4  # hubs 0 to 3, at their Electricity Distributor
    assert figures["ad1_within_60s"] == 3
    assert figures["ad1_within_share"] == 0.5
    assert figures["ad1_lost"] == 2  # hub 5 never, hub 4 only at the wrong User
    assert figures["ad1_misrouted"] == 1
    assert figures["ad1_duplicates"] == 1 and figures["ad1_repeated"] == 1
    assert figures["ad1_p50_s"] == pytest.approx(2.5)  # delays 1, 2, 3, 75
    assert figures["ad1_p99_s"] == pytest.approx(75 - 0.03 * (75 - 3), abs=1e-3)  # numpy's linear percentile
    assert figures["ad1_max_s"] == 75.0
    assert figures["ad1_early"] == 0 and figures["ad1_wrong_start"] == 0 and figures["ad1_wrong_mpxn"] == 1
    assert duplicates(received) == 1

    early = outage_figures(outages[:1], [_ad1(mark - 30, hubs[0], start=lost_at + 5)], wait_s=wait, deadline_s=60)
    assert early["ad1_early"] == 1 and early["ad1_within_60s"] == 0 and early["ad1_wrong_start"] == 1


def test_the_analysis_reports_the_order_and_drain_of_the_backlog_after_a_return():
    back = 5_000.0
    received = [
        Received(ED, back - 10, "before", DEVICE, "8F12"),  # before the return: not backlog
        _ad1(back + 0.1, "H1"), _ad1(back + 0.2, "H2"),
        Received(ED, back + 0.3, "s1", DEVICE, "8F12"),
        _ad1(back + 0.4, "H3"),                               # after a lower-priority message: out of order
        Received(ED, back + 0.5, "s2", DEVICE, "8F3E"),       # security after an 8F12: out of order too
        Received(ED, back + 2.0, "s3", DEVICE, "8F12"),
        Received(SUPPLIER, back + 0.2, "other", DEVICE, "8F3E"),  # another User's
    ]
    figures = return_figures(received, ED, back)
    assert figures["return_backlog"] == 6
    assert figures["return_backlog_by_code"] == {"8F12": 2, "8F3E": 1, "AD1": 3}
    assert figures["return_in_priority_order_share"] == round(4 / 6, 4)
    assert figures["return_ad1_first_share"] == round(2 / 3, 4)
    assert figures["return_drain_s"] == 2.0 and figures["return_ad1_drain_s"] == pytest.approx(0.4)

    storm = storm_figures([*received, Received(SUPPLIER, back + 1, "t", DEVICE, "8F3E", throttled_count=99),
                           Received(SUPPLIER, back + 1, "g", GARBAGE)])
    assert storm["storm_device_alerts_received"] == 6
    assert storm["storm_received_by_code"] == {"8F12": 3, "8F3E": 3}
    assert (storm["storm_throttle_summaries"], storm["storm_throttled_alerts_counted"]) == (1, 99)
    assert storm["storm_garbage"] == 1

    nothing = return_figures(received, "90-B3-D5-1F-32-00-00-09", back)  # a User that received nothing after it
    assert nothing["return_backlog"] == 0 and nothing["return_in_priority_order_share"] is None


class RecordingPipelineDouble:
    """TEST DOUBLE of gbsmart's alert pipeline (intake, northbound, outage tracker: issue 11's A1 to A3, built
    at the same time as this harness), just enough to drive the harness end to end: it records every batch,
    sends one device alert in ``keep_every`` to the Supplier (the rest "throttled"), turns each CHPL into an
    AD1 to the hub's Electricity Distributor after ``wait_s``, and delivers each User's messages highest priority
    first, retrying while the endpoint is down."""

    def __init__(self, urls: dict[str, str], premises: dict[str, tuple[str, str]], supplier: str, wait_s: float,
                 keep_every: int = 20) -> None:
        self.urls, self.premises, self.supplier, self.wait_s = urls, premises, supplier, wait_s
        self.keep_every, self.seen, self.batches = keep_every, 0, []
        self.queues: dict[str, asyncio.PriorityQueue] = {u: asyncio.PriorityQueue() for u in urls}
        self.tasks = [asyncio.create_task(self._deliver(u)) for u in urls]
        self.client = httpx.AsyncClient()
        self.counter = 0

    def _put(self, user: str, rank: int, root) -> None:
        self.counter += 1
        message_id = f"double-{self.counter}"
        self.queues[user].put_nowait((rank, self.counter, message_id, etree_bytes(root)))

    async def ingest(self, batch: list[dict]) -> None:
        self.batches.append(len(batch))
        loop = asyncio.get_running_loop()
        for alert in batch:
            if alert["code"] == "CHPL":
                hub, at = alert["device_id"], alert["occurred_at"]
                mpan, ed = self.premises[hub]
                loop.call_later(self.wait_s, lambda h=hub, a=at, m=mpan, e=ed: self._put(
                    e, 0, sample_power_outage(e, h, a, m, datetime.now(UTC), self.counter)))
            else:
                self.seen += 1
                if self.seen % self.keep_every == 0:
                    self._put(self.supplier, 4, sample_device_alert(self.supplier, alert["device_id"], alert["code"],
                                                                    alert["occurred_at"], self.counter))

    async def _deliver(self, user: str) -> None:
        queue = self.queues[user]
        while True:
            rank, seq, message_id, body = await queue.get()
            while True:
                try:
                    answer = await self.client.post(self.urls[user], content=body,
                                                    headers={"x-duis-response-id": message_id})
                    if answer.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.client.aclose()


def etree_bytes(root) -> bytes:
    from lxml import etree

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_the_scenario_phases_drive_a_pipeline_and_the_analysis_reads_the_outcome_off_the_endpoints(tmp_path):
    """The driver's two phases against the test double, through real endpoints in a child process: the storm's
    rate, every CHPL turned into an AD1 counted within the deadline, the Network Operator's return in order."""
    import argparse

    from _storm_dataset import build_dataset, network_user, supplier_user
    from alert_storm import Scenario, analyse

    users = [supplier_user(1), network_user(1), network_user(2)]
    fleet = FleetProcess(users, sample_every=1)
    urls = fleet.start()
    try:
        data = build_dataset(f"sqlite:///{tmp_path / 's.db'}", 50, regions=2, suppliers=1, urls=urls)
        args = argparse.Namespace(rate=400.0, outage_at=0.3, wait_seconds=0.5, down_seconds=1.5, seconds=1.5,
                                  grace=1.0)
        scenario = Scenario(args, tmp_path)

        async def run() -> dict:
            double = RecordingPipelineDouble(urls, data.premises(), supplier_user(1), args.wait_seconds)
            devices = {"8F3E": data.meter_ids, "8F12": data.all_hubs()}
            mix = {"8F3E": 0.7, "8F12": 0.3}
            started = time.time()
            one, lost1, _ = await scenario.phase(double, devices, mix, data.hub_ids[0], storm_until=started + 1.5)
            await asyncio.sleep(1.0)
            two, lost2, back = await scenario.phase(double, devices, mix, data.hub_ids[1], storm_until=0,
                                                    fleet=fleet, down_user=network_user(2))
            await asyncio.to_thread(scenario.wait_until, fleet, 100, back + 5, 0.5)
            await double.close()
            taken.extend(double.batches)
            return {"phase1": one, "lost1": lost1, "phase2": two, "lost2": lost2, "returned": back,
                    "started": started, "ended": time.time(), "cpu": 1.0}

        taken: list[int] = []
        outcome = asyncio.run(run())
        received, _ = fleet.records()
    finally:
        fleet.stop()
    figures = analyse(args, data, outcome, received, {"endpoint_ceiling_posts_per_s": 1000,
                                                      "ecdsa_sign_per_core": 10_000, "cores": 2})
    # every alert the driver counts reached the pipeline (the storm's, then each hub's CHPL), never above the rate
    assert sum(taken) == figures["storm_alerts_sent"] + 100
    assert 0 < figures["storm_alerts_per_s"] <= 410
    assert figures["ad1_expected"] == figures["ad1_delivered"] == figures["ad1_within_60s"] == 50
    assert figures["lost"] == figures["duplicates"] == figures["ad1_early"] == 0
    assert figures["ad1_wrong_start"] == figures["ad1_wrong_mpxn"] == figures["ad1_misrouted"] == 0
    assert 0 <= figures["ad1_p50_s"] <= figures["ad1_p99_s"] < 5
    assert figures["down_ad1_expected"] == figures["down_ad1_delivered"] == 50
    assert figures["down_return_backlog_by_code"] == {"AD1": 50}  # made while it was down, delivered on return
    assert figures["down_return_in_priority_order_share"] == 1.0
    assert figures["storm_device_alerts_received"] > 0 and figures["storm_schema_invalid"] == 0


RESULT_KEYS = ("storm_alerts_per_s", "ad1_expected", "ad1_delivered", "ad1_within_60s", "ad1_p50_s", "ad1_p99_s",
               "lost", "duplicates")


def test_the_benchmark_runs_from_one_command_or_says_the_pipeline_is_missing(tmp_path):
    """``alert_storm.py --sink in-process``: while issue 11's pipeline is not importable it stops with exit code 2
    and says so (after its ceilings); once it is, the quick run prints its table and one RESULT line."""
    import importlib.util
    import json
    import subprocess

    root = Path(__file__).resolve().parents[2]
    present = importlib.util.find_spec("gbsmart.alerts.intake") is not None
    run = subprocess.run([sys.executable, str(root / "benchmarks" / "alert_storm.py"), "--quick", "--sink",
                          "in-process", "--hubs", "50", "--rate", "100", "--seconds", "3", "--outage-at", "1",
                          "--wait-seconds", "2", "--down-seconds", "4", "--grace", "2", "--collect-seconds", "5",
                          "--openssl-seconds", "1",
                          "--dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert not list(tmp_path.glob("alert-storm-*")), "the benchmark left its work directory behind"
    if not present:
        assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
        assert "The alert storm cannot run" in run.stdout and "not on this branch yet" in run.stdout
        return
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1
    figures = json.loads(lines[0][len("RESULT "):])
    for key in RESULT_KEYS:
        assert isinstance(figures[key], int | float), key
    assert figures["ad1_expected"] == 50 and figures["wait_shortened"] is True

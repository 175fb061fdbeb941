"""The device simulator's profiles, latency and outcomes, and the delivery worker in-process on a real database
with a real HTTP endpoint (both databases): kept before POSTed, retried with back-off, fair between Users."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from gbsmart.config import Settings
from gbsmart.core.clock import SystemClock
from gbsmart.core.db import make_sessionmaker
from gbsmart.gateway.fastsig import sign
from gbsmart.gateway.keystore import Keystore
from gbsmart.gateway.signatures import verify_request
from gbsmart.gateway.store import make_test_signer
from gbsmart.gateway.xml import SUG_NS, parse_xml
from gbsmart.models.delivery import GatewayEndpoint, GatewayResponse
from gbsmart.simulator.delivery import Delivery
from gbsmart.simulator.devices import DeviceSimulator
from gbsmart.simulator.profiles import Profile, ProfileError, Profiles
from gbsmart.smi.enums import CspRegion, DeviceType
from gbsmart.smi.lookup import StatusIndex
from tests.gateway.aio import run_async
from tests.gateway.conftest import DEVICE, SUPPLIER, request_xml, signed
from tests.gateway.endpoint import Endpoint, free_port

DCC = "90-B3-D5-1F-30-00-00-02"
OTHER = "90-B3-D5-1F-30-07-00-00"


def test_the_most_specific_profile_wins_and_bad_profiles_say_what_to_fix(tmp_path):
    profiles = Profiles.from_data({
        "default": {"latency_seconds": 0.2, "failure_rate": 0.0},
        "profile": [{"device_type": "GSME", "latency_seconds": 2.0},
                    {"region": "North", "failure_rate": 0.5},
                    {"device_type": "gsme", "region": "north", "failure_rate": 1.0, "failure_codes": ["E21"]}]})
    assert profiles.for_device(DeviceType.ESME, CspRegion.SOUTH) == Profile(0.2, 0.25, 0.0)
    assert profiles.for_device(DeviceType.GSME, CspRegion.SOUTH).latency_seconds == 2.0
    assert profiles.for_device(DeviceType.ESME, CspRegion.NORTH).failure_rate == 0.5
    both = profiles.for_device(DeviceType.GSME, CspRegion.NORTH)
    assert (both.latency_seconds, both.failure_rate, both.failure_codes) == (0.2, 1.0, ("E21",))
    assert profiles.uses_regions
    for bad, message in (({"profile": [{"device_type": "TOASTER"}]}, "not one of ESME"),
                         ({"profile": [{"latency_seconds": 1}]}, "names neither a device_type nor a region"),
                         ({"default": {"failure_rate": 2}}, "a share from 0 to 1"),
                         ({"default": {"latency": 1}}, "unknown field(s) latency"),
                         ({"default": {"failure_codes": ["E99"]}}, "failure_codes must be")):
        with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace(")", r"\)")):
            Profiles.from_data(bad)
    path = tmp_path / "profiles.toml"
    path.write_text('[default]\nlatency_seconds = 0.1\n[[profile]]\ndevice_type = "ESME"\nfailure_rate = 1\n')
    loaded = Profiles.from_settings(Settings(simulator_profiles=path, simulator_failure_rate=0.0))
    assert loaded.for_device(DeviceType.ESME, None).failure_rate == 1.0
    assert loaded.for_device(DeviceType.CHF, None) == Profile(0.1, 0.25, 0.0)
    with pytest.raises(ProfileError, match="does not exist"):
        Profiles.from_settings(Settings(simulator_profiles=tmp_path / "missing.toml"))


def test_latencies_and_failures_follow_the_profile_and_a_seed_repeats_them():
    profile = Profile(latency_seconds=0.5, jitter_seconds=0.2, failure_rate=0.1)
    rng = random.Random(7)
    latencies = [profile.latency(rng) for _ in range(5000)]
    assert min(latencies) >= 0.3 and max(latencies) <= 0.7 and abs(sum(latencies) / 5000 - 0.5) < 0.01
    outcomes = [profile.outcome(rng) for _ in range(20000)]
    failures = [o for o in outcomes if o != "I0"]
    assert 0.09 < len(failures) / 20000 < 0.11 and set(failures) == {"E20", "E21"}
    assert [profile.outcome(random.Random(3)) for _ in range(3)] == [profile.outcome(random.Random(3))] * 3
    assert all(Profile(failure_rate=1.0, failure_codes=("E20",)).outcome(rng) == "E20" for _ in range(100))
    assert Profile(latency_seconds=0.1, jitter_seconds=5).latency(random.Random(1)) >= 0.0


def _request(codec, organisations, counter: int, originator: str = SUPPLIER):
    data = request_xml(request_id=f"{originator}:{DEVICE}:{counter}")
    return codec.parse(signed(data, organisations[originator]) if originator in organisations else data)


def test_the_simulator_answers_each_request_after_its_latency_in_due_order(codec, organisations):
    """Requests are completed when their device answers, not in the order they came (no thread per request)."""
    async def scenario() -> list[tuple[int, str, float]]:
        done: list[tuple[int, str, float]] = []
        loop = asyncio.get_running_loop()
        began = loop.time()

        async def complete(request, log_seq, code, explanation):
            done.append((log_seq, code, loop.time() - began))

        profiles = Profiles(Profile(0.3, 0.0, 0.0), {(DeviceType.ESME, None): Profile(0.05, 0.0, 1.0, ("E20",))})
        kinds = iter([None, DeviceType.ESME])
        simulator = DeviceSimulator(profiles, StatusIndex, complete, clock=SystemClock(), seed=1, max_pending=10)
        simulator.device = lambda _id: (next(kinds), None)  # type: ignore[method-assign]
        simulator.start()
        now = datetime.now(UTC)
        await simulator.submit(_request(codec, organisations, 1), log_seq=1, received_at=now)  # default: 0.3 s
        await simulator.submit(_request(codec, organisations, 2), log_seq=2, received_at=now)  # ESME: 0.05 s
        while len(done) < 2:
            await asyncio.sleep(0.01)
        await simulator.close()
        return done

    (first, code1, t1), (second, code2, t2) = run_async(scenario())
    assert (first, code1, second, code2) == (2, "E20", 1, "I0")
    assert 0.04 < t1 < 0.25 and 0.28 < t2 < 0.6


# ---------------------------------------------------------------- delivery, in-process, on both databases


def _delivery(engine, settings: Settings, endpoints: dict[str, str]) -> tuple[Delivery, SimpleNamespace]:
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        for user, url in endpoints.items():
            session.add(GatewayEndpoint(user_id=user, url=url, updated_at=datetime.now(UTC)))
    key, cert = make_test_signer(DCC, datetime.now(UTC))
    return Delivery(sessions, settings, lambda root: sign(root, key, cert), None, SystemClock()), \
        SimpleNamespace(key=key, certificate=cert, sessions=sessions)


def _rows(sessions) -> list[GatewayResponse]:
    with sessions() as session:
        return list(session.scalars(select(GatewayResponse).order_by(GatewayResponse.counter)))


def test_a_response_is_kept_then_posted_signed_and_retried_with_back_off_until_taken(engine, codec,
                                                                                     organisations):
    endpoint = Endpoint(port=free_port())  # not listening yet: the User's endpoint is down
    settings = Settings(delivery_retry_base_seconds=0.1, delivery_retry_max_seconds=0.4,
                        gateway_refresh_seconds=60)
    delivery, dcc = _delivery(engine, settings, {SUPPLIER: endpoint.url})

    async def scenario() -> None:
        await delivery.start()
        await delivery.complete(_request(codec, organisations, 41), 7, "I0")
        for _ in range(200):  # connection refused, retried: 0.1, 0.2, 0.4, 0.4 ... s apart
            await asyncio.sleep(0.05)
            if delivery.failed_attempts >= 4:
                break
        await delivery.flush()
        [row] = _rows(dcc.sessions)
        assert row.delivered_at is None and row.attempts >= 4 and "could not be reached" in row.last_error
        assert row.next_attempt_at is not None
        endpoint.start()
        await asyncio.to_thread(endpoint.wait_for, 1, 5)
        await asyncio.sleep(0.1)
        await delivery.close()

    try:
        run_async(scenario())
    finally:
        endpoint.stop()
    [got] = endpoint.received
    [row] = _rows(dcc.sessions)
    assert row.delivered_at is not None and row.body == got.body and row.last_error == ""
    assert (row.log_seq, row.code, row.response_id) == (7, "I0", f"{DEVICE}:{SUPPLIER}:41")
    assert got.content_type == "application/xml" and got.response_id == row.response_id
    root = parse_xml(got.body)
    assert root.findtext(f"{{{SUG_NS}}}Header/{{{SUG_NS}}}ResponseCode") == "I0"
    assert root.findtext(f"{{{SUG_NS}}}Header/{{{SUG_NS}}}RequestID") == f"{SUPPLIER}:{DEVICE}:41"
    keystore = Keystore()
    keystore.add(DCC, dcc.certificate)
    assert verify_request(SimpleNamespace(root=root, originator=DCC), keystore).user_id == DCC  # type: ignore
    tampered = parse_xml(got.body.replace(b">I0<", b">E20<"))
    with pytest.raises(Exception, match="does not match"):
        verify_request(SimpleNamespace(root=tampered, originator=DCC), keystore)  # type: ignore[arg-type]


def test_users_are_served_round_robin_and_a_user_without_an_endpoint_is_kept(engine, codec, organisations):
    """No endpoints at first: every response is kept. Then, one POST at a time, the second User's one response
    goes first or second, not after all five of the first User's; a third User without an endpoint waits."""
    endpoint = Endpoint().start()
    settings = Settings(delivery_concurrency=1, gateway_refresh_seconds=60)
    delivery, dcc = _delivery(engine, settings, {})
    third = "90-B3-D5-1F-30-08-00-00"

    async def scenario() -> None:
        await delivery.start()
        for counter in range(1, 6):
            await delivery.complete(_request(codec, organisations, counter), counter, "I0")
        await delivery.complete(_request(codec, organisations, 100, OTHER), 6, "E21")
        await delivery.complete(_request(codec, organisations, 200, third), 7, "I0")
        for _ in range(200):
            await delivery.flush()
            if sum("no response endpoint is registered" in r.last_error for r in _rows(dcc.sessions)) == 7:
                break
            await asyncio.sleep(0.05)
        assert delivery.kept == 7 and endpoint.received == []
        delivery.set_endpoints({SUPPLIER: endpoint.url, OTHER: endpoint.url})
        await asyncio.to_thread(endpoint.wait_for, 6, 10)
        await delivery.flush()
        assert delivery.kept == 1
        delivery.set_endpoints({SUPPLIER: endpoint.url, OTHER: endpoint.url, third: endpoint.url})
        await asyncio.to_thread(endpoint.wait_for, 7, 10)
        await asyncio.sleep(0.1)
        await delivery.close()

    try:
        run_async(scenario())
    finally:
        endpoint.stop()
    order = [r.response_id.split(":")[1] for r in endpoint.received]
    assert order[:6].index(OTHER) == 1, order  # round-robin: next after the first User's first, not its fifth
    assert order[6] == third and len(set(r.response_id for r in endpoint.received)) == 7
    rows = _rows(dcc.sessions)
    assert all(r.delivered_at is not None and r.last_error == "" for r in rows)
    assert [r.code for r in rows if r.originator == OTHER] == ["E21"]


# ---------------------------------------------------------------- recovery's queries, on both databases


def test_recovery_finds_logged_requests_without_a_response_and_journal_rows_that_lag(engine, codec, organisations,
                                                                                     tmp_path):
    from gbsmart.gateway.log import RequestLog
    from gbsmart.models.gateway import GatewayMessage
    from gbsmart.simulator.recovery import journal_entry, unfinished

    sessions = make_sessionmaker(engine)
    at = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    bodies = {c: signed(request_xml(request_id=f"{SUPPLIER}:{DEVICE}:{c}"), organisations[SUPPLIER])
              for c in (1, 2, 3, 4)}

    async def logged() -> RequestLog:
        log = await RequestLog.open(tmp_path / "requests.log")
        for counter, body in bodies.items():
            await log.append(originator=SUPPLIER, counter=counter, service="serviceS", received_at=at, body=body)
        await log.append(originator=SUPPLIER, counter=5, service="serviceD", received_at=at, body=bodies[1])
        await log.close()
        return log

    log = run_async(logged())
    with sessions() as session, session.begin():
        for counter in (1, 2, 3):  # 4 never reached the journal
            session.add(GatewayMessage(**_entry(counter, at)))
        session.add(GatewayResponse(request_id=f"{SUPPLIER}:{DEVICE}:1", response_id=f"{DEVICE}:{SUPPLIER}:1",
                                    originator=SUPPLIER, counter=1, log_seq=1, code="I0", body=b"<x/>",
                                    completed_at=at, attempts=0, last_error="", delivered_at=at))
    to_complete, unjournalled, repairs = unfinished(sessions, log, codec)
    assert [(u.record.counter, u.journalled) for u in to_complete] == [(2, True), (3, True), (4, False)]
    assert unjournalled == []
    assert [(r.counter, r.values["state"].value) for r in repairs] == [(1, "delivered")]
    # a Non-Device record is completed only when its SRV is a firmware payload's (here 4.1.1 stands in for 11.1)
    with_firmware, _, _ = unfinished(sessions, log, codec, firmware_srvs=frozenset({"4.1.1"}))
    assert [(u.record.counter, u.record.service) for u in with_firmware][-1] == (5, "serviceD")
    rebuilt = journal_entry(Settings(), to_complete[-1])
    assert (rebuilt.state, rebuilt.code, rebuilt.log_seq, rebuilt.trt_class) == ("acknowledged", "I99", 4,
                                                                                 "on_demand")


def _entry(counter: int, at: datetime) -> dict:
    return {"request_id": f"{SUPPLIER}:{DEVICE}:{counter}", "originator": SUPPLIER, "target": DEVICE,
            "counter": counter, "srv": "4.1.1", "command_variant": 1, "service": "serviceS",
            "state": "acknowledged", "code": "I99", "explanation": "", "received_at": at, "log_seq": counter}

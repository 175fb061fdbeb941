"""The northbound cache in the real `gbsmart gateway serve` process, really stopped: SIGTERM (a planned restart,
DCC maintenance) and `kill -9` under load lose no accepted message; a User endpoint down for a while gets its
backlog highest class first when it returns, while a bad endpoint (answering errors) holds back no other User.

The load is real signed Send Command requests: each accepted one (I99) owes its User a Service Response, which
goes out through the Northbound. The backlog test puts rows in ``northbound_messages`` while the gateway is
stopped, as the alert intake and outage tracker would have committed them."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert, select

from gbsmart.core.db import make_engine, make_sessionmaker
from gbsmart.models.alerts import NorthboundMessage
from gbsmart.models.delivery import GatewayResponse
from tests.alerts.users import UserEndpoint
from tests.gateway.endpoint import Endpoint, free_port
from tests.gateway.test_delivery import ESME, USERS, _gateway, _request, _send, _set_endpoint, _user_key, _wait
from tests.gateway.test_server import _stop
from tests.plugins.nats import engine_params

TRAFFIC = '''classes = ["power_outage", "security", "prepayment", "on_demand", "alert", "future_dated", "bulk"]
[capacity]
messages_per_second = 500
in_flight = 1
'''


@pytest.fixture(scope="module")
def keys():
    """A signing key and certificate per test User (the DCC trusts them: `_gateway` saves the certificates)."""
    return {user: _user_key(user, 0x7000 + i) for i, user in enumerate(USERS.values())}


def _responses(gateway, user: str) -> list[GatewayResponse]:
    engine = make_engine(gateway.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.scalars(select(GatewayResponse).where(GatewayResponse.originator == user)))
    finally:
        engine.dispose()


def _engine_settings(request: pytest.FixtureRequest, engine: str) -> dict[str, str]:
    """The gateway's settings for ``engine``: on jetstream, a stream of this test's own on the session's server."""
    if engine != "jetstream":
        return {}
    server = request.getfixturevalue("nats_server")
    stream, prefix = server.new_stream()
    return {"GBSMART_MESSAGE_ENGINE": "jetstream", "GBSMART_NATS_URLS": server.url, "GBSMART_NATS_STREAM": stream,
            "GBSMART_NATS_SUBJECT_PREFIX": prefix}


@pytest.mark.parametrize("engine", engine_params())
def test_sigterm_and_kill_9_under_load_lose_no_accepted_message(keys, tmp_path_factory, request, engine) -> None:
    """On both request-log engines: on jetstream each Send Command also goes through the device-work stream, whose
    unacknowledged items are given again after the kill (and dropped where recovery already gave them)."""
    gateway = _gateway(tmp_path_factory.mktemp("northbound-kill"), keys, **_engine_settings(request, engine))
    user = USERS["killed"]
    port = free_port()
    endpoint = Endpoint(port=port)
    accepted: list[int] = []
    in_doubt: list[int] = []
    try:
        # the User's endpoint is down: the responses wait in the northbound cache
        _set_endpoint(gateway, user, f"http://127.0.0.1:{port}/duis/responses")
        for counter in range(1, 21):
            assert _send(gateway, _request(keys, user, counter)) == "I99"
            accepted.append(counter)
        # planned restart (DCC maintenance): SIGTERM, then start
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after its shutdown
        gateway.start()

        # the endpoint comes back; requests stream in; kill -9 in the middle of it
        endpoint.start()
        stop = threading.Event()

        def load() -> None:
            counter = 21
            while not stop.is_set():
                try:
                    code = _send(gateway, _request(keys, user, counter))
                except (httpx.HTTPError, AssertionError):
                    # the gateway is gone: this request may have been accepted (made durable) just before, its
                    # answer cut off by the kill; it may be delivered or not, and nothing after it was sent
                    in_doubt.append(counter)
                    return
                if code == "I99":
                    accepted.append(counter)
                counter += 1

        sender = threading.Thread(target=load)
        sender.start()
        _wait("deliveries under way", lambda: len(endpoint.received) >= 30 and len(accepted) >= 60, timeout=60)
        os.kill(gateway.process.pid, signal.SIGKILL)
        gateway.process.wait(10)
        stop.set()
        sender.join(30)
        assert gateway.process.returncode == -signal.SIGKILL

        gateway.start()
        expected = {f"{ESME}:{user}:{c}" for c in accepted}
        _wait("every accepted request's response delivered",
              lambda: expected <= {r.response_id for r in endpoint.received}, timeout=60)
        time.sleep(1.0)
        received = Counter(r.response_id for r in endpoint.received)
        duplicates = sum(n - 1 for n in received.values())
        print(f"\nNORTHBOUND kill -9: {len(expected)} accepted, {len(received)} delivered, {duplicates} duplicates")
        # nothing lost; nothing that was not accepted, but for the one request whose answer the kill cut off
        assert expected <= set(received)
        assert set(received) - expected <= {f"{ESME}:{user}:{c}" for c in in_doubt}
        bodies: dict[str, set[bytes]] = {}
        for r in endpoint.received:
            bodies.setdefault(r.response_id, set()).add(r.body)
        assert all(len(b) == 1 for b in bodies.values())  # a duplicate is the same response, never another
        assert _wait("delivered_at recorded", lambda: all(
            r.delivered_at is not None for r in _responses(gateway, user)) and len(_responses(gateway, user)) == len(
            set(received)), timeout=30)
    finally:
        endpoint.stop()
        _stop(gateway.process)


def test_a_returning_endpoint_gets_its_backlog_highest_class_first(keys, tmp_path_factory) -> None:
    tmp = tmp_path_factory.mktemp("northbound-backlog")
    (tmp / "traffic.toml").write_text(TRAFFIC)
    gateway = _gateway(tmp, keys, GBSMART_ALERTS_TRAFFIC_FILE=str(tmp / "traffic.toml"))
    good_user, bad_user = USERS["down"], USERS["fails"]
    port = free_port()
    good, bad = UserEndpoint(port=port), UserEndpoint(mode="error").start()
    classes = ("bulk", "alert", "prepayment", "power_outage", "on_demand", "security")
    now = datetime.now(UTC)
    try:
        _set_endpoint(gateway, good_user, good.url)
        _set_endpoint(gateway, bad_user, bad.url)
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after its shutdown
        engine = make_engine(gateway.database_url)
        with make_sessionmaker(engine)() as session, session.begin():
            session.execute(insert(NorthboundMessage), [
                {"message_id": f"{user[-2:]}-{i}-{classes[i % 6]}", "user_id": user, "kind": "device_alert",
                 "priority": classes[i % 6] if user == good_user else "power_outage", "code": "8F3E",
                 "payload": "{}", "body": f"<alert n='{i}'/>".encode(), "created_at": now + timedelta(seconds=i),
                 "expires_at": now + timedelta(days=2), "attempts": 0, "last_error": ""}
                for user in (bad_user, good_user) for i in range(36)])
        engine.dispose()
        gateway.start()  # the good User's endpoint is still down: refused, backed off, probed
        _wait("the erroring endpoint tried", lambda: bad.attempts >= 1, timeout=30)
        time.sleep(0.5)
        assert good.got == []
        good.start()
        got = good.wait_for(36, timeout=60)
        order = [classes.index(g.message_id.split("-")[-1]) for g in got]
        ranks = [("power_outage", "security", "prepayment", "on_demand", "alert", "bulk").index(classes[o])
                 for o in order]
        assert ranks == sorted(ranks), ranks  # highest class first (in_flight 1: strictly in order)
        assert Counter(ranks) == Counter({r: 6 for r in range(6)})
        assert bad.got == []  # the erroring User's 36 power_outage messages held none of these back
    finally:
        good.stop()
        bad.stop()
        _stop(gateway.process)

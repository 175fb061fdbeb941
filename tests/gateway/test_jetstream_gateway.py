"""Stateless gateway processes on one JetStream request log (issue 12, points 1-3), as real processes.

Two `gbsmart gateway serve` processes with GBSMART_MESSAGE_ENGINE=jetstream, on their own ports, share the session's
throwaway `nats-server -js` (a stream of the test's own) and one database. Signed requests go over real HTTP to
either. A replay is refused whichever process gets it, a counter sent to both at once is accepted by one, a
`kill -9` of one process under load loses nothing acknowledged and the other keeps serving, and the Send Commands
either process acknowledges are completed once by the one process that runs the device simulator.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from gbsmart.config import Settings
from gbsmart.gateway.jetstream import JetStreamLog
from gbsmart.gateway.matrix import WebService
from gbsmart.gateway.store import dcc_signer, save_certificates
from tests.gateway.aio import run_async
from tests.gateway.test_server import LOAD_USER, _code, _free_port, _load_request, _load_user, _seed

ROOT = Path(__file__).resolve().parents[2]
XML = {"content-type": "application/xml"}


class Fleet:
    """Gateway processes on one JetStream stream and one SQLite database; ``processes[i]`` serves ``urls[i]``."""

    def __init__(self, tmp: Path, nats: Any, count: int = 2, *, background: tuple[bool, ...] = (True, False),
                 database_url: str | None = None, **env: str) -> None:
        url = database_url or f"sqlite:///{tmp / 'gateway.db'}"
        _seed(url)
        self.database_url = url
        self.user = _load_user()
        self.data_dir = tmp / "var"
        settings = Settings(data_dir=self.data_dir)
        save_certificates(settings, LOAD_USER, self.user.certificate.public_bytes(encoding=Encoding.PEM))
        dcc_signer(settings)  # the DCC's key made once, before two processes start together
        self.stream, self.prefix = nats.new_stream()
        self.nats_url = nats.url
        self.env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GBSMART_DATABASE_URL": url,
                    "GBSMART_DATA_DIR": str(self.data_dir), "GBSMART_GATEWAY_REFRESH_SECONDS": "0.5",
                    "GBSMART_MESSAGE_ENGINE": "jetstream", "GBSMART_NATS_URLS": nats.url,
                    "GBSMART_NATS_STREAM": self.stream, "GBSMART_NATS_SUBJECT_PREFIX": self.prefix,
                    "GBSMART_SIMULATOR_ENABLED": "false", **env}
        self.ports = [_free_port() for _ in range(count)]
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.background = background
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * count
        self.errors = [""] * count
        self.logs = [tmp / f"gateway-{n}.log" for n in range(count)]

    def start(self, i: int | None = None) -> None:
        for n in range(len(self.ports)) if i is None else [i]:
            env = {**self.env, "GBSMART_GATEWAY_BACKGROUND": "true" if self.background[n] else "false"}
            with open(self.logs[n], "ab") as err:  # a file, not a pipe: nothing blocks when nobody reads it
                self.processes[n] = subprocess.Popen(
                    [sys.executable, "-m", "gbsmart.cli", "gateway", "serve", "--port", str(self.ports[n])],
                    env=env, stdout=subprocess.DEVNULL, stderr=err)
        for n in range(len(self.ports)) if i is None else [i]:
            self._wait(n)

    def _wait(self, n: int) -> None:
        process = self.processes[n]
        assert process is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"gateway {n} exited: {self.logs[n].read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.urls[n]}/", timeout=1).status_code == 404:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        process.kill()
        raise AssertionError(f"gateway {n} did not start within 60 s")

    def post(self, n: int, body: bytes) -> httpx.Response:
        return httpx.post(f"{self.urls[n]}{WebService.SEND_COMMAND.path}", content=body, headers=XML, timeout=30)

    def stop(self, n: int | None = None) -> list[int]:
        """SIGTERM, then each one's exit status: 0 for a clean stop (uvicorn ends by re-raising the SIGTERM it
        handled, so -15 after a graceful shutdown with no traceback counts as 0)."""
        codes = []
        for i in range(len(self.ports)) if n is None else [n]:
            process = self.processes[i]
            if process is None:
                continue
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(40)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.errors[i] = self.logs[i].read_text()
            clean = process.returncode in (0, -signal.SIGTERM) and "Traceback" not in self.errors[i]
            codes.append(0 if clean else process.returncode or 1)
        return codes

    def kill_all(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()

    def logged(self) -> list[tuple[str, int]]:
        async def read() -> list[tuple[str, int]]:
            log = await JetStreamLog.open(self.nats_url, stream=self.stream, prefix=self.prefix)
            try:
                return [(r.originator, r.counter) async for r in log.records_from(1)]
            finally:
                await log.close()

        return run_async(read())


@pytest.fixture
def fleet(tmp_path, nats_server):
    running = Fleet(tmp_path, nats_server)
    running.start()
    yield running
    running.kill_all()


def test_either_process_refuses_the_others_replay_and_accepts_the_next_counter(fleet):
    body = _load_request(fleet.user, 500)
    assert _code(fleet.post(0, body)) == "I99"
    again = fleet.post(1, body)  # the other process has never seen this originator
    assert again.status_code == 409 and "not greater than 500" in again.text, again.text
    assert _code(fleet.post(1, _load_request(fleet.user, 501))) == "I99"
    for n in (0, 1):
        assert fleet.post(n, _load_request(fleet.user, 499)).status_code == 409  # decreasing, at either
    assert fleet.stop() == [0, 0], [e[-2000:] for e in fleet.errors]
    assert fleet.logged() == [(LOAD_USER, 500), (LOAD_USER, 501)]


async def _both_at_once(fleet: Fleet, bodies: dict[int, bytes]) -> dict[int, list[int]]:
    """Each body sent to both processes at the same moment; for each counter, the HTTP status from each."""
    async with httpx.AsyncClient(timeout=30) as a, httpx.AsyncClient(timeout=30) as b:
        statuses: dict[int, list[int]] = {}
        for counter, body in sorted(bodies.items()):
            answers = await asyncio.gather(
                a.post(f"{fleet.urls[0]}/api/v1/serviceS", content=body, headers=XML),
                b.post(f"{fleet.urls[1]}/api/v1/serviceS", content=body, headers=XML))
            statuses[counter] = [r.status_code if r.status_code != 200 or _code(r) == "I99" else -1 for r in answers]
        return statuses


def test_one_request_sent_to_both_processes_at_once_is_accepted_by_exactly_one(fleet):
    bodies = {c: _load_request(fleet.user, c) for c in range(1000, 1060)}
    statuses = run_async(_both_at_once(fleet, bodies))
    for counter, pair in statuses.items():
        assert sorted(pair) == [200, 409], (counter, pair)
    winners = {n for pair in statuses.values() for n, s in enumerate(pair) if s == 200}
    assert fleet.stop() == [0, 0]
    assert fleet.logged() == [(LOAD_USER, c) for c in sorted(bodies)]
    assert winners, "no process accepted anything"


async def _load(fleet: Fleet, bodies: dict[int, bytes], on_ack, *, clients: int = 1) -> set[int]:
    """``bodies`` in increasing counter order from ``clients`` clients, each alternating between the processes.

    One client by default: one User's requests in flight at once arrive out of order at two processes, and the
    later counter's acceptance rightly refuses the earlier one (DUIS: strictly increasing)."""
    acknowledged: set[int] = set()
    queue = sorted(bodies)

    async def client(k: int) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            turn = k
            while queue:
                counter = queue.pop(0)
                turn += 1
                for n in (turn % 2, (turn + 1) % 2):  # the other process if this one is gone
                    try:
                        response = await http.post(f"{fleet.urls[n]}/api/v1/serviceS", content=bodies[counter],
                                                   headers=XML)
                    except httpx.TransportError:
                        continue
                    if response.status_code == 200 and _code(response) == "I99":
                        acknowledged.add(counter)
                        on_ack(len(acknowledged))
                    break

    await asyncio.gather(*(client(k) for k in range(clients)))
    return acknowledged


def test_kill_9_of_one_process_under_load_the_other_serves_and_nothing_acknowledged_is_lost(fleet):
    bodies = {c: _load_request(fleet.user, c) for c in range(100_000, 100_400)}
    victim = fleet.processes[0]
    killed_at: list[int] = []

    def kill_one(n: int) -> None:
        if n >= 60 and not killed_at:
            killed_at.append(n)
            os.kill(victim.pid, signal.SIGKILL)

    acknowledged = run_async(_load(fleet, bodies, kill_one))
    assert killed_at, "the load ended before the kill"
    assert len(acknowledged) - killed_at[0] >= 200, len(acknowledged)  # the survivor carried on
    victim.wait(10)
    assert victim.returncode == -signal.SIGKILL
    fleet.start(0)  # back, stateless: nothing to recover for the request path
    for counter in sorted(acknowledged)[-5:] + sorted(acknowledged)[:3]:
        for n in (0, 1):
            again = fleet.post(n, bodies[counter])
            assert again.status_code == 409, (counter, n, again.text)  # none acknowledged twice
    assert _code(fleet.post(0, _load_request(fleet.user, 900_000))) == "I99"
    assert fleet.stop() == [0, 0]
    logged = fleet.logged()
    assert len(logged) == len(set(logged)), "one counter logged twice"
    assert acknowledged | {900_000} <= {c for o, c in logged if o == LOAD_USER}, "an acknowledged request was lost"


def test_send_commands_from_either_process_are_completed_once_by_the_one_that_runs_the_simulator(
        tmp_path, nats_server):
    from sqlalchemy import select

    from gbsmart.core.db import make_engine, make_sessionmaker
    from gbsmart.gateway.xml import SUG_NS, parse_xml
    from gbsmart.models.gateway import GatewayMessage
    from gbsmart.simulator.service import set_endpoint
    from tests.gateway.endpoint import Endpoint

    fleet = Fleet(tmp_path, nats_server, GBSMART_SIMULATOR_ENABLED="true", GBSMART_SIMULATOR_LATENCY_SECONDS="0.2",
                  GBSMART_SIMULATOR_JITTER_SECONDS="0.05", GBSMART_SIMULATOR_FAILURE_RATE="0",
                  GBSMART_SIMULATOR_SEED="1")
    endpoint = Endpoint().start()
    engine = make_engine(fleet.database_url)
    with make_sessionmaker(engine)() as session, session.begin():
        set_endpoint(session, LOAD_USER, endpoint.url, datetime.now(UTC))
    counters = range(700, 710)
    try:
        fleet.start()
        for counter in counters:  # half to the process that runs the simulator, half to the one that does not
            assert _code(fleet.post(counter % 2, _load_request(fleet.user, counter))) == "I99"
        endpoint.wait_for(len(counters))
        time.sleep(1.5)  # a second simulator would have answered by now too
        assert fleet.stop() == [0, 0], [e[-2000:] for e in fleet.errors]
        fleet.start()  # recovery in the simulator's process: everything was delivered, nothing goes out again
        time.sleep(2.0)
        assert fleet.stop() == [0, 0], [e[-2000:] for e in fleet.errors]
    finally:
        endpoint.stop()
        fleet.kill_all()
    header = f"{{{SUG_NS}}}Header/{{{SUG_NS}}}"
    ids = sorted(parse_xml(r.body).findtext(header + "RequestID") or "" for r in endpoint.received)
    assert ids == sorted(f"{LOAD_USER}:00-DB-12-34-56-78-90-A0:{c}" for c in counters)
    assert {parse_xml(r.body).findtext(header + "ResponseCode") for r in endpoint.received} == {"I0"}
    with make_sessionmaker(engine)() as session:
        states = [m.state for m in session.scalars(select(GatewayMessage)
                                                   .where(GatewayMessage.originator == LOAD_USER))]
    engine.dispose()
    assert states == ["delivered"] * len(counters)


def test_health_and_metrics_and_a_killed_nats_server_answers_503_until_it_is_back(tmp_path, own_nats_server):
    fleet = Fleet(tmp_path, own_nats_server, count=1, background=(True,),
                  GBSMART_GATEWAY_METRICS_TOKEN="scrape-token-for-tests")
    fleet.start()
    try:
        base = fleet.urls[0]
        health = httpx.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200 and health.json() == {"status": "ok", "engine": "jetstream",
                                                              "background": True}
        assert _code(fleet.post(0, _load_request(fleet.user, 10))) == "I99"
        assert httpx.get(f"{base}/metrics", timeout=5).status_code == 401
        wrong = httpx.get(f"{base}/metrics", headers={"authorization": "Bearer nope"}, timeout=5)
        assert wrong.status_code == 401
        metrics = httpx.get(f"{base}/metrics", headers={"authorization": "Bearer scrape-token-for-tests"}, timeout=5)
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        assert 'gbsmart_gateway_http_responses_total{path="/api/v1/serviceS",status="200"} 1.0' in metrics.text
        assert 'gbsmart_gateway_up{background="true",engine="jetstream"} 1.0' in metrics.text
        assert 'gbsmart_gateway_northbound_waiting{class="power_outage"}' in metrics.text  # the background's
        assert "gbsmart_gateway_northbound_republished_total 0.0" in metrics.text

        own_nats_server.kill()  # SIGKILL: the log is gone until it is back
        deadline = time.monotonic() + 10
        while httpx.get(f"{base}/healthz", timeout=5).status_code != 503:
            assert time.monotonic() < deadline, "/healthz still says ok with NATS down"
            time.sleep(0.1)
        refused = fleet.post(0, _load_request(fleet.user, 11))
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1", refused.text
        assert "not accepted" in refused.text

        own_nats_server.start()
        deadline = time.monotonic() + 20
        while httpx.get(f"{base}/healthz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "the gateway did not reconnect to NATS"
            time.sleep(0.2)
        assert _code(fleet.post(0, _load_request(fleet.user, 12))) == "I99"
        assert fleet.stop() == [0], fleet.errors[0][-2000:]
    finally:
        fleet.kill_all()
    logged = fleet.logged()
    assert (LOAD_USER, 10) in logged and (LOAD_USER, 12) in logged  # 11 was never acknowledged (maybe stored)


def test_without_a_nats_server_the_gateway_does_not_start_and_says_what_to_do(tmp_path, nats_server):
    fleet = Fleet(tmp_path, nats_server, count=1, background=(True,))
    fleet.env["GBSMART_NATS_URLS"] = f"nats://127.0.0.1:{_free_port()}"  # nothing listens there
    process = subprocess.Popen([sys.executable, "-m", "gbsmart.cli", "gateway", "serve", "--port",
                                str(fleet.ports[0])], env=fleet.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    assert "cannot reach NATS" in err.decode() and "nats-server -js" in err.decode()


def test_a_postgresql_restart_under_load_loses_no_acknowledged_request_nor_its_journal_row(tmp_path, nats_server,
                                                                                           request):
    """The gateway answers from its in-memory index and the JetStream log, so it goes on accepting while the
    database is down; the journal keeps its rows and writes them once the database is back."""
    from tests.plugins.databases import selected_databases

    if "postgresql" not in selected_databases():
        pytest.skip("PostgreSQL not selected (GBSMART_TEST_DATABASES)")
    from sqlalchemy import select

    from gbsmart.core.db import make_engine, make_sessionmaker
    from gbsmart.models.gateway import GatewayMessage

    pg = request.getfixturevalue("postgresql_server")
    url = pg.new_database()
    # the throwaway cluster runs with synchronous_commit off (tests/plugins/pg.py), which lets a crash lose commits
    # already answered; this database gets the production setting, so a commit the journal saw is durable
    pg._admin.execute(f'ALTER DATABASE "{url.rsplit("/", 1)[-1]}" SET synchronous_commit = on')
    fleet = Fleet(tmp_path, nats_server, count=1, background=(True,), database_url=url)
    acknowledged: list[int] = []
    try:
        fleet.start()
        with httpx.Client(timeout=10) as http:
            def send(counter: int) -> None:
                answer = http.post(f"{fleet.urls[0]}/api/v1/serviceS", content=_load_request(fleet.user, counter),
                                   headers=XML)
                if answer.status_code == 200 and _code(answer) == "I99":
                    acknowledged.append(counter)

            for counter in range(1, 51):
                send(counter)
            pg.restart(down_seconds=2.0)  # immediate stop: every connection cut, then 2 s with no database
            for counter in range(51, 101):
                send(counter)
        assert len(acknowledged) == 100, "requests were refused while only the database was down"
        assert fleet.stop() == [0], fleet.errors[0][-3000:]
    finally:
        fleet.kill_all()
    assert set(acknowledged) <= {c for o, c in fleet.logged() if o == LOAD_USER}
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        journalled = set(session.scalars(select(GatewayMessage.counter).where(GatewayMessage.originator == LOAD_USER)))
    engine.dispose()
    pg.drop_database(url)
    assert journalled == set(acknowledged), sorted(set(acknowledged) - journalled)[:10]


def test_with_the_lease_any_process_takes_the_background_work_over_when_its_holder_is_killed(tmp_path, nats_server):
    """Both processes started alike (GBSMART_GATEWAY_BACKGROUND_LEASE): one holds the lease and runs the simulator;
    kill -9 it and the other takes the lease within its TTL, and device responses go on being delivered."""
    from gbsmart.core.db import make_engine, make_sessionmaker
    from gbsmart.gateway.xml import SUG_NS, parse_xml
    from gbsmart.simulator.service import set_endpoint
    from tests.gateway.endpoint import Endpoint

    fleet = Fleet(tmp_path, nats_server, GBSMART_GATEWAY_BACKGROUND_LEASE="true", GBSMART_GATEWAY_LEASE_SECONDS="3",
                  GBSMART_SIMULATOR_ENABLED="true", GBSMART_SIMULATOR_LATENCY_SECONDS="0.1",
                  GBSMART_SIMULATOR_JITTER_SECONDS="0.02", GBSMART_SIMULATOR_FAILURE_RATE="0")
    endpoint = Endpoint().start()
    engine = make_engine(fleet.database_url)
    with make_sessionmaker(engine)() as session, session.begin():
        set_endpoint(session, LOAD_USER, endpoint.url, datetime.now(UTC))
    engine.dispose()

    def roles() -> list[bool]:
        return [httpx.get(f"{url}/healthz", timeout=5).json()["background"] for url in fleet.urls]

    try:
        fleet.start()
        assert sorted(roles()) == [False, True], roles()  # exactly one holds the lease
        holder = roles().index(True)
        other = 1 - holder
        for counter in range(1, 7):  # to both processes
            assert _code(fleet.post(counter % 2, _load_request(fleet.user, counter))) == "I99"
        endpoint.wait_for(6)
        fleet.processes[holder].kill()  # kill -9: the lease is not given up, it expires
        fleet.processes[holder].wait(10)
        deadline = time.monotonic() + 20
        while not roles_of(fleet, other):
            assert time.monotonic() < deadline, "no process took the background lease over"
            time.sleep(0.2)
        for counter in range(7, 11):
            assert _code(fleet.post(other, _load_request(fleet.user, counter))) == "I99"
        endpoint.wait_for(10)
        assert fleet.stop(other) == [0], fleet.errors[other][-2000:]
    finally:
        endpoint.stop()
        fleet.kill_all()
    header = f"{{{SUG_NS}}}Header/{{{SUG_NS}}}"
    ids = {parse_xml(r.body).findtext(header + "RequestID") for r in endpoint.received}
    assert ids == {f"{LOAD_USER}:00-DB-12-34-56-78-90-A0:{c}" for c in range(1, 11)}


def roles_of(fleet: Fleet, n: int) -> bool:
    try:
        return bool(httpx.get(f"{fleet.urls[n]}/healthz", timeout=5).json()["background"])
    except httpx.TransportError:
        return False


def test_log_status_shows_the_stream_its_records_and_the_lease_holder(tmp_path, nats_server, monkeypatch):
    from typer.testing import CliRunner

    from gbsmart.cli import app
    from gbsmart.config import get_settings

    fleet = Fleet(tmp_path, nats_server, count=1, background=(True,), GBSMART_GATEWAY_BACKGROUND_LEASE="true")
    for name in ("GBSMART_MESSAGE_ENGINE", "GBSMART_NATS_URLS", "GBSMART_NATS_STREAM", "GBSMART_NATS_SUBJECT_PREFIX",
                 "GBSMART_DATA_DIR", "GBSMART_DATABASE_URL"):
        monkeypatch.setenv(name, fleet.env[name])
    get_settings.cache_clear()
    runner = CliRunner()
    before = runner.invoke(app, ["gateway", "log-status"], terminal_width=200)
    assert before.exit_code == 0 and "no stream" in before.output and "creates it" in before.output
    try:
        fleet.start()
        for counter in (1, 2, 3):
            assert _code(fleet.post(0, _load_request(fleet.user, counter))) == "I99"
        shown = runner.invoke(app, ["gateway", "log-status"], terminal_width=200)
        assert shown.exit_code == 0, shown.output
        assert fleet.stream in shown.output and "records" in shown.output
        assert " 3 " in shown.output.split("records", 1)[1].splitlines()[0] + " "  # three records logged
        assert "background lease" in shown.output and "nobody holds it" not in shown.output
        assert "northbound cache: owed" in shown.output and "User(s)" in shown.output
        assert fleet.stop() == [0]
        released = runner.invoke(app, ["gateway", "log-status"], terminal_width=200)
        assert "nobody holds it" in released.output  # a clean stop gives the lease up at once
    finally:
        fleet.kill_all()
        get_settings.cache_clear()
    monkeypatch.setenv("GBSMART_NATS_URLS", f"nats://127.0.0.1:{_free_port()}")
    get_settings.cache_clear()
    down = runner.invoke(app, ["gateway", "log-status"], terminal_width=200)
    get_settings.cache_clear()
    assert down.exit_code == 1 and "cannot reach NATS" in down.output


def test_anomaly_detection_thresholds_hold_over_both_processes_together(tmp_path, nats_server):
    """A User's quarantine threshold is 4 (the default for every SRV): 3 requests to one process, then 3 to the
    other. Counted apart, neither would pass 4; counted together (each shares its counts every 0.3 s), the 5th and
    6th are quarantined by the second process. A third process started afterwards seeds from the shared counts,
    not the journal, and quarantines the 7th."""
    fleet = Fleet(tmp_path, nats_server, count=3, background=(True, False, False), GBSMART_ADT_DEFAULT_QUARANTINE="4",
                  GBSMART_GATEWAY_ADT_SHARE_SECONDS="0.3")
    fleet.start(0)
    fleet.start(1)
    try:
        first = [fleet.post(0, _load_request(fleet.user, c)) for c in (1, 2, 3)]
        time.sleep(1.5)  # a few exchanges of the counts
        second = [fleet.post(1, _load_request(fleet.user, c)) for c in (4, 5, 6)]
        assert [_code(a) for a in first + second] == ["I99"] * 6
        assert ["x-duis-quarantined" in a.headers for a in first + second] == [False] * 4 + [True] * 2
        assert "over your quarantine threshold of 4" in second[1].headers["x-duis-explanation"]
        fleet.start(2)
        time.sleep(1.0)
        third = fleet.post(2, _load_request(fleet.user, 7))
        assert _code(third) == "I99" and "x-duis-quarantined" in third.headers
        assert "shared (not rebuilt from the journal)" in fleet.logs[2].read_text()
    finally:
        fleet.stop()

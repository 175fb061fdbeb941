"""`gbsmart gateway serve --workers 2` as real processes: a supervisor (the sequencer, owner of the request log)
and two HTTP workers (decision 0025).

Signed requests from a User whose key is made here (test_server.py's LOAD_USER) go over real HTTP; workers and
the supervisor are really killed with SIGKILL mid-stream. Killing a worker: the other keeps serving and the
supervisor starts another. Killing the supervisor: the workers stop, and after a restart nothing acknowledged
is lost (every I99's request is in the log) and nothing acknowledged is acknowledged again (409). SIGTERM stops
everything cleanly (exit 0, no process left, the log closed).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from gbsmart.config import Settings
from gbsmart.gateway.log import RequestLog
from gbsmart.gateway.matrix import WebService
from gbsmart.gateway.store import save_certificates
from tests.gateway.aio import run_async
from tests.gateway.test_server import LOAD_USER, _code, _free_port, _load_request, _load_user, _seed

ROOT = Path(__file__).resolve().parents[2]
XML = {"content-type": "application/xml"}


def _children(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except FileNotFoundError:
        return set()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


class Workers:
    """A `gbsmart gateway serve --workers 2` process tree on its own database and data directory."""

    def __init__(self, tmp: Path) -> None:
        url = f"sqlite:///{tmp / 'gateway.db'}"
        _seed(url)
        self.user = _load_user()
        self.data_dir = tmp / "var"
        save_certificates(Settings(data_dir=self.data_dir), LOAD_USER,
                          self.user.certificate.public_bytes(encoding=Encoding.PEM))
        self.env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GBSMART_DATABASE_URL": url,
                    "GBSMART_DATA_DIR": str(self.data_dir), "GBSMART_GATEWAY_REFRESH_SECONDS": "0.5"}
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gbsmart.cli", "gateway", "serve", "--port", str(self.port), "--workers", "2"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the gateway exited: {self.process.stderr.read().decode()[-3000:]}")  # type: ignore
            if len(self.workers()) == 2 and self._both_answer():
                return
            time.sleep(0.2)
        self.process.kill()
        raise AssertionError("the gateway's two workers did not start within 90 s")

    def _both_answer(self) -> bool:
        try:
            return httpx.get(f"{self.url}/", timeout=1).status_code == 404
        except httpx.TransportError:
            return False

    def workers(self) -> set[int]:
        assert self.process is not None
        return {pid for pid in _children(self.process.pid) if _alive(pid)}

    def post(self, body: bytes) -> httpx.Response:
        return httpx.post(f"{self.url}{WebService.SEND_COMMAND.path}", content=body, headers=XML, timeout=30)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def logged(self) -> list[tuple[str, int]]:
        """(originator, counter) of every record in the request log (the gateway must be stopped)."""
        async def read() -> list[tuple[str, int]]:
            log = await RequestLog.open(self.data_dir / "gateway" / "requests.log")
            try:
                return [(r.originator, r.counter) for r in log.read_from(1)]
            finally:
                await log.close()

        return run_async(read())


@pytest.fixture
def workers(tmp_path):
    running = Workers(tmp_path)
    running.start()
    yield running
    if running.process is not None and running.process.poll() is None:
        running.process.kill()
        running.process.wait()


async def _load(gateway: Workers, bodies: dict[int, bytes], on_ack, *, clients: int = 8) -> tuple[set[int], int]:
    """Send ``bodies`` from ``clients`` clients, in increasing counter order; (counters acknowledged, errors).

    ``on_ack(n)`` is called after each I99 with the number so far. A transport error (a worker killed under the
    request) counts as an error and the client goes on with the next body on a fresh connection.
    """
    acknowledged: set[int] = set()
    queue = sorted(bodies)
    errors = 0

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(timeout=10) as http:
            while queue:
                counter = queue.pop(0)
                try:
                    response = await http.post(f"{gateway.url}/api/v1/serviceS", content=bodies[counter],
                                               headers=XML)
                except httpx.TransportError:
                    errors += 1
                    continue
                if response.status_code == 200 and _code(response) == "I99":
                    acknowledged.add(counter)
                    on_ack(len(acknowledged))
                else:
                    errors += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return acknowledged, errors


def test_two_workers_answer_and_a_replay_is_refused_whichever_worker_gets_it(workers):
    first = workers.workers()
    assert len(first) == 2
    body = _load_request(workers.user, 500)
    assert _code(workers.post(body)) == "I99"
    # each post is a new connection: over 12 of them both workers get the replay, and each refuses it
    for _ in range(12):
        again = workers.post(body)
        assert again.status_code == 409, again.text
        assert "not greater than 500" in again.text
    assert _code(workers.post(_load_request(workers.user, 501))) == "I99"
    assert workers.stop() == 0, workers.process.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
    assert not any(_alive(pid) for pid in first), "a worker outlived the supervisor's clean stop"
    assert workers.logged() == [(LOAD_USER, 500), (LOAD_USER, 501)]


def test_kill_9_of_a_worker_mid_stream_the_other_serves_and_it_is_restarted(workers):
    bodies = {c: _load_request(workers.user, c) for c in range(100_000, 100_400)}
    before = workers.workers()
    victim = min(before)
    killed_at: list[int] = []

    def kill_one(n: int) -> None:
        if n >= 40 and not killed_at:
            killed_at.append(n)
            os.kill(victim, signal.SIGKILL)

    acknowledged, errors = run_async(_load(workers, bodies, kill_one))
    assert killed_at, "the load ended before the kill"
    assert len(acknowledged) - killed_at[0] >= 200, (len(acknowledged), errors)  # the other worker kept serving
    deadline = time.monotonic() + 30
    while len(workers.workers()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    now = workers.workers()
    assert len(now) == 2 and victim not in now and before - {victim} <= now, (before, now)
    fresh = workers.post(_load_request(workers.user, 300_000))
    assert _code(fresh) == "I99"
    assert workers.stop() == 0
    logged = workers.logged()
    assert len(logged) == len(set(logged)), "one counter logged twice"
    assert acknowledged | {300_000} <= {c for o, c in logged if o == LOAD_USER}, "an acknowledged request was lost"


def test_kill_9_of_the_supervisor_loses_nothing_acknowledged_and_acknowledges_nothing_twice(workers):
    bodies = {c: _load_request(workers.user, c) for c in range(100_000, 100_300)}
    children = workers.workers()
    assert workers.process is not None
    supervisor = workers.process.pid

    def kill_supervisor(n: int) -> None:
        if n >= 60 and _alive(supervisor):
            os.kill(supervisor, signal.SIGKILL)

    acknowledged, _ = run_async(_load(workers, bodies, kill_supervisor))
    workers.process.wait(10)
    assert workers.process.returncode == -signal.SIGKILL and len(acknowledged) >= 60
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in children), "a worker outlived its supervisor"
    logged = workers.logged()
    assert len(logged) == len(set(logged)), "one counter logged twice"
    assert acknowledged <= {c for o, c in logged if o == LOAD_USER}, "an acknowledged request was lost"
    workers.start()
    for counter in sorted(acknowledged)[-5:] + sorted(acknowledged)[:3]:
        again = workers.post(bodies[counter])
        assert again.status_code == 409, (counter, again.text)  # none acknowledged twice
    assert _code(workers.post(_load_request(workers.user, 900_000))) == "I99"
    assert workers.stop() == 0


def test_under_two_workers_each_device_response_is_delivered_once_by_the_supervisors_one_simulator(tmp_path):
    """The supervisor runs the one device simulator (workers run theirs off): each I0 reaches the User once,
    across both workers and a restart (whose recovery, on the supervisor's log, finds nothing left to send)."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from gbsmart.core.db import make_engine, make_sessionmaker
    from gbsmart.gateway.xml import SUG_NS, parse_xml
    from gbsmart.models.gateway import GatewayMessage
    from gbsmart.simulator.service import set_endpoint
    from tests.gateway.endpoint import Endpoint

    gateway = Workers(tmp_path)
    endpoint = Endpoint().start()
    url = gateway.env["GBSMART_DATABASE_URL"]
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session, session.begin():
        set_endpoint(session, LOAD_USER, endpoint.url, datetime.now(UTC))
    gateway.env.update({"GBSMART_SIMULATOR_LATENCY_SECONDS": "0.2", "GBSMART_SIMULATOR_JITTER_SECONDS": "0.05",
                        "GBSMART_SIMULATOR_FAILURE_RATE": "0", "GBSMART_SIMULATOR_SEED": "1"})
    try:
        gateway.start()
        counters = range(700, 706)  # new connections each: both workers get some
        for counter in counters:
            assert _code(gateway.post(_load_request(gateway.user, counter))) == "I99"
        endpoint.wait_for(len(counters))
        time.sleep(1.5)  # a second simulator (a worker's) would have answered by now too
        assert gateway.stop() == 0, gateway.process.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
        gateway.start()  # the supervisor's recovery: everything was delivered, so nothing goes out again
        time.sleep(2.0)
        assert gateway.stop() == 0, gateway.process.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
    finally:
        endpoint.stop()
        if gateway.process is not None and gateway.process.poll() is None:
            gateway.process.kill()
    header = f"{{{SUG_NS}}}Header/{{{SUG_NS}}}"
    ids = sorted(parse_xml(r.body).findtext(header + "RequestID") or "" for r in endpoint.received)
    assert ids == sorted(f"{LOAD_USER}:00-DB-12-34-56-78-90-A0:{c}" for c in counters)
    assert {parse_xml(r.body).findtext(header + "ResponseCode") for r in endpoint.received} == {"I0"}
    with make_sessionmaker(engine)() as session:
        rows = session.scalars(select(GatewayMessage).where(GatewayMessage.originator == LOAD_USER))
        states = [m.state for m in rows]
    engine.dispose()
    assert states == ["delivered"] * len(counters)

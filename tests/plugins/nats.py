"""A throwaway NATS server with JetStream for the tests, started from Debian's ``nats-server`` (as for PostgreSQL).

``nats_server`` (session scope) starts ``nats-server -js`` on a free port of 127.0.0.1 with its store in a temporary
directory, and stops it at the end; ``nats_server.new_stream()`` gives each test a stream name and subject prefix of
its own, so tests share the server but not their records. ``own_nats_server`` (function scope) is a server a test may
``kill()`` (SIGKILL) and ``start()`` again on the same store, for the crash tests.

The binary is looked for on PATH, then in /usr/sbin and /usr/bin; ``GBSMART_NATS_SERVER`` names it instead. Without
it the JetStream tests fail and say to run ``scripts/test`` (which installs it), unless ``GBSMART_TEST_SKIP_NATS=1``,
in which case they are skipped. ``GBSMART_TEST_ENGINES=embedded`` runs the engine-parametrised tests on the
embedded engine only.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV_BINARY = "GBSMART_NATS_SERVER"
ENV_SKIP = "GBSMART_TEST_SKIP_NATS"
ENV_ENGINES = "GBSMART_TEST_ENGINES"
HOST = "127.0.0.1"
ENGINES = ("embedded", "jetstream")

_MISSING = ("No nats-server found (PATH, /usr/sbin, /usr/bin): run `scripts/test`, which installs it (Debian: "
            "apt-get install nats-server), or set GBSMART_TEST_SKIP_NATS=1 to skip the JetStream tests, or "
            "GBSMART_TEST_ENGINES=embedded to run the embedded engine only.")


def find_binary() -> str | None:
    named = os.environ.get(ENV_BINARY)
    if named:
        return named if os.access(named, os.X_OK) else None
    found = shutil.which("nats-server")
    if found:
        return found
    for candidate in ("/usr/sbin/nats-server", "/usr/bin/nats-server"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def selected_engines() -> list[str]:
    raw = os.environ.get(ENV_ENGINES, "").strip() or ",".join(ENGINES)
    chosen = [word for word in raw.replace(" ", ",").split(",") if word]
    for word in chosen:
        if word not in ENGINES:
            raise pytest.UsageError(f"{ENV_ENGINES}={raw!r}: unknown engine {word!r} (use embedded, jetstream)")
    return chosen


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class NatsServer:
    """One ``nats-server -js`` process on loopback, its store in ``directory``."""

    def __init__(self, binary: str, directory: Path, port: int | None = None) -> None:
        self.binary = binary
        self.directory = directory
        self.port = port or _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.extra: list[str] = []  # more arguments (a cluster node's)

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "server.log", "ab") as out:
            self.process = subprocess.Popen(
                [self.binary, "-js", "-a", HOST, "-p", str(self.port), "-sd", str(self.directory / "store"),
                 *(self.extra or ["-n", f"gbsmart-test-{self.port}"])], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited ({self.process.returncode}): "
                                   f"{(self.directory / 'server.log').read_text()[-2000:]}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5) as s:
                    if s.recv(4096).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nats-server did not start on {self.url} within {timeout} s")

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing flushed on the way out."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def new_stream(self) -> tuple[str, str]:
        """A stream name and subject prefix no other test uses."""
        tag = uuid.uuid4().hex[:12]
        return f"T{tag.upper()}", f"t{tag}.req"


def _binary_or_skip() -> str:
    binary = find_binary()
    if binary is None:
        if os.environ.get(ENV_SKIP) == "1":
            pytest.skip("nats-server not installed (GBSMART_TEST_SKIP_NATS=1)")
        pytest.fail(_MISSING, pytrace=False)
    return binary


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    binary = _binary_or_skip()
    with tempfile.TemporaryDirectory(prefix="gbsmart-nats-") as directory:
        server = NatsServer(binary, Path(directory))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def own_nats_server(tmp_path) -> Iterator[NatsServer]:
    server = NatsServer(_binary_or_skip(), tmp_path / "nats")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def engine_params() -> list:
    try:
        return [pytest.param(name, id=name) for name in selected_engines()]
    except pytest.UsageError:
        return [pytest.param(name, id=name) for name in ENGINES]


class NatsCluster:
    """``size`` nats-server nodes with JetStream clustered on loopback (one cluster name, routes to each other)."""

    def __init__(self, binary: str, directory: Path, size: int = 3) -> None:
        self.client_ports = [_free_port() for _ in range(size)]
        self.cluster_ports = [_free_port() for _ in range(size)]
        self.nodes = [NatsServer(binary, directory / f"n{i}", port) for i, port in enumerate(self.client_ports)]
        routes = ",".join(f"nats://{HOST}:{p}" for p in self.cluster_ports)
        for i, node in enumerate(self.nodes):
            node.extra = ["--cluster_name", "gbsmart-test", "--cluster", f"nats://{HOST}:{self.cluster_ports[i]}",
                          "--routes", routes, "-n", f"node{i}"]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self) -> None:
        for node in self.nodes:
            node.start()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def new_stream(self) -> tuple[str, str]:
        return self.nodes[0].new_stream()


@pytest.fixture(scope="session")
def shared_nats_cluster() -> Iterator[NatsCluster]:
    """A 3-node cluster for the session (started on first use): suites that run on a cluster, not one node."""
    binary = _binary_or_skip()
    with tempfile.TemporaryDirectory(prefix="gbsmart-nats-cluster-") as directory:
        cluster = NatsCluster(binary, Path(directory))
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop()


@pytest.fixture
def nats_cluster(tmp_path) -> Iterator[NatsCluster]:
    cluster = NatsCluster(_binary_or_skip(), tmp_path / "cluster")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()

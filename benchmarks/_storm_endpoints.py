"""The Users' endpoints of the alert storm benchmark: lean HTTP/1.1 servers on loopback, one per DCC User.

Each ``Endpoint`` is an ``asyncio.Protocol`` server (no framework: it must take thousands of POSTs a second
without being the bottleneck, and ``benchmarks/alert_storm.py`` measures its bare rate in the same run). For
every POST it records the arrival time (``time.time()``, the clock the gateway's own clock follows), the
``x-duis-response-id`` header, and what the DUIS body says: at receipt a cheap scan for the message kind and
alert code only; every DCC Alert's body, and one device alert in ``sample_every``, is kept and parsed in full
by the hardened parser (``_storm_duis.read_alert``) and checked against the DUIS schema after the run, so the
parse never delays the next arrival's time stamp. It answers ``200`` with an empty body, keep-alive.

An endpoint can go **down** and come back: ``refuse`` stops listening and drops its connections (connection
refused, as a User's system that is off), ``reset`` accepts and drops every connection before answering,
``error`` answers ``503``. ``FleetProcess`` runs the endpoints in a child process (the benchmark's
driver and the gateway then do not share its event loop), steered over a pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from _storm_duis import DCC, DEVICE, GARBAGE, OTHER, read_alert, validate

_OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
_UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n"
_BAD = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_LENGTH_REQUIRED = b"HTTP/1.1 411 Length Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_NOT_ALLOWED = b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_MAX_HEAD, _MAX_BODY = 16 * 1024, 1024 * 1024
_KIND = re.compile(rb"<(?:[\w.-]+:)?(DeviceAlertMessage|DCCAlertMessage|ResponseMessage)[\s/>]")
_CODE = re.compile(rb"<(?:[\w.-]+:)?(?:AlertCode|DCCAlertCode)>\s*([^<\s]*)\s*<")
_COUNT = re.compile(rb"<(?:[\w.-]+:)?ThrottledAlertCount>\s*(\d+)\s*<")
_KINDS = {b"DeviceAlertMessage": DEVICE, b"DCCAlertMessage": DCC, b"ResponseMessage": OTHER}
UP, REFUSE, RESET, ERROR = "up", "refuse", "reset", "error"


@dataclass(slots=True)
class Received:
    """One POST an endpoint took: who it was for, when it arrived, its message id and what the body says."""

    user_id: str
    at: float                        # arrival, seconds since the epoch
    message_id: str                  # the x-duis-response-id header ("" if absent)
    kind: str                        # DEVICE, DCC, OTHER or GARBAGE
    code: str = ""                   # AlertCode / DCCAlertCode
    hub: str = ""                    # an AD1's CommsHubDeviceID
    start: float | None = None       # an AD1's StartDateTime, seconds since the epoch
    throttled_count: int | None = None
    response_at: float | None = None  # the header's ResponseDateTime
    mpxn: str = ""                   # an AD1's MPxN
    valid: bool | None = None        # against the DUIS schema (None: not checked, only a sample is)
    body: bytes | None = field(default=None, repr=False)  # kept until parsed after the run


def _epoch(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


def complete(record: Received) -> Received:
    """Parse a kept body in full (hardened parser, schema check) and drop it."""
    body, record.body = record.body, None
    if body is None:
        return record
    fields = read_alert(body)
    record.kind, record.code, record.hub = fields.kind, fields.code or record.code, fields.hub
    record.start, record.response_at = _epoch(fields.start), _epoch(fields.response_at)
    record.mpxn = fields.mpxn
    if fields.throttled_count is not None:
        record.throttled_count = fields.throttled_count
    record.valid = fields.kind != GARBAGE and validate(body)
    return record


class _Connection(asyncio.Protocol):
    __slots__ = ("endpoint", "transport", "buffer")

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.endpoint.connections.add(self)
        self.endpoint.connections_made += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.endpoint.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        endpoint, transport = self.endpoint, self.transport
        assert transport is not None
        if endpoint.mode == RESET:
            endpoint.dropped += 1
            transport.abort()
            return
        now = time.time()
        buffer = self.buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    self._fail(_BAD)
                return
            head = bytes(buffer[:end])
            lines = head.split(b"\r\n")
            if not lines[0].startswith(b"POST "):
                self._fail(_NOT_ALLOWED)
                return
            length, message_id, close = -1, "", False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value) if value.strip().isdigit() else -2
                elif name == b"x-duis-response-id":
                    message_id = value.strip().decode("ascii", "replace")
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
            if length < 0 or length > _MAX_BODY:
                self._fail(_LENGTH_REQUIRED if length == -1 else _BAD)
                return
            total = end + 4 + length
            if len(buffer) < total:
                return
            body = bytes(buffer[end + 4:total])
            del buffer[:total]
            if endpoint.mode == ERROR:
                endpoint.errors_answered += 1
                transport.write(_UNAVAILABLE)
            else:
                endpoint.take(now, message_id, body)
                transport.write(_OK)
            if close:
                transport.close()
                return

    def _fail(self, answer: bytes) -> None:
        assert self.transport is not None
        self.endpoint.bad_requests += 1
        self.transport.write(answer)
        self.transport.close()


class Endpoint:
    """One User's endpoint on 127.0.0.1: records what it takes, and can go down and come back."""

    def __init__(self, user_id: str, *, sample_every: int = 64, keep_bodies: bool = False) -> None:
        self.user_id = user_id
        self.sample_every, self.keep_bodies = sample_every, keep_bodies
        self.received: list[Received] = []
        self.connections: set[_Connection] = set()
        self.mode = UP
        self.port = 0
        self.connections_made = self.dropped = self.errors_answered = self.bad_requests = 0
        self.transitions: list[tuple[float, str]] = []  # (time, mode): when it went down and came back
        self._server: asyncio.Server | None = None
        self._device_seen = self.dcc_seen = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/duis/alerts"

    async def start(self, port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), "127.0.0.1", port or self.port,
                                                reuse_address=True, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    def take(self, at: float, message_id: str, body: bytes) -> None:
        """Record a POST: the kind and code by a scan now; the body kept (for a full parse later) if sampled."""
        found = _KIND.search(body)
        kind = _KINDS[found.group(1)] if found else GARBAGE
        code_match = _CODE.search(body)
        code = code_match.group(1).decode("ascii", "replace").upper() if code_match else ""
        count_match = _COUNT.search(body)
        record = Received(self.user_id, at, message_id, kind, code,
                          throttled_count=int(count_match.group(1)) if count_match else None)
        if kind == DEVICE:
            self._device_seen += 1
            if self.keep_bodies or (self._device_seen - 1) % self.sample_every == 0:
                record.body = body
        else:  # every DCC Alert, response and unreadable body is parsed in full
            self.dcc_seen += kind == DCC
            record.body = body
        self.received.append(record)

    async def go_down(self, mode: str = REFUSE) -> None:
        """Stop taking messages: ``refuse`` (not listening), ``reset`` (drop connections) or ``error`` (503)."""
        if mode not in (REFUSE, RESET, ERROR):
            raise ValueError(f"unknown down mode {mode!r}: use {REFUSE}, {RESET} or {ERROR}")
        self.mode = mode
        self.transitions.append((time.time(), mode))
        if mode == REFUSE and self._server is not None:
            self._server.close()
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.abort()
            await self._server.wait_closed()
            self._server = None
        elif mode == RESET:
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.abort()

    async def come_up(self) -> None:
        if self._server is None:
            await self.start(self.port)
        self.mode = UP
        self.transitions.append((time.time(), UP))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.abort()
            await self._server.wait_closed()
            self._server = None

    def records(self) -> list[Received]:
        """What this endpoint received, every kept body parsed in full."""
        return [complete(r) for r in self.received]

    def stats(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "posts": len(self.received), "connections": self.connections_made,
                "dropped_while_down": self.dropped, "errors_answered": self.errors_answered,
                "bad_requests": self.bad_requests, "transitions": self.transitions}


class Fleet:
    """The endpoints of several Users, in this process's event loop."""

    def __init__(self, user_ids: Iterable[str], *, sample_every: int = 64, keep_bodies: bool = False) -> None:
        self.endpoints = {u: Endpoint(u, sample_every=sample_every, keep_bodies=keep_bodies) for u in user_ids}

    async def start(self) -> dict[str, str]:
        for endpoint in self.endpoints.values():
            await endpoint.start()
        return self.urls()

    def urls(self) -> dict[str, str]:
        return {u: e.url for u, e in self.endpoints.items()}

    async def close(self) -> None:
        for endpoint in self.endpoints.values():
            await endpoint.close()

    def records(self) -> list[Received]:
        out = [r for e in self.endpoints.values() for r in e.records()]
        out.sort(key=lambda r: r.at)
        return out

    def stats(self) -> list[dict[str, Any]]:
        return [e.stats() for e in self.endpoints.values()]


# ---------------------------------------------------------------- in a child process


def _child(user_ids: list[str], sample_every: int, conn: Any) -> None:
    asyncio.run(_serve_child(user_ids, sample_every, conn))


async def _serve_child(user_ids: list[str], sample_every: int, conn: Any) -> None:
    fleet = Fleet(user_ids, sample_every=sample_every)
    conn.send(await fleet.start())
    loop = asyncio.get_running_loop()
    stopped = loop.create_future()
    commands: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
    while not stopped.done():
        command, *args = await commands.get()
        if command == "down":
            await fleet.endpoints[args[0]].go_down(args[1])
            conn.send(True)
        elif command == "up":
            await fleet.endpoints[args[0]].come_up()
            conn.send(True)
        elif command == "count":  # (every message, the DCC Alerts among them), by the scan at receipt
            conn.send((sum(len(e.received) for e in fleet.endpoints.values()),
                       sum(e.dcc_seen for e in fleet.endpoints.values())))
        elif command == "records":
            conn.send((fleet.records(), fleet.stats()))
        elif command == "stop":
            loop.remove_reader(conn.fileno())
            await fleet.close()
            conn.send(True)
            stopped.set_result(None)


class FleetProcess:
    """The endpoints in a child process (forked), steered over a pipe; the same operations as ``Fleet``."""

    def __init__(self, user_ids: Iterable[str], *, sample_every: int = 64) -> None:
        self.user_ids, self.sample_every = list(user_ids), sample_every
        self._conn: Any = None
        self._process: Any = None
        self.urls: dict[str, str] = {}

    def start(self) -> dict[str, str]:
        context = multiprocessing.get_context("fork")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=_child, args=(self.user_ids, self.sample_every, child_conn),
                                        daemon=True)
        self._process.start()
        if not self._conn.poll(30):
            raise RuntimeError("the endpoint servers did not start within 30 s")
        self.urls = self._conn.recv()
        return self.urls

    @property
    def pid(self) -> int:
        return int(self._process.pid)

    def _ask(self, *command: Any) -> Any:
        self._conn.send(command)
        if not self._conn.poll(600):
            raise RuntimeError(f"the endpoint servers did not answer {command[0]!r} within 600 s")
        return self._conn.recv()

    def go_down(self, user_id: str, mode: str = REFUSE) -> None:
        self._ask("down", user_id, mode)

    def come_up(self, user_id: str) -> None:
        self._ask("up", user_id)

    def count(self) -> tuple[int, int]:
        """(messages received so far, DCC Alerts among them)."""
        total, dcc = self._ask("count")
        return int(total), int(dcc)

    def records(self) -> tuple[list[Received], list[dict[str, Any]]]:
        records, stats = self._ask("records")
        return records, stats

    def stop(self) -> None:
        if self._process is None:
            return
        with contextlib.suppress(Exception):
            self._ask("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._process = None


# ---------------------------------------------------------------- the bare loopback rate (the ceiling)


async def blast(url: str, body: bytes, seconds: float, connections: int = 8) -> tuple[int, float]:
    """POSTs/s an endpoint takes: ``connections`` keep-alive clients, each POSTing ``body`` one after another
    for ``seconds`` (a minimal HTTP/1.1 client on asyncio streams). Returns (POSTs answered 200, seconds)."""
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    path = "/" + url.split("//", 1)[1].split("/", 1)[1]
    request = (f"POST {path} HTTP/1.1\r\nhost: {host_port}\r\ncontent-type: application/xml\r\n"
               f"x-duis-response-id: ceiling\r\ncontent-length: {len(body)}\r\n\r\n").encode() + body
    done = 0
    stop_at = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < stop_at:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                if head[9:12] != b"200":
                    raise RuntimeError(f"the endpoint answered {head[:40]!r}")
                done += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return done, time.perf_counter() - started

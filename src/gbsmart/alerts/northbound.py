"""The northbound cache: every message to a User (device alerts, DCC Alerts, Service Responses) kept durably in
``northbound_messages`` and sent to the User's endpoint by priority class, within the User's capacity, fairly
between Users (issue 11 points 4 and 5; DP100; docs/decisions/0027-northbound-dispatcher.md).

Writes: ``put`` queues its items for one writer task, which commits them in batches in a worker thread; ``put``
returns once its items are committed (a crash after that loses none of them). A ``message_id`` already stored
(delivered, expired or waiting) is skipped: putting it again is a no-op. Only a committed message is POSTed.

Dispatch: each User has one queue per priority class. The dispatcher always takes the highest class that any
User can be sent now, and within a class serves the Users round-robin (one message per turn, every message
costs one: deficit round-robin with equal costs). A User can be sent to when it has an endpoint, fewer than its
``in_flight`` POSTs open, a token in its bucket (``messages_per_second``, ``burst``) and is not backing off. A
failed POST (connection refused, timeout, non-2xx) puts the message back at the head of its class and backs the
whole User off (``delivery_retry_base_seconds`` doubled per failed round, capped at the smaller of
``delivery_retry_max_seconds`` and ``northbound_retry_max_seconds``); then one message probes the endpoint at a
time until one is taken. A round is one back-off: the other POSTs that were in flight when it began fail alike
and go back to their queues without backing the User off further (counting each of them as a failure of its own
backed a User with ``in_flight`` 8 off for 2**7 seconds after a single refused round: its backlog then waited
minutes after the endpoint returned). So a down or slow User holds at most its own
``in_flight`` POSTs (each bounded by ``delivery_timeout_seconds``) and never slows another User, and when it
returns its backlog goes out highest class first, within its capacity.

HTTP: one aiohttp ``ClientSession`` per User and endpoint URL, a keep-alive pool of at most the User's ``in_flight``
connections, connect and read timeouts of ``delivery_timeout_seconds`` (docs/decisions/0027-northbound-dispatcher.md:
httpx's AsyncClient cost about 1 ms of CPU a POST).
Deliveries are committed in batches: each 2xx adds its ``delivered_at`` to a list the writer takes whole.

Rendering: a message without ``body`` is rendered by its kind's renderer when it is sent (not before: most of a
storm's messages may never need their bytes if they expire); the body is not written back, so a message sent
again after a crash is rendered again (same ``message_id``, same content, a fresh signature).

Expiry: a message not delivered by ``expires_at`` (default ``created_at`` plus its kind's retention, traffic.toml)
is marked ``expired_at`` by a sweep every ``northbound_sweep_seconds``: never deleted, listed by
``gbsmart alerts expired`` and the portal. Delivery is at least once: a crash between a 2xx and the commit of
``delivered_at`` sends that message again after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.alerts.enums import OutboundKind
from gbsmart.alerts.queries import own_user_ids
from gbsmart.alerts.traffic import Capacity, Traffic, load_traffic
from gbsmart.config import Settings
from gbsmart.core.audit import record_change
from gbsmart.core.clock import Clock, utc
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Forbidden, Invalid
from gbsmart.models.alerts import NorthboundMessage
from gbsmart.models.delivery import GatewayEndpoint

log = logging.getLogger("gbsmart.alerts.northbound")

_USER = re.compile(r"[0-9A-F]{2}(-[0-9A-F]{2}){7}")


@dataclass(slots=True)
class Outbound:
    """One message to one User (see the module docstring and the alerts contract)."""

    message_id: str
    user_id: str
    kind: OutboundKind
    priority: str
    created_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    body: bytes | None = None
    code: str = ""
    alert_id: int | None = None
    deadline_at: datetime | None = None
    expires_at: datetime | None = None


Renderer = Callable[[Outbound], bytes]


def no_endpoint_error(user_id: str) -> str:
    return (f"no response endpoint is registered for User {user_id}: set one with `gbsmart gateway endpoint set "
            f"{user_id} URL`; its messages are kept until then (or until they expire)")


@dataclass(slots=True)
class _User:
    user_id: str
    capacity: Capacity
    queues: list[deque[tuple[Outbound, int]]]  # per class rank: (message, attempts so far)
    tokens: float
    refilled: float
    in_flight: int = 0
    failures: int = 0  # failed rounds in a row (0: not backing off)
    round: int = 0  # bumped when a back-off begins: a POST sent before it failing does not back off again
    blocked_until: float = 0.0
    noted_no_endpoint: bool = False
    delivered_times: deque[float] = field(default_factory=deque)

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity.burst, self.tokens + (now - self.refilled) * self.capacity.per_second)
        self.refilled = now


@dataclass(slots=True)
class _Write:
    rows: list[dict[str, Any]] | None = None   # new messages
    items: list[Outbound] | None = None
    updates: list[tuple[str, dict[str, Any]]] | None = None  # (message_id, values)
    done: asyncio.Future[None] | None = None
    new: list[Outbound] = field(default_factory=list)
    counted: bool = True  # holds one of the writer's back-pressure places


class Northbound:
    """See the module docstring."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock, *,
                 renderers: Mapping[OutboundKind, Renderer],
                 on_delivered: Callable[[Outbound, datetime], None] | None = None, traffic: Traffic | None = None,
                 on_failed: Callable[[Outbound, int, str], None] | None = None,
                 batch: int = 1000, max_pending: int = 20_000) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self.traffic = traffic or load_traffic(settings)
        self._renderers = dict(renderers)
        self._on_delivered = on_delivered
        self._on_failed = on_failed  # (message, attempts, error): a failed POST, or no endpoint when it is queued
        self._batch = batch
        self._space = asyncio.Semaphore(max_pending)
        self._writes: deque[_Write] = deque()
        self._urgent: deque[_Write] = deque()  # puts of the highest class only: written before the others
        self._write_wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._users: dict[str, _User] = {}
        self._rings: list[deque[str]] = [deque() for _ in self.traffic.classes]
        self._in_ring: list[set[str]] = [set() for _ in self.traffic.classes]
        self._endpoints: dict[str, str] = {}
        self._known: set[str] = set()  # message ids queued or in memory (the table catches the rest)
        self._wake = asyncio.Event()
        self._slots = 0
        self._inflight: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._http: dict[tuple[str, str], aiohttp.ClientSession] = {}  # (User, URL) -> its keep-alive pool
        # connecting, and each wait for the answer's bytes, bounded by the timeout (as httpx's timeout was): a hung
        # endpoint fails after it; a total bound would also fail POSTs only slow because the machine is loaded
        timeout = settings.delivery_timeout_seconds
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
        self._closing: set[asyncio.Task[None]] = set()  # pools of changed endpoints being closed
        self._delivered_updates: list[tuple[str, dict[str, Any]]] = []  # taken whole by the writer
        self.delivered = 0
        self.failed_attempts = 0
        self.expired = 0
        self.late = 0  # delivered after their deadline_at

    # ------------------------------------------------------------ life cycle

    async def start(self) -> int:
        """Read the endpoints and every message neither delivered nor expired, and start sending; how many."""
        self._endpoints = await asyncio.to_thread(self._read_endpoints)
        kept = await asyncio.to_thread(self._read_pending)
        for item, attempts in kept:
            self._known.add(item.message_id)
            self._enqueue(item, attempts)
            self._note_no_endpoint(item, attempts)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._write_forever(), name="northbound-writer"),
                       loop.create_task(self._dispatch_forever(), name="northbound-dispatcher"),
                       loop.create_task(self._refresh_forever(), name="northbound-endpoints"),
                       loop.create_task(self._sweep_forever(), name="northbound-expiry")]
        return len(kept)

    async def close(self) -> None:
        """Stop sending (POSTs in flight are abandoned: still undelivered, sent after the next start); commit
        every queued write."""
        for task in [*self._tasks[1:], *self._inflight]:
            task.cancel()
        for task in [*self._tasks[1:], *self._inflight]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
        if self._tasks:
            self._tasks[0].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tasks[0]
        self._tasks = []
        clients, self._http = list(self._http.values()), {}
        for client in clients:
            await client.close()
        for task in list(self._closing):
            await task

    async def flush(self) -> None:
        """Wait until every queued write is committed."""
        await self._idle.wait()

    # ------------------------------------------------------------ putting

    async def put(self, items: Sequence[Outbound]) -> None:
        """Keep ``items`` durably; returns once they are committed (call it after ``start``: the writer runs from
        then). Back-pressure: waits while too many writes are queued. ValueError (nothing of the batch kept) for an
        unknown priority class, kind or malformed User ID, or no body and no renderer for its kind."""
        rows, fresh = [], []
        for item in items:  # all checked before any is kept
            self.traffic.rank(item.priority)
            if not isinstance(item.kind, OutboundKind):
                item.kind = OutboundKind(item.kind)
            if not _USER.fullmatch(item.user_id):
                raise ValueError(f"{item.user_id!r} is not a DCC User ID (EUI-64 with dashes, upper case)")
            if item.body is None and item.kind not in self._renderers:
                raise ValueError(f"no renderer for {item.kind.value} messages and {item.message_id} has no body")
        for item in items:
            if item.message_id in self._known:
                continue
            if item.expires_at is None:
                item.expires_at = item.created_at + self.traffic.retention[item.kind]
            self._known.add(item.message_id)
            fresh.append(item)
            rows.append(self._row(item))
        if not rows:
            return
        # the highest class (power outage alerts) never waits behind a storm's puts: its own lane, written first
        # and not held by the back-pressure places the others wait for
        await self._keep(fresh, rows, all(self.traffic.rank(item.priority) == 0 for item in fresh))

    @staticmethod
    def _row(item: Outbound) -> dict[str, Any]:
        """The ``northbound_messages`` row of a new message."""
        return {"message_id": item.message_id, "user_id": item.user_id, "kind": item.kind.value,
                "priority": item.priority, "code": item.code, "alert_id": item.alert_id,
                "payload": json.dumps(item.payload, separators=(",", ":")), "body": item.body,
                "created_at": item.created_at, "deadline_at": item.deadline_at,
                "expires_at": item.expires_at, "attempts": 0, "last_error": ""}

    async def _keep(self, fresh: list[Outbound], rows: list[dict[str, Any]], urgent: bool) -> None:
        """Make ``fresh`` durable: here, once their rows are committed (the JetStream engine overrides it)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if urgent:
            self._urgent.append(_Write(rows=rows, items=fresh, done=done, counted=False))
            self._idle.clear()
            self._write_wake.set()
        else:
            await self._queue(_Write(rows=rows, items=fresh, done=done))
        await done

    def backlog(self) -> dict[str, dict[str, int]]:
        """user_id -> priority class -> messages waiting in memory (not in flight)."""
        out: dict[str, dict[str, int]] = {}
        for user in self._users.values():
            counts = {self.traffic.classes[r]: len(q) for r, q in enumerate(user.queues) if q}
            if counts:
                out[user.user_id] = counts
        return out

    # ------------------------------------------------------------ the writer

    async def _queue(self, write: _Write) -> None:
        await self._space.acquire()
        self._writes.append(write)
        self._idle.clear()
        self._write_wake.set()

    async def _write_forever(self) -> None:
        while True:
            await self._write_wake.wait()
            self._write_wake.clear()
            while self._urgent or self._writes or self._delivered_updates:
                if self._delivered_updates:  # every delivery so far in one write (no back-pressure place)
                    self._writes.append(_Write(updates=self._delivered_updates, counted=False))
                    self._delivered_updates = []
                writes, size, urgent = [], 0, 0
                for lane in (self._urgent, self._writes):  # the urgent lane first
                    for write in lane:
                        writes.append(write)
                        urgent += lane is self._urgent
                        size += len(write.rows or ()) + len(write.updates or ())
                        if size >= self._batch:
                            break
                    if size >= self._batch:
                        break
                try:
                    await asyncio.to_thread(self._write, writes)
                except Exception:
                    log.exception("writing %d northbound operations failed; retrying", size)
                    await asyncio.sleep(1.0)
                    continue
                self._committed(writes)
                for n, write in enumerate(writes):  # both lanes only grow at their right ends meanwhile
                    (self._urgent if n < urgent else self._writes).popleft()
                    if write.counted:
                        self._space.release()
                    for item in write.new:  # committed: now it may be sent
                        self._enqueue(item, 0)
                        self._note_no_endpoint(item, 0)
                    if write.items is not None and len(write.new) < len(write.items):
                        new_ids = {item.message_id for item in write.new}
                        self._known.difference_update(i.message_id for i in write.items if i.message_id not in new_ids)
                    if write.done is not None and not write.done.done():
                        write.done.set_result(None)
            self._idle.set()

    def _write(self, writes: list[_Write]) -> None:
        table: Table = NorthboundMessage.__table__  # type: ignore[assignment]
        with self._sessions() as session, session.begin():
            ids = [row["message_id"] for w in writes for row in (w.rows or ())]
            existing: set[str] = set()
            for i in range(0, len(ids), 500):
                existing.update(session.scalars(select(NorthboundMessage.message_id)
                                                .where(NorthboundMessage.message_id.in_(ids[i:i + 500]))))
            for write in writes:
                if write.rows:
                    assert write.items is not None
                    new_rows = []
                    write.new = []
                    for row, item in zip(write.rows, write.items, strict=True):
                        if row["message_id"] not in existing:
                            existing.add(row["message_id"])
                            new_rows.append(row)
                            write.new.append(item)
                    if new_rows:
                        session.execute(insert(table), new_rows)  # Core's executemany: no ORM states
            # updates with the same columns as one executemany (a storm's deliveries are thousands a batch)
            grouped: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for write in writes:
                for message_id, values in write.updates or ():
                    keys = tuple(sorted(values))
                    grouped.setdefault(keys, []).append({"b_message_id": message_id,
                                                         **{f"b_{k}": v for k, v in values.items()}})
            for keys, params in grouped.items():
                statement = (update(table).where(table.c.message_id == bindparam("b_message_id"))
                             .values({k: bindparam(f"b_{k}") for k in keys}))
                session.execute(statement, params)

    def _committed(self, writes: list[_Write]) -> None:
        """Called once ``writes`` are committed (the JetStream engine then deletes what is done from its stream)."""

    def _read_endpoints(self) -> dict[str, str]:
        with self._sessions() as session:
            return {row.user_id: row.url for row in session.scalars(select(GatewayEndpoint))}

    def _read_pending(self) -> list[tuple[Outbound, int]]:
        out = []
        with self._sessions() as session:
            rows = session.scalars(select(NorthboundMessage).where(NorthboundMessage.delivered_at.is_(None),
                                                                   NorthboundMessage.expired_at.is_(None))
                                   .order_by(NorthboundMessage.id))
            for row in rows:
                if row.priority not in self.traffic.classes:
                    log.warning("northbound message %s has priority %r, not a configured class: sent as %s",
                                row.message_id, row.priority, self.traffic.classes[-1])
                    row_priority = self.traffic.classes[-1]
                else:
                    row_priority = row.priority
                out.append((Outbound(message_id=row.message_id, user_id=row.user_id, kind=OutboundKind(row.kind),
                                     priority=row_priority, created_at=utc(row.created_at),  # type: ignore[arg-type]
                                     payload=json.loads(row.payload or "{}"),
                                     body=bytes(row.body) if row.body is not None else None, code=row.code,
                                     alert_id=row.alert_id, deadline_at=utc(row.deadline_at),
                                     expires_at=utc(row.expires_at)), row.attempts))
        return out

    # ------------------------------------------------------------ dispatching

    def _user(self, user_id: str) -> _User:
        user = self._users.get(user_id)
        if user is None:
            capacity = self.traffic.capacity(user_id)
            user = _User(user_id, capacity, [deque() for _ in self.traffic.classes], capacity.burst,
                         time.monotonic())
            self._users[user_id] = user
        return user

    def _enqueue(self, item: Outbound, attempts: int, *, front: bool = False) -> None:
        user = self._user(item.user_id)
        rank = self.traffic.rank(item.priority)
        if front:
            user.queues[rank].appendleft((item, attempts))
        else:
            user.queues[rank].append((item, attempts))
        if item.user_id not in self._in_ring[rank]:
            self._in_ring[rank].add(item.user_id)
            self._rings[rank].append(item.user_id)
        self._wake.set()

    def _ready(self, user: _User, now: float) -> bool:
        if user.user_id not in self._endpoints or now < user.blocked_until:
            return False
        limit = 1 if user.failures else user.capacity.in_flight  # backing off: one probe at a time
        if user.in_flight >= limit:
            return False
        user.refill(now)
        return user.tokens >= 1.0

    def _next(self, now: float) -> tuple[_User, Outbound, int] | None:
        """The next message to send: the highest class any User can be sent now, round-robin in the class."""
        for rank, ring in enumerate(self._rings):
            for _ in range(len(ring)):
                user_id = ring[0]
                user = self._users[user_id]
                queue = user.queues[rank]
                if not queue:
                    ring.popleft()
                    self._in_ring[rank].discard(user_id)
                    continue
                ring.rotate(-1)
                if self._ready(user, now):
                    item, attempts = queue.popleft()
                    return user, item, attempts
        return None

    def _wait_time(self, now: float) -> float | None:
        """Seconds until a User that has messages may become ready (None: only an event can change anything)."""
        best: float | None = None
        for user in self._users.values():
            if not any(user.queues) or user.user_id not in self._endpoints:
                continue
            if now < user.blocked_until:
                wait = user.blocked_until - now
            elif user.in_flight >= (1 if user.failures else user.capacity.in_flight):
                continue  # a finished POST wakes the dispatcher
            else:
                user.refill(now)
                wait = max(0.0, (1.0 - user.tokens) / user.capacity.per_second)
            best = wait if best is None else min(best, wait)
        return best

    async def _dispatch_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            now = time.monotonic()
            while self._slots < self._settings.northbound_concurrency:
                chosen = self._next(now)
                if chosen is None:
                    break
                user, item, attempts = chosen
                user.tokens -= 1.0
                user.in_flight += 1
                self._slots += 1
                task = loop.create_task(self._attempt(user, item, attempts, user.round))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            timeout = None if self._slots >= self._settings.northbound_concurrency else self._wait_time(now)
            if timeout is not None:
                timeout = max(timeout, 0.001)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that arrives as its
            # timeout expires, and close() then waits for this task for ever (seen in CI)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _attempt(self, user: _User, item: Outbound, attempts: int, round_: int) -> None:
        try:
            await self._send(user, item, attempts, round_)
        except asyncio.CancelledError:
            self._enqueue(item, attempts, front=True)  # closing: it stays undelivered in the table too
            raise
        except Exception as exc:  # a bug or a renderer's failure must not lose the message: back off, retry
            log.exception("sending %s failed", item.message_id)
            self._failed(user, item, attempts + 1, f"the message could not be sent ({type(exc).__name__}: "
                                                   f"{str(exc)[:200]})", round_)
        finally:
            user.in_flight -= 1
            self._slots -= 1
            self._wake.set()

    def _client(self, user: _User, url: str) -> aiohttp.ClientSession:
        client = self._http.get((user.user_id, url))
        if client is None or client.closed:
            # a keep-alive pool per endpoint, at most the User's in_flight connections (its cap is enforced by
            # the dispatcher too); no cookies, no decompression: an endpoint's answer is only its status
            connector = aiohttp.TCPConnector(limit=max(1, user.capacity.in_flight), limit_per_host=0,
                                             keepalive_timeout=30.0)
            client = aiohttp.ClientSession(connector=connector, timeout=self._timeout, auto_decompress=False,
                                           cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=("User-Agent",))
            self._http[(user.user_id, url)] = client
        return client

    async def _send(self, user: _User, item: Outbound, attempts: int, round_: int = -1) -> None:
        url = self._endpoints.get(user.user_id)
        if url is None:  # the endpoint was removed while this was chosen
            self._enqueue(item, attempts, front=True)
            return
        body = item.body if item.body is not None else self._renderers[item.kind](item)
        try:
            async with self._client(user, url).post(url, data=body, headers={
                    "content-type": "application/xml", "x-duis-response-id": item.message_id}) as answer:
                status = answer.status
                await answer.read()  # the whole answer read: the connection goes back to the pool
            error = "" if 200 <= status < 300 else \
                f"the endpoint {url} answered HTTP {status}: it must answer 2xx to take a message"
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {str(exc)[:200]}"
            error = f"the endpoint {url} could not be reached ({reason})"
        if error:
            self._failed(user, item, attempts + 1, error, round_)
            return
        now = self._clock.now()
        user.failures = 0
        user.blocked_until = 0.0
        self.delivered += 1
        user.delivered_times.append(time.monotonic())
        while user.delivered_times and user.delivered_times[0] < time.monotonic() - 60:
            user.delivered_times.popleft()
        if item.deadline_at is not None and now > item.deadline_at:
            self.late += 1
        self._known.discard(item.message_id)
        self._delivered_updates.append((item.message_id, {
            "delivered_at": now, "attempts": attempts + 1, "last_error": "", "next_attempt_at": None}))
        self._idle.clear()
        self._write_wake.set()
        if self._on_delivered is not None:
            try:
                self._on_delivered(item, now)
            except Exception:
                log.exception("the on_delivered hook failed for %s", item.message_id)

    def _note_no_endpoint(self, item: Outbound, attempts: int) -> None:
        if item.user_id not in self._endpoints:
            self._call_failed(item, attempts, no_endpoint_error(item.user_id))

    def _call_failed(self, item: Outbound, attempts: int, error: str) -> None:
        if self._on_failed is not None:
            try:
                self._on_failed(item, attempts, error)
            except Exception:
                log.exception("the on_failed hook failed for %s", item.message_id)

    def _failed(self, user: _User, item: Outbound, attempts: int, error: str, round_: int = -1) -> None:
        self._call_failed(item, attempts, error)
        self.failed_attempts += 1
        now = time.monotonic()
        if round_ == user.round or round_ < 0:  # the first failure of this round: back the User off (once)
            user.round += 1
            user.failures += 1
            cap = min(self._settings.delivery_retry_max_seconds, self._settings.northbound_retry_max_seconds)
            wait = min(cap, self._settings.delivery_retry_base_seconds * 2 ** min(user.failures - 1, 30))
            user.blocked_until = now + wait
        # else: sent before this round's back-off began and failing alike: it waits for the same probe
        self._enqueue(item, attempts, front=True)  # its place at the head of its class: order is kept
        values = {"attempts": attempts, "last_error": error,
                  "next_attempt_at": self._clock.now() + timedelta(seconds=max(0.0, user.blocked_until - now))}
        # no back-pressure here (it runs in the dispatcher's path): the write does not hold a place
        self._writes.append(_Write(updates=[(item.message_id, values)], counted=False))
        self._idle.clear()
        self._write_wake.set()

    # ------------------------------------------------------------ endpoints and expiry

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.gateway_refresh_seconds)
            try:
                self.set_endpoints(await asyncio.to_thread(self._read_endpoints))
            except Exception:
                log.exception("reading the User endpoints failed; keeping the last ones")

    def set_endpoints(self, endpoints: dict[str, str]) -> None:
        """New endpoints: a User with a new or changed endpoint is tried at once (its back-off forgotten)."""
        for user_id, url in endpoints.items():
            if self._endpoints.get(user_id) != url and user_id in self._users:
                self._users[user_id].failures = 0
                self._users[user_id].round += 1
                self._users[user_id].blocked_until = 0.0
        gone = set(self._endpoints.items()) - set(endpoints.items())
        self._endpoints = dict(endpoints)
        for key in gone:  # a changed or removed endpoint's pool (POSTs in it end as failures, retried)
            client = self._http.pop(key, None)
            if client is not None:
                task = asyncio.get_running_loop().create_task(client.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        self._wake.set()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.northbound_sweep_seconds)
            try:
                await self.sweep()
            except Exception:
                log.exception("the northbound expiry sweep failed; the next one tries again")

    async def sweep(self) -> int:
        """Mark every waiting message past its ``expires_at`` expired (kept, reported); how many."""
        now = self._clock.now()
        updates = []
        for user in self._users.values():
            for queue in user.queues:
                if not queue:
                    continue
                keep = [(item, n) for item, n in queue if item.expires_at is None or item.expires_at > now]
                if len(keep) == len(queue):
                    continue
                for item, _ in queue:
                    if item.expires_at is not None and item.expires_at <= now:
                        self._known.discard(item.message_id)
                        updates.append((item.message_id, {"expired_at": now}))
                queue.clear()
                queue.extend(keep)
        if updates:
            self.expired += len(updates)
            log.warning("%d northbound messages expired undelivered (listed by `gbsmart alerts expired`)",
                        len(updates))
            await self._queue(_Write(updates=updates))
        return len(updates)

    def delivered_last_minute(self) -> dict[str, int]:
        cutoff = time.monotonic() - 60
        return {u.user_id: sum(1 for t in u.delivered_times if t >= cutoff) for u in self._users.values()}


# ---------------------------------------------------------------- reports (read from the table: any process)


@dataclass(frozen=True, slots=True)
class BacklogRow:
    """One User's messages of one priority class, as the table has them."""

    user_id: str
    priority: str
    waiting: int
    oldest: datetime | None
    delivered_last_minute: int
    expired: int


def backlog_report(session: Session, now: datetime, traffic: Traffic, *, user_id: str | None = None) -> list[
        BacklogRow]:
    """Per User and priority class (highest first): waiting, the oldest waiting, delivered in the last minute,
    expired undelivered."""
    from sqlalchemy import case, func

    m = NorthboundMessage
    waiting = (m.delivered_at.is_(None)) & (m.expired_at.is_(None))
    query = (select(m.user_id, m.priority, func.sum(case((waiting, 1), else_=0)),
                    func.min(case((waiting, m.created_at), else_=None)),
                    func.sum(case((m.delivered_at >= now - timedelta(minutes=1), 1), else_=0)),
                    func.sum(case((m.expired_at.is_not(None), 1), else_=0)))
             .where(waiting | (m.delivered_at >= now - timedelta(minutes=1)) | m.expired_at.is_not(None))
             .group_by(m.user_id, m.priority))
    if user_id is not None:
        query = query.where(m.user_id == user_id)
    order = {name: i for i, name in enumerate(traffic.classes)}
    rows = [BacklogRow(u, p, int(w or 0), utc(o) if isinstance(o, datetime) else _parse(o), int(d or 0), int(e or 0))
            for u, p, w, o, d, e in session.execute(query)]
    return sorted(rows, key=lambda r: (r.user_id, order.get(r.priority, len(order)), r.priority))


def _parse(value: Any) -> datetime | None:
    """SQLite hands MIN() over a CASE back as text."""
    if value is None:
        return None
    return utc(datetime.fromisoformat(str(value)))


def expired_messages(session: Session, *, user_id: str | None = None, limit: int = 100) -> tuple[
        int, list[NorthboundMessage]]:
    """(how many expired undelivered, the newest ``limit`` of them)."""
    from sqlalchemy import func

    m = NorthboundMessage
    where: list[Any] = [m.expired_at.is_not(None)]
    if user_id is not None:
        where.append(m.user_id == user_id)
    total = session.scalar(select(func.count()).select_from(m).where(*where)) or 0
    rows = list(session.scalars(select(m).where(*where).order_by(m.expired_at.desc(), m.id.desc()).limit(limit)))
    return int(total), rows


# ---------------------------------------------------------------- expiry reported to the User


def acknowledge_expired(ctx: Ctx, user_id: str) -> int:
    """A person of the User's own organisation marks its expired messages seen: the expiry has been reported to the
    User (``expiry_reported_at`` now). Returns how many were marked (0: none was waiting to be). The DCC and the
    Code Administrator see every User's expired messages, but cannot answer for a User."""
    user_id = (user_id or "").strip().upper()
    if not _USER.fullmatch(user_id):
        raise Invalid("user_id: must be a DCC User ID such as 90-B3-D5-1F-30-01-00-00",
                      detail=[{"field": "user_id", "message": "must be a DCC User ID such as 90-B3-D5-1F-30-01-00-00"}])
    if user_id not in own_user_ids(ctx):
        raise Forbidden(f"Only people of the organisation that holds DCC User ID {user_id} may mark its expired "
                        "messages seen: sign in as one of them (the DCC and the Code Administrator see them, but do "
                        "not answer for the User).")
    m = NorthboundMessage
    now = ctx.clock.now()
    where = [m.user_id == user_id, m.expired_at.is_not(None), m.delivered_at.is_(None), m.expiry_reported_at.is_(None)]
    ids = list(ctx.session.scalars(select(m.id).where(*where)))
    if ids:
        ctx.session.execute(update(m).where(*where).values(expiry_reported_at=now))
        record_change(ctx, "acknowledge_expired", "dcc_user", user_id, after={"messages": len(ids),
                                                                            "expiry_reported_at": now.isoformat()})
    return len(ids)

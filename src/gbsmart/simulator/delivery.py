"""Device responses kept durably and POSTed to each User's registered response endpoint, with retries.

``Delivery.complete(request, log_seq, code, explanation)`` builds the DUIS Response (``gateway.responses``),
signs it with the DCC's key and queues its ``gateway_responses`` row; one writer task commits rows in batches
(in a worker thread). Only a committed response is ever POSTed, so what a User receives is always what is
kept: after a crash it may be POSTed again (the same bytes, the same ResponseID: at-least-once delivery), never
replaced by a different response.

The dispatcher keeps one queue of ready responses per User and serves the Users round-robin, at most
``delivery_concurrency`` POSTs in flight, so one busy or failing User does not hold the others back. A POST
answered 2xx is delivered (``delivered_at``); anything else (connection refused, timeout, non-2xx) is retried
after ``delivery_retry_base_seconds`` doubled per failure, capped at ``delivery_retry_max_seconds``. A User
with no registered endpoint has its responses parked (kept, listed by ``gbsmart gateway responses``) until one
is set: the endpoints are re-read every ``gateway_refresh_seconds``. The journal row follows through
``Journal.update``: completed (with the code), delivered, or undelivered.

With a ``northbound`` (``gbsmart.alerts.northbound``, as ``gbsmart gateway serve`` runs it) the Delivery does not
POST itself: each committed response is put on the Northbound (kind ``response``, its signed body, the priority
class of what it answers: traffic.toml ``[responses]``), which sends it by priority within the User's capacity
(DP100); the Northbound's hooks (``northbound_delivered``, ``northbound_failed``) keep ``gateway_responses`` and the
journal as before. At start, kept responses the Northbound does not hold (a crash between the two commits) are put
on it, and ones it delivered whose ``delivered_at`` was lost are marked delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
from lxml import etree
from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.config import Settings
from gbsmart.core.clock import Clock
from gbsmart.gateway.duis import DuisRequest
from gbsmart.gateway.enums import MessageState
from gbsmart.gateway.journal import Journal
from gbsmart.gateway.responses import response
from gbsmart.models.delivery import GatewayEndpoint, GatewayResponse

if TYPE_CHECKING:
    from gbsmart.alerts.northbound import Northbound, Outbound

log = logging.getLogger("gbsmart.simulator.delivery")

Sign = Callable[[etree._Element], bytes]


def no_endpoint_error(user_id: str) -> str:
    return (f"no response endpoint is registered for User {user_id}: set one with `gbsmart gateway endpoint set "
            f"{user_id} URL`; the response is kept until then")


@dataclass(slots=True)
class _Item:
    """One kept response on its way to its User."""

    originator: str
    counter: int
    response_id: str
    body: bytes | None  # None: read from its row when it is next sent (kept ones are not all held in memory)
    attempts: int = 0
    marked_undelivered: bool = False
    priority: str = ""  # its priority class on the Northbound
    completed_at: Any = None


@dataclass(order=True, slots=True)
class _Waiting:
    due: float
    seq: int
    item: _Item = field(compare=False)


@dataclass(slots=True)
class _Op:
    """A write for the writer task: a new row (``row``, then ``item`` is ready) or new values for a row."""

    originator: str
    counter: int
    row: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    item: _Item | None = None
    journal: dict[str, Any] | None = None
    counted: bool = True  # holds a back-pressure place (not one queued from a Northbound hook)


class Delivery:
    """See the module docstring."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, sign: Sign, journal: Journal | None,
                 clock: Clock, *, transport: httpx.AsyncBaseTransport | None = None, batch: int = 500,
                 max_pending: int = 10_000, northbound: Northbound | None = None) -> None:
        self._sessions = sessions
        self._settings = settings
        self._sign = sign
        self._journal = journal
        self._clock = clock
        self._transport = transport
        self._batch = batch
        self._space = asyncio.Semaphore(max_pending)
        self._ops: deque[_Op] = deque()
        self._op_wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._endpoints: dict[str, str] = {}
        self._ready: dict[str, deque[_Item]] = {}
        self._ring: deque[str] = deque()
        self._parked: dict[str, list[_Item]] = {}
        self._waiting: list[_Waiting] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.delivery_concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._http: httpx.AsyncClient | None = None
        self.delivered = 0
        self.failed_attempts = 0
        self._northbound = northbound
        self._marked: set[str] = set()  # response ids the journal already has as undelivered (with a Northbound)

    # ------------------------------------------------------------ life cycle

    async def start(self) -> int:
        """Read the endpoints and every response not yet delivered, and start delivering; how many were kept."""
        if self._northbound is not None:
            return await self._start_northbound()
        self._http = httpx.AsyncClient(timeout=self._settings.delivery_timeout_seconds, transport=self._transport)
        self._endpoints = await asyncio.to_thread(self._read_endpoints)
        kept = await asyncio.to_thread(self._read_undelivered)
        now, loop_now = self._clock.now(), asyncio.get_running_loop().time()
        for row in kept:
            item = _Item(row.originator, row.counter, row.response_id, None, row.attempts,
                         marked_undelivered=row.attempts > 0 or bool(row.last_error))
            wait = (row.next_attempt_at - now).total_seconds() if row.next_attempt_at is not None else 0.0
            self._schedule(item, loop_now + max(0.0, wait))
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._write_forever(), name="delivery-writer"),
                       loop.create_task(self._dispatch_forever(), name="delivery-dispatcher"),
                       loop.create_task(self._refresh_forever(), name="delivery-endpoints")]
        return len(kept)

    async def _start_northbound(self) -> int:
        assert self._northbound is not None
        rows, delivered = await asyncio.to_thread(self._read_for_northbound)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._write_forever(), name="delivery-writer")]
        for row in rows:
            if row.attempts or row.last_error:
                self._marked.add(row.response_id)
        for response_id, originator, counter, at in delivered:  # taken by the User; the crash lost the record
            await self._record_delivered(originator, counter, response_id, at)
        items = []
        for row in rows:
            if row.body is None:
                continue
            item = _Item(row.originator, row.counter, row.response_id, bytes(row.body), row.attempts,
                         priority=self._northbound.traffic.response_class(row.srv or ""),
                         completed_at=row.completed_at)
            items.append(self._outbound(item, row.code))
        if items:
            await self._northbound.put(items)
        return len(rows)

    def _read_for_northbound(self) -> tuple[list[Any], list[tuple[str, str, int, Any]]]:
        """Kept responses not yet delivered: (ones the Northbound does not hold, with their body; ones it
        delivered)."""
        from gbsmart.models.alerts import NorthboundMessage
        from gbsmart.models.gateway import GatewayMessage

        with self._sessions() as session:
            missing = list(session.execute(
                select(GatewayResponse.originator, GatewayResponse.counter, GatewayResponse.response_id,
                       GatewayResponse.attempts, GatewayResponse.last_error, GatewayResponse.body,
                       GatewayResponse.code, GatewayResponse.completed_at, GatewayMessage.srv)
                .outerjoin(NorthboundMessage, NorthboundMessage.message_id == GatewayResponse.response_id)
                .outerjoin(GatewayMessage, (GatewayMessage.originator == GatewayResponse.originator)
                           & (GatewayMessage.counter == GatewayResponse.counter)
                           & (GatewayMessage.state != MessageState.REFUSED.value))
                .where(GatewayResponse.delivered_at.is_(None), NorthboundMessage.id.is_(None))
                .order_by(GatewayResponse.id)))
            held = list(session.execute(
                select(GatewayResponse.response_id, GatewayResponse.attempts, GatewayResponse.last_error,
                       NorthboundMessage.delivered_at, GatewayResponse.originator, GatewayResponse.counter)
                .join(NorthboundMessage, NorthboundMessage.message_id == GatewayResponse.response_id)
                .where(GatewayResponse.delivered_at.is_(None))))
        for row in held:
            if row.attempts or row.last_error:
                self._marked.add(row.response_id)
        delivered = [(r.response_id, r.originator, r.counter, r.delivered_at) for r in held
                     if r.delivered_at is not None]
        return missing, delivered

    def _outbound(self, item: _Item, code: str) -> Outbound:
        from gbsmart.alerts.enums import OutboundKind
        from gbsmart.alerts.northbound import Outbound

        return Outbound(message_id=item.response_id, user_id=item.originator, kind=OutboundKind.RESPONSE,
                        priority=item.priority, created_at=item.completed_at or self._clock.now(), body=item.body,
                        code=code)

    # ------------------------------------------------------------ the Northbound's hooks

    @staticmethod
    def _key(response_id: str) -> tuple[str, int]:
        _target, originator, counter = response_id.rsplit(":", 2)
        return originator, int(counter)

    def northbound_delivered(self, item: Outbound, at: Any) -> None:
        """A response the Northbound delivered: record it as before (``delivered_at``, the journal)."""
        originator, counter = self._key(item.message_id)
        self.delivered += 1
        self._marked.discard(item.message_id)
        self._queue_nowait(_Op(originator, counter, values={"delivered_at": at, "last_error": "",
                                                            "attempts": GatewayResponse.attempts + 1,
                                                            "next_attempt_at": None},
                               journal={"state": MessageState.DELIVERED, "delivered_at": at}))

    def northbound_failed(self, item: Outbound, attempts: int, error: str) -> None:
        """A failed POST of a response (or no endpoint): its row says why; the journal says undelivered once."""
        originator, counter = self._key(item.message_id)
        if attempts:
            self.failed_attempts += 1
        journal = None
        if item.message_id not in self._marked:
            self._marked.add(item.message_id)
            journal = {"state": MessageState.UNDELIVERED}
        values: dict[str, Any] = {"last_error": error, "next_attempt_at": None}
        if attempts:
            values["attempts"] = attempts
        self._queue_nowait(_Op(originator, counter, values=values, journal=journal))

    async def _record_delivered(self, originator: str, counter: int, response_id: str, at: Any) -> None:
        await self._queue(_Op(originator, counter, values={"delivered_at": at, "last_error": "",
                                                           "next_attempt_at": None},
                              journal={"state": MessageState.DELIVERED, "delivered_at": at}))

    def _queue_nowait(self, op: _Op) -> None:
        op.counted = False
        self._ops.append(op)
        self._idle.clear()
        self._op_wake.set()

    async def close(self) -> None:
        """Stop delivering (what is in flight is abandoned: kept, retried after the next start); write what is
        queued."""
        for task in self._tasks[1:]:
            task.cancel()
        for task in [*self._tasks[1:], *self._inflight]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
        if self._tasks:
            self._tasks[0].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tasks[0]
        self._tasks = []
        if self._http is not None:
            await self._http.aclose()

    async def flush(self) -> None:
        """Wait until every queued write is committed."""
        await self._idle.wait()

    @property
    def kept(self) -> int:
        """Responses in memory not yet delivered (ready, waiting for a retry, or parked without an endpoint)."""
        return (sum(len(q) for q in self._ready.values()) + len(self._waiting)
                + sum(len(p) for p in self._parked.values()) + len(self._inflight))

    # ------------------------------------------------------------ completing a request

    async def complete(self, request: DuisRequest, log_seq: int, code: str, explanation: str = "") -> None:
        """Sign the device's response to ``request`` and keep it; it is POSTed once its row is committed."""
        at = self._clock.now()
        body = self._sign(response(request, code, at))
        rid = request.request_id
        response_id = f"{rid.target}:{rid.originator}:{rid.counter}"
        item = _Item(rid.originator, rid.counter, response_id, body, completed_at=at)
        if self._northbound is not None:
            future_dated = request.root.find(".//{*}ExecutionDateTime") is not None
            item.priority = self._northbound.traffic.response_class(request.service_reference_variant,
                                                                    future_dated=future_dated)
        row = {"request_id": str(rid), "response_id": response_id, "originator": rid.originator,
               "counter": rid.counter, "log_seq": log_seq, "code": code, "body": body, "completed_at": at,
               "attempts": 0, "next_attempt_at": at, "last_error": "", "delivered_at": None}
        journal = {"state": MessageState.COMPLETED, "code": code, "completed_at": at}
        if explanation:
            journal["explanation"] = explanation
        await self._queue(_Op(rid.originator, rid.counter, row=row, item=item, journal=journal))

    # ------------------------------------------------------------ the writer

    async def _queue(self, op: _Op) -> None:
        await self._space.acquire()
        self._ops.append(op)
        self._idle.clear()
        self._op_wake.set()

    async def _write_forever(self) -> None:
        while True:
            await self._op_wake.wait()
            self._op_wake.clear()
            while self._ops:
                ops = [self._ops[i] for i in range(min(self._batch, len(self._ops)))]
                try:
                    await asyncio.to_thread(self._write, ops)
                except Exception:
                    log.exception("writing %d response operations failed; retrying", len(ops))
                    await asyncio.sleep(1.0)
                    continue
                for op in ops:
                    self._ops.popleft()
                    if op.counted:
                        self._space.release()
                outbound = []
                for op in ops:  # committed: now the journal may say so, and the response may go out
                    if op.journal is not None and self._journal is not None:
                        with contextlib.suppress(RuntimeError):  # the journal is closing: recovery repairs it
                            await self._journal.update(op.originator, op.counter, **op.journal)
                    if op.item is not None:
                        if self._northbound is not None:
                            outbound.append(self._outbound(op.item, str((op.row or {}).get("code", ""))))
                        else:
                            self._schedule(op.item, 0.0)
                if outbound:
                    assert self._northbound is not None
                    await self._northbound.put(outbound)
            self._idle.set()

    def _write(self, ops: list[_Op]) -> None:
        with self._sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            for op in ops:
                if op.row is not None:
                    # a response already kept for this request stays as it was: never a different response
                    if dialect == "postgresql":
                        session.execute(pg_insert(GatewayResponse).values(**op.row).on_conflict_do_nothing())
                    else:
                        session.execute(insert(GatewayResponse).values(**op.row).prefix_with("OR IGNORE"))
                if op.values is not None:
                    session.execute(update(GatewayResponse).where(GatewayResponse.originator == op.originator,
                                                                  GatewayResponse.counter == op.counter)
                                    .values(**op.values))

    def _read_endpoints(self) -> dict[str, str]:
        with self._sessions() as session:
            return {row.user_id: row.url for row in session.scalars(select(GatewayEndpoint))}

    def _read_body(self, originator: str, counter: int) -> bytes:
        with self._sessions() as session:
            body = session.scalar(select(GatewayResponse.body).where(GatewayResponse.originator == originator,
                                                                     GatewayResponse.counter == counter))
        if body is None:
            raise LookupError(f"the kept response to {originator} counter {counter} is not in gateway_responses")
        return bytes(body)

    def _read_undelivered(self) -> list[Any]:
        with self._sessions() as session:
            return list(session.execute(
                select(GatewayResponse.originator, GatewayResponse.counter, GatewayResponse.response_id,
                       GatewayResponse.attempts, GatewayResponse.next_attempt_at,
                       GatewayResponse.last_error)
                .where(GatewayResponse.delivered_at.is_(None)).order_by(GatewayResponse.id)))

    # ------------------------------------------------------------ dispatching

    def _schedule(self, item: _Item, due: float) -> None:
        heapq.heappush(self._waiting, _Waiting(due, next(self._seq), item))
        self._wake.set()

    def _make_ready(self, item: _Item) -> None:
        queue = self._ready.setdefault(item.originator, deque())
        if not queue:
            self._ring.append(item.originator)
        queue.append(item)

    async def _dispatch_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self._waiting and self._waiting[0].due <= now:
                self._make_ready(heapq.heappop(self._waiting).item)
            while self._ring and not self._slots.locked():
                user = self._ring.popleft()
                queue = self._ready[user]
                item = queue.popleft()
                if queue:
                    self._ring.append(user)  # round-robin: one response per User per turn
                else:
                    del self._ready[user]
                await self._slots.acquire()
                task = loop.create_task(self._attempt(item))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            self._wake.clear()
            timeout = None  # ready work and all slots busy: a finished attempt wakes us
            if not self._ring and self._waiting:
                timeout = max(0.0, self._waiting[0].due - loop.time())
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: a cancel is never swallowed (3.11 wait_for)
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _attempt(self, item: _Item) -> None:
        try:
            await self._deliver(item)
        except Exception:  # a bug here must not lose the response: try it again later
            log.exception("delivering %s failed", item.response_id)
            self._schedule(item, asyncio.get_running_loop().time() + self._settings.delivery_retry_max_seconds)
        finally:
            self._slots.release()
            self._wake.set()

    async def _deliver(self, item: _Item) -> None:
        assert self._http is not None
        url = self._endpoints.get(item.originator)
        if url is None:
            item.body = None  # parked for as long as the User has no endpoint: its row holds the body
            self._parked.setdefault(item.originator, []).append(item)
            if not item.marked_undelivered:
                item.marked_undelivered = True
                await self._queue(_Op(item.originator, item.counter, values={
                    "last_error": no_endpoint_error(item.originator), "next_attempt_at": None},
                    journal={"state": MessageState.UNDELIVERED}))
            return
        if item.body is None:
            item.body = await asyncio.to_thread(self._read_body, item.originator, item.counter)
        try:
            answer = await self._http.post(url, content=item.body, headers={
                "content-type": "application/xml", "x-duis-response-id": item.response_id})
            error = "" if 200 <= answer.status_code < 300 else \
                f"the endpoint {url} answered HTTP {answer.status_code}: it must answer 2xx to take a response"
        except httpx.HTTPError as exc:
            error = f"the endpoint {url} could not be reached ({type(exc).__name__}: {str(exc)[:200]})"
        item.attempts += 1
        now = self._clock.now()
        if not error:
            self.delivered += 1
            await self._queue(_Op(item.originator, item.counter, values={
                "delivered_at": now, "attempts": item.attempts, "last_error": "", "next_attempt_at": None},
                journal={"state": MessageState.DELIVERED, "delivered_at": now}))
            return
        self.failed_attempts += 1
        wait = min(self._settings.delivery_retry_max_seconds,
                   self._settings.delivery_retry_base_seconds * 2 ** min(item.attempts - 1, 30))
        journal = None
        if not item.marked_undelivered:
            item.marked_undelivered = True
            journal = {"state": MessageState.UNDELIVERED}
        await self._queue(_Op(item.originator, item.counter, values={
            "attempts": item.attempts, "last_error": error, "next_attempt_at": now + timedelta(seconds=wait)},
            journal=journal))
        self._schedule(item, asyncio.get_running_loop().time() + wait)

    # ------------------------------------------------------------ endpoints

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.gateway_refresh_seconds)
            try:
                self.set_endpoints(await asyncio.to_thread(self._read_endpoints))
            except Exception:
                log.exception("reading the response endpoints failed; keeping the last ones")

    def set_endpoints(self, endpoints: dict[str, str]) -> None:
        """New endpoints: a User's parked responses go out at once to a new (or changed) endpoint."""
        changed = [user for user, url in endpoints.items() if self._endpoints.get(user) != url]
        self._endpoints = endpoints
        for user in changed:
            for item in self._parked.pop(user, []):
                self._schedule(item, 0.0)

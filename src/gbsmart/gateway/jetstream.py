"""The durable request log on NATS JetStream: ``RequestLog``'s interface, shared by every gateway process.

Decision 0029 has the design; in short:

- One stream (``GBSMART_REQUESTS`` by default), file storage, one subject per originator:
  ``gbsmart.req.<originator's 16 hex digits>``. A record is one message: the request's body as the payload,
  what ``LogRecord`` holds besides in headers, the stream sequence as its ``seq``.
- **Durable** means the PubAck has arrived: the server (in a cluster, a quorum of the stream's replicas) has
  stored it. ``append`` returns only then, so the gateway acknowledges nothing that JetStream has not got.
- **Counters across processes**: each publish carries ``Nats-Expected-Last-Subject-Sequence``, the sequence of
  the last record this process knows on the originator's subject (0: none). If another process appended for that
  originator meanwhile, JetStream refuses the publish ("wrong last sequence"); this log then reads the subject's
  last record, and checks the counter again against it. So two gateway processes can never both log one
  originator's counter, nor a lower one after a higher one, with no lock and no leader.
- Within one process the check is also made in memory first (as the file log does), and one originator's appends
  are published one after another (each needs the previous one's sequence); different originators' appends go
  out concurrently, up to ``max_pending`` in flight (back-pressure: ``append`` waits for room).
- ``Nats-Msg-Id`` (originator and counter) lets JetStream drop a second copy within its duplicate window when a
  publish is sent again after a lost PubAck (this log re-sends once on a timeout).
- ``last_counter`` is what this process knows (what it logged or read); a stale answer can only be too low,
  since counters only increase, and ``append`` checks against JetStream itself. ``load_counter`` asks JetStream.
- ``read_from`` reads through an ephemeral consumer from a start sequence: synchronously from a worker thread
  (as ``simulator.recovery`` runs), or ``records_from`` on the event loop.

If the connection to NATS is lost, appends fail with ``LogClosed`` (nothing is acknowledged that was not stored)
and succeed again once the client has reconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import threading
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import nats
from nats.aio.client import Client
from nats.errors import ConnectionClosedError, NoServersError
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import APIError, NotFoundError

from gbsmart.gateway.log import _EPOCH, CounterNotIncreasing, LogClosed, LogEntry, LogRecord, _micros, _not_increasing

log = logging.getLogger(__name__)

DEFAULT_STREAM = "GBSMART_REQUESTS"
DEFAULT_PREFIX = "gbsmart.req"
#: JetStream's error code for a publish whose expected last subject sequence is not the subject's last
WRONG_LAST_SEQUENCE = 10071
#: how long a request's Msg-Id is remembered, so a publish sent again is not logged twice (decision 0029)
DUPLICATE_WINDOW_S = 600.0

_H_ORIGINATOR = "Gbsmart-Originator"
_H_COUNTER = "Gbsmart-Counter"
_H_SERVICE = "Gbsmart-Service"
_H_RECEIVED = "Gbsmart-Received-Us"
_H_EXPECTED = "Nats-Expected-Last-Subject-Sequence"
_H_MSG_ID = "Nats-Msg-Id"
_H_WRITER = "Gbsmart-Writer"
#: the originator's highest counter logged, this record included (an unchecked record may repeat a lower one)
_H_HIGH = "Gbsmart-Highest-Counter"
_EUI64 = re.compile(r"[0-9A-F]{2}(?:-[0-9A-F]{2}){7}")


def subject_token(originator: str) -> str:
    """The originator as one NATS subject token: a DCC User ID's 16 hex digits, else ``x`` and its UTF-8 in hex."""
    if _EUI64.fullmatch(originator):
        return originator.replace("-", "")
    return "x" + originator.encode().hex()


async def _nats_error(exc: Exception) -> None:  # one line, not the client's default traceback per retry
    log.warning("NATS: %s", str(exc) or type(exc).__name__)


def _on_disconnect(owner: list[JetStreamLog]) -> Callable[[], Awaitable[None]]:
    async def disconnected() -> None:
        if not (owner and owner[0]._closing):  # not when the log itself closes the connection
            log.warning("NATS: disconnected; reconnecting (requests are refused with 503 until then)")
    return disconnected


async def _nats_reconnected() -> None:
    log.info("NATS: reconnected")


async def _ensure_stream(js: JetStreamContext, config: StreamConfig, ready_timeout: float) -> None:
    """The stream, created if missing; a cluster still electing its leaders (503, timeouts) is waited for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ready_timeout
    while True:
        try:
            try:
                await js.stream_info(config.name or "")
            except NotFoundError:
                await js.add_stream(config)
                log.info("created JetStream stream %s (subjects %s, %s replica(s))", config.name, config.subjects,
                         config.num_replicas)
            return
        except (APIError, NatsTimeout) as exc:
            # a cluster still forming: no meta leader yet (503), or not all its peers known ("no suitable peers")
            retry = isinstance(exc, NatsTimeout) or (exc.code or 0) >= 500 or exc.err_code == 10005
            if not retry or loop.time() > deadline:
                raise
            await asyncio.sleep(0.25)


@dataclass(slots=True)
class _Known:
    """What this process knows of an originator's subject: its last logged counter and that record's sequence."""

    counter: int | None
    subject_seq: int


def _record(seq: int, headers: dict[str, str] | None, data: bytes) -> LogRecord:
    h = headers or {}
    try:
        return LogRecord(seq, h[_H_ORIGINATOR], int(h[_H_COUNTER]), h[_H_SERVICE],
                         _EPOCH + timedelta(microseconds=int(h[_H_RECEIVED])), bytes(data))
    except (KeyError, ValueError) as exc:
        raise ValueError(f"stream message {seq} is not a gbsmart request record (header {exc})") from None


class JetStreamLog:
    """The request log on a JetStream stream; see the module docstring. Use from one event loop."""

    def __init__(self, nc: Client, js: JetStreamContext, *, stream: str, prefix: str, max_pending: int,
                 publish_timeout: float) -> None:
        self.stream = stream
        self.prefix = prefix
        self._nc = nc
        self._js = js
        self._known: dict[str, _Known] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._space = asyncio.Semaphore(max_pending)
        self._max_pending = max_pending
        self._timeout = publish_timeout
        self._closing = False
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._writer = uuid.uuid4().hex  # whose publish a duplicate is: ours (a resend) or another process's
        self._writes = 0
        #: publishes JetStream refused because another process had appended for the originator meanwhile
        self.conflicts = 0
        #: publishes JetStream answered as duplicates of another process's (the same originator and counter)
        self.duplicates = 0
        #: publishes sent again after a timeout (JetStream's duplicate window keeps one copy)
        self.resent = 0

    @classmethod
    async def open(cls, servers: str | Sequence[str], *, stream: str = DEFAULT_STREAM, prefix: str = DEFAULT_PREFIX,
                   replicas: int = 1, max_pending: int = 8192, publish_timeout: float = 5.0,
                   connect_timeout: float = 5.0, ready_timeout: float = 20.0) -> JetStreamLog:
        """Connect to ``servers`` and the stream (created if missing: file storage, ``replicas`` copies)."""
        urls = [servers] if isinstance(servers, str) else list(servers)
        owner: list[JetStreamLog] = []  # the log, once made: its disconnect callback asks whether it is closing
        try:
            # the client retries the first connection as it retries later ones (for ever): bounded here instead
            nc = await asyncio.wait_for(
                nats.connect(servers=urls, connect_timeout=connect_timeout, max_reconnect_attempts=-1,
                             reconnect_time_wait=0.5, allow_reconnect=True, name="gbsmart-gateway",
                             error_cb=_nats_error, disconnected_cb=_on_disconnect(owner),
                             reconnected_cb=_nats_reconnected),
                timeout=connect_timeout * 2)
        except (TimeoutError, NoServersError, OSError) as exc:
            raise LogClosed(f"cannot reach NATS at {', '.join(urls)} ({str(exc) or type(exc).__name__}): start "
                            "nats-server with JetStream (`nats-server -js`) or correct GBSMART_NATS_URLS") from None
        js = nc.jetstream(timeout=publish_timeout)
        config = StreamConfig(name=stream, subjects=[f"{prefix}.>"], storage=StorageType.FILE,
                              num_replicas=replicas, duplicate_window=DUPLICATE_WINDOW_S)
        try:
            await _ensure_stream(js, config, ready_timeout)
        except APIError as exc:
            await nc.close()
            raise LogClosed(f"JetStream refused the stream {stream}: {exc.description} (is nats-server started "
                            "with -js? in a cluster, are enough nodes up for the replicas?)") from None
        except NatsTimeout:
            await nc.close()
            raise LogClosed(f"NATS at {', '.join(urls)} did not answer for JetStream: start nats-server with -js "
                            "(JetStream enabled)") from None
        made = cls(nc, js, stream=stream, prefix=prefix, max_pending=max_pending, publish_timeout=publish_timeout)
        owner.append(made)
        return made

    # ------------------------------------------------------------ counters

    @property
    def connected(self) -> bool:
        """Connected to a NATS server now (False while the client reconnects, and once closed)."""
        return bool(self._nc.is_connected) and not self._closing

    def subject(self, originator: str) -> str:
        return f"{self.prefix}.{subject_token(originator)}"

    def last_counter(self, originator: str) -> int | None:
        """The highest counter this process knows to be logged for ``originator`` (too low at worst), or None."""
        known = self._known.get(originator)
        return None if known is None else known.counter

    def last_counters(self) -> dict[str, int]:
        return {o: k.counter for o, k in self._known.items() if k.counter is not None}

    async def load_counter(self, originator: str) -> int | None:
        """The originator's last logged counter as JetStream has it now (and remembered)."""
        return (await self._refresh(originator)).counter

    async def _refresh(self, originator: str) -> _Known:
        try:
            message = await self._js.get_last_msg(self.stream, self.subject(originator))
        except NotFoundError:
            known = _Known(None, 0)
        except (TimeoutError, NatsError) as exc:
            raise LogClosed(f"the request log (JetStream) did not answer: {str(exc) or type(exc).__name__}") from None
        else:
            number = message.seq or 0
            record = _record(number, message.headers, message.data or b"")
            known = _Known(int((message.headers or {}).get(_H_HIGH, record.counter)), number)
        self._known[originator] = known
        return known

    # ------------------------------------------------------------ appends

    async def append(self, *, originator: str, counter: int, service: str, received_at: datetime,
                     body: bytes, check_counter: bool = True) -> LogRecord:
        """``body`` stored by JetStream before this returns; CounterNotIncreasing for a replay (see the module)."""
        if not 0 <= counter < 2**64:
            raise ValueError("the counter is an unsigned 64-bit integer")
        entry = LogEntry(originator, counter, service, received_at, body)
        micros = _micros(received_at)
        self._check_open()
        async with self._locks[originator], self._space:  # lock, then room: as append_many takes them
            result = await self._publish(entry, micros, check_counter)
        if isinstance(result, CounterNotIncreasing):
            raise result
        return result

    async def append_many(self, entries: Sequence[LogEntry]) -> list[LogRecord | CounterNotIncreasing]:
        """Each entry stored, one originator's in order, before this returns; a replay answered in place."""
        if len(entries) > self._max_pending:
            raise ValueError(f"append_many takes at most max_pending ({self._max_pending}) entries at once; "
                             f"split the {len(entries)} into smaller batches")
        micros = []
        for entry in entries:
            if not 0 <= entry.counter < 2**64:
                raise ValueError("the counter is an unsigned 64-bit integer")
            micros.append(_micros(entry.received_at))
        self._check_open()
        by_originator: dict[str, list[int]] = defaultdict(list)
        for i, entry in enumerate(entries):
            by_originator[entry.originator].append(i)
        results: list[LogRecord | CounterNotIncreasing | None] = [None] * len(entries)

        async def chain(originator: str, positions: list[int]) -> None:
            async with self._locks[originator]:
                for i in positions:
                    async with self._space:
                        results[i] = await self._publish(entries[i], micros[i], True)

        chains = [asyncio.ensure_future(chain(o, p)) for o, p in by_originator.items()]
        try:
            await asyncio.gather(*chains)
        except BaseException:
            for task in chains:
                task.cancel()
            raise
        return results  # type: ignore[return-value]  # every position was filled in

    async def _publish(self, entry: LogEntry, micros: int, check_counter: bool) -> LogRecord | CounterNotIncreasing:
        """One record published and acknowledged; the caller holds the originator's lock."""
        originator, counter = entry.originator, entry.counter
        known = self._known.get(originator)
        if known is None:
            known = await self._refresh(originator)
        self._writes += 1
        writer = f"{self._writer}:{self._writes}"
        headers = {_H_ORIGINATOR: originator, _H_COUNTER: str(counter), _H_SERVICE: entry.service,
                   _H_RECEIVED: str(micros), _H_WRITER: writer}
        # a checked record is one per originator and counter; an unchecked one (a Signed Pre-Command) repeats one
        headers[_H_MSG_ID] = f"{originator}:{counter}" if check_counter else f"{originator}:{counter}:{micros}"
        for _ in range(64):  # each turn follows one other process's append: bounded, never a live lock in practice
            if check_counter and known.counter is not None and counter <= known.counter:
                return _not_increasing(originator, counter, known.counter)
            headers[_H_EXPECTED] = str(known.subject_seq)
            high = counter if known.counter is None else max(counter, known.counter)
            headers[_H_HIGH] = str(high)
            try:
                ack = await self._send(self.subject(originator), entry.body, headers)
            except APIError as exc:
                if exc.err_code != WRONG_LAST_SEQUENCE:
                    raise LogClosed(f"JetStream refused the request: {exc.description}") from None
                self.conflicts += 1
                known = await self._refresh(originator)
                continue
            if ack.duplicate:  # that Msg-Id is stored already: ours (a resend after a lost PubAck) or another's
                try:
                    stored = await self._js.get_msg(self.stream, ack.seq)
                except (TimeoutError, NatsError) as exc:
                    raise LogClosed(f"the request log (JetStream) did not answer: {str(exc) or type(exc).__name__}") \
                        from None
                if (stored.headers or {}).get(_H_WRITER) != writer:  # another process logged this counter first
                    self.duplicates += 1
                    known = await self._refresh(originator)
                    return _not_increasing(originator, counter, known.counter if known.counter is not None else counter)
            record = LogRecord(ack.seq, originator, counter, entry.service, entry.received_at, entry.body)
            self._known[originator] = _Known(high, ack.seq)
            return record
        raise LogClosed(f"the request could not be logged: {originator}'s subject kept changing under it")

    async def _send(self, subject: str, body: bytes, headers: dict[str, str]) -> Any:
        """One publish and its PubAck; sent once more (the same Msg-Id: JetStream keeps one copy) if the PubAck
        did not come (a timeout, or no stream leader for a moment in a cluster). APIError is the caller's."""
        for attempt in (1, 2):
            try:
                return await self._js.publish(subject, body, headers=headers, timeout=self._timeout)
            except APIError:
                raise
            except ConnectionClosedError as exc:
                raise LogClosed(f"the request was not logged: the connection to NATS is closed ({exc})") from None
            except (TimeoutError, NatsError) as exc:  # nats' TimeoutError, NoStreamResponseError and the like
                if attempt == 2:
                    raise LogClosed(f"the request was not logged: JetStream did not acknowledge it "
                                    f"({str(exc) or type(exc).__name__}); send it again later") from None
                self.resent += 1
                if not isinstance(exc, TimeoutError):
                    await asyncio.sleep(0.2)  # no leader yet: give the election a moment
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ reading

    async def records_from(self, seq: int = 1, *, batch: int = 256) -> AsyncIterator[LogRecord]:
        """The records from ``seq`` on, in order, up to the last one stored when this started. Every one of them,
        or ``LogClosed``: a read that stalls (JetStream unavailable) is never taken for the end of the log."""
        info = await self._js.stream_info(self.stream)
        last = info.state.last_seq
        if seq > last or info.state.messages == 0:
            return
        # an ephemeral reader of one replica in memory: made quickly, even with a node of the cluster down
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=max(1, seq),
                                ack_policy=AckPolicy.NONE, inactive_threshold=60.0, num_replicas=1,
                                mem_storage=True)
        for attempt in range(1, 6):
            try:
                subscription = await self._js.pull_subscribe(f"{self.prefix}.>", stream=self.stream, config=config)
                break
            except (TimeoutError, NatsError) as exc:
                if attempt == 5:
                    raise LogClosed(f"the request log could not be read ({str(exc) or type(exc).__name__})") \
                        from None
                await asyncio.sleep(0.5)
        position, stalls = max(1, seq) - 1, 0
        try:
            while position < last:
                try:
                    messages = await subscription.fetch(min(batch, last - position), timeout=2.0)
                except NatsTimeout:
                    stalls += 1
                    if stalls >= 5:
                        raise LogClosed(f"reading the request log stalled at record {position} of {last}") from None
                    continue
                stalls = 0
                for message in messages:
                    position = message.metadata.sequence.stream
                    yield _record(position, message.headers, message.data or b"")
                    if position >= last:
                        return
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    def read_from(self, seq: int = 1) -> Iterator[LogRecord]:
        """``records_from`` for a worker thread (``simulator.recovery``); not callable on the event loop's thread."""
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError("JetStreamLog.read_from blocks: call it from a worker thread, or use records_from")
        queue: asyncio.Queue[LogRecord | None] = asyncio.Queue(maxsize=1024)  # bound: the loop waits for the reader
        failure: list[BaseException] = []

        async def pump() -> None:
            try:
                async for record in self.records_from(seq):
                    await queue.put(record)
            except BaseException as exc:
                failure.append(exc)
            finally:
                await queue.put(None)

        asyncio.run_coroutine_threadsafe(pump(), self._loop)
        while True:
            item = asyncio.run_coroutine_threadsafe(queue.get(), self._loop).result()
            if item is None:
                break
            yield item
        if failure:
            raise failure[0]

    # ------------------------------------------------------------ life cycle

    def _check_open(self) -> None:
        if self._closing:
            raise LogClosed("the request log is closed")
        if self._nc.is_closed:
            raise LogClosed("the request log is closed: the connection to NATS was closed")

    async def close(self) -> None:
        """Wait for appends in flight, then close the connection."""
        if self._closing:
            return
        self._closing = True
        for _ in range(self._max_pending):  # every slot back: nothing is in flight
            await self._space.acquire()
        with contextlib.suppress(Exception):
            await self._nc.drain()


# ---------------------------------------------------------------- device work across processes

WORK_STREAM_SUFFIX = "_DEVICE_WORK"
_H_LOG_SEQ = "Gbsmart-Log-Seq"


@dataclass(frozen=True, slots=True)
class WorkItem:
    """An acknowledged Send Command request for the device simulator: its log record's seq, time and body."""

    log_seq: int
    received_at: datetime
    body: bytes


class DeviceWork:
    """The acknowledged Send Command requests of every gateway process, for the one that runs the simulator.

    A work-queue stream (``<request stream>_DEVICE_WORK``, subject ``<prefix>-work.device``): a process that
    acknowledges a Send Command request publishes it here (after its journal row is queued, so a quarantined
    request is not published until released); the process holding the background role consumes it with the
    durable consumer ``simulator`` and acknowledges each item once the simulator has it. An item redelivered after
    a crash is given again; the consumer drops the seqs it has already been given (``seen``).
    """

    def __init__(self, log_: JetStreamLog) -> None:
        self._js = log_._js
        self.stream = f"{log_.stream}{WORK_STREAM_SUFFIX}"
        self.subject = f"{log_.prefix}-work.device"  # outside the request log's <prefix>.>
        self._replicas = 1
        self._task: asyncio.Task[None] | None = None
        self.seen: set[int] = set()
        self.given = 0

    @classmethod
    async def open(cls, log_: JetStreamLog, *, replicas: int = 1) -> DeviceWork:
        work = cls(log_)
        config = StreamConfig(name=work.stream, subjects=[work.subject], storage=StorageType.FILE,
                              retention=RetentionPolicy.WORK_QUEUE, num_replicas=replicas,
                              duplicate_window=DUPLICATE_WINDOW_S)
        await _ensure_stream(work._js, config, 20.0)
        return work

    async def publish(self, log_seq: int, received_at: datetime, body: bytes) -> None:
        headers = {_H_LOG_SEQ: str(log_seq), _H_RECEIVED: str(_micros(received_at)), _H_MSG_ID: f"work:{log_seq}"}
        try:
            await self._js.publish(self.subject, body, headers=headers)
        except (NatsTimeout, TimeoutError, ConnectionClosedError, APIError) as exc:
            raise LogClosed(f"the request was logged but not handed to the device simulator ({exc}); it is "
                            "completed when the background process next starts") from None

    def start(self, handler: Callable[[WorkItem], Awaitable[None]], *, batch: int = 256) -> None:
        """Consume the work with ``handler`` (it returns once the simulator holds the item) until ``close``."""
        self._task = asyncio.get_running_loop().create_task(self._consume(handler, batch), name="device-work")

    async def _consume(self, handler: Callable[[WorkItem], Awaitable[None]], batch: int) -> None:
        config = ConsumerConfig(durable_name="simulator", ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0,
                                max_ack_pending=20_000)
        subscription = await self._js.pull_subscribe(self.subject, durable="simulator", stream=self.stream,
                                                     config=config)
        while True:
            try:
                messages = await subscription.fetch(batch, timeout=1.0)
            except NatsTimeout:
                continue
            except (ConnectionClosedError, NoServersError):
                await asyncio.sleep(0.5)
                continue
            for message in messages:
                headers = message.headers or {}
                try:
                    item = WorkItem(int(headers[_H_LOG_SEQ]),
                                    _EPOCH + timedelta(microseconds=int(headers[_H_RECEIVED])), bytes(message.data))
                except (KeyError, ValueError):
                    log.error("device work message %s is not a gbsmart work item: dropped", message.metadata)
                    await message.term()
                    continue
                if item.log_seq not in self.seen:
                    self.seen.add(item.log_seq)
                    try:
                        await handler(item)
                    except Exception:
                        self.seen.discard(item.log_seq)
                        log.exception("the device simulator refused work item %d: redelivered later", item.log_seq)
                        await message.nak(delay=1.0)
                        continue
                    self.given += 1
                await message.ack()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


# ---------------------------------------------------------------- the background lease

LEASE_KEY = "background"


class Lease:
    """Which gateway process runs the background work, held in a JetStream key-value bucket with a TTL.

    The bucket is ``<request stream>_LEASES`` with ``ttl`` as its age limit: a value not renewed within ``ttl`` is
    gone. ``try_acquire`` creates the key (refused while another holds it); the holder renews it every third of the
    TTL with an update that names the revision it last wrote, so a holder that was too slow (its lease expired and
    another took it) finds out at its next renewal and must stop (``Gateway._lease_forever``).
    """

    def __init__(self, kv: Any, ttl: float, holder: str) -> None:
        self._kv = kv
        self.ttl = ttl
        self.holder = holder
        self.held = False
        self._revision = 0

    @classmethod
    async def open(cls, log_: JetStreamLog, *, ttl: float = 10.0, replicas: int = 1) -> Lease:
        from nats.js.api import KeyValueConfig

        bucket = f"{log_.stream}_LEASES"
        try:
            kv = await log_._js.key_value(bucket)
        except (NotFoundError, APIError):
            kv = await log_._js.create_key_value(KeyValueConfig(bucket=bucket, ttl=ttl, history=1,
                                                                replicas=replicas))
        return cls(kv, ttl, f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")

    async def try_acquire(self) -> bool:
        from nats.js.errors import KeyWrongLastSequenceError

        try:
            self._revision = await self._kv.create(LEASE_KEY, self.holder.encode())
        except (KeyWrongLastSequenceError, APIError):
            return False
        self.held = True
        return True

    async def renew(self) -> bool:
        from nats.js.errors import KeyWrongLastSequenceError

        try:
            self._revision = await self._kv.update(LEASE_KEY, self.holder.encode(), last=self._revision)
        except (KeyWrongLastSequenceError, APIError):
            self.held = False
            return False
        return True

    async def release(self) -> None:
        """Give the lease up at once (a clean stop), so another process takes it without waiting for the TTL."""
        if self.held:
            with contextlib.suppress(Exception):
                await self._kv.delete(LEASE_KEY, last=self._revision)
            self.held = False


# ---------------------------------------------------------------- Anomaly Detection counts across processes

ADT_BUCKET_SUFFIX = "_ADT"


class AdtShare:
    """Each gateway process's Anomaly Detection counts, shared through a KV bucket (``<request stream>_ADT``), so
    that a User's thresholds (and the DCC-wide ones) hold over every process together, not over each alone.

    Every ``interval`` seconds each process puts its own counts in the current windows (``AdtCounters.own``) under
    its own key, and reads the others' keys into ``AdtCounters.set_others``; ``check`` then counts a request
    against the sum. The sum is at most ``interval`` (plus a round trip) behind the other processes: in that time
    they may accept what the thresholds would have quarantined, and that is the bound (docs/jetstream.md). A
    process that stops leaves its key, since its requests still count, until the bucket's TTL (the longest
    period, at least a day) removes it.
    """

    def __init__(self, kv: Any, counters: Any, clock: Callable[[], datetime], interval: float) -> None:
        self._kv = kv
        self._counters = counters
        self._clock = clock
        self.interval = interval
        self.key = f"p-{uuid.uuid4().hex[:16]}"
        self._task: asyncio.Task[None] | None = None
        #: shares read from other processes at the last exchange
        self.others = 0
        self.exchanges = 0

    @classmethod
    async def open(cls, log_: JetStreamLog, counters: Any, clock: Callable[[], datetime], *, interval: float = 1.0,
                   ttl: float = 86_400.0, replicas: int = 1) -> AdtShare:
        from nats.js.api import KeyValueConfig

        bucket = f"{log_.stream}{ADT_BUCKET_SUFFIX}"
        try:
            kv = await log_._js.key_value(bucket)
        except (NotFoundError, APIError):
            kv = await log_._js.create_key_value(KeyValueConfig(bucket=bucket, ttl=ttl, history=1,
                                                                replicas=replicas))
        return cls(kv, counters, clock, interval)

    async def read_others(self) -> int:
        """Read every other process's counts into the counters now; how many processes shared some."""
        import json

        from nats.js.errors import NoKeysError

        try:
            keys = [k for k in await self._kv.keys() if k != self.key]
        except NoKeysError:
            keys = []
        shares = []
        for key in keys:
            try:
                entry = await self._kv.get(key)
            except Exception:  # removed (TTL) between keys() and get()
                continue
            with contextlib.suppress(ValueError):
                shares.append(json.loads(entry.value or b"{}"))
        self._counters.set_others(shares)
        self.others = len(shares)
        return len(shares)

    async def exchange(self) -> None:
        """Put this process's counts, then read the others'."""
        import json

        own = self._counters.own(self._clock())
        await self._kv.put(self.key, json.dumps(own, separators=(",", ":")).encode())
        await self.read_others()
        self.exchanges += 1

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._forever(), name="gateway-adt-share")

    async def _forever(self) -> None:
        warned = False
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.exchange()
                warned = False
            except Exception as exc:  # NATS unavailable: counting goes on with the last shares read
                if not warned:
                    log.warning("sharing the ADT counts failed (%s); each process counts alone until it works",
                                str(exc) or type(exc).__name__)
                    warned = True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.exchange()  # the last counts, for the processes that go on


# ---------------------------------------------------------------- what an operator looks at

async def describe(servers: Sequence[str], stream: str, *, timeout: float = 5.0) -> dict[str, Any]:
    """The request log stream, the device work and the background lease as JetStream has them now (read only:
    nothing is created). ``gbsmart gateway log-status`` prints it."""
    try:
        nc = await asyncio.wait_for(nats.connect(servers=list(servers), connect_timeout=timeout,
                                                 allow_reconnect=False, error_cb=_nats_error), timeout * 2)
    except (TimeoutError, NoServersError, OSError) as exc:
        raise LogClosed(f"cannot reach NATS at {', '.join(servers)} ({str(exc) or type(exc).__name__})") from None
    js = nc.jetstream(timeout=timeout)
    out: dict[str, Any] = {"stream": stream}
    try:
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            out["exists"] = False
            return out
        state, config = info.state, info.config
        out.update(exists=True, subjects=config.subjects, replicas=config.num_replicas, messages=state.messages,
                   bytes=state.bytes, first_seq=state.first_seq, last_seq=state.last_seq)
        if info.cluster is not None:
            out["leader"] = info.cluster.leader
            out["peers"] = [{"name": p.name, "current": p.current, "lag": p.lag} for p in info.cluster.replicas or []]
        try:
            work = await js.stream_info(f"{stream}{WORK_STREAM_SUFFIX}")
            out["device_work_waiting"] = work.state.messages
            consumer = await js.consumer_info(f"{stream}{WORK_STREAM_SUFFIX}", "simulator")
            out["device_work_unacknowledged"] = consumer.num_ack_pending
        except NotFoundError:
            pass
        try:  # the northbound cache (alerts.northbound_stream): what it holds is what is still owed to Users
            cache = await js.stream_info(f"{stream}_NORTHBOUND", subjects_filter=">")
            owed: dict[str, int] = {}
            for subject, count in (cache.state.subjects or {}).items():
                owed[subject.rsplit(".", 1)[-1]] = owed.get(subject.rsplit(".", 1)[-1], 0) + int(count)
            out["northbound_messages"] = cache.state.messages
            out["northbound_by_class"] = owed
            out["northbound_users"] = len({subject.split(".")[-2] for subject in cache.state.subjects or {}})
            if cache.cluster is not None:
                out["northbound_leader"] = cache.cluster.leader
        except NotFoundError:
            pass
        try:
            kv = await js.key_value(f"{stream}_LEASES")
            entry = await kv.get(LEASE_KEY)
            out["lease_holder"] = (entry.value or b"").decode() or None
        except (NotFoundError, APIError):
            out["lease_holder"] = None
        except Exception as exc:  # a deleted or expired key: nobody holds it
            out["lease_holder"] = None if "not found" in str(exc).lower() or "deleted" in str(exc).lower() else \
                f"unknown ({exc})"
        return out
    finally:
        await nc.close()

"""The durable request log: every accepted DUIS request is here, fsynced, before the gateway acknowledges it.

One small interface (``RequestLog``: ``open``, ``append``, ``append_many``, ``last_counter``, ``load_counter``,
``read_from``, ``records_from``, ``close``), which ``gateway.jetstream.JetStreamLog`` also implements on NATS
JetStream (decision 0029). The embedded default is one append-only file of framed records
(``length``, ``CRC32``, payload; little-endian), written by **group commit**: appends from many coroutines are
queued, and one writer thread writes each batch with one ``write`` and one ``fdatasync``; an ``append`` returns
only after the fsync of its batch, so a returned record survives ``kill -9`` and power loss (as far as the disk
honours fsync). The queue is bounded: ``append`` waits while it is full (back-pressure). The RequestID counter
must increase strictly per originator (DUIS 3.1); it is checked and reserved in memory when ``append`` is
called, so two concurrent appends of one counter cannot both succeed. ``append_many`` logs a batch the caller
already holds with one await and one future (its records are written whole, in one ``write`` and ``fdatasync``
with whatever else is queued): each record's counter is checked as ``append`` checks it, and a refused one is
answered by its ``CounterNotIncreasing`` in the result, not raised. A failed write fails every caller of
that batch and every later one: the log is then closed for writing until reopened, never acknowledging what
it could not store. ``open`` recovers: it verifies every frame, truncates a torn or corrupt tail (saying how
much it dropped) and rebuilds each originator's last counter. docs/decisions/0022-request-log.md says why.
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import logging
import os
import struct
import zlib
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from gbsmart.gateway.errors import DuisRefused

log = logging.getLogger(__name__)

#: a frame: payload length, CRC32 of the payload
_FRAME = struct.Struct("<II")
#: the payload's fixed part: seq, counter, received_at (µs since the epoch, UTC), originator and service lengths
_FIXED = struct.Struct("<QQqHH")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: no record is larger than this; a frame claiming more is a corrupt tail
MAX_RECORD_BYTES = 16 * 1024 * 1024
_READ_CHUNK = 1024 * 1024


class CounterNotIncreasing(DuisRefused):
    """The RequestID counter is not above the last one logged for this originator (a replay or a decrease)."""


def _not_increasing(originator: str, counter: int, last: int) -> CounterNotIncreasing:
    return CounterNotIncreasing(
        f"the RequestID counter {counter} is not greater than {last}, the last one the DCC accepted "
        f"from {originator}: each request needs a counter above the previous one (a replay is refused)")


class LogClosed(RuntimeError):
    """The log is closed, or a write failed and it refuses further appends until reopened."""


class LogLocked(RuntimeError):
    """Another process (or another ``RequestLog`` in this one) has the log open: it has one writer."""


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One accepted request as logged: ``seq`` numbers records 1, 2, 3, ... in the order they were made durable."""

    seq: int
    originator: str
    counter: int
    service: str
    received_at: datetime
    body: bytes


class LogEntry(NamedTuple):
    """One request for ``append_many``: what ``append`` takes as keywords."""

    originator: str
    counter: int
    service: str
    received_at: datetime
    body: bytes


@dataclass(slots=True)
class _Pending:
    """Queued records (one from ``append``, a batch from ``append_many``), their micros, one future: the first seq."""

    entries: Sequence[LogEntry]
    micros: list[int]
    done: asyncio.Future[int]


@dataclass(slots=True)
class _Recovered:
    size: int
    next_seq: int
    last_counters: dict[str, int]
    dropped_bytes: int
    index: list[int] = field(default_factory=list)


def _micros(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware (UTC)")
    return (at - _EPOCH) // timedelta(microseconds=1)


def encode(record: LogRecord, micros: int | None = None) -> bytes:
    """``record`` framed as it is stored: length, CRC32, payload (``micros``: its received_at, if known)."""
    at = _micros(record.received_at) if micros is None else micros
    return _frame(record.seq, record.originator, record.counter, record.service, at, record.body)


def _frame(seq: int, originator_text: str, counter: int, service_text: str, micros: int, body: bytes) -> bytes:
    originator = originator_text.encode()
    service = service_text.encode()
    payload = b"".join((_FIXED.pack(seq, counter, micros, len(originator), len(service)), originator, service, body))
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def _decode(payload: bytes | memoryview) -> LogRecord:
    seq, counter, micros, n_originator, n_service = _FIXED.unpack_from(payload)
    at = _FIXED.size
    originator = bytes(payload[at:at + n_originator]).decode()
    at += n_originator
    service = bytes(payload[at:at + n_service]).decode()
    at += n_service
    if at > len(payload):
        raise ValueError("the payload is shorter than its header says")
    return LogRecord(seq, originator, counter, service, _EPOCH + timedelta(microseconds=micros), bytes(payload[at:]))


#: an offset is kept in memory for every this many records, so ``read_from`` starts near its record
_INDEX_EVERY = 4096


def _frames(path: Path, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, LogRecord | None]]:
    """(offset, end, record) for each frame from ``start``; a last (offset, offset, None) at a torn or bad frame."""
    with open(path, "rb") as file:
        file.seek(start)
        offset, buffer, at = start, b"", 0  # ``at``: where in ``buffer`` the frame at ``offset`` starts

        def fill(needed: int) -> bool:
            nonlocal buffer, at
            if len(buffer) - at >= needed:
                return True
            buffer = buffer[at:] + file.read(max(_READ_CHUNK, needed))
            at = 0
            return len(buffer) >= needed

        while end is None or offset < end:
            if not fill(_FRAME.size):
                if len(buffer) > at:
                    yield offset, offset, None
                return
            length, crc = _FRAME.unpack_from(buffer, at)
            total = _FRAME.size + length
            if length < _FIXED.size or length > MAX_RECORD_BYTES or not fill(total):
                yield offset, offset, None
                return
            payload = memoryview(buffer)[at + _FRAME.size:at + total]
            try:
                if zlib.crc32(payload) != crc:
                    raise ValueError("CRC mismatch")
                record = _decode(payload)
            except (ValueError, UnicodeDecodeError, struct.error):
                yield offset, offset, None
                return
            yield offset, offset + total, record
            offset += total
            at += total


def _recover(path: Path) -> _Recovered:
    """Scan the file: the end of its last good frame, the next seq, each originator's last counter."""
    last: dict[str, int] = {}
    index: list[int] = []
    expected, good_end, size = 1, 0, path.stat().st_size
    for offset, end, record in _frames(path):
        if record is None or record.seq != expected:
            break
        if (expected - 1) % _INDEX_EVERY == 0:
            index.append(offset)
        last[record.originator] = max(record.counter, last.get(record.originator, 0))
        expected += 1
        good_end = end
    dropped = size - good_end
    if dropped:
        log.warning("request log %s: dropped %d bytes of a torn or corrupt tail after record %d (offset %d)",
                    path, dropped, expected - 1, good_end)
        with open(path, "r+b") as file:
            file.truncate(good_end)
            os.fsync(file.fileno())
    return _Recovered(good_end, expected, last, dropped, index)


class RequestLog:
    """The durable log of accepted requests; see the module docstring. Use from one event loop."""

    def __init__(self, path: Path, fd: int, recovered: _Recovered, *, max_pending: int, max_batch: int) -> None:
        self.path = path
        self.dropped_bytes = recovered.dropped_bytes
        self._durable = dict(recovered.last_counters)
        self._reserved = dict(recovered.last_counters)
        self._next_seq = recovered.next_seq
        self._size = recovered.size
        self._index = recovered.index
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._space = asyncio.Semaphore(max_pending)
        self._batch_turn = asyncio.Lock()
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._failure: BaseException | None = None
        self._closing = False
        #: how many batches (one write and one fdatasync each) the writer has made durable
        self.batches_written = 0
        self._fd = fd
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="request-log")
        self._writer = asyncio.get_running_loop().create_task(self._write_batches(), name="request-log-writer")

    @classmethod
    async def open(cls, path: Path | str, *, max_pending: int = 8192, max_batch: int = 2048) -> RequestLog:
        """The log at ``path`` (created if missing), recovered: a torn or corrupt tail truncated, counters rebuilt."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            os.close(fd)
            directory = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)  # the new file's name is durable too
            finally:
                os.close(directory)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            # one writer: a second process would interleave its batches, and its recovery could cut the first's
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LogLocked(f"the request log {path} is open in another process (or another RequestLog): "
                            "one gateway process writes it") from None
        try:
            recovered = await asyncio.get_running_loop().run_in_executor(None, _recover, path)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, recovered, max_pending=max_pending, max_batch=max_batch)

    def last_counter(self, originator: str) -> int | None:
        """The highest counter durably logged for ``originator``, or None if it has none."""
        return self._durable.get(originator)

    async def load_counter(self, originator: str) -> int | None:
        """As ``last_counter`` (every counter is in memory here; the JetStream engine asks its server)."""
        return self._durable.get(originator)

    def last_counters(self) -> dict[str, int]:
        """Every originator's highest durably logged counter (what a worker process starts from, decision 0025)."""
        return dict(self._durable)

    async def append(self, *, originator: str, counter: int, service: str, received_at: datetime,
                     body: bytes, check_counter: bool = True) -> LogRecord:
        """``body`` logged durably (its batch fsynced) before this returns; CounterNotIncreasing for a replay.

        ``check_counter`` False: a counter at or below the last is logged too (a Signed Pre-Command repeats its
        Transform request's counter, ``gateway.transform``); it never lowers the originator's last counter.
        """
        if not 0 <= counter < 2**64:
            raise ValueError("the counter is an unsigned 64-bit integer")
        micros = _micros(received_at)
        await self._space.acquire()
        try:
            self._check_open()
            last = self._reserved.get(originator)
            if check_counter and last is not None and counter <= last:
                raise _not_increasing(originator, counter, last)
        except BaseException:
            self._space.release()
            raise
        # no await between the check and the queueing: the reservation and the write order are the same
        self._reserved[originator] = max(counter, last if last is not None else 0)  # never lowered
        entry = LogEntry(originator, counter, service, received_at, body)
        seq = await self._enqueue([entry], [micros])  # cancelling the caller cancels it; the writer skips it
        return LogRecord(seq, originator, counter, service, received_at, body)

    async def append_many(self, entries: Sequence[LogEntry]) -> list[LogRecord | CounterNotIncreasing]:
        """Each entry logged durably, in order, before this returns (one await, one future for the lot).

        The result has one item per entry: its ``LogRecord``, or the ``CounterNotIncreasing`` that refuses it
        (not above the originator's last counter, nor above an earlier entry's of the same originator), which
        is not raised and logs nothing. At most ``max_pending`` entries at once (ValueError otherwise).
        """
        if len(entries) > self._max_pending:
            raise ValueError(f"append_many takes at most max_pending ({self._max_pending}) entries at once; "
                             f"split the {len(entries)} into smaller batches")
        micros = []
        for entry in entries:
            if not 0 <= entry.counter < 2**64:
                raise ValueError("the counter is an unsigned 64-bit integer")
            micros.append(_micros(entry.received_at))
        held = 0
        try:
            async with self._batch_turn:  # one batch at a time gathers its room: two could each hold half of it
                for _ in entries:
                    await self._space.acquire()
                    held += 1
            self._check_open()
        except BaseException:
            for _ in range(held):
                self._space.release()
            raise
        results: list[LogRecord | CounterNotIncreasing | None] = []
        accepted: list[LogEntry] = []
        accepted_micros: list[int] = []
        reserved = self._reserved
        for entry, at in zip(entries, micros, strict=True):
            last = reserved.get(entry.originator)
            if last is not None and entry.counter <= last:
                results.append(_not_increasing(entry.originator, entry.counter, last))
                self._space.release()
                continue
            reserved[entry.originator] = entry.counter
            accepted.append(entry)
            accepted_micros.append(at)
            results.append(None)  # its LogRecord once durable
        if accepted:
            seq = await self._enqueue(accepted, accepted_micros)
            logged = iter(accepted)
            for i, result in enumerate(results):
                if result is None:
                    e = next(logged)
                    results[i] = LogRecord(seq, e.originator, e.counter, e.service, e.received_at, e.body)
                    seq += 1
        return results  # type: ignore[return-value]  # every None was filled in

    def _enqueue(self, entries: Sequence[LogEntry], micros: list[int]) -> asyncio.Future[int]:
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(entries, micros, done))
        self._wake.set()
        return done

    def read_from(self, seq: int = 1) -> Iterator[LogRecord]:
        """The durable records from ``seq`` on, in order (those made durable while iterating may be included)."""
        slot = max(0, min((seq - 1) // _INDEX_EVERY, len(self._index) - 1))
        start = self._index[slot] if self._index else 0
        for _, _, record in _frames(self.path, start, self._size):
            if record is None:
                return
            if record.seq >= seq:
                yield record

    async def records_from(self, seq: int = 1) -> AsyncIterator[LogRecord]:
        """``read_from`` on the event loop (the file is read in a worker thread, a chunk of records at a time)."""
        records = self.read_from(seq)
        loop = asyncio.get_running_loop()
        while chunk := await loop.run_in_executor(None, lambda: list(itertools.islice(records, 1024))):
            for record in chunk:
                yield record

    async def close(self) -> None:
        """Wait for queued appends to be made durable, then close the file."""
        if self._closing:
            return
        self._closing = True
        self._wake.set()
        await self._writer
        os.close(self._fd)
        self._thread.shutdown(wait=True)

    def _check_open(self) -> None:
        if self._failure is not None:
            raise LogClosed(f"the request log could not be written ({self._failure}); reopen it to recover")
        if self._closing:
            raise LogClosed("the request log is closed")

    async def _write_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing or self._failure is not None:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            # whole queue items, up to max_batch records (an append_many batch larger than that goes alone)
            batch = [self._queue.popleft()]
            count = len(batch[0].entries)
            while self._queue and count + len(self._queue[0].entries) <= self._max_batch:
                batch.append(self._queue.popleft())
                count += len(batch[-1].entries)
            first = self._next_seq
            try:
                if self._failure is not None:
                    raise LogClosed(f"the request log could not be written ({self._failure})")
                offsets = await loop.run_in_executor(self._thread, self._write, batch, first, self._size)
            except BaseException as exc:  # a failed write acknowledges nobody in its batch, nor after it
                self._failure = self._failure or exc
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_exception(LogClosed(f"the request was not logged: {exc}"))
                    for _ in pending.entries:
                        self._space.release()
                continue
            seq, durable, index = first, self._durable, self._index
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_result(seq)
                for entry in pending.entries:
                    if (seq - 1) % _INDEX_EVERY == 0:
                        index.append(offsets[seq - first])
                    durable[entry.originator] = max(entry.counter, durable.get(entry.originator, 0))
                    seq += 1
                    self._space.release()
            self._next_seq = seq
            self.batches_written += 1
            self._size = offsets[-1]

    def _write(self, batch: list[_Pending], first: int, size: int) -> list[int]:
        """In the writer thread: one write and one fdatasync for the batch; each frame's offset, then the end."""
        frames = []
        seq = first
        for pending in batch:
            for entry, micros in zip(pending.entries, pending.micros, strict=True):
                frames.append(_frame(seq, entry.originator, entry.counter, entry.service, micros, entry.body))
                seq += 1
        offsets = [size]
        for frame in frames:
            offsets.append(offsets[-1] + len(frame))
        data = memoryview(b"".join(frames))
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
        os.fdatasync(self._fd)
        return offsets

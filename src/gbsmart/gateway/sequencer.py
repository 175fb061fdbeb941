"""The request log shared by several gateway worker processes: one sequencer owns it, workers reach it by socket.

With ``gbsmart gateway serve --workers N`` (decision 0025) the CPU work (parse, verify, authorise, sign) runs in
N worker processes, and the durable request log (``gateway.log.RequestLog``, decision 0022) stays with one
process, the **sequencer** (the supervising parent), because it has one writer and the RequestID counter must
increase strictly per originator across every request, whichever worker received it.

- ``Sequencer`` listens on a Unix domain socket (mode 0600, in ``gateway_dir``). Each worker's connection
  carries frames (``u32`` length, then the payload); a frame holds a batch of appends, and the sequencer hands
  each frame's appends to one ``RequestLog.append_many`` as they arrive (a Signed Pre-Command's unchecked append
  to ``RequestLog.append``; pipelined: it does not wait for one batch's fsync before reading
  the next), so the log's group commit batches requests from every worker together. Each append's outcome (its
  ``seq``, a counter refusal with its message, or a failure) goes back in a frame of results once its batch is
  fsynced. On connecting, a worker is sent every originator's last durable counter.
- ``RemoteLog`` is the worker's side, with ``RequestLog``'s ``append``, ``last_counter`` and ``close``, so the
  server does not know which it has. ``append`` queues the record and writes every record queued in one event
  loop turn as one frame; it returns only when the sequencer says the record is durable. ``last_counter``
  answers from a local cache (the hello, then every acknowledgement): a lower bound of the sequencer's, so the
  server's early check refuses only true replays, and a replay the cache has not seen yet (one sent to another
  worker) is refused by the sequencer, which ``append`` raises as ``CounterNotIncreasing`` (HTTP 409).
- If the connection is lost (the sequencer died), every waiting ``append`` fails with ``LogClosed`` (the
  request is not acknowledged: it may or may not be in the log, as with a crash of one process) and
  ``on_lost`` is called: the worker then shuts down, and the supervisor, restarted, recovers the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import struct
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gbsmart.gateway.log import CounterNotIncreasing, LogClosed, LogEntry, LogRecord, RequestLog

log = logging.getLogger("gbsmart.gateway.sequencer")

_LENGTH = struct.Struct("<I")
#: an append: id (per connection), counter, received_at (µs since the epoch), originator, service, body lengths,
#: flags (_UNCHECKED: log it whatever its counter, as ``RequestLog.append(check_counter=False)``)
_APPEND = struct.Struct("<IQqHHIB")
_UNCHECKED = 1
#: a result: id, status, value (the seq if accepted), message length
_RESULT = struct.Struct("<IBQH")
_COUNT = struct.Struct("<I")
_HELLO, _APPENDS, _RESULTS = b"H", b"A", b"R"
_OK, _REFUSED, _FAILED = 0, 1, 2
#: no frame is larger than this (a batch of appends is cut well below it)
MAX_FRAME_BYTES = 64 * 1024 * 1024
_BATCH_BYTES = 4 * 1024 * 1024
#: at most this many appends go to the log in one ``append_many`` (well below its ``max_pending``)
_RUN = 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SequencerProtocolError(RuntimeError):
    """A frame that does not follow the protocol: the connection is dropped."""


def _frame(kind: bytes, payload: bytes) -> bytes:
    return _LENGTH.pack(len(payload) + 1) + kind + payload


async def _read_frame(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if not 1 <= length <= MAX_FRAME_BYTES:
        raise SequencerProtocolError(f"a frame of {length} bytes (at most {MAX_FRAME_BYTES})")
    data = await reader.readexactly(length)
    return data[:1], data[1:]


@dataclass(slots=True)
class _Append:
    id: int
    originator: str
    counter: int
    service: str
    micros: int
    body: bytes
    check_counter: bool = True


def _decode_appends(payload: bytes) -> list[_Append]:
    (count,) = _COUNT.unpack_from(payload)
    at, items = _COUNT.size, []
    for _ in range(count):
        id_, counter, micros, n_originator, n_service, n_body, flags = _APPEND.unpack_from(payload, at)
        at += _APPEND.size
        originator = payload[at:at + n_originator].decode()
        at += n_originator
        service = payload[at:at + n_service].decode()
        at += n_service
        body = payload[at:at + n_body]
        at += n_body
        if at > len(payload):
            raise SequencerProtocolError("an append is longer than its frame")
        items.append(_Append(id_, originator, counter, service, micros, body, not flags & _UNCHECKED))
    if at != len(payload):
        raise SequencerProtocolError("bytes left over after the appends of a frame")
    return items


class _Connection:
    """One worker's connection, on the sequencer's side: results are written in one frame per loop turn."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.results: list[bytes] = []
        self.count = 0
        self.scheduled = False

    def result(self, id_: int, status: int, value: int, message: str = "") -> None:
        text = message.encode()[:60000]
        self.results.append(_RESULT.pack(id_, status, value, len(text)) + text)
        self.count += 1
        if not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        if not self.results:
            return
        payload = _COUNT.pack(self.count) + b"".join(self.results)
        self.results, self.count = [], 0
        if not self.writer.is_closing():  # a worker gone: its results have nobody to go to
            self.writer.write(_frame(_RESULTS, payload))


class Sequencer:
    """Serves ``log`` to worker processes on the Unix socket ``path`` (see the module docstring)."""

    def __init__(self, request_log: RequestLog, path: Path,
                 on_appended: Callable[[LogRecord], None] | None = None) -> None:
        self.log = request_log
        self.path = path
        #: called with each record once it is durable (before its result is sent); it must not block
        self._on_appended = on_appended
        self._server: asyncio.AbstractServer | None = None
        self._appends: set[asyncio.Task[None]] = set()
        self._connections: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        #: how many appends the sequencer has been sent, and how many were refused for their counter
        self.appended = 0
        self.refused = 0

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a socket left by a process that died: we hold the log's lock, so it was ours
        self.path.parent.mkdir(parents=True, exist_ok=True)
        old = os.umask(0o177)  # the socket is created 0600: only this user's processes may append
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        finally:
            os.umask(old)

    async def close(self) -> None:
        """Stop listening, let every append received finish (fsynced and answered), then close the log."""
        if self._server is not None:
            self._server.close()
        if self._appends:
            await asyncio.gather(*self._appends, return_exceptions=True)
        await asyncio.sleep(0)  # the results' frames are written on the next loop turn
        for writer in list(self._connections):
            writer.close()
        if self._handlers:  # each sees its connection end
            await asyncio.wait(self._handlers, timeout=5)
        await self.log.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
        connection = _Connection(writer)
        writer.write(_frame(_HELLO, json.dumps(self.log.last_counters()).encode()))
        try:
            while True:
                kind, payload = await _read_frame(reader)
                if kind != _APPENDS:
                    raise SequencerProtocolError(f"an unknown frame type {kind!r}")
                # one task per run of checked appends (RequestLog.append_many: one future, one reservation pass),
                # one per unchecked append, created in arrival order: both check and reserve the counters before
                # their first wait, so the log's order is the order the appends arrived in
                run: list[_Append] = []
                for item in _decode_appends(payload):
                    if item.check_counter:
                        run.append(item)
                        if len(run) < _RUN:
                            continue
                    if run:
                        self._spawn(self._append_many(connection, run))
                        run = []
                    if not item.check_counter:
                        self._spawn(self._append(connection, item))
                if run:
                    self._spawn(self._append_many(connection, run))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker closed its end or died; appends already received still complete
        except SequencerProtocolError as exc:
            log.error("dropping a worker's connection: %s", exc)
        finally:
            self._connections.discard(writer)
            writer.close()
            if handler is not None:
                self._handlers.discard(handler)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._appends.add(task)
        task.add_done_callback(self._appends.discard)

    async def _append_many(self, connection: _Connection, items: list[_Append]) -> None:
        """A run of counter-checked appends of one frame, logged by one ``RequestLog.append_many``."""
        self.appended += len(items)
        try:
            results = await self.log.append_many([
                LogEntry(item.originator, item.counter, item.service, _EPOCH + timedelta(microseconds=item.micros),
                         item.body) for item in items])
        except Exception as exc:  # LogClosed and the like: none of them logged, none acknowledged
            for item in items:
                connection.result(item.id, _FAILED, 0, str(exc) or type(exc).__name__)
            return
        for item, result in zip(items, results, strict=True):
            if isinstance(result, CounterNotIncreasing):
                self.refused += 1
                connection.result(item.id, _REFUSED, item.counter, result.message)
                continue
            connection.result(item.id, _OK, result.seq)
            if self._on_appended is not None:
                try:
                    self._on_appended(result)
                except Exception:  # the record is durable and acknowledged: recovery completes it after a restart
                    log.exception("handing log record %d on failed", result.seq)

    async def _append(self, connection: _Connection, item: _Append) -> None:
        self.appended += 1
        try:
            record = await self.log.append(originator=item.originator, counter=item.counter, service=item.service,
                                           received_at=_EPOCH + timedelta(microseconds=item.micros),
                                           body=item.body, check_counter=item.check_counter)
        except CounterNotIncreasing as exc:
            self.refused += 1
            connection.result(item.id, _REFUSED, item.counter, exc.message)
        except Exception as exc:  # LogClosed and the like: not logged, not acknowledged
            connection.result(item.id, _FAILED, 0, str(exc) or type(exc).__name__)
        else:
            connection.result(item.id, _OK, record.seq)
            if self._on_appended is not None:
                try:
                    self._on_appended(record)
                except Exception:  # the record is durable and acknowledged: recovery completes it after a restart
                    log.exception("handing log record %d on failed", record.seq)


@dataclass(slots=True)
class _Waiting:
    future: asyncio.Future[LogRecord]
    originator: str
    counter: int
    service: str
    received_at: datetime
    body: bytes


class RemoteLog:
    """A worker's view of the sequencer's request log: ``RequestLog``'s ``append``, ``last_counter``, ``close``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counters: dict[str, int],
                 on_lost: Callable[[], None] | None) -> None:
        self._reader, self._writer = reader, writer
        self._counters = counters
        self._on_lost = on_lost
        self._waiting: dict[int, _Waiting] = {}
        self._next_id = 1
        self._out: list[bytes] = []
        self._out_count = 0
        self._out_bytes = 0
        self._scheduled = False
        self._lost: str | None = None
        self._closing = False
        self._drained = asyncio.Event()
        self._drained.set()
        self._task = asyncio.get_running_loop().create_task(self._read_results(), name="remote-log-reader")

    @classmethod
    async def connect(cls, path: Path | str, *, on_lost: Callable[[], None] | None = None) -> RemoteLog:
        """Connect to the sequencer at ``path`` and read its hello (each originator's last durable counter)."""
        try:
            reader, writer = await asyncio.open_unix_connection(str(path), limit=MAX_FRAME_BYTES)
        except OSError as exc:
            raise LogClosed(f"cannot reach the gateway's sequencer at {path} ({exc}): start the gateway with "
                            "`gbsmart gateway serve --workers N`, which starts it") from None
        kind, payload = await _read_frame(reader)
        if kind != _HELLO:
            writer.close()
            raise SequencerProtocolError(f"the sequencer's first frame is {kind!r}, not a hello")
        counters = {str(k): int(v) for k, v in json.loads(payload).items()}
        return cls(reader, writer, counters, on_lost)

    def last_counter(self, originator: str) -> int | None:
        """The highest counter this worker knows to be durably logged for ``originator`` (a lower bound)."""
        return self._counters.get(originator)

    async def append(self, *, originator: str, counter: int, service: str, received_at: datetime,
                     body: bytes, check_counter: bool = True) -> LogRecord:
        """``body`` durably logged by the sequencer before this returns; CounterNotIncreasing for a replay.

        ``check_counter`` False: logged whatever its counter (a Signed Pre-Command repeats its Transform
        request's counter), as ``RequestLog.append``; the sequencer never lowers the originator's last counter.
        """
        if not 0 <= counter < 2**64:
            raise ValueError("the counter is an unsigned 64-bit integer")
        if received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware (UTC)")
        if self._lost is not None:
            raise LogClosed(f"the request was not logged: {self._lost}")
        if self._closing:
            raise LogClosed("the request log is closed")
        id_ = self._next_id
        self._next_id = (id_ + 1) & 0xFFFFFFFF or 1
        future: asyncio.Future[LogRecord] = asyncio.get_running_loop().create_future()
        self._waiting[id_] = _Waiting(future, originator, counter, service, received_at, body)
        self._drained.clear()
        o, s = originator.encode(), service.encode()
        micros = (received_at - _EPOCH) // timedelta(microseconds=1)
        flags = 0 if check_counter else _UNCHECKED
        item = _APPEND.pack(id_, counter, micros, len(o), len(s), len(body), flags) + o + s + body
        self._out.append(item)
        self._out_count += 1
        self._out_bytes += len(item)
        if self._out_bytes >= _BATCH_BYTES:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        if not self._out or self._lost is not None:
            return
        payload = _COUNT.pack(self._out_count) + b"".join(self._out)
        self._out, self._out_count, self._out_bytes = [], 0, 0
        self._writer.write(_frame(_APPENDS, payload))

    async def _read_results(self) -> None:
        reason = "the gateway's sequencer closed the connection"
        try:
            while True:
                kind, payload = await _read_frame(self._reader)
                if kind != _RESULTS:
                    raise SequencerProtocolError(f"an unknown frame type {kind!r}")
                self._results(payload)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except SequencerProtocolError as exc:
            reason = f"the sequencer sent a bad frame ({exc})"
            log.error("%s", reason)
        self._lose(reason)

    def _results(self, payload: bytes) -> None:
        (count,) = _COUNT.unpack_from(payload)
        at = _COUNT.size
        for _ in range(count):
            id_, status, value, n_message = _RESULT.unpack_from(payload, at)
            at += _RESULT.size
            message = payload[at:at + n_message].decode(errors="replace")
            at += n_message
            waiting = self._waiting.pop(id_, None)
            if waiting is None:
                continue
            if status == _OK:
                known = self._counters.get(waiting.originator)
                if known is None or waiting.counter > known:
                    self._counters[waiting.originator] = waiting.counter
                result = LogRecord(value, waiting.originator, waiting.counter, waiting.service,
                                   waiting.received_at, waiting.body)
                if not waiting.future.done():
                    waiting.future.set_result(result)
                continue
            if status == _REFUSED:
                known = self._counters.get(waiting.originator)
                if known is None or value > known:  # the refused counter is at most the sequencer's last
                    self._counters[waiting.originator] = value
                error: Exception = CounterNotIncreasing(message)
            else:
                error = LogClosed(f"the request was not logged: {message}")
            if not waiting.future.done():
                waiting.future.set_exception(error)
        if not self._waiting:
            self._drained.set()

    def _lose(self, reason: str) -> None:
        if self._lost is not None:
            return
        self._lost = reason
        for waiting in self._waiting.values():
            if not waiting.future.done():
                waiting.future.set_exception(LogClosed(f"the request was not acknowledged: {reason}"))
        self._waiting.clear()
        self._drained.set()
        if self._on_lost is not None and not self._closing:
            self._on_lost()

    async def close(self) -> None:
        """Wait for the answers to every append sent, then close the connection."""
        if self._closing:
            return
        self._closing = True
        self._flush()
        await self._drained.wait()
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

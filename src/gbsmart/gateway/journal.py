"""The message journal's writer: the gateway's DUIS requests and what became of them, written in batches.

The server must not wait on the database per request, so ``Journal.record`` and ``Journal.update`` only queue
an operation (awaiting only when ``max_pending`` operations are already queued: back-pressure), and one task
writes them in order, up to ``batch`` in one transaction, in a worker thread. A failed write is retried (the
operations are kept) and logged. ``flush`` waits until everything queued so far is written; ``close`` flushes.

Rows are addressed by the request's originator and counter: an accepted request's counter is unique per
originator (the request log refuses a counter that does not increase), so ``update`` touches the one
row of that request still in progress. Refused and synchronously answered rows are final: written once and
never updated (a Transform's row shares its RequestID with the Signed Pre-Command that follows it).

``trt_for`` says which Target Response Time applies to a request and when it falls due (DOMAIN.md section 6;
the seconds are settings, ``trt_*_seconds``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.config import Settings
from gbsmart.gateway.enums import MessageState, TrtClass
from gbsmart.gateway.matrix import ServiceRequestVariant, WebService
from gbsmart.models.gateway import GatewayMessage

log = logging.getLogger("gbsmart.gateway.journal")


@dataclass(slots=True)
class JournalEntry:
    """One journal row as the server knows it when it answers a request."""

    request_id: str
    originator: str
    target: str
    counter: int
    srv: str
    command_variant: int
    service: str
    state: str
    code: str
    received_at: datetime
    explanation: str = ""
    trt_class: str | None = None
    answered_at: datetime | None = None
    due_at: datetime | None = None
    completed_at: datetime | None = None
    delivered_at: datetime | None = None
    log_seq: int | None = None


#: the columns a new row fills, in ``JournalEntry``'s order
_FIELDS: tuple[str, ...] = JournalEntry.__slots__
#: a plain Core INSERT executed with many parameter sets (one ``executemany``): about a third of the CPU of the
#: ORM's bulk insert per row (measured: 40-60 µs against 150 µs), which the gateway pays once per request
_INSERT = insert(cast(Table, GatewayMessage.__table__))

#: an update that finds no row is tried again this often, this long apart, then dropped (and logged)
UPDATE_ATTEMPTS = 20
UPDATE_RETRY_SECONDS = 0.5

#: states whose rows ``update`` never touches
FINAL = (MessageState.REFUSED.value, MessageState.ANSWERED.value)


@dataclass(slots=True)
class _Update:
    originator: str
    counter: int
    values: dict[str, Any]
    attempts: int = 0


def trt_for(settings: Settings, variant: ServiceRequestVariant | None, service: WebService,
            received_at: datetime, *, execution_at: datetime | None = None) -> tuple[TrtClass, datetime]:
    """The TRT class of a request and the time its response falls due (future-dated: from ``execution_at``)."""
    if service is WebService.TRANSFORM:
        return TrtClass.TRANSFORM, received_at + timedelta(seconds=settings.trt_transform_seconds)
    if variant is not None and variant.srv in settings.trt_firmware_srvs:  # done when the payload reaches the device
        return TrtClass.FIRMWARE, received_at + timedelta(seconds=settings.trt_firmware_seconds)
    if service is WebService.NON_DEVICE or (variant is not None and variant.non_device):
        return TrtClass.NON_DEVICE, received_at + timedelta(seconds=settings.trt_non_device_seconds)
    if execution_at is not None:
        return TrtClass.FUTURE_DATED, max(execution_at, received_at) + timedelta(
            seconds=settings.trt_future_dated_seconds)
    return TrtClass.ON_DEMAND, received_at + timedelta(seconds=settings.trt_on_demand_seconds)


class Journal:
    """Queued, batched writes of ``gateway_messages`` rows (one writer task)."""

    def __init__(self, sessions: sessionmaker[Session], *, batch: int = 500, max_pending: int = 100_000,
                 retry_seconds: float = 1.0) -> None:
        self._sessions = sessions
        self._batch = batch
        self._max_pending = max_pending
        self._retry = retry_seconds
        self._ops: deque[JournalEntry | _Update] = deque()
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.written = 0
        self.retried_updates = 0  # updates tried again because their row was not there yet
        self.dropped_updates = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._write_forever(), name="gateway-journal")

    async def record(self, entry: JournalEntry) -> None:
        """Queue a new row."""
        await self._queue(entry)

    async def update(self, originator: str, counter: int, **values: Any) -> None:
        """Queue new values for the accepted request ``originator``/``counter`` (``state``, ``code``, times ...)."""
        if "state" in values:
            values["state"] = MessageState(values["state"]).value
        await self._queue(_Update(originator, counter, values))

    async def _queue(self, op: JournalEntry | _Update) -> None:
        if self._closing:
            raise RuntimeError("the journal is closed")
        while len(self._ops) >= self._max_pending:
            self._room.clear()
            await self._room.wait()
        self._ops.append(op)
        self._idle.clear()
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._ops)

    async def flush(self) -> None:
        """Wait until every operation queued so far is written."""
        if self._task is None:
            raise RuntimeError("the journal is not started")
        await self._idle.wait()

    async def close(self) -> None:
        if self._task is None:
            return
        await self.flush()
        self._closing = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._ops:
                ops = [self._ops[i] for i in range(min(self._batch, len(self._ops)))]
                try:
                    missed = await asyncio.to_thread(self._write, ops)
                except Exception:
                    log.exception("journal write of %d operations failed; retrying", len(ops))
                    await asyncio.sleep(self._retry)
                    continue
                for _ in ops:
                    self._ops.popleft()
                self.written += len(ops)
                self._retry_later(missed)
                if len(self._ops) < self._max_pending:
                    self._room.set()
            self._idle.set()

    def _retry_later(self, missed: list[_Update]) -> None:
        """Updates that found no row: the row's INSERT may still be queued in another gateway process (the jetstream
        engine: the process that accepted the request journals it; the one running the simulator completes it)."""
        for op in missed:
            op.attempts += 1
            if op.attempts > UPDATE_ATTEMPTS:
                log.warning("journal update of %s:%d found no row in progress after %d tries: dropped (%s)",
                            op.originator, op.counter, UPDATE_ATTEMPTS, ", ".join(sorted(op.values)))
                self.dropped_updates += 1
                continue
            self.retried_updates += 1
            asyncio.get_running_loop().call_later(UPDATE_RETRY_SECONDS, self._requeue, op)

    def _requeue(self, op: _Update) -> None:
        if self._closing:
            return
        self._ops.append(op)
        self._idle.clear()
        self._wake.set()

    def _write(self, ops: list[JournalEntry | _Update]) -> list[_Update]:
        """In a worker thread: the operations in order, in one transaction. Consecutive new rows go in one INSERT
        executemany; consecutive updates setting the same columns in one UPDATE executemany (in their order).
        The updates that found no row are returned (``_retry_later``)."""
        missed: list[_Update] = []
        with self._sessions() as session, session.begin():
            connection = session.connection()
            rows: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            updated: list[_Update] = []
            columns: tuple[str, ...] = ()

            def flush() -> None:
                nonlocal rows, updates, updated
                if rows:
                    connection.execute(_INSERT, rows)
                    rows = []
                if updates:
                    statement = _update_statement(columns)
                    count = connection.execute(statement, updates).rowcount
                    if count is not None and 0 <= count < len(updates):  # one by one to find which (the same values)
                        missed.extend(op for op, params in zip(updated, updates, strict=True)
                                      if connection.execute(statement, [params]).rowcount == 0)
                    updates, updated = [], []

            for op in ops:
                if isinstance(op, JournalEntry):
                    if updates:
                        flush()
                    rows.append({name: getattr(op, name) for name in _FIELDS})
                    continue
                names = tuple(sorted(op.values))
                if rows or (updates and names != columns):
                    flush()
                columns = names
                updated.append(op)
                updates.append({"w_originator": op.originator, "w_counter": op.counter,
                                **{f"v_{name}": value for name, value in op.values.items()}})
            flush()
        return missed


@lru_cache(maxsize=64)
def _update_statement(columns: tuple[str, ...]) -> Any:
    """``UPDATE gateway_messages SET <columns> WHERE originator, counter and a state not final``, for executemany:
    one statement per set of columns (an I0's completion, a delivery, a release), compiled once."""
    table = cast(Table, GatewayMessage.__table__)
    return (update(table)
            .where(table.c.originator == bindparam("w_originator"), table.c.counter == bindparam("w_counter"),
                   *(table.c.state != final for final in FINAL))  # not NOT IN: executemany takes no expanding IN
            .values({name: bindparam(f"v_{name}") for name in columns}))

"""The gateway's Anomaly Detection step: counters in memory, what they decide written in batches off the path.

The server calls ``AdtGate.check`` for each request the log has accepted (pure: ``gateway.adt``). A quarantined
request is recorded (``gateway_quarantine``, with its body) and a DCC Alert QuarantinedRequest raised
(``dcc_alerts``: recorded for the alerts delivery to send; not yet delivered); a warned one gets an
``adt_warnings`` row. Those rows are queued and one task writes them in batches in a worker thread (bounded:
``record`` waits when ``max_pending`` rows are queued). At each refresh ``refresh`` reloads the thresholds and
hands each request released by an action file to the server's ``process`` hook (the path an accepted request
takes after the log), then marks it processed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.config import Settings
from gbsmart.core.clock import Clock
from gbsmart.gateway import adt_service
from gbsmart.gateway.adt import AdtCounters, Verdict
from gbsmart.gateway.enums import AdtBreach, DccAlertKind, QuarantineStatus
from gbsmart.models.adt import AdtWarning, DccAlert, QuarantinedRequest

log = logging.getLogger("gbsmart.gateway.adt")

#: the server's path after the log, for a released request (it re-parses the stored body)
ReleaseHook = Callable[[QuarantinedRequest], Awaitable[None]]


class AdtGate:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], clock: Clock, *, batch: int = 200,
                 max_pending: int = 20_000) -> None:
        self.settings, self.clock = settings, clock
        self._sessions = sessions
        self.counters = AdtCounters()
        self._batch, self._max_pending = batch, max_pending
        self._rows: deque[Any] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    async def start(self, now: datetime, *, rebuild: bool = True) -> None:
        """Load the thresholds; with ``rebuild``, seed the counts from the journal (not when other gateway
        processes share theirs: their counts already hold every request in the current windows)."""
        def load() -> int:
            with self._sessions() as session:
                self.counters.replace(adt_service.load_thresholds(session, self.settings))
                return adt_service.rebuild_counters(session, self.counters, now) if rebuild else 0

        seeded = await asyncio.to_thread(load)
        log.info("ADT: %d thresholds, %d DCC-wide, %s", len(self.counters.thresholds.users),
                 len(self.counters.thresholds.dcc), f"{seeded} counters rebuilt from the journal" if rebuild else
                 "the counts of the other gateway processes shared (not rebuilt from the journal)")
        self._task = asyncio.get_running_loop().create_task(self._write_forever(), name="gateway-adt")

    async def stop(self) -> None:
        if self._task is None:
            return
        await self.flush()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def flush(self) -> None:
        await self._idle.wait()

    def check(self, originator: str, srv: str, at: datetime) -> Verdict:
        return self.counters.check(originator, srv, at)

    async def record(self, verdict: Verdict, *, request_id: str, originator: str, counter: int, srv: str,
                     service: str, log_seq: int, body: bytes, received_at: datetime) -> None:
        """Queue the rows a verdict calls for: a warning; a quarantined request and its DCC Alert."""
        if verdict.warn:
            assert verdict.warning is not None
            await self._queue(AdtWarning(user_id=originator, srv=srv, period_start=verdict.period_start,
                                         period_seconds=verdict.period_seconds, threshold=verdict.warning,
                                         request_id=request_id, raised_at=received_at))
        if verdict.quarantine is not None:
            assert verdict.threshold is not None
            await self._queue(QuarantinedRequest(
                request_id=request_id, originator=originator, counter=counter, srv=srv, service=service,
                log_seq=log_seq, breach=verdict.quarantine.value, threshold=verdict.threshold, count=verdict.count,
                status=QuarantineStatus.HELD.value, body=body.decode("utf-8"), received_at=received_at))
            element = "ADUserThresholdBreach" if verdict.quarantine is AdtBreach.USER else "ADDCCThresholdBreach"
            await self._queue(DccAlert(kind=DccAlertKind.QUARANTINED_REQUEST.value, user_id=originator,
                                       request_id=request_id, raised_at=received_at,
                                       detail=f"{element} RequestID {request_id} QuarantineEventRef {log_seq}"))

    async def _queue(self, row: Any) -> None:
        while len(self._rows) >= self._max_pending:
            await asyncio.sleep(0.01)
        self._rows.append(row)
        self._idle.clear()
        self._wake.set()

    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._rows:
                rows = [self._rows[i] for i in range(min(self._batch, len(self._rows)))]
                try:
                    await asyncio.to_thread(self._write, rows)
                except Exception:
                    log.exception("ADT write of %d rows failed; retrying", len(rows))
                    await asyncio.sleep(1.0)
                    continue
                for _ in rows:
                    self._rows.popleft()
            self._idle.set()

    def _write(self, rows: list[Any]) -> None:
        with self._sessions() as session, session.begin():
            session.add_all(rows)

    async def refresh(self, process: ReleaseHook) -> int:
        """Reload the thresholds; process the requests released since the last refresh. Returns how many."""
        def load() -> tuple[Any, list[QuarantinedRequest]]:
            with self._sessions() as session:
                found = adt_service.load_thresholds(session, self.settings), adt_service.pending_releases(session)
                session.expunge_all()
                return found

        # no flush first: a released row was read from the table by the action, so it is written already, and a
        # failing writer must not stall the refresh loop (the authorisation data is refreshed by it too)
        thresholds, released = await asyncio.to_thread(load)
        self.counters.replace(thresholds)
        done = 0
        for q in released:
            try:
                await process(q)
            except Exception:
                log.exception("processing released request %s failed; it stays released for the next refresh",
                              q.request_id)
                continue
            done += 1
            await asyncio.to_thread(self._mark_processed, q.id)
        return done

    def _mark_processed(self, quarantine_id: int) -> None:
        with self._sessions() as session, session.begin():
            session.execute(update(QuarantinedRequest).where(
                QuarantinedRequest.id == quarantine_id,
                QuarantinedRequest.status == QuarantineStatus.RELEASED.value).values(
                status=QuarantineStatus.PROCESSED.value, processed_at=self.clock.now()))


def quarantine_explanation(verdict: Verdict, event_ref: int) -> str:
    """The plain-English reason a request was quarantined, for the response header and the journal."""
    whose = "your" if verdict.quarantine is AdtBreach.USER else "the DCC-wide"
    count = verdict.count if verdict.quarantine is AdtBreach.USER else verdict.dcc_count
    return (f"quarantined (QuarantineEventRef {event_ref}): request {count} for this SRV in the period from "
            f"{verdict.period_start:%Y-%m-%d %H:%M} UTC is over {whose} quarantine threshold of {verdict.threshold} "
            "(Anomaly Detection). It is held, not processed: a Senior or Authorised Responsible Officer releases or "
            "deletes it with a signed action file")

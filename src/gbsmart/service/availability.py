"""Self-Service Interface availability, as a probe saw it (issue 13 point 5: CPM6 "from recorded SSI availability").

A probe asks the portal's ``/healthz`` every ``service_ssi_probe_seconds`` from a process of its own (``Probe``,
run by ``gbsmart service probe``, which ``scripts/run`` starts beside the portal and the gateway) and records each
answer with ``record``: a run of equal results is one row of ``ssi_availability_spans`` whose end moves on with
each probe, so a year is a few rows, not half a million. A probe result extends the last span only when it
follows it within twice the interval; after a longer silence (no probe running: the machine off, the probe
stopped) a new span starts, and the silence is **no data**, neither up nor down. ``measure`` gives a period's
observed and up seconds and its down spans: CPM6 is up / observed, and "no data" where nothing was observed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.core.clock import Clock
from gbsmart.models.service import SsiAvailabilitySpan

log = logging.getLogger("gbsmart.service.availability")


def record(session: Session, at: datetime, up: bool, *, interval_seconds: float, source: str = "probe",
           detail: str = "") -> SsiAvailabilitySpan:
    """One probe result at ``at``: extends the last span of the same ``source`` when it is the same result and
    follows within twice the interval; otherwise the last span ends at ``at`` (if it followed in time) and a new
    one starts there."""
    s = SsiAvailabilitySpan
    last = session.scalar(select(s).where(s.source == source).order_by(s.ended_at.desc(), s.id.desc()).limit(1))
    within = last is not None and timedelta(0) <= at - last.ended_at <= timedelta(seconds=2 * interval_seconds)
    if last is not None and within and last.up == up:
        last.ended_at = at
        return last
    start = last.ended_at if last is not None and within else at
    row = SsiAvailabilitySpan(started_at=start, ended_at=at, up=up, source=source, detail=detail[:500])
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class Availability:
    observed_seconds: float
    up_seconds: float
    down: list[SsiAvailabilitySpan]

    @property
    def share(self) -> float | None:
        return None if self.observed_seconds <= 0 else 100.0 * self.up_seconds / self.observed_seconds


def measure(session: Session, start: datetime, end: datetime) -> Availability:
    """What the probes saw over [start, end): each span clipped to the period."""
    s = SsiAvailabilitySpan
    observed = up = 0.0
    down: list[SsiAvailabilitySpan] = []
    for span in session.scalars(select(s).where(s.ended_at > start, s.started_at < end).order_by(s.started_at)):
        seconds = (min(span.ended_at, end) - max(span.started_at, start)).total_seconds()
        if seconds <= 0:
            continue
        observed += seconds
        if span.up:
            up += seconds
        else:
            down.append(span)
    return Availability(observed, up, down)


class Probe:
    """Asks ``url`` every ``interval`` seconds and records the answer (2xx within ``timeout``: up)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, url: str, *, interval: float = 60.0,
                 timeout: float = 5.0) -> None:
        self._sessions, self._clock, self.url = sessions, clock, url
        self.interval, self.timeout = interval, timeout
        self.probes = 0

    async def once(self, client: httpx.AsyncClient) -> bool:
        """One probe, recorded; whether the SSI answered."""
        try:
            answer = await client.get(self.url)
            up, detail = answer.is_success, ("" if answer.is_success else f"HTTP {answer.status_code}")
        except httpx.HTTPError as exc:
            up, detail = False, f"{type(exc).__name__}: {exc}"[:300]
        at = self._clock.now()

        def write() -> None:
            with self._sessions.begin() as session:
                record(session, at, up, interval_seconds=self.interval, detail=detail)

        await asyncio.to_thread(write)
        self.probes += 1
        return up

    async def run(self, *, on_result: Callable[[bool], None] | None = None, once: bool = False) -> None:
        """Probe until cancelled (or once); a failure to record is logged and the next probe goes on."""
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            while True:
                try:
                    up = await self.once(client)
                    if on_result is not None:
                        on_result(up)
                except Exception:  # a database hiccup: the next probe tries again
                    log.exception("recording the SSI probe of %s failed", self.url)
                if once:
                    return
                await asyncio.sleep(self.interval)

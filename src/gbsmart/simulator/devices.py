"""The device simulator: each acknowledged device request completed, after a simulated latency, as I0 or E20/E21.

``DeviceSimulator.submit(request, log_seq=..., received_at=...)`` is the one call the gateway makes (after the
I99 is journalled; later also for Transform's Signed Pre-Commands). It reads the target's Device Type from the
``StatusIndex`` the gateway already holds (and its CSP Region from a ``RegionMap`` loaded once at start, only
when a profile names a region): no database work per request. The request waits in one heap, ordered by when
its device answers (``received_at`` + the profile's latency), and one task hands each due request to
``complete(request, log_seq, code, explanation)``: a coroutine (``delivery.Delivery.complete``) that signs and
keeps the response. The heap is bounded (``max_pending``): ``submit`` waits while it is full (back-pressure).
Pending requests live only in memory: after a crash ``recovery`` finds them again from the journal and the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from gbsmart.core.clock import Clock
from gbsmart.gateway.duis import DuisRequest
from gbsmart.simulator.profiles import FAILURE_CODES, Profiles
from gbsmart.smi.enums import CspRegion, DeviceType
from gbsmart.smi.lookup import StatusIndex
from gbsmart.smi.rules import REGION_OF, eui64_to_int

log = logging.getLogger("gbsmart.simulator")

Complete = Callable[[DuisRequest, int, str, str], Awaitable[None]]


class RegionMap:
    """Device ID -> CSP Region, as two sorted numpy columns (9 bytes a device), read once at start."""

    def __init__(self, ids: np.ndarray, regions: np.ndarray) -> None:
        self.ids, self.regions = ids, regions

    @classmethod
    def load(cls, session: Session) -> RegionMap:
        rows = session.execute(text("SELECT device_id, csp_region FROM smi_devices ORDER BY device_id"))
        flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64)
        m = flat.reshape(-1, 2)
        return cls(np.ascontiguousarray(m[:, 0]), m[:, 1].astype(np.uint8))

    def region(self, device_id: int) -> CspRegion | None:
        i = int(np.searchsorted(self.ids, device_id))
        if i < len(self.ids) and self.ids[i] == device_id:
            return REGION_OF.get(int(self.regions[i]))
        return None


@dataclass(order=True, slots=True)
class _Job:
    due: float
    seq: int
    request: DuisRequest = field(compare=False)
    log_seq: int = field(compare=False)
    code: str = field(compare=False)


class DeviceSimulator:
    """See the module docstring. ``start`` in the gateway's event loop; ``close`` drops what is still pending
    (recovery completes it after the next start)."""

    def __init__(self, profiles: Profiles, devices: Callable[[], StatusIndex], complete: Complete, *,
                 clock: Clock, regions: RegionMap | None = None, seed: int | None = None,
                 max_pending: int = 100_000) -> None:
        self.profiles = profiles
        self._devices = devices
        self._regions = regions
        self._complete = complete
        self._clock = clock
        self._rng = random.Random(seed)
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._space = asyncio.Semaphore(max_pending)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.completed = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="device-simulator")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def pending(self) -> int:
        return len(self._heap)

    def device(self, device_id: str) -> tuple[DeviceType | None, CspRegion | None]:
        """The target's Device Type (from the SMI's StatusIndex) and CSP Region (None where not known)."""
        try:
            number = eui64_to_int(device_id)
        except ValueError:
            return None, None
        found = self._devices().status(number)
        kind = found[1] if found is not None else None
        region = self._regions.region(number) if self._regions is not None else None
        return kind, region

    async def submit(self, request: DuisRequest, *, log_seq: int, received_at: datetime) -> None:
        """Schedule the device's response to an accepted (logged, acknowledged) device request."""
        await self._space.acquire()
        listed = request.root.findtext(".//{*}DeviceIDList")  # a firmware payload: its (first) device's profile
        profile = self.profiles.for_device(*self.device((listed or "").split()[0] if listed and listed.strip()
                                                        else request.request_id.target))
        delay = profile.latency(self._rng) - (self._clock.now() - received_at).total_seconds()
        loop = asyncio.get_running_loop()
        heapq.heappush(self._heap, _Job(loop.time() + max(0.0, delay), next(self._seq), request, log_seq,
                                        profile.outcome(self._rng)))
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._heap:
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = self._heap[0].due - loop.time()
            if wait > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):  # asyncio.timeout: a cancel is never swallowed
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                continue
            job = heapq.heappop(self._heap)
            self._space.release()
            explanation = "" if job.code == "I0" else f"{job.code}: {FAILURE_CODES[job.code]}"
            try:
                await self._complete(job.request, job.log_seq, job.code, explanation)
                self.completed += 1
            except Exception:  # never lost: recovery completes it after the next start
                log.exception("completing request %s failed", job.request.request_id)

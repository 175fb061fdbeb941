"""The gateway's device responses, wired together: one object the server starts, feeds and stops.

``DeviceResponses.start`` (in ``Gateway.start``, after the journal) starts delivery of the kept responses,
then finishes what a crash left undone (``recovery``), then the simulator; ``submit`` is what the server calls
for each acknowledged Send Command request; ``close`` (before the journal closes) stops them, writing what is
queued. Requests still awaiting their simulated device when the gateway stops are completed after it starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.config import Settings
from gbsmart.core.clock import Clock
from gbsmart.gateway.duis import DuisCodec, DuisRequest
from gbsmart.gateway.jetstream import JetStreamLog
from gbsmart.gateway.journal import Journal
from gbsmart.gateway.log import RequestLog
from gbsmart.simulator.delivery import Delivery
from gbsmart.simulator.devices import DeviceSimulator, RegionMap
from gbsmart.simulator.profiles import Profiles
from gbsmart.simulator.recovery import journal_entry, unfinished
from gbsmart.smi.lookup import StatusIndex

log = logging.getLogger("gbsmart.simulator")


class DeviceResponses:
    """The device simulator and the delivery worker of one gateway process."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], *, clock: Clock,
                 sign: Callable[[etree._Element], bytes], journal: Journal | None,
                 devices: Callable[[], StatusIndex], **delivery: Any) -> None:
        self.settings = settings
        self._sessions = sessions
        self._journal = journal
        self.profiles = Profiles.from_settings(settings)
        self.delivery = Delivery(sessions, settings, sign, journal, clock, **delivery)
        self._devices = devices
        self._clock = clock
        self.simulator: DeviceSimulator | None = None
        self.recovered = 0
        #: the log seqs recovery gave the simulator (the jetstream engine's work queue does not give them again)
        self.recovered_seqs: set[int] = set()

    async def start(self, log_: RequestLog | JetStreamLog, codec: DuisCodec) -> None:
        # the journal is brought up to date before any delivery can update it again
        found, unjournalled, repairs = await asyncio.to_thread(
            unfinished, self._sessions, log_, codec, firmware_srvs=frozenset(self.settings.trt_firmware_srvs))
        if self._journal is not None:  # rows first (in log order), then the updates that bring them up to date
            for item in sorted((*found, *unjournalled), key=lambda i: i.record.seq):
                if not item.journalled:
                    await self._journal.record(journal_entry(self.settings, item))
            for repair in repairs:
                await self._journal.update(repair.originator, repair.counter, **repair.values)
        kept = await self.delivery.start()
        regions = None
        if self.profiles.uses_regions:
            regions = await asyncio.to_thread(self._load_regions)
        self.simulator = DeviceSimulator(self.profiles, self._devices, self.delivery.complete, clock=self._clock,
                                         regions=regions, seed=self.settings.simulator_seed,
                                         max_pending=self.settings.simulator_max_pending)
        self.simulator.start()
        for item in found:
            await self.simulator.submit(item.request, log_seq=item.record.seq, received_at=item.record.received_at)
        self.recovered = len(found)
        self.recovered_seqs = {item.record.seq for item in found}
        if kept or found or repairs:
            log.info("device responses: %d kept to deliver, %d accepted requests to complete, %d journal rows "
                     "rebuilt from the log, %d journal rows repaired", kept, len(found),
                     sum(not i.journalled for i in (*found, *unjournalled)), len(repairs))

    def _load_regions(self) -> RegionMap:
        with self._sessions() as session:
            return RegionMap.load(session)

    async def submit(self, request: DuisRequest, *, log_seq: int, received_at: datetime) -> None:
        assert self.simulator is not None
        await self.simulator.submit(request, log_seq=log_seq, received_at=received_at)

    async def close(self) -> None:
        if self.simulator is not None:
            await self.simulator.close()
        await self.delivery.close()

"""A process that ingests alerts until killed, printing each batch's alert ids once ``ingest`` returned
(tests/alerts/test_intake.py kills it with SIGKILL and checks every printed id is in ``alerts``).

The Northbound here is ``RecordingNorthbound``, a test double: this measures the intake's own durability."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import gbsmart.models.alerts  # noqa: F401
from gbsmart.alerts.intake import AlertIntake, DeviceAlert
from gbsmart.config import Settings
from gbsmart.core.clock import SystemClock
from gbsmart.core.db import make_engine, make_sessionmaker
from gbsmart.gateway.authorise import AuthorisationIndex


class RecordingNorthbound:
    """Test double of alerts.northbound.Northbound: keeps what is put, in memory."""

    def __init__(self) -> None:
        self.items: list = []

    async def put(self, items) -> None:
        self.items.extend(items)


async def main(url: str) -> None:
    sessions = make_sessionmaker(make_engine(url))
    with sessions() as session:
        index = AuthorisationIndex.load(session)
    intake = AlertIntake(sessions, Settings(database_url=url), SystemClock(), northbound=RecordingNorthbound(),
                         index=lambda: index, tick_seconds=0)
    await intake.start()
    print("started", flush=True)

    async def producer() -> None:
        while True:
            result = await intake.ingest([DeviceAlert("00-DB-12-34-56-78-90-A0", "8F35", datetime.now(UTC))] * 200,
                                         source="kill-test")
            print("acked", result.alert_ids[0], result.alert_ids[-1], flush=True)

    await asyncio.gather(*(producer() for _ in range(4)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

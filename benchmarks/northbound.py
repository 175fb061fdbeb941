"""The Northbound's delivery throughput: messages delivered per second and per CPU second (issue 11 points 4, 5).

On a fresh SQLite database (a file in a temporary directory) or PostgreSQL (``--database-url``), ``--messages``
messages for two Users, of mixed priority classes, are put in the northbound cache while no endpoint is
registered (kept, not sent); then the two Users' endpoints (the storm harness's lean loopback servers,
``_storm_endpoints.FleetProcess``, in a child process so their CPU is not counted) are registered and the clock
starts: the figures are from then until the last delivery is committed (``delivered_at`` written). CPU seconds are
this process's (event loop and the writer's thread), so ``per_cpu_s`` is the fair figure on a shared machine.

    PYTHONPATH=src python benchmarks/northbound.py            # 30,000 messages
    PYTHONPATH=src python benchmarks/northbound.py --quick    # 5,000 messages, same shape
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _storm_endpoints import FleetProcess  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from gbsmart.alerts.enums import OutboundKind  # noqa: E402
from gbsmart.alerts.northbound import Northbound, Outbound  # noqa: E402
from gbsmart.config import Settings  # noqa: E402
from gbsmart.core.clock import FixedClock  # noqa: E402
from gbsmart.core.db import Base, make_engine, make_sessionmaker  # noqa: E402
from gbsmart.models.alerts import NorthboundMessage  # noqa: E402

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
USERS = ("90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-01")
CLASSES = ("power_outage", "security", "on_demand", "alert", "bulk")
# a DUIS-sized body (a device alert is about 1.5 kB signed); the endpoints scan it for the kind and code
BODY = (b'<?xml version="1.0" encoding="UTF-8"?><sr:DeviceAlertMessage xmlns:sr="http://www.dccinterface.co.uk/'
        b'ServiceUserGateway"><sr:AlertCode>8F3E</sr:AlertCode>' + b"<sr:Pad>" + b"x" * 1200 + b"</sr:Pad>"
        b"</sr:DeviceAlertMessage>")


async def run(url: str, messages: int, in_flight: int, concurrency: int, tmp: Path) -> dict[str, Any]:
    traffic = tmp / "traffic.toml"
    traffic.write_text(f'classes = ["power_outage", "security", "prepayment", "on_demand", "alert", "future_dated", '
                       f'"bulk"]\n[capacity]\nmessages_per_second = 1000000.0\nburst = 1000000.0\n'
                       f'in_flight = {in_flight}\n')
    settings = Settings(data_dir=tmp / "var", database_url=url, alerts_traffic_file=traffic,
                        northbound_concurrency=concurrency, gateway_refresh_seconds=3600.0)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    fleet = FleetProcess(USERS, sample_every=1_000_000)
    urls = fleet.start()
    nb = Northbound(sessions, settings, FixedClock(T0), renderers={})
    try:
        await nb.start()
        items = [Outbound(message_id=f"nb-{i}", user_id=USERS[i % 2], kind=OutboundKind.DEVICE_ALERT,
                          priority=CLASSES[(i // 2) % len(CLASSES)], created_at=T0, body=BODY)
                 for i in range(messages)]
        for i in range(0, messages, 1000):
            await nb.put(items[i:i + 1000])
        wall, cpu = time.perf_counter(), time.process_time()
        nb.set_endpoints(urls)
        while nb.delivered < messages:
            await asyncio.sleep(0.01)
        await nb.flush()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await nb.close()
        received, _ = fleet.records()
        fleet.stop()
    with sessions() as session:
        committed = session.scalar(select(func.count()).select_from(NorthboundMessage)
                                   .where(NorthboundMessage.delivered_at.is_not(None))) or 0
    engine.dispose()
    ids = [r.message_id for r in received]
    return {"messages": messages, "users": len(USERS), "in_flight": in_flight, "concurrency": concurrency,
            "received": len(ids), "duplicates": len(ids) - len(set(ids)), "committed_delivered": committed,
            "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "per_s": round(messages / wall, 1),
            "per_cpu_s": round(messages / cpu, 1) if cpu else None, "load_average": os.getloadavg()[0],
            "cpus": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--in-flight", type=int, default=16, help="POSTs in flight per User (traffic.toml)")
    parser.add_argument("--concurrency", type=int, default=64, help="northbound_concurrency")
    parser.add_argument("--quick", action="store_true", help="5,000 messages (a few seconds, the same figures)")
    parser.add_argument("--database-url", default=None, help="Default: a fresh SQLite file in a temporary dir.")
    args = parser.parse_args()
    messages = 5_000 if args.quick else args.messages
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'northbound.db'}"
        figures = asyncio.run(run(url, messages, args.in_flight, args.concurrency, Path(tmp)))
    print(f"{'messages':>10} {'wall s':>8} {'cpu s':>8} {'msg/s':>9} {'msg/cpu s':>10} {'received':>9} "
          f"{'dups':>5} {'load':>5}")
    print(f"{figures['messages']:>10} {figures['wall_s']:>8} {figures['cpu_s']:>8} {figures['per_s']:>9} "
          f"{figures['per_cpu_s']:>10} {figures['received']:>9} {figures['duplicates']:>5} "
          f"{figures['load_average']:>5.2f}")
    print("RESULT " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()

"""The power outage rule at regional scale: 10,000 Communications Hubs lose power at once (issue 11 point 2).

Measures, on a fresh SQLite database (a file in a temporary directory, WAL mode) or PostgreSQL (``--database-url``):

1. the power loss notices made durable (``OutageTracker.power_lost_many``, in batches as the intake would pass them,
   and, for comparison, one ``power_lost`` per hub awaited concurrently: the writer's group commit);
2. the clock moved to the end of the 3-minute wait, then ``run_due``: every AD1 queued on the Northbound (puts of
   1,000), the states written; the time from the wait's end to the last AD1 queued, against the 60 s deadline;
3. a restart: a new tracker reloads every reported outage (``start``) and the restorations go out.

The Northbound here is a stand-in that writes each put into ``northbound_messages`` in one transaction (as the
durable queue does; delivery itself is not measured here: benchmarks/alert_storm.py measures the whole path).
Figures are printed as a table, then one JSON line (``RESULT {...}``) with wall and CPU seconds and the load average
(the machine is shared: per-CPU-second figures are the fairer ones to compare).

    PYTHONPATH=src python benchmarks/outage.py            # 10,000 hubs
    PYTHONPATH=src python benchmarks/outage.py --quick    # 1,000 hubs, same shape
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from gbsmart.alerts.outage import OutageTracker
from gbsmart.config import Settings
from gbsmart.core.clock import FixedClock
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from gbsmart.models.alerts import NorthboundMessage, PowerOutage

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ED = "90-B3-D5-1F-30-01-00-00"


class DurableStandIn:
    """Stands in for the Northbound: each put is one INSERT transaction into northbound_messages."""

    def __init__(self, sessions: Any) -> None:
        self.sessions, self.count, self.last_at = sessions, 0, 0.0

    async def put(self, items: Sequence[Any]) -> None:
        rows = [{"message_id": i.message_id, "user_id": i.user_id, "kind": i.kind.value, "priority": i.priority,
                 "code": i.code, "payload": json.dumps(i.payload), "created_at": i.created_at,
                 "deadline_at": i.deadline_at, "expires_at": i.created_at + timedelta(days=2)} for i in items]

        def write() -> None:
            with self.sessions.begin() as s:
                s.execute(insert(NorthboundMessage), rows)
        await asyncio.to_thread(write)
        self.count += len(items)
        self.last_at = time.perf_counter()


def hub(n: int) -> str:
    return f"00-DB-{(n >> 24) & 0xFF:02X}-{(n >> 16) & 0xFF:02X}-{(n >> 8) & 0xFF:02X}-{n & 0xFF:02X}-00-01"


async def run(hubs: int, url: str, data_dir: Path) -> dict[str, Any]:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    settings = Settings(database_url=url, data_dir=data_dir, secret_key="bench-secret-key-not-for-production")
    clock = FixedClock(T0)
    northbound = DurableStandIn(sessions)
    tracker = OutageTracker(sessions, settings, clock, northbound=northbound,
                            premises=lambda h: ("19" + h[-11:].replace("-", "").zfill(11), ED))
    await tracker.start(background=False)
    figures: dict[str, Any] = {"hubs": hubs}

    # 1a. the notices, in batches of 500 (as the intake hands over a batch of alerts)
    c0, w0 = time.process_time(), time.perf_counter()
    for i in range(0, hubs, 500):
        await tracker.power_lost_many([(hub(n), T0) for n in range(i, min(i + 500, hubs))])
    figures["lost_batched_s"] = round(time.perf_counter() - w0, 3)
    figures["lost_batched_cpu_s"] = round(time.process_time() - c0, 3)
    # 1b. one power_lost per hub, all awaited at once (another window, other hubs): the writer's group commit
    c0, w0 = time.process_time(), time.perf_counter()
    second = T0 + timedelta(seconds=1)
    await asyncio.gather(*(tracker.power_lost(hub(hubs + n), second) for n in range(hubs // 10)))
    figures["lost_single_hubs"] = hubs // 10
    figures["lost_single_s"] = round(time.perf_counter() - w0, 3)
    figures["lost_single_cpu_s"] = round(time.process_time() - c0, 3)

    # 2. the wait is over: every AD1 queued
    clock.set(T0 + timedelta(seconds=181))
    c0, w0 = time.process_time(), time.perf_counter()
    queued = await tracker.run_due()
    await tracker.flush()
    figures["ad1_queued"] = queued
    figures["ad1_expected"] = hubs + hubs // 10
    figures["ad1_last_queued_s"] = round(northbound.last_at - w0, 3)
    figures["ad1_run_due_s"] = round(time.perf_counter() - w0, 3)
    figures["ad1_run_due_cpu_s"] = round(time.process_time() - c0, 3)
    figures["ad1_per_cpu_s"] = round(queued / max(figures["ad1_run_due_cpu_s"], 1e-6))
    await tracker.close()

    # 3. a restart: reload, then every hub restored
    tracker = OutageTracker(sessions, settings, clock, northbound=northbound, premises=lambda h: (None, None))
    w0 = time.perf_counter()
    await tracker.start(background=False)
    figures["restart_reload_s"] = round(time.perf_counter() - w0, 3)
    figures["restart_reloaded"] = tracker.pending().get("reported", 0)
    clock.advance(seconds=30)
    w0 = time.perf_counter()
    for i in range(0, hubs, 500):
        await tracker.power_restored_many([(hub(n), clock.now()) for n in range(i, min(i + 500, hubs))])
    figures["restorations_batched_s"] = round(time.perf_counter() - w0, 3)
    w0 = time.perf_counter()
    for n in range(hubs, hubs + hubs // 10):  # one call each, one after the other (the slowest way in)
        await tracker.power_restored(hub(n), clock.now())
    figures["restorations_single_s"] = round(time.perf_counter() - w0, 3)
    await tracker.close()
    with sessions() as s:
        figures["rows"] = s.scalar(select(func.count()).select_from(PowerOutage))
        figures["northbound_rows"] = s.scalar(select(func.count()).select_from(NorthboundMessage))
    engine.dispose()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hubs", type=int, default=10_000, help="Communications Hubs losing power at once.")
    parser.add_argument("--quick", action="store_true", help="1,000 hubs (under a minute, the same figures).")
    parser.add_argument("--database-url", default=None, help="Default: a fresh SQLite file in a temporary dir.")
    args = parser.parse_args(argv)
    hubs = 1000 if args.quick else args.hubs
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="outage-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'outage.db'}"
        figures = asyncio.run(run(hubs, url, Path(tmp) / "var"))
    figures["database"] = url.split(":", 1)[0]
    figures["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    figures["deadline_s"] = 60
    figures["within_deadline"] = figures["ad1_queued"] == figures["ad1_expected"] and \
        figures["ad1_last_queued_s"] < 60
    rows = [("hubs losing power at once", f"{hubs:,} (+ {figures['lost_single_hubs']:,} one by one)"),
            ("notices durable, batches of 500",
             f"{figures['lost_batched_s']} s ({figures['lost_batched_cpu_s']} CPU s)"),
            ("notices durable, one call each, concurrent", f"{figures['lost_single_s']} s"),
            ("AD1s queued after the wait", f"{figures['ad1_queued']:,} of {figures['ad1_expected']:,}"),
            ("wait's end -> last AD1 queued", f"{figures['ad1_last_queued_s']} s (deadline 60 s)"),
            ("run_due, states written", f"{figures['ad1_run_due_s']} s ({figures['ad1_run_due_cpu_s']} CPU s, "
                                        f"{figures['ad1_per_cpu_s']:,} AD1/CPU s)"),
            ("restart: reload", f"{figures['restart_reload_s']} s, {figures['restart_reloaded']:,} reported"),
            ("restorations queued, batches of 500", f"{figures['restorations_batched_s']} s"),
            ("restorations queued, one call after another", f"{figures['restorations_single_s']} s "
                                                            f"({figures['lost_single_hubs']:,} hubs)"),
            ("load average before / after", f"{figures['load_average'][0]} / {figures['load_average'][1]}")]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print("RESULT " + json.dumps(figures), flush=True)
    return 0 if figures["within_deadline"] else 1


if __name__ == "__main__":
    sys.exit(main())

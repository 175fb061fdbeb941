"""The device alert intake under a spurious-alert storm, in-process: how many alerts a second it ingests.

    .venv/bin/python benchmarks/alert_intake.py            # 200,000 alerts on 50,000 meters, about a minute
    .venv/bin/python benchmarks/alert_intake.py --quick    # 30,000 alerts, for checks

A fresh SQLite database (file, as `gbsmart gateway serve` uses by default) is seeded with the DCC Boxed Users
(``gateway.demo``), ``--meters`` ESMEs each at its own registered MPAN, on Communications Hubs of 8 meters,
spread over the three CSP Regions. ``--producers`` coroutines (sources such as CSPs) then each ingest batches of
``--batch`` alerts through ``AlertIntake.ingest`` as fast as it returns: mostly 0x8F3E from random meters (a
share repeated, so the throttle works), 0x8F12 from hubs, 1% from devices not in the SMI. Every batch is
committed to the ``alerts`` table before ``ingest`` returns. The Northbound is ``CountingNorthbound``, a
test double that only counts what is put (A2's durable queue is measured by its own benchmark): this measures
the intake alone (lookup, throttle, routing, the batched durable writes). Wall-clock and CPU seconds (the
process's, all threads) are shown with the load average, because the machine is shared. Figures are printed
as a table, then as one JSON line (``RESULT {...}``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

import gbsmart.models.alerts  # noqa: E402, F401
import gbsmart.models.gateway  # noqa: E402, F401
from gbsmart.alerts.intake import AlertIntake, DeviceAlert  # noqa: E402
from gbsmart.config import Settings  # noqa: E402
from gbsmart.core.clock import SystemClock  # noqa: E402
from gbsmart.core.context import Actor, Ctx  # noqa: E402
from gbsmart.core.db import Base, make_engine, make_sessionmaker  # noqa: E402
from gbsmart.gateway.authorise import AuthorisationIndex  # noqa: E402
from gbsmart.gateway.demo import load_gateway_demo  # noqa: E402
from gbsmart.models.alerts import Alert  # noqa: E402
from gbsmart.models.smi import SmiDevice, SmiDeviceModel, SmiRegistration  # noqa: E402
from gbsmart.smi.enums import CspRegion, DeviceType, SmiStatus  # noqa: E402
from gbsmart.smi.rules import DEVICE_TYPE_CODE, REGION_CODE, STATUS_CODE, eui64_to_int  # noqa: E402

console = Console()


class CountingNorthbound:
    """Test double of alerts.northbound.Northbound: counts what is put, keeps nothing."""

    def __init__(self) -> None:
        self.count = 0

    async def put(self, items: Sequence[Any]) -> None:
        self.count += len(items)


def _eui(prefix: int, i: int) -> str:
    raw = f"{prefix:04X}{i:012X}"
    return "-".join(raw[k:k + 2] for k in range(0, 16, 2))


def seed(url: str, meters: int) -> tuple[list[str], list[str]]:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    esmes = [_eui(0x00DC, i) for i in range(meters)]
    hubs = [_eui(0x00DD, i) for i in range((meters + 7) // 8)]
    regions = [REGION_CODE[r] for r in CspRegion]
    with sessions() as session:
        ctx = Ctx(session=session, actor=Actor.system("benchmark"), clock=SystemClock(),
                  settings=Settings(database_url=url))
        load_gateway_demo(ctx)
        model = session.scalar(select(SmiDeviceModel.id).where(SmiDeviceModel.model == "BOXED-ESME"))
        chmodel = session.scalar(select(SmiDeviceModel.id).where(SmiDeviceModel.model == "BOXED-CH"))
        commissioned = STATUS_CODE[SmiStatus.COMMISSIONED]
        today = date.today()
        session.execute(insert(SmiDevice), [
            {"device_id": eui64_to_int(h), "device_type": DEVICE_TYPE_CODE[DeviceType.CHF], "device_model_id": chmodel,
             "lifecycle_status": commissioned, "lifecycle_date": today, "mpxn": None, "chf_device_id": None,
             "associated_meter_id": None, "csp_region": regions[i % 3]} for i, h in enumerate(hubs)])
        session.execute(insert(SmiDevice), [
            {"device_id": eui64_to_int(e), "device_type": DEVICE_TYPE_CODE[DeviceType.ESME], "device_model_id": model,
             "lifecycle_status": commissioned, "lifecycle_date": today, "mpxn": 2_000_000_000_000 + i,
             "chf_device_id": eui64_to_int(hubs[i // 8]), "associated_meter_id": None,
             "csp_region": regions[(i // 8) % 3]} for i, e in enumerate(esmes)])
        session.execute(insert(SmiRegistration), [
            {"mpxn": 2_000_000_000_000 + i, "fuel": "E", "supplier_org_id": 1, "network_operator_org_id": 2,
             "valid_from": date(2020, 1, 1), "valid_to": None} for i in range(meters)])
        session.commit()
    engine.dispose()
    return esmes, hubs


def storm(esmes: list[str], hubs: list[str], total: int, rng: random.Random) -> list[DeviceAlert]:
    now = datetime.now(UTC)
    noisy = esmes[: max(1, len(esmes) // 50)]  # 2% of meters repeat: the throttle's work
    out = []
    for _ in range(total):
        roll = rng.random()
        if roll < 0.01:
            device, code = _eui(0x00EE, rng.randrange(1 << 32)), "8F3E"
        elif roll < 0.10:
            device, code = rng.choice(hubs), "8F12"
        elif roll < 0.30:
            device, code = rng.choice(noisy), "8F3E"
        else:
            device, code = rng.choice(esmes), "8F3E"
        out.append(DeviceAlert(device, code, now - timedelta(seconds=rng.random())))
    return out


async def run(url: str, alerts: list[DeviceAlert], producers: int, batch: int) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        index = AuthorisationIndex.load(session)
    northbound = CountingNorthbound()
    intake = AlertIntake(sessions, Settings(database_url=url), SystemClock(), northbound=northbound,
                         index=lambda: index, tick_seconds=0)
    await intake.start()
    chunks = [alerts[i:i + batch] for i in range(0, len(alerts), batch)]
    queue: asyncio.Queue[list[DeviceAlert]] = asyncio.Queue()
    for chunk in chunks:
        queue.put_nowait(chunk)

    async def producer(n: int) -> None:
        while not queue.empty():
            await intake.ingest(queue.get_nowait(), source=f"bench:{n}")

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(producer(n) for n in range(producers)))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    await intake.close()
    with sessions() as session:
        written = session.scalar(select(func.count()).select_from(Alert)) or 0
        by_outcome = dict(session.execute(select(Alert.outcome, func.count()).group_by(Alert.outcome)).all())
    engine.dispose()
    return {"seconds": seconds, "cpu_seconds": cpu, "written": written, "by_outcome": by_outcome,
            "messages": northbound.count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=200_000)
    parser.add_argument("--meters", type=int, default=50_000)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="30,000 alerts on 10,000 meters")
    args = parser.parse_args()
    if args.quick:
        args.alerts, args.meters = 30_000, 10_000
    with tempfile.TemporaryDirectory(prefix="gbsmart-alert-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        esmes, hubs = seed(url, args.meters)
        alerts = storm(esmes, hubs, args.alerts, random.Random(args.seed))
        load_before = os.getloadavg()[0]
        result = asyncio.run(run(url, alerts, args.producers, args.batch))
        load_after = os.getloadavg()[0]
    per_s = args.alerts / result["seconds"]
    per_cpu_s = args.alerts / result["cpu_seconds"] if result["cpu_seconds"] else 0.0
    table = Table(title=f"Alert intake: {args.alerts:,} alerts, {args.meters:,} meters, {args.producers} producers "
                        f"x batches of {args.batch}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, value in (("wall seconds", f"{result['seconds']:.2f}"), ("CPU seconds", f"{result['cpu_seconds']:.2f}"),
                         ("alerts/s (wall)", f"{per_s:,.0f}"), ("alerts per CPU-second", f"{per_cpu_s:,.0f}"),
                         ("rows written", f"{result['written']:,}"), ("messages queued", f"{result['messages']:,}"),
                         *((f"outcome {k}", f"{v:,}") for k, v in sorted(result["by_outcome"].items())),
                         ("load average (1 min) before / after", f"{load_before:.2f} / {load_after:.2f}")):
        table.add_row(label, value)
    console.print(table)
    figures = {"alerts": args.alerts, "meters": args.meters, "producers": args.producers, "batch": args.batch,
               "seconds": round(result["seconds"], 3), "cpu_seconds": round(result["cpu_seconds"], 3),
               "alerts_per_s": round(per_s), "alerts_per_cpu_s": round(per_cpu_s), "written": result["written"],
               "lost": args.alerts - result["written"], "messages": result["messages"],
               "by_outcome": result["by_outcome"], "loadavg_before": load_before, "loadavg_after": load_after,
               "cpus": os.cpu_count()}
    print("RESULT " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()

"""How soon each stateless gateway process follows a CPL extract's application (issue 12, point 2), measured.

    .venv/bin/python benchmarks/index_follow.py                       # 2 processes, 5 rounds, the default refresh
    .venv/bin/python benchmarks/index_follow.py --quick               # 3 rounds with a 1-second refresh
    .venv/bin/python benchmarks/index_follow.py --refresh-seconds 1 --rounds 10

Two `gbsmart gateway serve` processes on the jetstream engine (a nats-server started here) share one database
(SQLite, the test dataset: the DCC Boxed devices and a benchmark Supplier). Each round withdraws the Device Model
of the ESME 00-DB-12-34-56-78-90-A0 and applies the CPL rule (``smi.service.apply_cpl_statuses``: the device
becomes Suspended), commits, and from that moment sends each process a signed 4.1.1 Read Instantaneous Import
Registers for the device every 20 ms (after a random wait of up to one refresh period, so changes fall anywhere
in the processes' refresh cycle), until each answers E5 (Suspended); then it makes the model Active again,
applies, and measures until each answers I99 again. The delay is from the commit to the first answer that
shows the change. What bounds it: the refresh period (``GBSMART_GATEWAY_REFRESH_SECONDS``, each process polls
the database's status history past the last row it saw) plus the refresh itself.

A table, then one ``RESULT {...}`` line with ``follow_p50_s``, ``follow_max_s``, ``refresh_seconds``, ``rounds``,
``processes``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from sqlalchemy import select, update  # noqa: E402

from gbsmart.config import Settings  # noqa: E402
from gbsmart.core.clock import SystemClock  # noqa: E402
from gbsmart.core.context import Actor, Ctx  # noqa: E402
from gbsmart.core.db import make_engine, make_sessionmaker  # noqa: E402
from gbsmart.models.smi import SmiDevice, SmiDeviceModel  # noqa: E402
from gbsmart.smi.rules import eui64_to_int  # noqa: E402
from gbsmart.smi.service import apply_cpl_statuses  # noqa: E402

DEVICE = "00-DB-12-34-56-78-90-A0"


def code(response: httpx.Response) -> str:
    from tests.gateway.test_server import _code

    return str(_code(response)) if response.status_code == 200 else str(response.status_code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 rounds with a 1-second refresh")
    parser.add_argument("--rounds", type=int, default=0, help="suspend-and-restore rounds (default 5; quick 3)")
    parser.add_argument("--refresh-seconds", type=float, default=0, help="the processes' refresh period "
                        "(default: the setting's default, 5 s; quick 1 s)")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    refresh = args.refresh_seconds or (1.0 if args.quick else Settings().gateway_refresh_seconds)

    from tests.gateway.test_jetstream_gateway import Fleet
    from tests.gateway.test_server import _load_request
    from tests.plugins.nats import NatsServer, find_binary

    binary = find_binary()
    if binary is None:
        sys.exit("no nats-server: apt-get install nats-server (scripts/test installs it)")
    work = Path(tempfile.mkdtemp(prefix="index-follow-", dir=Path.cwd()))
    server = NatsServer(binary, work / "nats")
    server.start()
    fleet = Fleet(work, server, GBSMART_GATEWAY_REFRESH_SECONDS=str(refresh))
    delays: list[tuple[str, int, float]] = []
    try:
        fleet.start()
        engine = make_engine(fleet.database_url)
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            model_id = session.scalar(select(SmiDevice.device_model_id)
                                      .where(SmiDevice.device_id == eui64_to_int(DEVICE)))
        counter = 1_000
        http = httpx.Client(timeout=10)
        sequence = 1_000_000
        for r in range(rounds):
            for status, wanted in (("Withdrawn", "E5"), ("Active", "I99")):
                time.sleep(random.uniform(0, refresh))  # a change at any point of the processes' refresh period
                with sessions() as session:
                    session.execute(update(SmiDeviceModel).where(SmiDeviceModel.id == model_id).values(status=status))
                    ctx = Ctx(session=session, actor=Actor.system("benchmark"), clock=SystemClock(),
                              settings=Settings(database_url=fleet.database_url))
                    sequence += 1
                    apply_cpl_statuses(ctx, extract_sequence=sequence, reason="benchmark: index follow")
                    session.commit()
                committed = time.perf_counter()
                waiting = set(range(len(fleet.urls)))
                while waiting:
                    for n in sorted(waiting):
                        counter += 1
                        answer = http.post(f"{fleet.urls[n]}/api/v1/serviceS",
                                           content=_load_request(fleet.user, counter),
                                           headers={"content-type": "application/xml"})
                        if code(answer) == wanted:
                            delays.append((wanted, n, time.perf_counter() - committed))
                            waiting.discard(n)
                    if time.perf_counter() - committed > refresh * 4 + 30:
                        raise SystemExit(f"round {r}: processes {sorted(waiting)} never answered {wanted}")
                    time.sleep(0.02)
        http.close()
        engine.dispose()
        fleet.stop()
    finally:
        fleet.kill_all()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    values = [d for _, _, d in delays]
    print(f"\nGateway processes following a CPL extract: {len(fleet.urls)} processes, refresh every {refresh} s, "
          f"{rounds} rounds (suspend, then restore)\n")
    print(f"{'change':<10}{'process':>8}{'p50 s':>9}{'max s':>9}")
    for wanted in ("E5", "I99"):
        for n in range(len(fleet.urls)):
            mine = [d for w, p, d in delays if w == wanted and p == n]
            print(f"{'suspend' if wanted == 'E5' else 'restore':<10}{n:>8}{statistics.median(mine):>9.2f}"
                  f"{max(mine):>9.2f}")
    figures = {"processes": len(fleet.urls), "rounds": rounds, "refresh_seconds": refresh,
               "follow_p50_s": round(statistics.median(values), 3), "follow_max_s": round(max(values), 3),
               "follow_min_s": round(min(values), 3), "samples": len(values),
               "load_average": round(os.getloadavg()[0], 1), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    print(f"\nevery change was followed within {figures['follow_max_s']} s (bound: the refresh period "
          f"{refresh} s plus one refresh)\n")
    print("RESULT " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()

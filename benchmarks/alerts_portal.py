"""How fast the alerts dashboard's queries (``alerts.queries.summary``) answer on large alerts tables.

Fills a fresh database (SQLite file by default, or ``--database-url``) with device alerts spread over a week, a
northbound cache with messages waiting, delivered and expired, power outages, deadline breaches and throttle
summaries, then times the dashboard's figures for each range as an operator (everything) and as a User
organisation's person (its own User IDs), wall-clock and CPU seconds of this process.

    PYTHONPATH=src python benchmarks/alerts_portal.py            # 1,000,000 alerts
    PYTHONPATH=src python benchmarks/alerts_portal.py --quick    # 50,000 alerts, for checks
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from gbsmart.alerts import queries  # noqa: E402
from gbsmart.alerts.rollup import add_volumes  # noqa: E402
from gbsmart.config import Settings  # noqa: E402
from gbsmart.core.clock import FixedClock  # noqa: E402
from gbsmart.core.context import Actor, Ctx  # noqa: E402
from gbsmart.core.db import Base, make_engine, make_sessionmaker  # noqa: E402
from gbsmart.models.alerts import (  # noqa: E402
    Alert,
    AlertDeadlineBreach,
    AlertThrottleSummary,
    NorthboundMessage,
    PowerOutage,
)
from gbsmart.models.parties import DccUser, Organisation  # noqa: E402

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
CODES = ["8F3E"] * 8 + ["8F12", "8F35", "8F36"]
REGIONS = ["North", "Central", "South"]
USERS = [f"90-B3-D5-1F-30-{i:02X}-00-00" for i in range(1, 21)]
CLASSES = list(queries.DEFAULT_CLASSES)


def _roll_up(connection, batch: list[dict]) -> None:  # noqa: ANN001
    """The dashboard's per-minute roll-up of ``batch``, as the intake writes it with the alerts."""
    with Session(bind=connection) as session:
        add_volumes(session, batch)


def _fill(engine, n_alerts: int, n_messages: int, n_outages: int, n_summaries: int) -> None:  # noqa: ANN001
    rng = random.Random(4)
    week = 7 * 86400
    with engine.begin() as c:
        c.execute(insert(Organisation), [{"id": i + 1, "name": f"Org {i}", "kind": "sec_party", "created_at": NOW}
                                         for i in range(len(USERS))])
        c.execute(insert(DccUser), [{"organisation_id": i + 1, "eui64": u} for i, u in enumerate(USERS)])
        batch: list[dict] = []
        for i in range(n_alerts):
            at = NOW - timedelta(seconds=rng.random() * week)
            batch.append({"device_id": f"00-DB-00-00-{i // 65536 % 256:02X}-{i // 256 % 256:02X}-{i % 256:02X}-00",
                          "code": rng.choice(CODES), "occurred_at": at, "received_at": at, "source": "simulator",
                          "csp_region": rng.choice(REGIONS), "outcome": "routed", "recipients": 1, "detail": ""})
            if len(batch) == 20000:
                c.execute(insert(Alert), batch)
                _roll_up(c, batch)
                batch = []
        if batch:
            c.execute(insert(Alert), batch)
            _roll_up(c, batch)
        msgs = []
        for i in range(n_messages):
            created = NOW - timedelta(seconds=rng.random() * 2 * 86400)
            fate = rng.random()
            msgs.append({"message_id": f"N{i}", "user_id": rng.choice(USERS), "kind": "device_alert",
                         "priority": rng.choice(CLASSES), "code": "8F3E", "payload": "{}", "created_at": created,
                         "expires_at": created + timedelta(days=2), "attempts": 1, "last_error": "",
                         "delivered_at": min(NOW, created + timedelta(seconds=2)) if fate < 0.8 else None,
                         "expired_at": NOW - timedelta(hours=rng.random() * 24) if 0.8 <= fate < 0.82 else None})
        for i in range(0, len(msgs), 20000):
            c.execute(insert(NorthboundMessage), msgs[i:i + 20000])
        c.execute(insert(PowerOutage), [
            {"comms_hub_id": f"00-DB-11-00-00-{i // 256 % 256:02X}-{i % 256:02X}-00", "mpxn": "1200023305967",
             "distributor": rng.choice(USERS), "state": "reported", "scope": "wide_area", "lost_at": lost,
             "ad1_due_at": lost + timedelta(minutes=4), "ad1_delivered_at": lost + timedelta(minutes=3, seconds=20)}
            for i in range(n_outages) for lost in (NOW - timedelta(seconds=rng.random() * week),)])
        c.execute(insert(AlertDeadlineBreach), [
            {"message_id": f"B{i}", "what": "AD1 Power Outage Event", "subject": "00-DB", "user_id": rng.choice(USERS),
             "due_at": NOW, "cause": rng.choice(["endpoint answered 503", "endpoint timed out"]),
             "recorded_at": NOW - timedelta(seconds=rng.random() * week)} for i in range(max(1, n_outages // 100))])
        c.execute(insert(AlertThrottleSummary), [
            {"sequence_id": i, "device_id": f"00-DB-00-00-00-{i // 256 % 256:02X}-{i % 256:02X}-00", "code": "8F3E",
             "count": rng.randint(2, 500), "first_at": (t := NOW - timedelta(seconds=rng.random() * week)),
             "last_at": t + timedelta(minutes=10), "emitted_at": t + timedelta(minutes=15) if i % 10 else None}
            for i in range(n_summaries)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="50,000 alerts, for checks (under a minute)")
    ap.add_argument("--alerts", type=int, default=1_000_000)
    ap.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary directory")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each query set (the best is reported)")
    args = ap.parse_args()
    n = 50_000 if args.quick else args.alerts
    tmp = tempfile.mkdtemp(prefix="alerts-portal-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    t0 = time.perf_counter()
    _fill(engine, n, n // 5, n // 50, n // 20)
    load_s = time.perf_counter() - t0
    settings = Settings(data_dir=Path(tmp), database_url=url, secret_key="bench")
    readers = {"operator": Actor(person_id=None, username="dcc", name="DCC", roles=frozenset({"dcc"})),
               "user org": Actor(person_id=None, username="u", name="U", roles=frozenset({"party_user"}),
                                 organisation_id=1)}
    results: dict[str, dict[str, float]] = {}
    print(f"{n:,} alerts, {n // 5:,} northbound messages, {n // 50:,} outages, {n // 20:,} throttle summaries "
          f"loaded in {load_s:.1f} s ({engine.dialect.name}); load average {os.getloadavg()[0]:.2f}")
    print(f"{'reader':<10} {'range':<6} {'wall ms':>9} {'cpu ms':>9}")
    with make_sessionmaker(engine)() as session:
        for who, actor in readers.items():
            ctx = Ctx(session=session, actor=actor, clock=FixedClock(NOW), settings=settings)
            for name in queries.RANGES:
                best_wall, best_cpu = float("inf"), float("inf")
                for _ in range(args.repeat):
                    w0, c0 = time.perf_counter(), time.process_time()
                    queries.summary(ctx, queries.window(NOW, name))
                    best_wall = min(best_wall, time.perf_counter() - w0)
                    best_cpu = min(best_cpu, time.process_time() - c0)
                results[f"{who}/{name}"] = {"wall_ms": round(best_wall * 1000, 1), "cpu_ms": round(best_cpu * 1000, 1)}
                print(f"{who:<10} {name:<6} {best_wall * 1000:>9.1f} {best_cpu * 1000:>9.1f}")
    engine.dispose()
    print("RESULT " + json.dumps({"alerts": n, "database": engine.dialect.name, "load_s": round(load_s, 1),
                                  "loadavg_1m": round(os.getloadavg()[0], 2), "summary": results}))


if __name__ == "__main__":
    main()

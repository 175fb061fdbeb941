"""How fast a DCC User's home (``ssi.home.glance``) and the service audit trail (``ssi.audit.search``) answer on a
large journal.

Fills a fresh database (a SQLite file by default, or ``--database-url``) with a month of DUIS requests from 20 DCC
Users (about one in twenty of them today), their device responses, a northbound cache and some quarantined
requests. Then it times, as one User organisation's person and as the DCC (every User), wall-clock and CPU
seconds of this process, the best of ``--repeat`` runs:

- the home;
- the audit trail's first page, unfiltered;
- the audit trail's first page for one RequestID;
- the audit trail's first page for one SRV and code.

    PYTHONPATH=src python benchmarks/ssi_home.py            # 1,000,000 requests
    PYTHONPATH=src python benchmarks/ssi_home.py --quick    # 50,000 requests, for checks

It prints a table and one ``RESULT {...}`` line with at least ``requests``, ``database``, ``home_user_ms``,
``home_dcc_ms``, ``audit_user_ms``, ``audit_dcc_ms`` and ``audit_request_id_ms``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sqlalchemy import insert  # noqa: E402

from gbsmart.config import Settings  # noqa: E402
from gbsmart.core.clock import FixedClock  # noqa: E402
from gbsmart.core.context import Actor, Ctx  # noqa: E402
from gbsmart.core.db import Base, make_engine, make_sessionmaker  # noqa: E402
from gbsmart.models.adt import QuarantinedRequest  # noqa: E402
from gbsmart.models.alerts import NorthboundMessage  # noqa: E402
from gbsmart.models.delivery import GatewayResponse  # noqa: E402
from gbsmart.models.features import FeatureSwitch  # noqa: E402
from gbsmart.models.gateway import GatewayMessage  # noqa: E402
from gbsmart.models.parties import DccUser, Organisation  # noqa: E402
from gbsmart.ssi import audit, home  # noqa: E402

NOW = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
USERS = [f"90-B3-D5-1F-30-{i:02X}-00-00" for i in range(1, 21)]
SRVS = ["4.1.1", "4.8.1", "6.2.1", "8.2", "11.1", "12.1"]
FATES = [("delivered", "I0")] * 14 + [("acknowledged", "I99"), ("answered", "I0"), ("refused", "E4"),
                                      ("refused", "E19"), ("refused", "E2"), ("undelivered", "I0")]
BATCH = 20_000


def _fill(engine: Any, n: int) -> str:
    """``n`` requests over the 31 days to NOW (one in twenty today), and what follows them; a RequestID to find."""
    rng = random.Random(15)
    month = 31 * 86400
    today = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    wanted = ""
    with engine.begin() as c:
        c.execute(insert(Organisation), [{"id": i + 1, "name": f"Org {i}", "kind": "sec_party", "created_at": NOW}
                                         for i in range(len(USERS))])
        c.execute(insert(DccUser), [{"organisation_id": i + 1, "eui64": u} for i, u in enumerate(USERS)])
        c.execute(insert(FeatureSwitch), [{"feature": f, "organisation_id": None, "enabled_at": NOW,
                                           "enabled_by": "bench"} for f in ("ssi_home", "audit_search")])
        messages: list[dict[str, Any]] = []
        responses: list[dict[str, Any]] = []
        for i in range(n):
            user = USERS[i % len(USERS)]
            at = (today + timedelta(seconds=rng.random() * (NOW - today).total_seconds()) if rng.random() < 0.05
                  else NOW - timedelta(seconds=rng.random() * month))
            state, code = rng.choice(FATES) if i != n // 2 else ("delivered", "I0")  # the one to find: answered
            device = f"00-DB-00-00-{i // 65536 % 256:02X}-{i // 256 % 256:02X}-{i % 256:02X}-00"
            rid = f"{user}:{device}:{i + 1}"
            if i == n // 2:
                wanted = rid
            done = at + timedelta(seconds=rng.uniform(2, 40)) if state in ("delivered", "undelivered") else None
            messages.append({"request_id": rid, "originator": user, "target": device, "counter": i + 1,
                             "srv": rng.choice(SRVS), "command_variant": 1, "service": "serviceS", "state": state,
                             "code": code, "explanation": "", "trt_class": "on_demand", "received_at": at,
                             "answered_at": at, "due_at": at + timedelta(seconds=30), "completed_at": done,
                             "delivered_at": done if state == "delivered" else None, "log_seq": i + 1})
            if done is not None:
                responses.append({"request_id": rid, "response_id": f"R{i}", "originator": user, "counter": i + 1,
                                  "log_seq": i + 1, "code": "I0", "body": b"<r/>", "completed_at": done,
                                  "delivered_at": done if state == "delivered" else None})
            if len(messages) == BATCH:
                c.execute(insert(GatewayMessage), messages)
                c.execute(insert(GatewayResponse), responses)
                messages, responses = [], []
        if messages:
            c.execute(insert(GatewayMessage), messages)
        if responses:
            c.execute(insert(GatewayResponse), responses)
        msgs = []
        for i in range(n // 5):
            created = NOW - timedelta(seconds=rng.random() * 2 * 86400)
            delivered = rng.random() < 0.9
            msgs.append({"message_id": f"N{i}", "user_id": USERS[i % len(USERS)], "kind": "device_alert",
                         "priority": "alert", "code": "8F3E", "payload": "{}", "created_at": created,
                         "expires_at": created + timedelta(days=2), "attempts": 1, "last_error": "",
                         "delivered_at": min(NOW, created + timedelta(seconds=2)) if delivered else None})
            if len(msgs) == BATCH:
                c.execute(insert(NorthboundMessage), msgs)
                msgs = []
        if msgs:
            c.execute(insert(NorthboundMessage), msgs)
        c.execute(insert(QuarantinedRequest), [
            {"request_id": f"{USERS[i % len(USERS)]}:00-DB-00-00-00-00-00-01:{10**9 + i}",
             "originator": USERS[i % len(USERS)], "counter": 10**9 + i, "srv": "4.1.1", "service": "serviceS",
             "log_seq": 10**9 + i, "breach": "user", "threshold": 3, "count": 4, "status": "held", "body": "<x/>",
             "received_at": NOW - timedelta(minutes=i)} for i in range(max(1, n // 1000))])
    return wanted


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    return wall * 1000, cpu * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="50,000 requests, for checks (well under a minute)")
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary directory")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each query (the best is reported)")
    args = ap.parse_args()
    n = 50_000 if args.quick else args.requests
    tmp = tempfile.mkdtemp(prefix="ssi-home-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    t0 = time.perf_counter()
    wanted = _fill(engine, n)
    load_s = time.perf_counter() - t0
    settings = Settings(data_dir=Path(tmp), database_url=url, secret_key="bench")
    readers = {"user": Actor(person_id=None, username="u", name="U", roles=frozenset({"party_user"}),
                             organisation_id=1),
               "dcc": Actor(person_id=None, username="dcc", name="DCC", roles=frozenset({"dcc"}))}
    print(f"{n:,} requests over 31 days from {len(USERS)} Users (about {n // 20:,} today), "
          f"{n // 5:,} northbound messages loaded in {load_s:.1f} s ({engine.dialect.name}); "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'reader':<6} {'what':<24} {'wall ms':>9} {'cpu ms':>9} {'result':>7}")
    figures: dict[str, float] = {}
    with make_sessionmaker(engine)() as session:
        for who, actor in readers.items():
            ctx = Ctx(session=session, actor=actor, clock=FixedClock(NOW), settings=settings)
            checks: dict[str, Callable[[], Any]] = {
                "home": lambda ctx=ctx: home.glance(ctx).requests_today,
                "audit": lambda ctx=ctx: len(audit.search(ctx, audit.make_filters(NOW)).items),
                "audit_request_id": lambda ctx=ctx: len(audit.search(
                    ctx, audit.make_filters(NOW, request_id=wanted)).items),
                "audit_srv_code": lambda ctx=ctx: len(audit.search(
                    ctx, audit.make_filters(NOW, srv="4.1.1", code="E4")).items),
            }
            for name, fn in checks.items():
                rows = fn()
                wall, cpu = _best(fn, args.repeat)
                figures[f"{name}_{who}_ms"] = round(wall, 1)
                figures[f"{name}_{who}_result"] = rows
                figures[f"{name}_{who}_cpu_ms"] = round(cpu, 1)
                print(f"{who:<6} {name:<24} {wall:>9.1f} {cpu:>9.1f} {rows:>7}")
    engine.dispose()
    result = {"requests": n, "database": engine.dialect.name, "load_s": round(load_s, 1),
              "loadavg_1m": round(os.getloadavg()[0], 2),
              "home_user_ms": figures["home_user_ms"], "home_dcc_ms": figures["home_dcc_ms"],
              "audit_user_ms": figures["audit_user_ms"], "audit_dcc_ms": figures["audit_dcc_ms"],
              "audit_request_id_ms": figures["audit_request_id_user_ms"], "all": figures}
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()

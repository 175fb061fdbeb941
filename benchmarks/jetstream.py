"""The gateway core on the JetStream request log, with 1 and 2 processes, beside JetStream's own publish ceiling
measured in the same run (issue 12, point 4).

    .venv/bin/python benchmarks/jetstream.py            # 10,000,000 devices, 60,000 requests
    .venv/bin/python benchmarks/jetstream.py --quick    # 1,000,000 devices, 10,000 requests: under a minute
    .venv/bin/python benchmarks/jetstream.py --nats-url nats://host:4222   # an existing server or cluster

What it does, in order (each step on the same index, the same request bodies and the same nats-server):

1. **The core** (``benchmarks/gateway.py``'s ``Core``: parse and schema validation, the counter check, authorise
   against an ``AuthorisationIndex`` of N devices, the route, the durable append, the I99 built), once on the
   embedded file log (for comparison) and then on ``JetStreamLog`` in 1 process and in 2 forked processes. The
   two processes share one stream; each has the requests of its own half of the Users (as a load balancer that
   keeps a User's connection on one process would give them). A request is durable when its PubAck has come.
2. **The ceiling**: the same bodies published by bare ``js.publish`` calls (no headers, no counter check, no
   parse), as many in flight as the core had, in 1 and in 2 processes: what this client library and this server
   can take on this machine.

The server is a ``nats-server -js`` started here on a free port (Debian's 2.9, file storage in a temporary
directory, one node) unless ``--nats-url`` names one. Wall-clock rates, with the CPU seconds of the benchmark's
processes beside them (the server's CPU is read from /proc when it runs here). A table, then one ``RESULT {...}``
line with at least ``core_rps_1``, ``core_rps_2``, ``publish_ceiling_rps_1``, ``publish_ceiling_rps_2``,
``ceiling_vs_core_1``, ``ceiling_vs_core_2``, ``scaling_2_over_1``, ``embedded_core_rps``, and (unless
``--skip-http``) ``http_embedded_rps``, ``http_jetstream_1_rps``, ``http_jetstream_2_rps`` with their p50/p99.

3. **Signed DUIS over HTTP** (``benchmarks/gateway.py``'s client and pre-signed requests, the device simulator
   off): one embedded ``gbsmart gateway serve``, then 1 and 2 processes on the jetstream engine (the second with
   ``GBSMART_GATEWAY_BACKGROUND=false``), each User's keep-alive connection to one process, half the Users on each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from benchmarks.gateway import (  # noqa: E402
    Core,
    _event_loop,
    _free_port,
    _proc_cpu,
    build_index,
    core_requests,
    drive,
    run_core,
    seed_gateway,
    sign_requests,
    start_gateway,
)

from gbsmart.gateway.authorise import AuthorisationIndex  # noqa: E402
from gbsmart.gateway.duis import DuisCodec  # noqa: E402
from gbsmart.gateway.jetstream import JetStreamLog  # noqa: E402
from gbsmart.gateway.xml import duis_schema  # noqa: E402

_ORIGINATOR = re.compile(rb"<sr:RequestID>([^:<]+):")


async def core_on_jetstream(index: AuthorisationIndex, bodies: list[bytes], url: str, stream: str, prefix: str,
                            batch: int, in_flight: int, barrier: Any = None) -> dict[str, Any]:
    codec = DuisCodec(duis_schema(None))
    log = await JetStreamLog.open(url, stream=stream, prefix=prefix, max_pending=batch * in_flight * 2)
    core = Core(index, log, codec)  # type: ignore[arg-type]  # RequestLog's interface
    await core.batch(bodies[:64])  # warm: schema, matrix, caches, each originator's last counter
    core.accepted = core.refused = 0
    core.codes.clear()
    work = bodies[64:]
    chunks = [work[i:i + batch] for i in range(0, len(work), batch)]
    position = 0

    async def worker() -> None:
        nonlocal position
        while position < len(chunks):
            chunk = chunks[position]
            position += 1
            await core.batch(chunk)

    if barrier is not None:
        barrier.wait()
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    conflicts = log.conflicts + log.duplicates
    await log.close()
    return {"requests": len(work), "seconds": seconds, "cpu_seconds": cpu, "accepted": core.accepted,
            "refused": core.refused, "codes": core.codes, "conflicts": conflicts}


async def bare_publish(bodies: list[bytes], url: str, subject: str, in_flight: int,
                       barrier: Any = None) -> dict[str, Any]:
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream(timeout=30)
    room = asyncio.Semaphore(in_flight)

    async def one(body: bytes) -> None:
        async with room:
            await js.publish(subject, body)

    await asyncio.gather(*(one(b) for b in bodies[:64]))
    if barrier is not None:
        barrier.wait()
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(b) for b in bodies[64:]))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    await nc.close()
    return {"requests": len(bodies) - 64, "seconds": seconds, "cpu_seconds": cpu}


async def make_stream(url: str, name: str, subjects: str) -> None:
    """A stream like the request log's (file storage, one replica) for the bare publishes to land in."""
    import nats
    from nats.js.api import StorageType, StreamConfig

    nc = await nats.connect(url)
    await nc.jetstream().add_stream(StreamConfig(name=name, subjects=[subjects], storage=StorageType.FILE))
    await nc.close()


def _split(bodies: list[bytes], parts: int) -> list[list[bytes]]:
    shares: list[list[bytes]] = [[] for _ in range(parts)]
    for body in bodies:
        found = _ORIGINATOR.search(body)
        shares[zlib.crc32(found.group(1) if found else b"") % parts].append(body)
    return shares


def _child(kind: str, args: tuple[Any, ...], barrier: Any, results: Any) -> None:
    if kind == "core":
        results.put(asyncio.run(core_on_jetstream(*args, barrier=barrier)))
    else:
        results.put(asyncio.run(bare_publish(*args, barrier=barrier)))


def in_processes(kind: str, shares: list[tuple[Any, ...]]) -> dict[str, Any]:
    """``kind`` ('core' or 'publish') in one forked process per share, started together; wall-clock of the
    slowest, requests and CPU summed."""
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(len(shares)), context.Queue()
    children = [context.Process(target=_child, args=(kind, share, barrier, results)) for share in shares]
    for child in children:
        child.start()
    parts = [results.get(timeout=1800) for _ in children]
    for child in children:
        child.join()
    out: dict[str, Any] = {"requests": sum(p["requests"] for p in parts),
                           "seconds": max(p["seconds"] for p in parts),
                           "cpu_seconds": sum(p["cpu_seconds"] for p in parts)}
    if kind == "core":
        out.update(accepted=sum(p["accepted"] for p in parts), refused=sum(p["refused"] for p in parts),
                   conflicts=sum(p["conflicts"] for p in parts))
        codes: dict[str, int] = {}
        for p in parts:
            for code, n in p["codes"].items():
                codes[code] = codes.get(code, 0) + n
        out["codes"] = codes
    return out


def http_runs(url: str, work: Path, users: int, per_user: int, seconds: float) -> dict[str, Any]:
    """Signed DUIS over HTTP: one embedded gateway, then 1 and 2 gateway processes on the jetstream engine, each
    on a fresh stream, the same pre-signed requests (64 Users by default, one keep-alive connection each; with two
    processes, half the Users on each)."""
    from gbsmart.config import Settings
    from gbsmart.gateway.store import dcc_signer

    db = f"sqlite:///{work / 'http.db'}"
    data_dir = work / "http-var"
    keys = seed_gateway(db, data_dir, users)
    dcc_signer(Settings(data_dir=data_dir))  # made once, before two processes start together
    bodies = sign_requests(keys, per_user)
    base = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GBSMART_DATABASE_URL": db,
            "GBSMART_DATA_DIR": str(data_dir), "GBSMART_SIMULATOR_ENABLED": "false"}
    out: dict[str, Any] = {"http_users": users}
    for label, processes in (("embedded", 1), ("jetstream_1", 1), ("jetstream_2", 2)):
        tag = uuid.uuid4().hex[:8]
        envs = []
        for n in range(processes):
            env = dict(base)
            if label != "embedded":
                env.update(GBSMART_MESSAGE_ENGINE="jetstream", GBSMART_NATS_URLS=url,
                           GBSMART_NATS_STREAM=f"HTTP_{tag.upper()}", GBSMART_NATS_SUBJECT_PREFIX=f"http{tag}.req",
                           GBSMART_GATEWAY_BACKGROUND="true" if n == 0 else "false")
            else:  # the embedded log of this run only
                env["GBSMART_GATEWAY_DIR"] = str(data_dir / "gateway")
            envs.append(env)
        if label == "embedded":
            (data_dir / "gateway" / "requests.log").unlink(missing_ok=True)
        ports = [_free_port() for _ in range(processes)]
        procs = [start_gateway(envs[0], ports[0])]
        procs += [start_gateway(env, port) for env, port in zip(envs[1:], ports[1:], strict=True)]
        try:
            shares: list[dict[str, list[bytes]]] = [{} for _ in range(processes)]
            for k, (user, mine) in enumerate(sorted(bodies.items())):
                shares[k % processes][user] = mine

            async def both(part: slice, limit: float, ports: list[int] = ports,
                           shares: list[dict[str, list[bytes]]] = shares) -> list[dict[str, Any]]:
                return list(await asyncio.gather(*(drive(port, {u: b[part] for u, b in share.items()}, limit)
                                                   for port, share in zip(ports, shares, strict=True))))

            with _event_loop() as runner:
                runner.run(both(slice(0, 2), 30))  # warm: connections, caches, each originator's first record
                before = sum(_proc_cpu(p.pid) for p in procs)
                parts = runner.run(both(slice(2, None), seconds))
                cpu = sum(_proc_cpu(p.pid) for p in procs) - before
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
        requests = sum(p["http_requests"] for p in parts)
        wall = max(p["http_seconds"] for p in parts)
        codes: dict[str, int] = {}
        for p in parts:
            for code, n in p["http_codes"].items():
                codes[code] = codes.get(code, 0) + n
        out[f"http_{label}_rps"] = round(requests / wall)
        out[f"http_{label}_p50_ms"] = round(max(p["http_p50_ms"] for p in parts), 2)
        out[f"http_{label}_p99_ms"] = round(max(p["http_p99_ms"] for p in parts), 2)
        out[f"http_{label}_cpu_us"] = round(cpu / requests * 1e6)
        out[f"http_{label}_codes"] = codes
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000,000 devices, 10,000 requests: under a minute")
    parser.add_argument("--devices", type=int, default=0, help="devices in the index (default 10,000,000)")
    parser.add_argument("--requests", type=int, default=0, help="core requests (default 60,000; quick 10,000)")
    parser.add_argument("--batch", type=int, default=1024, help="requests a core batch holds (default 1,024)")
    parser.add_argument("--in-flight", type=int, default=4, help="core batches in flight at once (default 4)")
    parser.add_argument("--nats-url", default="", help="an existing NATS server (default: one started here)")
    parser.add_argument("--dir", type=Path, default=None, help="where the embedded log and the server's store go")
    parser.add_argument("--skip-http", action="store_true", help="no signed-HTTP runs")
    parser.add_argument("--seconds", type=float, default=0, help="longest signed-HTTP run (default 20; quick 5)")
    args = parser.parse_args()
    devices = args.devices or (1_000_000 if args.quick else 10_000_000)
    n_requests = args.requests or (10_000 if args.quick else 60_000)

    work = Path(tempfile.mkdtemp(prefix="jetstream-bench-", dir=args.dir or Path.cwd()))
    server = None
    try:
        url = args.nats_url
        if not url:
            from tests.plugins.nats import NatsServer, find_binary

            binary = find_binary()
            if binary is None:
                sys.exit("no nats-server: apt-get install nats-server (scripts/test installs it), or --nats-url")
            server = NatsServer(binary, work / "nats")
            server.start()
            url = server.url
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        index = build_index(devices)
        figures: dict[str, Any] = {"devices": len(index.devices), "registrations": len(index.registrations),
                                   "users": len(index.users), "index_build_seconds": round(time.perf_counter()
                                                                                         - started, 1),
                                   "requests": n_requests, "batch": args.batch, "in_flight": args.in_flight,
                                   "nats_url_given": bool(args.nats_url)}
        bodies, _ = core_requests(index, n_requests)
        figures["body_bytes_mean"] = round(sum(map(len, bodies)) / len(bodies))
        server_cpu = (lambda: _proc_cpu(server.process.pid)) if server and server.process else (lambda: 0.0)
        rows: list[tuple[str, dict[str, Any], float]] = []

        embedded = asyncio.run(run_core(index, bodies, work / "embedded", args.batch, args.in_flight, None))
        figures["embedded_core_rps"] = round(embedded["core_rps"])
        figures["embedded_core_cpu_us"] = round(embedded["core_cpu_seconds"] / embedded["core_requests"] * 1e6)

        for processes in (1, 2):
            tag = uuid.uuid4().hex[:8]
            stream, prefix = f"BENCH_{tag.upper()}", f"bench{tag}.req"
            before = server_cpu()
            if processes == 1:
                core = asyncio.run(core_on_jetstream(index, bodies, url, stream, prefix, args.batch, args.in_flight))
            else:
                core = in_processes("core", [(index, share, url, stream, prefix, args.batch, args.in_flight)
                                             for share in _split(bodies, processes)])
            core["server_cpu_seconds"] = server_cpu() - before
            rows.append((f"core on JetStream, {processes} process{'es' if processes > 1 else ''}", core,
                         core["requests"] / core["seconds"]))
            figures[f"core_rps_{processes}"] = round(core["requests"] / core["seconds"])
            figures[f"core_cpu_us_{processes}"] = round(core["cpu_seconds"] / core["requests"] * 1e6)
            figures[f"core_server_cpu_us_{processes}"] = round(core["server_cpu_seconds"] / core["requests"] * 1e6)
            figures[f"core_accepted_{processes}"] = core["accepted"]
            figures[f"core_refused_{processes}"] = core["refused"]
            figures[f"core_codes_{processes}"] = core["codes"]
            figures[f"core_conflicts_{processes}"] = core["conflicts"]

            in_flight = args.batch * args.in_flight
            asyncio.run(make_stream(url, f"BARE_{tag.upper()}", f"bare{tag}.>"))
            before = server_cpu()
            if processes == 1:
                bare = asyncio.run(bare_publish(bodies, url, f"bare{tag}.one", in_flight))
            else:
                bare = in_processes("publish", [(share, url, f"bare{tag}.{k}", in_flight)
                                                for k, share in enumerate(_split(bodies, processes))])
            bare["server_cpu_seconds"] = server_cpu() - before
            rows.append((f"bare js.publish, {processes} process{'es' if processes > 1 else ''}", bare,
                         bare["requests"] / bare["seconds"]))
            figures[f"publish_ceiling_rps_{processes}"] = round(bare["requests"] / bare["seconds"])
            figures[f"publish_cpu_us_{processes}"] = round(bare["cpu_seconds"] / bare["requests"] * 1e6)
            figures[f"publish_server_cpu_us_{processes}"] = round(bare["server_cpu_seconds"] / bare["requests"]
                                                                  * 1e6)
            figures[f"ceiling_vs_core_{processes}"] = round(figures[f"publish_ceiling_rps_{processes}"]
                                                            / max(1, figures[f"core_rps_{processes}"]), 2)
        if not args.skip_http:
            figures.update(http_runs(url, work, 16 if args.quick else 64, 60 if args.quick else 300,
                                     args.seconds or (5 if args.quick else 20)))
        figures["scaling_2_over_1"] = round(figures["core_rps_2"] / max(1, figures["core_rps_1"]), 2)
        figures["jetstream_vs_embedded_1"] = round(figures["embedded_core_rps"] / max(1, figures["core_rps_1"]), 2)
        figures["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
        figures["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nGateway core on JetStream: {figures['devices']:,} devices, {figures['requests']:,} requests "
          f"({figures['body_bytes_mean']:,} bytes each), batches of {args.batch}, {args.in_flight} in flight\n")
    print(f"{'run':<34}{'requests/s':>12}{'client CPU µs/req':>19}{'server CPU µs/req':>19}")
    print(f"{'core on the embedded file log, 1':<34}{figures['embedded_core_rps']:>12,}"
          f"{figures['embedded_core_cpu_us']:>19,}{'':>19}")
    for name, run, rate in rows:
        print(f"{name:<34}{round(rate):>12,}{round(run['cpu_seconds'] / run['requests'] * 1e6):>19,}"
              f"{round(run['server_cpu_seconds'] / run['requests'] * 1e6):>19,}")
    print(f"\nceiling / core: 1 process {figures['ceiling_vs_core_1']}x, 2 processes {figures['ceiling_vs_core_2']}x;"
          f" 2 processes / 1: {figures['scaling_2_over_1']}x; counter races lost: {figures['core_conflicts_2']}\n")
    if not args.skip_http:
        print(f"signed DUIS over HTTP, {figures['http_users']} Users (one keep-alive connection each):\n")
        print(f"{'gateway':<34}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'gateway CPU µs/req':>20}")
        for label, name in (("embedded", "embedded, 1 process"), ("jetstream_1", "jetstream, 1 process"),
                            ("jetstream_2", "jetstream, 2 processes")):
            print(f"{name:<34}{figures[f'http_{label}_rps']:>12,}{figures[f'http_{label}_p50_ms']:>9}"
                  f"{figures[f'http_{label}_p99_ms']:>9}{figures[f'http_{label}_cpu_us']:>20,}")
        print()
    print("RESULT " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()

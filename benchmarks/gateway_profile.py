"""Where a signed DUIS request's CPU goes in the real ``gbsmart gateway serve`` (issue 10 point 10(b)).

    .venv/bin/python benchmarks/gateway_profile.py                  # --workers 1, 8 s under load, py-spy
    .venv/bin/python benchmarks/gateway_profile.py --workers 2 --seconds 6
    .venv/bin/python benchmarks/gateway_profile.py --no-spy         # CPU per request only

The gateway and its load are ``benchmarks/gateway_workers.py``'s (a fresh SQLite database with the demo's DCC
Boxed organisations and devices, ``--clients`` Supplier Users, requests signed beforehand, one keep-alive
connection per User, the device simulator off). While the load runs, ``py-spy record`` (``pip install py-spy``;
found on the PATH or with ``--py-spy``) samples the gateway's process tree at 200 Hz; the samples are grouped by
the pipeline step they are in (the first match in ``STEPS``), as shares of all the samples. The CPU per request
of the supervisor, the workers and this client are read from /proc and getrusage. On a shared machine the
shares are steadier than the microseconds: a busy neighbour slows every step alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gateway_workers as gw  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

#: (step, texts of frames that put a sample in it): the first match wins, so inner steps come first
STEPS = (
    ("parse + schema (DuisCodec.parse)", "DuisCodec.parse"),
    ("verify (fastsig.verify_request)", "verify_request (gbsmart/gateway/fastsig"),
    ("sign the I99 (fastsig.sign)", "Gateway._sign"),
    ("build the I99", "acknowledgement ("),
    ("authorise", "authorise (gbsmart/gateway/authorise"),
    ("ADT check", "AdtGate.check"),
    ("journal row queued", "Gateway._journal"),
    ("journal write (thread)", "Journal._write"),
    ("request log write + fdatasync (thread)", "RequestLog._write"),
    ("request log append (loop)", "RequestLog.append"),
    ("sequencer (supervisor)", "sequencer.py"),
    ("uvicorn HTTP (parse, send, receive)", "RequestResponseCycle.send", "RequestResponseCycle.receive",
     "HttpToolsProtocol"),
    ("rest of the gateway pipeline", "gbsmart/gateway/server.py"),
    ("uvicorn HTTP (parse, send, receive)", "uvicorn/"),
    ("event loop (uvloop, in C)", "Runner.run"),
    ("thread pool waits", "concurrent/futures/thread.py"),
)


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _split_cpu(pid: int) -> tuple[float, float]:
    """(the supervisor's or single process's CPU seconds, its workers' together)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return _cpu(pid), sum(_cpu(int(c)) for c in children)


def grouped(raw: Path) -> list[tuple[str, float]]:
    """py-spy's raw (collapsed) stacks as (step, share of the samples)."""
    counts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        total += int(n)
        step = next((name for name, *keys in STEPS if any(key in stack for key in keys)),
                    "other: " + stack.split(";")[-1][:60])
        counts[step] += int(n)
    return [(step, n / max(1, total)) for step, n in counts.most_common()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--per-client", type=int, default=400)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "", help="the py-spy binary")
    parser.add_argument("--no-spy", action="store_true")
    args = parser.parse_args()
    key = ec.generate_private_key(ec.SECP256R1())
    certs = [gw.certificate(key, gw.user_id(i), 0x6000 + i) for i in range(args.clients)]
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    certs_pem = [c.public_bytes(serialization.Encoding.PEM) for c in certs]
    with ProcessPoolExecutor(os.cpu_count() or 2) as pool:
        signed = list(pool.map(gw._sign_batch, [
            (key_pem, [(gw.user_id(i), c) for c in range(1, args.per_client + 1)], certs_pem)
            for i in range(args.clients)]))
    directory = Path(tempfile.mkdtemp(prefix="gbsmart-profile-"))
    spy = None
    try:
        env = gw.seed(directory, args.clients, certs)
        env["GBSMART_SIMULATOR_ENABLED"] = "false"
        port = gw.free_port()
        process = gw.start(env, port, args.workers)
        raw = directory / "samples.txt"
        if args.py_spy and not args.no_spy:
            spy = subprocess.Popen([args.py_spy, "record", "-p", str(process.pid), "--subprocesses", "-r", "200",
                                    "-d", str(int(args.seconds + 1)), "-f", "raw", "-o", str(raw)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        load = os.getloadavg()[0]
        before, own = _split_cpu(process.pid), resource.getrusage(resource.RUSAGE_SELF)
        latencies, errors, elapsed = asyncio.run(gw.drive(port, signed, args.seconds))
        after, mine = _split_cpu(process.pid), resource.getrusage(resource.RUSAGE_SELF)
        if spy is not None:
            spy.wait(60)
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        n = len(latencies) * (elapsed + 1.0) / elapsed  # the warm-up second's requests too
        client = mine.ru_utime + mine.ru_stime - own.ru_utime - own.ru_stime
        print(f"--workers {args.workers}, {args.clients} clients, load average {load:.1f}: "
              f"{len(latencies) / elapsed:,.0f} requests/s, {len(errors)} errors")
        print(f"CPU per request: {'supervisor' if args.workers > 1 else 'gateway'} "
              f"{(after[0] - before[0]) * 1e6 / n:,.0f} µs, workers {(after[1] - before[1]) * 1e6 / n:,.0f} µs, "
              f"client {client * 1e6 / n:,.0f} µs")
        if spy is not None and raw.exists():
            for step, share in grouped(raw)[:25]:
                print(f"{share:7.1%}  {step}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()

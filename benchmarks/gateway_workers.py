"""Signed DUIS requests over HTTP at ``gbsmart gateway serve --workers 1`` and ``--workers N`` (decision 0025).

    .venv/bin/python benchmarks/gateway_workers.py                 # --workers 1 and 2, 6 s each
    .venv/bin/python benchmarks/gateway_workers.py --quick         # 3 s each, for checks
    .venv/bin/python benchmarks/gateway_workers.py --workers 1 2 --seconds 10 --clients 64

For each worker count: a fresh SQLite database with the demo's DCC Boxed organisations and devices, plus
``--clients`` Supplier User IDs (each its own certificate, one key), and a fresh request log; then a real
``gbsmart gateway serve --workers N`` process tree. The requests (4.1.1 Read Instantaneous Import Registers
to a demo ESME: verify, authorise, durable log, I99 signed; the device simulator off unless ``--simulator``) are
signed before the run, in a process pool; the
client is one asyncio process (uvloop) with ``--clients`` keep-alive HTTP/1.1 connections, one User each,
sending its requests one after the other (so its counters arrive in order). The first second is warm-up and
not counted. The client shares the machine's cores with the gateway; its CPU share is shown. Figures are
printed as a table, then as one JSON line (``RESULT {...}``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.name import _ASN1Type  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console()
DEVICE = "00-DB-12-34-56-78-90-A0"
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
SUG = "http://www.dccinterface.co.uk/ServiceUserGateway"


def user_id(i: int) -> str:
    return f"90-B3-D5-1F-30-06-{i // 256:02X}-{i % 256:02X}"


def certificate(key: ec.EllipticCurvePrivateKey, uid: str, serial: int) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER,
                                            b"\x00" + bytes.fromhex(uid.replace("-", "")), _type=_ASN1Type.BitString)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gbsmart benchmark CA")])
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(serial).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=7))
            .sign(key, hashes.SHA256()))


def _sign_batch(args: tuple[bytes, list[tuple[str, int]], list[bytes]]) -> list[bytes]:
    from lxml import etree

    from gbsmart.gateway.fastsig import sign

    key_pem, jobs, certs_pem = args
    key = serialization.load_pem_private_key(key_pem, None)
    certs = {}
    out = []
    for uid, counter in jobs:
        if uid not in certs:
            certs[uid] = x509.load_pem_x509_certificate(certs_pem[int(uid[-5:-3], 16) * 256 + int(uid[-2:], 16)])
        raw = (f'<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="{SUG}" schemaVersion="5.4"><sr:Header>'
               f"<sr:RequestID>{uid}:{DEVICE}:{counter}</sr:RequestID>"
               "<sr:CommandVariant>1</sr:CommandVariant><sr:ServiceReference>4.1</sr:ServiceReference>"
               "<sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant></sr:Header>"
               "<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>").encode()
        out.append(sign(etree.fromstring(raw), key, certs[uid]))  # type: ignore[arg-type]
    return out


def seed(directory: Path, clients: int, certs: list[x509.Certificate]) -> dict[str, str]:
    """A database and data directory for one run; the gateway's environment."""
    from sqlalchemy import select

    import gbsmart.models.gateway  # noqa: F401
    import gbsmart.models.smi  # noqa: F401
    from gbsmart.config import Settings
    from gbsmart.core.clock import FixedClock
    from gbsmart.core.context import Actor, Ctx
    from gbsmart.core.db import Base, make_engine, make_sessionmaker
    from gbsmart.gateway.demo import load_gateway_demo
    from gbsmart.gateway.store import save_certificates
    from gbsmart.models.parties import DccUser, DccUserRole

    url = f"sqlite:///{directory / 'gateway.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with make_sessionmaker(engine)() as session:
        ctx = Ctx(session=session, actor=Actor.system("benchmark"), clock=FixedClock(datetime(2024, 1, 2, tzinfo=UTC)),
                  settings=Settings(database_url=url))
        load_gateway_demo(ctx)
        supplier = session.scalar(select(DccUser).where(DccUser.eui64 == SUPPLIER))
        assert supplier is not None
        for i in range(clients):
            session.add(DccUser(organisation_id=supplier.organisation_id, eui64=user_id(i),
                                role_rows=[DccUserRole(role="IS")]))
        session.commit()
    engine.dispose()
    settings = Settings(data_dir=directory / "var")
    for i in range(clients):
        save_certificates(settings, user_id(i), certs[i].public_bytes(serialization.Encoding.PEM))
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GBSMART_DATABASE_URL": url,
            "GBSMART_DATA_DIR": str(directory / "var")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "gbsmart.cli", "gateway", "serve", "--port", str(port),
                                "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the gateway exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 404"):
                    time.sleep(2.0 if workers > 1 else 0.2)  # the other workers finish starting
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the gateway did not start")


async def _client(port: int, bodies: list[bytes], stop_at: float, warm_until: float,
                  latencies: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for body in bodies:
            if time.perf_counter() > stop_at:
                return
            head = (f"POST /api/v1/serviceS HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            began = time.perf_counter()
            writer.write(head + body)
            header = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":", 1)[1]) for line in header.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            answer = await reader.readexactly(length)
            ended = time.perf_counter()
            if not header.startswith(b"HTTP/1.1 200") or b">I99<" not in answer:
                errors.append(header.split(b"\r\n", 1)[0].decode() + " " + answer[:120].decode(errors="replace"))
            elif began >= warm_until:
                latencies.append(ended - began)
        errors.append("a client ran out of signed requests (raise --per-client)")
    finally:
        writer.close()


async def drive(port: int, per_user: list[list[bytes]], seconds: float) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    began = time.perf_counter()
    warm_until, stop_at = began + 1.0, began + 1.0 + seconds
    await asyncio.gather(*(_client(port, bodies, stop_at, warm_until, latencies, errors) for bodies in per_user))
    return latencies, errors, min(time.perf_counter(), stop_at) - warm_until


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its live children (the supervisor and its workers)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        children = []
    for each in [str(pid), *children]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--per-client", type=int, default=0, help="signed requests per client (default: enough)")
    parser.add_argument("--quick", action="store_true", help="3 s per run")
    parser.add_argument("--simulator", action="store_true", help="leave the device simulator on (default off, as "
                        "in benchmarks/gateway.py: its responses, written and delivered later, cost several times "
                        "the request path's CPU and are not what this measures)")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 3.0
    per_client = args.per_client or int(6000 * (args.seconds + 1) / args.clients) + 10
    key = ec.generate_private_key(ec.SECP256R1())
    certs = [certificate(key, user_id(i), 0x6000 + i) for i in range(args.clients)]
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    certs_pem = [c.public_bytes(serialization.Encoding.PEM) for c in certs]
    console.print(f"signing {per_client * args.clients:,} requests ({args.clients} Users) ...")
    with ProcessPoolExecutor(os.cpu_count() or 2) as pool:
        signed = list(pool.map(_sign_batch, [(key_pem, [(user_id(i), c) for c in range(1, per_client + 1)], certs_pem)
                                             for i in range(args.clients)]))
    try:
        import uvloop
        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    rows = []
    for workers in args.workers:
        directory = Path(tempfile.mkdtemp(prefix="gbsmart-bench-workers-"))
        try:
            env = seed(directory, args.clients, certs)
            env["GBSMART_SIMULATOR_ENABLED"] = "true" if args.simulator else "false"
            port = free_port()
            process = start(env, port, workers)
            load_before = os.getloadavg()[0]
            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            gateway_before = tree_cpu(process.pid)
            try:
                latencies, errors, elapsed = runner.run(drive(port, signed, args.seconds))
            finally:
                cpu_after = resource.getrusage(resource.RUSAGE_SELF)
                gateway_cpu = tree_cpu(process.pid) - gateway_before
                process.send_signal(signal.SIGTERM)
                process.wait(60)
            client_cpu = (cpu_after.ru_utime - cpu_before.ru_utime + cpu_after.ru_stime - cpu_before.ru_stime)
            rows.append({"workers": workers, "rps": round(len(latencies) / elapsed),
                         "p50_ms": round(percentile(latencies, 50) * 1000, 2),
                         "p99_ms": round(percentile(latencies, 99) * 1000, 2), "requests": len(latencies),
                         "errors": len(errors), "first_error": errors[0] if errors else "",
                         "client_cpu_share": round(client_cpu / (elapsed + 1.0), 2),
                         "gateway_cpu_share": round(gateway_cpu / (elapsed + 1.0), 2),
                         "gateway_cpu_ms_per_request": round(gateway_cpu * 1000 / max(1, len(latencies) * (
                             elapsed + 1.0) / elapsed), 2),
                         "load_average": round(load_before, 1), "exit": process.returncode})
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    runner.close()
    table = Table(title=f"signed DUIS over HTTP, {args.clients} keep-alive clients, {args.seconds:g} s per run")
    for col in ("workers", "requests/s", "p50 ms", "p99 ms", "errors", "gateway CPU (cores)", "gateway CPU ms/req",
                "client CPU (cores)", "load avg"):
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(str(row["workers"]), f"{row['rps']:,}", str(row["p50_ms"]), str(row["p99_ms"]),
                      str(row["errors"]), str(row["gateway_cpu_share"]), str(row["gateway_cpu_ms_per_request"]),
                      str(row["client_cpu_share"]), str(row["load_average"]))
    console.print(table)
    for row in rows:
        if row["first_error"]:
            console.print(f"[red]workers={row['workers']}: {row['first_error']}[/]")
    figures = {"clients": args.clients, "seconds": args.seconds, "cores": os.cpu_count(),
               **{f"w{r['workers']}_{k}": r[k] for r in rows for k in ("rps", "p50_ms", "p99_ms", "errors",
                                                                        "gateway_cpu_share",
                                                                        "gateway_cpu_ms_per_request",
                                                                        "client_cpu_share")}}
    if len(rows) >= 2 and rows[0]["rps"]:
        figures["speedup"] = round(rows[-1]["rps"] / rows[0]["rps"], 2)
    print("RESULT " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()

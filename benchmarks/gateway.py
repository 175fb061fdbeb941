"""The DCC gateway's throughput, each figure beside the machine's ceiling in the same run (issue 10, point 10).

    .venv/bin/python benchmarks/gateway.py                 # 10,000,000 devices; 54,000,000 measured for memory
    .venv/bin/python benchmarks/gateway.py --quick         # 1,000,000 devices, under a minute, for checks
    .venv/bin/python benchmarks/gateway.py --profile       # also where the core loop's time goes (cProfile)
    .venv/bin/python benchmarks/gateway.py --devices 54000000 --skip-http

(a) **core**, in this process: an ``AuthorisationIndex`` of N devices with registration data, built directly as
numpy columns in the form ``AuthorisationIndex.load`` gives them (no database: inserting 10 M rows is
``benchmarks/smi_scale.py``'s subject, not this one's), then pre-built DUIS request bodies (the RTDS 4.1.1
shape, signed once by a benchmark User; the RequestID is then changed per request, so the signature no longer
matches: signatures are not checked or made in (a)) for devices all over the index, from the Users registered
for them (and a share of refusals: unknown devices, other Suppliers' devices), each taken through what the
server does: ``DuisCodec.parse`` (hardened parse, schema validation, header), the durable counter check,
``authorise`` (E1 to E13), the route (``service_for``), the durable log (``RequestLog.append_many``: one await
and one fsync for a batch), and the unsigned I99 acknowledgement (or the refusal's response) built. Several
batches are in flight at once, so one is parsed while another is fsynced. Ceiling: the same framed record
bytes, in batches of the size the log wrote, with one ``os.write`` and one ``os.fdatasync`` each, nothing
else. Wall-clock, with the process's CPU seconds beside it.

(b) **signed DUIS over HTTP**: ``gbsmart gateway serve --workers N`` (``--http-workers``, default 2: one worker
per core, decision 0025; the device simulator off: its later responses are its own work) as a subprocess on a
temporary SQLite database and
gateway directory (the demo's DCC Boxed organisations and devices, plus the benchmark's own User IDs, each
with a key and certificate made here and loaded into the keystore), driven by asyncio clients over
keep-alive connections on loopback, one per User (a User's counters must arrive in order), each sending
requests signed beforehand with its own key and increasing counters; the gateway verifies each signature,
authorises, logs durably and answers with a signed I99. rps, p50 and p99 latency. Ceiling: ``openssl speed
-seconds 3 ecdsap256``: per core 1 / (1 / verify + 1 / sign), one of each per request, times the cores.
The client runs on the same two cores as the server (a minimal HTTP/1.1 client on asyncio streams under uvloop,
cheaper on CPU than httpx, so the client takes less from the server); its CPU per request is reported beside the
gateway's (the supervisor's and workers' together).

(c) **memory**: peak resident memory of this process with the index at N devices, and of a child process
that builds the index of 54,000,000 devices (``--memory-devices``; with ``--quick`` extrapolated linearly
from N instead, and marked so).

Figures are printed as a table, then as one JSON line (``RESULT {...}``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402
from cryptography.x509.name import _ASN1Type  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from lxml import etree  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from gbsmart.gateway.authorise import (  # noqa: E402
    AuthorisationIndex,
    DccUserEntry,
    RegistrationIndex,
    UserIndex,
    authorise,
)
from gbsmart.gateway.duis import DuisCodec  # noqa: E402
from gbsmart.gateway.fastsig import sign  # noqa: E402
from gbsmart.gateway.log import LogEntry, RequestLog, _frame, _micros  # noqa: E402
from gbsmart.gateway.matrix import WebService, service_for  # noqa: E402
from gbsmart.gateway.responses import acknowledgement, response  # noqa: E402
from gbsmart.gateway.xml import duis_schema  # noqa: E402
from gbsmart.smi.enums import DeviceType, SmiStatus  # noqa: E402
from gbsmart.smi.lookup import StatusIndex  # noqa: E402
from gbsmart.smi.rules import DEVICE_TYPE_CODE, EUI64_OFFSET, STATUS_CODE, int_to_eui64  # noqa: E402

console = Console(width=150)
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
DEVICE_BASE = 0x00DB_0000_0000_0000  # the benchmark's Device IDs: 00-DB-..., every STRIDE-th
STRIDE = 7
MPAN_BASE, MPRN_BASE = 1_100_000_000_000, 10_000_000
SUPPLIERS, NETWORKS = 20, 14
_DAY_MAX = np.iinfo(np.int32).max
_COUNTER = re.compile(rb"(<sr:RequestID>)[^<]+(</sr:RequestID>)")
_CODE = re.compile(rb"<sr:ResponseCode>([^<]+)</sr:ResponseCode>")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def supplier_user(org: int) -> str:
    return f"90-B3-D5-1F-31-00-{org >> 8:02X}-{org & 255:02X}"


def network_user(org: int) -> str:
    return f"90-B3-D5-1F-32-00-{org >> 8:02X}-{org & 255:02X}"


# ---------------------------------------------------------------- (c) the index, built directly


def build_index(n: int, seed: int = 1) -> AuthorisationIndex:
    """An ``AuthorisationIndex`` of ``n`` devices in premises of three (ESME, CHF, GSME), every MPAN and MPRN
    registered (a tenth with an earlier period of another Supplier), as ``AuthorisationIndex.load`` holds them."""
    rng = np.random.default_rng(seed)
    premises = -(-n // 3)
    i = np.arange(n, dtype=np.int64)
    ids = (DEVICE_BASE - EUI64_OFFSET) + i * STRIDE  # stored (signed) form, increasing
    kind = i % 3  # 0 ESME, 1 CHF, 2 GSME
    codes = np.array([DEVICE_TYPE_CODE[DeviceType.ESME], DEVICE_TYPE_CODE[DeviceType.CHF],
                      DEVICE_TYPE_CODE[DeviceType.GSME]], dtype=np.uint8)
    device_type = codes[kind]
    status = np.full(n, STATUS_CODE[SmiStatus.COMMISSIONED], dtype=np.uint8)
    roll = rng.random(n)
    status[roll < 0.02] = STATUS_CODE[SmiStatus.SUSPENDED]
    status[(roll >= 0.02) & (roll < 0.03)] = STATUS_CODE[SmiStatus.DECOMMISSIONED]
    status[(roll >= 0.03) & (roll < 0.04)] = STATUS_CODE[SmiStatus.INSTALLED_NOT_COMMISSIONED]
    models = 34
    model = rng.integers(1, models + 1, size=n, dtype=np.int32)
    premise = i // 3
    mpxn = np.where(kind == 0, MPAN_BASE + premise, np.where(kind == 2, MPRN_BASE + premise, -1))
    devices = StatusIndex()
    devices.ids, devices.mpxn = ids, mpxn
    devices.packed = StatusIndex._pack((ids, status, device_type, model, mpxn))
    devices.model_status = np.ones(models + 1, dtype=np.uint8)  # every model Active on the CPL (code 1)
    devices._build_search()  # what load() does after reading the columns
    del i, kind, device_type, status, roll, model, premise

    # registrations: MPRNs (gas, fuel 2) then MPANs (electricity, fuel 1): sorted by MPxN, then start
    p = np.arange(premises, dtype=np.int64)
    supplier = rng.integers(1, SUPPLIERS + 1, size=premises, dtype=np.int32)
    gas_supplier = rng.integers(1, SUPPLIERS + 1, size=premises, dtype=np.int32)
    dno = (101 + p % NETWORKS).astype(np.int32)
    gdn = (201 + p % 4).astype(np.int32)
    history = rng.random(2 * premises) < 0.1
    mp = np.concatenate([MPRN_BASE + p, MPAN_BASE + p])
    sup = np.concatenate([gas_supplier, supplier])
    net = np.concatenate([gdn, dno])
    fuel = np.concatenate([np.full(premises, 2, np.uint8), np.full(premises, 1, np.uint8)])
    switch = date(2024, 1, 1).toordinal()
    reps = 1 + history.astype(np.int64)
    rmp, rsup, rnet, rfuel = (np.repeat(a, reps) for a in (mp, sup, net, fuel))
    # in each MPxN with history the first row is the earlier period (another Supplier, ended at the switch)
    first_of_two = np.repeat(history, reps) & (np.arange(len(rmp)) == np.repeat(np.cumsum(reps) - reps, reps))
    start = np.where(first_of_two, date(2015, 1, 1).toordinal(), date(2019, 6, 1).toordinal()).astype(np.int32)
    start[np.repeat(history, reps) & ~first_of_two] = switch
    end = np.where(first_of_two, switch, _DAY_MAX).astype(np.int32)
    rsup = np.where(first_of_two, (rsup % SUPPLIERS) + 1, rsup).astype(np.int32)
    registrations = RegistrationIndex(rmp, start, end, rsup, rnet, rfuel)

    users = {supplier_user(org): DccUserEntry(org, frozenset({"IS", "ES", "GS"})) for org in range(1, SUPPLIERS + 1)}
    users.update({network_user(org): DccUserEntry(org, frozenset({"ED", "GT"}))
                  for org in (*range(101, 101 + NETWORKS), *range(201, 205))})
    return AuthorisationIndex(UserIndex(users), registrations, devices)


def index_bytes(index: AuthorisationIndex) -> int:
    r = index.registrations
    return index.devices.nbytes() + sum(a.nbytes for a in (r.mpxn, r.start, r.end, r.supplier, r.network, r.fuel))


# ---------------------------------------------------------------- request bodies


def _unsigned(originator: str, target: str, counter: int) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<sr:Request xmlns:sr="http://www.dccinterface.co.uk/'
        'ServiceUserGateway" schemaVersion="5.4"><sr:Header>'
        f"<sr:RequestID>{originator}:{target}:{counter}</sr:RequestID>"
        "<sr:CommandVariant>1</sr:CommandVariant><sr:ServiceReference>4.1</sr:ServiceReference>"
        "<sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant></sr:Header>"
        "<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>"
    ).encode()


def make_user(user_id: str, serial: int) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A P-256 key and a certificate naming ``user_id`` (x500UniqueIdentifier), as a DUIS User holds."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gbsmart benchmark CA")])
    subject = x509.Name([x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER,
                                            b"\x00" + bytes.fromhex(user_id.replace("-", "")),
                                            _type=_ASN1Type.BitString)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca).public_key(key.public_key())
            .serial_number(serial).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    return key, cert


def core_requests(index: AuthorisationIndex, n: int, seed: int = 2) -> tuple[list[bytes], int]:
    """``n`` request bodies for random meters, from their registered Supplier's User (about 7% refused: unknown
    devices, another Supplier's meter); and how many of them authorisation should accept at most."""
    rng = np.random.default_rng(seed)
    key, cert = make_user(supplier_user(1), 0xB001)
    template = sign(etree.fromstring(_unsigned(supplier_user(1), int_to_eui64(int(index.devices.ids[0])), 1)),
                    key, cert)
    devices = index.devices
    meters = rng.integers(0, len(devices) // 3, size=n) * 3 + rng.choice([0, 2], size=n)  # ESME or GSME
    meters = np.minimum(meters, len(devices) - 1)
    counters: dict[str, int] = {}
    bodies = []
    roll = rng.random(n)
    today = NOW.date()
    for k, position in enumerate(meters.tolist()):
        device = int(devices.ids[position])
        mpxn = int(devices.mpxn[position])
        registration = index.registrations.at(mpxn, today) if mpxn >= 0 else None
        org = registration.supplier_org_id if registration is not None else 1
        if roll[k] < 0.02:
            device += 1  # between two Device IDs: not in the SMI (E19)
        elif roll[k] < 0.05:
            org = org % SUPPLIERS + 1  # another Supplier's meter (E4)
        originator = supplier_user(org)
        counter = counters[originator] = counters.get(originator, 1000) + 1
        rid = f"{originator}:{int_to_eui64(device)}:{counter}".encode()
        bodies.append(_COUNTER.sub(b"\\g<1>" + rid + b"\\g<2>", template, count=1))
    return bodies, n


# ---------------------------------------------------------------- (a) the core path


class Core:
    """What the server does per request, minus HTTP and signatures, for a batch the server holds."""

    def __init__(self, index: AuthorisationIndex, log: RequestLog, codec: DuisCodec) -> None:
        self.index, self.log, self.codec = index, log, codec
        self.accepted = self.refused = 0
        self.codes: dict[str, int] = {}

    async def batch(self, bodies: list[bytes], service: WebService = WebService.SEND_COMMAND) -> None:
        index, log, parse = self.index, self.log, self.codec.parse
        at = datetime.now(UTC)
        held, entries, answers = [], [], []
        for body in bodies:
            request = parse(body)
            rid = request.request_id
            last = log.last_counter(rid.originator)
            if last is not None and rid.counter <= last:
                answers.append(None)  # the server's 409
                continue
            decision = authorise(index, request, service, at)
            if decision.accepted:
                assert decision.variant is not None
                service_for(decision.variant, request.command_variant)  # the route (authorise checked it)
                held.append(request)
                entries.append(LogEntry(rid.originator, rid.counter, service.value, at, body))
            else:
                assert decision.code is not None
                self.codes[decision.code] = self.codes.get(decision.code, 0) + 1
                answers.append(response(request, decision.code, at))
        results = await log.append_many(entries)
        for request, result in zip(held, results, strict=True):
            if isinstance(result, Exception):
                self.refused += 1
                continue
            answers.append(acknowledgement(request, at))
            self.accepted += 1
        self.refused += len(bodies) - len(held)


async def run_core(index: AuthorisationIndex, bodies: list[bytes], directory: Path, batch: int,
                   in_flight: int, profile: cProfile.Profile | None, barrier: Any = None) -> dict[str, Any]:
    codec = DuisCodec(duis_schema(None))
    directory.mkdir(parents=True, exist_ok=True)
    log = await RequestLog.open(directory / "core.log", max_pending=batch * in_flight * 2, max_batch=batch * 2)
    core = Core(index, log, codec)
    await core.batch(bodies[:64])  # warm: schema, matrix, caches
    core.accepted = core.refused = 0
    core.codes.clear()
    work = bodies[64:]
    chunks = [work[i:i + batch] for i in range(0, len(work), batch)]
    position = 0
    batches_before = log.batches_written

    async def worker() -> None:
        nonlocal position
        while position < len(chunks):
            chunk = chunks[position]
            position += 1
            await core.batch(chunk)

    if barrier is not None:
        barrier.wait()  # every process starts together
    if profile is not None:
        profile.enable()
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if profile is not None:
        profile.disable()
    writes = log.batches_written - batches_before
    await log.close()
    return {"core_requests": len(work), "core_seconds": seconds, "core_cpu_seconds": cpu,
            "core_rps": len(work) / seconds, "core_rps_per_cpu_s": len(work) / cpu, "core_accepted": core.accepted,
            "core_refused": core.refused, "core_codes": core.codes, "core_fsyncs": writes,
            "core_mean_batch": max(1, round(core.accepted / max(1, writes)))}


_ORIGINATOR = re.compile(rb"<sr:RequestID>([^:<]+):")


def _core_child(index: AuthorisationIndex, bodies: list[bytes], directory: Path, batch: int, in_flight: int,
                barrier: Any, results: Any) -> None:
    results.put(asyncio.run(run_core(index, bodies, directory, batch, in_flight, None, barrier)))


def run_core_processes(index: AuthorisationIndex, bodies: list[bytes], directory: Path, batch: int,
                       in_flight: int, processes: int) -> dict[str, Any]:
    """The core in ``processes`` forked processes (the index shared copy-on-write), each with the requests of
    its own Users and its own log: a log sharded by originator, which the gateway does not do today."""
    import multiprocessing
    import zlib

    shares: list[list[bytes]] = [[] for _ in range(processes)]
    for body in bodies:
        found = _ORIGINATOR.search(body)
        shares[zlib.crc32(found.group(1) if found else b"") % processes].append(body)
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(processes), context.Queue()
    children = [context.Process(target=_core_child, args=(index, share, directory / f"shard-{k}", batch,
                                                          in_flight, barrier, results))
                for k, share in enumerate(shares)]
    for child in children:
        child.start()
    parts = [results.get(timeout=1800) for _ in children]
    for child in children:
        child.join()
    seconds = max(p["core_seconds"] for p in parts)
    total = sum(p["core_requests"] for p in parts)
    codes: dict[str, int] = {}
    for part in parts:
        for code, count in part["core_codes"].items():
            codes[code] = codes.get(code, 0) + count
    accepted, fsyncs = sum(p["core_accepted"] for p in parts), sum(p["core_fsyncs"] for p in parts)
    cpu = sum(p["core_cpu_seconds"] for p in parts)
    return {"core_requests": total, "core_seconds": seconds, "core_cpu_seconds": cpu, "core_rps": total / seconds,
            "core_rps_per_cpu_s": total / cpu, "core_accepted": accepted,
            "core_refused": sum(p["core_refused"] for p in parts), "core_codes": codes, "core_fsyncs": fsyncs,
            "core_mean_batch": max(1, round(accepted / max(1, fsyncs)))}


def core_ceiling(bodies: list[bytes], directory: Path, batch: int, repeat: int = 2) -> float:
    """Records/s of the bare durable append: the same framed bytes, ``batch`` a write + fdatasync, best of runs."""
    at = _micros(NOW)
    frames = [_frame(seq, "90-B3-D5-1F-31-00-00-01", seq, "S", at, body) for seq, body in enumerate(bodies, 1)]
    best = 0.0
    for r in range(repeat):
        path = directory / f"ceiling-{r}.bin"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            started = time.perf_counter()
            for i in range(0, len(frames), batch):
                data = memoryview(b"".join(frames[i:i + batch]))
                while data:
                    data = data[os.write(fd, data):]
                os.fdatasync(fd)
            best = max(best, len(frames) / (time.perf_counter() - started))
        finally:
            os.close(fd)
            path.unlink()
    return best


# ---------------------------------------------------------------- (b) signed DUIS over HTTP


BOXED_SUPPLIER = "90-B3-D5-1F-30-01-00-00"
BOXED_METER = "00-DB-12-34-56-78-90-A0"  # the demo's ESME, registered to the DCC Boxed Supplier


def http_user(k: int) -> str:
    return f"90-B3-D5-1F-33-00-{k >> 8:02X}-{k & 255:02X}"


def seed_gateway(url: str, data_dir: Path, users: int) -> dict[str, tuple[ec.EllipticCurvePrivateKey,
                                                                             x509.Certificate]]:
    """The demo's DCC Boxed organisations and devices, and ``users`` Supplier User IDs with keys and certificates."""
    from sqlalchemy import select

    import gbsmart.models  # noqa: F401  (registers the tables)
    import gbsmart.models.gateway  # noqa: F401
    import gbsmart.models.smi  # noqa: F401
    from gbsmart.config import Settings
    from gbsmart.core.clock import FixedClock
    from gbsmart.core.context import Actor, Ctx
    from gbsmart.core.db import Base, make_engine, make_sessionmaker
    from gbsmart.gateway.demo import load_gateway_demo
    from gbsmart.gateway.store import save_certificates
    from gbsmart.models.parties import DccUser, DccUserRole

    engine = make_engine(url)
    Base.metadata.create_all(engine)
    keys = {}
    settings = Settings(data_dir=data_dir)
    with make_sessionmaker(engine)() as session:
        ctx = Ctx(session=session, actor=Actor.system("benchmark"), settings=Settings(database_url=url),
                  clock=FixedClock(datetime(2024, 1, 2, tzinfo=UTC)))
        load_gateway_demo(ctx)
        org = session.scalar(select(DccUser.organisation_id).where(DccUser.eui64 == BOXED_SUPPLIER))
        for k in range(users):
            user_id = http_user(k)
            session.add(DccUser(organisation_id=org, eui64=user_id, role_rows=[DccUserRole(role="IS")]))
            keys[user_id] = make_user(user_id, 0xB100 + k)
            save_certificates(settings, user_id, keys[user_id][1].public_bytes(Encoding.PEM))
        session.commit()
    engine.dispose()
    return keys


def _sign_share(args: tuple[list[tuple[str, int]], dict[str, tuple[bytes, bytes]]]) -> list[bytes]:
    """In a worker process: the requests (User, counter) signed with their Users' keys (PEM, DER certificate)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    jobs, material = args
    loaded = {u: (load_pem_private_key(k, None), x509.load_der_x509_certificate(c)) for u, (k, c) in material.items()}
    return [sign(etree.fromstring(_unsigned(u, BOXED_METER, c)), loaded[u][0], loaded[u][1])  # type: ignore[arg-type]
            for u, c in jobs]


def sign_requests(keys: dict[str, tuple[ec.EllipticCurvePrivateKey, x509.Certificate]],
                  per_user: int) -> dict[str, list[bytes]]:
    """``per_user`` signed requests for each User, counters 1, 2, 3, ... (signed on every core)."""
    from concurrent.futures import ProcessPoolExecutor

    from cryptography.hazmat.primitives.serialization import Encoding as E
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    material = {u: (k.private_bytes(E.PEM, PrivateFormat.PKCS8, NoEncryption()), c.public_bytes(E.DER))
                for u, (k, c) in keys.items()}
    jobs = [(u, c) for u in keys for c in range(1, per_user + 1)]
    workers = os.cpu_count() or 1
    shares = [jobs[w::workers] for w in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        signed = list(pool.map(_sign_share, [(share, material) for share in shares]))
    out: dict[str, list[bytes]] = {u: [b""] * per_user for u in keys}
    for share, bodies in zip(shares, signed, strict=True):
        for (u, c), body in zip(share, bodies, strict=True):
            out[u][c - 1] = body
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gateway(env: dict[str, str], port: int, workers: int = 1) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "gbsmart.cli", "gateway", "serve", "--port", str(port),
                                "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the gateway exited: {process.stderr.read().decode()[-3000:]}")  # type: ignore[union-attr]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the gateway did not start within 90 s: run `gbsmart gateway serve` by hand to see why")


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: bytes,
                body: bytes) -> tuple[int, bytes]:
    """One HTTP/1.1 POST on a keep-alive connection: (status, body)."""
    writer.write(b"POST " + path + b" HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/xml\r\n"
                 b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def drive(port: int, bodies: dict[str, list[bytes]], seconds: float) -> dict[str, Any]:
    """Each User on its own connection sends its requests one after another for ``seconds`` (or until done)."""
    latencies: list[float] = []
    codes: dict[str, int] = {}
    path = WebService.SEND_COMMAND.path.encode()
    stop_at = time.perf_counter() + seconds

    async def user(mine: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for body in mine:
                if time.perf_counter() > stop_at:
                    return
                sent = time.perf_counter()
                status, answer = await _post(reader, writer, path, body)
                latencies.append(time.perf_counter() - sent)
                found = _CODE.search(answer)
                code = found.group(1).decode() if status == 200 and found else f"HTTP {status}"
                codes[code] = codes.get(code, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(user(mine) for mine in bodies.values()))
    wall = time.perf_counter() - started
    ordered = np.sort(np.array(latencies)) * 1000
    return {"http_requests": len(latencies), "http_seconds": wall, "http_signed_rps": len(latencies) / wall,
            "http_p50_ms": float(np.percentile(ordered, 50)), "http_p99_ms": float(np.percentile(ordered, 99)),
            "http_codes": codes}


def _event_loop() -> asyncio.Runner:
    """The client's event loop: uvloop when installed (less of the shared cores than asyncio's own)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_http(users: int, per_user: int, seconds: float, work: Path, workers: int = 1) -> dict[str, Any]:
    url = f"sqlite:///{work / 'gateway.db'}"
    data_dir = work / "var"
    keys = seed_gateway(url, data_dir, users)
    signing = time.perf_counter()
    bodies = sign_requests(keys, per_user)
    signing = time.perf_counter() - signing
    # the synchronous request path (verify, authorise, log, sign the I99); the device simulator's later,
    # asynchronous responses are its own work and are left out of this figure
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GBSMART_DATABASE_URL": url,
           "GBSMART_DATA_DIR": str(data_dir), "GBSMART_SIMULATOR_ENABLED": "false"}
    port = _free_port()
    process = start_gateway(env, port, workers)
    try:
        with _event_loop() as runner:
            warm = {u: b[:2] for u, b in list(bodies.items())}
            runner.run(drive(port, warm, 30))  # connections, every worker started, caches, the journal's first batch
            rest = {u: b[2:] for u, b in bodies.items()}
            cpu_before, client_before = _tree_cpu(process.pid), _own_cpu()
            figures = runner.run(drive(port, rest, seconds))
            server_cpu, client_cpu = _tree_cpu(process.pid) - cpu_before, _own_cpu() - client_before
        figures["http_server_cpu_s_per_request"] = server_cpu / figures["http_requests"]
        # the gateway's processes (supervisor and workers) and this client, in cores over the run, and per request
        figures["http_server_cpu_cores"] = server_cpu / figures["http_seconds"]
        figures["http_client_cpu_cores"] = client_cpu / figures["http_seconds"]
        figures["http_client_cpu_us_per_request"] = round(client_cpu / figures["http_requests"] * 1e6)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    figures.update(http_users=users, http_presign_seconds=signing, http_workers=workers)
    return figures


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and of its live children (with ``--workers N``: the supervisor and its workers)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        children = []
    total = 0.0
    for each in (pid, *map(int, children)):
        try:
            total += _proc_cpu(each)
        except FileNotFoundError:  # a worker that has just exited
            continue
    return total


def openssl_speed(seconds: int) -> tuple[float, float]:
    """(sign/s, verify/s) of ECDSA P-256 on one core, from ``openssl speed``."""
    run = subprocess.run(["openssl", "speed", "-seconds", str(seconds), "ecdsap256"], capture_output=True,
                         text=True, timeout=120, check=True)
    line = next(x for x in run.stdout.splitlines() if "nistp256" in x)
    sign_per_s, verify_per_s = (float(v) for v in re.findall(r"[\d.]+", line.split(")")[-1])[-2:])
    return sign_per_s, verify_per_s


# ---------------------------------------------------------------- main


def memory_child(devices: int) -> dict[str, Any]:
    """Peak RSS of a fresh process that builds the index of ``devices`` devices."""
    run = subprocess.run([sys.executable, __file__, "--memory-only", "--devices", str(devices)],
                         capture_output=True, text=True, timeout=1800, check=True)
    line = next(x for x in run.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[7:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000,000 devices, small runs: under a minute")
    parser.add_argument("--devices", type=int, default=0, help="devices in the index (default 10,000,000; "
                        "quick 1,000,000)")
    parser.add_argument("--requests", type=int, default=0, help="core requests (default 60,000; quick 10,000)")
    parser.add_argument("--batch", type=int, default=1024, help="requests a core batch holds (default 1,024)")
    parser.add_argument("--in-flight", type=int, default=4, help="core batches in flight at once (default 4)")
    parser.add_argument("--processes", type=int, default=1, help="core processes, forked after the index is "
                        "built, each with its own Users and log shard (default 1: the gateway as it runs today)")
    parser.add_argument("--seconds", type=float, default=0, help="longest HTTP run (default 20; quick 5)")
    parser.add_argument("--users", type=int, default=0, help="HTTP Users, one connection each (default 64; "
                        "quick 16)")
    parser.add_argument("--per-user", type=int, default=0, help="signed requests per HTTP User (default 300; "
                        "quick 60)")
    parser.add_argument("--memory-devices", type=int, default=54_000_000, help="devices for the memory "
                        "figure, measured in a child (default 54,000,000; 0 or --quick: extrapolated)")
    parser.add_argument("--skip-http", action="store_true", help="no HTTP run (its figures are then 0)")
    parser.add_argument("--http-workers", type=int, default=2, help="`gbsmart gateway serve --workers N` for (b) "
                        "(default 2: one per core; 1 is the single process)")
    parser.add_argument("--profile", action="store_true", help="cProfile the core loop and print the top")
    parser.add_argument("--openssl-seconds", type=int, default=3, help="seconds per openssl speed test (3)")
    parser.add_argument("--dir", type=Path, default=None, help="directory for the logs (default: a new one "
                        "under the current directory, on the disk the gateway would use)")
    parser.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    devices = args.devices or (1_000_000 if args.quick else 10_000_000)

    base_rss = rss_mb()
    started = time.perf_counter()
    index = build_index(devices)
    build_seconds = time.perf_counter() - started
    figures: dict[str, Any] = {"devices": len(index.devices), "registrations": len(index.registrations),
                               "users": len(index.users), "index_build_seconds": round(build_seconds, 1),
                               "index_mb": round(index_bytes(index) / 1e6), "base_rss_mb": round(base_rss),
                               "peak_rss_mb": round(rss_mb()), "rss_after_index_mb": round(rss_mb())}
    if args.memory_only:
        print("RESULT " + json.dumps(figures), flush=True)
        return

    n_requests = args.requests or (10_000 if args.quick else 60_000)
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="gateway-bench-", dir=args.dir or Path.cwd()))
    try:
        # (a) the core path, beside the bare durable append of the same records
        bodies, _ = core_requests(index, n_requests)
        profile = cProfile.Profile() if args.profile else None
        if args.processes > 1:
            core = run_core_processes(index, bodies, work, args.batch, args.in_flight, args.processes)
        else:
            core = asyncio.run(run_core(index, bodies, work, args.batch, args.in_flight, profile))
        figures["core_processes"] = args.processes
        figures["peak_rss_mb"] = round(rss_mb())
        figures["core_ceiling_rps"] = core_ceiling(bodies[64:64 + core["core_accepted"]], work, core["core_mean_batch"])
        figures.update({k: (round(v, 2) if isinstance(v, float) else v) for k, v in core.items()})
        figures["core_rps"] = round(core["core_rps"])
        figures["core_ceiling_rps"] = round(figures["core_ceiling_rps"])
        figures["core_vs_ceiling"] = round(figures["core_ceiling_rps"] / max(1, figures["core_rps"]), 2)
        figures["body_bytes_mean"] = round(sum(map(len, bodies)) / len(bodies))
        del bodies

        # (c) memory at the large size
        if args.quick or not args.memory_devices:  # RSS with the index at N, plus its arrays' bytes per device
            figures["memory_devices"] = 54_000_000
            per_device = index_bytes(index) / 1e6 / devices
            figures["rss_54m_mb"] = round(figures["rss_after_index_mb"] + per_device * (54_000_000 - devices))
            figures["rss_54m_measured"] = False
        else:
            child = memory_child(args.memory_devices)
            figures["memory_devices"] = child["devices"]
            figures["rss_54m_mb"] = child["peak_rss_mb"]
            figures["index_54m_mb"] = child["index_mb"]
            figures["index_54m_build_seconds"] = child["index_build_seconds"]
            figures["rss_54m_measured"] = True
        del index

        # (b) signed DUIS over HTTP, beside ECDSA's ceiling
        sign_s, verify_s = openssl_speed(args.openssl_seconds)
        cores = os.cpu_count() or 1
        per_core = 1 / (1 / verify_s + 1 / sign_s)
        figures.update(ecdsa_verify_ceiling_per_core=round(verify_s), ecdsa_sign_ceiling_per_core=round(sign_s),
                       ecdsa_verify_sign_ceiling_per_core=round(per_core), cores=cores,
                       http_ceiling_rps=round(per_core * cores))
        if args.skip_http:
            figures.update(http_signed_rps=0, http_p50_ms=0, http_p99_ms=0)
        else:
            http = run_http(args.users or (16 if args.quick else 64), args.per_user or (60 if args.quick else 300),
                            args.seconds or (5 if args.quick else 20), work, args.http_workers)
            figures.update({k: (round(v, 2) if isinstance(v, float) else v) for k, v in http.items()})
            figures["http_signed_rps"] = round(http["http_signed_rps"])
            figures["http_server_cpu_us_per_request"] = round(http["http_server_cpu_s_per_request"] * 1e6)
            del figures["http_server_cpu_s_per_request"]
            figures["http_vs_ceiling"] = round(figures["http_ceiling_rps"] / max(1, figures["http_signed_rps"]), 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    figures["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report(figures)
    if profile is not None:
        stats = pstats.Stats(profile)
        stats.sort_stats("tottime").print_stats(25)
    print("RESULT " + json.dumps(figures), flush=True)


def report(f: dict[str, Any]) -> None:
    table = Table(title=f"DCC gateway throughput, {f['devices']:,} devices, {f['registrations']:,} registrations "
                        f"({f['date']}, load average {f['load_average'][0]} -> {f['load_average'][1]})")
    for column in ("figure", "target", "measured", "ceiling (same run)", "ceiling / measured"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    table.add_row(f"(a) core ({f['core_processes']} process(es)): parse, authorise, route, durable log, ack "
                  "(unsigned), requests/s", "≥ 50,000",
                  f"{f['core_rps']:,}", f"{f['core_ceiling_rps']:,} (write + fdatasync, {f['core_mean_batch']:,} "
                  "a batch)", f"{f['core_vs_ceiling']}x")
    table.add_row("    per CPU second of this process", "", f"{round(f['core_rps_per_cpu_s']):,}", "", "")
    table.add_row("(b) signed DUIS over HTTP (verify + sign), requests/s", "≥ 5,000", f"{f['http_signed_rps']:,}",
                  f"{f['http_ceiling_rps']:,} (ECDSA verify + sign x {f['cores']} cores)",
                  f"{f.get('http_vs_ceiling', '-')}x")
    table.add_row("    latency p50 / p99", "", f"{f['http_p50_ms']} / {f['http_p99_ms']} ms", "", "")
    table.add_row("    openssl speed ecdsap256, per core: verify / sign", "",
                  f"{f['ecdsa_verify_ceiling_per_core']:,} / {f['ecdsa_sign_ceiling_per_core']:,}", "", "")
    table.add_row(f"(c) peak RSS with the index at {f['devices']:,} devices", "", f"{f['peak_rss_mb']:,} MB",
                  f"index arrays {f['index_mb']:,} MB", "")
    measured = "measured in a child" if f["rss_54m_measured"] else "extrapolated linearly"
    table.add_row(f"    peak RSS at {f['memory_devices']:,} devices ({measured})", "", f"{f['rss_54m_mb']:,} MB",
                  "", "")
    console.print(table)
    console.print(f"core: {f['core_accepted']:,} accepted and logged, {f['core_refused']:,} refused "
                  f"{f['core_codes']}; {f['core_fsyncs']:,} fsyncs")
    if "http_codes" in f:
        console.print(f"http: {f['http_requests']:,} requests from {f['http_users']} Users: {f['http_codes']}; "
                      f"gateway --workers {f['http_workers']}: {f['http_server_cpu_us_per_request']:,} µs of CPU a "
                      f"request ({f['http_server_cpu_cores']} cores); client {f['http_client_cpu_us_per_request']:,}"
                      f" µs a request ({f['http_client_cpu_cores']} cores)")


if __name__ == "__main__":
    main()

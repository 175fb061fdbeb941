"""The durable request log's group commit, beside the machine's ceiling for the same durable appends.

    .venv/bin/python benchmarks/gateway_log.py            # 40,000 records, about 30 s
    .venv/bin/python benchmarks/gateway_log.py --quick    # 5,000 records, for checks
    .venv/bin/python benchmarks/gateway_log.py --producers 256 --dir /var/lib/gbsmart

``group commit``: ``gateway.log.RequestLog``, N producer coroutines (default 64, each a User sending its
requests one after the other, as the gateway's connections do) each appending its share of DUIS-sized records
(bodies of 2-4 KB, random, seeded), every ``append`` awaited until its batch is fsynced. ``ceiling``: the same
bodies written by plain Python with no framing, no CRC and no asyncio, in batches of the mean size the log's
run made, each batch one ``os.write`` and one ``os.fdatasync`` into a fresh file in the same directory: what
the disk gives for the same durable work. Both are wall-clock (the disk's flush is the cost), each the best of
``--repeat`` runs, taken alternately; the log's CPU time per record (the process's, all threads) is shown
too, because on a shared machine a CPU-starved process waits for the CPU, not the disk. The ratio is
ceiling / group commit. Figures are printed as a table, then as one JSON line (``RESULT {...}``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from gbsmart.gateway.log import RequestLog  # noqa: E402

console = Console()
AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def bodies(n: int, seed: int = 1) -> list[bytes]:
    """``n`` DUIS-sized bodies, 2,048 to 4,096 bytes each."""
    rng = random.Random(seed)
    return [rng.randbytes(rng.randint(2048, 4096)) for _ in range(n)]


async def _group_commit(path: Path, records: list[bytes], producers: int) -> tuple[float, int, int, float]:
    """(seconds, batches, bytes on disk, CPU seconds) for ``producers`` coroutines appending ``records``."""
    log = await RequestLog.open(path)

    async def produce(p: int) -> None:
        originator = f"90-B3-D5-1F-30-{p >> 8:02X}-{p & 255:02X}-00"
        for counter, i in enumerate(range(p, len(records), producers), start=1):
            await log.append(originator=originator, counter=counter, service="S", received_at=AT, body=records[i])

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(produce(p) for p in range(producers)))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    batches = log.batches_written
    await log.close()
    return seconds, batches, path.stat().st_size, cpu


def _ceiling(path: Path, records: list[bytes], batch: int) -> float:
    """Seconds to write ``records`` in batches of ``batch``: one write and one fdatasync each, nothing else."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        started = time.perf_counter()
        for at in range(0, len(records), batch):
            data = memoryview(b"".join(records[at:at + batch]))
            while data:
                data = data[os.write(fd, data):]
            os.fdatasync(fd)
        return time.perf_counter() - started
    finally:
        os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5,000 records, one run each")
    parser.add_argument("--records", type=int, default=0, help="records per run (default 40,000; quick 5,000)")
    parser.add_argument("--producers", type=int, default=64, help="concurrent appending coroutines (default 64)")
    parser.add_argument("--repeat", type=int, default=0, help="runs of each, best kept (default 3; quick 1)")
    parser.add_argument("--dir", type=Path, default=None, help="directory for the log files (default: a new "
                        "directory under the current one, so on the disk the gateway would use)")
    args = parser.parse_args()
    n = args.records or (5_000 if args.quick else 40_000)
    repeat = args.repeat or (1 if args.quick else 3)
    records = bodies(n)
    body_bytes = sum(map(len, records))
    work = Path(tempfile.mkdtemp(prefix="gateway-log-bench-", dir=args.dir or Path.cwd()))
    try:
        runs, ceilings = [], []
        for r in range(repeat):
            runs.append(asyncio.run(_group_commit(work / f"log-{r}.log", records, args.producers)))
            mean_batch = max(1, round(n / runs[-1][1]))
            ceilings.append(_ceiling(work / f"ceiling-{r}.bin", records, mean_batch))
    finally:
        shutil.rmtree(work)
    seconds, batches, file_bytes, cpu = min(runs)
    mean_batch = max(1, round(n / batches))
    ceiling_seconds = min(ceilings)
    figures: dict[str, object] = {
        "records": n, "producers": args.producers, "body_bytes_mean": round(body_bytes / n),
        "log_rps": round(n / seconds), "log_mb_s": round(file_bytes / seconds / 1e6, 1),
        "log_cpu_us_per_record": round(cpu / n * 1e6, 1), "log_batches": batches, "log_mean_batch": mean_batch,
        "log_fsyncs_per_s": round(batches / seconds),
        "ceiling_rps": round(n / ceiling_seconds), "ceiling_mb_s": round(body_bytes / ceiling_seconds / 1e6, 1),
        "ceiling_fsyncs_per_s": round(-(-n // mean_batch) / ceiling_seconds),
        "ceiling_vs_log": round(seconds / ceiling_seconds, 2), "repeat": repeat,
    }

    table = Table(title=f"request log, {n:,} records of {body_bytes / n:,.0f} bytes on average, "
                        f"{args.producers} producers, best of {repeat}")
    for column in ("", "records/s", "MB/s", "fsyncs/s", "records per fsync"):
        table.add_column(column, justify="right" if column else "left")
    table.add_row("group commit (RequestLog.append)", f"{figures['log_rps']:,}", f"{figures['log_mb_s']}",
                  f"{figures['log_fsyncs_per_s']:,}", f"{mean_batch:,}")
    table.add_row("ceiling: write + fdatasync, same batches", f"{figures['ceiling_rps']:,}",
                  f"{figures['ceiling_mb_s']}", f"{figures['ceiling_fsyncs_per_s']:,}", f"{mean_batch:,}")
    console.print(table)
    console.print(f"the ceiling is {figures['ceiling_vs_log']}x the group commit's rate; the log used "
                  f"{figures['log_cpu_us_per_record']} µs of CPU per record (both threads, producers included)")
    print("RESULT " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()

"""A ``kill -9`` of a process appending to the request log loses no acknowledged record and acknowledges none twice.

A real child process appends from many coroutines as fast as it can and prints each record's seq, originator
and counter after ``append`` returned (that is the acknowledgement). The test kills it with SIGKILL at a random
point, reopens the log and checks every printed record is there, intact; then starts the child again on the
same log, three times in all.
"""

from __future__ import annotations

import hashlib
import os
import random
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gbsmart.gateway.log import CounterNotIncreasing, RequestLog
from tests.gateway.aio import run_async

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import asyncio, hashlib, os, sys
from datetime import UTC, datetime
from gbsmart.gateway.log import LogEntry, RequestLog

def body(originator, counter):
    seed = hashlib.sha256(f"{originator}:{counter}".encode()).digest()
    return seed * 100  # 3,200 bytes, about a DUIS request

async def producer(log, originator):
    counter = (log.last_counter(originator) or 0) + 1
    while True:
        rec = await log.append(originator=originator, counter=counter, service="S",
                               received_at=datetime.now(UTC), body=body(originator, counter))
        os.write(1, f"{rec.seq} {rec.originator} {rec.counter}\n".encode())
        counter += 1

async def batches(log, originators):
    # what a server holding a batch does: one append_many for a request from each of 16 originators
    counters = {o: (log.last_counter(o) or 0) + 1 for o in originators}
    while True:
        entries = [LogEntry(o, counters[o], "S", datetime.now(UTC), body(o, counters[o])) for o in originators]
        for rec in await log.append_many(entries):
            os.write(1, f"{rec.seq} {rec.originator} {rec.counter}\n".encode())
            counters[rec.originator] += 1

async def main():
    log = await RequestLog.open(sys.argv[1])
    os.write(1, b"ready\n")
    names = [f"90-B3-D5-1F-30-01-00-{i:02X}" for i in range(64)]
    if sys.argv[2] == "append":
        await asyncio.gather(*(producer(log, o) for o in names))
    else:  # append_many: four concurrent batchers, each with its own 16 originators
        await asyncio.gather(*(batches(log, names[i::4]) for i in range(4)))

asyncio.run(main())
"""


def body(originator: str, counter: int) -> bytes:
    return hashlib.sha256(f"{originator}:{counter}".encode()).digest() * 100


def _run_and_kill(path: Path, acknowledgements: int, mode: str) -> list[tuple[int, str, int]]:
    """Start the child on ``path``, SIGKILL it once it has printed about ``acknowledgements`` lines; the lines."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), mode], stdout=subprocess.PIPE, env=env)
    assert child.stdout is not None
    out, deadline = b"", time.monotonic() + 60  # a loaded machine: kill at the deadline if the count is not reached
    try:
        while out.count(b"\n") < acknowledgements + 1 and time.monotonic() < deadline:
            ready, _, _ = select.select([child.stdout], [], [], 1)
            if ready:
                chunk = os.read(child.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
    finally:
        child.send_signal(signal.SIGKILL)  # mid-stream: the writer thread is between batches, or inside one
        rest, _ = child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL, f"the child ended by itself ({child.returncode}) before the kill"
    lines = (out + rest).split(b"\n")
    assert lines[0] == b"ready", lines[:3]
    # a line cut by the kill has no newline yet: it was not printed whole, so it does not count
    acknowledged = []
    for line in lines[1:-1]:
        seq, originator, counter = line.decode().split()
        acknowledged.append((int(seq), originator, int(counter)))
    assert len(acknowledged) >= min(acknowledgements, 100), f"only {len(acknowledged)} appends acknowledged in 60 s"
    return acknowledged


@pytest.mark.parametrize("mode", ["append", "append_many"])
def test_kill_9_loses_no_acknowledged_record_and_acknowledges_none_twice(tmp_path, mode):
    path = tmp_path / "requests.log"
    rng = random.Random()
    seen: dict[int, tuple[str, int]] = {}
    for _ in range(3):
        acknowledged = _run_and_kill(path, rng.randint(200, 2000), mode)
        for seq, originator, counter in acknowledged:
            assert seq not in seen, f"seq {seq} acknowledged twice"
            seen[seq] = (originator, counter)

        async def check() -> None:
            log = await RequestLog.open(path)
            records = {r.seq: r for r in log.read_from(1)}
            assert sorted(records) == list(range(1, len(records) + 1)), "seqs are not contiguous"
            for seq, (originator, counter) in seen.items():
                record = records.get(seq)
                assert record is not None, f"acknowledged seq {seq} was lost"
                assert (record.originator, record.counter) == (originator, counter)
                assert record.body == body(originator, counter)
            pairs = [(r.originator, r.counter) for r in records.values()]
            assert len(pairs) == len(set(pairs)), "one counter logged twice"
            for originator, counter in rng.sample(sorted(set(seen.values())), 20):
                assert log.last_counter(originator) is not None and log.last_counter(originator) >= counter
                with pytest.raises(CounterNotIncreasing):  # an acknowledged counter, sent again: refused
                    await log.append(originator=originator, counter=counter, service="S",
                                     received_at=datetime.now(UTC), body=b"replay")
            await log.close()

        run_async(check())

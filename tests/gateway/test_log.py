"""The durable request log: order, counters, group commit under concurrency, back-pressure, recovery on open."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gbsmart.gateway.log import CounterNotIncreasing, LogClosed, LogLocked, LogRecord, RequestLog, encode
from tests.gateway.aio import run_async

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
NETWORK_OPERATOR = "90-B3-D5-1F-30-02-00-00"


def body(originator: str, counter: int) -> bytes:
    return f"<sr:Request>{originator}:{counter}</sr:Request>".encode() * 40


async def _append(log: RequestLog, originator: str, counter: int, service: str = "S") -> LogRecord:
    return await log.append(originator=originator, counter=counter, service=service,
                            received_at=AT + timedelta(microseconds=counter), body=body(originator, counter))


def test_records_come_back_in_order_with_everything_that_was_logged(tmp_path):
    async def run() -> list[LogRecord]:
        log = await RequestLog.open(tmp_path / "requests.log")
        first = await _append(log, SUPPLIER, 5, "S")
        second = await _append(log, NETWORK_OPERATOR, 1, "D")
        third = await _append(log, SUPPLIER, 9, "T")
        assert [first.seq, second.seq, third.seq] == [1, 2, 3]
        assert list(log.read_from(2)) == [second, third]
        await log.close()
        return [first, second, third]

    written = run_async(run())
    assert written[0] == LogRecord(1, SUPPLIER, 5, "S", AT + timedelta(microseconds=5), body(SUPPLIER, 5))

    async def reopen() -> None:
        log = await RequestLog.open(tmp_path / "requests.log")
        assert list(log.read_from(1)) == written
        assert (log.last_counter(SUPPLIER), log.last_counter(NETWORK_OPERATOR), log.last_counter("x")) == (9, 1, None)
        assert (await _append(log, NETWORK_OPERATOR, 2)).seq == 4
        await log.close()

    run_async(reopen())


@pytest.mark.parametrize("counter", [5, 4, 0])
def test_a_counter_not_above_the_last_is_refused_and_logs_nothing(tmp_path, counter):
    async def run() -> None:
        log = await RequestLog.open(tmp_path / "requests.log")
        await _append(log, SUPPLIER, 5)
        with pytest.raises(CounterNotIncreasing, match=f"counter {counter} is not greater than 5") as refused:
            await _append(log, SUPPLIER, counter)
        assert refused.value.status == 400
        assert (await _append(log, NETWORK_OPERATOR, counter)).seq == 2  # counters are per originator
        assert [r.seq for r in log.read_from(1)] == [1, 2]
        await log.close()

    run_async(run())


def test_concurrent_appends_are_group_committed_in_few_fsyncs_and_two_of_one_counter_never_both_succeed(tmp_path):
    originators = [f"90-B3-D5-1F-30-01-00-{i:02X}" for i in range(8)]

    async def run() -> tuple[list[LogRecord | BaseException], int]:
        log = await RequestLog.open(tmp_path / "requests.log")
        # every counter twice, from two coroutines: exactly one of each pair may be logged
        jobs = [_append(log, o, c) for c in range(1, 51) for o in originators for _ in range(2)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        await log.close()
        return results, log.batches_written

    results, batches = run_async(run())
    logged = [r for r in results if isinstance(r, LogRecord)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(logged) == len(refused) == 400
    assert all(isinstance(r, CounterNotIncreasing) for r in refused)
    assert sorted(r.seq for r in logged) == list(range(1, 401))
    assert batches < 40, f"{batches} writes for 400 concurrent appends: not group-committed"

    async def reopen() -> list[LogRecord]:
        log = await RequestLog.open(tmp_path / "requests.log")
        records = list(log.read_from(1))
        assert all(log.last_counter(o) == 50 for o in originators)
        await log.close()
        return records

    records = run_async(reopen())
    assert records == sorted(logged, key=lambda r: r.seq)
    for originator in originators:  # each originator's counters are in the log in increasing order
        counters = [r.counter for r in records if r.originator == originator]
        assert counters == list(range(1, 51))


def test_a_full_queue_makes_append_wait(tmp_path):
    async def run() -> None:
        log = await RequestLog.open(tmp_path / "requests.log", max_pending=4, max_batch=2)
        tasks = [asyncio.create_task(_append(log, SUPPLIER, c)) for c in range(1, 21)]
        await asyncio.sleep(0)
        assert len(log._queue) <= 4  # the other appends wait for room, holding no reservation
        assert [r.seq for r in await asyncio.gather(*tasks)] == list(range(1, 21))
        assert log.batches_written >= 10  # never more than max_batch records in one write
        await log.close()

    run_async(run())


def _log_of(path: Path, n: int) -> list[LogRecord]:
    async def run() -> list[LogRecord]:
        log = await RequestLog.open(path)
        records = [await _append(log, SUPPLIER, c) for c in range(1, n + 1)]
        await log.close()
        return records

    return run_async(run())


def _reopened(path: Path) -> tuple[list[LogRecord], int | None, int]:
    async def run() -> tuple[list[LogRecord], int | None, int]:
        log = await RequestLog.open(path)
        found = list(log.read_from(1)), log.last_counter(SUPPLIER), log.dropped_bytes
        appended = await _append(log, SUPPLIER, (found[1] or 0) + 1)  # the log takes appends after the cut tail
        assert appended.seq == len(found[0]) + 1
        await log.close()
        return found

    return run_async(run())


@pytest.mark.parametrize("cut", [1, 7, 8, 20, 200])
def test_a_torn_tail_is_truncated_on_open_and_said(tmp_path, caplog, cut):
    path = tmp_path / "requests.log"
    records = _log_of(path, 5)
    size = path.stat().st_size
    last = len(encode(records[-1]))
    os.truncate(path, size - last + min(cut, last - 1))  # the last frame only partly written
    with caplog.at_level(logging.WARNING, "gbsmart.gateway.log"):
        found, counter, dropped = _reopened(path)
    assert found == records[:4] and counter == 4 and dropped == min(cut, last - 1)
    assert f"dropped {dropped} bytes" in caplog.text and "after record 4" in caplog.text
    assert [r.seq for r in _reopened(path)[0]] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("where", ["length", "crc", "payload", "garbage"])
def test_a_corrupt_last_record_is_truncated(tmp_path, where):
    path = tmp_path / "requests.log"
    records = _log_of(path, 3)
    data = bytearray(path.read_bytes())
    start = len(data) - len(encode(records[-1]))
    if where == "garbage":
        data += os.urandom(100)
        expected = records
    else:
        data[start + {"length": 1, "crc": 5, "payload": 40}[where]] ^= 0x55
        expected = records[:2]
    path.write_bytes(bytes(data))
    found, counter, dropped = _reopened(path)
    assert found == expected and counter == expected[-1].counter and dropped > 0


def test_a_failed_write_acknowledges_no_one_in_its_batch_nor_after(tmp_path):
    async def run() -> None:
        log = await RequestLog.open(tmp_path / "requests.log")
        await _append(log, SUPPLIER, 1)
        os.close(log._fd)  # the disk goes away: the next write fails with EBADF
        log._fd = os.open(tmp_path / "requests.log", os.O_RDONLY)
        results = await asyncio.gather(*[_append(log, SUPPLIER, c) for c in range(2, 12)], return_exceptions=True)
        assert all(isinstance(r, LogClosed) for r in results), results
        with pytest.raises(LogClosed, match="reopen"):
            await _append(log, SUPPLIER, 50)
        assert log.last_counter(SUPPLIER) == 1
        await log.close()

    run_async(run())
    found, counter, _ = _reopened(tmp_path / "requests.log")
    assert [r.counter for r in found] == [1] and counter == 1


def test_read_from_uses_its_index_across_many_records(tmp_path):
    async def run() -> None:
        log = await RequestLog.open(tmp_path / "requests.log")
        await asyncio.gather(*[log.append(originator=SUPPLIER if c % 2 else NETWORK_OPERATOR, counter=c,
                                          service="S", received_at=AT, body=b"x") for c in range(1, 10_001)])
        assert [r.seq for r in log.read_from(8190)][:3] == [8190, 8191, 8192]
        await log.close()
        reopened = await RequestLog.open(tmp_path / "requests.log")
        assert next(iter(reopened.read_from(9999))).counter == 9999
        assert len(list(reopened.read_from(4097))) == 10_000 - 4096
        await reopened.close()

    run_async(run())


def test_a_naive_time_is_refused(tmp_path):
    async def run() -> None:
        log = await RequestLog.open(tmp_path / "requests.log")
        with pytest.raises(ValueError, match="timezone"):
            await log.append(originator=SUPPLIER, counter=1, service="S", received_at=datetime(2026, 1, 1), body=b"")
        await log.close()

    run_async(run())


def test_a_second_writer_is_refused_while_the_log_is_open_and_let_in_after(tmp_path):
    path = tmp_path / "requests.log"

    async def run() -> None:
        log = await RequestLog.open(path)
        await _append(log, SUPPLIER, 1)
        with pytest.raises(LogLocked, match="one gateway process"):
            await RequestLog.open(path)
        other = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=60,
                               env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})
        assert other.stdout.strip() == "refused", other.stderr  # another process is refused too
        await log.close()
        again = await RequestLog.open(path)
        assert again.last_counter(SUPPLIER) == 1
        await again.close()

    run_async(run())


PROBE = """
import asyncio, sys
from gbsmart.gateway.log import LogLocked, RequestLog
try:
    asyncio.run(RequestLog.open(sys.argv[1]))
except LogLocked:
    print("refused")
"""


def test_an_unchecked_append_logs_a_repeated_counter_without_lowering_the_last(tmp_path):
    """A Signed Pre-Command repeats its Transform request's counter (gateway.transform): logged, and the bar stays."""
    async def run() -> None:
        log = await RequestLog.open(tmp_path / "requests.log")
        await _append(log, SUPPLIER, 5, "T")
        await _append(log, SUPPLIER, 9, "T")
        repeated = await log.append(originator=SUPPLIER, counter=5, service="S", received_at=AT, body=b"<spc/>",
                                    check_counter=False)
        assert repeated.seq == 3 and log.last_counter(SUPPLIER) == 9
        with pytest.raises(CounterNotIncreasing):
            await _append(log, SUPPLIER, 7)
        await log.close()
        log = await RequestLog.open(tmp_path / "requests.log")
        assert log.last_counter(SUPPLIER) == 9 and [r.counter for r in log.read_from(1)] == [5, 9, 5]
        with pytest.raises(CounterNotIncreasing):
            await _append(log, SUPPLIER, 9)
        await log.close()

    run_async(run())

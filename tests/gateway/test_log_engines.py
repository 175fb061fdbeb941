"""The request log's contract, on both engines: the embedded file log and NATS JetStream (issue 12, point 1).

Each test here runs once per engine (``[embedded]``, ``[jetstream]``); the JetStream variant uses the session's
throwaway ``nats-server -js`` (tests/plugins/nats.py) with a stream of its own. What only one engine has (the file
log's torn tails and its lock; JetStream's counter check across processes and its server crashes) is tested below
and in tests/gateway/test_log.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gbsmart.gateway.jetstream import JetStreamLog, subject_token
from gbsmart.gateway.log import CounterNotIncreasing, LogClosed, LogEntry, LogRecord, RequestLog
from tests.gateway.aio import run_async
from tests.plugins.nats import engine_params

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
NETWORK_OPERATOR = "90-B3-D5-1F-30-02-00-00"

Opener = Callable[[], Awaitable[Any]]


def body(originator: str, counter: int) -> bytes:
    return f"<sr:Request>{originator}:{counter}</sr:Request>".encode() * 40


async def _append(log: Any, originator: str, counter: int, service: str = "S", **kw: Any) -> LogRecord:
    record: LogRecord = await log.append(originator=originator, counter=counter, service=service,
                                         received_at=AT + timedelta(microseconds=counter),
                                         body=body(originator, counter), **kw)
    return record


@pytest.fixture(params=engine_params())
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens the test's log (again: the same file or stream), on the engine of the test's parameter."""
    if request.param == "embedded":
        return lambda: RequestLog.open(tmp_path / "requests.log")
    server = request.getfixturevalue("nats_server")
    stream, prefix = server.new_stream()
    return lambda: JetStreamLog.open(server.url, stream=stream, prefix=prefix)


async def _records(log: Any, seq: int = 1) -> list[LogRecord]:
    return [record async for record in log.records_from(seq)]


def test_records_come_back_in_order_and_counters_survive_a_reopen(opener: Opener) -> None:
    async def run() -> list[LogRecord]:
        log = await opener()
        first = await _append(log, SUPPLIER, 5, "S")
        second = await _append(log, NETWORK_OPERATOR, 1, "D")
        third = await _append(log, SUPPLIER, 9, "T")
        assert first.seq < second.seq < third.seq
        assert await _records(log, second.seq) == [second, third]
        assert log.last_counter(SUPPLIER) == 9
        await log.close()
        return [first, second, third]

    written = run_async(run())
    assert written[0] == LogRecord(written[0].seq, SUPPLIER, 5, "S", AT + timedelta(microseconds=5),
                                   body(SUPPLIER, 5))

    async def reopen() -> None:
        log = await opener()
        assert await _records(log, written[0].seq) == written
        assert [await log.load_counter(o) for o in (SUPPLIER, NETWORK_OPERATOR, "x")] == [9, 1, None]
        with pytest.raises(CounterNotIncreasing):  # a replay after the restart, whatever this process had seen
            await _append(log, SUPPLIER, 9)
        assert (await _append(log, NETWORK_OPERATOR, 2)).seq > written[2].seq
        await log.close()

    run_async(reopen())


@pytest.mark.parametrize("counter", [5, 4, 0])
def test_a_counter_not_above_the_last_is_refused_and_logs_nothing(opener: Opener, counter: int) -> None:
    async def run() -> None:
        log = await opener()
        first = await _append(log, SUPPLIER, 5)
        with pytest.raises(CounterNotIncreasing, match=f"counter {counter} is not greater than 5") as refused:
            await _append(log, SUPPLIER, counter)
        assert refused.value.status == 400
        other = await _append(log, NETWORK_OPERATOR, counter)  # counters are per originator
        assert [r.seq for r in await _records(log)] == [first.seq, other.seq]
        await log.close()

    run_async(run())


def test_concurrent_appends_of_one_counter_never_both_succeed_and_each_originator_stays_in_order(
        opener: Opener) -> None:
    originators = [f"90-B3-D5-1F-30-01-00-{i:02X}" for i in range(8)]

    async def run() -> tuple[list[Any], list[LogRecord]]:
        log = await opener()
        jobs = [_append(log, o, c) for c in range(1, 31) for o in originators for _ in range(2)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        records = await _records(log)
        await log.close()
        return results, records

    results, records = run_async(run())
    logged = [r for r in results if isinstance(r, LogRecord)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(logged) == len(refused) == 240
    assert all(isinstance(r, CounterNotIncreasing) for r in refused)
    assert records == sorted(logged, key=lambda r: r.seq)
    for originator in originators:
        assert [r.counter for r in records if r.originator == originator] == list(range(1, 31))


def test_append_many_logs_in_order_and_answers_each_replay_in_place(opener: Opener) -> None:
    async def run() -> None:
        log = await opener()
        await _append(log, SUPPLIER, 10)
        entries = [LogEntry(SUPPLIER, 11, "S", AT, b"a"), LogEntry(NETWORK_OPERATOR, 3, "D", AT, b"b"),
                   LogEntry(SUPPLIER, 10, "S", AT, b"replay"), LogEntry(SUPPLIER, 12, "T", AT, b"c"),
                   LogEntry(SUPPLIER, 12, "S", AT, b"again"), LogEntry(NETWORK_OPERATOR, 4, "D", AT, b"d")]
        results = await log.append_many(entries)
        kinds = [type(r).__name__ for r in results]
        assert kinds == ["LogRecord", "LogRecord", "CounterNotIncreasing", "LogRecord", "CounterNotIncreasing",
                         "LogRecord"]
        stored = [r for r in results if isinstance(r, LogRecord)]
        assert [r.body for r in stored] == [b"a", b"b", b"c", b"d"]
        assert [(r.originator, r.counter) for r in await _records(log)][1:] == [
            (r.originator, r.counter) for r in sorted(stored, key=lambda r: r.seq)]
        supplier = [r.seq for r in stored if r.originator == SUPPLIER]
        assert supplier == sorted(supplier)  # one originator's records in the order given
        with pytest.raises(ValueError, match="max_pending"):
            await log.append_many([LogEntry(SUPPLIER, 100 + i, "S", AT, b"") for i in range(9000)])
        await log.close()

    run_async(run())


def test_an_unchecked_append_logs_a_repeated_counter_without_lowering_the_last(opener: Opener) -> None:
    async def run() -> None:
        log = await opener()
        await _append(log, SUPPLIER, 7, "T")
        await _append(log, SUPPLIER, 9, "S")
        again = await _append(log, SUPPLIER, 7, "S", check_counter=False)  # a Signed Pre-Command's repeat
        assert again.counter == 7 and log.last_counter(SUPPLIER) == 9
        with pytest.raises(CounterNotIncreasing):
            await _append(log, SUPPLIER, 8)
        await log.close()
        log = await opener()
        assert await log.load_counter(SUPPLIER) == 9  # the unchecked repeat is the subject's last: not lowered
        assert [r.counter for r in await _records(log)] == [7, 9, 7]
        await log.close()

    run_async(run())


def test_read_from_in_a_worker_thread_gives_what_records_from_gives(opener: Opener) -> None:
    async def run() -> None:
        log = await opener()
        for c in range(1, 601):
            await _append(log, SUPPLIER if c % 3 else NETWORK_OPERATOR, c)
        every = await _records(log)
        read = await asyncio.get_running_loop().run_in_executor(None, lambda: list(log.read_from(every[250].seq)))
        assert read == every[250:] and len(every) == 600
        await log.close()

    run_async(run())


def test_a_naive_time_and_a_closed_log_are_refused(opener: Opener) -> None:
    async def run() -> None:
        log = await opener()
        with pytest.raises(ValueError, match="timezone-aware"):
            await log.append(originator=SUPPLIER, counter=1, service="S", received_at=datetime(2026, 1, 1),
                             body=b"x")
        await log.close()
        with pytest.raises(LogClosed):
            await _append(log, SUPPLIER, 2)

    run_async(run())


# ------------------------------------------------------------------ JetStream only

def test_subject_tokens_are_one_token_each() -> None:
    assert subject_token(SUPPLIER) == "90B3D51F30010000"
    assert subject_token("a.b *>") == "x" + b"a.b *>".hex()


CHILD = r"""
import asyncio, json, sys, time
from datetime import UTC, datetime
from gbsmart.gateway.jetstream import JetStreamLog
from gbsmart.gateway.log import CounterNotIncreasing

async def main():
    url, stream, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    log = await JetStreamLog.open(url, stream=stream, prefix=prefix)
    print("ready", flush=True)  # then wait for the parent's "go", sent once both processes are ready
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    originators = [f"90-B3-D5-1F-30-01-00-{i:02X}" for i in range(4)]
    async def one(o, c):
        try:
            r = await log.append(originator=o, counter=c, service="S", received_at=datetime.now(UTC),
                                 body=f"{o}:{c}".encode())
            return [o, c, r.seq]
        except CounterNotIncreasing:
            return None
    got = await asyncio.gather(*(one(o, c) for c in range(1, n + 1) for o in originators))
    print(json.dumps({"accepted": [g for g in got if g], "conflicts": log.conflicts + log.duplicates}), flush=True)
    await log.close()

asyncio.run(main())
"""


def _race(nats_server: Any) -> tuple[list[dict[str, Any]], str, str, list[tuple[Any, ...]]]:
    stream, prefix = nats_server.new_stream()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, nats_server.url, stream, prefix, "400"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True) for _ in range(2)]
    # a barrier, not a clock: on a loaded machine one child may take seconds longer to import and connect
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    outputs = [json.loads(child.communicate(timeout=120)[0].strip().splitlines()[-1]) for child in children]
    accepted = [tuple(a) for out in outputs for a in out["accepted"]]
    by_key = {(o, c) for o, c, _ in accepted}
    assert len(by_key) == len(accepted), "one counter was accepted by both processes"
    assert by_key == {(f"90-B3-D5-1F-30-01-00-{i:02X}", c) for i in range(4) for c in range(1, 401)}
    return outputs, stream, prefix, accepted


@pytest.mark.parametrize("engine", ["jetstream"])
def test_two_processes_never_both_accept_one_counter(nats_server: Any, engine: str) -> None:
    """Two real processes, each with its own connection, append every counter of the same originators at once.
    No counter is ever accepted twice, in any try; on a loaded machine one process can finish before the other
    starts (no race), so up to three tries are made until both accepted some."""
    for _ in range(3):
        outputs, stream, prefix, accepted = _race(nats_server)
        if all(out["accepted"] for out in outputs):
            break
    assert all(out["accepted"] for out in outputs), "one process accepted nothing in three tries: no race was tested"
    # each lost race is a refused publish: the other's record was the subject's last (expected sequence), or the
    # same originator and counter was already stored (JetStream's duplicate window, checked first)
    assert sum(out["conflicts"] for out in outputs) > 0, "no publish ever met the other process's: no race"

    async def check() -> None:
        log = await JetStreamLog.open(nats_server.url, stream=stream, prefix=prefix)
        records = await _records(log)
        assert len(records) == 1600 and {r.seq for r in records} == {s for _, _, s in accepted}
        for i in range(4):  # each originator's counters in the stream in increasing order
            o = f"90-B3-D5-1F-30-01-00-{i:02X}"
            assert [r.counter for r in records if r.originator == o] == list(range(1, 401))
        await log.close()

    run_async(check())


@pytest.mark.parametrize("engine", ["jetstream"])
def test_a_killed_nats_server_keeps_every_acknowledged_record_and_nothing_is_acknowledged_while_it_is_down(
        own_nats_server: Any, engine: str) -> None:
    server = own_nats_server
    stream, prefix = server.new_stream()

    async def run() -> None:
        log = await JetStreamLog.open(server.url, stream=stream, prefix=prefix, publish_timeout=1.0)
        acked = [await _append(log, SUPPLIER, c) for c in range(1, 201)]
        server.kill()  # SIGKILL: whatever the server had not written is gone
        with pytest.raises(LogClosed, match="not logged|not acknowledge"):
            await _append(log, SUPPLIER, 201)
        await asyncio.get_running_loop().run_in_executor(None, server.start)
        for _ in range(100):  # the client reconnects by itself
            try:
                late = await _append(log, SUPPLIER, 202)
                break
            except LogClosed:
                await asyncio.sleep(0.2)
        else:
            raise AssertionError("no append succeeded after the server came back")
        records = await _records(log)
        # every acknowledged record is there; 201 was never acknowledged, but may have been stored (in doubt)
        assert [r for r in records if r.counter <= 200] == acked
        assert records[-1] == late and {r.counter for r in records} - set(range(1, 203)) == set()
        await log.close()

    run_async(run())


@pytest.mark.parametrize("engine", ["jetstream"])
def test_a_process_that_has_not_seen_the_others_latest_record_cannot_log_a_lower_counter(
        nats_server: Any, engine: str) -> None:
    """Outside the duplicate window's reach (another counter): the expected last subject sequence refuses it."""
    stream, prefix = nats_server.new_stream()

    async def run() -> None:
        one = await JetStreamLog.open(nats_server.url, stream=stream, prefix=prefix)
        two = await JetStreamLog.open(nats_server.url, stream=stream, prefix=prefix)
        await _append(one, SUPPLIER, 3)
        assert await two.load_counter(SUPPLIER) == 3
        await _append(one, SUPPLIER, 5)
        assert two.last_counter(SUPPLIER) == 3  # stale: it has not seen 5
        with pytest.raises(CounterNotIncreasing, match="counter 4 is not greater than 5"):
            await _append(two, SUPPLIER, 4)
        assert (two.conflicts, two.duplicates) == (1, 0)
        assert (await _append(two, SUPPLIER, 6)).counter == 6
        with pytest.raises(CounterNotIncreasing, match="counter 6 is not greater than 6"):
            await _append(one, SUPPLIER, 6)  # the same counter from the other process: its duplicate
        assert [r.counter for r in await _records(one)] == [3, 5, 6]
        await one.close()
        await two.close()

    run_async(run())


@pytest.mark.parametrize("engine", ["jetstream"])
def test_one_node_of_a_three_node_cluster_killed_under_load_loses_no_acknowledged_record(
        nats_cluster: Any, engine: str) -> None:
    """Three replicas on three nodes; the stream's leader is killed with SIGKILL while 16 producers append."""
    stream, prefix = nats_cluster.new_stream()
    originators = [f"90-B3-D5-1F-30-01-00-{i:02X}" for i in range(16)]

    async def run() -> None:
        log = await JetStreamLog.open(nats_cluster.urls, stream=stream, prefix=prefix, replicas=3,
                                      publish_timeout=2.0)
        info = await log._js.stream_info(stream)
        assert info.config.num_replicas == 3 and info.cluster is not None
        leader = info.cluster.leader
        acked: list[LogRecord] = []
        refused = 0
        stop = asyncio.Event()

        async def producer(originator: str) -> None:
            nonlocal refused
            counter = 0
            while not stop.is_set():
                counter += 1
                try:
                    acked.append(await _append(log, originator, counter))
                except LogClosed:
                    refused += 1  # not acknowledged: the client would send it again later, with a new counter
                    await asyncio.sleep(0.05)

        tasks = [asyncio.create_task(producer(o)) for o in originators]
        while len(acked) < 800:
            await asyncio.sleep(0.01)
        victim = next(node for node in nats_cluster.nodes if node.extra[-1] == leader)
        victim.kill()
        killed_at = asyncio.get_running_loop().time()
        before = len(acked)
        deadline = asyncio.get_running_loop().time() + 30
        while len(acked) < before + 800:  # the two nodes left elect a leader and go on
            assert asyncio.get_running_loop().time() < deadline, f"appends stopped after the kill ({len(acked)})"
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*tasks)
        print(f"CLUSTER acked {len(acked)} refused {refused} resent {log.resent} "
              f"800 more after {asyncio.get_running_loop().time() - killed_at:.2f} s")
        records = await _records(log)
        stored = {(r.originator, r.counter): r for r in records}
        assert all(stored.get((a.originator, a.counter)) == a for a in acked), "an acknowledged record was lost"
        assert len(stored) == len(records), "a counter stored twice"
        for originator in originators:
            mine = [r.counter for r in records if r.originator == originator]
            assert mine == sorted(mine)
        after = await log._js.stream_info(stream)
        assert after.cluster is not None and after.cluster.leader != leader
        await log.close()

    run_async(run())

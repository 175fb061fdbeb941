"""The sequencer and its RemoteLogs: one request log shared by worker processes over a Unix socket (decision 0025).

Real sockets and a real log file, in one process: two RemoteLogs stand for two workers. The counter is checked
by the sequencer across both; a replay a worker has not seen is refused (what the server answers with 409);
appends from both are group committed into one log, in order; a lost sequencer fails every waiting append.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from gbsmart.gateway.log import CounterNotIncreasing, LogClosed, RequestLog
from gbsmart.gateway.sequencer import RemoteLog, Sequencer
from tests.gateway.aio import run_async

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
NETWORK_OPERATOR = "90-B3-D5-1F-30-02-00-00"


def body(originator: str, counter: int) -> bytes:
    return f"<sr:Request>{originator}:{counter}</sr:Request>".encode() * 40


async def _append(log: RemoteLog, originator: str, counter: int, service: str = "S"):
    return await log.append(originator=originator, counter=counter, service=service,
                            received_at=AT + timedelta(microseconds=counter), body=body(originator, counter))


async def _sequencer(tmp_path) -> Sequencer:
    sequencer = Sequencer(await RequestLog.open(tmp_path / "requests.log"), tmp_path / "s.sock")
    await sequencer.start()
    return sequencer


def test_a_replay_sent_to_another_worker_is_refused_by_the_sequencer(tmp_path):
    async def run() -> None:
        sequencer = await _sequencer(tmp_path)
        one, two = [await RemoteLog.connect(tmp_path / "s.sock") for _ in range(2)]
        record = await _append(one, SUPPLIER, 7)
        assert (record.seq, record.originator, record.counter, record.body) == (1, SUPPLIER, 7, body(SUPPLIER, 7))
        assert one.last_counter(SUPPLIER) == 7 and two.last_counter(SUPPLIER) is None  # two has not seen it
        for counter in (7, 3):
            with pytest.raises(CounterNotIncreasing, match=f"counter {counter} is not greater than 7"):
                await _append(two, SUPPLIER, counter)
        assert two.last_counter(SUPPLIER) == 7  # learnt from the refusal: its next early check refuses
        assert (await _append(two, SUPPLIER, 8)).seq == 2
        await one.close()
        await two.close()
        three = await RemoteLog.connect(tmp_path / "s.sock")  # a worker started later is told the counters
        assert three.last_counter(SUPPLIER) == 8 and three.last_counter(NETWORK_OPERATOR) is None
        await three.close()
        await sequencer.close()
        log = await RequestLog.open(tmp_path / "requests.log")
        assert [(r.seq, r.counter) for r in log.read_from(1)] == [(1, 7), (2, 8)]
        await log.close()

    run_async(run())


def test_check_counter_false_logs_a_repeated_counter_and_each_durable_record_is_handed_on(tmp_path):
    """A Signed Pre-Command repeats its Transform's counter (check_counter=False, as RequestLog.append); the
    sequencer's hook (the supervisor's device simulator) is given every durable record and no refused one."""
    async def run() -> None:
        handed = []
        sequencer = Sequencer(await RequestLog.open(tmp_path / "requests.log"), tmp_path / "s.sock",
                              on_appended=handed.append)
        await sequencer.start()
        worker = await RemoteLog.connect(tmp_path / "s.sock")
        await _append(worker, SUPPLIER, 10, service="serviceT")
        with pytest.raises(CounterNotIncreasing):
            await _append(worker, SUPPLIER, 10)
        record = await worker.append(originator=SUPPLIER, counter=10, service="serviceS", received_at=AT,
                                     body=b"signed pre-command", check_counter=False)
        assert record.seq == 2
        with pytest.raises(CounterNotIncreasing):  # the repeat did not lower (or change) the last counter
            await _append(worker, SUPPLIER, 10)
        assert (await _append(worker, SUPPLIER, 11)).seq == 3
        await worker.close()
        await sequencer.close()
        assert [(r.seq, r.counter, r.service) for r in handed] == [(1, 10, "serviceT"), (2, 10, "serviceS"),
                                                                     (3, 11, "S")]
        log = await RequestLog.open(tmp_path / "requests.log")
        assert [(r.seq, r.counter, r.body) for r in log.read_from(2)][0] == (2, 10, b"signed pre-command")
        await log.close()

    run_async(run())


def test_appends_from_two_workers_are_group_committed_in_one_order_and_one_counter_wins_once(tmp_path):
    async def run() -> None:
        sequencer = await _sequencer(tmp_path)
        workers = [await RemoteLog.connect(tmp_path / "s.sock") for _ in range(2)]
        rng = random.Random(4)
        # both workers send every counter of 8 originators, in increasing order but interleaved at random (as
        # clients do): each counter is accepted at most once, and per originator accepted counters rise with seq
        originators = [f"90-B3-D5-1F-30-01-00-{i:02X}" for i in range(8)]
        jobs = sorted(((w, o, c) for w in workers for o in originators for c in range(1, 101)),
                      key=lambda job: job[2] + rng.random() * 3)
        results = await asyncio.gather(*(_append(w, o, c) for w, o, c in jobs), return_exceptions=True)
        accepted = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert all(isinstance(r, CounterNotIncreasing) for r in refused), refused[:3]
        assert len(accepted) + len(refused) == len(jobs) and len(accepted) >= 100
        pairs = [(r.originator, r.counter) for r in accepted]
        assert len(pairs) == len(set(pairs)), "one counter acknowledged twice"
        assert sorted(r.seq for r in accepted) == list(range(1, len(accepted) + 1))
        for originator in originators:
            counters = [r.counter for r in sorted(accepted, key=lambda r: r.seq) if r.originator == originator]
            assert counters == sorted(counters) and len(set(counters)) == len(counters)
        assert sequencer.log.batches_written < len(accepted) / 4, "appends from both were not group committed"
        for w in workers:
            await w.close()
        await sequencer.close()
        log = await RequestLog.open(tmp_path / "requests.log")
        assert [(r.seq, r.originator, r.counter) for r in log.read_from(1)] == sorted(
            (r.seq, r.originator, r.counter) for r in accepted)
        await log.close()

    run_async(run())


def test_a_lost_sequencer_fails_waiting_appends_and_tells_the_worker(tmp_path):
    async def run() -> None:
        lost = asyncio.Event()
        # a "sequencer" that reads appends and never answers, then dies: nothing may be taken as acknowledged
        accepted_connection = asyncio.Event()

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"\x03\x00\x00\x00H{}")
            accepted_connection.set()
            await reader.read(1)
            writer.close()

        server = await asyncio.start_unix_server(silent, path=str(tmp_path / "x.sock"))
        remote = await RemoteLog.connect(tmp_path / "x.sock", on_lost=lost.set)
        with pytest.raises(LogClosed, match="not acknowledged"):
            await _append(remote, SUPPLIER, 1)
        await asyncio.wait_for(lost.wait(), 5)
        with pytest.raises(LogClosed):
            await _append(remote, SUPPLIER, 2)
        await remote.close()
        server.close()

    run_async(run())


def test_a_worker_without_a_sequencer_is_told_what_to_do(tmp_path):
    async def run() -> None:
        with pytest.raises(LogClosed, match="gbsmart gateway serve --workers"):
            await RemoteLog.connect(tmp_path / "missing.sock")

    run_async(run())


def test_one_frame_of_mixed_appends_is_logged_in_arrival_order_with_each_its_own_answer(tmp_path):
    """Appends queued in one loop turn travel in one frame; the sequencer logs a run of checked ones with one
    ``append_many`` and an unchecked one (a Signed Pre-Command) on its own: the log keeps the frame's order, a
    replay inside the frame is refused alone, and the hook sees each durable record once."""
    async def run() -> None:
        handed = []
        sequencer = Sequencer(await RequestLog.open(tmp_path / "requests.log"), tmp_path / "s.sock",
                              on_appended=handed.append)
        await sequencer.start()
        worker = await RemoteLog.connect(tmp_path / "s.sock")
        unchecked = worker.append(originator=SUPPLIER, counter=1, service="serviceS", received_at=AT,
                                  body=b"signed pre-command", check_counter=False)
        results = await asyncio.gather(_append(worker, SUPPLIER, 1), _append(worker, SUPPLIER, 1),
                                       _append(worker, NETWORK_OPERATOR, 5), unchecked, _append(worker, SUPPLIER, 2),
                                       return_exceptions=True)
        assert isinstance(results[1], CounterNotIncreasing) and "counter 1 is not greater than 1" in str(results[1])
        ok = [r for r in results if not isinstance(r, BaseException)]
        assert [(r.seq, r.originator, r.counter) for r in ok] == [
            (1, SUPPLIER, 1), (2, NETWORK_OPERATOR, 5), (3, SUPPLIER, 1), (4, SUPPLIER, 2)]
        assert [r.seq for r in handed] == [1, 2, 3, 4] and sequencer.refused == 1 and sequencer.appended == 5
        await worker.close()
        await sequencer.close()
        log = await RequestLog.open(tmp_path / "requests.log")
        assert [(r.seq, r.counter, r.service) for r in log.read_from(1)] == [
            (1, 1, "S"), (2, 5, "S"), (3, 1, "serviceS"), (4, 2, "S")]
        await log.close()

    run_async(run())

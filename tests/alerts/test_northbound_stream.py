"""What only the JetStream northbound cache has (alerts.northbound_stream; the shared behaviour is test_northbound.py,
run on both engines): a put durable in the stream before its row exists, recovered from the stream after a crash,
and done messages deleted from the stream, so that what it holds is what is still owed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from gbsmart.alerts.northbound_stream import STREAM_SUFFIX, JetStreamNorthbound
from gbsmart.core.clock import FixedClock
from gbsmart.gateway.jetstream import JetStreamLog
from gbsmart.models.alerts import NorthboundMessage
from tests.alerts.test_northbound import T0, A, B, _endpoints, _msg, _OwnConnection, _rows, _settings, _until
from tests.alerts.users import UserEndpoint
from tests.gateway.aio import run_async

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sessions(engine):
    from gbsmart.core.db import make_sessionmaker

    return make_sessionmaker(engine)


async def _stored(url: str, stream: str) -> int:
    import nats

    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info(f"{stream}{STREAM_SUFFIX}")).state.messages
    finally:
        await nc.close()


class _NoDatabase(_OwnConnection):
    """Its writes fail as if PostgreSQL were down: a put is still durable (in the stream), no row is written."""

    def _write(self, writes):
        raise OperationalError("INSERT", {}, Exception("the database is down (a test)"))

    async def crash(self) -> None:
        """Stop as a killed process would: nothing flushed, the connection dropped."""
        for task in [*self._tasks, *self._inflight]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._inflight, return_exceptions=True)
        self._tasks = []
        await self.request_log._nc.close()


def test_a_put_is_durable_before_its_row_and_recovered_from_the_stream(tmp_path, db_url, sessions, nats_server):
    stream, prefix = nats_server.new_stream()
    settings = _settings(tmp_path, db_url)
    user = UserEndpoint().start()

    async def first() -> None:
        nb = await _NoDatabase.open(nats_server.url, stream, prefix, sessions, settings, FixedClock(T0),
                                    renderers={})
        await nb.start()
        await nb.put([_msg(i, A, "power_outage") for i in range(30)])  # returns: JetStream has them
        await nb.put([_msg(i, B, "bulk") for i in range(20)])
        await nb.crash()

    async def second() -> int:
        _endpoints(sessions, **{A: user.url, B: user.url})
        nb = await _OwnConnection.open(nats_server.url, stream, prefix, sessions, settings, FixedClock(T0),
                                       renderers={})
        kept = await nb.start()
        await _until(lambda: len(user.got) == 50)
        await nb.flush()
        await _until(lambda: nb.deleted == 50)
        await nb.close()
        return kept

    try:
        run_async(first())
        assert _rows(sessions) == []  # no row was ever written
        assert run_async(_stored(nats_server.url, stream)) == 50
        assert run_async(second()) == 50
    finally:
        user.stop()
    assert sorted(user.ids()) == sorted([f"m-0A-{i}" for i in range(30)] + [f"m-0B-{i}" for i in range(20)])
    rows = _rows(sessions)
    assert len(rows) == 50 and all(r.delivered_at is not None for r in rows)
    assert run_async(_stored(nats_server.url, stream)) == 0  # done: deleted from the stream


def test_done_messages_leave_the_stream_and_a_restart_deletes_what_a_crash_left(tmp_path, db_url, sessions,
                                                                                  nats_server):
    stream, prefix = nats_server.new_stream()
    settings = _settings(tmp_path, db_url)
    user = UserEndpoint().start()
    _endpoints(sessions, **{A: user.url})

    class _NoDeletes(_OwnConnection):
        async def _delete(self, seq: int) -> bool:
            raise RuntimeError("NATS refused the delete (a test)")

    async def first() -> None:
        nb = await _NoDeletes.open(nats_server.url, stream, prefix, sessions, settings, FixedClock(T0), renderers={})
        await nb.start()
        await nb.put([_msg(i) for i in range(10)])
        await _until(lambda: len(user.got) == 10)
        await nb.flush()
        await nb.close()

    async def second() -> tuple[int, int]:
        nb = await _OwnConnection.open(nats_server.url, stream, prefix, sessions, settings, FixedClock(T0),
                                       renderers={})
        kept = await nb.start()
        await _until(lambda: nb.deleted == 10)
        await nb.put([_msg(i) for i in range(10)])  # a producer's replay: its rows are done, nothing is sent
        await nb.flush()
        await asyncio.sleep(0.3)
        stored = sum(n for counts in (await nb.stored()).values() for n in counts.values())
        await nb.close()
        return kept, stored

    try:
        run_async(first())
        assert run_async(_stored(nats_server.url, stream)) == 10  # delivered, recorded, but still in the stream
        kept, stored = run_async(second())
    finally:
        user.stop()
    assert kept == 0 and stored == 0
    assert sorted(user.ids()) == sorted(f"m-0A-{i}" for i in range(10))  # each once
    assert run_async(_stored(nats_server.url, stream)) == 0


CHILD = r"""
import asyncio, sys
from datetime import UTC, datetime
from gbsmart.alerts.enums import OutboundKind
from gbsmart.alerts.northbound import Outbound
from gbsmart.alerts.northbound_stream import JetStreamNorthbound
from gbsmart.config import Settings
from gbsmart.core.clock import SystemClock
from gbsmart.core.db import make_engine, make_sessionmaker
from gbsmart.gateway.jetstream import JetStreamLog

async def main():
    url, stream, prefix, db = sys.argv[1:5]
    log = await JetStreamLog.open(url, stream=stream, prefix=prefix)
    settings = Settings(database_url=db)
    nb = JetStreamNorthbound(make_sessionmaker(make_engine(db)), settings, SystemClock(), request_log=log,
                             renderers={})
    await nb.start()
    now = datetime.now(UTC)
    for batch in range(10_000):
        items = [Outbound(message_id=f"k-{batch}-{i}", user_id="90-B3-D5-1F-30-01-00-0A",
                          kind=OutboundKind.DEVICE_ALERT, priority=("power_outage", "alert")[i % 2], created_at=now,
                          body=b"<m/>") for i in range(50)]
        await nb.put(items)
        print(f"acked {batch}", flush=True)

asyncio.run(main())
"""


def test_kill_9_of_a_putting_process_loses_no_acknowledged_message(tmp_path, db_url, sessions, nats_server):
    """A real process puts batches (its User's endpoint unknown, so nothing is sent) and is killed -9 after a
    few hundred are acknowledged; another start delivers every acknowledged one, each once."""
    stream, prefix = nats_server.new_stream()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen([sys.executable, "-c", CHILD, nats_server.url, stream, prefix, db_url],
                             stdout=subprocess.PIPE, stderr=(tmp_path / "child.log").open("wb"), env=env, text=True)
    acked: list[int] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            acked.append(int(line.split()[1]))
            if len(acked) >= 20:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        acked += [int(line.split()[1]) for line in child.stdout.read().splitlines() if line.startswith("acked")]
    finally:
        if child.poll() is None:
            child.kill()
    assert len(acked) >= 20, (tmp_path / "child.log").read_text()[-2000:]
    with sessions() as session:
        rows_at_kill = len(list(session.scalars(select(NorthboundMessage.id))))
    user = UserEndpoint().start()
    _endpoints(sessions, **{A: user.url})
    owed = {f"k-{b}-{i}" for b in acked for i in range(50)}

    async def again() -> int:
        nb = await _OwnConnection.open(nats_server.url, stream, prefix, sessions, _settings(tmp_path, db_url),
                                       FixedClock(datetime.now(UTC)), renderers={})
        kept = await nb.start()
        # every kept message, not just the acknowledged ones: those of the batch in doubt at the kill are sent too
        await _until(lambda: owed <= set(user.ids()) and len(user.ids()) >= kept, timeout=60.0)
        await nb.flush()
        await nb.close()
        return kept

    try:
        kept = run_async(again())
    finally:
        user.stop()
    ids = user.ids()
    assert owed <= set(ids) and len(ids) == len(set(ids)) == kept  # every acknowledged one, none twice
    assert kept >= len(owed) and kept - len(owed) <= 50  # at most the batch in flight when killed, in doubt
    print(f"killed with {len(owed)} acknowledged, {rows_at_kill} rows written; {kept} sent after the restart")


def test_without_nats_a_put_waits_and_is_kept_once_nats_is_back(tmp_path, db_url, sessions, own_nats_server):
    """The NATS server killed: a put does not fail and lose its messages, nor return as if kept; it waits, and
    completes once the server is back (as the embedded writer waits for its database)."""
    server = own_nats_server
    stream, prefix = server.new_stream()
    user = UserEndpoint().start()
    _endpoints(sessions, **{A: user.url})

    async def run() -> bool:
        request_log = await JetStreamLog.open(server.url, stream=stream, prefix=prefix)
        nb = JetStreamNorthbound(sessions, _settings(tmp_path, db_url), FixedClock(T0), request_log=request_log,
                                 renderers={}, publish_timeout=0.5)
        await nb.start()
        await nb.put([_msg(1)])
        server.kill()
        put = asyncio.create_task(nb.put([_msg(2, priority="power_outage")]))
        await asyncio.sleep(2.0)
        waited = not put.done()
        await asyncio.get_running_loop().run_in_executor(None, server.start)
        await asyncio.wait_for(put, 60)
        await _until(lambda: len(user.got) == 2, timeout=30.0)
        await nb.close()
        await request_log.close()
        return waited and nb.republished > 0

    try:
        assert run_async(run())
    finally:
        user.stop()
    assert sorted(user.ids()) == ["m-0A-1", "m-0A-2"]

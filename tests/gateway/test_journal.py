"""The journal's batched writer on a real database: one transaction a batch, new rows by one INSERT executemany,
runs of updates setting the same columns by one UPDATE executemany, and every operation in the order queued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from gbsmart.core.db import make_sessionmaker
from gbsmart.gateway.journal import Journal, JournalEntry
from gbsmart.models.gateway import GatewayMessage
from tests.gateway.aio import run_async

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SUPPLIER, OTHER = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00"


def entry(originator: str, counter: int, state: str = "acknowledged", code: str = "I99") -> JournalEntry:
    return JournalEntry(request_id=f"{originator}:00-DB-12-34-56-78-90-A0:{counter}", originator=originator,
                        target="00-DB-12-34-56-78-90-A0", counter=counter, srv="4.1.1", command_variant=1,
                        service="serviceS", state=state, code=code, received_at=AT + timedelta(seconds=counter),
                        answered_at=AT + timedelta(seconds=counter), trt_class="on_demand", log_seq=counter)


def test_one_batch_of_mixed_rows_and_updates_is_written_in_the_order_queued(engine):
    sessions = make_sessionmaker(engine)

    async def run() -> None:
        journal = Journal(sessions, batch=500)
        journal.start()
        for counter in (1, 2, 3):
            await journal.record(entry(SUPPLIER, counter))
        await journal.record(entry(SUPPLIER, 4, state="refused", code="E4"))  # final: never updated
        await journal.update(SUPPLIER, 1, state="completed", code="I0", completed_at=AT + timedelta(minutes=1))
        await journal.update(SUPPLIER, 2, state="completed", code="E20", completed_at=AT + timedelta(minutes=2))
        await journal.update(SUPPLIER, 4, state="completed", code="I0", completed_at=AT)  # a final row: untouched
        await journal.update(SUPPLIER, 1, delivered_at=AT + timedelta(minutes=3))  # another set of columns
        await journal.record(entry(OTHER, 1))  # a new row after the updates, then an update of it: in order
        await journal.update(OTHER, 1, state="completed", code="I0", completed_at=AT + timedelta(minutes=4))
        await journal.update(OTHER, 2, state="completed", code="I0", completed_at=AT)  # no such row: nothing
        await journal.close()
        assert journal.written == 11

    run_async(run())
    with sessions() as session:
        rows = {(r.originator, r.counter): r for r in session.scalars(select(GatewayMessage))}
    assert sorted(rows) == [(SUPPLIER, 1), (SUPPLIER, 2), (SUPPLIER, 3), (SUPPLIER, 4), (OTHER, 1)]
    first = rows[SUPPLIER, 1]
    assert (first.state, first.code, first.completed_at, first.delivered_at) == (
        "completed", "I0", AT + timedelta(minutes=1), AT + timedelta(minutes=3))
    assert (rows[SUPPLIER, 2].state, rows[SUPPLIER, 2].code) == ("completed", "E20")
    assert (rows[SUPPLIER, 3].state, rows[SUPPLIER, 3].completed_at) == ("acknowledged", None)
    assert (rows[SUPPLIER, 4].state, rows[SUPPLIER, 4].code, rows[SUPPLIER, 4].completed_at) == ("refused", "E4", None)
    assert (rows[OTHER, 1].state, rows[OTHER, 1].completed_at) == ("completed", AT + timedelta(minutes=4))


def test_an_update_before_its_row_is_tried_again_until_the_row_is_there(engine):
    """Two gateway processes on the jetstream engine: the one that accepted a request journals its row, the one
    that runs the simulator completes it, and the completion can reach the database first."""
    sessions = make_sessionmaker(engine)

    async def run() -> None:
        import asyncio

        simulator_side, accepting_side = Journal(sessions), Journal(sessions)
        simulator_side.start()
        accepting_side.start()
        await simulator_side.update(SUPPLIER, 7, state="completed", code="I0", completed_at=AT)
        await simulator_side.flush()
        assert simulator_side.retried_updates == 1  # no row yet: tried again later
        await asyncio.sleep(0.2)
        await accepting_side.record(entry(SUPPLIER, 7))
        await accepting_side.flush()
        for _ in range(40):
            await asyncio.sleep(0.1)
            with sessions() as session:
                row = session.scalar(select(GatewayMessage).where(GatewayMessage.counter == 7))
                if row is not None and row.state == "completed":
                    break
        await simulator_side.close()
        await accepting_side.close()
        assert (row.state, row.code, row.completed_at) == ("completed", "I0", AT)
        assert simulator_side.dropped_updates == 0

    run_async(run())

"""The outage tracker and the DCC Alert sources wired into the gateway process (``Gateway.start/stop``)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from gbsmart.core.clock import FixedClock
from gbsmart.core.db import make_sessionmaker
from gbsmart.gateway.demo import BOXED_MPAN, BOXED_NETWORK_OPERATOR, load_gateway_demo
from gbsmart.gateway.server import Gateway
from gbsmart.models.alerts import NorthboundMessage
from tests.alerts.northbound_double import RecordingNorthbound
from tests.gateway.aio import run_async

ESME, CHF = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A2"


@pytest.fixture
def demo(ctx, session):
    load_gateway_demo(ctx)
    session.commit()
    return ctx


def test_the_gateway_runs_the_tracker_on_its_northbound_with_premises_from_its_index(demo, settings, engine):
    """Gateway.start makes the real Northbound (replacing a double set before start); the test reads what was put
    from northbound_messages."""
    clock = FixedClock(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    settings = settings.model_copy(update={"simulator_enabled": False})
    sessions = make_sessionmaker(engine)

    async def main():
        gateway = Gateway(settings, clock=clock)
        gateway.northbound = RecordingNorthbound(sessions)  # type: ignore[attr-defined]
        await gateway.start()
        try:
            assert gateway.outage is not None and gateway.dcc_alerts is not None
            assert gateway.premises(ESME) == (str(BOXED_MPAN), BOXED_NETWORK_OPERATOR)
            assert gateway.premises(CHF) == (None, None)          # the demo's CHF has no MPAN in the SMI
            assert gateway.premises("not a device id") == (None, None)
            await gateway.outage.power_lost(ESME, clock.now())
            clock.advance(seconds=180)
            assert await gateway.outage.run_due() == 1
            with sessions() as s:
                (row,) = s.scalars(select(NorthboundMessage).where(NorthboundMessage.code == "AD1")).all()
            assert row.user_id == BOXED_NETWORK_OPERATOR
            item = SimpleNamespace(message_id=row.message_id)
            for hook in gateway.northbound_hooks:    # what the Northbound's on_delivered calls
                hook(item, clock.now())
            await gateway.outage.flush()
            assert gateway.outage.pending() == {"reported": 1, "awaiting_delivery": 0}
        finally:
            await gateway.stop()
    run_async(main())

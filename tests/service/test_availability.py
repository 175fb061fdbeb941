"""SSI availability (CPM6) from what the probe recorded: equal results extend one span, a silence is no data (not
down), a period clips its spans; the probe asks a real HTTP server on the loopback, and `gbsmart service probe`."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.cli import app
from gbsmart.core.clock import FixedClock
from gbsmart.core.db import make_sessionmaker
from gbsmart.models.service import SsiAvailabilitySpan
from gbsmart.service import availability, performance
from gbsmart.service.availability import Probe, record
from tests.gateway.aio import run_async
from tests.service.test_simulate import in_thread

T0 = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def _spans(session) -> list[tuple[datetime, datetime, bool]]:
    return [(s.started_at, s.ended_at, s.up) for s in session.scalars(
        select(SsiAvailabilitySpan).order_by(SsiAvailabilitySpan.started_at))]


def test_probes_make_spans_and_a_silence_is_no_data(session):
    minute = timedelta(minutes=1)
    for n in range(5):                                   # up for 4 minutes
        record(session, T0 + n * minute, True, interval_seconds=60)
    for n in range(5, 8):                                # down from 00:04 to 00:07
        record(session, T0 + n * minute, False, interval_seconds=60, detail="HTTP 503")
    record(session, T0 + 8 * minute, True, interval_seconds=60)   # up again at 00:08
    record(session, T0 + 60 * minute, True, interval_seconds=60)  # after 52 minutes of silence: a new span
    session.flush()
    assert _spans(session) == [(T0, T0 + 4 * minute, True), (T0 + 4 * minute, T0 + 7 * minute, False),
                               (T0 + 7 * minute, T0 + 8 * minute, True), (T0 + 60 * minute, T0 + 60 * minute, True)]
    seen = availability.measure(session, T0, T0 + timedelta(hours=2))
    assert (seen.observed_seconds, seen.up_seconds) == (8 * 60, 5 * 60)  # the silence counts neither way
    assert [s.detail for s in seen.down] == ["HTTP 503"]
    clipped = availability.measure(session, T0 + 5 * minute, T0 + 6 * minute)
    assert (clipped.observed_seconds, clipped.up_seconds, clipped.share) == (60, 0, 0.0)
    assert availability.measure(session, T0 + timedelta(days=3), T0 + timedelta(days=4)).share is None


def test_cpm6_is_the_month_s_up_minutes_over_its_observed_minutes(ctx, session):
    session.add_all([SsiAvailabilitySpan(started_at=T0, ended_at=T0 + timedelta(days=10), up=True, source="probe"),
                     SsiAvailabilitySpan(started_at=T0 + timedelta(days=10), ended_at=T0 + timedelta(days=10, hours=12),
                                         up=False, source="probe", detail="ConnectError"),
                     SsiAvailabilitySpan(started_at=T0 + timedelta(days=10, hours=12), ended_at=T0 + timedelta(days=30),
                                         up=True, source="probe")])
    session.commit()
    ctx.clock.set(datetime(2026, 12, 3, tzinfo=UTC))
    cpm6 = next(f for f in performance.month_figures(ctx, date(2026, 11, 1)) if f.level.code == "CPM6")
    assert (cpm6.counted, cpm6.met) == (30 * 24 * 60, 30 * 24 * 60 - 12 * 60)
    assert cpm6.share_text == "98.33%" and cpm6.standing == "below target"
    _, items = performance.items(ctx, date(2026, 11, 1), "CPM6")
    assert len(items) == 1 and not items[0].met and "720 min" in items[0].what and "ConnectError" in items[0].what
    october = next(f for f in performance.month_figures(ctx, date(2026, 10, 1)) if f.level.code == "CPM6")
    assert october.standing == "no data"  # nothing watched in October: no data, never 100%


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b'{"status":"ok"}')

    def log_message(self, *args) -> None:
        pass


def test_the_probe_records_what_a_real_server_answers(engine, session):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
    clock = FixedClock(T0)
    probe = Probe(make_sessionmaker(engine), clock, url, interval=60, timeout=2)

    async def run() -> list[bool]:
        out = []
        async with httpx.AsyncClient(timeout=2) as client:
            for status in (200, 200, 503):
                _Health.status = status
                out.append(await probe.once(client))
                clock.advance(seconds=60)
            server.shutdown()
            server.server_close()
            out.append(await probe.once(client))  # nobody answers now
        return out

    assert run_async(run()) == [True, True, False, False]
    session.expire_all()
    spans = session.scalars(select(SsiAvailabilitySpan).order_by(SsiAvailabilitySpan.id)).all()
    assert [(s.up, s.started_at, s.ended_at) for s in spans] == [
        (True, T0, T0 + timedelta(seconds=60)), (False, T0 + timedelta(seconds=60), T0 + timedelta(seconds=180))]
    assert spans[1].detail == "HTTP 503"


def test_the_probe_command_records_once(cli_env, session):
    result = in_thread(CliRunner().invoke, app, ["service", "probe", "--once", "--url", "http://127.0.0.1:9/healthz"])
    assert result.exit_code == 0, result.output
    assert "down" in result.output
    session.expire_all()
    rows = session.scalars(select(SsiAvailabilitySpan)).all()
    assert len(rows) == 1 and rows[0].up is False and rows[0].detail.startswith("Connect")

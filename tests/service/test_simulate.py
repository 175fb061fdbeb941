"""`gbsmart service simulate`: a past period of traffic in virtual time, written through the owners' writers, from
which the reports compute CPM1 below its minimum with PM2 (the CSP North firmware payloads) the cause; the plan's
errors named; a second run adds nothing."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from gbsmart.cli import app
from gbsmart.core.cli_support import set_clock
from gbsmart.core.clock import FixedClock, SystemClock
from gbsmart.demo.loader import DEMO_PASSWORD, load_demo
from gbsmart.models.alerts import Alert, AlertVolumeMinute, NorthboundMessage
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.service import SsiAvailabilitySpan
from gbsmart.service import performance, report, simulate
from gbsmart.service.simulate import PlanError, load_plan

T = TypeVar("T")
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
#: four months (August to November 2026); the firmware problem in months 1, 2 and 4, so October is clean
PLAN = """
seed = 7
[population]
devices_per_region = 6
[traffic]
requests_per_month = 400
future_dated_share = 0.15
tail_share = 0.004
tail_seconds = [35.0, 600.0]
[traffic.mix]
"4.1.1" = 0.5
"11.2" = 0.2
"11.1" = 0.3
[profiles.default]
latency_seconds = 6.0
jitter_seconds = 4.0
failure_rate = 0.004
[[problem]]
name = "CSP North firmware payload delivery"
region = "North"
srvs = ["11.1"]
months = [1, 2, 4]
late_share = 0.6
late_seconds = [60.0, 21600.0]
[alerts]
per_month = 200
outages_per_month = 20
ad1_seconds = [2.0, 20.0]
ad1_late_share = 0.0
[alerts.codes]
"8F3E" = 0.7
"8F35" = 0.3
[ssi]
probe_seconds = 60
outages = [[2, 10, 9, 6.0]]
"""


def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` in a thread of its own: a command that calls asyncio.run must not meet the event loop a browser
    test (Playwright's sync API) leaves running in the test thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@pytest.fixture
def demo_db(ctx, session, monkeypatch):
    from gbsmart.core.security import hash_password

    one = hash_password(DEMO_PASSWORD)
    monkeypatch.setattr("gbsmart.demo.loader.hash_password", lambda pw: one)
    load_demo(ctx)
    session.commit()
    set_clock(FixedClock(NOW))
    yield ctx
    set_clock(SystemClock())


def _run(tmp_path, *args: str):
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN)
    result = in_thread(CliRunner().invoke, app, ["service", "simulate", "--months", "4", "--plan", str(plan), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_simulated_period_puts_cpm1_below_minimum_with_pm2_in_csp_north_the_cause(cli_env, demo_db, session,
                                                                                     settings, tmp_path):
    out = _run(tmp_path)
    assert "18 simulated devices (18 added to the SMI)" in out and "Simulated Nov 2026" in out
    session.expire_all()
    ctx = demo_db
    ctx.clock.set(NOW)
    months = simulate.months_before(NOW.date(), 4)
    assert months == [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    figures = {m: {f.level.code: f for f in performance.month_figures(ctx, m)} for m in months}
    for m in (months[0], months[1], months[3]):  # the problem's months
        cpm1, pm2 = figures[m]["CPM1"], figures[m]["PM2"]
        assert cpm1.standing == "below minimum" and pm2.standing == "below minimum", (m, cpm1, pm2)
        why = performance.causes(ctx, m)
        assert why.firmware_share is not None and why.firmware_share >= 50 and why.worst_region == "North"
        north, central = why.pm2_by_region["North"], why.pm2_by_region["Central"]
        assert north[1] / north[0] < central[1] / central[0]
        assert "PM2 is the main cause" in why.summary
    clean = figures[months[2]]
    assert clean["CPM1"].share is not None and clean["CPM1"].share >= clean["CPM1"].level.minimum
    assert clean["PM2"].standing != "below minimum"
    # the other measures come from what was written too
    assert all(figures[m]["CPM2"].counted > 0 and figures[m]["CPM3"].counted == 20 for m in months)
    assert figures[months[1]]["CPM6"].share is not None and figures[months[1]]["CPM6"].share < 100  # the outage
    assert figures[months[0]]["CPM6"].share == 100.0
    # the rows behind them, written by the owners' writers
    nov = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    journalled = session.scalar(select(func.count()).select_from(GatewayMessage).where(
        GatewayMessage.received_at >= nov[0], GatewayMessage.received_at < nov[1]))
    assert journalled == 400
    assert session.scalar(select(func.count()).select_from(GatewayMessage).where(
        GatewayMessage.completed_at.is_(None))) == 0
    assert session.scalar(select(func.count()).select_from(Alert)) == 800
    assert session.scalar(select(func.sum(AlertVolumeMinute.alerts))) == 800  # the roll-up agrees with the rows
    assert session.scalar(select(func.count()).select_from(NorthboundMessage)) == 80
    # the monthly report says so, from the same figures
    r = report.build(ctx, months[3])
    assert r.causes is not None and r.causes.summary == performance.causes(ctx, months[3]).summary
    assert sum(r.region_totals.values()) == 200
    assert any("PM2 is the main cause" in line for line in report.markdown_section(ctx, months[3]))

    again = _run(tmp_path)  # every month is there already: nothing added
    assert again.count("already simulated") == 4 and "(0 added to the SMI)" in again
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(GatewayMessage)) == 1600
    assert session.scalar(select(func.count()).select_from(SsiAvailabilitySpan)) == 6


def test_without_the_demo_it_says_what_to_do(cli_env, session, tmp_path):
    runner = CliRunner()
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN)
    result = in_thread(runner.invoke, app, ["service", "simulate", "--months", "2", "--plan", str(plan)])
    assert result.exit_code == 1 and "run `gbsmart demo` first" in " ".join(result.output.split())
    bad = runner.invoke(app, ["service", "simulate", "--months", "40", "--plan", str(plan)])
    assert bad.exit_code == 1 and "months: must be 1 to 36" in bad.output


@pytest.mark.parametrize(("change", "message"), [
    (('"11.1" = 0.3', '"8.2" = 0.3'), "traffic.mix.8.2: not a device Service Request Variant"),
    (("requests_per_month = 400", "requests_per_month = -1"), "traffic.requests_per_month: must be a whole number"),
    (('region = "North"', 'region = "East"'), "problem 1.region: must be one of"),
    (("late_share = 0.6", "late_share = 1.5"), "problem 1.late_share: must be a number from 0 to 1"),
    (("tail_seconds = [35.0, 600.0]", "tail_seconds = [600.0, 35.0]"), "traffic.tail_seconds: must be [low, high]"),
    (('"8F3E" = 0.7', '"8F3E" = 0'), "alerts.codes.8F3E: a share must be a number above 0"),
    (("outages = [[2, 10, 9, 6.0]]", "outages = [[2, 31, 9, 6.0]]"), "ssi.outages 1: must be [month 1.."),
    (("latency_seconds = 6.0", "latency_seconds = -6.0"), "latency_seconds must be a number of 0 or more"),
    (("[population]", "[population"), "is not TOML"),
])
def test_a_wrong_plan_names_the_entry(tmp_path, settings, change, message):
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.replace(*change))
    with pytest.raises(PlanError) as err:
        load_plan(settings, plan)
    assert message in str(err.value)
    with pytest.raises(PlanError, match="does not exist"):
        load_plan(settings, tmp_path / "missing.toml")


def test_the_packaged_plan_is_the_seeds_year(settings):
    plan = load_plan(settings)
    assert plan.problems[0].region == "North" and len(plan.problems[0].months) == 11  # 11 of the 12 months
    assert "11.1" in plan.mix and set(settings.trt_firmware_srvs) & set(plan.problems[0].srvs)

"""Incidents in headless Chromium (issue 13, done when: "A DCC user raises an incident in the portal and watches its
time left to SLA"): the raise form asks the chosen type's questions (swapped in by htmx), a wrong answer is marked
on its field with nothing saved, and the list shows the time left shrinking as the clock moves, and the incident
in "less than 24 hours to breach"."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from gbsmart.config import Settings
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from gbsmart.models.parties import DccUser
from tests.conftest import World
from tests.web.test_portal_browser import add_person, sign_in_page

pytestmark = pytest.mark.browser


def test_a_dcc_user_raises_an_incident_and_watches_its_time_left(tmp_path, clock, live_server, new_page) -> None:
    db_url = f"sqlite:///{tmp_path / 'portal.db'}"
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret-key-not-for-production",
                        session_idle_seconds=6 * 3600)  # the clock moves hours on while the page is open
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    session = make_sessionmaker(engine)()
    world = World(session, clock)
    supplier = world.org("Bright Energy", "sec_party", "large_supplier")
    session.add(DccUser(organisation_id=supplier.id, eui64="90-B3-D5-1F-30-01-00-0A"))
    session.commit()
    add_person(world, "dora.desk", "dcc", org=world.org("DCC", "dcc"))
    url = live_server(settings, clock=clock)

    page: Page = new_page()
    sign_in_page(page, url, "dora.desk", "/incidents")
    expect(page.locator("#no-incidents")).to_be_visible()
    page.locator("#raise-incident").click()

    page.get_by_label("Title").fill("Dual band hub needed at flat 3")
    page.locator("#incident-type").select_option(label="Incorrect CH variant installed")
    questions = page.locator("#incident-questions")
    expect(questions).to_contain_text("Communications Hub Device ID")  # the type's own questions, swapped in
    expect(questions).to_contain_text("Variant the premises needs")
    page.locator("#incident-category").select_option("1")
    questions.get_by_label("Communications Hub Device ID").fill("not a device")
    questions.get_by_label("Variant installed").select_option("single band")
    questions.get_by_label("Variant the premises needs").select_option("dual band")
    page.get_by_label("DCC User ID affected").fill("90-B3-D5-1F-30-01-00-0A")
    page.get_by_role("button", name="Raise").click()
    expect(page.locator("#incident-error")).to_contain_text("Nothing was saved")
    expect(page.locator("#err-answers-device_id")).to_contain_text("Device ID such as")
    expect(page.get_by_label("Title")).to_have_value("Dual band hub needed at flat 3")  # what was typed is kept

    page.locator("#incident-questions").get_by_label("Communications Hub Device ID").fill("00-DB-12-34-56-78-90-A2")
    page.get_by_role("button", name="Raise").click()
    expect(page.locator("#incident-done")).to_contain_text("Raised")
    expect(page.locator("#incident-sla")).to_contain_text("4 h 00 min left")
    reference = page.locator("h1").inner_text().split(":")[0]
    assert reference.startswith("INC")

    clock.advance(hours=3, minutes=15)
    page.goto(f"{url}/incidents")
    row = page.locator(f"#incident-{reference}")
    expect(row).to_contain_text("0 h 45 min left")
    expect(row.locator(".badge-orange")).to_be_visible()  # less than 24 hours to breach
    page.locator("#view-due_24h").click()
    expect(page.locator(f"#incident-{reference}")).to_be_visible()

    page.goto(f"{url}/incidents/{reference}")
    page.locator("#assign-form").get_by_label("Assign to").select_option("user")
    page.locator("#assign-form").get_by_role("button", name="Assign").click()
    expect(page.locator("#incident-sla")).to_contain_text("clock stopped, 0 h 45 min left")
    expect(page.locator("#incident-timeline")).to_contain_text("Bright Energy")
    clock.advance(hours=2)
    page.goto(f"{url}/incidents?view=breached")
    expect(page.locator("#no-incidents")).to_be_visible()  # waiting for the User: not breached


def test_the_demo_s_report_is_traced_down_to_the_requests_behind_it(tmp_path, live_server, new_page,
                                                                     monkeypatch) -> None:
    """Done when: "the monthly report for the demo's last month is produced from recorded traffic, and each of its
    figures can be traced down to the requests or incidents behind it" (after a simulated period)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    from gbsmart.core.clock import FixedClock
    from gbsmart.core.context import Actor, Ctx
    from gbsmart.core.security import hash_password
    from gbsmart.demo.loader import DEMO_PASSWORD, load_demo
    from gbsmart.service import simulate
    from tests.service.test_simulate import PLAN

    clock = FixedClock(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    db_url = f"sqlite:///{tmp_path / 'portal.db'}"
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret-key-not-for-production")
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    one = hash_password(DEMO_PASSWORD)
    monkeypatch.setattr("gbsmart.demo.loader.hash_password", lambda pw: one)
    with sessions() as session:
        ctx = Ctx(session=session, actor=Actor.system("test"), clock=clock, settings=settings)
        load_demo(ctx)
        plan_file = tmp_path / "plan.toml"
        plan_file.write_text(PLAN)
        plan = simulate.load_plan(settings, plan_file)
        devices, _ = simulate.population(ctx, plan, clock.today())
        session.commit()
        world = World(session, clock)
        add_person(world, "dora.desk", "dcc", org=world.org("DCC", "dcc"))
    months = simulate.months_before(clock.today(), 4)
    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
        pool.submit(asyncio.run, simulate.simulate(sessions, settings, plan, devices, months)).result()
    url = live_server(settings, clock=clock)

    page: Page = new_page()
    sign_in_page(page, url, "dora.desk", "/service/report")
    expect(page.locator("#report-causes")).to_contain_text("PM2 is the main cause")  # last month: November 2026
    expect(page.locator("#report-CPM1")).to_contain_text("below minimum")
    expect(page.locator("#report-causes-regions")).to_contain_text("North")
    page.locator("#report-CPM1").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("CPM1, November 2026")
    expect(page.locator("#items tbody tr").first.locator(".badge-red")).to_have_text("no")  # missed first
    expect(page.locator("#items tbody tr", has_text="11.1").first.locator(".badge-red")).to_have_text("no")
    page.go_back()
    page.locator("#report-causes").get_by_role("link", name="the PM2 misses").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("PM2, November 2026")
    expect(page.locator("#items tbody tr").first).to_contain_text("00-DB-5E-01")  # a CSP North device's payload

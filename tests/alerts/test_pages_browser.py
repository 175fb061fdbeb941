"""The alerts portal in headless Chromium: the DCC Service Alerts broadcast banner on every page, and a broadcast
published while a page is open appearing at the next refresh without a reload (Alert Broadcast Refresh; the
interval is the setting alerts_broadcast_refresh_seconds, 1 s here, 60 s by default); the dashboard reached from
the DCC entry of the nav."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from gbsmart.alerts import broadcasts
from gbsmart.alerts.broadcasts import BroadcastCreate
from gbsmart.config import Settings
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from tests.alerts import rows
from tests.conftest import World
from tests.web.test_portal_browser import add_person, sign_in_page

pytestmark = pytest.mark.browser


def test_a_new_broadcast_appears_on_an_open_page_at_the_next_refresh(tmp_path, clock, live_server,
                                                                      new_page) -> None:
    db_url = f"sqlite:///{tmp_path / 'portal.db'}"
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret-key-not-for-production",
                        alerts_broadcast_refresh_seconds=1)
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    session = sessions()
    world = World(session, clock)
    supplier, _, _ = rows.users(session, world)
    add_person(world, "supplier.user", "party_user", org=supplier)
    rows.message(session, rows.SUPPLIER, clock.now() - timedelta(minutes=5), priority="alert")
    session.commit()
    dcc = Ctx(session=session, actor=Actor(person_id=None, username="dcc.ops", name="DCC", roles=frozenset({"dcc"})),
              clock=clock, settings=settings)
    broadcasts.create(dcc, BroadcastCreate(title="DCC scheduled maintenance tonight", body="22:00 to 23:00 UTC."))
    session.commit()
    url = live_server(settings, clock=clock)

    page: Page = new_page()
    sign_in_page(page, url, "supplier.user")
    banner = page.locator("#service-broadcasts")
    expect(banner).to_contain_text("DCC scheduled maintenance tonight")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="DCC").click()
    page.locator("#adt-nav").get_by_role("link", name="Alerts and power outages").click()
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    expect(page.locator(f'#users tr[data-user="{rows.SUPPLIER}"] .waiting')).to_have_text("1")
    expect(banner).to_contain_text("DCC scheduled maintenance tonight")
    expect(banner).not_to_contain_text("CSP North")
    page.evaluate("window.stillTheSamePage = true")

    broadcasts.create(dcc, BroadcastCreate(title="CSP North: alerts delayed", body="Up to 10 minutes.",
                                           severity="critical"))
    session.commit()
    expect(banner.get_by_role("alert")).to_contain_text("CSP North: alerts delayed", timeout=8000)
    assert page.evaluate("window.stillTheSamePage === true")  # no reload: the fragment was swapped in
    broadcasts.end(dcc, 1)
    session.commit()
    expect(banner).not_to_contain_text("DCC scheduled maintenance tonight", timeout=8000)
    session.close()
    engine.dispose()

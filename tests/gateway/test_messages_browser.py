"""The DCC messages pages in headless Chromium: a Supplier's person finds a refused request through the nav and
the search, reads why it was refused and how its times stand against the TRT."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from gbsmart.config import Settings
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from tests.conftest import World
from tests.gateway.test_messages import E4, _sample, _users
from tests.web.test_portal_browser import add_person, sign_in_page

pytestmark = pytest.mark.browser


def test_a_supplier_finds_its_refused_request_and_reads_why(tmp_path, clock, live_server, new_page) -> None:
    db_url = f"sqlite:///{tmp_path / 'portal.db'}"
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret-key-not-for-production")
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    session = make_sessionmaker(engine)()
    world = World(session, clock)
    supplier, _ = _users(session, world)
    rows = _sample(session, settings, clock.now())
    refused, other = rows["refused"].request_id, rows["other"].request_id
    add_person(world, "supplier.user", "party_user", org=supplier)
    session.close()
    url = live_server(settings, clock=clock)

    page: Page = new_page()
    sign_in_page(page, url, "supplier.user")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="DCC").click()
    expect(page.get_by_role("heading", name="DCC messages")).to_be_visible()
    expect(page.locator("#gateway-messages")).not_to_contain_text(other)
    expect(page.locator('#trt-summary tr[data-trt-class="on_demand"]')).to_contain_text("50.0%")

    page.get_by_label("Code").fill("E4")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#gateway-messages tbody tr")).to_have_count(1)
    page.get_by_role("link", name=refused).click()
    expect(page.locator("#explanation")).to_contain_text(E4)
    expect(page.locator("#trt")).to_contain_text("Within TRT")
    engine.dispose()

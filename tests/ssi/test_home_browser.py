"""A DCC User's home in headless Chromium: a Supplier's person signs in and sees its service at a glance, a DCC
Service Alert appears without a reload a minute after it is broadcast, and the SSI's main pages pass axe-core's
WCAG A/AA checks with no serious or critical violation (issue 15 points 1 and 8)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from gbsmart.alerts import broadcasts
from gbsmart.core.context import Actor, Ctx
from gbsmart.models.parties import Person
from gbsmart.ssi import features
from tests.conftest import World
from tests.ssi.test_home import SUPPLIER, make_traffic
from tests.web.test_portal_browser import add_person, sign_in_page

pytestmark = pytest.mark.browser


@dataclass
class SsiSite:
    url: str
    session: Session
    ctx: Ctx
    people: dict[str, Person]


@pytest.fixture
def ssi_site(portal_db, clock, live_server) -> Iterator[SsiSite]:
    session, settings = portal_db.session, portal_db.settings
    ctx = Ctx(session=session, actor=Actor.system("test"), clock=clock, settings=settings)
    people = make_traffic(ctx, session, World(session, clock), add_person=add_person)
    features.enable(ctx, "ssi_home", people["supplier"].organisation_id)
    features.enable(ctx, "audit_search", for_all=True)
    session.commit()
    yield SsiSite(live_server(settings, clock=clock), session, ctx, people)


def test_a_suppliers_person_sees_its_service_at_a_glance(ssi_site: SsiSite, new_page) -> None:
    page: Page = new_page()
    sign_in_page(page, ssi_site.url, "sue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Supplier Energy: your service today")
    expect(page.locator("#requests-today")).to_have_text("9")
    expect(page.locator("#at-a-glance")).to_contain_text("5 taken, 3 refused")
    expect(page.locator("#quarantined-held")).to_have_text("1")
    expect(page.locator("#backlog")).to_have_text("3")  # 2 in the northbound cache + 1 device response
    expect(page.locator("#refused-by-code")).to_contain_text("E4")
    expect(page.locator("#incidents-by-time-left tbody tr")).to_have_count(1)
    expect(page.locator("#incidents-by-time-left")).to_contain_text("DNO certificate missing")
    expect(page.locator("#cpm-figures tbody tr")).to_have_count(7)
    expect(page.locator("#ssi-home")).to_contain_text(SUPPLIER)
    expect(page.locator("#broadcast-list")).to_contain_text("CSP North: delayed alerts")


def test_a_new_service_alert_appears_within_a_minute_without_a_reload(ssi_site: SsiSite, new_page) -> None:
    page: Page = new_page()
    page.clock.install()
    sign_in_page(page, ssi_site.url, "sue")
    expect(page.locator("#broadcast-list li")).to_have_count(1)
    page.evaluate("window.__same_page = true")
    dcc = Ctx(session=ssi_site.session, actor=Actor.of(ssi_site.people["dcc"]), clock=ssi_site.ctx.clock,
              settings=ssi_site.ctx.settings)
    broadcasts.create(dcc, broadcasts.BroadcastCreate(title="DSP maintenance tonight",
                                                      body="Requests are held from 23:00 to 23:30."))
    ssi_site.session.commit()
    page.clock.fast_forward(61_000)
    expect(page.locator("#broadcast-list")).to_contain_text("DSP maintenance tonight")
    assert page.evaluate("window.__same_page") is True  # refreshed in place: no reload


@pytest.mark.parametrize("username,paths", [
    ("sue", ["/", "/ssi/audit", "/messages", "/alerts", "/incidents", "/gateway/quarantine", "/gateway/adt",
             "/account/second-factor", "/ssi/codes"]),
    ("dana", ["/ssi", "/ssi/features", "/service/performance", "/ssi/audit?code=E4"]),
])
def test_the_ssis_main_pages_have_no_serious_accessibility_violation(ssi_site: SsiSite, new_page, axe, username,
                                                                     paths) -> None:
    page: Page = new_page()
    sign_in_page(page, ssi_site.url, username)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    found = {}
    for path in paths:
        page.goto(ssi_site.url + path)
        expect(page.locator("main")).to_be_visible()
        if violations := axe(page):
            found[path] = violations
    assert not found, found


def test_the_sign_in_page_has_no_serious_accessibility_violation(ssi_site: SsiSite, new_page, axe) -> None:
    page: Page = new_page()
    page.goto(ssi_site.url + "/login")
    assert axe(page) == []
    assert re.search("Sign in", page.title() + page.content())

"""Issue 14's "done when", in headless Chromium on the demo: SECAS drafts the January 2020 report and its SSC section
reads as seed 000; a Party's person sees its own findings and no one else's; the cycle calendar shows next year."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from gbsmart.config import Settings
from gbsmart.core.clock import FixedClock
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from gbsmart.demo.loader import DEMO_PASSWORD, load_demo

pytestmark = pytest.mark.browser


def _sign_in(page: Page, url: str, username: str, path: str) -> None:
    page.goto(f"{url}/login?next={path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_secas_reads_the_january_2020_ssc_section_and_a_party_sees_only_its_own(tmp_path, live_server,
                                                                               new_page) -> None:
    clock = FixedClock(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    db_url = f"sqlite:///{tmp_path / 'portal.db'}"
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret-key-not-for-production")
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    with make_sessionmaker(engine)() as session:
        load_demo(Ctx(session=session, actor=Actor.system("test"), clock=clock, settings=settings))
        session.commit()
    url = live_server(settings, clock=clock)

    secas: Page = new_page()
    _sign_in(secas, url, "secas", "/papers/reports/new")
    secas.get_by_label("Period start").fill("2020-01-01")
    secas.get_by_label("Period end").fill("2020-01-31")
    secas.get_by_role("button", name="Draft report").click()
    expect(secas.locator("main")).to_contain_text(
        "The Security Sub-Committee (SSC) reviewed one initial Full User Security Assessment (FUSA) and two second "
        "or subsequent FUSAs in January 2020, setting one assurance status and two compliance statuses respectively "
        "as a result.")
    expect(secas.locator("main")).to_contain_text("The SSC reviewed five Security Self-Assessments in January 2020.")
    secas.get_by_role("link", name="Appendix A").first.click()
    expect(secas.locator("main")).to_contain_text("Example Supplier One Ltd")

    party: Page = new_page()
    _sign_in(party, url, "supplier1", "/assessments")
    rows = party.locator("#assessments tbody tr")
    expect(rows).to_have_count(2)
    expect(party.locator("#assessments")).not_to_contain_text("Fourteen")
    party.locator("#assessments tbody tr", has_text="Initial").get_by_role("link").click()
    expect(party.locator("#findings")).to_contain_text("Privileged access to the DUIS signing host")
    party.locator("#assessments-nav").get_by_role("link", name="Cycle calendar").click()
    expect(party.get_by_role("heading", level=1)).to_have_text("What each User owes in 2027")
    expect(party.locator("#calendar tbody tr")).to_have_count(1)
    expect(party.locator("#calendar")).to_contain_text("Security Self-Assessment")
    expect(party.locator("#totals")).to_contain_text("VUSA 6")

    secas.goto(f"{url}/assessments/calendar")
    expect(secas.locator("#calendar tbody tr")).to_have_count(17)

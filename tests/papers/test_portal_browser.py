"""Who sees what in the portal, one classification level at a time, in a real headless Chromium.

A live gbsmart over its own SQLite file, with the papers routers mounted; each person signs in in their own
browser context and works only through what they see: the list, its counts, the search, the banners.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Page, expect

from gbsmart.app import create_app
from gbsmart.config import Settings
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from tests.conftest import TEST_PASSWORD, World
from tests.papers.conftest import Cast, add_committee_member

pytest_plugins = ["tests.plugins.browser"]

pytestmark = pytest.mark.browser

BANNER_COLOURS = {  # background, text
    "red": ("rgb(200, 16, 46)", "rgb(255, 255, 255)"),
    "amber": ("rgb(255, 192, 0)", "rgb(26, 26, 26)"),
    "green": ("rgb(51, 165, 50)", "rgb(255, 255, 255)"),
    "white": ("rgb(255, 255, 255)", "rgb(85, 85, 85)"),  # grey on white
}
SECRET = "zanzibarite"


@dataclass
class Site:
    url: str
    cast: Cast
    new_page: Callable[..., Page]
    pages: dict[str, Page] = field(default_factory=dict)

    def sign_in(self, username: str, path: str = "/papers") -> Page:
        page = self.pages.get(username)
        if page is None:
            page = self.pages[username] = self.new_page()
            page.goto(f"{self.url}/login?next={path}")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(TEST_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        if not page.url.endswith(path):
            page.goto(self.url + path)
        return page


@pytest.fixture
def site(tmp_path, clock, live_server, new_page) -> Iterator[Site]:
    db_url = f"sqlite:///{tmp_path / 'portal.db'}"
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret-key-not-for-production")
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    session = make_sessionmaker(engine)()
    world = World(session, clock)
    cast = Cast(session=session, clock=clock, settings=settings)
    secas_org, big = world.org("SECAS", kind="secas"), world.org("Big Energy plc", category="large_supplier")
    tiny, wires = world.org("Tiny Gas Co", category="small_supplier"), world.org("Wires North", category="other")
    for username, roles, org in (("secas", ("code_administrator",), secas_org), ("rebecca", (), secas_org),
                                 ("rita", ("party_user",), big), ("bob", ("party_user",), big),
                                 ("cara", ("party_user",), tiny), ("tom", ("party_user",), tiny),
                                 ("wendy", ("party_user",), wires), ("guest", (), None)):
        cast.people[username] = world.person(username, *roles, org=org)
    add_committee_member(session, "SSC", cast.people["cara"])
    url = live_server(app=create_app(settings=settings, clock=clock, engine=engine))
    try:
        yield Site(url=url, cast=cast, new_page=new_page)
    finally:
        session.close()
        engine.dispose()


def expect_banner(page: Page, what: str, level: str) -> None:
    banner = page.get_by_role("note", name=f"{what} classification")
    expect(banner).to_contain_text(f"{what}: {level.upper()}")
    background, colour = BANNER_COLOURS[level]
    expect(banner).to_have_css("background-color", background)
    expect(banner).to_have_css("color", colour)


def listed(page: Page) -> list[str]:
    return page.locator("main table tbody tr td:first-child").all_inner_texts()


def expect_not_found(site: Site, page: Page, path: str) -> None:
    response = page.goto(site.url + path)
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("404")


def test_red_is_seen_by_named_recipients_the_committee_and_the_author_only(site: Site) -> None:
    site.cast.paper("SSC_13_RED", "red", author="rebecca", committee_code="SSC", recipients=["rita"],
                    title="SSC assurance decisions", body="Findings for the SSC meeting only.")
    for who in ("rita", "cara", "rebecca"):
        page = site.sign_in(who)
        expect(page.get_by_role("link", name="SSC_13_RED")).to_be_visible()
        page.get_by_role("link", name="SSC_13_RED").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("SSC assurance decisions")
        expect_banner(page, "Paper", "red")
    for who in ("bob", "tom", "secas", "wendy"):  # a colleague, an SSC member's colleague, SECAS, any Party
        page = site.sign_in(who)
        expect(page.get_by_role("status")).to_have_text("No papers match.")
        expect(page.locator("[data-classification=red] .count")).to_have_text("0")
        expect_not_found(site, page, "/papers/SSC_13_RED")


def test_amber_is_for_the_committee_its_members_organisations_and_secas(site: Site) -> None:
    site.cast.paper("SSC_13_AMBER", "amber", committee_code="SSC", title="SSC risk register")
    for who in ("cara", "tom", "secas"):
        page = site.sign_in(who, "/papers/SSC_13_AMBER")
        expect(page.get_by_role("heading", level=1)).to_have_text("SSC risk register")
        expect_banner(page, "Paper", "amber")
    for who in ("wendy", "rita", "guest"):
        page = site.sign_in(who)
        assert listed(page) == []
        expect_not_found(site, page, "/papers/SSC_13_AMBER")


def test_green_is_for_all_sec_parties_and_its_red_appendix_for_recipients_only(site: Site) -> None:
    site.cast.paper("SECP_77_1402_19", "green", author="rebecca", recipients=["rita"],
                    title="SEC Panel Sub-Committee Report", body="Details can be found in confidential Appendix A.",
                    appendices=[{"title": "User Security Assessments – Identified Non-Compliances",
                                 "classification": "red", "body": f"Fictional: the {SECRET} store."}])
    wendy = site.sign_in("wendy", "/papers/SECP_77_1402_19")
    expect_banner(wendy, "Paper", "green")
    expect(wendy.get_by_role("note", name="Appendix A classification")).to_have_count(0)
    expect(wendy.get_by_text(SECRET)).to_have_count(0)
    expect_not_found(site, wendy, "/papers/SECP_77_1402_19/appendices/A")
    wendy.goto(site.url + "/papers")
    wendy.get_by_label("Search").fill(SECRET)
    wendy.get_by_role("button", name="Search").click()
    expect(wendy.get_by_role("status")).to_have_text("No papers match.")

    rita = site.sign_in("rita", "/papers")
    rita.get_by_label("Search").fill(SECRET)
    rita.get_by_role("button", name="Search").click()
    assert listed(rita) == ["SECP_77_1402_19"]
    rita.get_by_role("link", name="SECP_77_1402_19").click()
    expect_banner(rita, "Paper", "green")
    expect_banner(rita, "Appendix A", "red")
    expect(rita.get_by_text(f"Fictional: the {SECRET} store.")).to_be_visible()

    guest = site.sign_in("guest")  # signed in, but of no SEC body: GREEN is not public
    assert listed(guest) == []
    expect_not_found(site, guest, "/papers/SECP_77_1402_19")


def test_white_is_for_everyone_signed_in(site: Site) -> None:
    site.cast.paper("SECP_83_1408_20", "white", title="SEC Panel Sub-Committee Report (August)")
    guest = site.sign_in("guest")
    assert listed(guest) == ["SECP_83_1408_20"]
    expect(guest.locator("[data-classification=white] .count")).to_have_text("1")
    guest.get_by_role("link", name="SECP_83_1408_20").click()
    expect_banner(guest, "Paper", "white")
    page = site.new_page()  # signed out: sent to sign in, not shown the paper
    page.goto(site.url + "/papers/SECP_83_1408_20")
    expect(page.get_by_role("heading", name="Sign in to gbsmart")).to_be_visible()


def test_secas_reads_the_red_access_log_a_recipient_cannot(site: Site) -> None:
    site.cast.paper("SECP_77_1402_19", "green", author="rebecca", recipients=["rita"],
                    title="SEC Panel Sub-Committee Report", body="Details can be found in confidential Appendix A.",
                    appendices=[{"title": "User Security Assessments – Identified Non-Compliances",
                                 "classification": "red", "body": f"Fictional: the {SECRET} store."}])
    rita = site.sign_in("rita", "/papers/SECP_77_1402_19/appendices/A")  # RED material given: logged
    expect_banner(rita, "Appendix A", "red")
    rita.goto(site.url + "/papers/SECP_77_1402_19")  # the paper with its RED appendix: logged again
    expect(rita.get_by_text(f"Fictional: the {SECRET} store.")).to_be_visible()
    expect(rita.get_by_role("link", name="RED access log")).to_have_count(0)  # a recipient, not the author
    response = rita.goto(site.url + "/papers/SECP_77_1402_19/access-log")
    assert response is not None and response.status == 403
    expect(rita.get_by_text("may read the RED access log of SECP_77_1402_19")).to_be_visible()

    secas = site.sign_in("secas", "/papers/SECP_77_1402_19")
    expect(secas.get_by_text(SECRET)).to_have_count(0)  # SECAS is not cleared for the appendix itself ...
    secas.get_by_role("link", name="RED access log").click()  # ... but reviews who was given it
    expect(secas.get_by_role("heading", level=1)).to_have_text("RED access log")
    rows = secas.get_by_role("table", name="RED access log").locator("tbody tr")
    expect(rows).to_have_count(2)
    for i in range(2):
        expect(rows.nth(i)).to_contain_text("Rita (rita)")
        expect(rows.nth(i)).to_contain_text("Big Energy plc")
        expect(rows.nth(i)).to_contain_text("Appendix A")
        expect(rows.nth(i)).to_contain_text("Portal page")
    expect(secas.get_by_text(SECRET)).to_have_count(0)
    expect(secas.get_by_text("Identified Non-Compliances")).to_have_count(0)

    guest = site.sign_in("guest")
    expect_not_found(site, guest, "/papers/SECP_77_1402_19/access-log")

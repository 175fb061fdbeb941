"""The portal in a real browser: headless Debian Chromium, driven by Playwright, against a live gbsmart.

Each test builds its people and organisations straight into an SQLite file in ``tmp_path``, starts
``create_app`` on a free port (``live_server`` from ``tests/plugins/browser.py``) and then works only
through what a person sees and does in the browser: labels, buttons, links, messages and tables.
The journey of ``test_process_api.py`` is carried from Draft Proposal to Implemented the same way,
with each person signed in in their own browser context.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from gbsmart.change import service
from gbsmart.change.register import REGISTER_HEADINGS
from gbsmart.change.rules import step_label
from gbsmart.change.schemas import DraftProposalCreate
from gbsmart.config import Settings
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from gbsmart.core.security import hash_password
from gbsmart.models.change import Proposal, Release
from gbsmart.models.parties import Organisation, Person, PersonRole
from tests.conftest import TEST_PASSWORD, World

pytestmark = pytest.mark.browser

ARTIFACTS = Path(os.environ.get("GBSMART_TEST_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts")
RELEASE = "November 2020 Release"


# ------------------------------------------------------------------------------------------ the site


@dataclass
class Site:
    """A live gbsmart over its own SQLite file, with the people of a small SEC already in it."""

    url: str
    session: Session
    world: World
    clock: object
    settings: Settings
    new_page: Callable[..., Page]
    pages: dict[str, Page] = field(default_factory=dict)

    def go(self, page: Page, path: str) -> None:
        page.goto(self.url + path)

    def sign_in(self, username: str, path: str = "/") -> Page:
        """A browser context of its own for ``username``, signed in, showing ``path``."""
        page = self.pages.get(username)
        if page is None:
            page = self.pages[username] = self.new_page()
            sign_in_page(page, self.url, username, path)
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        if not page.url.endswith(path):
            self.go(page, path)
        return page

    def raise_in_db(self, username: str, title: str, problem: str) -> Proposal:
        """A Draft Proposal raised through the service (set-up for list/register tests, not under test)."""
        person = self.session.scalar(select(Person).where(Person.username == username))
        ctx = Ctx(session=self.session, actor=Actor.of(person), clock=self.clock, settings=self.settings)
        p = service.raise_draft_proposal(ctx, DraftProposalCreate(title=title, problem_statement=problem))
        self.session.commit()
        return p


@functools.cache
def _password_hash() -> str:
    return hash_password(TEST_PASSWORD)  # hashing is slow by design: once per run, not once per person


def sign_in_page(page: Page, url: str, username: str, path: str = "/") -> None:
    """Sign ``username`` in on the login page of the portal at ``url``, going on to ``path``."""
    page.goto(f"{url}/login?next={path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def add_person(world: World, username: str, *roles: str, org: Organisation | None = None) -> Person:
    """``World.person`` with the password hash computed once (the browser signs in with TEST_PASSWORD)."""
    p = Person(username=username, full_name=username.title(), organisation_id=org.id if org else None,
               password_hash=_password_hash(), created_at=world.clock.now(),
               role_rows=[PersonRole(role=r) for r in roles])
    world.session.add(p)
    world.session.commit()
    return p


@pytest.fixture
def site(tmp_path, clock, live_server, new_page) -> Iterator[Site]:
    db_url = f"sqlite:///{tmp_path / 'portal.db'}"
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret-key-not-for-production")
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    session = make_sessionmaker(engine)()
    world = World(session, clock)
    # the cast of test_process_api.py: SECAS, the Panel, the DCC, the Authority and a Party per category
    add_person(world, "secas", "code_administrator", org=world.org("SECAS", kind="secas"))
    add_person(world, "panel", "panel_member")
    add_person(world, "dcc", "dcc", org=world.org("DCC", kind="dcc"))
    add_person(world, "authority", "authority", org=world.org("Ofgem", kind="authority"))
    for username, org, category in (
        ("alice", "Tiny Gas Co", "small_supplier"),
        ("bob", "Big Energy plc", "large_supplier"),
        ("wendy", "Wires North", "electricity_network"),
        ("pip", "Pipes South", "gas_network"),
        ("olly", "Meter Agents Ltd", "other"),
    ):
        add_person(world, username, "party_user", org=world.org(org, category=category))
    session.add(Release(name=RELEASE, release_date=date(2020, 11, 5), kind="scheduled"))
    session.commit()
    url = live_server(settings, clock=clock)
    try:
        yield Site(url=url, session=session, world=world, clock=clock, settings=settings, new_page=new_page)
    finally:
        session.close()
        engine.dispose()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# -------------------------------------------------------------------------------------- the steps form


STEP_FIELDS = {  # StepCreate field -> the label of its control in #step-form
    "decided_on": "Decided on",
    "reference": "Minute or document",
    "route": "Route",
    "path": "Path",
    "release": "Release",
    "mp_reference": "MP reference",
    "pa_status": "PA status",
    "reason": "Reason",
}


def fill_step(page: Page, step: str, **fields: str) -> None:
    form = page.locator("#step-form")
    form.get_by_role("combobox", name="Step", exact=True).select_option(step)
    for name, value in fields.items():
        label = STEP_FIELDS[name]
        if name in ("route", "path"):
            form.get_by_role("combobox", name=label, exact=True).select_option(value)
        elif name == "release":
            form.get_by_role("combobox", name=label, exact=True).select_option(label=value)
        else:
            form.get_by_label(label, exact=True).fill(value)
    form.get_by_role("button", name="Record step").click()


def settle(page: Page) -> None:
    """Reload the page a write redirected to. The write's commit can land after its redirect has been
    followed (a fresh DP can even 404): test_a_step_is_saved_before_the_page_says_done pins that bug."""
    page.reload()


def take_step(page: Page, step: str, state: str | None = None, **fields: str) -> None:
    """Record ``step`` through the Next steps form; the page confirms it (and shows ``state``)."""
    fill_step(page, step, **fields)
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_role("status")).to_have_text(f"Done: {step_label(step)}.")
    if state:
        settle(page)
        expect(page.locator("main .badge").first).to_have_text(state)


def vote(page: Page, choice: str) -> None:
    form = page.locator("#vote-form")
    form.get_by_role("combobox", name="Vote", exact=True).select_option(label=choice)
    form.get_by_role("button", name="Cast vote").click()


# ------------------------------------------------------------------------------------------- the tests


def test_sign_in_returns_to_the_requested_page_and_sign_out(site: Site, page: Page) -> None:
    site.go(page, "/proposals")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)proposals$"))
    expect(page.get_by_role("heading", name="Sign in to gbsmart")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)

    page.get_by_label("Username").fill("secas")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Unknown username or wrong password.")
    expect(page.get_by_label("Username")).to_have_value("secas")  # kept; the password is not
    expect(page.get_by_label("Password")).to_have_value("")

    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(site.url + "/proposals")
    expect(page.get_by_role("heading", name="Draft and Modification Proposals")).to_be_visible()
    expect(page.get_by_role("link", name="Proposals", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.locator(".who")).to_contain_text("Secas · SECAS")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(site.url + "/login")
    site.go(page, "/proposals/new")  # signed out means signed out
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)proposals(/|%2F)new$"))


def test_sign_in_returns_to_the_requested_filters(site: Site, page: Page) -> None:
    site.go(page, "/proposals?stage=draft&q=outage")  # e.g. a link shared in an email
    page.get_by_label("Username").fill("secas")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Draft and Modification Proposals")).to_be_visible()
    expect(page.get_by_label("Search")).to_have_value("outage", timeout=1_000)


def test_raise_a_draft_proposal_with_field_level_errors(site: Site) -> None:
    page = site.sign_in("alice", "/proposals")
    page.get_by_role("button", name="Raise a Draft Proposal").click()
    expect(page).to_have_url(site.url + "/proposals/new")
    title, problem = page.get_by_label("Title"), page.get_by_label("Problem statement")
    submit = page.get_by_role("button", name="Raise Draft Proposal")

    submit.click()  # empty: both fields are refused, each with its own message
    expect(page.get_by_role("alert")).to_have_text("Please correct the fields marked below.")
    expect(title).to_have_accessible_description(re.compile("at least 5 characters"))
    expect(problem).to_have_accessible_description(re.compile("at least 20 characters"))

    title.fill("Power outage alerts within 60 seconds")
    problem.fill("Too short.")
    submit.click()  # what was typed stays; only the field still wrong has a message
    expect(title).to_have_value("Power outage alerts within 60 seconds")
    expect(problem).to_have_value("Too short.")
    expect(page.locator("#err-title")).to_have_count(0)
    expect(page.locator("#err-problem_statement")).to_contain_text("at least 20 characters")

    problem.fill("The DCC cannot meet the 60 second obligation for Power Outage Alerts to DNOs.")
    submit.click()
    expect(page).to_have_url(site.url + "/proposals/DP001")
    settle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Power outage alerts within 60 seconds")
    expect(page.get_by_text("DP001", exact=True)).to_be_visible()
    expect(page.locator("main .badge").first).to_have_text("Development Stage")
    expect(page.locator(".grid > div", has_text="Proposer")).to_contain_text("Tiny Gas Co")  # alice's Party
    timeline = page.locator("#timeline li")
    expect(timeline).to_have_count(1)
    expect(timeline.first).to_contain_text("· Draft Proposal raised")  # the label, not raise_draft
    expect(timeline.first).to_contain_text("by Alice")
    expect(timeline.first).to_contain_text("Draft Proposal raised.")


def test_draft_to_implemented_through_the_portal(site: Site) -> None:
    # Alice of Tiny Gas Co raises it
    alice = site.sign_in("alice", "/proposals/new")
    alice.get_by_label("Title").fill("Power outage alerts within 60 seconds")
    alice.get_by_label("Problem statement").fill(
        "The DCC cannot meet the 60 second obligation for Power Outage Alerts to DNOs.")
    alice.get_by_role("button", name="Raise Draft Proposal").click()
    expect(alice).to_have_url(site.url + "/proposals/DP001")
    settle(alice)

    # a Party user sees who may take each step; she may take only withdraw (as the proposer)
    steps = alice.locator("#step-form").get_by_role("combobox", name="Step", exact=True)
    not_hers = steps.locator("option", has_text="(not you)")
    expect(not_hers).to_have_count(3)
    for option in not_hers.all():
        expect(option).to_be_disabled()
    expect(steps.locator("option[value=further_development]")).to_have_text(
        "Further development required — Code Administrator or Change Sub-Committee (not you)")
    expect(steps.locator("option[value=withdraw]")).to_be_enabled()
    expect(steps.locator("option[value=withdraw]")).not_to_contain_text("(not you)")

    # Development Stage: SECAS records the Change Sub-Committee's decisions
    secas = site.sign_in("secas", "/proposals/DP001")
    expect(secas.get_by_role("combobox", name="Step", exact=True)).to_have_value("")  # no step is preselected
    take_step(secas, "further_development", "Development Stage", reference="CSC 10_1401")
    take_step(secas, "ready_to_convert", "Ready to convert", route="refinement", reference="CSC 11_2801",
              decided_on="2020-01-28", reason="AGREED ready to convert; RECOMMENDED Refinement Process")

    # the Panel converts it and sets Path 2: it becomes MP001 and goes to Refinement
    panel = site.sign_in("panel", "/proposals/DP001")
    take_step(panel, "convert", "Awaiting Panel path decision", reference="Panel 78")
    expect(panel).to_have_url(re.compile(r"/proposals/MP001\?done=convert$"))
    expect(panel.get_by_text("MP001 · raised as DP001")).to_be_visible()
    take_step(panel, "set_path", "Refinement Process", path="path_2")
    expect(panel.locator("main .badge").nth(1)).to_have_text("Path 2: Authority Determination")

    # Refinement: SECAS, the DCC's assessments, a consultation, then the Report Phase
    dcc = site.sign_in("dcc", "/proposals/MP001")
    site.go(secas, "/proposals/MP001")
    take_step(secas, "request_preliminary_assessment", "Refinement Process")
    site.go(dcc, "/proposals/MP001")
    take_step(dcc, "preliminary_assessment", "Refinement Process", pa_status="PA 2")
    expect(dcc.locator(".grid > div", has_text="Preliminary Assessment")).to_contain_text("PA 2")
    site.go(secas, "/proposals/MP001")
    take_step(secas, "working_group", reason="First Working Group")
    take_step(secas, "request_impact_assessment")
    site.go(dcc, "/proposals/MP001")
    take_step(dcc, "impact_assessment")
    site.go(secas, "/proposals/MP001")
    take_step(secas, "open_refinement_consultation", "Refinement Consultation")
    take_step(secas, "close_refinement_consultation", "Refinement Process")
    take_step(secas, "complete_refinement", "Report Phase")

    # Report Phase and the Modification Report Consultation, then the Change Board
    site.go(panel, "/proposals/MP001")
    take_step(panel, "open_mr_consultation", "Modification Report Consultation")
    site.go(secas, "/proposals/MP001")
    take_step(secas, "close_mr_consultation", "Final Modification Report")
    take_step(secas, "open_change_board", "Change Board vote")
    expect(secas.get_by_role("heading", name="Change Board (round 1)")).to_be_visible()

    # each Party votes from its own session; Networks splits 1-1 and so has no collective view
    for username, choice in (("alice", "Approve"), ("bob", "Approve"), ("wendy", "Approve"),
                             ("pip", "Reject"), ("olly", "Approve")):
        voter = site.sign_in(username, "/proposals/MP001")
        site.go(voter, "/proposals/MP001")
        expect(voter.locator("#vote-form").get_by_role("combobox", name="Party")).to_have_count(0)  # own Party only
        vote(voter, choice)
        expect(voter).to_have_url(site.url + "/proposals/MP001#change-board")
        expect(voter.get_by_role("alert")).to_have_count(0)
    bob = site.pages["bob"]
    # nothing in the Next steps is Bob's to take: he is told so, and given no form to submit
    expect(bob.locator("#no-steps-for-you")).to_have_text("None of the next steps is yours to take:")
    expect(bob.locator("#steps-for-others li").first).to_have_text(
        "Close Change Board vote — Code Administrator (not you)")
    expect(bob.get_by_role("button", name="Record step")).to_have_count(0)
    vote(bob, "Reject")  # a second vote from the same Party is refused, with the reason shown
    expect(bob.get_by_role("alert")).to_contain_text("Big Energy plc has already voted (approve) on MP001")

    site.go(secas, "/proposals/MP001")
    expect(secas.locator("#change-board summary")).to_have_text("5 votes cast")
    rows = secas.locator("#tally tbody tr")
    expect(rows).to_have_count(4)

    def row(category: str):
        return rows.filter(has=secas.get_by_role("cell", name=category, exact=True)).get_by_role("cell")

    expect(row("Large Suppliers")).to_have_text(["Large Suppliers", "1", "0", "0", "0", "Approve"])
    expect(row("Small Suppliers")).to_have_text(["Small Suppliers", "1", "0", "0", "0", "Approve"])
    expect(row("Networks")).to_have_text(["Networks", "1", "1", "0", "0", "no view"])
    expect(row("Other Parties")).to_have_text(["Other Parties", "1", "0", "0", "0", "Approve"])
    expect(secas.locator("#tally-verdict")).to_have_text("Valid vote: approve")

    take_step(secas, "close_change_board", "Authority determination", decided_on="2020-07-22",
              reference="Change Board 2020-07")
    expect(secas.locator(".grid > div", has_text="Change Board")).to_contain_text("Approved 22 Jul 2020")

    # only the Authority determines: SECAS sees "(not you)", and a forged submission is refused
    approve = secas.locator("#step-form option[value=authority_approve]")
    expect(approve).to_have_text("Authority approves — Authority (not you)")
    expect(approve).to_be_disabled()
    approve.evaluate("o => { o.disabled = false; o.selected = true; }")
    secas.locator("#step-form").get_by_role("button", name="Record step").click()
    expect(secas.get_by_role("alert")).to_have_text(
        "Only the Authority may take 'authority_approve' (Authority approves).")
    expect(secas.locator("main .badge").first).to_have_text("Authority determination")

    authority = site.sign_in("authority", "/proposals/MP001")
    take_step(authority, "authority_approve", "Approved", decided_on="2020-08-01")

    # SECAS targets the release and records implementation
    site.go(secas, "/proposals/MP001")
    take_step(secas, "target_release", "Approved", release=RELEASE)
    expect(secas.get_by_text(f"· {RELEASE} (Approved)")).to_be_visible()
    take_step(secas, "implement", "Implemented")
    expect(secas.get_by_text(f"· {RELEASE} (Implemented)")).to_be_visible()
    expect(secas.locator(".grid > div", has_text="Implementation")).to_contain_text("05 Nov 2020")
    expect(secas.locator("#next-steps")).to_have_count(0)  # closed: nothing more to do
    expect(secas.locator("#tally-verdict")).to_have_text("Valid vote: approve")  # the record stays

    timeline = secas.locator("#timeline li")
    expect(timeline).to_have_count(20)
    expect(timeline.first).to_contain_text("Implemented")  # newest first
    expect(timeline.last).to_contain_text("Draft Proposal raised")
    for name in ("further_development", "ready_to_convert", "convert", "set_path", "preliminary_assessment",
                 "complete_refinement", "open_change_board", "close_change_board", "authority_approve",
                 "target_release"):  # each by the label the process table gives it
        expect(timeline.filter(has_text=step_label(name)).first).to_be_visible()
    expect(timeline.filter(has_text="Close Change Board vote")).to_contain_text("by Secas · Change Board 2020-07")
    secas.set_viewport_size({"width": 1280, "height": 900})
    screenshot(secas, "portal-proposal-implemented")


def test_what_if_tally(site: Site) -> None:
    page = site.sign_in("bob", "/proposals")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Change Board").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change Board")  # the proposals at the Board
    page.get_by_role("link", name="the what-if tally calculator").click()
    expect(page.get_by_role("heading", name="Change Board what-if tally")).to_be_visible()
    for n, (party, category) in enumerate((("A", "Large Suppliers"), ("B", "Small Suppliers"),
                                           ("C", "Networks"), ("D", "Other Parties")), start=1):
        page.get_by_label(f"Party {n}", exact=True).fill(party)
        page.get_by_role("combobox", name=f"Category {n}", exact=True).select_option(label=category)
        page.get_by_role("combobox", name=f"Vote {n}", exact=True).select_option(label="Approve")
    page.get_by_role("button", name="Tally").click()
    result = page.locator("#result")
    expect(result.get_by_role("heading")).to_have_text("Valid vote: approve")
    expect(result.locator("tbody tr")).to_have_count(4)
    expect(page.get_by_label("Party 4", exact=True)).to_have_value("D")  # the rows are kept

    page.get_by_label("Party 5", exact=True).fill("A")  # A again: one vote per Party
    page.get_by_role("button", name="Tally").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Party 'A' voted twice (votes 0 and 4); each Party has one vote.")
    expect(page.locator("#result")).to_have_count(0)


def _three_proposals(site: Site) -> None:
    site.raise_in_db("alice", "Power outage alerts within 60 seconds",
                     "The DCC cannot meet the 60 second obligation for Power Outage Alerts.")
    site.raise_in_db("bob", "Firmware update windows", "Firmware updates collide with peak demand periods.")
    p = site.raise_in_db("wendy", "Outage reporting to network operators",
                         "Network operators receive outage reports too late to act on them.")
    p.state, p.reference, p.path = "refinement", "MP003", "path_2"
    site.session.commit()


def test_proposals_list_filters(site: Site) -> None:
    _three_proposals(site)
    page = site.sign_in("secas", "/proposals")
    rows = page.locator("#proposals tbody tr")
    expect(rows).to_have_count(3)

    page.get_by_label("Search").press_sequentially("firmware")  # htmx: the table updates as one types
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Firmware update windows")
    expect(page).to_have_url(re.compile(r"q=firmware"))

    # open a result and come Back: the whole page again (not a cached htmx fragment), still filtered. Leaving the
    # search box must not send the search again: that request's history push would cancel the link's navigation
    fragments: list[str] = []
    page.on("request", lambda r: fragments.append(r.url) if r.headers.get("hx-request") else None)
    rows.first.get_by_role("link", name="DP002").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Firmware update windows")
    assert [u for u in fragments if "/proposals?" in u] == []
    page.go_back()
    expect(page.get_by_role("heading", name="Draft and Modification Proposals")).to_be_visible()
    expect(page.get_by_label("Search")).to_have_value("firmware")
    expect(rows).to_have_count(1)

    page.get_by_label("Search").fill("")
    page.get_by_role("combobox", name="Stage").select_option(label="Refinement Process")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_have_text("MP003")
    expect(rows.first).to_contain_text("Path 2: Authority Determination")
    expect(page).to_have_url(re.compile(r"stage=refinement"))

    page.get_by_role("combobox", name="Stage").select_option(label="Draft Proposals")
    expect(rows).to_have_count(2)
    page.get_by_label("Search").press_sequentially("no such thing")
    expect(rows).to_have_text(["No proposals match these filters."])

    page.reload()  # the filters live in the address, so a reload (or a shared link) shows the same
    expect(page.get_by_role("combobox", name="Stage")).to_have_value("draft")
    expect(rows).to_have_text(["No proposals match these filters."])


def test_register_downloads(site: Site) -> None:
    _three_proposals(site)
    page = site.sign_in("olly", "/proposals")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Register").click()
    expect(page.get_by_role("heading", name="Modification Register")).to_be_visible()
    expect(page.locator("#register-table tbody tr")).to_have_count(3)
    screenshot(page, "portal-register")

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Download XLSX").click()
    xlsx = xlsx_download.value
    assert xlsx.failure() is None
    assert xlsx.suggested_filename == "sec-modification-register.xlsx"
    book = load_workbook(io.BytesIO(Path(xlsx.path()).read_bytes()), read_only=True)
    assert book.sheetnames[0] == "Modification Register"
    sheet_rows = list(book["Modification Register"].iter_rows(values_only=True))
    assert list(sheet_rows[0]) == REGISTER_HEADINGS
    assert sorted(r[0] for r in sheet_rows[1:]) == ["DP001", "DP002", "MP003"]

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download CSV").click()
    download = csv_download.value
    assert download.suggested_filename == "sec-modification-register.csv"
    table = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert table[0] == REGISTER_HEADINGS
    assert sorted(r[0] for r in table[1:]) == ["DP001", "DP002", "MP003"]

    # the downloads export what the page shows
    page.get_by_label("Search").fill("firmware")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#register-table tbody tr")).to_have_count(1)
    with page.expect_download() as filtered:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(Path(filtered.value.path()).read_text(encoding="utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["DP002"]



def test_a_step_is_saved_before_the_page_says_done(tmp_path, clock, live_server, new_page) -> None:
    """A slow commit must delay the redirect, never leave the next page showing the old state."""
    from gbsmart.app import create_app

    db_url = f"sqlite:///{tmp_path / 'slow.db'}"
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret-key-not-for-production")
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    session = make_sessionmaker(engine)()
    world = World(session, clock)
    secas = add_person(world, "secas", "code_administrator", org=world.org("SECAS", kind="secas"))
    ctx = Ctx(session=session, actor=Actor.of(secas), clock=clock, settings=settings)
    service.raise_draft_proposal(ctx, DraftProposalCreate(
        title="A problem worth solving", problem_statement="Something in the SEC does not work as intended."))
    session.commit()
    session.close()

    app = create_app(settings=settings, clock=clock, engine=engine)
    url = live_server(app=app)
    real = app.state.sessionmaker

    def slow_sessions() -> Session:  # every request's commit takes 0.4 s, as on a busy database
        s = real()
        commit = s.commit
        s.commit = lambda: (time.sleep(0.4), commit())[1]
        return s

    app.state.sessionmaker = slow_sessions
    page = new_page()
    page.goto(f"{url}/login?next=/proposals/DP001")
    page.get_by_label("Username").fill("secas")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    fill_step(page, "ready_to_convert", route="refinement")
    expect(page.get_by_role("status")).to_have_text("Done: Ready to convert.")
    expect(page.locator("main .badge").first).to_have_text("Ready to convert", timeout=1_500)
    engine.dispose()

"""Committees in a real headless Chromium: seed 001's meeting minuted again through the portal, the actions board.

A live gbsmart over its own SQLite file. The Code Administrator (the demo sign-in ``secas``) works only through
what the portal shows: the committee page's "Arrange a meeting" form, the minuting forms of the meeting page,
the actions board. The database holds the seed papers as they stood on the morning of 28 January 2020: the
organisations, people, committees and their members, the Draft Proposals all in the Development Stage, and
action CSC 10/01 carried forward from meeting 10; CSC meeting 11_2801 itself is recreated by the test.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import gbsmart.models.committees  # noqa: F401  (registers the tables before create_all)
import gbsmart.models.papers  # noqa: F401
from gbsmart.committees import demo as committees_demo
from gbsmart.committees import rules
from gbsmart.config import Settings
from gbsmart.core.clock import FixedClock
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from gbsmart.core.security import hash_password
from gbsmart.demo import loader
from gbsmart.models.change import Proposal, ProposalEvent
from gbsmart.models.committees import Decision

pytestmark = pytest.mark.browser

ARTIFACTS = Path(os.environ.get("GBSMART_TEST_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts")
MEETING = "CSC 11_2801"
VENUE = "Gemserv, 8 Fenchurch Place, London, EC3M 4AJ"

# Seed 001's attendees as minuted: (username, representing, party category, role label, teleconference)
ATTENDEES = [
    ("david.kemp", "Change Sub-Committee Chair", None, "Chair", False),
    ("paul.saker", "Large Suppliers", "large_supplier", "Member", True),
    ("andrew.margan", "Small Suppliers", "small_supplier", "Member", True),
    ("gemma.slaney", "Electricity Network Parties", "electricity_network", "Member", True),
    ("remi.oluwabamise", "DCC", None, "Other participant", True),
    ("mari.toda", "DCC", None, "Other participant", False),
    ("louise.evans", "SECAS", None, "Meeting Secretary", False),
    ("bradley.baker", "SECAS", None, "Other participant", False),
    ("alison.beard", "SECAS", None, "Other participant", False),
    ("joe.hehir", "SECAS", None, "Other participant", False),
    ("harry.jones", "SECAS", None, "Other participant", False),
]
APOLOGIES = [("jonathan.lishawa", "Other SEC Parties"), ("elias.hanna", "Other SEC Parties"),
             ("ed.rees", "Consumers")]
UPDATE_10_01 = committees_demo.UPDATE_10_01
ACTION_11_01 = ("The DCC to provide SECAS with information on any IRPs currently in scope of DP098 that may impact "
                "on DCC systems.")
ACTION_11_02 = ("SECAS to clarify in the Modification Report the justification for amending the SEC to align with "
                "DCC processes in the Modification Proposal for DP110.")
RECOMMEND_DP098 = ("to the Panel that the Modification Proposal should proceed to the Report Phase, subject to "
                   "agreement by the TABASC")


# ------------------------------------------------------------------------------------------ the site


@dataclass
class Site:
    """A live gbsmart over its own SQLite file; ``db()`` is a fresh session to look behind the pages."""

    url: str
    clock: FixedClock
    factory: Callable[[], Session]
    new_page: Callable[..., Page]
    pages: dict[str, Page] = field(default_factory=dict)

    def sign_in(self, username: str, path: str = "/", again: bool = False) -> Page:
        """``username``'s page at ``path``, signed in once; ``again`` after the clock has passed the session's end."""
        page = self.pages.get(username)
        if page is None:
            page = self.pages[username] = self.new_page()
            again = True
        if again:
            page.goto(f"{self.url}/login?next={path}")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(loader.DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        if not page.url.endswith(path):
            page.goto(self.url + path)
        return page

    def count(self, stmt) -> int:
        with self.factory() as s:
            return s.scalar(stmt)


def _seed_without_11_2801() -> dict:
    """The seed papers as they stood before CSC 11_2801 met: its decisions not yet taken."""
    data = json.loads(loader.SEED_FILE.read_text())
    decided = {d["proposal"] for d in data["decisions"] if d["meeting"] == MEETING}
    for p in data["proposals"]:
        if p["reference"] in decided:
            assert p["state"] in ("development", "ready_to_convert"), p
            p["state"] = "development"
            p["route"] = None
    data["decisions"] = [d for d in data["decisions"] if d["meeting"] != MEETING]
    return data


def _load_before_the_meeting(ctx: Ctx) -> None:
    data, report = _seed_without_11_2801(), loader.LoadReport()
    for step in (loader._load_orgs, loader._load_dcc_users, loader._load_people, loader._load_users,
                 loader._load_releases, loader._load_proposals, loader._load_decisions, loader._load_interests,
                 loader._load_impacts):
        step(ctx, data, report)
        ctx.session.flush()
    committees = committees_demo._Loader(ctx, report)
    found = committees.committees()
    committees.members(found)
    committees.action(found["CSC"], 10, 1, "DCC", committees_demo.ACTION_10_01, None, None)  # from meeting 10
    ctx.session.commit()


def _load_full_demo(ctx: Ctx) -> None:
    loader.load_demo(ctx)
    ctx.session.commit()


@pytest.fixture(scope="session")
def demo_hash() -> str:
    return hash_password(loader.DEMO_PASSWORD)


@pytest.fixture
def make_site(tmp_path, live_server, new_page, monkeypatch, demo_hash) -> Iterator[Callable[..., Site]]:
    """``make_site(load, at)``: a database loaded by ``load(ctx)``, served with a FixedClock set to ``at``."""
    monkeypatch.setattr(loader, "hash_password",
                        lambda pw: demo_hash if pw == loader.DEMO_PASSWORD else hash_password(pw))
    engines = []

    def make(load: Callable[[Ctx], None], at: datetime) -> Site:
        db_url = f"sqlite:///{tmp_path / 'committees.db'}"
        settings = Settings(data_dir=tmp_path / "var", database_url=db_url,
                            secret_key="test-secret-key-not-for-production")
        engine = make_engine(db_url)
        engines.append(engine)
        Base.metadata.create_all(engine)
        factory = make_sessionmaker(engine)
        clock = FixedClock(at)
        with factory() as s:
            load(Ctx(session=s, actor=Actor.system("test set-up"), clock=clock, settings=settings))
        url = live_server(settings, clock, engine=engine)
        return Site(url=url, clock=clock, factory=factory, new_page=new_page)

    yield make
    for engine in engines:
        engine.dispose()


def submit(page: Page, form: Locator, button: str) -> None:
    """Press a form's button and wait for the page the server answers with (a redirect back, or the refusal)."""
    with page.expect_navigation():
        form.get_by_role("button", name=button).click()


def recorded(page: Page, what: str) -> None:
    expect(page.locator("#form-error")).to_have_count(0)
    expect(page.locator(".alert-ok")).to_have_text(f"Recorded: {what}.")


def combo(form: Locator, label: str) -> Locator:
    """A select by its label (a select's accessible name also carries its chosen option, so match the start)."""
    return form.get_by_role("combobox", name=re.compile(rf"^{re.escape(label)}\b"))


def add_agenda_item(page: Page, number: int, title: str, sub: int = 0, discussion: str = "", word: str = "",
                    proposal: str = "", text: str = "", route: str = "") -> None:
    form = page.locator("#agenda-form")
    form.get_by_label("Item number").fill(str(number))
    form.get_by_label("Heading within the item").fill(str(sub))
    form.get_by_label("Title", exact=True).fill(title)
    form.get_by_label("Discussion").fill(discussion)
    if word:
        combo(form, "Decision").select_option(label=word)
        form.get_by_label("Decision wording (after the bold word)").fill(text)
    if proposal:
        combo(form, "Proposal").select_option(value=proposal)
    if route:
        combo(form, "Route").select_option(label=route)
    submit(page, form, "Add agenda item")


def add_decision(page: Page, item: str, word: str, text: str, proposal: str = "", route: str = "") -> None:
    form = page.locator("#decision-form")
    form.get_by_label("Agenda item").select_option(value=item)
    combo(form, "Decision").select_option(label=word)
    form.get_by_label("Decision wording (after the bold word)").fill(text)
    if proposal:
        combo(form, "Proposal").select_option(value=proposal)
    if route:
        combo(form, "Route").select_option(label=route)
    submit(page, form, "Record decision")


def rows(table: Locator) -> list[list[str]]:
    return [[c.strip() for c in r.locator("td").all_inner_texts()] for r in table.locator("tbody tr").all()]


# ------------------------------------------------------------------------------------------ the tests


def test_seed_001s_meeting_is_recreated_through_the_portal_and_reads_like_the_original(make_site) -> None:
    site = make_site(_load_before_the_meeting, datetime(2020, 1, 28, 9, 30, tzinfo=UTC))
    titles = {p["reference"]: p["title"] for p in json.loads(loader.SEED_FILE.read_text())["proposals"]}
    page = site.sign_in("secas", "/committees/CSC")

    # DP098 is still in the Development Stage on the morning of the meeting
    page.goto(f"{site.url}/proposals/DP098")
    expect(page.locator(".card").first).to_contain_text("Development Stage")
    expect(page.locator("#timeline li")).to_have_count(1)  # only "Recorded" by the loader
    expect(page.locator("#timeline li")).not_to_contain_text("recorded by")

    # arrange the meeting
    page.goto(f"{site.url}/committees/CSC")
    form = page.locator("#new-meeting form")
    form.get_by_label("Meeting number").fill("11")
    form.get_by_label("Date").fill("2020-01-28")
    form.get_by_label("Starts").fill("10:00")
    form.get_by_label("Ends").fill("11:00")
    form.get_by_label("Status").select_option(label="Held")
    form.get_by_label("Venue").fill(VENUE)
    submit(page, form, "Arrange meeting")
    assert page.url == f"{site.url}/meetings/CSC/11_2801"
    expect(page.get_by_role("heading", level=1)).to_have_text("SEC Change Sub-Committee Meeting 11_2801")

    # attendance
    for username, representing, category, role, tele in ATTENDEES:
        form = page.locator("#attendee-form")
        form.get_by_label("Person (username or name)").fill(username)
        form.get_by_label("Representing").fill(representing)
        if category:
            form.get_by_label("Party Category").select_option(value=category)
        form.get_by_label("Role").select_option(label=role)
        if tele:
            form.get_by_label("by teleconference").check()
        submit(page, form, "Add attendee")
        recorded(page, "attendee")
    for username, representing in APOLOGIES:
        form = page.locator("#apology-form")
        form.get_by_label("Person (username or name)").fill(username)
        form.get_by_label("Representing").fill(representing)
        submit(page, form, "Add apologies")
        recorded(page, "apologies")

    # the agenda: welcome, actions outstanding (with CSC 10/01's update), every Draft Proposal of item 3, AOB
    add_agenda_item(page, 1, "Welcome and introductions",
                    discussion="The Chair welcomed Members to the Change Sub-Committee (CSC) meeting.")
    recorded(page, "agenda item")
    add_agenda_item(page, 2, "Actions Outstanding")
    form = page.locator("#action-update-form")
    form.get_by_label("Action").select_option("CSC 10/01")
    form.get_by_label("Update").fill(UPDATE_10_01)
    form.get_by_label("Status after").select_option(label="Open")
    submit(page, form, "Record update")
    recorded(page, "update to CSC 10/01")
    add_agenda_item(page, 3, "Draft Proposal Report")
    for sub, (dp, discussion, decisions, _actions) in enumerate(committees_demo.DRAFT_PROPOSALS, start=1):
        (word, text), *more = decisions  # AGREED ... [, RECOMMENDED ... the route]
        route = rules.infer_route(*(t for _, t in more))
        add_agenda_item(page, 3, f"{dp} '{titles[dp]}'", sub=sub, discussion=discussion,
                        word=word.upper(), proposal=dp, text=text, route=route.label if route else "")
        recorded(page, "agenda item and decision")
        for w, t in more:
            add_decision(page, f"3.{sub}", w.upper(), RECOMMEND_DP098 if dp == "DP098" else t, proposal=dp)
            recorded(page, "decision")
    add_agenda_item(page, 4, "Any Other Business (AOB)",
                    discussion="There was no further business and the Chair closed the meeting.")

    # actions raised under DP098 (3.4) and DP110 (3.12)
    for owner, org, item, text, ref in (("DCC", "Smart DCC", "3.4", ACTION_11_01, "CSC 11/01"),
                                        ("SECAS", "SECAS", "3.12", ACTION_11_02, "CSC 11/02")):
        form = page.locator("#action-form")
        form.get_by_label("Owner", exact=True).fill(owner)
        form.get_by_label("Owner organisation (optional)").fill(org)
        form.get_by_label("Agenda item").fill(item)
        form.get_by_label("Action", exact=True).fill(text)
        submit(page, form, "Raise action")
        recorded(page, ref)

    # the process refuses a second "ready to convert" for DP098: the message is shown and nothing is recorded
    decisions_before = site.count(select(func.count(Decision.id)))
    events_before = site.count(select(func.count(ProposalEvent.id)))
    add_decision(page, "3.4", "AGREED", "this Draft Proposal is ready to be converted to a Modification Proposal",
                 proposal="DP098", route="Report Phase")
    expect(page.locator("#form-error")).to_contain_text(
        "'ready_to_convert' is not allowed while DP098 is at 'Ready to convert'")
    expect(page.locator(".alert-ok")).to_have_count(0)
    assert site.count(select(func.count(Decision.id))) == decisions_before
    assert site.count(select(func.count(ProposalEvent.id))) == events_before
    expect(page.locator('[id="item-3.4"] ul.decisions > li')).to_have_count(2)  # as before

    # the next meeting, arranged from the committee page with the next number
    page.goto(f"{site.url}/committees/CSC")
    form = page.locator("#new-meeting form")
    form.get_by_label("Date").fill("2020-02-25")
    submit(page, form, "Arrange meeting")
    assert page.url == f"{site.url}/meetings/CSC/12_2502"

    # -------------------------------------------------------------- the minutes read like the original
    page.goto(f"{site.url}/meetings/CSC/11_2801")
    minutes = page.locator("#minutes")
    expect(minutes.get_by_role("heading", level=1)).to_have_text("SEC Change Sub-Committee Meeting 11_2801")
    expect(page.locator("#when")).to_have_text("28 January 2020, 10:00 – 11:00")
    expect(page.locator("#venue")).to_have_text(VENUE)
    expect(page.locator("#minutes-status")).to_have_text("Draft Minutes")
    assert rows(page.locator("#attendees-members")) == [
        ["Change Sub-Committee Chair", "David Kemp"],
        ["Large Suppliers", "Paul Saker (teleconference)"],
        ["Small Suppliers", "Andrew Margan (teleconference)"],
        ["Electricity Network Parties", "Gemma Slaney (teleconference)"],
    ]
    assert rows(page.locator("#attendees-others")) == [
        ["DCC", "Remi Oluwabamise (teleconference)"], ["", "Mari Toda"],
        ["SECAS", "Louise Evans (Meeting Secretary)"], ["", "Bradley Baker"], ["", "Alison Beard"],
        ["", "Joe Hehir"], ["", "Harry Jones"],
    ]
    expect(page.locator("#quorum")).to_have_text("4 members present, quorum 3: quorate.")
    assert rows(page.locator("#apologies")) == [
        ["Other SEC Parties", "Jonathan Lishawa"], ["", "Elias Hanna"], ["Consumers", "Ed Rees"]]
    headings = minutes.locator("section.agenda-item > h2").all_inner_texts()
    assert headings == ["1. Welcome and introductions", "2. Actions Outstanding", "3. Draft Proposal Report",
                        "4. Any Other Business (AOB)"]
    outstanding = page.locator("#actions-outstanding")
    expect(outstanding).to_contain_text("ACTION CSC 10/01")
    expect(outstanding).to_contain_text(UPDATE_10_01)
    expect(outstanding).to_contain_text("Status: Open.")
    assert minutes.locator("section.agenda-sub > h3").all_inner_texts()[:4] == [
        f"DP094 '{titles['DP094']}'", f"DP095 '{titles['DP095']}'", f"DP096 '{titles['DP096']}'",
        f"DP098 '{titles['DP098']}'"]
    dp096 = minutes.locator("section.agenda-sub", has=page.get_by_role("heading", name="DP096"))
    expect(dp096.locator("p.decision")).to_have_text(
        "The CSC AGREED further development is required to define and understand the issue.")
    expect(dp096.locator("p.decision strong")).to_have_text("AGREED")
    dp098 = minutes.locator("section.agenda-sub", has=page.get_by_role("heading", name="DP098"))
    expect(dp098.locator("p.decision")).to_have_text("The CSC:")
    items = dp098.locator("ul.decisions > li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text(
        "AGREED this Draft Proposal is ready to be converted to a Modification Proposal; and")
    expect(items.nth(1)).to_contain_text(f"RECOMMENDED {RECOMMEND_DP098}.")
    assert dp098.locator("ul.decisions strong").all_inner_texts() == ["AGREED", "RECOMMENDED"]
    expect(dp098.locator("p.action")).to_have_text(f"CSC 11/01: {ACTION_11_01}")
    expect(dp098.locator("p.action strong")).to_have_text("CSC 11/01")
    dp104 = minutes.locator("section.agenda-sub", has=page.get_by_role("heading", name="DP104"))
    expect(dp104.locator("p.decision")).to_have_text(
        "The CSC NOTED this Draft Proposal will now be presented at the February 2020 Panel meeting.")
    dp110 = minutes.locator("section.agenda-sub", has=page.get_by_role("heading", name="DP110"))
    expect(dp110.locator("p.action")).to_have_text(f"CSC 11/02: {ACTION_11_02}")
    words = minutes.locator("p.decision strong, ul.decisions strong").all_inner_texts()
    assert (words.count("AGREED"), words.count("RECOMMENDED"), words.count("NOTED")) == (12, 4, 1)
    assert rows(page.locator("#actions-raised")) == [
        ["CSC 11/01", "DCC", ACTION_11_01, "—", "Open"], ["CSC 11/02", "SECAS", ACTION_11_02, "—", "Open"]]
    expect(page.locator("#next-meeting")).to_contain_text("Next Meeting: 25 February 2020.")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    minutes.screenshot(path=str(ARTIFACTS / "committees-minutes-11_2801.png"))

    # -------------------------------------------------------------- the decisions moved the proposals
    page.get_by_role("link", name="timeline").nth(3).click()  # DP098's AGREED decision
    assert page.url == f"{site.url}/proposals/DP098"
    expect(page.locator(".card").first).to_contain_text("Ready to convert")
    latest = page.locator("#timeline li").first
    expect(latest).to_contain_text("Ready to convert")
    expect(latest).to_contain_text(MEETING)
    expect(latest).to_contain_text("CSC (recorded by Sam Secas (demo Code Administrator))")
    expect(latest).to_contain_text("The CSC AGREED this Draft Proposal is ready to be converted")
    page.goto(f"{site.url}/proposals/DP096")
    expect(page.locator(".card").first).to_contain_text("Development Stage")
    expect(page.locator("#timeline li").first).to_contain_text("Further development")
    expect(page.locator("#timeline li").first).to_contain_text(MEETING)
    with site.factory() as s:
        states = dict(s.execute(select(Proposal.reference, Proposal.state).where(
            Proposal.reference.in_(["DP098", "DP101", "DP104", "DP106", "DP110"]))).all())
        routes_now = dict(s.execute(select(Proposal.reference, Proposal.route).where(
            Proposal.reference.in_(["DP098", "DP101"]))).all())
    assert states == {"DP098": "ready_to_convert", "DP101": "ready_to_convert", "DP104": "development",
                      "DP106": "ready_to_convert", "DP110": "ready_to_convert"}
    assert routes_now == {"DP098": "report_phase", "DP101": "refinement"}


def test_the_actions_board_highlights_the_overdue_and_an_update_closes_an_action(make_site) -> None:
    site = make_site(_load_full_demo, datetime(2020, 2, 25, 9, 0, tzinfo=UTC))
    page = site.sign_in("secas", "/actions")
    open_rows = page.locator("#open-actions tbody tr")
    assert [r[0].split("\n")[0] for r in rows(page.locator("#open-actions"))] == ["CSC 10/01", "CSC 11/01",
                                                                                  "CSC 11/02"]
    expect(page.locator("#open-count")).to_have_text("3")
    expect(page.locator("#overdue-count")).to_have_text("0")
    expect(open_rows.filter(has_text="CSC 10/01")).to_contain_text(UPDATE_10_01)  # its latest update

    # raised at meeting 12 with a due date; a month later the board shows it overdue
    page.goto(f"{site.url}/meetings/CSC/12_2502")
    form = page.locator("#action-form")
    form.get_by_label("Owner", exact=True).fill("SECAS")
    form.get_by_label("Action", exact=True).fill("SECAS to circulate the DP109 comments of the SSC.")
    form.get_by_label("Due").fill("2020-03-10")
    submit(page, form, "Raise action")
    recorded(page, "CSC 12/01")
    page.goto(f"{site.url}/actions")
    row = open_rows.filter(has_text="CSC 12/01")
    expect(row).not_to_have_class("action-row overdue")
    expect(page.locator("#overdue-count")).to_have_text("0")

    site.clock.set(datetime(2020, 3, 24, 9, 0, tzinfo=UTC))
    site.sign_in("secas", "/actions", again=True)  # a month on, the portal session has ended
    expect(page.locator("#overdue-count")).to_have_text("1")
    expect(row).to_have_class("action-row overdue")
    expect(row).to_have_css("background-color", "rgb(255, 235, 233)")
    expect(row.locator(".badge")).to_have_text("Overdue")
    for other in ("CSC 10/01", "CSC 11/01", "CSC 11/02"):  # no due date: never overdue
        expect(open_rows.filter(has_text=other)).to_have_class("action-row")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "committees-actions-board.png"), full_page=True)

    # an update recorded at meeting 12 closes it
    page.goto(f"{site.url}/meetings/CSC/12_2502")
    form = page.locator("#action-update-form")
    form.get_by_label("Action").select_option("CSC 12/01")
    form.get_by_label("Update").fill("Circulated to CSC members.")
    form.get_by_label("Status after").select_option(label="Closed")
    submit(page, form, "Record update")
    recorded(page, "update to CSC 12/01")
    page.goto(f"{site.url}/actions")
    expect(page.locator("#overdue-count")).to_have_text("0")
    expect(page.locator("#open-count")).to_have_text("3")
    expect(open_rows.filter(has_text="CSC 12/01")).to_have_count(0)
    closed = page.locator("#closed-actions tbody tr").filter(has_text="CSC 12/01")
    expect(closed).to_contain_text("Circulated to CSC members.")
    expect(closed).to_contain_text("closed")
    expect(closed).to_have_class("action-row")

    page.get_by_label("Status").select_option(label="Closed")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#open-actions")).to_have_count(0)
    assert [r[0].split("\n")[0] for r in rows(page.locator("#closed-actions"))] == ["CSC 12/01"]


def test_the_committee_pages_list_the_committees_and_show_members_chair_and_secretary(make_site) -> None:
    site = make_site(_load_full_demo, datetime(2020, 2, 7, 9, 0, tzinfo=UTC))
    page = site.sign_in("large", "/committees")  # any signed-in user may read them
    listed = rows(page.locator("#committees"))
    # the Panel, its six sub-committees of the seeds (CSC, OPSG, SSC, SMKI PMA, TABASC, TAG) and the Change Board
    assert sorted(r[0] for r in listed) == sorted(["Panel", "CSC", "OPSG", "SSC", "SMKI PMA", "TABASC", "TAG",
                                                   "Change Board"])
    panel = next(r for r in listed if r[0] == "Panel")
    assert panel[1:3] == ["SEC Panel", "SEC Panel"]
    csc = next(r for r in listed if r[0] == "CSC")
    assert csc[1:3] == ["Change Sub-Committee", "Sub-committee"]
    assert csc[4:6] == ["David Kemp", "Louise Evans"]

    page.get_by_role("link", name="CSC", exact=True).click()
    assert page.url == f"{site.url}/committees/CSC"
    expect(page.get_by_role("heading", level=1)).to_have_text("Change Sub-Committee (CSC)")
    expect(page.locator("#chair")).to_have_text("David Kemp")
    expect(page.locator("#secretary")).to_have_text("Louise Evans")
    members = {r[0]: r for r in rows(page.locator("#members"))}
    assert set(members) == {"David Kemp", "Paul Saker", "Andrew Margan", "Gemma Slaney", "Jonathan Lishawa",
                            "Elias Hanna", "Ed Rees", "Louise Evans"}
    assert members["David Kemp"][3] == "Chair"
    assert members["Louise Evans"][3] == "Secretary"
    assert members["Paul Saker"][1:4] == ["Large Suppliers", "Large Supplier", "Member"]
    meetings = rows(page.locator("#meetings"))
    assert [m[0] for m in meetings] == ["CSC 12_2502", "CSC 11_2801"]
    expect(page.locator("#new-meeting")).to_have_count(0)  # a Party user arranges nothing

    page.get_by_role("link", name="CSC 11_2801").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("SEC Change Sub-Committee Meeting 11_2801")
    expect(page.locator("#minute-forms")).to_have_count(0)  # ... and minutes nothing

    secas = site.sign_in("secas", "/committees/CSC")
    expect(secas.locator("#new-meeting")).to_be_visible()


def test_a_discussion_typed_in_paragraphs_is_minuted_in_paragraphs(make_site) -> None:
    site = make_site(_load_full_demo, datetime(2020, 2, 25, 9, 0, tzinfo=UTC))
    page = site.sign_in("secas", "/meetings/CSC/12_2502")
    add_agenda_item(page, 1, "Welcome and introductions", discussion="The Chair welcomed Members.\n\n"
                    "Apologies were noted.")
    recorded(page, "agenda item")
    expect(page.locator('[id="item-1"] > p')).to_have_text(["The Chair welcomed Members.", "Apologies were noted."])

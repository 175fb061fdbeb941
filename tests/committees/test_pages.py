"""Portal pages: the minutes of CSC 11_2801 read like the original; the forms minute a meeting (CSRF-protected)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from gbsmart.models.committees import AgendaItem, Decision
from tests.conftest import TEST_PASSWORD


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def signed_in(client, demo, world):
    """A browser session of a Code Administrator (session cookie + CSRF token in forms)."""
    world.person("admin", "code_administrator")
    page = client.get("/login")
    r = client.post("/login", data={"username": "admin", "password": TEST_PASSWORD, "csrf_token": _csrf(page.text),
                                    "next": "/committees"}, follow_redirects=False)
    assert r.status_code == 303
    return client


def test_pages_need_a_sign_in(client):
    r = client.get("/meetings/CSC/11_2801", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_the_minutes_read_like_the_original(client, tokens):
    r = client.get("/meetings/CSC/11_2801", headers=tokens["party"])
    assert r.status_code == 200, r.text
    html = r.text
    for line in [
        "SEC Change Sub-Committee Meeting 11_2801",
        "28 January 2020, 10:00 – 11:00",
        "Gemserv, 8 Fenchurch Place, London, EC3M 4AJ",
        "Draft Minutes",
        "<td>Change Sub-Committee Chair</td><td>David Kemp</td>",
        "Paul Saker (teleconference)",
        "Remi Oluwabamise (teleconference)",
        "Louise Evans (Meeting Secretary)",
        "Jonathan Lishawa",
        "<td>Consumers</td><td>Ed Rees</td>",
        "1. Welcome and introductions",
        "2. Actions Outstanding",
        "ACTION CSC 10/01",
        "Status: Open.",
        "3. Draft Proposal Report",
        "DP096 &#39;DNO Power Outage Alerts&#39;",
        "The CSC <strong>AGREED</strong> further development is required to define and understand the issue.",
        "<strong>AGREED</strong> this Draft Proposal is ready to be converted to a Modification Proposal; and",
        "<strong>RECOMMENDED</strong> to the Panel that the Modification Proposal should proceed to the Report Phase, "
        "subject to agreement by the TABASC.",
        "The CSC <strong>NOTED</strong> this Draft Proposal will now be presented at the February 2020 Panel meeting.",
        "<strong>CSC 11/01</strong>: The DCC to provide SECAS with information on any IRPs",
        "<strong>CSC 11/02</strong>: SECAS to clarify in the Modification Report",
        "4. Any Other Business (AOB)",
        "There was no further business and the Chair closed the meeting.",
        "Next Meeting: 25 February 2020",
        "Quorate",
    ]:
        assert line in html, line
    assert html.index("ACTION CSC 10/01") < html.index("3. Draft Proposal Report") < html.index("Next Meeting")
    assert 'id="minute-forms"' not in html  # a Party user reads; the forms are for the chair and secretary


def test_the_next_meeting_carries_the_open_actions(client, tokens):
    html = client.get("/meetings/CSC/12_2502", headers=tokens["member"]).text
    for ref in ("ACTION CSC 10/01", "ACTION CSC 11/01", "ACTION CSC 11/02"):
        assert ref in html
    assert "25 February 2020" in html and "No agenda items minuted yet." in html


def test_committees_list_committee_page_and_actions_board(client, tokens):
    html = client.get("/committees", headers=tokens["party"]).text
    assert "Change Sub-Committee" in html and 'class="member-count">7<' in html and "SMKI PMA" in html
    html = client.get("/committees/CSC", headers=tokens["party"]).text
    assert '<span id="chair">David Kemp</span>' in html and '<span id="secretary">Louise Evans</span>' in html
    assert "CSC 11_2801" in html and "CSC 12_2502" in html and 'id="new-meeting"' not in html
    html = client.get("/committees/smki-pma", headers=tokens["party"]).text
    assert "Gordon Hextall" in html
    html = client.get("/actions", headers=tokens["party"]).text
    assert "CSC 10/01" in html and "CSC 11/02" in html and '<div class="stat" id="open-count">3</div>' in html
    assert client.get("/committees/NOPE", headers=tokens["party"]).status_code == 404


def test_a_refused_decision_shows_the_process_message_and_saves_nothing(signed_in, session):
    page = signed_in.get("/meetings/CSC/11_2801")
    assert 'id="agenda-form"' in page.text and 'id="approve-form"' in page.text
    items = session.scalar(select(func.count()).select_from(AgendaItem))
    decisions = session.scalar(select(func.count()).select_from(Decision))
    r = signed_in.post("/meetings/CSC/11_2801/agenda-items", data={
        "csrf_token": _csrf(page.text), "number": "5", "title": "DP098 again", "word": "agreed",
        "proposal": "DP098", "step": "infer", "route": "report_phase",
        "text": "this Draft Proposal is ready to be converted to a Modification Proposal"})
    assert r.status_code == 409
    assert "&#39;ready_to_convert&#39; is not allowed while DP098 is at &#39;Ready to convert&#39;" in r.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AgendaItem)) == items
    assert session.scalar(select(func.count()).select_from(Decision)) == decisions


def test_minuting_through_the_forms_then_approving(signed_in, session):
    token = _csrf(signed_in.get("/meetings/CSC/12_2502").text)
    url = "/meetings/CSC/12_2502"
    r = signed_in.post(f"{url}/attendees", data={"csrf_token": token, "person": "david.kemp", "role": "chair",
                                                 "representing": "Change Sub-Committee Chair"}, follow_redirects=False)
    assert r.status_code == 303
    r = signed_in.post(f"{url}/agenda-items", data={
        "csrf_token": token, "number": "3", "title": "DP095 'Alignment of Credit Cover'", "word": "agreed",
        "proposal": "DP095", "step": "infer", "text": "further development is required to define and understand the "
                                                       "issue"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    r = signed_in.post(f"{url}/actions", data={"csrf_token": token, "owner": "SECAS", "agenda_item": "3",
                                               "text": "Report on the credit cover analysis"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=CSC%2012%2F01")
    r = signed_in.post(f"{url}/action-updates", data={"csrf_token": token, "action": "CSC 10/01", "status": "closed",
                                                      "text": "The DCC shared the legal text."}, follow_redirects=False)
    assert r.status_code == 303
    html = signed_in.get(url).text
    assert "David Kemp" in html and "The CSC <strong>AGREED</strong> further development is required" in html
    assert "<strong>CSC 12/01</strong>: Report on the credit cover analysis" in html
    assert "The DCC shared the legal text." in html and "Status: Closed." in html
    assert signed_in.post(f"{url}/approve", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    html = signed_in.get(url).text
    assert "Approved Minutes" in html and 'id="minute-forms"' not in html
    r = signed_in.post(f"{url}/attendees", data={"csrf_token": token, "name": "Late Arrival"})
    assert r.status_code == 409 and "read-only" in r.text


def test_forms_need_the_csrf_token(signed_in):
    r = signed_in.post("/meetings/CSC/12_2502/attendees", data={"name": "No Token"})
    assert r.status_code == 403 and "CSRF" in r.text


def test_arranging_a_meeting_from_the_committee_page(signed_in):
    page = signed_in.get("/committees/CSC")
    assert 'id="new-meeting"' in page.text
    r = signed_in.post("/committees/CSC/meetings", data={
        "csrf_token": _csrf(page.text), "meeting_date": "2020-03-24", "start_time": "10:00", "end_time": "11:00",
        "venue": "Teleconference", "status": "scheduled"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/meetings/CSC/13_2403"
    r = signed_in.post("/committees/CSC/meetings", data={"csrf_token": _csrf(page.text), "number": "13",
                                                         "meeting_date": "2020-03-25"})
    assert r.status_code == 409 and "already has meeting 13_2403" in r.text

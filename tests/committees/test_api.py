"""The committees JSON API: who may read and write, 404s, a decision refused by the change process, actions by URL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from gbsmart.models.change import ProposalEvent
from gbsmart.models.committees import AgendaItem, Decision
from gbsmart.models.papers import Paper
from gbsmart.models.parties import Person

MINUTES = "/api/v1/meetings/CSC/11_2801"


def ok(resp, status=200):
    assert resp.status_code == status, resp.text
    return resp.json()


@pytest.mark.parametrize("path", ["/api/v1/committees", "/api/v1/committees/CSC", MINUTES, "/api/v1/actions",
                                  "/api/v1/actions/overdue", "/api/v1/actions/CSC-11-01"])
def test_reading_needs_a_sign_in(client, path):
    r = client.get(path)
    assert r.status_code == 401 and r.json()["error"]


def test_everyone_signed_in_reads(client, tokens):
    rows = ok(client.get("/api/v1/committees", headers=tokens["party"]))
    csc = next(r for r in rows if r["code"] == "CSC")
    assert csc["member_count"] == 7 and csc["chair"] == "David Kemp" and csc["secretary"] == "Louise Evans"
    smki = ok(client.get("/api/v1/committees/smki-pma", headers=tokens["party"]))
    assert smki["code"] == "SMKI PMA" and smki["members"][0]["person"] == "Gordon Hextall"
    m = ok(client.get(MINUTES, headers=tokens["member"]))
    assert m["quorate"] is True and m["quorum"] == {"present": 4, "required": 3, "quorate": True,
                                                    "description": "4 members present, quorum 3: quorate"}
    assert [a["reference"] for a in m["outstanding_actions"]] == ["CSC 10/01"]
    assert [a["reference"] for a in m["actions_raised"]] == ["CSC 11/01", "CSC 11/02"]
    assert m["next_meeting"]["reference"] == "12_2502"
    dp098 = next(i for i in m["agenda"] if i["proposals"] == ["DP098"])
    assert [d["word"] for d in dp098["decisions"]] == ["agreed", "recommended"]
    assert dp098["decisions"][0]["sentence"].startswith("The CSC AGREED this Draft Proposal is ready")
    assert dp098["actions"] == ["CSC 11/01"]
    assert [x["reference"] for x in ok(client.get("/api/v1/committees/CSC/meetings", headers=tokens["party"]))] == [
        "11_2801", "12_2502"]


@pytest.mark.parametrize("path", ["/api/v1/committees/XYZ", "/api/v1/meetings/CSC/99_0101",
                                  "/api/v1/meetings/NOPE/11_2801", "/api/v1/actions/CSC%2099%2F01",
                                  "/api/v1/actions/not-a-reference", "/api/v1/committees/XYZ/meetings"])
def test_unknown_references_are_404(client, tokens, path):
    r = client.get(path, headers=tokens["party"])
    assert r.status_code == 404 and r.json()["error"]


def test_members_and_party_users_may_not_write(client, tokens):
    attendee = {"name": "Someone", "representing": "Large Suppliers"}
    assert client.post(f"{MINUTES}/attendees", json=attendee, headers=tokens["member"]).status_code == 403
    assert client.post(f"{MINUTES}/attendees", json=attendee, headers=tokens["party"]).status_code == 403
    r = client.post(f"{MINUTES}/decisions", headers=tokens["member"],
                    json={"agenda_item": "3.2", "word": "noted", "text": "the update"})
    assert r.status_code == 403 and "chair or secretary" in r.json()["error"]
    assert client.post(f"{MINUTES}/approve", headers=tokens["chair"]).status_code == 403
    assert client.post("/api/v1/committees", headers=tokens["chair"],
                       json={"code": "WG", "name": "A Working Group"}).status_code == 403
    r = client.post("/api/v1/actions/CSC%2011%2F01/updates", headers=tokens["member"], json={"text": "Progress"})
    assert r.status_code == 403


def test_field_level_422s(client, tokens):
    r = client.post(f"{MINUTES}/attendees", json={"representing": "DCC"}, headers=tokens["secretary"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body"
    r = client.post(f"{MINUTES}/decisions", headers=tokens["secretary"],
                    json={"agenda_item": "3.2", "word": "decided", "text": "something"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.word"
    r = client.post(f"{MINUTES}/decisions", headers=tokens["secretary"],
                    json={"agenda_item": "3.2", "word": "noted", "text": "the update", "proposal": "DP095",
                          "step": "further_development"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "step"
    r = client.post("/api/v1/committees/CSC/meetings", headers=tokens["secretary"],
                    json={"meeting_date": "2020-03-24", "start_time": "11:00", "end_time": "10:00"})
    assert r.status_code == 422 and "end_time" in r.text


def test_a_meeting_minuted_through_the_api(client, tokens, session):
    h = tokens["secretary"]
    paper_id = session.scalar(select(Paper.id).where(Paper.reference == "DP104_PS"))  # a demo paper of the CSC
    m = ok(client.post("/api/v1/committees/CSC/meetings", headers=h, json={
        "meeting_date": "2020-03-24", "start_time": "10:00", "end_time": "11:30", "venue": "Teleconference"}), 201)
    assert m["reference"] == "13_2403" and m["quorate"] is False
    assert [a["reference"] for a in m["outstanding_actions"]] == ["CSC 10/01", "CSC 11/01", "CSC 11/02"]
    url = "/api/v1/meetings/CSC/13_2403"
    for who, role in (("david.kemp", "Chair"), ("paul.saker", "member"), ("gemma.slaney", "member")):
        m = ok(client.post(f"{url}/attendees", headers=h, json={"person": who, "role": role, "teleconference": True,
                                                                 "representing": "x"}), 201)
    assert m["quorate"] is True
    ok(client.post(f"{url}/apologies", headers=h, json={"person": "Ed Rees", "representing": "Consumers"}), 201)
    item = ok(client.post(f"{url}/agenda-items", headers=h, json={
        "number": 3, "title": "DP095 'Alignment of Credit Cover'", "discussion": "SECAS reported progress.",
        "proposals": ["DP095"], "paper_id": paper_id, "decisions": [{"word": "AGREED", "proposal": "DP095",
                                                               "text": "this Draft Proposal is ready to be converted "
                                                                       "to a Modification Proposal",
                                                               "route": "refinement"}]}), 201)
    assert item["decisions"][0]["step"] == "ready_to_convert" and item["paper_id"] == paper_id
    p = ok(client.get("/api/v1/proposals/DP095", headers=h))
    assert p["state"] == "ready_to_convert" and p["timeline"][-1]["reference"] == "CSC 13_2403"
    assert p["timeline"][-1]["decided_on"] == "2020-03-24"

    # DP098 was already found ready to convert at 11_2801: the process refuses and nothing is recorded
    decisions = session.scalar(select(func.count()).select_from(Decision))
    events = session.scalar(select(func.count()).select_from(ProposalEvent))
    r = client.post(f"{url}/decisions", headers=h, json={
        "agenda_item": "3", "word": "agreed", "proposal": "DP098", "route": "report_phase",
        "text": "this Draft Proposal is ready to be converted to a Modification Proposal"})
    assert r.status_code == 409
    assert "'ready_to_convert' is not allowed while DP098 is at 'Ready to convert'" in r.json()["error"]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Decision)) == decisions
    assert session.scalar(select(func.count()).select_from(ProposalEvent)) == events

    a = ok(client.post("/api/v1/actions", headers=h, json={
        "committee": "CSC", "meeting": "13_2403", "agenda_item": "3", "owner": "SECAS",
        "text": "Prepare the conversion paper for the Panel", "due_date": "2020-04-01"}), 201)
    assert a["reference"] == "CSC 13/01" and a["status"] == "open" and a["overdue"] is False
    ok(client.post(f"{url}/approve", headers=h))
    r = client.post(f"{url}/attendees", headers=h, json={"name": "Late Arrival"})
    assert r.status_code == 409 and "read-only" in r.json()["error"]


def test_an_agenda_item_cites_a_paper_by_foreign_key(client, tokens, session):
    paper = session.scalar(select(Paper).where(Paper.reference == "DP104_PS"))
    item = ok(client.post("/api/v1/meetings/CSC/12_2502/agenda-items", headers=tokens["secretary"], json={
        "number": 9, "title": "DP104 'Security Improvements'", "paper_id": paper.id}), 201)
    assert item["paper_id"] == paper.id
    session.delete(paper)  # a paper withdrawn from the record: the minute stays, no longer citing it
    session.commit()
    assert session.scalar(select(AgendaItem.paper_id).where(AgendaItem.title == "DP104 'Security Improvements'")) \
        is None


def test_an_agenda_item_citing_no_such_paper_is_refused_naming_the_field(client, tokens, session):
    missing = (session.scalar(select(func.max(Paper.id))) or 0) + 1000
    before = session.scalar(select(func.count()).select_from(AgendaItem))
    r = client.post("/api/v1/meetings/CSC/12_2502/agenda-items", headers=tokens["secretary"], json={
        "number": 9, "title": "A paper that is not there", "paper_id": missing})
    assert r.status_code == 422, r.text
    assert "paper_id" in r.text and f"no paper {missing}" in r.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AgendaItem)) == before


def test_action_updates_by_encoded_or_dashed_reference(client, tokens, clock):
    h = tokens["chair"]
    a = ok(client.post("/api/v1/actions/CSC%2011%2F01/updates", headers=h, json={
        "text": "The DCC sent the list of IRPs.", "meeting": "12_2502"}), 201)
    assert a["status"] == "open" and a["updates"][-1]["meeting"] == "12_2502"
    a = ok(client.post("/api/v1/actions/CSC-11-01/updates", headers=h, json={
        "text": "None is system-impacting.", "status": "Closed", "meeting": "12_2502"}), 201)
    assert a["status"] == "closed" and a["closed_on"] == "2020-02-25"
    assert ok(client.get("/api/v1/actions/csc-11-01", headers=h))["reference"] == "CSC 11/01"
    open_refs = [x["reference"] for x in ok(client.get("/api/v1/actions?committee=CSC&status=open", headers=h))]
    assert open_refs == ["CSC 10/01", "CSC 11/02"]
    assert client.get("/api/v1/actions?status=done", headers=h).status_code == 422


def test_overdue_endpoint_follows_the_clock(client, tokens, clock, world, session):
    h = tokens["secas"]
    ok(client.post("/api/v1/committees/CSC/meetings", headers=h, json={"number": 13, "meeting_date": "2020-03-24"}),
       201)
    ok(client.post("/api/v1/actions", headers=h, json={"committee": "CSC", "meeting": "13", "owner": "DCC",
                                                        "text": "Share the cost breakdown", "due_date": "2020-04-07"}),
       201)
    assert ok(client.get("/api/v1/actions/overdue", headers=h)) == []
    clock.set(datetime(2020, 4, 8, 9, tzinfo=UTC))
    h = world.token(session.scalar(select(Person).where(Person.username == "secas")))  # the old token has expired
    assert [a["reference"] for a in ok(client.get("/api/v1/actions/overdue", headers=h))] == ["CSC 13/01"]
    assert [a["reference"] for a in ok(client.get("/api/v1/actions?overdue=true", headers=h))] == ["CSC 13/01"]


def test_the_code_administrator_sets_up_committees_and_quorum(client, tokens):
    h = tokens["secas"]
    c = ok(client.post("/api/v1/committees", headers=h, json={"code": "WG", "name": "DP094 Working Group",
                                                                "quorum": 4}), 201)
    assert c["quorum"] == 4 and c["member_count"] == 0
    assert client.post("/api/v1/committees", headers=h, json={"code": "wg", "name": "Another"}).status_code == 409
    ok(client.post("/api/v1/committees/WG/members", headers=h, json={
        "person": "Paul Saker", "represents": "Large Suppliers", "party_category": "large_supplier",
        "is_chair": True}), 201)
    alt = ok(client.post("/api/v1/committees/WG/members", headers=h, json={
        "person": "andrew.margan", "represents": "Large Suppliers", "alternate_for": "paul.saker"}), 201)
    assert alt["alternate_for"] == "Paul Saker"
    assert ok(client.patch("/api/v1/committees/CSC", headers=h, json={"quorum": 5}))["quorum"] == 5
    assert ok(client.get(MINUTES, headers=h))["quorate"] is False

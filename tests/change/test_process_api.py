"""The modification process through the JSON API: raise a Draft Proposal and carry it to Implemented."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from gbsmart.models.audit import ChangeRecord
from gbsmart.models.change import Proposal, ProposalEvent, Release


@pytest.fixture
def cast(world, session):
    """The people of a small SEC: SECAS, the Panel, the DCC, the Authority and a Party per category."""
    secas_org = world.org("SECAS", kind="secas")
    parties = {
        "large_supplier": [world.org("Big Energy plc", category="large_supplier"),
                           world.org("Huge Power Ltd", category="large_supplier")],
        "small_supplier": [world.org("Tiny Gas Co", category="small_supplier")],
        "electricity_network": [world.org("Wires North", category="electricity_network")],
        "gas_network": [world.org("Pipes South", category="gas_network")],
        "other": [world.org("Meter Agents Ltd", category="other")],
    }
    session.add(Release(name="November 2020 Release", release_date=date(2020, 11, 5), kind="scheduled"))
    session.commit()
    h = {
        "secas": world.user("secas", "code_administrator", org=secas_org),
        "panel": world.user("panel", "panel_member"),
        "dcc": world.user("dcc", "dcc", org=world.org("DCC", kind="dcc")),
        "authority": world.user("ofgem", "authority", org=world.org("Ofgem", kind="authority")),
        "proposer": world.user("alice", "party_user", org=parties["small_supplier"][0]),
        "big": world.user("bob", "party_user", org=parties["large_supplier"][0]),
        "huge": world.user("hugh", "party_user", org=parties["large_supplier"][1]),
        "wires": world.user("wendy", "party_user", org=parties["electricity_network"][0]),
        "pipes": world.user("pip", "party_user", org=parties["gas_network"][0]),
        "agents": world.user("olly", "party_user", org=parties["other"][0]),
    }
    return h


def step(client, headers, ref, name, **extra):
    return client.post(f"/api/v1/proposals/{ref}/steps", json={"step": name, **extra}, headers=headers)


def ok(resp, status=200):
    assert resp.status_code == status, resp.text
    return resp.json()


def test_draft_to_implemented_path_2(client, cast, session):
    h = cast
    dp = ok(client.post("/api/v1/proposals", headers=h["proposer"], json={
        "title": "Power outage alerts within 60 seconds",
        "problem_statement": "The DCC cannot meet the 60 second obligation for Power Outage Alerts to DNOs."}), 201)
    ref = dp["reference"]
    assert ref == "DP001" and dp["state"] == "development" and dp["proposer"] == "Tiny Gas Co"

    ok(step(client, h["secas"], ref, "secas_comment", reason="Critical friend: quantify the problem."))
    ok(step(client, h["secas"], ref, "further_development", reference="CSC 10_1401"))
    p = ok(step(client, h["secas"], ref, "ready_to_convert", route="refinement", reference="CSC 11_2801",
                decided_on="2020-01-28", reason="AGREED ready to convert; RECOMMENDED Refinement Process"))
    assert p["state"] == "ready_to_convert" and p["route"] == "refinement"
    p = ok(step(client, h["panel"], ref, "convert", reference="Panel 78"))
    mp = p["reference"]
    assert mp == "MP001" and p["dp_reference"] == "DP001" and p["state"] == "awaiting_path"
    assert ok(client.get("/api/v1/proposals/DP001", headers=h["big"]))["reference"] == "MP001"
    p = ok(step(client, h["panel"], mp, "set_path", path="path_2"))
    assert p["state"] == "refinement"

    ok(step(client, h["secas"], mp, "request_preliminary_assessment"))
    p = ok(step(client, h["dcc"], mp, "preliminary_assessment", pa_status="PA 2"))
    assert p["pa_status"] == "PA 2"
    ok(step(client, h["secas"], mp, "working_group", reason="First Working Group"))
    ok(step(client, h["secas"], mp, "request_impact_assessment"))
    ok(step(client, h["dcc"], mp, "impact_assessment"))
    ok(step(client, h["secas"], mp, "open_refinement_consultation"))
    ok(client.post(f"/api/v1/proposals/{mp}/responses", headers=h["big"],
                   json={"supports": True, "comments": "We support the solution."}), 201)
    dup = client.post(f"/api/v1/proposals/{mp}/responses", headers=h["big"], json={"comments": "again"})
    assert dup.status_code == 409
    ok(step(client, h["secas"], mp, "close_refinement_consultation"))
    ok(step(client, h["secas"], mp, "complete_refinement"))
    ok(client.post(f"/api/v1/proposals/{mp}/documents", headers=h["secas"],
                   json={"kind": "Draft Modification Report", "title": "MP001 DMR v1.0"}), 201)
    ok(step(client, h["panel"], mp, "open_mr_consultation"))
    ok(step(client, h["secas"], mp, "close_mr_consultation"))
    p = ok(step(client, h["secas"], mp, "open_change_board"))
    assert p["state"] == "change_board"

    for who, vote in (("big", "approve"), ("huge", "reject"), ("proposer", "approve"), ("wires", "approve"),
                      ("pipes", "reject"), ("agents", "approve")):
        ok(client.post(f"/api/v1/proposals/{mp}/votes", headers=h[who], json={"vote": vote}), 201)
    again = client.post(f"/api/v1/proposals/{mp}/votes", headers=h["big"], json={"vote": "reject"})
    assert again.status_code == 409 and "already voted" in again.json()["error"]
    t = ok(client.get(f"/api/v1/proposals/{mp}/tally", headers=h["big"]))
    # Large Suppliers tie 1-1 (no view), Networks tie 1-1 (no view): only 2 categories approve -> not valid
    assert t["valid"] is False and t["categories"]["large_supplier"]["collective"] is None

    # the Code Administrator records a further Large Supplier's vote on its behalf
    world_org = "Huge Power Ltd"
    assert client.post(f"/api/v1/proposals/{mp}/votes", headers=h["secas"],
                       json={"party": world_org, "vote": "approve"}).status_code == 409  # already voted
    p = ok(step(client, h["secas"], mp, "close_change_board", reference="Change Board 2020-06"))
    assert p["state"] == "report_phase"  # invalid vote returns to the Panel

    # second round: a clear approval
    ok(step(client, h["panel"], mp, "open_mr_consultation"))
    ok(step(client, h["secas"], mp, "close_mr_consultation"))
    ok(step(client, h["secas"], mp, "open_change_board"))
    for who in ("big", "huge", "proposer", "wires", "pipes", "agents"):
        ok(client.post(f"/api/v1/proposals/{mp}/votes", headers=h[who], json={"vote": "approve"}), 201)
    p = ok(step(client, h["secas"], mp, "close_change_board", decided_on="2020-07-22"))
    assert p["state"] == "authority_determination" and p["change_board_determination"] == "Approved"
    assert p["change_board_date"] == "2020-07-22"

    refused = step(client, h["secas"], mp, "authority_approve")
    assert refused.status_code == 403 and "Authority" in refused.json()["error"]
    p = ok(step(client, h["authority"], mp, "authority_approve", decided_on="2020-08-01"))
    assert p["state"] == "approved" and p["authority_determination"] == "Approved"
    p = ok(step(client, h["secas"], mp, "target_release", release="November 2020 Release"))
    assert p["release"] == "November 2020 Release" and p["release_status"] == "Approved"
    p = ok(step(client, h["secas"], mp, "implement"))
    assert p["state"] == "implemented" and p["implementation_date"] == "2020-11-05"
    assert p["allowed_steps"] == []

    events = [e["step"] for e in p["timeline"]]
    assert events[0] == "raise_draft" and events[-1] == "implement" and "close_change_board" in events
    assert all(e["actor_name"] for e in p["timeline"])
    audit = session.scalar(select(func.count()).select_from(ChangeRecord).where(ChangeRecord.object_id == "MP001"))
    assert audit >= 20


def test_invalid_step_is_409_naming_allowed_steps(client, cast):
    h = cast
    ref = ok(client.post("/api/v1/proposals", headers=h["proposer"], json={
        "title": "A problem worth solving", "problem_statement": "Something in the SEC does not work as intended."}),
        201)["reference"]
    r = step(client, h["secas"], ref, "open_change_board")
    assert r.status_code == 409
    body = r.json()
    assert "Steps allowed from here" in body["error"] and "further_development" in body["error"]
    assert set(body["detail"]["allowed"]) == {"secas_comment", "further_development", "ready_to_convert", "withdraw"}
    r = step(client, h["secas"], ref, "no_such_step")
    assert r.status_code == 409


def test_wrong_actor_is_403_and_nothing_changes(client, cast, session):
    h = cast
    ref = ok(client.post("/api/v1/proposals", headers=h["proposer"], json={
        "title": "A problem worth solving", "problem_statement": "Something in the SEC does not work as intended."}),
        201)["reference"]
    r = step(client, h["big"], ref, "ready_to_convert", route="refinement")
    assert r.status_code == 403
    assert ok(client.get(f"/api/v1/proposals/{ref}", headers=h["big"]))["state"] == "development"
    # only the proposer withdraws
    assert step(client, h["secas"], ref, "withdraw").status_code == 403
    assert ok(step(client, h["proposer"], ref, "withdraw", reason="Resolved elsewhere"))["state"] == "withdrawn"
    assert step(client, h["proposer"], ref, "withdraw").status_code == 409


def test_fast_track_skips_refinement(client, cast):
    h = cast
    ref = ok(client.post("/api/v1/proposals", headers=h["secas"], json={
        "title": "Fix a typo in Section D", "problem_statement": "Section D cross-references the wrong paragraph.",
        "proposer_organisation": "SECAS"}), 201)["reference"]
    ok(step(client, h["secas"], ref, "ready_to_convert", route="report_phase"))
    mp = ok(step(client, h["panel"], ref, "convert", mp_reference="MP200"))["reference"]
    assert mp == "MP200"
    p = ok(step(client, h["panel"], mp, "set_path", path="fast_track"))
    assert p["state"] == "panel_decision"
    assert step(client, h["secas"], mp, "open_change_board").status_code == 409
    assert ok(step(client, h["panel"], mp, "panel_approve"))["state"] == "approved"


def test_path_3_change_board_decides(client, cast):
    h = cast
    ref = ok(client.post("/api/v1/proposals", headers=h["proposer"], json={
        "title": "Self-governance change", "problem_statement": "A self-governance change to the Code wording."}),
        201)["reference"]
    ok(step(client, h["secas"], ref, "ready_to_convert", route="report_phase"))
    mp = ok(step(client, h["panel"], ref, "convert"))["reference"]
    assert ok(step(client, h["panel"], mp, "set_path", path="path_3"))["state"] == "report_phase"
    ok(step(client, h["panel"], mp, "open_mr_consultation"))
    ok(step(client, h["secas"], mp, "close_mr_consultation"))
    ok(step(client, h["secas"], mp, "open_change_board"))
    for who in ("big", "huge", "proposer", "wires", "agents"):
        ok(client.post(f"/api/v1/proposals/{mp}/votes", headers=h[who], json={"vote": "reject"}), 201)
    p = ok(step(client, h["secas"], mp, "close_change_board"))
    assert p["state"] == "rejected" and p["change_board_determination"] == "Rejected"


def test_bad_input(client, cast, session):
    h = cast
    r = client.post("/api/v1/proposals", headers=h["proposer"], json={"title": "x"})
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["detail"]}
    assert {"body.title", "body.problem_statement"} <= fields
    r = client.post("/api/v1/proposals", headers=h["proposer"], content=b"{not json", )
    assert r.status_code == 422
    assert client.get("/api/v1/proposals/DP999", headers=h["proposer"]).status_code == 404
    assert client.get("/api/v1/proposals").status_code == 401
    assert client.get("/api/v1/proposals", headers={"Authorization": "Bearer nope"}).status_code == 401
    r = client.get("/api/v1/proposals?stage=bogus", headers=h["proposer"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "stage"
    r = step(client, h["secas"], "DP001", "further_development")
    assert r.status_code == 404
    assert session.scalar(select(func.count()).select_from(Proposal)) == 0


def test_failure_part_way_leaves_nothing_half_written(client, cast, session):
    h = cast
    ref = ok(client.post("/api/v1/proposals", headers=h["proposer"], json={
        "title": "A problem worth solving", "problem_statement": "Something in the SEC does not work as intended."}),
        201)["reference"]
    ok(step(client, h["secas"], ref, "ready_to_convert", route="refinement"))
    ok(step(client, h["panel"], ref, "convert"))
    mp = "MP001"
    ok(step(client, h["panel"], mp, "set_path", path="path_2"))
    before = session.scalar(select(func.count()).select_from(ProposalEvent))
    audit_before = session.scalar(select(func.count()).select_from(ChangeRecord))
    # target_release to an unknown release fails after the step began: nothing of it may remain
    r = step(client, h["secas"], mp, "target_release", release="No Such Release")
    assert r.status_code == 404
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ProposalEvent)) == before
    assert session.scalar(select(func.count()).select_from(ChangeRecord)) == audit_before
    assert session.scalar(select(Proposal.release_id).where(Proposal.reference == mp)) is None


def test_what_if_tally(client, cast):
    h = cast
    votes = [{"party": p, "category": c, "vote": "approve"} for p, c in (
        ("A", "large_supplier"), ("B", "small_supplier"), ("C", "networks"), ("D", "other"))]
    body = ok(client.post("/api/v1/change-board/tally", headers=h["big"], json={"votes": votes}))
    assert body == {"valid": True, "outcome": "approve", "reasons": body["reasons"], "categories": body["categories"]}
    assert body["categories"]["networks"] == {"approve": 1, "reject": 0, "abstain": 0, "return_to_panel": 0,
                                              "collective": "approve"}
    dup = client.post("/api/v1/change-board/tally", headers=h["big"], json={"votes": votes + [votes[0]]})
    assert dup.status_code == 422 and "votes twice" in dup.text
    bad = client.post("/api/v1/change-board/tally", headers=h["big"],
                      json={"votes": [{"party": "A", "category": "martians", "vote": "approve"}]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "body.votes.0.category"
    assert client.post("/api/v1/change-board/tally", json={"votes": votes}).status_code == 401

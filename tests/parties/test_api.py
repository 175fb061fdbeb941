"""The Parties API (/api/v1/parties, /api/v1/people): listing, who may change what, validation, not-found."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gbsmart.models.audit import ChangeRecord
from gbsmart.models.parties import DccUser, Organisation, Person


@pytest.fixture
def h(world):
    secas = world.org("SECAS", kind="secas")
    big = world.org("Big Energy plc", category="large_supplier")
    world.org("Wires North", category="electricity_network")
    world.org("Ofgem", kind="authority")
    return {
        "secas": world.user("secas", "code_administrator", org=secas),
        "party": world.user("bob", "party_user", org=big),
        "panel": world.user("panel", "panel_member"),
    }


def _ok(resp, status=200):
    assert resp.status_code == status, resp.text
    return resp.json()


def test_lists_parties_in_name_order_with_labels_and_filters(client, h):
    every = _ok(client.get("/api/v1/parties", headers=h["party"]))
    assert [o["name"] for o in every] == ["Big Energy plc", "Ofgem", "SECAS", "Wires North"]
    big = every[0]
    assert big["kind"] == "sec_party" and big["kind_label"] == "SEC Party"
    assert big["party_category"] == "large_supplier" and big["party_category_label"] == "Large Supplier"
    assert [o["name"] for o in _ok(client.get("/api/v1/parties?kind=authority", headers=h["party"]))] == ["Ofgem"]
    assert [o["name"] for o in _ok(client.get("/api/v1/parties?category=electricity_network",
                                              headers=h["party"]))] == ["Wires North"]
    assert client.get("/api/v1/parties?category=no_such_category", headers=h["party"]).status_code == 422


def test_one_party_by_id_and_a_missing_one_is_404(client, h, session):
    big_id = session.scalar(select(Organisation.id).where(Organisation.name == "Big Energy plc"))
    assert _ok(client.get(f"/api/v1/parties/{big_id}", headers=h["party"]))["name"] == "Big Energy plc"
    missing = client.get("/api/v1/parties/999999", headers=h["party"])
    assert missing.status_code == 404 and "No organisation with id 999999" in missing.json()["error"]
    assert client.get("/api/v1/parties/not-a-number", headers=h["party"]).status_code == 422


def test_nothing_without_signing_in(client, h):
    assert client.get("/api/v1/parties").status_code == 401
    assert client.get("/api/v1/people/me").status_code == 401
    assert client.post("/api/v1/parties", json={"name": "Sneaky Ltd", "party_category": "other"}).status_code == 401
    assert client.get("/api/v1/parties", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


@pytest.mark.parametrize("who", ["party", "panel"])
def test_only_the_code_administrator_adds_parties_dcc_users_and_people(client, h, session, who):
    body = {"name": "Meter Agents Ltd", "party_category": "other"}
    refused = client.post("/api/v1/parties", json=body, headers=h[who])
    assert refused.status_code == 403 and "Only the Code Administrator" in refused.json()["error"]
    big_id = session.scalar(select(Organisation.id).where(Organisation.name == "Big Energy plc"))
    assert client.post(f"/api/v1/parties/{big_id}/dcc-users", headers=h[who],
                       json={"eui64": "90b3d51f30010000", "roles": ["IS"]}).status_code == 403
    assert client.post("/api/v1/people", headers=h[who], json={"username": "eve", "full_name": "Eve"}).status_code \
        == 403
    session.expire_all()
    assert session.scalar(select(Organisation.id).where(Organisation.name == "Meter Agents Ltd")) is None
    assert session.scalar(select(DccUser.id)) is None
    assert session.scalar(select(Person.id).where(Person.username == "eve")) is None


def test_the_code_administrator_adds_a_party_a_dcc_user_and_a_person(client, h, session):
    org = _ok(client.post("/api/v1/parties", headers=h["secas"], json={
        "name": "  Meter Agents Ltd ", "short_name": "MAL", "party_category": "other"}), 201)
    assert org["name"] == "Meter Agents Ltd" and org["dcc_users"] == []
    assert org["party_category_label"] == "Other SEC Party"
    du = _ok(client.post(f"/api/v1/parties/{org['id']}/dcc-users", headers=h["secas"],
                         json={"eui64": "90b3d51f30010000", "roles": ["IS", "GS"]}), 201)
    assert du["eui64"] == "90-B3-D5-1F-30-01-00-00" and sorted(du["roles"]) == ["GS", "IS"]
    assert _ok(client.get(f"/api/v1/parties/{org['id']}", headers=h["party"]))["dcc_users"][0]["eui64"] == \
        "90-B3-D5-1F-30-01-00-00"
    person = _ok(client.post("/api/v1/people", headers=h["secas"], json={
        "username": "olly", "full_name": "Olly Agent", "organisation": "mal", "roles": ["party_user"]}), 201)
    assert person["organisation"] == "Meter Agents Ltd" and person["roles"] == ["party_user"]
    actions = set(session.scalars(select(ChangeRecord.action)))
    assert {"organisation.create", "dcc_user.create", "person.create"} <= actions


def test_validation_errors_name_their_fields(client, h, session):
    short = client.post("/api/v1/parties", headers=h["secas"], json={"name": "X", "party_category": "other"})
    assert short.status_code == 422 and any("name" in str(d) for d in short.json()["detail"]), short.text
    no_category = client.post("/api/v1/parties", headers=h["secas"], json={"name": "Meter Agents Ltd"})
    assert no_category.status_code == 422
    assert no_category.json()["detail"] == [{"field": "party_category", "message": "required for a SEC Party"}]
    body_with_category = {"name": "A Regulator", "kind": "authority", "party_category": "other"}
    assert client.post("/api/v1/parties", headers=h["secas"], json=body_with_category).status_code == 422
    big_id = session.scalar(select(Organisation.id).where(Organisation.name == "Big Energy plc"))
    bad_eui = client.post(f"/api/v1/parties/{big_id}/dcc-users", headers=h["secas"],
                          json={"eui64": "90b3", "roles": ["IS"]})
    assert bad_eui.status_code == 422 and "16 hex digits" in bad_eui.text
    no_roles = client.post(f"/api/v1/parties/{big_id}/dcc-users", headers=h["secas"],
                           json={"eui64": "90b3d51f30010000", "roles": []})
    assert no_roles.status_code == 422
    weak = client.post("/api/v1/people", headers=h["secas"], json={"username": "eve", "full_name": "Eve",
                                                                   "password": "short"})
    assert weak.status_code == 422 and "password" in weak.text
    assert client.post("/api/v1/parties", headers=h["secas"], json={"name": "Extra Ltd", "party_category": "other",
                                                                    "colour": "red"}).status_code == 422


def test_duplicates_are_conflicts_and_unknown_organisations_not_found(client, h, session):
    dup = client.post("/api/v1/parties", headers=h["secas"], json={"name": "big energy PLC",
                                                                   "party_category": "large_supplier"})
    assert dup.status_code == 409 and "already exists" in dup.json()["error"]
    big_id = session.scalar(select(Organisation.id).where(Organisation.name == "Big Energy plc"))
    eui = {"eui64": "90-B3-D5-1F-30-01-00-00", "roles": ["IS"]}
    _ok(client.post(f"/api/v1/parties/{big_id}/dcc-users", headers=h["secas"], json=eui), 201)
    assert client.post(f"/api/v1/parties/{big_id}/dcc-users", headers=h["secas"], json=eui).status_code == 409
    assert client.post("/api/v1/parties/999999/dcc-users", headers=h["secas"], json=eui).status_code == 404
    taken = client.post("/api/v1/people", headers=h["secas"], json={"username": "bob", "full_name": "Bob Two"})
    assert taken.status_code == 409 and "taken" in taken.json()["error"]
    nowhere = client.post("/api/v1/people", headers=h["secas"], json={"username": "nina", "full_name": "Nina",
                                                                      "organisation": "Nowhere Ltd"})
    assert nowhere.status_code == 404 and "No organisation called 'Nowhere Ltd'" in nowhere.json()["error"]


def test_who_am_i(client, h):
    me = _ok(client.get("/api/v1/people/me", headers=h["party"]))
    assert me["username"] == "bob" and me["organisation"] == "Big Energy plc" and me["roles"] == ["party_user"]

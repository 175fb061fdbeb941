"""One organisation look-up (parties.service.find_organisation) behind every door that takes an organisation's name."""

from __future__ import annotations

import pytest

from gbsmart.core.errors import NotFound
from gbsmart.models.parties import Organisation
from gbsmart.parties.service import find_organisation, no_such_organisation, organisation_by_name

UNKNOWN = "No Such Energy"


@pytest.fixture
def big(world, session) -> Organisation:
    org = world.org("Big Energy plc", category="large_supplier")
    org.short_name = "BEP"
    session.commit()
    return org


def _doors(client, headers, name: str) -> dict[str, object]:
    """Name ``name`` as the organisation at each door: raise a Draft Proposal for it, give it a committee, add a
    person of it."""
    return {
        "change": client.post("/api/v1/proposals", headers=headers, json={
            "title": "Alerts within 60 seconds", "problem_statement": "The DCC cannot meet the obligation today.",
            "proposer_organisation": name}),
        "committees": client.post("/api/v1/committees", headers=headers, json={
            "code": "OPSG", "name": "Operations Group", "organisation": name}),
        "parties": client.post("/api/v1/people", headers=headers, json={
            "username": "pat", "full_name": "Pat Jones", "organisation": name}),
    }


def test_every_door_finds_an_organisation_by_its_short_name_in_any_case(client, world, big):
    secas = world.user("secas", "code_administrator", org=world.org("SECAS", kind="secas"))
    answers = _doors(client, secas, " bep ")
    assert {door: r.status_code for door, r in answers.items()} == {"change": 201, "committees": 201, "parties": 201}
    assert answers["change"].json()["proposer"] == "Big Energy plc"
    assert answers["parties"].json()["organisation"] == "Big Energy plc"


def test_every_door_gives_the_one_answer_for_an_unknown_organisation(client, world, big):
    secas = world.user("secas", "code_administrator", org=world.org("SECAS", kind="secas"))
    answers = _doors(client, secas, UNKNOWN)
    assert {door: (r.status_code, r.json()["error"]) for door, r in answers.items()} == {
        door: (404, no_such_organisation(UNKNOWN)) for door in ("change", "committees", "parties")}
    assert "`gbsmart parties list`" in no_such_organisation(UNKNOWN)


def test_full_name_first_then_short_name_and_a_shared_short_name_names_none(world, session, big):
    assert find_organisation(session, "BIG ENERGY PLC") is big
    other = world.org("BEP", category="other")  # a full name that is another's short name wins
    assert find_organisation(session, "bep") is other
    for name in ("Huge Power Ltd", "Huge Power Trading"):
        world.org(name, category="large_supplier").short_name = "HP"
    session.commit()
    assert find_organisation(session, "hp") is None
    assert find_organisation(session, "  ") is None and find_organisation(session, None) is None
    with pytest.raises(NotFound, match="`gbsmart parties list`"):
        organisation_by_name(session, "hp")

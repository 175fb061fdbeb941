"""A Party administrator manages its own organisation's people and their SSI roles (issue 15 point 2), through the
API, the page and the CLI alike; never another organisation's, never a role outside the SSI's, never the last
administrator away. The Code Administrator may for any organisation. Every change is audited."""

from __future__ import annotations

import re

from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.cli import app as cli
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.parties import Person
from tests.conftest import TEST_PASSWORD

runner = CliRunner()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _roles(session, username: str) -> set[str]:
    session.expire_all()
    return session.scalar(select(Person).where(Person.username == username)).roles


def test_a_party_administrator_adds_a_colleague_grants_aro_and_cannot_touch_another_organisation(client, world,
                                                                                                   session):
    supplier, network = world.org("Supplier Ltd"), world.org("Network Ltd")
    admin = world.user("admin", "party_user", "party_administrator", org=supplier)
    world.person("bob", "party_user", org=supplier)
    world.person("nina", "party_user", org=network)
    base = f"/api/v1/organisations/{supplier.id}/people"

    listed = client.get(base, headers=admin)
    assert listed.status_code == 200 and [p["username"] for p in listed.json()] == ["admin", "bob"]
    added = client.post(base, headers=admin, json={"username": "carol", "full_name": "Carol Jones",
                                                   "email": "carol@supplier.example", "password": TEST_PASSWORD})
    assert added.status_code == 201 and added.json()["roles"] == ["party_user"]
    granted = client.post(f"{base}/bob/roles", headers=admin, json={"role": "authorised_responsible_officer"})
    assert granted.status_code == 200
    assert granted.json()["roles"] == ["authorised_responsible_officer", "party_user"]
    assert not granted.json()["second_factor"]  # bob will be sent to enrol at his next sign-in

    # another organisation: refused, nothing changed
    other = f"/api/v1/organisations/{network.id}/people"
    assert client.get(other, headers=admin).status_code == 403
    refused = client.post(f"{other}/nina/roles", headers=admin, json={"role": "senior_responsible_officer"})
    assert refused.status_code == 403 and "Party administrator" in refused.json()["error"]
    assert _roles(session, "nina") == {"party_user"}
    # a colleague of another organisation, named in one's own: not found, the same words as an unknown name
    assert client.post(f"{base}/nina/roles", headers=admin, json={"role": "party_user"}).status_code == 404
    # roles outside the SSI's
    for role in ("code_administrator", "dcc", "panel_member", "committee_member", "authority"):
        bad = client.post(f"{base}/bob/roles", headers=admin, json={"role": role})
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "role"
    assert client.post(base, headers=admin, json={"username": "eve", "full_name": "Eve", "password": TEST_PASSWORD,
                                                  "roles": ["code_administrator"]}).status_code == 422
    assert session.scalar(select(Person).where(Person.username == "eve")) is None

    # a party user who is not its administrator
    bob = world.token(session.scalar(select(Person).where(Person.username == "bob")))
    assert client.get(base, headers=bob).status_code == 403

    actions = [r.action for r in session.scalars(select(ChangeRecord).order_by(ChangeRecord.id))]
    assert actions.count("person.create") == 1 and actions.count("person.grant_role") == 1


def test_the_last_administrator_stays_and_a_deactivated_person_cannot_sign_in(client, world, session):
    supplier = world.org("Supplier Ltd")
    admin = world.user("admin", "party_user", "party_administrator", org=supplier)
    world.person("bob", "party_user", org=supplier)
    base = f"/api/v1/organisations/{supplier.id}/people"

    last = client.delete(f"{base}/admin/roles/party_administrator", headers=admin)
    assert last.status_code == 409 and "last Party administrator" in last.json()["error"]
    assert client.post(f"{base}/admin/deactivate", headers=admin).status_code == 409
    assert client.post(f"{base}/bob/roles", headers=admin, json={"role": "party_administrator"}).status_code == 200
    assert client.delete(f"{base}/admin/roles/party_administrator", headers=admin).status_code == 200
    assert _roles(session, "admin") == {"party_user"}
    assert client.get(base, headers=admin).status_code == 403  # no longer its administrator

    bob = world.token(session.scalar(select(Person).where(Person.username == "bob")))
    page = client.get("/login")
    client.post("/login", data={"username": "admin", "password": TEST_PASSWORD, "csrf_token": _csrf(page.text)})
    assert client.get("/").status_code == 200
    done = client.post(f"{base}/admin/deactivate", headers=bob)
    assert done.status_code == 200 and done.json()["active"] is False
    assert client.get("/", follow_redirects=False).status_code == 303  # the session ended at once
    assert client.post(f"{base}/admin/reactivate", headers=bob).json()["active"] is True


def test_the_code_administrator_manages_any_organisation(client, world, session):
    network = world.org("Network Ltd")
    ca = world.user("secas", "code_administrator", org=world.org("SECAS", kind="secas"))
    world.person("nina", "party_user", org=network)
    done = client.post(f"/api/v1/organisations/{network.id}/people/nina/roles", headers=ca,
                       json={"role": "party_administrator"})
    assert done.status_code == 200 and "party_administrator" in done.json()["roles"]


def test_the_page_lists_grants_and_refuses_like_the_api(client, world, session):
    supplier, network = world.org("Supplier Ltd"), world.org("Network Ltd")
    world.person("admin", "party_user", "party_administrator", org=supplier)
    world.person("bob", "party_user", org=supplier)
    world.person("nina", "party_user", org=network)
    page = client.get("/login")
    client.post("/login", data={"username": "admin", "password": TEST_PASSWORD, "csrf_token": _csrf(page.text)})
    party = client.get(f"/parties/{supplier.id}")
    assert 'id="manage-people"' in party.text
    assert 'id="manage-people"' not in client.get(f"/parties/{network.id}").text

    people = client.get("/ssi/people")
    assert people.status_code == 200 and 'id="person-bob"' in people.text and "nina" not in people.text
    token = _csrf(people.text)
    granted = client.post(f"/ssi/people/{supplier.id}/bob/grant", follow_redirects=True,
                          data={"csrf_token": token, "role": "senior_responsible_officer"})
    assert granted.status_code == 200 and 'id="people-changed"' in granted.text
    assert _roles(session, "bob") == {"party_user", "senior_responsible_officer"}
    bad = client.post(f"/ssi/people/{supplier.id}/bob/grant", data={"csrf_token": token, "role": "dcc"})
    assert bad.status_code == 422 and "not an SSI role" in bad.text
    added = client.post(f"/ssi/people/{supplier.id}/add", follow_redirects=True,
                        data={"csrf_token": token, "username": "carol", "full_name": "Carol Jones",
                              "password": TEST_PASSWORD, "roles": ["party_user", "authorised_responsible_officer"]})
    assert added.status_code == 200 and 'id="people-added"' in added.text
    assert _roles(session, "carol") == {"party_user", "authorised_responsible_officer"}
    short = client.post(f"/ssi/people/{supplier.id}/add", data={"csrf_token": token, "username": "dan",
                                                                "full_name": "Dan", "password": "short"})
    assert short.status_code == 422 and session.scalar(select(Person).where(Person.username == "dan")) is None
    assert client.get(f"/ssi/people?organisation={network.id}").status_code == 403
    other = client.post(f"/ssi/people/{network.id}/nina/grant", data={"csrf_token": token, "role": "party_user"})
    assert other.status_code == 403 and _roles(session, "nina") == {"party_user"}


def test_the_command_line_does_the_same_through_the_same_service(cli_env, world, session):
    supplier, network = world.org("Supplier Ltd"), world.org("Network Ltd", kind="sec_party")
    world.person("admin", "party_user", "party_administrator", org=supplier)
    world.person("bob", "party_user", org=supplier)
    world.person("nina", "party_user", org=network)

    done = runner.invoke(cli, ["people", "grant", "Supplier Ltd", "bob", "authorised_responsible_officer",
                               "--as", "admin"])
    assert done.exit_code == 0, done.output
    assert _roles(session, "bob") == {"party_user", "authorised_responsible_officer"}
    refused = runner.invoke(cli, ["people", "grant", "Network Ltd", "nina", "senior_responsible_officer",
                                  "--as", "admin"])
    assert refused.exit_code == 1 and "Party administrator" in refused.output and "Nothing was saved" in refused.output
    assert _roles(session, "nina") == {"party_user"}
    added = runner.invoke(cli, ["people", "add", "Supplier Ltd", "carol", "--name", "Carol Jones", "--role",
                                "party_user", "--password-stdin", "--as", "admin"], input=TEST_PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, ["people", "list", "Supplier Ltd", "--as", "admin"])
    assert listed.exit_code == 0 and "carol" in listed.output and "nina" not in listed.output
    assert runner.invoke(cli, ["people", "revoke", "Supplier Ltd", "admin", "party_administrator",
                               "--as", "admin"]).exit_code == 1

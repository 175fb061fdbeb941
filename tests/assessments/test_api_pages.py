"""The API, the pages and the CLI of assessments answer alike: RED details for the SSC, SECAS and the assessed
User only (404 for others), field-level messages for bad input, the calendar of next year."""

from __future__ import annotations

import re

from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.assessments.cli import app as assessments_cli
from gbsmart.models.assessments import SecurityAssessment
from gbsmart.models.parties import Person
from tests.conftest import TEST_PASSWORD
from tests.web.test_auth import _csrf

runner = CliRunner()


def _token(world, session, username: str) -> dict[str, str]:
    return world.token(session.scalar(select(Person).where(Person.username == username)))


def _ref(session, org_name: str, kind: str) -> str:
    rows = session.scalars(select(SecurityAssessment).where(SecurityAssessment.kind == kind)).all()
    return next(a.reference for a in rows if a.user.organisation.name == org_name)


def test_the_api_shows_a_party_its_own_findings_and_nobody_elses(demo, client, world, session):
    one, large, secas = (_token(world, session, u) for u in ("supplier1", "large", "secas"))
    mine = _ref(session, "Example Supplier One Ltd", "full")
    theirs = _ref(session, "Example Distribution Fourteen plc", "verification")
    r = client.get(f"/api/v1/assessments/{mine}", headers=one)
    assert r.status_code == 200 and len(r.json()["findings"]) == 2 and r.json()["decisions"][0]["status"] == \
        "approved_with_conditions"
    assert client.get(f"/api/v1/assessments/{theirs}", headers=one).status_code == 404
    assert client.get(f"/api/v1/assessments/{theirs}", headers=large).status_code == 404
    assert client.get(f"/api/v1/assessments/{theirs}", headers=secas).json()["findings"][0]["severity"] == "medium"
    listed = client.get("/api/v1/assessments", headers=one, params={"q": "firewall"}).json()
    assert listed["items"] == [] and listed["counts"] == {}
    csv_text = client.get("/api/v1/assessments/export.csv", headers=one).text
    assert "Example Supplier One Ltd" in csv_text and "Fourteen" not in csv_text
    assert client.get("/api/v1/assessments/export.csv", headers=large).text.count("\n") == 1  # the header only
    counts = client.get("/api/v1/assessments/counts", headers=large, params={"start": "2020-01-01",
                                                                            "end": "2020-01-31"}).json()
    assert (counts["initial_fusa"], counts["later_fusa"], counts["ssa"]) == (1, 2, 5)
    assert client.get("/api/v1/assessments").status_code == 401


def test_the_api_refuses_bad_input_with_the_field_named(demo, client, world, session):
    secas, large = _token(world, session, "secas"), _token(world, session, "large")
    body = {"user": "Example Supplier One Ltd", "kind": "verification", "start_date": "2021-03-05", "assessor": "CIO"}
    r = client.post("/api/v1/assessments", headers=secas, json=body)
    assert r.status_code == 422 and "not allowed for Example Supplier One Ltd in year 3" in r.json()["error"]
    assert r.json()["detail"][0]["field"] == "kind"
    assert client.post("/api/v1/assessments", headers=large, json={**body, "kind": "self"}).status_code == 403
    r = client.post("/api/v1/assessments/letters", headers=secas,
                    json={"assessment": "USA-2099-001", "received_on": "2020-01-01"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "assessment"
    r = client.post("/api/v1/assessments", headers=secas, json={**body, "kind": "follow_up"})
    assert r.status_code == 422 and "names the assessment it follows" in str(r.json())


def _sign_in(client, username: str, password: str) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": _csrf(page.text),
                                    "next": "/assessments"}, follow_redirects=False)
    assert r.status_code == 303, r.text


def test_the_pages_show_each_reader_what_they_may_see(demo, client, world, session):
    from gbsmart.core.security import hash_password

    for username in ("supplier1", "secas"):
        session.scalar(select(Person).where(Person.username == username)).password_hash = hash_password(TEST_PASSWORD)
    session.commit()
    _sign_in(client, "supplier1", TEST_PASSWORD)
    page = client.get("/assessments").text
    assert "Example Supplier One Ltd" in page and "Fourteen" not in page and "Record an assessment" not in page
    assert re.search(r'id="m-2020-01".*?<td>1</td><td>0</td><td>2</td><td>0</td><td>5</td>', page, re.S)
    theirs = _ref(session, "Example Distribution Fourteen plc", "verification")
    assert client.get(f"/assessments/{theirs}").status_code == 404
    mine = _ref(session, "Example Supplier One Ltd", "full")
    detail = client.get(f"/assessments/{mine}")
    assert detail.status_code == 200 and "Privileged access" in detail.text and detail.headers["cache-control"] == \
        "no-store"
    cal = client.get("/assessments/calendar").text
    assert "What each User owes in 2021" in cal and "Example Supplier One Ltd" in cal  # the test clock is 2020
    assert "Example Networks Two plc" not in cal
    client.post("/logout", data={"csrf_token": _csrf(client.get("/assessments").text)})

    _sign_in(client, "secas", TEST_PASSWORD)
    page = client.get("/assessments").text
    assert "Record an assessment" in page
    r = client.post("/assessments", data={"csrf_token": _csrf(page), "user": "Example Supplier One Ltd",
                                          "kind": "verification", "start_date": "2021-03-05", "assessor": "CIO"})
    assert r.status_code == 422 and "Nothing was saved" in r.text and 'id="err-kind"' in r.text
    assert "Example Networks Two plc" in client.get("/assessments/calendar").text


def test_the_cli_answers_as_the_api_does(demo, cli_env, session):
    r = runner.invoke(assessments_cli, ["list", "--as", "supplier1"])
    assert r.exit_code == 0 and "Example Supplier One Ltd" in r.output and "Fourteen" not in r.output
    r = runner.invoke(assessments_cli, ["calendar", "--as", "supplier1", "--year", "2027"])
    assert r.exit_code == 0 and "2027-03-01" in r.output and "Security Self-Assessment" in r.output
    r = runner.invoke(assessments_cli, ["record", "Example Supplier One Ltd", "--as", "secas", "--kind",
                                        "verification", "--start", "2021-03-05", "--assessor", "CIO"])
    assert r.exit_code == 1 and "not allowed for Example Supplier One Ltd in year 3" in r.output
    theirs = _ref(session, "Example Distribution Fourteen plc", "verification")
    r = runner.invoke(assessments_cli, ["show", theirs, "--as", "supplier1"])
    assert r.exit_code == 1 and "No assessment" in r.output
    r = runner.invoke(assessments_cli, ["counts", "--as", "large", "--from", "2020-01-01", "--to", "2020-01-31"])
    assert r.exit_code == 0 and "reviewed five Security Self-Assessments in January 2020" in r.output

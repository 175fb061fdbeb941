"""Sign-in, sessions, CSRF and bearer tokens: every endpoint is authenticated."""

from __future__ import annotations

import re

import pytest

from gbsmart.core.security import hash_password, verify_password
from tests.conftest import TEST_PASSWORD


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username: str, password: str = TEST_PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": _csrf(page.text),
                                       "next": "/proposals"}, follow_redirects=False)


def test_passwords_are_argon2_hashed():
    h = hash_password("s3cret-passphrase")
    assert h.startswith("$argon2id$") and "s3cret" not in h
    assert verify_password(h, "s3cret-passphrase") and not verify_password(h, "wrong")


def test_outside_the_test_suite_passwords_get_argon2ids_full_cost(monkeypatch):
    """The suite's cheap hashes (INSECURE_TEST_HASHES) are its own: without the variable, the default parameters."""
    from gbsmart.core import security

    cheap = hash_password("s3cret-passphrase")
    assert "m=8,t=1,p=1" in cheap
    monkeypatch.delenv(security.INSECURE_TEST_HASHES)
    security._hasher.cache_clear()
    try:
        full = hash_password("s3cret-passphrase")
        assert "m=65536,t=3,p=4" in full
        assert verify_password(cheap, "s3cret-passphrase") and verify_password(full, "s3cret-passphrase")
    finally:
        security._hasher.cache_clear()


def test_pages_redirect_to_sign_in(client):
    r = client.get("/proposals", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fproposals"


def test_sign_in_and_out(client, world):
    world.person("secas", "code_administrator")
    r = login(client, "secas", "wrong password")
    assert r.status_code == 401 and "Unknown username or wrong password" in r.text
    r = login(client, "secas")
    assert r.status_code == 303 and r.headers["location"] == "/proposals"
    page = client.get("/proposals")
    assert page.status_code == 200 and "Draft and Modification Proposals" in page.text
    client.post("/logout", data={"csrf_token": _csrf(page.text)})
    assert client.get("/proposals", follow_redirects=False).status_code == 303


def test_sign_in_refuses_offsite_next(client, world):
    world.person("secas", "code_administrator")
    page = client.get("/login")
    r = client.post("/login", data={"username": "secas", "password": TEST_PASSWORD, "csrf_token": _csrf(page.text),
                                    "next": "https://evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_forms_need_the_csrf_token(client, world):
    world.person("secas", "code_administrator")
    assert login(client, "secas").status_code == 303
    r = client.post("/proposals/new", data={"title": "A proposal title", "problem_statement": "x" * 30})
    assert r.status_code == 403 and "CSRF" in r.text
    # the session may call the API only with the token in a header
    r = client.post("/api/v1/proposals", json={"title": "A proposal title", "problem_statement": "x" * 30})
    assert r.status_code == 403
    token = _csrf(client.get("/proposals/new").text)
    r = client.post("/api/v1/proposals", json={"title": "A proposal title", "problem_statement": "x" * 30},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 201


def test_login_form_itself_needs_csrf(client, world):
    world.person("secas", "code_administrator")
    r = client.post("/login", data={"username": "secas", "password": TEST_PASSWORD})
    assert r.status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/proposals", "/api/v1/parties", "/api/v1/register", "/api/v1/releases",
                                  "/api/v1/people/me", "/api/v1/register.csv"])
def test_api_needs_a_token(client, path):
    r = client.get(path)
    assert r.status_code == 401 and r.json()["error"]


def test_expired_and_unknown_tokens(client, world, clock):
    headers = world.user("bob", "party_user")
    assert client.get("/api/v1/people/me", headers=headers).json()["username"] == "bob"
    clock.advance(days=2)  # tokens from World last one day
    assert client.get("/api/v1/people/me", headers=headers).status_code == 401
    clock.advance(days=-2)
    assert client.get("/api/v1/people/me", headers={"Authorization": "Bearer gbs_forged"}).status_code == 401


def test_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["info"]["title"] == "gbsmart"
    assert "/api/v1/change-board/tally" in doc["paths"] and "/api/v1/proposals/{reference}/steps" in doc["paths"]


def test_disabled_account_is_refused(client, world, session):
    headers = world.user("carol", "party_user")
    from gbsmart.models.parties import Person

    carol = session.query(Person).filter_by(username="carol").one()
    carol.is_active = False
    session.commit()
    assert client.get("/api/v1/people/me", headers=headers).status_code == 403

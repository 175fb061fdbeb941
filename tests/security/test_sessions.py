"""Issue 8, item 6: a copied portal cookie must die with the session (sign-out, password change, revocation,
idle and absolute expiry), and the cookie is Secure unless the installation turns that off."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from gbsmart.app import create_app
from gbsmart.cli import app as cli_app
from gbsmart.config import Settings
from gbsmart.core.cli_support import set_clock
from gbsmart.core.clock import SystemClock
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.change import Proposal
from tests.web.test_auth import _csrf, login

COOKIE = "gbsmart_session"
NEW_PROPOSAL = {"title": "A proposal title", "problem_statement": "x" * 30}
NEW_PASSWORD = "a brand new passphrase"
runner = CliRunner()


@pytest.fixture
def cli_env(cli_env, clock):
    """The shared CLI environment, on the test's clock (the app's too)."""
    set_clock(clock)
    yield cli_env
    set_clock(SystemClock())


def cli(*args: str, input: str | None = None):  # noqa: A002
    return runner.invoke(cli_app, list(args), input=input, catch_exceptions=False)


def count(session, model) -> int:
    session.rollback()  # see what the app committed
    return session.scalar(select(func.count()).select_from(model))


def signed_in(client, username: str) -> tuple[str, str]:
    """Sign in through the real form; the session cookie and the CSRF token its pages carry."""
    r = login(client, username)
    assert r.status_code == 303, r.text
    token = _csrf(client.get("/proposals/new").text)
    return client.cookies.get(COOKIE), token


def assert_replay_refused(client, session, cookie: str, token: str) -> None:
    """Replay a copied cookie (and the CSRF token seen with it): pages go to sign-in, the API says 401."""
    before = count(session, Proposal)
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    page = client.get("/proposals", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    client.cookies.set(COOKIE, cookie)
    me = client.get("/api/v1/people/me")
    assert me.status_code == 401 and "Sign in first" in me.json()["error"]
    client.cookies.set(COOKIE, cookie)
    write = client.post("/api/v1/proposals", json=NEW_PROPOSAL, headers={"X-CSRF-Token": token})
    assert write.status_code == 401
    assert count(session, Proposal) == before
    client.cookies.clear()


def test_a_copied_cookie_is_dead_after_sign_out(client, world, session):
    world.person("secas", "code_administrator")
    cookie, token = signed_in(client, "secas")
    assert client.get("/api/v1/people/me").json()["username"] == "secas"
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert_replay_refused(client, session, cookie, token)


def test_signing_in_again_ends_the_previous_session(client, world, session):
    world.person("secas", "code_administrator")
    world.person("bob", "party_user")
    cookie, token = signed_in(client, "secas")
    assert login(client, "bob").status_code == 303  # the sign-in form, from a signed-in browser
    assert client.get("/api/v1/people/me").json()["username"] == "bob"
    assert_replay_refused(client, session, cookie, token)


def test_a_password_change_ends_every_session_of_that_person(client, world, session, cli_env):
    world.person("secas", "code_administrator")
    first, first_token = signed_in(client, "secas")
    client.cookies.clear()
    second, second_token = signed_in(client, "secas")
    assert first != second
    # the password is read from a prompt (or stdin), never from the command line
    assert cli("users", "set-password", "secas", "--password", NEW_PASSWORD).exit_code != 0
    r = cli("users", "set-password", "secas", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert "ended 2 portal sessions" in r.output
    assert_replay_refused(client, session, first, first_token)
    assert_replay_refused(client, session, second, second_token)
    assert login(client, "secas").status_code == 401  # the old password no longer works
    assert login(client, "secas", NEW_PASSWORD).status_code == 303


def test_the_code_administrator_revokes_a_session_through_the_api(client, world, session):
    admin = world.user("secas", "code_administrator")
    other = world.user("carol", "party_user")
    world.person("bob", "party_user")
    cookie, token = signed_in(client, "bob")
    client.cookies.clear()
    listed = client.get("/api/v1/sessions", params={"user": "bob"}, headers=admin)
    assert listed.status_code == 200, listed.text
    [bobs] = listed.json()
    assert bobs["username"] == "bob" and bobs["user_agent"] == "testclient"
    # only the Code Administrator may: bob's session survives carol's attempt
    refused = client.delete(f"/api/v1/sessions/{bobs['id']}", headers=other)
    assert refused.status_code == 403 and "Code Administrator" in refused.json()["error"]
    client.cookies.set(COOKIE, cookie)
    assert client.get("/api/v1/people/me").json()["username"] == "bob"
    client.cookies.clear()
    r = client.delete(f"/api/v1/sessions/{bobs['id']}", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert_replay_refused(client, session, cookie, token)
    assert session.scalars(select(ChangeRecord.actor_name).where(ChangeRecord.action == "session.revoke")).all() == [
        "secas"]


def test_revoking_everything_a_person_holds_through_the_api(client, world, session):
    admin = world.user("secas", "code_administrator")
    world.person("bob", "party_user")
    cookie, token = signed_in(client, "bob")
    client.cookies.clear()
    r = client.post("/api/v1/people/bob/sessions/revoke", headers=admin)
    assert r.status_code == 200 and r.json() == {"username": "bob", "revoked": 1}
    assert_replay_refused(client, session, cookie, token)


def test_the_code_administrator_revokes_sessions_from_the_cli(client, world, session, cli_env):
    world.person("bob", "party_user")
    cookie, token = signed_in(client, "bob")
    listed = cli("sessions", "list", "--user", "bob")
    assert listed.exit_code == 0 and "bob" in listed.output and "testclient" in listed.output
    r = cli("sessions", "revoke", "--user", "bob")
    assert r.exit_code == 0 and "revoked 1 portal session" in r.output
    assert_replay_refused(client, session, cookie, token)
    assert "0 portal sessions" in cli("sessions", "list", "--user", "bob").output


def test_an_idle_session_and_an_old_session_end(client, world, session, clock, settings):
    world.person("secas", "code_administrator")
    cookie, token = signed_in(client, "secas")
    clock.advance(seconds=settings.session_idle_seconds + 1)
    assert_replay_refused(client, session, cookie, token)
    # kept busy, a session still ends at its absolute expiry
    cookie, token = signed_in(client, "secas")
    step, elapsed = settings.session_idle_seconds // 2, 0
    while elapsed + step < settings.session_max_age_seconds:
        clock.advance(seconds=step)
        elapsed += step
        assert client.get("/proposals", follow_redirects=False).status_code == 200
    clock.advance(seconds=settings.session_max_age_seconds - elapsed + 1)
    assert_replay_refused(client, session, cookie, token)


@pytest.mark.parametrize("secure", [None, False], ids=["default", "off"])
def test_the_cookie_is_secure_by_default(secure, settings, clock, engine, world, monkeypatch):
    monkeypatch.delenv("GBSMART_SESSION_COOKIE_SECURE", raising=False)  # the tests' plain-http switch
    world.person("secas", "code_administrator")
    configured = Settings(data_dir=settings.data_dir, database_url=settings.database_url,
                          secret_key="test-secret-key-not-for-production",
                          **({} if secure is None else {"session_cookie_secure": secure}))
    app = create_app(settings=configured, clock=clock, engine=engine)
    with TestClient(app, base_url="https://testserver" if secure is None else "http://testserver") as c:
        r = login(c, "secas")
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert ("; secure" in cookie) is (secure is None)
        assert c.get("/proposals").status_code == 200


def test_cookie_authenticated_api_writes_still_need_the_csrf_header(client, world, session):
    world.person("secas", "code_administrator")
    cookie, token = signed_in(client, "secas")
    r = client.post("/api/v1/proposals", json=NEW_PROPOSAL)
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["error"]
    r = client.post("/api/v1/proposals", json=NEW_PROPOSAL, headers={"X-CSRF-Token": "not-the-token"})
    assert r.status_code == 403
    assert count(session, Proposal) == 0
    r = client.post("/api/v1/proposals", json=NEW_PROPOSAL, headers={"X-CSRF-Token": token})
    assert r.status_code == 201
    # a new session has a new token: the old one is worth nothing
    client.post("/logout", data={"csrf_token": token})
    signed_in(client, "secas")
    r = client.post("/api/v1/proposals", json=NEW_PROPOSAL, headers={"X-CSRF-Token": token})
    assert r.status_code == 403 and count(session, Proposal) == 1

"""Issue 8, item 9: repeated wrong passwords lock the account (and the address) for a while, the lock is
audited and can be cleared on the machine, and an unknown username costs the same Argon2 work as a known one."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from gbsmart.app import create_app
from gbsmart.cli import app as cli_app
from gbsmart.core.cli_support import set_clock
from gbsmart.core.clock import SystemClock
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.sessions import WebSession
from tests.web.test_auth import login

ACCOUNT_LOCKED = "Too many failed sign-ins for this account; try again in 15 minutes or ask the Code Administrator"
runner = CliRunner()


@pytest.fixture
def cli_env(cli_env, clock):
    """The shared CLI environment, on the test's clock (the app's too)."""
    set_clock(clock)
    yield cli_env
    set_clock(SystemClock())


def audit(session, action: str) -> list[ChangeRecord]:
    session.rollback()  # see what the app committed
    return list(session.scalars(select(ChangeRecord).where(ChangeRecord.action == action).order_by(ChangeRecord.id)))


def sessions_held(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(WebSession))


def fail_times(client, username: str, n: int) -> None:
    for _ in range(n):
        r = login(client, username, "a wrong password")
        assert r.status_code == 401 and "Unknown username or wrong password." in r.text


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(client, world, session, settings):
    world.person("secas", "code_administrator")
    fail_times(client, "secas", settings.signin_account_max_failures)
    r = login(client, "secas")  # the right password, too late
    assert r.status_code == 429 and ACCOUNT_LOCKED in r.text
    assert 0 < int(r.headers["retry-after"]) <= settings.signin_account_window_seconds
    assert client.get("/proposals", follow_redirects=False).status_code == 303
    assert sessions_held(session) == 0
    [locked] = audit(session, "sign_in.locked")
    assert (locked.object_type, locked.object_id) == ("sign_in_account", "secas")
    [throttled] = audit(session, "sign_in.throttled")
    assert throttled.object_id == "secas" and throttled.after["address"] == "testclient"


def test_an_unknown_username_locks_the_same_way(client, world, settings):
    fail_times(client, "nobody", settings.signin_account_max_failures)
    r = login(client, "nobody")
    assert r.status_code == 429 and ACCOUNT_LOCKED in r.text


def test_the_lock_lifts_when_the_window_has_passed(client, world, clock, settings):
    world.person("secas", "code_administrator")
    fail_times(client, "secas", settings.signin_account_max_failures)
    clock.advance(seconds=settings.signin_account_window_seconds - 60)
    assert login(client, "secas").status_code == 429
    clock.advance(seconds=60)
    assert login(client, "secas").status_code == 303


def test_a_successful_sign_in_resets_the_account_counter(client, world, settings):
    world.person("secas", "code_administrator")
    fail_times(client, "secas", settings.signin_account_max_failures - 1)
    assert login(client, "secas").status_code == 303
    fail_times(client, "secas", settings.signin_account_max_failures - 1)
    assert login(client, "secas").status_code == 303


def test_one_address_trying_many_usernames_is_stopped(settings, clock, engine, world, session):
    world.person("secas", "code_administrator")
    tight = settings.model_copy(update={"signin_address_max_failures": 8})
    with TestClient(create_app(settings=tight, clock=clock, engine=engine)) as c:
        for n in range(8):
            fail_times(c, f"guess{n}", 1)
        r = login(c, "secas")
        assert r.status_code == 429
        assert "Too many failed sign-ins from your address; try again in 15 minutes" in r.text
        assert int(r.headers["retry-after"]) > 0
    assert sessions_held(session) == 0
    [locked] = audit(session, "sign_in.locked")
    assert (locked.object_type, locked.object_id) == ("sign_in_address", "testclient")
    assert [t.object_type for t in audit(session, "sign_in.throttled")] == ["sign_in_address"]


def test_the_cli_clears_a_lock(client, world, session, settings, cli_env):
    world.person("secas", "code_administrator")
    fail_times(client, "secas", settings.signin_account_max_failures)
    assert login(client, "secas").status_code == 429
    r = runner.invoke(cli_app, ["users", "unlock", "secas"], catch_exceptions=False)
    assert r.exit_code == 0 and "cleared 5 failed sign-ins for secas" in r.output, r.output
    assert login(client, "secas").status_code == 303
    assert [a.object_id for a in audit(session, "sign_in.unlock")] == ["secas"]


@pytest.fixture
def argon2_verify_calls(monkeypatch) -> list[str]:
    """Count what argon2 is asked to verify: the hash's parameters (type, version, cost) per call."""
    calls: list[str] = []
    real = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        calls.append("$".join(str(hash).split("$")[1:4]))
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


def test_an_unknown_username_costs_the_same_argon2_work(client, world, session, argon2_verify_calls):
    known = world.person("secas", "code_administrator")
    disabled = world.person("carol", "party_user")
    disabled.is_active = False
    session.commit()
    argon2_verify_calls.clear()
    for username in ("secas", "nobody", "carol"):
        assert login(client, username, "a wrong password").status_code == 401
    assert len(argon2_verify_calls) == 3
    assert set(argon2_verify_calls) == {"$".join(known.password_hash.split("$")[1:4])}

"""The TOTP second factor (issue 15): enrolment confirmed by a code, sign-in in two steps where the password alone
never gives a usable session, wrong and replayed codes refused and counted in the sign-in throttle, officers sent to
enrol before anything else, API tokens, turning it off and the Code Administrator's reset."""

from __future__ import annotations

import re

import pyotp
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from typer.testing import CliRunner

from gbsmart.cli import app as cli
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.errors import Conflict, Forbidden, Unauthorised
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.parties import Person
from gbsmart.models.sessions import SignInFailure, WebSession
from gbsmart.parties import second_factor
from tests.conftest import TEST_PASSWORD, TEST_TOTP_SECRET, totp_code


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _password(client, username: str, next_: str = "/"):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": _csrf(page.text),
                                       "next": next_}, follow_redirects=False)


def _code(client, code: str, next_: str = "/"):
    form = client.get("/login/code")
    return client.post("/login/code", data={"code": code, "csrf_token": _csrf(form.text), "next": next_},
                       follow_redirects=False)


def _as(session, clock, settings, person: Person) -> Ctx:
    return Ctx(session=session, actor=Actor.of(person), clock=clock, settings=settings)


def _failures(session, username: str) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(SignInFailure).where(SignInFailure.username == username))


def test_a_person_enrols_with_a_code_and_then_signs_in_in_two_steps(client, world, session, clock):
    world.person("pat", "party_user", org=world.org("Supplier Ltd"))
    assert _password(client, "pat").headers["location"] == "/"  # no second factor yet: one step
    page = client.get("/account/second-factor")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)
    assert "<svg" in page.text and f"secret={secret}" in page.text  # the QR code and the otpauth URI
    assert client.get("/account/second-factor").text.count(secret) >= 1  # a reload keeps the secret the app holds

    wrong = client.post("/account/second-factor/confirm", data={"code": "000000", "csrf_token": _csrf(page.text)})
    assert wrong.status_code == 401 and "not right" in wrong.text
    session.expire_all()
    assert session.scalar(select(Person.totp_enabled_at).where(Person.username == "pat")) is None  # still off
    now_code = pyotp.TOTP(secret).at(clock.now())
    on = client.post("/account/second-factor/confirm", data={"code": now_code, "csrf_token": _csrf(page.text)},
                     follow_redirects=False)
    assert on.status_code == 303
    session.expire_all()
    assert session.scalar(select(Person.totp_enabled_at).where(Person.username == "pat")) == clock.now()
    home = client.get("/")
    client.post("/logout", data={"csrf_token": _csrf(home.text)})

    step_one = _password(client, "pat", "/parties")
    assert step_one.headers["location"] == "/login/code?next=%2Fparties"
    # the password alone: no page, no API call
    assert client.get("/parties", follow_redirects=False).headers["location"].startswith("/login/code")
    api = client.get("/api/v1/people/me")
    assert api.status_code == 401 and "authenticator" in api.json()["error"]
    replayed = _code(client, now_code, "/parties")  # the code that turned it on, the same time step
    assert replayed.status_code == 401 and "already used" in replayed.text
    wrong = _code(client, "123456", "/parties")
    assert wrong.status_code == 401 and "not right" in wrong.text
    assert _failures(session, "pat") == 2  # both counted in the sign-in throttle
    assert client.get("/parties", follow_redirects=False).status_code == 303  # still not signed in
    done = _code(client, pyotp.TOTP(secret).at(clock.now(), counter_offset=1), "/parties")  # the app runs ahead
    assert done.status_code == 303 and done.headers["location"] == "/parties"
    assert client.get("/parties").status_code == 200
    assert client.get("/api/v1/people/me").json()["username"] == "pat"
    assert _failures(session, "pat") == 0
    assert session.scalar(select(WebSession.second_factor_at).where(WebSession.revoked_at.is_(None))) == clock.now()


def test_wrong_codes_lock_the_account_like_wrong_passwords(client, world, session, clock, settings):
    world.person("sro", "party_user", "senior_responsible_officer", org=world.org("Supplier Ltd"))
    _password(client, "sro")
    for _ in range(settings.signin_account_max_failures):
        assert _code(client, "999999").status_code == 401
    locked = _code(client, totp_code(clock))
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text and locked.headers["Retry-After"]
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login/code")  # nothing opened
    assert session.scalar(select(func.count()).select_from(ChangeRecord).where(
        ChangeRecord.action == "sign_in.locked")) == 1


def test_a_code_far_off_or_malformed_is_refused_and_a_slow_second_step_must_start_again(client, world, clock):
    world.person("aro", "party_user", "authorised_responsible_officer", org=world.org("Supplier Ltd"))
    _password(client, "aro")
    assert _code(client, totp_code(clock, steps=3)).status_code == 401  # outside valid_window 1
    assert _code(client, "12ab56").status_code == 422
    clock.advance(minutes=11)
    late = _code(client, totp_code(clock))
    assert late.status_code == 401 and "sign in again" in late.text
    assert client.get("/login/code", follow_redirects=False).headers["location"] == "/login"


def test_an_officer_without_a_second_factor_must_enrol_before_anything_else(client, world, session, clock, cli_env):
    aro = world.person("aro", "party_user", "authorised_responsible_officer", org=world.org("Supplier Ltd"))
    aro.totp_secret = aro.totp_enabled_at = None
    session.commit()
    token = world.token(aro)
    refused = client.get("/api/v1/people/me", headers=token)
    assert refused.status_code == 403 and "second factor" in refused.json()["error"]
    made = CliRunner().invoke(cli, ["token", "aro"])
    assert made.exit_code == 1 and "must turn on the second factor" in made.output
    clock.advance(minutes=1)

    enrol = "/account/second-factor?next=%2Fgateway%2Fadt"
    assert _password(client, "aro", "/gateway/adt").headers["location"] == enrol
    assert client.get("/gateway/adt", follow_redirects=False).headers["location"].startswith("/account/second-factor")
    assert client.get("/api/v1/people/me").status_code == 403
    page = client.get("/account/second-factor?next=/gateway/adt")
    assert 'id="enrol-required"' in page.text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)
    on = client.post("/account/second-factor/confirm", follow_redirects=False,
                     data={"code": pyotp.TOTP(secret).at(clock.now()), "next": "/gateway/adt",
                           "csrf_token": _csrf(page.text)})
    assert on.headers["location"] == "/gateway/adt"
    assert client.get("/gateway/adt").status_code == 200  # this browser gave a code: it counts as second factor
    assert client.get("/api/v1/people/me", headers=token).status_code == 200  # the old token works again...
    session.expire_all()
    assert not second_factor.token_counts(aro, aro_token(session, aro))  # ...but does not count as a second factor
    assert CliRunner().invoke(cli, ["token", "aro"]).exit_code == 0


def aro_token(session, person):
    from gbsmart.models.parties import ApiToken

    return session.scalar(select(ApiToken).where(ApiToken.person_id == person.id))


def test_turning_it_off_needs_a_current_code_and_an_officer_cannot(session, world, clock, settings):
    pat = world.person("pat", "party_user")
    ctx = _as(session, clock, settings, pat)
    enrolment = second_factor.enrolment(ctx, pat)
    second_factor.confirm(ctx, pat, pyotp.TOTP(enrolment.secret).at(clock.now()), "1.2.3.4")
    with pytest.raises(Conflict):
        second_factor.enrolment(ctx, pat)
    with pytest.raises(Unauthorised, match="not right"):
        second_factor.disable(ctx, pat, "000000", "1.2.3.4")
    assert second_factor.is_enabled(pat)
    clock.advance(seconds=30)
    second_factor.disable(ctx, pat, pyotp.TOTP(enrolment.secret).at(clock.now()), "1.2.3.4")
    assert not second_factor.is_enabled(pat) and pat.totp_secret is None

    sro = world.person("sro", "senior_responsible_officer")
    with pytest.raises(Forbidden, match="must keep the second factor on"):
        second_factor.disable(_as(session, clock, settings, sro), sro, totp_code(clock), "1.2.3.4")
    with pytest.raises(Forbidden, match="Only the person themselves"):
        second_factor.enrolment(_as(session, clock, settings, sro), pat)
    assert second_factor.unseal(settings, sro.totp_secret) == TEST_TOTP_SECRET  # untouched


def test_the_code_administrator_resets_a_lost_second_factor_audited_and_the_sessions_end(client, world, session,
                                                                                          clock):
    world.person("sro", "party_user", "senior_responsible_officer", org=world.org("Supplier Ltd"))
    clerk = world.user("clerk", "party_user")
    ca = world.user("secas", "code_administrator")
    _password(client, "sro")
    assert _code(client, totp_code(clock)).status_code == 303
    assert client.get("/").status_code == 200
    assert client.post("/api/v1/people/sro/second-factor/reset", headers=clerk).status_code == 403
    reset = client.post("/api/v1/people/sro/second-factor/reset", headers=ca)
    assert reset.status_code == 200 and reset.json() == {"username": "sro", "revoked": 1}
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")  # the session ended
    session.expire_all()
    sro = session.scalar(select(Person).where(Person.username == "sro"))
    assert sro.totp_secret is None and sro.totp_enabled_at is None
    record = session.scalar(select(ChangeRecord).where(ChangeRecord.action == "second_factor.reset"))
    assert record.after["sessions_ended"] == 1
    # next sign-in: straight to enrolment, since an SRO must have one
    assert _password(client, "sro").headers["location"].startswith("/account/second-factor")


def test_the_reset_from_the_command_line(cli_env, world, session):
    world.person("sro", "senior_responsible_officer")
    world.person("clerk", "party_user")
    refused = CliRunner().invoke(cli, ["users", "reset-second-factor", "sro", "--as", "clerk"])
    assert refused.exit_code == 1 and "Only the Code Administrator" in refused.output
    session.expire_all()
    assert session.scalar(select(Person.totp_secret).where(Person.username == "sro")) is not None  # untouched
    done = CliRunner().invoke(cli, ["users", "reset-second-factor", "sro"])
    assert done.exit_code == 0, done.output
    session.expire_all()
    assert session.scalar(select(Person.totp_secret).where(Person.username == "sro")) is None


def test_the_secret_is_kept_sealed_and_a_changed_portal_key_says_what_to_do(world, session, clock, settings):
    pat = world.person("pat", "party_user")
    ctx = _as(session, clock, settings, pat)
    shown = second_factor.enrolment(ctx, pat)
    session.commit()
    stored = session.scalar(select(Person.totp_secret).where(Person.username == "pat"))
    assert stored.startswith(second_factor.SEALED) and shown.secret not in stored  # never in the clear
    assert second_factor.unseal(settings, stored) == shown.secret
    other = settings.model_copy(update={"secret_key": SecretStr("another-portal-key")})
    with pytest.raises(Conflict, match="secret key has changed"):
        second_factor.unseal(other, stored)
    with pytest.raises(Conflict, match="reset your second factor"):
        second_factor.unseal(settings, "JBSWY3DPEHPK3PXP")  # not sealed by gbsmart
    second_factor.confirm(ctx, pat, pyotp.TOTP(shown.secret).at(clock.now()), "1.2.3.4")  # the app's code works
    assert second_factor.is_enabled(pat)

"""In Chromium: an SRO without a second factor is sent to enrol, scans (reads) the secret, confirms with a code
computed by pyotp as the app would, and from then on signs in with password and code; their Party administrator
grants a colleague the ARO role on the people page (issue 15)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from gbsmart.models.parties import Person
from tests.conftest import TEST_PASSWORD, World

pytestmark = pytest.mark.browser


@pytest.fixture
def portal(portal_db, clock, live_server) -> Iterator[tuple[str, World]]:
    session = portal_db.session
    world = World(session, clock)
    supplier = world.org("Supplier Ltd")
    sro = world.person("sro", "party_user", "senior_responsible_officer", "party_administrator", org=supplier)
    sro.totp_secret = sro.totp_enabled_at = None  # not enrolled yet
    world.person("bob", "party_user", org=supplier)
    session.commit()
    yield live_server(portal_db.settings, clock=clock), world


def _password(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login?next=/parties")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_officer_enrols_then_signs_in_with_a_code_and_grants_a_colleague_aro(portal, page, clock):
    url, world = portal
    _password(page, url, "sro")
    expect(page).to_have_url(re.compile(r"/account/second-factor\?next=%2Fparties$"))
    expect(page.locator("#enrol-required")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()
    page.goto(f"{url}/smi")  # nothing else opens before enrolment
    expect(page).to_have_url(re.compile(r"/account/second-factor"))
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Turn the second factor on").click()
    expect(page.locator("#second-factor-error")).to_contain_text("not right")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Turn the second factor on").click()
    expect(page).to_have_url(re.compile(r"/$|/smi$"))
    page.get_by_role("button", name="Sign out").click()

    _password(page, url, "sro")
    expect(page).to_have_url(re.compile(r"/login/code"))
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock.now()))  # the enrolment's code again: replayed
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#code-error")).to_contain_text("already used")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock.now(), counter_offset=1))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/parties$"))

    page.goto(f"{url}/ssi/people")
    row = page.locator("#person-bob")
    row.get_by_label("Role to grant bob").select_option("authorised_responsible_officer")
    row.get_by_role("button", name="Grant").click()
    expect(page.locator("#people-changed")).to_be_visible()
    expect(page.locator("#person-bob")).to_contain_text("Authorised Responsible Officer")
    world.session.expire_all()
    bob = world.session.scalar(select(Person).where(Person.username == "bob"))
    assert "authorised_responsible_officer" in bob.roles

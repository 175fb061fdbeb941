"""SECAS adds a future SEC Release from the /releases page: the service of POST /api/v1/releases, and its refusals."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from gbsmart.models.change import Release
from tests.web.test_auth import _csrf, login


@pytest.fixture
def people(world):
    world.person("secas", "code_administrator", org=world.org("SECAS", kind="secas"))
    world.person("bob", "party_user", org=world.org("Big Energy plc", category="large_supplier"))


def _post(client, **fields):
    token = _csrf(client.get("/releases").text)
    return client.post("/releases", data={"csrf_token": token, **fields}, follow_redirects=False)


def _count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Release))


def test_secas_adds_a_future_release_from_the_page(client, people, session):
    login(client, "secas")
    page = client.get("/releases")
    assert 'id="add-release-form"' in page.text
    r = _post(client, name="June 2021 Release", release_date="2021-06-24", kind="scheduled")
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/releases?added=June+2021+Release#release-")
    shown = client.get(r.headers["location"])
    assert "Added June 2021 Release." in shown.text
    assert re.search(r'<a href="/releases/\d+">June 2021 Release</a>', shown.text)
    added = session.scalar(select(Release).where(Release.name == "June 2021 Release"))
    assert added is not None and added.kind == "scheduled" and added.source == "added in gbsmart"


def test_the_page_gives_the_services_refusals_and_keeps_what_was_typed(client, people, session):
    login(client, "secas")
    past = _post(client, name="January 2020 Release", release_date="2020-01-27", kind="ad_hoc")
    assert past.status_code == 422
    assert "Nothing was saved: A new SEC Release must go live today or later, not on 27 Jan 2020." in past.text
    assert 'id="err-release_date">on or after 28 Jan 2020<' in past.text
    assert 'value="January 2020 Release"' in past.text and '<option value="ad_hoc" selected>' in past.text
    blank = _post(client, name="", release_date="")
    assert blank.status_code == 422 and 'id="err-name"' in blank.text and 'id="err-release_date"' in blank.text
    assert _count(session) == 0

    assert _post(client, name="June 2021 Release", release_date="2021-06-24").status_code == 303
    again = _post(client, name="june 2021 release", release_date="2021-07-01")
    assert again.status_code == 409
    assert "There is already a SEC Release called &#39;june 2021 release&#39;." in again.text
    assert _count(session) == 1


def test_only_the_code_administrator_sees_the_form_and_may_add(client, people, session):
    login(client, "bob")
    assert 'id="add-release-form"' not in client.get("/releases").text
    refused = _post(client, name="June 2021 Release", release_date="2021-06-24")
    assert refused.status_code == 403
    assert "Only the Code Administrator may add a SEC Release." in refused.text
    assert _count(session) == 0

"""The service audit trail in headless Chromium (issue 15, done when: "a Supplier's user finds any request of the last
month in two clicks"): from the SSI home, "Find a request", a RequestID typed in and Search; the request is there
with its code in plain English, and the search is a URL to share."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gbsmart.core.codes import explain
from gbsmart.core.context import Actor, Ctx
from gbsmart.ssi import features
from tests.alerts.rows import OTHER_SUPPLIER, users
from tests.conftest import World
from tests.ssi.test_audit import E4, GAS, METER, request
from tests.web.test_portal_browser import add_person, sign_in_page

pytestmark = pytest.mark.browser


def test_a_supplier_finds_a_request_of_last_month_in_two_clicks_and_reads_its_code(tmp_path, clock, live_server,
                                                                                   new_page, portal_db) -> None:
    session, settings = portal_db.session, portal_db.settings
    world = World(session, clock)
    supplier, _, _ = users(session, world)
    now = clock.now()
    wanted = request(session, now - timedelta(days=27), target=GAS, state="refused", code="E4", explanation=E4)
    for i in range(60):  # a busy month: the request is not on the first page of everything
        request(session, now - timedelta(hours=i), target=METER)
    theirs = request(session, now - timedelta(days=2), originator=OTHER_SUPPLIER)
    add_person(world, "sue", "party_user", org=supplier)
    ctx = Ctx(session=session, actor=Actor.system("test"), clock=clock, settings=settings)
    features.enable(ctx, "audit_search", for_all=True)
    features.enable(ctx, "ssi_home", for_all=True)
    session.commit()
    rid, other = wanted.request_id, theirs.request_id
    session.close()
    url = live_server(settings, clock=clock)

    page: Page = new_page()
    sign_in_page(page, url, "sue", "/ssi")
    page.locator("#ssi-home").get_by_role("link", name="Find a request").click()  # one
    expect(page.get_by_role("heading", name="Service audit trail")).to_be_visible()
    expect(page.locator("#audit-note")).to_contain_text("More than 50 matches")  # the list at once, with a note
    page.get_by_label("RequestID").fill(rid)
    page.get_by_role("button", name="Search").click()                            # two
    rows = page.locator("#audit-rows tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(rid)
    expect(rows.first).to_contain_text("Not your device")
    expect(rows.first).to_contain_text(explain("E4").meaning)
    expect(rows.first).to_contain_text(E4)
    assert "request_id=" in page.url  # a GET form: the search is a URL to share
    shared = page.url
    with page.expect_download() as download:  # the same search as CSV, through the signed-in session
        page.get_by_role("link", name="Download CSV").click()
    table = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [row[2] for row in table[1:]] == [rid] and table[1][7] == "Not your device"

    # another organisation's request is not found by its RequestID
    page.get_by_label("RequestID").fill(other)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#audit-none")).to_be_visible()

    # the shared URL, opened again, shows the same request; its page explains the code
    page.goto(shared)
    page.get_by_role("link", name=rid).click()
    expect(page.locator("#code-meaning")).to_contain_text(explain("E4").action)

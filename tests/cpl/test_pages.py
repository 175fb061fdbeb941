"""CPL portal pages: the browser, an entry with its CPA expiry timeline, the submission form with field-level
messages, SECAS's approvals queue, removal, lifecycle, workbook import and export, CSRF."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from gbsmart.cpl import workbook
from gbsmart.cpl.demo import load_cpl_demo
from gbsmart.models.cpl import CplEntry, DeviceModel, Submission
from tests.conftest import TEST_PASSWORD

from .test_workbook import GOOD, sheet, xlsx


def text(r) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", r.text)).split())


@pytest.fixture
def demo(cast, session, clock, world):
    clock.set(datetime(2020, 2, 7, 9, tzinfo=UTC))  # the date of seed 000's report
    cast.headers = {username: world.token(person) for username, person in cast.people.items()}  # fresh tokens
    load_cpl_demo(cast.ctx("secas"))
    session.commit()
    return cast


def entry_of(session, model: str, fw: str) -> CplEntry:
    return session.scalar(select(CplEntry).join(CplEntry.device_model).where(DeviceModel.model == model,
                                                                            DeviceModel.firmware_version == fw))


def test_pages_need_a_sign_in(client):
    for path in ("/cpl", "/cpl/submit", "/cpl/approvals", "/cpl/entries/1"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_the_browser_searches_filters_and_pages_by_key(client, demo):
    h = demo.headers["guest"]
    page = text(client.get("/cpl", headers=h))
    assert "Central Products List" in page and "Approvals (1)" in page and "Export XLSX" in page
    assert "G-DEMO-4" in page and "HE-DEMO-S1E" in page and "(SMETS1)" in page and "end-dated" in page
    rows = client.get("/cpl?type=GSME&manufacturer=L%2BG", headers={**h, "HX-Request": "true"})
    assert rows.status_code == 200 and "<h1>" not in rows.text and rows.text.count("G-DEMO-4") == 2
    assert "ITR-DEMO-G1" not in rows.text
    first = client.get("/cpl?limit=5", headers=h)
    nxt = re.search(r'id="next-page" href="([^"]+)"', first.text).group(1)
    second = client.get(html.unescape(nxt), headers=h)
    assert "limit=5" in nxt and second.status_code == 200
    assert re.findall(r'/cpl/entries/(\d+)"', first.text)[-1] not in re.findall(r'/cpl/entries/(\d+)"', second.text)
    assert "No CPL entries match" in client.get("/cpl?q=nothing-like-this", headers=h).text


def test_an_entry_shows_its_certificates_and_cpa_expiry_timeline(client, demo, session):
    lg = entry_of(session, "G-DEMO-4", "1.0")
    page = client.get(f"/cpl/entries/{lg.id}", headers=demo.headers["guest"])
    assert page.status_code == 200
    body = text(page)
    assert "CPA-DEMO-2103" in body and "was revoked on 2019-09-30" in body and "does not expire" in body
    assert "Removal scheduled (SECP_77_1402_19 section 3.5 (SSC: CPA remediation)): Withdrawn from 09 Jul 2020" in body
    assert "<svg" in page.text and "12-month notice" in body and "6-month notice" in body and "Revoked" in body
    assert 'id="remove"' not in page.text  # a removal is already scheduled; and guests never see the form
    soon = entry_of(session, "DM-E1", "1.0.0")
    body = text(client.get(f"/cpl/entries/{soon.id}", headers=demo.headers["secas"]))
    assert "Conditional date" in body and "renewal date" in body and "Remove from the CPL" in body
    on_v1 = entry_of(session, "E-DEMO-1P", "1.0")
    flagged = text(client.get(f"/cpl/entries/{on_v1.id}", headers=demo.headers["guest"]))
    assert "GBCS v1.0 was end-dated on 31 Jan 2019" in flagged  # the test versions' date, kept by the demo
    assert client.get("/cpl/entries/9999", headers=demo.headers["guest"]).status_code == 404


def test_the_submission_form_names_the_field_and_the_rule(client, cast, session):
    form = {"kind": "new_entry", "physical_device_type": "ESME_SINGLE", "manufacturer": "Demo Meters Ltd",
            "model": "DM-F", "hardware_version": "1", "firmware_version": "1.0", "release_notes": "First.",
            "technical_specification": "SMETS2 v4.1", "gbcs_version": "2.0", "zigbee_number": "Z-F",
            "cpa_number": "C-F", "cpa_expiry_date": "2026-01-01"}
    assert "Submit a Device Model to the CPL" in client.get("/cpl/submit", headers=cast.headers["maker"]).text
    r = client.post("/cpl/submit", data=form, headers=cast.headers["maker"])
    assert r.status_code == 422
    assert "certificates: an ESME needs a DLMS certificate (CPL Requirements, SEC F2)" in text(r)
    assert 'value="DM-F"' in r.text  # the form keeps what was typed
    assert session.scalars(select(Submission.status)).all() == ["refused"]  # kept with its reasons (decision 0015)
    r = client.post("/cpl/submit", data={**form, "physical_device_type": "IHD"}, headers=cast.headers["maker"])
    assert r.status_code == 422 and "physical_device_type: an IHD is not submitted to the CPL" in text(r)
    r = client.post("/cpl/submit", data={**form, "cpa_expiry_date": "soon"}, headers=cast.headers["maker"])
    assert r.status_code == 422 and "certificates.1.expiry_date: Input should be a valid date" in text(r)
    r = client.post("/cpl/submit", data={**form, "dlms_number": "D-F"}, headers=cast.headers["maker"],
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/cpl/approvals?submitted=")
    sub_id = session.scalar(select(Submission.id).where(Submission.status == "validated"))
    queue = client.get("/cpl/approvals", headers=cast.headers["maker"])
    assert "Only the Code Administrator (SECAS) approves" in text(queue) and "DM-F" in queue.text
    assert client.post(f"/cpl/submissions/{sub_id}/approve", headers=cast.headers["maker"]).status_code == 403
    r = client.post(f"/cpl/submissions/{sub_id}/approve", headers=cast.headers["secas"], follow_redirects=False)
    assert r.status_code == 303 and "?done=approved" in r.headers["location"]
    assert "approved by SECAS on behalf of the Panel" in text(client.get(r.headers["location"],
                                                                         headers=cast.headers["secas"]))


def test_secas_removes_an_entry_citing_the_minute_and_runs_the_lifecycle(client, cast, session):
    entry = cast.listed("PPMID")
    r = client.post(f"/cpl/entries/{entry.id}/remove", data={"minute_reference": "", "reason": "x"},
                    headers=cast.headers["secas"])
    assert r.status_code == 422 and "cite the Panel minute" in text(r)
    assert client.post(f"/cpl/entries/{entry.id}/remove", data={"minute_reference": "P1", "reason": "x"},
                       headers=cast.headers["maker"]).status_code == 403
    r = client.post(f"/cpl/entries/{entry.id}/remove", data={"minute_reference": "SECP_80 item 2", "reason":
                                                             "ZigBee certificate revoked", "status": "Withdrawn"},
                    headers=cast.headers["secas"], follow_redirects=False)
    assert r.status_code == 303
    page = text(client.get(f"/cpl/entries/{entry.id}", headers=cast.headers["guest"]))
    assert "Withdrawn" in page and "SECP_80 item 2" in page
    r = client.post("/cpl/lifecycle", headers=cast.headers["secas"])
    assert r.status_code == 200 and "Lifecycle run on 28 Jan 2020" in text(r)
    assert client.post("/cpl/lifecycle", headers=cast.headers["maker"]).status_code == 403


def test_import_lists_bad_rows_and_export_downloads(client, cast, session):
    bad = xlsx(CPL=sheet(workbook.CPL_COLUMNS,
                         {**GOOD, "physical_device_type": "Polyphase Electricity Metering Equipment"}))
    r = client.post("/cpl/import", files={"file": ("cpl.xlsx", bad)}, headers=cast.headers["secas"])
    assert r.status_code == 422
    body = text(r)
    assert "The workbook has 1 bad row; nothing was imported." in body
    assert "CPL 2 certificates certificate-matrix certificates: an ESME needs a DLMS certificate" in body
    r = client.get("/cpl/export.xlsx", headers=cast.headers["guest"])
    assert r.status_code == 200 and r.content[:2] == b"PK"


def test_forms_need_the_csrf_token_in_a_browser_session(client, cast, world):
    world.person("browser", "party_user")
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": "browser", "password": TEST_PASSWORD, "csrf_token": token,
                                "next": "/cpl"}, follow_redirects=False)
    form = client.get("/cpl/submit")
    assert form.status_code == 200
    assert client.post("/cpl/submit", data={"manufacturer": "x"}).status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    r = client.post("/cpl/submit", data={"manufacturer": "x", "csrf_token": token})
    assert r.status_code == 422 and "(b) the hardware version is required" in text(r)


def test_the_cpl_pages_link_to_the_signed_extracts(client, cast):
    """/cpl/extracts was linked from nowhere (issue 9, point 11): the CPL home and the CPL navigation link to it."""
    h = cast.headers["guest"]
    for path in ("/cpl", "/cpl/approvals", "/cpl/submit", "/cpl/extracts"):
        r = client.get(path, headers=h)
        assert r.status_code == 200 and 'href="/cpl/extracts"' in r.text, path
    assert client.get("/cpl/extracts", headers=h).status_code == 200

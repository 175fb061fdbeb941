"""Issue 15's "done when", in headless Chromium: a Supplier's ARO signs in with password and second factor and
releases a quarantined request with a signed action file on the quarantine page; a colleague without the role
sees no form, and trying the door anyway (posting the same signed file) is refused with nothing changed.
(Seeing the service at a glance: test_home_browser.py; finding a request in two clicks: test_audit_browser.py.)"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from playwright.sync_api import Page, expect
from sqlalchemy import select

from gbsmart.core.context import Actor, Ctx
from gbsmart.gateway import adt_service
from gbsmart.gateway.adt import sign_file
from gbsmart.models.adt import QuarantinedRequest
from gbsmart.models.parties import DccUser, DccUserRole
from gbsmart.ssi import features
from tests.conftest import TEST_PASSWORD, World, totp_code
from tests.gateway.conftest import DEVICE, SUPPLIER
from tests.gateway.test_adt import _cert, _quarantine

pytestmark = pytest.mark.browser

RID = f"{SUPPLIER}:{DEVICE}:21"
ACTION = f"user_id,request_id,action\n{SUPPLIER},{RID},release\n"


def _sign_in(page: Page, url: str, username: str, clock=None) -> None:  # noqa: ANN001
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if clock is not None:
        expect(page.get_by_label("Code")).to_be_visible()
        page.get_by_label("Code").fill(totp_code(clock))
        page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_its_aro_releases_a_quarantined_request_with_a_signed_file_and_a_colleague_cannot(tmp_path, clock,
                                                                                          live_server, new_page,
                                                                                          portal_db):
    session, settings = portal_db.session, portal_db.settings
    world = World(session, clock)
    supplier = world.org("Supplier Ltd", category="large_supplier")
    session.add(DccUser(organisation_id=supplier.id, eui64=SUPPLIER, role_rows=[DccUserRole(role="IS")]))
    session.commit()
    world.person("aro", "party_user", "authorised_responsible_officer", org=supplier)  # second factor on
    world.person("clerk", "party_user", org=supplier)
    _quarantine(session, 21, clock)
    key = ec.generate_private_key(ec.SECP256R1())
    dcc = Ctx(session=session, actor=Actor.system("test"), clock=clock, settings=settings)
    adt_service.add_officer_certificate(dcc, "aro", _cert(key, "aro").public_bytes(Encoding.PEM))
    features.enable(dcc, "ssi_home", for_all=True)
    session.commit()
    url = live_server(settings, clock=clock)
    signature = sign_file(ACTION.encode(), key)
    action = tmp_path / "release.csv"
    action.write_text(ACTION)

    # the colleague: the home shows the held request, the quarantine page has no form, and the door is shut
    clerk: Page = new_page()
    _sign_in(clerk, url, "clerk")
    expect(clerk.locator("#quarantined-held")).to_have_text("1")
    clerk.goto(f"{url}/gateway/quarantine")
    expect(clerk.locator("#quarantined")).to_contain_text(RID)
    expect(clerk.locator("#action-form")).to_have_count(0)
    status, text = clerk.evaluate("""async ([content, signature]) => {
        const page = await (await fetch('/gateway/adt')).text();
        const token = (page.match(/name="csrf_token" value="([^"]+)"/) || [])[1] || '';
        const form = new FormData();
        form.append('csrf_token', token);
        form.append('signature', signature);
        form.append('file', new Blob([content], {type: 'text/csv'}), 'release.csv');
        const r = await fetch('/gateway/quarantine/action', {method: 'POST', body: form});
        return [r.status, await r.text()];
    }""", [ACTION, signature])
    assert status in (403, 422) and "Responsible Officer" in text
    session.expire_all()
    assert session.scalar(select(QuarantinedRequest.status).where(QuarantinedRequest.request_id == RID)) == "held"

    # the ARO: password and code, then the signed file on the quarantine page
    aro: Page = new_page()
    _sign_in(aro, url, "aro", clock)
    aro.goto(f"{url}/gateway/quarantine")
    form = aro.locator("#action-form")
    form.get_by_label("Action file").set_input_files(str(action))
    form.get_by_label("or signature (base64)").fill(signature)
    form.get_by_role("button", name="Verify and apply").click()
    expect(aro.locator("#action-done")).to_contain_text("1 released")
    session.expire_all()
    assert session.scalar(select(QuarantinedRequest.status).where(QuarantinedRequest.request_id == RID)) == "released"

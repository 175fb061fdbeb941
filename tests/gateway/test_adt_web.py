"""ADT settings and quarantined requests in the portal and the API: the organisation's own only; uploads by its
Senior / Authorised Responsible Officers, the file's signature checked."""

from __future__ import annotations

import re

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from gbsmart.gateway import adt_service
from gbsmart.gateway.adt import sign_file
from gbsmart.gateway.store import save_certificates
from gbsmart.models.adt import QuarantinedRequest
from gbsmart.models.parties import DccUser, DccUserRole
from tests.conftest import TEST_PASSWORD, totp_code
from tests.gateway.conftest import DEVICE, NETWORK_OPERATOR, SUPPLIER
from tests.gateway.test_adt import _cert, _dcc, _quarantine

ADT = f"user_id,srv,warning,quarantine\n{SUPPLIER},4.1.1,50,60\n"


def _setup(world, session, settings, organisations):
    supplier, network = world.org("Supplier Ltd"), world.org("Network Ltd")
    session.add_all([DccUser(organisation_id=supplier.id, eui64=SUPPLIER, role_rows=[DccUserRole(role="IS")]),
                     DccUser(organisation_id=network.id, eui64=NETWORK_OPERATOR, role_rows=[DccUserRole(role="ED")])])
    session.commit()
    save_certificates(settings, SUPPLIER, organisations[SUPPLIER].certificate.public_bytes(Encoding.PEM))
    return supplier, network


def test_the_api_sets_thresholds_by_a_signed_file_for_officers_only_and_lists_the_organisations_own(
        client, world, session, settings, organisations):
    supplier, network = _setup(world, session, settings, organisations)
    sro = world.user("sro", "party_user", "senior_responsible_officer", org=supplier)
    clerk = world.user("clerk", "party_user", org=supplier)
    other = world.user("other", "party_user", "senior_responsible_officer", org=network)
    body = {"content": ADT, "signature": sign_file(ADT.encode(), organisations[SUPPLIER].key)}

    assert client.post("/api/v1/gateway/adt/files", json=body, headers=clerk).status_code == 403
    assert client.post("/api/v1/gateway/adt/files", json=body, headers=other).status_code == 403
    tampered = client.post("/api/v1/gateway/adt/files", json={**body, "content": ADT.replace("60", "99")}, headers=sro)
    assert tampered.status_code == 422 and tampered.json()["detail"][0]["field"] == "signature"
    malformed = client.post("/api/v1/gateway/adt/files", json={**body, "content": ADT + f"{SUPPLIER},4.1.1,x,1\n"},
                            headers=sro)
    assert malformed.status_code == 422
    assert {(d["line"], d["field"]) for d in malformed.json()["detail"]} == {(3, "warning"), (3, "srv")}
    done = client.post("/api/v1/gateway/adt/files", json=body, headers=sro)
    assert done.status_code == 200, done.text
    assert [(t["srv"], t["warning"], t["quarantine"]) for t in done.json()] == [("4.1.1", 50, 60)]
    assert len(client.get("/api/v1/gateway/adt/thresholds", headers=clerk).json()) == 1
    assert client.get("/api/v1/gateway/adt/thresholds", headers=other).json() == []
    assert client.get("/api/v1/gateway/adt/thresholds").status_code == 401


def _login(client, username: str, clock=None) -> None:
    """Sign in; an officer (who has a second factor) then gives the code of now."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": token,
                                       "next": "/gateway/adt"}, follow_redirects=False)
    if done.headers.get("location", "").startswith("/login/code"):
        form = client.get(done.headers["location"])
        client.post("/login/code", data={"csrf_token": _csrf(form.text), "code": totp_code(clock),
                                         "next": "/gateway/adt"})


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_portal_shows_adt_settings_and_releases_a_quarantined_request_by_an_uploaded_action_file(
        client, world, session, settings, organisations, ctx, clock):
    supplier, _ = _setup(world, session, settings, organisations)
    world.person("aro", "party_user", "authorised_responsible_officer", org=supplier)
    world.person("clerk", "party_user", org=supplier)
    _quarantine(session, 21, clock)
    key = ec.generate_private_key(ec.SECP256R1())
    adt_service.add_officer_certificate(_dcc(ctx), "aro", _cert(key, "aro").public_bytes(Encoding.PEM))

    _login(client, "clerk")
    page = client.get("/gateway/adt")
    assert page.status_code == 200 and SUPPLIER in page.text and 'id="adt-form"' not in page.text  # not an officer
    listed = client.get("/gateway/quarantine")
    assert f"{SUPPLIER}:{DEVICE}:21" in listed.text and 'id="action-form"' not in listed.text
    client.post("/logout", data={"csrf_token": _csrf(listed.text)})

    _login(client, "aro", clock)
    page = client.get("/gateway/adt")
    assert 'id="adt-form"' in page.text and 'href="/gateway/adt"' in page.text
    signed = sign_file(ADT.encode(), organisations[SUPPLIER].key)
    refused = client.post("/gateway/adt/upload", data={"csrf_token": _csrf(page.text), "signature": signed},
                          files={"file": ("adt.csv", ADT.replace("50", "55").encode(), "text/csv")})
    assert refused.status_code == 422 and "does not verify" in refused.text
    set_ = client.post("/gateway/adt/upload", data={"csrf_token": _csrf(page.text)},
                       files={"file": ("adt.csv", ADT.encode(), "text/csv"),
                              "signature_file": ("adt.csv.sig", signed.encode(), "application/octet-stream")},
                       follow_redirects=True)
    assert set_.status_code == 200 and 'id="adt-set"' in set_.text and "<td>60</td>" in set_.text
    report = set_.text.split('id="adt-file-changes"')[1].split("</table>")[0]  # what the file changed
    assert '<th scope="row">4.1.1</th>' in report
    assert "<strong>50</strong>" in report and "<strong>60</strong>" in report
    assert client.get("/gateway/adt?file=not-a-digest").status_code == 422

    action = f"user_id,request_id,action\n{SUPPLIER},{SUPPLIER}:{DEVICE}:21,release\n".encode()
    page = client.get("/gateway/quarantine")
    wrong_key = client.post("/gateway/quarantine/action",
                            data={"csrf_token": _csrf(page.text),
                                  "signature": sign_file(action, organisations[SUPPLIER].key)},
                            files={"file": ("release.csv", action, "text/csv")})
    assert wrong_key.status_code == 422 and "officer" in wrong_key.text
    done = client.post("/gateway/quarantine/action", data={"csrf_token": _csrf(page.text),
                                                           "signature": sign_file(action, key)},
                       files={"file": ("release.csv", action, "text/csv")}, follow_redirects=True)
    assert done.status_code == 200 and 'id="action-done"' in done.text, done.text
    session.expire_all()
    assert session.scalar(select(QuarantinedRequest.status)) == "released"

"""The CPL JSON API: sign-in and roles (401/403), 404s, field-level 422s, approval, removal, lifecycle, paging."""

from __future__ import annotations

from datetime import date

import pytest

from .conftest import certs, submission

API = "/api/v1/cpl"


def ok(resp, status=200):
    assert resp.status_code == status, resp.text
    return resp.json()


@pytest.mark.parametrize("method,path", [
    ("get", "/entries"), ("get", "/entries/1"), ("post", "/submissions"), ("post", "/submissions/1/approve"),
    ("post", "/entries/1/remove"), ("post", "/import"), ("get", "/export.xlsx"), ("get", "/expiring"),
    ("post", "/lifecycle/run"), ("get", "/submissions"), ("post", "/certificates/cpa/X/revoke"),
    ("get", "/versions"), ("post", "/versions"),
])
def test_everything_needs_a_sign_in(client, method, path):
    r = getattr(client, method)(API + path)
    assert r.status_code == 401 and r.json()["error"]


def test_submit_validate_approve(client, cast):
    r = client.post(f"{API}/submissions", json=submission("GSME"), headers=cast.headers["maker"])
    sub = ok(r, 201)
    assert sub["status"] == "validated" and r.headers["location"] == f"{API}/submissions/{sub['id']}"
    assert client.post(f"{API}/submissions/{sub['id']}/approve", headers=cast.headers["maker"]).status_code == 403
    entry = ok(client.post(f"{API}/submissions/{sub['id']}/approve", headers=cast.headers["secas"]))
    assert entry["status"] == "Active" and entry["physical_device_type"] == "GSME"
    assert [c["kind"] for c in entry["certificates"]] == ["zigbee", "cpa"]
    assert entry["certificates"][1]["valid_today"] and entry["certificates"][1]["expiry_label"] == "Expiry date"
    assert entry["timeline"][0]["action"] == "approve"
    again = client.post(f"{API}/submissions/{sub['id']}/approve", headers=cast.headers["secas"])
    assert again.status_code == 409 and again.json()["detail"]["allowed"] == ["validated"]
    got = ok(client.get(f"{API}/entries/{entry['id']}", headers=cast.headers["guest"]))
    assert got["id"] == entry["id"] and got["submitter"] == "Demo Meters Ltd"


@pytest.mark.parametrize("data,field,rule,words", [
    (submission("ESME_TWIN", certificates=certs("zigbee", "cpa")), "certificates", "certificate-matrix",
     "an ESME needs a DLMS certificate (CPL Requirements, SEC F2)"),
    (submission("IHD", certificates=certs("zigbee")), "physical_device_type", "device-type-listed",
     "an IHD is not submitted to the CPL"),
    (submission("GSME", kind="firmware_update"), "supplier_confirmation", "firmware-update-supplier-confirmation",
     "needs a Supplier's confirmation"),
    (submission("CH", certificates=certs("zigbee", "cpa", expiry=date(2019, 12, 1))),
     "certificates", "certificate-valid", "expired on 2019-12-01"),
    (submission("HCALCS", certificates=certs("zigbee", "cpa", conditional=True, conditional_date="2020-01-01")),
     "certificates", "certificate-valid", "passed its conditional date 2020-01-01"),
])
def test_bad_submissions_are_422_naming_the_field_and_the_rule(client, cast, data, field, rule, words):
    if data["kind"] == "firmware_update":
        cast.listed("GSME", firmware_version="0.9.0")
    r = client.post(f"{API}/submissions", json=data, headers=cast.headers["maker"])
    assert r.status_code == 422, r.text
    body = r.json()
    assert "refused" in body["error"]
    assert [(d["field"], d["rule"]) for d in body["detail"]] == [(field, rule)]
    assert words in body["detail"][0]["message"] and body["detail"][0]["message"].startswith(f"{field}: ")
    kept = ok(client.get(f"{API}/submissions?status=refused", headers=cast.headers["maker"]))
    assert kept[0]["failures"][0]["rule"] == rule


def test_malformed_json_is_a_field_level_422(client, cast):
    r = client.post(f"{API}/submissions", json={**submission(), "certificates": [{"kind": "wifi", "number": "1"}]},
                    headers=cast.headers["maker"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"].startswith("body.certificates.0.kind")


def test_404s(client, cast):
    assert client.get(f"{API}/entries/999", headers=cast.headers["guest"]).status_code == 404
    assert client.get(f"{API}/submissions/999", headers=cast.headers["guest"]).status_code == 404
    assert client.post(f"{API}/submissions/999/approve", headers=cast.headers["secas"]).status_code == 404
    removal = {"minute_reference": "Panel 1", "reason": "x"}
    assert client.post(f"{API}/entries/999/remove", json=removal, headers=cast.headers["secas"]).status_code == 404
    assert client.post(f"{API}/certificates/cpa/NOPE/revoke", json={"reason": "gone"},
                       headers=cast.headers["secas"]).status_code == 404


def test_removal_lifecycle_and_revocation_are_for_the_code_administrator(client, cast, clock, world):
    entry = cast.listed("ESME_POLYPHASE")
    removal = {"minute_reference": "SECP_80 item 4", "reason": "DLMS certificate revoked",
               "effective_on": "2020-02-01", "grace_until": "2020-04-30"}
    for who in ("maker", "supplier", "dcc"):
        assert client.post(f"{API}/entries/{entry.id}/remove", json=removal, headers=cast.headers[who]).status_code \
            == 403
        assert client.post(f"{API}/lifecycle/run", headers=cast.headers[who]).status_code == 403
        assert client.post(f"{API}/certificates/dlms/DLMS-ESME_POLYPHASE-1.0.0/revoke", json={"reason": "x y z"},
                           headers=cast.headers[who]).status_code == 403
    revoked = ok(client.post(f"{API}/certificates/dlms/DLMS-ESME_POLYPHASE-1.0.0/revoke",
                             json={"reason": "DLMS UA withdrew it"}, headers=cast.headers["secas"]))
    assert [e["id"] for e in revoked] == [entry.id]
    run = ok(client.post(f"{API}/lifecycle/run", headers=cast.headers["secas"]))
    assert len(run["awaiting_removal"]) == 1 and run["ran_on"] == "2020-01-28"
    bad = client.post(f"{API}/entries/{entry.id}/remove", json={**removal, "minute_reference": ""},
                      headers=cast.headers["secas"])
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "minute_reference"
    got = ok(client.post(f"{API}/entries/{entry.id}/remove", json=removal, headers=cast.headers["secas"]))
    assert got["status"] == "Active" and got["removals"][0]["takes_effect_on"] == "2020-05-01"
    assert any("Removal scheduled" in f for f in got["flags"])
    clock.advance(days=100)
    secas = world.token(cast.people["secas"])  # the old token expired as the clock moved
    run = ok(client.post(f"{API}/lifecycle/run", headers=secas))
    assert run["removed"] == [entry.device_model.label]
    assert ok(client.get(f"{API}/entries/{entry.id}", headers=secas))["status"] == "Withdrawn"


def test_search_filters_and_keyset_pages(client, cast):
    for i in range(3):
        cast.listed("PPMID", model=f"PP{i}")
    soon = certs("zigbee", "cpa", expiry=date(2020, 6, 30), suffix="soon")
    cast.listed("GSME", manufacturer="Itron", certificates=soon)
    h = cast.headers["guest"]
    first = ok(client.get(f"{API}/entries?type=PPMID&limit=2", headers=h))
    second = ok(client.get(f"{API}/entries?type=PPMID&limit=2&cursor={first['next_cursor']}", headers=h))
    assert [e["model"] for e in first["items"] + second["items"]] == ["PP0", "PP1", "PP2"]
    assert second["next_cursor"] is None
    assert [e["manufacturer"] for e in ok(client.get(f"{API}/entries?manufacturer=Itron", headers=h))["items"]] == [
        "Itron"]
    assert ok(client.get(f"{API}/entries?q=pp1", headers=h))["items"][0]["model"] == "PP1"
    assert ok(client.get(f"{API}/entries?status=Expired", headers=h))["items"] == []
    assert client.get(f"{API}/entries?type=TOASTER", headers=h).status_code == 422
    assert client.get(f"{API}/entries?cursor=nonsense", headers=h).status_code == 422
    assert [e["manufacturer"] for e in ok(client.get(f"{API}/expiring?within_days=180", headers=h))] == ["Itron"]
    assert ok(client.get(f"{API}/expiring?within_days=30", headers=h)) == []


def test_versions(client, cast):
    body = {"version": "GBCS v1.1", "end_date": "2020-06-30"}
    assert client.post(f"{API}/versions", json=body, headers=cast.headers["maker"]).status_code == 403
    assert ok(client.post(f"{API}/versions", json=body, headers=cast.headers["secas"])) == {
        "version": "GBCS v1.1", "end_date": "2020-06-30"}
    listed = ok(client.get(f"{API}/versions", headers=cast.headers["guest"]))
    assert {"version": "SMETS2 v3.2", "end_date": "2019-12-31"} in listed and len(listed) == 8
    bad = client.post(f"{API}/versions", json={"version": "nonsense"}, headers=cast.headers["secas"])
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "version"

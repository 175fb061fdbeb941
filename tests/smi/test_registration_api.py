"""Registration data and ordinary status changes through the JSON API and the portal (TestClient)."""

from __future__ import annotations

import re

import pytest

from gbsmart.smi import service
from gbsmart.smi.schemas import DeviceCreate
from tests.conftest import TEST_PASSWORD

MPAN = "1200000123456"
MPRN = "7418529630"
IHD = "00-0D-6F-00-00-00-AB-01"
BODY = {"mpxn": MPAN, "fuel": "E", "supplier": "British Gas", "network_operator": "Northern Powergrid",
        "valid_from": "2019-01-01"}


@pytest.fixture
def people(world, ctx, session) -> dict[str, dict[str, str]]:
    orgs = {"bg": world.org("British Gas", category="large_supplier"),
            "small": world.org("Tiny Energy Ltd", category="small_supplier"),
            "npg": world.org("Northern Powergrid", category="electricity_network"),
            "cadent": world.org("Cadent Gas", category="gas_network"),
            "dcc": world.org("Smart DCC", kind="dcc")}
    service.add_device(ctx, DeviceCreate(device_id=IHD, device_type="IHD", smi_status="Pending", mpxn=MPAN))
    session.commit()
    return {"dcc": world.user("dcc", "dcc", org=orgs["dcc"]), "secas": world.user("secas", "code_administrator"),
            "bg": world.user("bg.user", "party_user", org=orgs["bg"]),
            "small": world.user("small.user", "party_user", org=orgs["small"]),
            "npg": world.user("npg.user", "party_user", org=orgs["npg"]),
            "cadent": world.user("cadent.user", "party_user", org=orgs["cadent"])}


def test_registration_endpoints_need_sign_in(client):
    assert client.get(f"/api/v1/smi/registrations/{MPAN}").status_code == 401
    assert client.post("/api/v1/smi/registrations", json=BODY).status_code == 401


def test_the_dcc_records_and_parties_read_only_their_own(client, people):
    r = client.post("/api/v1/smi/registrations", json=BODY, headers=people["small"])
    assert r.status_code == 403 and "Only the DCC or the Code Administrator" in r.json()["error"]
    r = client.post("/api/v1/smi/registrations", json=BODY, headers=people["dcc"])
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/v1/smi/registrations/{MPAN}"
    body = r.json()
    assert body["mpxn"] == MPAN and body["fuel"] == "E" and len(body["history"]) == 1
    assert body["current"]["supplier"]["name"] == "British Gas" and body["current"]["valid_to"] is None
    r = client.post("/api/v1/smi/registrations", headers=people["secas"],
                    json={**BODY, "mpxn": int(MPAN), "supplier": "tiny energy ltd", "valid_from": "2019-07-01"})
    assert r.status_code == 201, r.text
    assert [(h["supplier"]["name"], h["valid_from"], h["valid_to"]) for h in r.json()["history"]] == [
        ("British Gas", "2019-01-01", "2019-07-01"), ("Tiny Energy Ltd", "2019-07-01", None)]
    r = client.post("/api/v1/smi/registrations", headers=people["dcc"], json={
        "mpxn": MPRN, "supplier": "British Gas", "network_operator": "Cadent Gas", "valid_from": "2019-03-01"})
    assert r.status_code == 201 and r.json()["fuel"] == "G"

    for who, mpxn, status in (("bg", MPAN, 200), ("small", MPAN, 200), ("npg", MPAN, 200), ("cadent", MPAN, 403),
                              ("small", MPRN, 403), ("bg", MPRN, 200), ("cadent", MPRN, 200), ("npg", MPRN, 403),
                              ("dcc", MPRN, 200), ("secas", MPAN, 200)):
        r = client.get(f"/api/v1/smi/registrations/{mpxn}", headers=people[who])
        assert r.status_code == status, (who, mpxn, r.text)
    r = client.get(f"/api/v1/smi/registrations/{MPRN}", headers=people["small"])
    assert "shown only to the DCC, the Code Administrator and the Parties" in r.json()["error"]
    r = client.get(f"/api/v1/smi/registrations/{MPAN}", headers=people["bg"])  # its former MPAN: the history
    assert [h["current"] for h in r.json()["history"]] == [False, True]
    assert client.get("/api/v1/smi/registrations/1999999999999", headers=people["dcc"]).status_code == 404
    assert client.get("/api/v1/smi/registrations/1999999999999", headers=people["bg"]).status_code == 403
    r = client.get("/api/v1/smi/registrations/12345", headers=people["dcc"])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "mpxn"


def test_refusals_name_the_field(client, people):
    r = client.post("/api/v1/smi/registrations", headers=people["dcc"],
                    json={**BODY, "supplier": "Northern Powergrid", "network_operator": "Cadent Gas"})
    assert r.status_code == 422
    detail = {d["field"]: d["message"] for d in r.json()["detail"]}
    assert detail == {
        "supplier": "Northern Powergrid is an Electricity Network Party; the Supplier must be a Large Supplier or "
                    "Small Supplier",
        "network_operator": "Cadent Gas is a Gas Network Party; the Network Operator of an MPAN must be an Electricity "
                            "Network Party"}
    assert r.json()["error"].startswith(f"The registration of MPxN {MPAN} was refused (2 problems: supplier, "
                                      "network_operator).")
    r = client.post("/api/v1/smi/registrations", headers=people["dcc"], json={**BODY, "fuel": "G"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "fuel"
    r = client.post("/api/v1/smi/registrations", headers=people["dcc"], json={**BODY, "valid_from": "2031-01-01"})
    assert r.status_code == 422 and "is in the future" in r.json()["detail"][0]["message"]
    r = client.post("/api/v1/smi/registrations", headers=people["dcc"], json={**BODY, "valid_from": "someday"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body.valid_from"
    assert client.post("/api/v1/smi/registrations", headers=people["dcc"], json=BODY).status_code == 201
    r = client.post("/api/v1/smi/registrations", headers=people["dcc"], json={**BODY, "valid_from": "2018-12-31"})
    assert r.status_code == 422 and "must be after 01 Jan 2019" in r.json()["detail"][0]["message"]


def test_ordinary_status_changes_through_the_api(client, people):
    url = f"/api/v1/smi/devices/{IHD}/status"
    assert client.post(url, json={"smi_status": "Whitelisted"}, headers=people["bg"]).status_code == 403  # E4
    r = client.post(url, json={"smi_status": "Whitelisted", "reason": "ordered"}, headers=people["dcc"])
    assert r.status_code == 200 and r.json()["smi_status"] == "Whitelisted"
    assert r.json()["history"][-1]["reason"] == "ordered"
    r = client.post(url, json={"smi_status": "Recovered"}, headers=people["dcc"])
    assert r.status_code == 409 and r.json()["detail"]["allowed"] == ["InstalledNotCommissioned", "Decommissioned",
                                                                      "Withdrawn"]
    assert client.post(url, json={"smi_status": "Suspended"}, headers=people["dcc"]).status_code == 409
    assert client.post(url, json={"smi_status": "Nope"}, headers=people["dcc"]).status_code == 422
    # once British Gas is the registered Supplier, its user may act on the device
    assert client.post("/api/v1/smi/registrations", json=BODY, headers=people["dcc"]).status_code == 201
    r = client.post(url, json={"smi_status": "InstalledNotCommissioned"}, headers=people["bg"])
    assert r.status_code == 200 and r.json()["smi_status"] == "InstalledNotCommissioned"
    r = client.post(f"/api/v1/smi/devices/{IHD}/decommission", headers=people["bg"])
    assert r.status_code == 200 and r.json()["smi_status"] == "Decommissioned"


def test_the_openapi_document_describes_the_new_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "Record registration data" in paths["/api/v1/smi/registrations"]["post"]["summary"]
    assert "registration data" in paths["/api/v1/smi/registrations/{mpxn}"]["get"]["summary"]
    assert "lifecycle allows" in paths["/api/v1/smi/devices/{device_id}/status"]["post"]["summary"]


# ---------------------------------------------------------------- the portal


def _login(client, username: str) -> None:
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": token,
                                     "next": "/smi"})
    assert r.status_code in (200, 303), r.text


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_mpxn_page_records_and_shows_registrations(client, people, world):
    _login(client, "dcc")
    page = client.get(f"/smi?q={MPAN}")
    assert f'href="/smi/mpxn/{MPAN}"' in page.text and "Registration data and devices at MPxN" in page.text
    r = client.get(f"/smi/mpxn/{MPAN}")
    assert r.status_code == 200 and "No registration data has been recorded" in r.text and IHD in r.text
    assert "Record a registration" in r.text and "Cadent Gas" not in r.text  # only Electricity Network Parties
    token = _csrf(r.text)
    ids = dict(re.findall(r'<option value="(\d+)"\s*>([^<]+)</option>', r.text))
    by_name = {v: k for k, v in ids.items()}
    form = {"csrf_token": token, "supplier": by_name["British Gas"], "network_operator": by_name["Northern Powergrid"],
            "valid_from": "2020-02-01"}
    r = client.post(f"/smi/mpxn/{MPAN}/registrations", data=form)
    assert r.status_code == 422 and 'id="err-valid_from"' in r.text and "is in the future" in r.text
    assert "Nothing was recorded" in r.text and 'selected>British Gas' in r.text  # the form keeps its values
    r = client.post(f"/smi/mpxn/{MPAN}/registrations", data={**form, "valid_from": "", "supplier": ""})
    assert r.status_code == 422 and "required: give the day this registration starts" in r.text
    r = client.post(f"/smi/mpxn/{MPAN}/registrations", data={**form, "valid_from": "2019-01-01", "supplier": ""})
    assert r.status_code == 422 and 'id="err-supplier"' in r.text and "required: the Supplier" in r.text
    r = client.post(f"/smi/mpxn/{MPAN}/registrations", data={**form, "valid_from": "2019-01-01"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/smi/mpxn/{MPAN}?done=registration"
    r = client.get(r.headers["location"])
    assert "Done: registration recorded." in r.text and "01 Jan 2019" in r.text and "current" in r.text
    assert client.post(f"/smi/mpxn/{MPAN}/registrations", data={**form, "csrf_token": "x"}).status_code == 403
    # the device page links to its MPxN, and says who serves it
    r = client.get(f"/smi/devices/{IHD}")
    assert f'href="/smi/mpxn/{MPAN}"' in r.text
    assert "Supplier British Gas, Network Operator Northern Powergrid, since 01 Jan 2019" in r.text

    # a Party that does not serve the MPxN sees its devices but not its registration data, and cannot record
    world.person("cadent.person", "party_user", org=world.org("Cadent Gas"))
    _login(client, "cadent.person")
    r = client.get(f"/smi/mpxn/{MPAN}")
    assert r.status_code == 200 and "is shown only to the DCC" in r.text and "British Gas" not in r.text
    assert IHD in r.text and "Record a registration" not in r.text
    assert "British Gas" not in client.get(f"/smi/devices/{IHD}").text
    r = client.post(f"/smi/mpxn/{MPAN}/registrations", data={**form, "csrf_token": _csrf(r.text)})
    assert r.status_code == 403 and "Only the DCC or the Code Administrator" in r.text
    world.person("bg.person", "party_user", org=world.org("British Gas"))
    _login(client, "bg.person")
    assert "Northern Powergrid" in client.get(f"/smi/mpxn/{MPAN}").text  # its own MPAN

    assert client.get("/smi/mpxn/12ab").status_code == 422
    r = client.get("/smi/mpxn/12345678901")  # not an MPxN's form: its devices (none here), nothing to record
    assert r.status_code == 200 and "has 11 digits" in r.text and "Record a registration" not in r.text


def test_the_device_page_changes_the_smi_status(client, people):
    _login(client, "dcc")
    r = client.get(f"/smi/devices/{IHD}")
    assert "Change SMI Status" in r.text and '<option value="Whitelisted">' in r.text
    token = _csrf(r.text)
    r = client.post(f"/smi/devices/{IHD}/status", data={"csrf_token": token, "smi_status": "Whitelisted",
                                                          "reason": "ordered"}, follow_redirects=False)
    assert r.status_code == 303
    r = client.get(r.headers["location"])
    assert "Done: SMI Status changed to Whitelisted." in r.text and "ordered" in r.text
    r = client.post(f"/smi/devices/{IHD}/status", data={"csrf_token": token, "smi_status": "Commissioned"})
    assert r.status_code == 409 and "allowed from Whitelisted" in r.text
    r = client.post(f"/smi/devices/{IHD}/status", data={"csrf_token": token, "smi_status": "Withdrawn"})
    assert r.status_code == 200 and "an end state" in r.text and "Change SMI Status" not in r.text

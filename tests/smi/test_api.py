"""The SMI JSON API and portal pages: authentication, 404s, adding, commissioning, firmware, counts, paging."""

from __future__ import annotations

import re

from sqlalchemy import select

from gbsmart.models.smi import SmiDevice, SmiRegistration
from gbsmart.smi.enums import DeviceType
from gbsmart.smi.rules import DEVICE_TYPE_CODE, int_to_eui64
from tests.conftest import TEST_PASSWORD

NEW = {"device_id": "00-0D-6F-00-00-AA-00-01", "device_type": "ESME", "manufacturer": "Voltmeter Co",
       "model": "V1-SP", "hardware_version": "A", "firmware_version": "1.2",
       "smi_status": "InstalledNotCommissioned", "mpxn": "1400000000001"}


def test_every_endpoint_needs_sign_in(client):
    for path in ("/api/v1/smi/devices", "/api/v1/smi/counts", "/api/v1/smi/devices/00-0D-6F-00-00-12-34-56"):
        assert client.get(path).status_code == 401
    assert client.post("/api/v1/smi/devices", json=NEW).status_code == 401


def test_devices_api(client, world, session, inventory):
    dcc = world.user("dcc.operator", "dcc", org=world.org("DCC", kind="dcc"))
    party = world.user("supplier.user", "party_user", org=world.org("Someone Energy", category="large_supplier"))
    r = client.get("/api/v1/smi/devices/00-0D-6F-00-00-12-34-56", headers=party)
    assert r.status_code == 404 and "No device 00-0D-6F-00-00-12-34-56" in r.json()["error"]
    assert client.get("/api/v1/smi/devices/not-an-eui", headers=party).status_code == 422

    assert client.post("/api/v1/smi/devices", json=NEW, headers=party).status_code == 403
    r = client.post("/api/v1/smi/devices", json={**NEW, "firmware_version": "0.0"}, headers=dcc)
    assert r.status_code == 422 and "device_model" in r.json()["error"]
    r = client.post("/api/v1/smi/devices", json=NEW, headers=dcc)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/api/v1/smi/devices/00-0D-6F-00-00-AA-00-01"
    assert r.json()["history"][0]["to_status"] == "InstalledNotCommissioned"
    assert client.post("/api/v1/smi/devices", json=NEW, headers=dcc).status_code == 409

    # the Party user is not this MPxN's Supplier: E4
    assert client.post(f"/api/v1/smi/devices/{NEW['device_id']}/commission", headers=party).status_code == 403
    r = client.post(f"/api/v1/smi/devices/{NEW['device_id']}/commission", json={"reason": "installed"}, headers=dcc)
    assert r.status_code == 200 and r.json()["smi_status"] == "Commissioned"
    assert [h["to_status"] for h in r.json()["history"]] == ["InstalledNotCommissioned", "Commissioned"]
    r = client.post(f"/api/v1/smi/devices/{NEW['device_id']}/commission", headers=dcc)
    assert r.status_code == 409 and "allowed from Commissioned" in r.json()["error"]
    r = client.post(f"/api/v1/smi/devices/{NEW['device_id']}/firmware", json={"firmware_version": "1.3"}, headers=dcc)
    assert r.status_code == 200 and r.json()["device_model"]["firmware_version"] == "1.3"

    # a generated device, found through its MPxN; its registered Supplier may act on it
    esme = session.scalars(select(SmiDevice).where(SmiDevice.device_type == DEVICE_TYPE_CODE[DeviceType.ESME])
                           .order_by(SmiDevice.device_id.desc()).limit(1)).one()
    r = client.get(f"/api/v1/smi/devices?mpxn={esme.mpxn}", headers=party)
    assert r.status_code == 200 and int_to_eui64(esme.device_id) in {d["device_id"] for d in r.json()["items"]}
    reg = session.scalar(select(SmiRegistration).where(SmiRegistration.mpxn == esme.mpxn))
    supplier = world.user("their.supplier", "party_user")
    assert client.post(f"/api/v1/smi/devices/{int_to_eui64(esme.device_id)}/firmware",
                       json={"firmware_version": "x"}, headers=supplier).status_code == 403
    from gbsmart.models.parties import Person

    p = session.scalar(select(Person).where(Person.username == "their.supplier"))
    p.organisation_id = reg.supplier_org_id
    session.commit()
    r = client.post(f"/api/v1/smi/devices/{int_to_eui64(esme.device_id)}/firmware",
                    json={"firmware_version": "no-such"}, headers=supplier)
    assert r.status_code == 422 and "firmware_version" in r.json()["error"]


def test_keyset_pages_counts_and_events(client, world, inventory):
    h = world.user("secas", "code_administrator")
    seen, cursor = [], None
    for _ in range(10):
        r = client.get("/api/v1/smi/devices", params={"type": "CHF", "limit": 200, **({"cursor": cursor} if cursor
                                                                                     else {})}, headers=h)
        assert r.status_code == 200
        seen += [d["device_id"] for d in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    counts = client.get("/api/v1/smi/counts", headers=h).json()
    assert counts["total"] == 3000 and counts["by_type"]["CHF"] == len(seen)
    assert client.get("/api/v1/smi/devices?status=Nope", headers=h).status_code == 422
    r = client.get("/api/v1/smi/events", params={"device_id": seen[0]}, headers=h)
    assert r.status_code == 200 and r.json()["items"] == []
    party = world.user("p", "party_user")
    assert client.get("/api/v1/smi/events", headers=party).status_code == 422


def _login(client, username: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": token, "next": "/smi"})
    return token


def test_portal_search_device_and_counts(client, world, session, inventory):
    world.person("secas", "code_administrator")
    _login(client, "secas")
    esme = session.scalars(select(SmiDevice).where(SmiDevice.device_type == DEVICE_TYPE_CODE[DeviceType.ESME])
                           .limit(1)).one()
    eui = int_to_eui64(esme.device_id)
    r = client.get(f"/smi?q={eui.lower()}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/smi/devices/{eui}"
    r = client.get(f"/smi?q={esme.mpxn}")
    assert r.status_code == 200 and eui in r.text
    assert "not an EUI-64" in client.get("/smi?q=hello").text
    r = client.get(f"/smi/devices/{eui}")
    assert r.status_code == 200 and "Status history" in r.text and "Commission" in r.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    assert client.post(f"/smi/devices/{eui}/firmware", data={"firmware_version": "1"}).status_code == 403  # no CSRF
    r = client.post(f"/smi/devices/{eui}/firmware", data={"firmware_version": "nope", "csrf_token": token})
    assert r.status_code == 422 and "is not on the SMI&#39;s copy of the CPL" in r.text
    r = client.get("/smi/counts")
    assert r.status_code == 200 and 'class="bar"' in r.text and "3,000 devices" in r.text
    r = client.get("/smi?type=CHF")
    assert "Next page" in r.text
    nxt = re.search(r'href="(/smi\?[^"]*cursor=[^"]+)"', r.text).group(1).replace("&amp;", "&")
    assert client.get(nxt).status_code == 200
    assert client.get("/smi/devices/00-00-00-00-00-00-00-00").status_code == 404

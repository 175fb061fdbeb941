"""Issue 4's journey through the JSON API, on SQLite and PostgreSQL, each person with a bearer token of their own.

A manufacturer (a Party user) submits a Device Model and SECAS approves it; SECAS issues a signed extract and the DCC
downloads it and applies it to the SMI (POST /api/v1/smi/extracts); the DCC adds a device of the new model and the
registered Supplier commissions it; SECAS removes the model citing the Panel minute and issues the next extract; the
DCC applies it and the device is Suspended, with DeviceSuspended alerts to the Supplier and the Network Operator of
its MPAN; a tampered extract is refused with 422 and a replayed one with 409, and neither changes anything.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

import gbsmart.models.extracts  # noqa: F401 - registers cpl_extracts
import gbsmart.models.smi  # noqa: F401 - registers the SMI tables
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.signing import create_test_pki
from gbsmart.cpl.extracts import canonical_json
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.parties import Person, PersonRole
from gbsmart.models.smi import SmiDevice, SmiDeviceEvent, SmiDeviceModel, SmiExtractApplication, SmiStatusHistory
from gbsmart.smi.registration import write_registration

from .conftest import certs, submission

MPAN = "1012345678901"
DEVICE = "00-0D-6F-00-00-AB-CD-02"
MINUTE = "SECP_80_2405_20 item 4"
MODEL = ("Demo Meters Ltd", "DM-ESME_SINGLE", "A1", "1.0.0")


@pytest.fixture
def people(world, session, clock, settings, versions) -> dict[str, dict[str, str]]:
    """Bearer tokens for a manufacturer and a Supplier (Party users), SECAS, the DCC; the test PKI; the MPAN's
    registration data (Big Energy plc supplies it, Wires North is its Network Operator)."""
    orgs = {"secas": world.org("SECAS", kind="secas"), "dcc": world.org("Smart DCC", kind="dcc"),
            "maker": world.org("Demo Meters Ltd", category="other"),
            "supplier": world.org("Big Energy plc", category="large_supplier")}
    network = world.org("Wires North", category="electricity_network")
    roles = {"secas": "code_administrator", "dcc": "dcc", "maker": "party_user", "supplier": "party_user"}
    headers = {}
    for username, role in roles.items():
        person = Person(username=username, full_name=username.title(), organisation_id=orgs[username].id,
                        created_at=clock.now(), role_rows=[PersonRole(role=role)])
        session.add(person)
        session.commit()
        headers[username] = world.token(person)
    create_test_pki(settings.resolved_pki_dir(), now=clock.now())  # `gbsmart pki init-test`
    system = Ctx(session=session, actor=Actor.system("set-up"), clock=clock, settings=settings)
    write_registration(system, mpxn=int(MPAN), fuel="E", supplier_org_id=orgs["supplier"].id,
                                 network_operator_org_id=network.id, valid_from=date(2019, 1, 1))
    session.commit()
    return headers


def state(session) -> dict:
    """Everything applying an extract could change, as committed."""
    session.rollback()

    def count(model) -> int:
        return session.scalar(select(func.count()).select_from(model))

    out = {"models": sorted(session.execute(select(SmiDeviceModel.model, SmiDeviceModel.status)).all()),
           "devices": sorted(session.execute(select(SmiDevice.device_id, SmiDevice.smi_status)).all()),
           "applications": count(SmiExtractApplication), "history": count(SmiStatusHistory),
           "events": count(SmiDeviceEvent), "audit": count(ChangeRecord)}
    session.rollback()
    return out


def tamper(document: bytes) -> bytes:
    """Extract ``document`` made into "extract 3" that lists the removed model Active again, signature unchanged."""
    doc = json.loads(document)
    payload = json.loads(doc["payload"])
    payload["sequence"] = 3
    for e in payload["entries"]:
        if e["model"] == MODEL[1]:
            e["status"] = "Active"
    doc["payload"] = canonical_json(payload)
    return json.dumps(doc).encode()


def test_from_submission_to_suspended_devices_through_the_api(client, people, session):
    maker, secas, dcc, supplier = (people[u] for u in ("maker", "secas", "dcc", "supplier"))
    api = "/api/v1"

    # -- the manufacturer submits: refused rule by rule, then validated ------------------------------------
    r = client.post(f"{api}/cpl/submissions", json=submission("ESME_SINGLE", certificates=certs("zigbee", "cpa")),
                    headers=maker)
    assert r.status_code == 422, r.text
    assert {"field": "certificates", "rule": "certificate-matrix"}.items() <= r.json()["detail"][0].items()
    assert "an ESME needs a DLMS certificate" in r.json()["detail"][0]["message"]
    r = client.post(f"{api}/cpl/submissions", json=submission("ESME_SINGLE"), headers=maker)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["status"] == "validated" and r.headers["location"] == f"{api}/cpl/submissions/{sub['id']}"

    # -- SECAS approves it; it is on the CPL, found by search and filters ------------------------------------
    assert client.post(f"{api}/cpl/submissions/{sub['id']}/approve", headers=maker).status_code == 403
    r = client.post(f"{api}/cpl/submissions/{sub['id']}/approve", headers=secas)
    assert r.status_code == 200, r.text
    entry = r.json()
    assert entry["status"] == "Active"
    found = client.get(f"{api}/cpl/entries", params={"q": "esme_single", "type": "ESME_SINGLE", "manufacturer":
                                                     MODEL[0], "status": "Active"}, headers=maker).json()
    assert [e["id"] for e in found["items"]] == [entry["id"]]

    # -- not yet in the SMI: the DCC cannot add a device of that model before an extract reaches it ---------------
    device = {"device_id": DEVICE, "device_type": "ESME", "manufacturer": MODEL[0], "model": MODEL[1],
              "hardware_version": MODEL[2], "firmware_version": MODEL[3], "smi_status": "InstalledNotCommissioned",
              "mpxn": MPAN}
    r = client.post(f"{api}/smi/devices", json=device, headers=dcc)
    assert r.status_code == 422 and "not in the SMI's copy of the CPL" in r.json()["error"]

    # -- SECAS issues extract 1; the DCC downloads it and applies it -----------------------------------------------
    assert client.post(f"{api}/cpl/extracts", headers=dcc).status_code == 403
    r = client.post(f"{api}/cpl/extracts", headers=secas)
    assert r.status_code == 201, r.text
    issued = r.json()
    assert (issued["sequence"], issued["entry_count"], issued["removal_count"]) == (1, 1, 0)
    first = client.get(issued["download_url"], headers=dcc)
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    assert 'filename="cpl-extract-1.json"' in first.headers["content-disposition"]
    assert client.post(f"{api}/smi/extracts", content=first.content, headers=maker).status_code == 403
    r = client.post(f"{api}/smi/extracts", content=first.content, headers=dcc)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["sequence"], report["entries"], report["suspended"], report["restored"]) == (1, 1, 0, 0)
    assert report["models"] == {"added": 1, "updated": 0, "withdrawn": 0}
    assert report["signer"] == "SECAS (on behalf of the SEC Panel)" and report["sha256"] == issued["sha256"]

    # -- the DCC adds a meter of the new model; its registered Supplier commissions it ----------------------------
    assert client.post(f"{api}/smi/devices", json=device, headers=supplier).status_code == 403
    r = client.post(f"{api}/smi/devices", json=device, headers=dcc)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{api}/smi/devices/{DEVICE}"
    added = r.json()
    assert added["smi_status"] == "InstalledNotCommissioned" and added["device_model"]["status"] == "Active"
    assert client.post(f"{api}/smi/devices/{DEVICE}/commission", headers=maker).status_code == 403  # not its Supplier
    r = client.post(f"{api}/smi/devices/{DEVICE}/commission", json={"reason": "installed and commissioned"},
                    headers=supplier)
    assert r.status_code == 200, r.text
    assert r.json()["smi_status"] == "Commissioned"
    found = client.get(f"{api}/smi/devices", params={"mpxn": MPAN}, headers=supplier).json()
    assert [d["device_id"] for d in found["items"]] == [DEVICE]

    # -- SECAS removes the model citing the Panel minute and issues extract 2 -------------------------------------
    remove = f"{api}/cpl/entries/{entry['id']}/remove"
    assert client.post(remove, json={"minute_reference": MINUTE, "reason": "CPA withdrawn"},
                       headers=maker).status_code == 403
    r = client.post(remove, json={"minute_reference": "", "reason": "CPA withdrawn"}, headers=secas)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "minute_reference"
    r = client.post(remove, json={"minute_reference": MINUTE, "reason": "CPA certificate withdrawn"}, headers=secas)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "Withdrawn"
    r = client.post(f"{api}/cpl/extracts", headers=secas)
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["sequence"] == 2 and issued["removal_count"] == 1
    assert issued["removals"][0]["minute_reference"] == MINUTE and issued["removals"][0]["status"] == "Withdrawn"
    second = client.get(issued["download_url"], headers=dcc).content

    # -- the DCC applies it (as the multipart upload a browser sends): the meter is Suspended ----------------------
    r = client.post(f"{api}/smi/extracts", files={"file": ("cpl-extract-2.json", second)}, headers=dcc)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["sequence"], report["suspended"], report["restored"], report["events"]) == (2, 1, 0, 2)
    assert report["models"] == {"added": 0, "updated": 1, "withdrawn": 0}
    assert [(x["model"], x["minute_reference"]) for x in report["removals"]] == [(MODEL[1], MINUTE)]
    assert report["warnings"] == []
    d = client.get(f"{api}/smi/devices/{DEVICE}", headers=supplier).json()
    assert (d["smi_status"], d["status_before_suspension"]) == ("Suspended", "Commissioned")
    assert d["device_model"]["status"] == "Withdrawn"
    assert [(h["from_status"], h["to_status"]) for h in d["history"]] == [
        (None, "InstalledNotCommissioned"), ("InstalledNotCommissioned", "Commissioned"),
        ("Commissioned", "Suspended")]
    assert d["history"][-1]["reason"] == "CPL extract 2 (suspended: Device Model not Active on the CPL)"
    events = client.get(f"{api}/smi/events", params={"device_id": DEVICE}, headers=supplier).json()["items"]
    assert sorted((e["event"], e["user_organisation"], e["extract_sequence"]) for e in events) == [
        ("DeviceSuspended", "Big Energy plc", 2), ("DeviceSuspended", "Wires North", 2)]
    counts = client.get(f"{api}/smi/counts", headers=dcc).json()
    assert counts["by_status"] == {"Suspended": 1} and counts["total"] == 1
    r = client.post(f"{api}/smi/devices/{DEVICE}/commission", headers=dcc)
    assert r.status_code == 422 and "only if its Device Model is Active" in r.json()["error"]
    history = {h["sequence"]: h for h in client.get(f"{api}/cpl/extracts", headers=dcc).json()}
    assert history[2]["applied"]["suspended"] == 1 and history[2]["applied"]["same_digest_as_issued"] is True

    # -- a tampered extract (422) and a replayed one (409) change nothing -------------------------------------
    before = state(session)
    r = client.post(f"{api}/smi/extracts", content=tamper(second), headers=dcc)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == {"check": "signature"} and "the signature is not valid" in r.json()["error"]
    r = client.post(f"{api}/smi/extracts", content=second, headers=dcc)
    assert r.status_code == 409, r.text
    assert r.json()["detail"]["check"] == "sequence"
    assert "replayed: extract 2 is not newer than the last applied extract (2)" in r.json()["error"]
    assert state(session) == before
    assert client.get(f"{api}/smi/devices/{DEVICE}", headers=dcc).json()["smi_status"] == "Suspended"

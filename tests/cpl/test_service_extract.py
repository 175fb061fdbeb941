"""``extract_entries``: the contract signed CPL extracts (cpl.extracts) build on."""

from __future__ import annotations

from datetime import date

from gbsmart.cpl import service
from gbsmart.cpl.schemas import SubmissionCreate

from .conftest import certs, submission

KEYS = {"manufacturer", "model", "hardware_version", "firmware_version", "physical_device_type", "status",
        "technical_specification", "gbcs_version", "cpa_expiry", "smets1", "minute_reference"}


def test_extract_is_empty_without_entries(session):
    assert service.extract_entries(session) == []


def test_extract_carries_every_entry_in_device_model_order(cast, session, clock):
    cast.listed("GSME", model="Zeta G", hardware_version="B2")
    cast.listed("ESME_SINGLE", model="Alpha E", firmware_version="2.0.0")
    cast.listed("ESME_SINGLE", model="Alpha E", firmware_version="10.0.0")
    cast.listed("PPMID", model="Alpha E", hardware_version="A0")
    smets1 = SubmissionCreate.model_validate(submission(
        "GSME", manufacturer="Aclara", model="SGM1411", technical_specification="SMETS1 v1.2", gbcs_version=None,
        smets1=True, certificates=certs("zigbee", suffix="S1")))
    sub = service.submit(cast.ctx("dcc"), smets1)
    service.approve(cast.ctx("secas"), sub.id)
    entry = cast.listed("HCALCS", model="Beta H")
    service.remove_entry(cast.ctx("secas"), entry, "SSC_77_1402 3.5", "CPA certificate withdrawn")
    session.commit()

    rows = service.extract_entries(session)
    assert [(r["manufacturer"], r["model"], r["hardware_version"], r["firmware_version"]) for r in rows] == [
        ("Aclara", "SGM1411", "A1", "1.0.0"),
        ("Demo Meters Ltd", "Alpha E", "A0", "1.0.0"),
        ("Demo Meters Ltd", "Alpha E", "A1", "10.0.0"),
        ("Demo Meters Ltd", "Alpha E", "A1", "2.0.0"),
        ("Demo Meters Ltd", "Beta H", "A1", "1.0.0"),
        ("Demo Meters Ltd", "Zeta G", "B2", "1.0.0"),
    ]
    assert all(set(r) == KEYS for r in rows)
    aclara, ppmid, _, esme, hcalcs, gsme = rows
    assert aclara == {"manufacturer": "Aclara", "model": "SGM1411", "hardware_version": "A1",
                      "firmware_version": "1.0.0", "physical_device_type": "GSME", "status": "Active",
                      "technical_specification": "SMETS1 v1.2", "gbcs_version": None, "cpa_expiry": None,
                      "smets1": True, "minute_reference": None}
    assert esme["physical_device_type"] == "ESME_SINGLE" and esme["technical_specification"] == "SMETS2 v4.1"
    assert esme["gbcs_version"] == "2.0" and esme["cpa_expiry"] == date(2024, 6, 30).isoformat()
    assert esme["smets1"] is False and esme["status"] == "Active"
    assert ppmid["physical_device_type"] == "PPMID" and ppmid["cpa_expiry"] is None
    assert hcalcs["status"] == "Withdrawn" and hcalcs["minute_reference"] == "SSC_77_1402 3.5"
    assert gsme["status"] == "Active" and gsme["minute_reference"] is None

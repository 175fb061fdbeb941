"""8.2 Read Inventory answered from the SMI (both databases): by Device ID, by MPxN, and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

import gbsmart.models.smi  # noqa: F401  (registers the tables)
from gbsmart.gateway.demo import BOXED_DEVICES, BOXED_MPAN, BOXED_MPRN, load_gateway_demo
from gbsmart.gateway.duis import DuisCodec
from gbsmart.gateway.inventory import read_inventory
from gbsmart.gateway.responses import response
from gbsmart.gateway.xml import SUG_NS, duis_schema
from tests.gateway.conftest import request_xml

DCC = "90-B3-D5-1F-30-00-00-02"
SUPPLIER = "90-B3-D5-1F-30-01-00-00"


def _read(session, by: str) -> tuple:
    data = request_xml(request_id=f"{SUPPLIER}:{DCC}:1", cv="8", sr="8.2", srv="8.2",
                       body=f"<sr:ReadInventory>{by}</sr:ReadInventory>")
    request = DuisCodec(duis_schema()).parse(data)
    return request, read_inventory(session, request)


def _text(device, name: str) -> str | None:
    return device.findtext(f"{{{SUG_NS}}}{name}")


def test_read_inventory_by_device_id_and_by_mpxn_is_a_valid_duis_response(ctx, session):
    load_gateway_demo(ctx)
    session.commit()
    request, answer = _read(session, "<sr:DeviceID>00-DB-12-34-56-78-90-A3</sr:DeviceID>")
    assert answer.code == "I0" and answer.inventory is not None
    (device,) = answer.inventory
    assert (_text(device, "DeviceID"), _text(device, "DeviceType"), _text(device, "DeviceStatus")) == (
        "00-DB-12-34-56-78-90-A3", "GSME", "Commissioned")
    assert (_text(device, "ImportMPxN"), _text(device, "CPLStatus"), _text(device, "CSPRegion")) == (
        str(BOXED_MPRN), "Active", "Central")
    root = response(request, "I0", datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    root.find(f"{{{SUG_NS}}}Body/{{{SUG_NS}}}ResponseMessage").append(answer.inventory)
    duis_schema().validate(etree.fromstring(etree.tostring(root)))  # the answer is valid DUIS

    _, by_mpan = _read(session, f"<sr:MPxN>{BOXED_MPAN}</sr:MPxN>")
    expected = sorted(d for d, (_, mpxn) in BOXED_DEVICES.items() if mpxn == BOXED_MPAN)
    assert [_text(d, "DeviceID") for d in by_mpan.inventory] == expected


def test_read_inventory_of_an_unknown_device_or_mpxn_is_e19_with_a_reason(ctx, session):
    load_gateway_demo(ctx)
    session.commit()
    _, unknown = _read(session, "<sr:DeviceID>00-DB-12-34-56-78-90-FF</sr:DeviceID>")
    assert unknown.inventory is None and unknown.code == "E19" and "not in the Smart Metering" in unknown.explanation
    _, nothing = _read(session, "<sr:MPxN>9999999</sr:MPxN>")
    assert nothing.code == "E19" and "No device at MPxN 9999999" in nothing.explanation

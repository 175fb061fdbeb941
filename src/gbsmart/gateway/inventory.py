"""Non-device requests the DCC answers itself from the Smart Metering Inventory: 8.2 Read Inventory.

``read_inventory`` answers a Read Inventory by Device ID or by MPxN with a ``DSPInventory`` of at most 17
devices (the schema's limit), each with its Device Type, SMI Status, Device Model and firmware, CPL status,
MPxN and CSP Region, read through ``smi/service.py``. UPRN and PropertyFilter look-ups are not kept in the
SMI yet: they get E19 with a reason saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from gbsmart.core.errors import Invalid
from gbsmart.gateway.duis import DuisRequest
from gbsmart.gateway.xml import SUG_NS
from gbsmart.models.smi import SmiDevice
from gbsmart.smi import service as smi_service
from gbsmart.smi.errors import DeviceNotFound
from gbsmart.smi.rules import DEVICE_TYPE_OF, REGION_OF, STATUS_OF, int_to_eui64

MAX_DEVICES = 17  # DSPInventory's maxOccurs


def _sr(name: str) -> str:
    return f"{{{SUG_NS}}}{name}"


@dataclass(frozen=True)
class InventoryAnswer:
    """A Read Inventory's answer: the ``DSPInventory`` element, or the DUIS code and reason it could not be given."""

    inventory: etree._Element | None
    code: str = "I0"
    explanation: str = ""


def _device_element(session: Session, device: SmiDevice) -> etree._Element:
    element = etree.Element(_sr("Device"))
    etree.SubElement(element, _sr("DeviceID")).text = int_to_eui64(device.device_id)
    etree.SubElement(element, _sr("DeviceType")).text = DEVICE_TYPE_OF[device.device_type].value
    etree.SubElement(element, _sr("DeviceStatus")).text = STATUS_OF[device.smi_status].value
    model = smi_service.model_of(session, device)
    etree.SubElement(element, _sr("DeviceManufacturer")).text = (model.manufacturer if model else "")[:30]
    etree.SubElement(element, _sr("DeviceModel")).text = (model.model if model else "")[:30]
    if model is not None and model.firmware_version:
        etree.SubElement(element, _sr("DeviceFirmwareVersion")).text = model.firmware_version[:8]
        etree.SubElement(element, _sr("CPLStatus")).text = model.status
    if device.mpxn is not None:
        etree.SubElement(element, _sr("ImportMPxN")).text = str(device.mpxn)
    etree.SubElement(element, _sr("CSPRegion")).text = REGION_OF[device.csp_region].value
    return element


def read_inventory(session: Session, request: DuisRequest) -> InventoryAnswer:
    """The DSPInventory answering a Read Inventory request (by DeviceID or MPxN)."""
    body = request.root.find(f"{_sr('Body')}/{_sr('ReadInventory')}")
    if body is None or len(body) == 0:
        return InventoryAnswer(None, "E19", "The Read Inventory request names no device: give a DeviceID or MPxN.")
    by = body[0]
    value = (by.text or "").strip()
    if by.tag == _sr("DeviceID"):
        try:
            devices = [smi_service.get_device(session, value)]
        except (DeviceNotFound, Invalid, ValueError):
            return InventoryAnswer(None, "E19", f"Device {value[:30]} is not in the Smart Metering Inventory: check "
                                                "the DeviceID.")
    elif by.tag == _sr("MPxN"):
        if not value.isdigit():
            return InventoryAnswer(None, "E19", f"MPxN {value[:20]!r} is not an MPAN core or MPRN (digits only).")
        devices = list(session.scalars(select(SmiDevice).where(SmiDevice.mpxn == int(value))
                                       .order_by(SmiDevice.device_id).limit(MAX_DEVICES)))
        if not devices:
            return InventoryAnswer(None, "E19", f"No device at MPxN {value} is in the Smart Metering Inventory.")
    else:
        return InventoryAnswer(None, "E19", "Read Inventory by UPRN or PropertyFilter is not supported yet: give a "
                                            "DeviceID or MPxN.")
    inventory = etree.Element(_sr("DSPInventory"))
    for device in devices:
        inventory.append(_device_element(session, device))
    return InventoryAnswer(inventory)

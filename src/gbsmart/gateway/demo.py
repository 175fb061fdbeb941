"""The DCC Boxed test organisations and the devices the RTDS templates target, so those templates work on the demo.

The RTDS request templates (``shared/duis/examples``, ``@smartdcc/duis-templates``) are sent by two DCC Boxed
test User IDs: ``90-B3-D5-1F-30-01-00-00`` (the Supplier: Import, Export and Gas Supplier, and Other User,
which 9.1 needs) and ``90-B3-D5-1F-30-02-00-00`` (the Network Operator: Electricity Distributor and Gas
Transporter: DCC Boxed gives one organisation both). They target five devices, ``00-DB-12-34-56-78-90-A0`` to
``-A4``, added here Commissioned, on test Device Models, at one MPAN and one MPRN registered to those two
organisations. Their certificates are not stored here: they come from the DCC Boxed signing tool's jar at
run time (``gbsmart gateway load-boxed-jar JAR --dsp-key``; docs/gateway.md). Idempotent.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from gbsmart.core.context import Ctx
from gbsmart.models.parties import DccUser, DccUserRole, Organisation
from gbsmart.models.smi import SmiDevice, SmiDeviceModel
from gbsmart.smi import service as smi_service
from gbsmart.smi.enums import DeviceType, Fuel, SmiStatus
from gbsmart.smi.registration import write_registration
from gbsmart.smi.rules import eui64_to_int
from gbsmart.smi.schemas import DeviceCreate

BOXED_SUPPLIER = "90-B3-D5-1F-30-01-00-00"
BOXED_NETWORK_OPERATOR = "90-B3-D5-1F-30-02-00-00"
#: (organisation name, Party Category, User ID, User Roles)
BOXED_ORGANISATIONS = (
    ("DCC Boxed Test Supplier", "large_supplier", BOXED_SUPPLIER, ("IS", "ES", "GS", "OU")),
    ("DCC Boxed Test Network Operator", "electricity_network", BOXED_NETWORK_OPERATOR, ("ED", "GT")),
)
BOXED_MPAN = 1100000000001
BOXED_MPRN = 1234567
#: the devices the RTDS templates target: Device ID -> (Device Type, MPxN)
BOXED_DEVICES: dict[str, tuple[DeviceType, int | None]] = {
    "00-DB-12-34-56-78-90-A0": (DeviceType.ESME, BOXED_MPAN),
    "00-DB-12-34-56-78-90-A1": (DeviceType.GPF, BOXED_MPRN),
    "00-DB-12-34-56-78-90-A2": (DeviceType.CHF, None),
    "00-DB-12-34-56-78-90-A3": (DeviceType.GSME, BOXED_MPRN),
    "00-DB-12-34-56-78-90-A4": (DeviceType.ESME, BOXED_MPAN),
}
#: test Device Models in the SMI's copy of the CPL, by Device Type: (physical type, manufacturer, model)
BOXED_MODELS = {DeviceType.ESME: ("ESME", "DCCB", "BOXED-ESME"), DeviceType.GSME: ("GSME", "DCCB", "BOXED-GSME"),
                DeviceType.GPF: ("CH", "DCCB", "BOXED-CH"), DeviceType.CHF: ("CH", "DCCB", "BOXED-CH")}
_HARDWARE, _FIRMWARE = "0001", "00000001"
REGISTERED_FROM = date(2020, 1, 1)


def load_gateway_demo(ctx: Ctx) -> dict[str, int]:
    """Add what is missing of the DCC Boxed organisations, User IDs, devices and registrations; counts added."""
    s = ctx.session
    added = {"DCC Boxed organisations": 0, "DCC Boxed User IDs": 0, "DCC Boxed devices": 0,
             "DCC Boxed registrations": 0}
    orgs: dict[str, Organisation] = {}
    for name, category, user_id, roles in BOXED_ORGANISATIONS:
        org = s.scalar(select(Organisation).where(Organisation.name == name))
        if org is None:
            org = Organisation(name=name, kind="sec_party", party_category=category, source="DCC Boxed test data",
                               created_at=ctx.clock.now())
            s.add(org)
            s.flush()
            added["DCC Boxed organisations"] += 1
        orgs[user_id] = org
        if s.scalar(select(DccUser.id).where(DccUser.eui64 == user_id)) is None:
            s.add(DccUser(organisation_id=org.id, eui64=user_id, role_rows=[DccUserRole(role=r) for r in roles]))
            added["DCC Boxed User IDs"] += 1
    for physical, manufacturer, model in set(BOXED_MODELS.values()):
        if smi_service.find_model(s, manufacturer, model, _HARDWARE, _FIRMWARE) is None:
            s.add(SmiDeviceModel(manufacturer=manufacturer, model=model, hardware_version=_HARDWARE,
                                 firmware_version=_FIRMWARE, physical_device_type=physical, status="Active",
                                 updated_at=ctx.clock.now()))
    s.flush()
    for device_id, (device_type, mpxn) in BOXED_DEVICES.items():
        if s.get(SmiDevice, eui64_to_int(device_id)) is not None:
            continue
        _, manufacturer, model = BOXED_MODELS[device_type]
        smi_service.add_device(ctx, DeviceCreate(
            device_id=device_id, device_type=device_type, manufacturer=manufacturer, model=model,
            hardware_version=_HARDWARE, firmware_version=_FIRMWARE, smi_status=SmiStatus.COMMISSIONED,
            mpxn=str(mpxn) if mpxn else None))
        added["DCC Boxed devices"] += 1
    supplier, network = orgs[BOXED_SUPPLIER], orgs[BOXED_NETWORK_OPERATOR]
    for mpxn, fuel in ((BOXED_MPAN, Fuel.ELECTRICITY), (BOXED_MPRN, Fuel.GAS)):
        if smi_service.current_registration(s, mpxn) is None:
            write_registration(ctx, mpxn=mpxn, fuel=fuel, supplier_org_id=supplier.id,
                               network_operator_org_id=network.id, valid_from=REGISTERED_FROM)
            added["DCC Boxed registrations"] += 1
    s.flush()
    return added

"""Non-device requests the DCC answers itself, synchronously, acting on the Smart Metering Inventory.

``HANDLERS`` maps a Service Reference Variant to its handler; the server calls ``handler_for(srv)`` for every
accepted non-device request and, when there is one, runs it off the event loop (``asyncio.to_thread``) on a
session it commits. A non-device SRV with no handler is acknowledged with I99 as before.

=========  ===========================================================================================
8.2        Read Inventory (``gateway.inventory``): the devices' SMI data, read only
8.4        Update Inventory: SMI Status (``UpdateDeviceStatusExceptCH`` / ``UpdateDeviceStatusCH``),
           firmware (``UpdateDeviceDetails/FirmwareVersion``), ``DeleteDevice`` (the device is Withdrawn)
8.14.1-4   Communications Hub Status Update: install success (Commissioned), install without SM WAN
           (InstalledNotCommissioned), fault and no-fault return (Withdrawn if never installed, else
           Decommissioned)
12.1       Request WAN Matrix: coverage for a postcode (``gateway.wan``)
12.2       Device Pre-notification: the device added to the SMI, Pending, and Whitelisted at once if its
           Device Model is Active on the CPL (or it is an IHD or CAD, which need no CPL entry)
=========  ===========================================================================================

Every change goes through ``gbsmart.smi.service``, which owns who may change what (``may_add`` /
``may_act_on`` / ``supplies``): the request acts as the sending User's organisation (no portal roles), except
12.2, which the DCC performs for the User (adding devices is the DCC's, ``WRITERS``). The service's refusals
become DUIS codes by kind (``REFUSAL_CODES``), with the service's own plain-English message as explanation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from gbsmart.config import Settings
from gbsmart.core.clock import Clock
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from gbsmart.cpl.enums import EntryStatus
from gbsmart.gateway import wan
from gbsmart.gateway.duis import DuisRequest
from gbsmart.gateway.inventory import read_inventory
from gbsmart.gateway.xml import SUG_NS
from gbsmart.models.smi import SmiDeviceModel
from gbsmart.smi import service as smi_service
from gbsmart.smi.enums import DeviceType, SmiStatus
from gbsmart.smi.rules import DEVICE_TYPE_OF, STATUS_OF, requires_cpl
from gbsmart.smi.schemas import DeviceCreate

#: DUIS Response Code for each kind of SMI service refusal. The schema also has SRV-specific codes (E0804xx,
#: E0814xx, E1202xx) whose meanings are not in the reference material this was built from; the general codes
#: below are used instead, each answer's explanation saying exactly what was wrong (docs/gateway.md).
REFUSAL_CODES: dict[type[AppError], str] = {NotFound: "E19", Forbidden: "E4", Conflict: "E5", Invalid: "E5"}
#: the Device Types whose status 8.4 sets with UpdateDeviceStatusCH (the Communications Hub's two functions)
CH_TYPES = frozenset({DeviceType.CHF, DeviceType.GPF})


def _sr(name: str) -> str:
    return f"{{{SUG_NS}}}{name}"


@dataclass(frozen=True)
class Caller:
    """The User a request comes from: its DCC User ID, the organisation holding it, its User Roles."""

    user_id: str
    organisation_id: int
    roles: frozenset[str] = frozenset()


@dataclass
class NonDeviceAnswer:
    """A synchronous answer: its Response Code and reason, the payload element (if any) and the devices changed."""

    code: str = "I0"
    explanation: str = ""
    payload: etree._Element | None = None
    changed: list[int] = field(default_factory=list)  # stored Device IDs whose SMI entry changed


@dataclass(frozen=True)
class Context:
    """What a handler gets: the database session (committed by the caller on success), the request, the User."""

    session: Session
    request: DuisRequest
    caller: Caller
    clock: Clock
    settings: Settings

    def as_user(self) -> Ctx:
        """A service context acting as the User's organisation: the SMI service decides what it may change."""
        actor = Actor(person_id=None, username=f"duis:{self.caller.user_id}", name=f"DCC User {self.caller.user_id}",
                      organisation_id=self.caller.organisation_id)
        return Ctx(session=self.session, actor=actor, clock=self.clock, settings=self.settings,
                   request_id=str(self.request.request_id))

    def as_dcc(self) -> Ctx:
        """A service context acting as the DCC itself (what only the DCC may do, e.g. add devices)."""
        actor = Actor(person_id=None, username="dcc-gateway", name=f"DCC, for User {self.caller.user_id}",
                      roles=frozenset({"dcc"}))
        return Ctx(session=self.session, actor=actor, clock=self.clock, settings=self.settings,
                   request_id=str(self.request.request_id))

    def body(self, name: str) -> etree._Element:
        element = self.request.root.find(f"{_sr('Body')}/{_sr(name)}")
        if element is None:  # the schema ties the Body element to the SRV; a mismatch is not valid DUIS
            raise Invalid(f"The request's Body has no {name} element, which its Service Reference Variant needs.")
        return element


Handler = Callable[[Context], NonDeviceAnswer]


def refusal(exc: AppError) -> NonDeviceAnswer:
    """The DUIS answer to an SMI service refusal: its code by kind, the service's message as the reason."""
    code = next((c for kind, c in REFUSAL_CODES.items() if isinstance(exc, kind)), "E5")
    return NonDeviceAnswer(code, exc.message)


def _device_id(element: etree._Element, name: str = "DeviceID") -> str:
    return (element.findtext(_sr(name)) or "").strip().upper()


# ---------------------------------------------------------------- 8.2


def _read_inventory(c: Context) -> NonDeviceAnswer:
    answer = read_inventory(c.session, c.request)
    return NonDeviceAnswer(answer.code, answer.explanation, answer.inventory)


# ---------------------------------------------------------------- 8.4


def _update_inventory(c: Context) -> NonDeviceAnswer:
    body = c.body("UpdateInventory")
    device_id = _device_id(body)
    ctx = c.as_user()
    device = smi_service.device_for_change(ctx, device_id)  # E19 unknown, E4 not the User's to change
    device_type = DEVICE_TYPE_OF[device.device_type]
    change = [e for e in body.iterchildren(etree.Element) if e.tag != _sr("DeviceID")][0]  # not comments
    name = etree.QName(change).localname
    if name in ("UpdateDeviceStatusExceptCH", "UpdateDeviceStatusCH"):
        is_ch = device_type in CH_TYPES
        if is_ch != (name == "UpdateDeviceStatusCH"):
            use = "UpdateDeviceStatusCH" if is_ch else "UpdateDeviceStatusExceptCH"
            raise Invalid(f"Device {device_id} is a {device_type.value}: set its status with {use}, not {name}.")
        target = SmiStatus((change.text or "").strip())
        before = STATUS_OF[device.smi_status]
        smi_service.change_status(ctx, device_id, target, f"8.4 Update Inventory by {c.caller.user_id}")
        what = f"Device {device_id} is now {target.value} (was {before.value})."
    elif name == "DeleteDevice":
        smi_service.change_status(ctx, device_id, SmiStatus.WITHDRAWN, f"8.4 Delete Device by {c.caller.user_id}")
        what = f"Device {device_id} is Withdrawn from the Smart Metering Inventory (its history is kept)."
    elif name == "UpdateDeviceDetails":
        firmware = (change.findtext(_sr("FirmwareVersion")) or "").strip()
        others = [etree.QName(e).localname for e in change.iterchildren(etree.Element)
                  if etree.QName(e).localname != "FirmwareVersion"]
        if others or not firmware:
            raise Invalid(f"Update Device Details can change only the FirmwareVersion here; "
                          f"{', '.join(others) or 'no FirmwareVersion'} given: the Device Model, manufacturer, "
                          "SMETS/CHTS version and ESME variant follow the firmware's entry on the CPL.")
        smi_service.update_firmware(ctx, device_id, firmware)
        what = f"Device {device_id} now runs firmware {firmware}."
    else:  # UpdateMPxN: the SMI service has no use case for moving a device to another MPxN yet
        raise Invalid(f"{name} is not supported: a device's MPxN is set by its installation (8.14.1 for a "
                      "Communications Hub) or by the DCC in the portal.")
    return NonDeviceAnswer("I0", what, changed=[device.device_id])


# ---------------------------------------------------------------- 8.14.x


def _ch_install(sm_wan: bool) -> Handler:
    def handle(c: Context) -> NonDeviceAnswer:
        body = c.body("CHFInstallSuccessSMWAN" if sm_wan else "CHFInstallSuccessNoSMWAN")
        device_id, mpxn = _device_id(body), (body.findtext(_sr("MPxN")) or "").strip()
        if not mpxn.isdigit():
            raise Invalid(f"MPxN {mpxn[:20]!r} is not an MPAN core or MPRN (digits only).")
        device = smi_service.install_communications_hub(c.as_user(), device_id, int(mpxn), sm_wan=sm_wan)
        status = STATUS_OF[device.smi_status].value
        return NonDeviceAnswer("I0", f"Communications Hub {device_id} installed at MPxN {mpxn}: its CHF is {status}.",
                               changed=[device.device_id])
    return handle


def _ch_return(element: str) -> Handler:
    def handle(c: Context) -> NonDeviceAnswer:
        body = c.body(element)
        device_id = _device_id(body)
        ctx = c.as_user()
        device = smi_service.device_for_change(ctx, device_id)
        if DEVICE_TYPE_OF[device.device_type] is not DeviceType.CHF:
            raise Invalid(f"Device {device_id} is a {DEVICE_TYPE_OF[device.device_type].value}, not a Communications "
                          "Hub Function: a Communications Hub is returned by its CHF's Device ID.")
        status = STATUS_OF[device.smi_status]
        target = SmiStatus.WITHDRAWN if status in (SmiStatus.PENDING, SmiStatus.WHITELISTED) \
            else SmiStatus.DECOMMISSIONED
        kind = (body.findtext(_sr("CHFFaultReturnType")) or body.findtext(_sr("CHFNoFaultReturnType")) or "").strip()
        smi_service.change_status(ctx, device_id, target, f"8.14 Communications Hub returned: {kind}"[:300])
        return NonDeviceAnswer("I0", f"Communications Hub {device_id} returned ({kind}): its CHF is {target.value}.",
                               changed=[device.device_id])
    return handle


# ---------------------------------------------------------------- 12.1


def _wan_matrix(c: Context) -> NonDeviceAnswer:
    body = c.body("RequestWANMatrix")
    matrix = wan.wan_matrix(body, wan.coverage_table(c.settings), c.request.schema_version)
    if isinstance(matrix, str):
        return NonDeviceAnswer("E19", matrix)
    return NonDeviceAnswer("I0", "", matrix)


# ---------------------------------------------------------------- 12.2


def _cpl_models(session: Session, manufacturer: str, model: str, firmware: str) -> list[SmiDeviceModel]:
    q = select(SmiDeviceModel).where(SmiDeviceModel.manufacturer == manufacturer, SmiDeviceModel.model == model)
    if firmware:
        q = q.where(SmiDeviceModel.firmware_version == firmware)
    return list(session.scalars(q.order_by(SmiDeviceModel.hardware_version, SmiDeviceModel.firmware_version)))


def _pre_notification(c: Context) -> NonDeviceAnswer:
    body = c.body("DevicePrenotification")
    device_id = _device_id(body)
    device_type = DeviceType((body.findtext(_sr("DeviceType")) or "").strip())
    manufacturer = (body.findtext(_sr("DeviceManufacturer")) or "").strip()
    model_name = (body.findtext(_sr("DeviceModel")) or "").strip()
    firmware = (body.findtext(_sr("FirmwareVersion")) or "").strip()
    # DUIS names no hardware version: the CPL entry is the one with this manufacturer, model (and firmware)
    models = _cpl_models(c.session, manufacturer, model_name, firmware)
    model = models[-1] if models else None
    ctx = c.as_dcc()
    data = DeviceCreate(device_id=device_id, device_type=device_type, smi_status=SmiStatus.PENDING,
                        manufacturer=manufacturer or None, model=model_name or None,
                        hardware_version=model.hardware_version if model else None,
                        firmware_version=model.firmware_version if model else (firmware or None))
    device = smi_service.add_device(ctx, data)  # only the DCC adds; a model not on the CPL is refused there
    status = STATUS_OF[device.smi_status]
    listed = model is not None and model.status == EntryStatus.ACTIVE
    if status is SmiStatus.PENDING and (listed or not requires_cpl(device_type)):
        smi_service.change_status(ctx, device_id, SmiStatus.WHITELISTED,
                                  f"pre-notified by {c.caller.user_id}; " + (
                                      "Device Model Active on the CPL" if listed else "needs no CPL entry"))
        status = SmiStatus.WHITELISTED
    return NonDeviceAnswer("I0", f"Device {device_id} ({device_type.value}) is in the Smart Metering Inventory, "
                                 f"{status.value}.", changed=[device.device_id])


HANDLERS: dict[str, Handler] = {
    "8.2": _read_inventory,
    "8.4": _update_inventory,
    "8.14.1": _ch_install(sm_wan=True),
    "8.14.2": _ch_install(sm_wan=False),
    "8.14.3": _ch_return("CHFFaultReturn"),
    "8.14.4": _ch_return("CHFNoFaultReturn"),
    "12.1": _wan_matrix,
    "12.2": _pre_notification,
}


def handler_for(srv: str) -> Handler | None:
    """The handler of a non-device SRV, or None (acknowledged with I99 until one exists)."""
    return HANDLERS.get(srv)


def answer(handler: Handler, session: Session, request: DuisRequest, caller: Caller, clock: Clock,
           settings: Settings) -> NonDeviceAnswer:
    """Run ``handler``; commit what it changed, or roll back and answer the refusal's DUIS code. Blocking: call it
    in a worker thread."""
    try:
        result = handler(Context(session, request, caller, clock, settings))
    except AppError as exc:
        session.rollback()
        return refusal(exc)
    except ValueError as exc:  # an EUI-64, MPxN or enumeration value the SMI rules cannot read
        session.rollback()
        return NonDeviceAnswer("E5", str(exc))
    if result.changed:
        session.commit()
    else:
        session.rollback()
    return result


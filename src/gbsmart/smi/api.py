"""JSON API of the Smart Metering Inventory: /api/v1/smi/devices, /smi/registrations, /smi/counts, /smi/events."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gbsmart.core.context import Ctx
from gbsmart.core.errors import Forbidden, Invalid
from gbsmart.models.parties import Organisation
from gbsmart.models.smi import SmiDevice
from gbsmart.smi import registration, service
from gbsmart.smi.rules import (
    DEVICE_TYPE_OF,
    EVENT_OF,
    REGION_OF,
    STATUS_OF,
    DeviceType,
    SmiStatus,
    int_to_eui64,
)
from gbsmart.smi.schemas import (
    CountRow,
    CountsRead,
    DeviceCreate,
    DevicePage,
    DeviceRead,
    DeviceSummary,
    EventPage,
    EventRead,
    FirmwareUpdate,
    HistoryRead,
    ModelRead,
    RegistrationCreate,
    RegistrationHistory,
    StatusChange,
    StatusTransition,
)
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["smi"])
WRITERS = ("dcc", "code_administrator")


def summary_of(session: Session, d: SmiDevice) -> DeviceSummary:
    m = service.model_of(session, d)
    return DeviceSummary(device_id=int_to_eui64(d.device_id), device_type=DEVICE_TYPE_OF[d.device_type],
                         smi_status=STATUS_OF[d.smi_status], status_date=d.status_date,
                         mpxn=str(d.mpxn) if d.mpxn is not None else None, csp_region=REGION_OF[d.csp_region],
                         model_status=m.status if m else None)


def read_of(session: Session, d: SmiDevice) -> DeviceRead:
    m = service.model_of(session, d)
    return DeviceRead(
        **summary_of(session, d).model_dump(),
        status_before_suspension=STATUS_OF[d.status_before_suspension] if d.status_before_suspension else None,
        device_model=ModelRead.model_validate(m, from_attributes=True) if m else None,
        chf_device_id=int_to_eui64(d.chf_device_id) if d.chf_device_id is not None else None,
        associated_meter_id=int_to_eui64(d.associated_meter_id) if d.associated_meter_id is not None else None,
        history=[HistoryRead(at=h.at, from_status=STATUS_OF[h.from_status] if h.from_status else None,
                             to_status=STATUS_OF[h.to_status], reason=h.reason)
                 for h in service.history(session, d.device_id)],
    )


def require_writer(ctx: Ctx) -> None:
    """Adding devices: the DCC or the Code Administrator (or a system job)."""
    if not ctx.actor.has_role(*WRITERS, "system"):
        raise Forbidden("Only the DCC or the Code Administrator may add devices to the Smart Metering Inventory.")


def device_for_change(ctx: Ctx, device_id: str) -> SmiDevice:
    """The device, if the actor may change it (``service.may_act_on``); 403 (DUIS response E4) otherwise."""
    device = service.get_device(ctx.session, device_id)
    if not service.may_act_on(ctx, device):
        raise Forbidden("Only the DCC, the Code Administrator or the registered Supplier of the device's MPxN may "
                        "change this device (DUIS response E4).")
    return device


@router.get("/smi/devices", response_model=DevicePage, summary="Devices by MPxN, status or type (keyset-paged)")
def list_devices(
    ctx: Ctx = Depends(get_ctx),
    mpxn: str | None = Query(None, pattern=r"^\d{6,13}$", description="MPAN core or MPRN"),
    status: SmiStatus | None = Query(None),
    type: DeviceType | None = Query(None, description="Device Type"),  # noqa: A002
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> DevicePage:
    f = service.DeviceFilters(mpxn=int(mpxn) if mpxn else None, status=status, device_type=type)
    page = service.list_devices(ctx.session, f, cursor, limit)
    return DevicePage(items=[summary_of(ctx.session, d) for d in page.items], next_cursor=page.next_cursor)


@router.post("/smi/devices", response_model=DeviceRead, status_code=201, summary="Add a device to the SMI")
def add_device(data: DeviceCreate, response: Response, ctx: Ctx = Depends(get_ctx)) -> DeviceRead:
    require_writer(ctx)
    d = service.add_device(ctx, data)
    response.headers["Location"] = f"/api/v1/smi/devices/{int_to_eui64(d.device_id)}"
    return read_of(ctx.session, d)


@router.get("/smi/devices/{device_id}", response_model=DeviceRead, summary="A device with its status history")
def get_device(device_id: str, ctx: Ctx = Depends(get_ctx)) -> DeviceRead:
    return read_of(ctx.session, service.get_device(ctx.session, device_id))


@router.post("/smi/devices/{device_id}/commission", response_model=DeviceRead,
             summary="Commission (refused unless the Device Model is Active on the CPL)")
def commission(device_id: str, data: StatusChange | None = None, ctx: Ctx = Depends(get_ctx)) -> DeviceRead:
    device_for_change(ctx, device_id)
    d = service.commission(ctx, device_id, (data.reason if data else "") or "commissioned")
    return read_of(ctx.session, d)


@router.post("/smi/devices/{device_id}/decommission", response_model=DeviceRead, summary="Decommission")
def decommission(device_id: str, data: StatusChange | None = None, ctx: Ctx = Depends(get_ctx)) -> DeviceRead:
    device_for_change(ctx, device_id)
    return read_of(ctx.session, service.decommission(ctx, device_id, (data.reason if data else "") or ""))


@router.post("/smi/devices/{device_id}/status", response_model=DeviceRead,
             summary="Change the SMI Status as the lifecycle allows (409 names the allowed changes)")
def change_status(device_id: str, data: StatusTransition, ctx: Ctx = Depends(get_ctx)) -> DeviceRead:
    device_for_change(ctx, device_id)
    return read_of(ctx.session, service.change_status(ctx, device_id, data.smi_status, data.reason))


@router.post("/smi/devices/{device_id}/firmware", response_model=DeviceRead,
             summary="Record a firmware update (moves the device to that Device Model; may restore it)")
def firmware(device_id: str, data: FirmwareUpdate, ctx: Ctx = Depends(get_ctx)) -> DeviceRead:
    device_for_change(ctx, device_id)
    return read_of(ctx.session, service.update_firmware(ctx, device_id, data.firmware_version))


@router.get("/smi/registrations/{mpxn}", response_model=RegistrationHistory,
            summary="An MPxN's registration data: its current Supplier and Network Operator, and the history")
def get_registrations(mpxn: str, ctx: Ctx = Depends(get_ctx)) -> RegistrationHistory:
    return registration.read_registrations(ctx, mpxn)


@router.post("/smi/registrations", response_model=RegistrationHistory, status_code=201,
             summary="Record registration data: from a date, this Supplier and Network Operator serve the MPxN")
def record_registration(data: RegistrationCreate, response: Response, ctx: Ctx = Depends(get_ctx)) \
        -> RegistrationHistory:
    row = registration.record_registration(ctx, data)
    response.headers["Location"] = f"/api/v1/smi/registrations/{row.mpxn}"
    return registration.history_read(ctx.session, row.mpxn, registration.registration_history(ctx.session, row.mpxn))


@router.get("/smi/counts", response_model=CountsRead, summary="Devices by SMI Status and Device Type")
def counts(ctx: Ctx = Depends(get_ctx)) -> CountsRead:
    rows = service.counts(ctx.session)
    by_status: dict[str, int] = {}
    by_type: dict[str, int] = {}
    for s, t, n in rows:
        by_status[s.value] = by_status.get(s.value, 0) + n
        by_type[t.value] = by_type.get(t.value, 0) + n
    return CountsRead(total=sum(by_status.values()), by_status=by_status, by_type=by_type,
                      rows=[CountRow(smi_status=s, device_type=t, devices=n) for s, t, n in rows])


@router.get("/smi/events", response_model=EventPage, summary="DeviceSuspended / DeviceRestored events")
def events(ctx: Ctx = Depends(get_ctx), device_id: str | None = Query(None, description="EUI-64 Device ID"),
           cursor: str | None = None, limit: int = Query(100, ge=1, le=1000)) -> EventPage:
    if device_id is None and not ctx.actor.has_role(*WRITERS):
        raise Invalid("device_id: give a Device ID (only the DCC and the Code Administrator list all events).",
                      detail=[{"field": "device_id", "message": "required"}])
    page = service.events(ctx.session, device_id, cursor, limit)
    orgs = dict(ctx.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_({e.user_org_id for e in page.items}))).all()) if page.items else {}
    return EventPage(items=[EventRead(event=EVENT_OF[e.event].value, device_id=int_to_eui64(e.device_id),
                                      user_org_id=e.user_org_id, user_organisation=orgs.get(e.user_org_id), at=e.at,
                                      extract_sequence=e.extract_sequence) for e in page.items],
                     next_cursor=page.next_cursor)

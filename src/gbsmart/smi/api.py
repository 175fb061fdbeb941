"""JSON API of the Smart Metering Inventory: /api/v1/smi/devices, /smi/registrations, /smi/counts, /smi/events."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.smi import registration, service
from gbsmart.smi.enums import DeviceType, SmiStatus
from gbsmart.smi.queries import device_read, device_summary, events_with_organisations
from gbsmart.smi.rules import EVENT_OF, int_to_eui64
from gbsmart.smi.schemas import (
    CountRow,
    CountsRead,
    DeviceCreate,
    DevicePage,
    DeviceRead,
    EventPage,
    EventRead,
    FirmwareUpdate,
    RegistrationCreate,
    RegistrationHistory,
    StatusChange,
    StatusTransition,
)
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["smi"])


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
    return DevicePage(items=[device_summary(ctx.session, d) for d in page.items], next_cursor=page.next_cursor)


@router.post("/smi/devices", response_model=DeviceRead, status_code=201, summary="Add a device to the SMI")
def add_device(data: DeviceCreate, response: Response, ctx: Ctx = Depends(get_ctx)) -> DeviceRead:
    d = service.add_device(ctx, data)
    response.headers["Location"] = f"/api/v1/smi/devices/{int_to_eui64(d.device_id)}"
    return device_read(ctx.session, d)


@router.get("/smi/devices/{device_id}", response_model=DeviceRead, summary="A device with its status history")
def get_device(device_id: str, ctx: Ctx = Depends(get_ctx)) -> DeviceRead:
    return device_read(ctx.session, service.get_device(ctx.session, device_id))


@router.post("/smi/devices/{device_id}/commission", response_model=DeviceRead,
             summary="Commission (refused unless the Device Model is Active on the CPL)")
def commission(device_id: str, data: StatusChange | None = None, ctx: Ctx = Depends(get_ctx)) -> DeviceRead:
    d = service.commission(ctx, device_id, (data.reason if data else "") or "commissioned")
    return device_read(ctx.session, d)


@router.post("/smi/devices/{device_id}/decommission", response_model=DeviceRead, summary="Decommission")
def decommission(device_id: str, data: StatusChange | None = None, ctx: Ctx = Depends(get_ctx)) -> DeviceRead:
    return device_read(ctx.session, service.decommission(ctx, device_id, (data.reason if data else "") or ""))


@router.post("/smi/devices/{device_id}/status", response_model=DeviceRead,
             summary="Change the SMI Status as the lifecycle allows (409 names the allowed changes)")
def change_status(device_id: str, data: StatusTransition, ctx: Ctx = Depends(get_ctx)) -> DeviceRead:
    return device_read(ctx.session, service.change_status(ctx, device_id, data.smi_status, data.reason))


@router.post("/smi/devices/{device_id}/firmware", response_model=DeviceRead,
             summary="Record a firmware update (moves the device to that Device Model; may restore it)")
def firmware(device_id: str, data: FirmwareUpdate, ctx: Ctx = Depends(get_ctx)) -> DeviceRead:
    return device_read(ctx.session, service.update_firmware(ctx, device_id, data.firmware_version))


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
    if device_id is None and not service.may_add(ctx):
        raise Invalid("device_id: give a Device ID (only the DCC and the Code Administrator list all events).",
                      detail=[{"field": "device_id", "message": "required"}])
    page, orgs = events_with_organisations(ctx.session, device_id, cursor, limit)
    return EventPage(items=[EventRead(event=EVENT_OF[e.event].value, device_id=int_to_eui64(e.device_id),
                                      user_org_id=e.user_org_id, user_organisation=orgs.get(e.user_org_id), at=e.at,
                                      extract_sequence=e.extract_sequence) for e in page.items],
                     next_cursor=page.next_cursor)

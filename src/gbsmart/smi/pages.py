"""Portal pages of the Smart Metering Inventory: search by Device ID or MPxN, a device with its history, an MPxN
with its registration data and devices, counts; the DCC adds a device (its Device Model from the SMI's copy of the
CPL), commissions it, changes its SMI Status, records firmware updates, and records registration data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.models.smi import SmiDevice
from gbsmart.smi import queries, registration, service
from gbsmart.smi.enums import CspRegion, DeviceType, SmiStatus
from gbsmart.smi.rules import INITIAL_STATUSES, STATUS_CODE, eui64_to_int, int_to_eui64, mpxn_fuel
from gbsmart.smi.schemas import DeviceCreate, RegistrationCreate
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.forms import FORM_FAILURES, parse, read_form, rerender
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


E = TypeVar("E", bound=Enum)


def _enum(enum: type[E], value: str | None) -> E | None:
    return enum(value) if value and value in enum._value2member_map_ else None


@router.get("/smi")
def search(request: Request, ctx: Ctx = Depends(get_ctx), q: str | None = None, status: str | None = None,
           type: str | None = None, cursor: str | None = None) -> Response:  # noqa: A002
    """One box for a Device ID or an MPxN; filters by status and type; keyset pages."""
    q = (q or "").strip()
    error = None
    mpxn = None
    if q:
        if q.isdigit() and 6 <= len(q) <= 13:
            mpxn = int(q)
        else:
            try:
                canonical = int_to_eui64(eui64_to_int(q))  # 0d6f..., 00:0D:... -> 00-0D-6F-...
                return RedirectResponse(f"/smi/devices/{canonical}", status_code=303)
            except ValueError as exc:
                error = f"{exc}; or give an MPAN core (13 digits) or an MPRN."
    f = service.DeviceFilters(mpxn=mpxn, status=_enum(SmiStatus, status), device_type=_enum(DeviceType, type))
    page = None
    if error is None and (mpxn or f.status or f.device_type or cursor):
        page = service.list_devices(ctx.session, f, cursor, 50)
    params = {k: v for k, v in {"q": q, "status": status, "type": type}.items() if v}
    return render(request, "smi_search.html", {
        **_add_context(ctx), "q": q, "f": f, "error": error, "mpxn": mpxn,
        "rows": [queries.device_summary(ctx.session, d) for d in page.items] if page else None,
        "next_url": f"/smi?{urlencode({**params, 'cursor': page.next_cursor})}" if page and page.next_cursor else None,
    })


# ---------------------------------------------------------------- adding a device (the DCC)


def _add_context(ctx: Ctx) -> dict:
    may_add = service.may_add(ctx)
    return {"may_add": may_add, "models": queries.active_models(ctx.session) if may_add else [], "form": {},
            "errors": {}, "add_error": None, "initial_statuses": sorted(INITIAL_STATUSES, key=STATUS_CODE.__getitem__),
            "Regions": CspRegion, "Status": SmiStatus, "Type": DeviceType, "q": "", "f": service.DeviceFilters(),
            "error": None, "rows": None, "next_url": None, "mpxn": None}


def _device_create(ctx: Ctx, form: dict[str, str]) -> DeviceCreate:
    """The form as the API's DeviceCreate: the Device Model chosen from the SMI's copy of the CPL by its id."""
    fields = {"device_id": form.get("device_id", ""), "device_type": form.get("device_type", ""),
              "smi_status": form.get("smi_status") or SmiStatus.PENDING.value,
              "mpxn": form.get("mpxn") or None, "chf_device_id": form.get("chf_device_id") or None,
              "associated_meter_id": form.get("associated_meter_id") or None,
              "csp_region": form.get("csp_region") or CspRegion.CENTRAL.value}
    model_id = (form.get("device_model_id") or "").strip()
    if model_id:
        model = queries.model_by_id(ctx.session, model_id)
        if model is None:
            raise Invalid("device_model: choose a Device Model from the list.",
                          detail=[{"field": "device_model", "message": "not a Device Model in the SMI"}])
        fields.update(manufacturer=model.manufacturer, model=model.model, hardware_version=model.hardware_version,
                      firmware_version=model.firmware_version)
    return parse(DeviceCreate, fields)


@router.post("/smi/devices")
async def add(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """Add a device to the SMI (the DCC or the Code Administrator), then show it."""
    form = await read_form(request)
    try:
        d = service.add_device(ctx, _device_create(ctx, form))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "smi_search.html", lambda: _add_context(ctx), form=form,
                        prefix="Nothing was added", error_key="add_error")
    return RedirectResponse(f"/smi/devices/{int_to_eui64(d.device_id)}?done=added", status_code=303)


@router.get("/smi/counts")
def counts(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    rows = service.counts(ctx.session)
    by_status = {s: sum(n for s2, _, n in rows if s2 is s) for s in SmiStatus}
    by_type = {t: sum(n for _, t2, n in rows if t2 is t) for t in DeviceType}
    matrix = {(s, t): n for s, t, n in rows}
    return render(request, "smi_counts.html", {"by_status": by_status, "by_type": by_type, "matrix": matrix,
                                               "total": sum(by_status.values()), "Status": SmiStatus,
                                               "Type": DeviceType})


# ---------------------------------------------------------------- a device and what may be done to it


def _device_context(ctx: Ctx, device_id: str) -> dict:
    device = service.get_device(ctx.session, device_id)
    page, orgs = queries.events_with_organisations(ctx.session, device_id, None, 50)
    current = None  # the registration, for those who may read it
    if device.mpxn is not None:
        regs = registration.registration_history(ctx.session, device.mpxn)
        if regs and registration.may_read(ctx, regs):
            current = registration.history_read(ctx.session, device.mpxn, regs).current
    return {"d": queries.device_read(ctx.session, device), "events": page.items, "orgs": orgs,
            "actions": service.actions_for(ctx, device), "error": None,
            "registration": current, "Status": SmiStatus, "Type": DeviceType}


@router.get("/smi/devices/{device_id}")
def device(request: Request, device_id: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "smi_device.html", _device_context(ctx, device_id))


def _act(request: Request, ctx: Ctx, device_id: str, action: Callable[[], SmiDevice], done: str) -> Response:
    """Do ``action`` to the device, then show it with ``done``; a refusal shows the device page with the reason."""
    try:
        d = action()
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "smi_device.html", lambda: _device_context(ctx, device_id), prefix="")
    return RedirectResponse(f"/smi/devices/{int_to_eui64(d.device_id)}?{urlencode({'done': done})}",
                            status_code=303)


@router.post("/smi/devices/{device_id}/commission")
async def commission(request: Request, device_id: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    return _act(request, ctx, device_id, lambda: service.commission(ctx, device_id, form.get("reason") or
                                                                    "commissioned"), "commissioned")


@router.post("/smi/devices/{device_id}/firmware")
async def firmware(request: Request, device_id: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    return _act(request, ctx, device_id, lambda: service.update_firmware(ctx, device_id,
                                                                         form.get("firmware_version") or ""),
                "firmware")


@router.post("/smi/devices/{device_id}/status")
async def change_status(request: Request, device_id: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    """An ordinary SMI Status change, as the lifecycle allows (commissioning keeps its own checks)."""
    form = await read_form(request)
    target = _enum(SmiStatus, form.get("smi_status"))

    def change() -> SmiDevice:
        if target is None:
            service.device_for_change(ctx, device_id)  # who may act is answered first, as at every door
            raise Invalid("smi_status: choose the SMI Status to move to.")
        return service.change_status(ctx, device_id, target, form.get("reason") or "")

    return _act(request, ctx, device_id, change, f"SMI Status changed to {target.value if target else ''}")


# ---------------------------------------------------------------- an MPxN: registration data and devices


def _mpxn_context(ctx: Ctx, mpxn_text: str, cursor: str | None = None) -> dict:
    """Registration history (for those who may read it), the form to record one (DCC, CA), the devices there."""
    if not mpxn_text.isdigit() or len(mpxn_text) > 18:
        registration.parse_mpxn(mpxn_text)  # raises Invalid, naming the forms an MPxN takes
    mpxn = int(mpxn_text)
    try:
        fuel, form_problem = mpxn_fuel(mpxn_text), None
    except ValueError as exc:  # a device may carry a malformed MPxN: still list it, but record nothing here
        fuel, form_problem = None, str(exc)
    rows = registration.registration_history(ctx.session, mpxn)
    may_read = registration.may_read(ctx, rows)
    may_record = registration.may_record(ctx) and fuel is not None
    page = service.list_devices(ctx.session, service.DeviceFilters(mpxn=mpxn), cursor, 50)
    return {
        "mpxn": mpxn, "fuel": fuel, "form_problem": form_problem, "may_read": may_read, "may_record": may_record,
        "history": registration.history_read(ctx.session, mpxn, rows) if may_read and rows else None,
        "devices": [queries.device_summary(ctx.session, d) for d in page.items],
        "next_url": f"/smi/mpxn/{mpxn}?{urlencode({'cursor': page.next_cursor})}" if page.next_cursor else None,
        "suppliers": registration.supplier_parties(ctx.session) if may_record else [],
        "networks": registration.network_parties(ctx.session, fuel) if may_record and fuel else [],
        "form": {}, "errors": {}, "error": None, "today": ctx.clock.today().isoformat()}


@router.get("/smi/mpxn/{mpxn}")
def mpxn_page(request: Request, mpxn: str, ctx: Ctx = Depends(get_ctx), cursor: str | None = None) -> Response:
    return render(request, "smi_mpxn.html", _mpxn_context(ctx, mpxn, cursor))


def _registration_create(mpxn: str, form: dict[str, str]) -> RegistrationCreate:
    """The form as the API's RegistrationCreate: Parties chosen by id, the fuel from the MPxN's form."""
    raw = (form.get("valid_from") or "").strip()
    try:
        valid_from = date.fromisoformat(raw)
    except ValueError:
        message = (f"{raw!r} is not a date: " if raw else "required: ") + "give the day this registration starts"
        raise Invalid(f"valid_from: {message}.", detail=[{"field": "valid_from", "message": message}]) from None
    return parse(RegistrationCreate, {}, mpxn=mpxn, supplier=form.get("supplier") or "",
                 network_operator=form.get("network_operator") or "", valid_from=valid_from,
                 supplier_user_id=form.get("supplier_user_id") or None,
                 network_operator_user_id=form.get("network_operator_user_id") or None)


@router.post("/smi/mpxn/{mpxn}/registrations")
async def record_registration(request: Request, mpxn: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    """Record registration data for this MPxN (the DCC or the Code Administrator), then show its history."""
    form = await read_form(request)
    try:
        registration.record_registration(ctx, _registration_create(mpxn, form))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "smi_mpxn.html", lambda: _mpxn_context(ctx, mpxn), form=form,
                        prefix="Nothing was recorded")
    return RedirectResponse(f"/smi/mpxn/{int(mpxn)}?done=registration", status_code=303)

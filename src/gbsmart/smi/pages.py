"""Portal pages of the Smart Metering Inventory: search by Device ID or MPxN, a device with its history, an MPxN
with its registration data and devices, counts; the DCC adds a device (its Device Model from the SMI's copy of the
CPL), commissions it, changes its SMI Status, records firmware updates, and records registration data."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select

from gbsmart.core.context import Ctx
from gbsmart.core.errors import AppError, Forbidden, Invalid
from gbsmart.core.types import as_db_id
from gbsmart.models.parties import Organisation
from gbsmart.models.smi import SmiDeviceModel
from gbsmart.smi import registration, service
from gbsmart.smi.api import WRITERS, read_of, summary_of
from gbsmart.smi.rules import (
    INITIAL_STATUSES,
    STATUS_CODE,
    CspRegion,
    DeviceType,
    ModelStatus,
    SmiStatus,
    allowed_from,
    eui64_to_int,
    int_to_eui64,
    mpxn_fuel,
)
from gbsmart.smi.schemas import DeviceCreate, RegistrationCreate
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _enum(enum, value: str | None):
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
        **_add_context(ctx, {}, {}), "q": q, "f": f, "error": error, "mpxn": mpxn,
        "rows": [summary_of(ctx.session, d) for d in page.items] if page else None,
        "next_url": f"/smi?{urlencode({**params, 'cursor': page.next_cursor})}" if page and page.next_cursor else None,
    })


# ---------------------------------------------------------------- adding a device (the DCC)


def _add_context(ctx: Ctx, form: dict, errors: dict, add_error: str | None = None) -> dict:
    may_add = ctx.actor.has_role(*WRITERS)
    models = list(ctx.session.scalars(
        select(SmiDeviceModel).where(SmiDeviceModel.status == ModelStatus.ACTIVE.value)
        .order_by(SmiDeviceModel.manufacturer, SmiDeviceModel.model, SmiDeviceModel.hardware_version,
                  SmiDeviceModel.firmware_version))) if may_add else []
    return {"may_add": may_add, "models": models, "form": form, "errors": errors, "add_error": add_error,
            "initial_statuses": sorted(INITIAL_STATUSES, key=STATUS_CODE.__getitem__), "Regions": CspRegion,
            "Status": SmiStatus, "Type": DeviceType, "q": "", "f": service.DeviceFilters(), "error": None,
            "rows": None, "next_url": None, "mpxn": None}


def _device_create(ctx: Ctx, form: dict) -> DeviceCreate:
    """The form as the API's DeviceCreate: the Device Model chosen from the SMI's copy of the CPL by its id."""
    fields = {"device_id": form.get("device_id", ""), "device_type": form.get("device_type", ""),
              "smi_status": form.get("smi_status") or SmiStatus.PENDING.value,
              "mpxn": form.get("mpxn") or None, "chf_device_id": form.get("chf_device_id") or None,
              "associated_meter_id": form.get("associated_meter_id") or None,
              "csp_region": form.get("csp_region") or CspRegion.CENTRAL.value}
    model_id = (form.get("device_model_id") or "").strip()
    if model_id:
        model_key = as_db_id(model_id)
        model = ctx.session.get(SmiDeviceModel, model_key) if model_key is not None else None
        if model is None:
            raise Invalid("device_model: choose a Device Model from the list.",
                          detail=[{"field": "device_model", "message": "not a Device Model in the SMI"}])
        fields.update(manufacturer=model.manufacturer, model=model.model, hardware_version=model.hardware_version,
                      firmware_version=model.firmware_version)
    return DeviceCreate.model_validate(fields)


def _field_errors(exc: Exception) -> dict[str, str]:
    errors: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for e in exc.errors():
            key = str(e["loc"][0]) if e["loc"] else "form"
            message = e["msg"].removeprefix("Value error, ")
            if key == "mpxn" and e["type"] == "string_pattern_mismatch":
                message = "give an MPAN core (13 digits) or an MPRN (6 to 10 digits), digits only"
            errors.setdefault(key, f"{key}: {message}")
    elif isinstance(exc, AppError) and isinstance(exc.detail, list):
        for d in exc.detail:
            if isinstance(d, dict) and d.get("field"):
                errors.setdefault(str(d["field"]), str(d.get("message", "")))
    return errors


@router.post("/smi/devices")
async def add(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """Add a device to the SMI (the DCC or the Code Administrator), then show it."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str) and k != "csrf_token"}
    try:
        if not ctx.actor.has_role(*WRITERS):
            raise Forbidden("Only the DCC or the Code Administrator may add devices to the Smart Metering Inventory.")
        d = service.add_device(ctx, _device_create(ctx, form))
    except (ValidationError, AppError) as exc:
        ctx.session.rollback()
        message = (f"Nothing was added: {exc.message}" if isinstance(exc, AppError)
                   else "Nothing was added: please correct the fields marked below.")
        return render(request, "smi_search.html", _add_context(ctx, form, _field_errors(exc), message),
                      status_code=getattr(exc, "status", 422))
    return RedirectResponse(f"/smi/devices/{read_of(ctx.session, d).device_id}?done=added", status_code=303)


@router.get("/smi/counts")
def counts(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    rows = service.counts(ctx.session)
    by_status = {s: sum(n for s2, _, n in rows if s2 is s) for s in SmiStatus}
    by_type = {t: sum(n for _, t2, n in rows if t2 is t) for t in DeviceType}
    matrix = {(s, t): n for s, t, n in rows}
    return render(request, "smi_counts.html", {"by_status": by_status, "by_type": by_type, "matrix": matrix,
                                               "total": sum(by_status.values()), "Status": SmiStatus,
                                               "Type": DeviceType})


def _device_page(request: Request, ctx: Ctx, device_id: str, *, error: str | None = None,
                 status_code: int = 200) -> Response:
    device = service.get_device(ctx.session, device_id)
    page = service.events(ctx.session, device_id, None, 50)
    orgs = dict(ctx.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_({e.user_org_id for e in page.items}))).all()) if page.items else {}
    d = read_of(ctx.session, device)
    regs = registration.registration_history(ctx.session, device.mpxn) if device.mpxn is not None else []
    current = registration.history_read(ctx.session, device.mpxn, regs).current \
        if regs and registration.may_read(ctx, regs) else None
    return render(request, "smi_device.html", {
        "d": d, "events": page.items, "orgs": orgs, "may_act": service.may_act_on(ctx, device), "error": error,
        "registration": current, "allowed": allowed_from(d.smi_status), "Status": SmiStatus, "Type": DeviceType},
        status_code=status_code)


@router.get("/smi/devices/{device_id}")
def device(request: Request, device_id: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    return _device_page(request, ctx, device_id)


@router.post("/smi/devices/{device_id}/commission")
async def commission(request: Request, device_id: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = dict(await request.form())
    try:
        if not service.may_act_on(ctx, service.get_device(ctx.session, device_id)):
            raise AppError("Only the DCC, the Code Administrator or the device's registered Supplier may "
                           "commission it.",
                           status=403)
        d = service.commission(ctx, device_id, str(form.get("reason") or "commissioned"))
    except AppError as exc:
        ctx.session.rollback()
        return _device_page(request, ctx, device_id, error=exc.message, status_code=exc.status)
    return RedirectResponse(f"/smi/devices/{read_of(ctx.session, d).device_id}?done=commissioned", status_code=303)


@router.post("/smi/devices/{device_id}/firmware")
async def firmware(request: Request, device_id: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = dict(await request.form())
    try:
        if not service.may_act_on(ctx, service.get_device(ctx.session, device_id)):
            raise AppError("Only the DCC, the Code Administrator or the device's registered Supplier may record a "
                           "firmware update.", status=403)
        d = service.update_firmware(ctx, device_id, str(form.get("firmware_version") or ""))
    except AppError as exc:
        ctx.session.rollback()
        return _device_page(request, ctx, device_id, error=exc.message, status_code=exc.status)
    return RedirectResponse(f"/smi/devices/{read_of(ctx.session, d).device_id}?done=firmware", status_code=303)


@router.post("/smi/devices/{device_id}/status")
async def change_status(request: Request, device_id: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    """An ordinary SMI Status change, as the lifecycle allows (commissioning keeps its own checks)."""
    form = dict(await request.form())
    try:
        if not service.may_act_on(ctx, service.get_device(ctx.session, device_id)):
            raise Forbidden("Only the DCC, the Code Administrator or the device's registered Supplier may change its "
                            "SMI Status (DUIS response E4).")
        target = _enum(SmiStatus, str(form.get("smi_status") or ""))
        if target is None:
            raise Invalid("smi_status: choose the SMI Status to move to.")
        d = service.change_status(ctx, device_id, target, str(form.get("reason") or ""))
    except AppError as exc:
        ctx.session.rollback()
        return _device_page(request, ctx, device_id, error=exc.message, status_code=exc.status)
    done = urlencode({"done": f"SMI Status changed to {target.value}"})
    return RedirectResponse(f"/smi/devices/{read_of(ctx.session, d).device_id}?{done}", status_code=303)


# ---------------------------------------------------------------- an MPxN: registration data and devices


def _mpxn_page(request: Request, ctx: Ctx, mpxn_text: str, *, cursor: str | None = None, form: dict | None = None,
               errors: dict | None = None, error: str | None = None, status_code: int = 200) -> Response:
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
    return render(request, "smi_mpxn.html", {
        "mpxn": mpxn, "fuel": fuel, "form_problem": form_problem, "may_read": may_read, "may_record": may_record,
        "history": registration.history_read(ctx.session, mpxn, rows) if may_read and rows else None,
        "devices": [summary_of(ctx.session, d) for d in page.items],
        "next_url": f"/smi/mpxn/{mpxn}?{urlencode({'cursor': page.next_cursor})}" if page.next_cursor else None,
        "suppliers": registration.supplier_parties(ctx.session) if may_record else [],
        "networks": registration.network_parties(ctx.session, fuel) if may_record else [],
        "form": form or {}, "errors": errors or {}, "error": error,
        "today": ctx.clock.today().isoformat()}, status_code=status_code)


@router.get("/smi/mpxn/{mpxn}")
def mpxn_page(request: Request, mpxn: str, ctx: Ctx = Depends(get_ctx), cursor: str | None = None) -> Response:
    return _mpxn_page(request, ctx, mpxn, cursor=cursor)


def _registration_create(mpxn: str, form: dict) -> RegistrationCreate:
    """The form as the API's RegistrationCreate: Parties chosen by id, the fuel from the MPxN's form."""
    raw = (form.get("valid_from") or "").strip()
    try:
        valid_from = date.fromisoformat(raw)
    except ValueError:
        message = (f"{raw!r} is not a date: " if raw else "required: ") + "give the day this registration starts"
        raise Invalid(f"valid_from: {message}.", detail=[{"field": "valid_from", "message": message}]) from None
    return RegistrationCreate(mpxn=mpxn, supplier=form.get("supplier") or "",
                              network_operator=form.get("network_operator") or "", valid_from=valid_from,
                              supplier_user_id=form.get("supplier_user_id") or None,
                              network_operator_user_id=form.get("network_operator_user_id") or None)


@router.post("/smi/mpxn/{mpxn}/registrations")
async def record_registration(request: Request, mpxn: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    """Record registration data for this MPxN (the DCC or the Code Administrator), then show its history."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str) and k != "csrf_token"}
    try:
        if not registration.may_record(ctx):
            raise Forbidden(registration.FORBIDDEN_TO_RECORD)
        registration.record_registration(ctx, _registration_create(mpxn, form))
    except (ValidationError, AppError) as exc:
        ctx.session.rollback()
        message = (f"Nothing was recorded: {exc.message}" if isinstance(exc, AppError)
                   else "Nothing was recorded: please correct the fields marked below.")
        return _mpxn_page(request, ctx, mpxn, form=form, errors=_field_errors(exc), error=message,
                          status_code=getattr(exc, "status", 422))
    return RedirectResponse(f"/smi/mpxn/{int(mpxn)}?done=registration", status_code=303)

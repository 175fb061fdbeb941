"""Portal pages of the Smart Metering Inventory: search by Device ID or MPxN, a device with its history, counts."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from gbsmart.core.context import Ctx
from gbsmart.core.errors import AppError
from gbsmart.smi import service
from gbsmart.smi.api import read_of, summary_of
from gbsmart.smi.rules import DeviceType, SmiStatus, eui64_to_int
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _enum(enum, value: str | None):  # noqa: ANN001, ANN202
    return enum(value) if value and value in enum._value2member_map_ else None


@router.get("/smi")
def search(request: Request, ctx: Ctx = Depends(get_ctx), q: str | None = None, status: str | None = None,
           type: str | None = None, cursor: str | None = None):  # noqa: A002, ANN201
    """One box for a Device ID or an MPxN; filters by status and type; keyset pages."""
    q = (q or "").strip()
    error = None
    mpxn = None
    if q:
        if q.isdigit() and 6 <= len(q) <= 13:
            mpxn = int(q)
        else:
            try:
                eui64_to_int(q)
                return RedirectResponse(f"/smi/devices/{q.upper()}", status_code=303)
            except ValueError as exc:
                error = f"{exc}; or give an MPAN core (13 digits) or an MPRN."
    f = service.DeviceFilters(mpxn=mpxn, status=_enum(SmiStatus, status), device_type=_enum(DeviceType, type))
    page = None
    if error is None and (mpxn or f.status or f.device_type or cursor):
        page = service.list_devices(ctx.session, f, cursor, 50)
    params = {k: v for k, v in {"q": q, "status": status, "type": type}.items() if v}
    return render(request, "smi_search.html", {
        "q": q, "f": f, "error": error, "Status": SmiStatus, "Type": DeviceType,
        "rows": [summary_of(ctx.session, d) for d in page.items] if page else None,
        "next_url": f"/smi?{urlencode({**params, 'cursor': page.next_cursor})}" if page and page.next_cursor else None,
    })


@router.get("/smi/counts")
def counts(request: Request, ctx: Ctx = Depends(get_ctx)):  # noqa: ANN201
    rows = service.counts(ctx.session)
    by_status = {s: sum(n for s2, _, n in rows if s2 is s) for s in SmiStatus}
    by_type = {t: sum(n for _, t2, n in rows if t2 is t) for t in DeviceType}
    matrix = {(s, t): n for s, t, n in rows}
    return render(request, "smi_counts.html", {"by_status": by_status, "by_type": by_type, "matrix": matrix,
                                               "total": sum(by_status.values()), "Status": SmiStatus,
                                               "Type": DeviceType})


def _device_page(request: Request, ctx: Ctx, device_id: str, *, error: str | None = None, status_code: int = 200):
    device = service.get_device(ctx.session, device_id)
    page = service.events(ctx.session, device_id, None, 50)
    return render(request, "smi_device.html", {
        "d": read_of(ctx.session, device), "events": page.items, "may_act": service.may_act_on(ctx, device),
        "error": error, "Status": SmiStatus, "Type": DeviceType}, status_code=status_code)


@router.get("/smi/devices/{device_id}")
def device(request: Request, device_id: str, ctx: Ctx = Depends(get_ctx)):  # noqa: ANN201
    return _device_page(request, ctx, device_id)


@router.post("/smi/devices/{device_id}/commission")
async def commission(request: Request, device_id: str, ctx: Ctx = Depends(get_ctx)):  # noqa: ANN201
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
async def firmware(request: Request, device_id: str, ctx: Ctx = Depends(get_ctx)):  # noqa: ANN201
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

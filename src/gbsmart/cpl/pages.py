"""Portal pages of the Central Products List: the CPL browser, an entry with its certificates and CPA expiry
timeline, the submission form with field-level messages, SECAS's approvals queue, workbook import and export."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from gbsmart.core.context import Ctx
from gbsmart.core.types import DbId
from gbsmart.cpl import rules, service, signatures, upload, workbook
from gbsmart.cpl.enums import (
    CertificateKind,
    EntryStatus,
    NoticeKind,
    PhysicalDeviceType,
    SubmissionKind,
    SubmissionStatus,
)
from gbsmart.cpl.errors import WorkbookInvalid, WorkbookTooLarge
from gbsmart.cpl.schemas import RemovalCreate, SubmissionCreate
from gbsmart.models.cpl import CplEntry
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.forms import FORM_FAILURES, parse, read_form, rerender
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
ENUMS = {"Status": EntryStatus, "DeviceType": PhysicalDeviceType, "SubStatus": SubmissionStatus,
         "SubKind": SubmissionKind, "CertKind": CertificateKind, "NoticeKind": NoticeKind}


def _is_admin(ctx: Ctx) -> bool:
    return ctx.actor.has_role(*service.ADMIN_ROLES)


def _list_context(ctx: Ctx, f: service.EntryFilters, cursor: str | None, limit: int = 50) -> dict:
    page = service.list_entries(ctx.session, f, cursor, limit)
    params = {k: v for k, v in vars(f).items() if v} | ({"limit": limit} if limit != 50 else {})
    return {"page": page, "f": f, "params": params, "manufacturers": service.manufacturers(ctx.session),
            "is_admin": _is_admin(ctx), "today": ctx.clock.today(), "bad_rows": None, "imported": None,
            "pending": len(service.list_submissions(ctx.session, SubmissionStatus.VALIDATED.value)), **ENUMS}


@router.get("/cpl")
def browser(request: Request, ctx: Ctx = Depends(get_ctx), q: str | None = None, type: str | None = None,  # noqa: A002
            manufacturer: str | None = None, status: str | None = None, cursor: str | None = None,
            limit: int = Query(50, ge=1, le=500)) -> Response:
    f = service.EntryFilters(q=q or None, type=type or None, manufacturer=manufacturer or None, status=status or None)
    template = "cpl_rows.html" if request.headers.get("hx-request") else "cpl_list.html"
    return render(request, template, _list_context(ctx, f, cursor, limit))


@router.get("/cpl/export.xlsx")
def export(ctx: Ctx = Depends(get_ctx)) -> StreamingResponse:
    name = workbook.export_filename(ctx.clock.today())
    return StreamingResponse(workbook.export_stream(ctx.session), media_type=workbook.XLSX,
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def import_xlsx(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    try:
        result = await upload.import_upload(request, ctx)
    except (WorkbookInvalid, WorkbookTooLarge) as exc:
        rows, more = exc.detail, exc.errors_total - len(exc.detail) if isinstance(exc, WorkbookInvalid) else 0
        return rerender(request, ctx, exc, "cpl_list.html", lambda: {
            **_list_context(ctx, service.EntryFilters(), None), "bad_rows": rows, "more_errors": more}, prefix="")
    ctx.session.flush()
    return render(request, "cpl_list.html", {**_list_context(ctx, service.EntryFilters(), None), "imported": result})


router.add_api_route("/cpl/import", import_xlsx, methods=["POST"], route_class_override=upload.WorkbookUploadRoute)


# ---------------------------------------------------------------- an entry


def expiry_timeline(entry: CplEntry, today: date) -> dict | None:
    """Markers for the CPA expiry timeline: issue, 12/6-month notices, conditional date, revocation, expiry, today."""
    cpa = entry.certificate(CertificateKind.CPA.value)
    if cpa is None or cpa.expiry_date is None:
        return None
    marks = [(cpa.issued_on, "Issued", "grey"), (rules.notice_due_on(cpa.expiry_date, NoticeKind.TWELVE_MONTHS),
                                                 "12-month notice", "yellow"),
             (rules.notice_due_on(cpa.expiry_date, NoticeKind.SIX_MONTHS), "6-month notice", "orange"),
             (cpa.expiry_date, cpa.expiry_label, "red"), (today, "Today", "blue")]
    if cpa.conditional and cpa.conditional_date:
        marks.append((cpa.conditional_date, "Conditional date", "purple"))
    if cpa.revoked_at:
        marks.append((cpa.revoked_at.date(), "Revoked", "red"))
    for n in entry.notices:
        marks.append((n.sent_on, f"{NoticeKind(n.kind).label} sent", "green"))
    dated = sorted(((d, label, colour) for d, label, colour in marks if d is not None), key=lambda m: m[0])
    start, end = dated[0][0], dated[-1][0]
    span = max((end - start).days, 1)
    lanes = [-1e9] * 4  # right edge of the last label in each lane: above near, below near, above far, below far
    points = []
    for d, label, colour in dated:
        x = 60 + 880 * (d - start).days / span
        half = 4.2 * max(len(label), 11)  # about half the label's width at font-size 13
        lane = next((i for i, right in enumerate(lanes) if right < x - half), min(range(4), key=lanes.__getitem__))
        lanes[lane] = x + half
        points.append({"x": x, "date": d, "label": label, "colour": colour, "up": lane % 2 == 0, "far": lane >= 2,
                       "anchor": "start" if x - half < 0 else "end" if x + half > 1000 else "middle"})
    return {"points": points, "start": start, "end": end}


def _entry_context(ctx: Ctx, entry_id: int) -> dict:
    entry = service.get_entry(ctx.session, entry_id)
    today = ctx.clock.today()
    certs = [(c, rules.certificate_problem(service.certificate_facts(c), today)) for c in entry.ordered_certificates]
    return {"e": entry, "dm": entry.device_model, "certs": certs, "flags": service.entry_flags(entry, today),
            "timeline": expiry_timeline(entry, today), "signer": signatures.signer_of(entry.signer_certificates),
            "is_admin": _is_admin(ctx), "today": today, "error": None,
            "errors": {}, **ENUMS}


@router.get("/cpl/entries/{entry_id}")
def entry_page(request: Request, entry_id: DbId, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "cpl_entry.html", _entry_context(ctx, entry_id))


@router.post("/cpl/entries/{entry_id}/remove")
async def remove(request: Request, entry_id: DbId, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    try:
        data = parse(RemovalCreate, {}, minute_reference=form.get("minute_reference", ""),
                     reason=form.get("reason", ""), effective_on=form.get("effective_on") or None,
                     grace_until=form.get("grace_until") or None, status=form.get("status") or EntryStatus.WITHDRAWN)
        service.remove(ctx, entry_id, data)
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "cpl_entry.html", lambda: _entry_context(ctx, entry_id), form=form,
                        prefix="")
    return RedirectResponse(f"/cpl/entries/{entry_id}?done=removal", status_code=303)


# ---------------------------------------------------------------- submitting


def _form_to_submission(form: dict[str, str]) -> SubmissionCreate:
    """The portal's flat form as the API's SubmissionCreate (certificates and the Supplier confirmation nested)."""
    certs = []
    for kind in CertificateKind:
        k = kind.value
        if form.get(f"{k}_number", "").strip():
            cert: dict[str, object] = {"kind": k, "number": form[f"{k}_number"],
                                       "issued_on": form.get(f"{k}_issued_on") or None,
                                       "firmware_version": form.get(f"{k}_firmware_version") or None}
            if kind is CertificateKind.CPA:
                cert.update(expiry_date=form.get("cpa_expiry_date") or None,
                            conditional=bool(form.get("cpa_conditional_date")),
                            conditional_date=form.get("cpa_conditional_date") or None)
            certs.append(cert)
    confirmation = {"supplier": form["supplier"], "confirmed_by": form.get("confirmed_by", ""),
                    "reference": form.get("confirmation_reference", "")} if form.get("supplier", "").strip() else None
    fields = ("manufacturer", "model", "hardware_version", "firmware_version", "physical_device_type",
              "release_notes", "technical_specification")
    optional = ("gbcs_version", "image_creator", "image_hash", "signature", "signer_certificates", "mapping_evidence",
                "submitter_organisation")
    return parse(SubmissionCreate, {
        "kind": form.get("kind") or "new_entry", **{f: form.get(f, "") for f in fields},
        **{f: form.get(f) or None for f in optional}, "smets1": bool(form.get("smets1")), "certificates": certs,
        "supplier_confirmation": confirmation})


def _submit_context(ctx: Ctx) -> dict:
    specs, gbcs = service.open_versions(ctx.session, ctx.clock.today())
    return {"form": {}, "errors": {}, "error": None, "specs": specs, "gbcs": gbcs, "is_admin": _is_admin(ctx),
            **ENUMS}


@router.get("/cpl/submit")
def submit_form(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "cpl_submit.html", _submit_context(ctx))


@router.post("/cpl/submit")
async def submit(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """A submission judged at once: validated (to the queue) or refused, and a refusal is kept (decision 0015)."""
    form = await read_form(request)
    try:
        sub = service.submit(ctx, _form_to_submission(form))
    except FORM_FAILURES as exc:  # not a submission at all (a malformed form, or not allowed): nothing is kept
        return rerender(request, ctx, exc, "cpl_submit.html", lambda: _submit_context(ctx), form=form,
                        prefix="Nothing was submitted")
    if refused := service.refusal_to_report(sub):
        return rerender(request, ctx, refused, "cpl_submit.html", lambda: _submit_context(ctx), form=form,
                        prefix="", keep=True)
    return RedirectResponse(f"/cpl/approvals?submitted={sub.id}", status_code=303)


# ---------------------------------------------------------------- SECAS


@router.get("/cpl/approvals")
def approvals(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "cpl_approvals.html", _approvals_context(ctx))


def _approvals_context(ctx: Ctx, report: service.LifecycleReport | None = None) -> dict:
    today = ctx.clock.today()
    return {"queue": service.list_submissions(ctx.session, SubmissionStatus.VALIDATED.value),
            "recent": [s for s in service.list_submissions(ctx.session, limit=30)
                       if s.status != SubmissionStatus.VALIDATED],
            "expiring": service.expiring(ctx.session, today, 365), "awaiting": service.awaiting_removal(
                ctx.session, today), "end_dated": service.end_dated_entries(ctx.session, today),
            "is_admin": _is_admin(ctx), "error": None, "errors": {}, "report": report, "today": today, **ENUMS}


@router.post("/cpl/submissions/{submission_id}/approve")
async def approve(request: Request, submission_id: DbId, ctx: Ctx = Depends(get_ctx)) -> Response:
    try:
        sub = service.approve(ctx, submission_id)
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "cpl_approvals.html", lambda: _approvals_context(ctx), prefix="")
    if refused := service.refusal_to_report(sub):  # no longer meets the rules: refused, and the refusal kept
        return rerender(request, ctx, refused, "cpl_approvals.html", lambda: _approvals_context(ctx), prefix="",
                        keep=True)
    return RedirectResponse(f"/cpl/entries/{sub.entry_id}?done=approved", status_code=303)


@router.post("/cpl/lifecycle")
async def lifecycle(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    try:
        report = service.run_lifecycle(ctx)
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "cpl_approvals.html", lambda: _approvals_context(ctx), prefix="")
    return render(request, "cpl_approvals.html", _approvals_context(ctx, report=report))

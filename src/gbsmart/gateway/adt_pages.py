"""Portal pages of Anomaly Detection: a User organisation's ADT settings and warnings (``/gateway/adt``) and its
quarantined requests (``/gateway/quarantine``), each with the upload of a signed file, as
``gbsmart gateway adt upload`` and ``gbsmart gateway quarantine action`` and the API do.

Everyone signed in sees their own organisation's User IDs only (the DCC and SECAS see all); the functions in
``officer_only_functions`` are for a Senior or Authorised Responsible Officer of the organisation signed in with a
second factor (DP108): the forms are hidden from others, and the service refuses them whatever the door. The file's
own signature is checked
(the ADT file against the User's certificate, the action file against an officer's).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.gateway import adt_service
from gbsmart.gateway.enums import QuarantineStatus
from gbsmart.gateway.store import load_keystore
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.forms import FORM_FAILURES, rerender
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
MAX_UPLOAD = 1024 * 1024 + 1


def _officer_hint(ctx: Ctx) -> bool:
    """An officer whose session has not passed the second factor: the page says why the form is missing."""
    return ctx.actor.has_role(*adt_service.OFFICER_ROLES) and not ctx.actor.second_factor


def _adt_context(ctx: Ctx) -> dict[str, Any]:
    s = ctx.settings
    visible = adt_service.visible_user_ids(ctx)
    return {"thresholds": adt_service.thresholds(ctx), "dcc_thresholds": adt_service.dcc_thresholds(ctx),
            "warnings": adt_service.warnings(ctx), "user_ids": visible,
            "can_upload": adt_service.may_use(ctx, "adt.upload"), "needs_second_factor": _officer_hint(ctx),
            "defaults": {"period": s.adt_period_seconds, "warning": s.adt_default_warning,
                         "quarantine": s.adt_default_quarantine, "dcc": s.adt_dcc_default_quarantine},
            "error": None, "errors": {}}


def _quarantine_context(ctx: Ctx, status: QuarantineStatus | None) -> dict[str, Any]:
    return {"rows": adt_service.quarantined(ctx, status=status), "status": status, "statuses": list(QuarantineStatus),
            "alerts": adt_service.alerts(ctx, limit=50), "user_ids": adt_service.visible_user_ids(ctx),
            "can_act": adt_service.may_use(ctx, "exit_quarantine"), "needs_second_factor": _officer_hint(ctx),
            "error": None, "errors": {}, "outcome": None}


async def _signed_upload(request: Request) -> tuple[bytes, bytes]:
    """The uploaded file and its signature (a .sig file, or the base64 pasted in the form)."""
    form = await request.form()
    upload, sig_upload, pasted = form.get("file"), form.get("signature_file"), form.get("signature")
    if upload is None or isinstance(upload, str):
        raise Invalid("choose the file to upload", detail=[{"field": "file", "message": "choose the file"}])
    data = await upload.read(MAX_UPLOAD)
    signature = b""
    if sig_upload is not None and not isinstance(sig_upload, str):
        signature = await sig_upload.read(4096)
    if not signature.strip() and isinstance(pasted, str):
        signature = pasted.encode("ascii", "replace")
    return data, signature


@router.get("/gateway/adt")
def adt_page(request: Request, ctx: Ctx = Depends(get_ctx), file: str | None = None) -> Response:
    context = _adt_context(ctx)
    if file:  # after an upload: what that file changed
        context["changes"] = adt_service.file_changes(ctx, file.strip().lower())
    return render(request, "adt.html", context)


@router.post("/gateway/adt/upload")
async def adt_upload(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    try:
        data, signature = await _signed_upload(request)
        rows = await run_in_threadpool(adt_service.upload_adt_file, ctx, data, signature, load_keystore(ctx.settings))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "adt.html", lambda: _adt_context(ctx))
    digest = rows[0].file_sha256 if rows else ""
    return RedirectResponse(f"/gateway/adt?set={len(rows)}&file={digest}", status_code=303)


@router.get("/gateway/quarantine")
def quarantine_page(request: Request, status: QuarantineStatus | None = None, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "quarantine.html", _quarantine_context(ctx, status))


@router.post("/gateway/quarantine/action")
async def quarantine_action(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    try:
        data, signature = await _signed_upload(request)
        outcome = await run_in_threadpool(adt_service.apply_action_file, ctx, data, signature)
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "quarantine.html", lambda: _quarantine_context(ctx, None))
    return RedirectResponse(f"/gateway/quarantine?released={len(outcome.released)}&deleted={len(outcome.deleted)}",
                            status_code=303)

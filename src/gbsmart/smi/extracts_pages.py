"""Portal page of signed CPL extracts: what SECAS issued and what the DCC applied to the SMI (seed 004).

SECAS issues the next extract with one button; the DCC (or the Code Administrator) uploads a signed extract file
and it is verified and applied to the SMI in the request's one transaction, as ``gbsmart smi apply-extract`` and
``POST /api/v1/smi/extracts`` do. A refused file changes nothing and the page says which check failed.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from gbsmart.core.context import Ctx
from gbsmart.core.errors import AppError
from gbsmart.cpl import extracts
from gbsmart.smi.extract_apply import ApplyReport, apply_extract, extract_history, may_apply, require_applier
from gbsmart.smi.extract_upload import download_url, uploaded_extract
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.forms import FORM_FAILURES, rerender
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _context(ctx: Ctx, *, apply_check: str | None = None, report: ApplyReport | None = None,
             filename: str | None = None) -> dict:
    return {"rows": extract_history(ctx.session), "download_url": download_url, "error": None,
            "can_issue": ctx.actor.has_role("code_administrator"), "can_apply": may_apply(ctx), "apply_error": None,
            "apply_check": apply_check, "report": report, "filename": filename}


@router.get("/cpl/extracts")
def extracts_page(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "extracts.html", _context(ctx))


@router.post("/cpl/extracts/issue")
def issue_next(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    try:
        row = extracts.issue_extract(ctx)
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "extracts.html", lambda: _context(ctx), prefix="")
    return RedirectResponse(f"/cpl/extracts?issued={row.sequence}", status_code=303)


@router.post("/cpl/extracts/apply")
async def apply_upload(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """The DCC uploads a signed extract: verified, then applied to the SMI; the report or the refusal is shown."""
    form = await request.form()
    upload = form.get("file")
    filename = getattr(upload, "filename", None) or None
    try:
        require_applier(ctx)
        data = await uploaded_extract(request)
        report = await run_in_threadpool(apply_extract, ctx, data)
    except FORM_FAILURES as exc:
        check = exc.detail.get("check") if isinstance(exc, AppError) and isinstance(exc.detail, dict) else None
        return rerender(request, ctx, exc, "extracts.html", lambda: _context(ctx, apply_check=check,
                                                                             filename=filename),
                        prefix="", error_key="apply_error")
    return render(request, "extracts.html", _context(ctx, report=report, filename=filename))

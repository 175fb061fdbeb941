"""Portal page of signed CPL extracts: what SECAS issued and what the DCC applied to the SMI (seed 004)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from gbsmart.core.context import Ctx
from gbsmart.core.errors import AppError
from gbsmart.cpl import extracts
from gbsmart.cpl.extracts_api import download_url
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _context(ctx: Ctx, error: str | None = None) -> dict:
    return {"rows": extracts.extract_history(ctx.session), "download_url": download_url, "error": error,
            "can_issue": ctx.actor.has_role("code_administrator")}


@router.get("/cpl/extracts")
def extracts_page(request: Request, ctx: Ctx = Depends(get_ctx)):  # noqa: ANN201
    return render(request, "extracts.html", _context(ctx))


@router.post("/cpl/extracts/issue")
def issue_next(request: Request, ctx: Ctx = Depends(get_ctx)):  # noqa: ANN201
    try:
        row = extracts.issue_extract(ctx)
    except AppError as exc:
        ctx.session.rollback()
        return render(request, "extracts.html", _context(ctx, exc.message), status_code=exc.status)
    return RedirectResponse(f"/cpl/extracts?issued={row.sequence}", status_code=303)

"""Portal pages: the Modification Register (with CSV/XLSX downloads), the impact matrix, the release landscape."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from gbsmart.change import register, rules, service
from gbsmart.change.enums import ProposalPath, ProposalState
from gbsmart.change.register_api import register_filters
from gbsmart.change.schemas import ReleaseCreate
from gbsmart.change.service import ProposalFilters
from gbsmart.core.context import Ctx
from gbsmart.core.errors import AppError
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.forms import FORM_FAILURES, parse, read_form, rerender
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

def _query_string(f: ProposalFilters) -> str:
    """The current filters as a query string, so downloads export what the page shows."""
    pairs = {"q": f.q, "stage": f.stage, "path": f.path, "release": f.release, "proposer": f.proposer}
    return urlencode({k: v for k, v in pairs.items() if v})


@router.get("/register")
def register_page(request: Request, ctx: Ctx = Depends(get_ctx),
                  f: ProposalFilters = Depends(register_filters)) -> Response:
    error, status = None, 200
    try:
        rows = list(register.register_rows(ctx.session, f))
    except AppError as exc:
        rows, error, status = [], exc, exc.status
    query = _query_string(f)
    suffix = f"?{query}" if query else ""
    return render(request, "register.html", {
        "rows": rows, "f": f, "error": error, "State": ProposalState, "Path": ProposalPath,
        "stages": service.STAGE_CHOICES, "paths": service.PATH_CHOICES, "releases": service.release_names(ctx.session),
        "csv_url": f"/api/v1/register.csv{suffix}", "xlsx_url": f"/api/v1/register.xlsx{suffix}",
    }, status_code=status)


@router.get("/impact-matrix")
def impact_matrix_page(request: Request, ctx: Ctx = Depends(get_ctx), ref: str | None = Query(None)) -> Response:
    references = [r.strip() for r in (ref or "").split(",") if r.strip()] or None
    columns, rows = register.impact_matrix(ctx.session, references)
    return render(request, "impact_matrix.html",
                  {"columns": columns, "rows": rows, "ref": ref or "", "group_label": register.group_label})


def _releases_context(ctx: Ctx) -> dict:
    return {"landscape": register.release_landscape(ctx.session), "status_colour": register.status_colour,
            "may_add": ctx.actor.has_role(rules.CA), "form": {}, "errors": {}, "error": None, "added": None}


@router.get("/releases")
def releases_page(request: Request, ctx: Ctx = Depends(get_ctx), added: str | None = None) -> Response:
    return render(request, "releases.html", {**_releases_context(ctx), "added": added})


@router.post("/releases")
async def add_release(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """The Code Administrator adds a future SEC Release: the same service, and refusals, as POST /api/v1/releases."""
    form = await read_form(request)
    try:
        release = service.add_release(ctx, parse(ReleaseCreate, {
            "name": form.get("name", ""), "release_date": form.get("release_date", ""),
            "kind": form.get("kind") or "scheduled"}))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "releases.html", lambda: _releases_context(ctx), form=form,
                        error_key="error")
    return RedirectResponse(f"/releases?{urlencode({'added': release.name})}#release-{release.id}", status_code=303)


@router.get("/releases/{name_or_id}")
def release_page(request: Request, name_or_id: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    release, entries = register.release_entry(ctx.session, name_or_id)
    return render(request, "release.html", {"release": release, "entries": entries,
                                            "status_colour": register.status_colour, "State": ProposalState})

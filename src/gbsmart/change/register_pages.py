"""Portal pages: the Modification Register (with CSV/XLSX downloads), the impact matrix, the release landscape."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select

from gbsmart.change import register
from gbsmart.change.enums import ProposalPath, ProposalState
from gbsmart.change.register_api import register_filters
from gbsmart.change.service import ProposalFilters
from gbsmart.core.context import Ctx
from gbsmart.core.errors import AppError
from gbsmart.models.change import Release
from gbsmart.web.deps import get_ctx
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False)

STAGE_CHOICES = [
    ("draft", "Draft Proposals"),
    ("modification", "Modification Proposals (open)"),
    ("open", "All open"),
    ("closed", "Closed"),
] + ProposalState.choices()
PATH_CHOICES = [("none", "No path yet"), *ProposalPath.choices()]


def _query_string(f: ProposalFilters) -> str:
    """The current filters as a query string, so downloads export what the page shows."""
    pairs = {"q": f.q, "stage": f.stage, "path": f.path, "release": f.release, "proposer": f.proposer}
    return urlencode({k: v for k, v in pairs.items() if v})


def _release_names(ctx: Ctx) -> list[str]:
    return list(ctx.session.scalars(select(Release.name).order_by(Release.release_date, Release.name)))


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
    return render(
        request,
        "register.html",
        {
            "rows": rows,
            "f": f,
            "error": error,
            "State": ProposalState,
            "Path": ProposalPath,
            "stages": STAGE_CHOICES,
            "paths": PATH_CHOICES,
            "releases": _release_names(ctx),
            "csv_url": f"/api/v1/register.csv{suffix}",
            "xlsx_url": f"/api/v1/register.xlsx{suffix}",
        },
        status_code=status,
    )


@router.get("/impact-matrix")
def impact_matrix_page(request: Request, ctx: Ctx = Depends(get_ctx), ref: str | None = Query(None)) -> Response:
    references = [r.strip() for r in (ref or "").split(",") if r.strip()] or None
    columns, rows = register.impact_matrix(ctx.session, references)
    return render(
        request,
        "impact_matrix.html",
        {
            "columns": columns,
            "rows": rows,
            "ref": ref or "",
            "group_label": register.group_label,
        },
    )


@router.get("/releases")
def releases_page(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(
        request,
        "releases.html",
        {
            "landscape": register.release_landscape(ctx.session),
            "status_colour": register.status_colour,
        },
    )


@router.get("/releases/{name_or_id}")
def release_page(request: Request, name_or_id: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    release, entries = register.release_entry(ctx.session, name_or_id)
    return render(
        request,
        "release.html",
        {
            "release": release,
            "entries": entries,
            "status_colour": register.status_colour,
            "State": ProposalState,
        },
    )

"""JSON API and downloads of the Modification Register, the impact matrix and the release landscape (seed 004).

Mounted under /api/v1: /register (+ .csv, .xlsx), /impact-matrix, /releases, /releases/{name_or_id}.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from gbsmart.change import register, service
from gbsmart.change.schemas import ReleaseCreate
from gbsmart.change.service import ProposalFilters
from gbsmart.core.context import Ctx
from gbsmart.models.change import Proposal, Release
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["register"])

CSV_FILENAME = "sec-modification-register.csv"
XLSX_FILENAME = "sec-modification-register.xlsx"


class RegisterEntry(BaseModel):
    """One row of the Modification Register: seed 004's columns, then state, path and release."""

    reference: str
    title: str
    proposer: str
    date_raised: date
    pa_status: str | None
    summary: str
    latest_progress: str
    change_board_determination: str | None
    change_board_date: date | None
    authority_determination: str | None
    authority_date: date | None
    implementation_date: date | None
    state: str
    path: str | None
    release: str | None
    state_code: str
    path_code: str | None


class MatrixRowRead(BaseModel):
    group: str
    group_label: str
    area: str
    ticks: list[bool]
    ticked: list[str]


class ImpactMatrixRead(BaseModel):
    columns: list[str]
    rows: list[MatrixRowRead]


class ReleaseModification(BaseModel):
    reference: str
    title: str
    state: str
    status: str


class ReleaseRead(BaseModel):
    id: int
    name: str
    release_date: date
    kind: str
    expected: bool
    count: int
    modifications: list[ReleaseModification]


def register_filters(
    q: str | None = Query(None, description="Search reference, title and summary"),
    stage: str | None = Query(None, description="draft, modification, open, closed, or a state"),
    path: str | None = Query(None, description="path_1, path_2, path_3, fast_track, urgent or none"),
    release: str | None = Query(None, description="A SEC Release name"),
    proposer: str | None = Query(None, description="Part of the proposer's name"),
) -> ProposalFilters:
    """The proposals list's filters; empty values (from a portal form) mean 'any'."""
    return ProposalFilters(
        q=q or None, stage=stage or None, path=path or None, release=release or None, proposer=proposer or None
    )


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@router.get("/register", response_model=list[RegisterEntry], summary="The Modification Register")
def get_register(ctx: Ctx = Depends(get_ctx), f: ProposalFilters = Depends(register_filters)) -> list[dict]:
    return list(register.register_rows(ctx.session, f))


@router.get("/register.csv", response_class=StreamingResponse, summary="The Modification Register as CSV")
def register_csv(ctx: Ctx = Depends(get_ctx), f: ProposalFilters = Depends(register_filters)) -> StreamingResponse:
    rows = register.register_rows(ctx.session, f)  # bad filters fail here, before the response starts
    return StreamingResponse(
        register.to_csv(rows), media_type="text/csv; charset=utf-8", headers=_attachment(CSV_FILENAME)
    )


@router.get(
    "/register.xlsx",
    summary="The register, impact matrix and release landscape as one XLSX workbook",
    responses={200: {"content": {register.XLSX_MEDIA_TYPE: {}}}},
)
def register_xlsx(ctx: Ctx = Depends(get_ctx), f: ProposalFilters = Depends(register_filters)) -> Response:
    rows = list(register.register_rows(ctx.session, f))
    matrix = register.impact_matrix(ctx.session, [r["reference"] for r in rows])
    content = register.to_xlsx(rows, matrix, register.release_landscape(ctx.session))
    return Response(content, media_type=register.XLSX_MEDIA_TYPE, headers=_attachment(XLSX_FILENAME))


def _references(ref: list[str] | None) -> list[str] | None:
    """`?ref=MP102&ref=MP103` or `?ref=MP102,MP103`; none means every proposal."""
    if not ref:
        return None
    return [part.strip() for item in ref for part in item.split(",") if part.strip()]


@router.get(
    "/impact-matrix", response_model=ImpactMatrixRead, summary="Which Parties and SEC parts each change affects"
)
def get_impact_matrix(
    ctx: Ctx = Depends(get_ctx),
    ref: list[str] | None = Query(None, description="Proposal references (repeat or comma-separate); default all"),
) -> ImpactMatrixRead:
    columns, rows = register.impact_matrix(ctx.session, _references(ref))
    return ImpactMatrixRead(
        columns=columns,
        rows=[
            MatrixRowRead(
                group=group,
                group_label=register.group_label(group),
                area=area,
                ticks=ticks,
                ticked=[c for c, t in zip(columns, ticks, strict=True) if t],
            )
            for group, area, ticks in rows
        ],
    )


def release_read(release: Release, entries: list[tuple[Proposal, str]]) -> ReleaseRead:
    return ReleaseRead(
        id=release.id,
        name=release.name,
        release_date=release.release_date,
        kind=release.kind,
        expected=release.expected,
        count=len(entries),
        modifications=[
            ReleaseModification(reference=p.reference, title=p.title, state=p.state, status=status)
            for p, status in entries
        ],
    )


@router.get("/releases", response_model=list[ReleaseRead], summary="The release landscape, in date order")
def list_releases(ctx: Ctx = Depends(get_ctx)) -> list[ReleaseRead]:
    return [release_read(r, entries) for r, entries in register.release_landscape(ctx.session)]


@router.post("/releases", response_model=ReleaseRead, status_code=201,
             summary="Add a future SEC Release (Code Administrator)")
def add_release(data: ReleaseCreate, ctx: Ctx = Depends(get_ctx)) -> ReleaseRead:
    return release_read(service.add_release(ctx, data), [])


@router.get("/releases/{name_or_id}", response_model=ReleaseRead, summary="One SEC Release with its modifications")
def get_release(name_or_id: str, ctx: Ctx = Depends(get_ctx)) -> ReleaseRead:
    return release_read(*register.release_entry(ctx.session, name_or_id))

"""JSON API of papers (mounted under /api/v1): list, count, search, export, read, PDF, create, change, report,
and the RED access log.

Material the caller may not see does not exist for them: it is absent from lists, counts, search and the
export, and its URLs answer 404 (never 403).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from gbsmart.core.context import Ctx
from gbsmart.core.db import session_scope
from gbsmart.models.papers import PaperAppendix, PaperReclassification
from gbsmart.papers import access, access_log, render, reports, service
from gbsmart.papers.enums import AccessChannel, Classification
from gbsmart.papers.rules import effective
from gbsmart.papers.schemas import (
    AccessLogPage,
    AccessRecordRead,
    AppendixCreate,
    AppendixRead,
    AppendixSummary,
    PaperCounts,
    PaperCreate,
    PaperPage,
    PaperRead,
    PaperSummary,
    PaperUpdate,
    RecipientsUpdate,
    ReclassificationRead,
    ReclassifyRequest,
    ReportRequest,
)
from gbsmart.papers.service import PaperFilters, PaperView
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["papers"])


def filters(
    q: str | None = Query(None, description="Search reference, title, purpose, text and the appendices you may see"),
    classification: str | None = Query(None, description="white, green, amber or red"),
    committee: str | None = Query(None, description='Committee code, e.g. "SSC"'),
    status: str | None = Query(None, description="draft or issued"),
) -> PaperFilters:
    return PaperFilters(q=q or None, classification=classification or None, committee=committee or None,
                        status=status or None)


def summary_of(v: PaperView) -> PaperSummary:
    p = v.paper
    return PaperSummary(
        reference=p.reference, title=p.title, classification=p.classification, action=p.action, status=p.status,
        author=p.author_name, author_organisation=p.author_organisation, paper_date=p.paper_date,
        committee_code=p.committee_code,
        appendices=[AppendixSummary(letter=a.letter, title=a.title, classification=a.classification)
                    for a in v.appendices],
    )


def appendix_of(v: PaperView, a: PaperAppendix) -> AppendixRead:
    return AppendixRead(letter=a.letter, title=a.title, classification=a.classification, body=a.body,
                        paper_reference=v.paper.reference, effective_classification=v.effective(a))


def reclassification_of(r: PaperReclassification) -> ReclassificationRead:
    return ReclassificationRead(at=r.at, by=r.actor_name, appendix=r.appendix_letter,
                                from_classification=r.from_classification, to_classification=r.to_classification,
                                reason=r.reason)


def read_of(v: PaperView) -> PaperRead:
    p = v.paper
    return PaperRead(
        **summary_of(v).model_dump(exclude={"appendices"}),
        purpose=p.purpose, meeting_id=p.meeting_id, body=p.body, marking=v.marking, issued_at=p.issued_at,
        appendices=[appendix_of(v, a) for a in v.appendices],
        recipients=[person.username for person in v.recipients] if v.recipients is not None else None,
        reclassifications=[reclassification_of(r) for r in v.history],
    )


@router.get("/papers", response_model=PaperPage, summary="Papers you may see, newest first (paged; search with q)")
def list_papers(
    ctx: Ctx = Depends(get_ctx),
    f: PaperFilters = Depends(filters),
    cursor: str | None = Query(None, description="next_cursor of the previous page; leave out for the first page"),
    limit: int = Query(service.PAGE_SIZE, ge=1, le=service.MAX_LIMIT, description="Papers per page"),
) -> PaperPage:
    """A page of the papers you may see. Every page is full (``limit`` papers) but the last; its ``next_cursor``
    leads to the next page and is null on the last. A cursor gbsmart did not issue is a 422."""
    page = service.list_papers(ctx, f, AccessChannel.API, cursor, limit)
    return PaperPage(items=[summary_of(v) for v in page.items], next_cursor=page.next_cursor)


@router.get("/papers/count", response_model=PaperCounts, summary="How many papers and appendices you may see")
def count_papers(ctx: Ctx = Depends(get_ctx), f: PaperFilters = Depends(filters)) -> dict:
    return service.count_papers(ctx, f)


def _committed(request: Request, ctx: Ctx, f: PaperFilters) -> Iterator[str]:
    """The export's chunks, read in a transaction of the stream's own (the request's has ended by the time the
    response is sent); each chunk's RED access records are committed before the chunk is sent."""
    with session_scope(request.app.state.sessionmaker) as session:
        for chunk in service.export_csv(replace(ctx, session=session), f):
            session.commit()
            yield chunk


@router.get("/papers/export.csv", response_class=StreamingResponse, summary="The papers you may see, as CSV (streamed)",
            responses={200: {"content": {"text/csv": {}}}})
def export_csv(request: Request, ctx: Ctx = Depends(get_ctx), f: PaperFilters = Depends(filters)) -> StreamingResponse:
    """Every paper you may see (with the appendices you may see), newest first, streamed as it is read."""
    service.export_csv(ctx, f)  # bad filters are a 422 here, before the response starts
    return StreamingResponse(_committed(request, ctx, f), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="sec-papers.csv"'})


@router.post("/papers", response_model=PaperRead, status_code=201, summary="Create a draft paper (SECAS)")
def create_paper(data: PaperCreate, response: Response, ctx: Ctx = Depends(get_ctx)) -> PaperRead:
    paper = service.create_paper(ctx, data)
    response.headers["Location"] = f"/api/v1/papers/{paper.reference}"
    view = PaperView(paper=paper, appendices=[], viewer=access.viewer_of(ctx),
                     recipients=[r.person for r in paper.recipients])
    return read_of(view)


@router.post("/papers/reports", response_model=PaperRead, status_code=201,
             summary="Draft a SEC Panel Sub-Committee Report for a period (SECAS)")
def draft_report(data: ReportRequest, response: Response, ctx: Ctx = Depends(get_ctx)) -> PaperRead:
    paper = reports.draft_report(ctx, data)
    response.headers["Location"] = f"/api/v1/papers/{paper.reference}"
    return read_of(service.get_view(ctx, paper.reference, AccessChannel.API))


NO_STORE = "no-store"  # RED material is not kept in browser or proxy caches


@router.get("/papers/{reference}", response_model=PaperRead, summary="A paper with the appendices you may see")
def get_paper(reference: str, response: Response, ctx: Ctx = Depends(get_ctx)) -> PaperRead:
    view = service.get_view(ctx, reference, AccessChannel.API)
    if view.marking == Classification.RED:
        response.headers["Cache-Control"] = NO_STORE
    return read_of(view)


@router.patch("/papers/{reference}", response_model=PaperRead, summary="Edit a draft paper (author or SECAS)")
def update_paper(reference: str, data: PaperUpdate, ctx: Ctx = Depends(get_ctx)) -> PaperRead:
    paper = service.update_paper(ctx, reference, data, AccessChannel.API)
    return read_of(service.get_view(ctx, paper.reference, AccessChannel.API))


@router.get("/papers/{reference}/appendices/{letter}", response_model=AppendixRead, summary="One appendix")
def get_appendix(reference: str, letter: str, response: Response, ctx: Ctx = Depends(get_ctx)) -> AppendixRead:
    view, appendix = service.get_appendix(ctx, reference, letter, AccessChannel.API)
    if view.effective(appendix) == Classification.RED:
        response.headers["Cache-Control"] = NO_STORE
    return appendix_of(view, appendix)


@router.post("/papers/{reference}/appendices", response_model=AppendixRead, status_code=201,
             summary="Add an appendix to a draft paper (author or SECAS)")
def add_appendix(reference: str, data: AppendixCreate, ctx: Ctx = Depends(get_ctx)) -> AppendixRead:
    appendix = service.add_appendix(ctx, reference, data)
    # the author of the appendix gets it back even when it is stricter than their own clearance
    return AppendixRead(letter=appendix.letter, title=appendix.title, classification=appendix.classification,
                        body=appendix.body, paper_reference=appendix.paper.reference,
                        effective_classification=effective(appendix.paper.classification, appendix.classification))


@router.get("/papers/{reference}/pdf", response_class=Response, summary="The paper as a PDF, marked on every page")
def paper_pdf(reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    view = service.get_view(ctx, reference, AccessChannel.PDF)
    html = render.print_html(view, printed_for=ctx.actor.name, printed_at=ctx.clock.now())
    pdf = render.html_to_pdf(html, ctx.settings.chromium_path)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{view.paper.reference}.pdf"',
                             "Cache-Control": NO_STORE})


@router.get("/papers/{reference}/access-log", response_model=AccessLogPage,
            summary="Who was given the paper's RED material, newest first (author or SECAS)")
def get_access_log(
    reference: str,
    response: Response,
    ctx: Ctx = Depends(get_ctx),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
    limit: int = Query(50, ge=1, le=access_log.MAX_LIMIT),
) -> AccessLogPage:
    log = access_log.read_access_log(ctx, reference, cursor, limit)
    response.headers["Cache-Control"] = NO_STORE
    return AccessLogPage(
        reference=log.paper.reference, next_cursor=log.next_cursor,
        items=[AccessRecordRead(at=e.record.at, username=e.record.username, name=e.name, organisation=e.organisation,
                                what=e.record.what, appendix=e.record.appendix_letter, channel=e.channel,
                                request_id=e.record.request_id) for e in log.entries],
    )


@router.post("/papers/{reference}/reclassify", response_model=ReclassificationRead, status_code=201,
             summary="Re-classify a paper or an appendix (author or SECAS; lowering needs a reason)")
def reclassify(reference: str, data: ReclassifyRequest, ctx: Ctx = Depends(get_ctx)) -> ReclassificationRead:
    return reclassification_of(service.reclassify(ctx, reference, data))


@router.post("/papers/{reference}/recipients", response_model=list[str],
             summary="Name or remove recipients of the paper's RED material (author, or SECAS on its committee)")
def recipients(reference: str, data: RecipientsUpdate, ctx: Ctx = Depends(get_ctx)) -> list[str]:
    return [p.username for p in service.update_recipients(ctx, reference, data, AccessChannel.API)]


@router.post("/papers/{reference}/issue", response_model=PaperRead, summary="Issue a draft paper (author or SECAS)")
def issue(reference: str, ctx: Ctx = Depends(get_ctx)) -> PaperRead:
    paper = service.issue(ctx, reference)
    return read_of(service.get_view(ctx, paper.reference, AccessChannel.API))

"""JSON API of the service audit trail and the codes catalogue (under /api/v1/ssi): the same answers as the page
``/ssi/audit`` and `gbsmart ssi audit` / `gbsmart ssi codes`, through ``ssi.audit`` and ``core.codes``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from gbsmart.core import codes
from gbsmart.core.context import Ctx
from gbsmart.core.db import session_scope
from gbsmart.core.errors import Invalid
from gbsmart.ssi import audit
from gbsmart.web.deps import get_ctx

router = APIRouter(prefix="/ssi", tags=["ssi"])


class CodeRead(BaseModel):
    kind: str
    kind_label: str
    code: str
    title: str
    meaning: str
    action: str


class AuditRowRead(BaseModel):
    kind: str
    at: datetime
    reference: str
    user_id: str | None
    device: str | None
    srv: str | None
    code: str
    code_title: str
    code_meaning: str
    state: str | None
    state_title: str
    note: str
    link: str | None


class CodeCount(BaseModel):
    code: str
    title: str
    count: int


class KindSummaryRead(BaseModel):
    kind: str
    count: int
    capped: bool
    codes: list[CodeCount]


class AuditPageRead(BaseModel):
    items: list[AuditRowRead]
    next_cursor: str | None
    note: str | None
    summary: list[KindSummaryRead]


def code_read(e: codes.CodeEntry) -> CodeRead:
    return CodeRead(kind=e.kind, kind_label=e.kind_label, code=e.code, title=e.title, meaning=e.meaning,
                    action=e.action)


def row_read(r: audit.AuditRow) -> AuditRowRead:
    return AuditRowRead(kind=r.kind.value, at=r.at, reference=r.reference, user_id=r.user_id, device=r.device,
                        srv=r.srv, code=r.code, code_title=r.code_title, code_meaning=r.code_meaning, state=r.state,
                        state_title=r.state_title, note=r.note, link=r.link)


@router.get("/codes", response_model=list[CodeRead], summary="Every code the SSI shows, in plain English")
def list_codes(kind: str | None = Query(None, description=", ".join(codes.KINDS))) -> list[CodeRead]:
    if kind and kind not in codes.KINDS:
        raise Invalid(f"kind: must be one of {', '.join(codes.KINDS)}",
                      detail=[{"field": "kind", "message": f"one of {', '.join(codes.KINDS)}"}])
    return [code_read(e) for e in codes.entries(kind or None)]


@router.get("/codes/{code}", response_model=list[CodeRead], summary="One code (each kind that has it)")
def read_code(code: str) -> list[CodeRead]:
    return [code_read(e) for e in codes.lookup(code)]


def filters(request: Request, ctx: Ctx = Depends(get_ctx), request_id: str | None = None, device: str | None = None,
            mpxn: str | None = None, srv: str | None = None, code: str | None = None, kind: str | None = None,
            from_: str | None = Query(None, alias="from", description="YYYY-MM-DD or an ISO date-time; default "
                                                                      "31 days ago"),
            to: str | None = Query(None, description="YYYY-MM-DD (inclusive) or an ISO date-time (exclusive)"),
            ) -> audit.AuditFilters:
    return audit.make_filters(ctx.clock.now(), request_id=request_id, device=device, mpxn=mpxn, srv=srv, code=code,
                              kind=kind, time_from=audit.parse_time("from", from_),
                              time_to=audit.parse_time("to", to, end=True))


@router.get("/audit", response_model=AuditPageRead, summary="Search the service audit trail")
def search_audit(ctx: Ctx = Depends(get_ctx), f: audit.AuditFilters = Depends(filters), cursor: str | None = None,
                 limit: int = Query(audit.PAGE_SIZE, ge=1, le=audit.MAX_LIMIT)) -> AuditPageRead:
    """Requests, responses, alerts and incidents you may see, newest first, one keyset page (``next_cursor`` leads on,
    null on the last). A full first page carries a ``note`` and a bounded ``summary`` by kind and code."""
    page = audit.search(ctx, f, cursor, limit)
    return AuditPageRead(
        items=[row_read(r) for r in page.items], next_cursor=page.next_cursor, note=page.note,
        summary=[KindSummaryRead(kind=s.kind.value, count=s.count, capped=s.capped,
                                 codes=[CodeCount(code=c, title=t, count=n) for c, t, n in s.codes])
                 for s in page.summary])


def stream_csv(request: Request, ctx: Ctx, f: audit.AuditFilters) -> StreamingResponse:
    """Every match as CSV, read in a transaction of the stream's own (the request's ends before the body is sent)."""
    audit.export_csv(ctx, f)  # refused (feature off) before the response starts

    def body() -> Iterator[str]:
        with session_scope(request.app.state.sessionmaker) as session:
            yield from audit.export_csv(replace(ctx, session=session), f)

    name = f"service-audit-trail-{ctx.clock.now():%Y%m%d-%H%M}.csv"
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/audit.csv", response_class=StreamingResponse, responses={200: {"content": {"text/csv": {}}}},
            summary="Every match of the audit trail search, as CSV (streamed)")
def export_audit(request: Request, ctx: Ctx = Depends(get_ctx),
                 f: audit.AuditFilters = Depends(filters)) -> StreamingResponse:
    return stream_csv(request, ctx, f)

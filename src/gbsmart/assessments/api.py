"""JSON API of User Security Assessments (under /api/v1/assessments). What a caller may see or do is
``assessments.service``'s and ``assessments.access``'s rule; an assessment the caller may not see is a 404."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from gbsmart.assessments import access, report, service
from gbsmart.assessments.enums import ActionKind, AssessmentKind, ItemStatus, SscStatus, StatusKind
from gbsmart.assessments.schemas import (
    ActionCreate,
    ActionRead,
    AssessedUserCreate,
    AssessmentCreate,
    AssessmentRead,
    DecisionCreate,
    DecisionRead,
    FindingCreate,
    FindingRead,
    LetterCreate,
    LetterRead,
    LetterReview,
    PortfolioCreate,
)
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.core.types import DbId, Line
from gbsmart.models.assessments import AssessedUser, AssessmentAction, DirectorsLetter, SecurityAssessment
from gbsmart.web.deps import get_ctx

router = APIRouter(prefix="/assessments", tags=["assessments"])


def read(ctx: Ctx, a: SecurityAssessment) -> AssessmentRead:
    """The assessment as the caller may see it: a provider reading a served User's sees only its findings on the
    Shared Resource, and their actions."""
    reader = access.reader_of(ctx)
    whole = access.sees_whole(reader, a.user)
    findings = service.visible_findings(ctx, a)
    numbers = {f.id for f in findings}
    today = ctx.clock.today()

    def action(x: AssessmentAction) -> ActionRead:
        return ActionRead(id=x.id, kind=ActionKind(x.kind), text=x.text, due_date=x.due_date,
                          finding=x.finding.number if x.finding else None, status=x.status, closed_on=x.closed_on,
                          overdue=x.status == ItemStatus.OPEN and x.due_date < today)

    return AssessmentRead(
        reference=a.reference, user=a.user.organisation.name, kind=AssessmentKind(a.kind),
        kind_label=service.kind_phrase(a),
        initial=a.initial, cycle_number=a.cycle_number, cycle_year=a.cycle_year, size=a.size,
        user_role=a.user_role, assessor=a.assessor, start_date=a.start_date, end_date=a.end_date, status=a.status,
        follows=a.follows.reference if a.follows else None,
        reuses=a.reuses.reference if a.reuses else None, summary=a.summary if whole else "", whole=whole,
        findings=[FindingRead(number=f.number, severity=f.severity, text=f.text, sec_reference=f.sec_reference,
                              on_shared_resource=f.on_shared_resource, status=f.status, closed_on=f.closed_on)
                  for f in findings],
        actions=[action(x) for x in a.actions if whole or (x.finding_id in numbers)],
        decisions=[DecisionRead(status_kind=StatusKind(d.status_kind), status=SscStatus(d.status),
                                meeting=d.meeting_reference, decided_on=d.decided_on) for d in a.decisions]
        if whole else [],
    )


def _user(u: AssessedUser, ctx: Ctx) -> dict[str, Any]:
    r = service.cycle_rules(ctx)
    today = ctx.clock.today()
    p = service.portfolio_on(u, today)
    return {"organisation": u.organisation.name, "user_type": u.user_type, "user_entry_date": u.user_entry_date,
            "user_roles": u.user_roles, "size": service.size_on(r, u, today).value,
            "domestic_premises": p.domestic_premises, "non_domestic_premises": p.non_domestic_premises,
            "is_shared_resource_provider": u.is_shared_resource_provider,
            "shared_resource_provider": u.provider.name if u.provider else None}


def _letter(x: DirectorsLetter) -> LetterRead:
    return LetterRead(reference=x.reference, assessment=x.assessment.reference, received_on=x.received_on,
                      summary=x.summary, reviewed_meeting=x.reviewed_meeting, reviewed_on=x.reviewed_on)


def _filters(q: str | None, kind: str | None, year: int | None) -> service.Filters:
    try:
        k = AssessmentKind(kind) if kind else None
    except ValueError as exc:
        raise Invalid(f"Unknown kind {kind!r}: full, verification, self or follow_up.",
                      detail={"field": "kind"}) from exc
    return service.Filters(q=q or None, kind=k, year=year)


@router.get("", summary="The assessments you may see, newest first")
def list_assessments(ctx: Ctx = Depends(get_ctx), q: str | None = Query(None, max_length=200),
                     kind: str | None = Query(None), year: int | None = Query(None, ge=2000, le=2100),
                     cursor: str | None = Query(None, max_length=500),
                     limit: int = Query(service.PAGE_SIZE, ge=1, le=200)) -> dict[str, Any]:
    f = _filters(q, kind, year)
    page = service.list_assessments(ctx, f, cursor, limit)
    return {"items": [read(ctx, a) for a in page.items], "next_cursor": page.next_cursor,
            "counts": service.count_visible(ctx, f)}


@router.get("/export.csv", summary="The assessments and findings you may see, as CSV")
def export(ctx: Ctx = Depends(get_ctx), q: str | None = Query(None, max_length=200), kind: str | None = Query(None),
           year: int | None = Query(None, ge=2000, le=2100)) -> StreamingResponse:
    rows = list(service.export_csv(ctx, _filters(q, kind, year)))  # read inside the request's transaction
    return StreamingResponse(iter(rows), media_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="assessments.csv"', "Cache-Control": "no-store"})


@router.get("/counts", summary="What the SSC reviewed and set in a period: counts only, for everyone")
def counts(ctx: Ctx = Depends(get_ctx), start: date = Query(...), end: date = Query(...)) -> dict[str, Any]:
    if end < start:
        raise Invalid("end is before start.", detail={"field": "end"})
    c = report.counts(ctx, start, end)
    return {"start": start, "end": end, "initial_fusa": c.initial_fusa, "follow_up": c.follow_up,
            "later_fusa": c.later_fusa, "vusa": c.vusa, "ssa": c.ssa, "assurance_statuses": c.assurance,
            "compliance_statuses": c.compliance + c.vusa_compliance, "directors_letters": c.letters,
            "sentences": [p for _, ps in report.subsections(ctx, start, end) for p in ps]}


@router.get("/calendar", summary="What each User you may see owes in a year (totals for all)")
def calendar(ctx: Ctx = Depends(get_ctx), year: int | None = Query(None, ge=2000, le=2100)) -> dict[str, Any]:
    cal = service.calendar(ctx, year or ctx.clock.today().year + 1)
    return {"start": cal.start, "end": cal.end, "totals": cal.totals, "owed": [
        {"user": o.user.organisation.name, "year_start": o.entry.year_start, "cycle_number": o.entry.cycle_number,
         "cycle_year": o.entry.cycle_year, "kind": o.entry.kind.value, "initial": o.entry.initial,
         "row": o.row} for o in cal.owed]}


@router.get("/overdue", summary="Open conditions and remediation actions past their due date")
def overdue(ctx: Ctx = Depends(get_ctx)) -> list[dict[str, Any]]:
    return [{"assessment": a.reference, "user": a.user.organisation.name, "kind": x.kind, "text": x.text,
             "due_date": x.due_date, "finding": x.finding.number if x.finding else None}
            for a, x in service.overdue(ctx)]


@router.get("/users", summary="The Users under the cycle you may see")
def users(ctx: Ctx = Depends(get_ctx)) -> list[dict[str, Any]]:
    return [_user(u, ctx) for u in service.list_users(ctx)]


@router.post("/users", status_code=201, summary="Put a User under the assessment cycle (SECAS, SSC)")
def register_user(data: AssessedUserCreate, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    return _user(service.register_user(ctx, data), ctx)


@router.post("/users/{organisation}/portfolios", status_code=201, summary="A User's portfolio from a date")
def add_portfolio(organisation: Line, data: PortfolioCreate, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    service.add_portfolio(ctx, organisation, data)
    return _user(service.get_user(ctx, organisation), ctx)


@router.get("/letters", response_model=list[LetterRead], summary="Director's Letters you may see")
def letters(ctx: Ctx = Depends(get_ctx)) -> list[LetterRead]:
    return [_letter(x) for x in service.list_letters(ctx)]


@router.post("/letters", status_code=201, response_model=LetterRead, summary="Record a Director's Letter")
def add_letter(data: LetterCreate, ctx: Ctx = Depends(get_ctx)) -> LetterRead:
    return _letter(service.add_letter(ctx, data))


@router.post("/letters/{reference}/review", response_model=LetterRead,
             summary="The SSC reviewed a Director's Letter at a meeting")
def review_letter(reference: Line, data: LetterReview, ctx: Ctx = Depends(get_ctx)) -> LetterRead:
    return _letter(service.review_letter(ctx, reference, data))


@router.post("", status_code=201, response_model=AssessmentRead, summary="Record an assessment (SECAS, SSC)")
def create(data: AssessmentCreate, ctx: Ctx = Depends(get_ctx)) -> AssessmentRead:
    return read(ctx, service.create_assessment(ctx, data))


@router.get("/{reference}", response_model=AssessmentRead, summary="One assessment, as far as you may see it")
def get(reference: Line, ctx: Ctx = Depends(get_ctx)) -> AssessmentRead:
    return read(ctx, service.get_assessment(ctx, reference))


@router.post("/{reference}/findings", status_code=201, response_model=AssessmentRead, summary="Add a finding")
def add_finding(reference: Line, data: FindingCreate, ctx: Ctx = Depends(get_ctx)) -> AssessmentRead:
    service.add_finding(ctx, reference, data)
    return read(ctx, service.get_assessment(ctx, reference))


@router.post("/{reference}/actions", status_code=201, response_model=AssessmentRead,
             summary="Add a condition or a remediation action")
def add_action(reference: Line, data: ActionCreate, ctx: Ctx = Depends(get_ctx)) -> AssessmentRead:
    service.add_action(ctx, reference, data)
    return read(ctx, service.get_assessment(ctx, reference))


@router.post("/{reference}/actions/{action_id}/close", response_model=AssessmentRead, summary="Close one")
def close_action(reference: Line, action_id: DbId, ctx: Ctx = Depends(get_ctx)) -> AssessmentRead:
    service.close_action(ctx, reference, action_id)
    return read(ctx, service.get_assessment(ctx, reference))


@router.post("/{reference}/decisions", status_code=201, response_model=AssessmentRead,
             summary="The SSC set the assessment's status at a meeting (minuted there)")
def decide(reference: Line, data: DecisionCreate, ctx: Ctx = Depends(get_ctx)) -> AssessmentRead:
    service.decide(ctx, reference, data)
    return read(ctx, service.get_assessment(ctx, reference))

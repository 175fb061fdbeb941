"""JSON API of incidents (mounted under /api/v1): list by time left to SLA, raise, read with the timeline, assign,
move through the statuses, recategorise, note. Who may do what is ``service.incidents``'s rule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from gbsmart.core.context import Ctx
from gbsmart.core.types import DbId, Line, Text
from gbsmart.service import incidents, major, performance
from gbsmart.service.enums import TriageResult
from gbsmart.service.schemas import (
    ExceptionCreate,
    IncidentAssign,
    IncidentCreate,
    IncidentNote,
    IncidentRead,
    IncidentRecategorise,
    IncidentStatusChange,
)
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["incidents"])


def _figure(f: performance.Figure) -> dict[str, Any]:
    return {"code": f.level.code, "name": f.level.name, "month": f.month.strftime("%Y-%m"), "counted": f.counted,
            "met": f.met, "missed": f.missed, "share": None if f.share is None else round(f.share, 3),
            "target": f.level.target, "minimum": f.level.minimum, "standing": f.standing}


@router.get("/service/performance", tags=["performance"], summary="Code Performance Measures for a month")
def performance_month(ctx: Ctx = Depends(get_ctx), month: str | None = Query(None, description="YYYY-MM (default: "
                                                                                 "this month)")) -> dict[str, Any]:
    m = performance.parse_month(month, ctx.clock.today())
    return {"month": m.strftime("%Y-%m"), "measures": [_figure(f) for f in performance.month_figures(ctx, m)]}


@router.get("/service/performance/history", tags=["performance"], summary="The measures over the last months")
def performance_history(ctx: Ctx = Depends(get_ctx), months: int = Query(12, ge=1, le=36)) -> list[dict[str, Any]]:
    return [{"month": row[0].month.strftime("%Y-%m"), "measures": [_figure(f) for f in row]}
            for row in performance.history(ctx, months)]


def _exception(row: Any) -> dict[str, Any]:
    return {"id": row.id, "measure": row.measure, "ref": row.ref, "reason": row.reason, "added_by": row.added_by,
            "added_at": row.added_at}


@router.get("/service/performance/exceptions", tags=["performance"],
            summary="The Performance Measurement Exception List")
def list_exceptions(ctx: Ctx = Depends(get_ctx)) -> list[dict[str, Any]]:
    return [_exception(r) for r in performance.exceptions(ctx)]


@router.post("/service/performance/exceptions", tags=["performance"], status_code=201,
             summary="Leave an event out of a measure, with a reason")
def add_exception(data: ExceptionCreate, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    return _exception(performance.add_exception(ctx, data.measure, data.ref, data.reason))


@router.delete("/service/performance/exceptions/{exception_id}", tags=["performance"], status_code=204,
               summary="Take an event off the exception list")
def remove_exception(exception_id: DbId, ctx: Ctx = Depends(get_ctx)) -> Response:
    performance.remove_exception(ctx, exception_id)
    return Response(status_code=204)


@router.get("/service/performance/{month}/{code}", tags=["performance"], summary="What is behind one figure")
def performance_items(month: str, code: str, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    figure, rows = performance.items(ctx, performance.parse_month(month, ctx.clock.today()), code)
    return {"figure": _figure(figure), "items": [
        {"ref": i.ref, "user_id": i.user_id, "at": i.at, "due_at": i.due_at, "done_at": i.done_at, "met": i.met,
         "what": i.what} for i in rows]}


@router.get("/incidents", response_model=list[IncidentRead], summary="Incidents by time left to their SLA")
def list_incidents(ctx: Ctx = Depends(get_ctx),
                   view: str = Query("open", description="open, due_24h (less than 24 hours to breach), breached, "
                                     "all"),
                   sort: str = Query("left", description="left (time left to SLA), raised, category"),
                   category: int | None = Query(None, ge=1, le=9)) -> list[IncidentRead]:
    return [incidents.read(ctx, r.incident, events=False)
            for r in incidents.list_incidents(ctx, view=view, sort=sort, category=category)]


@router.get("/incidents/types", summary="Incident categories (targets) and types (their questions)")
def incident_types(ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    cat = incidents.catalogue(ctx.settings)
    return {"categories": [{"number": c.number, "name": c.name, "target": c.target_text, "unit": c.unit.value,
                            "target_seconds": c.target_seconds} for c in cat.categories.values()],
            "types": incidents.types_listing(ctx.settings)}


@router.get("/incidents/aged", summary="Aged incidents by type, now and at the previous report")
def aged(ctx: Ctx = Depends(get_ctx), days: int | None = Query(None, ge=1, le=3650, description="Aged after this "
                                                                "many days (default: incidents.toml's aged.days)"),
         previous: datetime | None = Query(None, description="The previous report's time (default: 30 days ago)")
         ) -> dict[str, Any]:
    rows, used, then = incidents.aged_report(ctx, days=days, previous=previous)
    return {"days": used, "previous": then, "now": ctx.clock.now(),
            "types": [{"type": r.type_key, "name": r.type_name, "lead": r.lead, "aged": r.now, "previous": r.previous,
                       "trend": r.trend, "waiting_for_user": r.waiting_for_user,
                       "oldest_days": None if r.oldest_days is None else round(r.oldest_days, 1),
                       "by_category": {str(k): v for k, v in sorted(r.by_category.items())}} for r in rows]}


@router.post("/incidents", response_model=IncidentRead, status_code=201, summary="Raise an incident")
def raise_incident(data: IncidentCreate, response: Response, ctx: Ctx = Depends(get_ctx)) -> IncidentRead:
    incident = incidents.raise_incident(ctx, data)
    response.headers["Location"] = f"/api/v1/incidents/{incident.reference}"
    return incidents.read(ctx, incident)


@router.get("/incidents/{ref}", response_model=IncidentRead, summary="An incident and its timeline")
def get_incident(ref: str, ctx: Ctx = Depends(get_ctx)) -> IncidentRead:
    return incidents.read(ctx, incidents.get_incident(ctx, ref))


@router.post("/incidents/{ref}/assign", response_model=IncidentRead, summary="Assign it (the DCC service desk)")
def assign(ref: str, data: IncidentAssign, ctx: Ctx = Depends(get_ctx)) -> IncidentRead:
    return incidents.read(ctx, incidents.assign(ctx, ref, data))


@router.post("/incidents/{ref}/status", response_model=IncidentRead, summary="Change its status")
def change_status(ref: str, data: IncidentStatusChange, ctx: Ctx = Depends(get_ctx)) -> IncidentRead:
    return incidents.read(ctx, incidents.change_status(ctx, ref, data))


@router.post("/incidents/{ref}/category", response_model=IncidentRead, summary="Change its category")
def recategorise(ref: str, data: IncidentRecategorise, ctx: Ctx = Depends(get_ctx)) -> IncidentRead:
    return incidents.read(ctx, incidents.recategorise(ctx, ref, data))


@router.post("/incidents/{ref}/notes", response_model=IncidentRead, status_code=201, summary="Add a note")
def add_note(ref: str, data: IncidentNote, ctx: Ctx = Depends(get_ctx)) -> IncidentRead:
    return incidents.read(ctx, incidents.add_note(ctx, ref, data))


# ---------------------------------------------------------------- major incident reports

def _report(v: major.ReportView) -> dict[str, Any]:
    return {"reference": v.incident.reference, "major": v.major, "recognised_major_at": v.recognised_major_at,
            "time_to_restore_seconds": v.time_to_restore.total_seconds() if v.time_to_restore else None,
            "time_to_restore": v.restore_text,
            "categorisation": [{"at": c.at, "before": c.before, "after": c.after, "why": c.why}
                               for c in v.categorisation],
            "issues": [{"version": r.version, "issued_by": r.issued_by, "issued_at": r.issued_at, "summary": r.summary,
                        "services": r.services, "users": r.users, "root_cause": r.root_cause,
                        "remediation": r.remediation, "response_to_comments": r.response_to_comments,
                        "comments": [{"by": c.by, "at": c.at, "text": c.text} for c in v.comments[r.id]]}
                       for r in v.issues]}


@router.get("/incidents/{ref}/report", summary="A major incident's report: every issue and its comments")
def get_report(ref: str, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    return _report(major.view(ctx, ref))


@router.post("/incidents/{ref}/report", status_code=201, summary="Issue or re-issue the report (the DCC)")
def issue_report(ref: str, data: major.ReportIssue, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    major.issue(ctx, ref, data)
    return _report(major.view(ctx, ref))


@router.post("/incidents/{ref}/report/comments", status_code=201, summary="Comment on the latest issue")
def comment_report(ref: str, data: major.ReportComment, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    major.comment(ctx, ref, data)
    return _report(major.view(ctx, ref))


@router.get("/incidents/{ref}/report/pdf", response_class=Response, summary="The latest issue as a PDF")
def report_pdf(ref: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    name, data = major.pdf(ctx, ref)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})


# ---------------------------------------------------------------- the Operations Group's monthly report

@router.get("/service/report", tags=["performance"], summary="The Operations Group's monthly report (figures)")
def monthly_report(ctx: Ctx = Depends(get_ctx), month: str | None = Query(None, description="YYYY-MM (default: "
                                                                                  "last month)")) -> dict[str, Any]:
    from gbsmart.service import report

    r = report.build(ctx, performance.report_month(month, ctx.clock.today()))
    return {"month": r.month.strftime("%Y-%m"), "marking": report.MARKING,
            "measures": [{**_figure(c.latest), "months": [_figure(f) for f in c.figures]} for c in r.charts],
            "alerts": {"total": r.volume_total, "by_region": r.region_totals, "by_code": r.volumes},
            "aged": [{"type": a.type_key, "lead": a.lead, "aged": a.now, "previous": a.previous, "trend": a.trend}
                     for a in r.aged],
            "major_incidents": [{"reference": m.reference, "title": m.title, "category": m.category,
                                 "time_to_restore": m.restore_text, "report_version": m.report_version}
                                for m in r.majors],
            "ch_exceptions": _hub_figures(r.hubs),
            "cpm1_causes": None if r.causes is None else {
                "summary": r.causes.summary, "missed": r.causes.cpm1.missed,
                "firmware_missed": r.causes.firmware_missed, "firmware_share": r.causes.firmware_share,
                "worst_region": r.causes.worst_region,
                "by_region": {region: {"cpm1_missed": m[0], "firmware_missed": m[1],
                                       "pm2_counted": r.causes.pm2_by_region[region][0],
                                       "pm2_met": r.causes.pm2_by_region[region][1]}
                              for region, m in r.causes.missed_by_region.items()}}}


@router.get("/service/report/pdf", tags=["performance"], response_class=Response,
            summary="The monthly report as a PDF, marked on every page")
def monthly_report_pdf(ctx: Ctx = Depends(get_ctx), month: str | None = Query(None)) -> Response:
    from gbsmart.service import report

    name, data = report.pdf(ctx, performance.report_month(month, ctx.clock.today()))
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})


# ---------------------------------------------------------------- Communications Hub exceptions and returns

class HubExceptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hub_id: Line = Field(max_length=23)
    category: Line = Field(max_length=80, description="One of incidents.toml's [hubs] exception_categories.")
    csp_region: Line | None = Field(default=None, max_length=20, description="Used when the hub is not in the SMI.")
    note: Text = Field(default="", max_length=4000)


class HubReturnCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hub_id: Line = Field(max_length=23)
    reason: Text = Field(default="", max_length=4000)
    csp_region: Line | None = Field(default=None, max_length=20)


class HubTriage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: TriageResult
    note: Text = Field(default="", max_length=4000)


def _hub_figures(f: Any) -> dict[str, Any]:
    return {"start": f.start, "end": f.end, "exceptions": f.exceptions, "open_exceptions": f.open_exceptions,
            "returns": f.returns, "triage": f.triage, "decommissioned": f.decommissioned,
            "return_share": None if f.return_share is None else round(f.return_share, 2),
            "no_fault_found_rate": None if f.no_fault_found_rate is None else round(f.no_fault_found_rate, 2)}


@router.get("/service/hubs", tags=["hubs"], summary="Communications Hub exceptions and returns in a month")
def hub_figures(ctx: Ctx = Depends(get_ctx), month: str | None = Query(None, description="YYYY-MM")) -> dict[str, Any]:
    from gbsmart.service import hubs

    m = performance.parse_month(month, ctx.clock.today())
    return {"month": m.strftime("%Y-%m"), **_hub_figures(hubs.figures(ctx, *performance.month_bounds(m)))}


@router.post("/service/hubs/exceptions", tags=["hubs"], status_code=201, summary="Record a hub exception")
def hub_exception(data: HubExceptionCreate, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    from gbsmart.service import hubs

    row = hubs.record_exception(ctx, data.hub_id, data.category, csp_region=data.csp_region, note=data.note)
    return {"id": row.id, "hub_id": row.hub_id, "category": row.category, "csp_region": row.csp_region,
            "raised_at": row.raised_at}


@router.post("/service/hubs/exceptions/{exception_id}/close", tags=["hubs"], summary="Close a hub exception")
def hub_exception_close(exception_id: DbId, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    from gbsmart.service import hubs

    row = hubs.close_exception(ctx, exception_id)
    return {"id": row.id, "closed_at": row.closed_at}


@router.post("/service/hubs/returns", tags=["hubs"], status_code=201, summary="Record a returned hub")
def hub_return(data: HubReturnCreate, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    from gbsmart.service import hubs

    row = hubs.record_return(ctx, data.hub_id, reason=data.reason, csp_region=data.csp_region)
    return {"id": row.id, "hub_id": row.hub_id, "csp_region": row.csp_region, "triage": row.triage}


@router.post("/service/hubs/returns/{return_id}/triage", tags=["hubs"], summary="Record a returned hub's triage")
def hub_triage(return_id: DbId, data: HubTriage, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    from gbsmart.service import hubs

    row = hubs.triage(ctx, return_id, data.result, data.note)
    return {"id": row.id, "triage": row.triage, "triaged_at": row.triaged_at}

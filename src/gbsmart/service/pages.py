"""Portal pages of incidents: the list by time left to SLA (``/incidents``, filters: open, less than 24 hours to
breach, breached; sortable), raising one (``/incidents/new``: the chosen type's questions come in by htmx from
``/incidents/questions``), and one incident with its SLA, timeline and the actions the reader may take
(``/incidents/{ref}``). What a reader sees and may do is ``service.incidents``'s rule, as in the API and CLI."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.core.types import DbId
from gbsmart.models.parties import DccUser
from gbsmart.service import incidents
from gbsmart.service.enums import AssigneeKind, IncidentEventKind, IncidentStatus
from gbsmart.service.schemas import (
    ExceptionCreate,
    IncidentAssign,
    IncidentCreate,
    IncidentNote,
    IncidentRecategorise,
    IncidentStatusChange,
)
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.forms import FORM_FAILURES, parse, read_form, rerender
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _fields(form: dict[str, str], schema: type[BaseModel]) -> dict[str, str]:
    """The form's fields the schema has (not the CSRF token, not the answers)."""
    return {k: v for k, v in form.items() if k in schema.model_fields}


def _list_context(ctx: Ctx, request: Request) -> dict[str, Any]:
    q = {k: (request.query_params.get(k) or "").strip() for k in ("view", "sort", "category")}
    view, sort = q["view"] or "open", q["sort"] or "left"
    category = int(q["category"]) if q["category"].isdigit() else None
    rows = incidents.list_incidents(ctx, view=view, sort=sort, category=category)
    return {"rows": rows, "q": {**q, "view": view, "sort": sort}, "views": incidents.VIEWS, "sorts": incidents.SORTS,
            "categories": incidents.catalogue(ctx.settings).categories, "Statuses": IncidentStatus,
            "Assignees": AssigneeKind, "may_raise": True, "now": ctx.clock.now(),
            "link": lambda **more: "/incidents?" + urlencode({**q, "view": view, "sort": sort, **more})}


@router.get("/incidents")
def list_page(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    try:
        context = _list_context(ctx, request)
    except Invalid as exc:
        context = {"rows": [], "q": {"view": "open", "sort": "left", "category": ""}, "views": incidents.VIEWS,
                   "sorts": incidents.SORTS, "categories": incidents.catalogue(ctx.settings).categories,
                   "Statuses": IncidentStatus, "Assignees": AssigneeKind, "error": exc.message, "now": ctx.clock.now(),
                   "link": lambda **more: "/incidents?" + urlencode(more)}
        return render(request, "incidents.html", context, status_code=422)
    return render(request, "incidents.html", context)


def _new_context(ctx: Ctx, type_key: str = "") -> dict[str, Any]:
    cat = incidents.catalogue(ctx.settings)
    own = [u.eui64 for u in ctx.session.query(DccUser).filter(DccUser.organisation_id == ctx.actor.organisation_id)] \
        if ctx.actor.organisation_id is not None else []
    chosen = cat.types.get(type_key) or next(iter(cat.types.values()))
    return {"catalogue": cat, "chosen": chosen, "own_users": own, "form": {}, "errors": {}, "error": None}


@router.get("/incidents/aged")
def aged_page(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """Aged incidents by type, with each type's lead and the trend since the previous report (30 days ago)."""
    rows, days, previous = incidents.aged_report(ctx)
    return render(request, "incidents_aged.html", {"rows": rows, "days": days, "previous": previous,
                                                   "categories": incidents.catalogue(ctx.settings).categories})


@router.get("/incidents/new")
def new_page(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "incident_new.html", _new_context(ctx, request.query_params.get("type") or ""))


@router.get("/incidents/questions")
def questions(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """The chosen type's questions (htmx swaps them into the form when the type changes)."""
    context = _new_context(ctx, request.query_params.get("type") or "")
    return render(request, "incident_questions.html", context)


@router.post("/incidents/new")
async def raise_page(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    answers = {k.removeprefix("answers."): v for k, v in form.items() if k.startswith("answers.") and v.strip()}
    try:
        data = parse(IncidentCreate, _fields(form, IncidentCreate), answers=answers,
                     category=form.get("category") or None)
        incident = incidents.raise_incident(ctx, data)
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "incident_new.html", lambda: _new_context(ctx, form.get("type", "")),
                        form=form)
    return RedirectResponse(f"/incidents/{incident.reference}?raised=1", status_code=303)


def _detail_context(ctx: Ctx, ref: str) -> dict[str, Any]:
    incident = incidents.get_incident(ctx, ref)
    view = incidents.read(ctx, incident)
    row = incidents.row(ctx, incident)
    desk = incidents.is_service_desk(ctx)
    moves = incidents.allowed_moves(ctx, incident)  # the service's rule, as change_status checks it
    cat = incidents.catalogue(ctx.settings)
    questions = {q.key: q.label for q in cat.types[incident.type_key].questions} if incident.type_key in cat.types \
        else {}
    return {"i": view, "row": row, "desk": desk, "moves": moves, "categories": cat.categories, "questions": questions,
            "Statuses": IncidentStatus, "Assignees": AssigneeKind, "Kinds": IncidentEventKind,
            "form": {}, "errors": {}, "error": None}


def _report_context(ctx: Ctx, ref: str) -> dict[str, Any]:
    from gbsmart.service import major

    return {"v": major.view(ctx, ref), "desk": incidents.is_service_desk(ctx), "form": {}, "errors": {},
            "error": None}


@router.get("/incidents/{ref}/report")
def major_report_page(ref: str, request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "major.html", _report_context(ctx, ref))


@router.post("/incidents/{ref}/report/{action}")
async def report_act(ref: str, action: str, request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    from gbsmart.service import major

    form = await read_form(request)
    incidents.get_incident(ctx, ref)
    try:
        if action == "issue":
            major.issue(ctx, ref, parse(major.ReportIssue, _fields(form, major.ReportIssue)))
        elif action == "comment":
            major.comment(ctx, ref, parse(major.ReportComment, _fields(form, major.ReportComment)))
        else:
            raise Invalid(f"{action!r} is not something a report page does")
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "major.html", lambda: _report_context(ctx, ref), form=form,
                        page_found=True)
    return RedirectResponse(f"/incidents/{ref}/report?done={action}", status_code=303)


@router.get("/incidents/{ref}")
def detail_page(ref: str, request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "incident.html", _detail_context(ctx, ref))


@router.post("/incidents/{ref}/{action}")
async def act(ref: str, action: str, request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """One form of the incident page: assign, status, category or note."""
    form = await read_form(request)
    incidents.get_incident(ctx, ref)  # a 404 for an incident the reader may not see, before any form handling
    try:
        if action == "assign":
            incidents.assign(ctx, ref, parse(IncidentAssign, _fields(form, IncidentAssign)))
        elif action == "status":
            incidents.change_status(ctx, ref, parse(IncidentStatusChange, _fields(form, IncidentStatusChange)))
        elif action == "category":
            incidents.recategorise(ctx, ref, parse(IncidentRecategorise, _fields(form, IncidentRecategorise)))
        elif action == "note":
            incidents.add_note(ctx, ref, parse(IncidentNote, _fields(form, IncidentNote)))
        else:
            raise Invalid(f"{action!r} is not something an incident page does")
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "incident.html", lambda: _detail_context(ctx, ref), form=form,
                        page_found=True)
    return RedirectResponse(f"/incidents/{ref}?done={action}", status_code=303)


_STANDING = {"target met": "green", "below target": "orange", "below minimum": "red", "no data": "grey"}


def _performance_context(ctx: Ctx, request: Request) -> dict[str, Any]:
    from gbsmart.service import performance

    return {"rows": performance.history(ctx, 12), "codes": performance.MEASURES,
            "levels": performance.levels(ctx.settings), "colours": _STANDING,
            "exceptions": performance.exceptions(ctx), "exceptable": performance.EXCEPTABLE,
            "may_except": performance.may_keep_exceptions(ctx),
            "form": {k: request.query_params.get(k, "") for k in ("measure", "ref")}, "errors": {}}


@router.get("/service/performance")
def performance_page(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """The Code Performance Measures over the last 12 months, each cell linked to what is behind it, and the
    Performance Measurement Exception List (kept by the DCC and the Code Administrator)."""
    return render(request, "performance.html", _performance_context(ctx, request))


@router.post("/service/performance/exceptions")
async def exception_add_page(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    from gbsmart.service import performance

    form = await read_form(request)
    try:
        data = parse(ExceptionCreate, _fields(form, ExceptionCreate))
        row = performance.add_exception(ctx, data.measure, data.ref, data.reason)
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "performance.html", lambda: _performance_context(ctx, request), form=form)
    return RedirectResponse(f"/service/performance?added={row.id}#exceptions", status_code=303)


@router.post("/service/performance/exceptions/{exception_id}/remove")
async def exception_remove_page(exception_id: DbId, request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    from gbsmart.service import performance

    performance.remove_exception(ctx, exception_id)
    return RedirectResponse("/service/performance?removed=1#exceptions", status_code=303)


@router.get("/service/performance/{month}/{code}")
def performance_items_page(month: str, code: str, request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    from gbsmart.service import performance

    figure, found = performance.items(ctx, performance.parse_month(month, ctx.clock.today()), code)
    return render(request, "performance_items.html", {"f": figure, "items": found, "colours": _STANDING,
                                                      "limit": performance.ITEM_LIMIT,
                                                      "may_except": performance.may_keep_exceptions(ctx),
                                                      "exceptable": performance.EXCEPTABLE})


@router.get("/service/report")
def report_page(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """The Operations Group's monthly report (default: last month)."""
    from gbsmart.service import performance, report

    month = performance.report_month(request.query_params.get("month") or None, ctx.clock.today())
    return render(request, "report.html", {"r": report.build(ctx, month), "marking": report.MARKING,
                                           "regions": report.REGIONS})

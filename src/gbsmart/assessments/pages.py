"""Portal pages of User Security Assessments: the list with search and counts, one assessment with its findings,
conditions and the SSC's decisions, the cycle calendar, Director's Letters and the overdue list. They call the
same service as the API, so the reader sees exactly what ``assessments.access`` allows (404 otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from gbsmart.assessments import access, report, rules, service
from gbsmart.assessments.api import read
from gbsmart.assessments.enums import ActionKind, AssessmentKind, Severity, SscStatus
from gbsmart.assessments.schemas import (
    ActionCreate,
    AssessmentCreate,
    DecisionCreate,
    FindingCreate,
    LetterCreate,
    LetterReview,
)
from gbsmart.core.context import Ctx
from gbsmart.core.types import as_db_id
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.forms import FORM_FAILURES, parse, read_form, rerender
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
ENUMS = {"AssessmentKind": AssessmentKind, "Severity": Severity, "SscStatus": SscStatus, "ActionKind": ActionKind}


def _fields(form: dict[str, str], schema: type[BaseModel]) -> dict[str, Any]:
    """The form's non-blank fields the schema has (not the CSRF token)."""
    return {k: v for k, v in form.items() if k in schema.model_fields and v.strip() != ""}


def _filters(request: Request) -> tuple[service.Filters, dict[str, str]]:
    q = {k: (request.query_params.get(k) or "").strip() for k in ("q", "kind", "year")}
    kind = AssessmentKind(q["kind"]) if q["kind"] in {k.value for k in AssessmentKind} else None
    year = int(q["year"]) if q["year"].isdigit() and 2000 <= int(q["year"]) <= 2100 else None
    return service.Filters(q=q["q"] or None, kind=kind, year=year), {k: v for k, v in q.items() if v}


def _list_context(ctx: Ctx, request: Request) -> dict[str, Any]:
    f, chosen = _filters(request)
    page = service.list_assessments(ctx, f, request.query_params.get("cursor") or None)
    reader = access.reader_of(ctx)
    today = ctx.clock.today()
    start = today.replace(year=today.year - 1, month=1, day=1)
    return {"page": page, "f": f, "chosen": chosen, "counts": service.count_visible(ctx, f),
            "next_url": f"/assessments?{urlencode({**chosen, 'cursor': page.next_cursor})}" if page.next_cursor
            else None, "export_url": f"/api/v1/assessments/export.csv?{urlencode(chosen)}",
            "may_write": reader.all_of_it, "sees_all": reader.all_of_it, "form": {}, "errors": {},
            "phrase": service.kind_phrase, "overdue": service.overdue(ctx), "today": today,
            "period_start": start, "months": report.monthly(ctx), **ENUMS}


@router.get("/assessments")
def assessments(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "assessments.html", _list_context(ctx, request), headers={"Cache-Control": "no-store"})


@router.post("/assessments")
async def create(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    try:
        a = service.create_assessment(ctx, parse(AssessmentCreate, _fields(form, AssessmentCreate)))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "assessments.html", lambda: _list_context(ctx, request), form=form)
    return RedirectResponse(f"/assessments/{a.reference}?done=created", status_code=303)


@router.get("/assessments/calendar")
def calendar(request: Request, ctx: Ctx = Depends(get_ctx), year: int | None = None) -> Response:
    chosen = year if year and 2000 <= year <= 2100 else ctx.clock.today().year + 1
    cal = service.calendar(ctx, chosen)
    r = service.cycle_rules(ctx)
    rows = [(name, rules.describe_row(r, key)) for key, name in rules.ROW_NAMES.items()]
    return render(request, "assessments_calendar.html", {
        "cal": cal, "year": chosen, "rows": rows, "variant": r.variant, "large": r.large_domestic,
        "large_nd": r.large_non_domestic, "sees_all": access.reader_of(ctx).all_of_it, **ENUMS},
        headers={"Cache-Control": "no-store"})


def _letters_context(ctx: Ctx) -> dict[str, Any]:
    return {"letters": service.list_letters(ctx), "may_write": access.reader_of(ctx).all_of_it, "form": {},
            "errors": {}}


@router.get("/assessments/letters")
def letters(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "assessments_letters.html", _letters_context(ctx), headers={"Cache-Control": "no-store"})


@router.post("/assessments/letters")
async def add_letter(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    try:
        service.add_letter(ctx, parse(LetterCreate, _fields(form, LetterCreate)))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "assessments_letters.html", lambda: _letters_context(ctx), form=form)
    return RedirectResponse("/assessments/letters?done=added", status_code=303)


@router.post("/assessments/letters/{reference}/review")
async def review_letter(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    try:
        service.review_letter(ctx, reference, parse(LetterReview, _fields(form, LetterReview)))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "assessments_letters.html", lambda: _letters_context(ctx),
                        form={"name": f"review-{reference}", **form}, error_key="review_error")
    return RedirectResponse("/assessments/letters?done=reviewed", status_code=303)


def _detail_context(ctx: Ctx, reference: str, done: str | None = None) -> dict[str, Any]:
    a = service.get_assessment(ctx, reference)
    return {"a": read(ctx, a), "done": done, "may_write": access.reader_of(ctx).all_of_it, "form": {},
            "errors": {}, "statuses": rules.allowed_statuses(service.status_kind_of(a)),
            "status_kind": service.status_kind_of(a), **ENUMS}


@router.get("/assessments/{reference}")
def assessment(request: Request, reference: str, ctx: Ctx = Depends(get_ctx), done: str | None = None) -> Response:
    return render(request, "assessment.html", _detail_context(ctx, reference, done),
                  headers={"Cache-Control": "no-store"})


async def _change(request: Request, ctx: Ctx, reference: str, name: str,
                  action: Callable[[Ctx, str, dict[str, str]], None]) -> Response:
    form = await read_form(request)
    service.get_assessment(ctx, reference)  # a 404 before anything else for what the reader may not see
    try:
        action(ctx, reference, form)
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "assessment.html", lambda: _detail_context(ctx, reference),
                        form={"name": name, **form}, field_prefix=f"{name}.", page_found=True)
    return RedirectResponse(f"/assessments/{reference}?done={name}", status_code=303)


def _finding(ctx: Ctx, reference: str, form: dict[str, str]) -> None:
    data = _fields(form, FindingCreate)
    data["on_shared_resource"] = form.get("on_shared_resource") == "on"
    service.add_finding(ctx, reference, parse(FindingCreate, data))


def _action(ctx: Ctx, reference: str, form: dict[str, str]) -> None:
    service.add_action(ctx, reference, parse(ActionCreate, _fields(form, ActionCreate)))


def _decision(ctx: Ctx, reference: str, form: dict[str, str]) -> None:
    service.decide(ctx, reference, parse(DecisionCreate, _fields(form, DecisionCreate)))


def _close(ctx: Ctx, reference: str, form: dict[str, str]) -> None:
    ident = as_db_id(form.get("action_id", ""))
    if ident is None:
        from gbsmart.core.errors import Invalid

        raise Invalid("Choose the condition or action to close.", detail=[{"field": "action_id", "message": "?"}])
    service.close_action(ctx, reference, ident)


def _route(path: str, name: str, action: Callable[[Ctx, str, dict[str, str]], None]) -> None:
    async def post(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
        return await _change(request, ctx, reference, name, action)

    post.__name__ = f"assessment_{name}"
    router.add_api_route(f"/assessments/{{reference}}/{path}", post, methods=["POST"])


_route("findings", "finding", _finding)
_route("actions", "action", _action)
_route("decisions", "decision", _decision)
_route("close", "close", _close)


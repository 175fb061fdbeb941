"""Portal pages of papers: the list with search, classification filter and counts; a paper with its coloured
classification banners and re-classification history; new/edit forms; re-classify, recipients, appendices, issue;
the print view; the RED access log (author and SECAS); drafting a sub-committee report. Material a person may not
see is a 404 here too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from gbsmart.core.context import Ctx
from gbsmart.papers import access_log, render, reports, schemas, service
from gbsmart.papers.enums import AccessChannel, Classification, PaperAction, PaperStatus
from gbsmart.papers.service import PaperFilters, PaperView
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.forms import FORM_FAILURES, parse, read_form, rerender
from gbsmart.web.templating import render as render_page

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

ENUMS = {"Classification": Classification, "PaperAction": PaperAction, "PaperStatus": PaperStatus,
         "md": render.markdown_html}


def _form_value(form: dict, name: str) -> str | None:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _usernames(form: dict, name: str) -> list[str]:
    """A field of usernames separated by spaces or commas."""
    return [r for r in (form.get(name) or "").replace(",", " ").split() if r]


# ------------------------------------------------------------------------------------------------ list


@router.get("/papers")
def papers(request: Request, ctx: Ctx = Depends(get_ctx), q: str | None = None, classification: str | None = None,
           committee: str | None = None, status: str | None = None, cursor: str | None = None) -> Response:
    f = PaperFilters(q=q or None, classification=classification or None, committee=committee or None,
                     status=status or None)
    page = service.list_papers(ctx, f, AccessChannel.PAGE, cursor or None)
    counts = service.count_papers(ctx, PaperFilters(q=f.q, committee=f.committee, status=f.status))
    chosen = {k: v for k, v in (("q", f.q), ("classification", f.classification), ("committee", f.committee),
                                ("status", f.status)) if v}
    next_url = f"/papers?{urlencode({**chosen, 'cursor': page.next_cursor})}" if page.next_cursor else None
    first_url = f"/papers?{urlencode(chosen)}" if cursor else None
    return render_page(request, "papers_list.html", {"views": page.items, "f": f, "counts": counts, **ENUMS,
                                                     "next_url": next_url, "first_url": first_url,
                                                     "may_create": ctx.actor.has_role("code_administrator")})


# ------------------------------------------------------------------------------------------ new / edit


def _blank_form(ctx: Ctx) -> dict:
    return {"classification": Classification.GREEN.value, "action": PaperAction.FOR_INFORMATION.value,
            "paper_date": ctx.clock.today().isoformat()}


@router.get("/papers/new")
def new_form(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render_page(request, "paper_form.html", {"form": _blank_form(ctx), "errors": {}, "editing": None, **ENUMS})


@router.post("/papers/new")
async def create(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    try:
        paper = service.create_paper(ctx, parse(schemas.PaperCreate, {
            "reference": form.get("reference", ""), "title": form.get("title", ""), "purpose": form.get("purpose", ""),
            "action": form.get("action") or PaperAction.FOR_INFORMATION, "author": _form_value(form, "author"),
            "author_organisation": _form_value(form, "author_organisation"),
            "paper_date": _form_value(form, "paper_date"), "committee_code": _form_value(form, "committee_code"),
            "body": form.get("body", ""), "classification": form.get("classification") or Classification.GREEN,
            "recipients": _usernames(form, "recipients"),
        }))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "paper_form.html", {"editing": None, **ENUMS}, form=form)
    return RedirectResponse(f"/papers/{paper.reference}", status_code=303)


@router.get("/papers/reports/new")
def report_form(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    today = ctx.clock.today()
    start = date(today.year, today.month, 1)
    return render_page(request, "papers_report_new.html", {
        "form": {"period_start": start.isoformat(), "period_end": today.isoformat()}, "errors": {}})


@router.post("/papers/reports/new")
async def report_create(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    try:
        paper = reports.draft_report(ctx, parse(schemas.ReportRequest, {
            "period_start": form.get("period_start") or None, "period_end": form.get("period_end") or None,
            "reference": _form_value(form, "reference")}))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "papers_report_new.html", {}, form=form)
    return RedirectResponse(f"/papers/{paper.reference}?done=drafted", status_code=303)


@router.get("/papers/{reference}/edit")
def edit_form(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    view = service.get_view(ctx, reference, AccessChannel.PAGE)
    p = view.paper
    form = {k: getattr(p, k) for k in ("reference", "title", "purpose", "action", "author_organisation",
                                       "committee_code", "body", "classification")}
    form["paper_date"] = p.paper_date.isoformat()
    return render_page(request, "paper_form.html", {"form": form, "errors": {}, "editing": p, **ENUMS})


@router.post("/papers/{reference}/edit")
async def edit(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    try:
        paper = service.update_paper(ctx, reference, parse(schemas.PaperUpdate, {
            "title": form.get("title", ""), "purpose": form.get("purpose", ""), "action": form.get("action") or None,
            "author_organisation": form.get("author_organisation", ""), "paper_date": _form_value(form, "paper_date"),
            "committee_code": _form_value(form, "committee_code"), "body": form.get("body", "")}), AccessChannel.PAGE)
    except FORM_FAILURES as exc:
        def context() -> dict:
            editing = service.get_view(ctx, reference, None).paper
            return {"editing": editing, "form": {**form, "reference": editing.reference}, **ENUMS}

        return rerender(request, ctx, exc, "paper_form.html", context)
    return RedirectResponse(f"/papers/{paper.reference}?done=saved", status_code=303)


# ---------------------------------------------------------------------------------------------- a paper


def _detail_context(view: PaperView, done: str | None = None) -> dict:
    return {"v": view, "p": view.paper, "errors": {}, "error": None, "form": {}, "done": done, **ENUMS}


def _no_store_if_red(response: Response, level: Classification) -> Response:
    """RED material is not kept in browser or proxy caches."""
    if level == Classification.RED:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/papers/{reference}")
def paper(request: Request, reference: str, ctx: Ctx = Depends(get_ctx), done: str | None = None) -> Response:
    view = service.get_view(ctx, reference, AccessChannel.PAGE)
    return _no_store_if_red(render_page(request, "paper_detail.html", _detail_context(view, done)), view.marking)


@router.get("/papers/{reference}/print")
def print_view(reference: str, ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    view = service.get_view(ctx, reference, AccessChannel.PAGE)
    return HTMLResponse(render.print_html(view, printed_for=ctx.actor.name, printed_at=ctx.clock.now()),
                        headers={"Cache-Control": "no-store"})


@router.get("/papers/{reference}/appendices/{letter}")
def appendix(request: Request, reference: str, letter: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    view, found = service.get_appendix(ctx, reference, letter, AccessChannel.PAGE)
    response = render_page(request, "paper_appendix.html", {"v": view, "p": view.paper, "a": found, **ENUMS})
    return _no_store_if_red(response, view.effective(found))


@router.get("/papers/{reference}/access-log")
def red_access_log(request: Request, reference: str, ctx: Ctx = Depends(get_ctx),
                   cursor: str | None = None) -> Response:
    log = access_log.read_access_log(ctx, reference, cursor, 50)
    next_url = (f"/papers/{log.paper.reference}/access-log?{urlencode({'cursor': log.next_cursor})}"
                if log.next_cursor else None)
    response = render_page(request, "paper_access_log.html", {"log": log, "p": log.paper, "next_url": next_url,
                                                              "first_page": cursor is None, **ENUMS})
    response.headers["Cache-Control"] = "no-store"
    return response


async def _change(request: Request, ctx: Ctx, reference: str, action: Callable[[Ctx, str, dict[str, str]], str],
                  form_name: str) -> Response:
    """Run ``action(ctx, reference, form)``; on a refusal show the paper again with the messages beside the fields
    of that form."""
    form = await read_form(request)
    try:
        done = action(ctx, reference, form)
    except FORM_FAILURES as exc:
        shown: list[PaperView] = []

        def context() -> dict:
            shown.append(service.get_view(ctx, reference, AccessChannel.PAGE))
            return _detail_context(shown[0])

        response = rerender(request, ctx, exc, "paper_detail.html", context, form={"name": form_name, **form},
                            field_prefix=f"{form_name}.")
        return _no_store_if_red(response, shown[0].marking)
    return RedirectResponse(f"/papers/{reference}?done={done}", status_code=303)


def _reclassify(ctx: Ctx, reference: str, form: dict[str, str]) -> str:
    service.reclassify(ctx, reference, parse(schemas.ReclassifyRequest, {
        "classification": form.get("classification", ""), "reason": form.get("reason", ""),
        "appendix": _form_value(form, "appendix")}))
    return "reclassified"


def _name_recipients(ctx: Ctx, reference: str, form: dict[str, str]) -> str:
    service.update_recipients(ctx, reference, parse(schemas.RecipientsUpdate, {
        "add": _usernames(form, "add"), "remove": _usernames(form, "remove")}), AccessChannel.PAGE)
    return "recipients"


def _add_appendix(ctx: Ctx, reference: str, form: dict[str, str]) -> str:
    service.add_appendix(ctx, reference, parse(schemas.AppendixCreate, {
        "letter": _form_value(form, "letter"), "title": form.get("title", ""), "body": form.get("body", ""),
        "classification": form.get("appendix_classification", "")}))
    return "appendix"


def _issue(ctx: Ctx, reference: str, form: dict[str, str]) -> str:
    service.issue(ctx, reference)
    return "issued"


def _form_route(path: str, action: Callable[[Ctx, str, dict[str, str]], str], form_name: str) -> None:
    """POST /papers/{reference}/``path``: one of the paper page's forms, run through ``_change``."""
    async def post_form(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
        return await _change(request, ctx, reference, action, form_name)

    post_form.__name__ = f"paper_{form_name}"
    router.add_api_route(f"/papers/{{reference}}/{path}", post_form, methods=["POST"])


_form_route("reclassify", _reclassify, "reclassify")
_form_route("recipients", _name_recipients, "recipients")
_form_route("appendices", _add_appendix, "appendix")
_form_route("issue", _issue, "issue")

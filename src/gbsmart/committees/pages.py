"""Portal pages for committees: the list, a committee, a meeting's minutes (with the minuting forms), the actions board.

The minutes page reads like the original (seed 001): header, attendees by category, apologies, actions
outstanding, numbered agenda items with their discussion and **bold** decision words, actions raised and the
next meeting. Forms call the same services as the API; a refusal (e.g. the change process's 409) is shown on
the page and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from gbsmart.change import rules as change_rules
from gbsmart.change.enums import Route
from gbsmart.committees import actions as action_service
from gbsmart.committees import rules, service, views
from gbsmart.committees.enums import (
    ActionStatus,
    AttendeeRole,
    CommitteeKind,
    DecisionWord,
    MeetingStatus,
    MinutesStatus,
)
from gbsmart.committees.schemas import (
    ActionCreate,
    ActionUpdateCreate,
    AgendaItemCreate,
    ApologyCreate,
    AttendeeCreate,
    DecisionCreate,
    MeetingCreate,
    MinuteDecisionCreate,
)
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.models.committees import Meeting
from gbsmart.parties.enums import PartyCategory
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.forms import FORM_FAILURES, parse, read_form, rerender
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def long_date(d: date | None) -> str:
    """'28 January 2020', as the minutes write it."""
    return f"{d.day} {d:%B %Y}" if d else ""


def hhmm(t: time | None) -> str:
    return f"{t:%H:%M}" if t else ""


def paragraphs(text: str) -> list[str]:
    """Paragraphs of minuted text; browsers send a textarea's line breaks as CRLF."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def full_stop(text: str) -> str:
    return text if text.rstrip().endswith((".", "!", "?", ";")) else text.rstrip() + "."


HELPERS: dict[str, Any] = {
    "step_label": change_rules.step_label,
    "long_date": long_date, "hhmm": hhmm, "paragraphs": paragraphs, "full_stop": full_stop, "slug": rules.slug,
    "Word": DecisionWord, "Role": AttendeeRole, "ActionStatus": ActionStatus, "MeetingStatus": MeetingStatus,
    "MinutesStatus": MinutesStatus, "Kind": CommitteeKind, "Category": PartyCategory, "Route": Route,
}


NO_WORD = "Choose the decision's wording (AGREED, RECOMMENDED, NOTED or APPROVED)."


def _opt(form: dict[str, str], name: str) -> str | None:
    value = form.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


# ---------------------------------------------------------------- committees


@router.get("/committees")
def committees(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    today = ctx.clock.today()
    rows = [views.committee_summary(c, today) for c in service.list_committees(ctx.session)]
    return render(request, "committees.html", {"rows": rows, **HELPERS})


def _committee_context(ctx: Ctx, code: str) -> dict:
    c = service.get_committee(ctx.session, code)
    today = ctx.clock.today()
    return {"c": c, "summary": views.committee_summary(c, today), "members": c.members, "today": today,
            "meetings": sorted(c.meetings, key=lambda m: m.meeting_date, reverse=True),
            "can_write": service.can_write(ctx, c), "error": None, "errors": {}, "form": {}, **HELPERS}


@router.get("/committees/{code}")
def committee(request: Request, code: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "committee.html", _committee_context(ctx, code))


@router.post("/committees/{code}/meetings")
async def create_meeting(request: Request, code: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    try:
        m = service.create_meeting(ctx, code, parse(MeetingCreate, {
            "number": _opt(form, "number"), "meeting_date": form.get("meeting_date") or None,
            "start_time": _opt(form, "start_time"), "end_time": _opt(form, "end_time"),
            "venue": form.get("venue", ""), "status": form.get("status") or "scheduled"}))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "committee.html", lambda: _committee_context(ctx, code), form=form)
    return RedirectResponse(views.meeting_url(m), status_code=303)


# ---------------------------------------------------------------- a meeting's minutes


def _meeting_context(ctx: Ctx, committee: str, ref: str) -> dict:
    s = ctx.session
    m = service.get_meeting(s, committee, ref)
    members, others = service.attendee_groups(m)
    outstanding = [(a, action_service.update_at(a, m)) for a in action_service.outstanding_at(s, m)]
    items = [i for i in m.agenda_items if i.sub == 0]
    subs = {i.number: [x for x in m.agenda_items if x.number == i.number and x.sub] for i in items}
    editable = m.minutes_status == MinutesStatus.DRAFT and service.can_write(ctx, m.committee)
    return {
        "m": m, "c": m.committee, "members": members, "others": others, "quorum": service.quorum_of(m),
        "outstanding": outstanding, "items": items, "subs": subs, "papers": views.cited_papers(ctx, m.agenda_items),
        "raised": action_service.raised_at(s, m), "next": service.next_meeting(s, m),
        "today": ctx.clock.today(), "editable": editable,
        "can_approve": m.minutes_status == MinutesStatus.DRAFT and service.can_approve(ctx, m.committee),
        "proposals": service.proposals_to_minute(s) if editable else [], "proposal_ref": service.decision_proposal_ref,
        "steps": [st for st in change_rules.PROCESS if not st.internal],
        "open_actions": [a for a, _ in outstanding if a.status == ActionStatus.OPEN],
        "is_overdue": rules.is_overdue, "error": None, "errors": {}, "form": {}, "done": None, **HELPERS,
    }


@router.get("/meetings/{committee}/{ref}")
def meeting(request: Request, committee: str, ref: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "meeting.html", {**_meeting_context(ctx, committee, ref),
                                            "done": request.query_params.get("done")})


async def _minute(request: Request, ctx: Ctx, committee: str, ref: str,
                  write: Callable[[Meeting, dict[str, str]], str]) -> Response:
    """Run one minuting form: on success redirect back, on refusal show the page with the message (nothing saved).

    The meeting is found first, so a reference in the form that names nothing (a person, a proposal) is a 422.
    """
    form = await read_form(request)
    m = service.get_meeting(ctx.session, committee, ref)
    try:
        done = write(m, form)
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "meeting.html", lambda: _meeting_context(ctx, committee, ref),
                        page_found=True)
    return RedirectResponse(f"{views.meeting_url(m)}?done={quote(done, safe='')}", status_code=303)


@router.post("/meetings/{committee}/{ref}/attendees")
async def add_attendee(request: Request, committee: str, ref: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    def write(m: Meeting, form: dict[str, str]) -> str:
        service.add_attendee(ctx, m, parse(AttendeeCreate, {
            "person": _opt(form, "person"), "name": _opt(form, "name"), "representing": form.get("representing", ""),
            "party_category": _opt(form, "party_category"), "role": form.get("role") or "member",
            "teleconference": bool(form.get("teleconference"))}))
        return "attendee"

    return await _minute(request, ctx, committee, ref, write)


@router.post("/meetings/{committee}/{ref}/apologies")
async def add_apology(request: Request, committee: str, ref: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    def write(m: Meeting, form: dict[str, str]) -> str:
        service.add_apology(ctx, m, parse(ApologyCreate, {"person": _opt(form, "person"), "name": _opt(form, "name"),
                                                          "representing": form.get("representing", "")}))
        return "apologies"

    return await _minute(request, ctx, committee, ref, write)


def _decision_from(form: dict[str, str]) -> DecisionCreate | None:
    if not _opt(form, "word"):
        return None
    step = _opt(form, "step")
    return parse(DecisionCreate, {"word": form["word"], "text": form.get("text", ""),
                                  "proposal": _opt(form, "proposal"),
                                  "step": None if step in (None, "infer", "none") else step,
                                  "route": _opt(form, "route"), "take_step": step != "none"})


@router.post("/meetings/{committee}/{ref}/agenda-items")
async def add_agenda_item(request: Request, committee: str, ref: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    def write(m: Meeting, form: dict[str, str]) -> str:
        decision = _decision_from(form)
        proposals = [p for p in [_opt(form, "proposal")] if p]
        service.add_agenda_item(ctx, m, parse(AgendaItemCreate, {
            "number": _opt(form, "number"), "sub": _opt(form, "sub") or 0, "title": form.get("title", ""),
            "discussion": form.get("discussion", ""), "proposals": proposals, "paper_id": _opt(form, "paper_id"),
            "decisions": [decision] if decision else []}))
        return "agenda item" + (" and decision" if decision else "")

    return await _minute(request, ctx, committee, ref, write)


@router.post("/meetings/{committee}/{ref}/decisions")
async def add_decision(request: Request, committee: str, ref: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    def write(m: Meeting, form: dict[str, str]) -> str:
        d = _decision_from(form)
        if d is None:
            raise Invalid(NO_WORD, detail=[{"field": "word", "message": NO_WORD}])
        service.record_decision(ctx, m, parse(MinuteDecisionCreate, d.model_dump(),
                                              agenda_item=form.get("agenda_item", "")))
        return "decision"

    return await _minute(request, ctx, committee, ref, write)


@router.post("/meetings/{committee}/{ref}/actions")
async def raise_action(request: Request, committee: str, ref: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    def write(m: Meeting, form: dict[str, str]) -> str:
        a = action_service.raise_action_at(ctx, m, parse(ActionCreate, {
            "committee": m.committee.code, "meeting": m.reference, "agenda_item": _opt(form, "agenda_item"),
            "owner": form.get("owner", ""), "owner_organisation": _opt(form, "owner_organisation"),
            "text": form.get("text", ""), "due_date": _opt(form, "due_date")}))
        return a.reference

    return await _minute(request, ctx, committee, ref, write)


@router.post("/meetings/{committee}/{ref}/action-updates")
async def action_update(request: Request, committee: str, ref: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    def write(m: Meeting, form: dict[str, str]) -> str:
        action_ref = form.get("action", "")
        action_service.record_update(ctx, action_ref, parse(ActionUpdateCreate, {
            "text": form.get("text", ""), "status": form.get("status") or "open", "meeting": m.reference}))
        return f"update to {action_ref}"

    return await _minute(request, ctx, committee, ref, write)


@router.post("/meetings/{committee}/{ref}/approve")
async def approve(request: Request, committee: str, ref: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    def write(m: Meeting, form: dict[str, str]) -> str:
        service.approve_minutes(ctx, m)
        return "minutes approved"

    return await _minute(request, ctx, committee, ref, write)


# ---------------------------------------------------------------- the actions board


@router.get("/actions")
def actions_board(request: Request, ctx: Ctx = Depends(get_ctx), committee: str | None = None,
                  status: str | None = None) -> Response:
    today = ctx.clock.today()
    found = action_service.list_actions(ctx.session, committee or None, status or None)
    overdue = [a for a in found if rules.is_overdue(a.status, a.due_date, today)]
    return render(request, "actions_board.html", {
        "open": [a for a in found if a.status == ActionStatus.OPEN],
        "closed": [a for a in found if a.status == ActionStatus.CLOSED],
        "overdue": overdue, "overdue_refs": {a.reference for a in overdue}, "today": today,
        "committees": service.list_committees(ctx.session), "committee": committee or "", "status": status or "",
        **HELPERS})

"""Portal pages for the change process: proposals, a proposal's timeline and steps, raising, voting, tally."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select

from gbsmart.change import rules, service
from gbsmart.change.enums import ProposalPath, ProposalState, Route, Vote, VotingCategory
from gbsmart.change.schemas import DraftProposalCreate, ResponseCreate, StepCreate, VoteCreate
from gbsmart.change.voting import Ballot, VotingError, tally
from gbsmart.core.context import Ctx
from gbsmart.core.errors import AppError, plain_validation_message
from gbsmart.models.change import Release
from gbsmart.models.parties import Organisation
from gbsmart.parties.enums import OrganisationKind
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _errors(exc: ValidationError) -> dict[str, str]:
    return {".".join(str(x) for x in e["loc"]) or "form": plain_validation_message(e) for e in exc.errors()}


def _filter_options(ctx: Ctx) -> dict:
    return {
        "stages": [("draft", "Draft Proposals"), ("modification", "Modification Proposals (open)"),
                   ("open", "All open"), ("closed", "Closed")] + [(s.value, s.label) for s in ProposalState],
        "paths": [("none", "No path yet")] + ProposalPath.choices(),
        "releases": [r.name for r in ctx.session.scalars(select(Release).order_by(Release.release_date))],
    }


@router.get("/proposals")
def proposals(request: Request, ctx: Ctx = Depends(get_ctx), q: str | None = None, stage: str | None = None,
              path: str | None = None, release: str | None = None, proposer: str | None = None,
              cursor: str | None = None) -> Response:
    f = service.ProposalFilters(q=q or None, stage=stage or None, path=path or None, release=release or None,
                                proposer=proposer or None)
    page = service.list_proposals(ctx.session, f, cursor, 50)
    context = {"page": page, "f": f, "State": ProposalState, "Path": ProposalPath, **_filter_options(ctx)}
    fragment = request.headers.get("hx-request") and not request.headers.get("hx-history-restore-request")
    response = render(request, "proposals_rows.html" if fragment else "proposals.html", context)
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/proposals/new")
def new_form(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "proposal_new.html", {"errors": {}, "form": {}, "orgs": _orgs(ctx)})


def _orgs(ctx: Ctx) -> list[str]:
    if not ctx.actor.has_role("code_administrator"):
        return []
    return list(ctx.session.scalars(select(Organisation.name).order_by(Organisation.name)))


@router.post("/proposals/new")
async def raise_draft(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = dict(await request.form())
    try:
        data = DraftProposalCreate(title=form.get("title", ""), problem_statement=form.get("problem_statement", ""),
                                   proposer_organisation=form.get("proposer_organisation") or None)
        p = service.raise_draft_proposal(ctx, data)
    except ValidationError as exc:
        return render(request, "proposal_new.html", {"errors": _errors(exc), "form": form, "orgs": _orgs(ctx)},
                      status_code=422)
    return RedirectResponse(f"/proposals/{p.reference}", status_code=303)


def _detail_context(ctx: Ctx, reference: str) -> dict:
    p = service.get_proposal(ctx.session, reference)
    allowed = service.allowed_steps(ctx, p)
    steps = [s for s in allowed if not s["internal"]]
    # the steps with their own form on this page (a consultation response, a Change Board vote), if yours
    own_form = {s["step"]: s for s in allowed if s["internal"] and s["you_may"]}
    result = service.current_tally(ctx, p) if p.change_board_round else None
    parties = []
    if "cast_vote" in own_form or "consultation_response" in own_form:  # the Parties the form may act for
        voted = {v.organisation_id for v in p.votes if v.round == p.change_board_round}
        parties = [o for o in ctx.session.scalars(select(Organisation).where(
            Organisation.kind == OrganisationKind.SEC_PARTY).order_by(Organisation.name))
            if o.id not in voted or p.state != ProposalState.CHANGE_BOARD]
    return {
        "p": p, "steps": steps, "tally": result, "parties": parties, "State": ProposalState, "Path": ProposalPath,
        "Route": Route, "Vote": Vote, "VotingCategory": VotingCategory, "step_label": rules.step_label,
        "releases": [r.name for r in ctx.session.scalars(select(Release).order_by(Release.release_date))],
        "round_votes": [v for v in p.votes if v.round == p.change_board_round],
        "can_vote_any": ctx.actor.has_role("code_administrator"),
        "respond": own_form.get("consultation_response"), "vote_step": own_form.get("cast_vote"),
        "my_vote": next((v for v in p.votes if v.round == p.change_board_round
                         and v.organisation_id == ctx.actor.organisation_id), None),
    }


@router.get("/proposals/{reference}")
def proposal(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "proposal.html", {**_detail_context(ctx, reference), "message": None, "error": None})


@router.post("/proposals/{reference}/steps")
async def step(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = dict(await request.form())
    try:
        data = StepCreate(
            step=form.get("step", ""), reason=form.get("reason", ""), reference=form.get("reference") or None,
            decided_on=date.fromisoformat(form["decided_on"]) if form.get("decided_on") else None,
            path=form.get("path") or None, route=form.get("route") or None, release=form.get("release") or None,
            mp_reference=form.get("mp_reference") or None, pa_status=form.get("pa_status") or None)
        p = service.take_step(ctx, reference, data)
    except (ValidationError, ValueError, AppError) as exc:
        return _detail_with_error(request, ctx, reference, exc)
    return RedirectResponse(f"/proposals/{p.reference}?done={form.get('step')}", status_code=303)


@router.post("/proposals/{reference}/votes")
async def vote(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = dict(await request.form())
    try:
        service.cast_vote(ctx, reference, VoteCreate(party=form.get("party") or None, vote=form.get("vote", "")))
    except (ValidationError, AppError) as exc:
        return _detail_with_error(request, ctx, reference, exc)
    return RedirectResponse(f"/proposals/{reference}#change-board", status_code=303)


@router.post("/proposals/{reference}/responses")
async def respond(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = dict(await request.form())
    supports = {"yes": True, "no": False}.get(str(form.get("supports", "")))
    try:
        service.record_response(ctx, reference, ResponseCreate(party=str(form.get("party") or "") or None,
                                                               supports=supports,
                                                               comments=str(form.get("comments", ""))))
    except (ValidationError, AppError) as exc:
        return _detail_with_error(request, ctx, reference, exc)
    return RedirectResponse(f"/proposals/{reference}?done=consultation_response", status_code=303)


def _detail_with_error(request: Request, ctx: Ctx, reference: str, exc: Exception) -> Response:
    ctx.session.rollback()
    if isinstance(exc, ValidationError):
        message, status = "; ".join(f"{k}: {v}" for k, v in _errors(exc).items()), 422
    elif isinstance(exc, AppError):
        message, status = exc.message, exc.status
        if status == 404:
            raise exc
    else:
        message, status = str(exc), 422
    return render(request, "proposal.html", {**_detail_context(ctx, reference), "message": None, "error": message},
                  status_code=status)


@router.get("/change-board/tally")
def tally_form(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "tally.html", {"rows": [], "result": None, "error": None, "Vote": Vote,
                                          "VotingCategory": VotingCategory})


@router.post("/change-board/tally")
async def tally_what_if(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await request.form()
    parties, cats, votes = form.getlist("party"), form.getlist("category"), form.getlist("vote")
    rows = [{"party": p.strip(), "category": c, "vote": v} for p, c, v in zip(parties, cats, votes, strict=False)
            if p.strip()]
    result, error = None, None
    try:
        result = tally([Ballot(**r) for r in rows], service.voting_rules(ctx))
    except VotingError as exc:
        error = str(exc)
    return render(request, "tally.html", {"rows": rows, "result": result, "error": error, "Vote": Vote,
                                          "VotingCategory": VotingCategory}, status_code=422 if error else 200)

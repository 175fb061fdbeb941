"""Portal pages for the change process: proposals, a proposal's timeline and steps, raising, voting, tally."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from gbsmart.change import rules, service
from gbsmart.change.enums import ProposalPath, ProposalState, Route, Vote, VotingCategory
from gbsmart.change.schemas import DraftProposalCreate, ResponseCreate, StepCreate, VoteCreate
from gbsmart.change.voting import Ballot, VotingError, tally
from gbsmart.core.context import Ctx
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.forms import FORM_FAILURES, parse, read_form, rerender
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

#: the Next steps form's optional fields: a blank one is "not given"
STEP_OPTIONS = ("reference", "decided_on", "path", "route", "release", "mp_reference", "pa_status")


def _filter_options(ctx: Ctx) -> dict:
    return {"stages": service.STAGE_CHOICES, "paths": service.PATH_CHOICES,
            "releases": service.release_names(ctx.session)}


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


def _new_context(ctx: Ctx) -> dict:
    return {"errors": {}, "form": {}, "error": None, "orgs": service.organisations_to_raise_for(ctx)}


@router.get("/proposals/new")
def new_form(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "proposal_new.html", _new_context(ctx))


@router.post("/proposals/new")
async def raise_draft(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    try:
        text = {"title": form.get("title", ""), "problem_statement": form.get("problem_statement", "")}
        p = service.raise_draft_proposal(ctx, parse(DraftProposalCreate, text,
                                                    proposer_organisation=form.get("proposer_organisation") or None))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "proposal_new.html", lambda: _new_context(ctx), form=form, prefix="")
    return RedirectResponse(f"/proposals/{p.reference}", status_code=303)


def _detail_context(ctx: Ctx, reference: str) -> dict:
    p = service.get_proposal(ctx.session, reference)
    allowed = service.allowed_steps(ctx, p)
    steps = [s for s in allowed if not s["internal"]]
    # the steps with their own form on this page (a consultation response, a Change Board vote), if yours
    own_form = {s["step"]: s for s in allowed if s["internal"] and s["you_may"]}
    result = service.current_tally(ctx, p) if p.change_board_round else None
    acting = "cast_vote" in own_form or "consultation_response" in own_form
    return {
        "p": p, "steps": steps, "tally": result, "State": ProposalState, "Path": ProposalPath,
        "parties": service.parties_to_act_for(ctx, p) if acting else [],  # the Parties the form may act for
        "Route": Route, "Vote": Vote, "VotingCategory": VotingCategory, "step_label": rules.step_label,
        "releases": service.release_names(ctx.session),
        "round_votes": [v for v in p.votes if v.round == p.change_board_round],
        "can_vote_any": ctx.actor.has_role(rules.CA),
        "respond": own_form.get("consultation_response"), "vote_step": own_form.get("cast_vote"),
        "my_vote": next((v for v in p.votes if v.round == p.change_board_round
                         and v.organisation_id == ctx.actor.organisation_id), None),
        "message": None, "error": None, "errors": {}, "form": {},
    }


@router.get("/proposals/{reference}")
def proposal(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "proposal.html", _detail_context(ctx, reference))


async def _act(request: Request, ctx: Ctx, reference: str, action: Callable[[dict[str, str]], str]) -> Response:
    """Run one of the proposal page's forms: ``action`` calls the service and says where to go next; a refusal shows
    the proposal page again with the service's message on top (in its own words) and its field messages."""
    form = await read_form(request)
    try:
        then = action(form)
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "proposal.html", lambda: _detail_context(ctx, reference), form=form,
                        prefix="")
    return RedirectResponse(then, status_code=303)


@router.post("/proposals/{reference}/steps")
async def step(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    def take(form: dict[str, str]) -> str:
        data = parse(StepCreate, {k: form.get(k) or None for k in STEP_OPTIONS},
                     step=form.get("step", ""), reason=form.get("reason", ""))
        p = service.take_step(ctx, reference, data)
        return f"/proposals/{p.reference}?done={data.step}"

    return await _act(request, ctx, reference, take)


@router.post("/proposals/{reference}/votes")
async def vote(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    def cast(form: dict[str, str]) -> str:
        service.cast_vote(ctx, reference, parse(VoteCreate, {"vote": form.get("vote", "")},
                                                party=form.get("party") or None))
        return f"/proposals/{reference}#change-board"

    return await _act(request, ctx, reference, cast)


@router.post("/proposals/{reference}/responses")
async def respond(request: Request, reference: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    def send(form: dict[str, str]) -> str:
        service.record_response(ctx, reference, parse(
            ResponseCreate, {"comments": form.get("comments", "")}, party=form.get("party") or None,
            supports={"yes": True, "no": False}.get(form.get("supports", ""))))
        return f"/proposals/{reference}?done=consultation_response"

    return await _act(request, ctx, reference, send)


@router.get("/change-board")
def change_board(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """The proposals at the Change Board, each with its tally so far and links to vote; the what-if calculator."""
    return render(request, "change_board.html", {"rows": service.at_change_board(ctx), "Path": ProposalPath,
                                                  "Vote": Vote, "State": ProposalState})


@router.get("/change-board/tally")
def tally_form(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "tally.html", {"rows": [], "result": None, "error": None, "Vote": Vote,
                                          "VotingCategory": VotingCategory})


@router.post("/change-board/tally")
async def tally_what_if(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await request.form()
    parties, cats, votes = ([str(x) for x in form.getlist(name)] for name in ("party", "category", "vote"))
    rows = [{"party": p.strip(), "category": c, "vote": v} for p, c, v in zip(parties, cats, votes, strict=False)
            if p.strip()]
    result, error = None, None
    try:
        result = tally([Ballot(**r) for r in rows], service.voting_rules(ctx))
    except VotingError as exc:
        error = str(exc)
    return render(request, "tally.html", {"rows": rows, "result": result, "error": error, "Vote": Vote,
                                          "VotingCategory": VotingCategory}, status_code=422 if error else 200)

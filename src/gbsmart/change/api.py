"""JSON API of the change process: /api/v1/proposals, /api/v1/change-board/tally."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from gbsmart.change import service
from gbsmart.change.enums import ProposalState
from gbsmart.change.schemas import (
    DocumentCreate,
    DocumentRead,
    DraftProposalCreate,
    ProposalPage,
    ProposalRead,
    ProposalSummary,
    ResponseCreate,
    ResponseRead,
    StepCreate,
    StepInfo,
    TallyRead,
    TallyRequest,
    VoteCreate,
    VoteRead,
)
from gbsmart.change.voting import Ballot, VotingError, tally
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.models.change import Proposal
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["change"])


def summary_of(p: Proposal) -> ProposalSummary:
    return ProposalSummary(
        reference=p.reference,
        dp_reference=p.dp_reference,
        title=p.title,
        state=p.state,
        state_label=ProposalState(p.state).label,
        path=p.path,
        proposer=p.proposer_name,
        date_raised=p.date_raised,
        release=p.release.name if p.release else None,
        release_status=p.release_status,
    )


#: ProposalRead fields read straight off the proposal
AS_STORED = ("problem_statement", "summary", "latest_progress", "route", "pa_status", "change_board_determination",
             "change_board_date", "authority_determination", "authority_date", "implementation_date", "source")


def read_of(ctx: Ctx, p: Proposal) -> ProposalRead:
    return ProposalRead(
        **summary_of(p).model_dump(),
        **{name: getattr(p, name) for name in AS_STORED},
        interests=[{"committee": i.committee, "noted_on": i.noted_on, "note": i.note, "source": i.source}
                   for i in p.interests],
        impacts=[{"group": i.group, "area": i.area} for i in p.impacts],
        timeline=p.events,
        documents=p.documents,
        allowed_steps=service.allowed_steps(ctx, p),
    )


@router.get("/proposals", response_model=ProposalPage, summary="List proposals (keyset-paged)")
def list_proposals(
    ctx: Ctx = Depends(get_ctx),
    q: str | None = Query(None, description="Search reference, title and summary"),
    stage: str | None = Query(None, description="draft, modification, open, closed, or a state"),
    path: str | None = Query(None, description="path_1, path_2, path_3, fast_track, urgent or none"),
    release: str | None = Query(None, description="A SEC Release name"),
    proposer: str | None = Query(None, description="Part of the proposer's name"),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> ProposalPage:
    f = service.ProposalFilters(q=q, stage=stage, path=path, release=release, proposer=proposer)
    page = service.list_proposals(ctx.session, f, cursor, limit)
    return ProposalPage(items=[summary_of(p) for p in page.items], next_cursor=page.next_cursor)


@router.post("/proposals", response_model=ProposalRead, status_code=201, summary="Raise a Draft Proposal")
def raise_draft(data: DraftProposalCreate, response: Response, ctx: Ctx = Depends(get_ctx)) -> ProposalRead:
    p = service.raise_draft_proposal(ctx, data)
    response.headers["Location"] = f"/api/v1/proposals/{p.reference}"
    return read_of(ctx, p)


@router.get("/proposals/{reference}", response_model=ProposalRead, summary="A proposal with its timeline")
def get_proposal(reference: str, ctx: Ctx = Depends(get_ctx)) -> ProposalRead:
    return read_of(ctx, service.get_proposal(ctx.session, reference))


@router.get("/proposals/{reference}/steps", response_model=list[StepInfo], summary="Steps allowed from here")
def steps(reference: str, ctx: Ctx = Depends(get_ctx)) -> list[StepInfo]:
    p = service.get_proposal(ctx.session, reference)
    return [StepInfo(**{k: v for k, v in s.items() if k != "internal"}) for s in service.allowed_steps(ctx, p)]


@router.post("/proposals/{reference}/steps", response_model=ProposalRead, summary="Take a step of the process")
def take_step(reference: str, data: StepCreate, ctx: Ctx = Depends(get_ctx)) -> ProposalRead:
    return read_of(ctx, service.take_step(ctx, reference, data))


@router.get("/proposals/{reference}/votes", response_model=list[VoteRead], summary="Change Board votes")
def votes(reference: str, ctx: Ctx = Depends(get_ctx)) -> list[VoteRead]:
    p = service.get_proposal(ctx.session, reference)
    return [VoteRead(party=v.organisation.name, category=v.category, vote=v.vote, round=v.round, at=v.at)
            for v in p.votes]


@router.post("/proposals/{reference}/votes", response_model=VoteRead, status_code=201,
             summary="Cast a Party's Change Board vote")
def cast_vote(reference: str, data: VoteCreate, ctx: Ctx = Depends(get_ctx)) -> VoteRead:
    v = service.cast_vote(ctx, reference, data)
    return VoteRead(party=v.organisation.name, category=v.category, vote=v.vote, round=v.round, at=v.at)


@router.get("/proposals/{reference}/tally", response_model=TallyRead, summary="The current Change Board tally")
def current_tally(reference: str, ctx: Ctx = Depends(get_ctx)) -> dict:
    p = service.get_proposal(ctx.session, reference)
    return service.current_tally(ctx, p).as_dict()


@router.post("/proposals/{reference}/responses", response_model=ResponseRead, status_code=201,
             summary="Respond to an open consultation")
def respond(reference: str, data: ResponseCreate, ctx: Ctx = Depends(get_ctx)) -> ResponseRead:
    r = service.record_response(ctx, reference, data)
    return ResponseRead(party=r.organisation.name, consultation=r.consultation, round=r.round, supports=r.supports,
                        comments=r.comments, at=r.at)


@router.post("/proposals/{reference}/documents", response_model=DocumentRead, status_code=201,
             summary="Attach a document (report, assessment, minute)")
def add_document(reference: str, data: DocumentCreate, ctx: Ctx = Depends(get_ctx)) -> DocumentRead:
    return service.add_document(ctx, reference, data)


@router.post("/change-board/tally", response_model=TallyRead, summary="What-if Change Board tally (SECMP0041)")
def what_if_tally(data: TallyRequest, ctx: Ctx = Depends(get_ctx)) -> dict:
    ballots = [Ballot(party=v.party, category=v.category.value, vote=v.vote.value) for v in data.votes]
    try:
        return tally(ballots, service.voting_rules(ctx)).as_dict()
    except VotingError as exc:
        raise Invalid(str(exc), detail=[{"field": f"body.{exc.field}", "message": str(exc)}]) from exc

"""Use cases of the change process: raise, step, vote, respond, document, list. Takes a Ctx; never commits."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from gbsmart.change import rules
from gbsmart.change.enums import (
    PARTY_TO_VOTING_CATEGORY,
    Consultation,
    ProposalPath,
    ProposalState,
    Route,
)
from gbsmart.change.errors import StepNotAllowed
from gbsmart.change.schemas import (
    DocumentCreate,
    DraftProposalCreate,
    ReleaseCreate,
    ResponseCreate,
    StepCreate,
    VoteCreate,
)
from gbsmart.change.voting import Ballot, TallyResult, VotingRules, tally
from gbsmart.core.audit import record_change, snapshot
from gbsmart.core.context import Ctx
from gbsmart.core.db import insert_or_conflict
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.core.pagination import Page, decode_cursor, encode_cursor
from gbsmart.models.change import (
    ChangeBoardVote,
    ConsultationResponse,
    Proposal,
    ProposalDocument,
    ProposalEvent,
    Release,
)
from gbsmart.models.parties import Organisation
from gbsmart.parties.enums import OrganisationKind
from gbsmart.parties.service import organisation_by_name

AUDITED = (
    "reference", "dp_reference", "title", "state", "path", "route", "release_id", "release_status",
    "change_board_determination", "change_board_date", "authority_determination", "authority_date",
    "implementation_date", "pa_status",
)  # fmt: skip


# ---------------------------------------------------------------- look-ups


def get_proposal(session: Session, reference: str) -> Proposal:
    """A proposal by its current reference or the Draft Proposal reference it started as."""
    ref = reference.strip().upper()
    found = session.scalar(select(Proposal).where(or_(Proposal.reference == ref, Proposal.dp_reference == ref)))
    if found is None:
        raise NotFound(f"No proposal {reference!r}. References look like DP094, MP102 or SECMP0041.")
    return found


def find_release(session: Session, name: str) -> Release:
    rel = session.scalar(select(Release).where(func.lower(Release.name) == name.strip().lower()))
    if rel is None:
        raise NotFound(f"No SEC Release called {name!r}; see GET /api/v1/releases for the list.")
    return rel


def release_names(session: Session) -> list[str]:
    """Every SEC Release's name, in release order: the choices a form offers."""
    return list(session.scalars(select(Release.name).order_by(Release.release_date, Release.name)))


def add_release(ctx: Ctx, data: ReleaseCreate) -> Release:
    """The Code Administrator adds a SEC Release; only a future one, since only a future one can take a change."""
    if not ctx.actor.has_role(rules.CA):
        raise Forbidden("Only the Code Administrator may add a SEC Release.")
    today = ctx.clock.today()
    if data.release_date < today:
        raise Invalid(f"A new SEC Release must go live today or later, not on {data.release_date:%d %b %Y}.",
                      detail=[{"field": "release_date", "message": f"on or after {today:%d %b %Y}"}])
    taken = Conflict(f"There is already a SEC Release called {data.name!r}.")
    if ctx.session.scalar(select(Release.id).where(func.lower(Release.name) == data.name.lower())):
        raise taken
    release = Release(name=data.name, release_date=data.release_date, kind=data.kind, source="added in gbsmart")
    insert_or_conflict(ctx.session, release, taken)
    record_change(ctx, "release.add", "release", release.name, None,
                  snapshot(release, "name", "release_date", "kind"))
    return release


def is_proposer(ctx: Ctx, proposal: Proposal) -> bool:
    a = ctx.actor
    if a.person_id is not None and proposal.raised_by_id == a.person_id:
        return True
    return a.organisation_id is not None and proposal.proposer_org_id == a.organisation_id


def allowed_steps(ctx: Ctx, proposal: Proposal) -> list[dict]:
    """The steps open from the proposal's state, each saying who may take it and whether the caller may."""
    state = ProposalState(proposal.state)
    mine = is_proposer(ctx, proposal)
    return [
        {
            "step": s.name,
            "label": s.label,
            "actors": rules.describe_actors(s),
            "requires": list(s.requires),
            "fields": list(s.fields),
            "you_may": rules.actor_may(s, ctx.actor.roles, mine),
            "help": s.help,
            "internal": s.internal,
        }
        for s in rules.steps_from(state)
    ]


# ---------------------------------------------------------------- raising


def _next_number(session: Session, prefix: str) -> int:
    refs = [*session.scalars(
        select(Proposal.reference).where(Proposal.reference.like(f"{prefix}%"))
    ).all(), *session.scalars(select(Proposal.dp_reference).where(Proposal.dp_reference.like(f"{prefix}%"))).all()]
    numbers = [int(m.group(1)) for r in refs if r and (m := re.fullmatch(rf"{prefix}(\d+)", r))]
    return max(numbers, default=0) + 1


def _add_event(
    ctx: Ctx,
    proposal: Proposal,
    step: str,
    from_state: str | None,
    *,
    reason: str = "",
    reference: str | None = None,
    decided_on: date | None = None,
    data: dict | None = None,
) -> ProposalEvent:
    seq = len(proposal.events) + 1
    event = ProposalEvent(
        seq=seq,
        step=step,
        from_state=from_state,
        to_state=proposal.state,
        actor_id=ctx.actor.person_id,
        actor_name=ctx.actor.name,
        at=ctx.clock.now(),
        decided_on=decided_on or ctx.clock.today(),
        reason=reason,
        reference=reference,
        data=data,
    )
    proposal.events.append(event)
    proposal.updated_at = ctx.clock.now()
    return event


def organisations_to_raise_for(ctx: Ctx) -> list[str]:
    """The organisations a Draft Proposal may be raised on behalf of: any, for the Code Administrator; else none."""
    if not ctx.actor.has_role(rules.CA):
        return []
    return list(ctx.session.scalars(select(Organisation.name).order_by(Organisation.name)))


def raise_draft_proposal(ctx: Ctx, data: DraftProposalCreate) -> Proposal:
    """Anyone may raise a Draft Proposal with a problem statement (SEC Section D; DOMAIN.md section 2)."""
    s = ctx.session
    org: Organisation | None
    if data.proposer_organisation:
        if not ctx.actor.has_role(rules.CA):
            raise Forbidden("Only the Code Administrator may raise a Draft Proposal on behalf of another body.")
        org = organisation_by_name(s, data.proposer_organisation)
    else:
        org = s.get(Organisation, ctx.actor.organisation_id) if ctx.actor.organisation_id else None
    number = _next_number(s, "DP")
    ref = f"DP{number:03d}"
    now = ctx.clock.now()
    p = Proposal(
        reference=ref,
        dp_reference=ref,
        title=data.title,
        state=ProposalState.DEVELOPMENT,
        proposer_org_id=org.id if org else None,
        proposer_name=org.name if org else ctx.actor.name,
        raised_by_id=ctx.actor.person_id,
        date_raised=data.date_raised or ctx.clock.today(),
        problem_statement=data.problem_statement,
        summary=data.problem_statement[:500],
        latest_progress="Draft Proposal raised; in the Development Stage.",
        created_at=now,
        updated_at=now,
        source="raised in gbsmart",
    )
    insert_or_conflict(s, p, Conflict(f"Another Draft Proposal took {ref} at the same time; nothing was saved, "
                                      "raise it again."))
    _add_event(ctx, p, "raise_draft", None, reason="Draft Proposal raised.")
    record_change(ctx, "proposal.raise", "proposal", p.reference, None, snapshot(p, *AUDITED))
    return p


# ---------------------------------------------------------------- steps


def _refuse(proposal: Proposal, step_name: str, ctx: Ctx) -> StepNotAllowed:
    state = ProposalState(proposal.state)
    options = allowed_steps(ctx, proposal)
    listed = "; ".join(f"{o['label']} ({o['step']}: {o['actors']})" for o in options) or "none: the proposal is closed"
    return StepNotAllowed(
        f"'{step_name}' is not allowed while {proposal.reference} is at '{state.label}'. "
        f"Steps allowed from here: {listed}.",
        detail={"state": state.value, "allowed": [o["step"] for o in options]},
    )


def take_step(ctx: Ctx, reference: str, data: StepCreate) -> Proposal:
    """Take one step of the process, if the table allows it from here and the caller is its actor."""
    s = ctx.session
    p = get_proposal(s, reference)
    step = rules.STEPS.get(data.step)
    state = ProposalState(p.state)
    if step is None or state not in step.from_states:
        raise _refuse(p, data.step, ctx)
    if step.internal:
        raise Conflict(
            f"'{step.name}' has its own endpoint: use POST /api/v1/proposals/{p.reference}/{step.endpoint}.",
            detail={"state": state.value},
        )
    if not rules.actor_may(step, ctx.actor.roles, is_proposer(ctx, p)):
        raise Forbidden(f"Only the {rules.describe_actors(step)} may take '{step.name}' ({step.label}).")
    before = snapshot(p, *AUDITED)

    if "route" in step.requires and data.route is None:
        raise Invalid("This step needs a route.", detail=[{"field": "route", "message": "refinement or report_phase"}])
    if "path" in step.requires and data.path is None:
        raise Invalid("This step needs a path.", detail=[{"field": "path", "message": "path_1, path_2, path_3, "
                                                                                        "fast_track or urgent"}])
    if "release" in step.requires and not (data.release or p.release_id):
        raise Invalid("This step needs a SEC Release.", detail=[{"field": "release", "message": "a release name"}])

    release = find_release(s, data.release) if data.release and "release" in step.requires else None
    implementing = step.effect == "implement"
    target = release or (p.release if implementing else None)
    decided_on = data.decided_on or ctx.clock.today()
    if implementing:
        assert target is not None  # "release" is required by the step: checked above
        decided_on = data.decided_on or target.release_date
    problems = rules.date_problems(step, raised=p.date_raised, decided_on=decided_on,
                                   release_name=target.name if target else None,
                                   release_date=target.release_date if target else None)
    if problems:
        raise Invalid(f"'{step.name}' ({step.label}) refused: " + "; ".join(x["message"] for x in problems) + ".",
                      detail=problems)

    run = StepRun(ctx, p, step, data, release, decided_on)
    new_state = EFFECTS[step.effect](run) or step.to_state or state
    from_state = p.state
    p.state = new_state.value
    if p.release_id is not None:
        p.release_status = rules.release_status(new_state)
    p.latest_progress = _progress_text(step, p, data, decided_on)
    _add_event(ctx, p, step.name, from_state, reason=data.reason, reference=data.reference,
               decided_on=decided_on, data=run.extra or None)
    s.flush()
    record_change(ctx, f"proposal.{step.name}", "proposal", p.reference, before, snapshot(p, *AUDITED))
    return p


# ---------------------------------------------------------------- what each step writes (rules.EFFECTS)


@dataclass
class StepRun:
    """One step being taken: what its effect handler reads, and ``extra``, what it adds to the timeline entry."""

    ctx: Ctx
    proposal: Proposal
    step: rules.Step
    data: StepCreate
    release: Release | None  # the SEC Release the request named, if the step takes one
    decided_on: date
    extra: dict = field(default_factory=dict)


def _no_effect(run: StepRun) -> None:
    return None


def _record_route(run: StepRun) -> None:
    assert run.data.route is not None  # the step requires a route: checked before
    run.proposal.route = run.extra["route"] = run.data.route.value


def _convert(run: StepRun) -> None:
    s, p = run.ctx.session, run.proposal
    mp_ref = run.data.mp_reference or _mp_reference_for(s, p)
    if s.scalar(select(Proposal.id).where(Proposal.reference == mp_ref, Proposal.id != p.id)):
        raise Conflict(f"{mp_ref} is already in use; give another mp_reference.")
    p.reference = run.extra["mp_reference"] = mp_ref


def _set_path(run: StepRun) -> ProposalState:
    p, path = run.proposal, run.data.path
    assert path is not None  # the step requires a path: checked before
    route = run.data.route or (Route(p.route) if p.route else None)
    p.path = path.value
    if route and path != ProposalPath.FAST_TRACK:
        p.route = route.value
    run.extra.update(path=path.value, route=p.route)
    return rules.after_path(path, route)


def _preliminary_assessment(run: StepRun) -> None:
    if run.data.pa_status:
        run.proposal.pa_status = run.extra["pa_status"] = run.data.pa_status


def _next_consultation_round(run: StepRun) -> None:
    run.proposal.consultation_round += 1


def _next_change_board_round(run: StepRun) -> None:
    run.proposal.change_board_round += 1
    run.extra["round"] = run.proposal.change_board_round


def _change_board_result(run: StepRun) -> ProposalState:
    p = run.proposal
    result = current_tally(run.ctx, p)
    run.extra["tally"] = result.as_dict()
    if result.valid:
        p.change_board_determination = "Approved" if result.outcome == "approve" else "Rejected"
        p.change_board_date = run.decided_on
    else:
        p.change_board_determination = None
    return rules.after_change_board(ProposalPath(p.path or "path_3"), result.valid, result.outcome)


def _authority_determination(run: StepRun) -> None:
    run.proposal.authority_determination = run.step.determination
    run.proposal.authority_date = run.decided_on


def _target_release(run: StepRun) -> None:
    p = run.proposal
    rel = run.release or p.release
    assert rel is not None  # the step requires a release: checked before
    p.release_id, p.release = rel.id, rel
    run.extra["release"] = rel.name


def _implement(run: StepRun) -> None:
    p = run.proposal
    if run.release:
        p.release_id, p.release = run.release.id, run.release
    assert p.release is not None  # the step requires a release: checked before
    p.implementation_date = run.decided_on
    run.extra["release"] = p.release.name


#: one handler per ``rules.EFFECTS`` key; a handler may return the next state where the step's data decides it
EFFECTS: Mapping[str, Callable[[StepRun], ProposalState | None]] = {
    "none": _no_effect,
    "route": _record_route,
    "convert": _convert,
    "path": _set_path,
    "preliminary_assessment": _preliminary_assessment,
    "consultation_round": _next_consultation_round,
    "change_board_round": _next_change_board_round,
    "change_board_result": _change_board_result,
    "authority_determination": _authority_determination,
    "target_release": _target_release,
    "implement": _implement,
}


def _mp_reference_for(session: Session, p: Proposal) -> str:
    if p.dp_reference and (m := re.fullmatch(r"DP(\d+)", p.dp_reference)):
        candidate = f"MP{int(m.group(1)):03d}"
        if session.scalar(select(Proposal.id).where(Proposal.reference == candidate)) is None:
            return candidate
    return f"MP{_next_number(session, 'MP'):03d}"


def _progress_text(step: rules.Step, p: Proposal, data: StepCreate, on: date) -> str:
    text = f"{on:%d %b %Y}: {step.label}"
    if data.reason:
        text += f". {data.reason}"
    if data.reference:
        text += f" ({data.reference})"
    return text


# ---------------------------------------------------------------- Change Board


def parties_to_act_for(ctx: Ctx, p: Proposal) -> list[Organisation]:
    """The SEC Parties a vote or a response on ``p`` may be recorded for: those without a vote in this round."""
    voted = {v.organisation_id for v in p.votes if v.round == p.change_board_round}
    parties = ctx.session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.SEC_PARTY)
                                  .order_by(Organisation.name))
    return [o for o in parties if o.id not in voted or p.state != ProposalState.CHANGE_BOARD]


@dataclass
class AtChangeBoard:
    """A proposal whose Change Board vote is open, with the tally so far and the caller's own Party's vote."""

    proposal: Proposal
    tally: TallyResult
    votes_cast: int
    my_vote: str | None


def at_change_board(ctx: Ctx) -> list[AtChangeBoard]:
    """The proposals at the Change Board now, in reference order (SECMP0041 voting, seed 004)."""
    stmt = (select(Proposal).where(Proposal.state == ProposalState.CHANGE_BOARD).order_by(Proposal.reference)
            .options(selectinload(Proposal.votes)))
    rows = []
    for p in ctx.session.scalars(stmt):
        votes = [v for v in p.votes if v.round == p.change_board_round]
        mine = next((v.vote for v in votes if v.organisation_id == ctx.actor.organisation_id), None)
        rows.append(AtChangeBoard(p, current_tally(ctx, p), len(votes), mine))
    return rows


def voting_rules(ctx: Ctx) -> VotingRules:
    return VotingRules.from_settings(ctx.settings)


def current_tally(ctx: Ctx, p: Proposal) -> TallyResult:
    votes = [v for v in p.votes if v.round == p.change_board_round]
    ballots = [Ballot(party=str(v.organisation_id), category=v.category, vote=v.vote) for v in votes]
    return tally(ballots, voting_rules(ctx))


def _vote_of(s: Session, p: Proposal, org: Organisation) -> ChangeBoardVote | None:
    return s.scalar(select(ChangeBoardVote).where(ChangeBoardVote.proposal_id == p.id,
                                                  ChangeBoardVote.round == p.change_board_round,
                                                  ChangeBoardVote.organisation_id == org.id))


def _already_voted(p: Proposal, org: Organisation, existing: ChangeBoardVote | None) -> Conflict:
    cast = f" ({existing.vote})" if existing is not None else ""
    return Conflict(f"{org.name} has already voted{cast} on {p.reference}; one vote per Party.",
                    detail={"party": org.name, "vote": existing.vote if existing is not None else None})


def cast_vote(ctx: Ctx, reference: str, data: VoteCreate) -> ChangeBoardVote:
    """One vote per Party per Change Board round (SECMP0041, seed 004); a second vote is refused (409)."""
    s = ctx.session
    p = get_proposal(s, reference)
    if p.state != ProposalState.CHANGE_BOARD:
        raise _refuse(p, "cast_vote", ctx)
    if data.party:
        org = organisation_by_name(s, data.party)
        own = ctx.actor.organisation_id == org.id
        if not own and not ctx.actor.has_role(rules.CA):
            raise Forbidden("You may vote only for your own Party; the Code Administrator may record others' votes.")
    else:
        if ctx.actor.organisation_id is None:
            raise Invalid("Say which Party is voting.", detail=[{"field": "party", "message": "required"}])
        org = s.get_one(Organisation, ctx.actor.organisation_id)
    if not ctx.actor.has_role(rules.PARTY, rules.CA):
        raise Forbidden("Only a SEC Party user (or the Code Administrator on a Party's behalf) may vote.")
    if org.kind != OrganisationKind.SEC_PARTY or not org.party_category:
        raise Invalid(f"{org.name} is not a voting SEC Party.", detail=[{"field": "party", "message": "not a Party"}])
    category = PARTY_TO_VOTING_CATEGORY[org.party_category]
    if category.value not in voting_rules(ctx).categories:
        raise Invalid(f"{org.name}'s category {category.label} does not vote under the configured rules.")
    if (existing := _vote_of(s, p, org)) is not None:
        raise _already_voted(p, org, existing)
    vote = ChangeBoardVote(
        proposal_id=p.id, round=p.change_board_round, organisation_id=org.id, category=category.value,
        vote=data.vote.value, cast_by_id=ctx.actor.person_id, at=ctx.clock.now(), comment=data.comment,
    )
    # a vote cast by another request meanwhile is refused by the unique constraint: the same 409
    insert_or_conflict(s, vote, lambda: _already_voted(p, org, _vote_of(s, p, org)))
    s.expire(p, ["votes"])
    record_change(ctx, "proposal.vote", "proposal", p.reference, None,
                  {"party": org.name, "category": category.value, "vote": data.vote.value,
                   "round": p.change_board_round})
    return vote


# ---------------------------------------------------------------- consultations and documents


def record_response(ctx: Ctx, reference: str, data: ResponseCreate) -> ConsultationResponse:
    s = ctx.session
    p = get_proposal(s, reference)
    consultation = {
        ProposalState.REFINEMENT_CONSULTATION: Consultation.REFINEMENT,
        ProposalState.MR_CONSULTATION: Consultation.MODIFICATION_REPORT,
    }.get(ProposalState(p.state))
    if consultation is None:
        raise _refuse(p, "consultation_response", ctx)
    if data.party:
        org = organisation_by_name(s, data.party)
        if org.id != ctx.actor.organisation_id and not ctx.actor.has_role(rules.CA):
            raise Forbidden("You may respond only for your own organisation.")
    elif ctx.actor.organisation_id is None:
        raise Invalid("Say which Party is responding.", detail=[{"field": "party", "message": "required"}])
    else:
        org = s.get_one(Organisation, ctx.actor.organisation_id)
    dup = s.scalar(
        select(ConsultationResponse.id).where(
            ConsultationResponse.proposal_id == p.id,
            ConsultationResponse.consultation == consultation.value,
            ConsultationResponse.round == p.consultation_round,
            ConsultationResponse.organisation_id == org.id,
        )
    )
    already = Conflict(f"{org.name} has already responded to this {consultation.label}.")
    if dup:
        raise already
    resp = ConsultationResponse(
        proposal_id=p.id, consultation=consultation.value, round=p.consultation_round, organisation_id=org.id,
        respondent_id=ctx.actor.person_id, supports=data.supports, comments=data.comments, at=ctx.clock.now(),
    )
    insert_or_conflict(s, resp, already)
    s.expire(p, ["responses"])
    record_change(ctx, "proposal.response", "proposal", p.reference, None,
                  {"party": org.name, "consultation": consultation.value, "supports": data.supports})
    return resp


def add_document(ctx: Ctx, reference: str, data: DocumentCreate) -> ProposalDocument:
    if not ctx.actor.has_role(rules.CA, rules.DCC, rules.PANEL):
        raise Forbidden("Only the Code Administrator, the Panel or the DCC may add documents to a proposal.")
    p = get_proposal(ctx.session, reference)
    doc = ProposalDocument(kind=data.kind, title=data.title, body=data.body, added_by_id=ctx.actor.person_id,
                           added_at=ctx.clock.now())
    p.documents.append(doc)
    ctx.session.flush()
    record_change(ctx, "proposal.document", "proposal", p.reference, None, {"kind": data.kind, "title": data.title})
    return doc


def implement_due(ctx: Ctx) -> list[Proposal]:
    """Mark approved modifications Implemented once their release date has come (the release job)."""
    s = ctx.session
    today = ctx.clock.today()
    due = s.scalars(
        select(Proposal).join(Release).where(Proposal.state == ProposalState.APPROVED, Release.release_date <= today)
    ).all()
    done = []
    for p in due:
        assert p.release is not None  # joined to its Release
        done.append(take_step(ctx, p.reference, StepCreate(step="implement", reason=f"Released in {p.release.name}.",
                                                           decided_on=p.release.release_date)))
    return done


# ---------------------------------------------------------------- listing


@dataclass
class ProposalFilters:
    q: str | None = None
    stage: str | None = None  # "draft" / "modification" / "closed" or a ProposalState value
    path: str | None = None
    release: str | None = None
    proposer: str | None = None


STAGE_GROUPS = {
    "draft": [s.value for s in ProposalState if s.is_draft],
    "open": [s.value for s in ProposalState if not s.is_closed],
    "modification": [s.value for s in ProposalState if not s.is_draft and not s.is_closed],
    "closed": [s.value for s in ProposalState if s.is_closed],
}

#: the stage filter's choices, as lists and the Register offer them: the groups, then every state
STAGE_CHOICES = [("draft", "Draft Proposals"), ("modification", "Modification Proposals (open)"), ("open", "All open"),
                 ("closed", "Closed"), *ProposalState.choices()]
PATH_CHOICES = [("none", "No path yet"), *ProposalPath.choices()]


def _filtered(f: ProposalFilters) -> Select[Proposal]:
    stmt = select(Proposal).options(selectinload(Proposal.release))
    if f.q:
        like = f"%{f.q.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(Proposal.title).like(like), func.lower(Proposal.reference).like(like),
                              func.lower(Proposal.dp_reference).like(like), func.lower(Proposal.summary).like(like)))
    if f.stage:
        if f.stage in STAGE_GROUPS:
            stmt = stmt.where(Proposal.state.in_(STAGE_GROUPS[f.stage]))
        else:
            try:
                stmt = stmt.where(Proposal.state == ProposalState(f.stage).value)
            except ValueError as exc:
                allowed = ", ".join([*STAGE_GROUPS, *(s.value for s in ProposalState)])
                raise Invalid(f"Unknown stage {f.stage!r}.", detail=[{"field": "stage", "message": allowed}]) from exc
    if f.path:
        if f.path == "none":
            stmt = stmt.where(Proposal.path.is_(None))
        else:
            try:
                stmt = stmt.where(Proposal.path == ProposalPath(f.path).value)
            except ValueError as exc:
                raise Invalid(f"Unknown path {f.path!r}.", detail=[{"field": "path", "message": ", ".join(
                    p.value for p in ProposalPath)}]) from exc
    if f.release:
        stmt = stmt.join(Release, Proposal.release_id == Release.id).where(
            func.lower(Release.name) == f.release.strip().lower())
    if f.proposer:
        stmt = stmt.where(func.lower(Proposal.proposer_name).like(f"%{f.proposer.strip().lower()}%"))
    return stmt


def list_proposals(session: Session, f: ProposalFilters, cursor: str | None = None, limit: int = 50) -> Page[Proposal]:
    """Proposals in reference order, paged by key."""
    limit = max(1, min(limit, 500))
    stmt = _filtered(f)
    after = decode_cursor(cursor)
    if after:
        stmt = stmt.where(Proposal.reference > str(after[0]))
    rows = session.scalars(stmt.order_by(Proposal.reference).limit(limit + 1)).all()
    next_cursor = encode_cursor([rows[limit - 1].reference]) if len(rows) > limit else None
    return Page(items=list(rows[:limit]), next_cursor=next_cursor)


def count_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(select(Proposal.state, func.count()).group_by(Proposal.state)).all()
    return {state: n for state, n in rows}


def dashboard(ctx: Ctx) -> dict:
    counts = count_by_state(ctx.session)
    recent = ctx.session.scalars(select(ProposalEvent).order_by(ProposalEvent.at.desc(), ProposalEvent.id.desc())
                                 .limit(10).options(selectinload(ProposalEvent.proposal))).all()
    states = [(ProposalState(s), counts.get(s.value, 0)) for s in ProposalState]
    return {"states": states, "total": sum(counts.values()), "recent": recent, "State": ProposalState,
            "step_label": rules.step_label}

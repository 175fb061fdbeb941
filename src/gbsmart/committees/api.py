"""JSON API of committees: /committees, /meetings/{committee}/{ref}, /actions (mounted under /api/v1).

Everyone signed in may read; the Code Administrator or the committee's chair or secretary may write
(approval of minutes: its secretary or the Code Administrator). Action references go in the path
URL-encoded (``CSC%2011%2F01``) or with dashes (``CSC-11-01``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from gbsmart.committees import actions as action_service
from gbsmart.committees import rules, service, views
from gbsmart.committees.schemas import (
    ActionCreate,
    ActionRead,
    ActionUpdateCreate,
    AgendaItemCreate,
    AgendaItemRead,
    ApologyCreate,
    AttendeeCreate,
    CommitteeCreate,
    CommitteeRead,
    CommitteeSummary,
    CommitteeUpdate,
    DecisionRead,
    MeetingCreate,
    MeetingRead,
    MeetingSummary,
    MeetingUpdate,
    MemberCreate,
    MemberRead,
    MinuteDecisionCreate,
)
from gbsmart.core.context import Ctx
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["committees"])


# ---------------------------------------------------------------- committees


@router.get("/committees", response_model=list[CommitteeSummary], summary="The Panel and its sub-committees")
def list_committees(ctx: Ctx = Depends(get_ctx)) -> list[CommitteeSummary]:
    today = ctx.clock.today()
    return [views.committee_summary(c, today) for c in service.list_committees(ctx.session)]


@router.post("/committees", response_model=CommitteeRead, status_code=201, summary="Set up a committee")
def create_committee(data: CommitteeCreate, response: Response, ctx: Ctx = Depends(get_ctx)) -> CommitteeRead:
    c = service.create_committee(ctx, data)
    response.headers["Location"] = f"/api/v1/committees/{rules.slug(c.code)}"
    return views.committee_read(c, ctx.clock.today())


@router.get("/committees/{code}", response_model=CommitteeRead, summary="A committee, its members and meetings")
def get_committee(code: str, ctx: Ctx = Depends(get_ctx)) -> CommitteeRead:
    return views.committee_read(service.get_committee(ctx.session, code), ctx.clock.today())


@router.patch("/committees/{code}", response_model=CommitteeRead, summary="Change a committee's quorum or role")
def update_committee(code: str, data: CommitteeUpdate, ctx: Ctx = Depends(get_ctx)) -> CommitteeRead:
    return views.committee_read(service.update_committee(ctx, code, data), ctx.clock.today())


@router.post("/committees/{code}/members", response_model=MemberRead, status_code=201, summary="Add a member")
def add_member(code: str, data: MemberCreate, ctx: Ctx = Depends(get_ctx)) -> MemberRead:
    return views.member_read(service.add_member(ctx, code, data), ctx.clock.today())


@router.get("/committees/{code}/meetings", response_model=list[MeetingSummary], summary="A committee's meetings")
def list_meetings(code: str, ctx: Ctx = Depends(get_ctx)) -> list[MeetingSummary]:
    return [views.meeting_summary(m) for m in service.list_meetings(ctx.session, code)]


@router.post("/committees/{code}/meetings", response_model=MeetingRead, status_code=201,
             summary="Arrange a meeting")
def create_meeting(code: str, data: MeetingCreate, response: Response, ctx: Ctx = Depends(get_ctx)) -> MeetingRead:
    m = service.create_meeting(ctx, code, data)
    response.headers["Location"] = f"/api/v1{views.meeting_url(m)}"
    return views.meeting_read(ctx, m)


# ---------------------------------------------------------------- meetings and minutes


@router.get("/meetings/{committee}/{ref}", response_model=MeetingRead,
            summary="A meeting: attendees, quorum, agenda, decisions, actions outstanding and raised")
def get_meeting(committee: str, ref: str, ctx: Ctx = Depends(get_ctx)) -> MeetingRead:
    return views.meeting_read(ctx, service.get_meeting(ctx.session, committee, ref))


@router.patch("/meetings/{committee}/{ref}", response_model=MeetingRead, summary="Change time, venue or status")
def update_meeting(committee: str, ref: str, data: MeetingUpdate, ctx: Ctx = Depends(get_ctx)) -> MeetingRead:
    m = service.update_meeting(ctx, service.get_meeting(ctx.session, committee, ref), data)
    return views.meeting_read(ctx, m)


@router.post("/meetings/{committee}/{ref}/attendees", response_model=MeetingRead, status_code=201,
             summary="Minute an attendee")
def add_attendee(committee: str, ref: str, data: AttendeeCreate, ctx: Ctx = Depends(get_ctx)) -> MeetingRead:
    m = service.get_meeting(ctx.session, committee, ref)
    service.add_attendee(ctx, m, data)
    return views.meeting_read(ctx, m)


@router.post("/meetings/{committee}/{ref}/apologies", response_model=MeetingRead, status_code=201,
             summary="Minute apologies")
def add_apology(committee: str, ref: str, data: ApologyCreate, ctx: Ctx = Depends(get_ctx)) -> MeetingRead:
    m = service.get_meeting(ctx.session, committee, ref)
    service.add_apology(ctx, m, data)
    return views.meeting_read(ctx, m)


@router.post("/meetings/{committee}/{ref}/agenda-items", response_model=AgendaItemRead, status_code=201,
             summary="Minute an agenda item, with its decisions")
def add_agenda_item(committee: str, ref: str, data: AgendaItemCreate, ctx: Ctx = Depends(get_ctx)) -> AgendaItemRead:
    m = service.get_meeting(ctx.session, committee, ref)
    item = service.add_agenda_item(ctx, m, data)
    return views.agenda_item_read(item, m.committee.code, views.cited_papers(ctx, [item]))


@router.post("/meetings/{committee}/{ref}/decisions", response_model=DecisionRead, status_code=201,
             summary="Minute a decision; one acting on a proposal takes its change-process step")
def record_decision(committee: str, ref: str, data: MinuteDecisionCreate, ctx: Ctx = Depends(get_ctx)) -> DecisionRead:
    m = service.get_meeting(ctx.session, committee, ref)
    return views.decision_read(service.record_decision(ctx, m, data), m.committee.code)


@router.post("/meetings/{committee}/{ref}/approve", response_model=MeetingRead, summary="Approve the minutes")
def approve_minutes(committee: str, ref: str, ctx: Ctx = Depends(get_ctx)) -> MeetingRead:
    m = service.approve_minutes(ctx, service.get_meeting(ctx.session, committee, ref))
    return views.meeting_read(ctx, m)


# ---------------------------------------------------------------- actions


@router.get("/actions", response_model=list[ActionRead], summary="Actions, by committee and status")
def list_actions(
    ctx: Ctx = Depends(get_ctx),
    committee: str | None = Query(None, description="A committee code, e.g. CSC"),
    status: str | None = Query(None, description="open or closed"),
    overdue: bool = Query(False, description="Only open actions past their due date"),
) -> list[ActionRead]:
    today = ctx.clock.today()
    if overdue:
        found = [a for a in action_service.overdue(ctx, committee) if not status or a.status == status.lower()]
    else:
        found = action_service.list_actions(ctx.session, committee, status)
    return [views.action_read(a, today) for a in found]


@router.post("/actions", response_model=ActionRead, status_code=201, summary="Raise an action at a meeting")
def raise_action(data: ActionCreate, response: Response, ctx: Ctx = Depends(get_ctx)) -> ActionRead:
    a = action_service.raise_action(ctx, data)
    response.headers["Location"] = f"/api/v1/actions/{a.reference.replace(' ', '-').replace('/', '-')}"
    return views.action_read(a, ctx.clock.today())


@router.get("/actions/overdue", response_model=list[ActionRead], summary="Open actions past their due date")
def overdue_actions(ctx: Ctx = Depends(get_ctx), committee: str | None = None) -> list[ActionRead]:
    today = ctx.clock.today()
    return [views.action_read(a, today) for a in action_service.overdue(ctx, committee)]


@router.get("/actions/{ref:path}", response_model=ActionRead, summary="An action and its updates")
def get_action(ref: str, ctx: Ctx = Depends(get_ctx)) -> ActionRead:
    return views.action_read(action_service.get_action(ctx.session, ref), ctx.clock.today())


@router.post("/actions/{ref:path}/updates", response_model=ActionRead, status_code=201,
             summary="Record progress on an action (and open or close it)")
def add_update(ref: str, data: ActionUpdateCreate, ctx: Ctx = Depends(get_ctx)) -> ActionRead:
    update = action_service.record_update(ctx, ref, data)
    return views.action_read(update.action, ctx.clock.today())

"""Read models of committees, meetings and actions, built from the tables for the API, pages and CLI."""

from __future__ import annotations

from datetime import date

from gbsmart.committees import actions as action_service
from gbsmart.committees import rules, service
from gbsmart.committees.enums import DecisionWord
from gbsmart.committees.schemas import (
    ActionRead,
    ActionUpdateRead,
    AgendaItemRead,
    ApologyRead,
    AttendeeRead,
    CommitteeRead,
    CommitteeSummary,
    DecisionRead,
    MeetingRead,
    MeetingSummary,
    MemberRead,
    QuorumRead,
)
from gbsmart.core.context import Ctx
from gbsmart.models.committees import Action, AgendaItem, Committee, CommitteeMember, Decision, Meeting
from gbsmart.models.papers import Paper
from gbsmart.papers import service as paper_service


def meeting_url(m: Meeting) -> str:
    return f"/meetings/{rules.slug(m.committee.code)}/{m.reference}"


def committee_summary(c: Committee, today: date) -> CommitteeSummary:
    chair, secretary = service.chair_of(c, today), service.secretary_of(c, today)
    return CommitteeSummary(code=c.code, slug=rules.slug(c.code), name=c.name, kind=c.kind, quorum=c.quorum,
                            member_count=service.member_count(c, today),
                            chair=chair.person.full_name if chair else None,
                            secretary=secretary.person.full_name if secretary else None,
                            meeting_count=len(c.meetings))


def member_read(m: CommitteeMember, today: date) -> MemberRead:
    return MemberRead(id=m.id, person=m.person.full_name, username=m.person.username, represents=m.represents,
                      party_category=m.party_category, organisation=m.organisation.name if m.organisation else None,
                      alternate_for=m.alternate_for.person.full_name if m.alternate_for else None,
                      is_chair=m.is_chair, is_secretary=m.is_secretary, from_date=m.from_date, to_date=m.to_date,
                      current=m.current_on(today))


def meeting_summary(m: Meeting) -> MeetingSummary:
    return MeetingSummary(committee=m.committee.code, reference=m.reference, number=m.number,
                          meeting_date=m.meeting_date, start_time=m.start_time, end_time=m.end_time, venue=m.venue,
                          status=m.status, minutes_status=m.minutes_status, url=meeting_url(m))


def committee_read(c: Committee, today: date) -> CommitteeRead:
    return CommitteeRead(**committee_summary(c, today).model_dump(), description=c.description,
                         process_role=c.process_role, source=c.source,
                         members=[member_read(m, today) for m in c.members],
                         meetings=[meeting_summary(m) for m in c.meetings])


def action_read(a: Action, today: date) -> ActionRead:
    return ActionRead(
        reference=a.reference, committee=a.committee.code, meeting_number=a.meeting_number,
        meeting=a.meeting.reference if a.meeting else None, agenda_item=a.agenda_item.key if a.agenda_item else None,
        owner=a.owner, owner_organisation=a.owner_organisation.name if a.owner_organisation else None,
        owner_person=a.owner_person.full_name if a.owner_person else None, text=a.text, due_date=a.due_date,
        status=a.status, overdue=rules.is_overdue(a.status, a.due_date, today), raised_on=a.raised_on,
        closed_on=a.closed_on,
        updates=[ActionUpdateRead(meeting=u.meeting.reference if u.meeting else None, text=u.text,
                                  status_after=u.status_after, recorded_on=u.recorded_on, by=u.by_name)
                 for u in a.updates])


def decision_read(d: Decision, committee_code: str) -> DecisionRead:
    return DecisionRead(word=d.word, text=d.text,
                        sentence=rules.decision_sentence(committee_code, DecisionWord(d.word), d.text),
                        proposal=service.decision_proposal_ref(d), step=d.step, route=d.route,
                        proposal_event_seq=d.proposal_event.seq if d.proposal_event else None,
                        recorded_only=d.recorded_only)


def cited_papers(ctx: Ctx, items: list[AgendaItem]) -> dict[int, Paper]:
    """The papers the items cite that exist for the caller: an agenda shows no other (Panel Information Policy)."""
    return paper_service.visible_by_id(ctx, [i.paper_id for i in items])


def agenda_item_read(i: AgendaItem, committee_code: str, papers: dict[int, Paper]) -> AgendaItemRead:
    """The item, citing its paper only when it is in ``papers`` (``cited_papers``)."""
    paper = papers.get(i.paper_id) if i.paper_id is not None else None
    return AgendaItemRead(key=i.key, number=i.number, sub=i.sub, title=i.title, discussion=i.discussion,
                          paper_id=paper.id if paper else None, paper_reference=paper.reference if paper else None,
                          paper_title=paper.title if paper else None,
                          proposals=[p.dp_reference or p.reference for p in i.proposals],
                          decisions=[decision_read(d, committee_code) for d in i.decisions],
                          actions=[a.reference for a in i.actions])


def meeting_read(ctx: Ctx, m: Meeting) -> MeetingRead:
    today = ctx.clock.today()
    q = service.quorum_of(m)
    nxt = service.next_meeting(ctx.session, m)
    papers = cited_papers(ctx, m.agenda_items)
    return MeetingRead(
        **meeting_summary(m).model_dump(), committee_name=m.committee.name,
        attendees=[AttendeeRead(name=a.name, username=a.person.username if a.person else None,
                                representing=a.representing, party_category=a.party_category, role=a.role,
                                teleconference=a.teleconference) for a in m.attendees],
        apologies=[ApologyRead(name=a.name, username=a.person.username if a.person else None,
                               representing=a.representing) for a in m.apologies],
        quorum=QuorumRead(present=q.present, required=q.required, quorate=q.quorate, description=q.describe()),
        quorate=q.quorate,
        agenda=[agenda_item_read(i, m.committee.code, papers) for i in m.agenda_items],
        outstanding_actions=[action_read(a, today) for a in action_service.outstanding_at(ctx.session, m)],
        actions_raised=[action_read(a, today) for a in action_service.raised_at(ctx.session, m)],
        next_meeting=meeting_summary(nxt) if nxt else None,
        minutes_approved_at=m.minutes_approved_at, minutes_approved_by=m.minutes_approved_by_name, source=m.source,
    )

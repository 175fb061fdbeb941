"""Use cases of committees and minutes: committees, members, meetings, attendance, agenda, decisions, approval.

Takes a Ctx; never commits (the boundary owns the transaction). Every change is audited in the same
transaction. A decision that acts on a proposal takes the change-process step through
``gbsmart.change.service.take_step`` first, so a refusal leaves nothing behind. Actions: ``actions.py``.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gbsmart.change import rules as change_rules
from gbsmart.change import service as change_service
from gbsmart.change.enums import ProposalState
from gbsmart.change.schemas import StepCreate
from gbsmart.committees import rules
from gbsmart.committees.enums import AttendeeRole, DecisionWord, MeetingStatus, MinutesStatus
from gbsmart.committees.schemas import (
    AgendaItemCreate,
    ApologyCreate,
    AttendeeCreate,
    CommitteeCreate,
    CommitteeUpdate,
    DecisionCreate,
    MeetingCreate,
    MeetingUpdate,
    MemberCreate,
    MinuteDecisionCreate,
)
from gbsmart.core.audit import record_change, snapshot
from gbsmart.core.context import Ctx
from gbsmart.core.db import insert_or_conflict
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.models.change import Proposal
from gbsmart.models.committees import (
    AgendaItem,
    Committee,
    CommitteeMember,
    Decision,
    Meeting,
    MeetingApology,
    MeetingAttendee,
)
from gbsmart.models.parties import Person
from gbsmart.papers import service as paper_service
from gbsmart.parties.service import organisation_by_name

CA = "code_administrator"
MEETING_AUDITED = ("reference", "meeting_date", "start_time", "end_time", "venue", "status", "minutes_status")


def meeting_snapshot(m: Meeting) -> dict:
    """The audited fields of a meeting, JSON-ready."""
    return snapshot(m, *MEETING_AUDITED)


def invalid(message: str, field: str) -> Invalid:
    return Invalid(message, detail=[{"field": field, "message": message}])


# ---------------------------------------------------------------- look-ups


def get_committee(session: Session, code: str) -> Committee:
    """A committee by its code, any case, dashes for spaces (``smki-pma``)."""
    key = rules.normalise_code(code)
    found = session.scalar(select(Committee).where(func.upper(Committee.code) == key))
    if found is None:
        known = ", ".join(session.scalars(select(Committee.code).order_by(Committee.code))) or "none yet"
        raise NotFound(f"No committee {code!r}. Committees: {known}.")
    return found


def find_person(session: Session, who: str) -> Person:
    """A person by username, else by full name (any case)."""
    key = who.strip()
    person = session.scalar(select(Person).where(Person.username == key))
    if person is None:
        person = session.scalar(
            select(Person).where(func.lower(Person.full_name) == key.lower()).order_by(Person.id)
        )
    if person is None:
        raise NotFound(f"No person {who!r}: give a username (e.g. louise.evans) or a full name.")
    return person


def get_meeting(session: Session, committee_code: str, reference: str) -> Meeting:
    """A meeting by committee and reference (``11_2801``) or meeting number (``11``)."""
    committee = get_committee(session, committee_code)
    ref = reference.strip()
    cond = Meeting.number == int(ref) if ref.isdigit() else Meeting.reference == ref
    found = session.scalar(select(Meeting).where(Meeting.committee_id == committee.id, cond))
    if found is None:
        raise NotFound(f"No {committee.code} meeting {reference!r}. References look like 11_2801 (number_DDMM).")
    return found


def get_agenda_item(meeting: Meeting, key: str) -> AgendaItem:
    try:
        number, sub = rules.parse_item_key(key)
    except rules.RuleError as exc:
        raise invalid(str(exc), exc.field) from exc
    for item in meeting.agenda_items:
        if item.number == number and item.sub == sub:
            return item
    raise NotFound(f"{minute_reference(meeting)} has no agenda item {key}.")


def minute_reference(meeting: Meeting) -> str:
    """``CSC 11_2801``: how the change process cites the meeting."""
    return f"{meeting.committee.code} {meeting.reference}"


# ---------------------------------------------------------------- who may do what


def seat_of(ctx: Ctx, committee: Committee) -> CommitteeMember | None:
    """The caller's current seat on the committee, if any (chair or secretary seats first)."""
    if ctx.actor.person_id is None:
        return None
    today = ctx.clock.today()
    seats = [m for m in committee.members if m.person_id == ctx.actor.person_id and m.current_on(today)]
    seats.sort(key=lambda m: (not m.is_secretary, not m.is_chair))
    return seats[0] if seats else None


def can_write(ctx: Ctx, committee: Committee) -> bool:
    """The Code Administrator, or the committee's chair or secretary."""
    if ctx.actor.has_role(CA, "system"):
        return True
    seat = seat_of(ctx, committee)
    return seat is not None and (seat.is_chair or seat.is_secretary)


def can_approve(ctx: Ctx, committee: Committee) -> bool:
    """The Code Administrator or the committee's secretary approves minutes."""
    if ctx.actor.has_role(CA, "system"):
        return True
    seat = seat_of(ctx, committee)
    return seat is not None and seat.is_secretary


def require_writer(ctx: Ctx, committee: Committee, what: str) -> None:
    if not can_write(ctx, committee):
        raise Forbidden(f"Only the Code Administrator or the {committee.code}'s chair or secretary may {what}.")


def require_draft(meeting: Meeting) -> None:
    """Approved minutes are read-only (409)."""
    if meeting.minutes_status == MinutesStatus.APPROVED:
        on = f" on {meeting.minutes_approved_at:%d %b %Y}" if meeting.minutes_approved_at else ""
        raise Conflict(
            f"The minutes of {minute_reference(meeting)} were approved{on}; approved minutes are read-only.",
            detail={"minutes_status": meeting.minutes_status},
        )


# ---------------------------------------------------------------- committees


def list_committees(session: Session) -> list[Committee]:
    return list(session.scalars(select(Committee).order_by(Committee.kind.desc(), Committee.code)))


def current_members(committee: Committee, today: date) -> list[CommitteeMember]:
    return [m for m in committee.members if m.current_on(today)]


def member_count(committee: Committee, today: date) -> int:
    """Current members, not counting a secretary who holds no other seat."""
    return sum(1 for m in current_members(committee, today) if not (m.is_secretary and not m.is_chair))


def chair_of(committee: Committee, today: date) -> CommitteeMember | None:
    return next((m for m in current_members(committee, today) if m.is_chair), None)


def secretary_of(committee: Committee, today: date) -> CommitteeMember | None:
    return next((m for m in current_members(committee, today) if m.is_secretary), None)


def create_committee(ctx: Ctx, data: CommitteeCreate) -> Committee:
    if not ctx.actor.has_role(CA, "system"):
        raise Forbidden("Only the Code Administrator may set up a committee.")
    s = ctx.session
    code = " ".join(data.code.split())
    clash = s.scalar(select(Committee.id).where(or_(func.upper(Committee.code) == rules.normalise_code(code),
                                                     func.lower(Committee.name) == data.name.lower())))
    exists = Conflict(f"A committee with code {code!r} or name {data.name!r} already exists.")
    if clash:
        raise exists
    org = organisation_by_name(s, data.organisation) if data.organisation else None
    c = Committee(code=code, name=data.name, kind=data.kind.value, quorum=data.quorum, process_role=data.process_role,
                  organisation_id=org.id if org else None, description=data.description, source="gbsmart",
                  created_at=ctx.clock.now())
    insert_or_conflict(s, c, exists)
    record_change(ctx, "committee.create", "committee", c.code, None,
                  snapshot(c, "code", "name", "kind", "quorum", "process_role"))
    return c


def update_committee(ctx: Ctx, code: str, data: CommitteeUpdate) -> Committee:
    """Change the name, description, process role or the [configurable] quorum (Code Administrator)."""
    c = get_committee(ctx.session, code)
    if not ctx.actor.has_role(CA, "system"):
        raise Forbidden("Only the Code Administrator may change a committee's set-up (quorum, role).")
    fields = ("name", "quorum", "process_role", "description")
    before = snapshot(c, *fields)
    for f, v in data.model_dump(exclude_unset=True).items():
        if v is not None or f == "process_role":
            setattr(c, f, v)
    ctx.session.flush()
    record_change(ctx, "committee.update", "committee", c.code, before, snapshot(c, *fields))
    return c


def add_member(ctx: Ctx, code: str, data: MemberCreate) -> CommitteeMember:
    s = ctx.session
    c = get_committee(s, code)
    require_writer(ctx, c, "change its membership")
    person = find_person(s, data.person)
    org = organisation_by_name(s, data.organisation) if data.organisation else None
    alt_for = None
    if data.alternate_for:
        principal = find_person(s, data.alternate_for)
        alt_for = next((m for m in c.members if m.person_id == principal.id), None)
        if alt_for is None:
            raise invalid(f"{principal.full_name} is not a member of the {c.code}.", "alternate_for")
    m = CommitteeMember(person_id=person.id, represents=data.represents,
                        party_category=data.party_category.value if data.party_category else None,
                        organisation_id=org.id if org else None, alternate_for_id=alt_for.id if alt_for else None,
                        is_chair=data.is_chair, is_secretary=data.is_secretary, from_date=data.from_date,
                        to_date=data.to_date, source="gbsmart")
    c.members.append(m)
    s.flush()
    record_change(ctx, "committee.member_add", "committee", c.code, None,
                  {"person": person.username, "represents": m.represents, "is_chair": m.is_chair,
                   "is_secretary": m.is_secretary, "alternate_for": alt_for.person.username if alt_for else None,
                   "from_date": m.from_date, "to_date": m.to_date})
    return m


# ---------------------------------------------------------------- meetings


def list_meetings(session: Session, code: str) -> list[Meeting]:
    c = get_committee(session, code)
    return list(session.scalars(select(Meeting).where(Meeting.committee_id == c.id).order_by(Meeting.meeting_date)))


def proposals_to_minute(session: Session) -> list[Proposal]:
    """The proposals a decision may cite: those not closed, by reference."""
    closed = [st.value for st in ProposalState if st.is_closed]
    return list(session.scalars(select(Proposal).where(Proposal.state.not_in(closed)).order_by(Proposal.reference)))


def create_meeting(ctx: Ctx, code: str, data: MeetingCreate) -> Meeting:
    s = ctx.session
    c = get_committee(s, code)
    require_writer(ctx, c, "arrange its meetings")
    number = data.number or rules.next_sequence(
        s.scalars(select(Meeting.number).where(Meeting.committee_id == c.id)).all())
    reference = rules.meeting_reference(number, data.meeting_date)
    clash = s.scalar(select(Meeting).where(Meeting.committee_id == c.id,
                                           or_(Meeting.number == number, Meeting.reference == reference)))
    if clash is not None:
        raise Conflict(f"The {c.code} already has meeting {clash.reference} (number {clash.number}).")
    now = ctx.clock.now()
    m = Meeting(committee_id=c.id, number=number, reference=reference, meeting_date=data.meeting_date,
                start_time=data.start_time, end_time=data.end_time, venue=data.venue, status=data.status.value,
                minutes_status=MinutesStatus.DRAFT.value, source="gbsmart", created_at=now, updated_at=now)
    insert_or_conflict(s, m, Conflict(f"The {c.code} already has meeting {reference} or number {number}; "
                                      "another was arranged at the same time."))
    s.expire(c, ["meetings"])
    record_change(ctx, "meeting.create", "meeting", minute_reference(m), None, meeting_snapshot(m))
    return m


def update_meeting(ctx: Ctx, meeting: Meeting, data: MeetingUpdate) -> Meeting:
    require_writer(ctx, meeting.committee, "change its meetings")
    require_draft(meeting)
    before = meeting_snapshot(meeting)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    for f, v in changes.items():
        setattr(meeting, f, v.value if f == "status" else v)
    if meeting.start_time and meeting.end_time and meeting.end_time <= meeting.start_time:
        raise invalid("end_time must be after start_time", "end_time")
    meeting.updated_at = ctx.clock.now()
    ctx.session.flush()
    record_change(ctx, "meeting.update", "meeting", minute_reference(meeting), before,
                  meeting_snapshot(meeting))
    return meeting


def _person_to_minute(ctx: Ctx, meeting: Meeting, person_key: str | None, name: str | None,
                      minuted: list[MeetingAttendee] | list[MeetingApology], already: str) -> tuple[Person | None, str]:
    """The person named (if any) and the name to minute for them at a draft meeting the actor may minute; a name
    ``minuted`` already holds is a 409 saying ``already`` (with ``{name}`` and ``{meeting}`` filled in)."""
    require_writer(ctx, meeting.committee, "minute its meetings")
    require_draft(meeting)
    person = find_person(ctx.session, person_key) if person_key else None
    name = name or person.full_name  # type: ignore[union-attr]  # the schema asks for a person if no name
    if any(m.name.lower() == name.lower() for m in minuted):
        raise Conflict(already.format(name=name, meeting=minute_reference(meeting)))
    return person, name


def _minuted(ctx: Ctx, meeting: Meeting, action: str, after: dict) -> None:
    meeting.updated_at = ctx.clock.now()
    ctx.session.flush()
    record_change(ctx, action, "meeting", minute_reference(meeting), None, after)


def add_attendee(ctx: Ctx, meeting: Meeting, data: AttendeeCreate) -> MeetingAttendee:
    person, name = _person_to_minute(ctx, meeting, data.person, data.name, meeting.attendees,
                                     "{name} is already minuted as attending {meeting}.")
    a = MeetingAttendee(position=len(meeting.attendees) + 1, person_id=person.id if person else None, name=name,
                        representing=data.representing,
                        party_category=data.party_category.value if data.party_category else None,
                        role=data.role.value, teleconference=data.teleconference)
    meeting.attendees.append(a)
    _minuted(ctx, meeting, "meeting.attendee_add", {"name": a.name, "representing": a.representing, "role": a.role,
                                                    "teleconference": a.teleconference})
    return a


def add_apology(ctx: Ctx, meeting: Meeting, data: ApologyCreate) -> MeetingApology:
    person, name = _person_to_minute(ctx, meeting, data.person, data.name, meeting.apologies,
                                     "{name}'s apologies are already minuted for {meeting}.")
    a = MeetingApology(position=len(meeting.apologies) + 1, person_id=person.id if person else None, name=name,
                       representing=data.representing)
    meeting.apologies.append(a)
    _minuted(ctx, meeting, "meeting.apology_add", {"name": a.name, "representing": a.representing})
    return a


def quorum_of(meeting: Meeting) -> rules.QuorumCheck:
    """Members present against the committee's [configurable] quorum."""
    return rules.quorum_check((a.role for a in meeting.attendees), meeting.committee.quorum)


def next_meeting(session: Session, meeting: Meeting) -> Meeting | None:
    return session.scalar(select(Meeting).where(Meeting.committee_id == meeting.committee_id,
                                                Meeting.meeting_date > meeting.meeting_date)
                          .order_by(Meeting.meeting_date).limit(1))


def approve_minutes(ctx: Ctx, meeting: Meeting) -> Meeting:
    """The committee's secretary (or the Code Administrator) approves the draft minutes; then they are read-only."""
    c = meeting.committee
    if not can_approve(ctx, c):
        raise Forbidden(f"Only the {c.code}'s secretary or the Code Administrator may approve its minutes.")
    require_draft(meeting)
    before = meeting_snapshot(meeting)
    meeting.minutes_status = MinutesStatus.APPROVED.value
    meeting.minutes_approved_at = ctx.clock.now()
    meeting.minutes_approved_by_id = ctx.actor.person_id
    meeting.minutes_approved_by_name = ctx.actor.name
    if meeting.status == MeetingStatus.SCHEDULED:
        meeting.status = MeetingStatus.HELD.value
    meeting.updated_at = ctx.clock.now()
    ctx.session.flush()
    record_change(ctx, "meeting.minutes_approve", "meeting", minute_reference(meeting), before,
                  meeting_snapshot(meeting))
    return meeting


# ---------------------------------------------------------------- agenda and decisions


def _link_proposal(item: AgendaItem, proposal: Proposal) -> None:
    if all(p.id != proposal.id for p in item.proposals):
        item.proposals.append(proposal)


def _check_paper(ctx: Ctx, paper_id: int) -> None:
    """The paper an agenda item cites must exist for the person minuting (Panel Information Policy: one they
    may not see is answered exactly as one that does not exist)."""
    if paper_id not in paper_service.visible_by_id(ctx, [paper_id]):
        raise invalid(f"paper_id: there is no paper {paper_id}; give the id of a paper on the Papers page.",
                      "paper_id")


def add_agenda_item(ctx: Ctx, meeting: Meeting, data: AgendaItemCreate) -> AgendaItem:
    """An agenda item (or a heading within one) with its discussion, linked proposals and decisions.

    Its decisions are recorded in the same transaction: if the change process refuses one, the error
    propagates and the boundary rolls the whole item back.
    """
    s = ctx.session
    require_writer(ctx, meeting.committee, "minute its meetings")
    require_draft(meeting)
    if data.number is None:
        number = rules.next_sequence(i.number for i in meeting.agenda_items) if data.sub == 0 else None
        if number is None:
            raise invalid("Give the item number this heading sits within.", "number")
    else:
        number = data.number
    key = f"{number}.{data.sub}" if data.sub else str(number)
    already = Conflict(f"{minute_reference(meeting)} already has agenda item {key}.")
    if any(i.number == number and i.sub == data.sub for i in meeting.agenda_items):
        raise already
    proposals = [change_service.get_proposal(s, ref) for ref in data.proposals]
    if data.paper_id is not None:
        _check_paper(ctx, data.paper_id)
    item = AgendaItem(meeting_id=meeting.id, number=number, sub=data.sub, title=data.title,
                      discussion=data.discussion, paper_id=data.paper_id)
    for p in proposals:
        _link_proposal(item, p)
    meeting.updated_at = ctx.clock.now()
    insert_or_conflict(s, item, already)
    s.expire(meeting, ["agenda_items"])
    record_change(ctx, "meeting.agenda_item_add", "meeting", minute_reference(meeting), None,
                  {"item": item.key, "title": item.title, "proposals": [p.reference for p in proposals],
                   "paper_id": item.paper_id})
    for d in data.decisions:
        _decide(ctx, meeting, item, d)
    return item


def record_decision(ctx: Ctx, meeting: Meeting, data: MinuteDecisionCreate) -> Decision:
    """Minute a decision under an agenda item; if it acts on a proposal, take that step of the process first."""
    item = get_agenda_item(meeting, data.agenda_item)
    return _decide(ctx, meeting, item, DecisionCreate(**data.model_dump(exclude={"agenda_item"})))


def _acting_for(ctx: Ctx, committee: Committee) -> Ctx:
    """The committee decides: the recorder acts with the committee's role in the change process (data)."""
    roles = set(ctx.actor.roles)
    if committee.process_role:
        roles.add(committee.process_role)
    actor = dataclasses.replace(ctx.actor, name=f"{committee.code} (recorded by {ctx.actor.name})",
                                roles=frozenset(roles))
    return dataclasses.replace(ctx, actor=actor)


def _resolve_step(data: DecisionCreate, proposal: Proposal | None) -> tuple[str | None, str | None]:
    """The step and route a decision takes, checked against the wording rules and the process table."""
    word = DecisionWord(data.word)
    step = None
    if data.take_step:
        step = data.step or (rules.infer_step(word, data.text) if proposal is not None else None)
    try:
        rules.check_decision(word, step, proposal is not None)
    except rules.RuleError as exc:
        raise invalid(str(exc), exc.field) from exc
    if step is None:
        return None, data.route.value if data.route else None
    known = change_rules.STEPS.get(step)
    if known is None or known.internal:
        allowed = ", ".join(s.name for s in change_rules.PROCESS if not s.internal)
        raise invalid(f"Unknown change-process step {step!r}; steps: {allowed}.", "step")
    route = data.route or rules.infer_route(data.text)
    if "route" in known.requires and route is None:
        raise invalid(f"'{step}' needs a route: refinement or report_phase.", "route")
    return step, route.value if route else None


def _decide(ctx: Ctx, meeting: Meeting, item: AgendaItem, data: DecisionCreate) -> Decision:
    s = ctx.session
    c = meeting.committee
    require_writer(ctx, c, "minute its decisions")
    require_draft(meeting)
    proposal = change_service.get_proposal(s, data.proposal) if data.proposal else None
    step, route = _resolve_step(data, proposal)
    word = DecisionWord(data.word)
    sentence = rules.decision_sentence(c.code, word, data.text)
    event = None
    if step is not None and proposal is not None:
        # the process decides first: a refusal (409 StepNotAllowed, 403, 422) leaves nothing of this decision
        proposal = change_service.take_step(_acting_for(ctx, c), proposal.reference, StepCreate(
            step=step, reason=sentence, reference=minute_reference(meeting), decided_on=meeting.meeting_date,
            route=route))
        event = proposal.events[-1]
    decision = Decision(position=len(item.decisions) + 1, word=word.value, text=data.text,
                        proposal_id=proposal.id if proposal else None, step=step, route=route,
                        proposal_event_id=event.id if event else None, recorded_only=False,
                        created_at=ctx.clock.now(), created_by_id=ctx.actor.person_id,
                        created_by_name=ctx.actor.name)
    item.decisions.append(decision)
    if proposal is not None:
        _link_proposal(item, proposal)
    meeting.updated_at = ctx.clock.now()
    s.flush()
    record_change(ctx, "meeting.decision", "meeting", minute_reference(meeting), None,
                  {"item": item.key, "word": word.value, "text": data.text,
                   "proposal": proposal.reference if proposal else None, "step": step, "route": route,
                   "proposal_event_seq": event.seq if event else None})
    return decision


def decision_proposal_ref(decision: Decision) -> str | None:
    """The proposal as the minutes name it: its Draft Proposal reference if it started as one."""
    p = decision.proposal
    return (p.dp_reference or p.reference) if p else None


def attendee_groups(meeting: Meeting) -> tuple[list[MeetingAttendee], list[MeetingAttendee]]:
    """Members (Chair, members, alternates) and the other participants, as the minutes list them."""
    members = [a for a in meeting.attendees if AttendeeRole(a.role).counts_for_quorum]
    others = [a for a in meeting.attendees if not AttendeeRole(a.role).counts_for_quorum]
    return members, others

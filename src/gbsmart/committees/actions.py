"""Use cases of committee actions: raise (``CSC 11/01``), update at a meeting, carry forward, list the overdue.

An action stays outstanding, and appears under each later meeting's "Actions Outstanding", until an
update closes it (DOMAIN.md section 3; seed 001, CSC 10/01). Overdue: open with a due date before the
clock's today. Takes a Ctx; never commits.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from gbsmart.committees import rules
from gbsmart.committees.enums import ActionStatus
from gbsmart.committees.schemas import ActionCreate, ActionUpdateCreate
from gbsmart.committees.service import (
    find_person,
    get_agenda_item,
    get_committee,
    get_meeting,
    invalid,
    minute_reference,
    require_draft,
    require_writer,
)
from gbsmart.core.audit import record_change, snapshot
from gbsmart.core.context import Ctx
from gbsmart.core.errors import NotFound
from gbsmart.models.committees import Action, ActionUpdate, Committee, Meeting
from gbsmart.parties.service import organisation_by_name

AUDITED = ("reference", "owner", "text", "due_date", "status", "closed_on")


def get_action(session: Session, reference: str) -> Action:
    """An action by ``CSC 11/01`` or ``CSC-11-01``."""
    try:
        code, number, seq = rules.parse_action_reference(reference)
    except rules.RuleError as exc:
        raise NotFound(str(exc)) from exc
    committee = get_committee(session, code)
    found = session.scalar(select(Action).where(Action.committee_id == committee.id,
                                                Action.meeting_number == number, Action.sequence == seq))
    if found is None:
        raise NotFound(f"No action {rules.action_reference(committee.code, number, seq)}.")
    return found


def raise_action(ctx: Ctx, data: ActionCreate) -> Action:
    """Raise an action at a meeting; its reference is the committee, the meeting number and the next sequence."""
    s = ctx.session
    meeting = get_meeting(s, data.committee, data.meeting)
    return raise_action_at(ctx, meeting, data)


def raise_action_at(ctx: Ctx, meeting: Meeting, data: ActionCreate) -> Action:
    s = ctx.session
    c = meeting.committee
    require_writer(ctx, c, "raise actions")
    require_draft(meeting)
    item = get_agenda_item(meeting, data.agenda_item) if data.agenda_item else None
    org = organisation_by_name(s, data.owner_organisation) if data.owner_organisation else None
    person = find_person(s, data.owner_person) if data.owner_person else None
    if data.due_date is not None and data.due_date < meeting.meeting_date:
        raise invalid("The due date is before the meeting that raised the action.", "due_date")
    seq = rules.next_sequence(s.scalars(select(Action.sequence).where(
        Action.committee_id == c.id, Action.meeting_number == meeting.number)).all())
    action = Action(reference=rules.action_reference(c.code, meeting.number, seq), committee_id=c.id,
                    meeting_number=meeting.number, sequence=seq, meeting_id=meeting.id,
                    agenda_item_id=item.id if item else None, owner=data.owner,
                    owner_organisation_id=org.id if org else None, owner_person_id=person.id if person else None,
                    text=data.text, due_date=data.due_date, status=ActionStatus.OPEN.value,
                    raised_on=meeting.meeting_date, source="gbsmart", created_at=ctx.clock.now())
    s.add(action)
    s.flush()
    record_change(ctx, "action.raise", "action", action.reference, None, snapshot(action, *AUDITED))
    return action


def record_update(ctx: Ctx, reference: str, data: ActionUpdateCreate) -> ActionUpdate:
    """Progress on an action, given at a meeting (whose minutes must still be draft) or between meetings."""
    s = ctx.session
    action = get_action(s, reference)
    c = action.committee
    require_writer(ctx, c, "record progress on its actions")
    meeting = None
    if data.meeting:
        meeting = get_meeting(s, c.code, data.meeting)
        require_draft(meeting)
        if meeting.number < action.meeting_number:
            raise invalid(f"{action.reference} was raised after meeting {meeting.reference}.", "meeting")
    on = data.recorded_on or (meeting.meeting_date if meeting else ctx.clock.today())
    before = snapshot(action, *AUDITED)
    update = ActionUpdate(meeting_id=meeting.id if meeting else None, text=data.text, status_after=data.status.value,
                          recorded_on=on, at=ctx.clock.now(), by_id=ctx.actor.person_id, by_name=ctx.actor.name)
    action.updates.append(update)
    action.status = data.status.value
    action.closed_on = on if data.status == ActionStatus.CLOSED else None
    s.flush()
    record_change(ctx, "action.update", "action", action.reference, before,
                  {**snapshot(action, *AUDITED), "update": data.text,
                   "meeting": minute_reference(meeting) if meeting else None})
    return update


def _ordered(stmt: Select[Action]) -> Select[Action]:
    return stmt.join(Committee, Action.committee_id == Committee.id).options(
        selectinload(Action.updates), selectinload(Action.committee)
    ).order_by(Committee.code, Action.meeting_number, Action.sequence)


def outstanding_at(session: Session, meeting: Meeting) -> list[Action]:
    """The committee's actions raised at earlier meetings and still open when this one met."""
    candidates = session.scalars(_ordered(select(Action).where(
        Action.committee_id == meeting.committee_id, Action.meeting_number < meeting.number))).all()
    return [a for a in candidates
            if rules.is_outstanding_at(a.meeting_number, a.status, a.closed_on, meeting.number, meeting.meeting_date)]


def raised_at(session: Session, meeting: Meeting) -> list[Action]:
    return list(session.scalars(_ordered(select(Action).where(
        Action.committee_id == meeting.committee_id, Action.meeting_number == meeting.number))).all())


def update_at(action: Action, meeting: Meeting) -> ActionUpdate | None:
    """The latest update given on the action at this meeting."""
    given = [u for u in action.updates if u.meeting_id == meeting.id]
    return given[-1] if given else None


def list_actions(session: Session, committee: str | None = None, status: str | None = None) -> list[Action]:
    stmt = select(Action)
    if committee:
        stmt = stmt.where(Action.committee_id == get_committee(session, committee).id)
    if status:
        try:
            stmt = stmt.where(Action.status == ActionStatus(status.lower()).value)
        except ValueError as exc:
            raise invalid(f"Unknown status {status!r}: open or closed.", "status") from exc
    return list(session.scalars(_ordered(stmt)).all())


def overdue(ctx: Ctx, committee: str | None = None) -> list[Action]:
    """Open actions whose due date is before the clock's today."""
    today = ctx.clock.today()
    stmt = select(Action).where(Action.status == ActionStatus.OPEN.value, Action.due_date.is_not(None),
                                Action.due_date < today)
    if committee:
        stmt = stmt.where(Action.committee_id == get_committee(ctx.session, committee).id)
    found = ctx.session.scalars(_ordered(stmt)).all()
    return [a for a in found if rules.is_overdue(a.status, a.due_date, today)]

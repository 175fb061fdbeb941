"""Committee services: decisions take change steps in the same transaction, approved minutes are read-only,
actions carry forward and fall overdue as the clock moves."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from gbsmart.change import service as change_service
from gbsmart.change.errors import StepNotAllowed
from gbsmart.change.schemas import DraftProposalCreate
from gbsmart.committees import actions as action_service
from gbsmart.committees import service
from gbsmart.committees.schemas import (
    ActionCreate,
    ActionUpdateCreate,
    AgendaItemCreate,
    AttendeeCreate,
    CommitteeCreate,
    CommitteeUpdate,
    DecisionCreate,
    MeetingCreate,
    MemberCreate,
    MinuteDecisionCreate,
)
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.errors import Conflict, Forbidden, Invalid
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.change import ProposalEvent
from gbsmart.models.committees import Decision


def acting(ctx: Ctx, person) -> Ctx:
    return dataclasses.replace(ctx, actor=Actor.of(person))


@pytest.fixture
def csc(ctx, world):
    """A CSC with a chair, a secretary (who holds no role of their own) and a member; meeting 11_2801; two DPs."""
    secas = world.person("secas", "code_administrator", org=world.org("SECAS", kind="secas"))
    people = {"secas": secas, "secretary": world.person("louise"), "chair": world.person("david", "committee_member"),
              "member": world.person("paul", "committee_member")}
    service.create_committee(ctx, CommitteeCreate(code="CSC", name="Change Sub-Committee",
                                                  process_role="committee_member"))
    service.add_member(ctx, "CSC", MemberCreate(person="david", represents="Change Sub-Committee Chair", is_chair=True))
    service.add_member(ctx, "CSC", MemberCreate(person="louise", represents="SECAS", is_secretary=True))
    service.add_member(ctx, "CSC", MemberCreate(person="paul", represents="Large Suppliers",
                                                party_category="large_supplier"))
    meeting = service.create_meeting(ctx, "CSC", MeetingCreate(number=11, meeting_date=date(2020, 1, 28)))
    as_secas = acting(ctx, secas)
    for title in ("Large Gas Meter Displays", "Alignment of Credit Cover"):
        change_service.raise_draft_proposal(as_secas, DraftProposalCreate(
            title=title, problem_statement="A problem statement long enough to be accepted."))
    ctx.session.flush()
    return {"meeting": meeting, **people}


def _counts(session) -> tuple[int, int, int]:
    return (session.scalar(select(func.count()).select_from(Decision)),
            session.scalar(select(func.count()).select_from(ProposalEvent)),
            session.scalar(select(func.count()).select_from(ChangeRecord)))


def test_a_decision_takes_the_change_step_citing_the_minute(ctx, csc, session):
    m, secretary = csc["meeting"], acting(ctx, csc["secretary"])
    item = service.add_agenda_item(secretary, m, AgendaItemCreate(number=3, title="Draft Proposal Report"))
    d = service.record_decision(secretary, m, MinuteDecisionCreate(
        agenda_item="3", word="AGREED", proposal="DP001", route="report_phase",
        text="this Draft Proposal is ready to be converted to a Modification Proposal"))
    p = change_service.get_proposal(session, "DP001")
    assert p.state == "ready_to_convert" and p.route == "report_phase"
    event = p.events[-1]
    assert d.step == "ready_to_convert" and d.proposal_event_id == event.id and not d.recorded_only
    assert event.step == "ready_to_convert" and event.reference == "CSC 11_2801"
    assert event.decided_on == date(2020, 1, 28)
    assert event.reason == "The CSC AGREED this Draft Proposal is ready to be converted to a Modification Proposal"
    # the secretary holds no role of their own: the CSC's process role let the committee take the step
    assert event.actor_name == "CSC (recorded by Louise)"
    assert [x.reference for x in item.proposals] == ["DP001"]
    audit = session.scalars(select(ChangeRecord.action).where(ChangeRecord.request_id.is_(None))).all()
    assert "meeting.decision" in audit and "proposal.ready_to_convert" in audit


def test_further_development_is_inferred_from_the_wording(ctx, csc, session):
    m, secretary = csc["meeting"], acting(ctx, csc["secretary"])
    item = service.add_agenda_item(secretary, m, AgendaItemCreate(
        number=3, title="DP002 'Alignment of Credit Cover'", proposals=["DP002"], decisions=[DecisionCreate(
            word="agreed", proposal="DP002",
            text="further development is required to define and understand the issue")]))
    assert item.decisions[0].step == "further_development"
    p = change_service.get_proposal(session, "DP002")
    assert p.state == "development" and p.events[-1].step == "further_development"


def test_a_refused_decision_records_nothing(ctx, csc, session):
    m, secretary = csc["meeting"], acting(ctx, csc["secretary"])
    service.add_agenda_item(secretary, m, AgendaItemCreate(number=3, title="Draft Proposal Report"))
    ready = dict(agenda_item="3", word="agreed", proposal="DP001", route="refinement",
                 text="this Draft Proposal is ready to be converted to a Modification Proposal")
    service.record_decision(secretary, m, MinuteDecisionCreate(**ready))
    session.flush()
    before = _counts(session)
    with pytest.raises(StepNotAllowed) as exc:
        service.record_decision(secretary, m, MinuteDecisionCreate(**ready))
    assert exc.value.status == 409 and "'ready_to_convert' is not allowed while DP001" in exc.value.message
    session.flush()
    assert _counts(session) == before


def test_noted_takes_no_step_and_a_step_needs_a_deciding_word(ctx, csc, session):
    m, secretary = csc["meeting"], acting(ctx, csc["secretary"])
    service.add_agenda_item(secretary, m, AgendaItemCreate(number=3, title="Draft Proposal Report"))
    d = service.record_decision(secretary, m, MinuteDecisionCreate(
        agenda_item="3", word="noted", proposal="DP001", text="this Draft Proposal will go to the Panel"))
    assert d.step is None and d.proposal_event_id is None
    with pytest.raises(Invalid) as exc:
        service.record_decision(secretary, m, MinuteDecisionCreate(
            agenda_item="3", word="noted", proposal="DP001", step="further_development", text="it needs work"))
    assert exc.value.detail[0]["field"] == "step"
    with pytest.raises(Invalid) as exc:
        service.record_decision(secretary, m, MinuteDecisionCreate(
            agenda_item="3", word="agreed", proposal="DP001", text="it is ready to be converted"))
    assert exc.value.detail[0]["field"] == "route"


def test_only_the_chair_secretary_or_code_administrator_write(ctx, csc):
    m = csc["meeting"]
    with pytest.raises(Forbidden):
        service.add_attendee(acting(ctx, csc["member"]), m, AttendeeCreate(name="Someone"))
    service.add_attendee(acting(ctx, csc["chair"]), m, AttendeeCreate(person="paul", representing="Large Suppliers"))
    with pytest.raises(Forbidden):  # the chair may minute but not approve
        service.approve_minutes(acting(ctx, csc["chair"]), m)


def test_approved_minutes_are_read_only(ctx, csc, session):
    m, secretary = csc["meeting"], acting(ctx, csc["secretary"])
    service.add_agenda_item(secretary, m, AgendaItemCreate(number=1, title="Welcome and introductions"))
    service.approve_minutes(secretary, m)
    assert m.minutes_status == "approved" and m.minutes_approved_by_name == "Louise"
    writes = [
        lambda: service.add_attendee(secretary, m, AttendeeCreate(name="Late Arrival")),
        lambda: service.add_agenda_item(secretary, m, AgendaItemCreate(title="Any Other Business")),
        lambda: service.record_decision(secretary, m, MinuteDecisionCreate(
            agenda_item="1", word="noted", text="the welcome")),
        lambda: action_service.raise_action_at(secretary, m, ActionCreate(
            committee="CSC", meeting="11_2801", owner="SECAS", text="Write it up")),
        lambda: service.approve_minutes(secretary, m),
    ]
    for write in writes:
        with pytest.raises(Conflict) as exc:
            write()
        assert exc.value.status == 409 and "read-only" in exc.value.message


def test_quorum_is_configurable_per_committee(ctx, csc):
    m, chair = csc["meeting"], acting(ctx, csc["chair"])
    for who, role in (("david", "chair"), ("paul", "member"), ("louise", "meeting_secretary")):
        service.add_attendee(chair, m, AttendeeCreate(person=who, role=role))
    assert service.quorum_of(m).present == 2 and not service.quorum_of(m).quorate
    service.update_committee(ctx, "CSC", CommitteeUpdate(quorum=2))
    assert service.quorum_of(m).quorate
    with pytest.raises(Forbidden):
        service.update_committee(chair, "CSC", CommitteeUpdate(quorum=1))


def test_actions_are_numbered_and_carry_forward_until_closed(ctx, csc, session):
    secretary = acting(ctx, csc["secretary"])
    m11 = csc["meeting"]
    a1 = action_service.raise_action(secretary, ActionCreate(committee="csc", meeting="11_2801", owner="DCC",
                                                             text="Provide the IRPs that impact DCC systems"))
    a2 = action_service.raise_action(secretary, ActionCreate(committee="CSC", meeting="11", owner="SECAS",
                                                             text="Clarify the justification for DP110"))
    assert (a1.reference, a2.reference) == ("CSC 11/01", "CSC 11/02")
    m12 = service.create_meeting(secretary, "CSC", MeetingCreate(meeting_date=date(2020, 2, 25)))
    m13 = service.create_meeting(secretary, "CSC", MeetingCreate(meeting_date=date(2020, 3, 24)))
    assert (m12.reference, m13.reference) == ("12_2502", "13_2403")
    assert action_service.outstanding_at(session, m11) == []
    assert [a.reference for a in action_service.outstanding_at(session, m12)] == ["CSC 11/01", "CSC 11/02"]
    action_service.record_update(secretary, "CSC-11-01", ActionUpdateCreate(
        text="The DCC provided the list.", status="closed", meeting="12_2502"))
    assert a1.status == "closed" and a1.closed_on == date(2020, 2, 25)
    # still listed at meeting 12 with its closing update; gone from meeting 13
    assert [a.reference for a in action_service.outstanding_at(session, m12)] == ["CSC 11/01", "CSC 11/02"]
    assert action_service.update_at(a1, m12).status_after == "closed"
    assert [a.reference for a in action_service.outstanding_at(session, m13)] == ["CSC 11/02"]
    assert [a.reference for a in action_service.list_actions(session, "CSC", "open")] == ["CSC 11/02"]


def test_the_overdue_list_moves_with_the_clock(ctx, csc, clock):
    secretary = acting(ctx, csc["secretary"])
    action_service.raise_action(secretary, ActionCreate(committee="CSC", meeting="11_2801", owner="DCC",
                                                        text="Send the draft legal text", due_date=date(2020, 2, 10)))
    assert action_service.overdue(ctx) == []
    clock.set(datetime(2020, 2, 10, 9, tzinfo=UTC))
    assert action_service.overdue(ctx) == []
    clock.set(datetime(2020, 2, 11, 9, tzinfo=UTC))
    assert [a.reference for a in action_service.overdue(ctx)] == ["CSC 11/01"]
    assert [a.reference for a in action_service.overdue(ctx, "csc")] == ["CSC 11/01"]
    action_service.record_update(secretary, "CSC 11/01", ActionUpdateCreate(text="Sent.", status="closed"))
    assert action_service.overdue(ctx) == []


def test_meeting_numbers_and_references_are_unique(ctx, csc):
    with pytest.raises(Conflict):
        service.create_meeting(ctx, "CSC", MeetingCreate(number=11, meeting_date=date(2020, 1, 29)))
    with pytest.raises(Invalid):
        service.add_agenda_item(ctx, csc["meeting"], AgendaItemCreate(sub=2, title="A heading"))

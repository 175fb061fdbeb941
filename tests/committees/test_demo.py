"""The committees demo: CSC meeting 11_2801 as seed 001 minutes it, meeting 12_2502 scheduled, loaded idempotently."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import func, select

from gbsmart.committees import actions as action_service
from gbsmart.committees import service
from gbsmart.committees.demo import load_committees_demo
from gbsmart.core.db import Base
from gbsmart.models.committees import Committee

DPS = ["DP094", "DP095", "DP096", "DP098", "DP100", "DP101", "DP104", "DP106", "DP107", "DP108", "DP109", "DP110",
       "DP111"]
READY = {"DP098": "report_phase", "DP101": "refinement", "DP106": "refinement", "DP110": "report_phase"}


def _row_counts(session) -> dict[str, int]:
    return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def test_the_committees_and_their_members(demo, session):
    codes = set(session.scalars(select(Committee.code)))
    assert codes == {"Panel", "CSC", "OPSG", "SSC", "SMKI PMA", "TABASC", "TAG", "Change Board"}
    csc = service.get_committee(session, "csc")
    today = date(2020, 1, 28)
    assert service.chair_of(csc, today).person.full_name == "David Kemp"
    assert service.secretary_of(csc, today).person.full_name == "Louise Evans"
    assert service.member_count(csc, today) == 7
    assert csc.quorum == 3 and csc.process_role == "committee_member"
    reps = {m.person.full_name: (m.represents, m.party_category) for m in csc.members}
    assert reps["Paul Saker"] == ("Large Suppliers", "large_supplier")
    assert reps["Gemma Slaney"] == ("Electricity Network Parties", "electricity_network")
    assert service.chair_of(service.get_committee(session, "SMKI-PMA"), today).person.full_name == "Gordon Hextall"


def test_meeting_11_2801_attendees_and_apologies(demo, session):
    m = service.get_meeting(session, "CSC", "11_2801")
    assert (m.meeting_date, m.start_time, m.end_time) == (date(2020, 1, 28), time(10), time(11))
    assert m.venue == "Gemserv, 8 Fenchurch Place, London, EC3M 4AJ"
    assert m.status == "held" and m.minutes_status == "draft"
    members, others = service.attendee_groups(m)
    assert [(a.name, a.representing, a.teleconference) for a in members] == [
        ("David Kemp", "Change Sub-Committee Chair", False), ("Paul Saker", "Large Suppliers", True),
        ("Andrew Margan", "Small Suppliers", True), ("Gemma Slaney", "Electricity Network Parties", True)]
    assert [(a.name, a.representing, a.role, a.teleconference) for a in others] == [
        ("Remi Oluwabamise", "DCC", "participant", True), ("Mari Toda", "DCC", "participant", False),
        ("Louise Evans", "SECAS", "meeting_secretary", False), ("Bradley Baker", "SECAS", "participant", False),
        ("Alison Beard", "SECAS", "participant", False), ("Joe Hehir", "SECAS", "participant", False),
        ("Harry Jones", "SECAS", "participant", False)]
    assert all(a.person is not None for a in m.attendees)
    assert [(a.name, a.representing) for a in m.apologies] == [
        ("Jonathan Lishawa", "Other SEC Parties"), ("Elias Hanna", "Other SEC Parties"), ("Ed Rees", "Consumers")]
    q = service.quorum_of(m)
    assert q.present == 4 and q.quorate


def test_decisions_on_dp094_to_dp111_are_linked_to_the_timeline(demo, session):
    m = service.get_meeting(session, "CSC", "11_2801")
    assert [(i.key, i.title) for i in m.agenda_items if i.sub == 0] == [
        ("1", "Welcome and introductions"), ("2", "Actions Outstanding"), ("3", "Draft Proposal Report"),
        ("4", "Any Other Business (AOB)")]
    heads = [i for i in m.agenda_items if i.number == 3 and i.sub]
    assert [i.proposals[0].dp_reference or i.proposals[0].reference for i in heads] == DPS
    for item in heads:
        dp = item.proposals[0]
        ref = dp.dp_reference or dp.reference
        words = [d.word for d in item.decisions]
        assert all(d.recorded_only and d.proposal_id == dp.id for d in item.decisions)
        assert item.discussion, ref
        if ref in READY:
            assert words == ["agreed", "recommended"]
            agreed, recommended = item.decisions
            assert agreed.step == "ready_to_convert" and agreed.route == READY[ref]
            assert agreed.proposal_event.step == "ready_to_convert"
            assert agreed.proposal_event.reference == "CSC 11_2801"
            assert recommended.step is None and recommended.route == READY[ref]
            assert dp.state == "ready_to_convert"
        elif ref == "DP104":
            assert words == ["noted"] and item.decisions[0].step is None
            assert "February 2020 Panel meeting" in item.decisions[0].text
        else:
            assert words == ["agreed"] and item.decisions[0].step == "further_development"
            assert item.decisions[0].proposal_event.step == "further_development"
            assert item.decisions[0].text == "further development is required to define and understand the issue"
    # the steps were not re-taken: one decision event per DP, as the main demo loader recorded it
    for item in heads:
        assert len([e for e in item.proposals[0].events if e.reference == "CSC 11_2801"]) == 1


def test_the_three_actions_and_the_next_meeting(demo, session):
    m11 = service.get_meeting(session, "CSC", "11_2801")
    a10 = action_service.get_action(session, "CSC 10/01")
    assert a10.owner == "DCC" and a10.status == "open" and a10.meeting is None and a10.meeting_number == 10
    assert "draft legal text" in a10.text and "DP096" in a10.text
    u = action_service.update_at(a10, m11)
    assert u.status_after == "open" and "w/c 27/01/2020" in u.text
    assert [a.reference for a in action_service.outstanding_at(session, m11)] == ["CSC 10/01"]
    raised = action_service.raised_at(session, m11)
    assert [(a.reference, a.owner) for a in raised] == [("CSC 11/01", "DCC"), ("CSC 11/02", "SECAS")]
    assert raised[0].agenda_item.proposals[0].reference == "DP098" and "IRPs" in raised[0].text
    assert raised[1].agenda_item.proposals[0].reference == "DP110" and "justification" in raised[1].text
    assert raised[0].owner_organisation.name == "Smart DCC"
    m12 = service.next_meeting(session, m11)
    assert (m12.reference, m12.meeting_date, m12.status) == ("12_2502", date(2020, 2, 25), "scheduled")
    assert [a.reference for a in action_service.outstanding_at(session, m12)] == ["CSC 10/01", "CSC 11/01",
                                                                                 "CSC 11/02"]


def test_loading_twice_changes_nothing(demo, session):
    counts = _row_counts(session)
    report = load_committees_demo(demo)
    session.commit()
    assert all(added == 0 for added, _ in report.counts.values()), report.counts
    assert _row_counts(session) == counts

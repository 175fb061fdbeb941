"""What other domains may read of committees: seats, the committee list, minuted decisions and meetings held.

A read API over the committees tables, typed and plain: the papers domain (the Panel Information Policy's grants
to committee members, the sub-committee report) reads committees only through these functions, never the tables
(docs/decisions/0014-domain-dependencies.md). A missing table or column is an error here as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from gbsmart.committees.enums import CommitteeKind, MeetingStatus
from gbsmart.committees.rules import normalise_code
from gbsmart.models.committees import AgendaItem, Committee, CommitteeMember, Decision, Meeting
from gbsmart.models.parties import Person


def _seated_on(day: date | None) -> ColumnElement[bool]:
    """SQL over ``CommitteeMember``: the seat is held on ``day`` (any seat when ``day`` is None)."""
    if day is None:
        return true()
    return and_(or_(CommitteeMember.from_date.is_(None), CommitteeMember.from_date <= day),
                or_(CommitteeMember.to_date.is_(None), CommitteeMember.to_date >= day))


def codes_seating(session: Session, *, person_ids: list[int] | None = None, organisation_id: int | None = None,
                  on: date | None = None) -> list[str]:
    """Codes of the committees on which one of ``person_ids`` (or anyone of ``organisation_id``) sits on ``on``."""
    people = (select(Person.id).where(Person.organisation_id == organisation_id) if organisation_id is not None
              else person_ids or [])
    return list(session.scalars(
        select(Committee.code).join(CommitteeMember, CommitteeMember.committee_id == Committee.id)
        .where(CommitteeMember.person_id.in_(people), _seated_on(on)).distinct()))


def members_of(session: Session, committee_code: str, on: date | None = None) -> list[int]:
    """Ids of the people who sit on the committee ``committee_code`` (any case, ``smki-pma``) on ``on``."""
    return sorted(session.scalars(
        select(CommitteeMember.person_id).join(Committee, CommitteeMember.committee_id == Committee.id)
        .where(func.upper(Committee.code) == normalise_code(committee_code), _seated_on(on)).distinct()))


def committee_names(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every committee but the Panel, in the order they were added."""
    return [(c, n) for c, n in session.execute(
        select(Committee.code, Committee.name).where(Committee.kind != CommitteeKind.PANEL.value)
        .order_by(Committee.id)).all()]


@dataclass(frozen=True)
class MinutedDecision:
    """A decision as minuted: the committee, the meeting, its word and text, and the proposal step it took."""

    committee_code: str
    meeting_reference: str
    meeting_date: date
    word: str
    text: str
    proposal_id: int | None
    proposal_event_id: int | None
    decision_id: int


def decisions_between(session: Session, start: date, end: date) -> list[MinutedDecision]:
    """Decisions minuted at meetings held from ``start`` to ``end`` (inclusive), in meeting and minute order."""
    rows = session.execute(
        select(Committee.code, Meeting.reference, Meeting.meeting_date, Decision.word, Decision.text,
               Decision.proposal_id, Decision.proposal_event_id, Decision.id)
        .select_from(Decision).join(AgendaItem, Decision.agenda_item_id == AgendaItem.id)
        .join(Meeting, AgendaItem.meeting_id == Meeting.id).join(Committee, Meeting.committee_id == Committee.id)
        .where(Meeting.meeting_date >= start, Meeting.meeting_date <= end)
        .order_by(Meeting.meeting_date, Decision.position, Decision.id)).all()
    return [MinutedDecision(*row) for row in rows]


def meetings_held_between(session: Session, start: date, end: date) -> list[tuple[str, date]]:
    """(committee code, date) of each meeting held (not only scheduled) from ``start`` to ``end`` (inclusive)."""
    return [(c, d) for c, d in session.execute(
        select(Committee.code, Meeting.meeting_date).join(Committee, Meeting.committee_id == Committee.id)
        .where(Meeting.status == MeetingStatus.HELD.value, Meeting.meeting_date >= start,
               Meeting.meeting_date <= end)).all()]

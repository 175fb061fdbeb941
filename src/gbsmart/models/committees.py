"""The Panel and its sub-committees: members, meetings, attendance, agenda, decisions (minutes) and actions.

Sources: DOMAIN.md section 3; seed 001 (draft minutes of CSC meeting 11_2801, 28 January 2020). An agenda
item may cite a paper by ``paper_id``, a foreign key to ``papers.id`` named by table (not by importing
``gbsmart.models.papers``), so the two aggregates' modules do not import each other.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gbsmart.change.enums import Route
from gbsmart.committees.enums import (
    ActionStatus,
    AttendeeRole,
    CommitteeKind,
    DecisionWord,
    MeetingStatus,
    MinutesStatus,
)
from gbsmart.core.db import Base, UTCDateTime, enum_check
from gbsmart.models.change import Proposal, ProposalEvent
from gbsmart.models.parties import Organisation, Person
from gbsmart.parties.enums import PartyCategory


class Committee(Base):
    """The Panel or one of its sub-committees (CSC, OPSG, SSC, SMKI PMA, TABASC, TAG, Change Board)."""

    __tablename__ = "committees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="sub_committee")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    quorum: Mapped[int] = mapped_column(Integer, nullable=False, default=3)  # [configurable], DOMAIN.md
    process_role: Mapped[str | None] = mapped_column(String(30), nullable=True)  # its role in the change process
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    source: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    organisation: Mapped[Organisation | None] = relationship()
    members: Mapped[list[CommitteeMember]] = relationship(
        back_populates="committee", order_by="CommitteeMember.id", cascade="all, delete-orphan"
    )
    meetings: Mapped[list[Meeting]] = relationship(
        back_populates="committee", order_by="Meeting.meeting_date", cascade="all, delete-orphan"
    )

    __table_args__ = (enum_check("kind", CommitteeKind),)


class CommitteeMember(Base):
    """A person's seat on a committee: whom they represent, whether chair or secretary, and for when."""

    __tablename__ = "committee_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id", ondelete="CASCADE"), nullable=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), nullable=False)
    represents: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    party_category: Mapped[str | None] = mapped_column(String(30), nullable=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    alternate_for_id: Mapped[int | None] = mapped_column(ForeignKey("committee_members.id"), nullable=True)
    is_chair: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_secretary: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    from_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    to_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    source: Mapped[str | None] = mapped_column(String(300), nullable=True)

    committee: Mapped[Committee] = relationship(back_populates="members")
    person: Mapped[Person] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    alternate_for: Mapped[CommitteeMember | None] = relationship(remote_side="CommitteeMember.id")

    __table_args__ = (
        Index("ix_committee_members_person", "committee_id", "person_id"),
        enum_check("party_category", PartyCategory),
    )

    def current_on(self, day: date) -> bool:
        return (self.from_date is None or self.from_date <= day) and (self.to_date is None or day <= self.to_date)


class Meeting(Base):
    """A committee meeting, e.g. CSC ``11_2801``: meeting number 11, held on 28/01."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    reference: Mapped[str] = mapped_column(String(20), nullable=False)
    meeting_date: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    start_time: Mapped[time | None] = mapped_column(Time, nullable=True)
    end_time: Mapped[time | None] = mapped_column(Time, nullable=True)
    venue: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="scheduled")
    minutes_status: Mapped[str] = mapped_column(String(20), nullable=False, default="draft")
    minutes_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    minutes_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    minutes_approved_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    source: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    committee: Mapped[Committee] = relationship(back_populates="meetings")
    attendees: Mapped[list[MeetingAttendee]] = relationship(
        back_populates="meeting", order_by="MeetingAttendee.position", cascade="all, delete-orphan"
    )
    apologies: Mapped[list[MeetingApology]] = relationship(
        back_populates="meeting", order_by="MeetingApology.position", cascade="all, delete-orphan"
    )
    agenda_items: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting", order_by=lambda: [AgendaItem.number, AgendaItem.sub], cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("committee_id", "number"),
        UniqueConstraint("committee_id", "reference"),
        enum_check("status", MeetingStatus),
        enum_check("minutes_status", MinutesStatus),
    )


class MeetingAttendee(Base):
    """Someone present: whom they represent, their role (Chair, member, Meeting Secretary ...), and how."""

    __tablename__ = "meeting_attendees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    representing: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    party_category: Mapped[str | None] = mapped_column(String(30), nullable=True)
    role: Mapped[str] = mapped_column(String(30), nullable=False, default="member")
    teleconference: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")
    person: Mapped[Person | None] = relationship()

    __table_args__ = (enum_check("party_category", PartyCategory), enum_check("role", AttendeeRole))


class MeetingApology(Base):
    """Someone who sent apologies, and whom they represent."""

    __tablename__ = "meeting_apologies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    representing: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    meeting: Mapped[Meeting] = relationship(back_populates="apologies")
    person: Mapped[Person | None] = relationship()


agenda_item_proposals = Table(
    "agenda_item_proposals",
    Base.metadata,
    Column("agenda_item_id", ForeignKey("agenda_items.id", ondelete="CASCADE"), primary_key=True),
    Column("proposal_id", ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True),
)


class AgendaItem(Base):
    """An agenda item (``number``) or a heading within one (``sub`` > 0, e.g. one Draft Proposal of item 3)."""

    __tablename__ = "agenda_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    sub: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    discussion: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # the paper the item discusses; the minute outlives a withdrawn paper, so deleting the paper only unlinks it
    paper_id: Mapped[int | None] = mapped_column(ForeignKey("papers.id", ondelete="SET NULL"), nullable=True)

    meeting: Mapped[Meeting] = relationship(back_populates="agenda_items")
    proposals: Mapped[list[Proposal]] = relationship(secondary=agenda_item_proposals, order_by="Proposal.id")
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="agenda_item", order_by="Decision.position", cascade="all, delete-orphan"
    )
    actions: Mapped[list[Action]] = relationship(back_populates="agenda_item", order_by="Action.sequence")

    __table_args__ = (UniqueConstraint("meeting_id", "number", "sub"),)

    @property
    def key(self) -> str:
        """``3`` for an item, ``3.5`` for the fifth heading within item 3."""
        return f"{self.number}.{self.sub}" if self.sub else str(self.number)


class Decision(Base):
    """A minuted decision: AGREED / RECOMMENDED / NOTED / APPROVED, maybe taking a step on a proposal.

    ``proposal_event_id`` is the step it took; ``recorded_only`` marks a decision imported from minutes whose
    step was already on the proposal's timeline (it was not re-taken).
    """

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    word: Mapped[str] = mapped_column(String(20), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), nullable=True, index=True)
    step: Mapped[str | None] = mapped_column(String(50), nullable=True)
    route: Mapped[str | None] = mapped_column(String(20), nullable=True)
    proposal_event_id: Mapped[int | None] = mapped_column(ForeignKey("proposal_events.id"), nullable=True)
    recorded_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    created_by_name: Mapped[str] = mapped_column(String(200), nullable=False)

    agenda_item: Mapped[AgendaItem] = relationship(back_populates="decisions")
    proposal: Mapped[Proposal | None] = relationship()
    proposal_event: Mapped[ProposalEvent | None] = relationship()

    __table_args__ = (
        UniqueConstraint("agenda_item_id", "position"),
        enum_check("word", DecisionWord),
        enum_check("route", Route),
    )


class Action(Base):
    """An action, e.g. ``CSC 11/01``: committee, the meeting number that raised it, a sequence; open until closed.

    ``meeting_id`` may be empty when the raising meeting is not on record (CSC 10/01 in seed 001).
    """

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committees.id", ondelete="CASCADE"), nullable=False)
    meeting_number: Mapped[int] = mapped_column(Integer, nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), nullable=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"), nullable=True)
    owner: Mapped[str] = mapped_column(String(200), nullable=False)
    owner_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    owner_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open", index=True)
    raised_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    source: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    committee: Mapped[Committee] = relationship()
    meeting: Mapped[Meeting | None] = relationship()
    agenda_item: Mapped[AgendaItem | None] = relationship(back_populates="actions")
    owner_organisation: Mapped[Organisation | None] = relationship()
    owner_person: Mapped[Person | None] = relationship()
    updates: Mapped[list[ActionUpdate]] = relationship(
        back_populates="action", order_by="ActionUpdate.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("committee_id", "meeting_number", "sequence"),
        enum_check("status", ActionStatus),
    )


class ActionUpdate(Base):
    """Progress on an action, usually given at a meeting, and the action's status after it."""

    __tablename__ = "action_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), nullable=False)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), nullable=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    status_after: Mapped[str] = mapped_column(String(20), nullable=False)
    recorded_on: Mapped[date] = mapped_column(Date, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    by_name: Mapped[str] = mapped_column(String(200), nullable=False)

    action: Mapped[Action] = relationship(back_populates="updates")
    meeting: Mapped[Meeting | None] = relationship()

    __table_args__ = (enum_check("status_after", ActionStatus),)
